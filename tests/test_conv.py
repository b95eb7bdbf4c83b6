"""Specification of F.conv2d: Keras/TensorFlow semantics for every kernel, stride, padding.

Every case in CASES is checked three ways: forward against the slow loop reference in
tests/reference.py, gradients of x, kernel and bias by tc.gradcheck in float64, and the
output shape against tc.conv_output_shape.
"""

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor
from tinygrad_cnn import functional as F
from tinygrad_cnn.ops.conv import Conv2DOp, conv2d_simple

import reference as ref

# conv is bilinear, so central differences are exact up to rounding: check tightly (the
# default rtol=1e-3 would let a 0.1 % error in a gradient through)
TIGHT = dict(atol=1e-6, rtol=1e-6)

# id: (x shape (N, H, W, C_in), kernel (KH, KW), C_out, strides, padding, dilation_rate)
CASES = {
    "1x1 pointwise":                  ((2, 4, 5, 3), (1, 1), 2, 1, "valid", 1),
    "3x3 s1 same":                    ((2, 5, 5, 2), (3, 3), 3, 1, "same", 1),
    "3x3 s1 valid":                   ((1, 6, 5, 2), (3, 3), 2, 1, "valid", 1),
    "2x2 s1 same (seed: pad after)":  ((2, 6, 6, 1), (2, 2), 3, 1, "same", 1),
    "2x2 s2 valid":                   ((1, 7, 6, 2), (2, 2), 2, 2, "valid", 1),
    "4x4 s1 same (even, pad 1+2)":    ((1, 6, 7, 2), (4, 4), 2, 1, "same", 1),
    "5x5 s1 same":                    ((1, 6, 6, 1), (5, 5), 2, 1, "same", 1),
    "5x5 s3 same":                    ((1, 8, 7, 2), (5, 5), 2, 3, "same", 1),
    "3x3 s2 same odd input":          ((2, 7, 7, 2), (3, 3), 2, 2, "same", 1),
    "3x3 s2 same even input":         ((1, 8, 6, 2), (3, 3), 2, 2, "same", 1),
    "3x3 s3 valid leftover rows":     ((1, 8, 8, 1), (3, 3), 2, 3, "valid", 1),
    "3x2 non-square kernel":          ((1, 6, 5, 2), (3, 2), 3, 1, "same", 1),
    "2x3 s(2,1) same":                ((2, 7, 6, 3), (2, 3), 2, (2, 1), "same", 1),
    "1x4 s(1,3) valid":               ((1, 5, 9, 2), (1, 4), 2, (1, 3), "valid", 1),
    "3x3 s(3,2) same":                ((1, 7, 8, 2), (3, 3), 2, (3, 2), "same", 1),
    "int padding 1":                  ((1, 5, 6, 2), (3, 3), 2, 1, 1, 1),
    "int padding 0":                  ((1, 5, 5, 2), (3, 3), 2, 1, 0, 1),
    "pair padding (1, 2)":            ((1, 5, 5, 2), (3, 3), 2, 2, (1, 2), 1),
    "explicit ((0, 2), (1, 0))":      ((1, 5, 6, 2), (3, 2), 2, 1, ((0, 2), (1, 0)), 1),
    "explicit wider than kernel":     ((1, 4, 4, 1), (2, 2), 2, 2, ((3, 1), (0, 4)), 1),
    "taps reading only padding":      ((2, 1, 3, 2), (5, 3), 2, 1, ((2, 2), (1, 1)), 1),
    "SAME upper case":                ((1, 5, 5, 1), (3, 3), 2, 1, "SAME", 1),
    "dilation 2 same":                ((1, 7, 7, 2), (3, 3), 2, 1, "same", 2),
    "dilation 2 valid":               ((1, 7, 8, 2), (3, 3), 2, 1, "valid", 2),
    "dilation 2 stride 2 same":       ((2, 8, 7, 2), (3, 3), 2, 2, "same", 2),
    "dilation (2, 1) even kernel":    ((1, 7, 6, 2), (2, 2), 2, (1, 2), "same", (2, 1)),
    "dilated 5x5 beyond input same":  ((1, 5, 6, 1), (5, 5), 1, 1, "same", 2),
    "kernel fills input: 1x1 out":    ((2, 4, 3, 2), (4, 3), 2, 1, "valid", 1),
    "single channel in and out":      ((3, 5, 5, 1), (3, 3), 1, 2, "same", 1),
}


def _inputs(x_shape, kernel_hw, c_out, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape).astype(dtype)
    kernel = rng.standard_normal((*kernel_hw, x_shape[3], c_out)).astype(dtype)
    bias = rng.standard_normal(c_out).astype(dtype)
    return x, kernel, bias


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_forward_matches_loop_reference(case):
    x_shape, kernel_hw, c_out, strides, padding, dilation = case
    x, kernel, bias = _inputs(x_shape, kernel_hw, c_out)
    out = F.conv2d(Tensor(x), Tensor(kernel), Tensor(bias), strides, padding, dilation)
    expected = ref.conv2d(x, kernel, bias, strides, padding, dilation)
    np.testing.assert_allclose(out.data, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_conv2d_simple_matches_loop_reference(case):
    """The few-line im2col + GEMM that test_fast_paths.py uses as every fast path's twin."""
    x_shape, kernel_hw, c_out, strides, padding, dilation = case
    x, kernel, bias = _inputs(x_shape, kernel_hw, c_out)
    strides = tc.shapes.standardize_pair(strides, "strides")
    dilation = tc.shapes.standardize_pair(dilation, "dilation_rate")
    pads = tc.shapes.resolve_pads(tc.shapes.standardize_padding(padding), x_shape[1:3],
                                  kernel_hw, strides, dilation)
    np.testing.assert_allclose(conv2d_simple(x, kernel, bias, strides, pads, dilation),
                               ref.conv2d(x, kernel, bias, strides, padding, dilation),
                               rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_gradients_match_finite_differences(case):
    x_shape, kernel_hw, c_out, strides, padding, dilation = case
    x, kernel, bias = _inputs(x_shape, kernel_hw, c_out)
    inputs = [Tensor(a, requires_grad=True) for a in (x, kernel, bias)]
    assert tc.gradcheck(lambda a, k, b: F.conv2d(a, k, b, strides, padding, dilation), inputs,
                        **TIGHT)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_output_shape_matches_conv_output_shape(case):
    x_shape, kernel_hw, c_out, strides, padding, dilation = case
    x, kernel, _ = _inputs(x_shape, kernel_hw, c_out)
    out = F.conv2d(Tensor(x), Tensor(kernel), None, strides, padding, dilation)
    oh, ow = tc.conv_output_shape(x_shape[1:3], kernel_hw, strides, padding, dilation)
    assert out.shape == (x_shape[0], oh, ow, c_out)


def test_seed_layer_even_kernel_same_keeps_28x28():
    """Keras' Conv2D(filters=16, kernel_size=2, strides=1, padding='same') on 28×28×1."""
    x, kernel, bias = _inputs((2, 28, 28, 1), (2, 2), 16, dtype=np.float32)
    out = F.conv2d(Tensor(x), Tensor(kernel), Tensor(bias), strides=1, padding="same")
    assert out.shape == (2, 28, 28, 16)
    assert out.dtype == np.float32
    # TF puts the odd pad pixel after: output (27, 27) sees row/column 27 plus zeros
    np.testing.assert_allclose(out.data, ref.conv2d(x, kernel, bias, 1, "same"),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out.data[:, 27, 27], x[:, 27, 27, 0:1] * kernel[0, 0, 0] + bias,
                               rtol=1e-5, atol=1e-5)


def test_without_bias_and_partial_requires_grad():
    x, kernel, _ = _inputs((2, 5, 5, 2), (3, 3), 3)
    kt = Tensor(kernel, requires_grad=True)
    xt = Tensor(x)  # input images need no gradient
    assert tc.gradcheck(lambda k: F.conv2d(xt, k, padding="same", strides=2), [kt], **TIGHT)
    out = F.conv2d(xt, kt, padding="same")
    out.sum().backward()
    assert xt.grad is None and kt.grad.shape == kernel.shape


def test_bias_only_requires_grad():
    x, kernel, bias = _inputs((2, 4, 4, 2), (3, 3), 3)
    bt = Tensor(bias, requires_grad=True)
    F.conv2d(Tensor(x), Tensor(kernel), bt, padding="same").sum().backward()
    np.testing.assert_allclose(bt.grad, np.full(3, 2 * 4 * 4))


@pytest.mark.parametrize("c_in", [1, 3])
def test_float32_stays_float32_forward_and_backward(c_in):
    x, kernel, bias = _inputs((2, 6, 6, c_in), (3, 3), 4, dtype=np.float32)
    xt, kt, bt = (Tensor(a, requires_grad=True) for a in (x, kernel, bias))
    out = F.conv2d(xt, kt, bt, strides=2, padding="same")
    assert out.dtype == np.float32
    out.backward(np.ones(out.shape, np.float32))
    assert xt.grad.dtype == kt.grad.dtype == bt.grad.dtype == np.float32
    np.testing.assert_allclose(out.data, ref.conv2d(x, kernel, bias, 2, "same"), rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("c_in", [1, 3])
def test_non_contiguous_input_and_kernel(c_in):
    """Tensor.data may be a strided view (a transpose, a slice): same results as a copy."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 6, 2, c_in)).transpose(2, 1, 0, 3)   # (2, 6, 5, C) view
    kernel = rng.standard_normal((3, 3, c_in, 8))[:, :, :, ::2]       # (3, 3, C, 4) view
    assert not x.flags.c_contiguous and not kernel.flags.c_contiguous
    for padding in ("valid", "same"):
        out = F.conv2d(Tensor(x), Tensor(kernel), padding=padding)
        np.testing.assert_allclose(out.data, ref.conv2d(x, kernel, None, 1, padding),
                                   rtol=1e-10, atol=1e-10)
    grad = rng.standard_normal((2, 6, 5, 4))[:, ::-1]  # a non-contiguous incoming gradient
    xt = Tensor(x, requires_grad=True)
    F.conv2d(xt, Tensor(kernel), padding="same").backward(grad)
    xc = Tensor(np.ascontiguousarray(x), requires_grad=True)
    F.conv2d(xc, Tensor(np.ascontiguousarray(kernel)), padding="same").backward(grad.copy())
    np.testing.assert_allclose(xt.grad, xc.grad)


def test_unused_input_rows_get_zero_gradient():
    """3×3 stride 3 'valid' on 8 rows never reads rows 6 and 7."""
    x, kernel, _ = _inputs((1, 8, 8, 1), (3, 3), 2)
    xt = Tensor(x, requires_grad=True)
    F.conv2d(xt, Tensor(kernel), strides=3).sum().backward()
    assert np.all(xt.grad[:, 6:] == 0) and np.all(xt.grad[:, :, 6:] == 0)
    assert np.all(xt.grad[:, :6, :6] != 0)


def test_no_grad_records_nothing():
    x, kernel, bias = _inputs((1, 5, 5, 2), (3, 3), 2)
    kt = Tensor(kernel, requires_grad=True)
    with tc.no_grad():
        out = F.conv2d(Tensor(x), kt, Tensor(bias), padding="same")
    assert not out.requires_grad


@pytest.mark.parametrize("kwargs, label", [
    (dict(strides=1, padding="same"), "conv2d 3×3 s1 same"),
    (dict(strides=2, padding="valid"), "conv2d 3×3 s2 valid"),
    (dict(strides=(2, 1), padding="SAME", dilation_rate=2), "conv2d 3×3 s2×1 d2 same"),
    (dict(padding=1), "conv2d 3×3 s1 pad 1"),
    (dict(padding=((0, 1), (1, 0))), "conv2d 3×3 s1 pad (0,1)×(1,0)"),
])
def test_describe_labels_graph_nodes(kwargs, label):
    op = Conv2DOp(**{"strides": 1, "padding": "valid", "dilation_rate": 1, **kwargs})
    op.forward(np.zeros((1, 6, 6, 1)), np.zeros((3, 3, 1, 2)))
    assert op.describe() == label
    out = F.conv2d(Tensor(np.zeros((1, 6, 6, 1)), requires_grad=True),
                   Tensor(np.zeros((3, 3, 1, 2))), **kwargs)
    assert out._ctx.describe() == label


# ------------------------------------------------------------------------ errors
HYPER_PARAMETER_ERRORS = {
    "strides string":        (dict(strides="1"), TypeError, ["strides", "strides=1"]),
    "strides zero":          (dict(strides=0), ValueError, ["strides", "0", "positive"]),
    "strides negative":      (dict(strides=-1), ValueError, ["strides", "-1"]),
    "strides float":         (dict(strides=1.5), TypeError, ["strides", "1.5"]),
    "strides triple":        (dict(strides=(1, 1, 1)), ValueError, ["strides", "(1, 1, 1)"]),
    "strides inf":           (dict(strides=float("inf")), ValueError, ["strides", "inf"]),
    "strides bool":          (dict(strides=True), TypeError, ["strides", "True"]),
    "dilation zero":         (dict(dilation_rate=0), ValueError, ["dilation_rate", "0"]),
    "dilation string":       (dict(dilation_rate="2"), TypeError, ["dilation_rate=2"]),
    "padding unknown":       (dict(padding="full"), ValueError, ["padding", "'full'", "'same'"]),
    "padding negative":      (dict(padding=-1), ValueError, ["padding", "-1"]),
    "padding float":         (dict(padding=1.5), TypeError, ["padding", "1.5"]),
    "padding bad nesting":   (dict(padding=((1, 2), (3,))), ValueError, ["padding"]),
}


@pytest.mark.parametrize("case", HYPER_PARAMETER_ERRORS.values(),
                         ids=HYPER_PARAMETER_ERRORS.keys())
def test_bad_hyper_parameters_raise_teaching_errors(case):
    kwargs, error, fragments = case
    x, kernel, _ = _inputs((1, 5, 5, 1), (3, 3), 2)
    with pytest.raises(error) as info:
        F.conv2d(Tensor(x), Tensor(kernel), **kwargs)
    for fragment in fragments:
        assert fragment in str(info.value)


def _arrays(x_shape=(1, 5, 5, 2), kernel_shape=(3, 3, 2, 4), bias_shape=None,
            dtypes=(np.float64,) * 3):
    arrays = [np.zeros(x_shape, dtypes[0]), np.zeros(kernel_shape, dtypes[1])]
    if bias_shape is not None:
        arrays.append(np.zeros(bias_shape, dtypes[2]))
    return [Tensor(a) for a in arrays]


INPUT_ERRORS = {
    "x rank 3":              (_arrays(x_shape=(5, 5, 2)), ["x", "rank 4", "(5, 5, 2)", "x[None]"]),
    "x rank 2":              (_arrays(x_shape=(5, 5)), ["x", "rank 4", "(5, 5)"]),
    "kernel rank 2":         (_arrays(kernel_shape=(3, 3)), ["kernel", "rank 4", "(3, 3)"]),
    "channel mismatch":      (_arrays(kernel_shape=(3, 3, 3, 4)),
                              ["channel mismatch", "2 channels", "C_in=3", "(3, 3, 3, 4)"]),
    "bias wrong length":     (_arrays(bias_shape=(3,)), ["bias", "(4,)", "(3,)"]),
    "bias wrong rank":       (_arrays(bias_shape=(1, 4)), ["bias", "(4,)", "(1, 4)"]),
    "dtype x vs kernel":     (_arrays(dtypes=(np.float32, np.float64, np.float64)),
                              ["dtype mismatch", "float32", "float64", "kernel"]),
    "dtype x vs bias":       (_arrays(bias_shape=(4,), dtypes=(np.float32, np.float32,
                                                             np.float64)),
                              ["dtype mismatch", "float32", "float64", "bias"]),
    "integer x":             (_arrays(dtypes=(np.int64, np.float64, np.float64)),
                              ["x", "floating-point", "int64", "astype"]),
    "kernel larger than x":  (_arrays(x_shape=(1, 2, 5, 2)),
                              ["3×3", "larger than the padded input", "height 2", "floor"]),
    "empty kernel":          (_arrays(kernel_shape=(0, 3, 2, 4)), ["kernel", ">= 1"]),
}


@pytest.mark.parametrize("case", INPUT_ERRORS.values(), ids=INPUT_ERRORS.keys())
def test_bad_inputs_raise_value_errors_naming_the_problem(case):
    tensors, fragments = case
    with pytest.raises(ValueError) as info:
        F.conv2d(*tensors)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_kernel_larger_than_padded_input_states_sizes_and_formula():
    with pytest.raises(ValueError) as info:
        F.conv2d(Tensor(np.zeros((1, 4, 4, 1))), Tensor(np.zeros((3, 3, 1, 1))), padding=0,
                 dilation_rate=2)
    message = str(info.value)
    assert "dilated to 5" in message and "4 + padding 0+0 = 4 < 5" in message
    assert "floor((4 − 5) / 1) + 1 = 0" in message
    with pytest.raises(ValueError, match="larger than the padded input"):
        tc.conv_output_shape((4, 4), 3, padding=0, dilation_rate=2)
