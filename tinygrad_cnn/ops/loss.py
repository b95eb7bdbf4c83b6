"""Softmax, log-softmax and cross-entropy, computed with the log-sum-exp shift (stable)."""

import weakref

import numpy as np

from ..checks import check_float_array
from ..function import Function
from .elementwise import exp
from .reduce import normalize_axis


def _log_softmax(a: np.ndarray, axis: int) -> np.ndarray:
    # largest exponent is 0: no overflow in exp. The shift itself can overflow to -inf
    # (float32 logits ±3e38): exp(-inf) = 0 is then exact, so numpy's warning is noise.
    with np.errstate(over="ignore"):
        shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _softmax(a: np.ndarray, axis) -> np.ndarray:
    """e^(a − max) / Σ, rather than exp of the log-softmax, whose rounding error grows
    with |log p| (54 ulps at log p = −100 in float64)."""
    with np.errstate(over="ignore"):
        e = np.exp(a - a.max(axis=axis, keepdims=True))
    e /= e.sum(axis=axis, keepdims=True)
    return e


class SoftmaxOp(Function):
    name = "softmax"
    rule = "softmax: ∂L/∂x = y·(∂L/∂y − Σ ∂L/∂y·y), the sum over the softmax axes"

    def __init__(self, axis, ndim: int):
        if ndim == 0:
            raise ValueError(f"{self.name} needs a tensor with at least one axis; got a 0-d "
                             f"tensor")
        self.axis = normalize_axis(axis, ndim)  # a tuple: softmax over several axes at once

    def describe(self):
        return self.name if len(self.axis) == 1 else f"{self.name} axis={self.axis}"

    def forward(self, a):
        out = np.exp(_log_softmax(a, self.axis))
        self.save_for_backward(out)
        _softmax_outputs[id(out)] = out
        return out

    def derivative(self, grad, inputs, output):
        return (output * (grad - (grad * output).sum(axis=self.axis, keepdims=True)),)


class LogSoftmaxOp(SoftmaxOp):
    name = "log_softmax"
    rule = "log_softmax: ∂L/∂x = ∂L/∂y − softmax(x)·Σ ∂L/∂y, softmax(x) = eʸ"

    def forward(self, a):
        out = _log_softmax(a, self.axis)
        self.save_for_backward(out)
        return out

    def derivative(self, grad, inputs, output):
        return (grad - exp(output) * grad.sum(axis=self.axis, keepdims=True),)


def check_labels(labels: np.ndarray, n: int, classes: int) -> np.ndarray:
    if labels.dtype.kind not in "iu":
        raise TypeError(
            f"labels must be integer class ids (dtype int), shape ({n},); got dtype "
            f"{labels.dtype}. One-hot labels? Pass labels.argmax(axis=1)"
        )
    if labels.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match logits; got {labels.shape}")
    if n and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(
            f"labels must be class ids in 0..{classes - 1}; got values from {labels.min()} to "
            f"{labels.max()}"
        )
    return labels


class CrossEntropyOp(Function):
    """Mean over the batch of −log softmax(logits)[label]; labels are int class ids."""

    name = "cross_entropy"
    rule = "cross_entropy: ∂y/∂logits = (softmax(logits) − onehot(labels)) / N"

    def __init__(self, labels: np.ndarray):
        self.labels = labels

    def check(self, logits):
        if logits.ndim != 2:
            raise ValueError(f"cross_entropy expects logits of shape (N, classes); got "
                             f"{logits.shape}")
        check_float_array(logits, "logits", self.name)
        n, classes = logits.shape
        if classes == 0:
            raise ValueError(f"cross_entropy: logits must have at least one class column; got "
                             f"shape {logits.shape}")
        if n == 0:
            raise ValueError(f"cross_entropy: the batch is empty (logits shape {logits.shape}); "
                             f"the mean loss needs at least one example")
        check_labels(self.labels, n, classes)

    def forward(self, logits):
        n = logits.shape[0]
        log_p = _log_softmax(logits, 1)
        self.save_for_backward(logits)
        picked = log_p[np.arange(n), self.labels]  # (N,) log-probability of each true class
        # divide before summing: the mean of large per-example losses must not overflow
        return np.asarray(-(picked / n).sum(), dtype=logits.dtype)

    # a pair: the array backward makes the gradient in place from the log-softmax forward
    # kept, 6 µs against 67 µs for the shared rule (softmax again, a one-hot) at 128 × 10
    def backward(self, grad):
        (logits,) = self.saved
        n = logits.shape[0]
        d = _softmax(logits, 1)  # a fresh array: updated in place below
        d[np.arange(n), self.labels] -= 1
        d *= grad / n
        return (d,)

    def backward_graph(self, grad, inputs, output):
        (logits,) = inputs
        n, classes = logits.shape
        one_hot = np.eye(classes, dtype=logits.dtype)[self.labels]  # (N, classes) constant
        return ((logits.softmax(1) - one_hot) * (grad / n),)


# Every softmax output still alive, by array identity, recorded in a graph or not (no_grad,
# inputs that need no gradient): cross_entropy warns when given one. Weak, so an entry
# goes when its array does.
_softmax_outputs: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def made_by_softmax(array: np.ndarray) -> bool:
    """Whether ``array`` is the output of a softmax (the very array, not a copy)."""
    return _softmax_outputs.get(id(array)) is array
