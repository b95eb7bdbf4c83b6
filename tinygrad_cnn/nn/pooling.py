"""Pooling layers: 2-D max/average over windows, and global pooling over H and W."""

from __future__ import annotations

from .. import functional as F
from .. import shapes
from .layer import InputSpec, Layer

_IMAGES = InputSpec(rank=3, axes_label="height, width, channels")


class Pooling2D(Layer):
    """Base of MaxPooling2D and AveragePooling2D; ``op`` is the functional op."""

    input_spec = _IMAGES
    op = None

    def __init__(self, pool_size=2, strides=None, padding="valid", name=None, input_shape=None,
                 dtype="float32"):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        self.pool_size = shapes.standardize_pair(pool_size, "pool_size")
        self.strides = (self.pool_size if strides is None
                        else shapes.standardize_pair(strides, "strides"))
        self.padding = shapes.standardize_padding(padding, allow_explicit=False)

    def build(self, input_shape):
        super().build(input_shape)
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        pads = shapes.resolve_pads(self.padding, input_shape[:2], self.pool_size, self.strides)
        oh, ow = shapes.window_output_hw(input_shape[:2], self.pool_size, self.strides, pads,
                                         what="pool_size")
        return oh, ow, input_shape[2]

    def explain(self, input_shape):
        return shapes.explain_output_hw(input_shape[:2], self.pool_size, self.strides,
                                        self.padding) + ["params = 0 (no weights)"]

    def get_config(self):
        return {"pool_size": self.pool_size, "strides": self.strides, "padding": self.padding,
                **super().get_config()}

    def call(self, x, training):
        return type(self).op(x, self.pool_size, self.strides, self.padding)


class MaxPooling2D(Pooling2D):
    """Maximum over each pool_size window; strides default to pool_size."""

    op = staticmethod(F.max_pool2d)


class AveragePooling2D(Pooling2D):
    """Mean over each window; with 'same' padding only real elements are averaged."""

    op = staticmethod(F.avg_pool2d)


class GlobalPooling2D(Layer):
    """Base of the global pooling layers; ``op`` is the functional op."""

    input_spec = _IMAGES
    op = None

    def compute_output_shape(self, input_shape):
        return (input_shape[2],)

    def explain(self, input_shape):
        h, w, c = input_shape
        return [f"out = ({c},): one value per channel over {h}×{w}", "params = 0 (no weights)"]

    def call(self, x, training):
        return type(self).op(x)


class GlobalAveragePooling2D(GlobalPooling2D):
    """(N, H, W, C) → (N, C) by averaging each channel."""

    op = staticmethod(F.global_avg_pool2d)


class GlobalMaxPooling2D(GlobalPooling2D):
    """(N, H, W, C) → (N, C) by each channel's maximum."""

    op = staticmethod(F.global_max_pool2d)
