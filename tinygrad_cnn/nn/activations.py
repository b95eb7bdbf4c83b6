"""Activations by Keras name, each built from differentiable ops, or a callable.

None/"linear", "relu", "sigmoid", "tanh", "softmax", "leaky_relu" (slope 0.2, Keras'
function default; the LeakyReLU layer defaults to 0.3), "elu", "softplus".
"""

from __future__ import annotations

from .. import functional as F
from .naming import name_in


def leaky_relu(x, negative_slope: float = 0.2):
    """x where x > 0, else negative_slope·x: relu(x) − slope·relu(−x)."""
    return F.relu(x) - F.relu(-x) * negative_slope


def elu(x, alpha: float = 1.0):
    """x where x > 0, else alpha·(eˣ − 1): relu(x) + alpha·(e^−relu(−x) − 1), no overflow."""
    return F.relu(x) + (F.exp(-F.relu(-x)) - 1) * alpha


def softplus(x):
    """log(1 + eˣ) = relu(x) + log(1 + e^−|x|): finite for any x."""
    return F.relu(x) + F.log(F.exp(-F.abs(x)) + 1)


ACTIVATIONS = {
    "linear": None,
    "relu": F.relu,
    "sigmoid": F.sigmoid,
    "tanh": F.tanh,
    "softmax": F.softmax,
    "leaky_relu": leaky_relu,
    "elu": elu,
    "softplus": softplus,
}


def get(activation):
    """The function for an ``activation`` argument (None for 'linear')."""
    if activation is None:
        return None
    if isinstance(activation, str) and activation.lower() in ACTIVATIONS:
        return ACTIVATIONS[activation.lower()]
    if callable(activation) and not isinstance(activation, str):
        return activation
    raise ValueError(f"activation must be None, one of {sorted(ACTIVATIONS)} or a callable; "
                     f"got {activation!r}")


def serialize(activation, where: str):
    """The name that rebuilds ``activation`` in a saved model's JSON (None for linear)."""
    name = name_in(ACTIVATIONS, activation, "activation", where)
    return None if name is None or name.lower() == "linear" else name.lower()
