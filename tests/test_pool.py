"""Specification of F.max_pool2d, F.avg_pool2d and the global pools (TensorFlow rules).

Every case in CASES runs for both max and average pooling and is checked three ways:
forward against the loop reference in tests/reference.py, gradients by tc.gradcheck in
float64 on tie-free inputs, and the output shape against tc.conv_output_shape. Ties in
max pooling have their own tests: the gradient goes to the first maximum in row-major
window order, and overlapping windows add up.
"""

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor
from tinygrad_cnn import functional as F
from tinygrad_cnn.ops.pool import AvgPool2DOp, MaxPool2DOp

import reference as ref

TIGHT = dict(atol=1e-6, rtol=1e-6)  # pooling is piecewise linear: differences are exact

# id: (x shape (N, H, W, C), pool_size, strides, padding)
CASES = {
    "2x2 default strides, even input":       ((2, 6, 4, 3), 2, None, "valid"),
    "2x2 odd input drops last row/column":    ((1, 7, 5, 2), 2, None, "valid"),
    "2x2 same odd input pads after":          ((2, 5, 7, 2), 2, None, "same"),
    "2x2 s1 same (even window, pad after)":   ((1, 4, 5, 2), 2, 1, "same"),
    "3x3 s2 valid overlapping":               ((1, 7, 6, 2), 3, 2, "valid"),
    "3x3 s1 same overlapping":                ((2, 5, 4, 1), 3, 1, "same"),
    "3x3 s3 same":                            ((1, 7, 8, 2), 3, None, "same"),
    "4x4 s2 same":                            ((1, 6, 7, 1), 4, 2, "same"),
    "5x5 s1 same":                            ((1, 5, 6, 1), 5, 1, "same"),
    "2x2 s3 valid gaps between windows":      ((1, 8, 7, 2), 2, 3, "valid"),
    "1x1 pool is identity":                   ((1, 3, 4, 2), 1, None, "valid"),
    "1x1 s2 subsamples":                      ((1, 5, 5, 1), 1, 2, "valid"),
    "(2,3) s(1,2) same non-square":           ((1, 5, 7, 2), (2, 3), (1, 2), "same"),
    "(3,1) s(2,1) valid":                     ((2, 7, 3, 1), (3, 1), (2, 1), "valid"),
    "(1,2) s(1,3) same":                      ((1, 3, 8, 2), (1, 2), (1, 3), "same"),
    "window fills input":                     ((2, 3, 4, 2), (3, 4), None, "valid"),
    "SAME upper case":                        ((1, 5, 5, 1), 2, None, "SAME"),
}
POOLS = {"max": (F.max_pool2d, ref.max_pool2d), "avg": (F.avg_pool2d, ref.avg_pool2d)}


def tie_free(shape, seed=0):
    """A shuffled linspace: all values distinct and ≥ 0.1 apart, so max has no ties even
    under gradcheck's ±1e-6 perturbations (Chainer's shuffled_linspace)."""
    values = np.linspace(-1, 1, int(np.prod(shape))) * np.prod(shape) / 10
    return np.random.default_rng(seed).permutation(values).reshape(shape)


@pytest.mark.parametrize("pool", POOLS.keys())
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_forward_matches_loop_reference(case, pool):
    x_shape, pool_size, strides, padding = case
    ours, reference = POOLS[pool]
    x = tie_free(x_shape)
    out = ours(Tensor(x), pool_size, strides, padding)
    np.testing.assert_allclose(out.data, reference(x, pool_size, strides, padding),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("pool", POOLS.keys())
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_gradients_match_finite_differences(case, pool):
    x_shape, pool_size, strides, padding = case
    ours, _ = POOLS[pool]
    x = Tensor(tie_free(x_shape), requires_grad=True)
    assert tc.gradcheck(lambda a: ours(a, pool_size, strides, padding), [x], **TIGHT)


@pytest.mark.parametrize("pool", POOLS.keys())
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_output_shape_matches_conv_output_shape(case, pool):
    x_shape, pool_size, strides, padding = case
    ours, _ = POOLS[pool]
    out = ours(Tensor(tie_free(x_shape)), pool_size, strides, padding)
    oh, ow = tc.conv_output_shape(x_shape[1:3], pool_size,
                                  pool_size if strides is None else strides, padding)
    assert out.shape == (x_shape[0], oh, ow, x_shape[3])


def test_two_by_two_pooling_halves_28x28x10():
    x = np.random.default_rng(0).standard_normal((2, 28, 28, 10)).astype(np.float32)
    for pool in (F.max_pool2d, F.avg_pool2d):
        out = pool(Tensor(x), 2)
        assert out.shape == (2, 14, 14, 10) and out.dtype == np.float32


# -------------------------------------------------------------------------- ties
def _max_pool_grad(x, grad, *args):
    xt = Tensor(x, requires_grad=True)
    F.max_pool2d(xt, *args).backward(grad)
    return xt.grad


def test_tied_window_sends_gradient_to_first_maximum_row_major():
    x = np.array([[1.0, 5.0],
                  [5.0, 5.0]]).reshape(1, 2, 2, 1)
    grad = _max_pool_grad(x, np.full((1, 1, 1, 1), 3.0), 2)
    np.testing.assert_array_equal(grad[0, :, :, 0], [[0.0, 3.0], [0.0, 0.0]])


def test_constant_input_overlapping_windows_accumulate_on_first_elements():
    """All ties (e.g. zeros after a ReLU): each window picks its top-left element, and
    windows sharing that element add their gradients."""
    x = np.zeros((1, 5, 5, 1))
    grad = np.arange(1.0, 5.0).reshape(1, 2, 2, 1)
    ours = _max_pool_grad(x, grad, 3, 2)  # windows start at rows/cols 0 and 2
    expected = np.zeros((5, 5))
    expected[0, 0], expected[0, 2], expected[2, 0], expected[2, 2] = 1, 2, 3, 4
    np.testing.assert_array_equal(ours[0, :, :, 0], expected)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_ties_everywhere_match_reference_routing(case):
    """Small integers give many ties in every window; routing must match the reference."""
    x_shape, pool_size, strides, padding = case
    rng = np.random.default_rng(3)
    x = rng.integers(0, 3, x_shape).astype(np.float64)
    out_shape = F.max_pool2d(Tensor(x), pool_size, strides, padding).shape
    grad = rng.standard_normal(out_shape)
    np.testing.assert_allclose(_max_pool_grad(x, grad, pool_size, strides, padding),
                               ref.max_pool2d_grad(x, grad, pool_size, strides, padding),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_first_max_masks_stay_right_when_all_are_kept(case):
    """backward_graph keeps every tap's mask (``list(...)``), so none may change once it
    is handed out."""
    x_shape, pool_size, strides, padding = case
    x = np.random.default_rng(4).integers(0, 3, x_shape).astype(np.float64)  # many ties
    op = MaxPool2DOp(pool_size, strides, padding)
    out = op.forward(x)
    xp = op.saved[0]  # x padded with −inf
    masks = list(op._first_max_hits(xp, out))
    (kh, kw), (sh, sw) = op.pool_size, op.strides
    expected = np.zeros((kh * kw, *out.shape), bool)  # per tap, row-major
    for n, oy, ox, c in np.ndindex(out.shape):
        window = [xp[n, oy * sh + i, ox * sw + j, c] for i in range(kh) for j in range(kw)]
        expected[window.index(max(window)), n, oy, ox, c] = True  # the first maximum
    np.testing.assert_array_equal(np.array(masks), expected)


def test_same_max_pool_pads_with_minus_infinity():
    x = -np.arange(1.0, 10.0).reshape(1, 3, 3, 1)  # all negative: a zero pad would win
    out = F.max_pool2d(Tensor(x), 2, padding="same")
    np.testing.assert_array_equal(out.data[0, :, :, 0], [[-1.0, -3.0], [-7.0, -9.0]])


def test_same_avg_pool_divides_by_real_elements_only():
    x = np.ones((1, 5, 5, 1))
    out = F.avg_pool2d(Tensor(x), 2, padding="same")  # border windows are partly padding
    np.testing.assert_array_equal(out.data, np.ones((1, 3, 3, 1)))
    out = F.avg_pool2d(Tensor(np.arange(9.0).reshape(1, 3, 3, 1)), 2, padding="same")
    np.testing.assert_allclose(out.data[0, :, :, 0], [[2.0, 3.5], [6.5, 8.0]])


# -------------------------------------------------------------- dtypes, layouts
@pytest.mark.parametrize("pool", POOLS.keys())
@pytest.mark.parametrize("args", [(2, None, "valid"), (3, 2, "same")])
def test_float32_stays_float32(pool, args):
    ours, reference = POOLS[pool]
    x = tie_free((2, 6, 6, 3)).astype(np.float32)
    xt = Tensor(x, requires_grad=True)
    out = ours(xt, *args)
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    assert xt.grad.dtype == np.float32
    np.testing.assert_allclose(out.data, reference(x.astype(np.float64), *args), rtol=1e-6)


@pytest.mark.parametrize("pool", POOLS.keys())
def test_non_contiguous_input_and_gradient(pool):
    ours, reference = POOLS[pool]
    x = tie_free((6, 4, 2, 3)).transpose(2, 0, 1, 3)  # (2, 6, 4, 3) view
    grad = np.random.default_rng(0).standard_normal((2, 3, 2, 6))[..., ::2]  # strided
    for args in [(2, None, "valid"), (3, 1, "same")]:
        out = ours(Tensor(x), *args)
        np.testing.assert_allclose(out.data, reference(x, *args), rtol=1e-12)
    xt, xc = Tensor(x, requires_grad=True), Tensor(x.copy(), requires_grad=True)
    ours(xt, 2).backward(grad)
    ours(xc, 2).backward(grad.copy())
    np.testing.assert_array_equal(xt.grad, xc.grad)


@pytest.mark.parametrize("op, kwargs, label", [
    (MaxPool2DOp, dict(pool_size=2), "max_pool2d 2×2 s2 valid"),
    (MaxPool2DOp, dict(pool_size=3, strides=1, padding="SAME"), "max_pool2d 3×3 s1 same"),
    (AvgPool2DOp, dict(pool_size=(2, 3), strides=(1, 2)), "avg_pool2d 2×3 s1×2 valid"),
])
def test_describe_labels_graph_nodes(op, kwargs, label):
    assert op(**kwargs).describe() == label


# ------------------------------------------------------------------ global pools
def test_global_pools_reduce_height_and_width():
    x = tie_free((2, 3, 4, 5))
    xt = Tensor(x, requires_grad=True)
    np.testing.assert_allclose(F.global_avg_pool2d(xt).data, x.mean(axis=(1, 2)))
    np.testing.assert_array_equal(F.global_max_pool2d(xt).data, x.max(axis=(1, 2)))
    assert tc.gradcheck(F.global_avg_pool2d, [xt], **TIGHT)
    assert tc.gradcheck(F.global_max_pool2d, [xt], **TIGHT)


@pytest.mark.parametrize("pool", [F.global_avg_pool2d, F.global_max_pool2d])
def test_global_pools_reject_wrong_rank(pool):
    with pytest.raises(ValueError, match=r"\(N, H, W, C\).*rank 2"):
        pool(Tensor(np.zeros((3, 4))))


# ------------------------------------------------------------------------ errors
ERRORS = {
    "pool_size string":     (dict(pool_size="2"), TypeError, ["pool_size", "pool_size=2"]),
    "pool_size zero":       (dict(pool_size=0), ValueError, ["pool_size", "0"]),
    "pool_size triple":     (dict(pool_size=(2, 2, 2)), ValueError, ["pool_size"]),
    "pool_size float":      (dict(pool_size=2.0), TypeError, ["pool_size", "2.0"]),
    "pool_size nan":        (dict(pool_size=float("nan")), ValueError, ["pool_size", "nan"]),
    "strides string":       (dict(strides="1"), TypeError, ["strides", "strides=1"]),
    "strides negative":     (dict(strides=-2), ValueError, ["strides", "-2"]),
    "padding unknown":      (dict(padding="full"), ValueError, ["padding", "'valid'"]),
    "padding int":          (dict(padding=1), TypeError, ["padding", "'valid' or 'same'"]),
    "window larger":        (dict(pool_size=6), ValueError,
                             ["pool window 6×6", "larger than the padded input", "height 5"]),
}


@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
@pytest.mark.parametrize("case", ERRORS.values(), ids=ERRORS.keys())
def test_bad_arguments_raise_teaching_errors(case, pool):
    kwargs, error, fragments = case
    with pytest.raises(error) as info:
        pool(Tensor(np.zeros((1, 5, 5, 2))), **kwargs)
    for fragment in fragments:
        assert fragment in str(info.value)


@pytest.mark.parametrize("pool", [F.max_pool2d, F.avg_pool2d])
@pytest.mark.parametrize("x, fragments", [
    (np.zeros((5, 5, 2)), ["rank 4", "(5, 5, 2)", "x[None]"]),
    (np.zeros((1, 4, 4, 1), np.int32), ["floating-point", "int32"]),
])
def test_bad_inputs_raise_value_errors(pool, x, fragments):
    with pytest.raises(ValueError) as info:
        pool(Tensor(x))
    for fragment in fragments:
        assert fragment in str(info.value)
