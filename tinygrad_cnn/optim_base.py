"""The one base both families of optimizers share: parameters, state, the step loop.

``tc.optim`` (PyTorch's rules) and ``nn.optimizers`` (Keras' rules) subclass
``BaseOptimizer`` through a small family base that says how the family names things. An
optimizer is then its constructor (hyper-parameters kept as attributes of the same names,
which is all ``get_config`` reads), ``state_names`` and one ``update`` rule::

    class Sign(tc.optim.Optimizer):       # p -= lr·sign(g), with PyTorch's naming
        def __init__(self, params=None, lr=1e-3):
            super().__init__(params, lr)

        def update(self, w, g, state):
            (s,) = self.scratch(w, 1)
            w -= np.multiply(np.sign(g, out=s), self.lr, out=s)

What an optimizer holds, for reading and for saving (``model.save`` writes it):

- ``params``: the Tensors it updates, in order (``model.trainable_weights`` after compile);
- ``iterations``: how many times ``step()`` ran (Keras' name; Keras' Adam reads it);
- ``state[i]``: parameter ``i``'s arrays by name (``{"momentum": …, "velocity": …}``), or
  None until its first update, when ``init_state`` makes them (PyTorch's lazy state);
- ``get_config()`` / ``from_config(config)``: the hyper-parameters, learning rate included,
  as JSON-ready constructor arguments;
- ``get_state()`` / ``set_state(arrays)``: ``iterations`` and every state array as flat
  named arrays, keys ``"iterations"`` and ``"{i}/{name}"`` (``"0/momentum"``).
  ``set_state`` checks every key, shape and dtype before it changes anything.

Updates write into the parameter's array in place, and their intermediate results go into
``scratch`` arrays made once and reused by every step, so a step allocates no
weight-sized temporaries.
"""

from __future__ import annotations

import inspect
import numbers
import re

import numpy as np

from .checks import check_number
from .tensor import Tensor


class BaseOptimizer:
    """Parameters, per-parameter state and the step loop; see the module's docstring."""

    namespace = ""   # where the family's classes are exported: "tc.optim", "nn.optimizers"
    follows = ""     # whose update rules, for repr and errors: "torch.optim"
    rate_name = ""   # the learning rate's attribute in this family: "lr", "learning_rate"
    other = ("", "")  # the other family: whose rules, where exported
    # The other family's argument names, each with what this family writes instead, so a
    # call written for the other library gets a TypeError that says what to write.
    foreign_names: dict[str, str] = {}

    def __init__(self, params, rate, /, **unknown):
        self._reject(unknown)
        self._rate = self._check_rate(rate)
        self.params: list | None = None
        self.state: list[dict[str, np.ndarray] | None] = []
        self.iterations = 0
        self._scratch: dict[np.dtype, list[np.ndarray]] = {}
        self._views: dict[tuple, list[np.ndarray]] = {}  # (shape, dtype, n) → scratch views
        if params is not None:
            self.bind(params)

    # ------------------------------------------------------------------ arguments
    @classmethod
    def _arguments(cls) -> list[str]:
        """The constructor's hyper-parameters (every argument but params and **kwargs)."""
        signature = inspect.signature(cls.__init__)
        return [name for name, p in signature.parameters.items()
                if name not in ("self", "params") and p.kind is not p.VAR_KEYWORD]

    def _reject(self, unknown: dict) -> None:
        if not unknown:
            return
        name = next(iter(unknown))
        own = self._arguments()
        where = f"{self.namespace}.{type(self).__name__}"
        fix = self.foreign_names.get(name)
        if fix is not None and re.match(r"\w+", fix)[0] in own:
            theirs = self.other[0] + ("'" if self.other[0].endswith("s") else "'s")
            raise TypeError(f"{where} follows {self.follows}: write {fix}, not {name}= "
                            f"({theirs} name); for {theirs} rules use {self.other[1]}")
        raise TypeError(f"{where} got an unexpected argument {name}=; it takes "
                        f"{', '.join(f'{a}=' for a in own)}")

    def _check_rate(self, value) -> float:
        return check_number(value, self.rate_name, 0)

    # ------------------------------------------------------------------ parameters
    def bind(self, params) -> None:
        """Take the Tensors to update; their state starts afresh (``model.compile`` binds
        to the model's trainable weights, as Keras builds an optimizer on its first step)."""
        if isinstance(params, numbers.Number) and not isinstance(params, bool):
            raise TypeError(f"params must be a list of Tensors; got the number {params!r}. "
                            f"For the learning rate write {self.rate_name}={params!r}")
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
        seen = {}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"params[{i}] must be a Tensor; got {type(p).__name__}")
            if id(p) in seen:
                raise ValueError(f"params[{i}] ({p.name or 'unnamed'}) is params[{seen[id(p)]}] "
                                 f"again; each parameter may appear once (it would be "
                                 f"updated twice per step)")
            seen[id(p)] = i
        self.params = params
        self.state = [None] * len(params)
        self.iterations = 0

    def _require_params(self, what: str) -> list:
        if self.params is None:
            name = type(self).__name__
            raise ValueError(f"{what}: this {name} has no parameters yet; pass them "
                             f"(tc.optim.{name}(model.parameters())) or give it to "
                             f"model.compile(optimizer=...)")
        return self.params

    # ------------------------------------------------------------------ stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (PyTorch's default: ``grad = None``; else fill with 0)."""
        for p in self._require_params("zero_grad()"):
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad[...] = 0

    def _gradients(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """``(i, weights, gradient)`` of every parameter that has a gradient this step, all
        checked before any is updated."""
        found = []
        for i, p in enumerate(self._require_params("step()")):
            g = p.grad
            if g is None or not p.requires_grad:
                continue
            if g.shape != p.shape:
                raise ValueError(f"params[{i}] ({p.name or 'unnamed'}) has shape {p.shape} "
                                 f"but its grad has shape {g.shape}; a gradient must match "
                                 f"its parameter")
            found.append((i, p.data, g if g.dtype == p.dtype else g.astype(p.dtype)))
        return found

    def step(self) -> None:
        """Update every parameter that has a gradient (the others are left alone)."""
        for i, w, g in self._gradients():
            self._update(i, w, g)
        self.iterations += 1

    def _update(self, i: int, w: np.ndarray, g: np.ndarray) -> None:
        state = self.state[i]
        if state is None:
            state = self.state[i] = self.init_state(w)
        self.update(w, g, state)

    @property
    def state_names(self) -> tuple[str, ...]:
        """The names of each parameter's state arrays (they may depend on the settings)."""
        return ()

    def init_state(self, w: np.ndarray) -> dict[str, np.ndarray]:
        """A parameter's state before its first update: zeros shaped like it."""
        return {name: np.zeros_like(w) for name in self.state_names}

    def update(self, w: np.ndarray, g: np.ndarray, state: dict[str, np.ndarray]) -> None:
        """The rule: change ``w`` in place, given its gradient ``g`` and its ``state``."""
        raise NotImplementedError(f"{type(self).__name__} must define update(w, g, state)")

    def scratch(self, w: np.ndarray, n: int) -> list[np.ndarray]:
        """``n`` arrays shaped like ``w`` for intermediate results: views of buffers made
        once per dtype (as large as the largest parameter), shared by all parameters
        since updates run one after another."""
        views = self._views.get((w.shape, w.dtype, n))
        if views is not None:
            return views
        buffers = self._scratch.get(w.dtype, [])
        if len(buffers) < n or buffers[0].size < w.size:
            size = max([w.size] + [b.size for b in buffers])
            buffers = self._scratch[w.dtype] = [np.empty(size, w.dtype)
                                                for _ in range(max(n, len(buffers)))]
            self._views = {}  # views of the old buffers would keep them alive
        views = self._views[w.shape, w.dtype, n] = [b[:w.size].reshape(w.shape)
                                                    for b in buffers[:n]]
        return views

    # ------------------------------------------------------------------ config and state
    def get_config(self) -> dict:
        """The constructor arguments that rebuild this optimizer (without its state)."""
        return {name: getattr(self, name) for name in self._arguments()}

    @classmethod
    def from_config(cls, config: dict):
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        name = type(self).__name__
        if not type(self).__module__.startswith("tinygrad_cnn."):
            return f"{name}({args})"  # a class of your own: its rules are yours
        return f"{self.namespace}.{name}({args}) — {self.follows}.{name}'s rules"

    def get_state(self) -> dict[str, np.ndarray]:
        """Copies of ``iterations`` and every state array, keys ``"{i}/{name}"``."""
        arrays = {"iterations": np.array(self.iterations, np.int64)}
        for i, state in enumerate(self.state):
            for name, value in (state or {}).items():
                arrays[f"{i}/{name}"] = value.copy()
        return arrays

    def set_state(self, arrays: dict) -> None:
        """Restore what ``get_state`` returned, for the same parameters; every key, shape and
        dtype is checked first, so on a ValueError nothing has changed."""
        params = self._require_params("set_state()")
        arrays = dict(arrays)
        iterations = arrays.pop("iterations", None)
        if (not isinstance(iterations, np.ndarray) or iterations.shape != ()
                or iterations.dtype.kind not in "iu" or iterations < 0):
            raise ValueError(f"optimizer state: 'iterations' must be a non-negative integer "
                             f"array of shape (); got {iterations!r:.60}")
        saved: dict[int, dict[str, np.ndarray]] = {}
        names = set(self.state_names)
        for key, value in arrays.items():
            index, _, name = key.partition("/")
            if not index.isdigit() or int(index) >= len(params) or name not in names:
                raise ValueError(f"optimizer state: unexpected entry {key!r}; this "
                                 f"{type(self).__name__} has {len(params)} parameters, each "
                                 f"with {sorted(names) or 'no state'}")
            saved.setdefault(int(index), {})[name] = value
        state: list[dict | None] = [None] * len(params)
        for i, found in sorted(saved.items()):
            which = f"params[{i}] ({params[i].name or 'unnamed'})"
            if set(found) != names:
                raise ValueError(f"optimizer state of {which}: has {sorted(found)}, expected "
                                 f"{sorted(names)}")
            w = params[i].data
            fresh = self.init_state(w)
            state[i] = {}
            for name, value in found.items():
                like = fresh.get(name, w)  # a state made by the first update is like w
                if not isinstance(value, np.ndarray) or value.shape != like.shape \
                        or value.dtype.kind not in "fiu":
                    got = (f"{value.dtype} array of shape {value.shape}"
                           if isinstance(value, np.ndarray) else type(value).__name__)
                    raise ValueError(f"optimizer state {name!r} of {which} must be a numeric "
                                     f"array of shape {like.shape}; got {got}")
                state[i][name] = value.astype(like.dtype)
        self.state = state
        self.iterations = int(iterations)
