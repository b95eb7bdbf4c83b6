"""Ready-made models: the networks the examples, tests and benchmarks share.

Each function returns a fresh, built ``nn.Sequential`` (weights drawn from the library
generator, so ``tc.manual_seed`` fixes them).
"""

from __future__ import annotations

from . import nn


def simple_mnist_convnet(input_shape=(28, 28, 1), classes: int = 10) -> nn.Sequential:
    """Keras' "simple MNIST convnet": 34,826 parameters on 28×28×1 digits."""
    return nn.Sequential([
        nn.Conv2D(32, 3, activation="relu", input_shape=input_shape),
        nn.MaxPooling2D(2),
        nn.Conv2D(64, 3, activation="relu"),
        nn.MaxPooling2D(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Dense(classes),
    ])


def seed_convnet(input_shape=(28, 28, 1), classes: int = 10) -> nn.Sequential:
    """The network the project grew from: 'same' keeps 28×28, 2×2 pooling halves it.

    28×28×1 → conv 28×28×10 → pool 14×14×10 → flatten 1,960 → dense 10.
    """
    return nn.Sequential([
        nn.Conv2D(10, 3, padding="same", activation="relu", input_shape=input_shape),
        nn.MaxPooling2D(2),
        nn.Flatten(),
        nn.Dense(classes),
    ])


MODELS = {"simple": simple_mnist_convnet, "seed": seed_convnet}
