"""tinygrad_cnn: a small, readable deep-learning engine on numpy, built to show how CNNs work."""

from . import callbacks, data, functional, losses, metrics, nn, optim, viz, workspace, zoo
from .autograd import enable_grad, grad, is_grad_enabled, no_grad

# `tc.tensor` is the constructor (as `torch.tensor`), which hides the module of that name
# as an attribute; `from tinygrad_cnn.tensor import Tensor` still imports the module.
from .creation import arange, full, ones, ones_like, rand, randn, tensor, zeros, zeros_like
from .explain import explain_backward
from .function import Function
from .functional import concatenate, maximum, minimum, stack, where
from .functional import concatenate as cat
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .rng import manual_seed
from .shapes import conv_output_shape
from .tensor import Tensor

__all__ = [
    "Function",
    "GradcheckError",
    "Tensor",
    "arange",
    "callbacks",
    "cat",
    "concatenate",
    "conv_output_shape",
    "data",
    "enable_grad",
    "explain_backward",
    "full",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "losses",
    "manual_seed",
    "maximum",
    "metrics",
    "minimum",
    "nn",
    "no_grad",
    "ones",
    "ones_like",
    "optim",
    "rand",
    "randn",
    "stack",
    "tensor",
    "viz",
    "where",
    "workspace",
    "zeros",
    "zeros_like",
    "zoo",
]

__version__ = "0.1.0"
