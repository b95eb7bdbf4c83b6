"""Whole models in one ``.npz``: the architecture as JSON (each layer's ``get_config``) plus
every weight, BatchNormalization's moving statistics included. No pickle anywhere.

::

    model.save("model.npz")                  # atomically, like save_weights
    model = nn.load_model("model.npz")      # same layers, names and weights: same predictions

A compiled model's file also holds the compile arguments by name (the optimizer's family,
class and hyper-parameters with its current learning rate, the loss, the metrics) and the
optimizer's state: ``iterations`` and each parameter's arrays (Adam's moments, …), keys
``__optimizer__/iterations`` and ``__optimizer__/{weight key}/{state name}``
(``__optimizer__/dense.kernel/momentum``). ``load_model`` compiles the model again and
restores that state, so ``fit`` carries on exactly where it stopped. A custom optimizer,
loss or metric leaves the model uncompiled; an optimizer not bound to the model's current
trainable weights (one that ``fit`` would bind afresh) is saved without state.

The JSON names each layer's class (``{"class_name": "Conv2D", "config": {...}}``, Keras'
layout); classes are found among tinygrad_cnn's layers, then in ``custom_objects``.

A name ending in ``.keras`` is Keras 3's own format instead, both ways (``keras_archive``):
Keras opens what ``model.save("m.keras")`` writes, and ``load_model`` opens Keras' files.
"""

from __future__ import annotations

import json

import numpy as np

from ..checks import check_bool, check_path
from . import keras_archive, weights_io
from .layer import Layer

KERAS = ".keras"  # Keras 3's own format (keras_archive); every other name: .npz
FORMAT = "tinygrad_cnn.model"
VERSION = 2  # 2: the optimizer's family in the compile arguments, and its state


def serialize(layer: Layer) -> dict:
    """``{"class_name": …, "config": …}`` for one layer (a model's config nests its layers)."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def _tuples(value):
    """JSON gives lists back; constructors get the tuples they were given."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def deserialize(entry: dict, custom_objects: dict | None = None) -> Layer:
    """The layer ``entry`` describes, built from its config (not yet holding saved weights)."""
    if not isinstance(entry, dict) or "class_name" not in entry or "config" not in entry:
        raise ValueError(f"a layer entry must be {{'class_name': ..., 'config': {{...}}}}; got "
                         f"{entry!r:.100}")
    name = entry["class_name"]
    known = {**Layer.registry, **(custom_objects or {})}
    if name not in known:
        raise ValueError(f"cannot rebuild layer class {name!r}: it is not a tinygrad_cnn layer "
                         f"and not in custom_objects (known: {', '.join(sorted(known))}). "
                         f"Pass load_model(path, custom_objects={{{name!r}: {name}}})")
    config = _tuples(entry["config"])
    try:
        return known[name].from_config(config, custom_objects)
    except TypeError as exc:
        raise ValueError(f"cannot rebuild layer class {name!r} from its config {config!r:.200}: "
                         f"{exc}. A custom layer needs a get_config() that returns its "
                         f"constructor arguments") from None


def save_model(model, path) -> None:
    path = check_path(path, example="'model.npz'")
    if path.endswith(KERAS):
        return keras_archive.save(model, path)
    document = {"format": FORMAT, "version": VERSION, "model": serialize(model),
                "compile": model.get_compile_config()}
    arrays = dict(model.state_dict())
    if document["compile"] is not None:
        arrays.update(_optimizer_state(model))
    arrays[weights_io.CONFIG_KEY] = np.array(json.dumps(document))  # a str array: no pickle
    weights_io.write_npz_atomically(path, arrays)


def _weight_keys(model) -> list[str] | None:
    """The file key of each parameter the optimizer is bound to, or None when it is not
    bound to the model's trainable weights as they are now."""
    params = model.optimizer.params
    if params is None or [id(p) for p in params] != [id(p) for p in model.trainable_weights]:
        return None
    key_of = {id(t): key for key, t in model.named_tensors().items()}
    return [key_of[id(p)] for p in params]


def _optimizer_state(model) -> dict[str, np.ndarray]:
    """The optimizer's ``get_state()``, keyed by weight instead of parameter index."""
    keys = _weight_keys(model)
    if keys is None:
        return {}
    arrays = {}
    for key, value in model.optimizer.get_state().items():
        index, _, name = key.partition("/")
        arrays[weights_io.OPTIMIZER_PREFIX + (f"{keys[int(index)]}/{name}" if name else key)] \
            = value
    return arrays


def _restore_optimizer_state(model, saved: dict[str, np.ndarray], path) -> None:
    """Give the compiled model's optimizer the state ``_optimizer_state`` wrote (ValueError
    if it does not fit, before anything is set)."""
    keys = _weight_keys(model)
    if keys is None:
        raise ValueError(f"{path} holds optimizer state but the rebuilt model's optimizer is "
                         f"not bound to its trainable weights")
    index_of = {key: i for i, key in enumerate(keys)}
    state = {}
    for key, value in saved.items():
        weight, _, name = key.rpartition("/")
        if not weight:
            state[key] = value
        elif weight in index_of:
            state[f"{index_of[weight]}/{name}"] = value
        else:
            raise ValueError(f"{path}: optimizer state for {weight!r}, which is not a trainable "
                             f"weight of the model (those are {', '.join(keys)})")
    try:
        model.optimizer.set_state(state)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def load_model(path, custom_objects: dict | None = None, compile: bool = True):  # noqa: A002
    """The model ``model.save`` wrote to ``path``, with its weights, compiled again as it
    was, with the optimizer's state, when ``compile`` and the file says how. Any problem
    raises before the model is returned: nothing is half-loaded."""
    compile = check_bool(compile, "compile")
    path = check_path(path, example="'model.npz'")
    if path.endswith(KERAS):
        if custom_objects:
            raise ValueError(f"custom_objects rebuilds custom layers of .npz files; a .keras "
                             f"file is read through Keras' own layers only, so it cannot "
                             f"hold yours (got custom_objects for {sorted(custom_objects)})")
        return keras_archive.load(path, compile)
    if path.endswith(weights_io.KERAS_WEIGHTS):
        raise ValueError(f"{path} holds weights only (Keras' save_weights layout), not a "
                         f"model; build the model in code and call "
                         f"model.load_weights({path!r})")
    stored = weights_io.read_npz(path)
    if weights_io.CONFIG_KEY not in stored:
        raise ValueError(f"{path} holds weights only (written by save_weights), not a model; "
                         f"build the model in code and call model.load_weights({str(path)!r}), "
                         f"or write whole models with model.save(path)")
    try:
        document = json.loads(str(stored.pop(weights_io.CONFIG_KEY)))
    except ValueError as exc:
        raise ValueError(f"{path}: the model's architecture is not readable JSON ({exc})") \
            from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path}: not a tinygrad_cnn model file (format "
                         f"{document.get('format') if isinstance(document, dict) else None!r})")
    if document.get("version") not in (1, VERSION):
        raise ValueError(f"{path}: model file version {document.get('version')!r}; this "
                         f"tinygrad_cnn reads versions 1 to {VERSION}")
    optimizer_state = weights_io.pop_optimizer_state(stored)
    model = deserialize(document["model"], custom_objects)
    weights_io.assign_weights(model, stored, path)
    if compile and document.get("compile"):
        model.compile_from_config(_tuples(document["compile"]))
        if optimizer_state:
            _restore_optimizer_state(model, optimizer_state, path)
    return model
