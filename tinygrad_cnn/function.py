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
requires grad and grad mode (``autograd.no_grad``) is on. This module never imports
``tensor.py``: an op's output is made by the class of its inputs (always Tensors), so
imports flow one way, autograd → function/ops → tensor → functional → nn.
"""

from __future__ import annotations

import numpy as np

from . import autograd


class Function:
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
        self.check(*arrays)
        needs = tuple([t.requires_grad for t in inputs]) if autograd._grad_enabled else ()
        if True not in needs:
            self.records = False  # before forward: see ``records``
        out = type(inputs[0])._from_op(self.forward(*arrays))
        if True in needs:
            self.parents = tuple(inputs)
            self.needs_input_grad = needs
            out.requires_grad = True
            out._ctx = self
        else:
            self.saved = ()
        return out
