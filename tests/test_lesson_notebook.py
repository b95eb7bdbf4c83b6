"""examples/cnn_lesson.ipynb: committed without outputs, and true when it runs.

The notebook is executed once per test session, headless, by nbclient in a kernel of this
very interpreter (docs/notebook_tools.py), with TINYGRAD_CNN_LESSON_FAST=1 so that it
trains on 600 digits for a few steps instead of 4,000 for many. The tests then read what its
cells printed and drew: every cell ran, the shapes are the seed's, and the cost table it
measured says that more MACs cost more time, by a clear margin.
"""

import re
import shutil

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import functional as F
from tinygrad_cnn import zoo

import notebook_tools


# (params, MACs per example) of part 3's variants, from the formulas, not from the library:
# conv(f, k) → [pool] → conv(2f, k) → [pool] → flatten → dense 10, 'same' padding.
def _variant(f, k, pool):
    side = 7 if pool else 28  # what the dense layer sees: 28 → 14 → 7 with both pools
    conv1 = (k * k * 1 * f + f, 28 * 28 * k * k * 1 * f)
    conv2 = (k * k * f * 2 * f + 2 * f, (14 if pool else 28) ** 2 * k * k * f * 2 * f)
    dense = (side * side * 2 * f * 10 + 10, side * side * 2 * f * 10)
    return tuple(sum(x) for x in zip(conv1, conv2, dense))


VARIANTS = {
    "4f 3×3 pool": _variant(4, 3, True),
    "8f 3×3 pool": _variant(8, 3, True),
    "16f 3×3 pool": _variant(16, 3, True),
    "8f 5×5 pool": _variant(8, 5, True),
    "4f 3×3 no pool": _variant(4, 3, False),
    "8f 3×3 no pool": _variant(8, 3, False),
    "16f 5×5 no pool": _variant(16, 5, False),
}


@pytest.fixture(scope="module")
def lesson():
    """The notebook after a fast run (nbclient raises, quoting the cell, if one fails)."""
    return notebook_tools.execute(notebook_tools.read(), fast=True, timeout=180,
                                  startup_timeout=60)


def printed(nb, tag=None) -> str:
    return notebook_tools.text(notebook_tools.outputs(nb, tag))


def pictures(nb, tag=None, kind="image/png") -> int:
    return sum(kind in out.get("data", {}) for out in notebook_tools.outputs(nb, tag))


def test_committed_notebook_has_no_outputs():
    left = notebook_tools.leftovers(notebook_tools.read())
    assert not left, ("examples/cnn_lesson.ipynb was committed with outputs; run "
                      "`python docs/notebook_tools.py strip` before committing:\n"
                      + "\n".join(left))


def test_every_cell_runs_without_error_or_warning(lesson):
    code = [cell for cell in lesson.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count is not None for cell in code)
    outs = notebook_tools.outputs(lesson)
    assert not [out for out in outs if out.output_type == "error"]
    stderr = "".join(out.text for out in outs if out.output_type == "stream"
                     and out.name == "stderr")
    assert "Warning" not in stderr, stderr
    assert "fast run: 600 training and 200 test digits" in printed(lesson)


def test_the_seed_layer_and_its_mistake(lesson):
    text = printed(lesson)
    assert "one digit (1, 28, 28, 1) → (1, 28, 28, 16)" in text
    assert "kernel (2, 2, 1, 16)" in text
    # strides='1' is caught and its message shown: it names the argument and the value
    assert re.search(r"TypeError: strides .*'1'", text), text


def test_shapes_are_the_seeds(lesson):
    text = printed(lesson)
    for k, valid in ((2, 27), (3, 26), (5, 24)):
        assert f"kernel {k}×{k}, stride 1, padding='same'   28×28 → 28×28" in text
        assert f"kernel {k}×{k}, stride 1, padding='valid'  28×28 → {valid}×{valid}" in text
    # summary(explain=True): conv keeps 28×28 with 10 filters, pooling halves it
    assert re.search(r"conv2d \(Conv2D\) +\(None, 28, 28, 10\) +100 +70,560", text)
    assert re.search(r"max_pooling2d \(MaxPooling2D\) +\(None, 14, 14, 10\) +0 ", text)
    assert "MACs = 28·28·3·3·1·10 = 70,560" in text
    # the digit really run through each layer
    assert re.search(r"conv2d +Conv2D +28×28×1 → 28×28×10\n", text)
    assert re.search(r"max_pooling2d +MaxPooling2D +28×28×10 → 14×14×10\n", text)
    assert pictures(lesson) >= 1  # the feature maps of one digit


def test_the_measured_cost_table(lesson):
    text = printed(lesson, "cost-table")
    rows = {}
    for line in text.splitlines():
        m = re.fullmatch(r"(.+?) +([\d,]+) +([\d,]+) +(\d+\.\d+) +(\d+\.\d)%", line)
        if m:
            rows[m[1]] = (int(m[2].replace(",", "")), int(m[3].replace(",", "")),
                          float(m[4]), float(m[5]) / 100)
    assert list(rows) == list(VARIANTS), text
    for name, (params, macs, seconds, accuracy) in rows.items():
        assert (params, macs) == VARIANTS[name], name
        assert seconds > 0 and 0 <= accuracy <= 1
    smallest = min(rows, key=lambda name: rows[name][1])
    biggest = max(rows, key=lambda name: rows[name][1])
    assert rows[biggest][1] >= 100 * rows[smallest][1]
    ratio = rows[biggest][2] / rows[smallest][2]
    assert ratio >= 3, (f"{biggest} does {rows[biggest][1] / rows[smallest][1]:.0f}× the MACs "
                        f"of {smallest} but took only {ratio:.1f}× as long per step:\n{text}")
    assert re.search(r"4f 3×3 no pool stores 3\.1× the parameters of 16f 3×3 pool but "
                     r"computes 0\.31× its MACs, and took \d+\.\d\d× as long", text), text
    assert pictures(lesson, "cost-plot") == 1


def test_gradients_and_the_graph(lesson):
    text = printed(lesson)
    assert "gradcheck of conv2d w.r.t. input, kernel and bias: True" in text
    assert "GradcheckError: gradient mismatch for input 0" in text
    # the graph, then with gradients (part 5 draws one more: the backward walk)
    if shutil.which("dot"):
        assert pictures(lesson, kind="image/svg+xml") == 3
    else:
        assert text.count("digraph tinygrad_cnn {") == 3
        assert "‖grad‖" in text


def test_training_the_keras_way(lesson):
    text = printed(lesson, "keras")
    m = re.search(r"test loss (\d+\.\d+), test accuracy (\d+\.\d)% \(200 digits", text)
    assert m, text
    assert float(m[2]) > 40  # 10 classes: chance is 10 %
    wrong = re.search(r"(\d+) of 200 test digits misclassified", text)
    assert wrong and int(wrong[1]) == round(200 * (1 - float(m[2]) / 100)), text
    # curves, learned filters, feature maps after training, misclassified digits
    assert pictures(lesson, "keras") == 4


# ------------------------------------------------------------- part 5: backward, step by step
def printed_walk(text):
    """explain_backward's printout as {step label: {row label: text}}, plus the leaves'
    {name: text} under the key "leaves". A row starts 8 spaces in; deeper lines continue it."""
    walk, rows = {}, None
    for line in text.splitlines():
        if m := re.fullmatch(r"step \d+  (.+)", line):
            rows = walk.setdefault(m[1], {})
        elif line.startswith("Leaves, with their final gradients"):
            rows = walk.setdefault("leaves", {})
        elif rows is not None and re.match(r" {8}\S", line):
            label, _, rest = line.strip().partition(" ")
            rows[label] = rest.strip()
        elif rows is not None and line.startswith(" " * 9):
            rows[label] += "\n" + line.strip()
        else:
            rows = None  # the walk is over: what the cell prints next
    return walk


def numbers(text):
    return np.array([float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)])


def assert_printed(text, expected, what):
    """``text`` shows ``expected``: every value to 4 significant digits, or for a large
    array its shape, norm, min and max."""
    expected = np.asarray(expected, dtype=np.float64)
    if m := re.match(r"shape (\(.*?\)), norm (\S+), min (\S+), max (\S+)$", text):
        assert m[1] == str(expected.shape), what
        summary = [float(m[2].rstrip(",")), float(m[3].rstrip(",")), float(m[4])]
        np.testing.assert_allclose(summary, [np.sqrt(np.sum(expected ** 2)), expected.min(),
                                             expected.max()], rtol=5e-4, err_msg=what)
    else:
        first, *rest = text.split("\n")
        text = "\n".join([first.split("→")[0], *rest])  # not the destination's numbers
        np.testing.assert_allclose(numbers(text), expected.ravel(), rtol=5e-4, err_msg=what)


def tiny_convnet_gradients():
    """The lesson's tiny convnet and image, rebuilt here; its loss's gradients by tc.grad."""
    tc.manual_seed(0)
    model = zoo.tiny_convnet()
    image = np.random.default_rng(0).random((1, 6, 6, 1), dtype=np.float32)
    conv, pool, flatten, dense = model.layers
    maps = conv(image)
    pooled = pool(maps)
    logits = dense(flatten(pooled))
    loss = F.cross_entropy(logits, np.array([1]))
    named = {"maps": maps, "pooled": pooled, "logits": logits,
             **{w.name: w for w in model.weights}}
    return {name: g.data for name, g in zip(named, tc.grad(loss, list(named.values())))}


def test_the_printed_walk_shows_tc_grads_gradients(lesson):
    text = printed(lesson, "backprop")
    walk = printed_walk(text)
    assert list(walk) == ["cross_entropy", "add", "matmul", "reshape (1, 18)",
                          "max_pool2d 2×2 s2 valid", "conv2d 2×2 s1 same", "leaves"], text
    grads = tiny_convnet_gradients()
    assert_printed(walk["cross_entropy"]["∂L/∂logits"], grads["logits"], "∂L/∂logits")
    assert_printed(walk["reshape (1, 18)"]["∂L/∂x"], grads["pooled"], "∂L/∂pooled")
    conv = walk["conv2d 2×2 s1 same"]
    assert_printed(conv["∂L/∂y"], grads["maps"], "∂L/∂(conv output)")
    assert conv["∂L/∂x"] == "none sent: x (an input) does not require grad"
    assert_printed(conv["∂L/∂kernel"], grads["conv2d.kernel"], "conv step's ∂L/∂kernel")
    assert_printed(conv["∂L/∂bias"], grads["conv2d.bias"], "conv step's ∂L/∂bias")
    assert list(walk["leaves"]) == ["dense.bias", "dense.kernel", "conv2d.bias",
                                    "conv2d.kernel"]
    for name, shown in walk["leaves"].items():
        assert_printed(shown, grads[name], name)


def test_the_pool_routing_the_patches_and_finite_differences_agree(lesson):
    text = printed(lesson, "backprop")
    assert "every window's gradient went to its maximum, and nowhere else: True" in text
    assert "equal to backward's ∂L/∂kernel: True" in text
    m = re.search(r"∂L/∂kernel\[1, 0, 0, 1\]: backward (-?\d+\.\d+), finite differences "
                  r"(-?\d+\.\d+)", text)
    assert m, text
    backward, numeric = float(m[1]), float(m[2])
    assert backward == pytest.approx(tiny_convnet_gradients()["conv2d.kernel"][1, 0, 0, 1],
                                     abs=1e-6)
    assert numeric == pytest.approx(backward, abs=3e-6)
    if shutil.which("dot"):
        assert pictures(lesson, "backprop", kind="image/svg+xml") == 1  # the walk, drawn
