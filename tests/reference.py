"""Slow, literal reference implementations of the TensorFlow/Keras rules, for tests only.

Written straight from the definitions with Python loops over every output element and
every window position, sharing no code with the library (not even ``shapes.py``), so a
mistake in the fast vectorized ops cannot hide in both. Keep inputs tiny.

Rules implemented (TensorFlow's):
- 'valid': out = floor((in − (k − 1)·d − 1) / s) + 1, no padding.
- 'same':  out = ceil(in / s), pad_total = max((out − 1)·s + (k − 1)·d + 1 − in, 0),
  pad_before = pad_total // 2, the extra pixel after (bottom / right).
- conv pads with zeros; max pool ignores padding (−inf); average pool divides by the
  number of real elements in the window; max-pool backward routes each window's gradient
  to its first maximum in row-major order and overlapping windows add up.
"""

from __future__ import annotations

import math

import numpy as np


def same_rule(size: int, kernel: int, stride: int, dilation: int = 1):
    """(out, pad_before, pad_after) for 'same', straight from TensorFlow's definition."""
    out = math.ceil(size / stride)
    extent = (kernel - 1) * dilation + 1
    total = max((out - 1) * stride + extent - size, 0)
    return out, total // 2, total - total // 2


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def explicit_pads(padding, in_hw, kernel_hw, strides, dilation):
    """((top, bottom), (left, right)) for any accepted padding form."""
    if isinstance(padding, str):
        if padding.lower() == "valid":
            return (0, 0), (0, 0)
        return tuple(same_rule(n, k, s, d)[1:] for n, k, s, d in
                     zip(in_hw, kernel_hw, strides, dilation))
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    if isinstance(padding[0], int):
        return (padding[0], padding[0]), (padding[1], padding[1])
    return tuple(padding[0]), tuple(padding[1])


def output_hw(in_hw, kernel_hw, strides, pads, dilation):
    return tuple((n + p[0] + p[1] - (k - 1) * d - 1) // s + 1 for n, k, s, p, d in
                 zip(in_hw, kernel_hw, strides, pads, dilation))


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1):
    """Cross-correlation, channels_last: out[n,oy,ox,f] = Σ x[n,y,x,c]·kernel[i,j,c,f] (+ bias)."""
    strides, dilation = _pair(strides), _pair(dilation_rate)
    n_batch, h, w, c_in = x.shape
    kh, kw, _, c_out = kernel.shape
    (top, bottom), (left, right) = explicit_pads(padding, (h, w), (kh, kw), strides, dilation)
    oh, ow = output_hw((h, w), (kh, kw), strides, ((top, bottom), (left, right)), dilation)
    out = np.zeros((n_batch, oh, ow, c_out), dtype=np.float64)
    for n in range(n_batch):
        for oy in range(oh):
            for ox in range(ow):
                for i in range(kh):
                    for j in range(kw):
                        y = oy * strides[0] - top + i * dilation[0]
                        xx = ox * strides[1] - left + j * dilation[1]
                        if 0 <= y < h and 0 <= xx < w:  # outside: zero padding
                            for c in range(c_in):
                                out[n, oy, ox] += x[n, y, xx, c] * kernel[i, j, c]
                if bias is not None:
                    out[n, oy, ox] += bias
    return out


def _pool_windows(x, pool_size, strides, padding):
    """Yield (n, oy, ox, c, [(y, x) of the real elements in the window, row-major])."""
    pool_size = _pair(pool_size)
    strides = pool_size if strides is None else _pair(strides)
    n_batch, h, w, channels = x.shape
    (top, bottom), (left, right) = explicit_pads(padding, (h, w), pool_size, strides, (1, 1))
    oh, ow = output_hw((h, w), pool_size, strides, ((top, bottom), (left, right)), (1, 1))
    for n in range(n_batch):
        for oy in range(oh):
            for ox in range(ow):
                for c in range(channels):
                    cells = []
                    for i in range(pool_size[0]):
                        for j in range(pool_size[1]):
                            y, xx = oy * strides[0] - top + i, ox * strides[1] - left + j
                            if 0 <= y < h and 0 <= xx < w:
                                cells.append((y, xx))
                    yield n, oy, ox, c, cells, (oh, ow)


def max_pool2d(x, pool_size=2, strides=None, padding="valid"):
    out = None
    for n, oy, ox, c, cells, (oh, ow) in _pool_windows(x, pool_size, strides, padding):
        if out is None:
            out = np.empty((x.shape[0], oh, ow, x.shape[3]), dtype=np.float64)
        out[n, oy, ox, c] = max(x[n, y, xx, c] for y, xx in cells)  # padding never wins
    return out


def avg_pool2d(x, pool_size=2, strides=None, padding="valid"):
    out = None
    for n, oy, ox, c, cells, (oh, ow) in _pool_windows(x, pool_size, strides, padding):
        if out is None:
            out = np.empty((x.shape[0], oh, ow, x.shape[3]), dtype=np.float64)
        out[n, oy, ox, c] = sum(x[n, y, xx, c] for y, xx in cells) / len(cells)
    return out


def max_pool2d_grad(x, grad, pool_size=2, strides=None, padding="valid"):
    """d(sum(max_pool2d(x) * grad)) / dx: each window's gradient to its first maximum."""
    dx = np.zeros(x.shape, dtype=np.float64)
    for n, oy, ox, c, cells, _ in _pool_windows(x, pool_size, strides, padding):
        best = max(x[n, y, xx, c] for y, xx in cells)
        for y, xx in cells:  # row-major order: stop at the first maximum
            if x[n, y, xx, c] == best:
                dx[n, y, xx, c] += grad[n, oy, ox, c]
                break
    return dx
