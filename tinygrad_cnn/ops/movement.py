"""Ops that move or select elements: reshape, transpose, pad, indexing, broadcasting,
concatenation."""

import numpy as np

from ..checks import is_int as _is_int
from ..function import Function
from .elementwise import recorded, unbroadcast


def flattened_shape(shape: tuple, start_axis: int) -> tuple:
    if not _is_int(start_axis) or not 0 <= start_axis <= len(shape):
        raise ValueError(
            f"flatten(start_axis={start_axis!r}) needs an int in 0..{len(shape)} for a tensor "
            f"of shape {shape}"
        )
    return shape[:start_axis] + (int(np.prod(shape[start_axis:], dtype=np.int64)),)


class ReshapeOp(Function):
    name = "reshape"
    rule = "reshape: ∂L/∂x = ∂L/∂y reshaped back to x's shape"

    def __init__(self, shape, in_shape: tuple):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        if not all(_is_int(n) and n >= -1 for n in shape) or list(shape).count(-1) > 1:
            raise ValueError(
                f"reshape: shape must be ints >= 0 with at most one -1; got {tuple(shape)}"
            )
        size = int(np.prod(in_shape, dtype=np.int64))
        known = int(np.prod([n for n in shape if n != -1], dtype=np.int64))
        if -1 in shape:
            if known == 0 or size % known:
                raise ValueError(f"reshape: cannot reshape {in_shape} ({size} elements) to "
                                 f"{tuple(shape)}")
            shape = tuple(size // known if n == -1 else n for n in shape)
        elif known != size:
            raise ValueError(
                f"reshape: cannot reshape {in_shape} ({size} elements) to {tuple(shape)} "
                f"({known} elements); the element counts must match"
            )
        self.shape = tuple(int(n) for n in shape)

    def describe(self):
        return f"reshape {self.shape}"

    def forward(self, a):
        return a.reshape(self.shape)

    def derivative(self, grad, inputs, output):
        return (grad.reshape(inputs[0].shape),)


class TransposeOp(Function):
    name = "transpose"
    rule = "transpose: ∂L/∂x = ∂L/∂y with its axes permuted back (the inverse permutation)"

    def __init__(self, axes, ndim: int):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if not axes:
            axes = tuple(reversed(range(ndim)))
        if not all(_is_int(a) and -ndim <= a < ndim for a in axes) or sorted(
            a % ndim for a in axes
        ) != list(range(ndim)):
            raise ValueError(
                f"transpose: axes must be a permutation of 0..{ndim - 1}; got {tuple(axes)}"
            )
        self.axes = tuple(int(a) % ndim for a in axes)

    def describe(self):
        return f"transpose {self.axes}"

    def forward(self, a):
        return a.transpose(self.axes)

    def derivative(self, grad, inputs, output):
        return (grad.transpose(tuple(np.argsort(self.axes))),)


class PadOp(Function):
    """Zero padding."""

    name = "pad"
    rule = "pad: ∂L/∂x = the interior of ∂L/∂y, without the padding"

    def __init__(self, pad_width, ndim: int):
        try:
            pw = np.asarray(pad_width, dtype=object)
            pw = np.broadcast_to(pw, (ndim, 2)) if pw.size else None
        except ValueError:
            pw = None
        if pw is None or not all(_is_int(v) and v >= 0 for v in pw.ravel()):
            raise ValueError(
                f"pad: pad_width must be non-negative ints in numpy's form ((before, after), ...) "
                f"with {ndim} pairs; got {pad_width!r}"
            )
        self.pad_width = tuple((int(b), int(a)) for b, a in pw)

    def describe(self):
        return f"pad {self.pad_width}"

    def forward(self, a):
        return np.pad(a, self.pad_width)

    def derivative(self, grad, inputs, output):
        shape = inputs[0].shape
        return (grad[tuple(slice(b, b + n) for (b, _), n in zip(self.pad_width, shape))],)


class GetItemOp(Function):
    """``x[index]`` with ints, slices, None, Ellipsis and integer or bool arrays.

    Its gradient is ``scatter``, an op of its own, so the pair differentiates to any order.
    """

    name = "getitem"
    rule = "getitem: ∂L/∂x = zeros of x's shape with ∂L/∂y added at the index (repeats add up)"

    def __init__(self, index, shape: tuple):
        items = index if isinstance(index, tuple) else (index,)
        cleaned = []
        self.advanced = False
        for item in items:
            if isinstance(item, list):
                item = np.asarray(item, dtype=np.intp if not item else None)  # x[[]] as numpy
            if isinstance(item, np.ndarray):
                if item.dtype.kind not in "iub":
                    raise TypeError(
                        f"index arrays must hold integers or bools; got dtype {item.dtype}"
                    )
                self.advanced = True
            elif not (item is None or item is Ellipsis or isinstance(item, slice)
                      or _is_int(item)):
                raise TypeError(
                    f"index must be ints, slices, None, Ellipsis or integer arrays; got "
                    f"{type(item).__name__} {item!r:.40}"
                )
            cleaned.append(item)
        self.index, self.shape = tuple(cleaned), shape
        try:
            np.empty(shape, dtype=np.bool_)[self.index]
        except IndexError as exc:
            raise ValueError(f"index {index!r:.60} is invalid for shape {shape}: {exc}") from None
        except TypeError as exc:  # e.g. a slice of strings
            raise TypeError(f"index {index!r:.60} is invalid: {exc}; use ints, slices of ints, "
                            f"None, Ellipsis or integer arrays") from None

    def forward(self, a):
        return np.asarray(a[self.index])

    def derivative(self, grad, inputs, output):
        return (scatter(grad, self.index, self.shape, self.advanced),)


def scatter(g, index: tuple, shape: tuple, advanced: bool):
    """``g`` added into zeros of ``shape`` at ``index``; on a Tensor, a recorded ScatterOp."""
    if recorded(g):
        return ScatterOp(index, shape, advanced).apply(g)
    out = np.zeros(shape, dtype=g.dtype)
    if advanced:
        np.add.at(out, index, g)  # repeated indices accumulate
    else:
        out[index] = g
    return out


class ScatterOp(Function):
    """The gradient of ``x[index]`` as an op: ``g`` added into zeros of x's shape."""

    name = "scatter"
    rule = "scatter: ∂L/∂g = ∂L/∂y[index], the getitem it is the gradient of"
    gradient_of = "getitem"

    def __init__(self, index: tuple, shape: tuple, advanced: bool):
        self.index, self.shape, self.advanced = index, shape, advanced

    def forward(self, g):
        return scatter(g, self.index, self.shape, self.advanced)

    def derivative(self, grad, inputs, output):
        return (grad[self.index],)


class ExpandOp(Function):
    """``broadcast_to(a, shape)``."""

    name = "broadcast_to"
    rule = "broadcast_to: ∂L/∂x = ∂L/∂y summed back over the axes broadcasting added or stretched"

    def __init__(self, shape, in_shape: tuple):
        shape = tuple(shape)
        try:
            np.broadcast_shapes(in_shape, shape)
            ok = len(shape) >= len(in_shape) and all(_is_int(n) for n in shape)
        except (ValueError, TypeError):
            ok = False
        if not ok or np.broadcast_shapes(in_shape, shape) != shape:
            raise ValueError(f"broadcast_to: cannot broadcast shape {in_shape} to {shape}; "
                             f"aligned from the right, each input dimension must equal the "
                             f"target's or be 1")
        self.shape = shape

    def describe(self):
        return f"broadcast_to {self.shape}"

    def forward(self, a):
        return np.broadcast_to(a, self.shape)

    def derivative(self, grad, inputs, output):
        return (unbroadcast(grad, inputs[0].shape),)


class ConcatenateOp(Function):
    """``concatenate(tensors, axis)``."""

    name = "concatenate"
    rule = "concatenate: ∂L/∂xᵢ = the slice of ∂L/∂y where xᵢ sits, along the axis"

    def __init__(self, axis: int):
        self.axis = axis

    def describe(self):
        return f"concatenate axis={self.axis}"

    def check(self, *arrays):
        first = arrays[0]
        for i, a in enumerate(arrays[1:], 1):
            if a.ndim != first.ndim or a.shape[:self.axis] + a.shape[self.axis + 1:] != (
                    first.shape[:self.axis] + first.shape[self.axis + 1:]):
                raise ValueError(f"concatenate: tensor {i} has shape {a.shape} but tensor 0 "
                                 f"has {first.shape}; all shapes must match except along "
                                 f"axis {self.axis}")
            if a.dtype != first.dtype:
                raise ValueError(f"concatenate: tensor {i} is {a.dtype} but tensor 0 is "
                                 f"{first.dtype}; convert them to one dtype first")

    def forward(self, *arrays):
        return np.concatenate(arrays, axis=self.axis)

    def derivative(self, grad, inputs, output):
        sizes = [a.shape[self.axis] for a in inputs]
        ends = np.cumsum(sizes)
        lead = (slice(None),) * self.axis
        return tuple(grad[(*lead, slice(end - n, end))] for n, end in zip(sizes, ends))
