"""The one way to define a differentiable op: a small ``Function`` subclass.

An op has three steps, each a method on ndarrays:

- ``check(*arrays)`` validates the inputs (ranks, dtypes, shapes agreeing) before any
  arithmetic, so a bad call gets a clear ``ValueError`` instead of a numpy traceback from
  deep inside (Chainer's ``check_type_forward``). Hyper-parameters are validated once, in
  ``__init__``.
- ``forward(*arrays)`` computes the output and keeps what backward needs with
  ``save_for_backward``.
- ``backward(grad)`` returns one gradient per input (``None`` where none is needed).

Most ops write their derivative once, as ``derivative(grad, inputs, output)`` in operations
that ndarrays and Tensors share; the base class runs it on arrays for ``backward`` and on
Tensors for ``backward_graph`` (``create_graph=True``). An op that needs a faster array
path (in-place buffers, BLAS per tap) writes ``backward`` and ``backward_graph`` itself.

``apply(*tensors)`` runs the three and records the node in the graph when an input
requires grad and grad mode (``autograd.no_grad``) is on. ``MyOp.apply(t)``, PyTorch's
class-level call, is ``MyOp().apply(t)``.

A custom op (one defined outside this package) is held to its contract where a mistake
happens, with a message naming the op and the fix: its ``forward`` gets read-only inputs
and must return an ndarray, and reading ``self.saved`` when ``forward`` saved nothing
fails at once (``autograd`` checks what its ``backward`` returns). Built-in ops skip these
checks, so the hot path pays one class attribute read. This module never imports
``tensor.py``: an op's output is made by the class of its inputs (always Tensors), so
imports flow one way, autograd → function/ops → tensor → functional → nn.
"""

from __future__ import annotations

import numpy as np

from . import autograd

_PACKAGE = __name__.partition(".")[0]


class _OpClass(type):
    """The class of op classes: gives ``MyOp.apply(t)``, PyTorch's class-level call.

    A property of the metaclass is seen only by ``MyOp.apply``; an instance's ``.apply``
    still finds ``Function.apply`` in its class, so ``MyOp().apply(t)`` costs nothing more.
    """

    @property
    def apply(cls):
        def apply(*inputs):
            return cls().apply(*inputs)

        apply.__doc__ = f"{cls.__name__}().apply(*inputs): a new instance, applied once."
        return apply


def _read_only(a: np.ndarray) -> np.ndarray:
    view = a.view()
    view.flags.writeable = False
    return view


class _NothingSaved(tuple):
    """``self.saved`` of a custom op whose forward saved nothing: empty, and reading an item
    (``(x,) = self.saved``, ``self.saved[0]``) raises an error that says what to do."""

    def __new__(cls, op):
        nothing = super().__new__(cls)
        nothing.op = op
        return nothing

    def _refuse(self, *args):
        op = type(self.op).__name__
        raise RuntimeError(f"op '{self.op.name}' ({op}): backward read self.saved, but "
                           f"forward saved nothing; call self.save_for_backward(...) in "
                           f"{op}.forward with the arrays backward needs (e.g. "
                           f"self.save_for_backward(x))")

    __iter__ = __getitem__ = _refuse


class Function(metaclass=_OpClass):
    """Base class of every op. Subclasses define ``forward`` and either ``derivative``
    (written once, for both orders) or the pair ``backward`` and ``backward_graph``.

    ``backward(grad)`` returns one gradient per forward input, in order (``None`` for
    inputs that need none). Gradients may be views or the incoming ``grad`` itself; the
    engine never writes into them.
    """

    name = "op"  # shown in rendered graphs; subclasses override
    # The derivative in one line of text for learners, the op's name first:
    # "exp: ∂y/∂x = eˣ = y". Printed beside the numbers when backward is explained.
    rule: str | None = None

    parents: tuple = ()
    saved: tuple = ()
    applied = False  # an instance records one call: a second apply() is refused
    gradient_of = None  # for ops that compute another op's gradient: that op's name
    layer = None  # the layer whose call created this node, if any (nn.Layer tags it after the call)
    needs_input_grad: tuple = ()
    # Whether this call is recorded for backward. Already known when ``forward`` runs, so an
    # op can skip what only its backward would need (inference, ``no_grad``).
    records = True
    # Defined outside tinygrad_cnn: set once per class, read once per call, so only custom
    # ops pay for their checks (read-only inputs, the types of what they return).
    custom = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.custom = not cls.__module__.startswith(_PACKAGE + ".")

    def check(self, *arrays: np.ndarray) -> None:
        """Raise ValueError/TypeError for inputs ``forward`` cannot take (default: accept)."""

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def derivative(self, grad, inputs, output) -> tuple:
        """The local derivative, written once: one gradient per input, from ``grad``.

        ``backward`` calls it with ndarrays, ``backward_graph`` with Tensors, so a rule
        uses only what both have: arithmetic, ``sum``/``reshape``/``transpose``/indexing/
        ``astype``, ``unbroadcast`` and the few functions next to it in
        ``ops/elementwise.py`` (``exp``, ``log``, ``where``, ``broadcast_to``). A mask that
        is piecewise constant (max's winners, clip's inside) is read with
        ``np.asarray(t)``, which gives a Tensor's values as a constant. ``grad`` is
        ∂L/∂output, ``inputs`` are what ``forward`` got (in order) and ``output`` what it
        returned, for rules that read it (``exp``'s derivative is its output).
        """
        cls = type(self).__name__
        if type(self).backward is not Function.backward:
            raise NotImplementedError(
                f"op '{self.name}' ({cls}) has only an ndarray backward, so create_graph=True "
                f"cannot differentiate through it. Make it twice differentiable by defining "
                f"{cls}.backward_graph(self, grad, inputs, output) with Tensor operations, or "
                f"write its derivative once as {cls}.derivative(self, grad, inputs, output) "
                f"with operations that arrays and Tensors share (see docs/custom_ops.md)"
            )
        raise NotImplementedError(
            f"op '{self.name}' ({cls}) has no derivative: define {cls}.derivative(self, grad, "
            f"inputs, output), or backward(self, grad) on ndarrays (see docs/custom_ops.md)"
        )

    def backward(self, grad: np.ndarray) -> tuple:
        """First order: ``derivative`` on ndarrays.

        The inputs are the arrays ``forward`` got, which the graph holds anyway (each
        parent Tensor's data), so nothing is saved for them. The output is what
        ``forward`` saved with ``save_for_backward(out)``, for rules that read it.
        """
        output = self.saved[0] if self.saved else None
        return self.derivative(grad, [p.data for p in self.parents], output)

    def backward_graph(self, grad, inputs: tuple, output) -> tuple:
        """``backward`` in Tensor operations, so the gradients are differentiable again.

        Called instead of ``backward`` by ``tc.grad(..., create_graph=True)``. ``grad`` is
        a Tensor, ``inputs`` are the Tensors ``forward`` saw (in order) and ``output`` the
        Tensor it returned; return one Tensor (or None) per input, computed from them with
        Tensor operations. What ``save_for_backward`` kept can be used as constants.
        By default: ``derivative`` on these Tensors.
        """
        return self.derivative(grad, inputs, output)

    def gradient_method(self, create_graph: bool) -> str:
        """The name of the method that computes this op's gradients in the given walk."""
        cls = type(self)
        if create_graph and cls.backward_graph is not Function.backward_graph:
            return "backward_graph"
        if not create_graph and cls.backward is not Function.backward:
            return "backward"
        return "derivative"

    def save_for_backward(self, *arrays) -> None:
        self.saved = arrays

    def release(self) -> None:
        """Drop saved arrays and parents so the activations can be freed after backward."""
        self.saved, self.parents = None, ()

    def describe(self) -> str:
        """Label for graph drawings: the op name and its hyper-parameters."""
        return self.name

    def apply(self, *inputs):
        """Run the op on Tensors; the output is recorded when an input requires grad."""
        if self.applied:
            raise RuntimeError(f"this {type(self).__name__} instance was already applied; an "
                               f"op instance records one call, so create a new one per call "
                               f"({type(self).__name__}(...).apply(...))")
        self.applied = True
        for i, t in enumerate(inputs):
            if not hasattr(t, "_ctx"):
                raise TypeError(f"{self.name}.apply takes Tensors; input {i} is "
                                f"{type(t).__name__}. Wrap arrays with tc.Tensor(...) first")
        arrays = [t.data for t in inputs]
        needs = tuple([t.requires_grad for t in inputs]) if autograd._grad_enabled else ()
        if True not in needs:
            self.records = False  # before forward: see ``records``
        if self.custom:
            result = self._forward_custom(arrays)
        else:
            self.check(*arrays)
            result = self.forward(*arrays)
        out = type(inputs[0])._from_op(result)
        if True in needs:
            self.parents = tuple(inputs)
            self.needs_input_grad = needs
            out.requires_grad = True
            out._ctx = self
        else:
            self.saved = ()
        return out

    def _forward_custom(self, arrays: list) -> np.ndarray:
        """``check`` and ``forward`` of a custom op, on read-only views of its inputs, with
        each mistake reported where it happens."""
        views = [_read_only(a) for a in arrays]
        self.check(*views)
        op = f"op '{self.name}' ({type(self).__name__})"
        try:
            out = self.forward(*views)
        except ValueError as error:
            if "read-only" not in str(error):
                raise
            raise ValueError(f"{op}: forward wrote into a read-only array ({error}). A custom "
                             f"op's inputs reach forward read-only, so the caller's data "
                             f"stays unchanged: compute a new array (y = x * 2, not x *= 2), "
                             f"or copy first (x = x.copy())") from error
        if isinstance(out, np.generic):  # what numpy arithmetic on 0-d arrays gives
            out = np.asarray(out)
        elif not isinstance(out, np.ndarray):
            raise TypeError(f"{op}: forward must return an ndarray; got "
                            f"{type(out).__name__}. Return np.asarray(result)")
        elif not out.flags.writeable:
            out = out.copy()  # a view of a read-only input: the output is the caller's to change
        if self.records and "saved" not in vars(self):
            self.saved = _NothingSaved(self)
        return out
