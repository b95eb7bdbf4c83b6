"""NaN and empty tensors, as PyTorch and numpy handle them.

- ``max``, ``min``, ``tc.maximum``, ``tc.minimum``, ``max_pool2d`` and ``relu`` propagate
  NaN. A max or min over an axis, or a pooling window, that holds one NaN sends its
  gradient to the NaN; ``maximum``/``minimum`` give the whole gradient to both sides where
  either is NaN, and ``relu`` passes it at a NaN (PyTorch's rules, each written out here as
  a closed form). Where torch's rule differs only on ties the library keeps its own,
  stated in the test's name: several NaNs in a slice share the gradient (torch.max(x, dim)
  gives it to the first), a pooling window's first NaN takes it (torch: the last).
- A reduction over non-empty axes of a tensor that is empty along another axis returns an
  empty result, as numpy's does; over an axis of length 0, max/min/argmax/argmin raise a
  ValueError naming the shape and the axis (numpy and torch raise too).

The torch comparisons run the same program in float64 and are skipped without torch.
"""

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor
from tinygrad_cnn import functional as F

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
nan = float("nan")


def leaf(values):
    return Tensor(np.array(values, dtype=np.float64), requires_grad=True)


def value_and_grad(fn, *values):
    """fn's output and the gradient of its sum with respect to each input (float64)."""
    xs = [leaf(v) for v in values]
    y = fn(*xs)
    y.sum().backward()
    return y.numpy(), [x.grad for x in xs]


def assert_same(actual, expected):
    np.testing.assert_array_equal(actual, np.asarray(expected, dtype=np.float64))


# -------------------------------------------------------------------- max and min
@pytest.mark.parametrize("reduce", ["max", "min"])
def test_a_nan_in_a_slice_is_its_result_and_takes_its_gradient(reduce):
    x = [[1.0, nan, 3.0, 3.0], [4.0, -1.0, 4.0, 0.0]]
    out, (g,) = value_and_grad(lambda t: getattr(t, reduce)(axis=1), x)
    tie = 4.0 if reduce == "max" else -1.0
    assert_same(out, [nan, tie])
    # row 0: all to the NaN; row 1 keeps its rule (max: the tie shares, min: the one -1)
    second = [0.5, 0, 0.5, 0] if reduce == "max" else [0, 1, 0, 0]
    assert_same(g, [[0, 1, 0, 0], second])


@pytest.mark.parametrize("reduce", ["max", "min"])
def test_over_everything_a_nan_takes_the_whole_gradient(reduce):
    out, (g,) = value_and_grad(lambda t: getattr(t, reduce)(), [[1.0, 2.0], [nan, -3.0]])
    assert np.isnan(out)
    assert_same(g, [[0, 0], [1, 0]])


def test_several_nans_in_a_slice_share_its_gradient_as_ties_do():
    # torch.max(x) over everything shares it so too; torch.max(x, dim) gives it to one NaN
    out, (g,) = value_and_grad(lambda t: t.max(axis=0), [nan, 1.0, nan, 2.0])
    assert np.isnan(out)
    assert_same(g, [0.5, 0, 0.5, 0])


def test_a_slice_without_nan_is_unaffected_by_a_nan_elsewhere():
    out, (g,) = value_and_grad(lambda t: t.max(axis=0), [[nan, 1.0], [2.0, 5.0], [0.0, 5.0]])
    assert_same(out, [nan, 5.0])
    assert_same(g, [[1, 0], [0, 0.5], [0, 0.5]])


def test_global_max_pool_routes_to_the_nan_of_each_image_and_channel():
    x = np.arange(16.0).reshape(1, 2, 2, 4)
    x[0, 1, 0, 2] = nan
    out, (g,) = value_and_grad(F.global_max_pool2d, x)
    assert_same(out, [[12, 13, nan, 15]])
    expected = np.zeros_like(x)
    expected[0, 1, 1, [0, 1, 3]] = 1  # the maxima of the other channels
    expected[0, 1, 0, 2] = 1
    assert_same(g, expected)


def test_second_order_through_max_routes_like_the_first():
    x = leaf([1.0, nan, 3.0])
    (g,) = tc.grad(x.max(), [x], create_graph=True)
    assert_same(g.data, [0, 1, 0])
    (h,) = tc.grad((g * x).sum(), [x])  # g is constant in x: d(g·x)/dx = g
    assert_same(h.data, [0, 1, 0])


# ---------------------------------------------------------- maximum, minimum, relu
@pytest.mark.parametrize("pick", ["maximum", "minimum"])
def test_maximum_and_minimum_give_both_sides_the_gradient_at_a_nan(pick):
    a = [nan, 1.0, nan, 2.0, 5.0, 0.0]
    b = [0.0, nan, nan, 2.0, 3.0, 4.0]
    out, (ga, gb) = value_and_grad(getattr(tc, pick), a, b)
    bigger = pick == "maximum"
    assert_same(out, [nan, nan, nan, 2.0, 5.0 if bigger else 3.0, 4.0 if bigger else 0.0])
    # PyTorch's rule: zero only on the side that compares worse; ½ each at a tie
    assert_same(ga, [1, 1, 1, 0.5, 1 if bigger else 0, 0 if bigger else 1])
    assert_same(gb, [1, 1, 1, 0.5, 0 if bigger else 1, 1 if bigger else 0])


def test_maximum_broadcasts_a_nan_scalar_and_sums_its_gradient_back():
    out, (ga, gb) = value_and_grad(tc.maximum, [1.0, -2.0, 3.0], nan)
    assert np.isnan(out).all()
    assert_same(ga, [1, 1, 1])
    assert_same(gb, 3.0)


def test_relu_propagates_nan_and_passes_its_gradient():
    out, (g,) = value_and_grad(lambda t: t.relu(), [nan, 2.0, 0.0, -1.0, -0.0])
    assert_same(out, [nan, 2.0, 0.0, 0.0, 0.0])
    assert_same(g, [1, 1, 0, 0, 0])  # torch: 1 where relu(x) is not ≤ 0, and NaN is not


def test_relu_second_order_and_the_fused_dense_relu_mask_agree():
    x = leaf([nan, 2.0, -1.0])
    (g,) = tc.grad(x.relu().sum(), [x], create_graph=True)
    assert_same(g.data, [1, 1, 0])
    inputs = leaf([[nan, 1.0], [-1.0, 2.0]])
    kernel = Tensor(np.eye(2), requires_grad=True)
    F.dense(inputs, kernel, relu=True).sum().backward()
    assert_same(inputs.grad, [[1, 1], [0, 1]])


# ------------------------------------------------------------------- max pooling
def pooled(values, **kwargs):
    """max_pool2d over one single-channel image, flattened, with its gradient."""
    image = np.array(values, dtype=np.float64)[None, :, :, None]
    out, (g,) = value_and_grad(lambda t: F.max_pool2d(t, **kwargs), image)
    return out.ravel(), g[0, :, :, 0]


@pytest.mark.parametrize("where", [(0, 0), (0, 1), (1, 0), (1, 1)])
def test_a_pooling_window_with_a_nan_sends_its_gradient_to_the_nan(where):
    window = np.array([[0.0, 1.0], [2.0, 3.0]])
    window[where] = nan
    out, g = pooled(window, pool_size=2)
    expected = np.zeros((2, 2))
    expected[where] = 1
    assert np.isnan(out).all()
    assert_same(g, expected)


def test_the_issues_window_nan_1_2_3():
    out, g = pooled([[nan, 1.0], [2.0, 3.0]], pool_size=2)
    assert np.isnan(out[0])
    assert_same(g, [[1, 0], [0, 0]])  # it went to the 3 before


def test_overlapping_windows_each_send_to_the_shared_nan():
    out, g = pooled([[0, 1, 2], [3, nan, 4], [5, 6, 7]], pool_size=2, strides=1)
    assert np.isnan(out).all()
    assert_same(g, [[0, 0, 0], [0, 4, 0], [0, 0, 0]])


def test_a_nan_beside_windows_without_one_leaves_those_to_their_first_maximum():
    out, g = pooled([[nan, 1, 5, 5], [2, 3, 5, 4]], pool_size=2)
    assert_same(out, [nan, 5])
    assert_same(g, [[1, 0, 1, 0], [0, 0, 0, 0]])


def test_with_same_padding_the_nan_beside_the_padding_takes_the_gradient():
    # 'same' pads one −inf row and column after: windows [1 2 4 5], [3 nan], [7 8], [9]
    out, g = pooled([[1, 2, 3], [4, 5, nan], [7, 8, 9]], pool_size=2, padding="same")
    assert_same(out, [5, nan, 8, 9])
    assert_same(g, [[0, 0, 0], [0, 1, 1], [0, 1, 1]])


def test_two_nans_in_a_window_send_it_to_the_first_in_row_major_order():
    # the library's tie rule (the first maximum); torch's kernel picks the last NaN
    out, g = pooled([[1.0, nan], [nan, 3.0]], pool_size=2)
    assert np.isnan(out[0])
    assert_same(g, [[0, 1], [0, 0]])


def test_max_pool_second_order_routes_to_the_nan_too():
    x = leaf(np.array([[nan, 1.0], [2.0, 3.0]])[None, :, :, None])
    v = leaf(np.full((1, 1, 1, 1), 3.0))  # the pooled gradient, as a variable
    (g,) = tc.grad(F.max_pool2d(x), [x], grad_outputs=v, create_graph=True)
    assert_same(g.data[0, :, :, 0], [[3, 0], [0, 0]])
    w = np.arange(1.0, 5.0).reshape(1, 2, 2, 1)
    (h,) = tc.grad((g * w).sum(), [v])  # d/dv of v routed to the NaN: w read at the NaN
    assert_same(h.data, [[[[1.0]]]])


# ---------------------------------------------------------------------- vs PyTorch
TORCH_PROGRAMS = {
    # (tinygrad_cnn, torch, inputs): the same computation in each library's spelling
    "max(axis=1), one NaN a row": (
        lambda x: x.max(axis=1), lambda x: x.max(dim=1).values,
        ([[1.0, nan, 3.0], [4.0, 6.0, 5.0]],)),
    "min(axis=0), one NaN a column": (
        lambda x: x.min(axis=0), lambda x: x.min(dim=0).values,
        ([[1.0, nan], [0.0, 2.0], [3.0, -1.0]],)),
    "max() over everything, two NaNs": (
        lambda x: x.max(), lambda x: x.max(), ([[nan, 1.0], [nan, 0.0]],)),
    "min() over everything, one NaN": (
        lambda x: x.min(), lambda x: x.min(), ([[2.0, 1.0], [nan, 0.0]],)),
    "maximum": (tc.maximum, torch and torch.maximum,
                ([nan, 1.0, nan, 2.0, 5.0], [0.0, nan, nan, 2.0, 3.0])),
    "minimum": (tc.minimum, torch and torch.minimum,
                ([nan, 1.0, nan, 2.0, 5.0], [0.0, nan, nan, 2.0, 3.0])),
    "relu": (F.relu, torch and torch.relu, ([nan, 2.0, 0.0, -1.0],)),
    "max_pool2d 2×2, NaN in one window": (
        lambda x: F.max_pool2d(x, 2),
        lambda x: torch.nn.functional.max_pool2d(x.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1),
        (np.array([[0, 1, 2, 3], [nan, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, nan]],
                  dtype=np.float64)[None, :, :, None],)),
    "max_pool2d 3×3 stride 1, shared NaN": (
        lambda x: F.max_pool2d(x, 3, strides=1),
        lambda x: torch.nn.functional.max_pool2d(x.permute(0, 3, 1, 2), 3, 1)
        .permute(0, 2, 3, 1),
        (np.array([[0, 1, 2, 3], [4, nan, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]],
                  dtype=np.float64)[None, :, :, None],)),
}


@needs_torch
@pytest.mark.parametrize("ours, theirs, values", TORCH_PROGRAMS.values(),
                         ids=TORCH_PROGRAMS.keys())
def test_nan_values_and_gradients_match_torch(ours, theirs, values):
    out, grads = value_and_grad(ours, *values)
    ts = [torch.tensor(np.asarray(v, dtype=np.float64), requires_grad=True) for v in values]
    expected = theirs(*ts)
    expected.sum().backward()
    np.testing.assert_array_equal(out, expected.detach().numpy())
    for g, t in zip(grads, ts, strict=True):
        np.testing.assert_array_equal(g, t.grad.numpy())


# ------------------------------------------------------------------- empty tensors
EMPTY_REDUCTIONS = {
    "sum(axis=1)": (lambda t: t.sum(axis=1), lambda a: a.sum(axis=1)),
    "mean(axis=1)": (lambda t: t.mean(axis=1), lambda a: a.mean(axis=1)),
    "var(axis=1)": (lambda t: t.var(axis=1), lambda a: a.var(axis=1)),
    "max(axis=1)": (lambda t: t.max(axis=1), lambda a: a.max(axis=1)),
    "min(dim=1, keepdim=True)": (lambda t: t.min(dim=1, keepdim=True),
                                 lambda a: a.min(axis=1, keepdims=True)),
    "argmax(axis=1)": (lambda t: t.argmax(axis=1), lambda a: a.argmax(axis=1)),
    "argmin(axis=1)": (lambda t: t.argmin(axis=1), lambda a: a.argmin(axis=1)),
    "softmax(axis=1)": (lambda t: t.softmax(axis=1), lambda a: a),
    "log_softmax(axis=1)": (lambda t: t.log_softmax(axis=1), lambda a: a),
}


@pytest.mark.parametrize("ours, numpys", EMPTY_REDUCTIONS.values(),
                         ids=EMPTY_REDUCTIONS.keys())
def test_reducing_an_empty_batch_over_its_other_axes_gives_numpys_empty_result(ours, numpys):
    a = np.zeros((0, 3))
    x = Tensor(a, requires_grad=True)
    out = ours(x)
    expected = numpys(a)
    assert out.shape == expected.shape and out.size == 0
    if out.requires_grad:
        out.sum().backward()
        assert x.grad.shape == (0, 3)


def test_a_sum_over_the_empty_axis_is_zero_as_in_numpy_and_torch():
    x = Tensor(np.zeros((0, 3)), requires_grad=True)
    out = x.sum(axis=0)
    assert_same(out.data, [0, 0, 0])
    out.sum().backward()
    assert x.grad.shape == (0, 3)


def test_global_max_pool_of_an_empty_batch_is_empty():
    x = Tensor(np.zeros((0, 4, 4, 2)), requires_grad=True)
    out = F.global_max_pool2d(x)
    assert out.shape == (0, 2)
    out.sum().backward()
    assert x.grad.shape == (0, 4, 4, 2)


def test_max_pool_of_an_empty_batch_is_empty_both_ways():
    x = Tensor(np.zeros((0, 4, 4, 2)), requires_grad=True)
    out = F.max_pool2d(x, 2)
    assert out.shape == (0, 2, 2, 2)
    out.sum().backward()
    assert x.grad.shape == (0, 4, 4, 2)


@pytest.mark.parametrize("call, axis", [
    (lambda t: t.max(axis=0), 0), (lambda t: t.min(dim=0), 0), (lambda t: t.max(), 0),
    (lambda t: t.argmax(axis=0), 0), (lambda t: t.argmin(), 0),
], ids=["max(axis=0)", "min(dim=0)", "max()", "argmax(axis=0)", "argmin()"])
def test_over_an_axis_of_length_zero_the_error_names_the_shape_and_the_axis(call, axis):
    with pytest.raises(ValueError, match=rf"over axis {axis} of a tensor of shape \(0, 3\): "
                                         r"that axis has length 0"):
        call(Tensor(np.zeros((0, 3))))


@needs_torch
def test_empty_max_matches_torch_shape():
    ours = Tensor(np.zeros((0, 3))).max(axis=1)
    theirs = torch.zeros(0, 3).max(dim=1).values
    assert ours.shape == tuple(theirs.shape)
    with pytest.raises(IndexError):  # torch refuses the empty axis as we do
        torch.zeros(0, 3).max(dim=0)
