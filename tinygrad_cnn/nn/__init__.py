"""Keras-style layers and the Sequential model (channels_last, Keras weight layouts)."""

from . import initializers
from .conv import Conv2D
from .core import Activation, Dense, Dropout, Flatten, ReLU
from .layer import InputSpec, Layer
from .pooling import (
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
)
from .sequential import Sequential

__all__ = [
    "Activation",
    "AveragePooling2D",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "InputSpec",
    "Layer",
    "MaxPooling2D",
    "ReLU",
    "Sequential",
    "initializers",
]
