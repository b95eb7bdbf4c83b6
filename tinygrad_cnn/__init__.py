"""tinygrad_cnn: a small, readable deep-learning engine on numpy, built to show how CNNs work."""

from . import callbacks, data, functional, losses, metrics, nn, optim, viz, zoo
from .function import Function, no_grad
from .gradcheck import GradcheckError, gradcheck
from .rng import manual_seed
from .shapes import conv_output_shape
from .tensor import Tensor

__all__ = [
    "Function",
    "GradcheckError",
    "Tensor",
    "callbacks",
    "conv_output_shape",
    "data",
    "functional",
    "gradcheck",
    "losses",
    "manual_seed",
    "metrics",
    "nn",
    "no_grad",
    "optim",
    "viz",
    "zoo",
]

__version__ = "0.1.0"
