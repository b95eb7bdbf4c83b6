"""PyTorch's optimizers: ``torch.optim``'s update rules, argument names and defaults.

::

    opt = tc.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in batches:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(); loss.backward(); opt.step()

SGD, Adam, AdamW and RMSprop match ``torch.optim.X`` step for step given the same
hyper-parameters. Keras' optimizers, with Keras' names and rules (Adam's epsilon added to
√v instead of the bias-corrected √v̂), are ``nn.optimizers``; the names given to
``model.compile`` build those. One of these, built without parameters
(``tc.optim.Adam(lr=1e-3)``), can be given to ``model.compile``, which binds it to the
model's trainable weights. ``opt.lr`` can be changed between steps.
"""

from __future__ import annotations

import numpy as np

from .checks import check_bool, check_number
from .optim_base import BaseOptimizer


class Optimizer(BaseOptimizer):
    """Base of PyTorch's optimizers: ``params`` first, then ``lr`` and PyTorch's names."""

    namespace, follows, rate_name = "tc.optim", "torch.optim", "lr"
    other = ("keras.optimizers", "nn.optimizers")
    foreign_names = {"learning_rate": "lr=", "beta_1": "betas=(beta_1, beta_2)",
                     "beta_2": "betas=(beta_1, beta_2)", "epsilon": "eps=", "rho": "alpha="}

    @property
    def lr(self) -> float:
        """The learning rate; a new value applies from the next step."""
        return self._rate

    @lr.setter
    def lr(self, value: float) -> None:
        self._rate = self._check_rate(value)


def _l2(w, g, weight_decay, out):
    """PyTorch's weight_decay: the gradient plus weight_decay·w (L2 in the gradient)."""
    return np.add(g, np.multiply(w, weight_decay, out=out), out=out) if weight_decay else g


def _lerp_(start, end, weight, tmp):
    """torch.lerp_ in place: start + weight·(end − start), computed from the nearer end."""
    np.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        start += np.multiply(tmp, weight, out=tmp)
    else:
        np.subtract(end, np.multiply(tmp, 1 - weight, out=tmp), out=start)


def _betas(betas):
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2) in [0, 1); got {betas!r}")
    return (check_number(betas[0], "betas[0]", 0, 1), check_number(betas[1], "betas[1]", 0, 1))


class SGD(Optimizer):
    """Stochastic gradient descent with torch.optim.SGD's rule.

    g ← g + weight_decay·w; with momentum, buf ← g on the first step, then
    buf ← momentum·buf + (1 − dampening)·g, and g ← buf (or g + momentum·buf with
    ``nesterov``); finally w ← w − lr·g.
    """

    def __init__(self, params=None, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, **kwargs):
        self.momentum = check_number(momentum, "momentum", 0)
        self.dampening = check_number(dampening, "dampening")
        self.weight_decay = check_number(weight_decay, "weight_decay", 0)
        self.nesterov = check_bool(nesterov, "nesterov")
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(f"nesterov=True needs momentum > 0 and dampening 0 (as in "
                             f"torch.optim.SGD); got momentum={momentum!r}, "
                             f"dampening={dampening!r}")
        super().__init__(params, lr, **kwargs)

    @property
    def state_names(self):
        return ("momentum_buffer",) if self.momentum else ()

    def init_state(self, w):
        return {}  # torch makes the buffer from the first gradient

    def update(self, w, g, state):
        a, b = self.scratch(w, 2)
        g = _l2(w, g, self.weight_decay, a)
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= self.momentum
                buf += g if not self.dampening else np.multiply(g, 1 - self.dampening, out=b)
            g = np.add(g, np.multiply(buf, self.momentum, out=b), out=b) if self.nesterov \
                else buf
        w -= np.multiply(g, self._rate, out=b if g is a else a)


class Adam(Optimizer):
    """Adam with torch.optim.Adam's rule: epsilon is added to the bias-corrected √v̂.

    g ← g + weight_decay·w; m ← lerp(m, g, 1 − β₁); v ← β₂·v + (1 − β₂)·g²
    (v̂max ← max(v̂max, v) with ``amsgrad``); w ← w − lr/(1 − β₁ᵗ) · m / (√v/√(1 − β₂ᵗ) + eps),
    with t counted per parameter.
    """

    decoupled = False  # AdamW: weight decay multiplies w instead of adding to g

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, **kwargs):
        self.betas = _betas(betas)
        self.eps = check_number(eps, "eps", 0)
        self.weight_decay = check_number(weight_decay, "weight_decay", 0)
        self.amsgrad = check_bool(amsgrad, "amsgrad")
        super().__init__(params, lr, **kwargs)

    @property
    def state_names(self):
        return ("step", "exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if self.amsgrad else ())

    def init_state(self, w):
        return {**super().init_state(w), "step": np.zeros((), np.int64)}

    def update(self, w, g, state):
        a, b = self.scratch(w, 2)
        beta1, beta2 = self.betas
        state["step"] += 1
        t = int(state["step"])
        if self.decoupled and self.weight_decay:
            w *= 1 - self._rate * self.weight_decay
        elif self.weight_decay:
            g = _l2(w, g, self.weight_decay, a)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        _lerp_(m, g, 1 - beta1, b)
        v *= beta2
        v += np.multiply(np.multiply(g, 1 - beta2, out=b), g, out=b)
        if self.amsgrad:
            v = np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        step_size = self._rate / (1 - beta1**t)
        denom = np.divide(np.sqrt(v, out=b), (1 - beta2**t) ** 0.5, out=b)
        denom += self.eps
        w -= np.multiply(np.divide(m, denom, out=b), step_size, out=b)


class AdamW(Adam):
    """Adam with decoupled weight decay, torch.optim.AdamW's rule: before the Adam step,
    w ← w·(1 − lr·weight_decay)."""

    decoupled = True

    def __init__(self, params=None, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, **kwargs):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, **kwargs)


class RMSprop(Optimizer):
    """RMSprop with torch.optim.RMSprop's rule.

    g ← g + weight_decay·w; s ← α·s + (1 − α)·g²; with ``centered``, ḡ ← lerp(ḡ, g, 1 − α)
    and s − ḡ² replaces s below; d ← √s + eps; then w ← w − lr·g/d, or with momentum
    buf ← momentum·buf + g/d and w ← w − lr·buf.
    """

    def __init__(self, params=None, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0,
                 momentum=0.0, centered=False, **kwargs):
        self.alpha = check_number(alpha, "alpha", 0)
        self.eps = check_number(eps, "eps", 0)
        self.weight_decay = check_number(weight_decay, "weight_decay", 0)
        self.momentum = check_number(momentum, "momentum", 0)
        self.centered = check_bool(centered, "centered")
        super().__init__(params, lr, **kwargs)

    @property
    def state_names(self):
        return (("step", "square_avg") + (("momentum_buffer",) if self.momentum else ())
                + (("grad_avg",) if self.centered else ()))

    def init_state(self, w):
        return {**super().init_state(w), "step": np.zeros((), np.int64)}

    def update(self, w, g, state):
        a, b = self.scratch(w, 2)
        alpha = self.alpha
        state["step"] += 1
        g = _l2(w, g, self.weight_decay, a)
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += np.multiply(np.multiply(g, 1 - alpha, out=b), g, out=b)
        if self.centered:
            grad_avg = state["grad_avg"]
            _lerp_(grad_avg, g, 1 - alpha, b)
            avg = np.subtract(square_avg, np.multiply(grad_avg, grad_avg, out=b), out=b)
            np.sqrt(avg, out=avg)
        else:
            avg = np.sqrt(square_avg, out=b)
        avg += self.eps
        if self.momentum:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += np.divide(g, avg, out=b)
            w -= np.multiply(buf, self._rate, out=b)
        else:
            w -= np.multiply(np.divide(g, avg, out=b), self._rate, out=b)
