"""Optimizers follow PyTorch's update rules; checked against updates computed by hand."""

import numpy as np
import pytest

from tinygrad_cnn import Tensor, optim


def param(values, grads):
    p = Tensor(np.array(values, dtype=np.float64), requires_grad=True)
    p.grad = np.array(grads, dtype=np.float64)
    return p


def test_plain_sgd_step():
    p = param([1.0, -2.0], [0.5, 1.0])
    optim.SGD([p], lr=0.1).step()
    np.testing.assert_allclose(p.data, [0.95, -2.1])


def test_sgd_momentum_and_weight_decay_over_two_steps():
    p = param([1.0], [0.5])
    opt = optim.SGD([p], lr=0.1, momentum=0.9, weight_decay=0.01)
    opt.step()  # g = 0.5 + 0.01·1 = 0.51; buf = 0.51; p = 1 − 0.051
    np.testing.assert_allclose(p.data, [0.949])
    p.grad = np.array([0.5])
    opt.step()  # g = 0.5 + 0.00949; buf = 0.9·0.51 + 0.50949 = 0.96849
    np.testing.assert_allclose(p.data, [0.949 - 0.1 * 0.96849])


def test_sgd_nesterov():
    p = param([1.0], [1.0])
    opt = optim.SGD([p], lr=0.1, momentum=0.5, nesterov=True)
    opt.step()  # buf = 1; step g + 0.5·buf = 1.5
    np.testing.assert_allclose(p.data, [0.85])
    p.grad = np.array([1.0])
    opt.step()  # buf = 0.5 + 1 = 1.5; step 1 + 0.75 = 1.75
    np.testing.assert_allclose(p.data, [0.85 - 0.175])


def test_adam_matches_the_bias_corrected_rule():
    # Kingma & Ba, Algorithm 1 (= torch.optim.Adam): m = 0.9m + 0.1g, v = 0.999v + 0.001g²,
    # x -= lr·m̂/(√v̂ + eps), m̂ = m/(1 − 0.9^t), v̂ = v/(1 − 0.999^t); lr 0.01, eps 1e-7.
    # Worked in 50-digit decimals (not with the package); torch 2.13 agrees to ~1e-15.
    # t=1 g=(0.1, -0.2):  m=(0.01, -0.02)   v=(1e-5, 4e-5)            m̂=g, v̂=g²
    #     step = 0.01·g/(|g| + 1e-7) = (0.00999999000001, -0.0099999950000025)
    # t=2 g=(0.3, 0.1):   m=(0.039, -0.008) v=(9.999e-5, 4.996e-5)
    #     m̂=m/0.19=(0.205263157895, -0.0421052631579) v̂=v/0.001999=(0.050020010005, 0.0249924962481)
    #     step = (0.0091778070861839913, -0.0026633687118888975)
    # t=3 g=(-0.2, 0.05): m=(0.0151, -0.0022) v=(1.3989001e-4, 5.241004e-5)
    #     m̂=m/0.271=(0.0557195571956, -0.00811808118081)
    #     v̂=v/0.002997001=(0.0466766644389, 0.0174874949992)
    #     step = (0.0025790368572189536, -0.00061388816369652779)
    expected = [[0.99000000999999000, 2.0099999950000025],
                [0.98082220291380601, 2.0126633637118914],
                [0.97824316605658706, 2.0132772518755879]]
    p = param([1.0, 2.0], [0.1, -0.2])
    opt = optim.Adam([p], lr=0.01)
    for g, x in zip([[0.1, -0.2], [0.3, 0.1], [-0.2, 0.05]], expected, strict=True):
        p.grad = np.array(g)
        opt.step()
        np.testing.assert_allclose(p.data, x, rtol=1e-13, atol=0)


def test_step_skips_parameters_without_gradient_and_zero_grad_clears():
    a, b = param([1.0], [1.0]), param([5.0], [1.0])
    b.grad = None
    opt = optim.Adam([a, b])
    opt.step()
    assert b.data[0] == 5.0 and a.data[0] != 1.0
    opt.zero_grad()
    assert a.grad is None and b.grad is None


def test_updates_keep_float32():
    p = Tensor(np.ones(3, np.float32), requires_grad=True)
    p.grad = np.ones(3, np.float32)
    optim.Adam([p]).step()
    optim.SGD([p], lr=0.1, momentum=0.9).step()
    assert p.dtype == np.float32


@pytest.mark.parametrize("make, arg", [
    (lambda p: optim.SGD([p], lr=0), "lr"),
    (lambda p: optim.SGD([p], lr=float("nan")), "lr"),
    (lambda p: optim.SGD([p], lr="0.1"), "lr"),
    (lambda p: optim.SGD([p], lr=0.1, momentum=-1), "momentum"),
    (lambda p: optim.SGD([p], lr=0.1, nesterov=True), "nesterov"),
    (lambda p: optim.Adam([p], betas=(0.9, 1.0)), "betas"),
    (lambda p: optim.Adam([p], betas=0.9), "betas"),
    (lambda p: optim.Adam([p], eps=-1), "eps"),
    (lambda p: optim.Adam([]), "params"),
    (lambda p: optim.Adam(p), "params"),
    (lambda p: optim.Adam([p, "w"]), "params"),
    (lambda p: optim.Adam([Tensor([1.0])]), "requires_grad"),
])
def test_bad_optimizer_arguments(make, arg):
    p = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises((TypeError, ValueError), match=arg):
        make(p)


def test_matches_torch_when_installed():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 4))
    grads = [rng.standard_normal((3, 4)) for _ in range(5)]
    for ours_cls, torch_cls, kwargs in [
        (optim.Adam, torch.optim.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-7)),
        (optim.SGD, torch.optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True,
                                          weight_decay=0.01)),
    ]:
        ours = Tensor(w0.copy(), requires_grad=True)
        theirs = torch.tensor(w0.copy(), requires_grad=True)
        opt_ours, opt_theirs = ours_cls([ours], **kwargs), torch_cls([theirs], **kwargs)
        for g in grads:
            ours.grad = g.copy()
            theirs.grad = torch.tensor(g.copy())
            opt_ours.step()
            opt_theirs.step()
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10)


def test_keras_style_construction_without_parameters_then_bind():
    opt = optim.Adam(learning_rate=0.5)
    assert opt.params is None and opt.learning_rate == 0.5
    assert optim.SGD().lr == 0.01 and optim.Adam().lr == 1e-3  # Keras' defaults
    assert optim.SGD(lr=0.2).learning_rate == 0.2  # the alias
    p = param([1.0], [2.0])
    opt = optim.SGD(learning_rate=0.1)
    opt.bind([p])
    opt.step()
    np.testing.assert_allclose(p.data, [0.8])


def test_optimizers_by_name_get_keras_default_rates():
    assert isinstance(optim.get("adam"), optim.Adam) and optim.get("adam").lr == 1e-3
    assert isinstance(optim.get("SGD"), optim.SGD) and optim.get("sgd").lr == 0.01
    opt = optim.Adam(learning_rate=3e-4)
    assert optim.get(opt) is opt
    with pytest.raises(ValueError, match=r"one of \['adam', 'sgd'\].*got 'rmsprop'"):
        optim.get("rmsprop")
