"""Keras 3 itself opens what this library writes, and writes what it opens (skipped where
Keras is not installed, as the PyTorch comparisons are; CI does not install it).

For each model (the lesson's network, the BatchNormalization convnet, one with every layer
Keras shares with this library): ``model.save("m.keras")`` here, ``keras.saving.load_model``
there, and the predictions agree to float32 rounding; the model Keras rebuilt serializes to
the very config.json written here; Keras' optimizer holds the saved Adam moments; Keras'
``load_weights`` reads ``save_weights("m.weights.h5")``. Then Keras trains one step and saves,
and ``nn.load_model`` gives Keras' new predictions.
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

    adam = model.optimizer
    keras_state = [np.asarray(v) for v in k.optimizer.variables]
    assert int(keras_state[0]) == adam.steps[0] == 3  # 24 examples in batches of 8
    for i, (m, v) in enumerate(zip(adam.m, adam.v)):
        np.testing.assert_array_equal(keras_state[2 + 2 * i], m)
        np.testing.assert_array_equal(keras_state[3 + 2 * i], v)


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
    assert restored.optimizer.steps[0] == int(np.asarray(k.optimizer.iterations)) == 4
    model.load_weights(tmp_path / "keras.weights.h5")
    assert_float32_close(model.predict(x, verbose=0), expected)
