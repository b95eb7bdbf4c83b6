"""Ops that move or select elements: reshape, transpose, pad, indexing, broadcasting,
concatenation."""

import numpy as np

from ..checks import is_int as _is_int
from ..function import Function
from .elementwise import unbroadcast


def flattened_shape(shape: tuple, start_axis: int) -> tuple:
    if not _is_int(start_axis) or not 0 <= start_axis <= len(shape):
        raise ValueError(
            f"flatten(start_axis={start_axis!r}) needs an int in 0..{len(shape)} for a tensor "
            f"of shape {shape}"
        )
    return shape[:start_axis] + (int(np.prod(shape[start_axis:], dtype=np.int64)),)


class ReshapeOp(Function):
    """Moves no values: the gradient is reshaped back to the input's shape."""

    name = "reshape"

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
        self.save_for_backward(a.shape)
        return a.reshape(self.shape)

    def backward(self, grad):
        return (grad.reshape(self.saved[0]),)

    def backward_graph(self, grad, inputs, output):
        return (grad.reshape(inputs[0].shape),)


class TransposeOp(Function):
    """A permutation of axes: the gradient is permuted back by the inverse permutation."""

    name = "transpose"

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

    def backward(self, grad):
        return (grad.transpose(np.argsort(self.axes)),)

    def backward_graph(self, grad, inputs, output):
        return (grad.transpose(tuple(np.argsort(self.axes))),)


class PadOp(Function):
    """Zero padding: the gradient of the input is the unpadded interior of the gradient."""

    name = "pad"

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
        self.save_for_backward(a.shape)
        return np.pad(a, self.pad_width)

    def backward(self, grad):
        (shape,) = self.saved
        index = tuple(slice(b, b + n) for (b, _), n in zip(self.pad_width, shape, strict=True))
        return (grad[index],)

    def backward_graph(self, grad, inputs, output):
        index = tuple(slice(b, b + n) for (b, _), n in zip(self.pad_width, inputs[0].shape))
        return (grad[index],)


class GetItemOp(Function):
    """``x[index]`` with ints, slices, None, Ellipsis and integer or bool arrays.

    d x[index]/dx scatters the gradient back into zeros of x's shape; elements picked
    several times (repeated integer indices) add up.
    """

    name = "getitem"

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
        self.index = tuple(cleaned)
        try:
            np.empty(shape, dtype=np.bool_)[self.index]
        except IndexError as exc:
            raise ValueError(f"index {index!r:.60} is invalid for shape {shape}: {exc}") from None
        except TypeError as exc:  # e.g. a slice of strings
            raise TypeError(f"index {index!r:.60} is invalid: {exc}; use ints, slices of ints, "
                            f"None, Ellipsis or integer arrays") from None

    def forward(self, a):
        self.save_for_backward(a.shape, a.dtype)
        return np.asarray(a[self.index])

    def backward(self, grad):
        shape, dtype = self.saved
        out = np.zeros(shape, dtype=grad.dtype)
        if self.advanced:
            np.add.at(out, self.index, grad)  # repeated indices accumulate
        else:
            out[self.index] = grad
        return (out,)

    def backward_graph(self, grad, inputs, output):
        return (ScatterOp(self.index, inputs[0].shape, self.advanced).apply(grad),)


class ScatterOp(Function):
    """The gradient of ``x[index]``: ``g`` added into zeros of x's shape at ``index``.

    Its own gradient is ``h[index]``, so the pair differentiates to any order.
    """

    name = "scatter"
    gradient_of = "getitem"

    def __init__(self, index: tuple, shape: tuple, advanced: bool):
        self.index, self.shape, self.advanced = index, shape, advanced

    def forward(self, g):
        out = np.zeros(self.shape, dtype=g.dtype)
        if self.advanced:
            np.add.at(out, self.index, g)  # repeated indices accumulate
        else:
            out[self.index] = g
        return out

    def backward(self, grad):
        return (np.asarray(grad[self.index]),)

    def backward_graph(self, grad, inputs, output):
        return (GetItemOp(self.index, self.shape).apply(grad),)


class ExpandOp(Function):
    """``broadcast_to(a, shape)``: the gradient is summed back over the broadcast axes."""

    name = "broadcast_to"

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
        self.save_for_backward(a.shape)
        return np.broadcast_to(a, self.shape)

    def backward(self, grad):
        return (unbroadcast(grad, self.saved[0]),)

    def backward_graph(self, grad, inputs, output):
        return self.backward(grad)  # unbroadcast is Tensor operations on a Tensor


class ConcatenateOp(Function):
    """``concatenate(tensors, axis)``: each input's gradient is its slice of the output's."""

    name = "concatenate"

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
        self.save_for_backward([a.shape[self.axis] for a in arrays])
        return np.concatenate(arrays, axis=self.axis)

    def backward(self, grad):
        (sizes,) = self.saved
        ends = np.cumsum(sizes)
        lead = (slice(None),) * self.axis
        return tuple(grad[(*lead, slice(end - n, end))] for n, end in zip(sizes, ends))

    def backward_graph(self, grad, inputs, output):
        return self.backward(grad)  # slicing is a Tensor operation on a Tensor
