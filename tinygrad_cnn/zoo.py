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


def tiny_convnet() -> nn.Sequential:
    """A convnet small enough that every number of its backward pass fits on screen.

    6×6×1 → conv 2×2, 2 filters, 'same' 6×6×2 → max pool 2×2 3×3×2 → flatten 18 → dense 2:
    48 parameters (the lesson's backpropagation part and docs/backward_walk.svg).
    """
    return nn.Sequential([
        nn.Conv2D(2, 2, padding="same", input_shape=(6, 6, 1)),
        nn.MaxPooling2D(2),
        nn.Flatten(),
        nn.Dense(2),
    ])


def batchnorm_mnist_convnet(input_shape=(28, 28, 1), classes: int = 10,
                            momentum: float = 0.9) -> nn.Sequential:
    """The simple convnet with BatchNormalization after each convolution (before its ReLU,
    the convolutions without bias, as BN's beta takes its place): 35,114 parameters, of which
    192 are the non-trainable moving statistics.

    ``momentum`` 0.9 rather than Keras' 0.99: on mnist-5k an epoch is 32 steps, and after
    12 epochs (384 steps) 0.99^384 ≈ 2 % of the moving variance would still be its initial
    1.0, several times the true variance of the first layer's outputs (≈ 0.004), so
    inference would normalize with the wrong scale.
    """
    return nn.Sequential([
        nn.Conv2D(32, 3, use_bias=False, input_shape=input_shape),
        nn.BatchNormalization(momentum=momentum),
        nn.ReLU(),
        nn.MaxPooling2D(2),
        nn.Conv2D(64, 3, use_bias=False),
        nn.BatchNormalization(momentum=momentum),
        nn.ReLU(),
        nn.MaxPooling2D(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Dense(classes),
    ])


MODELS = {"simple": simple_mnist_convnet, "seed": seed_convnet, "bn": batchnorm_mnist_convnet}
