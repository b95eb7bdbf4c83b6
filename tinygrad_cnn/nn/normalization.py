"""BatchNormalization, as Keras defines it: one ``batch_norm`` op (``F.batch_norm``)."""

from __future__ import annotations

from .. import functional as F
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
        if len(input_shape) and input_shape[0] is None:  # Keras' form: the batch axis first
            input_shape = tuple(input_shape[1:])
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
        # a frozen layer runs in inference mode, as in Keras 3
        return F.batch_norm(x, self.moving_mean, self.moving_variance, self.gamma, self.beta,
                            training=training and self.trainable, momentum=self.momentum,
                            epsilon=self.epsilon, axis=self._feature_axis)
