"""Keras 3's HDF5 weights layout: ``model.weights.h5`` inside a ``.keras`` file, and the
``.weights.h5`` files of ``save_weights`` / ``load_weights``.

Keras finds a layer's weights by where the layer sits, not by its name::

    layers/conv2d/vars/0          the first Conv2D's kernel
    layers/conv2d/vars/1          its bias
    layers/conv2d_1/vars/0        the second Conv2D's kernel
    layers/sequential/layers/dense/vars/0    a nested model's Dense
    optimizer/vars/0, 1, …        the optimizer's iteration count, learning rate, slots
    vars                          the model's own (none for a Sequential)

Each path is the snake_case class name, numbered by class within its model; each ``vars``
group holds that layer's weights in Keras' order (kernel, bias; gamma, beta, moving mean,
moving variance) and the layer's name as an attribute. Reading checks every array's place,
count, shape and dtype before anything is assigned, follows no links, and reads no data
until its shape is known to fit.
"""

from __future__ import annotations

import io
import os

import numpy as np

from ..checks import check_path
from . import keras_compile
from .atomic import write_atomically

INSTALL = "pip install h5py (or pip install tinygrad_cnn[keras])"


def require_h5py(path: str):
    """The h5py module, or ImportError saying how to install it."""
    try:
        import h5py
    except ImportError:
        raise ImportError(f"{path}: Keras' .keras and .weights.h5 files hold HDF5, which "
                          f"needs the h5py package: {INSTALL}") from None
    return h5py


def layer_groups(model) -> list[tuple[str, object]]:
    """(Keras' path, layer) for every layer of ``model``, nested models' layers included."""
    found = []

    def walk(layers, prefix: str) -> None:
        used: dict[str, int] = {}
        for layer in layers:
            # base_name is the class name in snake_case, the rule Keras names paths by
            n = used[layer.base_name] = used.get(layer.base_name, -1) + 1
            path = f"{prefix}layers/{layer.base_name}" + (f"_{n}" if n else "")
            found.append((path, layer))
            walk(layer.layers, f"{path}/")

    walk(model.layers, "")
    return found


def _own_weights(layer) -> list:
    """A layer's own weights: a model has none, its layers hold them."""
    return [] if layer.layers else layer.weights


# ------------------------------------------------------------------------- writing
def to_bytes(model, optimizer: tuple[str, list[np.ndarray]] | None, path: str) -> bytes:
    """The HDF5 file Keras writes for ``model`` (and ``optimizer``: its name and variables)."""
    h5py = require_h5py(path)
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        for group_path, layer in layer_groups(model):
            _write_group(f, f"{group_path}/vars", layer.name,
                         [w.data for w in _own_weights(layer)])
        if optimizer is not None:
            _write_group(f, "optimizer/vars", *optimizer)
        _write_group(f, "vars", model.name, [])
    return buffer.getvalue()


def _write_group(f, path: str, name: str, arrays: list[np.ndarray]) -> None:
    group = f.create_group(path)
    group.attrs["name"] = name
    for i, array in enumerate(arrays):
        group[str(i)] = array


# ------------------------------------------------------------------------- reading
def open_file(h5py, source, label: str):
    """An open h5py.File for a path or bytes, or ValueError when it is not HDF5."""
    try:
        return h5py.File(io.BytesIO(source) if isinstance(source, bytes) else source, "r")
    except OSError as exc:
        raise ValueError(f"{label} is not a readable HDF5 file ({exc}); Keras' weights files "
                         f"are written by model.save('m.keras') or "
                         f"save_weights('m.weights.h5')") from None


def _child(group, key: str, label: str):
    """``group[key]`` when it is stored in this file (a link could reach outside it)."""
    link = group.get(key, getlink=True)
    if link is None:
        return None
    if type(link).__name__ != "HardLink":
        raise ValueError(f"{label}: {group.name}/{key} is a {type(link).__name__}; Keras' "
                         f"weights files hold no links, so it is not read")
    return group[key]


def _arrays_in(f, path: str, label: str, kinds: str = "f") -> list | None:
    """The datasets ``0, 1, …`` of the group at ``path`` (unread), or None if absent."""
    group = f
    for part in path.split("/"):
        group = _child(group, part, label)
        if group is None:
            return None
    if not hasattr(group, "keys"):
        raise ValueError(f"{label}: {path} is not a group")
    keys = list(group.keys())
    if sorted(keys, key=lambda k: (len(k), k)) != [str(i) for i in range(len(keys))]:
        raise ValueError(f"{label}: {path} holds {sorted(keys)}; Keras numbers a layer's "
                         f"weights 0, 1, 2, …")
    datasets = [_child(group, str(i), label) for i in range(len(keys))]
    for i, ds in enumerate(datasets):
        if not hasattr(ds, "dtype") or ds.external or ds.is_virtual:
            raise ValueError(f"{label}: {path}/{i} is not an array stored in the file")
        if ds.dtype.kind not in kinds:
            raise ValueError(f"{label}: {path}/{i} has dtype {ds.dtype}; supported: "
                             f"float32 and float64 weights")
    return datasets


def read_layer_arrays(model, f, label: str) -> list[tuple[object, np.ndarray]]:
    """(weight Tensor, its array) for every weight of ``model``, all checked first; the
    file may hold nothing else under ``layers/`` (ValueError naming what does not fit)."""
    planned, groups = [], layer_groups(model)
    for path, layer in groups:
        own = _own_weights(layer)
        datasets = _arrays_in(f, f"{path}/vars", label) or []
        where = f"layer '{layer.name}' ({type(layer).__name__})"
        if len(datasets) != len(own):
            names = ", ".join(w.name.rsplit(".", 1)[-1] for w in own) or "none"
            raise ValueError(f"{label}: {path}/vars holds {len(datasets)} arrays, but {where} "
                             f"has {len(own)} weights ({names}); the file was written for "
                             f"another architecture")
        for ds, tensor in zip(datasets, own):
            if ds.shape != tensor.shape:
                raise ValueError(f"{label}: {where}: {tensor.name} has shape {tensor.shape} "
                                 f"but {path}/vars holds {ds.shape}")
            planned.append((tensor, ds))
    _refuse_extra_layers(f, {path for path, _ in groups}, label)
    return [(tensor, np.asarray(ds[()])) for tensor, ds in planned]


def _refuse_extra_layers(f, known: set[str], label: str) -> None:
    """Weights the file holds for layers this model lacks would be silently dropped."""
    extra = []

    def walk(group, path: str) -> None:
        for key in group.keys():
            child = _child(group, key, label)
            if not hasattr(child, "keys"):
                continue  # a dataset outside any vars group holds no layer's weights
            if key != "vars":
                walk(child, f"{path}/{key}")
            elif path not in known and len(child):
                extra.append(path)

    layers = _child(f, "layers", label)
    if layers is not None:
        walk(layers, "layers")
    if extra:
        raise ValueError(f"{label} holds weights for layers this model does not have: "
                         f"{', '.join(sorted(extra))}; it was written for another "
                         f"architecture")


def read_optimizer_arrays(f, label: str) -> list[np.ndarray] | None:
    datasets = _arrays_in(f, "optimizer/vars", label, kinds="fiu")
    return None if datasets is None else [np.asarray(ds[()]) for ds in datasets]


def assign(pairs) -> None:
    """Give each weight its array (only after every one was checked)."""
    for tensor, array in pairs:
        tensor.data = array.astype(tensor.dtype)
        tensor.grad = None


# ------------------------------------------------------------ .weights.h5 files
def save_weights(model, path) -> None:
    """Keras' ``save_weights`` file: the layers' weights, and the optimizer's state when the
    model is compiled, as Keras writes both."""
    path = check_path(path, example="'model.weights.h5'")
    data = to_bytes(model, keras_compile.optimizer_group(model), path)
    write_atomically(path, lambda f: f.write(data))


def load_weights(model, path) -> None:
    """The layers' weights from Keras' layout (the optimizer's state, if any, is left)."""
    path = check_path(path, example="'model.weights.h5'")
    if not os.path.exists(path):
        raise FileNotFoundError(f"weights file not found: {path}")
    h5py = require_h5py(path)
    with open_file(h5py, path, path) as f:
        pairs = read_layer_arrays(model, f, path)
    assign(pairs)
