"""Metrics: Keras' names, per-example functions on arrays and running means over batches.

::

    tc.metrics.sparse_categorical_accuracy(y_true, y_pred)   # ndarray, one value per example
    acc = tc.metrics.get("accuracy", loss)                     # a Metric
    acc.update_state(y_true, y_pred); acc.result(); acc.reset_state()

A metric is a running mean of per-example values, so an epoch's value is the mean over all
its examples: the batch means weighted by batch size. Metrics need no gradient; they read
arrays (a Tensor's ``.data``).
"""

from __future__ import annotations

import numpy as np

from .targets import as_array, class_ids, dense_targets


def _pred(y_pred) -> np.ndarray:
    y_pred = as_array(y_pred, "metric")
    if y_pred.ndim == 0:
        raise ValueError("metric: y_pred must have a batch axis; got a 0-d array")
    return y_pred


# ------------------------------------------------------------ per-example functions
def sparse_categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """1.0 where argmax(y_pred) is the class id in ``y_true``, else 0.0."""
    y_pred = _pred(y_pred)
    labels = class_ids(y_true, y_pred.shape, "sparse_categorical_accuracy")
    return (y_pred.argmax(axis=-1) == labels).astype(np.float32)


def categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """1.0 where argmax(y_pred) equals argmax of the one-hot ``y_true``, else 0.0."""
    y_pred = _pred(y_pred)
    y = dense_targets(y_true, y_pred.shape, y_pred.dtype, "categorical_accuracy", one_hot=True)
    return (y_pred.argmax(axis=-1) == y.argmax(axis=-1)).astype(np.float32)


def binary_accuracy(y_true, y_pred, threshold: float = 0.5) -> np.ndarray:
    """The share of values where (y_pred > threshold) equals ``y_true``, per example."""
    y_pred = _pred(y_pred)
    y = dense_targets(y_true, y_pred.shape, y_pred.dtype, "binary_accuracy")
    return ((y_pred > threshold) == y).mean(axis=-1, dtype=np.float32)


def accuracy(y_true, y_pred) -> np.ndarray:
    """Keras' "accuracy" when the loss does not say which: binary if y_pred has one column,
    sparse-categorical if ``y_true`` lacks the class axis (or it is 1), else categorical."""
    y_pred = _pred(y_pred)
    y = as_array(y_true, "accuracy")
    if y_pred.shape[-1] == 1:
        return binary_accuracy(y, y_pred)
    if y.ndim < y_pred.ndim or y.shape[-1] == 1:
        return sparse_categorical_accuracy(y, y_pred)
    return categorical_accuracy(y, y_pred)


def mean_squared_error(y_true, y_pred) -> np.ndarray:
    y_pred = _pred(y_pred)
    diff = y_pred - dense_targets(y_true, y_pred.shape, y_pred.dtype, "mean_squared_error")
    return (diff * diff).mean(axis=-1)


def mean_absolute_error(y_true, y_pred) -> np.ndarray:
    y_pred = _pred(y_pred)
    diff = y_pred - dense_targets(y_true, y_pred.shape, y_pred.dtype, "mean_absolute_error")
    return np.abs(diff).mean(axis=-1)


# ------------------------------------------------------------------ running means
class Mean:
    """The running (weighted) mean of the values it is given."""

    def __init__(self, name: str = "mean"):
        self.name = name
        self.reset_state()

    def reset_state(self) -> None:
        self.total, self.count = 0.0, 0.0

    def update_state(self, values, sample_weight=None) -> None:
        """Add ``values`` (each counts once), or one value counted ``sample_weight`` times."""
        values = np.asarray(values.data if hasattr(values, "_ctx") else values,
                            dtype=np.float64)
        if sample_weight is None:
            self.total += float(values.sum())
            self.count += values.size
        else:
            self.total += float(values.sum()) * sample_weight
            self.count += values.size * sample_weight

    def result(self) -> float:
        return self.total / self.count if self.count else 0.0

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, result={self.result():.4g})"


class Metric(Mean):
    """The running mean of ``fn(y_true, y_pred)``, the per-example values of a batch."""

    fn = None
    direction = "down"  # which way is better: "up" for accuracies (EarlyStopping's mode)

    def __init__(self, fn=None, name: str | None = None):
        self.function = fn if fn is not None else type(self).fn
        super().__init__(name or getattr(self.function, "__name__", "metric"))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        values = self.function(y_true, y_pred.data if hasattr(y_pred, "_ctx") else y_pred)
        super().update_state(values, sample_weight)


class AccuracyMetric(Metric):
    """Base of the accuracies: higher is better."""

    direction = "up"


class SparseCategoricalAccuracy(AccuracyMetric):
    fn = staticmethod(sparse_categorical_accuracy)


class CategoricalAccuracy(AccuracyMetric):
    fn = staticmethod(categorical_accuracy)


class BinaryAccuracy(AccuracyMetric):
    fn = staticmethod(binary_accuracy)


class Accuracy(AccuracyMetric):
    fn = staticmethod(accuracy)


class MeanSquaredError(Metric):
    fn = staticmethod(mean_squared_error)


class MeanAbsoluteError(Metric):
    fn = staticmethod(mean_absolute_error)


NAMES = {
    "accuracy": Accuracy,
    "acc": Accuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "categorical_accuracy": CategoricalAccuracy,
    "binary_accuracy": BinaryAccuracy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError,
    "mean_absolute_error": MeanAbsoluteError,
}


def serialize(metric: Metric, loss=None) -> str | None:
    """The name ``get`` rebuilds ``metric`` from (with the same ``loss``); None if none does."""
    if metric.name in NAMES and type(get(metric.name, loss)) is type(metric) \
            and metric.function is type(metric).fn:
        return metric.name
    return None


def get(identifier, loss=None) -> Metric:
    """A Metric from a name in ``NAMES`` (named as given), a Metric object or a callable.

    "accuracy" (or "acc") picks the accuracy that goes with ``loss`` (its ``accuracy``
    attribute), or decides by the shapes when the loss does not say.
    """
    if isinstance(identifier, Metric):
        return identifier
    if isinstance(identifier, str):
        if identifier not in NAMES:
            raise ValueError(f"metrics must hold names from {sorted(NAMES)}, tc.metrics "
                             f"objects or callables metric(y_true, y_pred); got {identifier!r}")
        cls = NAMES[identifier]
        if cls is Accuracy and getattr(loss, "accuracy", None) is not None:
            cls = NAMES[loss.accuracy]
        return cls(name=identifier)
    if isinstance(identifier, type):
        raise TypeError(f"metrics must hold metric objects such as {identifier.__name__}(), "
                        f"not the class {identifier.__name__}")
    if callable(identifier):
        return Metric(identifier)
    raise TypeError(f"metrics must hold names from {sorted(NAMES)}, tc.metrics objects or "
                    f"callables metric(y_true, y_pred); got {type(identifier).__name__} "
                    f"{identifier!r:.60}")
