"""BatchNormalization as one op (``F.batch_norm``, ``ops.normalization.BatchNormOp``).

Each test writes its reference out: a float64 computation of the statistics and of the
normalized output, the closed-form gradients of x, gamma and beta, Keras' moving-average
update in float32 (and Keras itself when it is installed).
"""

import importlib.util
import os

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn
from tinygrad_cnn import functional as F
from tinygrad_cnn.ops.normalization import BLOCK, WIDE, column_sums, per_feature

rng = np.random.default_rng(0)


def relu_normal(*shape, dtype=np.float32):
    """relu(N(0.5, 1)): what a batch normalization sees after a ReLU (many exact zeros)."""
    return np.maximum(rng.normal(0.5, 1, shape), 0).astype(dtype)


def statistics64(x, axis=-1):
    others = tuple(i for i in range(x.ndim) if i != axis % x.ndim)
    x64 = x.astype(np.float64)
    return x64.mean(axis=others), x64.var(axis=others)  # the biased variance


# ------------------------------------------------------------------------- accuracy
@pytest.mark.parametrize("batch", [32, 256])
def test_training_statistics_and_output_are_accurate_in_float32(batch):
    """32×28×28×16 (25,088 values per feature) and 8× more: within 1e-6 of float64, where a
    float32 sum down the batch was off by 1.1e-4 (variance) and the output by 3.2e-4."""
    x = relu_normal(batch, 28, 28, 16)
    moving_mean, moving_variance = Tensor(np.zeros(16, np.float32)), Tensor(np.ones(16, np.float32))
    y = F.batch_norm(x, moving_mean, moving_variance, training=True, momentum=0.0)
    mean, variance = statistics64(x)
    # momentum 0: the moving statistics are the batch's, rounded to float32
    assert np.max(np.abs(moving_mean.data - mean) / mean) <= 1e-6
    assert np.max(np.abs(moving_variance.data - variance) / variance) <= 1e-6
    expected = (x.astype(np.float64) - mean) / np.sqrt(variance + 1e-3)
    assert y.dtype == np.float32
    assert np.max(np.abs(y.data - expected)) <= 1e-6  # Keras 3 on JAX: 7.3e-7


def test_column_sums_error_does_not_grow_with_the_number_of_rows():
    for rows in (BLOCK - 1, 1_000_003, 4_000_000):  # a remainder below BLOCK, and none
        a = relu_normal(rows, 3)
        exact = a.astype(np.float64).sum(axis=0)
        assert np.max(np.abs(column_sums(a) - exact) / exact) <= BLOCK * 2.0 ** -24
        squares = (a.astype(np.float64) ** 2).sum(axis=0)
        assert np.max(np.abs(column_sums(a, a) - squares) / squares) <= (BLOCK + 1) * 2.0 ** -24


def test_per_feature_broadcasts_one_value_per_column_on_wide_views_and_the_rest():
    for count in (WIDE // 3, WIDE // 3 * 2 + 5, 4):  # whole wide rows, some left over, none
        rows, vector = rng.standard_normal((count, 3)), rng.standard_normal(3)
        for ufunc in (np.add, np.subtract, np.multiply):
            out = per_feature(ufunc, rows, vector, np.empty_like(rows))
            np.testing.assert_array_equal(out, ufunc(rows, vector))
        in_place = rows.copy()
        per_feature(np.multiply, in_place, vector, in_place)
        np.testing.assert_array_equal(in_place, rows * vector)


# ------------------------------------------------------------- values and gradients
def closed_form(x, gamma, beta, g, axis, eps):
    """y and the gradients of sum(y·g) for x, gamma and beta, in float64, by the formulas."""
    others = tuple(i for i in range(x.ndim) if i != axis)
    shape = [1] * x.ndim
    shape[axis] = x.shape[axis]
    count = x.size // x.shape[axis]
    mean = x.mean(axis=others, keepdims=True)
    inv_std = 1 / np.sqrt(x.var(axis=others, keepdims=True) + eps)
    x_hat = (x - mean) * inv_std
    y = x_hat * gamma.reshape(shape) + beta.reshape(shape)
    d_beta = g.sum(axis=others)
    d_gamma = (g * x_hat).sum(axis=others)
    dx = (gamma.reshape(shape) * inv_std / count
          * (count * g - d_beta.reshape(shape) - x_hat * d_gamma.reshape(shape)))
    return y, dx, d_gamma, d_beta


@pytest.mark.parametrize("shape, axis", [((4, 5, 5, 3), 3), ((6, 4), 1), ((5, 3, 4), 1),
                                         ((3, 2, 2, 2), 0)])
def test_training_gradients_are_the_closed_form_for_x_gamma_and_beta(shape, axis):
    x = Tensor(rng.normal(2, 3, shape), requires_grad=True)
    features = shape[axis]
    gamma = Tensor(rng.uniform(0.5, 2, features), requires_grad=True)
    beta = Tensor(rng.standard_normal(features), requires_grad=True)
    g = rng.standard_normal(shape)
    y = F.batch_norm(x, gamma=gamma, beta=beta, training=True, epsilon=1e-3, axis=axis)
    y.backward(g)
    expected = closed_form(x.data, gamma.data, beta.data, g, axis, 1e-3)
    for got, want in zip((y.data, x.grad, gamma.grad, beta.grad), expected):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_inference_uses_the_moving_statistics_and_their_gradient_is_gamma_over_sigma():
    x = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    gamma = Tensor(np.array([1.5, -0.5, 2.0]), requires_grad=True)
    beta = Tensor(np.array([0.1, 0.2, 0.3]), requires_grad=True)
    mean, variance = np.array([0.3, -1.0, 2.0]), np.array([0.5, 2.0, 1.0])
    moving = [Tensor(mean.copy()), Tensor(variance.copy())]
    y = F.batch_norm(x, *moving, gamma, beta, training=False)
    g = rng.standard_normal((5, 3))
    y.backward(g)
    inv_std = 1 / np.sqrt(variance + 1e-3)
    np.testing.assert_allclose(y.data, (x.data - mean) * inv_std * gamma.data + beta.data,
                               rtol=1e-13)
    np.testing.assert_allclose(x.grad, g * gamma.data * inv_std, rtol=1e-13)
    np.testing.assert_allclose(gamma.grad, (g * (x.data - mean) * inv_std).sum(0), rtol=1e-12)
    np.testing.assert_allclose(beta.grad, g.sum(0), rtol=1e-13)
    for tensor, before in zip(moving, (mean, variance)):  # inference updates nothing
        np.testing.assert_array_equal(tensor.data, before)


def test_the_moving_statistics_follow_keras_update_in_float32():
    x = relu_normal(16, 6, 6, 4)
    moving_mean = Tensor(rng.standard_normal(4).astype(np.float32))
    moving_variance = Tensor(rng.uniform(0.5, 2, 4).astype(np.float32))
    before = moving_mean.data.copy(), moving_variance.data.copy()
    F.batch_norm(x, moving_mean, moving_variance, training=True)  # momentum 0.99
    mean, variance = statistics64(x)  # the biased variance, as Keras 3 uses
    # keras: moving·momentum + batch·(1 − momentum), every operand float32
    keep, take = np.float32(0.99), np.float32(1 - 0.99)
    np.testing.assert_array_equal(moving_mean.data,
                                  before[0] * keep + mean.astype(np.float32) * take)
    np.testing.assert_array_equal(moving_variance.data,
                                  before[1] * keep + variance.astype(np.float32) * take)
    assert moving_mean.dtype == np.float32


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras not installed")
@pytest.mark.filterwarnings(  # Keras 3.15 on numpy 2 warns about itself
    "ignore:__array__ implementation doesn.t accept a copy keyword:DeprecationWarning")
def test_the_layer_matches_keras_in_training_and_inference():
    if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("jax") is not None:
        os.environ["KERAS_BACKEND"] = "jax"  # Keras' default, TensorFlow, is rarely installed
    keras = pytest.importorskip("keras", minversion="3")
    x = relu_normal(32, 28, 28, 16)
    weights = [rng.uniform(0.5, 2, 16), rng.standard_normal(16), rng.standard_normal(16),
               rng.uniform(0.5, 2, 16)]
    weights = [w.astype(np.float32) for w in weights]
    theirs = keras.layers.BatchNormalization()
    theirs.build((None, 28, 28, 16))
    theirs.set_weights(weights)
    ours = nn.BatchNormalization()
    ours.build((None, 28, 28, 16))
    ours.set_weights(weights)
    np.testing.assert_allclose(ours(x, training=True).data,
                               np.asarray(theirs(x, training=True)), rtol=0, atol=2e-6)
    for mine, keras_weight in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, keras_weight, rtol=1e-6)
    np.testing.assert_allclose(ours(x, training=False).data,
                               np.asarray(theirs(x, training=False)), rtol=0, atol=2e-6)


# ----------------------------------------------------------------- one node, any order
def test_the_layer_records_one_batch_norm_node_on_its_input_and_weights():
    model = nn.Sequential([nn.Dense(3, input_shape=(4,)), nn.BatchNormalization()])
    bn = model.layers[1]
    x = np.ones((5, 4), np.float32)
    for training, label in ((True, "batch_norm"), (False, "batch_norm (moving statistics)")):
        hidden = model.layers[0](x)
        y = bn(hidden, training=training)
        assert type(y._ctx).__name__ == "BatchNormOp" and y._ctx.describe() == label
        assert y._ctx.parents == (hidden, bn.gamma, bn.beta)  # nothing in between


def test_batch_norm_is_twice_differentiable_through_the_batch_statistics():
    x = Tensor(rng.normal(1, 2, (6, 3)), requires_grad=True)
    gamma = Tensor(np.array([1.5, 0.5, -1.0]), requires_grad=True)
    beta = Tensor(np.zeros(3), requires_grad=True)
    assert tc.gradgradcheck(lambda x, g, b: F.batch_norm(x, gamma=g, beta=b, training=True)
                            .tanh(), [x, gamma, beta])


# --------------------------------------------------------------- the batch axis in build
def test_build_takes_keras_shape_with_the_batch_axis_first():
    bn = nn.BatchNormalization()
    bn.build((None, 28, 28, 16))  # was taken as a rank-5 input with 16 features… of 28
    assert bn.gamma.shape == (16,) and bn.input_shape == (28, 28, 16)
    assert bn(np.ones((2, 28, 28, 16), np.float32)).shape == (2, 28, 28, 16)
    model = nn.Sequential([nn.Conv2D(4, 3), nn.BatchNormalization(), nn.Flatten(),
                           nn.Dense(2)])
    model.build((None, 28, 28, 1))
    assert model.input_shape == (28, 28, 1) and model.count_params() == 40 + 16 + 2704 * 2 + 2
