"""tc.gradcheck: passes on correct gradients, fails loudly and precisely on wrong ones."""

import re

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor
from tinygrad_cnn.function import Function


def leaf(a, requires_grad=True):
    # a copy: gradcheck perturbs input data in place, so inputs must not share memory
    return Tensor(np.array(a, dtype=np.float64), requires_grad=requires_grad)


class ScaledMul(Function):
    """a * b whose backward multiplies each gradient by a chosen factor (1.0 = correct)."""

    name = "scaled_mul"

    def __init__(self, factor_a=1.0, factor_b=1.0):
        self.factor_a, self.factor_b = factor_a, factor_b

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a * b

    def backward(self, grad):
        a, b = self.saved
        return grad * b * self.factor_a, grad * a * self.factor_b


class WrongAtOneElement(Function):
    """Elementwise square whose backward is wrong only at flat position `where`."""

    name = "wrong_square"

    def __init__(self, where):
        self.where = where

    def forward(self, a):
        self.save_for_backward(a)
        return a * a

    def backward(self, grad):
        (a,) = self.saved
        g = 2 * a * grad
        g.flat[self.where] += 1.0
        return (g,)


A = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
B = np.array([[1.0, 2.0, -0.5], [0.3, -1.2, 0.8]])


# ----------------------------------------------------------------- correct gradients

def test_passes_and_returns_true_on_correct_gradients():
    assert tc.gradcheck(lambda a, b: ScaledMul().apply(a, b), [leaf(A), leaf(B)]) is True
    assert tc.gradcheck(lambda a, b: (a * b).exp().sum(), (leaf(A), leaf(B))) is True


def test_scalar_output_and_non_scalar_output_both_work():
    assert tc.gradcheck(lambda a: (a * a).sum(), [leaf(A)])
    assert tc.gradcheck(lambda a: a.tanh(), [leaf(A)])


def test_only_inputs_requiring_grad_are_checked():
    wrong_for_b = lambda a, b: ScaledMul(1.0, 5.0).apply(a, b)
    assert tc.gradcheck(wrong_for_b, [leaf(A), leaf(B, requires_grad=False)])


# ------------------------------------------------------------------- wrong gradients

def test_fails_on_a_wrong_backward_naming_input_element_values_and_tolerance():
    with pytest.raises(tc.GradcheckError) as info:
        tc.gradcheck(lambda a, b: ScaledMul(2.0, 1.0).apply(a, b), [leaf(A), leaf(B)])
    message = str(info.value)
    assert "input 0" in message
    assert "element (0, 0)" in message
    assert "analytic" in message and "numeric" in message and "tolerance" in message
    numbers = {k: float(v) for k, v in re.findall(r"(analytic|numeric) (-?[\d.e+-]+)", message)}
    # L = sum(a * b * r) for the random direction r: analytic is twice the numeric value
    assert numbers["analytic"] == pytest.approx(2 * numbers["numeric"], rel=1e-6)


def test_names_the_second_input_when_only_its_gradient_is_wrong():
    with pytest.raises(tc.GradcheckError, match=r"input 1 at element \(0, 0\)"):
        tc.gradcheck(lambda a, b: ScaledMul(1.0, -1.0).apply(a, b), [leaf(A), leaf(B)])


def test_input_indices_count_every_input_including_those_not_checked():
    fn = lambda c, a, b: ScaledMul(1.0, 3.0).apply(a, b) + c
    with pytest.raises(tc.GradcheckError, match="input 2"):
        tc.gradcheck(fn, [leaf(A.copy(), requires_grad=False), leaf(A), leaf(B)])


def test_finds_a_single_wrong_element_of_a_non_scalar_output():
    with pytest.raises(tc.GradcheckError, match=r"input 0 at element \(1, 1\)"):
        tc.gradcheck(lambda a: WrongAtOneElement(4).apply(a), [leaf(A)])


def test_tolerances_decide_what_counts_as_a_mismatch():
    slightly_off = lambda a, b: ScaledMul(1 + 1e-5, 1.0).apply(a, b)
    assert tc.gradcheck(slightly_off, [leaf(A), leaf(B)])  # within rtol=1e-3
    with pytest.raises(tc.GradcheckError, match="atol=0"):
        tc.gradcheck(slightly_off, [leaf(A), leaf(B)], atol=0, rtol=1e-8)


def test_a_nan_gradient_fails():
    class NanGrad(ScaledMul):
        def backward(self, grad):
            return grad * np.nan, grad * np.nan

    with pytest.raises(tc.GradcheckError):
        tc.gradcheck(lambda a, b: NanGrad().apply(a, b), [leaf(A), leaf(B)])


# ---------------------------------------------------------------------- bad requests

def test_float32_inputs_are_refused_with_a_hint_to_use_float64():
    x = Tensor(A.astype(np.float32), requires_grad=True)
    with pytest.raises(ValueError, match="float64") as info:
        tc.gradcheck(lambda t: t * 2, [x])
    assert "input 0" in str(info.value) and "float32" in str(info.value)


def test_no_input_requiring_grad_is_refused():
    with pytest.raises(ValueError, match="requires_grad"):
        tc.gradcheck(lambda t: t * 2, [leaf(A, requires_grad=False)])


@pytest.mark.parametrize("fn", [
    lambda t: Tensor(t.data * 2),  # recomputed outside the graph
    lambda t: (t * 2).detach(),
    lambda t: Tensor(np.ones(3)),  # a constant
], ids=["rewrapped", "detached", "constant"])
def test_an_output_that_does_not_depend_on_the_inputs_is_refused(fn):
    with pytest.raises((ValueError, tc.GradcheckError), match="depend"):
        tc.gradcheck(fn, [leaf(A)])


def test_an_output_that_ignores_the_checked_input_is_refused():
    other = leaf(B)
    with pytest.raises((ValueError, tc.GradcheckError), match="depend"):
        tc.gradcheck(lambda t: other * 2, [leaf(A)])


def test_different_inputs_over_the_same_memory_are_refused():
    shared = np.array(A)
    with pytest.raises(ValueError, match="inputs 0 and 1 .* same memory"):
        tc.gradcheck(lambda a, b: a * b, [Tensor(shared, requires_grad=True),
                                          Tensor(shared[:1], requires_grad=False)])


def test_the_same_tensor_twice_is_fine():
    x = leaf(A)
    assert tc.gradcheck(lambda a, b: a * b, [x, x])  # both sides see the total derivative


@pytest.mark.parametrize("inputs", [leaf(A), A, [A]], ids=["tensor", "ndarray", "list of arrays"])
def test_inputs_must_be_a_list_or_tuple_of_tensors(inputs):
    with pytest.raises(TypeError, match="list or tuple of Tensors"):
        tc.gradcheck(lambda t: t, inputs)


def test_fn_must_return_a_tensor():
    with pytest.raises(TypeError, match="must return a Tensor"):
        tc.gradcheck(lambda t: t.data, [leaf(A)])


@pytest.mark.parametrize("kwargs", [{"eps": 0}, {"eps": -1e-6}, {"atol": float("nan")},
                                    {"rtol": -1.0}])
def test_bad_tolerances_are_refused(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        tc.gradcheck(lambda t: t * 2, [leaf(A)], **kwargs)


# ------------------------------------------------------------------- no side effects

def test_existing_grads_and_input_data_are_preserved():
    a, b = leaf(A), leaf(B)
    sentinel = np.full(A.shape, 42.0)
    a.grad = sentinel
    assert tc.gradcheck(lambda x, y: x * y, [a, b])
    assert a.grad is sentinel and b.grad is None
    np.testing.assert_array_equal(a.data, A)
    np.testing.assert_array_equal(b.data, B)


def test_existing_grads_and_input_data_are_preserved_when_the_check_fails():
    a, b = leaf(A), leaf(B)
    sentinel = np.full(A.shape, 42.0)
    a.grad = sentinel
    with pytest.raises(tc.GradcheckError):
        tc.gradcheck(lambda x, y: ScaledMul(3.0, 1.0).apply(x, y), [a, b])
    assert a.grad is sentinel and b.grad is None
    np.testing.assert_array_equal(a.data, A)


def test_input_data_is_restored_when_fn_raises_mid_check():
    a = leaf(A)
    calls = []

    def fn(t):
        calls.append(1)
        if len(calls) > 1:  # the first call builds the graph; the perturbed ones raise
            raise RuntimeError("boom")
        return t * 2

    with pytest.raises(RuntimeError):
        tc.gradcheck(fn, [a])
    np.testing.assert_array_equal(a.data, A)
