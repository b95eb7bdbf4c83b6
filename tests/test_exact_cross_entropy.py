"""Cross-entropy from logits has the exact gradient σ(x) − y / softmax(x) − y at every logit.

Each test compares with the closed forms written out here, evaluated in extended precision
(np.longdouble) and rounded to the dtype under test, at the logits where a chain of ops
goes wrong: 0 (where relu and |x| have their kinks), ±1e-30 (either side of them), ±100
(where e^x overflows float32 and a softmax's tail probabilities are tiny). "Exact" means
within 2 ulps of the rounded closed form, float32 and float64 alike.
"""

import importlib.util
import os

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, losses, nn
from tinygrad_cnn import functional as F

POINTS = [0.0, 1e-30, -1e-30, 100.0, -100.0, 0.5, -3.0]
DTYPES = [np.float32, np.float64]
LD = np.longdouble


def assert_ulps(got, want, ulps=2):
    """|got − want| within ``ulps`` units in the last place of ``want`` (its dtype's)."""
    assert got.dtype == want.dtype
    spacing = np.spacing(np.abs(want))  # at 0: the smallest subnormal
    np.testing.assert_array_less(np.abs(got.astype(LD) - want.astype(LD)),
                                 ulps * spacing.astype(LD) * (1 + 1e-9))


def sigmoid_ld(x):
    return 1 / (1 + np.exp(-x.astype(LD)))


def softmax_ld(x):
    e = np.exp(x.astype(LD) - x.astype(LD).max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def binary_value_ld(x, y):
    """max(x, 0) − x·y + log(1 + e^−|x|), in long double."""
    x, y = x.astype(LD), y.astype(LD)
    return np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))


def categorical_value_ld(x, y):
    """logsumexp(x) − Σ y·x per row (rows of y sum to 1), in long double."""
    x, y = x.astype(LD), y.astype(LD)
    top = x.max(-1, keepdims=True)
    lse = top[..., 0] + np.log(np.exp(x - top).sum(-1))
    return lse * y.sum(-1) - (y * x).sum(-1)


def binary_grid(dtype):
    """Every point against the targets 0, 1 and 0.25: (21,) logits and targets."""
    x = np.repeat(np.array(POINTS, dtype), 3)
    y = np.tile(np.array([0.0, 1.0, 0.25], dtype), len(POINTS))
    return x, y


ROWS = [[0, 1e-30, -1e-30, 100, -100],
        [0, 0, 0, 0, 0],
        [-100, 0, 1e-30, 0.5, -3],
        [100, -3, 0.5, -1e-30, 100]]
LABELS = [[0, 1, 2, 3], [3, 4, 0, 4], [4, 0, 1, 0]]  # each row's class against several


# ------------------------------------------------------------------- the two ops
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_cross_entropy_gradient_is_sigmoid_minus_target_at_every_logit(dtype):
    x, y = binary_grid(dtype)
    logits, targets = Tensor(x, requires_grad=True), Tensor(y, requires_grad=True)
    F.sigmoid_cross_entropy(logits, targets).backward(np.ones_like(x))
    assert_ulps(logits.grad, (sigmoid_ld(x) - y).astype(dtype))
    assert logits.grad[0] == 0.5 and logits.grad[1] == -0.5  # x = 0: σ(0) − y, not −y
    assert_ulps(targets.grad, -x)  # ∂/∂y = −x


@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_cross_entropy_values_match_long_double(dtype):
    x, y = binary_grid(dtype)
    out = F.sigmoid_cross_entropy(x, y).data
    assert out.dtype == dtype
    assert_ulps(out, binary_value_ld(x, y).astype(dtype))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("labels", LABELS)
def test_softmax_cross_entropy_gradient_is_softmax_minus_one_hot(dtype, labels):
    x = np.array(ROWS, dtype)
    y = np.eye(5, dtype=dtype)[labels]
    logits = Tensor(x, requires_grad=True)
    out = F.softmax_cross_entropy(logits, y)
    out.backward(np.ones(4, dtype))
    assert_ulps(logits.grad, (softmax_ld(x) - y).astype(dtype))
    assert_ulps(out.data, categorical_value_ld(x, y).astype(dtype))


def test_softmax_cross_entropy_of_soft_targets_and_its_target_gradient():
    x = np.array(ROWS, np.float64)
    y = np.array([[0.1, 0.2, 0.3, 0.4, 0.0]] * 4)  # rows summing to 1: softmax(x) − y
    logits, targets = Tensor(x, requires_grad=True), Tensor(y, requires_grad=True)
    out = F.softmax_cross_entropy(logits, targets)
    out.backward(np.ones(4))
    # where p ≈ y the difference cancels: its error is p's rounding, an ulp of numbers ≤ 1
    np.testing.assert_allclose(logits.grad, (softmax_ld(x) - y).astype(np.float64), rtol=0,
                               atol=2 * np.finfo(np.float64).eps)
    log_p = np.log(softmax_ld(x)).astype(np.float64)
    np.testing.assert_allclose(targets.grad, -log_p, rtol=1e-15)
    half = F.softmax_cross_entropy(Tensor(x), y / 2).data  # a row summing to ½: half the loss
    np.testing.assert_allclose(half, out.data / 2, rtol=1e-15)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("labels", LABELS)
def test_F_cross_entropy_gradient_is_softmax_minus_one_hot_over_n(dtype, labels):
    x = np.array(ROWS, dtype)
    logits = Tensor(x, requires_grad=True)
    loss = F.cross_entropy(logits, np.array(labels))
    loss.backward()
    one_hot = np.eye(5)[labels]
    assert_ulps(logits.grad, ((softmax_ld(x) - one_hot) / 4).astype(dtype))  # N = 4: exact
    assert_ulps(loss.data, categorical_value_ld(x, one_hot).mean().astype(dtype))


# --------------------------------------------- the Keras losses, given or finding logits
def keras_binary(logits, y, behind):
    fn = losses.BinaryCrossentropy(from_logits=not behind)
    return fn(y, logits.sigmoid() if behind else logits)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("behind", [False, True], ids=["from_logits", "behind a sigmoid"])
def test_binary_crossentropy_gradient_is_exact_from_logits_or_behind_a_sigmoid(dtype, behind):
    x, y = binary_grid(dtype)
    x, y = np.concatenate([x, x[:11]]).reshape(8, 4), np.concatenate([y, y[:11]]).reshape(8, 4)
    logits = Tensor(x, requires_grad=True)
    loss = keras_binary(logits, y, behind)
    loss.backward()
    # the mean over 4 values per example and 8 examples: a division by 32, exact
    assert_ulps(logits.grad, ((sigmoid_ld(x) - y) / 32).astype(dtype))
    assert_ulps(loss.data, binary_value_ld(x, y).mean().astype(dtype), ulps=4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("behind", [False, True], ids=["from_logits", "behind a softmax"])
@pytest.mark.parametrize("sparse", [True, False], ids=["sparse", "categorical"])
def test_categorical_crossentropies_gradient_is_exact(dtype, behind, sparse):
    x = np.array(ROWS, dtype)
    labels = np.array(LABELS[0])
    one_hot = np.eye(5, dtype=dtype)[labels]
    cls = losses.SparseCategoricalCrossentropy if sparse else losses.CategoricalCrossentropy
    logits = Tensor(x, requires_grad=True)
    loss = cls(from_logits=not behind)(labels if sparse else one_hot,
                                       logits.softmax() if behind else logits)
    loss.backward()
    assert_ulps(logits.grad, ((softmax_ld(x) - one_hot) / 4).astype(dtype))
    assert_ulps(loss.data, categorical_value_ld(x, one_hot).mean().astype(dtype))


# ---------------------------------------------------------- the reproducer
def dead_unit_model():
    """Dense(5, relu) → Dense(1, sigmoid) whose kernel is ≥ 0, so the examples with every
    input < 0 have every hidden unit dead: with the output bias 0 their logit is exactly 0."""
    k1 = np.array([[0.3, 0.1, 0.7, 0.2, 0.5], [0.4, 0.6, 0.1, 0.3, 0.2],
                   [0.2, 0.5, 0.4, 0.6, 0.1]], np.float32)
    k2 = np.array([[0.5], [-0.4], [0.3], [-0.6], [0.2]], np.float32)
    weights = [k1, np.zeros(5, np.float32), k2, np.zeros(1, np.float32)]
    x = np.array([[-1, -2, -0.5], [1, 0.5, -0.2], [-0.3, -0.1, -2], [0.2, 1, 0.4],
                  [-1, -1, -1], [0.5, -0.5, 1], [-0.2, -0.4, -0.6], [2, 0.1, 0.3]], np.float32)
    y = np.array([[1], [0], [1], [1], [0], [0], [1], [0]], np.float32)
    return weights, x, y


def test_one_sgd_step_through_a_logit_of_exactly_zero_moves_the_bias_by_the_closed_form():
    weights, x, y = dead_unit_model()
    model = nn.Sequential([nn.Dense(5, activation="relu", input_shape=(3,)),
                           nn.Dense(1, activation="sigmoid")])
    model.set_weights(weights)
    model.compile(optimizer=tc.optim.SGD(lr=0.5), loss="binary_crossentropy")
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)

    z = np.maximum(x.astype(np.float64) @ weights[0], 0) @ weights[2]  # the logits
    assert (z[::2] == 0).all()  # examples 0, 2, 4, 6: every hidden unit dead
    expected = 0 - 0.5 * np.mean(1 / (1 + np.exp(-z)) - y)  # b − lr · mean(σ(z) − y)
    np.testing.assert_allclose(model.get_weights()[3], [expected], rtol=1e-6)


@pytest.mark.skipif(importlib.util.find_spec("keras") is None, reason="keras not installed")
@pytest.mark.filterwarnings(  # Keras 3.15 on numpy 2 warns about itself
    "ignore:__array__ implementation doesn.t accept a copy keyword:DeprecationWarning")
def test_the_reproducer_matches_keras_after_one_step():
    if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("jax") is not None:
        os.environ["KERAS_BACKEND"] = "jax"  # Keras' default, TensorFlow, is rarely installed
    keras = pytest.importorskip("keras", minversion="3")
    weights, x, y = dead_unit_model()
    theirs = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5, activation="relu"),
                               keras.layers.Dense(1, activation="sigmoid")])
    theirs.set_weights(weights)
    theirs.compile(optimizer=keras.optimizers.SGD(0.5), loss="binary_crossentropy",
                   metrics=["accuracy"])
    keras_history = theirs.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    ours = nn.Sequential([nn.Dense(5, activation="relu", input_shape=(3,)),
                          nn.Dense(1, activation="sigmoid")])
    ours.set_weights(weights)
    ours.compile(optimizer=tc.optim.SGD(lr=0.5), loss="binary_crossentropy",
                 metrics=["accuracy"])
    history = ours.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for mine, keras_weight in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(mine, keras_weight, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(history.history["loss"], keras_history.history["loss"],
                               rtol=1e-6)
    assert history.history["accuracy"] == pytest.approx(keras_history.history["accuracy"])


# ------------------------------------------------------------- twice differentiable
def test_the_binary_loss_from_logits_is_twice_differentiable_through_zero():
    x = Tensor(np.array([0.0, 1e-30, -2.0, 3.0]), requires_grad=True)
    y = np.array([1.0, 0.0, 0.25, 1.0])
    (g,) = tc.grad(F.sigmoid_cross_entropy(x, y).sum(), [x], create_graph=True)
    (h,) = tc.grad(g.sum(), [x])
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(g.data, s - y, rtol=1e-15)
    np.testing.assert_allclose(h.data, s * (1 - s), rtol=1e-15)  # σ′ = ¼ at 0
