"""The common Keras layers: BatchNormalization, LeakyReLU, Softmax, Reshape, ZeroPadding2D,
Input; activation and initializer names; freezing; get_weights / set_weights.

Each layer's forward is checked against numpy (Keras' formulas) and its gradients, for the
input and every trainable weight, by gradcheck in float64.
"""

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn

rng = np.random.default_rng(0)


def f64(*shape, requires_grad=True, scale=1.0, offset=0.0):
    return Tensor(rng.standard_normal(shape) * scale + offset, requires_grad=requires_grad)


def gradcheck_layer(layer, x, training):
    """gradcheck of sum(layer(x)·w) for x and every trainable weight (w: fixed weights)."""
    probe = rng.standard_normal(layer(x, training=training).shape)

    def fn(x, *weights):
        return (layer(x, training=training) * probe).sum()

    return tc.gradcheck(fn, [x, *layer.trainable_weights])


# ------------------------------------------------------------- BatchNormalization
def keras_batch_norm(x, gamma, beta, mean, var, eps=1e-3):
    return (x - mean) / np.sqrt(var + eps) * gamma + beta


def test_batch_norm_weights_are_keras_names_order_and_initial_values():
    bn = nn.BatchNormalization(input_shape=(5, 5, 3))
    assert [w.name for w in bn.weights] == ["batch_normalization.gamma",
                                            "batch_normalization.beta",
                                            "batch_normalization.moving_mean",
                                            "batch_normalization.moving_variance"]
    assert [w.name for w in bn.trainable_weights] == ["batch_normalization.gamma",
                                                      "batch_normalization.beta"]
    assert [w.name for w in bn.non_trainable_weights] == [
        "batch_normalization.moving_mean", "batch_normalization.moving_variance"]
    gamma, beta, mean, var = bn.get_weights()
    assert gamma.tolist() == [1, 1, 1] and beta.tolist() == [0, 0, 0]
    assert mean.tolist() == [0, 0, 0] and var.tolist() == [1, 1, 1]
    assert (bn.momentum, bn.epsilon, bn.axis) == (0.99, 1e-3, -1)


def test_batch_norm_training_uses_batch_statistics_and_updates_the_moving_ones():
    bn = nn.BatchNormalization(momentum=0.9, input_shape=(4, 3), dtype="float64")
    gamma, beta = rng.standard_normal(3), rng.standard_normal(3)
    bn.set_weights([gamma, beta, np.zeros(3), np.ones(3)])
    x = rng.standard_normal((6, 4, 3)) * 3 + 2
    mean, var = x.mean(axis=(0, 1)), x.var(axis=(0, 1))  # biased variance
    np.testing.assert_allclose(bn(x, training=True).data,
                               keras_batch_norm(x, gamma, beta, mean, var), rtol=1e-12)
    np.testing.assert_allclose(bn.moving_mean.data, 0.1 * mean, rtol=1e-12)
    np.testing.assert_allclose(bn.moving_variance.data, 0.9 + 0.1 * var, rtol=1e-12)
    bn(x, training=True)
    np.testing.assert_allclose(bn.moving_mean.data, 0.9 * 0.1 * mean + 0.1 * mean, rtol=1e-12)


def test_batch_norm_inference_uses_the_moving_statistics():
    bn = nn.BatchNormalization(input_shape=(3,), dtype="float64")
    weights = [rng.standard_normal(3), rng.standard_normal(3), rng.standard_normal(3),
               rng.uniform(0.5, 2, 3)]
    bn.set_weights(weights)
    x = rng.standard_normal((5, 3))
    np.testing.assert_allclose(bn(x, training=False).data, keras_batch_norm(x, *weights),
                               rtol=1e-12)
    bn.eval()
    np.testing.assert_allclose(bn(x).data, keras_batch_norm(x, *weights), rtol=1e-12)
    for before, after in zip(weights, bn.get_weights()):  # inference updates nothing
        np.testing.assert_array_equal(before, after)


def test_batch_norm_on_another_axis_and_without_center_or_scale():
    bn = nn.BatchNormalization(axis=1, center=False, scale=False, input_shape=(3, 4),
                               dtype="float64")
    assert [w.name.split(".")[1] for w in bn.weights] == ["moving_mean", "moving_variance"]
    x = rng.standard_normal((5, 3, 4))
    mean, var = x.mean(axis=(0, 2), keepdims=True), x.var(axis=(0, 2), keepdims=True)
    np.testing.assert_allclose(bn(x, training=True).data, (x - mean) / np.sqrt(var + 1e-3),
                               rtol=1e-12)
    assert bn.moving_mean.shape == (3,)


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("shape, axis", [((4, 3, 3, 2), -1), ((6, 3), -1), ((4, 3, 5), 1)])
def test_batch_norm_gradcheck_for_input_gamma_and_beta(training, shape, axis):
    bn = nn.BatchNormalization(axis=axis, dtype="float64")
    x = f64(*shape, scale=2, offset=1)
    bn(x)  # build
    features = bn.gamma.shape
    bn.set_weights([rng.uniform(0.5, 2, features), rng.standard_normal(features),
                    rng.standard_normal(features), rng.uniform(0.5, 2, features)])
    assert len(bn.trainable_weights) == 2
    assert gradcheck_layer(bn, x, training)


def test_frozen_batch_norm_runs_in_inference_mode_as_in_keras_3():
    bn = nn.BatchNormalization(input_shape=(3,))
    bn.trainable = False
    x = rng.standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(bn(x, training=True).data, x / np.sqrt(1 + 1e-3), rtol=1e-6)
    assert bn.moving_mean.data.tolist() == [0, 0, 0]


def test_batch_norm_counts_moving_statistics_as_non_trainable_in_the_summary():
    model = nn.Sequential([nn.Dense(4, input_shape=(3,)), nn.BatchNormalization()])
    printed = []
    model.summary(print_fn=printed.append, explain=True)
    text = printed[0]
    assert "Total params: 32" in text and "Trainable params: 24" in text
    assert "Non-trainable params: 8" in text
    assert "params = 4·4 = 16" in text
    assert model.count_params() == 32


# ------------------------------------------------------------- the other new layers
NEW_LAYERS = [  # layer, input shape (with batch), numpy reference
    (lambda: nn.LeakyReLU(), (3, 4), lambda x: np.where(x > 0, x, 0.3 * x)),
    (lambda: nn.LeakyReLU(negative_slope=0.1), (2, 3, 3, 2), lambda x: np.where(x > 0, x, 0.1 * x)),
    (lambda: nn.Softmax(), (3, 4),
     lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    (lambda: nn.Softmax(axis=1), (2, 3, 4),
     lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (lambda: nn.Reshape((3, -1)), (2, 4, 3), lambda x: x.reshape(2, 3, 4)),
    (lambda: nn.Reshape((2, 2, 3)), (2, 12), lambda x: x.reshape(2, 2, 2, 3)),
    (lambda: nn.ZeroPadding2D(), (2, 3, 4, 2),
     lambda x: np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))),
    (lambda: nn.ZeroPadding2D((1, 2)), (1, 3, 3, 1),
     lambda x: np.pad(x, ((0, 0), (1, 1), (2, 2), (0, 0)))),
    (lambda: nn.ZeroPadding2D(((0, 1), (2, 0))), (1, 3, 3, 2),
     lambda x: np.pad(x, ((0, 0), (0, 1), (2, 0), (0, 0)))),
    (lambda: nn.Activation("leaky_relu"), (3, 4), lambda x: np.where(x > 0, x, 0.2 * x)),
    (lambda: nn.Activation("elu"), (3, 4), lambda x: np.where(x > 0, x, np.exp(x) - 1)),
    (lambda: nn.Activation("softplus"), (3, 4), lambda x: np.log1p(np.exp(x))),
    (lambda: nn.Dense(3, activation="elu", kernel_initializer="ones", dtype="float64"), (2, 4),
     lambda x: (lambda z: np.where(z > 0, z, np.exp(z) - 1))(x.sum(-1, keepdims=True)
                                                            * np.ones(3))),
]


@pytest.mark.parametrize("make, shape, reference", NEW_LAYERS)
def test_new_layer_forward_shape_and_gradient(make, shape, reference):
    layer = make()
    x = Tensor(rng.uniform(0.2, 2, shape) * rng.choice([-1, 1], shape), requires_grad=True)
    y = layer(x)
    np.testing.assert_allclose(y.data, reference(x.data), rtol=1e-12, atol=1e-12)
    assert y.shape[1:] == layer.compute_output_shape(shape[1:])
    assert gradcheck_layer(layer, x, training=True)


def test_activation_functions_are_finite_for_huge_inputs():
    x = Tensor(np.array([-1e4, -50.0, 0.0, 50.0, 1e4], np.float32))
    for name in ("elu", "softplus", "leaky_relu"):
        y = nn.Activation(name)(x[None]).data
        assert np.isfinite(y).all(), name
    np.testing.assert_allclose(nn.Activation("softplus")(x[None]).data[0],
                               [0, 0, np.log(2), 50, 1e4], atol=1e-6)


def test_reshape_infers_minus_one_and_refuses_what_does_not_fit():
    assert nn.Reshape((-1, 2)).compute_output_shape((3, 4)) == (6, 2)
    with pytest.raises(ValueError, match=r"cannot reshape inputs of shape \(batch, 3, 4\), 12 "
                                         r"values per example, into target_shape \(5, -1\)"):
        nn.Reshape((5, -1), input_shape=(3, 4))


def test_initializers_by_name():
    tc.manual_seed(0)
    assert (nn.Dense(3, kernel_initializer="ones", input_shape=(4,)).kernel.data == 1).all()
    kernel = nn.Dense(400, kernel_initializer="lecun_normal", input_shape=(100,)).kernel.data
    assert abs(kernel.std() - np.sqrt(1 / 100)) < 0.005  # stddev sqrt(1 / fan_in)
    assert np.abs(kernel).max() <= 2 * np.sqrt(1 / 100) / 0.8796 + 1e-6  # truncated at 2σ
    layer = nn.Dense(2, input_shape=(3,))
    assert (layer.add_weight("extra", (2,), "ones").data == 1).all()


# ---------------------------------------------------------------------------- Input
def test_input_as_the_first_entry_builds_the_model():
    model = nn.Sequential([nn.Input((6, 6, 1)), nn.Conv2D(2, 3), nn.Flatten(), nn.Dense(3)])
    assert model.built and model.input_shape == (6, 6, 1)
    assert [layer.name for layer in model.layers] == ["conv2d", "flatten", "dense"]
    assert model(np.zeros((2, 6, 6, 1))).shape == (2, 3)
    with pytest.raises(ValueError, match=r"Input\(shape=\(3,\)\) must be the first entry"):
        nn.Sequential([nn.Dense(2, input_shape=(3,)), nn.Input((3,))])


# ---------------------------------------------------------------------------- freezing
def ids(tensors):
    return [id(t) for t in tensors]


def small_model():
    return nn.Sequential([nn.Dense(4, activation="relu", input_shape=(3,)),
                          nn.BatchNormalization(), nn.Dense(2)])


def test_freezing_a_layer_moves_its_weights_to_non_trainable():
    model = small_model()
    first = model.layers[0]
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2
    first.trainable = False
    assert not any(w is first.kernel for w in model.trainable_weights)
    assert any(w is first.kernel for w in model.non_trainable_weights)
    assert ids(model.parameters()) == ids(model.trainable_weights)
    assert len(model.parameters()) == 4
    assert [w.name for w in model.weights] == [w.name for w in small_model().weights]
    printed = []
    model.summary(print_fn=printed.append)
    assert "Trainable params: 18" in printed[0] and "Non-trainable params: 24" in printed[0]
    model.trainable = False
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 8
    model.trainable = True
    assert len(model.trainable_weights) == 6


def test_frozen_layers_are_skipped_by_the_optimizer_compile_builds():
    tc.manual_seed(0)
    model = small_model()
    model.layers[0].trainable = False
    frozen = model.layers[0].get_weights()
    model.compile(optimizer="sgd", loss="mse")
    assert ids(model.optimizer.params) == ids(model.trainable_weights)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2))
    model.fit(x, y, epochs=2, verbose=0)
    for before, after in zip(frozen, model.layers[0].get_weights()):
        np.testing.assert_array_equal(before, after)
    assert not np.array_equal(model.layers[2].kernel.data, small_model().layers[2].kernel.data)


# ------------------------------------------------------------- get / set weights
def test_get_and_set_weights_round_trip_in_keras_order():
    model = small_model()
    weights = model.get_weights()
    assert [w.shape for w in weights] == [(3, 4), (4,), (4,), (4,), (4,), (4,), (4, 2), (2,)]
    weights[0][:] = 7  # copies: the model is untouched
    assert not (model.layers[0].kernel.data == 7).any()
    other = small_model()
    other.set_weights(weights)
    assert (other.layers[0].kernel.data == 7).all()


@pytest.mark.parametrize("bad, message", [
    (lambda w: w[:-1], r"has 8 weights .* but got 7 arrays"),
    (lambda w: w[:-1] + [np.zeros(3)], r"array 7 has shape \(3,\) but dense_1.bias has shape "
                                       r"\(2,\)"),
])
def test_set_weights_checks_everything_before_changing_anything(bad, message):
    model = small_model()
    before = model.get_weights()
    new = [np.full_like(w, 5) for w in before]
    with pytest.raises(ValueError, match=message):
        model.set_weights(bad(new))
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
