"""tinygrad_cnn: a small, readable deep-learning engine on numpy, built to show how CNNs work."""

from . import callbacks, data, functional, losses, metrics, nn, optim, viz, workspace, zoo
from .autograd import grad
from .explain import explain_backward
from .function import Function, no_grad
from .functional import concatenate, maximum, minimum, stack, where
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .rng import manual_seed
from .shapes import conv_output_shape
from .tensor import Tensor

__all__ = [
    "Function",
    "GradcheckError",
    "Tensor",
    "callbacks",
    "concatenate",
    "conv_output_shape",
    "data",
    "explain_backward",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "losses",
    "manual_seed",
    "maximum",
    "metrics",
    "minimum",
    "nn",
    "no_grad",
    "optim",
    "stack",
    "viz",
    "where",
    "workspace",
    "zoo",
]

__version__ = "0.1.0"
