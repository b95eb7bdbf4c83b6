"""Weight initializers with Keras' names and fan rules; all draw from the library generator.

"zeros", "ones", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_normal",
or a callable ``f(shape, dtype) -> ndarray``.
"""

from __future__ import annotations

import numpy as np

from .. import rng
from .naming import name_in


def _fans(shape: tuple) -> tuple[int, int]:
    """Keras fans: a conv kernel (KH, KW, C_in, C_out) counts its receptive field."""
    if len(shape) < 2:
        return shape[0], shape[0]
    receptive = int(np.prod(shape[:-2]))
    return shape[-2] * receptive, shape[-1] * receptive


def glorot_uniform(shape: tuple, dtype) -> np.ndarray:
    fan_in, fan_out = _fans(shape)
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.generator().uniform(-limit, limit, shape).astype(dtype)


def glorot_normal(shape: tuple, dtype) -> np.ndarray:
    fan_in, fan_out = _fans(shape)
    return _truncated_normal(shape, np.sqrt(2.0 / (fan_in + fan_out)), dtype)


def he_uniform(shape: tuple, dtype) -> np.ndarray:
    limit = np.sqrt(6.0 / _fans(shape)[0])
    return rng.generator().uniform(-limit, limit, shape).astype(dtype)


def he_normal(shape: tuple, dtype) -> np.ndarray:
    return _truncated_normal(shape, np.sqrt(2.0 / _fans(shape)[0]), dtype)


def lecun_normal(shape: tuple, dtype) -> np.ndarray:
    return _truncated_normal(shape, np.sqrt(1.0 / _fans(shape)[0]), dtype)


def zeros(shape: tuple, dtype) -> np.ndarray:
    return np.zeros(shape, dtype=dtype)


def ones(shape: tuple, dtype) -> np.ndarray:
    return np.ones(shape, dtype=dtype)


def _truncated_normal(shape: tuple, stddev: float, dtype) -> np.ndarray:
    """Normal(0, stddev²) with draws beyond two standard deviations redrawn (Keras' rule).

    Keras divides by 0.8796 so the truncated distribution keeps the intended variance.
    """
    generator = rng.generator()
    scale = stddev / 0.87962566103423978
    values = generator.standard_normal(shape)
    outside = np.abs(values) > 2
    while outside.any():
        values[outside] = generator.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2
    return (values * scale).astype(dtype)


INITIALIZERS = {f.__name__: f for f in (glorot_uniform, glorot_normal, he_uniform, he_normal,
                                         lecun_normal, zeros, ones)}


def get(initializer):
    """An initializer by name, or a callable ``f(shape, dtype) -> ndarray`` as given."""
    if isinstance(initializer, str) and initializer in INITIALIZERS:
        return INITIALIZERS[initializer]
    if callable(initializer):
        return initializer
    raise ValueError(f"initializer must be one of {sorted(INITIALIZERS)} or a callable "
                     f"f(shape, dtype); got {initializer!r}")


def serialize(initializer, where: str) -> str:
    """The name that rebuilds ``initializer`` in a saved model's JSON."""
    return name_in(INITIALIZERS, initializer, "initializer", where)
