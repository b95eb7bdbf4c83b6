"""Sequential: a stack of layers with summary, train/eval and safe weight files."""

from __future__ import annotations

import os
import tempfile
import zipfile

import numpy as np

from ..checks import check_bool
from ..tensor import Tensor
from .layer import Layer, as_input


class Sequential:
    """Layers applied one after another, as in Keras.

    Layer names are assigned here, per model, in order: the n-th unnamed Conv2D is
    ``conv2d_n`` (the first plain ``conv2d``), so the same architecture always gets the
    same names and a weights file loads into a freshly built model.
    """

    def __init__(self, layers=None, name: str = "sequential"):
        if not isinstance(name, str) or not name:
            raise ValueError(f"name must be a non-empty string; got {name!r}")
        if isinstance(layers, (Layer, str)) or not (layers is None
                                                    or hasattr(layers, "__iter__")):
            raise TypeError(f"layers must be a list of tinygrad_cnn.nn layers (or None); got "
                            f"{type(layers).__name__} {layers!r:.60}; wrap a single layer in "
                            f"a list")
        self.name = name
        self.layers: list[Layer] = []
        self.training = True
        for layer in layers or []:
            self.add(layer)

    def add(self, layer: Layer) -> None:
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential takes tinygrad_cnn.nn layers; got "
                            f"{type(layer).__name__} {layer!r:.60}")
        if any(existing is layer for existing in self.layers):
            raise ValueError(f"layer '{layer.name}' is already in this model")
        taken = {existing.name for existing in self.layers}
        if layer.name_given:
            if layer.name in taken:
                raise ValueError(f"layer name '{layer.name}' is used twice; names must be "
                                 f"unique within a model")
        else:
            same_kind = sum(existing.base_name == layer.base_name and not existing.name_given
                            for existing in self.layers)
            name = layer.base_name if same_kind == 0 else f"{layer.base_name}_{same_kind}"
            while name in taken:
                same_kind += 1
                name = f"{layer.base_name}_{same_kind}"
            layer.name = name
        layer.training = self.training
        self.layers.append(layer)
        self._build_from_known_shape()

    def _build_from_known_shape(self) -> None:
        """With input_shape on the first layer, build every layer now (summary before data)."""
        shape = self.layers[0].input_shape if self.layers else None
        if shape is None:
            return
        for layer in self.layers:
            if not layer.built:
                layer.build(shape)
            shape = layer.compute_output_shape(shape)

    # ----------------------------------------------------------------- running
    def __call__(self, x) -> Tensor:
        x = as_input(x, "the model")
        if not self.layers:
            raise ValueError("the model has no layers; add some with model.add(layer)")
        for layer in self.layers:
            x = layer(x)
        return x

    def train(self) -> Sequential:
        """Training mode: Dropout is active."""
        self.training = True
        for layer in self.layers:
            layer.training = True
        return self

    def eval(self) -> Sequential:
        """Inference mode: Dropout passes values through."""
        self.training = False
        for layer in self.layers:
            layer.training = False
        return self

    def parameters(self) -> list[Tensor]:
        return [p for layer in self.layers for p in layer.parameters()]

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers)

    @property
    def built(self) -> bool:
        return bool(self.layers) and all(layer.built for layer in self.layers)

    def _require_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(
                f"{what} needs a built model, and this one is not built yet: give the first "
                f"layer input_shape=(height, width, channels), or call the model on a batch once"
            )

    # ----------------------------------------------------------------- summary
    def layer_shapes(self) -> list[tuple[Layer, tuple, tuple]]:
        """(layer, input shape, output shape) per layer, without the batch axis."""
        self._require_built("layer_shapes()")
        rows, shape = [], self.layers[0].input_shape
        for layer in self.layers:
            out = layer.compute_output_shape(shape)
            rows.append((layer, shape, out))
            shape = out
        return rows

    def summary(self, print_fn=print, explain: bool = False) -> str:
        """Print and return a table: layer, output shape, parameters and MACs per example.

        With ``explain=True`` each row is followed by the formulas behind its numbers.
        """
        self._require_built("summary()")
        explain = check_bool(explain, "explain")
        if print_fn is not None and not callable(print_fn):
            raise TypeError(f"print_fn must be a callable such as print, or None; got "
                            f"{type(print_fn).__name__} {print_fn!r:.60}")
        rows = []
        for layer, in_shape, out_shape in self.layer_shapes():
            rows.append((f"{layer.name} ({type(layer).__name__})", str((None, *out_shape)),
                         f"{layer.count_params():,}", f"{layer.macs(in_shape):,}",
                         layer.explain(in_shape) if explain else []))
        head = ("Layer (type)", "Output Shape", "Param #", "MACs")
        widths = [max(len(head[i]), *(len(r[i]) for r in rows)) + 2 for i in range(4)]
        total_width = sum(widths) + 3 * 2

        def line(cells):
            return (cells[0].ljust(widths[0]) + "  " + cells[1].ljust(widths[1]) + "  "
                    + cells[2].rjust(widths[2]) + "  " + cells[3].rjust(widths[3]))

        params = self.parameters()
        total = sum(p.size for p in params)
        trainable = sum(p.size for p in params if p.requires_grad)
        nbytes = sum(p.data.nbytes for p in params)
        macs = sum(layer.macs(i) for layer, i, _ in self.layer_shapes())
        out = [f'Model: "{self.name}"', "─" * total_width, line(head), "═" * total_width]
        for r in rows:
            out.append(line(r[:4]))
            out.extend(f"    {text}" for text in r[4])
        out += ["═" * total_width,
                f"Input shape: {(None, *self.layers[0].input_shape)}",
                f"Total params: {total:,} ({_human_bytes(nbytes)})",
                f"Trainable params: {trainable:,}",
                f"Non-trainable params: {total - trainable:,}",
                f"MACs per example (forward): {macs:,}",
                "─" * total_width]
        text = "\n".join(out)
        if print_fn is not None:
            print_fn(text)
        return text

    # ----------------------------------------------------------------- weights I/O
    def state_dict(self) -> dict[str, np.ndarray]:
        """Weights keyed ``layer_name.weight_name`` (the weights-file keys)."""
        return {f"{layer.name}.{w}": t.data for layer in self.layers
                for w, t in layer.weights.items()}

    def save_weights(self, path) -> None:
        """Write every weight to ``path`` (.npz), atomically: a temp file, then a rename."""
        self._require_built("save_weights()")
        path = _weights_path(path)
        directory = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            raise ValueError(f"path {path!r} is a folder; give a file name such as "
                             f"{os.path.join(path, 'weights.npz')!r}")
        if not os.path.isdir(directory):
            raise FileNotFoundError(f"cannot write weights to {path!r}: folder {directory!r} "
                                    f"does not exist")
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".npz")
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **self.state_dict())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise

    def load_weights(self, path) -> None:
        """Load a file written by ``save_weights``; on any error the model is unchanged."""
        self._require_built("load_weights()")
        path = _weights_path(path)
        try:
            f = np.load(path, allow_pickle=False)
            if not isinstance(f, np.lib.npyio.NpzFile):  # an .npy file: one bare array
                raise ValueError("it holds a single array, not named weights")
            with f:
                stored = {key: f[key] for key in f.files}
        except FileNotFoundError:
            raise FileNotFoundError(f"weights file not found: {path}") from None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
            raise ValueError(f"{path} is not a readable weights file (.npz from "
                             f"save_weights): {exc}") from None
        expected = self.state_dict()
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
                f"model's layers are {[layer.name for layer in self.layers]}"
            )
        for key, array in expected.items():
            if stored[key].shape != array.shape:
                layer = key.rsplit(".", 1)[0]
                raise ValueError(f"layer '{layer}': {key} in {path} has shape "
                                 f"{stored[key].shape} but the model expects {array.shape}")
            if stored[key].dtype.kind not in "fiu":
                raise ValueError(f"{key} in {path} has dtype {stored[key].dtype}; expected "
                                 f"numbers")
        for layer in self.layers:  # everything checked: now assign
            for w, t in layer.weights.items():
                t.data = stored[f"{layer.name}.{w}"].astype(t.dtype)
                t.grad = None

    def __repr__(self) -> str:
        return f"Sequential({[layer.name for layer in self.layers]})"


def _weights_path(path) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike such as 'weights.npz'; got "
                        f"{type(path).__name__} {path!r:.60}")
    path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f"path must be a str or os.PathLike of str; got {path!r:.60}")
    return path


def _human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1024
