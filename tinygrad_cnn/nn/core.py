"""Core layers: Dense, Flatten, Dropout, Activation, ReLU."""

from __future__ import annotations

import numbers

import numpy as np

from .. import functional as F
from . import activations
from .layer import Layer


class Dense(Layer):
    """Fully connected layer: ``activation(x @ kernel + bias)``, kernel (in, out).

    Args:
        units: number of outputs.
        activation: None, 'relu', 'sigmoid', 'tanh', 'softmax' or a callable.
        use_bias: add a learned bias per unit.
        kernel_initializer: 'glorot_uniform' (default), 'he_normal', … or f(shape, dtype).
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 input_shape=None, name=None, dtype="float32"):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units < 1:
            raise ValueError(f"units must be a positive int (the number of outputs); got "
                             f"{units!r}")
        self.units = int(units)
        self.set_weight_options(activation, use_bias, kernel_initializer, bias_initializer)
        if self.input_shape is not None:
            self.build(self.input_shape)

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units),
                                      self.kernel_initializer)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), self.bias_initializer)

    def check_input_shape(self, input_shape):
        if not input_shape:
            raise ValueError(f"layer '{self.name}' (Dense) expects inputs of shape (batch, "
                             f"features); got a 1-D input")
        if self.kernel is not None and input_shape[-1] != self.kernel.shape[0]:
            hint = " (add a Flatten layer before it?)" if len(input_shape) > 1 else ""
            raise ValueError(
                f"layer '{self.name}' (Dense) was built for {self.kernel.shape[0]} input "
                f"features but got an input of shape (batch, "
                f"{', '.join(map(str, input_shape))}){hint}"
            )

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def macs(self, input_shape):
        return int(np.prod(input_shape)) * self.units

    def explain(self, input_shape):
        n_in = input_shape[-1]
        bias = f" + {self.units}" if self.use_bias else ""
        return [f"params = {n_in}·{self.units}{bias} = {self.count_params():,}",
                f"MACs = {n_in}·{self.units} = {self.macs(input_shape):,}"]

    def call(self, x):
        y = x @ self.kernel
        if self.bias is not None:
            y = y + self.bias
        return y if self.activation is None else self.activation(y)


class Flatten(Layer):
    """(N, d1, d2, …) → (N, d1·d2·…)."""

    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def explain(self, input_shape):
        return [f"out = {'·'.join(map(str, input_shape))} = {int(np.prod(input_shape)):,}"]

    def call(self, x):
        return x.flatten(1)


class Dropout(Layer):
    """Zero a fraction ``rate`` of inputs while training; identity in eval mode."""

    def __init__(self, rate, name=None, input_shape=None, dtype="float32"):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ValueError(f"Dropout rate must be a number in [0, 1); got {rate!r}")
        self.rate = float(rate)

    def explain(self, input_shape):
        return [f"drops {self.rate:.0%} of values while training; identity in eval()"]

    def call(self, x):
        return F.dropout(x, self.rate, training=self.training)


class Activation(Layer):
    """Apply an activation by name ('relu', 'sigmoid', 'tanh', 'softmax') or a callable."""

    def __init__(self, activation, name=None, input_shape=None, dtype="float32"):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        self.activation, self.activation_name = activations.get(activation)

    def call(self, x):
        return x if self.activation is None else self.activation(x)


class ReLU(Activation):
    """max(x, 0)."""

    def __init__(self, name=None, input_shape=None, dtype="float32"):
        super().__init__("relu", name=name, input_shape=input_shape, dtype=dtype)
