"""tc.explain_backward: the walk it prints is backward's own, and it leaves no trace.

Every number a step reports is compared, bit for bit, with ``tc.grad`` on the same graph:
the gradient arriving at each op's output with ``tc.grad(root, output)``, and the gradients
each op sends, summed per tensor in the order of the steps, with ``tc.grad(root, tensor)``.
The scalar expression is micrograd's neuron, whose gradients the lecture works out by hand;
they are written out here from the chain rule.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn, zoo
from tinygrad_cnn import functional as F
from tinygrad_cnn.ops.elementwise import ReLUOp


def scalar(value, name):
    return Tensor(value, dtype=np.float64, requires_grad=True, name=name)


def neuron():
    """micrograd's neuron: o = tanh(x1·w1 + x2·w2 + b), with b chosen so that o = 1/√2."""
    x1, x2, w1, w2 = scalar(2.0, "x1"), scalar(0.0, "x2"), scalar(-3.0, "w1"), scalar(1.0, "w2")
    b = scalar(6.8813735870195432, "b")
    o = (x1 * w1 + x2 * w2 + b).tanh()
    return o, dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b)


def mlp():
    tc.manual_seed(1)
    model = nn.Sequential([nn.Dense(5, activation="relu", input_shape=(4,)),
                           nn.Dense(3, activation="tanh"), nn.Dense(3)])
    x = np.random.default_rng(1).normal(size=(6, 4)).astype(np.float32)
    return F.cross_entropy(model(x), np.array([0, 1, 2, 2, 1, 0])), model


def convnet():
    tc.manual_seed(2)
    model = nn.Sequential([nn.Conv2D(3, 3, activation="relu", input_shape=(7, 7, 2)),
                           nn.MaxPooling2D(2), nn.Conv2D(2, 2, padding="same"),
                           nn.AveragePooling2D(2), nn.Flatten(), nn.Dense(4)])
    x = np.random.default_rng(2).normal(size=(3, 7, 7, 2)).astype(np.float32)
    return F.cross_entropy(model(x), np.array([3, 0, 1])), model


def tiny_convnet():
    tc.manual_seed(0)
    model = zoo.tiny_convnet()
    image = np.random.default_rng(0).random((1, 6, 6, 1), dtype=np.float32)
    return F.cross_entropy(model(image), np.array([1])), model


def reused():
    """(x + x) * x: x reaches the root along three paths, whose gradients add up."""
    x = Tensor(np.array([0.5, -1.25, 2.0]), requires_grad=True, name="x")
    return ((x + x) * x).sum(), None


GRAPHS = {"micrograd neuron": lambda: neuron()[0], "mlp": lambda: mlp()[0],
          "convnet": lambda: convnet()[0], "tiny convnet": lambda: tiny_convnet()[0],
          "(x + x) * x": lambda: reused()[0]}


def assert_bitwise(got, want, what):
    assert got.dtype == want.dtype, f"{what}: dtype {got.dtype}, tc.grad's {want.dtype}"
    assert got.shape == want.shape, f"{what}: shape {got.shape}, tc.grad's {want.shape}"
    assert np.array_equal(got, want), f"{what}: {got} but tc.grad gives {want}"


def assert_walk_is_backwards(root, steps, hooked=False):
    """Each step's numbers are tc.grad's on the same graph, bit for bit (with hooks, which
    may replace what arrives at a tensor, only the gradients arriving)."""
    tensors = {}  # every tensor that gets a gradient, by identity
    for s in steps:
        tensors[id(s.output)] = s.output
        for t, g in zip(s.inputs, s.grad_inputs):
            if g is not None:
                tensors[id(t)] = t
    ordered = list(tensors.values())
    grads = dict(zip(map(id, ordered), tc.grad(root, ordered, retain_graph=True)))
    for s in steps:
        assert_bitwise(s.grad_output, grads[id(s.output)].data, f"step {s.index} ∂L/∂y")
    if hooked:
        return
    summed = {}  # what backward adds up at each tensor, in the order it adds
    for s in steps:
        for t, g in zip(s.inputs, s.grad_inputs):
            if g is not None:
                summed[id(t)] = g if id(t) not in summed else summed[id(t)] + g
    for key, g in summed.items():
        t = tensors[key]
        assert_bitwise(np.asarray(g, dtype=t.dtype), grads[key].data,
                       f"the gradients sent to {t.name or t.shape}")


@pytest.mark.parametrize("name", GRAPHS)
def test_every_number_is_the_one_tc_grad_computes(name, capsys):
    root = GRAPHS[name]()
    steps = tc.explain_backward(root)
    assert steps and [s.index for s in steps] == list(range(1, len(steps) + 1))
    assert_walk_is_backwards(root, steps)


def test_the_micrograd_neuron_by_hand(capsys):
    o, v = neuron()
    steps = tc.explain_backward(o)
    assert [s.op for s in steps] == ["tanh", "add", "add", "mul", "mul"]
    # inputs are named as forward names them; a lone one is x, as in the rules' y = f(x)
    assert [s.input_names for s in steps[:2]] == [("x",), ("a", "b")]
    n = 2.0 * -3.0 + 0.0 * 1.0 + 6.8813735870195432
    assert math.isclose(o.item(), math.tanh(n)) and math.isclose(o.item(), 1 / math.sqrt(2))
    do_dn = 1 - math.tanh(n) ** 2  # = 0.5
    assert steps[0].grad_output == 1 and math.isclose(steps[0].grad_inputs[0], do_dn)
    # add passes its gradient to both inputs; mul sends each input the other one times it
    by_name = {t.name: g for s in steps for t, g in zip(s.inputs, s.grad_inputs) if t.name}
    expected = {"b": do_dn, "x1": -3.0 * do_dn, "w1": 2.0 * do_dn, "x2": 1.0 * do_dn,
                "w2": 0.0 * do_dn}
    assert by_name.keys() == expected.keys()
    for name, want in expected.items():
        assert math.isclose(by_name[name], want, abs_tol=1e-15), name
    out = capsys.readouterr().out
    assert out.startswith("L = 0.7071, a () float64 tensor. Backward starts from ∂L/∂L = 1 "
                          "and visits 5 ops;\n")
    assert re.search(r"^step 5  mul\n(.*\n){2}        ∂L/∂a +-1\.5 +→ x1\n"
                     r"        ∂L/∂b +1 +→ w1$", out, re.M), out
    leaves = out[out.index("Leaves"):].splitlines()[1:]
    assert [line.split() for line in leaves] == [
        ["b", "0.5"], ["w2", "0"], ["w1", "1"], ["x2", "0.5"], ["x1", "-1.5"]]


def test_nothing_changes_grad_and_the_graph_can_still_be_backpropagated(capsys):
    loss, model = convnet()
    kernel, bias = model.layers[0].kernel, model.layers[0].bias
    kernel.grad = before = np.full(kernel.shape, 7.0, np.float32)
    untouched = [w for w in model.weights if w is not kernel]
    steps = tc.explain_backward(loss)
    assert kernel.grad is before and np.all(before == 7.0)
    assert all(w.grad is None for w in untouched)
    assert all(s.output.grad is None for s in steps)
    expected = {id(w): g.data for w, g in zip(model.weights,
                                               tc.grad(loss, model.weights, retain_graph=True))}
    loss.backward()  # the graph was kept: a full backward still runs
    assert np.array_equal(bias.grad, expected[id(bias)])
    assert np.array_equal(kernel.grad, before + expected[id(kernel)])


def test_the_arrays_are_copies_that_later_backward_passes_do_not_touch(capsys):
    loss, model = mlp()
    steps = tc.explain_backward(loss)
    kept = [s.grad_output.copy() for s in steps]
    loss.backward(retain_graph=True)
    loss.backward()
    assert all(np.array_equal(s.grad_output, k) for s, k in zip(steps, kept))


def test_a_non_scalar_root_starts_from_grad_output(capsys):
    x = Tensor(np.array([[1.0, -2.0], [0.5, 3.0]]), requires_grad=True, name="x")
    y = x.relu() * x
    seed = np.array([[1.0, 2.0], [-1.0, 0.5]])
    steps = tc.explain_backward(y, grad_output=seed)
    assert np.array_equal(steps[0].grad_output, seed)
    (gx,) = tc.grad(y, [x], grad_outputs=seed, retain_graph=True)
    assert [s.op for s in steps] == ["mul", "relu"]
    # x reaches mul directly (its input b) and through relu: backward adds the two
    assert np.array_equal(steps[0].grad_inputs[1] + steps[1].grad_inputs[0], gx.data)
    assert ("L, a (2, 2) float64 tensor. Backward starts from ∂L/∂root = the grad_output given "
            "and visits 2 ops;") in capsys.readouterr().out


def test_hooks_change_the_walk_as_they_change_backward(capsys):
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True, name="x")
    h = x * 3.0
    h.register_hook(lambda g: g * 10)
    root = (h * h).sum()
    steps = tc.explain_backward(root)
    assert_walk_is_backwards(root, steps, hooked=True)
    # h·h sends 2h = 2·3x to h; the hook multiplies it by 10 before mul (h = 3x) sees it
    assert np.array_equal(steps[2].grad_output, 10 * 2 * 3.0 * np.array([1.0, 2.0]))


# ------------------------------------------------------------------------ what is printed
def test_each_step_shows_the_op_its_rule_and_its_gradients(capsys, monkeypatch):
    monkeypatch.setattr(ReLUOp, "rule", "relu: ∂y/∂x = 1 where x > 0, else 0", raising=False)
    loss, _ = tiny_convnet()
    x = Tensor(np.array([-1.0, 2.0], dtype=np.float32), requires_grad=True, name="x")
    steps = tc.explain_backward(loss + (x.relu() * 0.5).sum(), max_values=8)
    out = capsys.readouterr().out
    labels = [s.op for s in steps]
    assert labels[:2] == ["add", "sum"]
    assert {"cross_entropy", "reshape (1, 18)", "max_pool2d 2×2 s2 valid",
            "conv2d 2×2 s1 same", "matmul", "relu"} <= set(labels)
    for s in steps:
        assert f"step {s.index}  {s.op}\n        rule" in out
        assert re.search(rf"^ +rule +{re.escape(s.rule)}$", out, re.M)
    relu = next(s for s in steps if s.op == "relu")
    assert relu.rule == "relu: ∂y/∂x = 1 where x > 0, else 0"
    assert re.search(r"∂L/∂x +\[  0, 0\.5\] +→ x$", out, re.M), out  # relu calls its input x

    conv = next(s for s in steps if s.op.startswith("conv2d"))
    assert conv.input_names == ("x", "kernel", "bias")
    # at most max_values elements in full, else shape, norm, min and max
    g = conv.grad_output.astype(np.float64)
    assert (f"∂L/∂y       shape (1, 6, 6, 2), norm {np.sqrt((g * g).sum()):.4g}, "
            f"min {g.min():.4g}, max {g.max():.4g}\n") in out
    assert "∂L/∂x       none sent: x (an input) does not require grad" in out
    kernel = ", ".join(f"{v:.4g}" for v in conv.grad_inputs[1].ravel())
    start = out.index("\n", out.index("∂L/∂kernel  → conv2d.kernel\n"))
    numbers = re.findall(r"-?\d+\.?\d*(?:e-?\d+)?", out[start:out.index("∂L/∂bias", start)])
    assert ", ".join(numbers) == kernel
    # leaves by their layer names, with their final gradients
    leaves = out[out.index("Leaves"):]
    for name in ("dense.bias", "dense.kernel", "conv2d.bias", "conv2d.kernel", "x"):
        assert re.search(rf"^        {re.escape(name)}( |$)", leaves, re.M), name


class Square(tc.Function):
    name = "square"

    def forward(self, a):
        self.save_for_backward(a)
        return a * a

    def backward(self, grad):
        (a,) = self.saved
        return (2 * a * grad,)


class DocumentedSquare(Square):
    name = "documented_square"

    def backward(self, grad):
        """d(a²)/da = 2a.

        The first line is the rule shown.
        """
        return super().backward(grad)


class RuledSquare(Square):
    name = "ruled_square"
    rule = "ruled_square: ∂y/∂a = 2a"


@pytest.mark.parametrize("op, rule", [
    (RuledSquare, "ruled_square: ∂y/∂a = 2a"),
    (DocumentedSquare, "documented_square: d(a²)/da = 2a."),
    (Square, "square: no rule given (its class has no `rule` and its backward no docstring)"),
])
def test_a_custom_op_shows_its_rule_or_its_backward_docstring_or_says_it_has_none(
        op, rule, capsys):
    x = Tensor(np.array([3.0]), requires_grad=True, name="x")
    (step,) = tc.explain_backward(op().apply(x))
    assert step.rule == rule and step.op == op.name
    assert np.array_equal(step.grad_inputs[0], [6.0])
    assert f"rule   {rule}\n" in capsys.readouterr().out


def test_unnamed_leaves_are_numbered_and_operands_named_by_forward(capsys):
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([3.0, 5.0]), requires_grad=True)
    total, sub = tc.explain_backward((a - b).sum())
    out = capsys.readouterr().out
    assert (total.op, sub.op, sub.input_names) == ("sum", "sub", ("a", "b"))
    assert "→ unnamed leaf #1 (2,)" in out and "→ unnamed leaf #2 (2,)" in out
    assert np.array_equal(sub.grad_inputs[1], [-1.0, -1.0])
    concat = tc.explain_backward(F.concatenate([a, b, a]).sum())[1]
    assert concat.input_names == ("arrays[0]", "arrays[1]", "arrays[2]")
