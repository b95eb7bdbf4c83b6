"""Matrix product with np.matmul semantics (1-D, 2-D and batched operands), and Dense's op."""

import numpy as np

from .. import workspace
from ..checks import check_bool, check_float_array, check_same_dtype
from ..function import Function
from .elementwise import unbroadcast


class MatMulOp(Function):
    name = "matmul"
    rule = "matmul: ∂L/∂a = ∂L/∂y·bᵀ, ∂L/∂b = aᵀ·∂L/∂y (batch axes summed back)"

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
        return a @ b

    def derivative(self, grad, inputs, output):
        a, b = inputs
        needs = self.needs_input_grad
        if a.ndim == 2 and b.ndim == 2:  # the common case (Dense layers), without the detours
            return (grad @ b.T if needs[0] else None, a.T @ grad if needs[1] else None)
        # Promote 1-D operands to matrices the way np.matmul does, then undo it.
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        g = grad
        if b.ndim == 1:  # b first: for 1-D @ 1-D the 0-d grad becomes (1, 1)
            g = g[..., None]
        if a.ndim == 1:
            g = g[..., None, :]
        da = db = None
        if needs[0]:
            da = unbroadcast(g @ _swap_last_axes(b2), a2.shape)
            if a.ndim == 1:  # reshape only when needed: a view would cost the engine a copy
                da = da.reshape(a.shape)
        if needs[1]:
            db = unbroadcast(_swap_last_axes(a2) @ g, b2.shape)
            if b.ndim == 1:
                db = db.reshape(b.shape)
        return da, db


def _swap_last_axes(t):
    axes = list(range(t.ndim))
    axes[-2:] = axes[:-3:-1]
    return t.transpose(tuple(axes))


class DenseOp(Function):
    """``x @ kernel + bias`` over the last axis of x, with an optional ReLU: Keras' Dense.

    One GEMM, then the bias and the ReLU in place on its output while it is in cache
    (``F.relu(x @ kernel + bias)`` would take three ops and two more arrays).
    """

    name = "dense"
    rule = ("dense: ∂L/∂x = g·kernelᵀ, ∂L/∂kernel = xᵀ·g, ∂L/∂bias = Σ g, with g = ∂L/∂y "
            "(0 where the fused relu gave 0)")

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
        out = out.reshape(*x.shape[:-1], kernel.shape[1])
        if self.relu:
            self.save_for_backward(out)
        return out

    def derivative(self, grad, inputs, output):
        x, kernel = inputs[:2]
        needs = self.needs_input_grad
        g = grad.reshape(-1, kernel.shape[1])                       # (M, out)
        if self.relu:  # the mask is piecewise constant; != 0 passes NaN's gradient, as relu
            g = g * (np.asarray(output).reshape(g.shape) != 0)
        dx = (g @ kernel.T).reshape(x.shape) if needs[0] else None
        dkernel = x.reshape(-1, x.shape[-1]).T @ g if needs[1] else None
        dbias = (g.sum(axis=0) if needs[2] else None,) if len(inputs) > 2 else ()
        return (dx, dkernel, *dbias)
