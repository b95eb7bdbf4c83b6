"""Loss functions (the same functions as in ``tinygrad_cnn.functional``)."""

from .functional import cross_entropy, mse

__all__ = ["cross_entropy", "mse"]
