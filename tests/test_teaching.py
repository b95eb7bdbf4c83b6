"""What learners are told must be true: summary formulas add up, suggested fixes work."""

import math
import re

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn
from tinygrad_cnn import functional as F

# ------------------------------------------------------------------ summary formulas


def evaluate(expression: str) -> float:
    """The value of a formula as the summary writes it: 3·3·1·10 + 10, floor((28 − 2)/2) + 1."""
    python = (expression.replace("·", "*").replace("−", "-").replace(",", "")
              .replace("floor", "math.floor").replace("ceil", "math.ceil"))
    assert re.fullmatch(r"[\d\s*+\-/().a-z]*", python), expression
    return eval(python, {"math": math})  # noqa: S307 (digits and operators only, checked above)


def checked_numbers(line: str) -> list[float]:
    """Every '= …' step of one explain line evaluated; each step must equal the next."""
    parts = line.split(" = ")
    last = re.match(r"[\d,]+", parts[-1]) if len(parts) > 1 else None
    if last is None:  # "out = (10,): one value per channel", "drops 50% …": no arithmetic
        return []
    last = last.group(0)
    values = [evaluate(p) for p in parts[1:-1]] + [evaluate(last)]
    assert all(v == values[-1] for v in values), line
    return values


LAYERS = [  # (layer, input shape without the batch axis)
    (lambda: nn.Conv2D(10, 3, padding="same"), (28, 28, 1)),
    (lambda: nn.Conv2D(16, 2, strides=1, padding="same"), (28, 28, 1)),
    (lambda: nn.Conv2D(4, (3, 2), strides=(2, 1), padding="valid", use_bias=False), (9, 7, 3)),
    (lambda: nn.Conv2D(4, 3, dilation_rate=2, padding=((1, 2), (0, 1))), (11, 10, 2)),
    (lambda: nn.Conv2D(6, 5, strides=3, padding="same"), (17, 13, 4)),
    (lambda: nn.MaxPooling2D(2), (28, 28, 10)),
    (lambda: nn.MaxPooling2D(3, strides=2, padding="same"), (9, 8, 2)),
    (lambda: nn.AveragePooling2D((2, 3), padding="valid"), (7, 9, 2)),
    (lambda: nn.GlobalAveragePooling2D(), (5, 5, 3)),
    (lambda: nn.GlobalMaxPooling2D(), (5, 4, 3)),
    (lambda: nn.Dense(5), (4,)),
    (lambda: nn.Dense(5), (6, 4)),
    (lambda: nn.Dense(3, use_bias=False), (2, 3, 4)),
    (lambda: nn.Flatten(), (14, 14, 10)),
    (lambda: nn.Flatten(), (6, 4)),
    (lambda: nn.Dropout(0.5), (7,)),
    (lambda: nn.Activation("tanh"), (3, 2)),
    (lambda: nn.ReLU(), (4,)),
    (lambda: nn.BatchNormalization(), (5, 5, 8)),
    (lambda: nn.BatchNormalization(axis=1, center=False), (3, 4)),
    (lambda: nn.LeakyReLU(), (4,)),
    (lambda: nn.Softmax(), (3, 4)),
    (lambda: nn.Reshape((2, -1)), (3, 4)),
    (lambda: nn.ZeroPadding2D(((1, 2), (0, 3))), (5, 4, 2)),
    (lambda: nn.Sequential([nn.Conv2D(2, 3), nn.Flatten(), nn.Dense(3)]), (6, 6, 1)),
]


@pytest.mark.parametrize("make, shape", LAYERS,
                         ids=[f"{make().__class__.__name__}-{shape}" for make, shape in LAYERS])
def test_every_explain_formula_adds_up_to_the_number_in_its_row(make, shape):
    layer = make()
    layer.build(shape)
    out_shape = layer.compute_output_shape(shape)
    for line in layer.explain(shape):
        values = checked_numbers(line)
        if line.startswith("params"):
            assert values[-1] == layer.count_params(), line
        elif line.startswith("MACs"):
            assert values[-1] == layer.macs(shape), line
        elif values and line.startswith("height, width"):
            assert values[-1] == out_shape[0] == out_shape[1], line
        elif values and line.startswith("height"):
            assert values[-1] == out_shape[0], line
        elif values and line.startswith("width"):
            assert values[-1] == out_shape[1], line
        elif values and line.startswith("out = "):
            assert values[-1] == out_shape[-1], line


def test_dense_on_more_than_one_axis_counts_every_position():
    # (6, 4) → Dense(5): the layer runs at 6 positions, 6·4·5 = 120 MACs
    lines = nn.Dense(5, input_shape=(6, 4)).explain((6, 4))
    assert "MACs = 6·4·5 = 120" in lines


def test_the_summary_total_is_the_sum_of_its_rows():
    model = tc.zoo.simple_mnist_convnet()
    printed = []
    model.summary(print_fn=printed.append, explain=True)
    text = printed[0]
    for line in text.splitlines():
        if line.startswith("    "):
            checked_numbers(line.strip())
    total = sum(layer.macs(i) for layer, i, _ in model.layer_shapes())
    assert f"MACs per example (forward): {total:,}" in text


# ------------------------------------------------------------------ suggested fixes work

def suggestion(call, pattern: str) -> str:
    """The code the error message tells the learner to write."""
    with pytest.raises((TypeError, ValueError)) as info:
        call()
    found = re.search(pattern, str(info.value))
    assert found, f"no suggestion matching {pattern!r} in: {info.value}"
    return found.group(1)


def images(*shape, dtype=np.float32):
    return np.random.default_rng(0).random(shape).astype(dtype)


def test_missing_channel_axis_suggestion_works():
    x = images(2, 8, 8)
    kernel = Tensor(images(3, 3, 1, 4))
    fix = suggestion(lambda: F.conv2d(x, kernel), r"channel axis with (x\[\.\.\., None\])")
    x = eval(fix)
    assert F.conv2d(x, kernel).shape == (2, 6, 6, 4)


def test_missing_batch_axis_suggestion_works():
    x = images(8, 8, 1)
    fix = suggestion(lambda: F.max_pool2d(x), r"batch axis with (x\[None\])")
    x = eval(fix)
    assert F.max_pool2d(x).shape == (1, 4, 4, 1)


@pytest.mark.parametrize("wrap", [np.asarray, Tensor], ids=["ndarray", "Tensor"])
def test_kernel_dtype_suggestion_works_on_arrays_and_tensors(wrap):
    x = Tensor(images(1, 5, 5, 2))
    kernel = wrap(images(3, 3, 2, 1, dtype=np.float64))
    fix = suggestion(lambda: F.conv2d(x, kernel), r"e\.g\. (kernel\.astype\(np\.float32\))")
    kernel = eval(fix)
    assert F.conv2d(x, kernel).dtype == np.float32


@pytest.mark.parametrize("wrap", [np.asarray, Tensor], ids=["ndarray", "Tensor"])
def test_integer_input_suggestion_works(wrap):
    x = wrap((images(1, 4, 4, 1) * 255).astype(np.uint8))
    fix = suggestion(lambda: F.avg_pool2d(x), r"e\.g\. (x\.astype\(np\.float32\))")
    x = eval(fix)
    assert F.avg_pool2d(x).dtype == np.float32


@pytest.mark.parametrize("make, shape, pattern, fixed_shape", [
    (tc.zoo.seed_convnet, (2, 28, 28), r"channel axis with (x\[\.\.\., None\])", (2, 10)),
    (lambda: nn.Conv2D(2, 3), (2, 8, 8), r"channel axis with (x\[\.\.\., None\])",
     (2, 6, 6, 2)),
    (tc.zoo.seed_convnet, (28, 28, 1), r"batch axis with (x\[None\])", (1, 10)),
    (lambda: nn.Conv2D(2, 3, input_shape=(8, 8, 3)), (8, 8, 3), r"batch axis with (x\[None\])",
     (1, 6, 6, 2)),
    (lambda: nn.Conv2D(2, 3, input_shape=(8, 8, 1)), (2, 1, 8, 8),
     r"with (x\.transpose\(0, 2, 3, 1\))", (2, 6, 6, 2)),
], ids=["model without channels", "unbuilt conv without channels", "model without batch",
        "built conv given one image", "built conv given channels-first images"])
def test_missing_axis_suggestions_work(make, shape, pattern, fixed_shape):
    layer = make()
    x = images(*shape)
    fix = suggestion(lambda: layer(x), pattern)
    x = eval(fix)
    assert layer(x).shape == fixed_shape


@pytest.mark.parametrize("call", ["__call__", "fit", "predict"])
def test_channels_first_images_are_named_and_the_fix_works(call):
    model = tc.zoo.seed_convnet()
    model.compile(optimizer="sgd", loss=tc.losses.SparseCategoricalCrossentropy(
        from_logits=True))
    x, y = images(3, 1, 28, 28), np.array([0, 1, 2])
    run = {"__call__": lambda x: model(x), "predict": lambda x: model.predict(x, verbose=0),
           "fit": lambda x: model.fit(x, y, verbose=0)}[call]
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"channels-first \(N, C, H, W\) = \(3, 1, 28, 28\)"):
        run(x)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    fix = suggestion(lambda: run(x), r"with (x\.transpose\(0, 2, 3, 1\))")
    x = eval(fix)
    run(x)


def test_integer_and_float64_inputs_are_cast_to_the_models_dtype_unscaled():
    model = nn.Sequential([nn.MaxPooling2D(2, input_shape=(4, 4, 1)), nn.Flatten(),
                           nn.Dense(2, kernel_initializer="ones")])
    pixels = np.full((1, 4, 4, 1), 200, np.uint8)
    for x in (pixels, pixels.astype(np.float64), pixels.astype(np.int64)):
        y = model(x)
        assert y.dtype == np.float32
        np.testing.assert_array_equal(y.data, [[800.0, 800.0]])  # 4·200: not rescaled


def test_requires_grad_on_integers_suggestion_works():
    x = np.arange(3)
    fix = suggestion(lambda: Tensor(x, requires_grad=True), r"e\.g\. (Tensor\(.*\))$")
    assert eval(fix).requires_grad


def test_gradcheck_float32_suggestion_works():
    x = images(3)
    fix = suggestion(lambda: tc.gradcheck(lambda t: (t * t).sum(),
                                          [Tensor(x, requires_grad=True)]),
                     r"e\.g\. (Tensor\(x\.astype\(np\.float64\), requires_grad=True\))")
    assert tc.gradcheck(lambda t: (t * t).sum(), [eval(fix)])


def test_one_hot_labels_suggestion_works():
    logits = Tensor(images(4, 3))
    labels = np.eye(3, dtype=np.float32)[[0, 2, 1, 0]]
    fix = suggestion(lambda: F.cross_entropy(logits, labels), r"Pass (labels\.argmax\(axis=1\))")
    labels = eval(fix)
    assert F.cross_entropy(logits, labels).shape == ()
