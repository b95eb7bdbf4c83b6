"""Layer: the base every Keras-style layer stands on.

A layer is built lazily: ``build(input_shape)`` creates its weights the first time it sees
an input (or at once when ``input_shape`` is given). Shapes here never include the batch.
"""

from __future__ import annotations

import re

import numpy as np

from ..checks import check_bool
from ..function import layer_scope
from ..tensor import Tensor
from . import activations, initializers


def _snake_case(class_name: str) -> str:
    """Keras' default layer names: Conv2D → conv2d, MaxPooling2D → max_pooling2d."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def as_input(x, who: str) -> Tensor:
    """What layers and models are called on: a Tensor, or an ndarray wrapped in one."""
    if isinstance(x, np.ndarray):
        return Tensor(x)
    if not isinstance(x, Tensor):
        raise TypeError(f"{who} must be called on a Tensor or ndarray; got {type(x).__name__}")
    return x


def _check_shape(input_shape, arg: str = "input_shape") -> tuple:
    if not isinstance(input_shape, (tuple, list)) or not all(
        isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n > 0
        for n in input_shape
    ):
        raise ValueError(f"{arg} must be a tuple of positive ints without the batch dimension, "
                         f"e.g. (28, 28, 1); got {input_shape!r}")
    return tuple(int(n) for n in input_shape)


class Layer:
    """Base class: subclasses define ``call`` and, when they change the shape,
    ``compute_output_shape``; layers with weights define ``build`` and ``macs``."""

    input_rank: int | None = None  # expected rank without the batch axis, if fixed
    input_axes = "..."  # what those axes are, for error messages

    def __init__(self, name: str | None = None, input_shape=None, dtype="float32"):
        if name is not None and (not isinstance(name, str) or not name):
            raise ValueError(f"name must be a non-empty string; got {name!r}")
        try:
            self.dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"dtype must be a float dtype such as 'float32'; got {dtype!r}") \
                from None
        if self.dtype.kind != "f":
            raise ValueError(f"dtype must be a float dtype ('float32' or 'float64'); got "
                             f"{dtype!r}")
        self.base_name = _snake_case(type(self).__name__)
        self._name = name or self.base_name
        self.name_given = name is not None
        self.weights: dict[str, Tensor] = {}
        self.training = True
        self.input_shape = None if input_shape is None else _check_shape(input_shape)
        self.built = False

    # ---------------------------------------------------------------- names
    @property
    def name(self) -> str:
        return self._name

    @name.setter
    def name(self, value: str) -> None:
        self._name = value
        for weight_name, tensor in self.weights.items():
            tensor.name = f"{value}.{weight_name}"

    # ---------------------------------------------------------------- weights
    def add_weight(self, weight_name: str, shape: tuple, initializer) -> Tensor:
        values = initializer(shape, self.dtype)
        arg = f"{weight_name}_initializer"  # kernel_initializer, bias_initializer
        if not isinstance(values, np.ndarray):
            raise TypeError(f"layer '{self.name}': {arg} must return an ndarray of shape "
                            f"{tuple(shape)}; got {type(values).__name__} {values!r:.60}")
        if values.shape != tuple(shape):
            raise ValueError(f"layer '{self.name}': {arg} returned shape {values.shape} for "
                             f"{weight_name}; expected {tuple(shape)}")
        tensor = Tensor(values.astype(self.dtype, copy=False), requires_grad=True,
                        name=f"{self.name}.{weight_name}")
        self.weights[weight_name] = tensor
        return tensor

    def set_weight_options(self, activation, use_bias, kernel_initializer,
                           bias_initializer) -> None:
        """The arguments that layers with a kernel and a bias (Conv2D, Dense) share."""
        self.activation, self.activation_name = activations.get(activation)
        self.use_bias = check_bool(use_bias, "use_bias")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel = self.bias = None

    def build(self, input_shape: tuple) -> None:
        """Create weights for inputs of ``input_shape`` (no batch axis)."""
        self.check_input_shape(input_shape)
        self.input_shape = tuple(input_shape)
        self.built = True

    def parameters(self) -> list[Tensor]:
        return list(self.weights.values())

    def count_params(self) -> int:
        return sum(t.size for t in self.weights.values())

    # ---------------------------------------------------------------- shapes and cost
    def check_input_shape(self, input_shape: tuple) -> None:
        if self.input_rank is not None and len(input_shape) != self.input_rank:
            raise ValueError(
                f"layer '{self.name}' ({type(self).__name__}) expects inputs of rank "
                f"{self.input_rank + 1} (batch, {self.input_axes}); got an input of shape "
                f"(batch, {', '.join(map(str, input_shape))})"
            )

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def macs(self, input_shape: tuple) -> int:
        """Multiply-accumulates per example in the forward pass (0 for shape-only layers)."""
        return 0

    def explain(self, input_shape: tuple) -> list[str]:
        """The formulas behind this layer's output shape, parameters and MACs."""
        return []

    # ---------------------------------------------------------------- calling
    def __call__(self, x) -> Tensor:
        x = as_input(x, f"layer '{self.name}'")
        if x.ndim < 1:
            raise ValueError(f"layer '{self.name}' needs a batch axis; got a scalar")
        if not self.built:
            self.build(x.shape[1:])
        else:
            self.check_input_shape(x.shape[1:])
        if self.weights and x.dtype != self.dtype:
            raise ValueError(
                f"layer '{self.name}' has {self.dtype} weights but got a {x.dtype} input; cast "
                f"the input (x.astype(np.{self.dtype})) or create the layer with "
                f"dtype='{x.dtype}'"
            )
        with layer_scope(self):
            return self.call(x)

    def call(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"

