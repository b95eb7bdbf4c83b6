"""Keras 3 itself opens what this library writes, and writes what it opens (skipped where
Keras is not installed, as the PyTorch comparisons are; CI does not install it).

For each model (the lesson's network, the BatchNormalization convnet, one with every layer
Keras shares with this library): ``model.save("m.keras")`` here, ``keras.saving.load_model``
there, and the predictions agree to float32 rounding; the model Keras rebuilt serializes to
the very config.json written here; Keras' optimizer holds the saved Adam moments; Keras'
``load_weights`` reads ``save_weights("m.weights.h5")``. Then Keras trains one step and saves,
and ``nn.load_model`` gives Keras' new predictions.

For each of Keras' optimizers, training carries on across the file both ways: one library
trains an epoch and saves, the other loads, and both train one more epoch on the same
batches; the weights agree to float32 rounding (largest difference measured: 6e-8, where
an optimizer started afresh after loading is off by 6e-3 to 6e-2).
"""

import importlib.util
import json
import os
import warnings
import zipfile

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import nn, zoo

if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("jax") is not None:
    os.environ["KERAS_BACKEND"] = "jax"  # Keras' default, TensorFlow, is rarely installed
keras = pytest.importorskip("keras", minversion="3")
pytest.importorskip("h5py")

pytestmark = pytest.mark.filterwarnings(  # Keras 3.15 on numpy 2 warns about itself
    "ignore:__array__ implementation doesn.t accept a copy keyword:DeprecationWarning")
rng = np.random.default_rng(0)


def every_layer():
    from test_saving import every_layer_model  # the library's model with every layer

    return every_layer_model()


MODELS = {  # name → (builder, input shape, number of classes)
    "lesson": (zoo.seed_convnet, (28, 28, 1), 10),
    "batchnorm": (zoo.batchnorm_mnist_convnet, (28, 28, 1), 10),
    "every layer": (every_layer, (8, 8, 1), 3),
}


def trained(name):
    """The model compiled with Adam and fitted a few steps (BN statistics moved too)."""
    build, shape, classes = MODELS[name]
    tc.manual_seed(0)
    model = build()
    model.compile(optimizer="adam", loss=tc.losses.SparseCategoricalCrossentropy(
        from_logits=True), metrics=["accuracy"])
    model.fit(rng.random((24, *shape)).astype(np.float32), rng.integers(0, classes, 24),
              batch_size=8, verbose=0)
    return model


def images(name, n=6):
    return rng.random((n, *MODELS[name][1])).astype(np.float32)


def assert_float32_close(ours, theirs):
    """Float32 rounding: the lesson's Dense sums 1,960 products in another order than Keras'
    (XLA's), and its outputs near 1 differ by up to 1.7e-6 (measured), some 30 float32 ulps."""
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)


def as_json(value):
    """A config as JSON gives it back (tuples become lists), without Keras' object ids."""
    if isinstance(value, dict):
        return {k: as_json(v) for k, v in value.items() if k != "shared_object_id"}
    if isinstance(value, (list, tuple)):
        return [as_json(v) for v in value]
    return value


def keras_load(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = keras.saving.load_model(path)
    skipped = [str(w.message) for w in caught if "Skipping" in str(w.message)]
    assert not skipped, skipped  # every variable of the file found its place in Keras
    return model


@pytest.mark.parametrize("name", MODELS)
def test_keras_opens_what_this_library_writes(name, tmp_path):
    model = trained(name)
    model.save(tmp_path / "m.keras")
    k = keras_load(tmp_path / "m.keras")
    x = images(name)
    assert_float32_close(model.predict(x, verbose=0), np.asarray(k(x, training=False)))

    from keras.src.saving import serialization_lib

    with serialization_lib.ObjectSharingScope():
        rebuilt = serialization_lib.serialize_keras_object(k)
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        written = json.loads(zf.read("config.json"))
    assert as_json(rebuilt) == as_json(written)  # what Keras writes for what it rebuilt

    assert int(np.asarray(k.optimizer.iterations)) == model.optimizer.iterations == 3
    assert_keras_holds_our_state(k, model)  # 24 examples in batches of 8: 3 steps


def assert_keras_holds_our_state(k, model):
    """Keras names each slot variable '<layer>_<weight>_<slot>' (after its model's name
    when the weight was made inside the model): each must hold our optimizer's array for
    that weight and slot, exactly."""
    opt = model.optimizer
    assert np.asarray(k.optimizer.learning_rate) == np.float32(opt.learning_rate)
    ours = {}
    for i, w in enumerate(model.trainable_weights):
        layer, weight = w.name.rsplit(".", 1)
        for slot in opt.state_names:
            ours[f"_{layer}_{weight}_{slot}"] = opt.state[i][slot]
    found = 0
    for variable in k.optimizer.variables[2:]:  # after the iteration and the learning rate
        (key,) = [key for key in ours if f"_{variable.name}".endswith(key)]
        np.testing.assert_array_equal(np.asarray(variable), ours[key])
        found += 1
    assert found == len(ours)


@pytest.mark.parametrize("name", MODELS)
def test_keras_load_weights_reads_save_weights(name, tmp_path):
    model = trained(name)
    model.save(tmp_path / "m.keras")
    model.save_weights(tmp_path / "m.weights.h5")
    k = keras_load(tmp_path / "m.keras")
    k.set_weights([np.zeros_like(w) for w in k.get_weights()])
    k.load_weights(tmp_path / "m.weights.h5")
    x = images(name)
    assert_float32_close(model.predict(x, verbose=0), np.asarray(k(x, training=False)))


@pytest.mark.parametrize("name", MODELS)
def test_this_library_opens_what_keras_writes(name, tmp_path):
    model = trained(name)
    model.save(tmp_path / "m.keras")
    k = keras_load(tmp_path / "m.keras")
    classes = MODELS[name][2]
    k.fit(images(name, 8), rng.integers(0, classes, 8), batch_size=8, verbose=0)
    k.save(tmp_path / "keras.keras")
    k.save_weights(tmp_path / "keras.weights.h5")
    restored = nn.load_model(tmp_path / "keras.keras")
    x = images(name)
    expected = np.asarray(k(x, training=False))
    assert_float32_close(restored.predict(x, verbose=0), expected)
    assert restored.optimizer.iterations == int(np.asarray(k.optimizer.iterations)) == 4
    model.load_weights(tmp_path / "keras.weights.h5")
    assert_float32_close(model.predict(x, verbose=0), expected)


KERAS_OPTIMIZERS = {  # name → the same optimizer in each library
    "SGD nesterov": (lambda: nn.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                     lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True)),
    "Adam amsgrad": (lambda: nn.optimizers.Adam(0.01, amsgrad=True),
                     lambda: keras.optimizers.Adam(0.01, amsgrad=True)),
    "AdamW": (lambda: nn.optimizers.AdamW(0.01, weight_decay=0.05),
              lambda: keras.optimizers.AdamW(0.01, weight_decay=0.05)),
    "RMSprop centered": (
        lambda: nn.optimizers.RMSprop(0.005, momentum=0.5, centered=True),
        lambda: keras.optimizers.RMSprop(0.005, momentum=0.5, centered=True)),
    "Adagrad": (lambda: nn.optimizers.Adagrad(0.05),
                lambda: keras.optimizers.Adagrad(0.05)),
}
X = rng.random((32, 6, 6, 1)).astype(np.float32)
Y = rng.integers(0, 3, 32)


def small_convnet(optimizer):
    tc.manual_seed(1)
    model = nn.Sequential([nn.Input((6, 6, 1)),
                           nn.Conv2D(4, 3, padding="same", activation="relu"),
                           nn.MaxPooling2D(2), nn.Flatten(), nn.Dense(3)])
    model.compile(optimizer=optimizer,
                  loss=tc.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def one_epoch(model):
    model.fit(X, Y, batch_size=8, shuffle=False, verbose=0)  # 4 steps, the same batches


def assert_same_weights(ours, k):
    """Float32 rounding: each step's gradients are summed in another order than XLA's."""
    for a, b in zip(ours.get_weights(), k.get_weights(), strict=True):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("ours, theirs", KERAS_OPTIMIZERS.values(),
                         ids=KERAS_OPTIMIZERS.keys())
def test_keras_trains_on_from_our_file_as_we_do(ours, theirs, tmp_path):
    model = small_convnet(ours())
    one_epoch(model)
    model.save(tmp_path / "m.keras")
    k = keras_load(tmp_path / "m.keras")
    assert type(k.optimizer) is type(theirs())
    assert_keras_holds_our_state(k, model)
    one_epoch(model)
    one_epoch(k)
    assert_same_weights(model, k)


@pytest.mark.parametrize("ours, theirs", KERAS_OPTIMIZERS.values(),
                         ids=KERAS_OPTIMIZERS.keys())
def test_we_train_on_from_a_keras_file_as_keras_does(ours, theirs, tmp_path):
    small_convnet(ours()).save(tmp_path / "start.keras")  # the same initial weights there
    k = keras_load(tmp_path / "start.keras")
    k.compile(optimizer=theirs(), loss=keras.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    one_epoch(k)
    k.save(tmp_path / "keras.keras")
    model = nn.load_model(tmp_path / "keras.keras")
    assert type(model.optimizer) is type(ours())
    assert model.optimizer.get_config() == ours().get_config() | {"name": k.optimizer.name}
    assert_keras_holds_our_state(k, model)
    one_epoch(model)
    one_epoch(k)
    assert_same_weights(model, k)
