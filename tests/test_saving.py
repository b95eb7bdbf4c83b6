"""model.save / nn.load_model: architecture JSON plus every weight in one .npz, no pickle."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import nn

rng = np.random.default_rng(0)
ROOT = Path(__file__).resolve().parents[1]


def every_layer_model():
    return nn.Sequential([
        nn.Input((8, 8, 1)),
        nn.ZeroPadding2D(((0, 1), (1, 0))),
        nn.Conv2D(4, 3, strides=1, padding="same", activation="leaky_relu",
                  kernel_initializer="he_normal", name="features"),
        nn.BatchNormalization(momentum=0.9, epsilon=1e-4),
        nn.LeakyReLU(0.1),
        nn.MaxPooling2D(2, padding="same"),
        nn.AveragePooling2D((1, 2), strides=1),
        nn.Sequential([nn.Conv2D(2, (2, 1), dilation_rate=1, use_bias=False),
                       nn.Activation("elu")], name="block"),
        nn.GlobalMaxPooling2D(),
        nn.Reshape((2, -1)),
        nn.Flatten(),
        nn.Dropout(0.25),
        nn.Dense(5, activation="softplus"),
        nn.ReLU(),
        nn.Dense(3),
        nn.Softmax(),
    ])


def trained(model):
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(rng.random((20, 8, 8, 1)), rng.integers(0, 3, 20), epochs=2, verbose=0)
    return model


def test_round_trip_rebuilds_every_layer_with_identical_predictions(tmp_path):
    tc.manual_seed(0)
    model = trained(every_layer_model())
    model.layers[1].trainable = False
    path = tmp_path / "model.npz"
    model.save(path)
    restored = nn.load_model(path)
    assert [type(layer) for layer in restored.layers] == [type(layer) for layer in model.layers]
    assert [layer.name for layer in restored.layers] == [layer.name for layer in model.layers]
    assert restored.layers[1].name == "features" and not restored.layers[1].trainable
    assert restored.layers[6].layers[0].name == "conv2d"  # the nested model's own names
    x = rng.random((6, 8, 8, 1)).astype(np.float32)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    bn = restored.layers[2]
    assert (bn.momentum, bn.epsilon) == (0.9, 1e-4)
    np.testing.assert_array_equal(bn.moving_mean.data, model.layers[2].moving_mean.data)
    assert not np.allclose(bn.moving_mean.data, 0)  # the moving statistics came along
    assert restored.get_config() == model.get_config()
    printed = [[], []]
    model.summary(print_fn=printed[0].append)
    restored.summary(print_fn=printed[1].append)
    assert printed[0] == printed[1]


def test_the_file_is_an_npz_of_weights_plus_json_without_pickle(tmp_path):
    model = nn.Sequential([nn.Dense(2, input_shape=(3,))])
    path = tmp_path / "m.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as f:
        assert sorted(f.files) == ["__model_config__", "dense.bias", "dense.kernel"]
        document = json.loads(str(f["__model_config__"]))
    assert document["format"] == "tinygrad_cnn.model" and document["version"] == 2
    assert document["model"]["class_name"] == "Sequential"
    dense = document["model"]["config"]["layers"][0]
    assert dense == {"class_name": "Dense", "config": {
        "units": 2, "activation": None, "use_bias": True,
        "kernel_initializer": "glorot_uniform", "bias_initializer": "zeros",
        "name": "dense", "dtype": "float32"}}
    mode = stat.S_IMODE(os.stat(path).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask  # a normal file, not mkstemp's 0600
    fresh = nn.Sequential([nn.Dense(2, input_shape=(3,))])
    fresh.load_weights(path)  # a model file holds the weights too
    np.testing.assert_array_equal(fresh.layers[0].kernel.data, model.layers[0].kernel.data)


def test_float64_models_and_lazily_built_models_round_trip(tmp_path):
    model = nn.Sequential([nn.Dense(3, activation="tanh", dtype="float64"), nn.Dense(1,
                                                                                     dtype="float64")])
    x = rng.random((4, 5))
    expected = model(x).data
    model.save(tmp_path / "m.npz")
    restored = nn.load_model(tmp_path / "m.npz")
    assert restored.dtype == np.float64 and restored.input_shape == (5,)
    np.testing.assert_array_equal(restored(x).data, expected)


def test_a_layer_class_it_cannot_rebuild_is_named(tmp_path):
    class Scale(nn.Layer):
        def __init__(self, factor=2.0, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

        def get_config(self):
            return {"factor": self.factor, **super().get_config()}

        def call(self, x, training):
            return x * self.factor

    model = nn.Sequential([nn.Dense(2, input_shape=(3,)), Scale(3.0)])
    model.save(tmp_path / "m.npz")
    with pytest.raises(ValueError, match=r"cannot rebuild layer class 'Scale'.*"
                                         r"custom_objects=\{'Scale': Scale\}"):
        nn.load_model(tmp_path / "m.npz")
    restored = nn.load_model(tmp_path / "m.npz", custom_objects={"Scale": Scale})
    assert restored.layers[1].factor == 3.0
    x = rng.random((2, 3)).astype(np.float32)
    np.testing.assert_array_equal(restored(x).data, model(x).data)


def test_custom_callables_cannot_be_named_in_the_json(tmp_path):
    model = nn.Sequential([nn.Dense(2, activation=lambda t: t * 2, input_shape=(3,))])
    with pytest.raises(ValueError, match=r"layer 'dense': activation .* is a custom callable.*"
                                         r"save_weights"):
        model.save(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()
    named = nn.Sequential([nn.Dense(2, activation=tc.functional.relu,
                                    kernel_initializer=nn.initializers.he_normal,
                                    input_shape=(3,))])
    config = named.get_config()["layers"][0]["config"]
    assert config["activation"] == "relu" and config["kernel_initializer"] == "he_normal"


def test_the_compile_arguments_come_back_with_the_model(tmp_path):
    tc.manual_seed(0)
    model = nn.Sequential([nn.Dense(4, activation="relu", input_shape=(3,)),
                           nn.Dense(3, activation="softmax")])
    model.compile(optimizer=tc.optim.SGD(lr=0.05, momentum=0.9),
                  loss=tc.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy", tc.metrics.SparseCategoricalAccuracy()])
    x, y = rng.random((12, 3)).astype(np.float32), rng.integers(0, 3, 12)
    model.fit(x, y, epochs=1, verbose=0)
    model.save(tmp_path / "m.npz")
    restored = nn.load_model(tmp_path / "m.npz")
    assert isinstance(restored.optimizer, tc.optim.SGD)
    assert restored.optimizer.get_config() == model.optimizer.get_config()
    assert restored.metrics_names == ["loss", "accuracy", "sparse_categorical_accuracy"]
    assert restored.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    restored.fit(x, y, epochs=1, verbose=0)  # trains on
    assert nn.load_model(tmp_path / "m.npz", compile=False).loss is None


def test_a_custom_loss_leaves_the_loaded_model_uncompiled(tmp_path):
    model = nn.Sequential([nn.Dense(1, input_shape=(2,))])
    model.compile(optimizer="adam", loss=lambda y, p: ((p - y) ** 2).mean())
    model.save(tmp_path / "m.npz")
    restored = nn.load_model(tmp_path / "m.npz")
    assert restored.loss is None and restored.get_weights()[0].shape == (2, 1)


# ------------------------------------------------------------------ resuming training
RESUME = """
import sys
import numpy as np
from tinygrad_cnn import nn
data = np.load(sys.argv[1])
for path in sys.argv[2:]:
    model = nn.load_model(path)
    model.fit(data["x"], data["y"], batch_size=8, epochs=4, initial_epoch=2, shuffle=False,
              verbose=0)
    model.save_weights(path + ".resumed.npz")
"""

OPTIMIZERS = {  # each family, with state of every kind: moments, counters, maxima, buffers
    "adam": lambda: "adam",
    "keras RMSprop": lambda: nn.optimizers.RMSprop(momentum=0.5, centered=True),
    "keras SGD": lambda: nn.optimizers.SGD(0.05, momentum=0.9, nesterov=True,
                                           weight_decay=0.01),
    "keras AdamW": lambda: nn.optimizers.AdamW(0.01, amsgrad=True, global_clipnorm=1.0),
    "keras Adagrad": lambda: nn.optimizers.Adagrad(0.05, clipnorm=0.5),
    "torch Adam": lambda: tc.optim.Adam(lr=0.01, amsgrad=True, weight_decay=0.01),
    "torch SGD": lambda: tc.optim.SGD(lr=0.05, momentum=0.9, dampening=0.1),
    "torch RMSprop": lambda: tc.optim.RMSprop(lr=0.005, momentum=0.5, centered=True),
}


def small_convnet(optimizer):
    tc.manual_seed(3)  # the same initial weights for every run
    model = nn.Sequential([nn.Conv2D(3, 3, input_shape=(6, 6, 1)), nn.BatchNormalization(),
                           nn.ReLU(), nn.Flatten(), nn.Dense(4)])
    model.compile(optimizer=optimizer, metrics=["accuracy"],
                  loss=tc.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def test_fit_save_load_in_a_new_process_and_fit_on_is_bit_identical(tmp_path):
    x, y = rng.random((40, 6, 6, 1)).astype(np.float32), rng.integers(0, 4, 40)
    np.savez(tmp_path / "data.npz", x=x, y=y)
    whole, paths = {}, []
    for name, optimizer in OPTIMIZERS.items():
        model = small_convnet(optimizer())
        model.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0)
        whole[name] = model.state_dict()
        model = small_convnet(optimizer())
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
        paths.append(str(tmp_path / f"{name}.npz"))
        model.save(paths[-1])
    subprocess.run([sys.executable, "-c", RESUME, str(tmp_path / "data.npz"), *paths],
                   check=True, cwd=ROOT)
    for name, path in zip(OPTIMIZERS, paths, strict=True):
        with np.load(path + ".resumed.npz") as resumed:
            assert sorted(resumed.files) == sorted(whole[name])
            for key, expected in whole[name].items():
                assert np.array_equal(resumed[key], expected), f"{name}: {key}"


def test_the_file_holds_the_optimizer_state_keyed_by_weight(tmp_path):
    model = small_convnet("adam")
    model.fit(rng.random((10, 6, 6, 1)), rng.integers(0, 4, 10), batch_size=4, verbose=0)
    model.optimizer.learning_rate = 0.0005  # as a callback would have left it
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        saved = {k: f[k] for k in f.files if k.startswith("__optimizer__/")}
        document = json.loads(str(f["__model_config__"]))
    trainable = ["conv2d.kernel", "conv2d.bias", "batch_normalization.gamma",
                 "batch_normalization.beta", "dense.kernel", "dense.bias"]
    assert sorted(saved) == sorted(["__optimizer__/iterations"] + [
        f"__optimizer__/{w}/{s}" for w in trainable for s in ("momentum", "velocity")])
    assert saved["__optimizer__/iterations"] == 3  # 10 examples in batches of 4
    np.testing.assert_array_equal(saved["__optimizer__/dense.bias/momentum"],
                                  model.optimizer.state[5]["momentum"])
    assert document["compile"]["optimizer"] == {
        "module": "nn.optimizers", "class_name": "Adam", "config": {
            "learning_rate": 0.0005, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-07,
            "amsgrad": False, "weight_decay": None, "clipnorm": None, "clipvalue": None,
            "global_clipnorm": None, "name": "adam"}}
    restored = nn.load_model(tmp_path / "m.npz")
    assert isinstance(restored.optimizer, nn.optimizers.Adam)
    assert restored.optimizer.learning_rate == 0.0005 and restored.optimizer.iterations == 3
    for ours, theirs in zip(restored.optimizer.state, model.optimizer.state, strict=True):
        assert ours.keys() == theirs.keys()
        for key in ours:
            np.testing.assert_array_equal(ours[key], theirs[key])
    fresh = nn.load_model(tmp_path / "m.npz", compile=False)
    assert fresh.optimizer is None


def test_a_compiled_model_that_never_trained_saves_an_empty_optimizer_state(tmp_path):
    model = small_convnet(tc.optim.SGD(lr=0.1, momentum=0.9))
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as f:
        assert [k for k in f.files if k.startswith("__optimizer__/")] == [
            "__optimizer__/iterations"]
        assert f["__optimizer__/iterations"] == 0
    restored = nn.load_model(tmp_path / "m.npz")
    assert isinstance(restored.optimizer, tc.optim.SGD) and restored.optimizer.lr == 0.1
    assert restored.optimizer.state == [None] * 6 and restored.optimizer.iterations == 0


def test_a_version_1_file_keeps_the_pytorch_rules_it_was_trained_with(tmp_path):
    # Before 2026-12, "adam" meant tc.optim.Adam (PyTorch's rule) with Keras' argument name
    # learning_rate and eps 1e-7, and files held no optimizer state.
    model = small_convnet("adam")
    model.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as f:
        arrays = dict(f)
    document = json.loads(str(arrays["__model_config__"]))
    document["version"] = 1
    document["compile"]["optimizer"] = {"class_name": "Adam", "config": {
        "learning_rate": 0.002, "betas": [0.9, 0.999], "eps": 1e-07, "weight_decay": 0.0}}
    arrays["__model_config__"] = np.array(json.dumps(document))
    np.savez(tmp_path / "m.npz", **arrays)
    restored = nn.load_model(tmp_path / "m.npz")
    assert isinstance(restored.optimizer, tc.optim.Adam)
    assert restored.optimizer.get_config() == {"lr": 0.002, "betas": (0.9, 0.999),
                                               "eps": 1e-07, "weight_decay": 0.0,
                                               "amsgrad": False}
