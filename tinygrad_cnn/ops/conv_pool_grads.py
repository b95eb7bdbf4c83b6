"""The gradients of convolution and pooling as ops of their own, for create_graph=True.

``Conv2DOp``, ``MaxPool2DOp`` and ``AvgPool2DOp`` compute their gradients on arrays in
``backward``. To differentiate a gradient again (second order and beyond), their
``backward_graph`` records it as one of the ops below, whose own gradients are again ops
of this family:

- conv's dx and d(kernel) are bilinear; each one's gradient is a conv or the other one,
  so the three conv ops differentiate one another to any order;
- max pool's dx routes each window's gradient to its first maximum (fixed routing, linear
  in the gradient); its gradient gathers the value there, whose gradient routes again;
- average pool's dx shares each window's gradient among its elements; its gradient is
  average pooling itself.

Each op holds the first-order op it differentiates (``of``) and calls that op's array
methods: ``conv.py`` and ``pool.py`` build these ops in their ``backward_graph``, so this
module cannot import them (imports flow one way, ``tests/test_architecture.py``).
"""

from __future__ import annotations

from ..function import Function


class Conv2DInputGradOp(Function):
    """``of.input_grad(g, kernel)``: conv's dx as an op, bilinear in (g, kernel).

    ``of`` is the conv without bias and ReLU (``Conv2DOp`` with its pads resolved).
    """

    name = "conv2d_input_grad"
    rule = ("conv2d_input_grad: ∂L/∂g = conv2d(∂L/∂y, kernel), "
            "∂L/∂kernel = conv2d_kernel_grad(∂L/∂y, g)")
    gradient_of = "conv2d"

    def __init__(self, of, x_shape):
        self.of, self.x_shape = of, tuple(x_shape)

    def forward(self, g, kernel):
        self.save_for_backward(g, kernel)
        return self.of.input_grad(g, kernel, self.x_shape)

    def backward(self, h):
        g, kernel = self.saved
        return (self.of.linear_output(h, kernel),
                self.of.kernel_grad(h, g, kernel.shape[:2]))

    def backward_graph(self, h, inputs, output):
        g, kernel = inputs
        return (self.of.again().apply(h, kernel),
                Conv2DKernelGradOp(self.of, kernel.shape[:2]).apply(h, g))


class Conv2DKernelGradOp(Function):
    """``of.kernel_grad(x, g)``: conv's d(kernel) as an op, bilinear in (x, g)."""

    name = "conv2d_kernel_grad"
    rule = "conv2d_kernel_grad: ∂L/∂x = conv2d_input_grad(g, ∂L/∂y), ∂L/∂g = conv2d(x, ∂L/∂y)"
    gradient_of = "conv2d"

    def __init__(self, of, kernel_hw):
        self.of, self.kernel_hw = of, tuple(kernel_hw)

    def forward(self, x, g):
        self.save_for_backward(x, g)
        return self.of.kernel_grad(x, g, self.kernel_hw)

    def backward(self, h):
        x, g = self.saved
        return (self.of.input_grad(g, h, x.shape), self.of.linear_output(x, h))

    def backward_graph(self, h, inputs, output):
        x, g = inputs
        return (Conv2DInputGradOp(self.of, x.shape).apply(g, h),
                self.of.again().apply(x, h))


class MaxPoolRouteOp(Function):
    """Max pool's dx as an op: each window's gradient to its first maximum, linear in it.

    ``hits`` (one bool mask per window tap, from ``MaxPool2DOp._first_max_hits``) fix the
    routing: the same windows send to the same elements whatever the gradient.
    """

    name = "max_pool2d_route"
    rule = "max_pool2d_route: ∂L/∂g = ∂L/∂y read at each window's first maximum (the gather)"
    gradient_of = "max_pool2d"

    def __init__(self, of, hits, xp_shape, pads, x_shape):
        self.of, self.hits, self.xp_shape, self.pads, self.x_shape = (of, hits, xp_shape,
                                                                      pads, x_shape)

    def forward(self, grad):
        return self.of.route(grad, self.hits, self.xp_shape, self.pads, self.x_shape)

    def backward(self, h):
        return (self.of.gather(h, self.hits, self.pads),)

    def backward_graph(self, h, inputs, output):
        return (MaxPoolGatherOp(self).apply(h),)


class MaxPoolGatherOp(Function):
    """The adjoint of ``MaxPoolRouteOp``: (N, H, W, C) → each window's first-max value."""

    name = "max_pool2d_gather"
    rule = "max_pool2d_gather: ∂L/∂h = each window's ∂L/∂y routed to its first maximum"
    gradient_of = "max_pool2d"

    def __init__(self, route: MaxPoolRouteOp):
        self.route = route

    def forward(self, h):
        return self.route.backward(h)[0]

    def backward(self, grad):
        return (self.route.forward(grad),)

    def backward_graph(self, grad, inputs, output):
        r = self.route
        return (MaxPoolRouteOp(r.of, r.hits, r.xp_shape, r.pads, r.x_shape).apply(grad),)


class AvgPoolSpreadOp(Function):
    """Average pooling's dx as an op; its gradient is average pooling itself (the adjoint)."""

    name = "avg_pool2d_spread"
    rule = "avg_pool2d_spread: ∂L/∂g = avg_pool2d(∂L/∂y), the adjoint of spreading"
    gradient_of = "avg_pool2d"

    def __init__(self, of, saved):
        self.of, self.geometry = of, saved

    def forward(self, grad):
        return self.of.spread(grad, *self.geometry)

    def backward(self, h):
        return (self.of.again().forward(h),)

    def backward_graph(self, h, inputs, output):
        return (self.of.again().apply(h),)
