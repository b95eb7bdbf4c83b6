"""compile, fit, evaluate and predict: Keras' way of training, mixed into Sequential.

::

    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=32, epochs=5, validation_split=0.1)
    loss, accuracy = model.evaluate(x_test, y_test)
    probabilities = model.predict(x_test)

One training step is the loop every tutorial writes: forward with ``training=True``, the
loss, ``zero_grad``, ``backward``, ``step``. An epoch's ``loss`` and metrics are the means
over its examples of the values each batch had before its update (Keras' running means);
``val_*`` are computed after the epoch with ``training=False``. Every argument, the data's
shapes and the labels are checked before the first step, so a bad call changes nothing.
"""

from __future__ import annotations

import math

import numpy as np

from .. import callbacks as callbacks_module
from .. import losses, progress
from .. import metrics as metrics_module
from ..autograd import no_grad
from ..checks import check_bool, check_int, check_number
from ..data.batching import Dataset
from ..optim_base import BaseOptimizer
from . import optimizers

DEFAULT_BATCH_SIZE = 32  # Keras' default


def _batch_size(batch_size) -> int:
    return DEFAULT_BATCH_SIZE if batch_size is None else check_int(batch_size, "batch_size", 1)


class TrainingMixin:
    """Keras' training methods for a model that is a Layer (``self(x, training=…)``)."""

    optimizer: BaseOptimizer | None = None
    loss: losses._Loss | None = None
    compiled_metrics: list[metrics_module.Metric] | None = None
    stop_training = False  # a callback sets it to end fit after this batch
    history = None  # the History of the last fit

    # ------------------------------------------------------------------ compile
    def compile(self, optimizer, loss, metrics=None) -> None:
        """Choose the optimizer (a name such as "adam", which builds Keras' optimizer, or
        an optimizer of either family), the loss (a name, a tc.losses object or a
        callable) and the metrics (a list of names or objects)."""
        optimizer = optimizers.get(optimizer)
        loss = losses.get(loss)
        if metrics is None:
            metrics = []
        if isinstance(metrics, str) or not isinstance(metrics, (list, tuple)):
            raise TypeError(f"metrics must be a list such as ['accuracy'] (or None); got "
                            f"{type(metrics).__name__} {metrics!r:.60}")
        compiled = [metrics_module.get(m, loss) for m in metrics]
        names = ["loss"] + [m.name for m in compiled]
        if len(set(names)) != len(names):
            raise ValueError(f"metrics must have distinct names, none of them 'loss'; got "
                             f"{names[1:]}")
        self.optimizer, self.loss, self.compiled_metrics = optimizer, loss, compiled
        self._loss_tracker = metrics_module.Mean("loss")
        if self.built and self.trainable_weights:
            self._bind_optimizer()

    def get_compile_config(self) -> dict | None:
        """What ``compile`` was given, by name (JSON-ready), for ``model.save``; None when
        not compiled or when a custom optimizer, loss or metric cannot be named."""
        if self.loss is None:
            return None
        optimizer = optimizers.serialize(self.optimizer)
        loss = losses.serialize(self.loss)
        metrics = [metrics_module.serialize(m, self.loss) for m in self.compiled_metrics]
        if optimizer is None or loss is None or None in metrics:
            return None
        return {"optimizer": optimizer, "loss": loss, "metrics": metrics}

    def compile_from_config(self, config: dict) -> None:
        """``compile`` again from ``get_compile_config()`` (a fresh optimizer state)."""
        self.compile(optimizer=optimizers.deserialize(config["optimizer"]),
                     loss=losses.deserialize(config["loss"]), metrics=config["metrics"])

    @property
    def metrics_names(self) -> list[str]:
        """``["loss", …metric names]``, the order ``evaluate`` returns them in."""
        return ["loss"] + [m.name for m in self.compiled_metrics or []]

    def _require_compiled(self, what: str) -> None:
        if self.loss is None:
            raise ValueError(f"model '{self.name}' must be compiled before {what}: call "
                             f"model.compile(optimizer='adam', "
                             f"loss='sparse_categorical_crossentropy', metrics=['accuracy']) "
                             f"first")

    def _bind_optimizer(self) -> None:
        params = self.trainable_weights
        if not params:
            raise ValueError(f"model '{self.name}' has no trainable weights (every layer "
                             f"frozen with trainable = False?); there is nothing to fit")
        bound = self.optimizer.params
        if bound is None or [id(p) for p in bound] != [id(p) for p in params]:
            self.optimizer.bind(params)

    # ------------------------------------------------------------------ checks
    def _check_x(self, x: np.ndarray, arg: str) -> tuple:
        """Build the model for ``x`` if needed; the output shape (no batch axis)."""
        if len(x) == 0:
            raise ValueError(f"{arg} holds no examples (shape {x.shape})")
        if not self.built:
            self.build(x.shape[1:])
        self.check_input_shape(x.shape, arg, exact=True)
        return self.compute_output_shape(x.shape[1:])

    def _check_data(self, data: Dataset, x_arg: str, y_arg: str) -> None:
        """Shapes and labels of a whole dataset, before any step: errors name the loss."""
        out_shape = self._check_x(data.x, x_arg)
        self.loss.check_targets(data.y, (len(data.y), *out_shape), self.dtype)
        predictions = np.broadcast_to(np.zeros((), self.dtype), (len(data.y), *out_shape))
        for metric in self.compiled_metrics:  # a metric that cannot read these labels
            metric.function(data.y, predictions)

    @staticmethod
    def _validation_data(validation_data, validation_split: float, train: Dataset):
        """(train, validation) from ``validation_data`` or the last ``validation_split``."""
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError(f"validation_data must be a tuple (x_val, y_val); got "
                                f"{type(validation_data).__name__} {validation_data!r:.60}")
            return train, Dataset(*validation_data)
        if not validation_split:
            return train, None
        n = len(train)
        kept = int(math.floor(n * (1.0 - validation_split)))
        if kept == 0:  # (any split > 0 leaves at least one validation example)
            raise ValueError(f"validation_split={validation_split!r} of {n} examples leaves "
                             f"no training examples (floor({n}·(1 − {validation_split!r})) = 0 "
                             f"are kept for training)")
        return train.split_last(validation_split)

    # ------------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, initial_epoch=0):
        """Train for ``epochs`` passes over ``(x, y)``; returns a ``History``.

        Args:
            x, y: arrays with one example per row; integer and float64 inputs are cast to
                the model's dtype (values are not rescaled).
            batch_size: examples per step (default 32); the last batch may be smaller.
            epochs: the epoch to stop at (``initial_epoch`` is where counting starts).
            verbose: 0 silent, 1 or "auto" a progress bar, 2 one line per epoch.
            callbacks: a list of tc.callbacks.Callback.
            validation_split: the share in [0, 1) held out from the *end* of x/y, before
                shuffling, to validate on after each epoch.
            validation_data: (x_val, y_val), used instead of validation_split.
            shuffle: a new order each epoch from the library's generator
                (``tc.manual_seed`` makes fit reproducible).
        """
        self._require_compiled("fit()")
        batch_size = _batch_size(batch_size)
        epochs = check_int(epochs, "epochs", 0)
        initial_epoch = check_int(initial_epoch, "initial_epoch", 0)
        verbose = progress.check_verbose(verbose)
        shuffle = check_bool(shuffle, "shuffle")
        validation_split = check_number(validation_split, "validation_split", 0, 1)
        train, val = self._validation_data(validation_data, validation_split, Dataset(x, y))
        self._check_data(train, "x", "y")
        if val is not None:
            self._check_data(val, "validation x", "validation y")
        self._bind_optimizer()
        callbacks = callbacks_module.CallbackList(callbacks, self, {
            "epochs": epochs, "steps": -(-len(train) // batch_size), "samples": len(train),
            "batch_size": batch_size, "verbose": verbose})

        self.stop_training = False
        callbacks.on_train_begin()
        logs = {}
        for epoch in range(initial_epoch, epochs):
            self._reset_metrics()
            callbacks.on_epoch_begin(epoch)
            for step, (x_batch, y_batch) in enumerate(train.batches(batch_size, shuffle)):
                callbacks.on_train_batch_begin(step)
                callbacks.on_train_batch_end(step, self.train_step(x_batch, y_batch))
                if self.stop_training:
                    break
            logs = self._results()
            if val is not None:
                logs.update({f"val_{k}": v for k, v in self._test_loop(val, batch_size).items()})
            callbacks.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        callbacks.on_train_end(logs)
        return callbacks.history

    def train_step(self, x, y) -> dict[str, float]:
        """One step on the batch ``(x, y)``: forward with ``training=True``, the loss,
        ``zero_grad``, ``backward``, the optimizer's ``step``. ``fit`` calls it for every
        batch; override it to change what a step does, as in Keras (whose
        ``train_step(data)`` takes the pair as one tuple).

        Returns the logs, as Keras' does: the loss and each metric, means over the epoch's
        batches so far, each batch counted before its update (``fit`` resets them at every
        epoch and passes them to ``on_train_batch_end``).
        """
        self._require_compiled("train_step()")
        y_pred = self(x, training=True)
        loss = self.loss(y, y_pred)
        self._update_metrics(loss, y, y_pred)  # before the update, as Keras reports
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        return self._results()

    def _update_metrics(self, loss, y_batch, y_pred) -> None:
        self._loss_tracker.update_state(loss.item(), sample_weight=len(y_batch))
        for metric in self.compiled_metrics:
            metric.update_state(y_batch, y_pred.data)

    def _reset_metrics(self) -> None:
        self._loss_tracker.reset_state()
        for metric in self.compiled_metrics:
            metric.reset_state()

    def _results(self) -> dict[str, float]:
        return {"loss": self._loss_tracker.result(),
                **{m.name: m.result() for m in self.compiled_metrics}}

    def _test_loop(self, data: Dataset, batch_size: int, bar=None) -> dict[str, float]:
        """Loss and metrics over ``data`` with ``training=False``, recording no graph."""
        self._reset_metrics()
        seen = 0
        with no_grad():
            for x_batch, y_batch in data.batches(batch_size):
                y_pred = self(x_batch, training=False)
                self._update_metrics(self.loss(y_batch, y_pred), y_batch, y_pred)
                seen += len(y_batch)
                if bar is not None:
                    bar.update(seen, self._results())
        return self._results()

    # ------------------------------------------------------------------ evaluate, predict
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", return_dict=False):
        """The loss (a float) or ``[loss, *metrics]`` over ``(x, y)``, with ``training=False``
        (a dict keyed by ``metrics_names`` with ``return_dict=True``)."""
        self._require_compiled("evaluate()")
        batch_size = _batch_size(batch_size)
        verbose = progress.check_verbose(verbose)
        return_dict = check_bool(return_dict, "return_dict")
        data = Dataset(x, y)
        self._check_data(data, "x", "y")
        bar = progress.Progbar(-(-len(data) // batch_size), verbose)
        results = self._test_loop(data, batch_size, bar)
        bar.finish(len(data), results)
        if return_dict:
            return results
        values = list(results.values())
        return values[0] if len(values) == 1 else values

    def predict(self, x, batch_size=None, verbose="auto") -> np.ndarray:
        """The model's outputs for ``x`` (``training=False``), batch by batch, as one array."""
        batch_size = _batch_size(batch_size)
        verbose = progress.check_verbose(verbose)
        data = Dataset(x, x)  # the inputs alone
        out_shape = self._check_x(data.x, "x")
        bar = progress.Progbar(-(-len(data) // batch_size), verbose)
        outputs, seen = [], 0
        with no_grad():
            for x_batch, _ in data.batches(batch_size):
                outputs.append(self(x_batch, training=False).data)
                seen += len(x_batch)
                bar.update(seen, {})
        bar.finish(seen, {})
        return np.concatenate(outputs) if outputs else np.zeros((0, *out_shape), self.dtype)
