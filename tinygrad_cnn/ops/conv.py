"""2-D convolution (Keras' cross-correlation) on channels_last input.

The idea is ``conv2d_simple`` below: pad x, view every window as one row of a patch
matrix (im2col), and multiply by the kernel reshaped to a matrix. With channels_last the
product is the (N, OH, OW, C_out) output as it stands, no transposes. The gradients are
the same GEMMs turned around: d(kernel) = patchesᵀ · g, and dx = g · kernelᵀ added back
onto the windows it came from (col2im).

``Conv2DOp`` computes exactly that, with the speed tricks below. Each is tagged with its
name in brackets where it acts, and ``tests/test_fast_paths.py`` checks every one against
``conv2d_simple``:

- [chunks] without a kept patch matrix, forward and dW take ``CHUNK_BYTES`` of patches at
  a time into one reused buffer: OpenBLAS runs ~140 GFLOP/s on a chunk that stays in the
  caches against ~100 on the whole batch's matrix (one thread).
- [kept patches] a recorded forward whose patch matrix takes at most ``KEEP_BYTES`` makes
  it in one piece and keeps it: backward's dW is then one GEMM and no second im2col.
- [bias column] the bias is one more row of the weight matrix, met by a column of ones in
  the patches: the bias add and db come out of the GEMMs, with no pass of their own.
- [one channel] single-channel input (MNIST's first layer) uses tap-major patches
  (KH·KW, M): one contiguous copy per tap, where the window copy moves one float at a time.
- [fused relu] ``relu=True`` (Conv2D(..., activation='relu')) applies ReLU to each chunk
  while the GEMM's result is still in cache; backward zeroes the gradient in one pass.
- [per-tap col2im] dx is one GEMM per tap, g · W[i, j]ᵀ into one reused block, added into
  a strided view of dx (Python loops over KH×KW only); measured faster than one wide GEMM
  followed by col2im over its interleaved result.
- [clipped taps] each tap's block is clipped to where it lands inside the unpadded input
  (``shapes.tap_span``): no padded gradient buffer to fill, add into and crop.
- [first tap copies] a tap that covers all of dx (the centre tap of a stride-1 'same'
  conv) starts dx as a copy: no pass writing zeros first.

The gradients as ops of their own, for create_graph=True, are in ``conv_pool_grads.py``.
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
from .conv_pool_grads import Conv2DInputGradOp, Conv2DKernelGradOp
from .window import pad_hw, tap, window_label, windows


# ----------------------------------------------------------------------------- the idea
def conv2d_simple(x, kernel, bias, strides, pads, dilation):
    """The convolution in a few lines: every window as a row, times the kernel as a matrix.

    x (N, H, W, C), kernel (KH, KW, C, F), bias (F,) or None, ``pads`` explicit
    ((top, bottom), (left, right)). Returns the (N, OH, OW, F) output, as ``Conv2DOp``.
    """
    kh, kw, c, f = kernel.shape
    out_hw = window_output_hw(x.shape[1:3], (kh, kw), strides, pads, dilation)
    patches = windows(pad_hw(x, pads), (kh, kw), out_hw, strides, dilation)  # a view
    cols = patches.reshape(-1, kh * kw * c)             # im2col: (N·OH·OW, KH·KW·C), a copy
    out = (cols @ kernel.reshape(-1, f)).reshape(*patches.shape[:3], f)  # one GEMM
    return out if bias is None else out + bias


# ------------------------------------------------------------------------------ the op
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
        self.kernel_hw = kernel.shape[:2]
        strides, pads, dilation = self.geometry(x.shape, self.kernel_hw)
        patches = [] if self.records else None  # [kept patches] only a graph needs them
        out = conv_forward(x, kernel, bias, strides, pads, dilation, self.relu, patches)
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
        if self.relu:  # the mask is piecewise constant: a constant of the new graph
            grad = grad * np.asarray(output.data > 0, grad.dtype)
        linear = Conv2DOp(self.strides, self.saved[2], self.dilation)  # pads resolved, no relu
        dx = Conv2DInputGradOp(linear, x.shape).apply(grad, kernel)
        dkernel = Conv2DKernelGradOp(linear, kernel.shape[:2]).apply(x, grad)
        dbias = (grad.sum(axis=(0, 1, 2)),) if len(inputs) > 2 else ()
        return (dx, dkernel, *dbias)

    # ------------------------------------------- on arrays, for the gradient ops
    # The gradient ops (conv_pool_grads.py) hold the conv they differentiate and call these:
    # this op's backward_graph builds them and theirs build this op, so that module cannot
    # import this one (imports flow one way).
    def again(self) -> Conv2DOp:
        """A new op with the same hyper-parameters (an instance records one call)."""
        return Conv2DOp(self.strides, self.padding, self.dilation, self.relu)

    def geometry(self, x_shape, kernel_hw):
        """(strides, pads, dilation) for input shape ``x_shape`` and kernel ``kernel_hw``."""
        pads = resolve_pads(self.padding, x_shape[1:3], kernel_hw, self.strides, self.dilation)
        return self.strides, pads, self.dilation

    def linear_output(self, x, kernel):
        """The conv's output without bias and ReLU: linear in x and in kernel."""
        return conv_forward(x, kernel, None, *self.geometry(x.shape, kernel.shape[:2]))

    def input_grad(self, grad, kernel, x_shape):
        """dx of ``linear_output`` for output gradient ``grad``: (N, OH, OW, F) → x_shape."""
        geometry = self.geometry(x_shape, kernel.shape[:2])
        return conv_backward(grad, tuple(x_shape), kernel, geometry, (True, False, False))[0]

    def kernel_grad(self, x, grad, kernel_hw):
        """d(kernel) of ``linear_output`` for output gradient ``grad``: cols.T @ grad."""
        kernel_shape = (*kernel_hw, x.shape[3], grad.shape[3])
        geometry = self.geometry(x.shape, kernel_hw)
        return conv_backward(grad, x, kernel_shape, geometry, (False, True, False))[1]


# ------------------------------------------- the same, fast: the arithmetic on arrays
# [chunks] 1, 2 and 4 MiB measured equal (training step of the simple MNIST convnet, one
# thread), 8 MiB 10 % slower, the whole batch 18 % slower; the largest of the equal sizes
# makes the fewest GEMM calls, and on two threads every call waits once for the second core.
CHUNK_BYTES = 4 << 20
# [kept patches] the simple MNIST convnet's patches take 0.9 + 4.5 MB at batch 32, 3.5 + 18
# MB at batch 128. Against chunks rebuilt in backward, on two threads: training step at
# batch 128 35.7-37.1 vs 37.4-39.5 ms, layer B fwd+bwd 26.2-26.7 vs 28.1-29.1 ms, the same
# peak RSS. Larger batches go in chunks: a second im2col, but no memory held.
KEEP_BYTES = 32 << 20


def images_per_chunk(n: int, image_bytes: int) -> int:
    """[chunks] How many of ``n`` images make about CHUNK_BYTES of ``image_bytes`` each."""
    return max(1, min(n, CHUNK_BYTES // max(1, image_bytes)))


def chunks(n: int, image_bytes: int) -> list[tuple[int, int]]:
    """[chunks] Ranges [n0, n1) of near-equal size that cover ``n`` images, each at most
    ``images_per_chunk`` (equal sizes: no small last chunk with a slow, narrow GEMM)."""
    count = -(-n // images_per_chunk(n, image_bytes))               # 0 for an empty batch
    bounds = [n * i // count for i in range(count + 1)] if count else [0]
    return list(zip(bounds[:-1], bounds[1:]))


def im2col(xp, kernel_hw, out_hw, strides, dilation=(1, 1), ones_column=False, out=None):
    """``conv2d_simple``'s ``cols`` of padded input ``xp`` (N, Hp, Wp, C), written into
    ``out`` (a flat buffer at least that large) if given: (N·OH·OW, KH·KW·C [+ 1]).

    [bias column] with ``ones_column``, a last column of ones (it meets the bias row of
    the weight matrix).
    """
    n, _, _, c = xp.shape
    (kh, kw), (oh, ow) = kernel_hw, out_hw
    m, k = n * oh * ow, kh * kw * c + ones_column
    if out is None:
        out = workspace.empty((k * m,), xp.dtype)
    if c == 1:  # [one channel] tap-major: one contiguous copy per tap, then transposed
        cols_t = out[:k * m].reshape(k, n, oh, ow)
        for i in range(kh):
            for j in range(kw):
                cols_t[i * kw + j] = tap(xp, i * dilation[0], j * dilation[1], out_hw,
                                         strides)[..., 0]
        cols = cols_t.reshape(k, m).T                               # (M, K[+1]), F-ordered
    else:
        cols = out[:m * k].reshape(m, k)                            # (M, K[+1])
        patches = cols[:, :kh * kw * c].reshape(n, oh, ow, kh, kw, c)  # a view into cols
        np.copyto(patches, windows(xp, kernel_hw, out_hw, strides, dilation))
    if ones_column:
        cols[:, -1] = 1
    return cols


def conv_forward(x, kernel, bias, strides, pads, dilation, relu=False, kept=None):
    """``conv2d_simple`` (then ReLU if ``relu``), in chunks of images.

    ``kept``: a list to which the whole batch's patch matrix is appended when it takes at
    most ``KEEP_BYTES`` (backward's dW then reuses it); else it is left empty.
    """
    n, h, w, c = x.shape
    kh, kw, _, f = kernel.shape
    oh, ow = window_output_hw((h, w), (kh, kw), strides, pads, dilation)
    xp = pad_hw(x, pads)                                            # (N, Hp, Wp, C)
    weights = kernel.reshape(kh * kw * c, f)                        # (K, F)
    if bias is not None:  # [bias column]
        weights = np.concatenate([weights, bias[None, :]])          # (K+1, F)
    out = workspace.empty((n, oh, ow, f), x.dtype)
    image_size = oh * ow * weights.shape[0]                         # patch elements per image
    image_bytes = image_size * x.dtype.itemsize
    keep = kept is not None and n * image_bytes <= KEEP_BYTES       # [kept patches]
    spans = [(0, n)] if keep else chunks(n, image_bytes)            # [chunks]
    largest = max((n1 - n0 for n0, n1 in spans), default=0)
    patches = workspace.empty((largest * image_size,), x.dtype)     # one buffer for all chunks
    for n0, n1 in spans:
        cols = im2col(xp[n0:n1], (kh, kw), (oh, ow), strides, dilation,
                      ones_column=bias is not None, out=patches)     # (M_c, K[+1])
        chunk = out[n0:n1].reshape(-1, f)                           # (M_c, F), a view
        np.matmul(cols, weights, out=chunk)                         # the GEMM
        if relu:  # [fused relu] while the chunk is still in cache
            np.maximum(chunk, 0, out=chunk)
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
    want_x, want_kernel, want_bias = want
    x_shape = x if isinstance(x, tuple) else x.shape
    kh, kw, c, f = kernel if isinstance(kernel, tuple) else kernel.shape
    if relu_out is not None:  # [fused relu] d relu = 1 where the output is positive, else 0
        grad = np.multiply(grad, relu_out > 0, out=workspace.empty(grad.shape, grad.dtype))
    dx = dkernel = dbias = None
    if want_kernel or want_bias:
        dw = _weight_grad(grad, x, (kh, kw), geometry, want_bias, patches)  # (K[+1], F)
        k = kh * kw * c
        dkernel = dw[:k].reshape(kh, kw, c, f) if want_kernel else None
        dbias = dw[k] if want_bias else None  # [bias column] the ones column's row
    if want_x:
        dx = _input_grad(grad, kernel, x_shape, geometry)
    return dx, dkernel, dbias


def _weight_grad(grad, x, kernel_hw, geometry, ones_column, kept=None):
    """``cols.T @ grad``: one GEMM on the forward's [kept patches], or summed over [chunks]
    of images whose patches are made again one chunk at a time."""
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
    """[per-tap col2im] dx: for each tap (i, j), the GEMM ``grad @ W[i, j].T`` added into
    the strided view of dx that the tap read in forward."""
    strides, pads, dilation = geometry
    n, h, w, c = x_shape
    kh, kw, _, f = kernel.shape
    oh, ow = grad.shape[1:3]
    g = grad.reshape(-1, f)                                         # (M, F)
    if c == 1:  # [one channel] all taps in one GEMM: (KH·KW, F) @ (F, M)
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
    # [clipped taps] where each tap lands inside the unpadded input, as (input, output)
    # slices per axis; taps that read only padding add nothing and are left out
    (top, _), (left, _) = pads
    spans = {i * kw + j: (tap_span(i * dilation[0], top, strides[0], oh, h),
                          tap_span(j * dilation[1], left, strides[1], ow, w))
             for i in range(kh) for j in range(kw)}
    spans = {t: s for t, s in spans.items() if s[0][1] != slice(0, 0) != s[1][1]}
    dx = workspace.empty(x_shape, g.dtype)                          # (N, H, W, C)
    # [first tap copies] a tap that covers every input pixel starts dx as a copy
    whole = [t for t, ((rows, _), (cols, _)) in spans.items()
             if rows == slice(0, h, 1) and cols == slice(0, w, 1)]
    if whole:
        (_, rows_out), (_, cols_out) = spans.pop(whole[0])
        np.copyto(dx, tap_grad(whole[0])[:, rows_out, cols_out])
    else:
        dx.fill(0)
    for t, ((rows_in, rows_out), (cols_in, cols_out)) in spans.items():
        dx[:, rows_in, cols_in] += tap_grad(t)[:, rows_out, cols_out]
    return dx
