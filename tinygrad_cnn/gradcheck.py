"""Numerical gradient checking by central differences (float64 only).

Non-scalar outputs are reduced to a scalar along one fixed random direction ``r``:
``L = sum(fn(*inputs) * r)``. The analytic gradient of ``L`` comes from ``backward(r)``;
the numeric one perturbs every element of every checked input by ±eps. Every element is
checked, so keep the inputs small.
"""

from __future__ import annotations

import numpy as np

from .checks import check_int, check_number
from .function import no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its numeric estimate."""


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0) -> bool:
    """Check ``fn``'s analytic gradients against central differences.

    Args:
        fn: ``fn(*inputs) -> Tensor``.
        inputs: list or tuple of Tensors; those with ``requires_grad=True`` are checked.
        eps: finite-difference step.
        atol, rtol: pass when ``|analytic − numeric| <= atol + rtol·|numeric|``.
        seed: seeds the random projection direction for non-scalar outputs.

    Returns:
        True when every element matches.

    Raises:
        GradcheckError: naming the input index, element index, both values and tolerance.
        ValueError: float32 inputs, no input requiring grad, or an output that does not
            depend on any checked input.
    """
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be callable, fn(*inputs) -> Tensor; got "
                        f"{type(fn).__name__} {fn!r:.60}")
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"gradcheck: inputs must be a list or tuple of Tensors; got "
                        f"{type(inputs).__name__}")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"gradcheck: inputs must be a list or tuple of Tensors; got "
                            f"{type(t).__name__} at index {i}")
    checked = [i for i, t in enumerate(inputs) if t.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True, so there is nothing to "
                         "check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise ValueError(
                f"gradcheck: input {i} has dtype {inputs[i].dtype}; finite differences need "
                f"float64 (e.g. Tensor(x.astype(np.float64), requires_grad=True))"
            )
    for i in checked:  # perturbing input i must not silently move another input too
        for j, other in enumerate(inputs):
            if other is not inputs[i] and np.may_share_memory(inputs[i].data, other.data):
                raise ValueError(
                    f"gradcheck: inputs {min(i, j)} and {max(i, j)} are different tensors over "
                    f"the same memory, so the numeric gradient would be wrong; pass copies "
                    f"(e.g. Tensor(x.copy(), requires_grad=True))"
                )
    check_number(eps, "gradcheck: eps", 0, low_inclusive=False)
    check_number(atol, "gradcheck: atol", 0)
    check_number(rtol, "gradcheck: rtol", 0)
    check_int(seed, "gradcheck: seed", 0)

    saved_grads = [t.grad for t in inputs]
    for t in inputs:
        t.grad = None
    try:
        out = fn(*inputs)
        if not isinstance(out, Tensor):
            raise TypeError(f"gradcheck: fn must return a Tensor; got {type(out).__name__}")
        direction = np.random.default_rng(seed).standard_normal(out.shape)
        if not out.requires_grad:
            raise ValueError("gradcheck: the output does not depend on any input with "
                             "requires_grad=True through the graph")
        out.backward(direction.astype(out.dtype))
        analytic = [inputs[i].grad for i in checked]
        if all(g is None for g in analytic):
            raise ValueError("gradcheck: the output does not depend on any input with "
                             "requires_grad=True through the graph")

        def projected() -> float:
            with no_grad():
                return float((fn(*inputs).data * direction).sum())

        for i, grad in zip(checked, analytic, strict=True):
            data = inputs[i].data
            grad = np.zeros_like(data) if grad is None else grad
            for idx in np.ndindex(data.shape):
                original = data[idx]
                try:
                    data[idx] = original + eps
                    plus = projected()
                    data[idx] = original - eps
                    minus = projected()
                finally:  # the caller's input comes back unchanged even if fn raises
                    data[idx] = original
                numeric = (plus - minus) / (2 * eps)
                tol = atol + rtol * abs(numeric)
                if not abs(grad[idx] - numeric) <= tol:
                    raise GradcheckError(
                        f"gradient mismatch for input {i} at element {idx}: analytic "
                        f"{grad[idx]:.10g}, numeric {numeric:.10g}, difference "
                        f"{abs(grad[idx] - numeric):.3g} > tolerance {tol:.3g} "
                        f"(atol={atol:g} + rtol={rtol:g}·|numeric|)"
                    )
    finally:
        for t, g in zip(inputs, saved_grads, strict=True):
            t.grad = g
    return True
