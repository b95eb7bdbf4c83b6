"""Elementwise ops. Binary ops broadcast like numpy and sum gradients back with unbroadcast."""

import numpy as np

from .. import workspace
from ..checks import check_number
from ..function import Function


def unbroadcast(grad, shape: tuple):
    """Sum ``grad`` over the axes numpy broadcasting added or stretched to reach its shape.

    Works on ndarrays and Tensors alike (``sum`` and ``shape`` only).
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))  # leading axes broadcasting added
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)  # size-1 axes it stretched
    return grad  # a fresh array (not a view), so the engine need not copy it


# ``Function.derivative`` runs on ndarrays (first order) and on Tensors (create_graph=True).
# numpy spells these few as functions and Tensor as methods or ops: one name for both.
# A Tensor is told apart by its graph node, as ``Function.apply`` does.

def recorded(x) -> bool:
    """True for a Tensor (its operations are recorded), False for an ndarray or number."""
    return hasattr(x, "_ctx")


def exp(x):
    return x.exp() if recorded(x) else np.exp(x)


def log(x):
    return x.log() if recorded(x) else np.log(x)


def broadcast_to(x, shape: tuple):
    return x.broadcast_to(shape) if recorded(x) else np.broadcast_to(x, shape)


def where(cond: np.ndarray, x, y):
    """``np.where`` with a constant bool mask; ``x`` or ``y`` may be a number."""
    tensor = x if recorded(x) else y
    if not recorded(tensor):
        return np.where(cond, x, y)
    x, y = (v if recorded(v) else type(tensor)._from_op(np.asarray(v, tensor.dtype))
            for v in (x, y))
    return WhereOp(cond).apply(x, y)


class AddOp(Function):
    name = "add"
    rule = "add: ∂y/∂a = 1, ∂y/∂b = 1 (each summed back over the axes broadcasting stretched)"

    def forward(self, a, b):
        return a + b

    def derivative(self, grad, inputs, output):
        a, b = inputs
        return unbroadcast(grad, a.shape), unbroadcast(grad, b.shape)


class SubOp(Function):
    name = "sub"
    rule = "sub: ∂y/∂a = 1, ∂y/∂b = −1 (each summed back over the axes broadcasting stretched)"

    def forward(self, a, b):
        return a - b

    def derivative(self, grad, inputs, output):
        a, b = inputs
        return (unbroadcast(grad, a.shape),
                unbroadcast(-grad, b.shape) if self.needs_input_grad[1] else None)


class MulOp(Function):
    name = "mul"
    rule = "mul: ∂y/∂a = b, ∂y/∂b = a (each summed back over the axes broadcasting stretched)"

    def forward(self, a, b):
        return a * b

    def derivative(self, grad, inputs, output):
        a, b = inputs
        da = unbroadcast(grad * b, a.shape) if self.needs_input_grad[0] else None
        db = unbroadcast(grad * a, b.shape) if self.needs_input_grad[1] else None
        return da, db


class DivOp(Function):
    name = "div"
    rule = "div: ∂y/∂a = 1/b, ∂y/∂b = −a/b² (each summed back over the axes broadcasting stretched)"

    def forward(self, a, b):
        return a / b

    def derivative(self, grad, inputs, output):
        a, b = inputs
        da = unbroadcast(grad / b, a.shape) if self.needs_input_grad[0] else None
        db = unbroadcast(-grad * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return da, db


class PowOp(Function):
    name = "pow"
    rule = "pow: ∂y/∂a = b·aᵇ⁻¹, ∂y/∂b = aᵇ·ln a (taken as 0 where a ≤ 0)"

    def forward(self, a, b):
        out = a**b
        self.save_for_backward(out)
        return out

    def derivative(self, grad, inputs, output):
        a, b = inputs
        da = db = None
        with np.errstate(divide="ignore", invalid="ignore"):  # 0 to a negative power: inf
            if self.needs_input_grad[0]:
                # the exponent nudged to 0 where b = 0: d/da a⁰ = 0 even at a = 0, and the
                # next derivative meets no 0·0⁻¹
                nudge = (np.asarray(b) == 0).astype(b.dtype)
                da = unbroadcast(grad * (b * a ** (b - 1 + nudge)), a.shape)
            if self.needs_input_grad[1]:
                positive = np.asarray(a) > 0
                log_a = where(positive, log(where(positive, a, 1)), 0)  # 0 where a <= 0
                db = unbroadcast(grad * output * log_a, b.shape)
        return da, db


class NegOp(Function):
    name = "neg"
    rule = "neg: ∂y/∂x = −1"

    def forward(self, x):
        return -x

    def derivative(self, grad, inputs, output):
        return (-grad,)


class ExpOp(Function):
    name = "exp"
    rule = "exp: ∂y/∂x = eˣ = y"

    def forward(self, x):
        out = np.exp(x)
        self.save_for_backward(out)
        return out

    def derivative(self, grad, inputs, output):
        return (grad * output,)


class LogOp(Function):
    name = "log"
    rule = "log: ∂y/∂x = 1/x"

    def forward(self, x):
        return np.log(x)

    def derivative(self, grad, inputs, output):
        (x,) = inputs
        return (grad / x,)


class SqrtOp(Function):
    name = "sqrt"
    rule = "sqrt: ∂y/∂x = 1/(2√x) = 1/(2y)"

    def forward(self, x):
        out = np.sqrt(x)
        self.save_for_backward(out)
        return out

    def derivative(self, grad, inputs, output):
        return (grad / (2 * output),)


class AbsOp(Function):
    name = "abs"
    rule = "abs: ∂y/∂x = sign(x), 0 at x = 0"

    def forward(self, x):
        return np.abs(x)

    def derivative(self, grad, inputs, output):
        (x,) = inputs
        return (grad * np.sign(np.asarray(x)),)  # sign(x) is piecewise constant


class ReLUOp(Function):
    """max(x, 0). NaN propagates (np.maximum's rule) and passes its gradient, as PyTorch's
    relu does: the mask is ``y != 0``, which is ``x > 0`` for numbers and true at NaN."""

    name = "relu"
    rule = "relu: ∂y/∂x = 1 where x > 0 (or x is NaN), else 0"

    def forward(self, x):
        out = np.maximum(x, 0, out=workspace.empty_like(x))
        self.save_for_backward(out)
        return out

    # a pair: the array backward multiplies into a reused workspace buffer (out=), which
    # measured 12-20 % faster than the shared rule's fresh array on a (128, 26, 26, 32) one
    def backward(self, grad):
        (out,) = self.saved
        return (np.multiply(grad, out != 0, out=workspace.empty_like(out)),)

    def backward_graph(self, grad, inputs, output):
        return (grad * np.asarray(output.data != 0),)  # the mask is piecewise constant


class SigmoidOp(Function):
    name = "sigmoid"
    rule = "sigmoid: ∂y/∂x = σ(x)·(1 − σ(x)) = y·(1 − y)"

    def forward(self, x):
        # exp of a non-positive number only: no overflow for large |x|
        e = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        self.save_for_backward(out)
        return out

    def derivative(self, grad, inputs, output):
        return (grad * output * (1 - output),)


class TanhOp(Function):
    name = "tanh"
    rule = "tanh: ∂y/∂x = 1 − tanh²(x) = 1 − y²"

    def forward(self, x):
        out = np.tanh(x)
        self.save_for_backward(out)
        return out

    def derivative(self, grad, inputs, output):
        return (grad * (1 - output * output),)


class DropoutOp(Function):
    """Inverted dropout: kept units are scaled by 1/(1 − rate) so eval needs no rescale."""

    name = "dropout"
    rule = "dropout: ∂y/∂x = the mask: 1/(1 − rate) where x was kept, 0 where it was dropped"

    def __init__(self, rate: float, generator: np.random.Generator):
        self.rate = rate
        self.generator = generator

    def describe(self):
        return f"dropout {self.rate:g}"

    def forward(self, x):
        draws = self.generator.random(x.shape, dtype=np.float32,
                                      out=workspace.empty(x.shape, np.float32))
        keep = np.greater_equal(draws, self.rate, out=workspace.empty(x.shape, np.bool_))
        del draws  # its memory goes back to the workspace before the next array is taken
        mask = np.multiply(keep, x.dtype.type(1 / (1 - self.rate)),
                           out=workspace.empty_like(x), dtype=x.dtype)
        self.save_for_backward(mask)
        return np.multiply(x, mask, out=workspace.empty_like(x))

    # a pair: the array backward multiplies into a reused workspace buffer (out=), as
    # ReLU's does; the mask is a saved constant, not an input
    def backward(self, grad):
        (mask,) = self.saved
        return (np.multiply(grad, mask, out=workspace.empty_like(mask)),)

    def backward_graph(self, grad, inputs, output):
        (mask,) = self.saved
        return (grad * mask,)  # linear in grad; the mask is a constant


class AsTypeOp(Function):
    """Cast to another float dtype."""

    name = "astype"
    rule = "astype: ∂y/∂x = 1; ∂L/∂x is ∂L/∂y cast back to x's dtype"

    def __init__(self, dtype):
        try:
            self.dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"astype: dtype must be a numpy dtype such as np.float32 or "
                            f"'float64'; got {dtype!r:.60}") from None
        if self.dtype.kind not in "fiub":
            raise TypeError(f"astype: dtype must be a float, integer or bool dtype; got "
                            f"{self.dtype}")

    def describe(self):
        return f"astype {self.dtype}"

    def forward(self, x):
        return x.astype(self.dtype)

    def derivative(self, grad, inputs, output):
        (x,) = inputs
        return (grad.astype(x.dtype),)


class MaximumOp(Function):
    """Elementwise maximum; ties split the gradient in halves (as torch.maximum).

    NaN propagates, and where a or b is NaN both get the whole gradient: PyTorch's rule,
    which zeroes only the side that compares smaller, and a NaN compares to nothing.
    """

    name = "maximum"
    rule = ("maximum: ∂y/∂a = 1 where a > b, 0 where a < b, ½ at ties; ∂y/∂b likewise "
            "(both 1 where a or b is NaN)")
    pick = staticmethod(np.maximum)

    def forward(self, a, b):
        return self.pick(a, b)

    def derivative(self, grad, inputs, output):
        a, b = inputs
        share_a, share_b = self._shares(np.asarray(a), np.asarray(b))  # piecewise constant
        return unbroadcast(grad * share_a, a.shape), unbroadcast(grad * share_b, b.shape)

    def _shares(self, a, b):
        """Each side's share of the gradient: 0 where it loses, ½ at a tie, else 1."""
        a_loses, b_loses = (a < b, a > b) if self.pick is np.maximum else (a > b, a < b)
        tie, dtype = a == b, np.result_type(a, b)
        return (np.where(tie, 0.5, ~a_loses).astype(dtype),
                np.where(tie, 0.5, ~b_loses).astype(dtype))


class MinimumOp(MaximumOp):
    """Elementwise minimum; ties split the gradient in halves (as torch.minimum); NaN as in
    ``MaximumOp``."""

    name = "minimum"
    rule = ("minimum: ∂y/∂a = 1 where a < b, 0 where a > b, ½ at ties; ∂y/∂b likewise "
            "(both 1 where a or b is NaN)")
    pick = staticmethod(np.minimum)


class WhereOp(Function):
    """``where(cond, a, b)`` with a constant bool mask ``cond``."""

    name = "where"
    rule = "where: ∂y/∂a = 1 where cond, else 0; ∂y/∂b = 0 where cond, else 1"

    def __init__(self, cond: np.ndarray):
        if cond.dtype != np.bool_:
            raise TypeError(f"where: cond must be a bool array or Tensor (e.g. x > 0); got "
                            f"dtype {cond.dtype}")
        self.cond = cond

    def forward(self, a, b):
        return np.where(self.cond, a, b)

    def derivative(self, grad, inputs, output):
        a, b = inputs
        # where, not grad·cond: an inf or nan gradient in the branch not taken stays out
        return (unbroadcast(where(self.cond, grad, 0), a.shape),
                unbroadcast(where(self.cond, 0, grad), b.shape))


class ClipOp(Function):
    """clip(x, lo, hi) (Keras' clip, torch.clamp). ``lo`` or ``hi`` may be None (no bound
    on that side), not both."""

    name = "clip"
    rule = "clip: ∂y/∂x = 1 where min ≤ x ≤ max, else 0"

    def __init__(self, lo, hi):
        if lo is None and hi is None:
            raise ValueError("clip: give min, max or both; got min=None and max=None")
        self.lo = None if lo is None else check_number(lo, "clip min")
        self.hi = None if hi is None else check_number(hi, "clip max")
        if lo is not None and hi is not None and self.lo > self.hi:
            raise ValueError(f"clip: min must be <= max; got min={lo!r} and max={hi!r}")

    def describe(self):
        lo = "-inf" if self.lo is None else f"{self.lo:g}"
        hi = "inf" if self.hi is None else f"{self.hi:g}"
        return f"clip [{lo}, {hi}]"

    def forward(self, x):
        return np.clip(x, self.lo, self.hi)  # Python bounds keep x's dtype (NEP 50)

    def derivative(self, grad, inputs, output):
        x = np.asarray(inputs[0])  # the inside mask is piecewise constant
        inside = np.ones(x.shape, dtype=bool)
        if self.lo is not None:
            inside &= x >= self.lo
        if self.hi is not None:
            inside &= x <= self.hi
        return (grad * inside,)
