"""Programs written the way PyTorch's tutorials write them, run on tinygrad_cnn.

Each program is one function taking the library as ``lib`` (``tinygrad_cnn`` or ``torch``),
so the very same text runs on both. Every result is checked against a closed form or a
float64 numpy loop written out here; where torch is installed, the same program's torch
result is compared too (skipped otherwise, as in CI). The rows at the end are what each
idiom must refuse, with the message that says what to write instead.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor
from tinygrad_cnn import functional as F

try:
    import torch
except ImportError:
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="PyTorch is not installed")
F64 = {tc: "float64", torch: getattr(torch, "float64", None)}


def as_numpy(t):
    return t.detach().numpy() if torch is not None and isinstance(t, torch.Tensor) else t.numpy()


# ------------------------------------------------------------- the hand-written SGD step
def sgd_to_target(lib, steps=5, lr=0.1):
    """Minimise Σ (w − c)² with the step every tutorial writes."""
    w = lib.tensor([1.0, -2.0, 0.5], requires_grad=True)
    c = lib.tensor([0.5, 0.5, 0.5])
    first = w
    for _ in range(steps):
        loss = ((w - c) ** 2).sum()
        loss.backward()
        with lib.no_grad():
            w -= lr * w.grad
        w.grad = None
    return w, first


def test_manual_sgd_updates_the_leaf_in_place_and_follows_the_closed_form():
    w, first = sgd_to_target(tc)
    assert w is first and w.is_leaf and w.requires_grad and w.grad is None
    # d/dw Σ (w − c)² = 2(w − c), so each step scales w − c by (1 − 2·lr)
    w0, c = np.array([1.0, -2.0, 0.5]), 0.5
    np.testing.assert_allclose(w.numpy(), c + (1 - 2 * 0.1) ** 5 * (w0 - c), rtol=1e-6)
    assert w.dtype == np.float32


@needs_torch
def test_manual_sgd_matches_torch():
    np.testing.assert_allclose(sgd_to_target(tc)[0].numpy(),
                               as_numpy(sgd_to_target(torch)[0]), rtol=1e-6)


# ------------------------------------------------------ linear regression, by hand
def linear_regression(lib, x, y, steps=20, lr=0.05):
    X, Y = lib.tensor(x), lib.tensor(y)
    w = lib.zeros(x.shape[1], 1, dtype=F64[lib], requires_grad=True)
    b = lib.zeros(1, dtype=F64[lib], requires_grad=True)
    losses = []
    for _ in range(steps):
        loss = ((X @ w + b - Y) ** 2).mean()
        losses.append(loss.item())
        loss.backward()
        with lib.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        w.grad = None
        b.grad = None
    return w, b, losses


def regression_data():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((16, 3))
    y = x @ np.array([[1.5], [-2.0], [0.5]]) + 0.25 + 0.01 * rng.standard_normal((16, 1))
    return x, y


def test_linear_regression_steps_are_numpys_gradient_steps():
    x, y = regression_data()
    w, b, losses = linear_regression(tc, x, y)
    ref_w, ref_b, n = np.zeros((3, 1)), np.zeros(1), len(x)
    for step in range(20):  # the mean-squared-error gradient, written out in float64
        r = x @ ref_w + ref_b - y
        assert losses[step] == pytest.approx(np.mean(r ** 2), rel=1e-12)
        ref_w, ref_b = ref_w - 0.05 * 2 / n * x.T @ r, ref_b - 0.05 * 2 / n * r.sum()
    assert w.dtype == np.float64
    np.testing.assert_allclose(w.numpy(), ref_w, rtol=1e-12)
    np.testing.assert_allclose(b.numpy(), ref_b, rtol=1e-12)


@needs_torch
def test_linear_regression_matches_torch():
    x, y = regression_data()
    ours, theirs = linear_regression(tc, x, y), linear_regression(torch, x, y)
    np.testing.assert_allclose(ours[2], theirs[2], rtol=1e-12)
    for a, b in zip(ours[:2], theirs[:2]):
        np.testing.assert_allclose(as_numpy(a), as_numpy(b), rtol=1e-12)


# ---------------------------------------------------------- logistic regression
def logistic_regression(lib, x, y, steps=10, lr=0.5):
    X, Y = lib.tensor(x), lib.tensor(y)
    w = lib.zeros(x.shape[1], dtype=F64[lib], requires_grad=True)
    grads = []
    for _ in range(steps):
        p = (X.matmul(w)).sigmoid().clamp(1e-12, 1 - 1e-12)
        loss = -(Y * p.log() + (1 - Y) * (1 - p).log()).mean()
        loss.backward()
        grads.append(w.grad.copy() if isinstance(w.grad, np.ndarray) else w.grad.clone())
        with lib.no_grad():
            w -= lr * w.grad
        w.grad = None
    return w, grads


def test_logistic_regression_gradient_is_the_closed_form():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((12, 4)), rng.integers(0, 2, 12).astype(np.float64)
    w, grads = logistic_regression(tc, x, y)
    ref = np.zeros(4)
    for g in grads:  # d mean BCE / dw = Xᵀ(σ(Xw) − y) / n
        np.testing.assert_allclose(g, x.T @ (1 / (1 + np.exp(-x @ ref)) - y) / len(x),
                                   rtol=1e-10, atol=1e-15)
        ref = ref - 0.5 * g
    np.testing.assert_allclose(w.numpy(), ref, rtol=1e-12)


@needs_torch
def test_logistic_regression_matches_torch():
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((12, 4)), rng.integers(0, 2, 12).astype(np.float64)
    ours, theirs = logistic_regression(tc, x, y), logistic_regression(torch, x, y)
    np.testing.assert_allclose(ours[0].numpy(), as_numpy(theirs[0]), rtol=1e-12)


# --------------------------------------------------------------- accuracy with ==
def accuracy(lib, logits, labels):
    pred = lib.tensor(logits).argmax(dim=1)
    return (pred == lib.tensor(labels)).float().mean().item()


def test_accuracy_with_eq_counts_the_hits():
    logits = np.array([[2.0, 0.1, 0.3], [0.2, 0.1, 3.0], [0.5, 0.6, 0.1], [1.0, 0.0, 0.0]])
    labels = [0, 2, 0, 0]  # argmax is 0, 2, 1, 0: three hits of four
    assert accuracy(tc, logits, labels) == 0.75
    if torch is not None:
        assert accuracy(torch, logits, labels) == 0.75


# ------------------------------------------------------------------- constructors
def test_constructors_follow_the_contract():
    assert tc.tensor([[1, 2], [3, 4.0]]).dtype == np.float32
    assert tc.tensor(np.arange(3.0)).dtype == np.float64  # ndarrays keep their dtype
    assert tc.tensor([1, 2], dtype="int64").dtype == np.int64
    np.testing.assert_array_equal(tc.zeros(2, 3).numpy(), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(tc.ones((2, 3)).numpy(), np.ones((2, 3), np.float32))
    np.testing.assert_array_equal(tc.full((2, 3), 7.0).numpy(), np.full((2, 3), 7, np.float32))
    np.testing.assert_array_equal(tc.arange(5).numpy(), [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(tc.arange(1, 2, 0.25).numpy(), [1, 1.25, 1.5, 1.75])
    np.testing.assert_array_equal(tc.arange(3, 0, -1).numpy(), [3, 2, 1])
    assert tc.arange(5).dtype == np.float32 and tc.arange(5, dtype="int64").dtype == np.int64
    x = Tensor(np.ones((2, 2)))  # float64
    assert tc.zeros_like(x).dtype == np.float64 and tc.ones_like(x.numpy()).dtype == np.float64
    assert tc.zeros_like(x, dtype="float32").dtype == np.float32
    for make in (tc.zeros, tc.ones, tc.rand, tc.randn):
        t = make(2, 3, requires_grad=True)
        assert t.shape == (2, 3) and t.dtype == np.float32 and t.requires_grad and t.is_leaf
    assert tc.zeros(2, 3, dtype="float64").dtype == np.float64
    assert tc.cat([tc.ones(2, 1), tc.zeros(2, 2)], dim=1).shape == (2, 3)
    np.testing.assert_array_equal(tc.cat([tc.ones(1), tc.zeros(2)]).numpy(), [1, 0, 0])


def test_rand_and_randn_draw_from_the_library_generator():
    tc.manual_seed(7)
    u, n = tc.rand(1000), tc.randn(1000)
    tc.manual_seed(7)
    ref = np.random.default_rng(7)  # the library's generator, seeded the same way
    np.testing.assert_array_equal(u.numpy(), ref.random(1000).astype(np.float32))
    np.testing.assert_array_equal(n.numpy(), ref.standard_normal(1000).astype(np.float32))
    assert 0 <= u.numpy().min() and u.numpy().max() < 1
    np.testing.assert_array_equal(tc.rand(1000).numpy(), u.numpy())  # seeded again: repeats


def test_tensor_copies_but_Tensor_shares_the_users_array():
    a = np.zeros(3)
    copied, shared = tc.tensor(a), Tensor(a)  # torch.tensor copies, torch.from_numpy shares
    copied += 1
    np.testing.assert_array_equal(a, [0, 0, 0])
    shared += 1
    np.testing.assert_array_equal(a, [1, 1, 1])
    if torch is not None:
        b = np.zeros(3)
        torch.from_numpy(b).add_(1)
        np.testing.assert_array_equal(b, [1, 1, 1])


@needs_torch
def test_constructors_match_torch():
    pairs = [
        (lambda lib: lib.tensor([[1, 2], [3, 4.0]]), None),
        (lambda lib: lib.zeros(2, 3), None),
        (lambda lib: lib.ones((2, 3)), None),
        (lambda lib: lib.full((2, 3), 7.0), None),
        (lambda lib: lib.arange(1, 2, 0.25), None),
        (lambda lib: lib.zeros_like(lib.ones(2, 2, dtype=F64[lib])), None),
        (lambda lib: lib.cat([lib.ones(2, 1), lib.zeros(2, 2)], dim=1), None),
    ]
    for make, _ in pairs:
        ours, theirs = make(tc), make(torch)
        assert ours.shape == tuple(theirs.shape)
        assert ours.dtype == np.dtype(str(theirs.dtype).removeprefix("torch."))
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


# --------------------------------------------------------------------- transpose
def test_transpose_of_two_axes_is_torchs_transpose():
    m = np.array([[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(Tensor(m).transpose(0, 1).numpy(), m.T)
    np.testing.assert_array_equal(Tensor(m).transpose(1, 0).numpy(), m.T)
    np.testing.assert_array_equal(Tensor(m).t().numpy(), m.T)
    np.testing.assert_array_equal(Tensor(m).transpose((0, 1)).numpy(), m)  # a tuple: numpy's
    x = np.arange(24.0).reshape(2, 3, 4)
    for a, b in [(0, 2), (2, 0), (1, -1), (0, 0)]:
        np.testing.assert_array_equal(Tensor(x).transpose(a, b).numpy(), np.swapaxes(x, a, b))
        if torch is not None:
            np.testing.assert_array_equal(Tensor(x).transpose(a, b).numpy(),
                                          torch.tensor(x).transpose(a, b).numpy())
    np.testing.assert_array_equal(Tensor(x).transpose(2, 0, 1).numpy(), x.transpose(2, 0, 1))
    np.testing.assert_array_equal(Tensor(x).permute(2, 0, 1).numpy(), x.transpose(2, 0, 1))
    np.testing.assert_array_equal(Tensor(np.arange(3.0)).t().numpy(), [0, 1, 2])  # as torch


def test_gradient_flows_back_through_a_transpose_of_two_axes():
    w = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    coefficients = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])  # (3, 2)
    (w.transpose(0, 1) * Tensor(coefficients)).sum().backward()
    np.testing.assert_array_equal(w.grad, coefficients.T)  # d Σ c·wᵀ / dw = cᵀ


# ------------------------------------------------------------- dim= and keepdim=
def softmax_by_hand(lib, x):
    x = lib.tensor(x)
    shifted = x - x.mean(dim=1, keepdim=True)  # any per-row shift leaves softmax unchanged
    e = shifted.exp()
    return e / e.sum(dim=1, keepdim=True)


def test_softmax_written_with_dim_and_keepdim():
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, np.log(2.0)]])
    expected = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax_by_hand(tc, x).numpy(), expected, rtol=1e-6)
    if torch is not None:
        np.testing.assert_allclose(softmax_by_hand(tc, x).numpy(),
                                   softmax_by_hand(torch, x).numpy(), rtol=1e-6)


def test_every_axis_argument_takes_dim():
    x = np.array([[1.0, 5.0, 3.0], [4.0, 2.0, 6.0]])
    t = Tensor(x)
    for name in ("sum", "mean", "max", "min", "var", "std"):
        np.testing.assert_array_equal(getattr(t, name)(dim=1, keepdim=True).numpy(),
                                      getattr(t, name)(axis=1, keepdims=True).numpy())
    for name in ("sum", "mean", "max", "min", "var", "softmax", "log_softmax"):
        np.testing.assert_array_equal(getattr(tc.functional, name)(x, dim=0).numpy(),
                                      getattr(tc.functional, name)(x, axis=0).numpy())
    for name in ("argmax", "argmin", "softmax", "log_softmax"):
        np.testing.assert_array_equal(getattr(t, name)(dim=0).numpy(),
                                      getattr(t, name)(axis=0).numpy())
    assert t.unsqueeze(1).shape == (2, 1, 3) and t.unsqueeze(-1).shape == (2, 3, 1)
    assert t.unsqueeze(1).squeeze(dim=1).shape == (2, 3)
    assert tc.stack([t, t], dim=1).shape == (2, 2, 3)
    assert tc.concatenate([t, t], dim=1).shape == (2, 6)


def test_std_and_var_are_biased_unless_ddof_says_otherwise():
    x = np.array([[1.0, 5.0, 3.0, 7.0], [4.0, 2.0, 6.0, 0.0]])
    t = Tensor(x)
    np.testing.assert_allclose(t.var().numpy(), np.var(x), rtol=1e-15)
    np.testing.assert_allclose(t.var(dim=1, ddof=1).numpy(), np.var(x, axis=1, ddof=1),
                               rtol=1e-15)
    np.testing.assert_allclose(t.std(dim=0).numpy(), np.std(x, axis=0), rtol=1e-15)
    np.testing.assert_allclose(t.std(ddof=1).numpy(), np.std(x, ddof=1), rtol=1e-15)
    if torch is not None:  # torch's default is ddof=1 (correction=1)
        np.testing.assert_allclose(t.var(dim=1, ddof=1).numpy(),
                                   torch.tensor(x).var(dim=1).numpy(), rtol=1e-15)
        np.testing.assert_allclose(t.std(dim=0).numpy(),
                                   torch.tensor(x).std(dim=0, correction=0).numpy(), rtol=1e-15)


def test_gradient_of_the_unbiased_variance():
    x = np.array([1.0, 4.0, 2.0, 7.0])
    t = Tensor(x, requires_grad=True)
    t.var(ddof=1).backward()
    np.testing.assert_allclose(t.grad, 2 * (x - x.mean()) / (len(x) - 1), rtol=1e-14)
    assert tc.gradcheck(lambda a: a.std(dim=0, ddof=1), [Tensor(np.array([[1.0, 2.0],
                                                                           [4.0, 3.0],
                                                                           [0.5, 9.0]]),
                                                                 requires_grad=True)])


# -------------------------------------------------------------- the other aliases
def normalized_gram(lib, x):
    x = lib.tensor(x).double()
    rows = x / x.pow(2).sum(dim=1, keepdim=True).sqrt()
    gram = rows.matmul(rows.t())
    return gram.clamp(min=-1.0, max=1.0), x.view(-1).unsqueeze(0), x.norm(), x.float()


def test_cosine_similarities_with_torchs_method_names():
    x = np.array([[3.0, 4.0], [1.0, 0.0], [0.0, -2.0]])
    gram, flat, norm, single = normalized_gram(tc, x)
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(gram.numpy(), unit @ unit.T, rtol=1e-15)
    assert gram.dtype == np.float64 and single.dtype == np.float32
    assert flat.shape == (1, 6) and flat.tolist() == [[3.0, 4.0, 1.0, 0.0, 0.0, -2.0]]
    assert norm.item() == pytest.approx(np.sqrt(30.0), rel=1e-15)
    if torch is not None:
        for ours, theirs in zip(normalized_gram(tc, x), normalized_gram(torch, x)):
            np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-15)


def test_backward_create_graph_points_to_tc_grad_which_works():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(TypeError, match=r"\.grad holds plain ndarrays.*tc\.grad\(y, \[x\], "
                                        r"create_graph=True\)"):
        (x ** 3).sum().backward(create_graph=True)
    (g,) = tc.grad((x ** 3).sum(), [x], create_graph=True)  # the suggested way: 3x²
    (h,) = tc.grad(g.sum(), [x])
    np.testing.assert_allclose(h.numpy(), 6 * x.numpy())  # d²/dx² x³ = 6x


# ------------------------------------------- a custom op: PyTorch's Legendre tutorial
# "Defining new autograd functions" fits sin(x) with a + b·P3(c + d·x), P3 a custom op.
# Each library spells the op its own way (torch: static methods and ctx; here: an
# instance with self); the training loop around it is the same text.
class LegendreP3(tc.Function):
    """P3(x) = ½(5x³ − 3x); dP3/dx = 1.5(5x² − 1)."""

    name = "legendre_p3"

    def forward(self, x):
        self.save_for_backward(x)
        return 0.5 * (5 * x ** 3 - 3 * x)

    def backward(self, grad):
        (x,) = self.saved
        return (grad * 1.5 * (5 * x ** 2 - 1),)


if torch is not None:
    class TorchLegendreP3(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 0.5 * (5 * x ** 3 - 3 * x)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * 1.5 * (5 * x ** 2 - 1)


def fit_sine_with_legendre(lib, steps=30, lr=5e-6):
    P3 = LegendreP3 if lib is tc else TorchLegendreP3
    x = lib.tensor(np.linspace(-np.pi, np.pi, 200), dtype=F64[lib])
    y = lib.tensor(np.sin(np.linspace(-np.pi, np.pi, 200)), dtype=F64[lib])
    a, b, c, d = (lib.full((), v, dtype=F64[lib], requires_grad=True)
                  for v in (0.0, -1.0, 0.0, 0.3))
    losses = []
    for _ in range(steps):
        y_pred = a + b * P3.apply(c + d * x)    # the class-level call, as the tutorial's
        loss = ((y_pred - y) ** 2).sum()
        losses.append(loss.item())
        loss.backward()
        with lib.no_grad():
            for p in (a, b, c, d):
                p -= lr * p.grad
                p.grad = None
    return [p.item() for p in (a, b, c, d)], losses


def test_a_custom_op_trains_as_the_closed_form_gradient_steps_say():
    params, losses = fit_sine_with_legendre(tc)
    x = np.linspace(-np.pi, np.pi, 200)
    y = np.sin(x)
    a, b, c, d = 0.0, -1.0, 0.0, 0.3
    for loss in losses:  # the same steps with the chain rule written out in float64
        u = c + d * x
        p3, dp3 = 0.5 * (5 * u ** 3 - 3 * u), 1.5 * (5 * u ** 2 - 1)
        r = 2 * (a + b * p3 - y)                # dloss/dy_pred
        assert loss == pytest.approx(((a + b * p3 - y) ** 2).sum(), rel=1e-12)
        ga, gb, gc = r.sum(), (r * p3).sum(), (r * b * dp3).sum()
        gd = (r * b * dp3 * x).sum()
        a, b, c, d = a - 5e-6 * ga, b - 5e-6 * gb, c - 5e-6 * gc, d - 5e-6 * gd
    np.testing.assert_allclose(params, [a, b, c, d], rtol=1e-10, atol=1e-14)
    assert losses[-1] < losses[0]


@needs_torch
def test_a_custom_op_trains_as_torchs_does():
    ours, theirs = fit_sine_with_legendre(tc), fit_sine_with_legendre(torch)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(ours[1], theirs[1], rtol=1e-10)


def test_the_tutorial_op_without_its_save_for_backward_says_what_to_add():
    class Forgetful(LegendreP3):
        def forward(self, x):
            return 0.5 * (5 * x ** 3 - 3 * x)

    x = tc.tensor([0.5], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"op 'legendre_p3' \(Forgetful\): backward read "
                                           r"self\.saved, but forward saved nothing; call "
                                           r"self\.save_for_backward\(\.\.\.\)"):
        Forgetful.apply(x).sum().backward()


# -------------------------------------------------- a NaN in a batch: max and pooling
def row_max_and_pool_with_a_nan(lib):
    """Scores with a NaN in row 0: the max of each row and a 2×2 max-pool, both summed."""
    nan = float("nan")
    scores = lib.tensor([[1.0, nan, 3.0, 2.0], [4.0, 6.0, 5.0, 0.0]], dtype=F64[lib],
                        requires_grad=True)
    best = scores.max(dim=1) if lib is tc else scores.max(dim=1).values
    image = scores.reshape(1, 2, 4, 1)          # channels_last here, NCHW for torch
    pooled = (F.max_pool2d(image, 2) if lib is tc else
              torch.nn.functional.max_pool2d(image.permute(0, 3, 1, 2), 2))
    (best.sum() + pooled.sum()).backward()
    return best, pooled.reshape(-1), scores.grad


def test_a_nan_shows_in_its_row_and_window_and_takes_their_gradient():
    best, pooled, grad = row_max_and_pool_with_a_nan(tc)
    np.testing.assert_array_equal(best.numpy(), [np.nan, 6.0])
    np.testing.assert_array_equal(pooled.numpy(), [np.nan, 5.0])
    # row 0's max and window 0 go to the NaN; row 1's max is the 6, window 1's the 5
    np.testing.assert_array_equal(grad, [[0, 2, 0, 0], [0, 1, 1, 0]])


@needs_torch
def test_a_nan_in_a_batch_matches_torch():
    for ours, theirs in zip(row_max_and_pool_with_a_nan(tc),
                            row_max_and_pool_with_a_nan(torch), strict=True):
        np.testing.assert_array_equal(as_numpy(ours) if not isinstance(ours, np.ndarray)
                                      else ours, as_numpy(theirs))


# -------------------------------------------------------------- in-place updates
def running_mean(lib, rows):
    total = lib.zeros(3)
    first = total
    for row in rows:
        total += lib.tensor(row)
    total /= len(rows)
    return total, first


def test_in_place_on_a_plain_tensor_keeps_the_object():
    rows = [[1.0, 2.0, 3.0], [3.0, 2.0, 1.0], [2.0, 5.0, 0.0]]
    total, first = running_mean(tc, rows)
    assert total is first and total.dtype == np.float32
    np.testing.assert_allclose(total.numpy(), np.mean(rows, axis=0), rtol=1e-6)
    t = Tensor(np.array([1.0, 2.0, 3.0]))
    t *= np.array([2.0, 0.5, 1.0])
    t -= 1
    np.testing.assert_array_equal(t.numpy(), [1.0, 0.0, 2.0])


def prune(lib, w0):
    w = lib.tensor(w0, requires_grad=True)
    with lib.no_grad():
        w[w.abs() < 0.1] = 0.0
        w[0] = 5.0
    (w * w).sum().backward()
    return w


def test_item_assignment_under_no_grad_keeps_the_leaf():
    w0 = [0.05, 0.5, -0.02, -1.0]
    w = prune(tc, w0)
    assert w.is_leaf and w.requires_grad
    np.testing.assert_array_equal(w.numpy(), [5.0, 0.5, 0.0, -1.0])
    np.testing.assert_array_equal(w.grad, 2 * w.numpy())
    if torch is not None:
        np.testing.assert_array_equal(w.grad, prune(torch, w0).grad.numpy())


def test_in_place_keeps_grad_and_dtype():
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (w * w).sum().backward()
    grad = w.grad
    with tc.no_grad():
        w += np.float32(1)  # a float32 value into float64 data: w stays float64
    assert w.grad is grad and w.dtype == np.float64
    counts = Tensor(np.array([1, 2]), dtype="int64")
    counts += 3
    counts[0] = 7
    np.testing.assert_array_equal(counts.numpy(), [7, 5])
    assert counts.dtype == np.int64


def test_an_in_place_write_reaches_what_an_earlier_graph_saved():
    """Documented, not guarded: PyTorch's version counter would raise here; this library
    lets a kept graph see the new values (README, "Coming from PyTorch")."""
    x = Tensor(np.array([1.0, 2.0]))
    w = Tensor(np.array([3.0, 4.0]), requires_grad=True)
    loss = (w * x).sum()
    x += 10  # x does not require grad: allowed, and mul saved x's array
    loss.backward()
    np.testing.assert_array_equal(w.grad, [11.0, 12.0])  # the new x, not [1, 2]


@pytest.mark.parametrize("write", [
    lambda w: w.__isub__(1.0),
    lambda w: w.__iadd__(1.0),
    lambda w: w.__imul__(2.0),
    lambda w: w.__itruediv__(2.0),
    lambda w: w.__setitem__(0, 1.0),
], ids=["-=", "+=", "*=", "/=", "[0] ="])
def test_in_place_on_a_leaf_that_requires_grad_says_wrap_it_in_no_grad(write):
    w = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"a leaf tensor that requires grad is being used in "
                                           r"an in-place operation.*with tc\.no_grad\(\):"):
        write(w)
    np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])  # unchanged
    with tc.no_grad():  # the suggested fix
        write(w)
    assert w.is_leaf and w.requires_grad


def test_in_place_on_a_recorded_tensor_says_write_a_new_one():
    x = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match=r"in-place \+= on a tensor computed by the recorded "
                                           r"op 'mul'.*write y = y \+ \.\.\. instead"):
        y += 1
    with pytest.raises(RuntimeError, match=r"recorded op 'mul'.*y = tc\.where\(mask, value, y\)"):
        y[0] = 0.0
    y = y + 1  # the suggested fix
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])
    mask = np.array([True, False])
    y = tc.where(mask, 0.0, x * 2)  # and the one for item assignment
    np.testing.assert_array_equal(y.numpy(), [0.0, 4.0])


def test_in_place_of_a_value_that_requires_grad_into_a_plain_tensor_is_refused():
    total, w = tc.zeros(2), Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"gradient would be lost; write t = t \+ \.\.\."):
        total += w
    total = total + w  # the suggested fix: the sum is recorded
    total.sum().backward()
    np.testing.assert_array_equal(w.grad, [1.0, 1.0])


# ------------------------------------------------------------------------ losses
def test_a_cross_entropy_object_in_torchs_order_names_keras_order():
    logits = Tensor(np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]]))
    labels = np.array([0, 2])
    loss = tc.losses.SparseCategoricalCrossentropy(from_logits=True)
    order = r"Keras' order is loss\(y_true, y_pred\).*PyTorch's order"
    with pytest.raises(ValueError, match=order):
        loss(logits, labels)
    with pytest.raises(ValueError, match=order):  # class ids as floats: the shapes tell
        loss(logits, labels.astype(np.float32))
    with pytest.raises(ValueError, match=order):
        tc.losses.BinaryCrossentropy(from_logits=True)(Tensor(np.array([[0.3], [-1.0]])),
                                                       np.array([[1], [0]]))
    # Keras' order: −log softmax(logits)[label], averaged
    x = logits.numpy()
    expected = np.mean([np.log(np.exp(r).sum()) - r[k] for r, k in zip(x, labels)])
    assert loss(labels, logits).item() == pytest.approx(expected, rel=1e-6)
    assert tc.losses.cross_entropy(logits, labels).item() == pytest.approx(expected, rel=1e-6)


def test_losses_exports_no_abstract_base_and_points_torch_names_to_keras_ones():
    public = [getattr(tc.losses, n) for n in tc.losses.__all__]
    classes = [c for c in public if isinstance(c, type)]
    assert {c.__name__ for c in classes} == {
        "BinaryCrossentropy", "CategoricalCrossentropy", "MeanAbsoluteError",
        "MeanSquaredError", "SparseCategoricalCrossentropy"}
    y_true, y_pred = np.array([[0.0, 1.0]]), Tensor(np.array([[0.25, 0.75]]))
    for cls in classes:  # every public class works as it comes
        assert np.isfinite(cls()(y_true if cls.__name__[0] != "S" else [1], y_pred).item())
    assert not hasattr(tc.losses, "Loss") and not hasattr(tc.losses, "CrossEntropyLoss")
    with pytest.raises(AttributeError, match=r"no CrossEntropyLoss \(a torch\.nn name\); use "
                                             r"tc\.losses\.SparseCategoricalCrossentropy\("
                                             r"from_logits=True\).*cross_entropy\(logits, "
                                             r"labels\)"):
        tc.losses.CrossEntropyLoss()


# -------------------------------------------------------------------- randomness
INIT = ("import sys; import tinygrad_cnn as tc\n"
        "if sys.argv[1:]: tc.manual_seed(int(sys.argv[1]))\n"
        "layer = tc.nn.Dense(4); layer.build((3,))\n"
        "print(layer.kernel.numpy().tobytes().hex(), tc.rand(3).numpy().tobytes().hex())")


def fresh_process(*seed) -> str:
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    done = subprocess.run([sys.executable, "-c", INIT, *map(str, seed)], capture_output=True,
                          text=True, check=True, env=env)
    return done.stdout


def test_two_processes_draw_different_weights_unless_seeded():
    assert fresh_process() != fresh_process()  # the OS seeds the generator, as in torch
    assert fresh_process(3) == fresh_process(3)
    assert fresh_process(3) != fresh_process(4)
