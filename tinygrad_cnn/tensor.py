"""Tensor: an ndarray plus the graph node that produced it, and reverse-mode autograd."""

from __future__ import annotations

import itertools
import numbers

import numpy as np

from . import autograd, function
from .checks import check_bool
from .ops.elementwise import (
    AbsOp,
    AddOp,
    AsTypeOp,
    ClipOp,
    DivOp,
    ExpOp,
    LogOp,
    MaximumOp,
    MinimumOp,
    MulOp,
    NegOp,
    PowOp,
    ReLUOp,
    SigmoidOp,
    SqrtOp,
    SubOp,
    TanhOp,
)
from .ops.loss import LogSoftmaxOp, SoftmaxOp
from .ops.matmul import MatMulOp
from .ops.movement import ExpandOp, GetItemOp, PadOp, ReshapeOp, TransposeOp, flattened_shape
from .ops.reduce import MaxOp, MeanOp, MinOp, SumOp, normalize_axis

_creation_counter = itertools.count()


def _to_array(data, dtype=None) -> np.ndarray:
    """Turn user data into an ndarray: float arrays keep their dtype, lists/scalars → float32."""
    if isinstance(data, Tensor):
        array = data.data
    elif isinstance(data, np.ndarray):
        array = data
    elif isinstance(data, (bool, np.bool_)) or not isinstance(
        data, (numbers.Number, list, tuple, np.generic)
    ):
        raise TypeError(
            f"Tensor data must be a number, a (nested) list/tuple of numbers or a numpy "
            f"array; got {type(data).__name__} {data!r:.60}"
        )
    else:
        try:
            array = np.asarray(data)
            # Text and complex stay as they are so the dtype check below rejects them
            # (astype would parse "1.5" or drop an imaginary part).
            if array.dtype.kind not in "USc":
                array = array.astype(np.float32 if dtype is None else dtype)
        except (TypeError, ValueError, OverflowError) as exc:
            raise TypeError(
                f"Tensor data must be numbers; could not convert {data!r:.60} ({exc})"
            ) from None
    if array.dtype.kind not in "fiub":
        raise TypeError(
            f"Tensor data must have a float, integer or bool dtype; got dtype {array.dtype} "
            f"in {data!r:.60} (strings, objects and complex numbers are not supported)"
        )
    if dtype is not None and array.dtype != dtype:
        array = array.astype(dtype)
    return array


def _check_broadcast(op_name: str, a_shape: tuple, b_shape: tuple) -> None:
    """A clear ValueError when two operand shapes do not broadcast (numpy's is terse)."""
    try:
        np.broadcast_shapes(a_shape, b_shape)
    except ValueError:
        raise ValueError(
            f"{op_name}: operand shapes {a_shape} and {b_shape} do not broadcast; aligned from "
            f"the right, each pair of dimensions must be equal or one of them 1"
        ) from None


def _operand_error(other) -> TypeError:
    return TypeError(f"the other operand must be a Tensor, an ndarray, a number or a (nested) "
                     f"list of numbers; got {type(other).__name__} {other!r:.60}")


def _binary(op, a: Tensor, b: Tensor) -> Tensor:
    """``op.apply(a, b)`` for a broadcasting elementwise op, with a clear shape error."""
    try:
        return op.apply(a, b)
    except ValueError:
        _check_broadcast(op.name, a.shape, b.shape)
        raise


def _one_axis(axis, ndim: int):
    """None, or one axis as a non-negative int (argmax/argmin take no tuples, like numpy)."""
    if axis is None:
        return None
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"axis must be None or one int for argmax/argmin; got {axis!r}")
    return normalize_axis(axis, ndim)[0]


def _index_arrays(index):
    """Tensors inside an index become their arrays (ops see ndarrays only)."""
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return index.data if isinstance(index, Tensor) else index


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    Args:
        data: ndarray (float dtypes are kept), number or nested list (become float32).
        requires_grad: track operations on this tensor so ``backward`` can fill ``grad``.
        dtype: optional dtype to convert ``data`` to.
        name: optional label, shown in rendered graphs (layers name their weights).
    """

    __slots__ = ("data", "grad", "requires_grad", "name", "_ctx", "_id", "_hooks",
                 "_retains_grad", "__weakref__")
    __array_ufunc__ = None  # make `ndarray + Tensor` call Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        self.data = _to_array(data, None if dtype is None else np.dtype(dtype))
        requires_grad = check_bool(requires_grad, "requires_grad")
        if requires_grad and self.data.dtype.kind != "f":
            raise ValueError(
                f"requires_grad=True needs floating-point data; got dtype {self.data.dtype}. "
                f"Convert first, e.g. Tensor(x.astype(np.float32), requires_grad=True)"
            )
        self.requires_grad = bool(requires_grad)
        self.grad: np.ndarray | None = None
        self.name = name
        self._ctx: function.Function | None = None  # the op that produced this tensor
        self._id = next(_creation_counter)  # parents are always older: a topological key
        self._hooks: tuple = ()  # register_hook functions
        self._retains_grad = False

    @classmethod
    def _from_op(cls, array: np.ndarray) -> Tensor:
        """Fast constructor for op outputs (already validated arrays)."""
        if type(array) is not np.ndarray:  # numpy returns scalars for 0-d results
            array = np.asarray(array)
        t = cls.__new__(cls)
        t.data, t.grad, t.requires_grad, t.name, t._ctx = array, None, False, None, None
        t._id = next(_creation_counter)
        t._hooks, t._retains_grad = (), False
        return t

    # ----------------------------------------------------------------- array facts
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def numpy(self) -> np.ndarray:
        return self.data

    def item(self) -> float:
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element; shape is {self.shape}")
        return self.data.item()

    def detach(self) -> Tensor:
        """The same data, cut from the graph."""
        return Tensor._from_op(self.data)

    def zero_grad(self) -> None:
        self.grad = None

    def __len__(self) -> int:
        return len(self.data)

    def __bool__(self) -> bool:
        """Truth of a one-element tensor (``if loss < 0.1:``); more elements raise ValueError."""
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __array__(self, dtype=None, copy=None):
        """``np.asarray(tensor)`` gives the data (numpy ops on it record nothing)."""
        return self.data if dtype is None else self.data.astype(dtype)

    def __iter__(self):
        """Rows along the first axis (``self[0]``, ``self[1]``, …), like iterating an ndarray."""
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        grad = ", requires_grad=True" if self.requires_grad else ""
        op = f", op={self._ctx.name}" if self._ctx is not None else ""
        body = np.array2string(self.data, precision=4, threshold=20, prefix="Tensor(")
        return f"Tensor({body}, dtype={self.dtype}{grad}{op})"

    # -------------------------------------------------------------------- autograd
    def backward(self, grad=None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf requiring grad.

        The walk (``autograd.backprop``) is iterative and ordered by creation, so it is
        deterministic and has no recursion limit. Unless ``retain_graph=True`` the graph is
        released afterwards; with it, intermediate tensors keep their ``grad`` too, for
        inspection (``viz.draw_graph(..., show_grads=True)``).
        """
        autograd.backward(self, grad, retain_graph)

    def retain_grad(self) -> Tensor:
        """Keep this (non-leaf) tensor's ``.grad`` after backward, as leaves do."""
        autograd.retain_grad(self)
        return self

    def register_hook(self, fn) -> None:
        """Call ``fn(grad)`` with the gradient flowing into this tensor during backward.

        ``fn`` gets the summed gradient as an ndarray; returning None keeps it, returning
        an array of the same shape replaces it (for this tensor and everything before it).
        """
        autograd.register_hook(self, fn)

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Set ``requires_grad`` on a leaf tensor, in place; returns the tensor."""
        flag = check_bool(flag, "flag")
        if not self.is_leaf:
            raise ValueError("requires_grad_() works on leaf tensors only; this one was "
                             "computed by an op (use detach() to start a new leaf)")
        if flag and self.dtype.kind != "f":
            raise ValueError(f"requires_grad needs floating-point data; got dtype {self.dtype}. "
                             f"Convert first with t = t.astype(np.float32)")
        self.requires_grad = flag
        return self

    # ------------------------------------------------------------------- operators
    def _operand(self, other) -> Tensor:
        """Non-Tensor operands take this tensor's dtype: a Python scalar never upcasts."""
        if isinstance(other, Tensor):
            return other
        keeps_dtype = self.dtype.kind == "f" or (
            isinstance(other, numbers.Integral) and not isinstance(other, bool))
        try:
            return Tensor(_to_array(other, self.dtype if keeps_dtype else None))
        except TypeError:
            raise _operand_error(other) from None

    def __add__(self, other):
        return _binary(AddOp(), self, self._operand(other))

    def __radd__(self, other):
        return _binary(AddOp(), self._operand(other), self)

    def __sub__(self, other):
        return _binary(SubOp(), self, self._operand(other))

    def __rsub__(self, other):
        return _binary(SubOp(), self._operand(other), self)

    def __mul__(self, other):
        return _binary(MulOp(), self, self._operand(other))

    def __rmul__(self, other):
        return _binary(MulOp(), self._operand(other), self)

    def __truediv__(self, other):
        return _binary(DivOp(), self, self._operand(other))

    def __rtruediv__(self, other):
        return _binary(DivOp(), self._operand(other), self)

    def __pow__(self, other):
        return _binary(PowOp(), self, self._operand(other))

    def __rpow__(self, other):
        return _binary(PowOp(), self._operand(other), self)

    def __matmul__(self, other):
        return MatMulOp().apply(self, self._operand(other))

    def __rmatmul__(self, other):
        return MatMulOp().apply(self._operand(other), self)

    def maximum(self, other):
        return _binary(MaximumOp(), self, self._operand(other))

    def minimum(self, other):
        return _binary(MinimumOp(), self, self._operand(other))

    def __neg__(self):
        return NegOp().apply(self)

    def __pos__(self):
        return self

    # Comparisons are elementwise (numpy's and PyTorch's rule) and return bool Tensors that
    # never require grad. Tensors still hash by identity, so they work as dict keys.
    def _compare(self, other, ufunc) -> Tensor:
        if isinstance(other, Tensor):
            other = other.data
        elif not isinstance(other, (np.ndarray, numbers.Number)):
            try:
                other = _to_array(other)
            except TypeError:  # a string, None, …
                raise _operand_error(other) from None
        try:
            return Tensor._from_op(ufunc(self.data, other))
        except ValueError:
            _check_broadcast(ufunc.__name__, self.shape, np.shape(other))
            raise

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    eq = __eq__
    __hash__ = object.__hash__

    # --------------------------------------------------------------------- methods
    def exp(self):
        return ExpOp().apply(self)

    def log(self):
        return LogOp().apply(self)

    def sqrt(self):
        return SqrtOp().apply(self)

    def abs(self):
        return AbsOp().apply(self)

    def relu(self):
        return ReLUOp().apply(self)

    def sigmoid(self):
        return SigmoidOp().apply(self)

    def tanh(self):
        return TanhOp().apply(self)

    def sum(self, axis=None, keepdims: bool = False):
        return SumOp(axis, keepdims, self.ndim).apply(self)

    def mean(self, axis=None, keepdims: bool = False):
        return MeanOp(axis, keepdims, self.ndim).apply(self)

    def max(self, axis=None, keepdims: bool = False):
        return MaxOp(axis, keepdims, self.ndim).apply(self)

    def min(self, axis=None, keepdims: bool = False):
        return MinOp(axis, keepdims, self.ndim).apply(self)

    def var(self, axis=None, keepdims: bool = False):
        """The biased (ddof=0) variance, as numpy's default and Keras' batch statistics."""
        centred = self - self.mean(axis, keepdims=True)
        return (centred * centred).mean(axis, keepdims)

    def argmax(self, axis=None) -> Tensor:
        """Indices of the maxima (int64); not differentiable."""
        return Tensor._from_op(np.argmax(self.data, axis=_one_axis(axis, self.ndim)))

    def argmin(self, axis=None) -> Tensor:
        """Indices of the minima (int64); not differentiable."""
        return Tensor._from_op(np.argmin(self.data, axis=_one_axis(axis, self.ndim)))

    def broadcast_to(self, shape):
        return ExpandOp(shape, self.shape).apply(self)

    def reshape(self, *shape):
        return ReshapeOp(shape, self.shape).apply(self)

    def squeeze(self, axis=None):
        """Drop size-1 axes (all of them, or those in ``axis``, which must have size 1)."""
        axes = normalize_axis(axis, self.ndim)
        if axis is not None and any(self.shape[a] != 1 for a in axes):
            raise ValueError(f"squeeze(axis={axis!r}): only axes of size 1 can be removed; "
                             f"the shape is {self.shape}")
        keep = [n for i, n in enumerate(self.shape) if not (i in axes and n == 1)]
        return self.reshape(tuple(keep))

    def expand_dims(self, axis):
        """Insert a size-1 axis at ``axis`` (an int or a tuple, as numpy.expand_dims)."""
        axes = normalize_axis(axis, self.ndim + (len(axis) if isinstance(axis, tuple) else 1))
        shape = iter(self.shape)
        return self.reshape(tuple(1 if i in axes else next(shape)
                                  for i in range(self.ndim + len(axes))))

    @property
    def T(self) -> Tensor:  # noqa: N802 (numpy's name)
        return self.transpose()

    def transpose(self, *axes):
        return TransposeOp(axes, self.ndim).apply(self)

    def flatten(self, start_axis: int = 1):
        return ReshapeOp(flattened_shape(self.shape, start_axis), self.shape).apply(self)

    def pad(self, pad_width):
        return PadOp(pad_width, self.ndim).apply(self)

    def __getitem__(self, index):
        return GetItemOp(_index_arrays(index), self.shape).apply(self)

    def clip(self, min, max):  # noqa: A002 (numpy's and Keras' argument names)
        """Values limited to [min, max] (None: no bound); the gradient passes where inside."""
        return ClipOp(min, max).apply(self)

    def astype(self, dtype):
        """A copy in another dtype; between float dtypes the gradient flows through."""
        op = AsTypeOp(dtype)
        if op.dtype.kind != "f" or self.dtype.kind != "f":  # ints and bools carry no gradient
            return Tensor._from_op(self.data.astype(op.dtype))
        return op.apply(self)

    def softmax(self, axis=-1):
        return SoftmaxOp(axis, self.ndim).apply(self)

    def log_softmax(self, axis=-1):
        return LogSoftmaxOp(axis, self.ndim).apply(self)
