"""A catalogue of bad calls across the public API, and the error each one must give.

Every row is one call that makes no sense, the exception it must raise and a regex its
message must match: the message names the offending argument (and, where there is one,
the value received and what is accepted). Whatever the row, the error is the library's
own TypeError / ValueError / FileNotFoundError — never a numpy error, IndexError, KeyError,
AttributeError or ZeroDivisionError from deep inside.

The training script's flags are here too (``train_mnist.run([...])`` in-process): a bad
flag exits with status 2 and an ``error:`` line on stderr naming the flag.

tests/test_errors_core.py holds the core's own table (Tensor data, axes, indexing, …);
this one spans the whole public surface and avoids repeating its rows.
"""

import dataclasses
import re

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, data, nn, viz
from tinygrad_cnn import functional as F

import train_mnist  # examples/ is on pytest's pythonpath (pyproject.toml)

FORBIDDEN = (IndexError, KeyError, AttributeError, ZeroDivisionError)


# -------------------------------------------------------------------------- helpers
def t(*shape, dtype=np.float64, requires_grad=False):
    return Tensor(np.ones(shape, dtype), requires_grad=requires_grad)


def f32(*shape):
    return t(*shape, dtype=np.float32)


def image():
    return t(1, 5, 5, 1)


def kernel():
    return t(3, 3, 1, 2)


def model():
    return nn.Sequential([nn.Conv2D(2, 3, input_shape=(6, 6, 1)), nn.Flatten(), nn.Dense(3)])


def params():
    return [Tensor(np.zeros(2), requires_grad=True)]


def write(path, content: bytes):
    path.write_bytes(content)
    return path


def npy(tmp):
    np.save(tmp / "single.npy", np.zeros(3))
    return tmp / "single.npy"


def folder(path):
    path.mkdir()
    return path


def examples(n=3):
    return data.Dataset(np.zeros((n, 2)), np.zeros(n, int))


def built_then_called(layer, first, second):
    layer(first)
    return layer(second)


def step_with_bad_grad(optimizer):
    ps = params()
    ps[0].grad = np.ones(3)
    optimizer(ps).step()


def keras_step_without_gradients():
    opt = nn.optimizers.SGD()
    opt.bind(params())
    opt.step()


def compiled(loss="sparse_categorical_crossentropy", metrics=("accuracy",), **layers_kwargs):
    m = nn.Sequential([nn.Conv2D(2, 3, input_shape=(6, 6, 1)), nn.Flatten(), nn.Dense(3)])
    m.compile(optimizer="sgd", loss=loss, metrics=list(metrics))
    return m


FOUR_IMAGES, FOUR_LABELS = np.zeros((4, 6, 6, 1), np.float32), np.array([0, 1, 2, 0])


def fit_unchanged(x=FOUR_IMAGES, y=FOUR_LABELS, loss="sparse_categorical_crossentropy",
                  prepare=None, **kwargs):
    """fit a compiled model on bad input: it must raise and leave every weight as it was."""
    m = compiled(loss)
    if prepare is not None:
        prepare(m)
    before = m.get_weights()
    try:
        m.fit(x, y, **{"verbose": 0, **kwargs})
    finally:
        for a, b in zip(before, m.get_weights()):
            np.testing.assert_array_equal(a, b)


def saved_with_config(tmp, document):
    path = tmp / "m.npz"
    np.savez(path, __model_config__=np.array(document))
    return path


class OwnDense(nn.Dense):
    """A layer class of the user's own: Keras has no such class."""


def compiled_with(optimizer):
    m = model()
    m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return m


def with_optimizer_entry(tmp, key, value):
    """A compiled model's file, saved after one step of Keras' SGD with momentum, with one
    optimizer entry replaced or added."""
    m = compiled()
    m.compile(optimizer=nn.optimizers.SGD(momentum=0.9), loss="mse")
    m.fit(np.zeros((2, 6, 6, 1)), np.zeros((2, 3)), verbose=0)
    m.save(tmp / "m.npz")
    with np.load(tmp / "m.npz") as f:
        arrays = dict(f)
    arrays["__optimizer__/" + key] = value
    np.savez(tmp / "m.npz", **arrays)
    return tmp / "m.npz"


def frozen(m):
    m.trainable = False


def cli(*flags):
    return lambda tmp: train_mnist.run([*flags, "--no-plots"])


def cli_out(sub):
    """--out under a regular file."""
    return lambda tmp: train_mnist.run(["--out", str(write(tmp / "file", b"x") / sub),
                                        "--no-plots"])


# Each row: id → (call(tmp_path), exception type, regex the message must match).
CATALOGUE = {
    # ------------------------------------------------------------- Tensor construction
    "Tensor from a generator": (lambda tmp: Tensor(x for x in range(3)), TypeError,
                                r"Tensor data must be a number.*got generator"),
    "Tensor dtype=object": (lambda tmp: Tensor([1.0], dtype=object), TypeError,
                            r"Tensor data must have a float, integer or bool dtype; got dtype "
                            r"object"),
    "Tensor requires_grad=1": (lambda tmp: Tensor([1.0], requires_grad=1), TypeError,
                               r"requires_grad must be True or False; got 1"),
    # ----------------------------------------------------- empty inputs
    "global_avg_pool2d of a 0×4 image": (lambda tmp: F.global_avg_pool2d(t(1, 0, 4, 2)),
                                         ValueError, r"global_avg_pool2d: x has height 0"),
    "cross_entropy of an empty batch": (lambda tmp: F.cross_entropy(t(0, 3), np.zeros(0, int)),
                                        ValueError, r"cross_entropy: the batch is empty"),
    # ----------------------------------------------------- flags take only True/False
    "sum keepdims='yes'": (lambda tmp: t(2, 3).sum(keepdims="yes"), TypeError,
                           r"keepdims must be True or False; got 'yes'"),
    "backward retain_graph='yes'": (lambda tmp: t(2, requires_grad=True).sum().backward(
        retain_graph="yes"), TypeError, r"retain_graph must be True or False"),
    "dropout training='yes'": (lambda tmp: F.dropout(t(3), 0.5, training="yes"), TypeError,
                               r"training must be True or False"),
    "summary explain=1": (lambda tmp: nn.Sequential([nn.Dense(2, input_shape=(3,))]).summary(
        print_fn=None, explain=1), TypeError, r"explain must be True or False; got 1"),
    # --------------------------------------------------------------- operators
    "add: shapes do not broadcast": (lambda tmp: t(2, 3) + t(4), ValueError,
                                     r"add: operand shapes \(2, 3\) and \(4,\) do not "
                                     r"broadcast.*equal or one of them 1"),
    "ndarray * Tensor: shapes do not broadcast": (lambda tmp: np.ones(4) * t(2, 3), ValueError,
                                                  r"mul: operand shapes \(4,\) and \(2, 3\)"),
    "str operand": (lambda tmp: t(2) - "a", TypeError,
                    r"other operand must be a Tensor, an ndarray, a number.*got str 'a'"),
    "comparison with a string": (lambda tmp: t(2) < "a", TypeError,
                                 r"other operand must be.*got str 'a'"),
    "eq(None)": (lambda tmp: t(2).eq(None), TypeError, r"other operand must be.*NoneType None"),
    "comparison: shapes do not broadcast": (lambda tmp: t(2, 3) >= t(4), ValueError,
                                            r"greater_equal: operand shapes \(2, 3\) and "
                                            r"\(4,\) do not broadcast"),
    "matmul with a list of the wrong length": (lambda tmp: t(2, 2) @ [[1, 2, 3]], ValueError,
                                               r"matmul.*\(2, 2\) @ \(1, 3\)"),
    # ------------------------------------------------------- methods and indexing
    "slice of strings": (lambda tmp: t(3)["a":], TypeError,
                         r"index slice\('a', None, None\) is invalid.*ints, slices of ints"),
    "flatten(start_axis='1')": (lambda tmp: t(2, 3).flatten("1"), ValueError,
                                r"flatten\(start_axis='1'\) needs an int in 0..2"),
    "max of an empty tensor": (lambda tmp: t(0, 3).max(), ValueError,
                               r"max\(\) over axis 0 of a tensor of shape \(0, 3\): that "
                               r"axis has length 0"),
    "max over an empty axis": (lambda tmp: t(2, 0).max(axis=1), ValueError,
                               r"max\(\) over axis 1 of a tensor of shape \(2, 0\): that "
                               r"axis has length 0, so there is nothing to take the max of"),
    "min over an empty axis": (lambda tmp: t(0, 3).min(dim=0), ValueError,
                               r"min\(\) over axis 0 of a tensor of shape \(0, 3\)"),
    "argmax over an empty axis": (lambda tmp: t(0, 3).argmax(axis=0), ValueError,
                                  r"argmax\(\) over axis 0 of a tensor of shape \(0, 3\)"),
    "argmin of an empty tensor": (lambda tmp: t(3, 0).argmin(), ValueError,
                                  r"argmin\(\) over axis 1 of a tensor of shape \(3, 0\)"),
    "pad(None)": (lambda tmp: t(2, 3).pad(None), ValueError,
                  r"pad_width must be non-negative ints.*got None"),
    "softmax(axis='a')": (lambda tmp: t(2, 3).softmax("a"), TypeError,
                          r"axis must be None, an int or a tuple of ints; got 'a'"),
    "F.softmax axis out of range": (lambda tmp: F.softmax(t(2, 3), axis=3), ValueError,
                                    r"axis=3 is out of range.*accepted: -2..1"),
    "F.log_softmax of a list": (lambda tmp: F.log_softmax([1.0]), TypeError,
                                r"x must be a Tensor or a numpy array; got list"),
    # ------------------------------------------------------------ conv2d
    "conv2d kernel=None": (lambda tmp: F.conv2d(image(), None), TypeError,
                           r"kernel must be a Tensor or a numpy array; got NoneType"),
    "conv2d bias as a list": (lambda tmp: F.conv2d(image(), kernel(), [0.0, 1.0]), TypeError,
                              r"bias must be a Tensor or a numpy array; got list"),
    "conv2d padding triple": (lambda tmp: F.conv2d(image(), kernel(), padding=(1, 1, 1)),
                              ValueError, r"padding must be 'valid' or 'same', an int p, a pair "
                              r"\(ph, pw\) or \(\(top, bottom\), \(left, right\)\).*"
                              r"got \(1, 1, 1\)"),
    "conv2d padding=None": (lambda tmp: F.conv2d(image(), kernel(), padding=None), TypeError,
                            r"padding must be 'valid' or 'same'.*got None"),
    "conv2d strides as an ndarray": (lambda tmp: F.conv2d(image(), kernel(),
                                                          strides=np.array([1, 1])),
                                     TypeError, r"strides must be a positive int or a pair.*"
                                     r"array\(\[1, 1\]\)"),
    "conv2d dilation_rate nan": (lambda tmp: F.conv2d(image(), kernel(),
                                                      dilation_rate=float("nan")),
                                 ValueError, r"dilation_rate must be .*non-finite nan"),
    "conv2d dilated kernel larger than input": (lambda tmp: F.conv2d(t(1, 4, 4, 1), kernel(),
                                                                     dilation_rate=2),
                                                ValueError, r"kernel 3×3 \(dilated to 5\) is "
                                                r"larger than the padded input: height 4"),
    "conv_output_shape input_hw '28'": (lambda tmp: tc.conv_output_shape("28", 3), TypeError,
                                        r"input_hw must be a positive int or a pair.*'28'"),
    "conv_output_shape padding 'full'": (lambda tmp: tc.conv_output_shape((5, 5), 3, 1, "full"),
                                         ValueError, r"padding must be 'valid' or 'same'.*"
                                         r"got 'full'"),
    # ------------------------------------------------------------------ pools
    "max_pool2d pool_size=0": (lambda tmp: F.max_pool2d(image(), 0), ValueError,
                               r"pool_size must be a positive int or a pair.*got 0"),
    "max_pool2d padding=1": (lambda tmp: F.max_pool2d(image(), 2, padding=1), TypeError,
                             r"padding must be 'valid' or 'same'; got 1"),
    "avg_pool2d strides triple": (lambda tmp: F.avg_pool2d(image(), 2, (1, 1, 1)), ValueError,
                                  r"strides must be a positive int or a pair.*\(1, 1, 1\)"),
    "avg_pool2d window larger than input": (lambda tmp: F.avg_pool2d(t(1, 3, 3, 1), 4),
                                            ValueError, r"pool window 4×4 is larger than the "
                                            r"padded input: height 3"),
    "max_pool2d rank 3": (lambda tmp: F.max_pool2d(t(4, 4, 1)), ValueError,
                          r"max_pool2d: x must have shape \(N, H, W, C\).*got shape \(4, 4, 1\)"),
    "max_pool2d integer x": (lambda tmp: F.max_pool2d(t(1, 4, 4, 1, dtype=np.int64)),
                             ValueError, r"x must be a floating-point array; got dtype int64"),
    "global_avg_pool2d rank 2": (lambda tmp: F.global_avg_pool2d(t(4, 4)), ValueError,
                                 r"global_avg_pool2d: x must have shape \(N, H, W, C\).*"
                                 r"\(4, 4\)"),
    "global_max_pool2d of a list": (lambda tmp: F.global_max_pool2d([1.0]), TypeError,
                                    r"x must be a Tensor or a numpy array; got list"),
    # --------------------------------------------------------- losses and dropout
    "cross_entropy integer logits": (lambda tmp: F.cross_entropy(t(2, 3, dtype=np.int64),
                                                                 [0, 1]),
                                     ValueError, r"logits must be a floating-point array; got "
                                     r"dtype int64"),
    "cross_entropy zero classes": (lambda tmp: F.cross_entropy(t(2, 0), [0, 1]), ValueError,
                                   r"logits must have at least one class column.*\(2, 0\)"),
    "cross_entropy labels None": (lambda tmp: F.cross_entropy(t(2, 3), None), TypeError,
                                  r"labels must be integer class ids"),
    "cross_entropy float Tensor labels": (lambda tmp: F.cross_entropy(t(2, 3),
                                                                      Tensor([0.0, 1.0])),
                                          TypeError, r"labels must be integer class ids.*"
                                          r"float32"),
    "sigmoid_cross_entropy integer logits": (
        lambda tmp: F.sigmoid_cross_entropy(t(2, dtype=np.int64), [0, 1]), ValueError,
        r"sigmoid_cross_entropy: logits must be a floating-point array; got dtype int64"),
    "sigmoid_cross_entropy targets of another shape": (
        lambda tmp: F.sigmoid_cross_entropy(t(2, 3), np.ones(3)), ValueError,
        r"sigmoid_cross_entropy: targets must have the logits' shape \(2, 3\); got \(3,\)"),
    "sigmoid_cross_entropy targets None": (
        lambda tmp: F.sigmoid_cross_entropy(t(2), None), TypeError,
        r"sigmoid_cross_entropy: targets must be a Tensor, an ndarray or numbers; got "
        r"NoneType"),
    "sigmoid_cross_entropy float32 target Tensor": (
        lambda tmp: F.sigmoid_cross_entropy(t(2), f32(2)), ValueError,
        r"targets must have the logits' dtype float64; got float32"),
    "softmax_cross_entropy 0-d logits": (
        lambda tmp: F.softmax_cross_entropy(t(), 1.0), ValueError,
        r"softmax_cross_entropy: logits need a class axis \(the last\).*got shape \(\)"),
    "softmax_cross_entropy class ids as targets": (
        lambda tmp: F.softmax_cross_entropy(t(2, 3), [0, 2]), ValueError,
        r"targets must have the logits' shape \(2, 3\); got \(2,\)"),
    "softmax_cross_entropy targets 'a'": (
        lambda tmp: F.softmax_cross_entropy(t(2, 3), "a"), TypeError,
        r"targets must be a Tensor, an ndarray or numbers; got str 'a'"),
    "losses.mse target 'a'": (lambda tmp: tc.losses.mse(t(2), "a"), TypeError,
                              r"mse: target must be a Tensor, an ndarray or numbers; got str 'a'"),
    "dropout rate nan": (lambda tmp: F.dropout(t(2), float("nan")), ValueError,
                         r"dropout rate must be a number in \[0, 1\); got nan"),
    "dropout of a str": (lambda tmp: F.dropout("x", 0.5), TypeError,
                         r"x must be a Tensor or a numpy array; got str"),
    # ------------------------------------------------- clip, Keras losses and metrics
    "clip min > max": (lambda tmp: t(3).clip(2, 1), ValueError,
                       r"clip: min must be <= max; got min=2 and max=1"),
    "clip without bounds": (lambda tmp: F.clip(t(3), None, None), ValueError,
                            r"clip: give min, max or both"),
    "clip min 'a'": (lambda tmp: t(3).clip("a", 1), TypeError,
                     r"clip min must be a finite number; got str 'a'"),
    "losses.get unknown name": (lambda tmp: tc.losses.get("hinge"), ValueError,
                                r"loss must be one of \['binary_crossentropy', "
                                r"'categorical_crossentropy', 'mae', .*got 'hinge'"),
    "losses.get a loss class": (lambda tmp: tc.losses.get(tc.losses.MeanSquaredError),
                                TypeError, r"a loss object such as MeanSquaredError\(\), not "
                                r"the class"),
    "sparse loss on one-hot labels": (lambda tmp: tc.losses.sparse_categorical_crossentropy(
        np.eye(3), f32(3, 3)), ValueError, r"takes class ids of shape \(3,\), but y_true has "
        r"shape \(3, 3\) like the predictions: one-hot labels\? Use the loss "
        r"'categorical_crossentropy'"),
    "categorical loss on class ids": (lambda tmp: tc.losses.CategoricalCrossentropy()(
        np.array([0, 1, 2]), f32(3, 3)), ValueError, r"takes one-hot rows of shape \(3, 3\), "
        r"but y_true has shape \(3,\): class ids\? Use the loss "
        r"'sparse_categorical_crossentropy'.*np.eye\(3\)\[y\]"),
    "sparse labels out of range": (lambda tmp: tc.losses.sparse_categorical_crossentropy(
        [0, 3], f32(2, 3)), ValueError, r"labels must be class ids in 0..2 \(the model has 3 "
        r"outputs\); got values from 0 to 3"),
    "sparse labels 0.5": (lambda tmp: tc.losses.sparse_categorical_crossentropy(
        [0.5, 1.0], f32(2, 3)), ValueError, r"integer class ids; y_true holds non-integral "
        r"values such as 0.5"),
    "binary targets of another shape": (lambda tmp: tc.losses.binary_crossentropy(
        np.ones((2, 3)), f32(2, 2)), ValueError, r"binary_crossentropy: y_true has shape "
        r"\(2, 3\) but the predictions have shape \(2, 2\)"),
    "loss of integer predictions": (lambda tmp: tc.losses.mean_squared_error(
        [1, 2], t(2, 1, dtype=np.int64)), ValueError, r"y_pred must be floating-point; got "
        r"dtype int64"),
    "loss y_true of strings": (lambda tmp: tc.losses.mean_absolute_error(["a"], f32(1, 1)),
                               TypeError, r"y_true must hold numbers; got dtype <U1"),
    "loss from_logits 'yes'": (lambda tmp: tc.losses.BinaryCrossentropy(from_logits="yes"),
                               TypeError, r"from_logits must be True or False; got 'yes'"),
    "custom loss returning a float": (lambda tmp: tc.losses.get(lambda y, p: 1.0)(
        [1.0], f32(1, 1)), TypeError, r"loss '<lambda>' must return a Tensor"),
    "metrics.get unknown name": (lambda tmp: tc.metrics.get("f1"), ValueError,
                                 r"metrics must hold names from \['acc', 'accuracy', .*\].*got "
                                 r"'f1'"),
    # ------------------------------------------------------------ new layers
    "BatchNormalization momentum 1.5": (lambda tmp: nn.BatchNormalization(momentum=1.5),
                                        ValueError, r"momentum must be a number in \[0, 1\]; "
                                        r"got 1.5"),
    "BatchNormalization epsilon 0": (lambda tmp: nn.BatchNormalization(epsilon=0), ValueError,
                                     r"epsilon must be a finite number > 0; got 0"),
    "BatchNormalization axis 0": (lambda tmp: nn.BatchNormalization(axis=0), ValueError,
                                  r"axis must not be 0, the batch axis"),
    "BatchNormalization axis 'x'": (lambda tmp: nn.BatchNormalization(axis="x"), TypeError,
                                    r"BatchNormalization axis must be an int.*got 'x'"),
    "BatchNormalization axis out of range": (
        lambda tmp: nn.BatchNormalization(axis=3, input_shape=(4, 4)), ValueError,
        r"axis=3 is out of range for inputs of shape \(batch, 4, 4\); accepted: 1..2"),
    "BatchNormalization center 'yes'": (lambda tmp: nn.BatchNormalization(center="yes"),
                                        TypeError, r"center must be True or False"),
    "BatchNormalization features change": (lambda tmp: built_then_called(
        nn.BatchNormalization(), f32(2, 3), f32(2, 4)), ValueError,
        r"'batch_normalization' \(BatchNormalization\) was built for 3 features"),
    "batch_norm inference without moving statistics": (
        lambda tmp: F.batch_norm(t(2, 3)), ValueError,
        r"batch_norm: training=False normalizes with the moving statistics, so moving_mean "
        r"is required; got None"),
    "batch_norm moving_mean an ndarray": (
        lambda tmp: F.batch_norm(t(2, 3), np.zeros(3), t(3), training=True), TypeError,
        r"batch_norm: moving_mean must be a Tensor .* or None; got ndarray"),
    "batch_norm moving_variance of another size": (
        lambda tmp: F.batch_norm(t(2, 3), t(3), t(4)), ValueError,
        r"batch_norm: moving_variance must have shape \(3,\), one value per feature along "
        r"axis 1 of x \(2, 3\); got \(4,\)"),
    "batch_norm gamma of another size": (
        lambda tmp: F.batch_norm(t(2, 3), gamma=t(2), training=True), ValueError,
        r"batch_norm: gamma must have shape \(3,\).*got \(2,\)"),
    "batch_norm beta float32 for float64 x": (
        lambda tmp: F.batch_norm(t(2, 3), beta=f32(3), training=True), ValueError,
        r"batch_norm: beta must have x's dtype float64; got float32"),
    "batch_norm integer x": (
        lambda tmp: F.batch_norm(t(2, 3, dtype=np.int64), training=True), ValueError,
        r"batch_norm: x must be a floating-point array; got dtype int64"),
    "batch_norm axis tuple": (lambda tmp: F.batch_norm(t(2, 3), axis=(0, 1), training=True),
                              TypeError, r"batch_norm: axis must be an int .*got \(0, 1\)"),
    "batch_norm axis 2 of a 2-d x": (lambda tmp: F.batch_norm(t(2, 3), axis=2, training=True),
                                     ValueError, r"axis=2 is out of range for a tensor with 2 "
                                     r"dimensions"),
    "batch_norm empty batch in training": (
        lambda tmp: F.batch_norm(t(0, 3), training=True), ValueError,
        r"batch_norm: the statistics of an empty batch \(x shape \(0, 3\)\) are undefined"),
    "batch_norm momentum 2": (lambda tmp: F.batch_norm(t(2, 3), training=True, momentum=2),
                              ValueError, r"momentum must be a number in \[0, 1\]; got 2"),
    "batch_norm epsilon -1": (lambda tmp: F.batch_norm(t(2, 3), training=True, epsilon=-1),
                              ValueError, r"epsilon must be a finite number > 0; got -1"),
    "batch_norm training 'yes'": (lambda tmp: F.batch_norm(t(2, 3), training="yes"), TypeError,
                                  r"training must be True or False; got 'yes'"),
    "LeakyReLU negative_slope -1": (lambda tmp: nn.LeakyReLU(-1), ValueError,
                                    r"negative_slope must be a finite number >= 0; got -1"),
    "Softmax axis 'x'": (lambda tmp: nn.Softmax(axis="x"), TypeError,
                         r"Softmax axis must be an int or a tuple of ints; got 'x'"),
    "Reshape with two -1": (lambda tmp: nn.Reshape((-1, -1)), ValueError,
                            r"target_shape may hold one -1; got \(-1, -1\)"),
    "Reshape (0, 3)": (lambda tmp: nn.Reshape((0, 3)), ValueError,
                       r"target_shape must be a tuple of positive ints \(one may be -1\).*"
                       r"got \(0, 3\)"),
    "Reshape that does not fit": (lambda tmp: nn.Reshape((5,))(f32(2, 4)), ValueError,
                                  r"'reshape' \(Reshape\) cannot reshape inputs of shape "
                                  r"\(batch, 4\), 4 values per example, into target_shape "
                                  r"\(5,\)"),
    "ZeroPadding2D 'same'": (lambda tmp: nn.ZeroPadding2D("same"), TypeError,
                             r"ZeroPadding2D padding must be an int, a pair.*got 'same'"),
    "ZeroPadding2D -1": (lambda tmp: nn.ZeroPadding2D(-1), ValueError,
                         r"padding must be .*non-negative.*got -1"),
    "ZeroPadding2D on rank 2": (lambda tmp: nn.ZeroPadding2D()(f32(2, 3)), ValueError,
                                r"'zero_padding2d' \(ZeroPadding2D\) expects inputs of rank 4"),
    "Input shape with a 0": (lambda tmp: nn.Input((28, 28, 0)), ValueError,
                             r"Input shape must be a tuple of positive ints.*\(28, 28, 0\)"),
    "Input dtype int32": (lambda tmp: nn.Input((3,), dtype="int32"), ValueError,
                          r"Input dtype must be a float dtype.*got 'int32'"),
    "Input after a layer": (lambda tmp: nn.Sequential([nn.Dense(2), nn.Input((3,))]),
                            ValueError, r"Input\(shape=\(3,\)\) must be the first entry of a "
                            r"Sequential"),
    "Dense activation 'gelu'": (lambda tmp: nn.Dense(2, activation="gelu"), ValueError,
                                r"activation must be None, one of \[.*'elu'.*'leaky_relu'.*"
                                r"'softplus'.*\] or a callable; got 'gelu'"),
    "trainable 'no'": (lambda tmp: setattr(nn.Dense(2), "trainable", "no"), TypeError,
                       r"trainable must be True or False; got 'no'"),
    "add_weight trainable 1": (lambda tmp: nn.Dense(2).add_weight("w", (2,), "zeros", 1),
                               TypeError, r"trainable must be True or False; got 1"),
    # ------------------------------------------------------- inputs the Keras way
    "model called without the channel axis": (lambda tmp: model()(f32(2, 6, 6)), ValueError,
                                              r"the input has shape \(2, 6, 6\) but model "
                                              r"'sequential' expects \(None, 6, 6, 1\): add the "
                                              r"channel axis with x\[\.\.\., None\]"),
    "model called without the batch axis": (lambda tmp: model()(f32(6, 6, 1)), ValueError,
                                            r"add the batch axis with x\[None\]"),
    "model called on channels-first images": (lambda tmp: model()(f32(2, 1, 6, 6)),
                                              ValueError, r"looks channels-first \(N, C, H, W\) "
                                              r"= \(2, 1, 6, 6\).*x.transpose\(0, 2, 3, 1\)"),
    # ---------------------------------------------------------- get/set weights, saving
    "set_weights with too few arrays": (lambda tmp: model().set_weights([np.zeros(1)]),
                                        ValueError, r"set_weights: model 'sequential' has 4 "
                                        r"weights \(conv2d.kernel, conv2d.bias, dense.kernel, "
                                        r"dense.bias\) but got 1 arrays"),
    "set_weights with a wrong shape": (lambda tmp: (lambda m: m.set_weights(
        [np.zeros((1, 1))] + m.get_weights()[1:]))(model()), ValueError,
        r"set_weights: array 0 has shape \(1, 1\) but conv2d.kernel has shape "
        r"\(3, 3, 1, 2\)"),
    "set_weights of one array": (lambda tmp: model().set_weights(np.zeros(3)), TypeError,
                                 r"set_weights takes a list of arrays.*got ndarray"),
    "save an unbuilt model": (lambda tmp: nn.Sequential([nn.Dense(2)]).save(tmp / "m.npz"),
                              ValueError, r"save\(\) needs a built model"),
    "save path None": (lambda tmp: model().save(None), TypeError,
                       r"path must be a str or os.PathLike such as 'model.npz'; got NoneType"),
    "save a custom activation": (lambda tmp: nn.Sequential([nn.Dense(
        2, activation=np.tanh, input_shape=(3,))]).save(tmp / "m.npz"), ValueError,
        r"layer 'dense': activation <ufunc 'tanh'> is a custom callable, which a saved model "
        r"cannot name"),
    "load_model of a weights file": (lambda tmp: (model().save_weights(tmp / "w.npz"),
                                                  nn.load_model(tmp / "w.npz")), ValueError,
                                     r"w.npz holds weights only \(written by save_weights\), "
                                     r"not a model.*model.load_weights"),
    "load_model of a missing file": (lambda tmp: nn.load_model(tmp / "none.npz"),
                                     FileNotFoundError, r"none.npz"),
    "load_model of an unknown layer class": (lambda tmp: nn.load_model(saved_with_config(
        tmp, '{"format": "tinygrad_cnn.model", "version": 1, "model": {"class_name": "Bogus", '
             '"config": {}}}')), ValueError, r"cannot rebuild layer class 'Bogus': it is not a "
        r"tinygrad_cnn layer and not in custom_objects \(known: .*Conv2D"),
    "load_model compile 'yes'": (lambda tmp: (model().save(tmp / "m.npz"), nn.load_model(
        tmp / "m.npz", compile="yes")), TypeError, r"compile must be True or False; got 'yes'"),
    "load_model of broken JSON": (lambda tmp: nn.load_model(saved_with_config(tmp, "{oops")),
                                  ValueError, r"the model's architecture is not readable JSON"),
    "load_model of another format": (lambda tmp: nn.load_model(saved_with_config(
        tmp, '{"format": "keras"}')), ValueError, r"not a tinygrad_cnn model file \(format "
        r"'keras'\)"),
    "load_model of a newer version": (lambda tmp: nn.load_model(saved_with_config(
        tmp, '{"format": "tinygrad_cnn.model", "version": 3}')), ValueError,
        r"model file version 3; this tinygrad_cnn reads versions 1 to 2"),
    "load_model with optimizer state of the wrong shape": (
        lambda tmp: nn.load_model(with_optimizer_entry(tmp, "dense.kernel/momentum",
                                                       np.zeros((2, 2)))), ValueError,
        r"m.npz: optimizer state 'momentum' of params\[2\] \(dense.kernel\) must be a numeric "
        r"array of shape \(32, 3\); got float64 array of shape \(2, 2\)"),
    "load_model with optimizer state of no trainable weight": (
        lambda tmp: nn.load_model(with_optimizer_entry(tmp, "dense_9.kernel/momentum",
                                                       np.zeros(3))), ValueError,
        r"m.npz: optimizer state for 'dense_9.kernel', which is not a trainable weight of "
        r"the model \(those are conv2d.kernel, conv2d.bias, dense.kernel, dense.bias\)"),
    "load_model with an unknown optimizer": (lambda tmp: nn.load_model(saved_with_config(
        tmp, '{"format": "tinygrad_cnn.model", "version": 2, "model": '
        '{"class_name": "Sequential", "config": {"layers": []}}, "compile": {"optimizer": '
        '{"module": "nn.optimizers", "class_name": "Lion", "config": {}}, "loss": "mse", '
        '"metrics": []}}')), ValueError, r"cannot rebuild the optimizer .*'Lion'.*; known: "
        r"nn.optimizers.Adam, .*tc.optim.RMSprop"),
    # ---------------------------------------------------------- Keras' own files
    "save .keras with explicit conv padding": (lambda tmp: nn.Sequential([nn.Conv2D(
        2, 3, padding=1, input_shape=(6, 6, 1))]).save(tmp / "m.keras"), ValueError,
        r"layer 'conv2d' \(Conv2D\): padding=\(\(1, 1\), \(1, 1\)\) cannot be written for "
        r"Keras, whose Conv2D takes only 'valid' or 'same'; put a ZeroPadding2D"),
    "save .keras with a custom activation": (lambda tmp: nn.Sequential([nn.Dense(
        2, activation=np.tanh, input_shape=(3,))]).save(tmp / "m.keras"), ValueError,
        r"layer 'dense': activation <ufunc 'tanh'> is a custom callable, which a saved model "
        r"cannot name"),
    "save .keras with a layer class of one's own": (lambda tmp: nn.Sequential([OwnDense(
        2, input_shape=(3,))]).save(tmp / "m.keras"), ValueError,
        r"layer 'own_dense' \(OwnDense\): class test_bad_inputs.OwnDense has no Keras "
        r"counterpart.*Save it with model.save\('model.npz'\) instead"),
    "save .keras compiled with a PyTorch-rule optimizer": (lambda tmp: compiled_with(
        tc.optim.RMSprop(lr=1e-3)).save(tmp / "m.keras"), ValueError,
        r"model 'sequential' is compiled with tc.optim.RMSprop, which follows torch.optim's "
        r"rules; Keras has no optimizer with those rules, so a .keras file cannot hold it. "
        r"Compile with nn.optimizers.RMSprop\(learning_rate=...\) \(keras.optimizers' "
        r"rules\) to save for Keras, or save as .npz"),
    "load_model .keras with custom_objects": (lambda tmp: nn.load_model(
        tmp / "m.keras", custom_objects={"OwnDense": OwnDense}), ValueError,
        r"custom_objects rebuilds custom layers of .npz files; a .keras file is read through "
        r"Keras' own layers only"),
    "load_model of a .weights.h5": (lambda tmp: nn.load_model(tmp / "m.weights.h5"),
                                    ValueError, r"m.weights.h5 holds weights only \(Keras' "
                                    r"save_weights layout\), not a model.*load_weights"),
    "load_model of a missing .keras": (lambda tmp: nn.load_model(tmp / "none.keras"),
                                       FileNotFoundError, r"model file not found: .*none.keras"),
    "load_weights of a missing .weights.h5": (
        lambda tmp: model().load_weights(tmp / "none.weights.h5"), FileNotFoundError,
        r"weights file not found: .*none.weights.h5"),
    # ---------------------------------------------------------- training the Keras way
    "fit before compile": (lambda tmp: model().fit(np.zeros((2, 6, 6, 1)), [0, 1]),
                           ValueError, r"model 'sequential' must be compiled before fit\(\): "
                           r"call model.compile\(optimizer='adam', "),
    "evaluate before compile": (lambda tmp: model().evaluate(np.zeros((2, 6, 6, 1)), [0, 1]),
                                ValueError, r"must be compiled before evaluate\(\)"),
    "train_step before compile": (lambda tmp: model().train_step(np.zeros((2, 6, 6, 1)), [0, 1]),
                                  ValueError, r"must be compiled before train_step\(\)"),
    "compile unknown loss": (lambda tmp: model().compile(optimizer="adam", loss="crossentropy"),
                             ValueError, r"loss must be one of \[.*'sparse_categorical_"
                             r"crossentropy'\].*got 'crossentropy'"),
    "compile loss 3": (lambda tmp: model().compile(optimizer="adam", loss=3), TypeError,
                       r"loss must be one of .*got int 3"),
    "compile unknown metric": (lambda tmp: model().compile(optimizer="adam", loss="mse",
                                                           metrics=["precision"]),
                               ValueError, r"metrics must hold names from \[.*'accuracy'.*"
                               r"'mae'.*\].*got 'precision'"),
    "compile metrics 'accuracy' not in a list": (
        lambda tmp: model().compile(optimizer="adam", loss="mse", metrics="accuracy"),
        TypeError, r"metrics must be a list such as \['accuracy'\] \(or None\); got str"),
    "compile the same metric twice": (lambda tmp: model().compile(
        optimizer="adam", loss="mse", metrics=["mae", "mae"]), ValueError,
        r"metrics must have distinct names, none of them 'loss'; got \['mae', 'mae'\]"),
    "compile unknown optimizer": (lambda tmp: model().compile(optimizer="adadelta", loss="mse"),
                                  ValueError, r"optimizer must be one of \['adagrad', 'adam', "
                                  r"'adamw', 'rmsprop', 'sgd'\] \(Keras' optimizers with Keras' "
                                  r"defaults\) or an optimizer object.*got 'adadelta'"),
    "compile an optimizer class": (lambda tmp: model().compile(optimizer=nn.optimizers.Adam,
                                                               loss="mse"),
                                   TypeError, r"optimizer must be an optimizer object; got the "
                                   r"class Adam itself: write Adam\(\)"),
    "compile optimizer 0.01": (lambda tmp: model().compile(optimizer=0.01, loss="mse"),
                               TypeError, r"optimizer must be one of .*got 0.01"),
    "fit x and y of different lengths": (lambda tmp: fit_unchanged(y=np.array([0, 1, 2])),
                                         ValueError, r"x and y must hold the same number of "
                                         r"examples.*len\(x\) = 4 and len\(y\) = 3"),
    "fit one-hot labels with a sparse loss": (
        lambda tmp: fit_unchanged(y=np.eye(3)[[0, 1, 2, 0]]), ValueError,
        r"sparse_categorical_crossentropy takes class ids of shape \(4,\), but y_true has "
        r"shape \(4, 3\).*one-hot labels\?"),
    "fit class ids with a categorical loss": (
        lambda tmp: fit_unchanged(loss="categorical_crossentropy"), ValueError,
        r"categorical_crossentropy takes one-hot rows of shape \(4, 3\), but y_true has "
        r"shape \(4,\): class ids\?"),
    "fit labels out of range": (lambda tmp: fit_unchanged(y=np.array([0, 1, 2, 3])),
                                ValueError, r"labels must be class ids in 0..2 \(the model has "
                                r"3 outputs\); got values from 0 to 3"),
    "fit negative labels": (lambda tmp: fit_unchanged(y=np.array([0, -1, 2, 0])), ValueError,
                            r"labels must be class ids in 0..2.*from -1 to 2"),
    "fit labels a metric cannot read": (
        lambda tmp: (lambda m: m.fit(np.zeros((2, 6, 6, 1)), np.eye(3)[[0, 1]], verbose=0))(
            compiled("mse", metrics=["sparse_categorical_accuracy"])), ValueError,
        r"sparse_categorical_accuracy takes class ids of shape \(2,\), but y_true has shape "
        r"\(2, 3\)"),
    "fit validation_split 1.0": (lambda tmp: fit_unchanged(validation_split=1.0), ValueError,
                                 r"validation_split must be a number in \[0, 1\); got 1.0"),
    "fit validation_split -0.1": (lambda tmp: fit_unchanged(validation_split=-0.1), ValueError,
                                  r"validation_split must be a number in \[0, 1\); got -0.1"),
    "fit validation_split '0.2'": (lambda tmp: fit_unchanged(validation_split="0.2"),
                                   TypeError, r"validation_split must be a number in \[0, 1\); "
                                   r"got str '0.2'"),
    "fit validation_split leaving no training examples": (
        lambda tmp: fit_unchanged(validation_split=0.8), ValueError,
        r"validation_split=0.8 of 4 examples leaves no training examples"),
    "fit validation_data not a pair": (lambda tmp: fit_unchanged(validation_data=np.zeros(3)),
                                       TypeError, r"validation_data must be a tuple \(x_val, "
                                       r"y_val\); got ndarray"),
    "fit validation_data with one-hot labels": (
        lambda tmp: fit_unchanged(validation_data=(np.zeros((2, 6, 6, 1)), np.eye(3)[[0, 1]])),
        ValueError, r"takes class ids of shape \(2,\), but y_true has shape \(2, 3\)"),
    "fit validation_data of another image size": (
        lambda tmp: fit_unchanged(validation_data=(np.zeros((2, 5, 5, 1)), [0, 1])),
        ValueError, r"validation x has shape \(2, 5, 5, 1\) but model 'sequential' expects "
        r"\(None, 6, 6, 1\)"),
    "fit batch_size 0": (lambda tmp: fit_unchanged(batch_size=0), ValueError,
                         r"batch_size must be a positive int; got 0"),
    "fit epochs -1": (lambda tmp: fit_unchanged(epochs=-1), ValueError,
                      r"epochs must be a non-negative int; got -1"),
    "fit epochs 2.5": (lambda tmp: fit_unchanged(epochs=2.5), TypeError,
                       r"epochs must be a non-negative int; got float 2.5"),
    "fit verbose 3": (lambda tmp: fit_unchanged(verbose=3), ValueError,
        r"verbose must be 0 \(silent\), 1 \(progress bar\), 2 \(one line per epoch\) or "
        r"'auto'; got 3"),
    "fit shuffle 'yes'": (lambda tmp: fit_unchanged(shuffle="yes"), TypeError,
                          r"shuffle must be True or False; got 'yes'"),
    "fit callbacks a single callback": (
        lambda tmp: fit_unchanged(callbacks=tc.callbacks.TerminateOnNaN()), TypeError,
        r"callbacks must be a list of tc.callbacks.Callback objects \(or None\); got "
        r"TerminateOnNaN"),
    "fit callbacks holding a function": (lambda tmp: fit_unchanged(callbacks=[print]),
                                         TypeError, r"callbacks\[0\] must be a "
                                         r"tc.callbacks.Callback.*got builtin_function_or_method"),
    "fit x without the channel axis": (lambda tmp: fit_unchanged(x=np.zeros((4, 6, 6))),
                                       ValueError, r"x has shape \(4, 6, 6\) but model "
                                       r"'sequential' expects \(None, 6, 6, 1\): add the "
                                       r"channel axis with x\[\.\.\., None\]"),
    "fit channels-first x": (lambda tmp: fit_unchanged(x=np.zeros((4, 1, 6, 6))), ValueError,
                             r"x has shape \(4, 1, 6, 6\).*looks channels-first"),
    "fit x of another size": (lambda tmp: fit_unchanged(x=np.zeros((4, 7, 7, 1))), ValueError,
                              r"x has shape \(4, 7, 7, 1\) but model 'sequential' expects "
                              r"\(None, 6, 6, 1\)$"),
    "fit x None": (lambda tmp: fit_unchanged(x=None), TypeError,
                   r"x must be a numpy array \(or a list\) of numbers"),
    "fit no examples": (lambda tmp: fit_unchanged(x=np.zeros((0, 6, 6, 1)),
                                                  y=np.zeros(0, int)),
                        ValueError, r"x holds no examples \(shape \(0, 6, 6, 1\)\)"),
    "fit a frozen model": (lambda tmp: fit_unchanged(prepare=frozen), ValueError,
                           r"model 'sequential' has no trainable weights \(every layer frozen"),
    "predict x without the channel axis": (lambda tmp: model().predict(np.zeros((2, 6, 6))),
                                           ValueError, r"add the channel axis with "
                                           r"x\[\.\.\., None\]"),
    "evaluate return_dict 1": (lambda tmp: compiled().evaluate(
        np.zeros((2, 6, 6, 1)), [0, 1], return_dict=1), TypeError,
        r"return_dict must be True or False; got 1"),
    # ------------------------------------------------------------------ callbacks
    "EarlyStopping mode 'up'": (lambda tmp: tc.callbacks.EarlyStopping(mode="up"), ValueError,
                                r"EarlyStopping mode must be 'auto', 'min' or 'max'; got 'up'"),
    "EarlyStopping monitor None": (lambda tmp: tc.callbacks.EarlyStopping(monitor=None),
                                   TypeError, r"EarlyStopping monitor must be a name from the "
                                   r"logs such as 'val_loss'; got None"),
    "EarlyStopping patience -1": (lambda tmp: tc.callbacks.EarlyStopping(patience=-1),
                                  ValueError, r"patience must be a non-negative int; got -1"),
    "EarlyStopping restore_best_weights 1": (
        lambda tmp: tc.callbacks.EarlyStopping(restore_best_weights=1), TypeError,
        r"restore_best_weights must be True or False; got 1"),
    "ModelCheckpoint filepath None": (lambda tmp: tc.callbacks.ModelCheckpoint(None), TypeError,
                                      r"filepath must be a str or os.PathLike such as "
                                      r"'model-\{epoch:02d\}.npz'; got NoneType"),
    "ModelCheckpoint save_best_only 'yes'": (
        lambda tmp: tc.callbacks.ModelCheckpoint("m.npz", save_best_only="yes"), TypeError,
        r"save_best_only must be True or False; got 'yes'"),
    "CSVLogger separator ',,'": (lambda tmp: tc.callbacks.CSVLogger("log.csv", separator=",,"),
                                 ValueError, r"separator must be one character such as ','; "
                                 r"got ',,'"),
    "ReduceLROnPlateau factor 1.0": (lambda tmp: tc.callbacks.ReduceLROnPlateau(factor=1.0),
                                     ValueError, r"factor must be a number in \[0, 1\); got 1.0"),
    "ReduceLROnPlateau patience -1": (lambda tmp: tc.callbacks.ReduceLROnPlateau(patience=-1),
                                      ValueError, r"patience must be a non-negative int; got -1"),
    "ReduceLROnPlateau cooldown 0.5": (lambda tmp: tc.callbacks.ReduceLROnPlateau(cooldown=0.5),
                                       TypeError, r"cooldown must be a non-negative int; got "
                                       r"float 0.5"),
    "ReduceLROnPlateau min_lr -1": (lambda tmp: tc.callbacks.ReduceLROnPlateau(min_lr=-1),
                                    ValueError, r"min_lr must be a finite number >= 0; got -1"),
    "ReduceLROnPlateau min_delta 'x'": (
        lambda tmp: tc.callbacks.ReduceLROnPlateau(min_delta="x"), TypeError,
        r"min_delta must be a finite number; got str 'x'"),
    "ReduceLROnPlateau mode 'down'": (lambda tmp: tc.callbacks.ReduceLROnPlateau(mode="down"),
                                      ValueError, r"ReduceLROnPlateau mode must be 'auto', "
                                      r"'min' or 'max'; got 'down'"),
    "ReduceLROnPlateau monitor 3": (lambda tmp: tc.callbacks.ReduceLROnPlateau(monitor=3),
                                    TypeError, r"ReduceLROnPlateau monitor must be a name from "
                                    r"the logs such as 'val_loss'; got 3"),
    "LearningRateScheduler(0.1)": (lambda tmp: tc.callbacks.LearningRateScheduler(0.1),
                                   TypeError, r"schedule must be a function schedule\(epoch, "
                                   r"lr\) -> lr; got float 0.1"),
    "LearningRateScheduler returning a str": (
        lambda tmp: fit_unchanged(callbacks=[tc.callbacks.LearningRateScheduler(
            lambda epoch, lr: "0.1")]), ValueError,
        r"LearningRateScheduler: schedule\(0, 0.01\) must return a learning rate \(a finite "
        r"number >= 0\); got str '0.1'"),
    "LearningRateScheduler returning -1": (
        lambda tmp: fit_unchanged(callbacks=[tc.callbacks.LearningRateScheduler(
            lambda epoch: -1.0)]), ValueError, r"must return a learning rate.*got float -1.0"),
    # ------------------------------------------------------------------ layers
    "Conv2D filters '8'": (lambda tmp: nn.Conv2D("8", 3), TypeError,
                           r"filters must be a positive int.*got str '8'"),
    "Conv2D kernel_size (3, 0)": (lambda tmp: nn.Conv2D(2, (3, 0)), ValueError,
                                  r"kernel_size must be a positive int or a pair.*\(3, 0\)"),
    "Conv2D activation 'gelu'": (lambda tmp: nn.Conv2D(2, 3, activation="gelu"), ValueError,
                                 r"activation must be None, one of \[.*'relu'.*\] or a "
                                 r"callable; got 'gelu'"),
    "Conv2D use_bias 'no'": (lambda tmp: nn.Conv2D(2, 3, use_bias="no"), TypeError,
                             r"use_bias must be True or False; got 'no'"),
    "Conv2D kernel_initializer 'orthogonal'": (
        lambda tmp: nn.Conv2D(2, 3, kernel_initializer="orthogonal"), ValueError,
        r"initializer must be one of \[.*'lecun_normal'.*'ones'.*\] or a callable "
        r"f\(shape, dtype\); got 'orthogonal'"),
    "Conv2D kernel_initializer of the wrong shape": (
        lambda tmp: nn.Conv2D(2, 3, kernel_initializer=lambda shape, dtype: np.zeros(3),
                              input_shape=(5, 5, 1)),
        ValueError, r"kernel_initializer returned shape \(3,\) for kernel; expected "
        r"\(3, 3, 1, 2\)"),
    "Conv2D bias_initializer returning None": (
        lambda tmp: nn.Conv2D(2, 3, bias_initializer=lambda shape, dtype: None,
                              input_shape=(5, 5, 1)),
        TypeError, r"bias_initializer must return an ndarray of shape \(2,\); got NoneType"),
    "Conv2D input_shape without channels": (lambda tmp: nn.Conv2D(2, 3, input_shape=(28, 28)),
                                            ValueError, r"expects inputs of rank 4 \(batch, "
                                            r"height, width, channels\).*\(batch, 28, 28\)"),
    "Conv2D input_shape negative": (lambda tmp: nn.Conv2D(2, 3, input_shape=(28, -1, 1)),
                                    ValueError, r"input_shape must be a tuple of positive ints.*"
                                    r"\(28, -1, 1\)"),
    "Conv2D kernel larger than input_shape": (lambda tmp: nn.Conv2D(2, 5, input_shape=(3, 3, 1)),
                                              ValueError, r"kernel 5×5 is larger than the "
                                              r"padded input"),
    "Conv2D dtype 'int32'": (lambda tmp: nn.Conv2D(2, 3, dtype="int32"), ValueError,
                             r"dtype must be a float dtype.*got 'int32'"),
    "Conv2D name 5": (lambda tmp: nn.Conv2D(2, 3, name=5), ValueError,
                      r"name must be a non-empty string; got 5"),
    "Conv2D channels change after build": (lambda tmp: built_then_called(
        nn.Conv2D(2, 3), f32(1, 5, 5, 1), f32(1, 5, 5, 2)), ValueError,
        r"layer 'conv2d' \(Conv2D\) was built for 1 input channels but got an input of shape "
        r"\(batch, 5, 5, 2\)"),
    "Dense units 0": (lambda tmp: nn.Dense(0), ValueError,
                      r"units must be a positive int.*got 0"),
    "Dense called on a 1-D input": (lambda tmp: nn.Dense(3)(f32(4)), ValueError,
                                    r"layer 'dense' \(Dense\) expects inputs of shape \(batch, "
                                    r"features\)"),
    "Dense features change after build": (lambda tmp: built_then_called(
        nn.Dense(3), f32(1, 4), f32(1, 5)), ValueError,
        r"layer 'dense' \(Dense\) was built for 4 input features.*\(batch, 5\)"),
    "Dense called on a list": (lambda tmp: nn.Dense(3)([1.0]), TypeError,
                               r"layer 'dense' must be called on a Tensor or ndarray; got list"),
    "Dropout rate 1": (lambda tmp: nn.Dropout(1), ValueError,
                       r"Dropout rate must be a number in \[0, 1\); got 1"),
    "Activation 'swish'": (lambda tmp: nn.Activation("swish"), ValueError,
                           r"activation must be None, one of .*got 'swish'"),
    "MaxPooling2D padding 1": (lambda tmp: nn.MaxPooling2D(2, padding=1), TypeError,
                               r"padding must be 'valid' or 'same'; got 1"),
    "AveragePooling2D strides '2'": (lambda tmp: nn.AveragePooling2D(2, strides="2"), TypeError,
                                     r"strides must be .*'2'; did you mean strides=2\?"),
    "MaxPooling2D pool larger than input_shape": (
        lambda tmp: nn.MaxPooling2D(5, input_shape=(3, 3, 1)), ValueError,
        r"pool_size 5×5 is larger than the padded input"),
    "GlobalAveragePooling2D on rank 3": (lambda tmp: nn.GlobalAveragePooling2D()(t(4, 4)),
                                         ValueError, r"'global_average_pooling2d' "
                                         r"\(GlobalAveragePooling2D\) expects inputs of rank 4"),
    # -------------------------------------------------------------- Sequential
    "Sequential of one layer, not a list": (lambda tmp: nn.Sequential(nn.Dense(3)), TypeError,
                                            r"Sequential takes a list of layers: write "
                                            r"Sequential\(\[layer1, layer2, ...\]\)"),
    "Sequential of two layers, not a list": (lambda tmp: nn.Sequential(nn.Dense(3), nn.Dense(2)),
                                             TypeError, r"Sequential takes a list of layers"),
    "layer in a second model": (lambda tmp: (lambda d: (nn.Sequential([d]), nn.Sequential([d])))(
        nn.Dense(3)), ValueError, r"layer 'dense' already belongs to model 'sequential'"),
    "Sequential with a non-layer": (lambda tmp: nn.Sequential([nn.Dense(3), 3]), TypeError,
                                    r"Sequential takes tinygrad_cnn.nn layers; got int 3"),
    "Sequential name 3": (lambda tmp: nn.Sequential([], name=3), ValueError,
                          r"name must be a non-empty string; got 3"),
    "Sequential with one layer twice": (lambda tmp: (lambda d: nn.Sequential([d, d]))(
        nn.Dense(3)), ValueError, r"layer 'dense' is already in this model"),
    "Sequential with a duplicate name": (lambda tmp: nn.Sequential(
        [nn.Dense(3, name="a"), nn.Dense(3, name="a")]), ValueError,
        r"layer name 'a' is used twice"),
    "Sequential Conv2D after Dense": (lambda tmp: nn.Sequential(
        [nn.Dense(3, input_shape=(4,)), nn.Conv2D(2, 3)]), ValueError,
        r"layer 'conv2d' \(Conv2D\) expects inputs of rank 4.*\(batch, 3\)"),
    "summary before build": (lambda tmp: nn.Sequential([nn.Dense(3)]).summary(), ValueError,
                             r"summary\(\) needs a built model.*input_shape="),
    "summary print_fn=3": (lambda tmp: model().summary(print_fn=3), TypeError,
                           r"print_fn must be a callable such as print; got int 3"),
    "model called on a str": (lambda tmp: model()("abc"), TypeError,
                              r"model 'sequential' must be called on a Tensor or ndarray; got str"),
    "model without layers called": (lambda tmp: nn.Sequential()(f32(1, 3)), ValueError,
                                    r"the model has no layers"),
    # -------------------------------------------------------------- weights I/O
    "save_weights(None)": (lambda tmp: model().save_weights(None), TypeError,
                           r"path must be a str or os.PathLike such as 'weights.npz'; got "
                           r"NoneType None"),
    "save_weights into a folder": (lambda tmp: model().save_weights(tmp), ValueError,
                                   r"path '.*' is a folder; give a file name such as "
                                   r"'.*weights.npz'"),
    "save_weights into a missing folder": (lambda tmp: model().save_weights(tmp / "no" / "w.npz"),
                                           FileNotFoundError, r"cannot write weights to '.*w."
                                           r"npz': folder '.*no' does not exist"),
    "load_weights(3)": (lambda tmp: model().load_weights(3), TypeError,
                        r"path must be a str or os.PathLike.*got int 3"),
    "load_weights of an .npy file": (lambda tmp: model().load_weights(npy(tmp)), ValueError,
                                     r"single\.npy is not a readable weights file.*a single "
                                     r"array"),
    # --------------------------------------------------------------- optimizers
    "SGD(model)": (lambda tmp: tc.optim.SGD(model()), TypeError,
                   r"params must be a list of Tensors; got the Sequential itself: pass "
                   r"model.parameters\(\)"),
    "SGD(0.1), Keras' positional learning rate": (
        lambda tmp: tc.optim.SGD(0.1), TypeError,
        r"params must be a list of Tensors; got the number 0.1. For the learning rate write "
        r"lr=0.1"),
    "SGD(object())": (lambda tmp: tc.optim.SGD(object()), TypeError,
                      r"params must be a list of Tensors.*got object"),
    "SGD the same parameter twice": (lambda tmp: tc.optim.SGD(params() * 2), ValueError,
                                     r"params\[1\] \(unnamed\) is params\[0\] again; each "
                                     r"parameter may appear once"),
    "tc.optim.Adam learning_rate=, Keras' name": (
        lambda tmp: tc.optim.Adam(params(), learning_rate=0.1), TypeError,
        r"tc.optim.Adam follows torch.optim: write lr=, not learning_rate= "
        r"\(keras.optimizers' name\); for keras.optimizers' rules use nn.optimizers"),
    "tc.optim.Adam beta_1=, Keras' name": (
        lambda tmp: tc.optim.Adam(params(), beta_1=0.8), TypeError,
        r"write betas=\(beta_1, beta_2\), not beta_1="),
    "tc.optim.Adam epsilon=, Keras' name": (lambda tmp: tc.optim.Adam(params(), epsilon=1e-7),
                                            TypeError, r"write eps=, not epsilon="),
    "tc.optim.RMSprop rho=, Keras' name": (lambda tmp: tc.optim.RMSprop(params(), rho=0.9),
                                           TypeError, r"write alpha=, not rho="),
    "tc.optim.SGD clipnorm=, a Keras option": (
        lambda tmp: tc.optim.SGD(params(), clipnorm=1.0), TypeError,
        r"tc.optim.SGD got an unexpected argument clipnorm=; it takes lr=, momentum=, "
        r"dampening=, weight_decay=, nesterov="),
    "Adam lr -1": (lambda tmp: tc.optim.Adam(lr=-1), ValueError,
                   r"lr must be a finite number >= 0; got -1"),
    "step of an optimizer without parameters": (lambda tmp: tc.optim.Adam().step(), ValueError,
                                                r"step\(\): this Adam has no parameters yet; "
                                                r"pass them .* or give it to model.compile"),
    "SGD params of ndarrays": (lambda tmp: tc.optim.SGD([np.zeros(2)]), TypeError,
                               r"params\[0\] must be a Tensor; got ndarray"),
    "SGD params empty": (lambda tmp: tc.optim.SGD([]), ValueError, r"params is empty"),
    "SGD lr '0.1'": (lambda tmp: tc.optim.SGD(params(), lr="0.1"), TypeError,
                     r"lr must be a finite number >= 0; got str '0.1'"),
    "SGD nesterov without momentum": (lambda tmp: tc.optim.SGD(params(), nesterov=True),
                                      ValueError, r"nesterov=True needs momentum > 0 and "
                                      r"dampening 0 \(as in torch.optim.SGD\); got momentum=0.0"),
    "SGD nesterov with dampening": (lambda tmp: tc.optim.SGD(params(), momentum=0.9,
                                                             dampening=0.1, nesterov=True),
                                    ValueError, r"nesterov=True needs momentum > 0 and "
                                    r"dampening 0.*dampening=0.1"),
    "SGD lr set to -0.1": (lambda tmp: setattr(tc.optim.SGD(params()), "lr", -0.1), ValueError,
                           r"lr must be a finite number >= 0; got -0.1"),
    "Adam betas (0.9, 1.0)": (lambda tmp: tc.optim.Adam(params(), betas=(0.9, 1.0)), ValueError,
                              r"betas\[1\] must be a number in \[0, 1\); got 1.0"),
    "Adam betas 0.9": (lambda tmp: tc.optim.Adam(params(), betas=0.9), ValueError,
                       r"betas must be a pair \(beta1, beta2\) in \[0, 1\); got 0.9"),
    "Adam eps -1": (lambda tmp: tc.optim.Adam(params(), eps=-1), ValueError,
                    r"eps must be a finite number >= 0; got -1"),
    "AdamW amsgrad 'no'": (lambda tmp: tc.optim.AdamW(params(), amsgrad="no"), TypeError,
                           r"amsgrad must be True or False; got 'no'"),
    "RMSprop alpha -1": (lambda tmp: tc.optim.RMSprop(params(), alpha=-1), ValueError,
                         r"alpha must be a finite number >= 0; got -1"),
    "RMSprop centered 1": (lambda tmp: tc.optim.RMSprop(params(), centered=1), TypeError,
                           r"centered must be True or False; got 1"),
    "SGD step with a grad of the wrong shape": (lambda tmp: step_with_bad_grad(tc.optim.SGD),
                                                ValueError, r"params\[0\] \(unnamed\) has shape "
                                                r"\(2,\) but its grad has shape \(3,\)"),
    "Adam step with a grad of the wrong shape": (lambda tmp: step_with_bad_grad(tc.optim.Adam),
                                                 ValueError, r"params\[0\].*its grad has shape"),
    "set_state without iterations": (lambda tmp: tc.optim.Adam(params()).set_state({}),
                                     ValueError, r"optimizer state: 'iterations' must be a "
                                     r"non-negative integer array of shape \(\); got None"),
    "nn.optimizers.Adam lr=, PyTorch's name": (
        lambda tmp: nn.optimizers.Adam(lr=0.1), TypeError,
        r"nn.optimizers.Adam follows keras.optimizers: write learning_rate=, not lr= "
        r"\(torch.optim's name\); for torch.optim's rules use tc.optim"),
    "nn.optimizers.Adam betas=, PyTorch's name": (
        lambda tmp: nn.optimizers.Adam(betas=(0.9, 0.99)), TypeError,
        r"write beta_1= and beta_2=, not betas="),
    "nn.optimizers.Adam eps=, PyTorch's name": (lambda tmp: nn.optimizers.Adam(eps=1e-8),
                                                TypeError, r"write epsilon=, not eps="),
    "nn.optimizers.RMSprop alpha=, PyTorch's name": (
        lambda tmp: nn.optimizers.RMSprop(alpha=0.99), TypeError, r"write rho=, not alpha="),
    "nn.optimizers.SGD dampening=, a PyTorch option": (
        lambda tmp: nn.optimizers.SGD(dampening=0.1), TypeError,
        r"nn.optimizers.SGD got an unexpected argument dampening=; it takes learning_rate=, "
        r"momentum=, nesterov=, weight_decay=, clipnorm="),
    "nn.optimizers.Adam(model.parameters())": (
        lambda tmp: nn.optimizers.Adam(model().parameters()), TypeError,
        r"nn.optimizers.Adam takes no parameters, as in Keras: model.compile binds it.*"
        r"tc.optim.Adam\(model.parameters\(\), lr=...\)"),
    "nn.optimizers.Adam use_ema": (lambda tmp: nn.optimizers.Adam(use_ema=True), TypeError,
                                   r"nn.optimizers.Adam: use_ema= is a keras.optimizers option "
                                   r"that tinygrad_cnn leaves out"),
    "nn.optimizers.SGD learning_rate '0.1'": (
        lambda tmp: nn.optimizers.SGD("0.1"), TypeError,
        r"learning_rate must be a finite number >= 0; got str '0.1'"),
    "nn.optimizers.SGD learning_rate set to nan": (
        lambda tmp: setattr(nn.optimizers.SGD(), "learning_rate", float("nan")), ValueError,
        r"learning_rate must be a finite number >= 0; got nan"),
    "nn.optimizers.SGD momentum 1.5": (lambda tmp: nn.optimizers.SGD(momentum=1.5), ValueError,
                                       r"momentum must be a number in \[0, 1\]; got 1.5"),
    "nn.optimizers.SGD nesterov 'yes'": (lambda tmp: nn.optimizers.SGD(nesterov="yes"),
                                         TypeError, r"nesterov must be True or False"),
    "nn.optimizers.Adam beta_1 1": (lambda tmp: nn.optimizers.Adam(beta_1=1), ValueError,
                                    r"beta_1 must be a number in \[0, 1\); got 1"),
    "nn.optimizers.Adam epsilon -1e-7": (lambda tmp: nn.optimizers.Adam(epsilon=-1e-7),
                                         ValueError, r"epsilon must be a finite number >= 0; "
                                         r"got -1e-07"),
    "nn.optimizers.AdamW weight_decay None": (
        lambda tmp: nn.optimizers.AdamW(weight_decay=None), ValueError,
        r"AdamW needs a weight_decay \(a number >= 0, 0.004 by default\); got None"),
    "nn.optimizers.SGD weight_decay -1": (lambda tmp: nn.optimizers.SGD(weight_decay=-1),
                                          ValueError, r"weight_decay must be a finite number "
                                          r">= 0; got -1"),
    "nn.optimizers.SGD clipnorm 0": (lambda tmp: nn.optimizers.SGD(clipnorm=0), ValueError,
                                     r"clipnorm must be a finite number > 0; got 0"),
    "nn.optimizers.SGD clipnorm and clipvalue": (
        lambda tmp: nn.optimizers.SGD(clipnorm=1.0, clipvalue=0.5), ValueError,
        r"give at most one of clipnorm, clipvalue and global_clipnorm \(as in Keras\); got "
        r"clipnorm=1.0, clipvalue=0.5"),
    "nn.optimizers.RMSprop rho 2": (lambda tmp: nn.optimizers.RMSprop(rho=2), ValueError,
                                    r"rho must be a number in \[0, 1\]; got 2"),
    "nn.optimizers.Adagrad initial_accumulator_value -0.1": (
        lambda tmp: nn.optimizers.Adagrad(initial_accumulator_value=-0.1), ValueError,
        r"initial_accumulator_value must be a finite number >= 0; got -0.1"),
    "nn.optimizers.SGD name 3": (lambda tmp: nn.optimizers.SGD(name=3), TypeError,
                                 r"name must be a str such as 'adam'; got int 3"),
    "nn.optimizers.SGD step without gradients": (lambda tmp: keras_step_without_gradients(),
                                                 ValueError, r"step\(\): no parameter of this "
                                                 r"SGD has a gradient"),
    # ---------------------------------------------------------------- gradcheck
    "gradcheck fn=3": (lambda tmp: tc.gradcheck(3, [t(2, requires_grad=True)]), TypeError,
                       r"gradcheck: fn must be callable.*got int 3"),
    "gradcheck inputs a single Tensor": (lambda tmp: tc.gradcheck(lambda a: a.sum(),
                                                                  t(2, requires_grad=True)),
                                         TypeError, r"inputs must be a list or tuple of "
                                         r"Tensors; got Tensor"),
    "gradcheck inputs holding an ndarray": (lambda tmp: tc.gradcheck(lambda a: a.sum(),
                                                                     [np.ones(2)]),
                                            TypeError, r"inputs must be a list or tuple of "
                                            r"Tensors; got ndarray at index 0"),
    "gradcheck eps 'a'": (lambda tmp: tc.gradcheck(lambda a: a.sum(), [t(2, requires_grad=True)],
                                                   eps="a"),
                          TypeError, r"gradcheck: eps must be a finite number > 0; got str 'a'"),
    "gradcheck eps 0": (lambda tmp: tc.gradcheck(lambda a: a.sum(), [t(2, requires_grad=True)],
                                                 eps=0),
                        ValueError, r"gradcheck: eps must be a finite number > 0; got 0"),
    "gradcheck rtol -1": (lambda tmp: tc.gradcheck(lambda a: a.sum(),
                                                   [t(2, requires_grad=True)], rtol=-1),
                          ValueError, r"gradcheck: rtol must be a finite number >= 0; got -1"),
    "gradcheck seed -1": (lambda tmp: tc.gradcheck(lambda a: a.sum(),
                                                   [t(2, requires_grad=True)], seed=-1),
                          ValueError, r"gradcheck: seed must be a non-negative int; got -1"),
    "gradcheck float32 input": (lambda tmp: tc.gradcheck(lambda a: a.sum(), [Tensor(
        np.ones(2, np.float32), requires_grad=True)]), ValueError,
        r"input 0 has dtype float32; finite differences need float64"),
    "gradcheck fn returning an ndarray": (lambda tmp: tc.gradcheck(
        lambda a: a.data.sum(), [t(2, requires_grad=True)]), TypeError,
        r"gradcheck: fn must return a Tensor; got"),
    "gradcheck output independent of the inputs": (lambda tmp: tc.gradcheck(
        lambda a: Tensor(np.ones(1)) * 2, [t(2, requires_grad=True)]), ValueError,
        r"the output does not depend on any input with requires_grad=True"),
    "manual_seed(None)": (lambda tmp: tc.manual_seed(None), ValueError,
                          r"seed must be a non-negative int; got None"),
    # ---------------------------------------------------------------------- data
    "read_idx of a folder": (lambda tmp: data.read_idx(tmp), ValueError,
                             r"path '.*' is a folder, not an IDX file"),
    "read_idx of an empty file": (lambda tmp: data.read_idx(write(tmp / "empty.idx", b"")),
                                  ValueError, r"empty\.idx: truncated IDX file: 0 bytes"),
    "read_idx unknown dtype code": (lambda tmp: data.read_idx(write(
        tmp / "magic.idx", b"\x00\x00\x07\x01\x00\x00\x00\x01a")), ValueError,
        r"magic\.idx: not an IDX file: magic number 00 00 07 01"),
    "read_idx corrupt gzip": (lambda tmp: data.read_idx(write(tmp / "bad.gz",
                                                              b"\x1f\x8b\x08\x00garbage")),
                              ValueError, r"bad\.gz: not a readable gzip file"),
    "read_idx missing file": (lambda tmp: data.read_idx(tmp / "absent.idx"), FileNotFoundError,
                              r"absent\.idx"),
    "read_idx(None)": (lambda tmp: data.read_idx(None), TypeError,
                       r"path must be a str or os.PathLike such as .*; got NoneType None"),
    "load_mnist name 'emnist'": (lambda tmp: data.load_mnist("emnist", download=False),
                                 ValueError, r"name must be one of 'mnist', 'fashion-mnist', "
                                 r"'mnist-5k'; got 'emnist'"),
    "load_mnist data_dir that does not exist": (
        lambda tmp: data.load_mnist("mnist", data_dir=tmp / "nope", download=False),
        FileNotFoundError, r"1\. data_dir: .*nope \(folder does not exist\)"),
    "load_mnist data_dir without the files": (
        lambda tmp: data.load_mnist("fashion-mnist", data_dir=folder(tmp / "empty"),
                                    download=False),
        FileNotFoundError, r"data_dir: .*empty \(missing train-images-idx3-ubyte\[\.gz\]"),
    "load_mnist data_dir as a list": (lambda tmp: data.load_mnist(data_dir=[tmp], download=False),
                                      TypeError, r"data_dir must be a str or os.PathLike.*list"),
    "Dataset x and y of different lengths": (lambda tmp: data.Dataset(np.zeros((3, 2)), [0, 1]),
                                             ValueError, r"x and y must hold the same number of "
                                             r"examples.*len\(x\) = 3 and len\(y\) = 2"),
    "Dataset x None": (lambda tmp: data.Dataset(None, [0]), TypeError,
                       r"x must be a numpy array \(or a list\) of numbers, one row per example; "
                       r"got None \(NoneType\)"),
    "Dataset y of strings": (lambda tmp: data.Dataset([1.0, 2.0], ["a", "b"]), TypeError,
                             r"y must hold numbers \(bool, int or float\); got dtype <U1"),
    "Dataset x 0-d": (lambda tmp: data.Dataset(np.float64(1), [0]), ValueError,
                      r"x must have a first axis indexing the examples; got a 0-d array"),
    "split_last(1.0)": (lambda tmp: examples().split_last(1.0), ValueError,
                        r"fraction must be a number in \[0, 1\); got 1.0"),
    "split_last('0.2')": (lambda tmp: examples().split_last("0.2"), TypeError,
                          r"fraction must be a number in \[0, 1\); got str '0.2'"),
    "split_last leaving no training examples": (lambda tmp: examples(1).split_last(0.5),
                                                ValueError, r"fraction=0.5 of 1 examples leaves "
                                                r"the head empty"),
    "batches(0)": (lambda tmp: examples().batches(0), ValueError,
                   r"batch_size must be a positive int; got 0"),
    "batches(32.0)": (lambda tmp: examples().batches(32.0), TypeError,
                      r"batch_size must be a positive int; got float 32.0"),
    "batches shuffle='yes'": (lambda tmp: examples().batches(2, shuffle="yes"), TypeError,
                              r"shuffle must be True or False; got 'yes'"),
    "batches generator=RandomState": (lambda tmp: examples().batches(
        2, shuffle=True, generator=np.random.RandomState(0)), TypeError,
        r"generator must be a numpy.random.Generator \(such as tinygrad_cnn.rng.generator\(\)\) "
        r"or None; got .*\(RandomState\)"),
    "batches generator=42": (lambda tmp: examples().batches(2, generator=42), TypeError,
                             r"generator must be a numpy.random.Generator.*got 42 \(int\)"),
    # ----------------------------------------------------------------------- viz
    "draw_graph of an ndarray": (lambda tmp: viz.draw_graph(np.zeros(3)), TypeError,
                                 r"root must be a tinygrad_cnn Tensor.*got ndarray"),
    "draw_graph rankdir 'UP'": (lambda tmp: viz.draw_graph(t(2).sum(), rankdir="UP"),
                                ValueError, r"rankdir must be one of 'TB', 'LR', 'BT', 'RL'.*"
                                r"got 'UP'"),
    "draw_graph max_nodes 0": (lambda tmp: viz.draw_graph(t(2).sum(), max_nodes=0), ValueError,
                               r"max_nodes must be a positive int \(at least 1\); got 0"),
    "draw_graph show_grads 'yes'": (lambda tmp: viz.draw_graph(t(2).sum(), show_grads="yes"),
                                    TypeError, r"show_grads must be True or False; got 'yes'"),
    "render to .jpg": (lambda tmp: viz.render(t(2).sum(), tmp / "g.jpg"), ValueError,
                       r"must end in one of \.svg, \.png, \.pdf, \.dot, \.gv.*got '\.jpg'"),
    "render into a missing folder": (lambda tmp: viz.render(t(2).sum(), tmp / "no" / "g.dot"),
                                     FileNotFoundError, r"cannot write '.*g\.dot': folder "
                                     r"'.*no' does not exist"),
    "render onto a folder": (lambda tmp: viz.render(t(2).sum(), folder(tmp / "d.dot")),
                             ValueError, r"path '.*d\.dot' is a folder; give a file name"),
    "render path 3": (lambda tmp: viz.render(t(2).sum(), 3), TypeError,
                      r"path must be a str or os.PathLike such as 'graph.svg'; got int 3"),
    "render max_nodes '5'": (lambda tmp: viz.render(t(2).sum(), tmp / "g.dot", max_nodes="5"),
                             TypeError, r"max_nodes must be a positive int; got '5'"),
    "draw_graph show_backward 'yes'": (lambda tmp: viz.draw_graph(
        t(2, requires_grad=True).sum(), show_backward="yes"), TypeError,
        r"show_backward must be True or False; got 'yes'"),
    "draw_graph show_backward of a vector": (lambda tmp: viz.draw_graph(
        t(2, requires_grad=True) * 2, show_backward=True), ValueError,
        r"show_backward needs a scalar root, such as a loss; root has shape \(2,\)"),
    # ----------------------------------------------------------------- explain_backward
    "explain_backward of an ndarray": (lambda tmp: tc.explain_backward(np.zeros(())), TypeError,
                                       r"root must be a tinygrad_cnn Tensor.*got ndarray"),
    "explain_backward max_values 0": (lambda tmp: tc.explain_backward(
        t(2, requires_grad=True).sum(), max_values=0), ValueError,
        r"max_values must be a positive int \(tensors of at most this many elements are "
        r"printed in full\); got 0"),
    "explain_backward max_values 2.5": (lambda tmp: tc.explain_backward(
        t(2, requires_grad=True).sum(), max_values=2.5), TypeError,
        r"max_values must be a positive int .*; got float 2.5"),
    "explain_backward without grad": (lambda tmp: tc.explain_backward(t(2).sum()), ValueError,
                                      r"root does not require grad"),
    "explain_backward of a vector": (lambda tmp: tc.explain_backward(
        t(2, requires_grad=True) * 2), ValueError,
        r"root has shape \(2,\); a non-scalar root needs grad_output"),
    "explain_backward grad_output shape": (lambda tmp: tc.explain_backward(
        t(2, requires_grad=True) * 2, grad_output=np.ones(3)), ValueError,
        r"grad_output has shape \(3,\) but root has shape \(2,\)"),
    "explain_backward grad_output of strings": (lambda tmp: tc.explain_backward(
        t(2, requires_grad=True) * 2, grad_output=np.array(["a", "b"])), TypeError,
        r"grad_output must hold numbers; got dtype <U1"),
    "explain_backward after backward()": (lambda tmp: (lambda y: (y.backward(),
                                                                   tc.explain_backward(y)))(
        (t(2, requires_grad=True) * 2).sum()), RuntimeError,
        r"the graph through 'sum' was already released by an earlier backward\(\)"),
    # ------------------------------------------------- higher-order gradients, custom ops
    "grad outputs not a Tensor": (lambda tmp: tc.grad(3.0, [t(2, requires_grad=True)]),
                                  TypeError, r"outputs must be a Tensor; got float 3.0"),
    "grad input without requires_grad": (lambda tmp: tc.grad((t(2, requires_grad=True) * 2)
                                                             .sum(), [t(2)]), ValueError,
                                         r"inputs\[0\] does not require grad"),
    "grad non-scalar output": (lambda tmp: (lambda x: tc.grad(x * 2, [x]))(
        t(2, requires_grad=True)), ValueError,
        r"outputs\[0\] has shape \(2,\); a non-scalar output needs grad_outputs\[0\]"),
    "grad grad_outputs shape": (lambda tmp: (lambda x: tc.grad(x * 2, [x], grad_outputs=np.ones(
        3)))(t(2, requires_grad=True)), ValueError,
        r"grad_outputs\[0\] has shape \(3,\) but outputs\[0\] has shape \(2,\)"),
    "grad grad_outputs count": (lambda tmp: (lambda x: tc.grad(x * 2, [x], grad_outputs=[
        np.ones(2), np.ones(2)]))(t(2, requires_grad=True)), ValueError,
        r"grad_outputs has 2 entries for 1 output\(s\)"),
    "grad create_graph 'yes'": (lambda tmp: (lambda x: tc.grad((x * 2).sum(), [x],
                                                               create_graph="yes"))(
        t(2, requires_grad=True)), TypeError, r"create_graph must be True or False; got 'yes'"),
    "grad unused input": (lambda tmp: (lambda x, y: tc.grad((x * 2).sum(), [x, y]))(
        t(2, requires_grad=True), t(2, requires_grad=True)), ValueError,
        r"inputs\[1\] was not used to compute the outputs.*allow_unused=True"),
    "register_hook(3)": (lambda tmp: t(2, requires_grad=True).register_hook(3), TypeError,
                         r"register_hook: fn must be callable.*got int 3"),
    "register_hook without grad": (lambda tmp: t(2).register_hook(print), ValueError,
                                   r"register_hook\(\) on a tensor that does not require grad"),
    "retain_grad without grad": (lambda tmp: t(2).retain_grad(), ValueError,
                                 r"retain_grad\(\) on a tensor that does not require grad"),
    "requires_grad_ on ints": (lambda tmp: Tensor(np.arange(3)).requires_grad_(), ValueError,
                               r"requires_grad needs floating-point data; got dtype int64"),
    "requires_grad_('yes')": (lambda tmp: t(2).requires_grad_("yes"), TypeError,
                              r"flag must be True or False; got 'yes'"),
    "requires_grad_ on a result": (lambda tmp: (t(2, requires_grad=True) * 2).requires_grad_(),
                                   ValueError, r"requires_grad_\(\) works on leaf tensors only"),
    "squeeze an axis of size 2": (lambda tmp: t(2, 1).squeeze(0), ValueError,
                                  r"squeeze\(axis=0\): only axes of size 1 can be removed; the "
                                  r"shape is \(2, 1\)"),
    "expand_dims axis 3 of 1-D": (lambda tmp: t(2).expand_dims(3), ValueError,
                                  r"axis=3 is out of range for a tensor with 2 dimensions"),
    "argmax axis tuple": (lambda tmp: t(2, 2).argmax(axis=(0, 1)), TypeError,
                          r"axis must be None or one int for argmax/argmin; got \(0, 1\)"),
    "broadcast_to a smaller shape": (lambda tmp: t(2, 3).broadcast_to((3,)), ValueError,
                                     r"broadcast_to: cannot broadcast shape \(2, 3\) to \(3,\)"),
    "concatenate mismatched": (lambda tmp: tc.concatenate([t(2, 3), t(2, 4)], axis=0),
                               ValueError, r"concatenate: tensor 1 has shape \(2, 4\) but tensor "
                               r"0 has \(2, 3\); all shapes must match except along axis 0"),
    "concatenate a Tensor": (lambda tmp: tc.concatenate(t(2, 3)), TypeError,
                             r"concatenate: tensors must be a list or tuple"),
    "concatenate nothing": (lambda tmp: tc.concatenate([]), ValueError,
                            r"concatenate: tensors is empty"),
    "stack different shapes": (lambda tmp: tc.stack([t(2), t(3)]), ValueError,
                               r"stack: all tensors must have the same shape"),
    "where with a float cond": (lambda tmp: tc.where(np.ones(2), t(2), t(2)), TypeError,
                                r"where: cond must be a bool array or Tensor"),
    "where shapes": (lambda tmp: tc.where(np.ones(3, bool), t(2), t(2)), ValueError,
                     r"where: cond \(3,\), a \(2,\) and b \(2,\) do not broadcast"),
    "astype 'banana'": (lambda tmp: t(2).astype("banana"), TypeError,
                        r"astype: dtype must be a numpy dtype such as np.float32"),
    "maximum with a str": (lambda tmp: tc.maximum(t(2), "a"), TypeError,
                           r"the other operand must be a Tensor.*got str 'a'"),
    "gradgradcheck float32": (lambda tmp: tc.gradgradcheck(lambda x: x * x,
                                                          [f32(2).requires_grad_()]),
                              ValueError, r"gradgradcheck: input 0 has dtype float32"),
    "Function.apply on an ndarray": (lambda tmp: tc.Function().apply(np.ones(2)), TypeError,
                                     r"op.apply takes Tensors; input 0 is ndarray"),
    # ------------------------------------------------- training script flags
    "--seed -1": (cli("--seed", "-1"), SystemExit, r"argument --seed: must be >= 0, got '-1'"),
    "--seed abc": (cli("--seed", "abc"), SystemExit,
                   r"argument --seed: expected an integer, got 'abc'"),
    "--limit 0": (cli("--limit", "0"), SystemExit, r"argument --limit: must be > 0, got '0'"),
    "--lr inf": (cli("--lr", "inf"), SystemExit, r"argument --lr: must be > 0, got 'inf'"),
    "--batch-size 1.5": (cli("--batch-size", "1.5"), SystemExit,
                         r"argument --batch-size: expected an integer, got '1.5'"),
    "--epochs without a value": (cli("--epochs"), SystemExit,
                                 r"argument --epochs: expected one argument"),
    "--dataset MNIST": (cli("--dataset", "MNIST"), SystemExit,
                        r"argument --dataset: invalid choice: 'MNIST'"),
    # ------------------------------------------------- PyTorch's constructors and names
    "zeros negative size": (lambda tmp: tc.zeros(2, -1), ValueError,
                            r"zeros: size must be non-negative ints.*got \(2, -1\)"),
    "ones float size": (lambda tmp: tc.ones(2.5), TypeError,
                        r"ones: size must be non-negative ints, as ones\(2, 3\).*2\.5"),
    "rand size str": (lambda tmp: tc.rand("3"), TypeError, r"rand: size must be.*'3'"),
    "zeros dtype complex": (lambda tmp: tc.zeros(2, dtype="complex64"), TypeError,
                            r"zeros: dtype must be a numpy float, integer or bool dtype.*"
                            r"'complex64'"),
    "ones dtype unknown name": (lambda tmp: tc.ones(2, dtype="floaty"), TypeError,
                                r"ones: dtype must be.*'floaty'"),
    "randn integer dtype": (lambda tmp: tc.randn(2, dtype="int64"), TypeError,
                            r"randn: draws floating-point numbers; dtype must be a float "
                            r"dtype, got int64"),
    "zeros requires_grad on ints": (lambda tmp: tc.zeros(2, dtype="int64", requires_grad=True),
                                    ValueError, r"requires_grad=True needs floating-point "
                                    r"data; got dtype int64"),
    "rand requires_grad='yes'": (lambda tmp: tc.rand(2, requires_grad="yes"), TypeError,
                                 r"requires_grad must be True or False; got 'yes'"),
    "full fill_value str": (lambda tmp: tc.full((2,), "a"), TypeError,
                            r"full: fill_value must be a real number; got str 'a'"),
    "full size negative": (lambda tmp: tc.full(-2, 1.0), ValueError,
                           r"full: size must be non-negative ints.*\(-2,\)"),
    "zeros_like of a list": (lambda tmp: tc.zeros_like([1.0]), TypeError,
                             r"zeros_like: x must be a Tensor or a numpy array; got list"),
    "ones_like dtype str": (lambda tmp: tc.ones_like(t(2), dtype="text"), TypeError,
                            r"ones_like: dtype must be.*'text'"),
    "arange step 0": (lambda tmp: tc.arange(0, 5, 0), ValueError,
                      r"arange: step=0 never goes from start=0 to end=5"),
    "arange wrong direction": (lambda tmp: tc.arange(5, 0), ValueError,
                               r"arange: step=1 never goes from start=5 to end=0.*sign"),
    "arange end str": (lambda tmp: tc.arange("5"), TypeError,
                       r"arange: end must be a finite number; got str '5'"),
    "arange start nan": (lambda tmp: tc.arange(float("nan"), 3), ValueError,
                         r"arange: start must be a finite number; got nan"),
    "tensor of a string": (lambda tmp: tc.tensor("abc"), TypeError,
                           r"Tensor data must be a number.*got str 'abc'"),
    "tensor dtype str": (lambda tmp: tc.tensor([1.0], dtype="words"), TypeError,
                         r"tensor: dtype must be.*'words'"),
    "cat dim out of range": (lambda tmp: tc.cat([t(2), t(2)], dim=1), ValueError,
                             r"axis=1 is out of range for a tensor with 1 dimensions"),
    "sum axis and dim": (lambda tmp: t(2, 3).sum(axis=1, dim=1), TypeError,
                         r"sum\(\) got both axis=1 and dim=1; dim is PyTorch's name for axis"),
    "mean positional axis and dim": (lambda tmp: t(2, 3).mean(0, dim=1), TypeError,
                                     r"mean\(\) got both axis=0 \(positionally\) and dim=1"),
    "max keepdims and keepdim": (lambda tmp: t(2, 3).max(keepdims=True, keepdim=True),
                                 TypeError, r"max\(\) got both keepdims=True and keepdim=True"),
    "F.sum axis and dim": (lambda tmp: F.sum(t(2, 3), 1, dim=1), TypeError,
                           r"sum\(\) got both axis=1 \(positionally\) and dim=1"),
    "argmax keepdim": (lambda tmp: t(2, 3).argmax(dim=1, keepdim=True), TypeError,
                       r"argmax\(\) takes no keepdim= \(nor keepdims=\)"),
    "sum dim str": (lambda tmp: t(2, 3).sum(dim="1"), TypeError,
                    r"axis must be None, an int or a tuple of ints; got '1'"),
    "softmax dim out of range": (lambda tmp: t(2, 3).softmax(dim=2), ValueError,
                                 r"axis=2 is out of range.*-2\.\.1"),
    "var ddof negative": (lambda tmp: t(2, 3).var(ddof=-1), ValueError,
                          r"var: ddof must be a non-negative int; got -1"),
    "var ddof float": (lambda tmp: t(2, 3).var(ddof=1.0), TypeError,
                       r"var: ddof must be a non-negative int; got float 1\.0"),
    "std ddof=1 of one element": (lambda tmp: t(3, 1).std(dim=1, ddof=1), ValueError,
                                  r"var\(ddof=1\) over 1 element\(s\) per result would "
                                  r"divide by n - ddof = 0"),
    "t() of rank 3": (lambda tmp: t(2, 3, 4).t(), ValueError,
                      r"t\(\) transposes tensors of rank <= 2; this one has shape \(2, 3, 4\)"
                      r".*transpose\(dim0, dim1\)"),
    "unsqueeze out of range": (lambda tmp: t(2, 3).unsqueeze(3), ValueError,
                               r"axis=3 is out of range for a tensor with 3 dimensions"),
    "view wrong size": (lambda tmp: t(2, 3).view(4, 2), ValueError,
                        r"reshape: cannot reshape \(2, 3\) \(6 elements\) to \(4, 2\)"),
    "permute not a permutation": (lambda tmp: t(2, 3).permute(0, 0), ValueError,
                                  r"transpose: axes must be a permutation of 0..1; got \(0, 0\)"),
    "clamp without bounds": (lambda tmp: t(2).clamp(), ValueError,
                             r"give min, max or both; got min=None and max=None"),
    "clamp min str": (lambda tmp: t(2).clamp(min="0"), TypeError,
                      r"clip min must be a finite number; got str '0'"),
    "backward create_graph=True": (lambda tmp: t(2, requires_grad=True).sum().backward(
        create_graph=True), TypeError, r"backward\(create_graph=True\): \.grad holds plain "
        r"ndarrays.*tc\.grad\(y, \[x\], create_graph=True\)"),
    "backward create_graph='yes'": (lambda tmp: t(2, requires_grad=True).sum().backward(
        create_graph="yes"), TypeError, r"create_graph must be True or False; got 'yes'"),
    # ------------------------------------------------------------- in-place updates
    "+= a shape that does not fit": (lambda tmp: t(2).__iadd__(t(3)), ValueError,
                                     r"in-place \+=: a value of shape \(3,\) does not "
                                     r"broadcast to the tensor's shape \(2,\)"),
    "*= a shape that would grow it": (lambda tmp: t(2).__imul__(t(3, 2)), ValueError,
                                      r"in-place \*=: a value of shape \(3, 2\) does not "
                                      r"broadcast to the tensor's shape \(2,\)"),
    "/= on integers": (lambda tmp: Tensor(np.arange(3)).__itruediv__(2), TypeError,
                       r"in-place /=: the result \(float64\) cannot be stored in this "
                       r"tensor's dtype int64"),
    "-= a string": (lambda tmp: t(2).__isub__("a"), TypeError,
                    r"other operand must be a Tensor, an ndarray, a number.*got str 'a'"),
    "+= on a broadcast (read-only)": (lambda tmp: t(2).broadcast_to((3, 2)).__iadd__(1.0),
                                      ValueError, r"in-place \+=: this tensor's array is "
                                      r"read-only"),
    "setitem a shape that does not fit": (lambda tmp: t(2, 3).__setitem__(0, np.ones(4)),
                                          ValueError, r"t\[index\] = value: a value of shape "
                                          r"\(4,\) does not broadcast to the \(3,\) "
                                          r"elements the index selects"),
    "setitem index out of range": (lambda tmp: t(2, 3).__setitem__(5, 0.0), ValueError,
                                   r"index 5 is invalid for shape \(2, 3\)"),
    "setitem float index": (lambda tmp: t(2, 3).__setitem__(1.5, 0.0), TypeError,
                            r"index must be ints, slices, None, Ellipsis.*float 1\.5"),
    "setitem a string value": (lambda tmp: t(2).__setitem__(0, "a"), TypeError,
                               r"other operand must be.*got str 'a'"),
    # -------------------------------------------------------------------- losses
    "loss object in PyTorch's order": (
        lambda tmp: tc.losses.SparseCategoricalCrossentropy(from_logits=True)(
            f32(2, 3), np.array([0, 2])), ValueError,
        r"sparse_categorical_crossentropy: y_pred must be floating-point; got dtype int64\. "
        r"Keras' order is loss\(y_true, y_pred\).*PyTorch's order loss\(input, target\)"),
    "categorical loss in PyTorch's order": (
        lambda tmp: tc.losses.CategoricalCrossentropy()(f32(2, 3), np.eye(3, dtype=int)[:2]),
        ValueError, r"categorical_crossentropy: y_pred must be floating-point.*Keras' order"),
    "unknown flag": (cli("--bogus"), SystemExit, r"unrecognized arguments: --bogus"),
    "--data-dir a file": (lambda tmp: train_mnist.run(["--data-dir", str(write(tmp / "f", b"x")),
                                                       "--no-plots"]),
                          SystemExit, r"--data-dir .*f is not a folder"),
    "--out a file": (cli_out(""), SystemExit, r"--out .*file cannot be a folder: .*file is a "
                     r"file"),
    "--out under a file": (cli_out("sub"), SystemExit, r"--out .*file/sub cannot be a folder"),
}


@pytest.fixture(autouse=True)
def no_datasets_anywhere(tmp_path, monkeypatch):
    """Nothing on this machine (cache, $TINYGRAD_CNN_DATA, Debian) may satisfy a data row."""
    from tinygrad_cnn.data import registry

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("TINYGRAD_CNN_DATA", raising=False)
    for name, entry in registry.DATASETS.items():  # e.g. Debian's Fashion-MNIST folder
        folders = tuple(dataclasses.replace(f, path=tmp_path / "no-debian")
                        for f in entry.local_folders)
        monkeypatch.setitem(registry.DATASETS, name,
                            dataclasses.replace(entry, local_folders=folders))


def test_the_catalogue_spans_the_api():
    assert len(CATALOGUE) >= 40


@pytest.mark.parametrize("call, error, pattern", CATALOGUE.values(), ids=CATALOGUE.keys())
def test_bad_call_raises_a_clear_error_naming_the_argument(call, error, pattern, tmp_path,
                                                           capsys):
    with pytest.raises(error) as info:
        call(tmp_path)
    exc = info.value
    if isinstance(exc, SystemExit):  # argparse: status 2, usage, then one error line
        assert exc.code == 2
        message = capsys.readouterr().err.strip().splitlines()[-1]
        assert "error:" in message
    else:
        message = str(exc)
        assert not isinstance(exc, FORBIDDEN)
        module = type(exc).__module__
        assert module == "builtins" or module.startswith("tinygrad_cnn"), (
            f"{type(exc).__qualname__} from {module}: {message}")
    assert re.search(pattern, message), f"{pattern!r} not found in {message!r}"
