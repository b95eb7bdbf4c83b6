"""Reductions over an axis, a tuple of axes, or everything (axis=None)."""

import numpy as np

from ..checks import check_bool, is_int
from ..function import Function


def normalize_axis(axis, ndim: int, arg: str = "axis") -> tuple:
    """``axis`` (None, int or tuple of ints) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, (tuple, list)) else (axis,)
    result = []
    for a in items:
        if not is_int(a):
            raise TypeError(f"{arg} must be None, an int or a tuple of ints; got {axis!r}")
        if ndim == 0:
            raise ValueError(f"{arg}={axis!r}: a 0-d tensor has no axes; use {arg}=None")
        if not -ndim <= a < ndim:
            raise ValueError(
                f"{arg}={axis!r} is out of range for a tensor with {ndim} dimensions "
                f"(accepted: {-ndim}..{ndim - 1})"
            )
        result.append(int(a) % ndim)
    if len(set(result)) != len(result):
        raise ValueError(f"{arg}={axis!r} repeats an axis")
    return tuple(sorted(result))


def _keepdims_shape(shape: tuple, axes: tuple) -> tuple:
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


class SumOp(Function):
    """d(Σ a)/da = 1 for every summed element: the gradient is broadcast back."""

    name = "sum"

    def __init__(self, axis, keepdims: bool, ndim: int):
        self.axes = normalize_axis(axis, ndim)
        self.keepdims = check_bool(keepdims, "keepdims")
        self.over_all = len(self.axes) == ndim  # label just "sum", not "sum axis=(0, 1)"

    def describe(self):
        return self.name if self.over_all else f"{self.name} axis={self.axes}"

    def forward(self, a):
        self.save_for_backward(a.shape)
        return np.asarray(a.sum(axis=self.axes, keepdims=self.keepdims))

    def backward(self, grad):
        (shape,) = self.saved
        grad = grad.reshape(_keepdims_shape(shape, self.axes))
        return (np.broadcast_to(grad, shape),)

    def backward_graph(self, grad, inputs, output):
        (a,) = inputs
        return (grad.reshape(_keepdims_shape(a.shape, self.axes)).broadcast_to(a.shape),)


class MeanOp(SumOp):
    """d(mean a)/da = 1/count for every averaged element."""

    name = "mean"

    def forward(self, a):
        self.save_for_backward(a.shape)
        return np.asarray(a.mean(axis=self.axes, keepdims=self.keepdims))

    def backward(self, grad):
        (shape,) = self.saved
        (g,) = super().backward(grad)
        return (g / grad.dtype.type(self.count(shape)),)

    def backward_graph(self, grad, inputs, output):
        (g,) = super().backward_graph(grad, inputs, output)
        return (g / self.count(inputs[0].shape),)

    def count(self, shape) -> int:
        return int(np.prod([shape[i] for i in self.axes]))


class MaxOp(SumOp):
    """d(max a)/da = 1 at the maximum, 0 elsewhere; ties share it equally (torch.amax)."""

    name = "max"
    reduce = staticmethod(np.max)

    def check(self, a):
        if a.size == 0:
            raise ValueError(f"{self.name}() of an empty tensor (shape {a.shape}) is undefined")

    def forward(self, a):
        out = self.reduce(a, axis=self.axes, keepdims=True)
        self.save_for_backward(a, out)
        return out if self.keepdims else np.asarray(out.reshape(
            tuple(n for i, n in enumerate(a.shape) if i not in self.axes)))

    def backward(self, grad):
        a, out = self.saved
        hit = a == out
        grad = grad.reshape(out.shape)
        return (hit * (grad / hit.sum(axis=self.axes, keepdims=True)),)

    def backward_graph(self, grad, inputs, output):
        a, out = self.saved
        hit = a == out
        share = hit / hit.sum(axis=self.axes, keepdims=True)  # piecewise constant
        return (grad.reshape(out.shape) * share.astype(a.dtype),)


class MinOp(MaxOp):
    """d(min a)/da = 1 at the minimum, 0 elsewhere; ties share it equally (torch.amin)."""

    name = "min"
    reduce = staticmethod(np.min)
