"""Layers and Sequential: shapes, parameter counts, names, summaries, training mode."""

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn
from tinygrad_cnn import functional as F


def simple_mnist_convnet():
    """Keras' "simple MNIST convnet" example."""
    return nn.Sequential([
        nn.Conv2D(32, 3, activation="relu", input_shape=(28, 28, 1)),
        nn.MaxPooling2D(2),
        nn.Conv2D(64, 3, activation="relu"),
        nn.MaxPooling2D(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Dense(10),
    ])


def seed_model():
    return nn.Sequential([
        nn.Conv2D(filters=10, kernel_size=3, strides=1, padding="same", activation="relu",
                  input_shape=(28, 28, 1)),
        nn.MaxPooling2D(pool_size=2),
        nn.Flatten(),
        nn.Dense(10),
    ])


# layer, input shape (no batch) -> output shape, params, MACs per example
LAYER_TABLE = [
    (lambda: nn.Conv2D(10, 3, padding="same"), (28, 28, 1), (28, 28, 10), 100, 28 * 28 * 9 * 10),
    (lambda: nn.Conv2D(16, 2, strides=1, padding="same"), (28, 28, 1), (28, 28, 16), 80,
     28 * 28 * 4 * 16),
    (lambda: nn.Conv2D(32, 3), (28, 28, 1), (26, 26, 32), 320, 26 * 26 * 9 * 32),
    (lambda: nn.Conv2D(64, 3), (13, 13, 32), (11, 11, 64), 18_496, 11 * 11 * 9 * 32 * 64),
    (lambda: nn.Conv2D(8, (3, 5), strides=(2, 3), padding="same", use_bias=False), (28, 28, 3),
     (14, 10, 8), 360, 14 * 10 * 15 * 3 * 8),
    (lambda: nn.Conv2D(4, 3, dilation_rate=2), (10, 10, 2), (6, 6, 4), 76, 6 * 6 * 9 * 2 * 4),
    (lambda: nn.Conv2D(4, 3, padding=1), (10, 10, 2), (10, 10, 4), 76, 10 * 10 * 9 * 2 * 4),
    (lambda: nn.MaxPooling2D(2), (28, 28, 10), (14, 14, 10), 0, 0),
    (lambda: nn.MaxPooling2D(3, strides=2, padding="same"), (7, 7, 4), (4, 4, 4), 0, 0),
    (lambda: nn.AveragePooling2D(2), (27, 27, 3), (13, 13, 3), 0, 0),
    (lambda: nn.GlobalAveragePooling2D(), (7, 7, 64), (64,), 0, 0),
    (lambda: nn.GlobalMaxPooling2D(), (7, 7, 64), (64,), 0, 0),
    (lambda: nn.Flatten(), (14, 14, 10), (1960,), 0, 0),
    (lambda: nn.Dense(10), (1960,), (10,), 19_610, 19_600),
    (lambda: nn.Dense(3, use_bias=False), (4,), (3,), 12, 12),
    (lambda: nn.Dropout(0.5), (5,), (5,), 0, 0),
    (lambda: nn.Activation("tanh"), (5,), (5,), 0, 0),
    (lambda: nn.ReLU(), (2, 2, 2), (2, 2, 2), 0, 0),
    (lambda: nn.BatchNormalization(), (7, 7, 32), (7, 7, 32), 128, 0),
    (lambda: nn.BatchNormalization(scale=False), (10,), (10,), 30, 0),
    (lambda: nn.LeakyReLU(0.1), (3, 2), (3, 2), 0, 0),
    (lambda: nn.Softmax(), (6,), (6,), 0, 0),
    (lambda: nn.Reshape((7, 7, -1)), (1568,), (7, 7, 32), 0, 0),
    (lambda: nn.ZeroPadding2D(2), (28, 28, 1), (32, 32, 1), 0, 0),
    (lambda: nn.ZeroPadding2D(((0, 1), (2, 3))), (5, 5, 3), (6, 10, 3), 0, 0),
]


@pytest.mark.parametrize("make, in_shape, out_shape, params, macs", LAYER_TABLE)
def test_layer_shape_params_and_macs(make, in_shape, out_shape, params, macs):
    layer = make()
    layer.build(in_shape)
    assert layer.compute_output_shape(in_shape) == out_shape
    assert layer.count_params() == params
    assert layer.macs(in_shape) == macs
    y = layer(Tensor(np.random.default_rng(0).standard_normal((2, *in_shape)).astype(np.float32)))
    assert y.shape == (2, *out_shape)
    assert y.dtype == np.float32


def test_simple_mnist_convnet_has_keras_parameter_count():
    model = simple_mnist_convnet()
    assert model.count_params() == 34_826  # Keras' example reports 34,826
    assert [p.shape for p in model.parameters()] == [
        (3, 3, 1, 32), (32,), (3, 3, 32, 64), (64,), (1600, 10), (10,)]


def summary_text(model, explain=False):
    printed = []
    assert model.summary(print_fn=printed.append, explain=explain) is None  # Keras: None
    (text,) = printed
    return text


def test_seed_model_summary_shows_the_seed_story():
    text = summary_text(seed_model())
    rows = {line.split()[0]: line for line in text.splitlines() if "(" in line}
    assert "(None, 28, 28, 10)" in rows["conv2d"] and " 100 " in rows["conv2d"]
    assert "(None, 14, 14, 10)" in rows["max_pooling2d"]
    assert rows["max_pooling2d"].split()[-2:] == ["0", "0"]
    assert "(None, 1960)" in rows["flatten"]
    assert "19,610" in rows["dense"]
    assert "Total params: 19,710" in text
    assert f"MACs per example (forward): {28 * 28 * 9 * 10 + 1960 * 10:,}" in text


def test_summary_explain_shows_formulas():
    text = summary_text(seed_model(), explain=True)
    assert "out = ceil(28/1) = 28 ('same', pad 1+1)" in text
    assert "params = 3·3·1·10 + 10 = 100" in text
    assert "MACs = 28·28·3·3·1·10 = 70,560" in text
    assert "out = floor((28 − 2)/2) + 1 = 14 ('valid')" in text
    assert "out = 14·14·10 = 1,960" in text


def test_summary_prints_and_returns_none(capsys):
    assert seed_model().summary() is None
    assert "Total params: 19,710" in capsys.readouterr().out


def test_summary_of_unbuilt_model_says_how_to_build_it():
    model = nn.Sequential([nn.Conv2D(4, 3), nn.Flatten(), nn.Dense(2)])
    with pytest.raises(ValueError, match="input_shape"):
        model.summary()
    model(Tensor(np.zeros((1, 8, 8, 1), np.float32)))
    assert "(None, 6, 6, 4)" in summary_text(model)


def test_a_single_built_layer_prints_its_own_one_row_summary():
    layer = nn.Dense(3, input_shape=(4,))
    text = summary_text(layer)
    lines = text.splitlines()
    assert lines[0] == 'Layer: "dense"'
    (row,) = [line for line in lines if line.startswith("dense (Dense)")]
    assert row.split()[2:] == ["(None,", "3)", "15", "12"]  # 4·3 + 3 params, 4·3 MACs
    assert "Input shape: (None, 4)" in lines
    assert "Total params: 15 (60 B)" in lines  # 15 float32 values
    assert "MACs per example (forward): 12" in lines
    explained = summary_text(nn.Conv2D(2, 3, input_shape=(5, 5, 1)), explain=True)
    assert "    params = 3·3·1·2 + 2 = 20" in explained.splitlines()


def test_summary_of_an_unbuilt_layer_says_how_to_build_it():
    with pytest.raises(ValueError, match=r"summary\(\) needs a built layer.*input_shape="):
        nn.Dense(3).summary()


def test_a_called_model_lets_its_layers_judge_the_image_size_but_fit_needs_the_built_one():
    model = nn.Sequential([nn.Conv2D(2, 3, input_shape=(6, 6, 1)),
                           nn.GlobalAveragePooling2D(), nn.Dense(2)])
    assert model(np.zeros((1, 8, 8, 1), np.float32)).shape == (1, 2)  # a convolution's way
    model.compile(optimizer="sgd", loss="mse")
    for run in (lambda x: model.predict(x, verbose=0),
                lambda x: model.fit(x, np.zeros((1, 2)), verbose=0)):
        with pytest.raises(ValueError, match=r"x has shape \(1, 8, 8, 1\) but model "
                                             r"'sequential' expects \(None, 6, 6, 1\)$"):
            run(np.zeros((1, 8, 8, 1), np.float32))


def test_layers_build_lazily_on_first_call():
    layer = nn.Dense(4)
    assert not layer.built and layer.kernel is None
    layer(Tensor(np.ones((2, 7), np.float32)))
    assert layer.built and layer.kernel.shape == (7, 4) and layer.bias.shape == (4,)


def test_names_are_unique_and_deterministic():
    names = [layer.name for layer in simple_mnist_convnet().layers]
    assert names == ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "flatten",
                     "dropout", "dense"]
    assert names == [layer.name for layer in simple_mnist_convnet().layers]
    model = simple_mnist_convnet()
    assert model.layers[0].kernel.name == "conv2d.kernel"
    assert model.layers[2].bias.name == "conv2d_1.bias"


def test_explicit_names_are_kept_and_duplicates_rejected():
    model = nn.Sequential([nn.Dense(3, name="hidden", input_shape=(2,)), nn.Dense(2)])
    assert [layer.name for layer in model.layers] == ["hidden", "dense"]
    assert model.layers[0].kernel.name == "hidden.kernel"
    with pytest.raises(ValueError, match="hidden"):
        nn.Sequential([nn.Dense(3, name="hidden"), nn.Dense(2, name="hidden")])


def test_model_forward_equals_functional_ops_with_same_weights():
    tc.manual_seed(3)
    model = seed_model()
    x = np.random.default_rng(1).random((4, 28, 28, 1)).astype(np.float32)
    conv, _, _, dense = model.layers
    expected = F.conv2d(Tensor(x), conv.kernel, conv.bias, padding="same").relu()
    expected = F.max_pool2d(expected, 2).flatten() @ dense.kernel + dense.bias
    np.testing.assert_allclose(model(Tensor(x)).data, expected.data, rtol=1e-6)


def test_gradcheck_through_a_whole_small_model_in_float64():
    tc.manual_seed(0)
    model = nn.Sequential([
        nn.Conv2D(2, 3, padding="same", activation="tanh", input_shape=(5, 5, 1),
                  dtype="float64"),
        nn.AveragePooling2D(2, dtype="float64"),
        nn.Conv2D(3, 2, strides=1, dtype="float64"),
        nn.MaxPooling2D(1, dtype="float64"),
        nn.Flatten(dtype="float64"),
        nn.Dense(3, activation="sigmoid", dtype="float64"),
    ])
    model.eval()
    x = Tensor(np.random.default_rng(2).standard_normal((2, 5, 5, 1)), requires_grad=True)
    labels = np.array([0, 2])
    params = model.parameters()
    assert len(params) == 6
    assert tc.gradcheck(lambda x, *ps: F.cross_entropy(model(x), labels), [x, *params])


def test_dropout_is_active_in_training_and_identity_in_eval():
    tc.manual_seed(0)
    model = nn.Sequential([nn.Dropout(0.5, input_shape=(1000,))])
    x = Tensor(np.ones((4, 1000), np.float32))
    assert model.training is True
    y = model(x).data
    assert set(np.unique(y)) == {0.0, 2.0}  # kept values scaled by 1/(1 − rate)
    assert 0.4 < (y == 0).mean() < 0.6
    model.eval()
    assert model.training is False and model.layers[0].training is False
    np.testing.assert_array_equal(model(x).data, x.data)
    model.train()
    assert (model(x).data == 0).any()


def test_same_seed_gives_identical_models_and_dropout_masks():
    def run():
        tc.manual_seed(42)
        model = simple_mnist_convnet()
        x = Tensor(np.ones((2, 28, 28, 1), np.float32))
        return [p.data.copy() for p in model.parameters()], model(x).data

    (w1, y1), (w2, y2) = run(), run()
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(y1, y2)


def test_initializers_follow_keras_scales():
    tc.manual_seed(0)
    limit = np.sqrt(6 / (3 * 3 * 16 + 3 * 3 * 32))
    kernel = nn.Conv2D(32, 3, input_shape=(8, 8, 16)).kernel.data
    assert np.abs(kernel).max() <= limit and np.abs(kernel).max() > 0.9 * limit
    he = nn.Conv2D(64, 3, kernel_initializer="he_normal", input_shape=(8, 8, 64)).kernel.data
    assert np.abs(he).max() <= 2 * np.sqrt(2 / (9 * 64)) / 0.8796 + 1e-6
    assert abs(he.std() - np.sqrt(2 / (9 * 64))) < 0.05 * np.sqrt(2 / (9 * 64))
    assert not nn.Dense(3, input_shape=(2,)).bias.data.any()


@pytest.mark.parametrize("activation, fn", [
    ("relu", lambda z: np.maximum(z, 0)),
    ("sigmoid", lambda z: 1 / (1 + np.exp(-z))),
    ("tanh", np.tanh),
    ("softmax", lambda z: np.exp(z) / np.exp(z).sum(-1, keepdims=True)),
    (None, lambda z: z),
    (lambda t: t * 2, lambda z: 2 * z),
])
def test_dense_activations(activation, fn):
    layer = nn.Dense(3, activation=activation, input_shape=(4,))
    x = np.random.default_rng(0).standard_normal((2, 4)).astype(np.float32)
    z = x @ layer.kernel.data + layer.bias.data
    np.testing.assert_allclose(layer(Tensor(x)).data, fn(z), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("make, arg", [
    (lambda: nn.Conv2D(0, 3), "filters"),
    (lambda: nn.Conv2D(8.5, 3), "filters"),
    (lambda: nn.Conv2D(8, "3"), "kernel_size"),
    (lambda: nn.Conv2D(8, 3, strides="1"), "strides"),
    (lambda: nn.Conv2D(8, 3, padding="full"), "padding"),
    (lambda: nn.Conv2D(8, 3, activation="swishy"), "activation"),
    (lambda: nn.Conv2D(8, 3, kernel_initializer="ones?"), "initializer"),
    (lambda: nn.Conv2D(8, 3, input_shape=(28, 28)), "rank"),
    (lambda: nn.Conv2D(8, 5, input_shape=(3, 3, 1)), "larger than the padded input"),
    (lambda: nn.MaxPooling2D(0), "pool_size"),
    (lambda: nn.MaxPooling2D(2, padding=1), "padding"),
    (lambda: nn.Dense(-1), "units"),
    (lambda: nn.Dense(3, use_bias="yes"), "use_bias"),
    (lambda: nn.Dropout(1.0), "rate"),
    (lambda: nn.Dense(3, input_shape=(0,)), "input_shape"),
    (lambda: nn.Dense(3, dtype="int32"), "dtype"),
    (lambda: nn.Sequential([nn.Dense(3), "relu"]), "layers"),
])
def test_bad_layer_arguments_raise_clear_errors(make, arg):
    with pytest.raises((TypeError, ValueError), match=arg):
        make()


def test_calling_a_built_layer_with_the_wrong_input_names_the_layer():
    model = seed_model()
    with pytest.raises(ValueError, match="conv2d.*3 input channels|1 input channels"):
        model(Tensor(np.zeros((1, 28, 28, 3), np.float32)))
    dense = nn.Dense(2, input_shape=(4,))
    with pytest.raises(ValueError, match="'dense'.*4 input features"):
        dense(Tensor(np.zeros((1, 5), np.float32)))
    with pytest.raises(ValueError, match="Flatten"):
        nn.Dense(2, input_shape=(4,))(Tensor(np.zeros((1, 3, 3), np.float32)))
    assert dense(Tensor(np.zeros((1, 4)))).dtype == np.float32  # float64 is autocast
    with pytest.raises(TypeError, match="Tensor or ndarray"):
        model([[1.0]])


# ------------------------------------------------------------- Sequential is a Layer

def test_sequential_is_a_layer_and_models_nest():
    inner = nn.Sequential([nn.Conv2D(4, 3, activation="relu"), nn.MaxPooling2D(2)])
    model = nn.Sequential([nn.Conv2D(2, 1, input_shape=(8, 8, 1)), inner, nn.Flatten(),
                           nn.Dense(3)])
    assert isinstance(model, nn.Layer) and isinstance(inner, nn.Layer)
    assert model.layers[1] is inner and inner.model is model
    assert model.compute_output_shape((8, 8, 1)) == (3,)
    assert model.count_params() == sum(layer.count_params() for layer in model)
    assert model.parameters() == [p for layer in model for p in layer.parameters()]
    x = np.random.default_rng(0).random((2, 8, 8, 1)).astype(np.float32)
    assert model(x).shape == (2, 3)
    keys = list(model.state_dict())
    assert "sequential.conv2d.kernel" in keys  # the inner model's name comes first


def test_len_index_and_iteration_follow_the_layers():
    layers = [nn.Dense(3, input_shape=(2,)), nn.ReLU(), nn.Dense(1)]
    model = nn.Sequential(layers)
    assert len(model) == 3
    assert model[0] is layers[0] and model[-1] is layers[2]
    assert list(model) == layers and model.layers == layers


def test_passing_layers_without_a_list_says_to_pass_a_list():
    with pytest.raises(TypeError, match=r"Sequential\(\[layer1, layer2, \.\.\.\]\)"):
        nn.Sequential(nn.Dense(3), nn.Dense(2))


def test_a_layer_joins_one_model_only():
    shared = nn.Dense(3)
    nn.Sequential([shared])
    with pytest.raises(ValueError, match="already belongs to model 'sequential'"):
        nn.Sequential([shared])
    assert shared.name == "dense"  # not silently renamed


def test_train_and_eval_reach_nested_layers_and_training_overrides_one_call():
    drop = nn.Dropout(0.5)
    model = nn.Sequential([nn.Sequential([drop], name="inner")])
    x = np.ones((1, 1000), np.float32)
    model.eval()
    assert drop.training is False
    assert np.array_equal(model(x).data, x)
    assert not np.array_equal(model(x, training=True).data, x)  # this call only
    assert drop.training is False
    model.train()
    assert drop.training is True
    assert np.array_equal(model(x, training=False).data, x)


def test_input_shape_builds_any_layer_at_construction():
    for layer in (nn.Conv2D(2, 3, input_shape=(5, 5, 1)), nn.Dense(2, input_shape=(3,)),
                  nn.MaxPooling2D(2, input_shape=(4, 4, 1)), nn.Flatten(input_shape=(2, 2))):
        assert layer.built and layer.input_shape is not None
