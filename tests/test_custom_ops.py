"""The contract of a custom op (a ``tc.Function`` defined outside the library), held where a
mistake happens.

Each mistake gets its own row: the op that makes it, where the error must come from, its
type and the message, which names the op and the fix. Mistakes a numpy error would
otherwise hide (a forward writing into its input) or that would pass silently (a list
from forward, a Tensor or a float32 gradient from backward) are the point: after the
error nothing of the caller's has changed. docs/custom_ops.md shows the same messages
("Common mistakes"), and a test there keeps them the real ones.

Built-in ops skip these checks (the hot path pays nothing), which the last tests pin down.
"""

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor
from tinygrad_cnn.function import Function


def leaf(*values, dtype=np.float64):
    return Tensor(np.array(values, dtype=dtype), requires_grad=True)


class Square(tc.Function):
    """x², written as the docs write it: forward saves x, backward reads it."""

    name = "square"

    def forward(self, x):
        self.save_for_backward(x)
        return x * x

    def backward(self, grad):
        (x,) = self.saved
        return (2 * x * grad,)


# --------------------------------------------------------------- each mistake, as written
class ReturnsAList(Square):
    def forward(self, x):
        return (x * x).tolist()


class ReturnsANumber(Square):
    def forward(self, x):
        return float((x * x).sum())


class ReturnsATensor(Square):
    def forward(self, x):
        return Tensor(x * x)


class WritesIntoItsInput(Square):
    def forward(self, x):
        x *= x
        return x


class AssignsIntoItsInput(Square):
    def forward(self, x):
        x[0] = 0.0
        return x * x


class ForgetsToSave(Square):
    def forward(self, x):
        return x * x


class IndexesWhatItNeverSaved(ForgetsToSave):
    def backward(self, grad):
        return (2 * self.saved[0] * grad,)


class BackwardReturnsATensor(Square):
    def backward(self, grad):
        (x,) = self.saved
        return (Tensor(2 * x * grad),)


class BackwardReturnsFloat32(Square):
    def backward(self, grad):
        (x,) = self.saved
        return ((2 * x * grad).astype(np.float32),)


class GraphReturnsArrays(Square):
    def backward_graph(self, grad, inputs, output):
        (x,) = inputs
        return (2 * x.data * grad.data,)


class DerivativeReturnsArrays(tc.Function):
    name = "cube"

    def forward(self, x):
        return x ** 3

    def derivative(self, grad, inputs, output):
        (x,) = inputs
        return (3 * np.asarray(x) ** 2 * np.asarray(grad),)  # constants: nothing recorded


class DerivativeReturnsATensor(DerivativeReturnsArrays):
    def derivative(self, grad, inputs, output):
        (x,) = inputs
        return (3 * Tensor(x) ** 2 * grad,)


def first_order(op):
    def run():
        x = leaf(1.0, 2.0)
        op.apply(x).sum().backward()
    return run


def second_order(op):
    def run():
        x = leaf(1.0, 2.0)
        tc.grad(op.apply(x).sum(), [x], create_graph=True)
    return run


MISTAKES = {
    "forward returns a list": (
        lambda: ReturnsAList.apply(leaf(1.0)), TypeError,
        r"op 'square' \(ReturnsAList\): forward must return an ndarray; got list\. "
        r"Return np\.asarray\(result\)"),
    "forward returns a Python number": (
        lambda: ReturnsANumber.apply(leaf(1.0)), TypeError,
        r"op 'square' \(ReturnsANumber\): forward must return an ndarray; got float\. "
        r"Return np\.asarray\(result\)"),
    "forward returns a Tensor": (
        lambda: ReturnsATensor.apply(leaf(1.0)), TypeError,
        r"forward must return an ndarray; got Tensor"),
    "forward writes into its input with *=": (
        lambda: WritesIntoItsInput.apply(leaf(1.0)), ValueError,
        r"op 'square' \(WritesIntoItsInput\): forward wrote into a read-only array \(output "
        r"array is read-only\)\. A custom op's inputs reach forward read-only, so the "
        r"caller's data stays unchanged: compute a new array \(y = x \* 2, not x \*= 2\), or "
        r"copy first \(x = x\.copy\(\)\)"),
    "forward assigns into its input": (
        lambda: AssignsIntoItsInput.apply(leaf(1.0)), ValueError,
        r"op 'square' \(AssignsIntoItsInput\): forward wrote into a read-only array "
        r"\(assignment destination is read-only\)"),
    "backward unpacks self.saved, nothing saved": (
        first_order(ForgetsToSave()), RuntimeError,
        r"op 'square' \(ForgetsToSave\): backward read self\.saved, but forward saved "
        r"nothing; call self\.save_for_backward\(\.\.\.\) in ForgetsToSave\.forward with the "
        r"arrays backward needs \(e\.g\. self\.save_for_backward\(x\)\)"),
    "backward indexes self.saved, nothing saved": (
        first_order(IndexesWhatItNeverSaved()), RuntimeError,
        r"op 'square' \(IndexesWhatItNeverSaved\): backward read self\.saved, but forward "
        r"saved nothing"),
    "backward returns a Tensor": (
        first_order(BackwardReturnsATensor()), TypeError,
        r"op 'square' \(BackwardReturnsATensor\): backward returned a Tensor for input 0; "
        r"backward works on ndarrays and must return ndarrays \(a Tensor's array is "
        r"t\.data\)\. Gradients in Tensor operations belong in backward_graph\(self, grad, "
        r"inputs, output\), which create_graph=True calls"),
    "derivative returns a Tensor from arrays": (
        first_order(DerivativeReturnsATensor()), TypeError,
        r"op 'cube' \(DerivativeReturnsATensor\): derivative returned a Tensor for input 0 "
        r"from ndarrays; in a first-order backward it gets ndarrays and must return "
        r"ndarrays: use only the operations that arrays and Tensors share"),
    "backward returns float32 for a float64 input": (
        first_order(BackwardReturnsFloat32()), ValueError,
        r"op 'square' \(BackwardReturnsFloat32\): backward returned a float32 gradient for "
        r"input 0, whose dtype is float64; return each gradient in its input's dtype \(e\.g\. "
        r"g\.astype\(x\.dtype\), or compute it from grad and the input only\)"),
    "backward_graph returns ndarrays": (
        second_order(GraphReturnsArrays()), TypeError,
        r"op 'square' \(GraphReturnsArrays\): backward_graph returned ndarray for input 0 "
        r"under create_graph=True; return Tensors computed with Tensor operations from grad, "
        r"inputs and output \(e\.g\. grad \* inputs\[0\]\), so the gradient is recorded and "
        r"can be differentiated again"),
    "derivative returns ndarrays under create_graph": (
        second_order(DerivativeReturnsArrays()), TypeError,
        r"op 'cube' \(DerivativeReturnsArrays\): derivative returned ndarray for input 0 "
        r"under create_graph=True"),
}


@pytest.mark.parametrize("call, error, message", MISTAKES.values(), ids=MISTAKES.keys())
def test_each_mistake_is_caught_where_it_happens_with_the_op_and_the_fix(call, error,
                                                                          message):
    with pytest.raises(error, match=message):
        call()


def test_a_write_into_the_input_leaves_the_callers_array_unchanged():
    data = np.array([1.0, 2.0, 3.0])
    x = Tensor(data, requires_grad=True)
    with pytest.raises(ValueError, match="forward wrote into a read-only array"):
        WritesIntoItsInput.apply(x)
    np.testing.assert_array_equal(data, [1.0, 2.0, 3.0])
    assert x.data is data and data.flags.writeable  # the caller's array keeps its flags


def test_a_mistaken_gradient_is_stored_nowhere():
    x = leaf(1.0, 2.0)
    with pytest.raises(TypeError, match="backward returned a Tensor"):
        BackwardReturnsATensor.apply(x).sum().backward()
    assert x.grad is None


def test_the_error_for_reading_self_saved_comes_from_the_line_that_reads_it():
    with pytest.raises(RuntimeError, match="forward saved nothing") as info:
        first_order(ForgetsToSave())()
    frames = [frame.name for frame in info.traceback]
    assert frames[-2] == "backward"  # then the read of self.saved itself


# ---------------------------------------------------------- what stays allowed
def test_square_follows_its_closed_form():
    x = leaf(1.0, -2.0, 3.0)
    y = Square.apply(x)
    y.sum().backward()
    np.testing.assert_array_equal(y.data, [1.0, 4.0, 9.0])
    np.testing.assert_array_equal(x.grad, [2.0, -4.0, 6.0])  # d x²/dx = 2x


def test_the_class_level_call_is_a_new_instance_per_call():
    x = leaf(1.0, 2.0)
    a, b = Square.apply(x), Square.apply(x)  # PyTorch's spelling
    assert type(a._ctx) is Square and a._ctx is not b._ctx
    np.testing.assert_array_equal(a.data, Square().apply(x).data)
    op = Square()
    op.apply(x)
    with pytest.raises(RuntimeError, match="already applied"):
        op.apply(x)  # an instance's apply keeps its rule: one call


def test_the_class_level_call_takes_only_tensors():
    with pytest.raises(TypeError, match=r"square\.apply takes Tensors; input 0 is ndarray"):
        Square.apply(np.ones(2))


def test_a_list_of_gradients_is_accepted_like_a_tuple():
    class ListBackward(Square):
        def backward(self, grad):
            (x,) = self.saved
            return [2 * x * grad]

    x = leaf(1.0, 3.0)
    ListBackward.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 6.0])


def test_numpy_scalars_from_0d_arithmetic_and_python_numbers_as_gradients_are_accepted():
    class Double(tc.Function):
        name = "double"

        def forward(self, x):
            return 2 * x  # numpy gives a float64 scalar for a 0-d array, not an array

        def backward(self, grad):
            return (2.0,)  # a Python number: no dtype of its own

    s = Tensor(np.array(4.0), requires_grad=True)
    y = Double.apply(s)
    assert type(y.data) is np.ndarray and y.shape == () and y.dtype == np.float64
    y.backward()
    assert s.grad == 2.0 and s.grad.dtype == np.float64


def test_the_dtype_is_checked_only_for_inputs_that_want_a_gradient():
    class Scale(tc.Function):
        name = "scale"

        def forward(self, x, factor):
            return x * factor

        def backward(self, grad):
            x, factor = (p.data for p in self.parents)
            return grad * factor, np.zeros(1, np.float32)  # the factor's is never used

    x, factor = leaf(1.0, 2.0), Tensor(np.array([3.0]))
    Scale.apply(x, factor).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, 3.0])


def test_an_op_returning_a_view_of_its_input_gives_a_writable_output():
    class Identity(tc.Function):
        name = "identity"

        def forward(self, x):
            return x

        def backward(self, grad):
            return (grad,)

    data = np.array([1.0, 2.0])
    y = Identity.apply(Tensor(data))
    assert y.data.flags.writeable
    y += 1  # the output is the caller's to change; the input is not touched through it
    np.testing.assert_array_equal(data, [1.0, 2.0])
    np.testing.assert_array_equal(y.data, [2.0, 3.0])


def test_an_op_saving_nothing_and_reading_nothing_works():
    class Negate(tc.Function):
        name = "negate"

        def forward(self, x):
            return -x

        def backward(self, grad):
            return (-grad,)

    x = leaf(1.0, 2.0)
    Negate.apply(x).sum().backward()
    np.testing.assert_array_equal(x.grad, [-1.0, -1.0])


def test_a_custom_op_is_still_twice_differentiable_through_backward_graph():
    class SquareTwice(Square):
        def backward_graph(self, grad, inputs, output):
            (x,) = inputs
            return (2 * x * grad,)

    x = leaf(1.0, -2.0)
    (g,) = tc.grad(SquareTwice.apply(x).sum(), [x], create_graph=True)
    (h,) = tc.grad(g.sum(), [x])
    np.testing.assert_array_equal(g.data, [2.0, -4.0])
    np.testing.assert_array_equal(h.data, [2.0, 2.0])  # d²x²/dx² = 2


# ------------------------------------------------------- built-in ops pay nothing
def library_op_classes():
    import tinygrad_cnn.ops as ops_package
    classes = []
    for info in pkgutil.iter_modules(ops_package.__path__):
        module = importlib.import_module(f"tinygrad_cnn.ops.{info.name}")
        classes += [c for _, c in inspect.getmembers(module, inspect.isclass)
                    if issubclass(c, Function) and c.__module__ == module.__name__]
    return classes


def test_only_ops_defined_outside_the_library_are_custom():
    classes = library_op_classes()
    assert len(classes) > 25
    assert [c.__name__ for c in classes if c.custom] == []
    assert not Function.custom
    assert Square.custom and ForgetsToSave.custom


def test_a_built_in_op_gets_the_callers_array_itself():
    seen = []

    class Spy(tc.Function):  # defined here, so custom: a read-only view
        def forward(self, x):
            seen.append(x)
            return x + 1

    data = np.ones(2)
    Spy.apply(Tensor(data))
    assert seen[0] is not data and not seen[0].flags.writeable and seen[0].base is data
    from tinygrad_cnn.ops.elementwise import ExpOp
    seen.clear()
    spying = type("SpyExp", (ExpOp,), {"forward": lambda self, x: seen.append(x) or
                                       np.exp(x), "__module__": "tinygrad_cnn.ops.fake"})
    spying.apply(Tensor(data))  # a class of the library: no view, no check
    assert seen[0] is data


# ------------------------------------------------- the docs show the real messages
DOC = Path(__file__).resolve().parents[1] / "docs" / "custom_ops.md"


def doc_mistakes():
    """(snippet, message) pairs of docs/custom_ops.md's "Common mistakes" section."""
    text = DOC.read_text()
    section = text.split("## 4. Common mistakes")[1].split("\n## ")[0]
    return re.findall(r"```python\n(.*?)```\s*```\n(.*?)```", section, re.S)


def test_the_docs_show_every_mistake():
    assert len(doc_mistakes()) == 6


@pytest.mark.parametrize("snippet, message", doc_mistakes())
def test_each_message_in_the_docs_is_the_one_its_snippet_raises(snippet, message):
    namespace = {"np": np, "tc": tc, "x": leaf(1.0, 2.0)}
    exec(re.search(r"```python\n(.*?)```", DOC.read_text(), re.S)[1], namespace)  # Softplus
    data = np.array([1.0, 2.0])
    namespace["x"] = Tensor(data, requires_grad=True)
    with pytest.raises(Exception) as info:
        exec(snippet, namespace)
    shown = " ".join(message.split())
    assert f"{type(info.value).__name__}: {info.value}" == shown
    np.testing.assert_array_equal(data, [1.0, 2.0])  # the caller's data, whatever happened
