"""Tensor: an ndarray plus the graph node that produced it, and reverse-mode autograd."""

from __future__ import annotations

import itertools
import math
import numbers

import numpy as np

from . import autograd, function
from .checks import check_bool, check_int
from .checks import is_int as _is_int
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
from .ops.reduce import MaxOp, MeanOp, MinOp, SumOp, check_nonempty_axes, normalize_axis
from .torch_names import accepts_dim

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


def _one_axis(axis, shape: tuple, name: str):
    """None, or one axis as a non-negative int (argmax/argmin take no tuples, like numpy),
    along which ``shape`` is not empty."""
    if isinstance(axis, (tuple, list)):
        raise TypeError(f"axis must be None or one int for argmax/argmin; got {axis!r}")
    axes = normalize_axis(axis, len(shape))
    check_nonempty_axes(shape, axes, name)
    return None if axis is None else axes[0]


def _swapped(axis0, axis1, ndim: int) -> tuple:
    """The permutation of ``range(ndim)`` that swaps two axes (equal axes: the identity)."""
    try:
        (a,), (b,) = normalize_axis(axis0, ndim, "axis0"), normalize_axis(axis1, ndim, "axis1")
    except (TypeError, ValueError) as exc:
        raise type(exc)(f"transpose/swapaxes({axis0!r}, {axis1!r}): {exc}") from None
    axes = list(range(ndim))
    axes[a], axes[b] = b, a
    return tuple(axes)


def _grad_mode_on() -> bool:
    """Whether ops record now (off under ``tc.no_grad()``); tensor.py reads it only here."""
    return autograd._grad_enabled


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
    def backward(self, grad=None, retain_graph: bool = False, create_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf requiring grad.

        The walk (``autograd.backprop``) is iterative and ordered by creation, so it is
        deterministic and has no recursion limit. Unless ``retain_graph=True`` the graph is
        released afterwards; with it, intermediate tensors keep their ``grad`` too, for
        inspection (``viz.draw_graph(..., show_grads=True)``). ``create_graph=True`` is
        refused: ``.grad`` holds ndarrays, so higher orders go through ``tc.grad``.
        """
        if check_bool(create_graph, "create_graph"):
            raise TypeError(
                "backward(create_graph=True): .grad holds plain ndarrays, which cannot be "
                "differentiated again; use tc.grad(y, [x], create_graph=True), which returns "
                "the gradients as Tensors recorded in the graph"
            )
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

    def var(self, axis=None, keepdims: bool = False, ddof: int = 0):
        """The variance: biased (ddof=0) by default, as numpy's and Keras' batch statistics.

        ``ddof=1`` divides by n − 1 instead of n (PyTorch's default, Bessel's correction).
        """
        ddof = check_int(ddof, "var: ddof", 0)
        centred = self - self.mean(axis, keepdims=True)
        squares = centred * centred
        if ddof == 0:
            return squares.mean(axis, keepdims)
        n = math.prod(self.shape[a] for a in normalize_axis(axis, self.ndim))
        if n <= ddof:
            raise ValueError(f"var(ddof={ddof}) over {n} element(s) per result would divide by "
                             f"n - ddof = {n - ddof}; it needs more than {ddof} elements")
        return squares.sum(axis, keepdims) / (n - ddof)

    def argmax(self, axis=None) -> Tensor:
        """Indices of the maxima (int64); not differentiable."""
        return Tensor._from_op(np.argmax(self.data, axis=_one_axis(axis, self.shape, "argmax")))

    def argmin(self, axis=None) -> Tensor:
        """Indices of the minima (int64); not differentiable."""
        return Tensor._from_op(np.argmin(self.data, axis=_one_axis(axis, self.shape, "argmin")))

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
        """Permute the axes: two ints swap those two (PyTorch's ``transpose(dim0, dim1)``, any
        rank); a full permutation, as ints or one tuple, is numpy's; no axes reverses them."""
        if len(axes) == 2 and _is_int(axes[0]) and _is_int(axes[1]):
            return self.swapaxes(*axes)
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

    # ====================================================== coming from PyTorch
    # PyTorch's names for what exists above, each a one-line call of it, so the API stays
    # one API with two spellings (the README's "Coming from PyTorch" table lists them all).
    sum = accepts_dim(sum)
    mean = accepts_dim(mean)
    max = accepts_dim(max)
    min = accepts_dim(min)
    var = accepts_dim(var)
    argmax = accepts_dim(argmax)
    argmin = accepts_dim(argmin)
    squeeze = accepts_dim(squeeze)
    expand_dims = accepts_dim(expand_dims)
    softmax = accepts_dim(softmax)
    log_softmax = accepts_dim(log_softmax)

    @accepts_dim
    def std(self, axis=None, keepdims: bool = False, ddof: int = 0):
        """The standard deviation, biased like ``var`` (``ddof=1``: PyTorch's default)."""
        return self.var(axis, keepdims, ddof).sqrt()

    def unsqueeze(self, dim):
        return self.expand_dims(dim)

    def view(self, *shape):
        return self.reshape(*shape)

    def permute(self, *dims):
        return TransposeOp(dims, self.ndim).apply(self)

    def swapaxes(self, axis0, axis1):
        return TransposeOp(_swapped(axis0, axis1, self.ndim), self.ndim).apply(self)

    def t(self):
        """A matrix's transpose (rank ≤ 2, as torch's ``t()``)."""
        if self.ndim > 2:
            raise ValueError(f"t() transposes tensors of rank <= 2; this one has shape "
                             f"{self.shape}. Use transpose(dim0, dim1) to swap two axes or "
                             f"permute(*dims) to reorder them all")
        return self.transpose()

    def float(self):
        return self.astype(np.float32)

    def double(self):
        return self.astype(np.float64)

    def pow(self, exponent):
        return self ** exponent

    def matmul(self, other):
        return self @ other

    def clamp(self, min=None, max=None):  # noqa: A002 (torch's argument names)
        return self.clip(min, max)

    def norm(self):
        """The 2-norm of all elements (torch's ``norm()`` with its defaults)."""
        return (self * self).sum().sqrt()

    def tolist(self):
        return self.data.tolist()

    # ======================================================== in-place updates
    # PyTorch's rules. They write into ``self.data``, so whatever shares that array sees the
    # change: the user's ndarray behind Tensor(array) (as torch.from_numpy), views made by
    # reshape, transpose or basic slicing, and arrays an earlier graph saved for its backward
    # (PyTorch counts versions and raises on a later backward; this library does not check).
    def _check_in_place(self, what: str, other) -> None:
        if not _grad_mode_on():
            return
        item = "[" in what
        if self.requires_grad and self._ctx is None:
            example = "w[0] = 0.0" if item else f"w {what} lr * w.grad"
            raise RuntimeError(
                f"a leaf tensor that requires grad is being used in an in-place operation "
                f"({what}); an update of a parameter must not be recorded, so wrap it in "
                f"`with tc.no_grad():` as in PyTorch, e.g. `with tc.no_grad(): {example}`")
        if self.requires_grad:
            name, why = "y", (f"a tensor computed by the recorded op '{self._ctx.name}': "
                              f"backward may need its old values")
        elif isinstance(other, Tensor) and other.requires_grad:
            name, why = "t", ("a tensor that does not require grad, with a value that does: "
                              "the value's gradient would be lost")
        else:
            return
        fix = (f"build a new tensor instead, e.g. {name} = tc.where(mask, value, {name})"
               if item else f"write {name} = {name} {what[0]} ... instead, a new tensor")
        raise RuntimeError(f"in-place {what} on {why}; {fix}")

    def _writable(self, what: str) -> None:
        if not self.data.flags.writeable:
            raise ValueError(f"in-place {what}: this tensor's array is read-only (a broadcast "
                             f"or a read-only ndarray); make a new tensor instead")

    def _in_place(self, ufunc, other, symbol: str):
        what = f"{symbol}="
        self._check_in_place(what, other)
        self._writable(what)
        value = self._operand(other).data
        try:
            fits = np.broadcast_shapes(self.shape, value.shape) == self.shape
        except ValueError:
            fits = False
        if not fits:
            raise ValueError(f"in-place {what}: a value of shape {value.shape} does not "
                             f"broadcast to the tensor's shape {self.shape}, which an in-place "
                             f"update keeps; write t = t {symbol} value for a new tensor")
        try:
            ufunc(self.data, value, out=self.data, casting="same_kind")
        except TypeError:  # numpy's casting error: the result would change self's dtype
            result = ufunc(np.empty(0, self.dtype), np.empty(0, value.dtype)).dtype
            raise TypeError(f"in-place {what}: the result ({result}) cannot be stored in this "
                            f"tensor's dtype {self.dtype}, which an in-place update keeps; "
                            f"write t = t {symbol} value for a new tensor") from None
        return self

    def __iadd__(self, other):
        return self._in_place(np.add, other, "+")

    def __isub__(self, other):
        return self._in_place(np.subtract, other, "-")

    def __imul__(self, other):
        return self._in_place(np.multiply, other, "*")

    def __itruediv__(self, other):
        return self._in_place(np.true_divide, other, "/")

    def __setitem__(self, index, value):
        what = "t[index] = value"
        self._check_in_place(what, value)
        self._writable(what)
        index = GetItemOp(_index_arrays(index), self.shape).index  # x[index]'s checks
        value = self._operand(value).data
        try:
            self.data[index] = value
        except ValueError:
            raise ValueError(f"t[index] = value: a value of shape {value.shape} does not "
                             f"broadcast to the {self.data[index].shape} elements the index "
                             f"selects") from None
