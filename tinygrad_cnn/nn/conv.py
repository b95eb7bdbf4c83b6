"""Conv2D layer: Keras arguments and kernel layout (KH, KW, C_in, C_out)."""

from __future__ import annotations

from .. import functional as F
from .. import shapes
from ..checks import check_int
from .kernel_bias import KernelBiasMixin
from .layer import InputSpec, Layer


class Conv2D(KernelBiasMixin, Layer):
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

    input_spec = InputSpec(rank=3, axes_label="height, width, channels",
                           size_label="input channels")

    def __init__(self, filters, kernel_size, strides=1, padding="valid", activation=None,
                 use_bias=True, dilation_rate=1, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", input_shape=None, name=None, dtype="float32"):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        self.filters = check_int(filters, "filters", 1, "the number of output channels")
        self.kernel_size = shapes.standardize_pair(kernel_size, "kernel_size")
        self.strides = shapes.standardize_pair(strides, "strides")
        self.dilation_rate = shapes.standardize_pair(dilation_rate, "dilation_rate")
        self.padding = shapes.standardize_padding(padding)
        self.init_kernel_bias(activation, use_bias, kernel_initializer, bias_initializer)

    def build(self, input_shape):
        super().build(input_shape)
        self.compute_output_shape(input_shape)  # a kernel too large fails here, not later
        self.build_kernel_bias((*self.kernel_size, input_shape[-1], self.filters))
        self.input_spec.sizes = {-1: input_shape[-1]}

    def compute_output_shape(self, input_shape):
        pads = shapes.resolve_pads(self.padding, input_shape[:2], self.kernel_size,
                                   self.strides, self.dilation_rate)
        oh, ow = shapes.window_output_hw(input_shape[:2], self.kernel_size, self.strides,
                                         pads, self.dilation_rate)
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
        lines.append(self.explain_params())
        lines.append(f"MACs = {oh}·{ow}·{kh}·{kw}·{c}·{self.filters} = "
                     f"{self.macs(input_shape):,}")
        return lines

    def get_config(self):
        return {"filters": self.filters, "kernel_size": self.kernel_size,
                "strides": self.strides, "padding": self.padding,
                "dilation_rate": self.dilation_rate, **self.kernel_bias_config(),
                **super().get_config()}

    def call(self, x, training):
        fuse = self.activation is F.relu  # ReLU runs inside the conv op, on its output
        y = F.conv2d(x, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate,
                     relu=fuse)
        return y if fuse else self.activate(y)
