"""Activations by Keras name: None/'linear', 'relu', 'sigmoid', 'tanh', 'softmax', or a callable."""

from .. import functional as F

ACTIVATIONS = {
    "linear": None,
    "relu": F.relu,
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
    "softmax": F.softmax,
}


def get(activation):
    """The function for an ``activation`` argument (None for 'linear')."""
    if activation is None:
        return None
    if isinstance(activation, str) and activation.lower() in ACTIVATIONS:
        return ACTIVATIONS[activation.lower()]
    if callable(activation):
        return activation
    raise ValueError(f"activation must be None, one of {sorted(ACTIVATIONS)} or a callable; "
                     f"got {activation!r}")
