"""Layers that only move values: Reshape and ZeroPadding2D (Flatten lives in core.py)."""

from __future__ import annotations

import numpy as np

from .. import shapes
from ..checks import is_int
from .layer import InputSpec, Layer


class Reshape(Layer):
    """(N, …) → (N, *target_shape); one entry of ``target_shape`` may be −1 (inferred)."""

    def __init__(self, target_shape, name=None, input_shape=None, dtype="float32"):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        accepted = "a tuple of positive ints (one may be -1) without the batch axis"
        if not isinstance(target_shape, (tuple, list)) or not all(
                is_int(n) and (n > 0 or n == -1) for n in target_shape):
            raise ValueError(f"target_shape must be {accepted}, e.g. (7, 7, 32); got "
                             f"{target_shape!r}")
        if list(target_shape).count(-1) > 1:
            raise ValueError(f"target_shape may hold one -1; got {tuple(target_shape)!r}")
        self.target_shape = tuple(int(n) for n in target_shape)

    def build(self, input_shape):
        super().build(input_shape)
        self.compute_output_shape(input_shape)  # a size that does not fit fails here

    def compute_output_shape(self, input_shape):
        size = int(np.prod(input_shape))
        known = int(np.prod([n for n in self.target_shape if n != -1]))
        if -1 in self.target_shape and known and size % known == 0:
            return tuple(size // known if n == -1 else n for n in self.target_shape)
        if -1 not in self.target_shape and known == size:
            return self.target_shape
        raise ValueError(f"layer '{self.name}' (Reshape) cannot reshape inputs of shape "
                         f"(batch, {', '.join(map(str, input_shape))}), {size:,} values per "
                         f"example, into target_shape {self.target_shape}")

    def explain(self, input_shape):
        out = self.compute_output_shape(input_shape)
        return [f"values per example = {'·'.join(map(str, input_shape))} = "
                f"{'·'.join(map(str, out))} = {int(np.prod(out)):,} (the same values, "
                f"regrouped)"]

    def get_config(self):
        return {"target_shape": self.target_shape, **super().get_config()}

    def call(self, x, training):
        return x.reshape(x.shape[0], *self.compute_output_shape(x.shape[1:]))


class ZeroPadding2D(Layer):
    """Zeros around each image: ``padding`` is an int, a pair (rows, columns) or
    ((top, bottom), (left, right))."""

    input_spec = InputSpec(rank=3, axes_label="height, width, channels")

    def __init__(self, padding=1, name=None, input_shape=None, dtype="float32"):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        if isinstance(padding, str):
            raise TypeError(f"ZeroPadding2D padding must be an int, a pair (rows, columns) or "
                            f"((top, bottom), (left, right)); got {padding!r}")
        self.padding = shapes.standardize_padding(padding)

    def compute_output_shape(self, input_shape):
        (top, bottom), (left, right) = self.padding
        h, w, c = input_shape
        return h + top + bottom, w + left + right, c

    def explain(self, input_shape):
        (top, bottom), (left, right) = self.padding
        oh, ow, _ = self.compute_output_shape(input_shape)
        return [f"height: out = {input_shape[0]} + {top} + {bottom} = {oh}",
                f"width: out = {input_shape[1]} + {left} + {right} = {ow}",
                "params = 0 (no weights)"]

    def get_config(self):
        return {"padding": self.padding, **super().get_config()}

    def call(self, x, training):
        return x.pad(((0, 0), *self.padding, (0, 0)))
