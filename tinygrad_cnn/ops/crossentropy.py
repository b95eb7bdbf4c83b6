"""Cross-entropies from logits, each one op, so their gradients are exact at every logit.

Written as a chain of ops, ``relu(x) − x·y + log(1 + e^−|x|)`` has kinks at x = 0 in relu
and |x| that cancel in the sum; differentiated op by op, each kink's derivative is taken
as 0 there and the gradient comes out −y instead of σ(0) − y. These ops differentiate the
whole loss instead: σ(x) − y and softmax(x) − y, with no e^(large) anywhere and the
softmax as e^(x−max)/Σ rather than exp of the log-softmax, whose rounding error grows with
|log p|.
"""

import numpy as np

from ..checks import check_float_array
from ..function import Function


def sigmoid(x: np.ndarray) -> np.ndarray:
    """σ(x) to within a rounding for every x: e^−|x| never overflows, and 1/(1 + e) or
    e/(1 + e) each round once."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def _check_pair(op: str, logits: np.ndarray, targets: np.ndarray) -> None:
    check_float_array(logits, "logits", op)
    check_float_array(targets, "targets", op)
    if targets.shape != logits.shape:
        raise ValueError(f"{op}: targets must have the logits' shape {logits.shape}; got "
                         f"{targets.shape}")
    if targets.dtype != logits.dtype:
        raise ValueError(f"{op}: targets must have the logits' dtype {logits.dtype}; got "
                         f"{targets.dtype}. Convert them, e.g. "
                         f"targets.astype(np.{logits.dtype})")


class SigmoidCrossEntropyOp(Function):
    """Elementwise −(y·log σ(x) + (1 − y)·log(1 − σ(x))) of logits x and targets y.

    The value is max(x, 0) − x·y + log(1 + e^−|x|), finite for every x; the gradients
    are σ(x) − y for the logits and −x for the targets.
    """

    name = "sigmoid_cross_entropy"
    rule = "sigmoid_cross_entropy: ∂L/∂x = σ(x) − y, ∂L/∂y = −x"

    def check(self, logits, targets):
        _check_pair(self.name, logits, targets)

    def forward(self, x, y):
        self.save_for_backward(x, y)
        out = np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))
        return out.astype(x.dtype, copy=False)

    # a pair: the array backward needs σ(x) to within a rounding at every x, which the
    # Tensor sigmoid gives too but only through a graph of ops
    def backward(self, grad):
        x, y = self.saved
        needs_x, needs_y = self.needs_input_grad
        return ((sigmoid(x) - y) * grad if needs_x else None,
                -x * grad if needs_y else None)

    def backward_graph(self, grad, inputs, output):
        x, y = inputs
        return ((x.sigmoid() - y) * grad, -x * grad)


class SoftmaxCrossEntropyOp(Function):
    """−Σ y·log softmax(x) over the last axis: one value per row of logits x, targets y.

    The targets are probability rows (one-hot for class ids). The gradients are
    softmax(x)·Σy − y for the logits (softmax(x) − y for rows that sum to 1, exactly, as
    one-hot rows do) and −log softmax(x) for the targets.
    """

    name = "softmax_cross_entropy"
    rule = "softmax_cross_entropy: ∂L/∂x = softmax(x)·Σy − y, ∂L/∂y = −log softmax(x)"

    def check(self, logits, targets):
        _check_pair(self.name, logits, targets)
        if logits.ndim == 0 or logits.shape[-1] == 0:
            raise ValueError(f"{self.name}: logits need a class axis (the last) of at least "
                             f"one class; got shape {logits.shape}")

    def forward(self, x, y):
        # the largest exponent is 0: no overflow. Logits of ±3e38 overflow the shift itself
        # to -inf, whose exp, 0, is then exact.
        with np.errstate(over="ignore", invalid="ignore"):
            shifted = x - x.max(axis=-1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=-1, keepdims=True)
        log_p = shifted - np.log(total)
        if self.records:
            self.save_for_backward(e / total, log_p, y)
        # a target of 0 takes nothing from its class, even where log p is -inf
        return -np.where(y == 0, 0, y * log_p).sum(axis=-1).astype(x.dtype, copy=False)

    # a pair: the array backward reuses the softmax forward made (e^(x−max)/Σ, within a
    # rounding); the Tensor softmax is exp of the log-softmax, good for second order
    def backward(self, grad):
        p, log_p, y = self.saved
        needs_x, needs_y = self.needs_input_grad
        grad = grad[..., None]
        return ((p * y.sum(axis=-1, keepdims=True) - y) * grad if needs_x else None,
                -log_p * grad if needs_y else None)

    def backward_graph(self, grad, inputs, output):
        x, y = inputs
        grad = grad.reshape(*grad.shape, 1)
        return ((x.softmax(-1) * y.sum(axis=-1, keepdims=True) - y) * grad,
                -x.log_softmax(-1) * grad)
