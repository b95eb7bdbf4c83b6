"""Every fast path against its general twin: the same values and gradients, and gradcheck
and gradgradcheck (second order, through ``backward_graph``) through the fast path itself.

- Conv2D/Dense with activation='relu' run one fused op (``relu=True``); the twin is the op
  without it followed by ``F.relu``.
- 2×2 stride-2 max pooling records each window's first maximum in forward; the twin is the
  general path (``MaxPool2DOp.fast_path = False``).
- Convolution works on chunks of images; the twin is one image per chunk, or the whole
  batch in one chunk (``conv.CHUNK_BYTES``).
"""

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn
from tinygrad_cnn import functional as F
from tinygrad_cnn.ops import conv
from tinygrad_cnn.ops.pool import MaxPool2DOp


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


@pytest.mark.parametrize("chunk_bytes", [1, 1 << 40])  # one image per chunk; one chunk
@pytest.mark.parametrize("case", CONV_CASES.values(), ids=CONV_CASES.keys())
def test_conv_chunks_give_the_same_numbers(case, chunk_bytes, monkeypatch):
    x_shape, (kh, kw), c_out, strides, padding, dilation = case
    x_shape = (5, *x_shape[1:])  # several images, so chunking has something to split
    inputs = tensors(x_shape, (kh, kw, x_shape[3], c_out), (c_out,))

    def op(*t):
        return F.conv2d(*t, strides, padding, dilation, relu=True)

    default = values_and_grads(op, inputs)
    monkeypatch.setattr(conv, "CHUNK_BYTES", chunk_bytes)
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


# ----------------------------------------------------- 2×2 max pooling fast path
POOL_SHAPES = {
    "even 28x28": (2, 8, 8, 3),
    "odd sizes: last row and column unused": (2, 7, 9, 2),
    "one window": (1, 2, 2, 1),
}


def general_max_pool(monkeypatch):
    monkeypatch.setattr(MaxPool2DOp, "fast_path", False)


@pytest.mark.parametrize("shape", POOL_SHAPES.values(), ids=POOL_SHAPES.keys())
@pytest.mark.parametrize("ties", [False, True])
def test_2x2_max_pool_fast_path_equals_the_general_path(shape, ties, monkeypatch):
    rng = np.random.default_rng(0)
    # small integers tie in most windows (zeros after a ReLU do too): the first maximum in
    # row-major order must get the gradient on both paths
    x = rng.integers(0, 3, shape).astype(np.float64) if ties else rng.standard_normal(shape)
    for padding in ("valid", "same"):  # 'same' on even sizes needs no padding: fast too
        xt = Tensor(x, requires_grad=True)
        fast = values_and_grads(lambda t: F.max_pool2d(t, 2, padding=padding), [xt])
        with monkeypatch.context() as m:
            general_max_pool(m)
            general = values_and_grads(lambda t: F.max_pool2d(t, 2, padding=padding), [xt])
        for a, b in zip(fast, general):
            np.testing.assert_array_equal(a, b)


def test_2x2_max_pool_fast_path_is_taken_and_gradchecks():
    x = Tensor(np.random.default_rng(0).permutation(np.arange(2 * 6 * 5 * 2.0)).reshape(
        2, 6, 5, 2), requires_grad=True)
    out = F.max_pool2d(x, 2)
    assert out._ctx.saved[-1] is not None  # the first-maximum one-hot of the fast path
    assert tc.gradcheck(lambda t: F.max_pool2d(t, 2), [x])
    assert tc.gradgradcheck(lambda t: F.max_pool2d(t, 2), [x])


def test_2x2_max_pool_fast_path_in_float32_after_a_relu(monkeypatch):
    x = np.maximum(np.random.default_rng(0).standard_normal((4, 10, 10, 8)), 0).astype(
        np.float32)
    xt = Tensor(x, requires_grad=True)
    fast = values_and_grads(lambda t: F.max_pool2d(t, 2), [xt])
    general_max_pool(monkeypatch)
    for a, b in zip(fast, values_and_grads(lambda t: F.max_pool2d(t, 2), [xt])):
        assert a.dtype == np.float32
        np.testing.assert_array_equal(a, b)


def test_2x2_max_pool_without_a_graph_skips_the_first_maximum_but_not_the_values():
    x = np.maximum(np.random.default_rng(0).standard_normal((3, 9, 8, 4)), 0)
    recorded = F.max_pool2d(Tensor(x, requires_grad=True), 2)
    assert recorded._ctx.saved[-1] is not None
    with tc.no_grad():
        inference = F.max_pool2d(Tensor(x, requires_grad=True), 2)
    assert inference._ctx is None
    np.testing.assert_array_equal(inference.data, recorded.data)


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
