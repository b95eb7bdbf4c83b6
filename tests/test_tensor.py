"""Tensor: construction and dtype rules, array facts, views, comparisons, identity."""

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor

# ----------------------------------------------------------------- construction & dtype


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_ndarrays_keep_their_dtype_and_are_not_copied(dtype):
    a = np.arange(6, dtype=dtype).reshape(2, 3)
    t = Tensor(a)
    assert t.dtype == dtype
    assert t.data is a  # x.data is the ndarray itself


@pytest.mark.parametrize("data", [[1, 2, 3], [[1.5, 2.5]], 3, 2.5, (1, 2), [True, False],
                                  np.float64(2.0), np.int64(7)])
def test_lists_tuples_and_scalars_become_float32(data):
    t = Tensor(data)
    assert t.dtype == np.float32
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float32))


def test_integer_ndarrays_keep_their_dtype_when_no_grad_is_needed():
    t = Tensor(np.arange(4))
    assert t.dtype == np.arange(4).dtype and not t.requires_grad


def test_dtype_argument_converts():
    assert Tensor([1, 2], dtype=np.float64).dtype == np.float64
    assert Tensor(np.ones(2, np.float32), dtype="float64").dtype == np.float64


def test_tensor_from_tensor_shares_the_array():
    a = Tensor(np.ones(3))
    assert Tensor(a).data is a.data


def test_fresh_tensor_defaults():
    t = Tensor(np.ones(2))
    assert t.requires_grad is False and t.grad is None and t.is_leaf
    assert Tensor(np.ones(2), requires_grad=True).requires_grad is True


# ----------------------------------------------------------------------- array facts


def test_shape_dtype_ndim_size_len():
    t = Tensor(np.zeros((2, 3, 4), np.float32))
    assert t.shape == (2, 3, 4)
    assert t.dtype == np.float32
    assert t.ndim == 3
    assert t.size == 24
    assert len(t) == 2


def test_numpy_is_the_data_without_a_copy():
    t = Tensor(np.arange(3.0))
    assert np.shares_memory(t.numpy(), t.data)


def test_item_and_repr():
    assert Tensor(2.5).item() == 2.5
    r = repr(Tensor(np.ones(2), requires_grad=True))
    assert "float64" in r and "requires_grad=True" in r


def test_iteration_yields_rows():
    rows = list(Tensor(np.arange(6.0).reshape(3, 2)))
    assert len(rows) == 3
    np.testing.assert_array_equal(rows[2].data, [4.0, 5.0])
    with pytest.raises(TypeError):
        iter(Tensor(1.0))


def test_truth_value_of_one_element_like_numpy():
    assert bool(Tensor(2.0) > 1) is True
    assert not Tensor(0.0)
    assert bool(Tensor([[3.0]]))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(Tensor([1.0, 2.0]) > 0)


def test_zero_d_results_are_ndarrays():
    x = Tensor(np.float64(2.0), dtype=np.float64, requires_grad=True)
    y = (x * 3).exp()
    assert type(y.data) is np.ndarray and y.shape == ()
    y.backward()
    assert type(x.grad) is np.ndarray and x.grad.shape == ()


# ----------------------------------------------------------------- detach and zero_grad


def test_detach_shares_data_and_cuts_the_graph():
    x = Tensor(np.ones(3), requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    y = x * 2
    assert np.shares_memory(y.detach().data, y.data)
    (d * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0, 2.0])  # nothing flowed through d


def test_zero_grad_clears():
    x = Tensor(np.ones(3), requires_grad=True)
    (x * 2).sum().backward()
    x.zero_grad()
    assert x.grad is None


# ---------------------------------------------- a Python scalar never changes the dtype

SCALAR_OPS = {
    "x + 1.5": lambda x: x + 1.5,
    "1.5 + x": lambda x: 1.5 + x,
    "x - 2": lambda x: x - 2,
    "2 - x": lambda x: 2 - x,
    "x * 3.0": lambda x: x * 3.0,
    "3.0 * x": lambda x: 3.0 * x,
    "x / 2": lambda x: x / 2,
    "2 / x": lambda x: 2 / x,
    "x ** 2": lambda x: x**2,
    "2 ** x": lambda x: 2**x,
    "-x": lambda x: -x,
}


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("op", SCALAR_OPS.values(), ids=SCALAR_OPS.keys())
def test_python_scalars_never_change_the_dtype(op, dtype):
    x = Tensor(np.array([1.0, 2.0], dtype=dtype))
    assert op(x).dtype == dtype


@pytest.mark.parametrize("other_dtype", [np.float64, np.int64, np.float16])
def test_ndarray_operands_take_the_tensors_dtype(other_dtype):
    x = Tensor(np.ones((2, 2), np.float32))
    other = np.full((2, 2), 2, dtype=other_dtype)
    for out in (x + other, other + x, x * other, other - x, x @ other, other @ x,
                x / other, other**x):
        assert isinstance(out, Tensor)
        assert out.dtype == np.float32


def test_lists_and_numpy_scalars_as_operands_take_the_tensors_dtype():
    x = Tensor(np.ones(2, np.float32))
    assert (x + [1.0, 2.0]).dtype == np.float32
    assert (np.float64(2) * x).dtype == np.float32
    assert (x * np.float64(2)).dtype == np.float32


def test_two_tensors_promote_like_numpy_and_grads_keep_each_leafs_dtype():
    a = Tensor(np.ones(2, np.float32), requires_grad=True)
    b = Tensor(np.ones(2, np.float64), requires_grad=True)
    y = a * b
    assert y.dtype == np.float64
    y.sum().backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64


# ------------------------------------------------------------------------ comparisons

COMPARISONS = {
    "<": (lambda a, b: a < b, np.less),
    "<=": (lambda a, b: a <= b, np.less_equal),
    ">": (lambda a, b: a > b, np.greater),
    ">=": (lambda a, b: a >= b, np.greater_equal),
    "eq": (lambda a, b: a.eq(b), np.equal),
}


@pytest.mark.parametrize("name", COMPARISONS)
@pytest.mark.parametrize("other_kind", ["tensor", "ndarray", "scalar"])
def test_comparisons_are_elementwise_and_not_differentiable(name, other_kind):
    op, ref = COMPARISONS[name]
    a = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    b = np.array([2.0, 2.0, 2.0])
    other = {"tensor": Tensor(b), "ndarray": b, "scalar": 2.0}[other_kind]
    x = Tensor(a, requires_grad=True)
    out = op(x, other)
    assert isinstance(out, Tensor)
    np.testing.assert_array_equal(out.data, ref(a, b))
    assert out.dtype == np.bool_
    assert not out.requires_grad and out.is_leaf


def test_comparison_with_ndarray_on_the_left_returns_a_tensor():
    x = Tensor(np.array([1.0, 3.0]))
    out = np.array([2.0, 2.0]) < x
    assert isinstance(out, Tensor)
    np.testing.assert_array_equal(out.data, [False, True])


def test_double_equals_is_elementwise_and_tensors_still_hash_by_identity():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([1.0, 5.0]))
    same, different = a == b, a != b
    assert isinstance(same, Tensor) and same.dtype == np.bool_ and not same.requires_grad
    np.testing.assert_array_equal(same.data, [True, False])
    np.testing.assert_array_equal(different.data, [False, True])
    np.testing.assert_array_equal((a == 2).data, [False, True])
    with pytest.raises(ValueError, match="ambiguous"):
        bool(a == b)  # numpy's rule for more than one element
    d = {a: "a", b: "b"}
    assert d[a] == "a" and d[b] == "b"
    assert len({a, b, a}) == 2


def test_accuracy_computed_with_double_equals_is_right():
    predictions = Tensor(np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]])).argmax(axis=1)
    labels = np.array([1, 0, 0])
    assert (predictions == labels).astype(np.float32).mean().item() == pytest.approx(2 / 3)


def test_eq_compares_values():
    a = Tensor(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(a.eq(Tensor(np.array([1.0, 5.0]))).data, [True, False])


# --------------------------------------------------------------------------- no_grad


def test_no_grad_records_nothing_and_restores_the_mode():
    x = Tensor(np.ones(2), requires_grad=True)
    with tc.no_grad():
        y = (x * 2).exp().sum()
        with tc.no_grad():
            pass
        z = x + 1  # still off after the nested block
    assert not y.requires_grad and y.is_leaf and y._ctx is None
    assert not z.requires_grad
    assert (x * 2).requires_grad


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(RuntimeError):
        with tc.no_grad():
            raise RuntimeError("boom")
    assert (Tensor(np.ones(1), requires_grad=True) * 2).requires_grad


def test_is_grad_enabled_reports_the_mode_as_torch_is_grad_enabled_does():
    assert tc.is_grad_enabled() is True
    with tc.no_grad():
        assert tc.is_grad_enabled() is False
    assert tc.is_grad_enabled() is True


def test_enable_grad_records_again_inside_no_grad_as_in_pytorch():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with tc.no_grad():
        with tc.enable_grad():
            y = (x * x).sum()
        z = x * 2  # no_grad holds again after the inner block
    assert y.requires_grad and not z.requires_grad
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])  # d(x·x)/dx = 2x


def test_enable_grad_works_as_a_decorator():
    @tc.enable_grad()
    def double(t):
        return t * 2

    with tc.no_grad():
        assert double(Tensor(np.ones(1), requires_grad=True)).requires_grad


def test_ops_on_tensors_without_grad_record_nothing():
    y = Tensor(np.ones(2)) * 2 + 1
    assert not y.requires_grad and y._ctx is None
