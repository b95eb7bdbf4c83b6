"""tinygrad_cnn: a small, readable deep-learning engine on numpy, built to show how CNNs work."""

from . import functional, losses, nn, optim, viz
from .function import no_grad
from .gradcheck import GradcheckError, gradcheck
from .rng import manual_seed
from .shapes import conv_output_shape
from .tensor import Tensor

__all__ = [
    "GradcheckError",
    "Tensor",
    "conv_output_shape",
    "functional",
    "gradcheck",
    "losses",
    "manual_seed",
    "nn",
    "no_grad",
    "optim",
    "viz",
]

__version__ = "0.1.0"
