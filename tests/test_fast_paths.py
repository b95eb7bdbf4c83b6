"""Every fast path against its general twin: the same values and gradients, and gradcheck
and gradgradcheck (second order, through ``backward_graph``) through the fast path itself.

- Convolution: the twin of every trick in ``ops/conv.py`` (chunks, kept patches, the bias
  column, single-channel patches, fused ReLU, per-tap col2im with clipped taps) is
  ``conv.conv2d_simple``, the few-line im2col + GEMM, itself checked against the slow loop
  of ``tests/reference.py`` in ``test_conv.py``. Its gradients come from linearity (see
  ``simple_twin``), so no backward code of the package is involved.
- Dense with activation='relu' runs one fused op (``relu=True``); the twin is matmul, add
  and ``F.relu``.
"""

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn
from tinygrad_cnn import functional as F
from tinygrad_cnn.ops import conv
from tinygrad_cnn.shapes import resolve_pads, standardize_padding, standardize_pair


def tensors(*shapes, dtype=np.float64, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return [Tensor((rng.standard_normal(s) * scale).astype(dtype), requires_grad=True)
            for s in shapes]


def projection(shape, dtype, seed=1):
    """Fixed random weights w: the tests differentiate sum(w · output)."""
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def values_and_grads(fn, inputs, seed=1):
    """fn's output and the gradients of a random projection of it, for every input."""
    for t in inputs:
        t.grad = None
    out = fn(*inputs)
    (out * projection(out.shape, out.dtype, seed)).sum().backward()
    return [out.data.copy()] + [t.grad.copy() for t in inputs]


def assert_twins(fast, general, inputs, rtol=1e-12, atol=1e-12):
    for a, b in zip(values_and_grads(fast, inputs), values_and_grads(general, inputs)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# ---------------------------------------------- convolution against conv2d_simple
def simple_twin(x, kernel, bias, geometry, relu):
    """``conv2d_simple``'s output (ReLU'd if ``relu``) and the gradients of sum(w · output)
    for x, kernel and bias, in float64, with w from ``projection``.

    The output before ReLU is linear in x (kernel fixed) and in the kernel (x fixed), so
    ∂output/∂x[i] is the output of the conv with x replaced by the unit array e_i (1 at i,
    0 elsewhere), and likewise for the kernel. The gradient at i is that response dotted
    with ∂loss/∂output: w, zeroed where ReLU cut the output. The bias adds itself to every
    output pixel, so its gradient is ∂loss/∂output summed over N, OH, OW.
    """
    x, kernel = x.astype(np.float64), kernel.astype(np.float64)
    out = conv.conv2d_simple(x, kernel, None if bias is None else bias.astype(np.float64),
                             *geometry)
    upstream = projection(out.shape, np.float64)
    if relu:
        upstream = upstream * (out > 0)

    def gradient(response, a):                       # Σ upstream · ∂response(a)/∂a
        grad = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            unit = np.zeros_like(a)
            unit[i] = 1
            grad[i] = (response(unit) * upstream).sum()
        return grad

    dx = gradient(lambda e: conv.conv2d_simple(e, kernel, None, *geometry), x)
    dkernel = gradient(lambda e: conv.conv2d_simple(x, e, None, *geometry), kernel)
    dbias = [] if bias is None else [upstream.sum(axis=(0, 1, 2))]
    return [np.maximum(out, 0) if relu else out, dx, dkernel, *dbias]


# (x shape, kernel (KH, KW), C_out, strides, padding, dilation)
CONV_CASES = {
    "3x3 valid, one input channel": ((5, 7, 6, 1), (3, 3), 4, 1, "valid", 1),
    "3x3 same (the centre tap covers dx)": ((5, 6, 5, 3), (3, 3), 4, 1, "same", 1),
    "2x2 same, even kernel, one channel": ((5, 6, 6, 1), (2, 2), 3, 1, "same", 1),
    "3x3 s2 same": ((5, 7, 7, 2), (3, 3), 3, 2, "same", 1),
    "3x3 s(2,1) same, one channel": ((5, 7, 6, 1), (3, 3), 2, (2, 1), "same", 1),
    "dilation 2": ((5, 8, 7, 2), (3, 3), 2, 1, "same", 2),
    "explicit pads wider than the kernel": ((5, 4, 4, 2), (2, 2), 2, 2, ((3, 1), (0, 4)), 1),
    "taps reading only padding": ((5, 1, 3, 2), (5, 3), 2, 1, ((2, 2), (1, 1)), 1),
}


def geometry_of(case):
    x_shape, kernel_hw, _, strides, padding, dilation = case
    strides, dilation = standardize_pair(strides, "s"), standardize_pair(dilation, "d")
    pads = resolve_pads(standardize_padding(padding), x_shape[1:3], kernel_hw, strides,
                        dilation)
    return strides, pads, dilation


def patch_bytes_per_image(case, bias):
    """What CHUNK_BYTES counts: one image's patches, OH·OW rows of KH·KW·C_in floats (and
    one more for the bias column)."""
    x_shape, kernel_hw, *_ = case
    strides, pads, dilation = geometry_of(case)
    oh, ow = tc.shapes.window_output_hw(x_shape[1:3], kernel_hw, strides, pads, dilation)
    return oh * ow * (kernel_hw[0] * kernel_hw[1] * x_shape[3] + bias) * 8


# how the conv splits the 5 images: {name: (KEEP_BYTES, CHUNK_BYTES in images or None
# for the default)}
CHUNKINGS = {
    "the whole batch's patches, kept for dW": (conv.KEEP_BYTES, None),
    "one chunk, rebuilt for dW": (0, None),
    "chunks of 1 image": (0, 1),
    "chunks of at most 2 images (1 + 2 + 2)": (0, 2),
}


@pytest.mark.parametrize("relu", [True, False], ids=["fused relu", "no relu"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no bias"])
@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv_equals_conv2d_simple_however_it_chunks(case, bias, relu, monkeypatch):
    x_shape, (kh, kw), c_out, strides, padding, dilation = case
    inputs = tensors(x_shape, (kh, kw, x_shape[3], c_out), (c_out,))[:2 + bias]
    expected = simple_twin(*[t.data for t in inputs[:2]], inputs[2].data if bias else None,
                           geometry_of(case), relu)

    def op(*t):
        return F.conv2d(*t[:2], t[2] if bias else None, strides, padding, dilation,
                        relu=relu)

    for name, (keep_bytes, images) in CHUNKINGS.items():
        monkeypatch.setattr(conv, "KEEP_BYTES", keep_bytes)
        if images is not None:
            monkeypatch.setattr(conv, "CHUNK_BYTES", images * patch_bytes_per_image(case, bias))
        for what, got, want in zip(("output", "dx", "dkernel", "dbias"),
                                   values_and_grads(op, inputs), expected):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12,
                                       err_msg=f"{what}, {name}")
        with tc.no_grad():  # inference never keeps patches: always in chunks
            np.testing.assert_allclose(op(*inputs).data, expected[0], rtol=1e-12,
                                       atol=1e-12, err_msg=f"inference, {name}")
        monkeypatch.undo()


@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
@pytest.mark.parametrize("bias", [True, False])
def test_fused_conv_relu_passes_gradcheck_to_second_order(case, bias):
    x_shape, (kh, kw), c_out, strides, padding, dilation = case
    x_shape = (2, *x_shape[1:])  # numeric differences cost one forward per element
    inputs = tensors(x_shape, (kh, kw, x_shape[3], c_out), (c_out,))[:2 + bias]

    def fused(*t):
        return F.conv2d(*t[:2], t[2] if bias else None, strides, padding, dilation, relu=True)

    assert tc.gradcheck(fused, inputs)
    assert tc.gradgradcheck(fused, inputs)


def test_float32_conv_with_fused_relu_matches_conv2d_simple_in_float64():
    case = ((4, 10, 10, 3), (3, 3), 16, 1, "same", 1)
    x, kernel, bias = inputs = tensors((4, 10, 10, 3), (3, 3, 3, 16), (16,), dtype=np.float32)
    got = values_and_grads(lambda *t: F.conv2d(*t, padding="same", relu=True), inputs)
    want = simple_twin(x.data, kernel.data, bias.data, geometry_of(case), relu=True)
    for a, b in zip(got, want):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_conv2d_layer_with_relu_is_one_op_labelled_with_its_activation():
    layer = nn.Conv2D(4, 3, activation="relu", input_shape=(6, 6, 2))
    y = layer(Tensor(np.ones((1, 6, 6, 2), np.float32)))
    assert y._ctx.describe() == "conv2d 3×3 s1 valid + relu"
    assert (y.data >= 0).all()
    other = nn.Conv2D(4, 3, activation="tanh", input_shape=(6, 6, 2))
    assert other(Tensor(np.ones((1, 6, 6, 2), np.float32)))._ctx.name == "tanh"


# ------------------------------------------------------------ dense + relu, fused
@pytest.mark.parametrize("x_shape", [(4, 5), (3, 2, 5), (5,)])
@pytest.mark.parametrize("bias", [True, False])
def test_fused_dense_relu_equals_matmul_add_relu(x_shape, bias):
    inputs = tensors(x_shape, (5, 6), (6,))[:2 + bias]

    def affine(x, kernel, b=None):
        y = x @ kernel
        return y + b if b is not None else y

    assert_twins(lambda *t: F.dense(*t, relu=True), lambda *t: F.relu(affine(*t)), inputs)
    assert_twins(F.dense, affine, inputs)
    assert tc.gradcheck(lambda *t: F.dense(*t, relu=True), inputs)
    assert tc.gradgradcheck(lambda *t: F.dense(*t, relu=True), inputs)


def test_dense_layer_with_relu_is_one_op_and_rejects_bad_shapes():
    layer = nn.Dense(3, activation="relu", input_shape=(4,))
    y = layer(Tensor(np.ones((2, 4), np.float32)))
    assert y._ctx.describe() == "dense + relu" and y.shape == (2, 3)
    with pytest.raises(ValueError, match="dense: kernel must have shape"):
        F.dense(np.ones((2, 4)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="dense: bias must have shape"):
        F.dense(np.ones((2, 4)), np.ones((4, 3)), np.ones(4))


# ------------------------------------- a recorded conv keeps its patches for dW
def test_a_recorded_conv_keeps_small_patches_and_rebuilds_large_ones(monkeypatch):
    x, kernel, bias = tensors((4, 7, 7, 3), (3, 3, 3, 5), (5,))

    def op(*t):
        return F.conv2d(*t, padding="same", relu=True)

    assert op(x, kernel, bias)._ctx.saved[-1] is not None      # the kept patch matrices
    with tc.no_grad():
        assert op(x, kernel, bias)._ctx is None                 # nothing kept for inference
    monkeypatch.setattr(conv, "KEEP_BYTES", 0)                  # every batch rebuilds
    assert op(x, kernel, bias)._ctx.saved[-1] is None


def test_a_conv_without_a_graph_keeps_no_patches(monkeypatch):
    asked_to_keep = []
    original = conv.conv_forward

    def spy(x, kernel, bias, strides, pads, dilation, relu=False, kept=None):
        asked_to_keep.append(kept is not None)
        return original(x, kernel, bias, strides, pads, dilation, relu, kept)

    monkeypatch.setattr(conv, "conv_forward", spy)
    x, kernel = tensors((2, 5, 5, 2), (3, 3, 2, 4))
    F.conv2d(x, kernel)
    with tc.no_grad():
        F.conv2d(x, kernel)
    F.conv2d(Tensor(x.data), Tensor(kernel.data))  # no input requires grad
    assert asked_to_keep == [True, False, False]


def test_an_op_knows_in_forward_whether_it_is_recorded():
    seen = []

    class Probe(tc.Function):
        def forward(self, a):
            seen.append(self.records)
            return a * 2

        def backward(self, grad):
            return (grad * 2,)

    x = Tensor(np.ones(3), requires_grad=True)
    Probe().apply(x)
    Probe().apply(Tensor(np.ones(3)))
    with tc.no_grad():
        Probe().apply(x)
    assert seen == [True, False, False]
