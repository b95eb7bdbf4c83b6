"""Weights files: ``.npz`` keyed ``layer_name.weight_name``, written atomically, loaded safely.

A load checks every key, shape and dtype before it assigns anything, so a load that fails
for any reason leaves the model's weights unchanged. A name ending in ``.weights.h5`` uses
Keras' own layout instead (``keras_h5``). A whole-model file (``model.save``) is the same
plus ``CONFIG_KEY`` (the architecture as a JSON string) and, for a compiled model, the
optimizer's state under ``OPTIMIZER_PREFIX``.
"""

from __future__ import annotations

import zipfile

import numpy as np

from ..checks import check_path
from . import keras_h5
from .atomic import write_atomically

CONFIG_KEY = "__model_config__"  # the architecture's JSON in files written by model.save
OPTIMIZER_PREFIX = "__optimizer__/"  # the optimizer's state in files written by model.save


def write_npz_atomically(path: str, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez`` to a temp file in the same folder, then one rename onto ``path``."""
    write_atomically(path, lambda f: np.savez(f, **arrays))


def read_npz(path: str) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` file, read without pickle; a clear error for anything else."""
    try:
        f = np.load(path, allow_pickle=False)
        if not isinstance(f, np.lib.npyio.NpzFile):  # an .npy file: one bare array
            raise ValueError("it holds a single array, not named weights")
        with f:
            return {key: f[key] for key in f.files}
    except FileNotFoundError:
        raise FileNotFoundError(f"weights file not found: {path}") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(f"{path} is not a readable weights file (.npz from "
                         f"save_weights): {exc}") from None


KERAS_WEIGHTS = ".weights.h5"  # Keras' weights-only layout (keras_h5); other names: .npz


def save_weights(model, path) -> None:
    path = check_path(path)
    if path.endswith(KERAS_WEIGHTS):
        return keras_h5.save_weights(model, path)
    write_npz_atomically(path, model.state_dict())


def load_weights(model, path) -> None:
    path = check_path(path)
    if path.endswith(KERAS_WEIGHTS):
        return keras_h5.load_weights(model, path)
    stored = read_npz(path)
    stored.pop(CONFIG_KEY, None)  # a whole-model file holds the weights too
    pop_optimizer_state(stored)
    assign_weights(model, stored, path)


def pop_optimizer_state(stored: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Take the optimizer's entries out of ``stored``, their keys without the prefix."""
    keys = [k for k in stored if k.startswith(OPTIMIZER_PREFIX)]
    return {k[len(OPTIMIZER_PREFIX):]: stored.pop(k) for k in keys}


def assign_weights(model, stored: dict[str, np.ndarray], path) -> None:
    """Give every weight of ``model`` its array in ``stored``, or change nothing (ValueError)."""
    expected = model.named_tensors()
    missing = [k for k in expected if k not in stored]
    extra = [k for k in stored if k not in expected]
    if missing or extra:
        problems = []
        if missing:
            problems.append(f"missing {', '.join(missing)}")
        if extra:
            problems.append(f"unexpected {', '.join(extra)}")
        raise ValueError(
            f"weights file {path} does not match this model ({'; '.join(problems)}). The "
            f"model's layers are {[layer.name for layer in model.layers]}"
        )
    for key, tensor in expected.items():
        if stored[key].shape != tensor.shape:
            layer = key.rsplit(".", 1)[0]
            raise ValueError(f"layer '{layer}': {key} in {path} has shape "
                             f"{stored[key].shape} but the model expects {tensor.shape}")
        if stored[key].dtype.kind not in "fiu":
            raise ValueError(f"{key} in {path} has dtype {stored[key].dtype}; expected "
                             f"numbers")
    for key, tensor in expected.items():  # everything checked: now assign
        tensor.data = stored[key].astype(tensor.dtype)
        tensor.grad = None
