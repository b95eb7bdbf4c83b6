"""Every op's derivative rule, applied as written, gives what its backward computes.

``RULES`` has one row per built-in op, keyed by the op's name. A row builds a small float64
example through the op's public door, and returns the rule's arithmetic written in numpy
here, from the rule's text (quoted above each row), never from the library: given the
upstream gradient ∂L/∂y, the gradient for each input. The test feeds a random ∂L/∂y to
``tc.grad`` and compares. Ops that compute another op's gradient (``conv2d_input_grad``,
``max_pool2d_route``, …) are reached the way ``tc.grad(..., create_graph=True)`` reaches
them. Two tests then show the convolution and max-pool rules on examples small enough to
follow by hand.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, ops
from tinygrad_cnn import functional as F
from tinygrad_cnn.function import Function


def leaf(a, dtype=np.float64):
    return Tensor(np.asarray(a, dtype=dtype), requires_grad=True)


def softmax(a, axis=-1):
    e = np.exp(a - a.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# ------------------------------------------------------- windows, by loops over positions
def patches(x, kh, kw):
    """(N·OH·OW, KH·KW·C): row (n, oy, ox) is the window under output pixel (oy, ox),
    read in (i, j, c) order; stride 1, no padding."""
    n, h, w, c = x.shape
    rows = []
    for b in range(n):
        for oy in range(h - kh + 1):
            for ox in range(w - kw + 1):
                rows.append([x[b, oy + i, ox + j, ch] for i in range(kh) for j in range(kw)
                             for ch in range(c)])
    return np.array(rows)


def conv(x, kernel):
    """Valid, stride-1 cross-correlation: patches(x) · kernel reshaped (KH·KW·C, F)."""
    kh, kw, c, f = kernel.shape
    n, h, w, _ = x.shape
    return (patches(x, kh, kw) @ kernel.reshape(-1, f)).reshape(n, h - kh + 1, w - kw + 1, f)


def full_correlation_with_flipped_kernel(g, kernel):
    """∂L/∂x of a valid stride-1 conv: ∂L/∂y padded by KH−1, KW−1 all round, correlated with
    the kernel turned 180° (and its channel axes swapped)."""
    kh, kw, c, f = kernel.shape
    n, oh, ow, _ = g.shape
    gp = np.pad(g, ((0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1), (0, 0)))
    dx = np.zeros((n, oh + kh - 1, ow + kw - 1, c))
    for b in range(n):
        for y in range(dx.shape[1]):
            for x in range(dx.shape[2]):
                for ch in range(c):
                    dx[b, y, x, ch] = sum(gp[b, y + i, x + j, ff] * kernel[kh - 1 - i, kw - 1 - j,
                                                                              ch, ff]
                                          for i in range(kh) for j in range(kw)
                                          for ff in range(f))
    return dx


def kernel_gradient(x, g, kh, kw):
    """∂L/∂kernel = patches(x)ᵀ · ∂L/∂y."""
    c, f = x.shape[3], g.shape[3]
    return (patches(x, kh, kw).T @ g.reshape(-1, f)).reshape(kh, kw, c, f)


def pool_windows(shape, size, stride):
    """(n, oy, ox, ch, [(y, x) of the window's elements in row-major order]); no padding."""
    n, h, w, c = shape
    for b in range(n):
        for oy in range((h - size) // stride + 1):
            for ox in range((w - size) // stride + 1):
                for ch in range(c):
                    yield b, oy, ox, ch, [(oy * stride + i, ox * stride + j)
                                          for i in range(size) for j in range(size)]


def route_to_first_max(x, g, size=2, stride=2):
    """Each window's ∂L/∂y added to the element holding the window's first maximum."""
    dx = np.zeros_like(x)
    for b, oy, ox, ch, cells in pool_windows(x.shape, size, stride):
        values = [x[b, y, xx, ch] for y, xx in cells]
        y, xx = cells[int(np.argmax(values))]  # argmax: the first of equal maxima
        dx[b, y, xx, ch] += g[b, oy, ox, ch]
    return dx


def gather_at_first_max(x, h, size=2, stride=2):
    """Each window's value of h at the element holding the window's first maximum of x."""
    out_shape = (x.shape[0], (x.shape[1] - size) // stride + 1,
                 (x.shape[2] - size) // stride + 1, x.shape[3])
    out = np.zeros(out_shape)
    for b, oy, ox, ch, cells in pool_windows(x.shape, size, stride):
        values = [x[b, y, xx, ch] for y, xx in cells]
        y, xx = cells[int(np.argmax(values))]
        out[b, oy, ox, ch] = h[b, y, xx, ch]
    return out


def average_windows(h, size=2, stride=2):
    out = np.zeros((h.shape[0], (h.shape[1] - size) // stride + 1,
                    (h.shape[2] - size) // stride + 1, h.shape[3]))
    for b, oy, ox, ch, cells in pool_windows(h.shape, size, stride):
        out[b, oy, ox, ch] = np.mean([h[b, y, xx, ch] for y, xx in cells])
    return out


def share_equally(x, g, size=2, stride=2):
    dx = np.zeros_like(x)
    for b, oy, ox, ch, cells in pool_windows(x.shape, size, stride):
        for y, xx in cells:
            dx[b, y, xx, ch] += g[b, oy, ox, ch] / len(cells)
    return dx


def tie_free(rng, shape):
    return rng.permutation(np.arange(np.prod(shape))).reshape(shape) / 10 - 1


# ------------------------------------------------------------------------- the table
def _add(rng):
    a, b = rng.normal(size=(2, 3)), rng.normal(size=3)
    A, B = leaf(a), leaf(b)
    # add: ∂y/∂a = 1, ∂y/∂b = 1 (summed over the axes broadcasting added)
    return A + B, [A, B], lambda g: [g, g.sum(axis=0)]


def _sub(rng):
    a, b = rng.normal(size=(2, 3)), rng.normal(size=3)
    A, B = leaf(a), leaf(b)
    # sub: ∂y/∂a = 1, ∂y/∂b = −1
    return A - B, [A, B], lambda g: [g, -g.sum(axis=0)]


def _mul(rng):
    a, b = rng.normal(size=(2, 3)), rng.normal(size=3)
    A, B = leaf(a), leaf(b)
    # mul: ∂y/∂a = b, ∂y/∂b = a
    return A * B, [A, B], lambda g: [g * b, (g * a).sum(axis=0)]


def _div(rng):
    a, b = rng.normal(size=(2, 3)), rng.uniform(0.5, 2, size=3)
    A, B = leaf(a), leaf(b)
    # div: ∂y/∂a = 1/b, ∂y/∂b = −a/b²
    return A / B, [A, B], lambda g: [g / b, (-g * a / b**2).sum(axis=0)]


def _pow(rng):
    a, b = rng.uniform(0.5, 2, size=4), rng.normal(size=4)
    A, B = leaf(a), leaf(b)
    # pow: ∂y/∂a = b·a^(b−1), ∂y/∂b = a^b·ln a
    return A ** B, [A, B], lambda g: [g * b * a ** (b - 1), g * a**b * np.log(a)]


def _unary(name, make_input, local):
    """A row for a one-input op whose rule is ∂y/∂x = local(x): ∂L/∂x = ∂L/∂y · local(x)."""
    def row(rng):
        a = make_input(rng)
        A = leaf(a)
        return getattr(F, name)(A), [A], lambda g: [g * local(a)]
    return row


def normal(rng):
    return rng.normal(size=(2, 3))


def positive(rng):
    return rng.uniform(0.3, 3.0, size=(2, 3))


def _dropout(rng):
    a = rng.uniform(0.5, 1.5, size=(4, 5)) * rng.choice([-1, 1], size=(4, 5))
    A = leaf(a)
    y = F.dropout(A, 0.25, training=True)
    mask = (y.data != 0) / (1 - 0.25)  # which units were kept, read from the output
    # dropout: ∂y/∂x = mask (0 where dropped, 1/(1 − rate) where kept)
    return y, [A], lambda g: [g * mask]


def _astype(rng):
    a = rng.normal(size=(2, 3)).astype(np.float32)
    A = leaf(a, np.float32)
    # astype: ∂y/∂x = 1, the gradient cast back to x's dtype
    return F.astype(A, np.float64), [A], lambda g: [g.astype(np.float32)]


def _maximum(rng):
    a, b = np.array([1.0, 2.0, 3.0, -1.0]), np.array([3.0, 2.0, 1.0, 0.5])
    A, B = leaf(a), leaf(b)
    share = np.where(a > b, 1.0, np.where(a < b, 0.0, 0.5))
    # maximum: ∂y/∂a = 1 where a > b, 0 where a < b, ½ at ties; ∂y/∂b the rest
    return F.maximum(A, B), [A, B], lambda g: [g * share, g * (1 - share)]


def _minimum(rng):
    a, b = np.array([1.0, 2.0, 3.0, -1.0]), np.array([3.0, 2.0, 1.0, 0.5])
    A, B = leaf(a), leaf(b)
    share = np.where(a < b, 1.0, np.where(a > b, 0.0, 0.5))
    # minimum: ∂y/∂a = 1 where a < b, 0 where a > b, ½ at ties; ∂y/∂b the rest
    return F.minimum(A, B), [A, B], lambda g: [g * share, g * (1 - share)]


def _where(rng):
    cond = np.array([[True, False, True], [False, False, True]])
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    A, B = leaf(a), leaf(b)
    # where: ∂y/∂a = 1 where cond, ∂y/∂b = 1 where not cond
    return F.where(cond, A, B), [A, B], lambda g: [g * cond, g * ~cond]


def _clip(rng):
    a = np.array([-1.0, -0.5, 0.0, 0.25, 0.5, 2.0])
    A = leaf(a)
    # clip: ∂y/∂x = 1 where lo <= x <= hi (the bounds included), else 0
    return F.clip(A, -0.5, 0.5), [A], lambda g: [g * ((a >= -0.5) & (a <= 0.5))]


def _sum(rng):
    a = rng.normal(size=(2, 3, 4))
    A = leaf(a)
    # sum: ∂y/∂x = 1 for every summed element (the gradient broadcast back)
    return F.sum(A, axis=1), [A], lambda g: [np.broadcast_to(g[:, None, :], a.shape)]


def _mean(rng):
    a = rng.normal(size=(2, 3, 4))
    A = leaf(a)
    # mean: ∂y/∂x = 1/count for every averaged element
    return F.mean(A, axis=(0, 2)), [A], lambda g: [np.broadcast_to(g[None, :, None] / 8,
                                                                    a.shape)]


def _max(rng):
    a = np.array([[1.0, 4.0, 4.0, 2.0], [0.5, -1.0, 3.0, 2.5]])  # a tie in the first row
    A = leaf(a)
    hit = a == a.max(axis=1, keepdims=True)
    # max: ∂y/∂x = 1 at the maximum, 0 elsewhere; ties share it equally
    return F.max(A, axis=1), [A], lambda g: [hit * g[:, None] / hit.sum(axis=1, keepdims=True)]


def _min(rng):
    a = np.array([[1.0, -4.0, -4.0, 2.0], [0.5, -1.0, 3.0, 2.5]])
    A = leaf(a)
    hit = a == a.min(axis=1, keepdims=True)
    # min: ∂y/∂x = 1 at the minimum, 0 elsewhere; ties share it equally
    return F.min(A, axis=1), [A], lambda g: [hit * g[:, None] / hit.sum(axis=1, keepdims=True)]


def _matmul(rng):
    a, b = rng.normal(size=(3, 4)), rng.normal(size=(4, 2))
    A, B = leaf(a), leaf(b)
    # matmul: ∂L/∂a = ∂L/∂y·bᵀ, ∂L/∂b = aᵀ·∂L/∂y
    return A @ B, [A, B], lambda g: [g @ b.T, a.T @ g]


def _dense(rng):
    x, kernel, bias = rng.normal(size=(5, 3)), rng.normal(size=(3, 4)), rng.normal(size=4)
    X, K, B = leaf(x), leaf(kernel), leaf(bias)
    alive = (x @ kernel + bias) > 0

    def rule(g):
        g = g * alive  # the fused ReLU: ∂L/∂y zeroed where the output was 0
        # dense: ∂L/∂x = ∂L/∂y·kernelᵀ, ∂L/∂kernel = xᵀ·∂L/∂y, ∂L/∂bias = Σ ∂L/∂y
        return [g @ kernel.T, x.T @ g, g.sum(axis=0)]
    return F.dense(X, K, B, relu=True), [X, K, B], rule


def _softmax(rng):
    a = rng.normal(size=(2, 5))
    A = leaf(a)
    s = softmax(a)
    # softmax: ∂L/∂x = s·(∂L/∂y − Σ ∂L/∂y·s), s = softmax(x)
    return F.softmax(A), [A], lambda g: [s * (g - (g * s).sum(axis=-1, keepdims=True))]


def _log_softmax(rng):
    a = rng.normal(size=(2, 5))
    A = leaf(a)
    # log_softmax: ∂L/∂x = ∂L/∂y − softmax(x)·Σ ∂L/∂y
    return F.log_softmax(A), [A], lambda g: [g - softmax(a) * g.sum(axis=-1, keepdims=True)]


def _cross_entropy(rng):
    logits, labels = rng.normal(size=(3, 4)), np.array([2, 0, 3])
    A = leaf(logits)
    onehot = np.eye(4)[labels]
    # cross_entropy: ∂L/∂logits = (softmax(logits) − onehot(labels)) / N
    return F.cross_entropy(A, labels), [A], lambda g: [g * (softmax(logits) - onehot) / 3]


def _sigmoid_cross_entropy(rng):
    x, y = rng.normal(size=(3, 4)), rng.uniform(size=(3, 4))
    X, Y = leaf(x), leaf(y)
    # sigmoid_cross_entropy: ∂L/∂x = σ(x) − y, ∂L/∂y = −x
    return (F.sigmoid_cross_entropy(X, Y), [X, Y],
            lambda g: [g * (1 / (1 + np.exp(-x)) - y), g * -x])


def _softmax_cross_entropy(rng):
    x, y = rng.normal(size=(3, 4)), rng.uniform(size=(3, 4))
    X, Y = leaf(x), leaf(y)
    # softmax_cross_entropy: ∂L/∂x = softmax(x)·Σy − y, ∂L/∂y = −log softmax(x)
    total = y.sum(axis=-1, keepdims=True)
    return (F.softmax_cross_entropy(X, Y), [X, Y],
            lambda g: [g[:, None] * (softmax(x) * total - y),
                       g[:, None] * -np.log(softmax(x))])


def _batch_norm(rng):
    x = rng.normal(size=(6, 3))
    gamma, beta = rng.normal(size=3), rng.normal(size=3)
    X, G, B = leaf(x), leaf(gamma), leaf(beta)
    eps = 1e-3
    sigma = np.sqrt(x.var(axis=0) + eps)
    x_hat = (x - x.mean(axis=0)) / sigma
    # batch_norm: ∂L/∂x = γ/σ·(g − mean(g) − x̂·mean(g·x̂)); ∂L/∂γ = Σ g·x̂, ∂L/∂β = Σ g
    return (F.batch_norm(X, gamma=G, beta=B, training=True, epsilon=eps), [X, G, B],
            lambda g: [gamma / sigma * (g - g.mean(axis=0) - x_hat * (g * x_hat).mean(axis=0)),
                       (g * x_hat).sum(axis=0), g.sum(axis=0)])


def _reshape(rng):
    a = rng.normal(size=(3, 4))
    A = leaf(a)
    # reshape: ∂L/∂x = ∂L/∂y reshaped to x's shape
    return A.reshape(2, 6), [A], lambda g: [g.reshape(3, 4)]


def _transpose(rng):
    a = rng.normal(size=(2, 3, 4))
    A = leaf(a)
    # transpose: ∂L/∂x = ∂L/∂y with the axes put back (the inverse permutation)
    return A.transpose(2, 0, 1), [A], lambda g: [g.transpose(1, 2, 0)]


def _pad(rng):
    a = rng.normal(size=(2, 3))
    A = leaf(a)
    # pad: ∂L/∂x = the part of ∂L/∂y inside the padding
    return F.pad(A, ((1, 0), (0, 2))), [A], lambda g: [g[1:, :3]]


def _getitem(rng):
    a = rng.normal(size=(3, 2))
    A = leaf(a)

    def rule(g):
        # getitem: ∂L/∂x = ∂L/∂y put back where it was taken from (repeats add up)
        dx = np.zeros_like(a)
        for k, row in enumerate([0, 2, 0]):
            dx[row] += g[k]
        return [dx]
    return A[[0, 2, 0]], [A], rule


def _broadcast_to(rng):
    a = rng.normal(size=(3, 1))
    A = leaf(a)
    # broadcast_to: ∂L/∂x = ∂L/∂y summed over the axes broadcasting added or stretched
    return F.broadcast_to(A, (2, 3, 4)), [A], lambda g: [g.sum(axis=(0, 2))[:, None]]


def _concatenate(rng):
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(2, 1))
    A, B = leaf(a), leaf(b)
    # concatenate: each input's gradient is its slice of ∂L/∂y
    return F.concatenate([A, B], axis=1), [A, B], lambda g: [g[:, :3], g[:, 3:]]


def _conv2d(rng):
    x, kernel, bias = rng.normal(size=(2, 4, 5, 2)), rng.normal(size=(2, 3, 2, 3)), \
        rng.normal(size=3)
    X, K, B = leaf(x), leaf(kernel), leaf(bias)
    # conv2d: ∂L/∂kernel = patches(x)ᵀ·∂L/∂y; ∂L/∂x = the full correlation of ∂L/∂y with
    # the flipped kernel; ∂L/∂bias = Σ ∂L/∂y
    return F.conv2d(X, K, B), [X, K, B], lambda g: [
        full_correlation_with_flipped_kernel(g, kernel), kernel_gradient(x, g, 2, 3),
        g.sum(axis=(0, 1, 2))]


def _conv_gradients(rng):
    """conv2d's two gradients as ops, as tc.grad(..., create_graph=True) records them."""
    x, kernel, g = rng.normal(size=(2, 4, 5, 2)), rng.normal(size=(2, 3, 2, 3)), \
        rng.normal(size=(2, 3, 3, 3))
    X, K, G = leaf(x), leaf(kernel), leaf(g)
    dx, dk = tc.grad(F.conv2d(X, K), [X, K], grad_outputs=G, create_graph=True)
    return x, kernel, g, X, K, G, dx, dk


def _conv2d_input_grad(rng):
    x, kernel, g, X, K, G, dx, dk = _conv_gradients(rng)
    # conv2d_input_grad(g, kernel): ∂/∂g = conv2d(h, kernel), ∂/∂kernel = patches(h)ᵀ·g
    return dx, [G, K], lambda h: [conv(h, kernel), kernel_gradient(h, g, 2, 3)]


def _conv2d_kernel_grad(rng):
    x, kernel, g, X, K, G, dx, dk = _conv_gradients(rng)
    # conv2d_kernel_grad(x, g): ∂/∂x = full correlation of g with the flipped h,
    # ∂/∂g = conv2d(x, h)
    return dk, [X, G], lambda h: [full_correlation_with_flipped_kernel(g, h), conv(x, h)]


def _max_pool2d(rng):
    x = tie_free(rng, (2, 4, 6, 2))
    X = leaf(x)
    # max_pool2d: each window's ∂L/∂y goes to its first maximum
    return F.max_pool2d(X, 2), [X], lambda g: [route_to_first_max(x, g)]


def _max_pool_gradients(rng):
    x, g = tie_free(rng, (2, 4, 6, 2)), rng.normal(size=(2, 2, 3, 2))
    X, G = leaf(x), leaf(g)
    (dx,) = tc.grad(F.max_pool2d(X, 2), [X], grad_outputs=G, create_graph=True)
    return x, X, G, dx


def _max_pool2d_route(rng):
    x, X, G, dx = _max_pool_gradients(rng)
    # max_pool2d_route(g): ∂/∂g = h at each window's first maximum
    return dx, [G], lambda h: [gather_at_first_max(x, h)]


def _max_pool2d_gather(rng):
    x, X, G, dx = _max_pool_gradients(rng)
    H = leaf(rng.normal(size=x.shape))
    (dg,) = tc.grad(dx, [G], grad_outputs=H, create_graph=True)
    # max_pool2d_gather(h): ∂/∂h = each window's gradient routed to its first maximum
    return dg, [H], lambda k: [route_to_first_max(x, k)]


def _avg_pool2d(rng):
    x = rng.normal(size=(2, 4, 6, 2))
    X = leaf(x)
    # avg_pool2d: ∂y/∂x = 1/count for each element of the window
    return F.avg_pool2d(X, 2), [X], lambda g: [share_equally(x, g)]


def _avg_pool2d_spread(rng):
    x, g = rng.normal(size=(2, 4, 6, 2)), rng.normal(size=(2, 2, 3, 2))
    X, G = leaf(x), leaf(g)
    (dx,) = tc.grad(F.avg_pool2d(X, 2), [X], grad_outputs=G, create_graph=True)
    # avg_pool2d_spread(g): ∂/∂g = the window averages of h (average pooling itself)
    return dx, [G], lambda h: [average_windows(h)]


def _scatter(rng):
    a, g = rng.normal(size=(3, 2)), rng.normal(size=(3, 2))
    A, G = leaf(a), leaf(g)
    (dx,) = tc.grad(A[[0, 2, 0]], [A], grad_outputs=G, create_graph=True)
    # scatter(g): ∂/∂g = h at the index it scattered to
    return dx, [G], lambda h: [h[[0, 2, 0]]]


RULES = {
    "add": _add, "sub": _sub, "mul": _mul, "div": _div, "pow": _pow,
    # neg: ∂y/∂x = −1
    "neg": _unary("neg", normal, lambda a: -1.0),
    # exp: ∂y/∂x = eˣ
    "exp": _unary("exp", normal, np.exp),
    # log: ∂y/∂x = 1/x
    "log": _unary("log", positive, lambda a: 1 / a),
    # sqrt: ∂y/∂x = 1/(2√x)
    "sqrt": _unary("sqrt", positive, lambda a: 1 / (2 * np.sqrt(a))),
    # abs: ∂y/∂x = sign(x)
    "abs": _unary("abs", normal, np.sign),
    # relu: ∂y/∂x = 1 where x > 0, else 0
    "relu": _unary("relu", normal, lambda a: (a > 0).astype(float)),
    # sigmoid: ∂y/∂x = σ(x)·(1 − σ(x))
    "sigmoid": _unary("sigmoid", normal,
                      lambda a: 1 / (1 + np.exp(-a)) * (1 - 1 / (1 + np.exp(-a)))),
    # tanh: ∂y/∂x = 1 − tanh²(x)
    "tanh": _unary("tanh", normal, lambda a: 1 - np.tanh(a) ** 2),
    "dropout": _dropout, "astype": _astype, "maximum": _maximum, "minimum": _minimum,
    "where": _where, "clip": _clip,
    "sum": _sum, "mean": _mean, "max": _max, "min": _min,
    "matmul": _matmul, "dense": _dense,
    "softmax": _softmax, "log_softmax": _log_softmax, "cross_entropy": _cross_entropy,
    "sigmoid_cross_entropy": _sigmoid_cross_entropy,
    "softmax_cross_entropy": _softmax_cross_entropy, "batch_norm": _batch_norm,
    "reshape": _reshape, "transpose": _transpose, "pad": _pad, "getitem": _getitem,
    "scatter": _scatter, "broadcast_to": _broadcast_to, "concatenate": _concatenate,
    "conv2d": _conv2d, "conv2d_input_grad": _conv2d_input_grad,
    "conv2d_kernel_grad": _conv2d_kernel_grad,
    "max_pool2d": _max_pool2d, "max_pool2d_route": _max_pool2d_route,
    "max_pool2d_gather": _max_pool2d_gather,
    "avg_pool2d": _avg_pool2d, "avg_pool2d_spread": _avg_pool2d_spread,
}


def built_in_op_names() -> set:
    names = set()
    for info in pkgutil.iter_modules(ops.__path__):
        module = importlib.import_module(f"{ops.__name__}.{info.name}")
        names |= {c.name for _, c in inspect.getmembers(module, inspect.isclass)
                  if issubclass(c, Function) and c.__module__ == module.__name__
                  and not c.__name__.startswith("_")}
    return names


def test_every_built_in_op_has_a_row():
    assert set(RULES) == built_in_op_names()


@pytest.mark.parametrize("name", RULES)
def test_the_rule_as_written_gives_what_backward_computes(name):
    rng = np.random.default_rng(sorted(RULES).index(name))
    out, inputs, rule = RULES[name](rng)
    op = out._ctx
    assert op.name == name  # the row exercises the op it is keyed by
    g = rng.normal(size=out.shape).astype(out.dtype)  # ∂L/∂y, from further up
    got = tc.grad(out, inputs, grad_outputs=g)
    expected = rule(g)
    assert len(expected) == len(inputs)
    for i, (have, want) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(
            have.data, want, rtol=1e-12, atol=1e-14,
            err_msg=f"{name}, input {i}; its rule: {getattr(op, 'rule', None)!r}")


# ---------------------------------------------------------------- the two rules by hand
def test_the_conv_kernel_gradient_is_the_patches_transposed_times_the_output_gradient():
    x = np.arange(1.0, 17.0).reshape(1, 4, 4, 1)  # 1 image, 4×4, 1 channel
    kernel = np.array([[1.0, -1.0], [2.0, 0.5]]).reshape(2, 2, 1, 1)
    X, K = leaf(x), leaf(kernel)
    y = F.conv2d(X, K)  # 3×3: one output per position of the 2×2 window
    g = np.array([[1.0, 0.0, -1.0], [2.0, 0.5, 0.0], [0.0, 1.0, 3.0]]).reshape(1, 3, 3, 1)
    # the patch matrix: one row per output position, the 4 pixels under the window
    rows = []
    for oy in range(3):
        for ox in range(3):
            rows.append([x[0, oy, ox, 0], x[0, oy, ox + 1, 0],
                         x[0, oy + 1, ox, 0], x[0, oy + 1, ox + 1, 0]])
    p = np.array(rows)  # (9, 4)
    assert p[0].tolist() == [1, 2, 5, 6] and p[8].tolist() == [11, 12, 15, 16]
    dk = (p.T @ g.reshape(9, 1)).reshape(2, 2, 1, 1)
    # by hand: ∂L/∂kernel[i, j] = Σ over positions of ∂L/∂y · the pixel under tap (i, j);
    # tap (0, 0) gives 1 − 3 + 2·5 + 0.5·6 + 10 + 3·11 = 54, and since one step right adds 1
    # to every pixel and one step down adds 4, the others add Σ ∂L/∂y = 6.5 once, 4 and 5 times
    assert dk.ravel().tolist() == [54, 54 + 6.5, 54 + 4 * 6.5, 54 + 5 * 6.5]
    got_x, got_k = tc.grad(y, [X, K], grad_outputs=g)
    np.testing.assert_array_equal(got_k.data, dk)
    # and the image's gradient: ∂L/∂y spread back through the kernel, each output's share
    # landing on the 4 pixels it was computed from
    dx = np.zeros_like(x)
    for oy in range(3):
        for ox in range(3):
            dx[0, oy:oy + 2, ox:ox + 2, 0] += g[0, oy, ox, 0] * kernel[:, :, 0, 0]
    np.testing.assert_array_equal(got_x.data, dx)
    np.testing.assert_array_equal(dx, full_correlation_with_flipped_kernel(g, kernel))


def test_max_pool_sends_each_windows_gradient_to_its_first_maximum():
    x = np.array([[1.0, 5.0, 2.0, 0.0],
                  [3.0, 4.0, 7.0, 7.0],   # the top-right window's maximum is tied
                  [0.0, 0.0, 6.0, 1.0],
                  [9.0, 2.0, 1.0, 3.0]]).reshape(1, 4, 4, 1)
    X = leaf(x)
    g = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    (dx,) = tc.grad(F.max_pool2d(X, 2), [X], grad_outputs=g)
    assert dx.data[0, ..., 0].tolist() == [[0, 1, 0, 0],   # 5 is its window's maximum
                                           [0, 0, 2, 0],   # the first of the two 7s
                                           [0, 0, 4, 0],   # 6
                                           [3, 0, 0, 0]]   # 9
    # overlapping windows (stride 1): a pixel that is the maximum of several windows gets
    # the sum of their gradients
    x = np.array([[0.0, 1.0, 0.5], [2.0, 9.0, 0.0], [0.0, 0.25, 3.0]]).reshape(1, 3, 3, 1)
    X = leaf(x)
    g = np.array([[1.0, 2.0], [3.0, 4.0]]).reshape(1, 2, 2, 1)
    (dx,) = tc.grad(F.max_pool2d(X, 2, strides=1), [X], grad_outputs=g)
    assert dx.data[0, ..., 0].tolist() == [[0, 0, 0], [0, 10, 0], [0, 0, 0]]
