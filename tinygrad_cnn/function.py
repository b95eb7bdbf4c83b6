"""The one way to define a differentiable op.

An op is a small ``Function`` subclass: hyper-parameters go to ``__init__`` (and are
validated there), ``forward`` and ``backward`` work on raw ndarrays, and whatever backward
needs is kept with ``save_for_backward``. ``apply`` wraps the arrays in Tensors and records
the node in the graph only when an input requires grad and grad mode is on.
"""

from __future__ import annotations

import contextlib

import numpy as np

_grad_enabled = True
_layer_scope: list = []  # the layers being called, innermost last (for viz clusters)
_Tensor = None  # tensor.Tensor, bound on the first apply()


@contextlib.contextmanager
def no_grad():
    """Context manager under which ops record nothing (inference, optimizer updates)."""
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, False
    try:
        yield
    finally:
        _grad_enabled = previous


def is_grad_enabled() -> bool:
    return _grad_enabled


@contextlib.contextmanager
def layer_scope(layer):
    """Ops created inside belong to ``layer`` (an object with ``.name``); viz clusters them."""
    _layer_scope.append(layer)
    try:
        yield
    finally:
        _layer_scope.pop()


class Function:
    """Base class of every op. Subclasses define ``forward`` and ``backward``.

    ``backward(grad)`` returns one gradient per forward input, in order (``None`` for
    inputs that need none). Gradients may be views or the incoming ``grad`` itself; the
    engine never writes into them.
    """

    name = "op"  # shown in rendered graphs; subclasses override

    parents: tuple = ()
    saved: tuple = ()
    layer = None  # the layer whose call created this node, if any
    needs_input_grad: tuple = ()

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad: np.ndarray) -> tuple:
        raise NotImplementedError

    def save_for_backward(self, *arrays) -> None:
        self.saved = arrays

    def release(self) -> None:
        """Drop saved arrays and parents so the activations can be freed after backward."""
        self.saved, self.parents = None, ()

    def describe(self) -> str:
        """Label for graph drawings: the op name and its hyper-parameters."""
        return self.name

    def apply(self, *inputs):
        global _Tensor
        if _Tensor is None:  # imported on first use: tensor.py imports this module
            from .tensor import Tensor as _Tensor

        tensors = [x if isinstance(x, _Tensor) else _Tensor(x) for x in inputs]
        out = _Tensor._from_op(self.forward(*[t.data for t in tensors]))
        needs = tuple([t.requires_grad for t in tensors]) if _grad_enabled else ()
        if True in needs:
            self.parents = tuple(tensors)
            self.needs_input_grad = needs
            if _layer_scope:
                self.layer = _layer_scope[-1]
            out.requires_grad = True
            out._ctx = self
        else:
            self.saved = ()
        return out
