"""Every op: forward against plain numpy, gradient by tc.gradcheck in float64.

Shapes are drawn by hypothesis (small, so the central differences stay cheap), including
broadcasting pairs. Then the graph semantics: node reuse, accumulation, non-scalar roots,
retain_graph, no_grad, a 100,000-op chain, and numerical stability at large magnitudes.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_cnn as tc
import tinygrad_cnn.functional as F
from tinygrad_cnn import Tensor

seeds = st.integers(0, 2**32 - 1)
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
nonscalar_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
broadcast_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3)


def leaf(a, requires_grad=True):
    return Tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def away_from_zero(rng, shape, low=0.2, high=2.0):
    """Values with |v| in [low, high]: no kink of abs/relu/division within eps."""
    return rng.uniform(low, high, shape) * rng.choice([-1.0, 1.0], shape)


def tie_free(rng, shape):
    """Distinct values at least 0.5 apart, so max has one clear winner per window."""
    size = int(np.prod(shape))
    return (rng.permutation(size).reshape(shape) + rng.uniform(0, 0.5)) * 0.5


def assert_forward_and_grad(fn, ref, arrays, requires=None):
    """fn(*tensors) equals ref(*arrays) and gradcheck passes for every tensor needing grad."""
    requires = requires or [True] * len(arrays)
    tensors = [leaf(a, r) for a, r in zip(arrays, requires, strict=True)]
    out = fn(*tensors)
    assert isinstance(out, Tensor) and out.dtype == np.float64
    np.testing.assert_allclose(out.data, ref(*arrays), rtol=1e-12, atol=1e-12)
    assert tc.gradcheck(fn, tensors)


# --------------------------------------------------------------------- unary ops

def _sigmoid(a):
    return 1 / (1 + np.exp(-a))


UNARY = {
    # name: (tensor op, numpy reference, input generator)
    "neg": (lambda x: -x, np.negative, lambda r, s: r.standard_normal(s)),
    "exp": (lambda x: x.exp(), np.exp, lambda r, s: r.standard_normal(s)),
    "log": (lambda x: x.log(), np.log, lambda r, s: r.uniform(0.3, 3, s)),
    "sqrt": (lambda x: x.sqrt(), np.sqrt, lambda r, s: r.uniform(0.3, 3, s)),
    "abs": (lambda x: x.abs(), np.abs, away_from_zero),
    "relu": (lambda x: x.relu(), lambda a: np.maximum(a, 0), away_from_zero),
    "F.relu": (F.relu, lambda a: np.maximum(a, 0), away_from_zero),
    "sigmoid": (lambda x: x.sigmoid(), _sigmoid, lambda r, s: 3 * r.standard_normal(s)),
    "tanh": (lambda x: x.tanh(), np.tanh, lambda r, s: r.standard_normal(s)),
    "clip": (lambda x: x.clip(-1, 0.5), lambda a: np.clip(a, -1, 0.5),
             lambda r, s: r.choice([-1.6, -0.3, 0.2, 1.2], s) + r.uniform(-0.1, 0.1, s)),
    "F.clip": (lambda x: F.clip(x, None, 0.5), lambda a: np.minimum(a, 0.5),
               lambda r, s: r.choice([-1.6, 0.2, 1.2], s) + r.uniform(-0.1, 0.1, s)),
    "pos": (lambda x: +x, lambda a: a, lambda r, s: r.standard_normal(s)),
}


@pytest.mark.parametrize("name", UNARY)
@given(shape=shapes, seed=seeds)
def test_unary_op_forward_and_gradient(name, shape, seed):
    op, ref, gen = UNARY[name]
    assert_forward_and_grad(op, ref, [gen(np.random.default_rng(seed), shape)])


@pytest.mark.parametrize("name", UNARY)
def test_unary_op_keeps_float32(name):
    op, _, gen = UNARY[name]
    x = Tensor(gen(np.random.default_rng(0), (3, 2)).astype(np.float32), requires_grad=True)
    y = op(x)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


# -------------------------------------------------------------------- binary ops

BINARY = {
    "add": (lambda a, b: a + b, np.add),
    "sub": (lambda a, b: a - b, np.subtract),
    "mul": (lambda a, b: a * b, np.multiply),
    "div": (lambda a, b: a / b, np.divide),
    "pow": (lambda a, b: a**b, np.power),
}


def binary_inputs(name, rng, shape_a, shape_b):
    if name == "pow":  # positive base, moderate exponent
        return rng.uniform(0.5, 2.0, shape_a), rng.uniform(-2.0, 2.0, shape_b)
    if name == "div":
        return rng.standard_normal(shape_a), away_from_zero(rng, shape_b, 0.5, 2.0)
    return rng.standard_normal(shape_a), rng.standard_normal(shape_b)


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("requires", [(True, True), (True, False), (False, True)],
                         ids=["both", "left", "right"])
@given(shapes=broadcast_pairs, seed=seeds)
def test_binary_op_broadcasts_and_sums_gradients_back(name, requires, shapes, seed):
    op, ref = BINARY[name]
    a, b = binary_inputs(name, np.random.default_rng(seed), *shapes.input_shapes)
    assert_forward_and_grad(op, ref, [a, b], list(requires))


def test_broadcast_gradients_have_each_inputs_shape():
    a = leaf(np.ones((2, 1, 3)))
    b = leaf(np.ones((4, 1)))
    (a * b).sum().backward()
    assert a.grad.shape == (2, 1, 3) and b.grad.shape == (4, 1)
    np.testing.assert_array_equal(a.grad, np.full((2, 1, 3), 4.0))
    np.testing.assert_array_equal(b.grad, np.full((4, 1), 6.0))


ARR = np.array([0.7, -1.3, 2.1])  # broadcasts against x of shape (2, 3)
BIG = np.array([[0.5, 1.5, -2.0], [1.0, -0.5, 0.25], [2.0, 1.0, -1.0]])  # (3, 3): widens x
SCALAR_AND_ARRAY_CASES = {
    "x + 2.5": (lambda x: x + 2.5, lambda a: a + 2.5),
    "2.5 + x": (lambda x: 2.5 + x, lambda a: 2.5 + a),
    "x + arr": (lambda x: x + ARR, lambda a: a + ARR),
    "arr + x": (lambda x: ARR + x, lambda a: ARR + a),
    "x[0] + big": (lambda x: x[0] + BIG, lambda a: a[0] + BIG),
    "x - 1.5": (lambda x: x - 1.5, lambda a: a - 1.5),
    "1.5 - x": (lambda x: 1.5 - x, lambda a: 1.5 - a),
    "arr - x": (lambda x: ARR - x, lambda a: ARR - a),
    "x * 3": (lambda x: x * 3, lambda a: a * 3),
    "3 * x": (lambda x: 3 * x, lambda a: 3 * a),
    "arr * x": (lambda x: ARR * x, lambda a: ARR * a),
    "big * x[1]": (lambda x: BIG * x[1], lambda a: BIG * a[1]),
    "x / 4": (lambda x: x / 4, lambda a: a / 4),
    "4 / x": (lambda x: 4 / x, lambda a: 4 / a),
    "arr / x": (lambda x: ARR / x, lambda a: ARR / a),
    "x / arr": (lambda x: x / ARR, lambda a: a / ARR),
    "x ** 2": (lambda x: x**2, lambda a: a**2),
    "x ** 3": (lambda x: x**3, lambda a: a**3),
    "|x| ** 0.5": (lambda x: x.abs() ** 0.5, lambda a: np.abs(a) ** 0.5),
    "|x| ** -1.5": (lambda x: x.abs() ** -1.5, lambda a: np.abs(a) ** -1.5),
    "2 ** x": (lambda x: 2**x, lambda a: 2.0**a),
    "|arr| ** x": (lambda x: np.abs(ARR) ** x, lambda a: np.abs(ARR) ** a),
    "x ** |arr|": (lambda x: x.abs() ** np.abs(ARR), lambda a: np.abs(a) ** np.abs(ARR)),
}


@pytest.mark.parametrize("case", SCALAR_AND_ARRAY_CASES.values(),
                         ids=SCALAR_AND_ARRAY_CASES.keys())
def test_python_scalars_and_ndarrays_in_both_operand_orders(case):
    fn, ref = case
    x = away_from_zero(np.random.default_rng(1), (2, 3), 0.3, 2.0)
    assert_forward_and_grad(fn, ref, [x])


def test_clip_passes_the_gradient_inside_and_at_the_bounds_only():
    x = leaf([-2.0, -1.0, 0.0, 1.0, 2.0])
    y = x.clip(-1, 1)
    np.testing.assert_array_equal(y.data, [-1, -1, 0, 1, 1])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [0, 1, 1, 1, 0])  # bounds count as inside (torch)
    assert x.clip(-1, 1)._ctx.describe() == "clip [-1, 1]"


def test_pow_gradient_wrt_exponent_is_zero_where_the_base_is_not_positive():
    base = leaf([-2.0, 0.0, 3.0], requires_grad=False)
    e = leaf([2.0, 2.0, 2.0])
    (base**e).sum().backward()
    np.testing.assert_allclose(e.grad, [0.0, 0.0, 9.0 * np.log(3.0)])


def test_pow_with_exponent_zero_has_zero_gradient_even_at_zero():
    x = leaf([0.0, 2.0])
    with np.errstate(all="raise"):
        (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


# ------------------------------------------------------------------------ matmul

MATMUL_SHAPES = [
    ((4,), (4,)),  # 1-D · 1-D: a scalar
    ((4,), (4, 3)),
    ((2, 4), (4,)),
    ((2, 4), (4, 3)),
    ((5, 2, 4), (4, 3)),  # batched left
    ((2, 4), (5, 4, 3)),  # batched right
    ((5, 2, 4), (5, 4, 3)),
    ((5, 1, 2, 4), (3, 4, 2)),  # batch dims broadcast
    ((4,), (5, 4, 3)),
    ((5, 2, 4), (4,)),
]


@pytest.mark.parametrize("shape_a, shape_b", MATMUL_SHAPES)
@pytest.mark.parametrize("requires", [(True, True), (True, False), (False, True)],
                         ids=["both", "left", "right"])
def test_matmul_follows_np_matmul(shape_a, shape_b, requires):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    assert_forward_and_grad(lambda x, y: x @ y, np.matmul, [a, b], list(requires))


@pytest.mark.parametrize("shape_a, shape_b", [((2, 4), (4, 3)), ((4,), (4,)), ((5, 2, 4), (4,))])
def test_matmul_with_an_ndarray_on_either_side(shape_a, shape_b):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(shape_a), rng.standard_normal(shape_b)
    assert_forward_and_grad(lambda x: x @ b, lambda x: x @ b, [a])
    assert_forward_and_grad(lambda y: a @ y, lambda y: a @ y, [b])


# -------------------------------------------------------------------- reductions

@st.composite
def shape_and_axis(draw):
    shape = draw(nonscalar_shapes)
    ndim = len(shape)
    axis = draw(st.one_of(
        st.none(),
        st.integers(-ndim, ndim - 1),
        hnp.valid_tuple_axes(ndim, min_size=1),
    ))
    return shape, axis


REDUCTIONS = {
    "sum": (lambda x, axis, keepdims: x.sum(axis=axis, keepdims=keepdims), np.sum),
    "mean": (lambda x, axis, keepdims: x.mean(axis=axis, keepdims=keepdims), np.mean),
    "max": (lambda x, axis, keepdims: x.max(axis=axis, keepdims=keepdims), np.max),
}


@pytest.mark.parametrize("name", REDUCTIONS)
@given(shape_axis=shape_and_axis(), keepdims=st.booleans(), seed=seeds)
def test_reduction_over_int_tuple_or_all_axes(name, shape_axis, keepdims, seed):
    shape, axis = shape_axis
    op, ref = REDUCTIONS[name]
    x = tie_free(np.random.default_rng(seed), shape)
    assert_forward_and_grad(lambda t: op(t, axis, keepdims),
                            lambda a: np.asarray(ref(a, axis=axis, keepdims=keepdims)), [x])


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reduction_of_a_zero_d_tensor(name):
    op, _ = REDUCTIONS[name]
    assert_forward_and_grad(lambda t: op(t, None, False), lambda a: a, [np.array(1.5)])


def test_reduction_axis_may_be_a_list_or_numpy_int():
    x = leaf(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(x.sum(axis=[0, 2]).data, x.data.sum(axis=(0, 2)))
    np.testing.assert_array_equal(x.mean(axis=np.int64(1)).data, x.data.mean(axis=1))


def test_max_splits_the_gradient_between_ties():
    x = leaf([[1.0, 3.0, 3.0], [2.0, 0.0, -1.0]])
    x.max(axis=1).sum().backward()
    np.testing.assert_array_equal(x.grad, [[0, 0.5, 0.5], [1, 0, 0]])


@pytest.mark.parametrize("name", REDUCTIONS)
def test_reductions_keep_float32(name):
    op, _ = REDUCTIONS[name]
    x = Tensor(np.arange(6, dtype=np.float32).reshape(2, 3), requires_grad=True)
    y = op(x, 1, False)
    assert y.dtype == np.float32
    y.sum().backward()
    assert x.grad.dtype == np.float32


# ---------------------------------------------------------------------- movement

@st.composite
def shape_and_target(draw):
    shape = draw(shapes)
    size = int(np.prod(shape))
    target = draw(st.sampled_from(
        [tuple(reversed(shape)), (-1,), (size,), (1, -1), shape + (1,), (1,) + shape]
    ))
    return shape, target


@given(shape_target=shape_and_target(), seed=seeds)
def test_reshape(shape_target, seed):
    shape, target = shape_target
    x = np.random.default_rng(seed).standard_normal(shape)
    assert_forward_and_grad(lambda t: t.reshape(*target), lambda a: a.reshape(target), [x])
    assert_forward_and_grad(lambda t: t.reshape(target), lambda a: a.reshape(target), [x])


@st.composite
def shape_and_axes(draw):
    shape = draw(nonscalar_shapes)
    axes = draw(st.permutations(range(len(shape))))
    negative = draw(st.booleans())  # the same permutation written with negative axes
    return shape, tuple(a - len(shape) if negative else a for a in axes)


@given(shape_axes=shape_and_axes(), seed=seeds)
def test_transpose(shape_axes, seed):
    shape, axes = shape_axes
    x = np.random.default_rng(seed).standard_normal(shape)
    # exactly two ints swap those two axes (torch.transpose), whatever the rank
    written_out = (lambda a: np.swapaxes(a, *axes)) if len(axes) == 2 else (
        lambda a: a.transpose(axes))
    assert_forward_and_grad(lambda t: t.transpose(*axes), written_out, [x])
    assert_forward_and_grad(lambda t: t.transpose(axes), lambda a: a.transpose(axes), [x])
    assert_forward_and_grad(lambda t: t.permute(*axes), lambda a: a.transpose(axes), [x])
    assert_forward_and_grad(lambda t: t.transpose(), lambda a: a.transpose(), [x])


@given(shape=nonscalar_shapes, data=st.data(), seed=seeds)
def test_transpose_of_two_axes_swaps_them(shape, data, seed):
    a = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim0")
    b = data.draw(st.integers(-len(shape), len(shape) - 1), label="dim1")
    x = np.random.default_rng(seed).standard_normal(shape)
    assert_forward_and_grad(lambda t: t.transpose(a, b), lambda v: np.swapaxes(v, a, b), [x])
    assert_forward_and_grad(lambda t: t.swapaxes(a, b), lambda v: np.swapaxes(v, a, b), [x])


@given(shape=shapes, data=st.data(), seed=seeds)
def test_flatten(shape, data, seed):
    start = data.draw(st.integers(0, len(shape)), label="start_axis")
    x = np.random.default_rng(seed).standard_normal(shape)
    expected_shape = shape[:start] + (int(np.prod(shape[start:])),)
    assert_forward_and_grad(lambda t: t.flatten(start),
                            lambda a: a.reshape(expected_shape), [x])


def test_flatten_defaults_to_keeping_the_batch_axis():
    assert Tensor(np.zeros((2, 3, 4))).flatten().shape == (2, 12)


@given(shape=nonscalar_shapes, data=st.data(), seed=seeds)
def test_pad_with_zeros(shape, data, seed):
    pads = tuple(data.draw(st.tuples(st.integers(0, 2), st.integers(0, 2)), label=f"axis {i}")
                 for i in range(len(shape)))
    x = np.random.default_rng(seed).standard_normal(shape)
    assert_forward_and_grad(lambda t: t.pad(pads), lambda a: np.pad(a, pads), [x])


@pytest.mark.parametrize("pad_width", [1, ((1, 2),), [[0, 1], [2, 0]]])
def test_pad_accepts_numpys_short_forms(pad_width):
    x = np.arange(6.0).reshape(2, 3)
    assert_forward_and_grad(lambda t: t.pad(pad_width), lambda a: np.pad(a, pad_width), [x])


INDICES = {
    "int": 1,
    "negative int": -1,
    "slice": slice(1, 3),
    "stepped slice": slice(None, None, 2),
    "reversed": slice(None, None, -1),
    "tuple of int and slice": (slice(None), 2),
    "ellipsis": (Ellipsis, 1),
    "None": (None, 1),
    "mixed": (slice(0, 4, 2), None, Ellipsis, 0),
    "int array, repeated": np.array([0, 0, 3]),
    "list, repeated": [1, 1, 1],
    "two int arrays": (np.array([0, 2, 2]), np.array([1, 4, 4])),
    "slice then list": (slice(None), [0, 0, 2]),
    "ellipsis then list": (Ellipsis, [2, 2]),
    "None then list": (None, [3, 0]),
    "2-D int array": np.array([[0, 1], [1, 1]]),
    "bool mask": np.array([True, False, True, True]),
    "int Tensor": Tensor(np.array([2, 2])),
}


@pytest.mark.parametrize("index", INDICES.values(), ids=INDICES.keys())
def test_getitem(index):
    x = np.random.default_rng(0).standard_normal((4, 5, 3))
    np_index = index.data if isinstance(index, Tensor) else index
    assert_forward_and_grad(lambda t: t[index], lambda a: np.asarray(a[np_index]), [x])


def test_getitem_with_an_empty_list_selects_nothing():
    x = leaf(np.ones((3, 2)))
    assert x[[]].shape == (0, 2)
    (x[[]].sum() + x[0].sum()).backward()
    np.testing.assert_array_equal(x.grad, [[1.0, 1.0], [0.0, 0.0], [0.0, 0.0]])


def test_getitem_repeated_indices_accumulate():
    x = leaf(np.zeros(4))
    x[[0, 0, 0, 2]].sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 1.0, 0.0])


# ------------------------------------------------------- softmax and the losses

@st.composite
def shape_and_one_axis(draw):
    shape = draw(nonscalar_shapes)
    return shape, draw(st.integers(-len(shape), len(shape) - 1))


def _log_softmax_ref(a, axis):
    m = a.max(axis=axis, keepdims=True)
    return a - m - np.log(np.exp(a - m).sum(axis=axis, keepdims=True))


@given(shape_axis=shape_and_one_axis(), seed=seeds)
def test_softmax_and_log_softmax(shape_axis, seed):
    shape, axis = shape_axis
    x = 2 * np.random.default_rng(seed).standard_normal(shape)
    assert_forward_and_grad(lambda t: t.log_softmax(axis),
                            lambda a: _log_softmax_ref(a, axis), [x])
    assert_forward_and_grad(lambda t: t.softmax(axis),
                            lambda a: np.exp(_log_softmax_ref(a, axis)), [x])
    assert_forward_and_grad(lambda t: F.softmax(t, axis=axis),
                            lambda a: np.exp(_log_softmax_ref(a, axis)), [x])
    assert_forward_and_grad(lambda t: F.log_softmax(t, axis=axis),
                            lambda a: _log_softmax_ref(a, axis), [x])


def test_softmax_defaults_to_the_last_axis_and_sums_to_one():
    s = Tensor(np.random.default_rng(0).standard_normal((3, 4))).softmax()
    np.testing.assert_allclose(s.data.sum(axis=-1), np.ones(3), rtol=1e-6)


def _cross_entropy_ref(logits, labels):
    return -_log_softmax_ref(logits, 1)[np.arange(len(labels)), labels].mean()


@given(n=st.integers(1, 5), classes=st.integers(1, 5), seed=seeds)
def test_cross_entropy(n, classes, seed):
    rng = np.random.default_rng(seed)
    logits = 2 * rng.standard_normal((n, classes))
    labels = rng.integers(0, classes, size=n)
    assert_forward_and_grad(lambda t: F.cross_entropy(t, labels),
                            lambda a: _cross_entropy_ref(a, labels), [logits])


def test_cross_entropy_accepts_label_lists_and_int_tensors():
    logits = np.random.default_rng(0).standard_normal((3, 4))
    expected = _cross_entropy_ref(logits, np.array([0, 3, 1]))
    for labels in ([0, 3, 1], Tensor(np.array([0, 3, 1]))):
        np.testing.assert_allclose(F.cross_entropy(leaf(logits), labels).data, expected)


def test_cross_entropy_keeps_float32():
    logits = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    loss = F.cross_entropy(logits, [0, 2])
    assert loss.dtype == np.float32 and loss.shape == ()
    loss.backward()
    assert logits.grad.dtype == np.float32


@given(shape=shapes, seed=seeds)
def test_mse(shape, seed):
    rng = np.random.default_rng(seed)
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)

    def ref(p, t):
        return np.mean((p - t) ** 2)

    assert_forward_and_grad(F.mse, ref, [pred, target])  # target as a Tensor, both checked
    assert_forward_and_grad(lambda p: F.mse(p, target), lambda p: ref(p, target), [pred])
    assert_forward_and_grad(lambda p: tc.losses.mse(p, target), lambda p: ref(p, target), [pred])


# ----------------------------------------------------------------------- dropout

def test_dropout_mask_is_consistent_between_forward_and_backward():
    tc.manual_seed(0)
    rng = np.random.default_rng(0)
    x = leaf(rng.uniform(1, 2, (50, 40)))
    rate = 0.3
    y = F.dropout(x, rate)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    kept = y.data != 0
    assert 0.2 < 1 - kept.mean() < 0.4  # about `rate` of the units dropped
    np.testing.assert_allclose(y.data[kept], x.data[kept] / (1 - rate))
    # the gradient goes exactly where the output came from, scaled the same way
    np.testing.assert_allclose(x.grad, np.where(kept, g / (1 - rate), 0.0))


def test_dropout_is_the_identity_when_not_training_or_rate_zero():
    x = leaf(np.ones((3, 3)))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x


def test_dropout_masks_repeat_under_manual_seed():
    x = Tensor(np.ones((20, 20), np.float32))
    tc.manual_seed(7)
    first = F.dropout(x, 0.5).data
    tc.manual_seed(7)
    np.testing.assert_array_equal(F.dropout(x, 0.5).data, first)
    assert F.dropout(x, 0.5).dtype == np.float32


# ================================================================ graph semantics

def test_node_reuse_accumulates_gradient():
    x = leaf([1.0, -2.0, 3.0])
    ((x + x) * x).sum().backward()  # d/dx 2x² = 4x
    np.testing.assert_allclose(x.grad, 4 * x.data)
    assert tc.gradcheck(lambda t: (t + t) * t, [leaf([1.0, -2.0, 3.0])])


def test_diamond_graph():
    x = leaf([0.5, 1.5])
    a = x.exp()
    b = a * x
    c = a + b
    c.sum().backward()  # c = e^x (1 + x), dc/dx = e^x (2 + x)
    np.testing.assert_allclose(x.grad, np.exp(x.data) * (2 + x.data))


def test_gradients_accumulate_across_backward_calls_until_zeroed():
    x = leaf([1.0, 2.0])
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 6.0])
    x.zero_grad()
    (x * 3).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])
    x.grad = None
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad, [5.0, 5.0])


@pytest.mark.parametrize("wrap", [np.asarray, Tensor, lambda g: g.tolist()],
                         ids=["ndarray", "Tensor", "list"])
def test_backward_with_a_gradient_for_a_non_scalar_root(wrap):
    x = leaf(np.arange(6.0).reshape(2, 3))
    y = x * 3
    g = np.random.default_rng(0).standard_normal((2, 3))
    y.backward(wrap(g))
    np.testing.assert_allclose(x.grad, 3 * g)


def test_backward_on_a_leaf():
    x = leaf([1.0, 2.0])
    x.backward(np.array([3.0, 4.0]))
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_gradients_are_never_shared_arrays():
    a, b, c = leaf(np.ones(3)), leaf(np.ones(3)), leaf(np.full(3, 2.0))
    ((a + b) * c).sum().backward()  # Add hands the same gradient array to a and b
    assert not np.shares_memory(a.grad, b.grad)
    a.grad *= 0  # an in-place update of one gradient (clipping, weight decay)...
    np.testing.assert_array_equal(b.grad, [2.0, 2.0, 2.0])  # ...leaves the other alone

    x = leaf(np.ones(3))
    g = np.ones(3)
    (x + 0).backward(g)
    assert not np.shares_memory(x.grad, g)


def test_leaves_without_requires_grad_get_no_gradient():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0], requires_grad=False)
    (x * w).sum().backward()
    assert w.grad is None
    np.testing.assert_array_equal(x.grad, [3.0, 4.0])


def test_backward_only_follows_the_roots_graph():
    x = leaf([1.0, 2.0])
    unused = x * 100
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    assert unused.grad is None


def test_backward_is_deterministic():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((5, 5))

    def grad_once():
        x = leaf(w)
        branches = [(x * float(i)).exp().sum(axis=0) for i in range(20)]
        total = branches[0]
        for b in branches[1:]:
            total = total + b
        total.sum().backward()
        return x.grad

    assert np.array_equal(grad_once(), grad_once())  # bit for bit


def test_graph_is_released_and_a_second_backward_says_how_to_keep_it():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_a_second_backward_that_accumulates():
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(x.grad, 2 * 2 * x.data)


def test_retain_graph_keeps_intermediate_gradients():
    x = leaf([1.0, 2.0])
    h = x * 3
    h.sum().backward(retain_graph=True)
    np.testing.assert_array_equal(h.grad, [1.0, 1.0])


def test_no_grad_records_nothing_even_for_leaves_requiring_grad():
    x = leaf([1.0, 2.0])
    with tc.no_grad():
        y = (x.exp() @ x).sqrt()
    assert not y.requires_grad and y._ctx is None
    with pytest.raises(ValueError):
        y.backward()


def test_no_grad_works_as_a_decorator():
    @tc.no_grad()
    def infer(t):
        return t * 2

    assert not infer(leaf([1.0])).requires_grad


def test_a_chain_of_100000_ops_backprops_without_recursion():
    # 24_999 rounds of y -> -(y*2 + 1) / 2, 4 ops each with d/dy = 2 * 1 * (-1) * (1/2) = -1,
    # then y -> (y*2 + 1)*2 + 1, 4 ops with d/dy = 4: 100_000 ops, dy/dx = (-1)**24_999 * 4 = -4.
    # Forward from x = 0: a round maps 0 -> -0.5 -> 0, so after 24_999 rounds y = -0.5 and the
    # tail gives (-0.5*2 + 1)*2 + 1 = 1. Only powers of two and halves: exact in float64.
    limit = sys.getrecursionlimit()
    x = leaf(0.0)
    y = x
    for _ in range(24_999):
        y = -(y * 2.0 + 1.0) / 2.0
    y = (y * 2.0 + 1.0) * 2.0 + 1.0
    assert y.item() == 1.0
    y.backward()
    assert x.grad.shape == () and x.grad == -4.0
    assert sys.getrecursionlimit() == limit


_DROP_CHAIN = """
import weakref
import numpy as np
from tinygrad_cnn import Tensor
x = Tensor(np.float64(1.0), requires_grad=True)
y = x
for i in range(100_000):
    y = y * 1.0
    if i == 50_000:
        middle = weakref.ref(y)
root = weakref.ref(y)
del y
assert root() is None and middle() is None, "the dropped graph is still alive"
assert x.grad is None and x.item() == 1.0
print("dropped")
"""


def test_dropping_a_100000_op_graph_without_backward_is_safe():
    """In a child process, so a C-stack overflow while deallocating fails this test (not
    the whole run); errors swallowed in __del__ ("Exception ignored") also fail it."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(tc.__file__)))
    env = dict(os.environ, PYTHONPATH=root)
    done = subprocess.run([sys.executable, "-c", _DROP_CHAIN], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, f"exit {done.returncode}: {done.stderr[-2000:]}"
    assert done.stdout.strip() == "dropped"
    assert "Exception ignored" not in done.stderr, done.stderr[-2000:]


# ====================================================== numerical stability

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_on_huge_logits_is_finite_with_the_right_gradient(dtype):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3], [2e4, 2e4, -3e4]])
    labels = np.array([1, 1, 0])
    x = Tensor(logits.astype(dtype), requires_grad=True)
    loss = F.cross_entropy(x, labels)
    assert np.isfinite(loss.data)
    np.testing.assert_allclose(loss.data, (2e4 + 0 + np.log(2)) / 3, rtol=1e-6)
    loss.backward()
    softmax = np.exp(_log_softmax_ref(logits, 1))
    expected = (softmax - np.eye(3)[labels]) / 3
    assert np.all(np.isfinite(x.grad))
    np.testing.assert_allclose(x.grad, expected, atol=1e-7)
    if dtype == np.float64:
        assert tc.gradcheck(lambda t: F.cross_entropy(t, labels), [leaf(logits)])


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_on_huge_logits_is_finite_with_the_right_gradient(op, dtype):
    logits = np.array([[1e4, -1e4, 0.0], [3e4, 3e4 - 1, 0.0]])
    x = Tensor(logits.astype(dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise"):
        y = getattr(x, op)()
        assert np.all(np.isfinite(y.data))
        g = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0]])
        y.backward(g)
    assert np.all(np.isfinite(x.grad))
    ref = _log_softmax_ref(logits, 1)
    s = np.exp(ref)
    if op == "softmax":
        np.testing.assert_allclose(y.data, s, atol=1e-6)
        expected = s * (g - (g * s).sum(axis=1, keepdims=True))
    else:
        np.testing.assert_allclose(y.data, ref, rtol=1e-6)
        expected = g - s * g.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(x.grad, expected, atol=1e-5)
    if dtype == np.float64:
        assert tc.gradcheck(lambda t: getattr(t, op)(), [leaf(logits)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_and_tanh_of_huge_inputs_are_finite(dtype):
    x = Tensor(np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0], dtype=dtype), requires_grad=True)
    with np.errstate(over="raise", invalid="raise"):
        s = x.sigmoid()
        s.sum().backward()
        t = x.tanh()
    assert s.dtype == dtype
    np.testing.assert_allclose(s.data, [0.0, _sigmoid(-50.0), 0.5, _sigmoid(50.0), 1.0],
                               rtol=1e-6)
    assert np.all(np.isfinite(x.grad)) and x.grad[2] == 0.25
    assert np.all(np.isfinite(t.data))
