"""Elementwise ops. Binary ops broadcast like numpy and sum gradients back with unbroadcast."""

import numpy as np

from .. import workspace
from ..checks import check_number
from ..function import Function


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` over the axes numpy broadcasting added or stretched to reach its shape."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))  # leading axes broadcasting added
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)  # size-1 axes it stretched
    return grad  # a fresh array (not a view), so the engine need not copy it


class AddOp(Function):
    """d(a+b)/da = 1, d(a+b)/db = 1."""

    name = "add"

    def forward(self, a, b):
        self.save_for_backward(a.shape, b.shape)
        return a + b

    def backward(self, grad):
        a_shape, b_shape = self.saved
        return unbroadcast(grad, a_shape), unbroadcast(grad, b_shape)

    def backward_graph(self, grad, inputs, output):
        a, b = inputs
        return unbroadcast(grad, a.shape), unbroadcast(grad, b.shape)


class SubOp(Function):
    """d(a−b)/da = 1, d(a−b)/db = −1."""

    name = "sub"

    def forward(self, a, b):
        self.save_for_backward(a.shape, b.shape)
        return a - b

    def backward(self, grad):
        a_shape, b_shape = self.saved
        needs_b = self.needs_input_grad[1]
        return unbroadcast(grad, a_shape), (unbroadcast(-grad, b_shape) if needs_b else None)

    def backward_graph(self, grad, inputs, output):
        a, b = inputs
        return unbroadcast(grad, a.shape), unbroadcast(-grad, b.shape)


class MulOp(Function):
    """d(a·b)/da = b, d(a·b)/db = a."""

    name = "mul"

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, grad):
        a, b = self.saved
        da = unbroadcast(grad * b, a.shape) if self.needs_input_grad[0] else None
        db = unbroadcast(grad * a, b.shape) if self.needs_input_grad[1] else None
        return da, db

    def backward_graph(self, grad, inputs, output):
        a, b = inputs
        return unbroadcast(grad * b, a.shape), unbroadcast(grad * a, b.shape)


class DivOp(Function):
    """d(a/b)/da = 1/b, d(a/b)/db = −a/b²."""

    name = "div"

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a / b

    def backward(self, grad):
        a, b = self.saved
        da = unbroadcast(grad / b, a.shape) if self.needs_input_grad[0] else None
        db = unbroadcast(-grad * a / (b * b), b.shape) if self.needs_input_grad[1] else None
        return da, db

    def backward_graph(self, grad, inputs, output):
        a, b = inputs
        return unbroadcast(grad / b, a.shape), unbroadcast(-grad * a / (b * b), b.shape)


class PowOp(Function):
    """d(aᵇ)/da = b·aᵇ⁻¹, d(aᵇ)/db = aᵇ·ln a (taken as 0 where a <= 0)."""

    name = "pow"

    def forward(self, a, b):
        out = a**b
        self.save_for_backward(a, b, out)
        return out

    def backward(self, grad):
        a, b, out = self.saved
        da = db = None
        if self.needs_input_grad[0]:
            with np.errstate(divide="ignore", invalid="ignore"):
                local = np.where(b == 0, 0, b * a ** (b - 1))  # d/da a**0 = 0, even at a = 0
            da = unbroadcast(grad * local, a.shape)
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                log_a = np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)
            db = unbroadcast(grad * out * log_a, b.shape)  # d/db a**b, taken as 0 where a <= 0
        return da, db

    def backward_graph(self, grad, inputs, output):
        a, b = inputs
        zero_power = np.asarray(b.data == 0, b.dtype)  # constants: where the exponent is 0
        positive = np.asarray(a.data > 0, a.dtype)     # and where the base is positive
        # b·a^(b−1) with the exponent nudged where b = 0, so 0·0^(−1) never makes a nan
        local = b * a ** (b - 1 + zero_power) if zero_power.any() else b * a ** (b - 1)
        log_a = (a * positive + (1 - positive)).log() * positive  # ln a; 0 where a <= 0
        return (unbroadcast(grad * local, a.shape),
                unbroadcast(grad * output * log_a, b.shape))


class NegOp(Function):
    """d(−a)/da = −1."""

    name = "neg"

    def forward(self, a):
        return -a

    def backward(self, grad):
        return (-grad,)

    def backward_graph(self, grad, inputs, output):
        return (-grad,)


class ExpOp(Function):
    """d(eᵃ)/da = eᵃ (the saved output)."""

    name = "exp"

    def forward(self, a):
        out = np.exp(a)
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        return (grad * out,)

    def backward_graph(self, grad, inputs, output):
        return (grad * output,)


class LogOp(Function):
    """d(ln a)/da = 1/a."""

    name = "log"

    def forward(self, a):
        self.save_for_backward(a)
        return np.log(a)

    def backward(self, grad):
        (a,) = self.saved
        return (grad / a,)

    def backward_graph(self, grad, inputs, output):
        (a,) = inputs
        return (grad / a,)


class SqrtOp(Function):
    """d(√a)/da = 1/(2√a)."""

    name = "sqrt"

    def forward(self, a):
        out = np.sqrt(a)
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        return (grad / (2 * out),)

    def backward_graph(self, grad, inputs, output):
        return (grad / (2 * output),)


class AbsOp(Function):
    """d|a|/da = sign(a) (0 at 0)."""

    name = "abs"

    def forward(self, a):
        self.save_for_backward(a)
        return np.abs(a)

    def backward(self, grad):
        (a,) = self.saved
        return (grad * np.sign(a),)

    def backward_graph(self, grad, inputs, output):
        (a,) = inputs
        return (grad * np.sign(a.data),)  # sign(a) is piecewise constant


class ReLUOp(Function):
    """d max(a, 0)/da = 1 where a > 0, else 0."""

    name = "relu"

    def forward(self, a):
        out = np.maximum(a, 0, out=workspace.empty_like(a))
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        return (np.multiply(grad, out > 0, out=workspace.empty_like(out)),)

    def backward_graph(self, grad, inputs, output):
        return (grad * np.asarray(output.data > 0),)  # the mask is piecewise constant


class SigmoidOp(Function):
    """dσ(a)/da = σ(a)·(1 − σ(a))."""

    name = "sigmoid"

    def forward(self, a):
        # exp of a non-positive number only: no overflow for large |a|
        e = np.exp(-np.abs(a))
        out = np.where(a >= 0, 1 / (1 + e), e / (1 + e)).astype(a.dtype, copy=False)
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        return (grad * out * (1 - out),)

    def backward_graph(self, grad, inputs, output):
        return (grad * output * (1 - output),)


class TanhOp(Function):
    """d tanh(a)/da = 1 − tanh²(a)."""

    name = "tanh"

    def forward(self, a):
        out = np.tanh(a)
        self.save_for_backward(out)
        return out

    def backward(self, grad):
        (out,) = self.saved
        return (grad * (1 - out * out),)

    def backward_graph(self, grad, inputs, output):
        return (grad * (1 - output * output),)


class DropoutOp(Function):
    """Inverted dropout: kept units are scaled by 1/(1 − rate) so eval needs no rescale.

    d(a·mask)/da = mask (0 or 1/(1 − rate)).
    """

    name = "dropout"

    def __init__(self, rate: float, generator: np.random.Generator):
        self.rate = rate
        self.generator = generator

    def describe(self):
        return f"dropout {self.rate:g}"

    def forward(self, a):
        draws = self.generator.random(a.shape, dtype=np.float32,
                                      out=workspace.empty(a.shape, np.float32))
        keep = np.greater_equal(draws, self.rate, out=workspace.empty(a.shape, np.bool_))
        del draws  # its memory goes back to the workspace before the next array is taken
        mask = np.multiply(keep, a.dtype.type(1 / (1 - self.rate)),
                           out=workspace.empty_like(a), dtype=a.dtype)
        self.save_for_backward(mask)
        return np.multiply(a, mask, out=workspace.empty_like(a))

    def backward(self, grad):
        (mask,) = self.saved
        return (np.multiply(grad, mask, out=workspace.empty_like(mask)),)

    def backward_graph(self, grad, inputs, output):
        (mask,) = self.saved
        return (grad * mask,)  # linear in grad; the mask is a constant


class AsTypeOp(Function):
    """Cast to another float dtype; d cast(a)/da = 1, cast back to a's dtype."""

    name = "astype"

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

    def forward(self, a):
        self.save_for_backward(a.dtype)
        return a.astype(self.dtype)

    def backward(self, grad):
        (dtype,) = self.saved
        return (grad.astype(dtype),)

    def backward_graph(self, grad, inputs, output):
        (a,) = inputs
        return (grad.astype(a.dtype),)


class MaximumOp(Function):
    """d max(a, b)/da = 1 where a > b, 0 where a < b, ½ at ties (as torch.maximum)."""

    name = "maximum"
    pick = staticmethod(np.maximum)

    def forward(self, a, b):
        out = self.pick(a, b)
        self.save_for_backward(self._share_of_a(a, b), a.shape, b.shape)
        return out

    def _share_of_a(self, a, b):
        wins = a > b if self.pick is np.maximum else a < b
        return np.where(a == b, 0.5, wins).astype(np.result_type(a, b))

    def backward(self, grad):
        share, a_shape, b_shape = self.saved
        return unbroadcast(grad * share, a_shape), unbroadcast(grad * (1 - share), b_shape)

    def backward_graph(self, grad, inputs, output):
        return self.backward(grad)  # linear in grad; the shares are piecewise constant


class MinimumOp(MaximumOp):
    """d min(a, b)/da = 1 where a < b, 0 where a > b, ½ at ties (as torch.minimum)."""

    name = "minimum"
    pick = staticmethod(np.minimum)


class WhereOp(Function):
    """``where(cond, a, b)``: d/da = cond, d/db = not cond (cond is a constant mask)."""

    name = "where"

    def __init__(self, cond: np.ndarray):
        if cond.dtype != np.bool_:
            raise TypeError(f"where: cond must be a bool array or Tensor (e.g. x > 0); got "
                            f"dtype {cond.dtype}")
        self.cond = cond

    def forward(self, a, b):
        self.save_for_backward(a.shape, b.shape)
        return np.where(self.cond, a, b)

    def backward(self, grad):
        a_shape, b_shape = self.saved
        return (unbroadcast(np.where(self.cond, grad, 0), a_shape),
                unbroadcast(np.where(self.cond, 0, grad), b_shape))

    def backward_graph(self, grad, inputs, output):
        a_shape, b_shape = self.saved
        return (unbroadcast(grad * self.cond, a_shape), unbroadcast(grad * ~self.cond, b_shape))


class ClipOp(Function):
    """clip(a, lo, hi); d/da = 1 where lo <= a <= hi, else 0 (Keras' clip, torch.clamp).

    ``lo`` or ``hi`` may be None (no bound on that side), not both.
    """

    name = "clip"

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

    def forward(self, a):
        self.save_for_backward(a)
        return np.clip(a, self.lo, self.hi)  # Python bounds keep a's dtype (NEP 50)

    def backward(self, grad):
        (a,) = self.saved
        inside = np.ones(a.shape, dtype=bool)
        if self.lo is not None:
            inside &= a >= self.lo
        if self.hi is not None:
            inside &= a <= self.hi
        return (grad * inside,)

    def backward_graph(self, grad, inputs, output):
        return self.backward(grad)  # linear in grad; the inside mask is piecewise constant
