"""The small examples run and print what they promise."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_cnn import Tensor

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script, *args, cwd=None):
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *map(str, args)],
                            capture_output=True, text=True, timeout=300, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_quickstart_loss_falls_and_gradcheck_passes():
    out = run("quickstart.py")
    losses = [float(line.split()[-1]) for line in out.splitlines() if line.startswith("step")]
    assert len(losses) >= 5 and losses[-1] < losses[0] / 10
    assert "gradcheck of the first layer: True" in out


def test_render_graph_writes_dot_and_names_every_layer(tmp_path):
    out = run("render_graph.py", "--out", tmp_path)
    dot = (tmp_path / "graph.dot").read_text()
    for layer in ("conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "flatten",
                  "dropout", "dense"):
        assert f"cluster_{layer}" in dot
    assert "conv2d 3×3 s1 valid" in dot and "7 layer clusters" in out


def test_render_graph_writes_under_runs_by_default(tmp_path):
    run("render_graph.py", "--no-grads", cwd=tmp_path)
    assert (tmp_path / "runs" / "graph" / "graph.dot").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # nothing in the cwd itself


def test_from_keras_explains_draws_and_gradchecks_a_model_keras_wrote(tmp_path):
    pytest.importorskip("h5py")
    out = run("from_keras.py", "--out", tmp_path, "--no-keras")
    assert "lesson.keras (4 layers)" in out
    assert "MACs = 8·8·3·3·1·4 = 2,304" in out  # summary(explain=True) of Keras' Conv2D
    assert ("gradcheck of layer 'conv2d' (Conv2D, float64 copy; its input and 2 trainable "
            "weights): True") in out
    dot = (tmp_path / "graph.dot").read_text()
    for layer in ("conv2d", "max_pooling2d", "flatten", "dense"):
        assert f"cluster_{layer}" in dot
    assert "Keras comparison skipped" in out


# ------------------------------------------------------- higher order and custom ops

def test_higher_order_hessian_vector_product_matches_finite_differences():
    import higher_order  # examples/ is on pytest's pythonpath (pyproject.toml)

    rng = np.random.default_rng(1)
    for _ in range(3):
        x, v = rng.standard_normal(4), rng.standard_normal(4)
        np.testing.assert_allclose(higher_order.hessian_vector_product(x, v),
                                   higher_order.hvp_by_differences(x, v), atol=1e-7)


def test_higher_order_gradient_penalty_gradient_matches_finite_differences():
    import higher_order

    model = higher_order.small_convnet()
    rng = np.random.default_rng(2)
    images, labels = rng.random((2, 6, 6, 1)), np.array([1, 0])
    analytic, numeric = higher_order.penalty_gradient_check(model, images, labels)
    assert analytic == pytest.approx(numeric, rel=1e-6, abs=1e-10)
    assert analytic != 0


def test_higher_order_newton_converges_to_a_stationary_point():
    import higher_order

    xs = higher_order.newton(2.0)
    x, eps = xs[-1], 1e-6
    slope = (higher_order.g(Tensor(np.array(x + eps))).item()
             - higher_order.g(Tensor(np.array(x - eps))).item()) / (2 * eps)
    assert abs(slope) < 1e-6  # g'(x) by finite differences: a stationary point
    assert abs(xs[-1] - xs[-2]) < 1e-12  # quadratic convergence: it stopped moving


def test_higher_order_example_prints_its_three_results():
    out = run("higher_order.py")
    assert "Hessian-vector product" in out and "Gradient penalty" in out
    assert "Newton's method" in out


def test_custom_op_example_checks_first_and_second_order():
    out = run("custom_op.py")
    assert "gradcheck (first order):       True" in out
    assert "gradgradcheck (second order):  True" in out
    assert "has only an ndarray backward" in out
