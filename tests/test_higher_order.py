"""Higher-order gradients: tc.grad(create_graph=True) through every op, checked three ways.

1. ``tc.gradgradcheck`` on every op (second derivatives against central differences of
   first-order gradients, and backward_graph's values against backward's).
2. Hessian-vector products through conv2d (a grid of paddings, strides and dilations),
   both pools and a whole small convnet, against PyTorch when it is installed, else
   against central differences of this library's own first-order gradients, to 1e-6.
3. tc.grad's contract (PyTorch's torch.autograd.grad).
"""

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor
from tinygrad_cnn import functional as F
from tinygrad_cnn.ops.elementwise import DropoutOp, exp

try:
    import torch
except ImportError:  # the reference falls back to finite differences
    torch = None


def leaf(*shape, seed=0, low=None):
    rng = np.random.default_rng(seed)
    data = rng.standard_normal(shape) if low is None else rng.uniform(low, low + 2, shape)
    return Tensor(data, requires_grad=True)


def tie_free(*shape, seed=0):
    """Distinct values, so max pooling has no ties and is smooth around the point."""
    rng = np.random.default_rng(seed)
    values = rng.permutation(int(np.prod(shape))).reshape(shape) / 7.0 - 1.0
    return Tensor(values, requires_grad=True)


# ------------------------------------------------------------ every op, gradgradcheck

OPS = {
    # name: (fn, inputs)
    "add broadcast": (lambda a, b: (a + b) * (a + b), lambda: [leaf(2, 3), leaf(3, seed=1)]),
    "sub": (lambda a, b: (a - b) ** 2, lambda: [leaf(2, 3), leaf(2, 1, seed=1)]),
    "mul": (lambda a, b: a * b * a, lambda: [leaf(2, 3), leaf(3, seed=1)]),
    "div": (lambda a, b: a / (b * b + 1), lambda: [leaf(2, 3), leaf(2, 1, seed=1)]),
    "pow": (lambda a, b: a ** b, lambda: [leaf(2, 3, low=0.5), leaf(3, seed=1)]),
    "pow scalar": (lambda a: a ** 3, lambda: [leaf(4)]),
    "neg": (lambda a: -(a * a), lambda: [leaf(3)]),
    "exp": (lambda a: a.exp(), lambda: [leaf(2, 3)]),
    "log": (lambda a: a.log(), lambda: [leaf(2, 3, low=0.5)]),
    "sqrt": (lambda a: a.sqrt(), lambda: [leaf(2, 3, low=0.5)]),
    "abs": (lambda a: a.abs() * a, lambda: [tie_free(5)]),
    "relu": (lambda a: a.relu() * a, lambda: [tie_free(5)]),
    # a generator seeded inside: every call draws the same mask, as differences need
    "dropout": (lambda a: DropoutOp(0.5, np.random.default_rng(0)).apply(a * a),
                lambda: [leaf(4, 5)]),
    "sigmoid": (lambda a: a.sigmoid(), lambda: [leaf(6)]),
    "tanh": (lambda a: a.tanh(), lambda: [leaf(6)]),
    "astype": (lambda a: a.astype(np.float64) ** 2, lambda: [leaf(3)]),
    "clip": (lambda a: a.clip(-0.5, 0.7) ** 2, lambda: [tie_free(6)]),
    "sum": (lambda a: a.sum(axis=0) ** 2, lambda: [leaf(3, 4)]),
    "mean": (lambda a: a.mean(axis=(0, 2), keepdims=True) ** 2, lambda: [leaf(2, 3, 2)]),
    "max": (lambda a: a.max(axis=1) ** 2, lambda: [tie_free(3, 4)]),
    "min": (lambda a: a.min() * a, lambda: [tie_free(3, 4)]),
    "var": (lambda a: a.var(axis=1), lambda: [leaf(3, 4)]),
    "matmul 2-D": (lambda a, b: (a @ b) ** 2, lambda: [leaf(2, 3), leaf(3, 4, seed=1)]),
    "matmul 1-D": (lambda a, b: (a @ b) ** 2, lambda: [leaf(3), leaf(3, seed=1)]),
    "matmul batched": (lambda a, b: (a @ b) ** 2, lambda: [leaf(2, 2, 3), leaf(3, 2, seed=1)]),
    "dense": (lambda x, k, b: F.dense(x, k, b) ** 2,
              lambda: [leaf(2, 2, 3), leaf(3, 4, seed=1), leaf(4, seed=2)]),
    "dense + relu": (lambda x, k: F.dense(x, k, relu=True) ** 2,
                     lambda: [leaf(2, 3), leaf(3, 4, seed=1)]),
    "reshape": (lambda a: a.reshape(3, 2) ** 2, lambda: [leaf(2, 3)]),
    "transpose": (lambda a: a.transpose(2, 0, 1) ** 2, lambda: [leaf(2, 3, 2)]),
    "T": (lambda a: a.T * a.T, lambda: [leaf(2, 3)]),
    "flatten": (lambda a: a.flatten() ** 2, lambda: [leaf(2, 2, 2)]),
    "pad": (lambda a: a.pad(((1, 0), (0, 2))) ** 2, lambda: [leaf(2, 3)]),
    "getitem slice": (lambda a: a[1:, ::2] ** 2, lambda: [leaf(3, 4)]),
    "getitem repeated ints": (lambda a: a[[0, 0, 2]] ** 2, lambda: [leaf(3, 2)]),
    "getitem bool mask": (lambda a: a[a.data > 0] ** 2, lambda: [leaf(3, 4)]),
    "squeeze, expand_dims": (lambda a: a.expand_dims(0).squeeze(0) ** 2, lambda: [leaf(2, 3)]),
    "broadcast_to": (lambda a: a.broadcast_to((4, 2, 3)) ** 2, lambda: [leaf(2, 3)]),
    "concatenate": (lambda a, b: tc.concatenate([a, b * a], axis=1) ** 2,
                    lambda: [leaf(2, 3), leaf(2, 3, seed=1)]),
    "stack": (lambda a, b: tc.stack([a, b], axis=-1) ** 2,
              lambda: [leaf(2, 3), leaf(2, 3, seed=1)]),
    "maximum": (lambda a, b: tc.maximum(a, b) ** 2, lambda: [leaf(2, 3), leaf(3, seed=1)]),
    "minimum": (lambda a, b: tc.minimum(a, b) ** 2, lambda: [leaf(2, 3), leaf(3, seed=1)]),
    "where": (lambda a, b: tc.where(a.data > 0, a * a, b * b),
              lambda: [leaf(2, 3), leaf(3, seed=1)]),
    "softmax": (lambda a: a.softmax(), lambda: [leaf(2, 3)]),
    "softmax tuple axis": (lambda a: a.softmax(axis=(0, 2)), lambda: [leaf(2, 3, 2)]),
    "log_softmax": (lambda a: a.log_softmax(axis=0), lambda: [leaf(2, 3)]),
    "cross_entropy": (lambda a: F.cross_entropy(a, np.array([0, 2, 1])), lambda: [leaf(3, 4)]),
    "sigmoid_cross_entropy": (lambda x, y: F.sigmoid_cross_entropy(x, y * y),
                              lambda: [leaf(2, 3), leaf(2, 3, seed=1)]),
    "softmax_cross_entropy": (lambda x, y: F.softmax_cross_entropy(x, y * y),
                              lambda: [leaf(2, 3), leaf(2, 3, seed=1)]),
    "conv2d": (lambda x, k, b: F.conv2d(x, k, b, padding="same") ** 2,
               lambda: [leaf(1, 4, 4, 2), leaf(2, 2, 2, 3, seed=1), leaf(3, seed=2)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 2) ** 2, lambda: [tie_free(1, 4, 4, 2)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 3, 2, "same") ** 2, lambda: [leaf(1, 5, 4, 2)]),
    "global pools": (lambda x: F.global_avg_pool2d(x) * F.global_max_pool2d(x),
                     lambda: [tie_free(2, 3, 3, 2)]),
    "mse": (lambda a, b: F.mse(a * a, b), lambda: [leaf(2, 3), leaf(2, 3, seed=1)]),
    "batch_norm": (lambda x, g, b: F.batch_norm(x, gamma=g, beta=b, training=True).tanh(),
                   lambda: [leaf(4, 3), leaf(3, seed=1), leaf(3, seed=2)]),
    "batch_norm, axis 1": (lambda x, g, b: F.batch_norm(x, gamma=g, beta=b, training=True,
                                                        axis=1).tanh(),
                           lambda: [leaf(3, 2, 2), leaf(2, seed=1), leaf(2, seed=2)]),
    "batch_norm with moving statistics": (
        lambda x, g, b: F.batch_norm(x, Tensor(np.array([0.5, -1.0, 0.0])),
                                     Tensor(np.array([2.0, 0.5, 1.0])), g, b) ** 2,
        lambda: [leaf(4, 3), leaf(3, seed=1), leaf(3, seed=2)]),
}


@pytest.mark.parametrize("name", OPS)
def test_second_derivatives_of_every_op(name):
    fn, make_inputs = OPS[name]
    assert tc.gradgradcheck(fn, make_inputs())


def test_dropout_backward_graph_is_its_mask():  # a random mask: checked by formula, once
    tc.manual_seed(3)
    x = leaf(50)
    y = F.dropout(x, 0.5)
    (g,) = tc.grad((y * y).sum(), [x], create_graph=True)
    (h,) = tc.grad(g.sum(), [x])
    mask = y.data / x.data
    np.testing.assert_allclose(g.data, 2 * mask * mask * x.data)
    np.testing.assert_allclose(h.data, 2 * mask * mask)


# --------------------------------------------- HVPs against PyTorch or finite differences

def hvp(fn, inputs, vectors):
    """H·v of the scalar fn at inputs: the gradient of <∇fn, v>."""
    grads = tc.grad(fn(*inputs), inputs, create_graph=True)
    dot = sum(((g * v).sum() for g, v in zip(grads, vectors)), start=Tensor(0.0))
    return [h.data for h in tc.grad(dot, inputs)]


def hvp_by_differences(fn, inputs, vectors, eps=1e-5):
    """(∇fn(x + eps·v) − ∇fn(x − eps·v)) / 2eps, from first-order gradients only."""
    def gradient_at(sign):
        shifted = [Tensor(t.data + sign * eps * v, requires_grad=True)
                   for t, v in zip(inputs, vectors)]
        return [g.data for g in tc.grad(fn(*shifted), shifted)]
    plus, minus = gradient_at(1), gradient_at(-1)
    return [(p - m) / (2 * eps) for p, m in zip(plus, minus)]


def torch_hvp(torch_fn, arrays, vectors):
    tensors = [torch.tensor(a, requires_grad=True) for a in arrays]
    grads = torch.autograd.grad(torch_fn(*tensors), tensors, create_graph=True)
    dot = sum((g * torch.tensor(v)).sum() for g, v in zip(grads, vectors))
    return [h.numpy() for h in torch.autograd.grad(dot, tensors)]


def torch_conv(x, kernel, bias, strides, pads, dilation):
    """Our conv2d in PyTorch's layouts: NHWC → NCHW, (KH, KW, C_in, C_out) → (C_out, C_in, …)."""
    (top, bottom), (left, right) = pads
    xc = torch.nn.functional.pad(x.permute(0, 3, 1, 2), (left, right, top, bottom))
    out = torch.nn.functional.conv2d(xc, kernel.permute(3, 2, 0, 1), bias, stride=strides,
                                     dilation=dilation)
    return out.permute(0, 2, 3, 1)


def reference_hvp(fn, torch_fn, inputs, vectors):
    if torch is not None:
        return torch_hvp(torch_fn, [t.data for t in inputs], vectors), "torch"
    return hvp_by_differences(fn, inputs, vectors), "differences"


CONV_GRID = [  # (x shape, kernel shape, strides, padding, dilation)
    ((2, 5, 5, 2), (3, 3, 2, 3), 1, "valid", 1),
    ((2, 5, 5, 2), (3, 3, 2, 3), 1, "same", 1),
    ((1, 6, 5, 1), (2, 2, 1, 2), 1, "same", 1),  # even kernel: the extra pixel after
    ((1, 7, 6, 2), (3, 2, 2, 2), 2, "same", 1),
    ((1, 7, 7, 2), (3, 3, 2, 2), (2, 1), "valid", 2),
    ((1, 6, 6, 1), (2, 3, 1, 3), 1, ((1, 2), (0, 1)), (2, 1)),
    ((2, 6, 5, 3), (3, 3, 3, 2), 3, 1, 1),
]


@pytest.mark.parametrize("x_shape, k_shape, strides, padding, dilation", CONV_GRID)
def test_conv2d_hessian_vector_products_match_the_reference(x_shape, k_shape, strides,
                                                            padding, dilation):
    from tinygrad_cnn.shapes import resolve_pads, standardize_padding, standardize_pair

    rng = np.random.default_rng(1)
    x, k, b = leaf(*x_shape), leaf(*k_shape, seed=1), leaf(k_shape[3], seed=2)
    out_shape = F.conv2d(x, k, b, strides, padding, dilation).shape
    r = rng.standard_normal(out_shape)

    def fn(x, k, b):  # not quadratic in x alone: tanh makes every second derivative count
        return (F.conv2d(x, k, b, strides, padding, dilation).tanh() * r).sum()

    pads = resolve_pads(standardize_padding(padding), x_shape[1:3], k_shape[:2],
                        standardize_pair(strides, "s"), standardize_pair(dilation, "d"))

    def torch_fn(x, k, b):
        out = torch_conv(x, k, b, standardize_pair(strides, "s"), pads,
                         standardize_pair(dilation, "d"))
        return (out.tanh() * torch.tensor(r)).sum()

    vectors = [rng.standard_normal(t.shape) for t in (x, k, b)]
    ours = hvp(fn, [x, k, b], vectors)
    expected, _ = reference_hvp(fn, torch_fn, [x, k, b], vectors)
    for got, want in zip(ours, expected):
        np.testing.assert_allclose(got, want, atol=1e-6, rtol=1e-6)
    assert tc.gradgradcheck(fn, [x, k, b])


POOLS = [  # (op, x shape, pool_size, strides, padding)
    ("max", (2, 4, 4, 2), 2, None, "valid"),
    ("max", (1, 5, 5, 2), 3, 2, "same"),
    ("max", (1, 4, 5, 1), (2, 3), 1, "valid"),
    ("avg", (2, 4, 4, 2), 2, None, "valid"),
    ("avg", (1, 5, 5, 2), 3, 2, "same"),
    ("avg", (1, 4, 5, 1), (2, 3), 1, "valid"),
]


def torch_pool(kind, x, pool_size, strides, padding):
    size = standardize(pool_size)
    stride = size if strides is None else standardize(strides)
    xc = x.permute(0, 3, 1, 2)
    if padding == "same":
        from tinygrad_cnn.shapes import same_pads
        (top, bottom), (left, right) = (same_pads(xc.shape[2], size[0], stride[0]),
                                        same_pads(xc.shape[3], size[1], stride[1]))
        if kind == "max":
            xc = torch.nn.functional.pad(xc, (left, right, top, bottom), value=-float("inf"))
        else:  # TensorFlow counts only real elements: divide window sums by real counts
            ones = torch.nn.functional.pad(torch.ones_like(xc), (left, right, top, bottom))
            xc = torch.nn.functional.pad(xc, (left, right, top, bottom))
            sums = torch.nn.functional.avg_pool2d(xc, size, stride) * size[0] * size[1]
            counts = torch.nn.functional.avg_pool2d(ones, size, stride) * size[0] * size[1]
            return (sums / counts).permute(0, 2, 3, 1)
    pool = torch.nn.functional.max_pool2d if kind == "max" else torch.nn.functional.avg_pool2d
    return pool(xc, size, stride).permute(0, 2, 3, 1)


def standardize(v):
    return (v, v) if isinstance(v, int) else tuple(v)


@pytest.mark.parametrize("kind, x_shape, pool_size, strides, padding", POOLS)
def test_pool_hessian_vector_products_match_the_reference(kind, x_shape, pool_size, strides,
                                                          padding):
    op = F.max_pool2d if kind == "max" else F.avg_pool2d
    x = tie_free(*x_shape)
    rng = np.random.default_rng(2)
    r = rng.standard_normal(op(x, pool_size, strides, padding).shape)

    def fn(x):
        return (op(x * x, pool_size, strides, padding).tanh() * r).sum()

    def torch_fn(x):
        return (torch_pool(kind, x * x, pool_size, strides, padding).tanh()
                * torch.tensor(r)).sum()

    vectors = [rng.standard_normal(x.shape)]
    ours = hvp(fn, [x], vectors)
    expected, _ = reference_hvp(fn, torch_fn, [x], vectors)
    np.testing.assert_allclose(ours[0], expected[0], atol=1e-6, rtol=1e-6)
    assert tc.gradgradcheck(fn, [x])


def small_convnet_loss(labels, x, k1, b1, k2, b2, w, bias):
    h = F.conv2d(x, k1, b1, padding="same").tanh()
    h = F.max_pool2d(h, 2)
    h = F.conv2d(h, k2, b2).relu()
    h = F.avg_pool2d(h, 2, 1, "same")
    return F.cross_entropy(h.flatten() @ w + bias, labels)


def test_whole_small_convnet_hessian_vector_product_matches_the_reference():
    labels = np.array([1, 0, 2])
    params = [leaf(3, 3, 1, 2, seed=1), leaf(2, seed=2), leaf(2, 2, 2, 3, seed=3),
              leaf(3, seed=4), leaf(12, 3, seed=5), leaf(3, seed=6)]
    x = tie_free(3, 6, 6, 1)
    inputs = [x, *params]

    def fn(*ts):
        return small_convnet_loss(labels, *ts)

    def torch_fn(x, k1, b1, k2, b2, w, bias):
        h = torch_conv(x, k1, b1, (1, 1), ((1, 1), (1, 1)), (1, 1)).tanh()
        h = torch_pool("max", h, 2, None, "valid")
        h = torch.relu(torch_conv(h, k2, b2, (1, 1), ((0, 0), (0, 0)), (1, 1)))
        h = torch_pool("avg", h, 2, 1, "same")
        logits = h.reshape(h.shape[0], -1) @ w + bias
        return torch.nn.functional.cross_entropy(logits, torch.tensor(labels))

    rng = np.random.default_rng(3)
    vectors = [rng.standard_normal(t.shape) for t in inputs]
    ours = hvp(fn, inputs, vectors)
    expected, _ = reference_hvp(fn, torch_fn, inputs, vectors)
    for got, want in zip(ours, expected):
        np.testing.assert_allclose(got, want, atol=1e-6, rtol=1e-6)
    assert tc.gradgradcheck(fn, inputs)


@pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
def test_the_finite_difference_reference_agrees_with_torch_too():
    # when torch is missing the tests above fall back to differences: that fallback must
    # be a reference worth having, so compare it with torch where both exist
    x, k = leaf(1, 5, 5, 2), leaf(3, 3, 2, 2, seed=1)
    r = np.random.default_rng(0).standard_normal((1, 5, 5, 2))

    def fn(x, k):
        return (F.conv2d(x, k, padding="same").tanh() * r).sum()

    def torch_fn(x, k):
        return (torch_conv(x, k, None, (1, 1), ((1, 1), (1, 1)), (1, 1)).tanh()
                * torch.tensor(r)).sum()

    vectors = [np.ones(x.shape), np.ones(k.shape)]
    for a, b in zip(hvp_by_differences(fn, [x, k], vectors),
                    torch_hvp(torch_fn, [x.data, k.data], vectors)):
        np.testing.assert_allclose(a, b, atol=1e-6, rtol=1e-6)


def test_third_derivative_of_a_polynomial():
    x = Tensor(np.array([2.0]), requires_grad=True)
    (d1,) = tc.grad((x ** 4).sum(), [x], create_graph=True)
    (d2,) = tc.grad(d1.sum(), [x], create_graph=True)
    (d3,) = tc.grad(d2.sum(), [x])
    assert (d1.item(), d2.item(), d3.item()) == (32.0, 48.0, 48.0)  # 4x³, 12x², 24x


# --------------------------------------------------------------------- tc.grad's contract

def test_grad_returns_tensors_and_leaves_dot_grad_alone():
    x = leaf(3)
    x.grad = np.full(3, 7.0)
    (g,) = tc.grad((x * x).sum(), [x])
    assert isinstance(g, Tensor) and not g.requires_grad
    np.testing.assert_allclose(g.data, 2 * x.data)
    np.testing.assert_array_equal(x.grad, np.full(3, 7.0))


def test_grad_of_a_non_scalar_output_needs_grad_outputs():
    x = leaf(3)
    with pytest.raises(ValueError, match=r"outputs\[0\] has shape \(3,\); a non-scalar output "
                                         r"needs grad_outputs\[0\]"):
        tc.grad(x * 2, [x])
    (g,) = tc.grad(x * 2, [x], grad_outputs=np.array([1.0, 2.0, 3.0]))
    np.testing.assert_allclose(g.data, [2.0, 4.0, 6.0])


def test_unused_inputs_raise_unless_allowed():
    x, y = leaf(2), leaf(2, seed=1)
    with pytest.raises(ValueError, match=r"inputs\[1\] was not used.*allow_unused=True"):
        tc.grad((x * 2).sum(), [x, y])
    gx, gy = tc.grad((x * 2).sum(), [x, y], allow_unused=True)
    assert gy is None and np.allclose(gx.data, 2)


def test_grad_with_respect_to_an_intermediate_tensor():
    x = leaf(3)
    h = x * 3
    (gh,) = tc.grad((h * h).sum(), [h])
    np.testing.assert_allclose(gh.data, 2 * h.data)


def test_retain_graph_defaults_to_create_graph():
    x = leaf(2)
    y = (x * x).sum()
    tc.grad(y, [x], create_graph=True)
    tc.grad(y, [x])  # the graph is still there
    with pytest.raises(RuntimeError, match="already released"):
        tc.grad(y, [x])


def test_several_outputs_add_their_gradients():
    x = leaf(2)
    (g,) = tc.grad([(x * x).sum(), (3 * x).sum()], [x])
    np.testing.assert_allclose(g.data, 2 * x.data + 3)


# ------------------------------------------------------------------------ custom ops

class Cube(tc.Function):
    name = "cube"

    def forward(self, x):
        self.save_for_backward(x)
        return x ** 3

    def backward(self, grad):
        (x,) = self.saved
        return (3 * x * x * grad,)


class CubeTwice(Cube):
    def backward_graph(self, grad, inputs, output):
        (x,) = inputs
        return (3 * x * x * grad,)


class CubeWrongTwice(Cube):
    def backward_graph(self, grad, inputs, output):
        (x,) = inputs
        return (3 * x.detach() * x.detach() * grad,)  # right value, lost second derivative


class SoftplusOnce(tc.Function):  # docs/custom_ops.md, section 2, as written there
    name = "softplus"
    rule = "softplus: ∂y/∂x = σ(x) = 1/(1 + e⁻ˣ)"

    def forward(self, x):
        return np.logaddexp(0, x)

    def derivative(self, grad, inputs, output):
        (x,) = inputs
        return (grad / (1 + exp(-x)),)


def test_a_custom_op_with_a_derivative_is_differentiable_to_any_order():
    x = Tensor(np.array([-2.0, 0.0, 1.5]), requires_grad=True)
    (d1,) = tc.grad(SoftplusOnce().apply(x).sum(), [x], create_graph=True)
    (d2,) = tc.grad(d1.sum(), [x], create_graph=True)
    (d3,) = tc.grad(d2.sum(), [x])
    s = 1 / (1 + np.exp(-x.data))  # σ, σ(1 − σ), σ(1 − σ)(1 − 2σ)
    np.testing.assert_allclose(d1.data, s, rtol=1e-12)
    np.testing.assert_allclose(d2.data, s * (1 - s), rtol=1e-12)
    np.testing.assert_allclose(d3.data, s * (1 - s) * (1 - 2 * s), rtol=1e-12, atol=1e-15)
    assert tc.gradgradcheck(lambda t: SoftplusOnce().apply(t), [leaf(6)])


def test_an_op_with_no_derivative_says_what_to_define():
    class Blank(tc.Function):
        name = "blank"

        def forward(self, x):
            return x + 1

    x = leaf(2)
    with pytest.raises(NotImplementedError, match=r"op 'blank' \(Blank\) has no derivative: "
                                                   r"define Blank.derivative\(self, grad, "
                                                   r"inputs, output\), or backward"):
        Blank().apply(x).sum().backward()


def test_a_custom_op_with_an_ndarray_backward_is_first_order_differentiable():
    x = leaf(3)
    assert tc.gradcheck(lambda t: Cube().apply(t), [x])


def test_create_graph_through_an_ndarray_only_op_says_what_to_do():
    x = leaf(3)
    with pytest.raises(NotImplementedError, match=r"op 'cube' \(Cube\) has only an ndarray "
                                                   r"backward.*Cube.backward_graph\(self, grad, "
                                                   r"inputs, output\).*docs/custom_ops.md"):
        tc.grad(Cube().apply(x).sum(), [x], create_graph=True)


def test_a_custom_op_with_backward_graph_is_twice_differentiable():
    assert tc.gradgradcheck(lambda t: CubeTwice().apply(t), [leaf(3)])


def test_gradgradcheck_fails_on_a_wrong_double_backward():
    with pytest.raises(tc.GradcheckError, match=r"second derivatives: gradient mismatch for "
                                                r"input 0 at element \(0,\)"):
        tc.gradgradcheck(lambda t: CubeWrongTwice().apply(t), [leaf(3)])


def test_gradgradcheck_fails_when_backward_graph_disagrees_with_backward():
    class CubeOff(Cube):
        def backward_graph(self, grad, inputs, output):
            (x,) = inputs
            return (4 * x * x * grad,)

    with pytest.raises(tc.GradcheckError, match="first-order gradients disagree for input 0"):
        tc.gradgradcheck(lambda t: CubeOff().apply(t), [leaf(3)])


def test_a_wrong_number_of_gradients_names_the_op():
    class Pair(Cube):
        def backward(self, grad):
            return (grad, grad)

    x = leaf(2)
    with pytest.raises(ValueError, match=r"op 'cube' \(Pair\): backward returned 2 gradient\(s\) "
                                         r"for 1 input\(s\)"):
        Pair().apply(x).sum().backward()


def test_a_gradient_of_the_wrong_shape_names_the_op_the_input_and_both_shapes():
    class Squashed(Cube):
        def backward(self, grad):
            return (grad.sum(axis=0),)

    x = leaf(2, 3)
    with pytest.raises(ValueError, match=r"op 'cube' \(Squashed\): backward returned a gradient "
                                         r"of shape \(3,\) for input 0, whose shape is \(2, 3\)"):
        Squashed().apply(x).sum().backward()
    assert x.grad is None  # nothing was stored


def test_an_op_instance_is_applied_once():
    op = Cube()
    op.apply(leaf(2))
    with pytest.raises(RuntimeError, match="already applied.*create a new one per call"):
        op.apply(leaf(2))


# --------------------------------------------------------------------- hooks and friends

def test_retain_grad_keeps_an_intermediate_gradient():
    x = leaf(3)
    h = (x * 2).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad, 2 * h.data)
    np.testing.assert_allclose(x.grad, 4 * h.data)


def test_register_hook_sees_and_can_replace_the_gradient():
    x = leaf(3)
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.copy()))
    h.register_hook(lambda g: g * 10)
    h.sum().backward()
    np.testing.assert_allclose(seen[0], np.ones(3))
    np.testing.assert_allclose(x.grad, np.full(3, 20.0))


def test_a_hook_returning_a_wrong_shape_is_refused():
    x = leaf(3)
    x.register_hook(lambda g: np.ones(2))
    with pytest.raises(ValueError, match=r"a hook returned a gradient of shape \(2,\) for a "
                                         r"tensor of shape \(3,\)"):
        (x * 2).sum().backward()


def test_requires_grad_underscore_sets_the_flag_on_a_leaf():
    x = Tensor(np.ones(2))
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    with pytest.raises(ValueError, match="leaf tensors only"):
        (leaf(2) * 2).requires_grad_()


# ------------------------------------------------------------------- what learners see

def test_no_numpy_warning_escapes_a_backward_and_ours_points_at_the_callers_line():
    x = Tensor(np.array([0.0, 4.0]), requires_grad=True)
    y = x.sqrt().sum()
    with pytest.warns(RuntimeWarning, match="the backward of 'sqrt' divided by zero") as record:
        y.backward()
    assert len(record) == 1
    assert record[0].filename == __file__
    assert np.isinf(x.grad[0]) and x.grad[1] == 0.25


def test_comparisons_are_elementwise_and_not_differentiable():
    x = leaf(3)
    mask = x > 0
    assert mask.dtype == np.bool_ and not mask.requires_grad
    np.testing.assert_array_equal(x[mask].data, x.data[x.data > 0])


def test_argmax_argmin_and_clip_like_reductions():
    x = Tensor(np.array([[1.0, 5.0, 3.0], [4.0, 0.0, 2.0]]))
    assert x.argmax().item() == 1 and x.argmin().item() == 4
    np.testing.assert_array_equal(x.argmax(axis=1).data, [1, 0])
    assert x.argmax(axis=1).dtype == np.int64
    np.testing.assert_array_equal(x.min(axis=0).data, [1.0, 0.0, 2.0])
    np.testing.assert_allclose(x.var().item(), np.var(x.data))


# ------------------------------------------------- the Keras losses and batch norm, twice

LOSSES = {
    "sparse categorical, logits": lambda p: tc.losses.sparse_categorical_crossentropy(
        np.array([0, 2]), p, from_logits=True).sum(),
    "sparse categorical, softmax input": lambda p: tc.losses.sparse_categorical_crossentropy(
        np.array([0, 2]), p.softmax()).sum(),
    "categorical, probabilities": lambda p: tc.losses.categorical_crossentropy(
        np.eye(3)[[1, 0]], (p * p + 0.1)).sum(),
    "binary, sigmoid input": lambda p: tc.losses.binary_crossentropy(
        np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]), p.sigmoid()).sum(),
    "mse": lambda p: tc.losses.mean_squared_error(np.ones((2, 3)), p.tanh()).sum(),
    "mae": lambda p: tc.losses.mean_absolute_error(np.full((2, 3), 5.0), p * p).sum(),
}


@pytest.mark.parametrize("name", LOSSES)
def test_keras_losses_are_twice_differentiable(name):
    assert tc.gradgradcheck(LOSSES[name], [leaf(2, 3)])


def test_batch_normalization_in_training_mode_is_twice_differentiable():
    bn = tc.nn.BatchNormalization(dtype="float64")
    bn.build((3,))
    gamma, beta = bn.weights[:2]
    gamma.data[...] = [1.5, 0.5, -1.0]
    x = leaf(4, 3)
    assert tc.gradgradcheck(lambda x: bn(x, training=True).tanh(), [x])
    assert tc.gradgradcheck(lambda g: bn(x, training=True) * g, [gamma])
