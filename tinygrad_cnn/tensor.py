"""Tensor: an ndarray plus the graph node that produced it, and reverse-mode autograd."""

from __future__ import annotations

import itertools
import numbers
import operator

import numpy as np

from . import function
from .checks import check_bool
from .ops.elementwise import (
    AbsOp,
    AddOp,
    AsTypeOp,
    ClipOp,
    DivOp,
    ExpOp,
    LogOp,
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
from .ops.movement import GetItemOp, PadOp, ReshapeOp, TransposeOp, flattened_shape
from .ops.reduce import MaxOp, MeanOp, SumOp

_creation_counter = itertools.count()
_creation_order = operator.attrgetter("_id")


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

    __slots__ = ("data", "grad", "requires_grad", "name", "_ctx", "_id", "__weakref__")
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

    @classmethod
    def _from_op(cls, array: np.ndarray) -> Tensor:
        """Fast constructor for op outputs (already validated arrays)."""
        if type(array) is not np.ndarray:  # numpy returns scalars for 0-d results
            array = np.asarray(array)
        t = cls.__new__(cls)
        t.data, t.grad, t.requires_grad, t.name, t._ctx = array, None, False, None, None
        t._id = next(_creation_counter)
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

        The walk is iterative and ordered by creation (children before parents), so it
        is deterministic and has no recursion limit. Unless ``retain_graph=True`` the
        graph is released afterwards; with it, intermediate tensors keep their ``grad``
        too, for inspection (``viz.draw_graph(..., show_grads=True)``).
        """
        retain_graph = check_bool(retain_graph, "retain_graph")
        if not self.requires_grad:
            raise ValueError(
                "backward() called on a tensor that does not require grad: no input of the "
                "computation had requires_grad=True (or it ran under no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs a scalar root; this tensor has shape "
                    f"{self.shape}. Pass backward(grad) with an array of shape {self.shape}"
                )
            grad = np.ones_like(self.data)
        else:
            grad = grad.data if isinstance(grad, Tensor) else grad
            grad = np.asarray(grad)
            if grad.shape != self.shape:
                raise ValueError(
                    f"backward(grad): grad has shape {grad.shape} but the tensor has shape "
                    f"{self.shape}; they must be equal"
                )
            grad = np.array(grad, dtype=self.dtype)  # a copy: .grad never aliases the caller's

        order = self._graph_nodes()
        pending = {self: grad}  # tensor -> gradient summed so far (tensors hash by identity)
        stored: set[int] = set()  # ids of arrays that became some tensor's .grad in this call
        for node in order:
            g = pending.pop(node, None)
            if g is None:
                continue
            ctx = node._ctx
            if ctx is None or retain_graph:
                node._accumulate_grad(g, stored)
            if ctx is None:
                continue
            if ctx.saved is None:
                raise RuntimeError(
                    f"the graph through '{ctx.name}' was already released by an earlier "
                    f"backward(); call backward(retain_graph=True) to backprop twice"
                )
            parent_grads = ctx.backward(g)
            for parent, pg in zip(ctx.parents, parent_grads, strict=True):
                if pg is None or not parent.requires_grad:
                    continue
                pending[parent] = pg if parent not in pending else pending[parent] + pg
            if not retain_graph:
                ctx.release()

    def _accumulate_grad(self, g: np.ndarray, stored: set) -> None:
        if type(g) is not np.ndarray or g.dtype != self.dtype:
            g = np.asarray(g, dtype=self.dtype)  # numpy scalars from 0-d ops, other dtypes
        elif not g.flags.owndata or id(g) in stored:
            # Never alias an array another node may also hold: a view of an upstream
            # gradient, or the very array `Add.backward` handed to both of its inputs.
            g = g.copy()
        if self.grad is None:
            self.grad = g
            stored.add(id(g))
        else:
            self.grad = self.grad + g

    def _graph_nodes(self) -> list[Tensor]:
        """Every tensor requiring grad that leads to self, children before parents."""
        seen = {self}
        stack, nodes = [self], []
        while stack:
            node = stack.pop()
            nodes.append(node)
            ctx = node._ctx
            if ctx is not None:
                for parent in ctx.parents:
                    if parent.requires_grad and parent not in seen:
                        seen.add(parent)
                        stack.append(parent)
        nodes.sort(key=_creation_order, reverse=True)
        return nodes

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

    def __neg__(self):
        return NegOp().apply(self)

    def __pos__(self):
        return self

    # Comparisons are elementwise and never differentiable; `==` stays identity so
    # tensors remain hashable (use eq()).
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

    def eq(self, other) -> Tensor:
        return self._compare(other, np.equal)

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

    def reshape(self, *shape):
        return ReshapeOp(shape, self.shape).apply(self)

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
