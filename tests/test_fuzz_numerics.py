"""Numerical safety of softmax, log_softmax and cross_entropy, fuzzed over every scale.

Hypothesis draws logits from tiny (1e-30, subnormal) to huge (±3.4e38 in float32, ±1e300
in float64), all-equal rows and mixed scales, and compares with a long-double reference
computed from the definitions. Nothing may warn (overflow, invalid value): a huge shift
that overflows to −inf is exact after exp; the mean loss is exact even when the sum of
the per-example losses would overflow; only an example whose own loss is beyond the
dtype's range makes the loss inf. Gradients are always finite, rows of softmax − onehot
sum to 0.

Profiles as in tests/conftest.py (``ci`` by default, ``--hypothesis-profile=thorough``).
"""

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_cnn import Tensor
from tinygrad_cnn import functional as F

LIMIT = {np.float32: float(np.finfo(np.float32).max), np.float64: 1e300}
EPS = {np.float32: float(np.finfo(np.float32).eps), np.float64: float(np.finfo(np.float64).eps)}


@st.composite
def logits_case(draw):
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    n, classes = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    scale = draw(st.sampled_from(["tiny", "unit", "large", "huge", "equal", "mixed"]))
    limit = LIMIT[dtype]
    width = 32 if dtype == np.float32 else 64
    if scale == "equal":  # every logit in a row the same: loss log(classes)
        value = draw(st.floats(-limit, limit, width=width))
        values = [[value] * classes for _ in range(n)]
    else:
        bound = float(dtype({"tiny": 1e-30, "unit": 10.0, "large": 1e4, "huge": limit,
                             "mixed": limit}[scale]))  # representable in the dtype
        element = st.floats(-bound, bound, width=width, allow_subnormal=True)
        if scale == "mixed":
            element = st.one_of(element, st.floats(-10, 10, width=width),
                                st.sampled_from([0.0, limit, -limit]))
        values = [[draw(element) for _ in range(classes)] for _ in range(n)]
    labels = [draw(st.integers(0, classes - 1)) for _ in range(n)]
    return np.array(values, dtype=dtype), np.array(labels)


def reference(logits, labels):
    """Loss and d(loss)/d(logits) from the definitions, in long double."""
    x = logits.astype(np.longdouble)
    shifted = x - x.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_z
    rows = np.arange(len(labels))
    per_example = -log_p[rows, labels]
    grad = np.exp(log_p)
    grad[rows, labels] -= 1
    return per_example, grad / len(labels), log_p


@given(case=logits_case())
def test_cross_entropy_matches_long_double_reference_without_warnings(case):
    logits, labels = case
    dtype = logits.dtype.type
    per_example, expected_grad, _ = reference(logits, labels)
    x = Tensor(logits, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(x, labels)
        loss.backward()
    assert loss.dtype == dtype and x.grad.dtype == dtype
    spread = float(np.abs(logits.astype(np.longdouble)
                          - logits.max(axis=1, keepdims=True)).max())
    if per_example.max() > np.finfo(dtype).max:  # one example's loss is beyond the dtype
        assert loss.item() == np.inf
    else:
        np.testing.assert_allclose(loss.item(), float(per_example.mean()), rtol=8 * EPS[dtype],
                                   atol=8 * EPS[dtype] * max(spread, 1.0))
    assert np.isfinite(x.grad).all()
    np.testing.assert_allclose(x.grad, expected_grad.astype(np.float64), rtol=0,
                               atol=64 * EPS[dtype])
    np.testing.assert_allclose(x.grad.sum(axis=1), 0, atol=8 * EPS[dtype])


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@given(case=logits_case())
def test_softmax_and_log_softmax_are_finite_and_match_the_reference(op, case):
    logits, _ = case
    dtype = logits.dtype.type
    _, _, log_p = reference(logits, np.zeros(len(logits), int))
    x = Tensor(logits, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = getattr(x, op)(axis=1)
        seed = np.linspace(-1, 1, out.size).reshape(out.shape).astype(dtype)
        out.backward(seed)
    assert np.isfinite(x.grad).all()
    if op == "softmax":
        np.testing.assert_allclose(out.data, np.exp(log_p).astype(np.float64), rtol=0,
                                   atol=8 * EPS[dtype])
        np.testing.assert_allclose(out.data.sum(axis=1), 1, atol=8 * EPS[dtype])
    else:
        finite = np.isfinite(log_p.astype(dtype))  # a probability below the dtype's range
        assert (out.data[~finite] == -np.inf).all()  # is log(0) = -inf, honestly
        spread = float(np.abs(log_p[finite]).max(initial=1.0))
        np.testing.assert_allclose(out.data[finite], log_p[finite].astype(np.float64),
                                   rtol=8 * EPS[dtype], atol=8 * EPS[dtype] * spread)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("value", [0.0, 1e-30, -7.5, 1e30, -3e38])
def test_all_equal_logits_give_log_classes_and_uniform_gradients(dtype, value):
    logits = np.full((3, 4), value, dtype)
    labels = np.array([0, 2, 3])
    x = Tensor(logits, requires_grad=True)
    loss = F.cross_entropy(x, labels)
    loss.backward()
    np.testing.assert_allclose(loss.item(), np.log(4), rtol=4 * EPS[dtype])
    expected = np.full((3, 4), 0.25)
    expected[np.arange(3), labels] -= 1
    np.testing.assert_allclose(x.grad, expected / 3, atol=4 * EPS[dtype])


F32_MAX = float(np.finfo(np.float32).max)
# Found by the thorough fuzz run; each was a RuntimeWarning (and the first a wrong inf).
REGRESSIONS = {
    "sum of per-example losses overflows float32, the mean does not": (
        [[0.0, 0.0, 0.0], [F32_MAX, 0.0, 0.0], [-3e31, 0.0, 0.0]], [1, 1, 0],
        (F32_MAX + 3e31) / 3),
    "shift by the max overflows to -inf (exact after exp)": (
        [[3e38, -3e38, 0.0]], [0], 0.0),
}


@pytest.mark.parametrize("logits, labels, expected", REGRESSIONS.values(),
                         ids=REGRESSIONS.keys())
def test_float32_overflow_edges(logits, labels, expected):
    x = Tensor(np.array(logits, np.float32), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(x, np.array(labels))
        loss.backward()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-6)
    assert np.isfinite(x.grad).all()
