"""The training script end to end on a tiny IDX dataset written here (no network)."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_cnn import data, nn

import train_mnist  # examples/ is on pytest's pythonpath (pyproject.toml)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def tiny_mnist(tmp_path):
    """120 train / 40 test digits: each class a bright bar in its own rows, plus noise."""
    rng = np.random.default_rng(0)

    def make(n):
        labels = np.arange(n) % 10
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            images[i, 2 + 2 * label: 4 + 2 * label, 4:24] = 255
        return images, labels

    folder = tmp_path / "tiny"
    data.save_mnist(folder, make(120), make(40))
    return folder


def run_script(*args, env=None):
    return subprocess.run([sys.executable, str(EXAMPLES / "train_mnist.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_script_writes_every_output_and_they_load(tiny_mnist, tmp_path):
    out = tmp_path / "run"
    result = run_script("--data-dir", tiny_mnist, "--epochs", 1, "--limit", 100,
                        "--batch-size", 32, "--model", "seed", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "Test accuracy: " in result.stdout and str(out / "weights.npz") in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics) == 1
    record = metrics[0]
    for key in ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                "seconds"):
        assert key in record
    assert 0 <= record["train_accuracy"] <= 1 and 0 <= record["test_accuracy"] <= 1
    from PIL import Image

    for picture in ("curves.png", "feature_maps.png", "filters.png"):
        with Image.open(out / picture) as img:
            assert img.format == "PNG" and img.size[0] > 100
    graph = out / "graph.svg" if (out / "graph.svg").exists() else out / "graph.dot"
    assert "conv2d" in graph.read_text()
    model = train_mnist.MODELS["seed"]()
    model.load_weights(out / "weights.npz")
    whole = nn.load_model(out / "model.npz")  # the whole model, softmax included
    assert isinstance(whole.layers[-1], nn.Softmax) and whole.name == "seed"
    x = np.random.default_rng(0).random((3, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(whole.predict(x, verbose=0).sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(whole.predict(x, verbose=0),
                               model(x, training=False).softmax().data, rtol=1e-5)


def test_same_seed_same_data_gives_identical_metrics(tiny_mnist, tmp_path):
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = run_script("--data-dir", tiny_mnist, "--epochs", 2, "--limit", 64,
                            "--batch-size", 16, "--out", out, "--no-plots", "--seed", 3)
        assert result.returncode == 0, result.stderr
        runs.append(json.loads((out / "metrics.json").read_text()))
    drop_timing = [[{k: v for k, v in r.items() if k not in ("seconds", "examples_per_second")}
                    for r in run] for run in runs]
    assert drop_timing[0] == drop_timing[1]
    with np.load(tmp_path / "a" / "weights.npz") as a, np.load(tmp_path / "b" / "weights.npz") as b:
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "0"], "--epochs"),
    (["--epochs", "two"], "--epochs"),
    (["--batch-size", "-5"], "--batch-size"),
    (["--lr", "nan"], "--lr"),
    (["--dataset", "cifar10"], "--dataset"),
    (["--model", "resnet"], "--model"),
    (["--data-dir", "/no/such/folder"], "--data-dir"),
])
def test_bad_flags_exit_nonzero_with_a_message(flags, message, tmp_path):
    result = run_script(*flags, "--out", tmp_path / "x")
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1  # one line, not the usage text
    assert message in result.stderr


def test_missing_dataset_exits_with_one_line_listing_where_it_looked(tmp_path, monkeypatch,
                                                                     capsys):
    from tinygrad_cnn.data import download, registry

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TINYGRAD_CNN_DATA", str(tmp_path / "nothing"))
    fashion = registry.DATASETS["fashion-mnist"]
    (debian,) = fashion.local_folders
    monkeypatch.setitem(registry.DATASETS, "fashion-mnist", dataclasses.replace(
        fashion, local_folders=(dataclasses.replace(debian, path=tmp_path / "no-debian-here"),)))

    def no_network(url, timeout):
        raise OSError("network is unreachable")

    monkeypatch.setattr(download, "urlopen", no_network)
    empty = tmp_path / "empty"
    empty.mkdir()
    code = train_mnist.run(["--dataset", "fashion-mnist", "--data-dir", str(empty),
                            "--out", str(tmp_path / "x")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert str(empty) in lines[0] and "no-debian-here" in lines[0]


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")
def test_a_non_finite_loss_stops_with_the_step_and_keeps_last_good_weights(tiny_mnist, tmp_path,
                                                                            capsys):
    out = tmp_path / "run"
    code = train_mnist.main(["--data-dir", str(tiny_mnist), "--epochs", "1", "--lr", "1e30",
                             "--limit", "64", "--batch-size", "8", "--model", "seed",
                             "--out", str(out), "--no-plots"])
    err = capsys.readouterr().err
    assert code == 1
    assert "at step" in err and "--lr" in err
    model = train_mnist.MODELS["seed"]()
    model.load_weights(out / "weights.npz")
    assert all(np.isfinite(p.data).all() for p in model.parameters())


def test_ctrl_c_keeps_the_last_completed_epoch(tiny_mnist, tmp_path, monkeypatch, capsys):
    real_step = nn.Sequential.train_step
    calls = []

    def interrupted_on_second_epoch(*args, **kwargs):  # one batch per epoch (--limit 32)
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_step(*args, **kwargs)

    monkeypatch.setattr(nn.Sequential, "train_step", interrupted_on_second_epoch)
    out = tmp_path / "run"
    code = train_mnist.main(["--data-dir", str(tiny_mnist), "--epochs", "3", "--limit", "32",
                             "--model", "seed", "--out", str(out), "--no-plots"])
    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    assert [r["epoch"] for r in json.loads((out / "metrics.json").read_text())] == [1]
    nn_model = train_mnist.MODELS["seed"]()
    nn_model.load_weights(out / "weights.npz")
    assert isinstance(nn_model, nn.Sequential)


def predict(*args):
    return subprocess.run([sys.executable, str(EXAMPLES / "predict.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def saved_run(tiny_mnist, tmp_path):
    out = tmp_path / "run"
    assert train_mnist.main(["--data-dir", str(tiny_mnist), "--epochs", "1", "--limit", "40",
                             "--model", "seed", "--out", str(out), "--no-plots"]) == 0
    return out


def percentages(stdout):
    header, *rows = stdout.splitlines()
    listed = {int(r.split(":")[0]): float(r.split()[1].rstrip("%")) for r in rows}
    return header, listed


def test_predict_reads_an_image_file_with_a_saved_model_alone(tiny_mnist, saved_run, tmp_path):
    from PIL import Image

    _, (x_test, y_test) = data.load_mnist(data_dir=tiny_mnist)
    picture = tmp_path / "digit.png"
    Image.fromarray(255 - x_test[3]).save(picture)  # dark ink on white, like a scan
    result = predict(saved_run / "model.npz", picture)
    assert result.returncode == 0, result.stderr
    header, listed = percentages(result.stdout)
    assert header.startswith("model 'seed' predicts ")
    assert len(listed) == 10 and abs(sum(listed.values()) - 100) < 0.1
    best = int(header.split()[3])
    assert f"({listed[best]:.2f}%)" in header  # the header and the list agree
    assert max(listed.values()) == listed[best]


def test_predict_composites_a_transparent_background_on_white(tiny_mnist, saved_run,
                                                              tmp_path):
    from PIL import Image

    _, (x_test, _) = data.load_mnist(data_dir=tiny_mnist)
    ink = x_test[3]
    rgba = np.zeros((28, 28, 4), np.uint8)  # black ink, alpha = ink: transparent elsewhere
    rgba[..., 3] = ink
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(255 - ink).save(tmp_path / "gray.png")
    from_rgba, from_gray = predict(saved_run / "model.npz", tmp_path / "rgba.png"), \
        predict(saved_run / "model.npz", tmp_path / "gray.png")
    assert from_rgba.returncode == 0, from_rgba.stderr
    assert from_rgba.stdout == from_gray.stdout


def test_predict_refuses_a_weights_only_file(saved_run):
    result = predict(saved_run / "weights.npz", "--index", "0")
    assert result.returncode == 1
    assert "holds weights only" in result.stderr and "model.load_weights" in result.stderr


@pytest.mark.parametrize("script", ["train_mnist.py", "predict.py", "conv_shapes.py",
                                    "render_graph.py", "quickstart.py"])
def test_every_script_has_a_help_that_shows_its_defaults(script):
    result = subprocess.run([sys.executable, str(EXAMPLES / script), "--help"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: ")
    if script in ("train_mnist.py", "render_graph.py"):
        assert "(default: " in result.stdout


def test_feature_map_rows_say_what_they_show_and_dead_channels_are_not_stretched():
    from tinygrad_cnn import zoo

    import mnist_plots

    model = zoo.batchnorm_mnist_convnet()
    titles = [title for title, _ in mnist_plots.feature_stages(model, np.ones((1, 28, 28, 1)))]
    assert titles == [
        "conv2d: 26×26×32, after the convolution (no activation)",
        "batch_normalization: 26×26×32, after BatchNormalization",
        "re_lu: 26×26×32, after ReLU",
        "max_pooling2d: 13×13×32, after 2×2 max pooling",
        "conv2d_1: 11×11×64, after the convolution (no activation)",
        "batch_normalization_1: 11×11×64, after BatchNormalization",
        "re_lu_1: 11×11×64, after ReLU",
        "max_pooling2d_1: 5×5×64, after 2×2 max pooling"]
    assert mnist_plots.panel_note(np.zeros((4, 4))) == "all 0\n(dead)"
    assert mnist_plots.panel_note(np.full((4, 4), 0.5)) == "all\n0.5"
    assert mnist_plots.panel_note(np.eye(4)) is None
