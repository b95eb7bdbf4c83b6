"""Callbacks: code that ``fit`` calls at the start and end of training, epochs and batches.

Keras' classes and arguments: ``Callback`` (subclass it), ``History`` (``fit`` returns
one), ``EarlyStopping``, ``ModelCheckpoint``, ``CSVLogger``, ``TerminateOnNaN``,
``ReduceLROnPlateau``, ``LearningRateScheduler`` and the ``ProgbarLogger`` behind
``verbose``. A callback stops training with
``self.model.stop_training = True``. As in Keras, ``epoch`` passed to the hooks (and
written by CSVLogger) counts from 0; ModelCheckpoint's ``{epoch}`` field counts from 1.
"""

from __future__ import annotations

import csv
import inspect
import math
import numbers
import os
import warnings

import numpy as np

from .checks import check_bool, check_int, check_number, check_path
from .progress import Progbar


class Callback:
    """Base class: override the hooks you need; ``self.model`` is the model being fit and
    ``self.params`` holds ``epochs``, ``steps`` (batches per epoch), ``samples``,
    ``batch_size`` and ``verbose``."""

    def __init__(self):
        self.model = None
        self.params: dict = {}

    def set_model(self, model) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...


class CallbackList:
    """The callbacks of one ``fit`` in Keras' order: the user's, the History that ``fit``
    returns, then a ProgbarLogger (when verbose), so the history and the progress line
    both see what the user's callbacks add to the logs (such as ``learning_rate``)."""

    def __init__(self, callbacks, model, params: dict):
        if callbacks is None:
            callbacks = []
        if isinstance(callbacks, Callback) or not isinstance(callbacks, (list, tuple)):
            raise TypeError(f"callbacks must be a list of tc.callbacks.Callback objects (or "
                            f"None); got {type(callbacks).__name__} {callbacks!r:.60}")
        for i, cb in enumerate(callbacks):
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks[{i}] must be a tc.callbacks.Callback (subclass it "
                                f"to write your own); got {type(cb).__name__} {cb!r:.60}")
        self.history = History()
        self.callbacks = list(callbacks) + [self.history] \
            + ([ProgbarLogger()] if params["verbose"] else [])
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)

    def on_train_begin(self, logs=None):
        for cb in self.callbacks:
            cb.on_train_begin(logs)

    def on_train_end(self, logs=None):
        for cb in self.callbacks:
            cb.on_train_end(logs)

    def on_epoch_begin(self, epoch, logs=None):
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)

    def on_train_batch_begin(self, batch, logs=None):
        for cb in self.callbacks:
            cb.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        for cb in self.callbacks:
            cb.on_train_batch_end(batch, logs)


class History(Callback):
    """``history``: each logged name → its value per epoch; ``epoch``: the epochs run."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        self.model.history = self


class ProgbarLogger(Callback):
    """Prints each epoch's progress as ``params["verbose"]`` says (see tinygrad_cnn.progress)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.seen = 0
        self.bar = Progbar(self.params["steps"], self.params["verbose"],
                           title=f"Epoch {epoch + 1}/{self.params['epochs']}")

    def on_train_batch_end(self, batch, logs=None):
        self.seen = min((batch + 1) * self.params["batch_size"], self.params["samples"])
        self.bar.update(self.seen, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        self.bar.finish(self.seen, logs or {})


# ------------------------------------------------------------ watching a value
def _monitor_improves(callback: str, monitor, mode, model):
    """``improves(current, best)`` for the monitored value: lower is better, except for
    accuracies (mode "auto"), or as ``mode`` ("min"/"max") says."""
    if not isinstance(monitor, str) or not monitor:
        raise TypeError(f"{callback} monitor must be a name from the logs such as 'val_loss'; "
                        f"got {monitor!r}")
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"{callback} mode must be 'auto', 'min' or 'max'; got {mode!r}")
    if mode == "auto":
        base = monitor.removeprefix("val_")
        metric = next((m for m in getattr(model, "compiled_metrics", None) or []
                       if m.name == base), None)
        up = metric.direction == "up" if metric is not None else "acc" in base
        mode = "max" if up else "min"
    return (lambda a, b: a > b) if mode == "max" else (lambda a, b: a < b), mode


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs; ``restore_best_weights`` puts back the weights of the best epoch when it stops.

    Keras' rules: the best value starts at ±inf, the first epoch always improves it, and
    ``baseline`` (when given) is a value the monitor must beat for the wait to reset.
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.mode = monitor, mode
        _monitor_improves("EarlyStopping", monitor, mode, None)  # bad arguments fail here
        self.min_delta = abs(check_number(min_delta, "min_delta"))
        self.patience = check_int(patience, "patience", 0)
        self.verbose = check_int(verbose, "verbose", 0)
        self.baseline = None if baseline is None else check_number(baseline, "baseline")
        self.restore_best_weights = check_bool(restore_best_weights, "restore_best_weights")
        self.start_from_epoch = check_int(start_from_epoch, "start_from_epoch", 0)

    def on_train_begin(self, logs=None):
        self.better, mode = _monitor_improves("EarlyStopping", self.monitor, self.mode,
                                              self.model)
        self.sign = 1 if mode == "max" else -1  # min_delta counts towards "better"
        self.best = -math.inf if mode == "max" else math.inf
        self.wait = self.stopped_epoch = self.best_epoch = 0
        self.best_weights = None

    def _improves(self, value, reference) -> bool:
        return self.better(value - self.sign * self.min_delta, reference)

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None:
            warnings.warn(f"EarlyStopping: monitor {self.monitor!r} is not in the logs "
                          f"(available: {', '.join(sorted(logs or {}))}); nothing checked",
                          RuntimeWarning, stacklevel=2)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch and self.restore_best_weights and self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        if self.stopped_epoch and self.verbose:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping"
                  + (f"; restored the weights of epoch {self.best_epoch + 1}"
                     if self.restore_best_weights else ""))


class ModelCheckpoint(Callback):
    """Save the model (or its weights) after every epoch, or only when ``monitor`` improved.

    ``filepath`` may hold format fields: ``{epoch:02d}`` (counted from 1) and any logged
    value, e.g. ``"ckpt-{epoch:02d}-{val_loss:.4f}.npz"``. Missing folders are created.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto"):
        super().__init__()
        self.filepath = check_path(filepath, "filepath", "'model-{epoch:02d}.npz'")
        self.monitor, self.mode = monitor, mode
        _monitor_improves("ModelCheckpoint", monitor, mode, None)
        self.verbose = check_int(verbose, "verbose", 0)
        self.save_best_only = check_bool(save_best_only, "save_best_only")
        self.save_weights_only = check_bool(save_weights_only, "save_weights_only")

    def on_train_begin(self, logs=None):
        self.better, mode = _monitor_improves("ModelCheckpoint", self.monitor, self.mode,
                                              self.model)
        self.best = -math.inf if mode == "max" else math.inf

    def _path(self, epoch, logs) -> str:
        try:
            return self.filepath.format(epoch=epoch + 1, **logs)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"ModelCheckpoint filepath {self.filepath!r} has a field the logs "
                             f"cannot fill ({exc}); fields: epoch, "
                             f"{', '.join(sorted(logs))}") from None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        path = self._path(epoch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"ModelCheckpoint: monitor {self.monitor!r} is not in the logs "
                              f"(available: {', '.join(sorted(logs))}); nothing saved",
                              RuntimeWarning, stacklevel=2)
                return
            if not self.better(current, self.best):
                if self.verbose:
                    print(f"Epoch {epoch + 1}: {self.monitor} did not improve from "
                          f"{self.best:.5f}")
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving to {path}")
            self.best = current
        elif self.verbose:
            print(f"Epoch {epoch + 1}: saving to {path}")
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        (self.model.save_weights if self.save_weights_only else self.model.save)(path)


class CSVLogger(Callback):
    """Write each epoch's logs as a CSV row: ``epoch`` (from 0) then the names, sorted."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = check_path(filename, "filename", "'training.csv'")
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"separator must be one character such as ','; got {separator!r}")
        self.separator = separator
        self.append = check_bool(append, "append")
        self.file = None

    def on_train_begin(self, logs=None):
        existing = self.append and os.path.exists(self.filename) and os.path.getsize(
            self.filename) > 0
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer, self.keys, self.header_written = None, None, existing

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.writer is None:
            self.keys = sorted(logs)
            self.writer = csv.DictWriter(self.file, ["epoch", *self.keys],
                                         delimiter=self.separator)
            if not self.header_written:
                self.writer.writeheader()
        self.writer.writerow({"epoch": epoch, **{k: logs.get(k, "NA") for k in self.keys}})
        self.file.flush()

    def on_train_end(self, logs=None):
        if self.file is not None:
            self.file.close()
            self.file = None


# ------------------------------------------------------------ the learning rate
def _learning_rate(model, callback: str) -> float:
    """The compiled optimizer's learning rate, whichever family it is from (Keras'
    ``learning_rate``, PyTorch's ``lr``)."""
    optimizer = getattr(model, "optimizer", None)
    name = getattr(optimizer, "rate_name", None)
    if name is None:
        raise ValueError(f"{callback} changes the learning rate of the compiled optimizer; "
                         f"the model has {type(optimizer).__name__}")
    return getattr(optimizer, name)


def _set_learning_rate(model, value: float) -> None:
    setattr(model.optimizer, model.optimizer.rate_name, value)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved by more
    than ``min_delta`` for ``patience`` epochs, never below ``min_lr``; after a reduction,
    wait ``cooldown`` epochs before counting again.

    Keras 3's rules: the first value always improves (the best starts unset); at the end of
    an epoch the rate that epoch used is added to the logs as ``learning_rate`` (so it
    reaches ``history.history``), then the rate is reduced if due. While cooling down the
    wait stays 0; a reduction happens only when the rate is above ``min_lr``.
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        self.monitor, self.mode = monitor, mode
        _monitor_improves("ReduceLROnPlateau", monitor, mode, None)
        self.factor = check_number(factor, "factor", 0, 1)
        self.patience = check_int(patience, "patience", 0)
        self.verbose = check_int(verbose, "verbose", 0)
        self.min_delta = abs(check_number(min_delta, "min_delta"))
        self.cooldown = check_int(cooldown, "cooldown", 0)
        self.min_lr = check_number(min_lr, "min_lr", 0)

    def on_train_begin(self, logs=None):
        _learning_rate(self.model, "ReduceLROnPlateau")
        self.better, mode = _monitor_improves("ReduceLROnPlateau", self.monitor, self.mode,
                                              self.model)
        self.sign = 1 if mode == "max" else -1
        self.best = None
        self.wait = self.cooldown_counter = 0

    def _improves(self, value) -> bool:
        return self.best is None or self.better(value - self.sign * self.min_delta, self.best)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        lr = logs["learning_rate"] = _learning_rate(self.model, "ReduceLROnPlateau")
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"ReduceLROnPlateau: monitor {self.monitor!r} is not in the logs "
                          f"(available: {', '.join(sorted(logs))}); the rate is unchanged",
                          RuntimeWarning, stacklevel=2)
            return
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._improves(current):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and lr > self.min_lr:
                new_lr = max(lr * self.factor, self.min_lr)
                _set_learning_rate(self.model, new_lr)
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to "
                          f"{new_lr}.")
                self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)`` (epoch
    from 0, lr the current rate; a ``schedule(epoch)`` of one argument works too, as in
    Keras), and add the rate to the epoch's logs as ``learning_rate``."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"schedule must be a function schedule(epoch, lr) -> lr; got "
                            f"{type(schedule).__name__} {schedule!r:.60}")
        self.schedule = schedule
        self.verbose = check_int(verbose, "verbose", 0)
        try:
            inspect.signature(schedule).bind(0, 0.1)
            self.takes_lr = True
        except TypeError:
            self.takes_lr = False
        except ValueError:  # a builtin without a signature: try Keras' two arguments
            self.takes_lr = True

    def on_epoch_begin(self, epoch, logs=None):
        lr = _learning_rate(self.model, "LearningRateScheduler")
        new_lr = self.schedule(epoch, lr) if self.takes_lr else self.schedule(epoch)
        if isinstance(new_lr, (bool, np.bool_)) or not isinstance(new_lr, numbers.Real) \
                or not math.isfinite(new_lr) or new_lr < 0:
            raise ValueError(f"LearningRateScheduler: schedule({epoch}, {lr!r}) must return a "
                             f"learning rate (a finite number >= 0); got "
                             f"{type(new_lr).__name__} {new_lr!r:.60}")
        _set_learning_rate(self.model, float(new_lr))
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to "
                  f"{float(new_lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = _learning_rate(self.model, "LearningRateScheduler")


class TerminateOnNaN(Callback):
    """Stop training at the first batch whose loss is NaN or infinite (with a warning)."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            warnings.warn(f"batch {batch}: invalid loss {loss}, terminating training",
                          RuntimeWarning, stacklevel=2)
            self.model.stop_training = True
