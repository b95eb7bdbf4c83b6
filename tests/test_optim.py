"""Optimizers: tc.optim follows torch.optim, nn.optimizers follows keras.optimizers.

Every optimizer is run for several steps, on tiny gradients (1e-4 … 1e-8, where the place
of epsilon decides the step) and on ordinary ones, in float32 and float64, and compared
after every step with the reference library's update rule written out below in float64
numpy: PyTorch's from the algorithms in torch.optim's documentation (its code for
AMSGrad's maximum), Keras' from keras/src/optimizers/*.py. When torch or keras is
installed the same runs are compared with torch.optim / keras.optimizers themselves.
"""

import os
import tracemalloc

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn

STEPS = 5


# ----------------------------------------------------------- PyTorch's rules, written out
def torch_sgd(w, grads, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
              nesterov=False):
    b = None
    for g in grads:
        g = g + weight_decay * w
        if momentum:
            b = g if b is None else momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        w = w - lr * g
        yield w


def torch_adam(w, grads, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
               amsgrad=False, decoupled=False):
    (b1, b2), m, v, v_max = betas, 0 * w, 0 * w, 0 * w
    for t, g in enumerate(grads, start=1):
        if decoupled:  # AdamW
            w = w * (1 - lr * weight_decay)
        else:
            g = g + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        v_max = np.maximum(v_max, v) if amsgrad else v
        m_hat, v_hat = m / (1 - b1**t), v_max / (1 - b2**t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)  # eps outside the corrected root
        yield w


def torch_adamw(w, grads, weight_decay=1e-2, **kwargs):
    return torch_adam(w, grads, weight_decay=weight_decay, decoupled=True, **kwargs)


def torch_rmsprop(w, grads, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                  centered=False):
    v, g_avg, b = 0 * w, 0 * w, 0 * w
    for g in grads:
        g = g + weight_decay * w
        v = alpha * v + (1 - alpha) * g**2
        v_tilde = v
        if centered:
            g_avg = alpha * g_avg + (1 - alpha) * g
            v_tilde = v - g_avg**2
        if momentum:
            b = momentum * b + g / (np.sqrt(v_tilde) + eps)
            w = w - lr * b
        else:
            w = w - lr * g / (np.sqrt(v_tilde) + eps)
        yield w


# ------------------------------------------------------------- Keras' rules, written out
def keras_decay(w, learning_rate, weight_decay):
    """Keras' base optimizer, before every update rule: w − w·weight_decay·lr."""
    return w if weight_decay is None else w - w * weight_decay * learning_rate


def keras_sgd(w, grads, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None):
    m = 0 * w
    for g in grads:
        w = keras_decay(w, learning_rate, weight_decay)
        if momentum:
            m = momentum * m - learning_rate * g
            w = w + (momentum * m - learning_rate * g if nesterov else m)
        else:
            w = w - learning_rate * g
        yield w


def keras_adam(w, grads, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
               amsgrad=False, weight_decay=None, dtype=np.float64):
    # Keras casts β₁, β₂ and the learning rate to the weights' dtype before computing α:
    # in float32, 1 − β₂ᵗ of float32(0.999) is 1.3e-5 off in relative terms, part of the rule
    b1, b2, lr = (float(dtype(v)) for v in (beta_1, beta_2, learning_rate))
    m, v, v_hat = 0 * w, 0 * w, 0 * w
    for t, g in enumerate(grads, start=1):  # t = iterations + 1
        w = keras_decay(w, learning_rate, weight_decay)
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        m = m + (g - m) * (1 - beta_1)
        v = v + (g**2 - v) * (1 - beta_2)
        if amsgrad:
            v_hat = np.maximum(v_hat, v)
        w = w - m * alpha / (np.sqrt(v_hat if amsgrad else v) + epsilon)  # eps beside √v
        yield w


def keras_adamw(w, grads, weight_decay=0.004, **kwargs):
    return keras_adam(w, grads, weight_decay=weight_decay, **kwargs)


def keras_rmsprop(w, grads, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                  centered=False, weight_decay=None):
    v, g_avg, m = 0 * w, 0 * w, 0 * w
    for g in grads:
        w = keras_decay(w, learning_rate, weight_decay)
        v = rho * v + (1 - rho) * g**2
        if centered:
            g_avg = rho * g_avg + (1 - rho) * g
            denominator = v - g_avg**2 + epsilon
        else:
            denominator = v + epsilon  # epsilon under the root
        increment = learning_rate * g / np.sqrt(denominator)
        if momentum:
            m = momentum * m + increment
            w = w - m
        else:
            w = w - increment
        yield w


def keras_adagrad(w, grads, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                  weight_decay=None):
    a = np.full_like(w, initial_accumulator_value)
    for g in grads:
        w = keras_decay(w, learning_rate, weight_decay)
        a = a + g**2
        w = w - learning_rate * g / np.sqrt(a + epsilon)
        yield w


# ------------------------------------------------------------------------- the table
T, K = tc.optim, nn.optimizers  # PyTorch's and Keras' families
CASES = {  # id: (class, hyper-parameters, reference rule)
    "torch SGD": (T.SGD, dict(lr=0.1), torch_sgd),
    "torch SGD momentum, dampening, decay": (
        T.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01), torch_sgd),
    "torch SGD nesterov": (T.SGD, dict(lr=0.05, momentum=0.8, nesterov=True,
                                       weight_decay=0.1), torch_sgd),
    "torch Adam": (T.Adam, dict(lr=0.01), torch_adam),
    "torch Adam decay, amsgrad": (T.Adam, dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6,
                                               weight_decay=0.1, amsgrad=True), torch_adam),
    "torch AdamW": (T.AdamW, dict(lr=0.01), torch_adamw),
    "torch AdamW amsgrad": (T.AdamW, dict(lr=0.02, weight_decay=0.5, amsgrad=True),
                            torch_adamw),
    "torch RMSprop": (T.RMSprop, dict(lr=0.01), torch_rmsprop),
    "torch RMSprop centered, momentum, decay": (
        T.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1, momentum=0.5,
                        centered=True), torch_rmsprop),
    "keras SGD": (K.SGD, dict(learning_rate=0.1), keras_sgd),
    "keras SGD momentum": (K.SGD, dict(learning_rate=0.1, momentum=0.9), keras_sgd),
    "keras SGD nesterov, decay": (K.SGD, dict(learning_rate=0.1, momentum=0.8, nesterov=True,
                                              weight_decay=0.05), keras_sgd),
    "keras Adam": (K.Adam, dict(learning_rate=0.01), keras_adam),
    "keras Adam amsgrad": (K.Adam, dict(learning_rate=0.01, beta_1=0.8, beta_2=0.99,
                                        epsilon=1e-6, amsgrad=True), keras_adam),
    "keras AdamW": (K.AdamW, dict(learning_rate=0.01), keras_adamw),
    "keras AdamW amsgrad": (K.AdamW, dict(learning_rate=0.02, weight_decay=0.5, amsgrad=True),
                            keras_adamw),
    "keras RMSprop": (K.RMSprop, dict(learning_rate=0.01), keras_rmsprop),
    "keras RMSprop centered, momentum, decay": (
        K.RMSprop, dict(learning_rate=0.01, rho=0.8, momentum=0.5, epsilon=1e-6,
                        centered=True, weight_decay=0.1), keras_rmsprop),
    "keras Adagrad": (K.Adagrad, dict(learning_rate=0.1), keras_adagrad),
    "keras Adagrad from 0": (K.Adagrad, dict(learning_rate=0.1, initial_accumulator_value=0.0,
                                             epsilon=1e-6), keras_adagrad),
}



def test_every_optimizer_has_a_row():
    families = [*nn.optimizers.NAMES.values(), T.SGD, T.Adam, T.AdamW, T.RMSprop]
    assert {cls for cls, _, _ in CASES.values()} == set(families)
    exported = {v for v in vars(T).values() if isinstance(v, type)
                and issubclass(v, T.Optimizer) and v is not T.Optimizer}
    assert exported <= set(families)


rng = np.random.default_rng(0)
SCALES = np.array([1.0, 2.0, -1.0, 0.5, 1.0])
GRADIENTS = {  # name: (initial weights, one gradient per step)
    # tiny gradients from zeros: the update is all there is, and epsilon decides its size
    "tiny": (np.zeros(3), [s * np.array([1e-4, 1e-6, 1e-8]) for s in SCALES]),
    "ordinary": (rng.standard_normal((2, 3)), list(rng.standard_normal((STEPS, 2, 3)))),
}


def make(cls, kwargs, tensor):
    """Either family bound to ``[tensor]``: PyTorch's takes it, Keras' is bound to it."""
    if issubclass(cls, tc.optim.Optimizer):
        return cls([tensor], **kwargs)
    opt = cls(**kwargs)
    opt.bind([tensor])
    return opt


def run(cls, kwargs, w0, grads, dtype):
    """Our optimizer's weights after each step."""
    p = Tensor(w0.astype(dtype), requires_grad=True)
    opt = make(cls, kwargs, p)
    for g in grads:
        p.grad = g.astype(dtype)
        opt.step()
        assert p.dtype == dtype
        yield p.data.copy()


def assert_close(actual, expected, dtype, step):
    """float64: to 1e-12; float32: to a few float32 roundings (2e-6), both relative to the
    array's largest value, since weights that cross zero have no relative error of their own."""
    rtol = 1e-12 if dtype == np.float64 else 2e-6
    scale = np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * scale,
                               err_msg=f"after step {step}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("gradients", GRADIENTS)
@pytest.mark.parametrize("case", CASES)
def test_every_step_follows_the_reference_rule(case, gradients, dtype):
    cls, kwargs, rule = CASES[case]
    w0, grads = GRADIENTS[gradients]
    run_ours = list(run(cls, kwargs, w0, grads, dtype))
    # the reference starts from the same (possibly float32-rounded) numbers, in float64
    w0_in, grads_in = w0.astype(dtype).astype(np.float64), \
        [g.astype(dtype).astype(np.float64) for g in grads]
    if rule in (keras_adam, keras_adamw):
        kwargs = {**kwargs, "dtype": dtype}
    expected = list(rule(w0_in, grads_in, **kwargs))
    actual = run_ours
    assert len(actual) == len(expected) == STEPS
    for step, (a, e) in enumerate(zip(actual, expected, strict=True), start=1):
        assert_close(a, e, dtype, step)


def test_the_issue_repro_keras_adam_adds_epsilon_to_the_uncorrected_root():
    # One step from zeros, learning rate 1e-3 (Keras' default), gradients 1e-4, 1e-6, 1e-8:
    # keras.optimizers.Adam gives these (PyTorch's placement gave -9.990e-04, -9.091e-04,
    # -9.091e-05 with eps 1e-7). By hand, α = 1e-3·√0.001/0.1 and the step is
    # α·0.1g/(√0.001·|g| + 1e-7).
    p = Tensor(np.zeros(3, np.float32), requires_grad=True)
    p.grad = np.array([1e-4, 1e-6, 1e-8], np.float32)
    opt = nn.optimizers.Adam()
    opt.bind([p])
    opt.step()
    assert [f"{v:.3e}" for v in p.data] == ["-9.693e-04", "-2.403e-04", "-3.152e-06"]


def test_torch_adam_adds_eps_to_the_corrected_root():
    # At t = 1, m̂ = g and √v̂ = |g|: the step is lr·g/(|g| + eps), eps = 1e-8 (PyTorch's).
    g = np.array([1e-4, 1e-6, 1e-8])
    p = Tensor(np.zeros(3), requires_grad=True)
    p.grad = g.copy()
    tc.optim.Adam([p]).step()
    np.testing.assert_allclose(p.data, -1e-3 * g / (g + 1e-8), rtol=1e-14)
    assert [f"{v:.3e}" for v in p.data] == ["-9.999e-04", "-9.901e-04", "-5.000e-04"]


DEFAULTS = [  # each library's own defaults (torch 2.x signatures, Keras 3 signatures)
    (T.SGD(), dict(lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False)),
    (T.Adam(), dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False)),
    (T.AdamW(), dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                     amsgrad=False)),
    (T.RMSprop(), dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                       centered=False)),
    (K.SGD(), dict(learning_rate=0.01, momentum=0.0, nesterov=False, name="sgd")),
    (K.Adam(), dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                    amsgrad=False, name="adam")),
    (K.AdamW(), dict(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                     epsilon=1e-7, amsgrad=False, name="adam_w")),
    (K.RMSprop(), dict(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                       centered=False, name="rm_sprop")),
    (K.Adagrad(), dict(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                       name="adagrad")),
]
KERAS_BASE = dict(weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None)


@pytest.mark.parametrize("opt, expected", DEFAULTS, ids=lambda v: repr(v)[:30])
def test_defaults_are_the_reference_library_defaults(opt, expected):
    config = opt.get_config()
    if isinstance(opt, K.Optimizer):
        expected = {**KERAS_BASE, **expected}
    assert config == expected
    rebuilt = type(opt).from_config(config)
    assert rebuilt.get_config() == config and rebuilt.params is None


def test_docstring_and_repr_say_whose_rules():
    assert "torch.optim.Adam's rule" in T.Adam.__doc__
    assert "keras.optimizers.Adam's rule" in K.Adam.__doc__
    assert repr(T.Adam(lr=0.01)) == ("tc.optim.Adam(lr=0.01, betas=(0.9, 0.999), eps=1e-08, "
                                     "weight_decay=0.0, amsgrad=False) — torch.optim.Adam's "
                                     "rules")
    assert repr(K.SGD(0.1)).startswith("nn.optimizers.SGD(learning_rate=0.1, momentum=0.0, ")
    assert repr(K.SGD(0.1)).endswith(" — keras.optimizers.SGD's rules")


@pytest.mark.parametrize("opt, attr", [(T.SGD(), "lr"), (K.SGD(), "learning_rate")])
def test_the_learning_rate_can_change_between_steps(opt, attr):
    p = Tensor(np.array([1.0, -2.0]), requires_grad=True)
    opt.bind([p])
    for lr, g in [(0.1, [0.5, 1.0]), (0.01, [2.0, -1.0]), (0.0, [1.0, 1.0])]:
        setattr(opt, attr, lr)
        p.grad = np.array(g)
        before = p.data.copy()
        opt.step()
        np.testing.assert_allclose(p.data, before - lr * np.array(g), rtol=1e-15)
    with pytest.raises(ValueError, match=f"{attr} must be a finite number >= 0; got -1"):
        setattr(opt, attr, -1)
    assert getattr(opt, attr) == 0.0


# ------------------------------------------------------------------ Keras' base options
def keras_clipped(grads, clipnorm=None, clipvalue=None, global_clipnorm=None):
    """Keras' clipping, per the base optimizer: per-gradient norm, global norm or value."""
    if clipnorm:
        return [g * clipnorm / max(np.linalg.norm(g), clipnorm) for g in grads]
    if global_clipnorm:
        norm = np.sqrt(sum(np.sum(g**2) for g in grads))
        return [g * global_clipnorm / max(norm, global_clipnorm) for g in grads]
    return [np.clip(g, -clipvalue, clipvalue) for g in grads]


@pytest.mark.parametrize("clip", [dict(clipnorm=0.5), dict(clipvalue=0.3),
                                  dict(global_clipnorm=0.7), dict(clipnorm=100.0)],
                         ids=str)
def test_keras_clipping_before_the_update(clip):
    a0, b0 = rng.standard_normal(4), rng.standard_normal((2, 2))
    ga, gb = rng.standard_normal(4), 3 * rng.standard_normal((2, 2))
    a, b = Tensor(a0.copy(), requires_grad=True), Tensor(b0.copy(), requires_grad=True)
    opt = K.SGD(learning_rate=0.1, **clip)
    opt.bind([a, b])
    a.grad, b.grad = ga.copy(), gb.copy()
    opt.step()
    ca, cb = keras_clipped([ga, gb], **clip)
    np.testing.assert_allclose(a.data, a0 - 0.1 * ca, rtol=1e-14)
    np.testing.assert_allclose(b.data, b0 - 0.1 * cb, rtol=1e-14)
    np.testing.assert_array_equal(a.grad, ga)  # the gradients themselves are left alone


def test_keras_adam_with_weight_decay_and_amsgrad_over_steps():
    cls, kwargs = K.Adam, dict(learning_rate=0.02, amsgrad=True, weight_decay=0.3)
    w0, grads = GRADIENTS["ordinary"]
    for step, (a, e) in enumerate(zip(run(cls, kwargs, w0, grads, np.float64),
                                      keras_adam(w0, grads, **kwargs)), start=1):
        assert_close(a, e, np.float64, step)


# ------------------------------------------------------------------ parameters and state
@pytest.mark.parametrize("opt", [T.Adam(), K.Adam()], ids=["torch", "keras"])
def test_parameters_without_a_gradient_or_frozen_are_skipped(opt):
    a, b, c = (Tensor(np.array([v]), requires_grad=True) for v in (1.0, 5.0, 7.0))
    c.requires_grad = False
    opt.bind([a, b, c])
    a.grad, c.grad = np.array([1.0]), np.array([1.0])
    opt.step()
    assert a.data[0] != 1.0 and b.data[0] == 5.0 and c.data[0] == 7.0
    assert opt.state[1] is None and opt.state[2] is None and opt.iterations == 1


def test_zero_grad_forgets_or_zeroes_the_gradients():
    a, b = Tensor(np.ones(2), requires_grad=True), Tensor(np.ones(2), requires_grad=True)
    opt = T.SGD([a, b])
    a.grad = np.ones(2)
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(a.grad, [0.0, 0.0])
    assert b.grad is None
    opt.zero_grad()
    assert a.grad is None


def test_a_keras_step_without_any_gradient_raises_as_keras_does():
    p = Tensor(np.ones(2), requires_grad=True)
    opt = K.SGD()
    opt.bind([p])
    with pytest.raises(ValueError, match=r"no parameter of this SGD has a gradient.*"
                                         r"loss.backward\(\)"):
        opt.step()
    T.SGD([p]).step()  # torch.optim steps over nothing without a word


@pytest.mark.parametrize("case", [c for c in CASES if "SGD" not in c or "momentum" in c])
def test_a_restored_state_continues_bit_for_bit(case):
    cls, kwargs, _ = CASES[case]
    w0, grads = GRADIENTS["ordinary"]
    whole = list(run(cls, kwargs, w0, grads, np.float32))[-1]

    p = Tensor(w0.astype(np.float32), requires_grad=True)
    first = make(cls, kwargs, p)
    for g in grads[:2]:
        p.grad = g.astype(np.float32)
        first.step()
    saved = first.get_state()
    assert saved["iterations"] == 2 and set(first.state[0]) == set(first.state_names)
    q = Tensor(p.data.copy(), requires_grad=True)
    second = make(cls, first.get_config(), q)
    second.set_state(saved)
    for g in grads[2:]:
        q.grad = g.astype(np.float32)
        second.step()
    np.testing.assert_array_equal(q.data, whole)


def test_set_state_checks_everything_before_changing_anything():
    p = Tensor(np.zeros(3), requires_grad=True)
    opt = K.Adam()
    opt.bind([p])
    p.grad = np.ones(3)
    opt.step()
    good = opt.get_state()
    assert sorted(good) == ["0/momentum", "0/velocity", "iterations"]
    for bad, message in [
        ({**good, "0/velocity": np.zeros(4)}, r"'velocity' of params\[0\] \(unnamed\) must "
                                              r"be a numeric array of shape \(3,\)"),
        ({k: v for k, v in good.items() if k != "0/velocity"},
         r"params\[0\] \(unnamed\): has \['momentum'\], expected \['momentum', 'velocity'\]"),
        ({**good, "1/momentum": np.zeros(3)}, r"unexpected entry '1/momentum'"),
        ({**good, "iterations": np.array(1.5)}, r"'iterations' must be a non-negative integer"),
    ]:
        with pytest.raises(ValueError, match=message):
            opt.set_state(bad)
        assert opt.iterations == 1
        np.testing.assert_array_equal(opt.state[0]["momentum"], good["0/momentum"])


@pytest.mark.parametrize("case", ["torch Adam", "torch SGD nesterov", "keras Adam",
                                  "keras AdamW", "keras RMSprop", "keras SGD momentum",
                                  "torch RMSprop centered, momentum, decay", "keras Adagrad"])
def test_a_step_allocates_no_weight_sized_arrays(case):
    cls, kwargs, _ = CASES[case]
    p = Tensor(np.ones(250_000, np.float32), requires_grad=True)  # 1 MB
    opt = make(cls, kwargs, p)
    p.grad = np.full(250_000, 0.1, np.float32)
    opt.step()  # the first step makes the state and the scratch arrays
    tracemalloc.start()
    try:
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < p.data.nbytes / 10, f"a step allocated {peak} bytes"


# ------------------------------------------------------------ against the libraries
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("gradients", GRADIENTS)
@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("torch")])
def test_matches_torch_optim_when_installed(case, gradients, dtype):
    torch = pytest.importorskip("torch")
    cls, kwargs, _ = CASES[case]
    w0, grads = GRADIENTS[gradients]
    theirs = torch.tensor(w0.astype(dtype), requires_grad=True)
    opt = getattr(torch.optim, cls.__name__)([theirs], **kwargs)
    for step, (ours, g) in enumerate(zip(run(cls, kwargs, w0, grads, dtype), grads), start=1):
        theirs.grad = torch.tensor(g.astype(dtype))
        opt.step()
        assert_close(ours, theirs.detach().numpy(), dtype, step)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # keras' own, under numpy 2
@pytest.mark.parametrize("gradients", GRADIENTS)
@pytest.mark.parametrize("case", [c for c in CASES if c.startswith("keras")])
def test_matches_keras_optimizers_when_installed(case, gradients):
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    cls, kwargs, _ = CASES[case]
    w0, grads = GRADIENTS[gradients]
    theirs = keras.Variable(w0.astype(np.float32))
    opt = getattr(keras.optimizers, cls.__name__)(**kwargs)
    for step, (ours, g) in enumerate(zip(run(cls, kwargs, w0, grads, np.float32), grads),
                                     start=1):
        opt.apply([g.astype(np.float32)], [theirs])
        assert_close(ours, np.asarray(theirs.value), np.float32, step)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_issue_repro_matches_keras_when_installed():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    theirs = keras.Variable(np.zeros(3, np.float32))
    keras.optimizers.Adam().apply([np.array([1e-4, 1e-6, 1e-8], np.float32)], [theirs])
    assert [f"{v:.3e}" for v in np.asarray(theirs.value)] == \
        ["-9.693e-04", "-2.403e-04", "-3.152e-06"]
