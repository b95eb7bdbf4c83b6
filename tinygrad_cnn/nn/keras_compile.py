"""A compiled model's ``compile`` arguments and optimizer state in Keras 3's form, both ways.

Keras keeps the compile arguments in ``config.json`` (``compile_config``: the optimizer's
config, the loss and the metrics) and the optimizer's variables in ``model.weights.h5``
under ``optimizer/vars``: the iteration count, the learning rate, then each trainable
weight's slots in ``model.trainable_weights`` order (Adam: momentum, velocity; SGD with
momentum: momentum).

Optimizers. The classes of ``tinygrad_cnn.nn.optimizers`` follow Keras' rules and take
Keras' argument names, so their ``get_config()`` is written as Keras' config as it is.
``tc.optim.SGD`` and ``tc.optim.Adam`` (PyTorch's rules) are written as Keras' SGD and
Adam with the same hyper-parameters. SGD is then the same update. Adam differs in one
place: PyTorch adds epsilon to √v̂ (v bias-corrected), Keras to √v, so with the default
epsilon the two take steps that differ by about epsilon relative to √v. A PyTorch-style
``weight_decay`` (an L2 term in the gradient) has no Keras counterpart (Keras' is
decoupled) and is refused.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from .. import losses, optim
from .. import metrics as metrics_module
from ..checks import user_stacklevel
from .keras_values import KerasConfig, keras_object

# the options every Keras optimizer config carries, at the values that change nothing
_OPTIMIZER_BASE = {"weight_decay": None, "clipnorm": None, "global_clipnorm": None,
                   "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
                   "ema_overwrite_frequency": None, "loss_scale_factor": None,
                   "gradient_accumulation_steps": None}
_LOSS_EXTRAS = {"SparseCategoricalCrossentropy": {"ignore_class": None},
                "CategoricalCrossentropy": {"label_smoothing": 0.0, "axis": -1},
                "BinaryCrossentropy": {"label_smoothing": 0.0, "axis": -1},
                "MeanSquaredError": {}, "MeanAbsoluteError": {}}
_METRICS = {"SparseCategoricalAccuracy": "sparse_categorical_accuracy",
            "CategoricalAccuracy": "categorical_accuracy", "BinaryAccuracy": "binary_accuracy",
            "MeanSquaredError": "mean_squared_error", "MeanAbsoluteError": "mean_absolute_error"}


def _float32(value: float) -> float:
    """Keras writes a learning rate as its float32 value (0.0010000000474974513); the
    shortest decimal of that float32 gives back what the user typed (0.001)."""
    return float(str(np.float32(value)))


# ---------------------------------------------------------------- the optimizers
def _sgd_to_keras(opt) -> tuple[str, dict]:
    _no_coupled_decay(opt)
    return "SGD", {"learning_rate": opt.learning_rate, "momentum": opt.momentum,
                   "nesterov": opt.nesterov}


def _adam_to_keras(opt) -> tuple[str, dict]:
    _no_coupled_decay(opt)
    return "Adam", {"learning_rate": opt.learning_rate, "beta_1": opt.betas[0],
                    "beta_2": opt.betas[1], "epsilon": opt.eps, "amsgrad": False}


def _no_coupled_decay(opt) -> None:
    if opt.weight_decay:
        raise ValueError(f"optimizer {type(opt).__name__} weight_decay={opt.weight_decay} "
                         f"(PyTorch's L2 term in the gradient) cannot be written for Keras, "
                         f"whose weight_decay is decoupled; compile with weight_decay=0, or "
                         f"save the model as .npz")


def _sgd_from_keras(r: KerasConfig):
    return optim.SGD(learning_rate=_float32(r.require("learning_rate")),
                     momentum=r.take("momentum", 0.0), nesterov=r.take("nesterov", False))


def _adam_from_keras(r: KerasConfig):
    r.neutral("amsgrad", False)
    return optim.Adam(learning_rate=_float32(r.require("learning_rate")),
                      betas=(r.take("beta_1", 0.9), r.take("beta_2", 0.999)),
                      eps=r.take("epsilon", 1e-7))


# Keras' variables after the iteration count and the learning rate are each trainable
# weight's slots; here is how this library's optimizers hold them. Keras' SGD momentum m
# (p += m) is −lr times PyTorch's buffer b (p −= lr·b), for a learning rate that stays the
# same. PyTorch's SGD counts no steps (Keras' count only drives schedules): it writes 0.
def _sgd_state(opt) -> tuple[int, list[np.ndarray]]:
    if not opt.momentum:
        return 0, []
    return 0, [-opt.learning_rate * (np.zeros_like(p.data) if b is None else b)
               for p, b in zip(opt.params, opt.velocity)]


def _set_sgd_state(opt, iterations: int, slots: list[np.ndarray]) -> None:
    if opt.momentum:
        opt.velocity = [(-m / opt.learning_rate).astype(p.dtype)
                        for p, m in zip(opt.params, slots)]


def _adam_state(opt) -> tuple[int, list[np.ndarray]]:
    return max(opt.steps, default=0), [a for m, v in zip(opt.m, opt.v) for a in (m, v)]


def _set_adam_state(opt, iterations: int, slots: list[np.ndarray]) -> None:
    opt.m = [s.astype(p.dtype) for p, s in zip(opt.params, slots[0::2])]
    opt.v = [s.astype(p.dtype) for p, s in zip(opt.params, slots[1::2])]
    opt.steps = [iterations] * len(opt.params)


class Translation(NamedTuple):
    """One optimizer class both ways: its config and its state."""

    cls: type
    to_keras: Callable  # opt → (Keras class name, config)
    from_keras: Callable  # KerasConfig → opt
    state: Callable  # opt → (iterations, slots in Keras' order)
    set_state: Callable  # (opt, iterations, slots) → None


OPTIMIZERS = {  # Keras class name → its translation
    "SGD": Translation(optim.SGD, _sgd_to_keras, _sgd_from_keras, _sgd_state, _set_sgd_state),
    "Adam": Translation(optim.Adam, _adam_to_keras, _adam_from_keras, _adam_state,
                        _set_adam_state),
}


def _translation(opt) -> Translation | None:
    """The translation of ``opt``'s exact class (a subclass may compute otherwise)."""
    return next((row for row in OPTIMIZERS.values() if type(opt) is row.cls), None)


def optimizer_to_keras(opt) -> dict:
    """Keras' serialized optimizer for a compiled model's ``optimizer``."""
    if type(opt).__module__ == "tinygrad_cnn.nn.optimizers":  # Keras' rules and names
        class_name, config = type(opt).__name__, dict(opt.get_config())
    elif _translation(opt) is not None:
        class_name, config = _translation(opt).to_keras(opt)
    else:
        raise ValueError(f"optimizer {type(opt).__name__} cannot be written for Keras; "
                         f"supported: tc.optim's {' and '.join(OPTIMIZERS)}, and the "
                         f"optimizers of nn.optimizers")
    learning_rate = float(np.float32(config.pop("learning_rate")))  # Keras' variable's value
    return keras_object("keras.optimizers", class_name, {
        "name": class_name.lower(), "learning_rate": learning_rate, **_OPTIMIZER_BASE,
        **config})


def optimizer_group(model) -> tuple[str, list[np.ndarray]] | None:
    """(name, variables) of ``optimizer/vars`` as Keras writes them for a compiled model:
    the iteration count, the learning rate, then the slots of each trainable weight. None
    when this module cannot translate the state (Keras then starts that optimizer afresh).
    Only the count and rate are written when the optimizer is not bound to exactly the
    model's trainable weights (a layer frozen since ``compile``), as Keras does for an
    optimizer it has not built."""
    compile_config = compile_to_keras(model)
    found = compile_config and _translation(model.optimizer)
    if not found:
        return None
    opt = model.optimizer
    name = compile_config["optimizer"]["config"]["name"]
    rate = np.array(opt.learning_rate, np.float32)
    if opt.params is None or [id(p) for p in opt.params] != [
            id(w) for w in model.trainable_weights]:
        return name, [np.array(0, np.int64), rate]
    iterations, slots = found.state(opt)
    return name, [np.array(iterations, np.int64), rate, *slots]


def restore_optimizer(opt, arrays: list[np.ndarray], source: str) -> None:
    """Put Keras' ``optimizer/vars`` into ``opt`` (bound by ``compile``); when they do not
    fit its trainable weights, warn and change nothing, as Keras does."""
    found = _translation(opt)
    if found is None or (len(arrays) == 2 and int(arrays[0]) == 0):
        return  # Keras' optimizer before its first step: nothing to carry over
    # the slots a just-bound optimizer holds give the shapes to expect
    fresh = found.state(opt)[1] if opt.params is not None else []
    shapes = [(), ()] + [a.shape for a in fresh]
    if [a.shape for a in arrays] != shapes:  # Keras warns and starts afresh too
        warnings.warn(f"{source}: optimizer/vars holds {len(arrays)} arrays but "
                      f"{type(opt).__name__} for this model's trainable weights keeps "
                      f"{len(shapes)}, so the optimizer starts afresh (its learning rate "
                      f"and other arguments are as saved)", stacklevel=user_stacklevel())
        return
    opt.learning_rate = _float32(arrays[1])  # a callback may have changed it since compile
    found.set_state(opt, int(arrays[0]), list(arrays[2:]))


# ------------------------------------------------------------- compile_config
def compile_to_keras(model) -> dict:
    """Keras' ``compile_config`` for ``model``: {} when it is not compiled, or when its loss
    or a metric is a custom callable that no name rebuilds (as ``model.save`` does)."""
    ours = model.get_compile_config()
    if ours is None:
        return {}
    return {"optimizer": optimizer_to_keras(model.optimizer),
            "loss": _loss_to_keras(model.loss), "loss_weights": None,
            "metrics": list(ours["metrics"]) or None, "weighted_metrics": None,
            "run_eagerly": False, "steps_per_execution": 1, "jit_compile": True}


def _loss_to_keras(loss):
    config = loss.get_config()
    class_name = type(loss).__name__
    if not config.get("from_logits") and config["name"] == type(loss).default_name:
        return config["name"]  # what Keras writes for compile(loss="mean_squared_error")
    options = {"from_logits": config["from_logits"]} if "from_logits" in config else {}
    return keras_object("keras.losses", class_name, {
        "name": config["name"], "reduction": "sum_over_batch_size", **options,
        **_LOSS_EXTRAS[class_name]})


def compile_from_keras(config, where: str) -> dict:
    """``compile``'s arguments for Keras' ``compile_config``; ValueError for anything this
    library cannot compute (another optimizer or loss, loss weights, a schedule, …)."""
    r = KerasConfig(config, f"{where}: compile_config")
    r.absent("loss_weights", "weighted_metrics")
    for key in ("run_eagerly", "steps_per_execution", "jit_compile", "auto_scale_loss"):
        r.take(key)  # how Keras runs, not what it computes
    arguments = {"optimizer": _optimizer_from_keras(r.require("optimizer"), r.where),
                 "loss": _loss_from_keras(r.require("loss"), r.where),
                 "metrics": [_metric_from_keras(m, r.where) for m in _list(
                     r.take("metrics"), r.where)]}
    r.finish()
    return arguments


def _list(metrics, where: str) -> list:
    if metrics is None:
        return []
    if not isinstance(metrics, list):
        raise ValueError(f"{where}: metrics {metrics!r:.80} cannot be translated; supported: "
                         f"a list (one output)")
    return metrics


def _builtin(entry, module: str, known, where: str, what: str) -> KerasConfig:
    if (not isinstance(entry, dict) or entry.get("module") != module
            or entry.get("registered_name") not in (None, entry.get("class_name"))
            or entry.get("class_name") not in known):
        shown = entry.get("class_name", entry) if isinstance(entry, dict) else entry
        raise ValueError(f"{where}: {what} {shown!r:.80} cannot be translated; supported: "
                         f"{', '.join(sorted(known))}")
    return KerasConfig(entry.get("config"), f"{where}: {what} {entry['class_name']}")


def _optimizer_from_keras(entry, where: str):
    r = _builtin(entry, "keras.optimizers", OPTIMIZERS, where, "optimizer")
    if isinstance(r.config.get("learning_rate"), dict):
        raise ValueError(f"{r.where}: a learning-rate schedule cannot be translated; "
                         f"supported: a constant learning_rate")
    r.take("name")
    r.take("ema_momentum")  # used only with use_ema
    for key, value in _OPTIMIZER_BASE.items():
        if key != "ema_momentum":
            r.neutral(key, value)
    optimizer = OPTIMIZERS[entry["class_name"]].from_keras(r)
    r.finish()
    return optimizer


def _loss_from_keras(entry, where: str):
    if isinstance(entry, str):
        if entry not in losses.NAMES:
            raise ValueError(f"{where}: loss {entry!r} cannot be translated; supported: "
                             f"{', '.join(sorted(losses.NAMES))}")
        return entry
    r = _builtin(entry, "keras.losses", _LOSS_EXTRAS, where, "loss")
    name = r.take("name")
    r.neutral("reduction", "sum_over_batch_size")
    for key, value in _LOSS_EXTRAS[entry["class_name"]].items():
        r.neutral(key, value)
    options = {"from_logits": r.take("from_logits", False)} if "from_logits" in r.config else {}
    r.take("dtype")  # the loss computes in its inputs' dtype here
    r.finish()
    return getattr(losses, entry["class_name"])(name=name, **options)


def _metric_from_keras(entry, where: str):
    if isinstance(entry, str):
        if entry not in metrics_module.NAMES:
            raise ValueError(f"{where}: metric {entry!r} cannot be translated; supported: "
                             f"{', '.join(sorted(metrics_module.NAMES))}")
        return entry
    r = _builtin(entry, "keras.metrics", _METRICS, where, "metric")
    name = r.take("name")
    r.take("dtype")  # the precision of Keras' running mean, float64 here
    if entry["class_name"] == "BinaryAccuracy":
        r.neutral("threshold", 0.5)
    r.finish()
    key = _METRICS[entry["class_name"]]
    return key if name in (None, key) else metrics_module.NAMES[key](name=name)
