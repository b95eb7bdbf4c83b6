"""Optimizers with PyTorch's update rules (``torch.optim.SGD`` / ``torch.optim.Adam``).

Built PyTorch's way with parameters (``Adam(model.parameters(), lr=1e-3)``) or Keras' way
without (``Adam(learning_rate=1e-3)``), for ``model.compile`` to bind; ``get("adam")``
makes one by name with Keras' default learning rate.
"""

from __future__ import annotations

import numpy as np

from .checks import check_bool, check_number
from .tensor import Tensor


def _learning_rate(lr, learning_rate, default: float) -> float:
    """Keras' ``learning_rate=`` or its alias ``lr=`` (PyTorch's), not both."""
    if lr is not None and learning_rate is not None and lr != learning_rate:
        raise ValueError(f"give learning_rate or its alias lr, not both; got "
                         f"learning_rate={learning_rate!r} and lr={lr!r}")
    if learning_rate is None and lr is not None:
        return check_number(lr, "lr", 0, low_inclusive=False)
    value = default if learning_rate is None else learning_rate
    return check_number(value, "learning_rate", 0, low_inclusive=False)


class Optimizer:
    """Base: ``params`` now, or later from ``bind`` (``model.compile`` binds to the model's
    trainable weights, as Keras builds an optimizer on its first step)."""

    def __init__(self, params=None, learning_rate: float = 0.01):
        self.lr = learning_rate
        self.params: list[Tensor] | None = None
        if params is not None:
            self.bind(params)

    @property
    def learning_rate(self) -> float:
        return self.lr

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self.lr = check_number(value, "learning_rate", 0, low_inclusive=False)

    def bind(self, params) -> None:
        """Take the tensors to update and create their state (momentum, moments)."""
        if isinstance(params, (int, float)) and not isinstance(params, bool):
            raise TypeError(f"params must be a list of Tensors; got the number {params!r}. "
                            f"For the learning rate write learning_rate={params!r}")
        if isinstance(params, Tensor):
            raise TypeError("params must be a list of Tensors (e.g. model.parameters()), not "
                            "a single Tensor; wrap it in a list")
        if hasattr(params, "parameters") and callable(params.parameters):
            raise TypeError(f"params must be a list of Tensors; got the "
                            f"{type(params).__name__} itself: pass model.parameters()")
        try:
            params = list(params)
        except TypeError:
            raise TypeError(f"params must be a list of Tensors (e.g. model.parameters()); got "
                            f"{type(params).__name__} {params!r:.60}") from None
        if not params:
            raise ValueError("params is empty: the optimizer got no parameters. Build the model "
                             "first (input_shape= or one call) before model.parameters()")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"params[{i}] must be a Tensor; got {type(p).__name__}")
            if not p.requires_grad:
                raise ValueError(f"params[{i}] ({p.name or 'unnamed'}) has requires_grad=False; "
                                 f"an optimizer only updates trainable tensors")
        self.params = params
        self.init_state()

    def init_state(self) -> None:
        """Per-parameter state, created by ``bind``."""

    def get_config(self) -> dict:
        """The hyper-parameters that rebuild this optimizer (without its parameters)."""
        return {"learning_rate": self.lr}

    def _require_params(self, what: str) -> list:
        if self.params is None:
            raise ValueError(f"{what}: this {type(self).__name__} has no parameters yet; pass "
                             f"them (tc.optim.{type(self).__name__}(model.parameters())) or "
                             f"give it to model.compile(optimizer=...)")
        return self.params

    def zero_grad(self) -> None:
        for p in self._require_params("zero_grad()"):
            p.grad = None

    def step(self) -> None:
        for i, p in enumerate(self._require_params("step()")):
            if p.grad is not None:  # parameters that took no part are left alone
                if p.grad.shape != p.shape:
                    raise ValueError(f"params[{i}] ({p.name or 'unnamed'}) has shape {p.shape} "
                                     f"but its grad has shape {p.grad.shape}; a gradient must "
                                     f"match its parameter")
                self.update(i, p)

    def update(self, i: int, p: Tensor) -> None:
        raise NotImplementedError

    _scratch = None  # parameter index -> its two scratch arrays

    def scratch(self, i: int, p: Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Two arrays shaped like parameter ``i``, made once and reused by every step, so
        an update writes its intermediate results there (``out=``) instead of allocating."""
        if self._scratch is None:
            self._scratch = {}
        if i not in self._scratch or self._scratch[i][0].shape != p.shape:
            self._scratch[i] = (np.empty_like(p.data), np.empty_like(p.data))
        return self._scratch[i]


class SGD(Optimizer):
    """p -= lr·g, with optional momentum (dampening 0), Nesterov and L2 weight decay."""

    def __init__(self, params=None, lr: float | None = None, momentum: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0, *,
                 learning_rate: float | None = None):
        self.momentum = check_number(momentum, "momentum", 0)
        self.weight_decay = check_number(weight_decay, "weight_decay", 0)
        nesterov = check_bool(nesterov, "nesterov")
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0")
        self.nesterov = nesterov
        super().__init__(params, _learning_rate(lr, learning_rate, 0.01))

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov,
                "weight_decay": self.weight_decay}

    def init_state(self):
        self.velocity: list[np.ndarray | None] = [None] * len(self.params)

    def update(self, i, p):
        s, t = self.scratch(i, p)
        g = p.grad
        if self.weight_decay:  # g + weight_decay·p
            g = np.add(g, np.multiply(p.data, self.weight_decay, out=s), out=s)
        if self.momentum:
            buf = self.velocity[i]
            if buf is None:
                buf = self.velocity[i] = g.copy()
            else:  # momentum·buf + g, in place
                buf *= self.momentum
                buf += g
            g = np.add(g, np.multiply(buf, self.momentum, out=t), out=t) if self.nesterov else buf
        p.data -= np.multiply(g, self.lr, out=t, dtype=p.dtype)


class Adam(Optimizer):
    """Adam with bias correction; Keras' default eps=1e-7."""

    def __init__(self, params=None, lr: float | None = None, betas=(0.9, 0.999),
                 eps: float = 1e-7, weight_decay: float = 0.0, *,
                 learning_rate: float | None = None):
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2) in [0, 1); got {betas!r}")
        self.betas = (check_number(betas[0], "betas[0]", 0, 1),
                      check_number(betas[1], "betas[1]", 0, 1))
        self.eps = check_number(eps, "eps", 0)
        self.weight_decay = check_number(weight_decay, "weight_decay", 0)
        super().__init__(params, _learning_rate(lr, learning_rate, 1e-3))

    def get_config(self):
        return {**super().get_config(), "betas": self.betas, "eps": self.eps,
                "weight_decay": self.weight_decay}

    def init_state(self):
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]
        self.steps = [0] * len(self.params)

    def update(self, i, p):
        b1, b2 = self.betas
        s, u = self.scratch(i, p)  # every intermediate goes into these two: no temporaries
        g = p.grad
        if self.weight_decay:  # g + weight_decay·p
            g = np.add(g, np.multiply(p.data, self.weight_decay, out=u), out=u)
        self.steps[i] += 1
        t = self.steps[i]
        m, v = self.m[i], self.v[i]
        m *= b1
        m += np.multiply(g, 1 - b1, out=s)                      # m = b1·m + (1 − b1)·g
        v *= b2
        v += np.multiply(np.multiply(g, g, out=s), 1 - b2, out=s)  # v = b2·v + (1 − b2)·g²
        step_size = self.lr / (1 - b1**t)
        denom = np.sqrt(np.divide(v, 1 - b2**t, out=s), out=s)  # √(v / (1 − b2ᵗ)) + eps
        denom += self.eps
        p.data -= np.divide(np.multiply(m, step_size, out=u), denom, out=u, dtype=p.dtype)


NAMES = {"adam": Adam, "sgd": SGD}


def get(identifier) -> Optimizer:
    """An optimizer by name ("adam": lr 1e-3, "sgd": lr 0.01), or an Optimizer as given."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in NAMES:
        return NAMES[identifier.lower()]()
    kind = ValueError if isinstance(identifier, str) else TypeError
    raise kind(f"optimizer must be one of {sorted(NAMES)} or an optimizer object such as "
               f"tc.optim.Adam(learning_rate=1e-3); got {identifier!r:.60}")
