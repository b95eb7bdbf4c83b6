"""Keras 3's own files, both ways, without Keras: the fixtures in tests/fixtures were written
by Keras 3 itself (tests/fixtures/make_keras_files.py), with the predictions Keras made.

Reading them must give Keras' predictions to float32 rounding; writing must produce the
zip, JSON and HDF5 layout Keras writes (the expected entries below are copied from what
Keras 3.15 writes for the same layers); anything that cannot be translated is refused with
a ValueError that names it, before any weight changes. tests/test_keras_interop.py runs
Keras itself on what this library writes.
"""

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import nn

h5py = pytest.importorskip("h5py")  # the [keras] extra; the dev extra installs it

FIXTURES = Path(__file__).resolve().parent / "fixtures"
# each of Keras' optimizers, with settings that give it every kind of slot, compiled on one
# small convnet that Keras trained two epochs on inputs.npy, then one more epoch
OPTIMIZER_FIXTURES = ["sgd_nesterov", "adam_amsgrad", "adamw", "rmsprop_centered",
                      "adagrad_clipnorm"]
KERAS_MODELS = ["lesson", "batchnorm", "every_layer", "every_pooling", *OPTIMIZER_FIXTURES]
rng = np.random.default_rng(0)


def keras_inputs():
    return np.load(FIXTURES / "inputs.npy")


def keras_predictions(name):
    return np.load(FIXTURES / f"{name}.predictions.npy")


def assert_float32_close(ours, keras):
    """Equal up to float32 rounding: sums taken in another order differ by a few ulps."""
    assert ours.dtype == keras.dtype == np.float32 and ours.shape == keras.shape
    np.testing.assert_allclose(ours, keras, rtol=1e-6, atol=1e-6)


def config_json(path):
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("config.json"))


def weights_h5(path):
    """The model.weights.h5 inside a .keras file, opened with h5py (read it independently)."""
    with zipfile.ZipFile(path) as zf:
        return h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")


# ------------------------------------------------------------- Keras → this library
def test_every_layer_class_translates_and_a_keras_fixture_holds_each():
    from tinygrad_cnn.nn import keras_layers

    classes = {name for name in nn.__all__ if isinstance(getattr(nn, name), type)
               and issubclass(getattr(nn, name), nn.Layer)} - {"Layer", "Sequential"}
    assert classes == set(keras_layers.LAYERS)
    in_fixtures = set()

    def walk(entries):
        for entry in entries:
            in_fixtures.add(entry["class_name"])
            if entry["class_name"] == "Sequential":
                walk(entry["config"]["layers"])

    for name in ("every_layer", "every_pooling"):
        walk(config_json(FIXTURES / f"{name}.keras")["config"]["layers"])
    assert classes | {"InputLayer", "Sequential"} == in_fixtures


@pytest.mark.parametrize("name", KERAS_MODELS)
def test_a_model_keras_wrote_gives_keras_predictions(name):
    model = nn.load_model(FIXTURES / f"{name}.keras")
    assert_float32_close(model.predict(keras_inputs(), verbose=0), keras_predictions(name))


def test_every_layer_arrives_with_its_name_options_and_weights():
    path = FIXTURES / "every_layer.keras"
    model = nn.load_model(path)
    written = config_json(path)["config"]["layers"]
    assert [type(layer).__name__ for layer in model.layers] == [
        e["class_name"] for e in written[1:]]  # written[0] is Keras' InputLayer
    assert [layer.name for layer in model.layers] == [e["config"]["name"] for e in written[1:]]
    assert model.input_shape == (8, 8, 1)
    padding, features, bn, leaky, _, avg, block, dilated = model.layers[:8]
    assert padding.padding == ((0, 1), (1, 0))
    assert features.name == "features" and features.padding == "same"
    assert features.get_config()["activation"] == "leaky_relu"
    assert features.get_config()["kernel_initializer"] == "he_normal"
    assert (bn.momentum, bn.epsilon) == (0.9, 1e-4)
    assert leaky.negative_slope == pytest.approx(0.1)
    assert (avg.pool_size, avg.strides, avg.padding) == ((2, 2), (1, 1), "same")
    assert [type(layer).__name__ for layer in block.layers] == ["Conv2D", "Activation"]
    assert dilated.dilation_rate == (2, 2)
    assert dilated.get_config()["bias_initializer"] == "ones"
    with weights_h5(path) as f:  # the arrays sit where Keras puts them, in Keras' order
        np.testing.assert_array_equal(bn.moving_variance.data,
                                      f["layers/batch_normalization/vars/3"][()])
        np.testing.assert_array_equal(block.layers[0].kernel.data,
                                      f["layers/sequential/layers/conv2d/vars/0"][()])
        np.testing.assert_array_equal(dilated.kernel.data, f["layers/conv2d_1/vars/0"][()])
    assert not np.allclose(bn.moving_variance.data, 1)  # Keras' training call moved them


def optimizer_vars(path):
    with weights_h5(path) as f:
        return [f[f"optimizer/vars/{i}"][()] for i in range(len(f["optimizer/vars"]))]


def test_adam_arrives_compiled_with_its_moments():
    path = FIXTURES / "lesson.keras"
    model = nn.load_model(path)
    opt = model.optimizer
    assert type(opt) is nn.optimizers.Adam  # Keras' Adam is nn.optimizers' (Keras' rules)
    assert opt.get_config() == {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999,
                                "epsilon": 1e-7, "amsgrad": False, "weight_decay": None,
                                "clipnorm": None, "clipvalue": None, "global_clipnorm": None,
                                "name": "adam"}
    assert type(model.loss) is tc.losses.SparseCategoricalCrossentropy
    assert model.metrics_names == ["loss", "accuracy"]
    # Keras' optimizer/vars: iteration, learning rate, then (momentum, velocity) per weight
    stored = optimizer_vars(path)
    assert stored[0] == 4 == opt.iterations  # 32 examples in batches of 8, one epoch
    for i, state in enumerate(opt.state):
        np.testing.assert_array_equal(state["momentum"], stored[2 + 2 * i])
        np.testing.assert_array_equal(state["velocity"], stored[3 + 2 * i])
    history = model.fit(keras_inputs(), np.array([0, 1, 2, 0]), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_sgd_momentum_and_loss_objects_arrive_compiled():
    path = FIXTURES / "batchnorm.keras"
    model = nn.load_model(path)
    opt = model.optimizer
    assert type(opt) is nn.optimizers.SGD
    assert (opt.learning_rate, opt.momentum, opt.nesterov) == (0.05, 0.9, False)
    assert model.loss.get_config() == {"name": "sparse_categorical_crossentropy",
                                       "from_logits": True}
    assert model.metrics_names == ["loss", "sparse_categorical_accuracy"]
    stored = optimizer_vars(path)  # iteration, learning rate, a momentum per weight
    assert len(stored) == 2 + len(opt.params) and stored[0] == opt.iterations == 8
    for state, keras_m in zip(opt.state, stored[2:], strict=True):
        np.testing.assert_array_equal(state["momentum"], keras_m)


def per_weight(*names, weights=4):
    """Keras' add_optimizer_variables(weights, names): the names interleaved weight by
    weight, as (weight index, slot name)."""
    return [(i, name) for i in range(weights) for name in names]


# Keras' optimizer/vars after the iteration and the learning rate, read from each Keras
# optimizer's build(): one add_optimizer_variables call per kind of slot it keeps
KERAS_SLOT_ORDER = {
    "sgd_nesterov": per_weight("momentum"),
    "adam_amsgrad": per_weight("momentum", "velocity") + per_weight("velocity_hat"),
    "adamw": per_weight("momentum", "velocity"),
    "rmsprop_centered": (per_weight("velocity") + per_weight("momentum")
                         + per_weight("average_gradient")),
    "adagrad_clipnorm": per_weight("accumulator"),
}
KERAS_CONFIG = {  # what each fixture was compiled with (make_keras_files.py)
    "sgd_nesterov": (nn.optimizers.SGD, {"learning_rate": 0.05, "momentum": 0.9,
                                         "nesterov": True}),
    "adam_amsgrad": (nn.optimizers.Adam, {"learning_rate": 0.01, "amsgrad": True}),
    "adamw": (nn.optimizers.AdamW, {"learning_rate": 0.01, "weight_decay": 0.05}),
    "rmsprop_centered": (nn.optimizers.RMSprop, {"learning_rate": 0.005, "momentum": 0.5,
                                                 "centered": True}),
    "adagrad_clipnorm": (nn.optimizers.Adagrad, {"learning_rate": 0.05, "clipnorm": 1.0}),
}


@pytest.mark.parametrize("name", OPTIMIZER_FIXTURES)
def test_each_keras_optimizer_arrives_with_its_state_and_trains_on_as_keras_did(name):
    path = FIXTURES / f"{name}.keras"
    model = nn.load_model(path)
    opt = model.optimizer
    cls, arguments = KERAS_CONFIG[name]
    assert type(opt) is cls
    assert opt.get_config() == cls(**arguments).get_config() | {"name": opt.name}
    assert opt.name == config_json(path)["compile_config"]["optimizer"]["config"]["name"]
    stored = optimizer_vars(path)
    assert stored[0] == opt.iterations == 4  # 4 examples in batches of 2, two epochs
    assert len(stored) == 2 + len(KERAS_SLOT_ORDER[name])
    for (i, slot), keras_value in zip(KERAS_SLOT_ORDER[name], stored[2:]):
        np.testing.assert_array_equal(opt.state[i][slot], keras_value)
    # the epoch Keras trained after saving, trained here from the file: the same weights
    with np.load(FIXTURES / "optimizers.continued.npz") as continued:
        model.fit(keras_inputs(), continued["y"], batch_size=2, shuffle=False, verbose=0)
        for i, weight in enumerate(model.get_weights()):
            assert_float32_close(weight, continued[f"{name}/{i}"])


def test_optimizer_state_that_does_not_fit_starts_afresh_with_a_warning(tmp_path):
    config = lesson_config()
    config["config"]["layers"][1]["config"]["trainable"] = False  # Adam kept 2 slots for it
    with pytest.warns(UserWarning, match=r"optimizer/vars holds 10 arrays but Adam for this "
                                         r"model's trainable weights keeps 6, so the optimizer "
                                         r"starts afresh"):
        model = nn.load_model(with_config(tmp_path, config))
    assert model.optimizer.iterations == 0 and not model.layers[0].trainable
    assert model.optimizer.state == [None, None]
    assert_float32_close(model.predict(keras_inputs(), verbose=0), keras_predictions("lesson"))


def test_compile_false_leaves_the_model_uncompiled():
    model = nn.load_model(FIXTURES / "lesson.keras", compile=False)
    assert model.optimizer is None and model.loss is None


def block_model():
    """The architecture of block.weights.h5, built in code as a Keras user would."""
    return nn.Sequential([
        nn.Input((6, 6, 1)),
        nn.Sequential([nn.Conv2D(2, 3, use_bias=False), nn.BatchNormalization()],
                      name="block"),
        nn.Flatten(),
        nn.Dense(2),
    ])


def test_load_weights_reads_keras_weights_only_files():
    model = block_model()
    model.load_weights(FIXTURES / "block.weights.h5")
    assert_float32_close(model.predict(keras_inputs()[:, :6, :6], verbose=0),
                         keras_predictions("block"))


def test_load_weights_of_another_architecture_changes_nothing():
    model = nn.Sequential([nn.Input((6, 6, 1)), nn.Sequential(
        [nn.Conv2D(2, 3, use_bias=False), nn.BatchNormalization()]), nn.Flatten(),
        nn.Dense(3)])
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"layer 'dense' \(Dense\): dense.kernel has shape "
                                         r"\(32, 3\) but layers/dense/vars holds \(32, 2\)"):
        model.load_weights(FIXTURES / "block.weights.h5")
    for now, then in zip(model.get_weights(), before):
        np.testing.assert_array_equal(now, then)


def test_load_weights_refuses_a_file_with_layers_the_model_lacks(tmp_path):
    model = block_model()
    model.save_weights(tmp_path / "m.weights.h5")
    smaller = nn.Sequential([nn.Input((6, 6, 1)), nn.Sequential(
        [nn.Conv2D(2, 3, use_bias=False), nn.BatchNormalization()], name="block"),
        nn.Flatten()])
    with pytest.raises(ValueError, match=r"holds weights for layers this model does not "
                                         r"have: layers/dense"):
        smaller.load_weights(tmp_path / "m.weights.h5")


# ------------------------------------------------------------- this library → Keras
def small_model():
    return nn.Sequential([
        nn.Input((6, 6, 1)),
        nn.Conv2D(2, 3, padding="same", activation="relu", name="conv"),
        nn.MaxPooling2D(2),
        nn.Conv2D(2, 2, use_bias=False),
        nn.Flatten(),
        nn.Dense(3, kernel_initializer="he_uniform"),
    ])


GLOROT = {"module": "keras.initializers", "class_name": "GlorotUniform",
          "config": {"seed": None, "input_axes": None, "output_axes": None},
          "registered_name": None}
ZEROS = {"module": "keras.initializers", "class_name": "Zeros", "config": {},
         "registered_name": None}
FLOAT32 = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"},
           "registered_name": None}


def test_save_writes_the_config_keras_writes(tmp_path):
    small_model().save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as zf:
        assert sorted(zf.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        assert json.loads(zf.read("metadata.json"))["keras_version"].startswith("3.")
    config = config_json(tmp_path / "m.keras")
    assert (config["module"], config["class_name"]) == ("keras", "Sequential")
    assert config["build_config"] == {"input_shape": [None, 6, 6, 1]}
    assert config["compile_config"] == {}  # what Keras writes for a model never compiled
    input_layer, conv, pool, _, flatten, dense = config["config"]["layers"]
    assert input_layer == {"module": "keras.layers", "class_name": "InputLayer", "config": {
        "batch_shape": [None, 6, 6, 1], "dtype": "float32", "sparse": False, "ragged": False,
        "name": "input_layer", "optional": False}, "registered_name": None}
    assert conv == {"module": "keras.layers", "class_name": "Conv2D", "config": {
        "name": "conv", "trainable": True, "dtype": FLOAT32, "filters": 2,
        "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
        "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
        "activation": "relu", "use_bias": True, "kernel_initializer": GLOROT,
        "bias_initializer": ZEROS, "kernel_regularizer": None, "bias_regularizer": None,
        "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None},
        "registered_name": None, "build_config": {"input_shape": [None, 6, 6, 1]}}
    assert pool == {"module": "keras.layers", "class_name": "MaxPooling2D", "config": {
        "name": "max_pooling2d", "trainable": True, "dtype": FLOAT32, "pool_size": [2, 2],
        "padding": "valid", "strides": [2, 2], "data_format": "channels_last"},
        "registered_name": None}  # Keras gives layers without a build step no build_config
    assert flatten["build_config"] == {"input_shape": [None, 2, 2, 2]}
    assert dense["config"]["kernel_initializer"]["class_name"] == "HeUniform"
    assert dense["config"]["activation"] == "linear"


def test_weights_sit_at_keras_paths_numbered_by_class(tmp_path):
    model = small_model()
    model.save(tmp_path / "m.keras")
    conv, _, conv_1, _, dense = model.layers
    with weights_h5(tmp_path / "m.keras") as f:
        assert f["layers/conv2d/vars"].attrs["name"] == "conv"  # the path is the class's
        np.testing.assert_array_equal(f["layers/conv2d/vars/0"][()], conv.kernel.data)
        np.testing.assert_array_equal(f["layers/conv2d/vars/1"][()], conv.bias.data)
        assert list(f["layers/conv2d_1/vars"]) == ["0"]  # no bias
        np.testing.assert_array_equal(f["layers/conv2d_1/vars/0"][()], conv_1.kernel.data)
        np.testing.assert_array_equal(f["layers/dense/vars/0"][()], dense.kernel.data)
        assert len(f["layers/max_pooling2d/vars"]) == 0
        assert f["vars"].attrs["name"] == "sequential" and "optimizer" not in f


def test_a_compiled_model_writes_keras_compile_config_and_adam_state(tmp_path):
    tc.manual_seed(0)
    model = small_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(rng.random((12, 6, 6, 1)), rng.integers(0, 3, 12), batch_size=4, verbose=0)
    model.save(tmp_path / "m.keras")
    compile_config = config_json(tmp_path / "m.keras")["compile_config"]
    assert compile_config == {
        "optimizer": {"module": "keras.optimizers", "class_name": "Adam", "config": {
            "name": "adam", "learning_rate": float(np.float32(0.001)), "weight_decay": None,
            "clipnorm": None, "global_clipnorm": None, "clipvalue": None, "use_ema": False,
            "ema_momentum": 0.99, "ema_overwrite_frequency": None, "loss_scale_factor": None,
            "gradient_accumulation_steps": None, "beta_1": 0.9, "beta_2": 0.999,
            "epsilon": 1e-07, "amsgrad": False}, "registered_name": None},
        "loss": "sparse_categorical_crossentropy", "loss_weights": None,
        "metrics": ["accuracy"], "weighted_metrics": None, "run_eagerly": False,
        "steps_per_execution": 1, "jit_compile": True}
    opt = model.optimizer
    with weights_h5(tmp_path / "m.keras") as f:
        assert f["optimizer/vars"].attrs["name"] == "adam"
    stored = optimizer_vars(tmp_path / "m.keras")
    assert len(stored) == 2 + 2 * len(model.trainable_weights)
    assert stored[0] == 3 and stored[1] == np.float32(0.001)  # 12 examples, batches of 4
    for i, w in enumerate(model.trainable_weights):
        np.testing.assert_array_equal(stored[2 + 2 * i], opt.state[i]["momentum"])
        np.testing.assert_array_equal(stored[3 + 2 * i], opt.state[i]["velocity"])
        assert stored[2 + 2 * i].shape == w.shape


WRITTEN = {  # nn.optimizers optimizer → its Keras config (beyond the base options)
    "SGD": (lambda: nn.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
            {"momentum": 0.9, "nesterov": True}, per_weight("momentum", weights=5)),
    "Adam amsgrad": (lambda: nn.optimizers.Adam(0.01, amsgrad=True, clipvalue=0.5),
                     {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7, "amsgrad": True,
                      "clipvalue": 0.5},
                     per_weight("momentum", "velocity", weights=5)
                     + per_weight("velocity_hat", weights=5)),
    "AdamW": (lambda: nn.optimizers.AdamW(0.01), {
        "weight_decay": 0.004, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
        "amsgrad": False}, per_weight("momentum", "velocity", weights=5)),
    "RMSprop": (lambda: nn.optimizers.RMSprop(0.01, momentum=0.5, centered=True,
                                              global_clipnorm=2.0),
                {"rho": 0.9, "momentum": 0.5, "epsilon": 1e-7, "centered": True,
                 "global_clipnorm": 2.0},
                per_weight("velocity", weights=5) + per_weight("momentum", weights=5)
                + per_weight("average_gradient", weights=5)),
    "Adagrad": (lambda: nn.optimizers.Adagrad(0.01, clipnorm=1.0), {
        "initial_accumulator_value": 0.1, "epsilon": 1e-7, "clipnorm": 1.0},
        per_weight("accumulator", weights=5)),
}


@pytest.mark.parametrize("make, options, order", WRITTEN.values(), ids=WRITTEN.keys())
def test_each_keras_optimizer_is_written_with_its_config_and_slots_in_keras_order(
        make, options, order, tmp_path):
    tc.manual_seed(0)
    model = small_model()
    model.compile(optimizer=make(),
                  loss=tc.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.fit(rng.random((8, 6, 6, 1)), rng.integers(0, 3, 8), batch_size=4, verbose=0)
    model.save(tmp_path / "m.keras")
    opt = model.optimizer
    written = config_json(tmp_path / "m.keras")["compile_config"]["optimizer"]
    assert written["module"] == "keras.optimizers"
    assert written["class_name"] == type(opt).__name__
    assert written["config"] == {
        "name": opt.name, "learning_rate": float(np.float32(opt.learning_rate)),
        "weight_decay": None, "clipnorm": None, "global_clipnorm": None, "clipvalue": None,
        "use_ema": False, "ema_momentum": 0.99, "ema_overwrite_frequency": None,
        "loss_scale_factor": None, "gradient_accumulation_steps": None, **options}
    stored = optimizer_vars(tmp_path / "m.keras")
    assert stored[0] == 2 and len(stored) == 2 + len(order)
    for (i, slot), value in zip(order, stored[2:]):
        np.testing.assert_array_equal(value, opt.state[i][slot])
    restored = nn.load_model(tmp_path / "m.keras")  # and back, the same optimizer
    assert restored.optimizer.get_config() == opt.get_config()
    for key, value in opt.get_state().items():
        np.testing.assert_array_equal(restored.optimizer.get_state()[key], value)


def test_a_pytorch_rule_optimizer_is_refused_for_keras_and_saved_weights_go_alone(tmp_path):
    model = small_model()
    model.compile(optimizer=tc.optim.Adam(model.parameters(), lr=1e-3), loss="mse")
    with pytest.raises(ValueError, match=r"model 'sequential' is compiled with "
                                         r"tc.optim.Adam, which follows torch.optim's rules; "
                                         r"Keras has no optimizer with those rules.*Compile "
                                         r"with nn.optimizers.Adam\(learning_rate=...\).*or "
                                         r"save as .npz"):
        model.save(tmp_path / "m.keras")
    assert not (tmp_path / "m.keras").exists()
    model.save_weights(tmp_path / "m.weights.h5")  # the weights asked for, as Keras reads them
    with h5py.File(tmp_path / "m.weights.h5", "r") as f:
        assert "optimizer" not in f and "layers" in f


def test_a_loss_with_options_is_written_as_keras_loss_object(tmp_path):
    model = small_model()
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.1, momentum=0.5),
                  loss=tc.losses.CategoricalCrossentropy(from_logits=True))
    model.save(tmp_path / "m.keras")
    compile_config = config_json(tmp_path / "m.keras")["compile_config"]
    assert compile_config["loss"] == {
        "module": "keras.losses", "class_name": "CategoricalCrossentropy", "config": {
            "name": "categorical_crossentropy", "reduction": "sum_over_batch_size",
            "from_logits": True, "label_smoothing": 0.0, "axis": -1},
        "registered_name": None}
    assert compile_config["metrics"] is None
    sgd = compile_config["optimizer"]["config"]
    assert (sgd["learning_rate"], sgd["momentum"], sgd["nesterov"]) == (
        float(np.float32(0.1)), 0.5, False)


# ------------------------------------------------------------- round trips here
def trained_every_layer_model():
    from test_saving import every_layer_model  # one model with every layer, shared

    tc.manual_seed(3)
    model = every_layer_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(rng.random((16, 8, 8, 1)), rng.integers(0, 3, 16), batch_size=8, verbose=0)
    return model


def test_round_trip_keeps_layers_weights_compile_and_adam_state(tmp_path):
    model = trained_every_layer_model()
    model.layers[3].trainable = False  # the LeakyReLU: a flag travels on any layer
    model.save(tmp_path / "m.keras")
    restored = nn.load_model(tmp_path / "m.keras")
    x = rng.random((5, 8, 8, 1)).astype(np.float32)
    np.testing.assert_array_equal(restored.predict(x, verbose=0), model.predict(x, verbose=0))
    assert restored.get_config() == model.get_config()
    assert restored.get_compile_config() == model.get_compile_config()
    saved, now = model.optimizer.get_state(), restored.optimizer.get_state()
    assert sorted(now) == sorted(saved) and now["iterations"] == 2
    for key, value in saved.items():
        np.testing.assert_array_equal(now[key], value)


def test_weights_h5_round_trip_and_other_suffixes_stay_npz(tmp_path):
    tc.manual_seed(4)
    model = block_model()
    model(rng.random((4, 6, 6, 1)), training=True)  # moving statistics away from 0 and 1
    model.save_weights(tmp_path / "m.weights.h5")
    assert h5py.is_hdf5(tmp_path / "m.weights.h5")
    tc.manual_seed(5)
    fresh = block_model()
    fresh.load_weights(tmp_path / "m.weights.h5")
    for ours, theirs in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(ours, theirs)
    model.save_weights(tmp_path / "m.h5")  # not Keras' name: the library's npz
    model.save(tmp_path / "model.h5")
    with np.load(tmp_path / "m.h5", allow_pickle=False) as f:
        assert "block.conv2d.kernel" in f.files
    assert type(nn.load_model(tmp_path / "model.h5")) is nn.Sequential


def test_a_float64_model_keeps_its_dtype(tmp_path):
    model = nn.Sequential([nn.Input((3,), dtype="float64"), nn.Dense(2, dtype="float64")])
    model.save(tmp_path / "m.keras")
    assert config_json(tmp_path / "m.keras")["config"]["layers"][1]["config"]["dtype"][
        "config"] == {"name": "float64"}
    restored = nn.load_model(tmp_path / "m.keras")
    assert restored.layers[0].kernel.dtype == np.float64
    np.testing.assert_array_equal(restored.layers[0].kernel.data, model.layers[0].kernel.data)


# ------------------------------------------------------------- what is refused
def lesson_config():
    return config_json(FIXTURES / "lesson.keras")


def with_config(tmp_path, config, fixture="lesson"):
    """The fixture with its config.json replaced (the weights as Keras wrote them)."""
    path = tmp_path / "edited.keras"
    with zipfile.ZipFile(FIXTURES / f"{fixture}.keras") as src, \
            zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, json.dumps(config) if name == "config.json" else src.read(name))
    return path


def edit(change):
    """A row's config: the lesson's, changed by ``change(config, layers)``."""
    def make():
        config = lesson_config()
        change(config, config["config"]["layers"])  # [InputLayer, Conv2D, MaxPooling2D, …]
        return config
    return make


def replace_dense(entry):
    return edit(lambda config, layers: layers.__setitem__(4, entry))


SUPPORTED = (r"Activation, AveragePooling2D, BatchNormalization, Conv2D, Dense, Dropout, "
             r"Flatten, GlobalAveragePooling2D, GlobalMaxPooling2D, InputLayer, LeakyReLU, "
             r"MaxPooling2D, ReLU, Reshape, Sequential, Softmax, ZeroPadding2D")

REFUSED = {
    "an LSTM": (replace_dense({"module": "keras.layers", "class_name": "LSTM", "config": {
        "name": "lstm", "units": 3}, "registered_name": None}),
        r"layer 'lstm' \(LSTM\): Keras' LSTM is a layer tinygrad_cnn lacks; supported: "
        + SUPPORTED),
    "a custom class": (replace_dense({"module": "my_package.layers", "class_name": "MyDense",
                                      "config": {"name": "mine"},
                                      "registered_name": "Custom>MyDense"}),
                       r"layer 'mine' \(MyDense\): class 'MyDense' from module "
                       r"'my_package.layers' \(registered as 'Custom>MyDense'\) is not a "
                       r"Keras built-in layer; tinygrad_cnn never imports code"),
    "a Lambda layer": (replace_dense({"module": "keras.layers", "class_name": "Lambda",
                                      "config": {"name": "lambda", "function": "4wEAAAA"},
                                      "registered_name": None}),
                       r"layer 'lambda' \(Lambda\): a Lambda layer holds Python code, which "
                       r"tinygrad_cnn never runs from a file"),
    "a Functional model": (edit(lambda c, layers: c.update(class_name="Functional")),
                           r"Keras' Functional is a Functional model \(only Sequential "
                           r"models translate\)"),
    "channels_first": (edit(lambda c, layers: layers[1]["config"].update(
        data_format="channels_first")),
        r"layer 'conv2d' \(Conv2D\): data_format='channels_first' cannot be translated; "
        r"tinygrad_cnn supports only data_format='channels_last'"),
    "Flatten channels_first": (edit(lambda c, layers: layers[3]["config"].update(
        data_format="channels_first")), r"\(Flatten\): data_format='channels_first'"),
    "grouped convolution": (edit(lambda c, layers: layers[1]["config"].update(groups=2)),
                            r"\(Conv2D\): groups=2 cannot be translated"),
    "a regularizer": (edit(lambda c, layers: layers[4]["config"].update(kernel_regularizer={
        "module": "keras.regularizers", "class_name": "L2", "config": {"l2": 0.01},
        "registered_name": None})), r"layer 'dense' \(Dense\): kernel_regularizer='L2' "
                                    r"cannot be translated; tinygrad_cnn has no "
                                    r"kernel_regularizer, so only null is supported"),
    "a float16 policy": (edit(lambda c, layers: layers[4]["config"].update(dtype={
        "module": "keras", "class_name": "DTypePolicy", "config": {"name": "mixed_float16"},
        "registered_name": None})), r"layer 'dense' \(Dense\): dtype 'mixed_float16' cannot "
                                    r"be translated; tinygrad_cnn computes in float32 or "
                                    r"float64"),
    "activation gelu": (edit(lambda c, layers: layers[1]["config"].update(activation="gelu")),
                        r"activation 'gelu' cannot be translated; supported: elu, leaky_relu, "
                        r"linear, relu, sigmoid, softmax, softplus, tanh"),
    "initializer RandomNormal": (edit(lambda c, layers: layers[4]["config"].update(
        kernel_initializer={"module": "keras.initializers", "class_name": "RandomNormal",
                            "config": {"mean": 0.0, "stddev": 0.05, "seed": None},
                            "registered_name": None})),
        r"kernel_initializer 'RandomNormal' cannot be translated; supported: GlorotNormal, "
        r"GlorotUniform, HeNormal, HeUniform, LecunNormal, Ones, Zeros"),
    "an option this reader does not know": (edit(lambda c, layers: layers[4]["config"].update(
        lora_alpha=8)), r"option lora_alpha=8 is not one tinygrad_cnn knows"),
    "an image size left open": (edit(lambda c, layers: layers[0]["config"].update(
        batch_shape=[None, None, None, 1])), r"input shape \[None, None, None, 1\] cannot be "
                                             r"translated; .*every axis but the batch needs "
                                             r"a size"),
    "optimizer Nadam": (edit(lambda c, layers: c["compile_config"]["optimizer"].update(
        class_name="Nadam")), r"optimizer 'Nadam' cannot be translated; supported: Adagrad, "
                              r"Adam, AdamW, RMSprop, SGD"),
    "a learning-rate schedule": (edit(lambda c, layers: c["compile_config"]["optimizer"][
        "config"].update(learning_rate={"module": "keras.optimizers.schedules",
                                        "class_name": "ExponentialDecay", "config": {}})),
        r"optimizer Adam: a learning-rate schedule cannot be translated"),
    "a moving average of the weights": (edit(lambda c, layers: c["compile_config"][
        "optimizer"]["config"].update(use_ema=True)),
        r"optimizer Adam: use_ema=True cannot be translated; tinygrad_cnn supports only "
        r"use_ema=False"),
    "gradient accumulation": (edit(lambda c, layers: c["compile_config"]["optimizer"][
        "config"].update(gradient_accumulation_steps=4)),
        r"optimizer Adam: gradient_accumulation_steps=4 cannot be translated"),
    "an optimizer option that fails its check": (edit(lambda c, layers: c[
        "compile_config"]["optimizer"]["config"].update(beta_1=1.5)),
        r"compile_config: optimizer Adam: beta_1 must be .*1.5"),
    "loss huber": (edit(lambda c, layers: c["compile_config"].update(loss="huber")),
                   r"loss 'huber' cannot be translated; supported: binary_crossentropy"),
    "loss weights": (edit(lambda c, layers: c["compile_config"].update(loss_weights=[2.0])),
                     r"compile_config: loss_weights=\[2.0\] cannot be translated; "
                     r"tinygrad_cnn has no loss_weights"),
    "metric Accuracy (exact match)": (edit(lambda c, layers: c["compile_config"].update(
        metrics=[{"module": "keras.metrics", "class_name": "Accuracy", "config": {
            "name": "accuracy", "dtype": "float32"}, "registered_name": None}])),
        r"metric 'Accuracy' cannot be translated; supported: BinaryAccuracy, "
        r"CategoricalAccuracy"),
}


@pytest.mark.parametrize("make, message", REFUSED.values(), ids=REFUSED.keys())
def test_what_cannot_be_translated_is_refused_by_name(make, message, tmp_path):
    path = with_config(tmp_path, make())
    with pytest.raises(ValueError, match=message):
        nn.load_model(path)


def test_an_untranslatable_compile_config_loads_with_compile_false(tmp_path):
    config = lesson_config()
    config["compile_config"]["loss"] = "huber"
    model = nn.load_model(with_config(tmp_path, config), compile=False)
    assert_float32_close(model.predict(keras_inputs(), verbose=0), keras_predictions("lesson"))


def test_a_weights_file_that_disagrees_with_its_config_is_refused(tmp_path):
    config = lesson_config()
    config["config"]["layers"][1]["config"]["filters"] = 5
    with pytest.raises(ValueError, match=r"layer 'conv2d' \(Conv2D\): conv2d.kernel has shape "
                                         r"\(3, 3, 1, 5\) but layers/conv2d/vars holds "
                                         r"\(3, 3, 1, 4\)"):
        nn.load_model(with_config(tmp_path, config))


def test_an_optimizer_state_that_is_not_keras_is_refused(tmp_path):
    path = tmp_path / "float_iteration.keras"
    with zipfile.ZipFile(FIXTURES / "adamw.keras") as src, zipfile.ZipFile(path, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "model.weights.h5":
                buffer = io.BytesIO(data)
                with h5py.File(buffer, "a") as f:
                    del f["optimizer/vars/0"]
                    f["optimizer/vars/0"] = np.float32(4.0)  # Keras counts steps in ints
                data = buffer.getvalue()
            dst.writestr(name, data)
    with pytest.raises(ValueError, match=r"float_iteration.keras \(model.weights.h5\): "
                                         r"optimizer/vars: optimizer state: 'iterations' "
                                         r"must be a non-negative integer"):
        nn.load_model(path)


def h5_with(tmp_path, change):
    """block.weights.h5, copied and changed by ``change(h5py_file)``."""
    path = tmp_path / "changed.weights.h5"
    path.write_bytes((FIXTURES / "block.weights.h5").read_bytes())
    with h5py.File(path, "a") as f:
        change(f)
    return path


def test_links_in_a_weights_file_are_not_followed(tmp_path):
    def soft_link(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = h5py.SoftLink("/layers/dense/vars/1")

    def external_link(f):
        del f["layers/dense/vars/0"]
        f["layers/dense/vars/0"] = h5py.ExternalLink("/etc/hostname", "/x")

    for change, kind in ((soft_link, "SoftLink"), (external_link, "ExternalLink")):
        with pytest.raises(ValueError, match=rf"/layers/dense/vars/0 is a {kind}; Keras' "
                                             rf"weights files hold no links"):
            block_model().load_weights(h5_with(tmp_path, change))


def test_weights_of_another_dtype_are_refused(tmp_path):
    def as_ints(f):
        del f["layers/dense/vars/1"]
        f["layers/dense/vars/1"] = np.zeros(2, np.int32)

    with pytest.raises(ValueError, match=r"layers/dense/vars/1 has dtype int32; supported: "
                                         r"float32 and float64"):
        block_model().load_weights(h5_with(tmp_path, as_ints))


def test_files_that_are_not_keras_files(tmp_path):
    (tmp_path / "text.keras").write_text("not a zip")
    with pytest.raises(ValueError, match=r"text.keras is not a .keras file \(a zip"):
        nn.load_model(tmp_path / "text.keras")
    with zipfile.ZipFile(tmp_path / "npz_weights.keras", "w") as zf:
        zf.writestr("config.json", json.dumps(lesson_config()))
        zf.writestr("model.weights.npz", b"")
    with pytest.raises(ValueError, match=r"lacks model.weights.h5; its weights are in "
                                         r"\['model.weights.npz'\], a format tinygrad_cnn "
                                         r"does not read"):
        nn.load_model(tmp_path / "npz_weights.keras")
    (tmp_path / "w.weights.h5").write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match=r"w.weights.h5 is not a readable HDF5 file"):
        block_model().load_weights(tmp_path / "w.weights.h5")


def test_without_h5py_the_keras_suffixes_say_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "h5py", None)  # import h5py now fails
    model = block_model()
    for call in (lambda: model.save(tmp_path / "m.keras"),
                 lambda: model.save_weights(tmp_path / "m.weights.h5"),
                 lambda: nn.load_model(FIXTURES / "lesson.keras"),
                 lambda: model.load_weights(FIXTURES / "block.weights.h5")):
        with pytest.raises(ImportError, match=r"needs the h5py package: pip install h5py "
                                              r"\(or pip install tinygrad_cnn\[keras\]\)"):
            call()
    model.save(tmp_path / "m.npz")  # the library's own format needs nothing more
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
