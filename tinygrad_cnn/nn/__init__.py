"""Keras-style layers and the Sequential model (channels_last, Keras weight layouts)."""

from . import initializers
from .conv import Conv2D
from .core import Activation, Dense, Dropout, Flatten, ReLU
from .layer import Layer
from .models import Sequential
from .pooling import (
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
)

__all__ = [
    "Activation",
    "AveragePooling2D",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "Layer",
    "MaxPooling2D",
    "ReLU",
    "Sequential",
    "initializers",
]
