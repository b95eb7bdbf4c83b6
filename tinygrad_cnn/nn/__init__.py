"""Keras-style layers and the Sequential model (channels_last, Keras weight layouts)."""

from . import initializers, optimizers
from .conv import Conv2D
from .core import Activation, Dense, Dropout, Flatten, LeakyReLU, ReLU, Softmax
from .layer import InputSpec, Layer
from .normalization import BatchNormalization
from .pooling import (
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
)
from .reshaping import Reshape, ZeroPadding2D
from .saving import load_model
from .sequential import Input, Sequential

__all__ = [
    "Activation",
    "AveragePooling2D",
    "BatchNormalization",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "Input",
    "InputSpec",
    "Layer",
    "LeakyReLU",
    "MaxPooling2D",
    "ReLU",
    "Reshape",
    "Sequential",
    "Softmax",
    "ZeroPadding2D",
    "initializers",
    "load_model",
    "optimizers",
]
