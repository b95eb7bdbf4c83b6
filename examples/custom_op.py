"""Write your own op: forward and backward on arrays, check it, then differentiate it twice.

    python examples/custom_op.py

The op is softplus, log(1 + eˣ), Keras' smooth ReLU. docs/custom_ops.md walks through
the same code.
"""

from __future__ import annotations

import numpy as np

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor


class Softplus(tc.Function):
    """softplus(x) = log(1 + eˣ); d softplus/dx = sigmoid(x)."""

    name = "softplus"  # the label in rendered graphs

    def forward(self, x):                   # ndarrays in, ndarray out
        self.save_for_backward(x)
        return np.logaddexp(0, x)           # log(1 + eˣ) without overflow

    def backward(self, grad):               # one gradient per forward input
        (x,) = self.saved
        return (grad / (1 + np.exp(-x)),)   # grad · sigmoid(x)


class TwiceDifferentiableSoftplus(Softplus):
    """The same op, plus its backward written with Tensor operations."""

    def backward_graph(self, grad, inputs, output):
        (x,) = inputs                       # the Tensor forward saw: part of the graph
        return (grad * x.sigmoid(),)        # recorded, so it can be differentiated again


def softplus(x: Tensor) -> Tensor:
    return TwiceDifferentiableSoftplus().apply(x)  # one new op instance per call


def main() -> None:
    x = Tensor(np.array([-2.0, -0.5, 0.0, 1.5, 30.0]), requires_grad=True)
    y = Softplus().apply(x)
    print("softplus(x)           ", np.array2string(y.data, precision=6))
    y.sum().backward()
    print("d/dx = sigmoid(x)     ", np.array2string(x.grad, precision=6))

    small = Tensor(np.random.default_rng(0).standard_normal(6), requires_grad=True)
    print("gradcheck (first order):      ", tc.gradcheck(lambda t: Softplus().apply(t), [small]))
    try:
        tc.grad(Softplus().apply(small).sum(), [small], create_graph=True)
    except NotImplementedError as exc:
        print(f"create_graph without backward_graph: {exc}")

    print("gradgradcheck (second order): ", tc.gradgradcheck(softplus, [small]))
    (d1,) = tc.grad(softplus(x).sum(), [x], create_graph=True)
    (d2,) = tc.grad(d1.sum(), [x])
    sigmoid = 1 / (1 + np.exp(-x.data))
    print("d²/dx² = σ(x)(1 − σ(x)) ", np.array2string(d2.data, precision=6))
    print("by hand                ", np.array2string(sigmoid * (1 - sigmoid), precision=6))


if __name__ == "__main__":
    main()
