"""Keras losses and metrics: values against Keras' formulas in numpy, gradients by gradcheck."""

import warnings

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, losses, metrics
from tinygrad_cnn import functional as F

EPS = 1e-7
rng = np.random.default_rng(0)


def softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


# Keras 3's numpy backend, transcribed (keras/src/backend/numpy/nn.py)
def keras_sparse_cce(labels, probs):
    p = np.clip(probs / probs.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -np.log(np.take_along_axis(p, labels[..., None], -1))[..., 0]


def keras_cce(target, probs):
    p = np.clip(probs / probs.sum(-1, keepdims=True), EPS, 1 - EPS)
    return -(target * np.log(p)).sum(-1)


def keras_bce(target, probs):
    p = np.clip(probs, EPS, 1 - EPS)
    return -(target * np.log(p) + (1 - target) * np.log(1 - p)).mean(-1)


def f64(a, requires_grad=False):
    return Tensor(np.asarray(a, np.float64), requires_grad=requires_grad)


LABELS = np.array([0, 2, 1, 1, 3])
LOGITS = rng.standard_normal((5, 4))
ONE_HOT = np.eye(4)[LABELS]
BINARY = rng.integers(0, 2, (5, 3)).astype(np.float64)


@pytest.mark.parametrize("fn, y_true, reference", [
    (losses.sparse_categorical_crossentropy, LABELS, keras_sparse_cce),
    (losses.categorical_crossentropy, ONE_HOT, keras_cce),
    (losses.categorical_crossentropy, softmax(rng.standard_normal((5, 4))), keras_cce),
])
def test_categorical_losses_match_keras_on_probabilities_and_logits(fn, y_true, reference):
    probs = softmax(LOGITS)
    expected = reference(y_true, probs)
    np.testing.assert_allclose(fn(y_true, f64(probs)).data, expected, rtol=1e-12)
    np.testing.assert_allclose(fn(y_true, f64(LOGITS), from_logits=True).data, expected,
                               rtol=1e-12)
    # straight from a softmax in the graph: computed from its input, same values
    logits = f64(LOGITS, requires_grad=True)
    np.testing.assert_allclose(fn(y_true, logits.softmax()).data, expected, rtol=1e-12)


def test_unnormalized_probabilities_are_divided_by_their_sum_and_clipped():
    probs = np.array([[2.0, 0.0, 2.0], [0.1, 0.1, 0.8]])
    got = losses.sparse_categorical_crossentropy(np.array([1, 2]), f64(probs)).data
    np.testing.assert_allclose(got, [-np.log(EPS), -np.log(0.8)], rtol=1e-12)


def test_binary_crossentropy_matches_keras_and_its_sigmoid_path():
    logits = rng.standard_normal((5, 3)) * 3
    probs = 1 / (1 + np.exp(-logits))
    expected = keras_bce(BINARY, probs)
    np.testing.assert_allclose(losses.binary_crossentropy(BINARY, f64(probs)).data, expected,
                               rtol=1e-12)
    np.testing.assert_allclose(losses.binary_crossentropy(BINARY, f64(logits),
                                                          from_logits=True).data,
                               expected, rtol=1e-10)
    z = f64(logits, requires_grad=True)
    np.testing.assert_allclose(losses.binary_crossentropy(BINARY, z.sigmoid()).data, expected,
                               rtol=1e-10)


def test_binary_targets_of_shape_n_fit_predictions_of_shape_n_1():
    probs = f64([[0.9], [0.2], [0.6]])
    got = losses.BinaryCrossentropy()(np.array([1, 0, 0]), probs)
    assert got.shape == ()
    np.testing.assert_allclose(got.item(), -np.mean(np.log([0.9, 0.8, 0.4])), rtol=1e-12)


def test_regression_losses_are_per_example_means_over_the_last_axis():
    pred, target = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    np.testing.assert_allclose(losses.mean_squared_error(target, f64(pred)).data,
                               ((pred - target) ** 2).mean(-1), rtol=1e-12)
    np.testing.assert_allclose(losses.mean_absolute_error(target, f64(pred)).data,
                               np.abs(pred - target).mean(-1), rtol=1e-12)
    assert losses.MeanSquaredError()(target, f64(pred)).item() == pytest.approx(
        ((pred - target) ** 2).mean())
    # the old PyTorch-order function still works and agrees
    assert tc.losses.mse(f64(pred), target).item() == pytest.approx(
        losses.get("mse")(target, f64(pred)).item())


def test_a_confident_wrong_softmax_gives_the_exact_loss_from_its_logits():
    logits = f64([[40.0, 0.0, 0.0]], requires_grad=True)
    from_graph = losses.sparse_categorical_crossentropy([1], logits.softmax())
    assert from_graph.item() == pytest.approx(40.0)  # clipped probabilities would say 16.1
    from_graph.sum().backward()
    assert np.isfinite(logits.grad).all() and logits.grad[0, 0] == pytest.approx(1.0)
    with tc.no_grad():  # nothing recorded: Keras' clipped formula
        clipped = losses.sparse_categorical_crossentropy([1], logits.softmax())
    assert clipped.item() == pytest.approx(-np.log(EPS))


@pytest.mark.parametrize("loss, y_true, make_pred", [
    (losses.SparseCategoricalCrossentropy(), LABELS, lambda z: z.softmax()),
    (losses.SparseCategoricalCrossentropy(), LABELS, lambda z: (z * z + 0.1) / 3),
    (losses.SparseCategoricalCrossentropy(from_logits=True), LABELS, lambda z: z),
    (losses.CategoricalCrossentropy(), ONE_HOT, lambda z: z.softmax()),
    (losses.CategoricalCrossentropy(), ONE_HOT, lambda z: (z * z + 0.1) / 3),
    (losses.CategoricalCrossentropy(from_logits=True), ONE_HOT, lambda z: z),
    (losses.BinaryCrossentropy(), np.eye(4)[[0, 1, 1, 3, 2]], lambda z: z.sigmoid()),
    (losses.BinaryCrossentropy(), np.eye(4)[[0, 1, 1, 3, 2]], lambda z: (z * z + 0.1) / 5),
    (losses.BinaryCrossentropy(from_logits=True), np.eye(4)[[0, 1, 1, 3, 2]], lambda z: z),
    (losses.MeanSquaredError(), ONE_HOT, lambda z: z),
    (losses.MeanAbsoluteError(), ONE_HOT, lambda z: z + 0.5),
])
def test_every_loss_object_is_a_differentiable_batch_mean(loss, y_true, make_pred):
    z = f64(LOGITS, requires_grad=True)
    value = loss(y_true, make_pred(z))
    assert value.shape == ()
    assert value.item() == pytest.approx(loss.call(y_true, make_pred(z)).data.mean())
    assert tc.gradcheck(lambda z: loss(y_true, make_pred(z)), [z])


def test_clipping_stops_the_gradient_where_probabilities_are_clipped():
    # loss = −½·log q0 − ½·log clip(q2), q = p / Σp; q2 = 0 is clipped up to 1e-7, so only
    # −½·log(p0 / Σp) has a gradient: −½(1/p0 − 1/Σp) for p0, ½/Σp for p1 and p2
    p = f64([[0.6, 0.4, 0.0]], requires_grad=True)
    losses.categorical_crossentropy([[0.5, 0.0, 0.5]], p).sum().backward()
    np.testing.assert_allclose(p.grad, [[-0.5 * (1 / 0.6 - 1), 0.5, 0.5]], rtol=1e-12)


def test_losses_by_name_and_their_keras_names():
    assert isinstance(losses.get("sparse_categorical_crossentropy"),
                      losses.SparseCategoricalCrossentropy)
    assert losses.get("mse").name == "mean_squared_error"
    assert losses.get("mae").name == "mean_absolute_error"
    obj = losses.CategoricalCrossentropy(from_logits=True)
    assert losses.get(obj) is obj and obj.get_config() == {
        "name": "categorical_crossentropy", "from_logits": True}
    custom = losses.get(lambda y, p: (p - y).abs().sum())
    assert custom(np.ones(2), f64([1.0, 3.0])).item() == 2.0


def test_a_custom_loss_must_return_a_tensor():
    with pytest.raises(TypeError, match="must return a Tensor"):
        losses.get(lambda y, p: 1.0)(np.ones(2), f64([1.0, 3.0]))


def test_cross_entropy_warns_at_the_callers_line_when_given_a_softmax():
    z = f64(LOGITS, requires_grad=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.cross_entropy(z, LABELS)  # logits: no warning
        F.cross_entropy(z.log_softmax(), LABELS)  # log-probabilities are fine too
    assert caught == []
    with pytest.warns(UserWarning, match="softmax is applied twice") as record:
        line = _line() + 1
        F.cross_entropy(z.softmax(), LABELS)
    assert record[0].filename == __file__ and record[0].lineno == line
    with pytest.warns(UserWarning):
        tc.losses.cross_entropy(z.softmax(), LABELS)


def test_cross_entropy_warns_about_a_softmax_whether_or_not_a_graph_recorded_it():
    x = np.asarray(LOGITS, np.float64)
    model = tc.nn.Sequential([tc.nn.Dense(4, input_shape=(4,)), tc.nn.Softmax()])

    def predicted():
        with tc.no_grad():
            return model(x)

    unrecorded = {  # none of these records a graph: no op's _ctx to look at
        "F.softmax of an ndarray": lambda: F.softmax(x),
        "a Tensor that needs no gradient": lambda: f64(x).softmax(),
        "a model's Softmax under no_grad": predicted,
    }
    for what, probs in unrecorded.items():
        for loss in (F.cross_entropy, tc.losses.cross_entropy):
            with pytest.warns(UserWarning, match="softmax is applied twice") as record:
                line = _line() + 1
                loss(probs(), LABELS)
            assert (record[0].filename, record[0].lineno) == (__file__, line), what
    probs = F.softmax(x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.cross_entropy(x, LABELS)  # logits
        F.cross_entropy(f64(x).log_softmax(), LABELS)
        F.cross_entropy(probs.data.copy(), LABELS)  # a copy no longer says where it came from
    assert caught == []


def _line():
    import inspect

    return inspect.currentframe().f_back.f_lineno


# ------------------------------------------------------------------------- metrics
def test_accuracy_metrics_per_example():
    probs = softmax(LOGITS)
    hits = (probs.argmax(-1) == LABELS).astype(np.float32)
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(LABELS, probs), hits)
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy(LABELS[:, None], probs),
                                  hits)
    np.testing.assert_array_equal(metrics.categorical_accuracy(ONE_HOT, probs), hits)
    np.testing.assert_array_equal(metrics.binary_accuracy([[1, 0], [0, 0]], [[0.7, 0.2],
                                                                            [0.6, 0.1]]),
                                  [1.0, 0.5])


@pytest.mark.parametrize("loss, y_true, y_pred, expected", [
    ("sparse_categorical_crossentropy", LABELS, LOGITS, "SparseCategoricalAccuracy"),
    ("categorical_crossentropy", ONE_HOT, LOGITS, "CategoricalAccuracy"),
    ("binary_crossentropy", BINARY, LOGITS[:, :3], "BinaryAccuracy"),
    ("mse", LABELS, LOGITS, "Accuracy"),
])
def test_accuracy_resolves_from_the_loss(loss, y_true, y_pred, expected):
    metric = metrics.get("accuracy", losses.get(loss))
    assert type(metric).__name__ == expected and metric.name == "accuracy"
    metric.update_state(y_true, y_pred)
    assert 0 <= metric.result() <= 1


def test_accuracy_without_a_loss_decides_by_the_shapes_as_keras_does():
    np.testing.assert_array_equal(metrics.accuracy([[1], [0]], [[0.8], [0.7]]), [1.0, 0.0])
    np.testing.assert_array_equal(metrics.accuracy([1, 0], [[0.2, 0.8], [0.3, 0.7]]), [1, 0])
    np.testing.assert_array_equal(metrics.accuracy([[0, 1], [1, 0]], [[0.2, 0.8], [0.3, 0.7]]),
                                  [1, 0])


def test_a_metric_is_the_mean_over_examples_so_batches_weigh_by_size():
    metric = metrics.get("sparse_categorical_accuracy")
    metric.update_state([0, 1, 1], np.eye(3)[[0, 1, 1]])  # 3 of 3
    metric.update_state([0], [[0.0, 1.0, 0.0]])  # 0 of 1
    assert metric.result() == 0.75  # not (1 + 0) / 2
    metric.reset_state()
    assert metric.result() == 0.0
    tracker = metrics.Mean("loss")
    tracker.update_state(2.0, sample_weight=3)
    tracker.update_state(6.0, sample_weight=1)
    assert tracker.result() == 3.0


def test_regression_metrics_and_custom_ones():
    np.testing.assert_allclose(metrics.get("mae").function([[1.0, 3.0]], [[2.0, 1.0]]), [1.5])
    np.testing.assert_allclose(metrics.get("mse").function([[1.0, 3.0]], [[2.0, 1.0]]), [2.5])
    custom = metrics.get(lambda y, p: np.abs(np.asarray(y) - p).max(-1))
    custom.update_state([[1.0, 3.0]], np.array([[2.0, 1.0]]))
    assert custom.result() == 2.0 and custom.name == "<lambda>"
