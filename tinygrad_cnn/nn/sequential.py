"""Sequential: a Layer made of layers applied one after another, with Keras' training
methods (``nn/training.py``) and whole-model saving (``nn/saving.py``)."""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor
from . import saving, weights_io
from .layer import Layer, check_shape
from .training import TrainingMixin


class Input:
    """The input's shape (no batch axis) as the first entry of a Sequential, like
    ``keras.Input``: ``Sequential([Input((28, 28, 1)), Conv2D(…), …])`` builds at once."""

    def __init__(self, shape, dtype="float32"):
        self.shape = check_shape(shape, "Input shape")
        try:
            self.dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"Input dtype must be a float dtype such as 'float32'; got "
                            f"{dtype!r}") from None
        if self.dtype.kind != "f":
            raise ValueError(f"Input dtype must be a float dtype ('float32' or 'float64'); got "
                             f"{dtype!r}")

    def __repr__(self) -> str:
        return f"Input(shape={self.shape})"


class Sequential(TrainingMixin, Layer):
    """Layers applied one after another, as in Keras; itself a Layer, so models nest.

    Layer names are assigned here, per model, in order: the n-th unnamed Conv2D is
    ``conv2d_n`` (the first plain ``conv2d``), so the same architecture always gets the
    same names and a weights file loads into a freshly built model. A layer belongs to
    one model only.

    Args:
        layers: a list of layers (``Sequential([a, b])``, not ``Sequential(a, b)``); the
            first entry may be an ``Input(shape)``.
        name: the model's name (default ``"sequential"``).
    """

    kind = "model"

    def __init__(self, layers=None, *more_layers, name: str | None = None):
        if more_layers or isinstance(layers, Layer):
            raise TypeError("Sequential takes a list of layers: write Sequential([layer1, "
                            "layer2, ...]), not Sequential(layer1, layer2, ...)")
        if isinstance(layers, str) or not (layers is None or hasattr(layers, "__iter__")):
            raise TypeError(f"layers must be a list of tinygrad_cnn.nn layers (or None); got "
                            f"{type(layers).__name__} {layers!r:.60}")
        super().__init__(name=name)
        self._layers: list[Layer] = []
        self._declared_input: Input | None = None
        for layer in layers or []:
            self.add(layer)

    # ----------------------------------------------------------------- the layers
    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def __len__(self) -> int:
        return len(self._layers)

    def __getitem__(self, index):
        return self._layers[index]

    def __iter__(self):
        return iter(self._layers)

    def add(self, layer: Layer) -> None:
        """Append ``layer``, giving it a name unique in this model (or take an ``Input``)."""
        if isinstance(layer, Input):
            if self._layers or self._declared_input is not None:
                raise ValueError(f"{layer!r} must be the first entry of a Sequential (it "
                                 f"declares the model's input shape)")
            self._declared_input = layer
            self.dtype = layer.dtype
            return
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential takes tinygrad_cnn.nn layers; got "
                            f"{type(layer).__name__} {layer!r:.60}")
        if layer is self:
            raise ValueError("a model cannot be a layer of itself")
        if any(existing is layer for existing in self._layers):
            raise ValueError(f"layer '{layer.name}' is already in this model")
        if layer.model is not None:
            raise ValueError(f"layer '{layer.name}' already belongs to model "
                             f"'{layer.model.name}'; a layer can be in one model only, so "
                             f"create a new layer for this one")
        taken = {existing.name for existing in self._layers}
        if layer.name_given:
            if layer.name in taken:
                raise ValueError(f"layer name '{layer.name}' is used twice; names must be "
                                 f"unique within a model")
        else:
            same_kind = sum(existing.base_name == layer.base_name and not existing.name_given
                            for existing in self._layers)
            name = layer.base_name if same_kind == 0 else f"{layer.base_name}_{same_kind}"
            while name in taken:
                same_kind += 1
                name = f"{layer.base_name}_{same_kind}"
            layer.name = name
        layer.training = self.training
        layer.model = self
        if not self._layers and self._declared_input is None:
            self.dtype = layer.dtype  # inputs are cast to the first layer's dtype
        self._layers.append(layer)
        first_shape = (self._declared_input.shape if self._declared_input is not None
                       else self._layers[0].input_shape)
        if first_shape is not None:  # build everything now: summary before any data
            self.build(first_shape)

    # ----------------------------------------------------------------- shapes
    def build(self, input_shape) -> None:
        if not self._layers:
            raise ValueError("the model has no layers; add some with model.add(layer)")
        shape = tuple(input_shape)
        if shape and shape[0] is None:  # Keras' form: the batch axis first
            shape = input_shape = shape[1:]
        for layer in self._layers:
            if layer.built:
                layer.check_input_shape((None, *shape))
            else:
                layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.input_shape = tuple(input_shape)
        self.built = True

    def compute_output_shape(self, input_shape) -> tuple:
        for _, _, shape in self.layer_shapes(input_shape):
            input_shape = shape
        return tuple(input_shape)

    def layer_shapes(self, input_shape=None) -> list[tuple[Layer, tuple, tuple]]:
        """(layer, input shape, output shape) per layer, without the batch axis."""
        if input_shape is None:
            self._require_built("layer_shapes()")
            input_shape = self.input_shape
        rows = []
        for layer in self._layers:
            out = layer.compute_output_shape(input_shape)
            rows.append((layer, input_shape, out))
            input_shape = out
        return rows

    def macs(self, input_shape) -> int:
        return sum(layer.macs(shape) for layer, shape, _ in self.layer_shapes(input_shape))

    def explain(self, input_shape) -> list[str]:
        rows = self.layer_shapes(input_shape)
        params = " + ".join(f"{layer.count_params()}" for layer, _, _ in rows)
        macs = " + ".join(f"{layer.macs(shape)}" for layer, shape, _ in rows)
        return [f"params = {params} = {self.count_params():,} (its layers)",
                f"MACs = {macs} = {self.macs(input_shape):,}"]

    # ----------------------------------------------------------------- running
    @property
    def casts_floats(self) -> bool:
        return True  # a model computes in its first layer's dtype (Keras' autocasting)

    def call(self, x: Tensor, training: bool) -> Tensor:
        for layer in self._layers:
            x = layer(x, training=training)
        return x

    # ----------------------------------------------------------------- weights I/O
    def named_tensors(self) -> dict[str, Tensor]:
        """Weights keyed as in weights files: ``conv2d.kernel``, ``sequential_1.dense.bias``."""
        return {key: t for layer in self._layers for key, t in layer.named_weights().items()}

    def state_dict(self):
        """The weights-file contents: ``{"conv2d.kernel": ndarray, …}``."""
        return {key: t.data for key, t in self.named_tensors().items()}

    def save_weights(self, path) -> None:
        """Write every weight to ``path`` (.npz), atomically: a temp file, then a rename."""
        self._require_built("save_weights()")
        weights_io.save_weights(self, path)

    def load_weights(self, path) -> None:
        """Load a file written by ``save_weights``; on any error the model is unchanged."""
        self._require_built("load_weights()")
        weights_io.load_weights(self, path)

    def save(self, path) -> None:
        """Write the architecture (JSON), every weight, the compile arguments and the
        optimizer's state (Adam's moments, iterations, …) to one ``.npz``, atomically;
        ``nn.load_model(path)`` rebuilds the model, ready to ``fit`` on where it stopped."""
        self._require_built("save()")
        saving.save_model(self, path)

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict:
        return {"layers": [saving.serialize(layer) for layer in self._layers],
                "input_shape": self.input_shape, **super().get_config()}

    @classmethod
    def from_config(cls, config: dict, custom_objects: dict | None = None) -> Sequential:
        config = dict(config)
        layers = [saving.deserialize(entry, custom_objects) for entry in config.pop("layers")]
        input_shape = config.pop("input_shape", None)
        trainable = config.pop("trainable", True)
        config.pop("dtype", None)  # the first layer's
        model = cls(layers, **config)
        if input_shape is not None and not model.built:
            model.build(tuple(input_shape))
        model._trainable = trainable  # the layers carry their own flags
        return model

    def __repr__(self) -> str:
        return f"Sequential({[layer.name for layer in self._layers]})"

