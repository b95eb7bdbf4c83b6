"""compile / fit / evaluate / predict, the Keras way.

The central check: a fit gives the losses, metrics and final weights of the loop anyone
would write by hand with this library's ops (forward, cross_entropy, backward, SGD step),
given the same initial weights and the same data order.
"""

import io
import math
import os
from contextlib import redirect_stdout

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn
from tinygrad_cnn import functional as F

rng = np.random.default_rng(0)
X = rng.random((50, 6, 6, 1)).astype(np.float32)
Y = rng.integers(0, 4, 50)


def convnet():
    return nn.Sequential([
        nn.Conv2D(3, 3, input_shape=(6, 6, 1)),
        nn.BatchNormalization(),
        nn.ReLU(),
        nn.MaxPooling2D(2),
        nn.Flatten(),
        nn.Dropout(0.3),
        nn.Dense(4),
    ])


def fit_by_hand(model, x, y, epochs, batch_size, x_val, y_val, lr, loss_fn):
    """The textbook loop: shuffled batches from the library generator, SGD, dropout on;
    ``loss_fn(logits, labels)`` is the loss of a batch."""
    opt = tc.optim.SGD(model.parameters(), lr=lr)
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    for _ in range(epochs):
        order = tc.rng.generator().permutation(len(x))
        total_loss = correct = 0.0
        for start in range(0, len(x), batch_size):
            rows = order[start:start + batch_size]
            logits = model(Tensor(x[rows]), training=True)
            loss = loss_fn(logits, y[rows])
            total_loss += loss.item() * len(rows)
            correct += (logits.data.argmax(axis=1) == y[rows]).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
        history["loss"].append(total_loss / len(x))
        history["accuracy"].append(correct / len(x))
        with tc.no_grad():
            logits = model(Tensor(x_val), training=False)
            history["val_loss"].append(loss_fn(logits, y_val).item())
            history["val_accuracy"].append((logits.data.argmax(axis=1) == y_val).mean())
    return history


LOSS = tc.losses.SparseCategoricalCrossentropy(from_logits=True)


@pytest.mark.parametrize("loss_fn, rtol", [
    (lambda logits, labels: LOSS(labels, logits), 0),  # the compiled loss: bit for bit
    (F.cross_entropy, 1e-6),  # PyTorch's fused op: equal to float32 precision
], ids=["compiled loss", "F.cross_entropy"])
def test_fit_equals_the_hand_unrolled_loop(loss_fn, rtol):
    tc.manual_seed(5)
    model = convnet()
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.1), loss=LOSS, metrics=["accuracy"])
    history = model.fit(X, Y, batch_size=16, epochs=3, validation_split=0.2, verbose=0)

    tc.manual_seed(5)  # the same initial weights, and the generator in the same state
    by_hand = convnet()
    expected = fit_by_hand(by_hand, X[:40], Y[:40], 3, 16, X[40:], Y[40:], 0.1, loss_fn)

    assert history.history.keys() == expected.keys() and history.epoch == [0, 1, 2]
    for key, values in expected.items():
        np.testing.assert_allclose(history.history[key], values, rtol=rtol, atol=0,
                                   err_msg=key)
    assert len(model.get_weights()) == 8  # BatchNormalization's moving statistics too
    for got, want in zip(model.get_weights(), by_hand.get_weights()):
        np.testing.assert_allclose(got, want, rtol=10 * rtol, atol=10 * rtol * 1e-2)
    assert not np.allclose(model.layers[1].moving_mean.data, 0)  # they did move


def test_the_same_seed_gives_the_same_fit_and_another_seed_another_order():
    def run(seed):
        tc.manual_seed(seed)
        model = convnet()
        model.compile(optimizer="adam", loss=tc.losses.SparseCategoricalCrossentropy(
            from_logits=True), metrics=["accuracy"])
        return model.fit(X, Y, batch_size=8, epochs=2, verbose=0).history, model.get_weights()

    (h1, w1), (h2, w2), (h3, _) = run(1), run(1), run(2)
    assert h1 == h2
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    assert h1 != h3


def test_validation_split_holds_out_the_last_examples_before_shuffling():
    seen = []

    class Record(tc.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append(batch)

    model = nn.Sequential([nn.Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mse")
    x = np.arange(10, dtype=np.float32)[:, None]
    original_call = model.call
    trained_on = []

    def spy(inputs, training):
        (trained_on if training else []).extend(inputs.data[:, 0].tolist())
        return original_call(inputs, training)

    model.call = spy
    model.fit(x, x, batch_size=3, validation_split=0.3, verbose=0, callbacks=[Record()])
    assert sorted(trained_on) == [0, 1, 2, 3, 4, 5, 6]  # the last 3 held out
    assert seen == [0, 1, 2]  # ceil(7 / 3) batches, the last one smaller


def test_history_values_are_batch_size_weighted_means():
    model = nn.Sequential([nn.Dense(1, use_bias=False, kernel_initializer="zeros",
                                    input_shape=(1,))])
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=1e-12), loss="mae", metrics=["mse"])
    x = np.zeros((5, 1), np.float32)
    y = np.array([[1.0], [1.0], [1.0], [1.0], [6.0]], np.float32)
    history = model.fit(x, y, batch_size=4, shuffle=False, verbose=0)
    # batches: mae 1 over 4 examples, then 6 over 1: (4·1 + 1·6) / 5 = 2, not (1 + 6) / 2
    assert history.history["loss"] == [pytest.approx(2.0)]
    assert history.history["mse"] == [pytest.approx((4 + 36) / 5)]


def test_evaluate_and_predict_use_inference_mode():
    tc.manual_seed(0)
    model = convnet()
    model.compile(optimizer="adam", loss=tc.losses.SparseCategoricalCrossentropy(
        from_logits=True), metrics=["accuracy", "sparse_categorical_accuracy"])
    model.fit(X, Y, epochs=1, verbose=0)
    with tc.no_grad():
        logits = model(X, training=False).data
    np.testing.assert_allclose(model.predict(X, batch_size=7, verbose=0), logits, rtol=1e-6)
    assert model.predict(X, verbose=0).dtype == np.float32
    loss, acc, sparse_acc = model.evaluate(X, Y, batch_size=50, verbose=0)
    assert loss == pytest.approx(F.cross_entropy(Tensor(logits), Y).item(), rel=1e-6)
    assert acc == sparse_acc == pytest.approx((logits.argmax(1) == Y).mean())
    assert model.evaluate(X, Y, verbose=0, return_dict=True).keys() == {
        "loss", "accuracy", "sparse_categorical_accuracy"}
    assert model.metrics_names == ["loss", "accuracy", "sparse_categorical_accuracy"]
    model.compile(optimizer="adam", loss=tc.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    assert isinstance(model.evaluate(X, Y, verbose=0), float)  # no metrics: the loss alone


def test_keras_classification_with_softmax_probabilities_and_one_hot_labels_learns():
    tc.manual_seed(0)
    centers = rng.standard_normal((3, 4)) * 3
    labels = rng.integers(0, 3, 300)
    x = (centers[labels] + rng.standard_normal((300, 4))).astype(np.float32)
    model = nn.Sequential([nn.Dense(16, activation="relu", input_shape=(4,)),
                           nn.Dense(3, activation="softmax")])
    model.compile(optimizer=nn.optimizers.Adam(learning_rate=0.01),
                  loss="categorical_crossentropy", metrics=["accuracy"])
    assert type(model.compiled_metrics[0]).__name__ == "CategoricalAccuracy"
    history = model.fit(x, np.eye(3)[labels], epochs=10, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0] / 3
    assert history.history["accuracy"][-1] > 0.95


def test_binary_classification_with_a_sigmoid_output():
    tc.manual_seed(0)
    x = rng.standard_normal((200, 2)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.float32)
    model = nn.Sequential([nn.Dense(1, activation="sigmoid", input_shape=(2,))])
    model.compile(optimizer=nn.optimizers.Adam(learning_rate=0.05), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, verbose=0)
    assert history.history["accuracy"][-1] > 0.95
    assert model.predict(x[:3], verbose=0).shape == (3, 1)


@pytest.mark.parametrize("opt", [nn.optimizers.Adam(learning_rate=3e-4),
                                 tc.optim.Adam(lr=3e-4)], ids=["Keras'", "PyTorch's"])
def test_compile_binds_an_unbound_optimizer_of_either_family(opt):
    model = convnet()
    model.compile(optimizer=opt, loss="sparse_categorical_crossentropy")
    assert model.optimizer is opt
    assert [id(p) for p in opt.params] == [id(p) for p in model.trainable_weights]


@pytest.mark.parametrize("name, cls, learning_rate", [
    # keras.optimizers.get(name) and each class's default learning rate in Keras 3
    ("adam", nn.optimizers.Adam, 0.001), ("sgd", nn.optimizers.SGD, 0.01),
    ("rmsprop", nn.optimizers.RMSprop, 0.001), ("adamw", nn.optimizers.AdamW, 0.001),
    ("adagrad", nn.optimizers.Adagrad, 0.001), ("Adam", nn.optimizers.Adam, 0.001),
])
def test_compile_names_build_keras_optimizers_with_keras_defaults(name, cls, learning_rate):
    model = convnet()
    model.compile(optimizer=name, loss="mse")
    assert type(model.optimizer) is cls and model.optimizer.learning_rate == learning_rate
    assert isinstance(model.loss, tc.losses.MeanSquaredError)


def test_an_unbuilt_model_is_built_from_the_data_before_training():
    tc.manual_seed(0)
    model = nn.Sequential([nn.Dense(3), nn.Dense(2)])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(rng.random((8, 5)), rng.integers(0, 2, 8), verbose=0)
    assert model.built and model.input_shape == (5,)


def test_train_step_is_one_sgd_step_and_returns_keras_running_logs():
    tc.manual_seed(0)
    model = nn.Sequential([nn.Dense(3, input_shape=(2,))])
    model.compile(optimizer="sgd", loss=tc.losses.SparseCategoricalCrossentropy(
        from_logits=True), metrics=["accuracy"])  # Keras' and PyTorch's SGD: w − 0.01·grad
    w, b = (a.astype(np.float64) for a in model.get_weights())
    batches = [(rng.random((4, 2)).astype(np.float32), np.array([0, 2, 1, 2])),
               (rng.random((2, 2)).astype(np.float32), np.array([1, 0]))]
    seen = losses = correct = 0.0
    for x, y in batches:
        logits = x @ w + b  # float64 reference: softmax cross-entropy, its gradient by hand
        p = np.exp(logits - logits.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(len(y)), y]).mean()
        d_logits = (p - np.eye(3)[y]) / len(y)
        seen, losses = seen + len(y), losses + loss * len(y)
        correct += (logits.argmax(axis=1) == y).sum()
        logs = model.train_step(x, y)
        w, b = w - 0.01 * x.T @ d_logits, b - 0.01 * d_logits.sum(axis=0)
        # the running means over the batches so far, each taken before its update
        assert logs.keys() == {"loss", "accuracy"}
        np.testing.assert_allclose(logs["loss"], losses / seen, rtol=1e-6)
        assert logs["accuracy"] == pytest.approx(correct / seen)
        np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(model.get_weights()[1], b, rtol=1e-6, atol=1e-7)


def test_fit_runs_an_overridden_train_step_on_every_batch_and_logs_what_it_returns():
    class Counting(nn.Sequential):
        def train_step(self, x, y):
            logs = super().train_step(x, y)
            steps.append(len(x))
            return {**logs, "examples": sum(steps)}

    steps, batches = [], []

    class Batches(tc.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            batches.append(logs["examples"])

    model = Counting([nn.Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((10, 1)), np.ones((10, 1)), batch_size=4, epochs=2, verbose=0,
              callbacks=[Batches()])
    assert steps == [4, 4, 2] * 2
    assert batches == [4, 8, 10, 14, 18, 20]


def test_initial_epoch_counts_from_there():
    model = nn.Sequential([nn.Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(np.ones((4, 1)), np.ones((4, 1)), epochs=5, initial_epoch=3,
                        verbose=0)
    assert history.epoch == [3, 4] and len(history.history["loss"]) == 2


# ------------------------------------------------------------------------- verbose
def fitted_output(verbose, **kwargs):
    model = nn.Sequential([nn.Dense(2, input_shape=(3,))])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    out = io.StringIO()
    with redirect_stdout(out):
        model.fit(np.ones((10, 3)), np.ones((10, 2)), batch_size=4, epochs=2,
                  validation_split=0.2, verbose=verbose, **kwargs)
    return out.getvalue()


def test_verbose_0_prints_nothing_and_2_one_keras_line_per_epoch():
    assert fitted_output(0) == ""
    lines = fitted_output(2).splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert lines[1].startswith("2/2 - ")
    parts = lines[1].split(" - ")
    assert parts[2].endswith("ms/step")
    assert [p.split(":")[0] for p in parts[3:-1]] == ["loss", "mae", "val_loss", "val_mae"]
    assert parts[-1].endswith("examples/s")


def test_verbose_1_without_a_terminal_or_tqdm_falls_back_to_the_plain_line(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name == "tqdm":
            raise ImportError("no tqdm")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    for verbose in (1, "auto"):
        lines = fitted_output(verbose).splitlines()
        assert lines[0] == "Epoch 1/2" and lines[1].startswith("2/2 - ") and len(lines) == 4


def test_verbose_1_on_a_terminal_shows_a_tqdm_bar_with_the_running_values(monkeypatch,
                                                                          capsys):
    pytest.importorskip("tqdm")
    monkeypatch.setattr("sys.stderr.isatty", lambda: True, raising=False)
    assert fitted_output(1) == ""  # the bar goes to stderr
    err = capsys.readouterr().err
    assert "Epoch 1/2" in err and "Epoch 2/2" in err
    assert "val_loss: " in err and "examples/s" in err and "2/2" in err


# ------------------------------------------------------------------------ callbacks
def test_callback_hooks_run_in_keras_order_with_0_based_epochs():
    calls = []

    class Recorder(tc.callbacks.Callback):
        def on_train_begin(self, logs=None):
            calls.append(("train_begin", self.params["epochs"], self.params["steps"]))

        def on_epoch_begin(self, epoch, logs=None):
            calls.append(("epoch_begin", epoch))

        def on_train_batch_end(self, batch, logs=None):
            calls.append(("batch_end", batch, sorted(logs)))

        def on_epoch_end(self, epoch, logs=None):
            calls.append(("epoch_end", epoch, sorted(logs)))

        def on_train_end(self, logs=None):
            calls.append(("train_end", self.model is model))

    model = nn.Sequential([nn.Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.ones((6, 1)), np.ones((6, 1)), batch_size=4, epochs=2, verbose=0,
              validation_data=(np.ones((2, 1)), np.ones((2, 1))), callbacks=[Recorder()])
    assert calls == [("train_begin", 2, 2),
                     ("epoch_begin", 0), ("batch_end", 0, ["loss"]), ("batch_end", 1, ["loss"]),
                     ("epoch_end", 0, ["loss", "val_loss"]),
                     ("epoch_begin", 1), ("batch_end", 0, ["loss"]), ("batch_end", 1, ["loss"]),
                     ("epoch_end", 1, ["loss", "val_loss"]),
                     ("train_end", True)]


def test_a_callback_stops_training_after_the_current_batch():
    class StopAfterThree(tc.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            self.params.setdefault("seen", 0)
            self.params["seen"] += 1
            if self.params["seen"] == 3:
                self.model.stop_training = True

    model = nn.Sequential([nn.Dense(1, input_shape=(1,))])
    model.compile(optimizer="sgd", loss="mse")
    stopper = StopAfterThree()
    history = model.fit(np.ones((8, 1)), np.ones((8, 1)), batch_size=2, epochs=5, verbose=0,
                        callbacks=[stopper])
    assert stopper.params["seen"] == 3 and history.epoch == [0]


def regression(seed=0):
    tc.manual_seed(seed)
    x = rng.standard_normal((40, 3)).astype(np.float32)
    y = x @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    model = nn.Sequential([nn.Dense(1, input_shape=(3,))])
    return model, x, y


def test_early_stopping_waits_patience_epochs_and_restores_the_best_weights():
    model, x, y = regression()
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.05), loss="mse")
    snapshots = []

    class Snapshot(tc.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append((logs["val_loss"], self.model.get_weights()))

    # a validation set the model can only get worse on after the first epochs
    x_val, y_val = x[:10], -y[:10]
    stop = tc.callbacks.EarlyStopping(patience=2, restore_best_weights=True)
    history = model.fit(x, y, epochs=50, validation_data=(x_val, y_val), verbose=0,
                        callbacks=[Snapshot(), stop])
    val = history.history["val_loss"]
    best = int(np.argmin(val))
    assert len(val) == best + 3 and stop.stopped_epoch == best + 2 < 49
    for got, want in zip(model.get_weights(), snapshots[best][1]):
        np.testing.assert_array_equal(got, want)


def test_early_stopping_maximizes_accuracies_and_honours_min_delta():
    stop = tc.callbacks.EarlyStopping(monitor="val_accuracy", min_delta=0.1, patience=0)
    stop.set_model(nn.Sequential())
    stop.on_train_begin()
    for epoch, value in enumerate([0.5, 0.55, 0.7]):
        stop.model.stop_training = False
        stop.on_epoch_end(epoch, {"val_accuracy": value})
        if stop.model.stop_training:
            break
    assert stop.stopped_epoch == 1  # 0.55 is not 0.1 better than 0.5


def test_model_checkpoint_fills_its_templates_and_keeps_the_best(tmp_path):
    model, x, y = regression()
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.05), loss="mse")
    snapshots = []

    class Snapshot(tc.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(self.model.get_weights())

    every = tc.callbacks.ModelCheckpoint(str(tmp_path / "all" / "m-{epoch:02d}.npz"),
                                         save_weights_only=True)
    best = tc.callbacks.ModelCheckpoint(str(tmp_path / "best-{epoch:02d}-{val_loss:.4f}.npz"),
                                        save_best_only=True)
    x_val, y_val = x[:10], -y[:10]
    history = model.fit(x, y, epochs=4, validation_data=(x_val, y_val), verbose=0,
                        callbacks=[Snapshot(), every, best])
    assert sorted(p.name for p in (tmp_path / "all").iterdir()) == [
        "m-01.npz", "m-02.npz", "m-03.npz", "m-04.npz"]
    val = history.history["val_loss"]
    improved = [i for i in range(4) if val[i] == min(val[:i + 1])]
    assert sorted(p.name for p in tmp_path.glob("best-*")) == [
        f"best-{i + 1:02d}-{val[i]:.4f}.npz" for i in improved]
    weights_only = tmp_path / "all" / "m-04.npz"
    with pytest.raises(ValueError, match="holds weights only"):
        nn.load_model(weights_only)
    last_best = improved[-1]
    restored = nn.load_model(tmp_path / f"best-{last_best + 1:02d}-{val[last_best]:.4f}.npz")
    for got, want in zip(restored.get_weights(), snapshots[last_best]):
        np.testing.assert_array_equal(got, want)
    last = nn.Sequential([nn.Dense(1, input_shape=(3,))])
    last.load_weights(weights_only)
    np.testing.assert_array_equal(last.get_weights()[0], model.get_weights()[0])


def test_model_checkpoint_names_a_template_field_the_logs_lack(tmp_path):
    model, x, y = regression()
    model.compile(optimizer="sgd", loss="mse")
    with pytest.raises(ValueError, match=r"has a field the logs cannot fill.*fields: epoch, "
                                         r"loss"):
        model.fit(x, y, verbose=0, callbacks=[tc.callbacks.ModelCheckpoint(
            str(tmp_path / "m-{val_loss:.2f}.npz"))])


def test_csv_logger_writes_one_row_per_epoch_with_0_based_epochs(tmp_path):
    model, x, y = regression()
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    path = tmp_path / "log.csv"
    history = model.fit(x, y, epochs=3, validation_split=0.25, verbose=0,
                        callbacks=[tc.callbacks.CSVLogger(str(path))])
    rows = [line.split(",") for line in path.read_text().splitlines()]
    assert rows[0] == ["epoch", "loss", "mae", "val_loss", "val_mae"]
    assert [r[0] for r in rows[1:]] == ["0", "1", "2"]
    assert [float(r[3]) for r in rows[1:]] == history.history["val_loss"]
    model.fit(x, y, epochs=1, verbose=0, callbacks=[tc.callbacks.CSVLogger(str(path),
                                                                           append=True)])
    assert len(path.read_text().splitlines()) == 5  # appended without a second header


def test_terminate_on_nan_stops_at_the_first_non_finite_loss():
    model, x, y = regression()
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=1e30), loss="mse")
    with pytest.warns(RuntimeWarning, match="invalid loss"), np.errstate(all="ignore"):
        history = model.fit(x, y, batch_size=4, epochs=3, verbose=0,
                            callbacks=[tc.callbacks.TerminateOnNaN()])
    assert history.epoch == [0] and not math.isfinite(history.history["loss"][0])


# ------------------------------------------------------------ learning-rate callbacks
class Scripted(tc.callbacks.Callback):
    """Puts a given value per epoch into the logs as "score", for callbacks after it."""

    def __init__(self, values):
        super().__init__()
        self.values = values

    def on_epoch_end(self, epoch, logs=None):
        logs["score"] = self.values[epoch]


SCORES = [1.0, 0.995, 0.99, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3]
# Keras 3's ReduceLROnPlateau(monitor="score", mode="min", factor=0.5, patience=2,
# cooldown=2, min_delta=0.01, min_lr=0.002) from 0.01, worked by hand. Improving means
# score + 0.01 < best. Each epoch logs the rate it trained with, then maybe reduces:
#  0: 1.0    first value: best 1.0
#  1: 0.995  no improvement: wait 1
#  2: 0.99   wait 2 = patience: rate 0.005, cooldown 2, wait 0
#  3: 0.5    cooldown 2 → 1, improves: best 0.5
#  4: 0.6    cooldown 1 → 0, wait 0; no improvement, not cooling down: wait 1
#  5: 0.7    wait 2: rate 0.0025, cooldown 2
#  6: 0.8    cooldown → 1: no counting
#  7: 0.9    cooldown → 0: wait 1
#  8: 1.0    wait 2: rate max(0.00125, 0.002) = 0.002, cooldown 2
#  9: 1.1    cooldown → 1
# 10: 1.2    cooldown → 0: wait 1
# 11: 1.3    wait 2, but the rate is not above min_lr: unchanged, wait stays 2
PLATEAU_RATES = [0.01, 0.01, 0.01, 0.005, 0.005, 0.005, 0.0025, 0.0025, 0.0025, 0.002, 0.002,
                 0.002]


def plateau():
    return tc.callbacks.ReduceLROnPlateau(monitor="score", mode="min", factor=0.5, patience=2,
                                          cooldown=2, min_delta=0.01, min_lr=0.002)


@pytest.mark.parametrize("optimizer, attr", [(nn.optimizers.SGD(learning_rate=0.01),
                                              "learning_rate"),
                                             (tc.optim.SGD(lr=0.01), "lr")],
                         ids=["Keras'", "PyTorch's"])
def test_reduce_lr_on_plateau_follows_keras_schedule(optimizer, attr):
    model, x, y = regression()
    model.compile(optimizer=optimizer, loss="mse")
    history = model.fit(x, y, epochs=len(SCORES), verbose=0,
                        callbacks=[Scripted(SCORES), plateau()])
    assert history.history["learning_rate"] == PLATEAU_RATES
    assert getattr(model.optimizer, attr) == 0.002


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # keras' own, under numpy 2
def test_reduce_lr_on_plateau_matches_keras_when_installed():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")

    class KerasModel:  # what the callback reads of a model
        optimizer = keras.optimizers.SGD(learning_rate=0.01)

    theirs = keras.callbacks.ReduceLROnPlateau(monitor="score", mode="min", factor=0.5,
                                               patience=2, cooldown=2, min_delta=0.01,
                                               min_lr=0.002)
    theirs.set_model(KerasModel())
    theirs.on_train_begin()
    rates = []
    for epoch, score in enumerate(SCORES):
        logs = {"score": score}
        theirs.on_epoch_end(epoch, logs)
        rates.append(logs["learning_rate"])
    np.testing.assert_allclose(rates, PLATEAU_RATES, rtol=1e-7)  # Keras keeps float32 rates


def test_reduce_lr_on_plateau_watches_val_loss_by_default():
    model, x, y = regression()
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.05), loss="mse")
    x_val, y_val = x[:10], -y[:10]  # worse every epoch once the fit starts to work
    history = model.fit(x, y, epochs=6, validation_data=(x_val, y_val), verbose=0,
                        callbacks=[tc.callbacks.ReduceLROnPlateau(patience=1, factor=0.5)])
    val, rates = history.history["val_loss"], history.history["learning_rate"]
    expected, lr, best, wait = [], 0.05, None, 0  # Keras' rule, cooldown 0, min_delta 1e-4
    for v in val:
        expected.append(lr)  # the rate this epoch trained with, then maybe a reduction
        if best is None or v + 1e-4 < best:
            best, wait = v, 0
        else:
            wait += 1
            if wait >= 1:
                lr, wait = lr * 0.5, 0
    assert rates == expected and rates[-1] < 0.05


@pytest.mark.parametrize("optimizer", [nn.optimizers.SGD(learning_rate=0.01),
                                       tc.optim.SGD(lr=0.01)], ids=["Keras'", "PyTorch's"])
@pytest.mark.parametrize("schedule", [
    lambda epoch, lr: lr * 0.5 if epoch >= 2 else lr,
    lambda epoch: 0.01 * 0.5 ** max(epoch - 1, 0),  # Keras also takes schedule(epoch)
], ids=["schedule(epoch, lr)", "schedule(epoch)"])
def test_learning_rate_scheduler_sets_each_epochs_rate(optimizer, schedule):
    # one full-batch SGD step per epoch on mse: w ← w − lr·(2/N)·xᵀ(x·w − y), in float64
    rates = [0.01, 0.01, 0.005, 0.0025, 0.00125]  # both schedules, epochs 0 to 4, from 0.01
    x = rng.standard_normal((6, 2))
    y = x @ np.array([[2.0], [-1.0]]) + 0.5
    model = nn.Sequential([nn.Dense(1, use_bias=False, input_shape=(2,), dtype="float64")])
    w = model.get_weights()[0].copy()
    model.compile(optimizer=optimizer, loss="mse")
    history = model.fit(x, y, batch_size=6, epochs=5, shuffle=False, verbose=0,
                        callbacks=[tc.callbacks.LearningRateScheduler(schedule)])
    for lr in rates:
        w = w - lr * (2 / len(x)) * x.T @ (x @ w - y)
    assert history.history["learning_rate"] == rates
    np.testing.assert_allclose(model.get_weights()[0], w, rtol=1e-13)


def test_the_progress_line_shows_the_learning_rate_as_keras_does():
    out = fitted_output(2, callbacks=[tc.callbacks.LearningRateScheduler(
        lambda epoch, lr: 1e-4)])
    assert "learning_rate: 1.0000e-04" in out.splitlines()[1]
