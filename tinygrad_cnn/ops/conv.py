"""2-D convolution (Keras' cross-correlation) on channels_last input: im2col + GEMM, a few
images at a time.

Forward: pad x, gather every window of a chunk of images into a patch matrix ``cols``
(M_c, KH·KW·C_in) with one strided copy, and multiply by the kernel reshaped to
(KH·KW·C_in, C_out). With channels_last the product is the chunk's slice of the
(N, OH, OW, C_out) output as it stands, no transposes. The bias rides along inside the
same GEMM as an extra column of ones in ``cols`` (and an extra row of the weight matrix),
which also makes the bias gradient fall out of the dW GEMM. Conv2D(..., activation='relu')
runs the ReLU in place on each chunk the GEMM has just written (``relu=True``).

Kept or chunked: when a graph is recorded and the whole batch's patch matrix takes at
most ``KEEP_BYTES``, forward builds it in one piece, runs one GEMM, and keeps it for
backward's dW, which is then one GEMM more and no second im2col. Otherwise (inference, or
a larger batch) the op takes ``CHUNK_BYTES`` of patches at a time in one buffer that every
chunk reuses, and backward rebuilds each chunk's patches from the saved input: a whole
large patch matrix costs two trips to memory, and OpenBLAS runs at ~100 GFLOP/s on it
against ~140 on a chunk that stays in the caches (measured on one thread).

Backward:
- relu: the gradient is zeroed where the output was 0, in one pass;
- dW (and db): ``cols.T @ g``, on the kept patches or chunk by chunk, summed;
- dx: for every tap (i, j) of the kernel, the GEMM ``g @ W[i, j].T`` gives the
  (N, OH, OW, C_in) gradient of the input pixels under that tap; adding these KH·KW
  contiguous blocks into strided views of dx is col2im, with a Python loop over KH×KW
  only. Each block is clipped to the part that lands inside the unpadded input
  (``shapes.tap_span``), so no padded gradient buffer is built and then cropped.

Single-channel input (C_in = 1, e.g. MNIST's first layer) uses *tap-major* patches
(KH·KW, M_c) instead: each tap is then one contiguous copy, and its GEMMs run with the
transposed operand, which BLAS reads directly.
"""

from __future__ import annotations

import numpy as np

from .. import workspace
from ..checks import check_bool, check_float_array, check_same_dtype
from ..function import Function
from ..shapes import (
    resolve_pads,
    standardize_padding,
    standardize_pair,
    tap_span,
    window_output_hw,
)
from .window import pad_hw, tap, window_label, windows

# Patches per chunk. Measured on one thread (training step of the simple MNIST convnet):
# 1, 2 and 4 MiB equal, 8 MiB 10 % slower, the whole batch at once 18 % slower; the
# largest of the equal sizes means fewer GEMM calls, and on two threads every call waits
# for the second core once (long waits when another process holds it).
CHUNK_BYTES = 4 << 20
# A recorded forward makes the whole batch's patches in one piece and keeps them for
# backward's dW when they take at most this much (the simple MNIST convnet: 0.9 + 4.5 MB at
# batch 32, 3.5 + 18 MB at batch 128). Measured against chunks rebuilt in backward, on two
# threads: training step at batch 128 35.7-37.1 vs 37.4-39.5 ms, layer B fwd+bwd 26.2-26.7
# vs 28.1-29.1 ms, with the same peak RSS. Larger batches go in chunks and rebuild them,
# which costs a second im2col but no memory.
KEEP_BYTES = 32 << 20


def images_per_chunk(n: int, image_bytes: int) -> int:
    """How many of ``n`` images make about CHUNK_BYTES when each takes ``image_bytes``."""
    return max(1, min(n, CHUNK_BYTES // max(1, image_bytes)))


def chunks(n: int, image_bytes: int) -> list[tuple[int, int]]:
    """Ranges [n0, n1) of near-equal size that cover ``n`` images, each at most
    ``images_per_chunk`` (equal sizes: no small last chunk with a slow, narrow GEMM)."""
    count = -(-n // images_per_chunk(n, image_bytes))               # 0 for an empty batch
    bounds = [n * i // count for i in range(count + 1)] if count else [0]
    return list(zip(bounds[:-1], bounds[1:]))


def im2col(xp, kernel_hw, out_hw, strides, dilation=(1, 1), ones_column=False, out=None):
    """The patch matrix of padded input ``xp`` (N, Hp, Wp, C): (N·OH·OW, KH·KW·C [+ 1]).

    Row ``(n, oy, ox)`` holds the window under output pixel (oy, ox), ordered (i, j, c) like
    the kernel reshaped to (KH·KW·C, C_out). With ``ones_column`` a last column of ones is
    appended (it multiplies the bias row of the weight matrix). ``out``, if given, is a
    flat buffer at least that large to write into.
    """
    n, _, _, c = xp.shape
    (kh, kw), (oh, ow) = kernel_hw, out_hw
    m, k = n * oh * ow, kh * kw * c
    if out is None:
        out = workspace.empty(((k + ones_column) * m,), xp.dtype)
    if c == 1:
        # tap-major patches: one contiguous copy per tap, returned transposed (F-ordered)
        cols_t = out[:(k + ones_column) * m].reshape(k + ones_column, n, oh, ow)
        for i in range(kh):
            for j in range(kw):
                cols_t[i * kw + j] = tap(xp, i * dilation[0], j * dilation[1], out_hw,
                                         strides)[..., 0]
        cols = cols_t.reshape(k + ones_column, m).T                # (M, K[+1])
    else:
        cols = out[:m * (k + ones_column)].reshape(m, k + ones_column)  # (M, K[+1])
        patches = cols[:, :k].reshape(n, oh, ow, kh, kw, c)        # a view into cols
        np.copyto(patches, windows(xp, kernel_hw, out_hw, strides, dilation))
    if ones_column:
        cols[:, k] = 1
    return cols


class Conv2DOp(Function):
    """``conv2d(x, kernel[, bias])`` with x (N, H, W, C_in), kernel (KH, KW, C_in, C_out).

    Args:
        strides: a positive int or a pair.
        padding: 'valid', 'same' (TensorFlow's rule), an int, a pair (ph, pw) or
            ((top, bottom), (left, right)) of zeros.
        dilation_rate: a positive int or a pair; combines with any stride.
        relu: apply max(·, 0) to the output in the same pass (Keras' activation='relu');
            the graph shows ``conv2d 3×3 s1 valid + relu``.

    The optional bias has shape (C_out,). Output: (N, OH, OW, C_out).
    """

    name = "conv2d"
    rule = ("conv2d: ∂L/∂kernel = Σ patches(x)ᵀ·∂L/∂y; ∂L/∂x = the full correlation of "
            "∂L/∂y with the flipped kernel; ∂L/∂bias = Σ ∂L/∂y")

    def __init__(self, strides=1, padding="valid", dilation_rate=1, relu=False):
        self.strides = standardize_pair(strides, "strides")
        self.padding = standardize_padding(padding)
        self.dilation = standardize_pair(dilation_rate, "dilation_rate")
        self.relu = check_bool(relu, "relu")
        self.kernel_hw = None  # known once forward has seen the kernel

    def describe(self):
        label = window_label(self.name, self.kernel_hw, self.strides, self.padding,
                             self.dilation)
        return label + " + relu" if self.relu else label

    # ------------------------------------------------------------------ checks
    def check(self, x, kernel, bias=None):
        if x.ndim != 4:
            hint = (" (add the batch axis with x[None] or the channel axis with x[..., None])"
                    if x.ndim == 3 else "")
            raise ValueError(f"conv2d: x must have shape (N, H, W, C_in), rank 4, channels_last; "
                             f"got shape {x.shape} (rank {x.ndim}){hint}")
        if kernel.ndim != 4:
            raise ValueError(f"conv2d: kernel must have shape (KH, KW, C_in, C_out), rank 4; "
                             f"got shape {kernel.shape} (rank {kernel.ndim})")
        check_float_array(x, "x", "conv2d")
        check_float_array(kernel, "kernel", "conv2d")
        check_same_dtype(x, kernel, "kernel", "conv2d")
        kh, kw, c_in, c_out = kernel.shape
        if kh < 1 or kw < 1:
            raise ValueError(f"conv2d: kernel height and width must be >= 1; got kernel shape "
                             f"{kernel.shape}")
        if c_in != x.shape[3]:
            raise ValueError(
                f"conv2d: channel mismatch: x has {x.shape[3]} channels (shape {x.shape}, "
                f"channels_last) but kernel expects C_in={c_in} (kernel shape {kernel.shape} is "
                f"(KH, KW, C_in, C_out))"
            )
        if bias is not None:
            check_float_array(bias, "bias", "conv2d")
            check_same_dtype(x, bias, "bias", "conv2d")
            if bias.shape != (c_out,):
                raise ValueError(f"conv2d: bias must have shape ({c_out},), one value per output "
                                 f"channel of kernel {kernel.shape}; got shape {bias.shape}")

    # ----------------------------------------------------------------- forward
    def forward(self, x, kernel, bias=None):
        kh, kw = self.kernel_hw = kernel.shape[:2]
        pads = resolve_pads(self.padding, x.shape[1:3], (kh, kw), self.strides, self.dilation)
        patches = [] if self.records else None
        out = conv_forward(x, kernel, bias, self.strides, pads, self.dilation, self.relu,
                           patches)
        # x and the output are held by the graph anyway: saving them costs no memory
        self.save_for_backward(x, kernel, pads, out if self.relu else None, patches or None)
        return out

    # ---------------------------------------------------------------- backward
    def backward(self, grad):
        x, kernel, pads, relu_out, patches = self.saved
        want = self.needs_input_grad + (False,) * (3 - len(self.needs_input_grad))
        grads = conv_backward(grad, x, kernel, (self.strides, pads, self.dilation), want,
                              relu_out, patches)
        return grads[:len(self.needs_input_grad)]

    def backward_graph(self, grad, inputs, output):
        x, kernel = inputs[:2]
        pads = self.saved[2]
        if self.relu:  # the mask is piecewise constant: a constant of the new graph
            grad = grad * np.asarray(output.data > 0, grad.dtype)
        geometry = (self.strides, pads, self.dilation)
        dx = Conv2DInputGradOp(x.shape, *geometry).apply(grad, kernel)
        dkernel = Conv2DKernelGradOp(kernel.shape[:2], *geometry).apply(x, grad)
        dbias = (grad.sum(axis=(0, 1, 2)),) if len(inputs) > 2 else ()
        return (dx, dkernel, *dbias)


# ------------------------------------------------------------ the arithmetic, on arrays

def conv_forward(x, kernel, bias, strides, pads, dilation, relu=False, kept=None):
    """(N, OH, OW, F) output of a conv with explicit ``pads``, chunk by chunk.

    ``kept``: a list to which the patch matrix of the whole batch, made as one chunk, is
    appended when it takes at most ``KEEP_BYTES`` (backward's dW then reuses it); else it
    is left empty.
    """
    n, h, w, c = x.shape
    kh, kw, _, f = kernel.shape
    oh, ow = window_output_hw((h, w), (kh, kw), strides, pads, dilation)
    k = kh * kw * c
    xp = pad_hw(x, pads)                                            # (N, Hp, Wp, C)
    weights = kernel.reshape(k, f)                                  # (K, F)
    if bias is not None:  # cols ends with a column of ones
        weights = np.concatenate([weights, bias[None, :]])          # (K+1, F)
    out = workspace.empty((n, oh, ow, f), x.dtype)
    image_size = oh * ow * weights.shape[0]                         # patch elements per image
    image_bytes = image_size * x.dtype.itemsize
    keep = kept is not None and n * image_bytes <= KEEP_BYTES
    spans = [(0, n)] if keep else chunks(n, image_bytes)  # a kept batch is one chunk
    largest = max((n1 - n0 for n0, n1 in spans), default=0)
    patches = workspace.empty((largest * image_size,), x.dtype)
    for n0, n1 in spans:
        cols = im2col(xp[n0:n1], (kh, kw), (oh, ow), strides, dilation,
                      ones_column=bias is not None, out=patches)     # (M_c, K[+1])
        chunk = out[n0:n1].reshape(-1, f)                           # (M_c, F), a view
        np.matmul(cols, weights, out=chunk)                         # the GEMM
        if relu:
            np.maximum(chunk, 0, out=chunk)  # while the chunk is still in cache
    if keep:
        kept.append(cols)
    return out


def conv_backward(grad, x, kernel, geometry, want=(True, True, False), relu_out=None,
                  patches=None):
    """(dx, dkernel, dbias) of a conv whose output gets gradient ``grad``; None where unwanted.

    ``x`` is the input, or just its shape when neither dkernel nor dbias is wanted;
    ``kernel`` is the kernel, or just its shape when dx is not wanted. ``relu_out``: the
    output of a conv fused with ReLU, whose zeros stop the gradient. ``patches``: the
    forward's kept patch matrix (a one-item list), if it kept one.
    """
    strides, pads, dilation = geometry
    want_x, want_kernel, want_bias = want
    x_shape = x if isinstance(x, tuple) else x.shape
    kh, kw, c, f = kernel if isinstance(kernel, tuple) else kernel.shape
    if relu_out is not None:  # d relu = 1 where the output is positive, else 0
        grad = np.multiply(grad, relu_out > 0, out=workspace.empty(grad.shape, grad.dtype))
    dx = dkernel = dbias = None
    if want_kernel or want_bias:
        dw = _weight_grad(grad, x, (kh, kw), geometry, want_bias, patches)  # (K[+1], F)
        k = kh * kw * c
        dkernel = dw[:k].reshape(kh, kw, c, f) if want_kernel else None
        dbias = dw[k] if want_bias else None
    if want_x:
        dx = _input_grad(grad, kernel, x_shape, geometry)
    return dx, dkernel, dbias


def _weight_grad(grad, x, kernel_hw, geometry, ones_column, kept=None):
    """``cols.T @ grad``: one GEMM on the forward's ``kept`` patches of the whole batch, or
    summed over chunks of images whose patches are rebuilt one chunk at a time."""
    n, oh, ow, f = grad.shape
    if kept:
        return kept[0].T @ grad.reshape(-1, f)                      # (K[+1], F)
    strides, pads, dilation = geometry
    k = kernel_hw[0] * kernel_hw[1] * x.shape[3] + ones_column
    image_bytes = oh * ow * k * grad.dtype.itemsize                 # patch bytes per image
    buffer = workspace.empty((images_per_chunk(n, image_bytes) * oh * ow * k,), grad.dtype)
    xp = pad_hw(x, pads)
    dw = np.zeros((k, f), grad.dtype)                               # (K[+1], F)
    for n0, n1 in chunks(n, image_bytes):
        cols = im2col(xp[n0:n1], kernel_hw, (oh, ow), strides, dilation, ones_column,
                      out=buffer)                                   # (M_c, K[+1])
        dw += cols.T @ grad[n0:n1].reshape(-1, f)
    return dw


def _input_grad(grad, kernel, x_shape, geometry):
    """col2im: per-tap GEMMs ``grad @ W[i, j].T``, each added into a strided view of dx.

    One (N·OH·OW, C_in) block buffer serves every tap, so it is still in cache when added;
    each block is clipped to the part that lands inside the unpadded input
    (``shapes.tap_span``). Measured faster than one wide GEMM followed by col2im over the
    interleaved (M, KH·KW·C_in) result, on one thread and on two.
    """
    strides, pads, dilation = geometry
    n, h, w, c = x_shape
    kh, kw, _, f = kernel.shape
    oh, ow = grad.shape[1:3]
    g = grad.reshape(-1, f)                                         # (M, F)
    (top, _), (left, _) = pads
    # where each tap lands inside the unpadded input; taps reading only padding add
    # nothing and are skipped
    spans = {i * kw + j: (tap_span(i * dilation[0], top, strides[0], oh, h),
                          tap_span(j * dilation[1], left, strides[1], ow, w))
             for i in range(kh) for j in range(kw)}
    spans = {t: s for t, s in spans.items() if s[0][1] != slice(0, 0) != s[1][1]}
    if c == 1:
        per_tap = np.matmul(kernel.reshape(kh * kw, f), g.T, out=workspace.empty(
            (kh * kw, g.shape[0]), g.dtype)).reshape(kh * kw, n, oh, ow, 1)

        def tap_grad(t):                                            # (N, OH, OW, 1)
            return per_tap[t]
    else:
        w_taps = np.ascontiguousarray(
            kernel.reshape(kh * kw, c, f).transpose(0, 2, 1))      # (KH·KW, F, C)
        block = workspace.empty((n * oh * ow, c), g.dtype)          # reused: stays in cache

        def tap_grad(t):                                            # (N, OH, OW, C)
            return np.matmul(g, w_taps[t], out=block).reshape(n, oh, ow, c)
    # a tap that touches every input pixel (the centre tap of a stride-1 'same' conv)
    # starts dx as a copy, which saves a pass over zeros
    whole = [t for t, ((rows, _), (cols, _)) in spans.items()
             if rows == slice(0, h, 1) and cols == slice(0, w, 1)]
    dx = workspace.empty(x_shape, g.dtype)                          # (N, H, W, C)
    if whole:
        (_, rows_out), (_, cols_out) = spans.pop(whole[0])
        np.copyto(dx, tap_grad(whole[0])[:, rows_out, cols_out])
    else:
        dx.fill(0)
    for t, ((rows_in, rows_out), (cols_in, cols_out)) in spans.items():
        dx[:, rows_in, cols_in] += tap_grad(t)[:, rows_out, cols_out]
    return dx


def conv_kernel_grad(x, grad, kernel_hw, strides, pads, dilation):
    """d(conv output)/d(kernel) contracted with ``grad``: ``cols.T @ grad``."""
    kernel_shape = (*kernel_hw, x.shape[3], grad.shape[3])
    return conv_backward(grad, x, kernel_shape, (strides, pads, dilation),
                         want=(False, True, False))[1]


def conv_input_grad(grad, kernel, x_shape, strides, pads, dilation):
    """col2im: d(conv output)/dx contracted with ``grad`` (N, OH, OW, F) → (N, H, W, C)."""
    return conv_backward(grad, tuple(x_shape), kernel, (strides, pads, dilation),
                         want=(True, False, False))[0]


# ------------------------------------------------- the gradients as ops (second order)

class Conv2DInputGradOp(Function):
    """``conv_input_grad(g, kernel)``: conv's dx as an op, so it can be differentiated.

    It is bilinear in (g, kernel); its gradients are a conv and a kernel gradient again,
    so the three conv ops differentiate each other to any order.
    """

    name = "conv2d_input_grad"
    rule = ("conv2d_input_grad: ∂L/∂g = conv2d(∂L/∂y, kernel), "
            "∂L/∂kernel = conv2d_kernel_grad(∂L/∂y, g)")
    gradient_of = "conv2d"

    def __init__(self, x_shape, strides, pads, dilation):
        self.x_shape, self.strides, self.pads, self.dilation = x_shape, strides, pads, dilation

    def forward(self, g, kernel):
        self.save_for_backward(g, kernel)
        return conv_input_grad(g, kernel, self.x_shape, self.strides, self.pads, self.dilation)

    def backward(self, h):
        g, kernel = self.saved
        geometry = (self.strides, self.pads, self.dilation)
        return (conv_forward(h, kernel, None, *geometry),
                conv_kernel_grad(h, g, kernel.shape[:2], *geometry))

    def backward_graph(self, h, inputs, output):
        g, kernel = inputs
        geometry = (self.strides, self.pads, self.dilation)
        return (Conv2DOp(self.strides, self.pads, self.dilation).apply(h, kernel),
                Conv2DKernelGradOp(kernel.shape[:2], *geometry).apply(h, g))


class Conv2DKernelGradOp(Function):
    """``conv_kernel_grad(x, g)``: conv's d(kernel) as an op (bilinear in x and g)."""

    name = "conv2d_kernel_grad"
    rule = "conv2d_kernel_grad: ∂L/∂x = conv2d_input_grad(g, ∂L/∂y), ∂L/∂g = conv2d(x, ∂L/∂y)"
    gradient_of = "conv2d"

    def __init__(self, kernel_hw, strides, pads, dilation):
        self.kernel_hw, self.strides, self.pads, self.dilation = (tuple(kernel_hw), strides,
                                                                   pads, dilation)

    def forward(self, x, g):
        self.save_for_backward(x, g)
        return conv_kernel_grad(x, g, self.kernel_hw, self.strides, self.pads, self.dilation)

    def backward(self, h):
        x, g = self.saved
        geometry = (self.strides, self.pads, self.dilation)
        return (conv_input_grad(g, h, x.shape, *geometry),
                conv_forward(x, h, None, *geometry))

    def backward_graph(self, h, inputs, output):
        x, g = inputs
        geometry = (self.strides, self.pads, self.dilation)
        return (Conv2DInputGradOp(x.shape, *geometry).apply(g, h),
                Conv2DOp(self.strides, self.pads, self.dilation).apply(x, h))
