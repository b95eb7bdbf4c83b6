"""Max and average pooling on channels_last (N, H, W, C) input, through strided views.

Every window element at offset (i, j) of all windows at once is one strided view (a *tap*,
see ``window.tap``); forward and backward loop over the KH×KW taps only.

- Max pool pads with −inf. Backward sends each window's gradient to one element, the
  first maximum in row-major window order (ties are common after a ReLU); overlapping
  windows add up. A window holding NaN outputs NaN and sends its gradient to its first NaN.
- Average pool pads with zeros and divides each window's sum by its number of *real*
  (unpadded) elements, TensorFlow's rule for 'same'.

When the windows tile the (padded) input exactly (stride == pool size, no leftover rows or
columns, e.g. 2×2 pooling of 28×28) backward needs no zero-filled buffer: max pool writes
each tap's share straight into its strided view, average pool spreads the gradient with
one broadcast copy. Every other case (overlapping windows, gaps, leftovers) accumulates
into zeros, so the general path stays correct for all.

There is no separate path for 2×2 stride-2 max pooling: every version tried measured no
faster (see ``benchmarks/bench_ops.py``). The passes are bound by memory traffic, not by
the strided views.
"""

from __future__ import annotations

import numpy as np

from .. import workspace
from ..checks import check_float_array, check_nhwc
from ..function import Function
from ..shapes import resolve_pads, standardize_padding, standardize_pair, window_output_hw
from .conv_pool_grads import AvgPoolSpreadOp, MaxPoolRouteOp
from .window import crop_hw, pad_hw, tap, tiles, window_label


class _Pool2DOp(Function):
    """Shared hyper-parameters and geometry of the pooling ops.

    Args:
        pool_size: a positive int or a pair.
        strides: a positive int or a pair; None means ``pool_size``.
        padding: 'valid' or 'same' (any case), TensorFlow's rule with dilation 1.
    """

    def __init__(self, pool_size=2, strides=None, padding="valid"):
        self.pool_size = standardize_pair(pool_size, "pool_size")
        self.strides = self.pool_size if strides is None else standardize_pair(strides, "strides")
        self.padding = standardize_padding(padding, allow_explicit=False)

    def describe(self):
        return window_label(self.name, self.pool_size, self.strides, self.padding)

    def again(self):
        """A new op with the same hyper-parameters (an instance records one call)."""
        return type(self)(self.pool_size, self.strides, self.padding)

    def check(self, x):
        check_nhwc(x.shape, self.name)
        check_float_array(x, "x", self.name)
        self._geometry(x)  # a window larger than the padded input fails here

    def _geometry(self, x):
        hw = x.shape[1:3]
        pads = resolve_pads(self.padding, hw, self.pool_size, self.strides)
        out_hw = window_output_hw(hw, self.pool_size, self.strides, pads, what="pool window")
        return pads, out_hw

    def _taps(self):
        """Window offsets in row-major order."""
        kh, kw = self.pool_size
        return [(i, j) for i in range(kh) for j in range(kw)]

    def _combine_taps(self, ufunc, xp, out_hw):
        """``ufunc`` folded over the window taps of ``xp``: one pass per tap, no copy first."""
        views = [tap(xp, i, j, out_hw, self.strides) for i, j in self._taps()]
        out = workspace.empty(views[0].shape, xp.dtype)             # (N, OH, OW, C)
        if len(views) == 1:
            np.copyto(out, views[0])
            return out
        ufunc(views[0], views[1], out=out)
        for view in views[2:]:
            ufunc(out, view, out=out)
        return out

    def _tiles_exactly(self, padded_hw, out_hw) -> bool:
        """Windows neither overlap nor leave gaps: every input element is in one window."""
        return all(s == k and o * s == n for s, k, o, n in
                   zip(self.strides, self.pool_size, out_hw, padded_hw, strict=True))

    def _disjoint(self) -> bool:
        return all(s >= k for s, k in zip(self.strides, self.pool_size, strict=True))


class MaxPool2DOp(_Pool2DOp):
    """Max over each window; 'same' pads with −inf.

    d max(window)/dx = 1 at the window's first maximum, 0 elsewhere.
    """

    name = "max_pool2d"
    rule = "max_pool2d: each window's ∂L/∂y goes to its first maximum (its first NaN, if any)"

    def forward(self, x):
        pads, out_hw = self._geometry(x)
        xp = pad_hw(x, pads, -np.inf)                               # (N, Hp, Wp, C)
        out = self._combine_taps(np.maximum, xp, out_hw)            # (N, OH, OW, C)
        self.save_for_backward(xp, out, pads, x.shape)
        return out

    def backward(self, grad):
        xp, out, pads, x_shape = self.saved
        return (self.route(grad, self._first_max_hits(xp, out), xp.shape, pads, x_shape),)

    def backward_graph(self, grad, inputs, output):
        xp, out, pads, x_shape = self.saved
        # the routing is piecewise constant: the same windows send to the same elements
        hits = list(self._first_max_hits(xp, out))
        return (MaxPoolRouteOp(self, hits, xp.shape, pads, x_shape).apply(grad),)

    def _first_max_hits(self, xp, out):
        """Per tap, in row-major order: the windows whose first maximum sits at that tap.

        Each mask is a new (N, OH, OW, C) bool array, never changed after it is yielded.
        A window holding NaN has NaN as its maximum (np.maximum propagates it), and its
        gradient goes to its first NaN, as PyTorch's does to its NaN (to its last, when
        there are several). Only when ``out`` holds a NaN (one cheap pass over the output
        finds out) do the taps look for NaNs too.
        """
        taps = self._taps()
        has_nan = np.isnan(np.max(out)) if out.size else False
        seen = None  # windows whose first maximum is already found, private to this loop
        for t, (i, j) in enumerate(taps):
            if seen is not None and t == len(taps) - 1:
                # every window holds its maximum (or its NaN) somewhere: the last tap gets
                # the windows not yet served, without comparing
                yield ~seen
                return
            view = tap(xp, i, j, out.shape[1:3], self.strides)
            hit = view == out                                           # (N, OH, OW, C)
            if has_nan:
                hit |= np.isnan(view)  # NaN is in a window only where its maximum is NaN
            if seen is None:
                seen = hit.copy()  # not ``hit`` itself: that one is handed out as it is
            else:
                np.greater(hit, seen, out=hit)  # hit and not seen: the first maximum only
                seen |= hit
            yield hit

    def route(self, grad, hits, xp_shape, pads, x_shape):
        """Each window's gradient to its first maximum: (N, OH, OW, C) → (N, H, W, C)."""
        out_hw = grad.shape[1:3]
        exact = self._tiles_exactly(xp_shape[1:3], out_hw)
        dxp = (workspace.empty if exact else workspace.zeros)(xp_shape, grad.dtype)
        disjoint = self._disjoint()
        for (i, j), hit in zip(self._taps(), hits, strict=True):
            target = tap(dxp, i, j, out_hw, self.strides)
            if disjoint:
                np.multiply(grad, hit, out=target)
            else:
                target += grad * hit
        return crop_hw(dxp, pads, x_shape[1:3])

    def gather(self, h, hits, pads):
        """The adjoint of ``route``: each window's value at its first maximum."""
        hp = pad_hw(h, pads, 0)
        out_hw = hits[0].shape[1:3]
        return sum(tap(hp, i, j, out_hw, self.strides) * hit
                   for (i, j), hit in zip(self._taps(), hits, strict=True))


class AvgPool2DOp(_Pool2DOp):
    """Mean over each window's real elements (TensorFlow's rule for 'same').

    d mean(window)/dx = 1/count for each real element of the window.
    """

    name = "avg_pool2d"
    rule = "avg_pool2d: each window's ∂L/∂y shared equally among its real (unpadded) elements"

    def _counts(self, hw, pads, out_hw, dtype):
        """How many real elements each window holds: a scalar, or (1, OH, OW, 1) with padding."""
        kh, kw = self.pool_size
        if pads == ((0, 0), (0, 0)):
            return kh * kw
        per_axis = []
        for n, k, s, (before, _), o in zip(hw, self.pool_size, self.strides, pads, out_hw,
                                               strict=True):
            start = np.arange(o) * s - before                       # window start, unpadded
            per_axis.append(np.minimum(start + k, n) - np.maximum(start, 0))
        return np.multiply.outer(*per_axis).astype(dtype)[None, :, :, None]

    def forward(self, x):
        pads, out_hw = self._geometry(x)
        xp = pad_hw(x, pads, 0)                                     # (N, Hp, Wp, C)
        out = self._combine_taps(np.add, xp, out_hw)                # (N, OH, OW, C)
        counts = self._counts(x.shape[1:3], pads, out_hw, x.dtype)
        out /= counts
        self.save_for_backward(counts, pads, x.shape, xp.shape)
        return out

    def backward(self, grad):
        return (self.spread(grad, *self.saved),)

    def backward_graph(self, grad, inputs, output):
        return (AvgPoolSpreadOp(self, self.saved).apply(grad),)

    def spread(self, grad, counts, pads, x_shape, xp_shape):
        """Each window's gradient shared among its real elements: (N, OH, OW, C) → x's shape."""
        n, oh, ow, c = grad.shape
        if self._tiles_exactly(xp_shape[1:3], (oh, ow)):
            # every element gets its window's share once: one broadcast division
            dxp = workspace.empty(xp_shape, grad.dtype)
            if np.ndim(counts):
                counts = counts[:, :, None, :, None, :]
            np.divide(grad[:, :, None, :, None, :], counts,
                      out=tiles(dxp, self.pool_size, (oh, ow)))
            return crop_hw(dxp, pads, x_shape[1:3])
        share = grad / counts                                       # (N, OH, OW, C)
        dxp = workspace.zeros(xp_shape, grad.dtype)
        for i, j in self._taps():
            target = tap(dxp, i, j, (oh, ow), self.strides)
            if self._disjoint():
                target[...] = share
            else:
                target += share
        return crop_hw(dxp, pads, x_shape[1:3])
