"""A compiled model's ``compile`` arguments and optimizer state in Keras 3's form, both ways.

Keras keeps the compile arguments in ``config.json`` (``compile_config``: the optimizer's
config, the loss and the metrics) and the optimizer's variables in ``model.weights.h5``
under ``optimizer/vars``: the iteration count, the learning rate, then the slots of the
trainable weights in the order ``SLOT_GROUPS`` gives.

Optimizers. ``nn.optimizers`` is ``keras.optimizers``: the same rules, argument names and
slot names, so an optimizer's ``get_config()`` is Keras' config as it is, and its state
arrays are Keras' variables, reordered. ``tc.optim`` follows PyTorch's rules, which no
Keras optimizer has: a ``.keras`` file cannot hold such a model's compile arguments, and
``model.save`` says so rather than hand Keras another optimizer (``.npz`` keeps it).
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import losses
from .. import metrics as metrics_module
from ..checks import user_stacklevel
from . import optimizers
from .keras_values import KerasConfig, keras_object

# the options of Keras' optimizer config that nn.optimizers leaves out, at the values
# that change nothing (ema_momentum is read only with use_ema)
_LEFT_OUT = {"use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
             "loss_scale_factor": None, "gradient_accumulation_steps": None}
_LOSS_EXTRAS = {"SparseCategoricalCrossentropy": {"ignore_class": None},
                "CategoricalCrossentropy": {"label_smoothing": 0.0, "axis": -1},
                "BinaryCrossentropy": {"label_smoothing": 0.0, "axis": -1},
                "MeanSquaredError": {}, "MeanAbsoluteError": {}}
_METRICS = {"SparseCategoricalAccuracy": "sparse_categorical_accuracy",
            "CategoricalAccuracy": "categorical_accuracy", "BinaryAccuracy": "binary_accuracy",
            "MeanSquaredError": "mean_squared_error", "MeanAbsoluteError": "mean_absolute_error"}

# Keras' class name → the nn.optimizers class with its rules
KERAS_OPTIMIZERS = {cls.__name__: cls for cls in optimizers.NAMES.values()}

# How each Keras optimizer's build() orders its slots: one add_optimizer_variables call per
# group, and a call with several names interleaves them weight by weight (Adam: the first
# weight's momentum and velocity, then the second's, …, then every velocity_hat). A name
# the optimizer does not keep with its settings (SGD's momentum at momentum=0, RMSprop's
# average_gradient when not centered) is left out, as build() leaves it out.
SLOT_GROUPS = {
    "SGD": (("momentum",),),
    "Adam": (("momentum", "velocity"), ("velocity_hat",)),
    "AdamW": (("momentum", "velocity"), ("velocity_hat",)),
    "RMSprop": (("velocity",), ("momentum",), ("average_gradient",)),
    "Adagrad": (("accumulator",),),
}


def _float32(value: float) -> float:
    """Keras writes a learning rate as its float32 value (0.0010000000474974513); the
    shortest decimal of that float32 gives back what the user typed (0.001)."""
    return float(str(np.float32(value)))


def _keras_class(opt) -> str | None:
    """The Keras class ``opt`` is the twin of: only nn.optimizers' own classes (a subclass
    may compute otherwise)."""
    name = type(opt).__name__
    return name if KERAS_OPTIMIZERS.get(name) is type(opt) else None


# ---------------------------------------------------------------- the optimizers
def optimizer_to_keras(model) -> dict:
    """Keras' serialized optimizer for a compiled model's ``optimizer``; ValueError for
    one that follows PyTorch's rules."""
    opt = model.optimizer
    class_name = _keras_class(opt)
    if class_name is None:
        twin = type(opt).__name__ if type(opt).__name__ in KERAS_OPTIMIZERS else "Adam"
        raise ValueError(f"model '{model.name}' is compiled with {opt.namespace}."
                         f"{type(opt).__name__}, which follows {opt.follows}'s rules; Keras "
                         f"has no optimizer with those rules, so a .keras file cannot hold "
                         f"it. Compile with nn.optimizers.{twin}(learning_rate=...) "
                         f"(keras.optimizers' rules) to save for Keras, or save as .npz "
                         f"(model.save('model.npz')), which keeps it")
    config = opt.get_config()
    return keras_object("keras.optimizers", class_name, {
        "name": config.pop("name"),
        "learning_rate": float(np.float32(config.pop("learning_rate"))),  # Keras' variable
        **_LEFT_OUT, **config})


def keras_slots(opt) -> list[tuple[int, str]]:
    """(parameter index, state name) of each of Keras' slot variables, in Keras' order."""
    kept = set(opt.state_names)
    order = []
    for group in SLOT_GROUPS[type(opt).__name__]:
        names = [name for name in group if name in kept]
        order += [(i, name) for i in range(len(opt.params or ())) for name in names]
    return order


def optimizer_group(model) -> tuple[str, list[np.ndarray]] | None:
    """(name, variables) of ``optimizer/vars`` as Keras writes them for a compiled model:
    the iteration count, the learning rate, then the slots. None when the model is not
    compiled, its compile arguments cannot be named, or its optimizer follows PyTorch's
    rules (``save_weights`` then writes the layers alone). Only the count and rate are
    written when the optimizer is not bound to exactly the model's trainable weights (a
    layer frozen since ``compile``), as Keras does for an optimizer it has not built."""
    opt = model.optimizer
    if model.get_compile_config() is None or _keras_class(opt) is None:
        return None
    rate = np.array(opt.learning_rate, np.float32)
    if opt.params is None or [id(p) for p in opt.params] != [
            id(w) for w in model.trainable_weights]:
        return opt.name, [np.array(0, np.int64), rate]
    slots = [(opt.state[i] or opt.init_state(opt.params[i].data))[name]
             for i, name in keras_slots(opt)]  # a weight not updated yet: its initial state
    return opt.name, [np.array(opt.iterations, np.int64), rate, *slots]


def restore_optimizer(opt, arrays: list[np.ndarray], source: str) -> None:
    """Put Keras' ``optimizer/vars`` into ``opt`` (bound by ``compile``); when they do not
    fit its trainable weights, warn and change nothing, as Keras does."""
    if len(arrays) == 2 and int(arrays[0]) == 0:
        return  # Keras' optimizer before its first step: nothing to carry over
    slots = keras_slots(opt)
    shapes = [(), ()] + [opt.params[i].shape for i, _ in slots]
    if [a.shape for a in arrays] != shapes:  # Keras warns and starts afresh too
        warnings.warn(f"{source}: optimizer/vars holds {len(arrays)} arrays but "
                      f"{type(opt).__name__} for this model's trainable weights keeps "
                      f"{len(shapes)}, so the optimizer starts afresh (its learning rate "
                      f"and other arguments are as saved)", stacklevel=user_stacklevel())
        return
    state = {"iterations": arrays[0]}
    state.update((f"{i}/{name}", a) for (i, name), a in zip(slots, arrays[2:]))
    try:
        opt.set_state(state)
    except ValueError as exc:
        raise ValueError(f"{source}: optimizer/vars: {exc}") from None
    opt.learning_rate = _float32(arrays[1])  # a callback may have changed it since compile


# ------------------------------------------------------------- compile_config
def compile_to_keras(model) -> dict:
    """Keras' ``compile_config`` for ``model``: {} when it is not compiled, or when its
    optimizer, loss or a metric is a class or callable of the user's that no name rebuilds
    (as ``model.save`` does); ValueError for a ``tc.optim`` optimizer."""
    ours = model.get_compile_config()
    if ours is None:
        return {}
    return {"optimizer": optimizer_to_keras(model),
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
    r = _builtin(entry, "keras.optimizers", KERAS_OPTIMIZERS, where, "optimizer")
    if isinstance(r.config.get("learning_rate"), dict):
        raise ValueError(f"{r.where}: a learning-rate schedule cannot be translated; "
                         f"supported: a constant learning_rate")
    learning_rate = r.require("learning_rate")
    if isinstance(learning_rate, float):  # anything else: the constructor says what it takes
        learning_rate = _float32(learning_rate)
    r.neutral("use_ema", False)
    r.take("ema_momentum")
    for key in ("ema_overwrite_frequency", "loss_scale_factor",
                "gradient_accumulation_steps"):
        r.neutral(key, None)
    cls = KERAS_OPTIMIZERS[entry["class_name"]]
    arguments = {key: r.take(key) for key in cls().get_config() if key in r.config}
    r.finish()
    try:
        return cls(learning_rate=learning_rate, **arguments)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{r.where}: {exc}") from None


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
