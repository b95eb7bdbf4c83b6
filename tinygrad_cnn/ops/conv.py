"""PLACEHOLDER: being written (Conv2D op)."""
from ..function import Function


class Conv2D(Function):
    name = "conv2d"

    def __init__(self, strides=1, padding="valid", dilation_rate=1):
        raise NotImplementedError
