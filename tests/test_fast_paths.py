"""Every fast path against its general twin: the same values and gradients, and gradcheck
and gradgradcheck (second order, through ``backward_graph``) through the fast path itself.

- Conv2D/Dense with activation='relu' run one fused op (``relu=True``); the twin is the op
  without it followed by ``F.relu``.
- Convolution works on chunks of images; the twin is one image per chunk, or the whole
  batch in one chunk (``conv.CHUNK_BYTES``).
- A recorded convolution keeps its patch matrices for dW when they are small; the twin
  rebuilds them in backward (``conv.KEEP_BYTES = 0``).
"""

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn
from tinygrad_cnn import functional as F
from tinygrad_cnn.ops import conv


def tensors(*shapes, dtype=np.float64, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return [Tensor((rng.standard_normal(s) * scale).astype(dtype), requires_grad=True)
            for s in shapes]


def values_and_grads(fn, inputs, seed=1):
    """fn's output and the gradients of a random projection of it, for every input."""
    for t in inputs:
        t.grad = None
    out = fn(*inputs)
    weights = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype)
    (out * weights).sum().backward()
    return [out.data.copy()] + [t.grad.copy() for t in inputs]


def assert_twins(fast, general, inputs, rtol=1e-12, atol=1e-12):
    for a, b in zip(values_and_grads(fast, inputs), values_and_grads(general, inputs)):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# ------------------------------------------------------------- conv + relu, fused
# (x shape, kernel (KH, KW), C_out, strides, padding, dilation)
CONV_CASES = {
    "3x3 valid, one input channel (tap-major)": ((2, 7, 6, 1), (3, 3), 4, 1, "valid", 1),
    "3x3 same": ((3, 6, 5, 3), (3, 3), 4, 1, "same", 1),
    "2x2 same, even kernel (seed layer)": ((2, 6, 6, 1), (2, 2), 3, 1, "same", 1),
    "3x3 s2 same": ((2, 7, 7, 2), (3, 3), 3, 2, "same", 1),
    "dilation 2": ((1, 8, 7, 2), (3, 3), 2, 1, "same", 2),
    "explicit pads wider than the kernel": ((1, 4, 4, 2), (2, 2), 2, 2, ((3, 1), (0, 4)), 1),
}


@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
@pytest.mark.parametrize("bias", [True, False])
def test_fused_conv_relu_equals_conv_then_relu(case, bias):
    x_shape, (kh, kw), c_out, strides, padding, dilation = case
    inputs = tensors(x_shape, (kh, kw, x_shape[3], c_out), (c_out,))[:2 + bias]

    def fused(*t):
        return F.conv2d(*t[:2], t[2] if bias else None, strides, padding, dilation, relu=True)

    def general(*t):
        return F.relu(F.conv2d(*t[:2], t[2] if bias else None, strides, padding, dilation))

    assert_twins(fused, general, inputs)
    assert tc.gradcheck(fused, inputs)
    assert tc.gradgradcheck(fused, inputs)


def test_fused_conv_relu_in_float32_matches_the_general_path():
    inputs = tensors((8, 12, 12, 3), (3, 3, 3, 16), (16,), dtype=np.float32)
    assert_twins(lambda *t: F.conv2d(*t, padding="same", relu=True),
                 lambda *t: F.relu(F.conv2d(*t, padding="same")), inputs, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("images_per_chunk", [1, 2, 5])  # 5 images: 1+1+1+1+1, 1+2+2, 5
@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv_chunks_give_the_same_numbers(case, images_per_chunk, monkeypatch):
    x_shape, (kh, kw), c_out, strides, padding, dilation = case
    x_shape = (5, *x_shape[1:])  # several images, so chunking has something to split
    inputs = tensors(x_shape, (kh, kw, x_shape[3], c_out), (c_out,))

    def op(*t):
        return F.conv2d(*t, strides, padding, dilation, relu=True)

    monkeypatch.setattr(conv, "KEEP_BYTES", 0)  # the forward's chunks, not one kept batch
    default = values_and_grads(op, inputs)
    monkeypatch.setattr(conv, "images_per_chunk", lambda n, image_bytes: images_per_chunk)
    for a, b in zip(values_and_grads(op, inputs), default):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert tc.gradcheck(op, inputs)


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

    kept = values_and_grads(op, [x, kernel, bias])
    assert op(x, kernel, bias)._ctx.saved[-1] is not None      # the kept patch matrices
    with tc.no_grad():
        assert op(x, kernel, bias)._ctx is None                 # nothing kept for inference
    monkeypatch.setattr(conv, "KEEP_BYTES", 0)                  # every batch rebuilds
    assert op(x, kernel, bias)._ctx.saved[-1] is None
    for a, b in zip(values_and_grads(op, [x, kernel, bias]), kept):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


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
