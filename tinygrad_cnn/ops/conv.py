"""2-D convolution (Keras' cross-correlation) on channels_last input, by im2col + one GEMM.

Forward: pad x, gather every window into a patch matrix ``cols`` (N·OH·OW, KH·KW·C_in)
with one strided copy, multiply by the kernel reshaped to (KH·KW·C_in, C_out). With
channels_last the product reshapes straight to (N, OH, OW, C_out), no transposes. The bias
rides along inside the same GEMM as an extra column of ones in ``cols`` (and an extra row
of the weight matrix), which also makes the bias gradient fall out of the dW GEMM.

Backward:
- dW (and db): ``cols.T @ grad``, one GEMM.
- dx: for every tap (i, j) of the kernel, the GEMM ``grad @ W[i, j].T`` gives the
  (N, OH, OW, C_in) gradient of the input pixels under that tap; adding these KH·KW
  contiguous blocks into strided views of dx is col2im, with a Python loop over KH×KW
  only. One block buffer is reused for every tap, so it is still in cache when added.
  Each block is clipped to the part that lands inside the unpadded input
  (``shapes.tap_span``), so no padded gradient buffer is built and then cropped.

Single-channel input (C_in = 1, e.g. MNIST's first layer) uses a *tap-major* patch matrix
(KH·KW, N·OH·OW) instead: each tap is then one contiguous copy, and its GEMMs run with the
transposed operand, which BLAS reads directly.
"""

from __future__ import annotations

import numpy as np

from ..checks import check_float_array, check_same_dtype
from ..function import Function
from ..shapes import (
    resolve_pads,
    standardize_padding,
    standardize_pair,
    tap_span,
    window_output_hw,
)
from .window import pad_hw, tap, window_label, windows


def im2col(xp, kernel_hw, out_hw, strides, dilation=(1, 1), ones_column=False):
    """The patch matrix of padded input ``xp`` (N, Hp, Wp, C): (N·OH·OW, KH·KW·C [+ 1]).

    Row ``(n, oy, ox)`` holds the window under output pixel (oy, ox), ordered (i, j, c) like
    the kernel reshaped to (KH·KW·C, C_out). With ``ones_column`` a last column of ones is
    appended (it multiplies the bias row of the weight matrix).
    """
    n, _, _, c = xp.shape
    (kh, kw), (oh, ow) = kernel_hw, out_hw
    m, k = n * oh * ow, kh * kw * c
    if c == 1:
        # tap-major patches: one contiguous copy per tap, returned transposed (F-ordered)
        cols_t = np.empty((k + ones_column, n, oh, ow), xp.dtype)  # (KH·KW[+1], N, OH, OW)
        for i in range(kh):
            for j in range(kw):
                cols_t[i * kw + j] = tap(xp, i * dilation[0], j * dilation[1], out_hw,
                                         strides)[..., 0]
        cols = cols_t.reshape(k + ones_column, m).T                # (M, K[+1])
    else:
        cols = np.empty((m, k + ones_column), xp.dtype)            # (M, K[+1])
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

    The optional bias has shape (C_out,). Output: (N, OH, OW, C_out).
    """

    name = "conv2d"

    def __init__(self, strides=1, padding="valid", dilation_rate=1):
        self.strides = standardize_pair(strides, "strides")
        self.padding = standardize_padding(padding)
        self.dilation = standardize_pair(dilation_rate, "dilation_rate")
        self.kernel_hw = None  # known once forward has seen the kernel

    def describe(self):
        return window_label(self.name, self.kernel_hw, self.strides, self.padding,
                            self.dilation)

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
        out, cols = conv_forward(x, kernel, bias, self.strides, pads, self.dilation)
        self.save_for_backward(cols, kernel, x.shape, pads)
        return out

    # ---------------------------------------------------------------- backward
    def backward(self, grad):
        cols, kernel, x_shape, pads = self.saved
        k = cols.shape[1] - (len(self.needs_input_grad) > 2)        # KH·KW·C_in
        needs_x, needs_kernel = self.needs_input_grad[:2]
        needs_bias = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        g = grad.reshape(-1, kernel.shape[3])                       # (M, F)
        dx = dkernel = dbias = None
        if needs_kernel or needs_bias:
            dw = cols.T @ g                                         # (K[+1], F)
            dkernel = dw[:k].reshape(kernel.shape) if needs_kernel else None
            dbias = dw[k] if needs_bias else None
        if needs_x:
            dx = conv_input_grad(grad, kernel, x_shape, self.strides, pads, self.dilation)
        return (dx, dkernel, dbias)[:len(self.needs_input_grad)]

    def backward_graph(self, grad, inputs, output):
        x, kernel = inputs[:2]
        _, _, _, pads = self.saved
        geometry = (self.strides, pads, self.dilation)
        dx = Conv2DInputGradOp(x.shape, *geometry).apply(grad, kernel)
        dkernel = Conv2DKernelGradOp(kernel.shape[:2], *geometry).apply(x, grad)
        dbias = (grad.sum(axis=(0, 1, 2)),) if len(inputs) > 2 else ()
        return (dx, dkernel, *dbias)


# ------------------------------------------------------------ the arithmetic, on arrays

def conv_forward(x, kernel, bias, strides, pads, dilation):
    """(N, OH, OW, F) output of a conv with explicit ``pads``, and its patch matrix."""
    n, h, w, c = x.shape
    kh, kw, _, f = kernel.shape
    oh, ow = window_output_hw((h, w), (kh, kw), strides, pads, dilation)
    k = kh * kw * c
    xp = pad_hw(x, pads)                                            # (N, Hp, Wp, C)
    cols = im2col(xp, (kh, kw), (oh, ow), strides, dilation,
                  ones_column=bias is not None)                     # (M, K[+1])
    weights = kernel.reshape(k, f)                                  # (K, F)
    if bias is not None:  # cols ends with a column of ones
        weights = np.concatenate([weights, bias[None, :]])          # (K+1, F)
    out = cols @ weights                                            # (M, F): the one GEMM
    return out.reshape(n, oh, ow, f), cols


def conv_kernel_grad(x, grad, kernel_hw, strides, pads, dilation):
    """d(conv output)/d(kernel) contracted with ``grad``: ``cols.T @ grad``, one GEMM."""
    c, f = x.shape[3], grad.shape[3]
    xp = pad_hw(x, pads)
    cols = im2col(xp, kernel_hw, grad.shape[1:3], strides, dilation)  # (M, K)
    return (cols.T @ grad.reshape(-1, f)).reshape(*kernel_hw, c, f)


def conv_input_grad(grad, kernel, x_shape, strides, pads, dilation):
    """col2im: d(conv output)/dx contracted with ``grad`` (N, OH, OW, F) → (N, H, W, C).

    Per-tap GEMMs, each block added into a strided view of dx.
    """
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
        per_tap = (kernel.reshape(kh * kw, f) @ g.T).reshape(kh * kw, n, oh, ow, 1)

        def tap_grad(t):                                            # (N, OH, OW, 1)
            return per_tap[t]
    else:
        w_taps = np.ascontiguousarray(
            kernel.reshape(kh * kw, c, f).transpose(0, 2, 1))      # (KH·KW, F, C)
        block = np.empty((n * oh * ow, c), g.dtype)                 # reused: stays in cache

        def tap_grad(t):                                            # (N, OH, OW, C)
            return np.matmul(g, w_taps[t], out=block).reshape(n, oh, ow, c)
    # a tap that touches every input pixel (the centre tap of a stride-1 'same' conv)
    # starts dx as a copy, which saves a pass over zeros
    whole = [t for t, ((rows, _), (cols, _)) in spans.items()
             if rows == slice(0, h, 1) and cols == slice(0, w, 1)]
    if whole:
        (_, rows_out), (_, cols_out) = spans.pop(whole[0])
        dx = tap_grad(whole[0])[:, rows_out, cols_out].copy()      # (N, H, W, C)
    else:
        dx = np.zeros(x_shape, g.dtype)                             # (N, H, W, C)
    for t, ((rows_in, rows_out), (cols_in, cols_out)) in spans.items():
        dx[:, rows_in, cols_in] += tap_grad(t)[:, rows_out, cols_out]
    return dx


# ------------------------------------------------- the gradients as ops (second order)

class Conv2DInputGradOp(Function):
    """``conv_input_grad(g, kernel)``: conv's dx as an op, so it can be differentiated.

    It is bilinear in (g, kernel); its gradients are a conv and a kernel gradient again,
    so the three conv ops differentiate each other to any order.
    """

    name = "conv2d_input_grad"
    gradient_of = "conv2d"

    def __init__(self, x_shape, strides, pads, dilation):
        self.x_shape, self.strides, self.pads, self.dilation = x_shape, strides, pads, dilation

    def forward(self, g, kernel):
        self.save_for_backward(g, kernel)
        return conv_input_grad(g, kernel, self.x_shape, self.strides, self.pads, self.dilation)

    def backward(self, h):
        g, kernel = self.saved
        geometry = (self.strides, self.pads, self.dilation)
        return (conv_forward(h, kernel, None, *geometry)[0],
                conv_kernel_grad(h, g, kernel.shape[:2], *geometry))

    def backward_graph(self, h, inputs, output):
        g, kernel = inputs
        geometry = (self.strides, self.pads, self.dilation)
        return (Conv2DOp(self.strides, self.pads, self.dilation).apply(h, kernel),
                Conv2DKernelGradOp(kernel.shape[:2], *geometry).apply(h, g))


class Conv2DKernelGradOp(Function):
    """``conv_kernel_grad(x, g)``: conv's d(kernel) as an op (bilinear in x and g)."""

    name = "conv2d_kernel_grad"
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
                conv_forward(x, h, None, *geometry)[0])

    def backward_graph(self, h, inputs, output):
        x, g = inputs
        geometry = (self.strides, self.pads, self.dilation)
        return (Conv2DInputGradOp(x.shape, *geometry).apply(g, h),
                Conv2DOp(self.strides, self.pads, self.dilation).apply(x, h))
