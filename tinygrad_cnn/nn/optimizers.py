"""Keras' optimizers: ``keras.optimizers``' update rules, argument names and defaults.

::

    model.compile(optimizer="adam", ...)                        # nn.optimizers.Adam()
    model.compile(optimizer=nn.optimizers.Adam(learning_rate=3e-4), ...)

SGD, Adam, AdamW, RMSprop and Adagrad match ``keras.optimizers.X`` (Keras 3) step for
step in float32, to rounding: the same rules in the same order of operations, with Keras'
bias correction folded into the learning rate and Adam's epsilon added to √v, not to the
bias-corrected √v̂ (PyTorch's placement, which ``tc.optim`` keeps). Every one takes Keras'
base options ``weight_decay`` (``w ← w − w·weight_decay·learning_rate`` before the update),
``clipnorm``, ``clipvalue`` and ``global_clipnorm`` (clipping before that), and ``name``.

Left out of Keras' options: ``use_ema``, ``ema_momentum``, ``ema_overwrite_frequency``,
``loss_scale_factor``, ``gradient_accumulation_steps``, a learning-rate schedule object
in place of ``learning_rate`` (``tc.callbacks.LearningRateScheduler`` changes it per epoch)
and ``exclude_from_weight_decay``. Keras keeps the learning rate as a float32 variable,
which rounds it for float64 weights; here it is used as given.

``compile`` binds an optimizer to the model's trainable weights; for a loop of your own,
``opt.bind(model.trainable_weights)``, then ``zero_grad``/``backward``/``step`` as usual.
``opt.learning_rate`` can be changed between steps.
"""

from __future__ import annotations

import re

import numpy as np

from .. import optim
from ..checks import check_bool, check_number
from ..optim_base import BaseOptimizer
from ..tensor import Tensor


def _optional(value, arg: str, low: float = 0, low_inclusive: bool = True):
    return None if value is None else check_number(value, arg, low, low_inclusive=low_inclusive)


def _snake_case(name: str) -> str:
    """Keras' default optimizer names: "Adam" → "adam", "AdamW" → "adam_w"."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Optimizer(BaseOptimizer):
    """Base of Keras' optimizers: no parameters in the constructor (``compile`` binds
    them), ``learning_rate`` and Keras' names, and Keras' clipping and weight decay."""

    namespace, follows, rate_name = "nn.optimizers", "keras.optimizers", "learning_rate"
    other = ("torch.optim", "tc.optim")
    foreign_names = {"lr": "learning_rate=", "betas": "beta_1= and beta_2=",
                     "eps": "epsilon=", "alpha": "rho="}
    LEFT_OUT = ("use_ema", "ema_momentum", "ema_overwrite_frequency", "loss_scale_factor",
                "gradient_accumulation_steps")

    def __init__(self, learning_rate, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        for arg in kwargs:
            if arg in self.LEFT_OUT:
                raise TypeError(f"{self.namespace}.{type(self).__name__}: {arg}= is a "
                                f"keras.optimizers option that tinygrad_cnn leaves out")
        if isinstance(learning_rate, (list, tuple, Tensor)) or hasattr(learning_rate,
                                                                        "__next__"):
            raise TypeError(f"{self.namespace}.{type(self).__name__} takes no parameters, "
                            f"as in Keras: model.compile binds it to the model's weights (or "
                            f"call opt.bind(params)). Its first argument is learning_rate; "
                            f"for PyTorch's style write tc.optim.{type(self).__name__}"
                            f"(model.parameters(), lr=...)")
        self.weight_decay = _optional(weight_decay, "weight_decay")
        self.clipnorm = _optional(clipnorm, "clipnorm", 0, low_inclusive=False)
        self.clipvalue = _optional(clipvalue, "clipvalue", 0, low_inclusive=False)
        self.global_clipnorm = _optional(global_clipnorm, "global_clipnorm", 0,
                                         low_inclusive=False)
        clips = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
        if sum(v is not None for v in clips.values()) > 1:
            given = ", ".join(f"{k}={v!r}" for k, v in clips.items() if v is not None)
            raise ValueError(f"give at most one of clipnorm, clipvalue and global_clipnorm (as "
                             f"in Keras); got {given}")
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str such as 'adam'; got {type(name).__name__} "
                            f"{name!r:.60}")
        self.name = name or _snake_case(type(self).__name__)
        super().__init__(None, learning_rate, **kwargs)

    @property
    def learning_rate(self) -> float:
        """The learning rate; a new value applies from the next step."""
        return self._rate

    @learning_rate.setter
    def learning_rate(self, value: float) -> None:
        self._rate = self._check_rate(value)

    def step(self) -> None:
        """Keras' ``apply``: clip the gradients, decay the weights, update, count."""
        found = self._gradients()
        if not found:
            raise ValueError(f"step(): no parameter of this {type(self).__name__} has a "
                             f"gradient (as Keras says: no gradients provided for any "
                             f"variable); call loss.backward() first")
        grads = self._clip([g for _, _, g in found])
        if self.weight_decay is not None:
            for _, w, _ in found:  # w − w·weight_decay·learning_rate, in that order
                (s,) = self.scratch(w, 1)
                w -= np.multiply(np.multiply(w, self.weight_decay, out=s), self._rate, out=s)
        for (i, w, _), g in zip(found, grads):
            self._update(i, w, g)
        self.iterations += 1

    def _clip(self, grads: list[np.ndarray]) -> list[np.ndarray]:
        """Keras' clipping: each gradient to norm ≤ clipnorm, all together to global norm
        ≤ global_clipnorm, or each value into [−clipvalue, clipvalue] (new arrays: the
        gradients themselves are left as backward made them)."""
        if self.clipnorm:
            c = self.clipnorm
            return [g * c / max(np.sqrt(np.sum(np.square(g))), g.dtype.type(c)) for g in grads]
        if self.global_clipnorm:
            c = self.global_clipnorm
            norm = np.sqrt(sum(np.sum(np.square(g), dtype=np.float64) for g in grads))
            scale = c * min(1.0 / norm, 1.0 / c) + (norm - norm)  # NaN when norm is not finite
            return [g * g.dtype.type(scale) for g in grads]
        if self.clipvalue:
            return [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads


def _beta(value, arg):
    return check_number(value, arg, 0, 1)


class SGD(Optimizer):
    """Gradient descent with keras.optimizers.SGD's rule.

    Without momentum w ← w − learning_rate·g; with it, m ← momentum·m − learning_rate·g and
    w ← w + m (``nesterov``: w ← w + momentum·m − learning_rate·g).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, weight_decay=None,
                 clipnorm=None, clipvalue=None, global_clipnorm=None, name=None, **kwargs):
        self.momentum = check_number(momentum, "momentum", 0, 1, high_inclusive=True)
        self.nesterov = check_bool(nesterov, "nesterov")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)

    @property
    def state_names(self):
        return ("momentum",) if self.momentum else ()

    def update(self, w, g, state):
        a, b = self.scratch(w, 2)
        lr_g = np.multiply(g, self._rate, out=a)
        if not self.momentum:
            w -= lr_g
            return
        m = state["momentum"]
        m *= self.momentum
        m -= lr_g
        w += np.subtract(np.multiply(m, self.momentum, out=b), lr_g, out=b) if self.nesterov \
            else m


class Adam(Optimizer):
    """Adam with keras.optimizers.Adam's rule: epsilon is added to √v.

    m ← m + (g − m)·(1 − β₁); v ← v + (g² − v)·(1 − β₂) (v̂ ← max(v̂, v) with ``amsgrad``);
    w ← w − m·α / (√v + epsilon), α = learning_rate·√(1 − β₂ᵗ)/(1 − β₁ᵗ),
    t = iterations + 1, the scalars computed in the weights' dtype as Keras does.
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        self.beta_1 = _beta(beta_1, "beta_1")
        self.beta_2 = _beta(beta_2, "beta_2")
        self.epsilon = check_number(epsilon, "epsilon", 0)
        self.amsgrad = check_bool(amsgrad, "amsgrad")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)

    @property
    def state_names(self):
        return ("momentum", "velocity") + (("velocity_hat",) if self.amsgrad else ())

    def _alpha(self, dtype) -> np.floating:
        """The step size with the bias correction folded in, computed in the weights' dtype
        as Keras does; the same for every parameter of a step, so made once per step."""
        key = (self.iterations, self._rate, dtype)
        if self._alpha_cache[0] != key:
            t = dtype(self.iterations + 1)
            beta_1_power = np.power(dtype(self.beta_1), t)
            beta_2_power = np.power(dtype(self.beta_2), t)
            self._alpha_cache = (key, dtype(self._rate) * np.sqrt(1 - beta_2_power)
                                 / (1 - beta_1_power))
        return self._alpha_cache[1]

    _alpha_cache = (None, None)

    def update(self, w, g, state):
        a, b = self.scratch(w, 2)
        alpha = self._alpha(w.dtype.type)
        m, v = state["momentum"], state["velocity"]
        m += np.multiply(np.subtract(g, m, out=a), 1 - self.beta_1, out=a)
        v += np.multiply(np.subtract(np.square(g, out=a), v, out=a), 1 - self.beta_2, out=a)
        if self.amsgrad:
            v = np.maximum(state["velocity_hat"], v, out=state["velocity_hat"])
        denominator = np.add(np.sqrt(v, out=a), self.epsilon, out=a)
        w -= np.divide(np.multiply(m, alpha, out=b), denominator, out=b)


class AdamW(Adam):
    """Adam with decoupled weight decay, keras.optimizers.AdamW: Adam's rule after
    w ← w − w·weight_decay·learning_rate (weight_decay 0.004 by default)."""

    def __init__(self, learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-7, amsgrad=False, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        if weight_decay is None:
            raise ValueError("AdamW needs a weight_decay (a number >= 0, 0.004 by default); "
                             "got None. Plain Adam is nn.optimizers.Adam")
        super().__init__(learning_rate, beta_1, beta_2, epsilon, amsgrad, weight_decay,
                         clipnorm, clipvalue, global_clipnorm, name, **kwargs)


class RMSprop(Optimizer):
    """RMSprop with keras.optimizers.RMSprop's rule.

    v ← ρ·v + (1 − ρ)·g²; with ``centered``, ḡ ← ρ·ḡ + (1 − ρ)·g and d = v − ḡ² + ε, else
    d = v + ε; Δ = learning_rate·g/√d; w ← w − Δ, or with momentum m ← momentum·m + Δ
    and w ← w − m.
    """

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, weight_decay=None, clipnorm=None, clipvalue=None,
                 global_clipnorm=None, name=None, **kwargs):
        self.rho = check_number(rho, "rho", 0, 1, high_inclusive=True)
        self.momentum = check_number(momentum, "momentum", 0)
        self.epsilon = check_number(epsilon, "epsilon", 0)
        self.centered = check_bool(centered, "centered")
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)

    @property
    def state_names(self):
        return (("velocity",) + (("momentum",) if self.momentum else ())
                + (("average_gradient",) if self.centered else ()))

    def update(self, w, g, state):
        a, b = self.scratch(w, 2)
        rho = self.rho
        velocity = state["velocity"]
        velocity *= rho
        velocity += np.multiply(np.square(g, out=a), 1 - rho, out=a)
        if self.centered:
            average = state["average_gradient"]
            average *= rho
            average += np.multiply(g, 1 - rho, out=a)
            denominator = np.subtract(velocity, np.square(average, out=a), out=a)
            denominator += self.epsilon
        else:
            denominator = np.add(velocity, self.epsilon, out=a)
        increment = np.divide(np.multiply(g, self._rate, out=b),
                              np.sqrt(denominator, out=a), out=b)
        if self.momentum:
            m = state["momentum"]
            m *= self.momentum
            m += increment
            w -= m
        else:
            w -= increment


class Adagrad(Optimizer):
    """Adagrad with keras.optimizers.Adagrad's rule: a ← a + g² (a starts at
    ``initial_accumulator_value``); w ← w − learning_rate·g / √(a + epsilon)."""

    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7,
                 weight_decay=None, clipnorm=None, clipvalue=None, global_clipnorm=None,
                 name=None, **kwargs):
        self.initial_accumulator_value = check_number(initial_accumulator_value,
                                                      "initial_accumulator_value", 0)
        self.epsilon = check_number(epsilon, "epsilon", 0)
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm,
                         name, **kwargs)

    state_names = ("accumulator",)

    def init_state(self, w):
        return {"accumulator": np.full_like(w, self.initial_accumulator_value)}

    def update(self, w, g, state):
        a, b = self.scratch(w, 2)
        accumulator = state["accumulator"]
        accumulator += np.square(g, out=a)
        denominator = np.sqrt(np.add(accumulator, self.epsilon, out=a), out=a)
        w -= np.divide(np.multiply(g, self._rate, out=b), denominator, out=b)


# ---------------------------------------------------------------------- by name
NAMES = {"adam": Adam, "sgd": SGD, "rmsprop": RMSprop, "adamw": AdamW, "adagrad": Adagrad}
FAMILIES = {  # serialize's "module" → the classes it can rebuild
    Optimizer.namespace: {cls.__name__: cls for cls in NAMES.values()},
    optim.Optimizer.namespace: {cls.__name__: cls for cls in (optim.SGD, optim.Adam,
                                                              optim.AdamW, optim.RMSprop)},
}


def get(identifier) -> BaseOptimizer:
    """``compile``'s optimizer: a name builds Keras' optimizer with Keras' defaults; an
    optimizer of either family is used as given."""
    if isinstance(identifier, BaseOptimizer):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, BaseOptimizer):
        raise TypeError(f"optimizer must be an optimizer object; got the class "
                        f"{identifier.__name__} itself: write {identifier.__name__}()")
    if isinstance(identifier, str) and identifier.lower() in NAMES:
        return NAMES[identifier.lower()]()
    kind = ValueError if isinstance(identifier, str) else TypeError
    raise kind(f"optimizer must be one of {sorted(NAMES)} (Keras' optimizers with Keras' "
               f"defaults) or an optimizer object such as nn.optimizers.Adam("
               f"learning_rate=1e-3) or tc.optim.Adam(lr=1e-3); got {identifier!r:.60}")


def serialize(optimizer: BaseOptimizer) -> dict | None:
    """``{"module", "class_name", "config"}`` (JSON-ready), or None for a class of your own,
    which cannot be rebuilt by name."""
    cls = type(optimizer)
    if FAMILIES.get(cls.namespace, {}).get(cls.__name__) is not cls:
        return None
    return {"module": cls.namespace, "class_name": cls.__name__,
            "config": optimizer.get_config()}


def deserialize(entry: dict) -> BaseOptimizer:
    """The optimizer ``serialize`` described, with a fresh state."""
    if not isinstance(entry, dict) or "module" not in entry:  # files from before 2026-12
        entry = _from_version_1(entry)
    classes = FAMILIES.get(entry.get("module"), {})
    cls = classes.get(entry.get("class_name"))
    if cls is None or not isinstance(entry.get("config"), dict):
        known = [f"{module}.{name}" for module, names in FAMILIES.items() for name in names]
        raise ValueError(f"cannot rebuild the optimizer {entry!r:.100}; known: "
                         f"{', '.join(known)}")
    try:
        return cls.from_config(entry["config"])
    except TypeError as exc:
        raise ValueError(f"cannot rebuild {entry['module']}.{cls.__name__} from "
                         f"{entry['config']!r:.100}: {exc}") from None


def _from_version_1(entry) -> dict:
    """Version-1 files named the PyTorch-rule optimizers of tc.optim, with Keras' argument
    ``learning_rate``; they are rebuilt as the same rules: tc.optim with ``lr``."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        return {}
    config = dict(entry["config"])
    if "learning_rate" in config:
        config["lr"] = config.pop("learning_rate")
    return {"module": optim.Optimizer.namespace, "class_name": entry.get("class_name"),
            "config": config}
