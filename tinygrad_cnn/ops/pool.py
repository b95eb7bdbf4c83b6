"""PLACEHOLDER: being written (pooling ops)."""
from ..function import Function


def check_nhwc(shape, op):
    if len(shape) != 4:
        raise ValueError(f"{op} expects (N, H, W, C) input; got shape {shape}")


class MaxPool2D(Function):
    def __init__(self, pool_size=2, strides=None, padding="valid"):
        raise NotImplementedError


class AvgPool2D(MaxPool2D):
    pass
