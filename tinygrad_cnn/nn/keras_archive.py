"""Keras 3's ``.keras`` files: a zip of ``metadata.json``, ``config.json`` and
``model.weights.h5``, written for ``keras.saving.load_model`` and read from Keras.

::

    model.save("model.keras")                # Keras opens it: same layers, same predictions
    model = nn.load_model("keras_model.keras")  # a Sequential Keras wrote, rebuilt here

``config.json`` is the architecture (``keras_layers``) with the compile arguments
(``keras_compile``); ``model.weights.h5`` every weight and the optimizer's state
(``keras_h5``). Reading checks the whole file (each layer and option, each array's place,
shape and dtype, the optimizer's state) before it returns a model, so a file that cannot
be translated gives a ValueError and no model; nothing in it is imported or run.
"""

from __future__ import annotations

import datetime
import json
import os
import zipfile

from ..checks import check_path
from . import keras_compile, keras_h5, keras_layers
from .atomic import write_atomically

KERAS_VERSION = "3.15.1"  # the Keras whose files this module writes and was checked with
CONFIG, METADATA, WEIGHTS = "config.json", "metadata.json", "model.weights.h5"
MAX_CONFIG_BYTES = 64 << 20  # a model's JSON is kilobytes; refuse to inflate a zip bomb


def save(model, path) -> None:
    """Write ``model`` (built) as a ``.keras`` file, atomically."""
    path = check_path(path, example="'model.keras'")
    config = keras_layers.serialize_model(model)
    config["compile_config"] = keras_compile.compile_to_keras(model)
    weights = keras_h5.to_bytes(model, keras_compile.optimizer_group(model), path)
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}

    def write(f) -> None:
        with zipfile.ZipFile(f, "w") as zf:
            zf.writestr(METADATA, json.dumps(metadata))
            zf.writestr(CONFIG, json.dumps(config))
            zf.writestr(WEIGHTS, weights)

    write_atomically(path, write)


def load(path, compile: bool = True):  # noqa: A002 (Keras' and load_model's name)
    """The model a ``.keras`` file holds, with its weights, compiled as it was saved (and
    its optimizer's state) when ``compile`` and the file says how."""
    path = check_path(path, example="'model.keras'")
    config, weights = _read_zip(path)
    model = keras_layers.deserialize_model(config)
    compile_config = config.get("compile_config") if compile else None
    arguments = (keras_compile.compile_from_keras(compile_config, path)
                 if compile_config else None)
    h5py = keras_h5.require_h5py(path)  # what cannot be translated is said without it
    label = f"{path} ({WEIGHTS})"
    with keras_h5.open_file(h5py, weights, label) as f:
        pairs = keras_h5.read_layer_arrays(model, f, label)
        optimizer_arrays = keras_h5.read_optimizer_arrays(f, label) if arguments else None
    keras_h5.assign(pairs)  # the model is new: nothing outside this function sees it yet
    if arguments:
        model.compile(**arguments)
        if optimizer_arrays is not None:
            keras_compile.restore_optimizer(model.optimizer, optimizer_arrays, label)
    return model


def _read_zip(path: str) -> tuple[dict, bytes]:
    if not os.path.exists(path):
        raise FileNotFoundError(f"model file not found: {path}")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            missing = [n for n in (CONFIG, WEIGHTS) if n not in names]
            if missing:
                other = (f"; its weights are in {sorted(names - {CONFIG, METADATA})}, a format "
                         f"tinygrad_cnn does not read (save in Keras with the default "
                         f"weights_format='h5')" if CONFIG in names else "")
                raise ValueError(f"{path} is not a .keras file: it lacks {', '.join(missing)}"
                                 f"{other}")
            if zf.getinfo(CONFIG).file_size > MAX_CONFIG_BYTES:
                raise ValueError(f"{path}: {CONFIG} claims {zf.getinfo(CONFIG).file_size:,} "
                                 f"bytes, too large for a model's description")
            text, weights = zf.read(CONFIG), zf.read(WEIGHTS)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"{path} is not a .keras file (a zip written by Keras 3 or "
                         f"model.save('m.keras')): {exc}") from None
    try:
        return json.loads(text), weights
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: {CONFIG} is not readable JSON ({exc})") from None
