"""Matrix product with np.matmul semantics (1-D, 2-D and batched operands), and Dense's op."""

import numpy as np

from .. import workspace
from ..checks import check_bool, check_float_array, check_same_dtype
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
        if a.ndim <= 2 and b.ndim <= 2:
            return  # no batch axes to broadcast (Dense layers: the common case, kept cheap)
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


class DenseOp(Function):
    """``x @ kernel + bias`` over the last axis of x, with an optional ReLU: Keras' Dense.

    One GEMM, then the bias and the ReLU in place on its output while it is in cache
    (``F.relu(x @ kernel + bias)`` would take three ops and two more arrays).
    d/dx = g @ kernelᵀ, d/dkernel = xᵀ @ g, d/dbias = Σ g, where g is the incoming gradient
    zeroed where the ReLU's output is 0.
    """

    name = "dense"

    def __init__(self, relu=False):
        self.relu = check_bool(relu, "relu")

    def describe(self):
        return "dense + relu" if self.relu else "dense"

    def check(self, x, kernel, bias=None):
        check_float_array(x, "x", self.name)
        check_float_array(kernel, "kernel", self.name)
        check_same_dtype(x, kernel, "kernel", self.name)
        if kernel.ndim != 2 or x.ndim == 0 or x.shape[-1] != kernel.shape[0]:
            raise ValueError(f"dense: kernel must have shape (in, out) with in = the last axis "
                             f"of x; got x {x.shape} and kernel {kernel.shape}")
        if bias is not None:
            check_float_array(bias, "bias", self.name)
            check_same_dtype(x, bias, "bias", self.name)
            if bias.shape != kernel.shape[1:]:
                raise ValueError(f"dense: bias must have shape ({kernel.shape[1]},), one value "
                                 f"per output; got shape {bias.shape}")

    def forward(self, x, kernel, bias=None):
        x2 = x.reshape(-1, x.shape[-1])                             # (M, in)
        out = np.matmul(x2, kernel, out=workspace.empty((len(x2), kernel.shape[1]), x.dtype))
        if bias is not None:
            out += bias
        if self.relu:
            np.maximum(out, 0, out=out)
        self.save_for_backward(x2, kernel, x.shape, out if self.relu else None)
        return out.reshape(*x.shape[:-1], kernel.shape[1])

    def backward(self, grad):
        x2, kernel, x_shape, relu_out = self.saved
        needs = self.needs_input_grad
        g = grad.reshape(-1, kernel.shape[1])                       # (M, out)
        if relu_out is not None:
            g = g * (relu_out > 0)
        dx = (g @ kernel.T).reshape(x_shape) if needs[0] else None
        dkernel = x2.T @ g if needs[1] else None
        dbias = (g.sum(axis=0) if needs[2] else None,) if len(needs) > 2 else ()
        return (dx, dkernel, *dbias)

    def backward_graph(self, grad, inputs, output):
        x, kernel = inputs[:2]
        if self.relu:  # the mask is piecewise constant: a constant of the new graph
            grad = grad * np.asarray(output.data > 0, grad.dtype)
        g = grad.reshape(-1, kernel.shape[1])
        dx = (g @ kernel.T).reshape(x.shape)
        dkernel = x.reshape(-1, x.shape[-1]).T @ g
        dbias = (g.sum(axis=0),) if len(inputs) > 2 else ()
        return (dx, dkernel, *dbias)
