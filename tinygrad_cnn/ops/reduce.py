"""Reductions over an axis, a tuple of axes, or everything (axis=None)."""

import numpy as np

from ..checks import check_bool, is_int
from ..function import Function
from .elementwise import broadcast_to


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
    name = "sum"
    rule = "sum: ∂L/∂x = ∂L/∂y copied to every element that was summed"

    def __init__(self, axis, keepdims: bool, ndim: int):
        self.axes = normalize_axis(axis, ndim)
        self.keepdims = check_bool(keepdims, "keepdims")
        self.over_all = len(self.axes) == ndim  # label just "sum", not "sum axis=(0, 1)"

    def describe(self):
        return self.name if self.over_all else f"{self.name} axis={self.axes}"

    def forward(self, x):
        return np.asarray(x.sum(axis=self.axes, keepdims=self.keepdims))

    def derivative(self, grad, inputs, output):
        (x,) = inputs
        return (broadcast_to(grad.reshape(_keepdims_shape(x.shape, self.axes)), x.shape),)


class MeanOp(SumOp):
    name = "mean"
    rule = "mean: ∂L/∂x = ∂L/∂y / n, copied to each of the n elements averaged"

    def forward(self, x):
        return np.asarray(x.mean(axis=self.axes, keepdims=self.keepdims))

    def derivative(self, grad, inputs, output):
        (x,) = inputs
        (g,) = super().derivative(grad, inputs, output)
        return (g / int(np.prod([x.shape[i] for i in self.axes])),)


def check_nonempty_axes(shape: tuple, axes: tuple, name: str) -> None:
    """A maximum (minimum, argmax) over an axis of length 0 has no value: numpy and PyTorch
    raise too. Over other axes an empty tensor gives an empty result, as in numpy."""
    for a in axes:
        if shape[a] == 0:
            raise ValueError(f"{name}() over axis {a} of a tensor of shape {shape}: that axis "
                             f"has length 0, so there is nothing to take the {name} of; "
                             f"reduce over non-empty axes only (an empty result is fine)")


class MaxOp(SumOp):
    """Max over axes; ties share the gradient equally (torch.amax, and torch.max() over all).

    NaN propagates: a slice holding NaN has NaN as its maximum and sends its gradient to the
    NaN (several NaNs share it, as ties do; ``torch.max(x, dim)`` gives it all to one).
    """

    name = "max"
    rule = "max: ∂L/∂y goes to the maximum (or NaN) of each reduced slice; ties share it equally"
    reduce = staticmethod(np.max)

    def check(self, x):
        if x.size == 0:
            check_nonempty_axes(x.shape, self.axes, self.name)

    def forward(self, x):
        out = np.asarray(self.reduce(x, axis=self.axes, keepdims=self.keepdims))
        self.save_for_backward(out)
        return out

    def derivative(self, grad, inputs, output):
        (x,) = inputs
        shape = _keepdims_shape(x.shape, self.axes)
        x, out = np.asarray(x), np.asarray(output).reshape(shape)   # the winners: constant
        hit = x == out
        if np.isnan(out).any():  # one pass over the (smaller) output finds a NaN slice
            hit |= np.isnan(x) & np.isnan(out)
        return (grad.reshape(shape) / hit.sum(axis=self.axes, keepdims=True) * hit,)


class MinOp(MaxOp):
    """Min over axes; ties share the gradient equally (torch.amin, and torch.min() over all).
    NaN propagates and takes the gradient, as in ``MaxOp``."""

    name = "min"
    rule = "min: ∂L/∂y goes to the minimum (or NaN) of each reduced slice; ties share it equally"
    reduce = staticmethod(np.min)
