"""Conv2D layer: Keras arguments and kernel layout (KH, KW, C_in, C_out)."""

from __future__ import annotations

import numbers

from .. import functional as F
from .. import shapes
from .layer import Layer


class Conv2D(Layer):
    """2-D convolution over channels_last images (N, H, W, C).

    Args:
        filters: number of output channels.
        kernel_size, strides, dilation_rate: a positive int or a pair.
        padding: 'valid', 'same', an int, a pair, or ((top, bottom), (left, right)).
        activation: None, 'relu', 'sigmoid', 'tanh', 'softmax' or a callable.
        use_bias: add a learned bias per filter.
        kernel_initializer: 'glorot_uniform' (default), 'he_normal', … or f(shape, dtype).
        input_shape: (H, W, C) to build at once (summaries before any data).
    """

    input_rank = 3
    input_axes = "height, width, channels"

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None,
                 use_bias=True, dilation_rate=1, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", input_shape=None, name=None, dtype="float32"):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        if isinstance(filters, bool) or not isinstance(filters, numbers.Integral) or filters < 1:
            raise ValueError(f"filters must be a positive int (the number of output channels); "
                             f"got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = shapes.standardize_pair(kernel_size, "kernel_size")
        self.strides = shapes.standardize_pair(strides, "strides")
        self.dilation_rate = shapes.standardize_pair(dilation_rate, "dilation_rate")
        self.padding = shapes.standardize_padding(padding)
        self.set_weight_options(activation, use_bias, kernel_initializer, bias_initializer)
        if self.input_shape is not None:
            self.build(self.input_shape)

    def build(self, input_shape):
        super().build(input_shape)
        self.compute_output_shape(input_shape)  # a kernel too large fails here, not later
        kh, kw = self.kernel_size
        self.kernel = self.add_weight("kernel", (kh, kw, input_shape[-1], self.filters),
                                      self.kernel_initializer)
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.filters,), self.bias_initializer)

    def check_input_shape(self, input_shape):
        super().check_input_shape(input_shape)
        if self.kernel is not None and input_shape[-1] != self.kernel.shape[2]:
            raise ValueError(
                f"layer '{self.name}' (Conv2D) was built for {self.kernel.shape[2]} input "
                f"channels but got an input with {input_shape[-1]} (shape (batch, "
                f"{', '.join(map(str, input_shape))}))"
            )

    def _pads(self, input_shape):
        return shapes.resolve_pads(self.padding, input_shape[:2], self.kernel_size,
                                   self.strides, self.dilation_rate)

    def compute_output_shape(self, input_shape):
        oh, ow = shapes.window_output_hw(input_shape[:2], self.kernel_size, self.strides,
                                         self._pads(input_shape), self.dilation_rate)
        return oh, ow, self.filters

    def macs(self, input_shape):
        oh, ow, _ = self.compute_output_shape(input_shape)
        kh, kw = self.kernel_size
        return oh * ow * kh * kw * input_shape[-1] * self.filters

    def explain(self, input_shape):
        oh, ow, _ = self.compute_output_shape(input_shape)
        (kh, kw), c = self.kernel_size, input_shape[-1]
        lines = shapes.explain_output_hw(input_shape[:2], self.kernel_size, self.strides,
                                         self.padding, self.dilation_rate)
        bias = f" + {self.filters}" if self.use_bias else ""
        lines.append(f"params = {kh}·{kw}·{c}·{self.filters}{bias} = {self.count_params():,}")
        lines.append(f"MACs = {oh}·{ow}·{kh}·{kw}·{c}·{self.filters} = "
                     f"{self.macs(input_shape):,}")
        return lines

    def call(self, x):
        y = F.conv2d(x, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate)
        return y if self.activation is None else self.activation(y)
