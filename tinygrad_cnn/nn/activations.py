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
    """(function or None, display name) for an ``activation`` argument."""
    if activation is None:
        return None, "linear"
    if isinstance(activation, str) and activation.lower() in ACTIVATIONS:
        return ACTIVATIONS[activation.lower()], activation.lower()
    if callable(activation):
        return activation, getattr(activation, "__name__", type(activation).__name__)
    raise ValueError(f"activation must be None, one of {sorted(ACTIVATIONS)} or a callable; "
                     f"got {activation!r}")
