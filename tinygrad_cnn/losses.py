"""Losses: Keras' (``y_true, y_pred`` order, by name or as objects) and PyTorch-style ones.

::

    tc.losses.sparse_categorical_crossentropy(y_true, y_pred)   # one loss per example (N,)
    loss_fn = tc.losses.SparseCategoricalCrossentropy()         # or get("sparse_categorical_…")
    loss = loss_fn(y_true, y_pred)                              # scalar Tensor: the batch mean
    tc.losses.cross_entropy(logits, labels); tc.losses.mse(pred, target)   # F.*, scalar

Everything is built from Tensor ops, so every loss is differentiable (and as many times as
the ops it uses). As in Keras, ``from_logits=False`` means ``y_pred`` holds probabilities:
they are clipped to [1e-7, 1 − 1e-7] before the log (categorical ones first divided by
their sum). When ``y_pred`` is the output of a softmax (or, for the binary loss, a
sigmoid) recorded in the graph, the loss is computed from that op's input instead: the
same value without the clipping, and stable for confident predictions. Under
``no_grad()`` nothing is recorded, so the clipped formula is used; the two agree wherever
the true class's probability exceeds 1e-7.

From logits, each cross-entropy is one op (``F.softmax_cross_entropy``,
``F.sigmoid_cross_entropy``) whose gradient is exactly softmax(x) − y or σ(x) − y at every
logit: built from relu and abs, the binary one lost σ(0) = 0.5 at a logit of exactly 0.
"""

from __future__ import annotations

import numpy as np

from .checks import check_bool
from .functional import _tensor, cross_entropy, mse, sigmoid_cross_entropy, softmax_cross_entropy
from .ops.elementwise import SigmoidOp as _SigmoidOp
from .ops.loss import SoftmaxOp as _SoftmaxOp
from .targets import as_array, class_ids, dense_targets

EPSILON = 1e-7  # Keras' backend.epsilon()


def _logits_behind(y_pred, op_class):
    """The input of the softmax/sigmoid that produced ``y_pred`` over its last axis, or None."""
    ctx = y_pred._ctx
    if type(ctx) is not op_class or not ctx.parents:
        return None
    if op_class is _SoftmaxOp and ctx.axis != (y_pred.ndim - 1,):
        return None
    return ctx.parents[0]


def _class_cross_entropy(y_pred, target: np.ndarray, from_logits: bool):
    """−Σ target·log p over the last axis: from the logits (given, or behind a softmax) as
    one op, else from the clipped, normalized probabilities."""
    logits = y_pred if from_logits else _logits_behind(y_pred, _SoftmaxOp)
    if logits is not None:
        return softmax_cross_entropy(logits, target)
    probs = y_pred / y_pred.sum(axis=-1, keepdims=True)
    return -(probs.clip(EPSILON, 1 - EPSILON).log() * target).sum(-1)


def _keras_order_error(who: str, y_true, y_pred, problem: str) -> ValueError:
    """The error for arguments given in PyTorch's order, loss(input, target)."""
    try:
        swapped = as_array(y_true, who).dtype.kind == "f"
    except TypeError:
        swapped = False
    hint = ("; float scores first and class ids second is PyTorch's order loss(input, "
            "target): swap the two arguments" if swapped else "")
    return ValueError(f"{who}: {problem}. Keras' order is loss(y_true, y_pred): the targets "
                      f"first, the predictions second{hint}")


def _prediction(y_true, y_pred, who: str):
    y_pred = _tensor(y_pred, "y_pred")
    if y_pred.dtype.kind != "f":
        raise _keras_order_error(who, y_true, y_pred,
                                 f"y_pred must be floating-point; got dtype {y_pred.dtype}")
    if y_pred.ndim == 0:
        raise ValueError(f"{who}: y_pred must have a batch axis; got a 0-d tensor")
    return y_pred


# ---------------------------------------------------------------- functional forms
def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False):
    """−log p[label] per example; ``y_true`` holds class ids of shape ``y_pred.shape[:-1]``."""
    y_pred = _prediction(y_true, y_pred, "sparse_categorical_crossentropy")
    if np.ndim(y_true) == y_pred.ndim + 1:  # (N, classes) scores and (N,) ids, swapped
        raise _keras_order_error("sparse_categorical_crossentropy", y_true, y_pred,
                                 f"y_true has shape {np.shape(y_true)}, one axis more than "
                                 f"y_pred's {y_pred.shape}")
    labels = class_ids(y_true, y_pred.shape, "sparse_categorical_crossentropy")
    one_hot = np.eye(y_pred.shape[-1], dtype=y_pred.dtype)[labels]
    return _class_cross_entropy(y_pred, one_hot, check_bool(from_logits, "from_logits"))


def categorical_crossentropy(y_true, y_pred, from_logits=False):
    """−Σ y_true·log p per example; ``y_true`` holds one-hot (or soft) rows like ``y_pred``."""
    y_pred = _prediction(y_true, y_pred, "categorical_crossentropy")
    target = dense_targets(y_true, y_pred.shape, y_pred.dtype, "categorical_crossentropy",
                           one_hot=True)
    return _class_cross_entropy(y_pred, target, check_bool(from_logits, "from_logits"))


def binary_crossentropy(y_true, y_pred, from_logits=False):
    """−(y·log p + (1 − y)·log(1 − p)), averaged over the last axis, per example."""
    y_pred = _prediction(y_true, y_pred, "binary_crossentropy")
    y = dense_targets(y_true, y_pred.shape, y_pred.dtype, "binary_crossentropy")
    logits = y_pred if check_bool(from_logits, "from_logits") else _logits_behind(y_pred,
                                                                                   _SigmoidOp)
    if logits is not None:
        per_value = sigmoid_cross_entropy(logits, y)
    else:
        p = y_pred.clip(EPSILON, 1 - EPSILON)
        per_value = -(p.log() * y + (1 - p).log() * (1 - y))
    return per_value.mean(axis=-1)


def mean_squared_error(y_true, y_pred):
    """mean((y_pred − y_true)²) over the last axis, per example."""
    y_pred = _prediction(y_true, y_pred, "mean_squared_error")
    diff = y_pred - dense_targets(y_true, y_pred.shape, y_pred.dtype, "mean_squared_error")
    return (diff * diff).mean(axis=-1)


def mean_absolute_error(y_true, y_pred):
    """mean(|y_pred − y_true|) over the last axis, per example."""
    y_pred = _prediction(y_true, y_pred, "mean_absolute_error")
    return (y_pred - dense_targets(y_true, y_pred.shape, y_pred.dtype,
                                   "mean_absolute_error")).abs().mean(axis=-1)


# ------------------------------------------------------------------------ objects
class _Loss:
    """A loss as an object: ``loss(y_true, y_pred)`` is the mean of ``call``'s per-example values.

    Subclasses set ``fn`` (the functional form), ``targets`` (what ``y_true`` holds:
    "class_ids", "one_hot" or "dense") and ``accuracy``, the metric "accuracy" means with
    this loss (None: decided by the shapes, as Keras does).
    """

    fn = None
    targets = "dense"
    accuracy: str | None = None
    default_name = "loss"

    def __init__(self, name: str | None = None, **options):
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"name must be a non-empty string; got {name!r}")
        self.name = name or self.default_name
        self.options = options

    def call(self, y_true, y_pred):
        """The loss of each example."""
        return type(self).fn(y_true, y_pred, **self.options)

    def __call__(self, y_true, y_pred):
        per_example = self.call(y_true, y_pred)
        if per_example.size == 0:
            raise ValueError(f"{self.name}: the batch is empty (y_pred shape "
                             f"{_tensor(y_pred, 'y_pred').shape}); the mean loss needs at "
                             f"least one example")
        return per_example.mean()

    def check_targets(self, y_true, pred_shape: tuple, dtype) -> None:
        """Raise the error a batch of these targets would raise, before any training."""
        if self.targets == "class_ids":
            class_ids(y_true, pred_shape, self.name)
        else:
            dense_targets(y_true, pred_shape, dtype, self.name, one_hot=self.targets == "one_hot")

    def get_config(self) -> dict:
        return {"name": self.name, **self.options}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _CrossEntropy(_Loss):
    """Base of the cross-entropies: ``from_logits`` says whether y_pred holds logits."""

    def __init__(self, from_logits=False, name=None):
        super().__init__(name, from_logits=check_bool(from_logits, "from_logits"))


class SparseCategoricalCrossentropy(_CrossEntropy):
    """Cross-entropy of class ids (N,) against probabilities (or logits) (N, classes)."""

    fn = staticmethod(sparse_categorical_crossentropy)
    targets = "class_ids"
    accuracy = "sparse_categorical_accuracy"
    default_name = "sparse_categorical_crossentropy"


class CategoricalCrossentropy(_CrossEntropy):
    """Cross-entropy of one-hot rows (N, classes) against probabilities (or logits)."""

    fn = staticmethod(categorical_crossentropy)
    targets = "one_hot"
    accuracy = "categorical_accuracy"
    default_name = "categorical_crossentropy"


class BinaryCrossentropy(_CrossEntropy):
    """Cross-entropy of 0/1 targets against probabilities (or logits), element by element."""

    fn = staticmethod(binary_crossentropy)
    accuracy = "binary_accuracy"
    default_name = "binary_crossentropy"


class MeanSquaredError(_Loss):
    fn = staticmethod(mean_squared_error)
    default_name = "mean_squared_error"


class MeanAbsoluteError(_Loss):
    fn = staticmethod(mean_absolute_error)
    default_name = "mean_absolute_error"


class LossFunctionWrapper(_Loss):
    """A callable ``loss(y_true, y_pred)`` as a Loss: its result is averaged if not scalar."""

    def __init__(self, fn, name=None):
        super().__init__(name or getattr(fn, "__name__", "loss"))
        self.function = fn

    def call(self, y_true, y_pred):
        out = self.function(y_true, y_pred)
        if not hasattr(out, "_ctx"):
            raise TypeError(f"loss {self.name!r} must return a Tensor (build it from Tensor "
                            f"ops so it can be differentiated); got {type(out).__name__}")
        return out

    def check_targets(self, y_true, pred_shape, dtype) -> None:
        """A custom loss checks its own targets."""


# torch.nn's loss classes, and what plays their part here
_TORCH_LOSSES = {
    "CrossEntropyLoss": "SparseCategoricalCrossentropy(from_logits=True)",
    "NLLLoss": "SparseCategoricalCrossentropy()",
    "MSELoss": "MeanSquaredError()",
    "L1Loss": "MeanAbsoluteError()",
    "BCELoss": "BinaryCrossentropy()",
    "BCEWithLogitsLoss": "BinaryCrossentropy(from_logits=True)",
}


def __getattr__(name: str):
    if name in _TORCH_LOSSES:
        also = (", or the function tc.losses.cross_entropy(logits, labels), which keeps "
                "PyTorch's order" if name == "CrossEntropyLoss" else "")
        raise AttributeError(f"tc.losses has no {name} (a torch.nn name); use tc.losses."
                             f"{_TORCH_LOSSES[name]}, called loss(y_true, y_pred) in Keras' "
                             f"order{also}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


NAMES = {
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError,
    "mae": MeanAbsoluteError,
}


def serialize(loss: _Loss) -> dict | None:
    """``{"class_name", "config"}`` that rebuilds ``loss``; None for a custom callable."""
    if type(loss) not in set(NAMES.values()):
        return None
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def deserialize(config: dict) -> _Loss:
    classes = {cls.__name__: cls for cls in NAMES.values()}
    if not isinstance(config, dict) or config.get("class_name") not in classes:
        raise ValueError(f"cannot rebuild the loss {config!r:.100}; known classes: "
                         f"{sorted(classes)}")
    return classes[config["class_name"]](**config.get("config", {}))


def get(identifier) -> _Loss:
    """A Loss from a name in ``NAMES``, a Loss object (as given) or a callable."""
    if isinstance(identifier, _Loss):
        return identifier
    if isinstance(identifier, str):
        if identifier not in NAMES:
            raise ValueError(f"loss must be one of {sorted(NAMES)}, a tc.losses object or a "
                             f"callable loss(y_true, y_pred); got {identifier!r}")
        return NAMES[identifier]()
    if isinstance(identifier, type) and issubclass(identifier, _Loss):
        raise TypeError(f"loss must be a loss object such as {identifier.__name__}(), not the "
                        f"class {identifier.__name__}")
    if callable(identifier):
        return LossFunctionWrapper(identifier)
    raise TypeError(f"loss must be one of {sorted(NAMES)}, a tc.losses object or a callable "
                    f"loss(y_true, y_pred); got {type(identifier).__name__} {identifier!r:.60}")


__all__ = [
    "BinaryCrossentropy",
    "CategoricalCrossentropy",
    "MeanAbsoluteError",
    "MeanSquaredError",
    "SparseCategoricalCrossentropy",
    "binary_crossentropy",
    "categorical_crossentropy",
    "cross_entropy",
    "deserialize",
    "get",
    "mean_absolute_error",
    "mean_squared_error",
    "mse",
    "serialize",
    "sparse_categorical_crossentropy",
]
