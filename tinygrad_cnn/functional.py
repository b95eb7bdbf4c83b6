"""Every differentiable op as a lowercase function: the door layers and users go through.

``F.exp(x)`` and ``x.exp()`` run the same op class (``ops.elementwise.ExpOp``); the
Tensor methods and operators are one-line calls to those classes, and the functions here
accept ndarrays as well as Tensors. Ops that only make sense on images (conv, pooling)
and losses live here alone.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import rng
from .checks import check_bool, check_nhwc, check_number, is_int, user_stacklevel
from .ops.conv import Conv2DOp
from .ops.crossentropy import SigmoidCrossEntropyOp, SoftmaxCrossEntropyOp
from .ops.elementwise import DropoutOp, WhereOp
from .ops.loss import CrossEntropyOp, made_by_softmax
from .ops.matmul import DenseOp
from .ops.movement import ConcatenateOp
from .ops.normalization import BatchNormOp
from .ops.pool import AvgPool2DOp, MaxPool2DOp
from .ops.reduce import normalize_axis
from .tensor import Tensor
from .torch_names import accepts_dim


def _tensor(x, arg: str) -> Tensor:
    if isinstance(x, Tensor):
        return x
    if isinstance(x, np.ndarray):
        return Tensor(x)
    raise TypeError(f"{arg} must be a Tensor or a numpy array; got {type(x).__name__}")


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation_rate=1,
           relu=False) -> Tensor:
    """2-D convolution (cross-correlation, as in Keras) on channels_last input.

    Args:
        x: (N, H, W, C_in).
        kernel: (KH, KW, C_in, C_out).
        bias: optional (C_out,).
        strides, dilation_rate: a positive int or a pair.
        padding: 'valid', 'same', an int, a pair (ph, pw) or ((top, bottom), (left, right)).
        relu: apply max(·, 0) inside the op, in place on the output (what
            ``Conv2D(..., activation='relu')`` uses); the same values as ``F.relu(conv2d(…))``.

    Returns:
        (N, OH, OW, C_out); see ``tc.conv_output_shape`` for OH, OW.
    """
    inputs = [_tensor(x, "x"), _tensor(kernel, "kernel")]
    if bias is not None:
        inputs.append(_tensor(bias, "bias"))
    return Conv2DOp(strides, padding, dilation_rate, relu).apply(*inputs)


def dense(x, kernel, bias=None, relu=False) -> Tensor:
    """Keras' Dense arithmetic as one op: ``x @ kernel + bias``, then max(·, 0) if ``relu``.

    Args:
        x: (..., in); the op acts on the last axis at every position.
        kernel: (in, out).
        bias: optional (out,).
        relu: apply max(·, 0) in place on the output (``Dense(..., activation='relu')``).

    Returns:
        (..., out): the same values as ``F.relu(x @ kernel + bias)``.
    """
    inputs = [_tensor(x, "x"), _tensor(kernel, "kernel")]
    if bias is not None:
        inputs.append(_tensor(bias, "bias"))
    return DenseOp(relu).apply(*inputs)


def max_pool2d(x, pool_size=2, strides=None, padding="valid") -> Tensor:
    """Max over pool_size windows; 'same' pads with −inf. strides default to pool_size."""
    return MaxPool2DOp(pool_size, strides, padding).apply(_tensor(x, "x"))


def avg_pool2d(x, pool_size=2, strides=None, padding="valid") -> Tensor:
    """Mean over pool_size windows; with 'same' only the real (unpadded) elements count."""
    return AvgPool2DOp(pool_size, strides, padding).apply(_tensor(x, "x"))


def _check_global_pool_input(shape, op_name: str) -> None:
    check_nhwc(shape, op_name)
    if shape[1] == 0 or shape[2] == 0:
        raise ValueError(f"{op_name}: x has height {shape[1]} and width {shape[2]}; pooling "
                         f"over an empty image is undefined (shape {shape})")


def global_avg_pool2d(x) -> Tensor:
    """(N, H, W, C) → (N, C) by averaging over H and W."""
    x = _tensor(x, "x")
    _check_global_pool_input(x.shape, "global_avg_pool2d")
    return x.mean(axis=(1, 2))


def global_max_pool2d(x) -> Tensor:
    """(N, H, W, C) → (N, C) by the maximum over H and W."""
    x = _tensor(x, "x")
    _check_global_pool_input(x.shape, "global_max_pool2d")
    return x.max(axis=(1, 2))


# ------------------------------------------------------------------ elementwise
def add(a, b) -> Tensor:
    return _tensor(a, "a") + b


def sub(a, b) -> Tensor:
    return _tensor(a, "a") - b


def mul(a, b) -> Tensor:
    return _tensor(a, "a") * b


def div(a, b) -> Tensor:
    return _tensor(a, "a") / b


def pow(a, b) -> Tensor:  # noqa: A001 (the op's name, as in numpy and torch)
    return _tensor(a, "a") ** b


def neg(x) -> Tensor:
    return -_tensor(x, "x")


def exp(x) -> Tensor:
    return _tensor(x, "x").exp()


def log(x) -> Tensor:
    return _tensor(x, "x").log()


def sqrt(x) -> Tensor:
    return _tensor(x, "x").sqrt()


def abs(x) -> Tensor:  # noqa: A001
    return _tensor(x, "x").abs()


def relu(x) -> Tensor:
    return _tensor(x, "x").relu()


def sigmoid(x) -> Tensor:
    return _tensor(x, "x").sigmoid()


def tanh(x) -> Tensor:
    return _tensor(x, "x").tanh()


def clip(x, min, max) -> Tensor:  # noqa: A002
    """``x`` limited to [min, max] (None: no bound); gradient 1 inside, 0 where clipped."""
    return _tensor(x, "x").clip(min, max)


def astype(x, dtype) -> Tensor:
    return _tensor(x, "x").astype(dtype)


def maximum(a, b) -> Tensor:
    """Elementwise larger value; at ties each side gets half the gradient (torch.maximum)."""
    a, b = _operands(a, b)
    return a.maximum(b)


def minimum(a, b) -> Tensor:
    """Elementwise smaller value; at ties each side gets half the gradient (torch.minimum)."""
    a, b = _operands(a, b)
    return a.minimum(b)


def where(cond, a, b) -> Tensor:
    """``a`` where ``cond`` is True, else ``b`` (numpy.where); cond is a bool mask."""
    cond = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
    a, b = _operands(a, b)
    try:
        np.broadcast_shapes(cond.shape, a.shape, b.shape)
    except ValueError:
        raise ValueError(f"where: cond {cond.shape}, a {a.shape} and b {b.shape} do not "
                         f"broadcast to one shape") from None
    return WhereOp(cond).apply(a, b)


def _operands(a, b) -> tuple[Tensor, Tensor]:
    """Two operands as Tensors; a number or array takes the other Tensor's dtype."""
    if isinstance(a, Tensor):
        return a, a._operand(b)
    if isinstance(b, Tensor):
        return b._operand(a), b
    return _tensor(np.asarray(a), "a"), _tensor(np.asarray(b), "b")


# ------------------------------------------------------------- reductions, matmul
@accepts_dim
def sum(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _tensor(x, "x").sum(axis, keepdims)


@accepts_dim
def mean(x, axis=None, keepdims: bool = False) -> Tensor:
    return _tensor(x, "x").mean(axis, keepdims)


@accepts_dim
def max(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _tensor(x, "x").max(axis, keepdims)


@accepts_dim
def min(x, axis=None, keepdims: bool = False) -> Tensor:  # noqa: A001
    return _tensor(x, "x").min(axis, keepdims)


@accepts_dim
def var(x, axis=None, keepdims: bool = False) -> Tensor:
    return _tensor(x, "x").var(axis, keepdims)


def matmul(a, b) -> Tensor:
    return _tensor(a, "a") @ b


# ------------------------------------------------------------------- movement
def reshape(x, *shape) -> Tensor:
    return _tensor(x, "x").reshape(*shape)


def transpose(x, *axes) -> Tensor:
    return _tensor(x, "x").transpose(*axes)


def flatten(x, start_axis: int = 1) -> Tensor:
    return _tensor(x, "x").flatten(start_axis)


def pad(x, pad_width) -> Tensor:
    return _tensor(x, "x").pad(pad_width)


def getitem(x, index) -> Tensor:
    """``x[index]``: ints, slices, None, Ellipsis, integer arrays and bool masks."""
    return _tensor(x, "x")[index]


def broadcast_to(x, shape) -> Tensor:
    return _tensor(x, "x").broadcast_to(shape)


@accepts_dim
def concatenate(tensors, axis: int = 0) -> Tensor:
    """Join tensors along an existing axis (numpy.concatenate)."""
    tensors = _tensor_list(tensors, "concatenate")
    (axis,) = normalize_axis(axis, tensors[0].ndim)
    return ConcatenateOp(axis).apply(*tensors)


@accepts_dim
def stack(tensors, axis: int = 0) -> Tensor:
    """Join same-shape tensors along a new axis (numpy.stack)."""
    tensors = _tensor_list(tensors, "stack")
    shapes = {t.shape for t in tensors}
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape; got {sorted(shapes)}")
    (axis,) = normalize_axis(axis, tensors[0].ndim + 1)
    return concatenate([t.expand_dims(axis) for t in tensors], axis)


def _tensor_list(tensors, op: str) -> list[Tensor]:
    if isinstance(tensors, (Tensor, np.ndarray)) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{op}: tensors must be a list or tuple of Tensors/arrays; got "
                        f"{type(tensors).__name__}")
    if not tensors:
        raise ValueError(f"{op}: tensors is empty; give at least one tensor")
    return [_tensor(t, f"tensors[{i}]") for i, t in enumerate(tensors)]


# ---------------------------------------------------------- softmax and losses
@accepts_dim
def softmax(x, axis=-1) -> Tensor:
    return _tensor(x, "x").softmax(axis)


@accepts_dim
def log_softmax(x, axis=-1) -> Tensor:
    return _tensor(x, "x").log_softmax(axis)


def cross_entropy(logits, labels) -> Tensor:
    """Mean cross-entropy of logits (N, classes) against int class ids (N,).

    It applies log-softmax itself, as ``torch.nn.functional.cross_entropy`` does. Given the
    output of a softmax it warns, recorded in a graph or not: the softmax would be applied
    twice. For probabilities use ``tc.losses.sparse_categorical_crossentropy(labels, probs)``.
    """
    labels = labels.data if isinstance(labels, Tensor) else np.asarray(labels)
    logits = _tensor(logits, "logits")
    if made_by_softmax(logits.data):
        warnings.warn("cross_entropy expects logits but got the output of a softmax, so "
                      "softmax is applied twice; pass the softmax's input, or use "
                      "tc.losses.SparseCategoricalCrossentropy() (from_logits=False) on "
                      "probabilities", UserWarning, stacklevel=user_stacklevel())
    return CrossEntropyOp(labels).apply(logits)


def _targets(targets, logits: Tensor, op: str) -> Tensor:
    """Targets as a Tensor: arrays, lists and numbers take the logits' dtype (they are data)."""
    if isinstance(targets, Tensor):
        return targets
    try:
        array = np.asarray(targets)
    except ValueError:  # ragged lists
        array = np.asarray(None)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{op}: targets must be a Tensor, an ndarray or numbers; got "
                        f"{type(targets).__name__} {targets!r:.60}")
    return Tensor(array.astype(logits.dtype, copy=False))


def sigmoid_cross_entropy(logits, targets) -> Tensor:
    """Binary cross-entropy of each logit against its target in [0, 1], unreduced.

    ``−(y·log σ(x) + (1 − y)·log(1 − σ(x)))`` element by element, from the logits, as one
    op: its gradient is exactly σ(x) − y at every x (x = 0 included), and no x overflows.
    ``targets`` has the logits' shape; ``.mean()`` gives PyTorch's
    ``binary_cross_entropy_with_logits``.
    """
    logits = _tensor(logits, "logits")
    return SigmoidCrossEntropyOp().apply(
        logits, _targets(targets, logits, "sigmoid_cross_entropy"))


def softmax_cross_entropy(logits, targets) -> Tensor:
    """Cross-entropy of each row of logits against a row of probabilities, unreduced.

    ``−Σ y·log softmax(x)`` over the last axis, one value per row, as one op: its gradient
    is exactly softmax(x) − y for target rows that sum to 1 (one-hot rows do). ``targets``
    has the logits' shape; for int class ids use ``F.cross_entropy`` (the batch mean).
    """
    logits = _tensor(logits, "logits")
    return SoftmaxCrossEntropyOp().apply(
        logits, _targets(targets, logits, "softmax_cross_entropy"))


def mse(pred, target) -> Tensor:
    """Mean squared error over all elements."""
    pred = _tensor(pred, "pred")
    if not isinstance(target, Tensor):
        try:
            target = Tensor(target, dtype=pred.dtype)
        except (TypeError, ValueError):
            raise TypeError(f"mse: target must be a Tensor, an ndarray or numbers; got "
                            f"{type(target).__name__} {target!r:.60}") from None
    if target.shape != pred.shape:
        raise ValueError(f"mse: pred has shape {pred.shape} but target has shape "
                         f"{target.shape}; they must be equal")
    diff = pred - target
    return (diff * diff).mean()


def dropout(x, rate: float, training: bool = True) -> Tensor:
    """Zero each element with probability ``rate`` and scale the rest by 1/(1 − rate)."""
    rate = check_number(rate, "dropout rate", 0, 1)
    x = _tensor(x, "x")
    if not check_bool(training, "training") or rate == 0:
        return x
    return DropoutOp(rate, rng.generator()).apply(x)


def batch_norm(x, moving_mean=None, moving_variance=None, gamma=None, beta=None,
               training=False, momentum=0.99, epsilon=1e-3, axis=-1) -> Tensor:
    """Batch normalization as one op: Keras' BatchNormalization arithmetic, in the shape of
    ``torch.nn.functional.batch_norm`` (Keras' names and meaning of ``momentum``).

    ``training=True``: each feature along ``axis`` is normalized with the batch's mean and
    biased variance over every other axis, and the moving statistics, when given, become
    ``moving·momentum + batch·(1 − momentum)`` (new arrays, in their dtype, as Keras
    computes them). ``training=False``: normalized with ``moving_mean`` and
    ``moving_variance``, which are then required. Then ``·gamma + beta`` (1 and 0 when None).

    Args:
        x: a float Tensor or ndarray with the batch axis first.
        moving_mean, moving_variance: Tensors of shape (features,), or None.
        gamma, beta: Tensors (or ndarrays) of shape (features,) in x's dtype, or None.
        training: whether to use and update the batch's statistics.
        momentum: in [0, 1]; epsilon: > 0, added to the variance.
        axis: the feature axis (an int; -1 for channels_last).
    """
    x = _tensor(x, "x")
    training = check_bool(training, "training")
    momentum = check_number(momentum, "momentum", 0, 1, high_inclusive=True)
    epsilon = check_number(epsilon, "epsilon", 0, low_inclusive=False)
    if not is_int(axis):
        raise TypeError(f"batch_norm: axis must be an int (the feature axis); got {axis!r}")
    (axis,) = normalize_axis(axis, x.ndim)
    moving = {"moving_mean": moving_mean, "moving_variance": moving_variance}
    for arg, value in moving.items():
        if value is not None and not isinstance(value, Tensor):
            raise TypeError(f"batch_norm: {arg} must be a Tensor (its data is replaced by the "
                            f"update) or None; got {type(value).__name__}")
        if value is None and not training:
            raise ValueError(f"batch_norm: training=False normalizes with the moving "
                             f"statistics, so {arg} is required; got None")
    features = x.shape[axis]
    gamma = Tensor(np.ones(features, x.dtype)) if gamma is None else _tensor(gamma, "gamma")
    beta = Tensor(np.zeros(features, x.dtype)) if beta is None else _tensor(beta, "beta")
    if not training:
        op = BatchNormOp(axis, x.ndim, epsilon, moving_mean.data, moving_variance.data)
        return op.apply(x, gamma, beta)
    op = BatchNormOp(axis, x.ndim, epsilon)
    out = op.apply(x, gamma, beta)
    for tensor, batch in zip(moving.values(), (op.batch_mean, op.batch_variance)):
        if tensor is not None:
            batch = batch.astype(tensor.dtype)  # Keras' arithmetic: all in the weight's dtype
            tensor.data = tensor.data * momentum + batch * (1 - momentum)
    return out
