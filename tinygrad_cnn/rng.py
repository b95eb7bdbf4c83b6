"""The library's one random generator: initializers, dropout, fit's shuffling and
``tc.rand``/``tc.randn`` draw from it.

As in PyTorch and Keras it starts from the operating system's entropy, so two processes
draw different weights; ``tc.manual_seed(n)`` makes everything after it repeat.
"""

import numbers

import numpy as np

_generator = np.random.default_rng()  # seeded from the OS


def manual_seed(seed: int) -> None:
    """Seed every random choice the library makes (weight init, dropout masks, shuffling)."""
    global _generator
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"manual_seed: seed must be a non-negative int; got {seed!r}")
    _generator = np.random.default_rng(int(seed))


def generator() -> np.random.Generator:
    return _generator
