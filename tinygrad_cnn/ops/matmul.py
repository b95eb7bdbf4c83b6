"""Matrix product with np.matmul semantics: 1-D, 2-D and batched (broadcast) operands."""

import numpy as np

from ..function import Function
from .elementwise import unbroadcast


class MatMulOp(Function):
    """d(a@b)/da = grad @ bᵀ, d(a@b)/db = aᵀ @ grad (batch axes summed back by unbroadcast)."""

    name = "matmul"

    def check(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul needs operands with at least 1 dimension; got shapes "
                             f"{a.shape} and {b.shape}")
        k_a, k_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
        if k_a != k_b:
            raise ValueError(
                f"matmul shape mismatch: {a.shape} @ {b.shape}; the last dimension of the left "
                f"operand ({k_a}) must equal the {'only' if b.ndim == 1 else 'second-to-last'} "
                f"dimension of the right operand ({k_b})"
            )
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError:
            raise ValueError(f"matmul: batch dimensions of {a.shape} and {b.shape} do not "
                             f"broadcast") from None

    def forward(self, a, b):
        self.save_for_backward(a, b)
        return a @ b

    def backward(self, grad):
        a, b = self.saved
        if a.ndim == 2 and b.ndim == 2:  # the common case (Dense layers), without the detours
            da = grad @ b.T if self.needs_input_grad[0] else None
            db = a.T @ grad if self.needs_input_grad[1] else None
            return da, db
        # Promote 1-D operands to matrices the way np.matmul does, then undo it.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if b.ndim == 1:  # b first: for 1-D @ 1-D the 0-d grad becomes (1, 1)
            g = np.expand_dims(g, -1)
        if a.ndim == 1:
            g = np.expand_dims(g, -2)
        da = db = None
        if self.needs_input_grad[0]:
            da = unbroadcast(g @ np.swapaxes(b2, -1, -2), a2.shape)
            if a.ndim == 1:  # reshape only when needed: a view would cost the engine a copy
                da = da.reshape(a.shape)
        if self.needs_input_grad[1]:
            db = unbroadcast(np.swapaxes(a2, -1, -2) @ g, b2.shape)
            if b.ndim == 1:
                db = db.reshape(b.shape)
        return da, db

    def backward_graph(self, grad, inputs, output):
        a, b = inputs
        a2 = a[None, :] if a.ndim == 1 else a  # the same promotions as above, on Tensors
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if b.ndim == 1:
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        da = unbroadcast(g @ _swap_last_axes(b2), a2.shape).reshape(a.shape)
        db = unbroadcast(_swap_last_axes(a2) @ g, b2.shape).reshape(b.shape)
        return da, db


def _swap_last_axes(t):
    axes = list(range(t.ndim))
    axes[-2:] = axes[:-3:-1]
    return t.transpose(tuple(axes))
