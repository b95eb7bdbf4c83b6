"""BatchNormalization, as Keras defines it, from differentiable Tensor ops."""

from __future__ import annotations

import numpy as np

from ..checks import check_bool, check_number, is_int
from .layer import InputSpec, Layer


class BatchNormalization(Layer):
    """Normalize each feature along ``axis`` with the batch's statistics while training and
    with running averages of them at inference (Keras' layer, same arguments and weights).

    Training (``training=True`` and the layer trainable): ``mean`` and the biased variance
    ``var`` over every axis but ``axis``; ``y = (x − mean) / √(var + epsilon) · gamma +
    beta``; then ``moving = moving·momentum + batch·(1 − momentum)`` for the mean and the
    variance. Inference, or a frozen layer (``trainable = False``, as in Keras 3): the same
    with ``moving_mean`` and ``moving_variance``.

    Weights, in Keras' order: ``gamma`` (ones) and ``beta`` (zeros), trainable, when
    ``scale`` and ``center``; ``moving_mean`` (zeros) and ``moving_variance`` (ones), never
    trainable.

    Args:
        axis: the feature axis, counting the batch axis as 0 (-1: channels_last).
        momentum: how much of the moving statistics each training batch keeps, in [0, 1].
        epsilon: added to the variance before the square root, > 0.
        center, scale: learn ``beta`` / ``gamma``.
    """

    input_spec = InputSpec(min_rank=1, axes_label="..., features", size_label="features")

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 name=None, input_shape=None, dtype="float32"):
        super().__init__(name=name, input_shape=input_shape, dtype=dtype)
        if not is_int(axis):
            raise TypeError(f"BatchNormalization axis must be an int (the feature axis, -1 for "
                            f"channels_last); got {axis!r}")
        if axis == 0:
            raise ValueError("BatchNormalization axis must not be 0, the batch axis; use -1 "
                             "(the last, channels_last) or the feature axis")
        self.axis = int(axis)
        self.momentum = check_number(momentum, "momentum", 0, 1, high_inclusive=True)
        self.epsilon = check_number(epsilon, "epsilon", 0, low_inclusive=False)
        self.center = check_bool(center, "center")
        self.scale = check_bool(scale, "scale")
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def build(self, input_shape):
        rank = len(input_shape) + 1  # with the batch axis
        axis = self.axis % rank if -rank <= self.axis < rank else None
        if axis in (None, 0):
            raise ValueError(f"layer '{self.name}': axis={self.axis} is out of range for "
                             f"inputs of shape (batch, {', '.join(map(str, input_shape))}); "
                             f"accepted: 1..{rank - 1} or -{rank - 1}..-1")
        super().build(input_shape)
        features = input_shape[axis - 1]
        if self.scale:
            self.gamma = self.add_weight("gamma", (features,), "ones")
        if self.center:
            self.beta = self.add_weight("beta", (features,), "zeros")
        self.moving_mean = self.add_weight("moving_mean", (features,), "zeros", trainable=False)
        self.moving_variance = self.add_weight("moving_variance", (features,), "ones",
                                               trainable=False)
        self._feature_axis = axis
        self.input_spec.rank = len(input_shape)
        self.input_spec.sizes = {axis - 1: features}

    def explain(self, input_shape):
        features = input_shape[self._feature_axis - 1] if self.built else input_shape[-1]
        n = 2 + self.center + self.scale
        names = [*(["gamma"] if self.scale else []), *(["beta"] if self.center else [])]
        return [f"params = {n}·{features} = {n * features:,} ({', '.join(names + ['moving'])} "
                f"mean and variance; the moving statistics are not trainable)"]

    def get_config(self):
        return {"axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, **super().get_config()}

    def call(self, x, training):
        axis = self._feature_axis
        shape = [1] * x.ndim
        shape[axis] = x.shape[axis]  # per-feature vectors broadcast along this axis
        if training and self.trainable:
            if x.shape[0] == 0:
                raise ValueError(f"layer '{self.name}': batch statistics of an empty batch "
                                 f"(shape {x.shape}) are undefined")
            others = tuple(i for i in range(x.ndim) if i != axis)
            mean = x.mean(axis=others, keepdims=True)
            centered = x - mean
            variance = (centered * centered).mean(axis=others, keepdims=True)  # biased
            self._update_moving(mean.data.reshape(-1), variance.data.reshape(-1))
        else:
            centered = x - self.moving_mean.reshape(*shape)
            variance = self.moving_variance.reshape(*shape)
        inverse_std = (variance + self.epsilon) ** -0.5
        if self.gamma is not None:
            inverse_std = inverse_std * self.gamma.reshape(*shape)
        y = centered * inverse_std
        return y if self.beta is None else y + self.beta.reshape(*shape)

    def _update_moving(self, mean: np.ndarray, variance: np.ndarray) -> None:
        """moving = moving·momentum + batch·(1 − momentum); new arrays, not in place, so
        copies taken by get_weights (EarlyStopping's best weights) never change."""
        for tensor, batch in ((self.moving_mean, mean), (self.moving_variance, variance)):
            tensor.data = (tensor.data * self.momentum
                           + batch * (1 - self.momentum)).astype(self.dtype, copy=False)
