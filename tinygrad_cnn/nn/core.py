"""Core layers: Dense, Flatten, Dropout, and the activation layers Activation, ReLU,
LeakyReLU and Softmax."""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..checks import check_int, check_number, is_int
from . import activations
from .kernel_bias import KernelBiasMixin
from .layer import InputSpec, Layer


class Dense(KernelBiasMixin, Layer):
    """Fully connected layer: ``activation(x @ kernel + bias)``, kernel (in, out).

    On inputs with more than one axis it acts on the last axis at every position, as in
    Keras.

    Args:
        units: number of outputs.
        activation: None, 'relu', 'sigmoid', 'tanh', 'softmax' or a callable.
        use_bias: add a learned bias per unit.
        kernel_initializer: 'glorot_uniform' (default), 'he_normal', … or f(shape, dtype).
    """

    input_spec = InputSpec(min_rank=1, axes_label="features", size_label="input features",
                           hint="add a Flatten layer before it?")

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 input_shape=None, name=None, dtype="float32"):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        self.units = check_int(units, "units", 1, "the number of outputs")
        self.init_kernel_bias(activation, use_bias, kernel_initializer, bias_initializer)

    def build(self, input_shape):
        super().build(input_shape)
        self.build_kernel_bias((input_shape[-1], self.units))
        self.input_spec.sizes = {-1: input_shape[-1]}

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def macs(self, input_shape):
        return int(np.prod(input_shape)) * self.units

    def explain(self, input_shape):
        # positions × inputs × outputs: on (6, 4) inputs a Dense(5) runs 6 times
        factors = [*input_shape, self.units]
        return [self.explain_params(),
                f"MACs = {'·'.join(map(str, factors))} = {self.macs(input_shape):,}"]

    def get_config(self):
        return {"units": self.units, **self.kernel_bias_config(), **super().get_config()}

    def call(self, x, training):
        if self.activation is F.relu:  # one op: GEMM, then bias and ReLU in place
            return F.dense(x, self.kernel, self.bias, relu=True)
        y = x @ self.kernel
        if self.bias is not None:
            y = y + self.bias
        return self.activate(y)


class Flatten(Layer):
    """(N, d1, d2, …) → (N, d1·d2·…)."""

    def compute_output_shape(self, input_shape):
        return (int(np.prod(input_shape)),)

    def explain(self, input_shape):
        return [f"out = {'·'.join(map(str, input_shape))} = {int(np.prod(input_shape)):,}"]

    def call(self, x, training):
        return x.flatten(1)


class Dropout(Layer):
    """Zero a fraction ``rate`` of inputs while training; identity in eval mode."""

    def __init__(self, rate, name=None, input_shape=None, dtype="float32"):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        self.rate = check_number(rate, "Dropout rate", 0, 1)

    def explain(self, input_shape):
        return [f"drops {self.rate:.0%} of values while training; identity in eval()"]

    def get_config(self):
        return {"rate": self.rate, **super().get_config()}

    def call(self, x, training):
        return F.dropout(x, self.rate, training=training)


class Activation(Layer):
    """Apply an activation by name ('relu', 'leaky_relu', 'softmax', …) or a callable."""

    def __init__(self, activation, name=None, input_shape=None, dtype="float32"):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        self.activation = activations.get(activation)
        self._given = activation

    def get_config(self):
        return {"activation": activations.serialize(self._given, f"layer '{self.name}'"),
                **super().get_config()}

    def call(self, x, training):
        return x if self.activation is None else self.activation(x)


class ReLU(Activation):
    """max(x, 0)."""

    def __init__(self, name=None, input_shape=None, dtype="float32"):
        super().__init__("relu", name=name, input_shape=input_shape, dtype=dtype)

    def get_config(self):
        return Layer.get_config(self)


class LeakyReLU(Layer):
    """x where x > 0, else negative_slope·x (Keras' layer default 0.3)."""

    def __init__(self, negative_slope=0.3, name=None, input_shape=None, dtype="float32"):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        self.negative_slope = check_number(negative_slope, "negative_slope", 0)

    def get_config(self):
        return {"negative_slope": self.negative_slope, **super().get_config()}

    def call(self, x, training):
        return activations.leaky_relu(x, self.negative_slope)


class Softmax(Layer):
    """softmax over ``axis`` (an int or a tuple of ints, counting the batch axis as 0)."""

    def __init__(self, axis=-1, name=None, input_shape=None, dtype="float32"):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        items = axis if isinstance(axis, (tuple, list)) else (axis,)
        if not items or not all(is_int(a) for a in items):
            raise TypeError(f"Softmax axis must be an int or a tuple of ints; got {axis!r}")
        self.axis = tuple(int(a) for a in items) if isinstance(axis, (tuple, list)) \
            else int(axis)

    def get_config(self):
        return {"axis": self.axis, **super().get_config()}

    def call(self, x, training):
        return F.softmax(x, self.axis)
