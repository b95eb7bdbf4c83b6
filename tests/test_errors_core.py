"""Bad input to the core gets a TypeError or ValueError that names the argument, the value
received and what is accepted — never a numpy traceback from deep inside.

Each row: what is called, the exception, and fragments the message must contain.
"""

import numpy as np
import pytest

import tinygrad_cnn as tc
import tinygrad_cnn.functional as F
from tinygrad_cnn import Tensor


def t(*shape, requires_grad=False):
    return Tensor(np.ones(shape), requires_grad=requires_grad)


def nonscalar_root():
    return t(2, 3, requires_grad=True) * 2


CASES = [
    # ---------------------------------------------------------------- Tensor(data)
    ("str", lambda: Tensor("abc"), TypeError, ["Tensor data", "str", "'abc'", "number"]),
    ("list of str", lambda: Tensor(["1.5", "2"]), TypeError,
     ["Tensor data", "'1.5'", "float, integer or bool", "strings"]),
    ("str ndarray", lambda: Tensor(np.array(["a"])), TypeError,
     ["Tensor data", "<U1", "float, integer or bool"]),
    ("bytes", lambda: Tensor(b"12"), TypeError, ["Tensor data", "bytes", "b'12'"]),
    ("object", lambda: Tensor(object()), TypeError, ["Tensor data", "object", "number"]),
    ("object ndarray", lambda: Tensor(np.array([object()])), TypeError,
     ["Tensor data", "dtype object", "float, integer or bool"]),
    ("list of objects", lambda: Tensor([object()]), TypeError, ["Tensor data", "object"]),
    ("dict", lambda: Tensor({"a": 1}), TypeError, ["Tensor data", "dict", "{'a': 1}", "number"]),
    ("set", lambda: Tensor({1.0}), TypeError, ["Tensor data", "set", "number"]),
    ("None", lambda: Tensor(None), TypeError, ["Tensor data", "NoneType", "number"]),
    ("complex", lambda: Tensor(1 + 2j), TypeError, ["Tensor data", "complex", "(1+2j)"]),
    ("complex list", lambda: Tensor([1j, 2]), TypeError, ["Tensor data", "complex"]),
    ("complex ndarray", lambda: Tensor(np.array([1j])), TypeError, ["Tensor data", "complex"]),
    ("ragged list", lambda: Tensor([[1, 2], [3]]), (TypeError, ValueError),
     ["Tensor data", "[[1, 2], [3]]"]),
    ("bad dtype", lambda: Tensor([1.0], dtype="float99"), TypeError, ["float99"]),
    ("requires_grad on ints", lambda: Tensor(np.arange(3), requires_grad=True), ValueError,
     ["requires_grad=True", "int64", "floating-point", "astype(np.float32)"]),
    ("requires_grad on bools", lambda: Tensor(np.array([True]), requires_grad=True), ValueError,
     ["requires_grad=True", "bool", "floating-point"]),
    ("requires_grad not a bool", lambda: Tensor([1.0], requires_grad="yes"), TypeError,
     ["requires_grad", "'yes'", "True or False"]),
    # ------------------------------------------------------------------- operands
    ("str operand", lambda: t(2) + "a", TypeError, ["'a'", "number"]),
    ("None operand", lambda: t(2) * None, TypeError, ["None", "number"]),
    # ------------------------------------------------------------------- backward
    ("backward non-scalar, no grad", lambda: nonscalar_root().backward(), ValueError,
     ["backward()", "scalar", "(2, 3)", "backward(grad)"]),
    ("backward grad of wrong shape", lambda: nonscalar_root().backward(np.ones(3)), ValueError,
     ["grad", "(3,)", "(2, 3)"]),
    ("backward grad of scalar", lambda: nonscalar_root().backward(1.0), ValueError,
     ["grad", "()", "(2, 3)"]),
    ("backward without requires_grad", lambda: t(1).sum().backward(), ValueError,
     ["backward()", "requires_grad"]),
    ("item of many", lambda: t(2, 2).item(), ValueError, ["item()", "(2, 2)"]),
    # --------------------------------------------------------------------- matmul
    ("matmul inner dims", lambda: t(2, 3) @ t(2, 3), ValueError,
     ["matmul", "(2, 3) @ (2, 3)", "(3)", "(2)"]),
    ("matmul 1-D", lambda: t(3) @ t(4), ValueError, ["matmul", "(3,) @ (4,)"]),
    ("matmul batch", lambda: t(2, 2, 3) @ t(3, 3, 2), ValueError,
     ["matmul", "(2, 2, 3)", "(3, 3, 2)", "broadcast"]),
    ("matmul 0-d", lambda: t() @ t(2), ValueError, ["matmul", "()", "at least 1 dimension"]),
    ("matmul ndarray", lambda: np.ones((4, 5)) @ t(2, 3), ValueError, ["(4, 5) @ (2, 3)"]),
    # -------------------------------------------------------------------- reshape
    ("reshape size", lambda: t(6).reshape(4, 2), ValueError,
     ["reshape", "(6,)", "(4, 2)", "6 elements", "8 elements"]),
    ("reshape -1 impossible", lambda: t(7).reshape(2, -1), ValueError,
     ["reshape", "(7,)", "(2, -1)"]),
    ("reshape two -1", lambda: t(6).reshape(-1, -1), ValueError,
     ["reshape", "(-1, -1)", "at most one -1"]),
    ("reshape negative", lambda: t(6).reshape(-2, -3), ValueError, ["reshape", "(-2, -3)"]),
    ("reshape float", lambda: t(6).reshape(2.0, 3), ValueError, ["reshape", "(2.0, 3)", "ints"]),
    ("reshape str", lambda: t(6).reshape("6"), ValueError, ["reshape", "'6'", "ints"]),
    ("flatten start_axis", lambda: t(2, 3).flatten(5), ValueError,
     ["flatten", "start_axis=5", "0..2", "(2, 3)"]),
    # ----------------------------------------------------------------------- axes
    ("sum axis out of range", lambda: t(2, 3).sum(axis=2), ValueError,
     ["axis=2", "2 dimensions", "-2..1"]),
    ("mean axis out of range", lambda: t(2, 3).mean(axis=-3), ValueError, ["axis=-3", "-2..1"]),
    ("max axis tuple out of range", lambda: t(2, 3).max(axis=(0, 5)), ValueError,
     ["axis=(0, 5)", "-2..1"]),
    ("axis str", lambda: t(2, 3).sum(axis="0"), TypeError,
     ["axis", "'0'", "None, an int or a tuple of ints"]),
    ("axis float", lambda: t(2, 3).mean(axis=1.0), TypeError, ["axis", "1.0", "int"]),
    ("axis repeated", lambda: t(2, 3).sum(axis=(1, -1)), ValueError,
     ["axis=(1, -1)", "repeats"]),
    ("softmax axis repeated", lambda: t(2, 3).softmax(axis=(1, 1)), ValueError,
     ["axis", "(1, 1)", "repeats"]),
    ("log_softmax axis out of range", lambda: t(2, 3).log_softmax(axis=2), ValueError,
     ["axis=2", "-2..1"]),
    ("transpose not a permutation", lambda: t(2, 3).transpose((0, 0)), ValueError,
     ["transpose", "(0, 0)", "permutation of 0..1"]),
    ("transpose 3 axes of 2", lambda: t(2, 3).transpose(0, 1, 2), ValueError,
     ["transpose", "(0, 1, 2)", "permutation of 0..1"]),
    ("transpose axis out of range", lambda: t(2, 3).transpose(0, 3), ValueError,
     ["transpose/swapaxes(0, 3)", "axis1=3", "-2..1"]),
    ("swapaxes axis out of range", lambda: t(2, 3).swapaxes(-3, 0), ValueError,
     ["transpose/swapaxes(-3, 0)", "axis0=-3", "-2..1"]),
    ("swapaxes str axis", lambda: t(2, 3).swapaxes("0", 1), TypeError,
     ["transpose/swapaxes('0', 1)", "axis0", "int"]),
    ("transpose too few axes", lambda: t(2, 3).transpose(1), ValueError,
     ["transpose", "(1,)", "permutation"]),
    ("transpose float axes", lambda: t(2, 3).transpose(1.0, 0), ValueError,
     ["transpose", "(1.0, 0)"]),
    # ------------------------------------------------------------------------ pad
    ("pad negative", lambda: t(2, 3).pad(-1), ValueError,
     ["pad_width", "-1", "non-negative ints", "((before, after), ...)"]),
    ("pad float", lambda: t(2, 3).pad(((1, 1), (0.5, 0))), ValueError,
     ["pad_width", "0.5", "non-negative ints"]),
    ("pad too many pairs", lambda: t(2, 3).pad(((1, 1), (1, 1), (1, 1))), ValueError,
     ["pad_width", "2 pairs", "((1, 1), (1, 1), (1, 1))"]),
    ("pad str", lambda: t(2, 3).pad("same"), ValueError, ["pad_width", "'same'"]),
    ("pad empty", lambda: t(2, 3).pad(()), ValueError, ["pad_width", "()"]),
    # ---------------------------------------------------------------------- index
    ("index float", lambda: t(3)[1.5], TypeError,
     ["index", "float", "1.5", "ints, slices, None, Ellipsis or integer arrays"]),
    ("index str", lambda: t(3)["a"], TypeError, ["index", "str", "'a'", "integer arrays"]),
    ("index float array", lambda: t(3)[np.array([0.0, 1.0])], TypeError,
     ["index arrays", "float64", "integers"]),
    ("index float list", lambda: t(3)[[0.5]], TypeError, ["index arrays", "float64"]),
    ("index dict", lambda: t(3)[{}], TypeError, ["index", "dict"]),
    ("index out of range", lambda: t(3)[5], ValueError, ["index 5", "(3,)", "out of bounds"]),
    ("too many indices", lambda: t(3)[0, 0], ValueError, ["(0, 0)", "(3,)"]),
    # ----------------------------------------------------- functional and losses
    ("F.relu of str", lambda: F.relu("x"), TypeError, ["x must be", "Tensor", "str"]),
    ("cross_entropy float labels", lambda: F.cross_entropy(t(2, 3), np.array([0.0, 1.0])),
     TypeError, ["labels", "integer class ids", "float64", "argmax"]),
    ("cross_entropy labels shape", lambda: F.cross_entropy(t(2, 3), np.array([0, 1, 2])),
     ValueError, ["labels", "(2,)", "(3,)"]),
    ("cross_entropy label range", lambda: F.cross_entropy(t(2, 3), np.array([0, 3])),
     ValueError, ["labels", "0..2", "3"]),
    ("cross_entropy negative label", lambda: F.cross_entropy(t(2, 3), np.array([-1, 0])),
     ValueError, ["labels", "0..2", "-1"]),
    ("cross_entropy logits rank", lambda: F.cross_entropy(t(2, 3, 4), np.array([0, 1])),
     ValueError, ["logits", "(N, classes)", "(2, 3, 4)"]),
    ("mse shapes", lambda: F.mse(t(2, 3), np.ones((3, 2))), ValueError,
     ["mse", "(2, 3)", "(3, 2)"]),
    ("dropout rate 1", lambda: F.dropout(t(2), 1.0), ValueError, ["dropout rate", "1.0", "[0, 1)"]),
    ("dropout rate negative", lambda: F.dropout(t(2), -0.1), ValueError,
     ["dropout rate", "-0.1", "[0, 1)"]),
    ("dropout rate str", lambda: F.dropout(t(2), "0.5"), TypeError,
     ["dropout rate", "'0.5'", "[0, 1)"]),
    ("manual_seed negative", lambda: tc.manual_seed(-1), ValueError,
     ["seed", "-1", "non-negative int"]),
    ("manual_seed float", lambda: tc.manual_seed(1.5), ValueError, ["seed", "1.5", "int"]),
    ("manual_seed str", lambda: tc.manual_seed("0"), ValueError, ["seed", "'0'", "int"]),
]


@pytest.mark.parametrize("call, exc, fragments", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(call, exc, fragments):
    with pytest.raises(exc) as info:
        call()
    assert isinstance(info.value, (TypeError, ValueError))
    message = str(info.value)
    missing = [f for f in fragments if f not in message]
    assert not missing, f"message {message!r} lacks {missing}"


def test_out_of_range_index_is_a_value_error_and_iteration_still_ends():
    # A ValueError (the project's rule), and iteration over a tensor still ends cleanly.
    with pytest.raises(ValueError):
        t(3)[3]
    assert len(list(t(3))) == 3


def test_a_failed_op_leaves_no_partial_graph():
    x = t(2, 3, requires_grad=True)
    with pytest.raises(ValueError):
        x @ t(2, 3)
    (x * 2).sum().backward()  # the tensor is still perfectly usable
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 2.0))
