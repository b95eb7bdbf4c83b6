"""Numerical gradient checking by central differences (float64 only).

``gradcheck`` compares the analytic gradient of ``fn`` with ``(f(x + eps) − f(x − eps)) /
2eps`` for every element of every input that requires grad. A scalar output is checked as
it is, so the reported values are exactly d(output)/d(element). A non-scalar output is
reduced to a scalar along one fixed random direction ``r``: ``L = sum(fn(*inputs) · r)``.

``gradgradcheck`` checks second derivatives the same way: it gradchecks the function
``(x, r) ↦ sum(grad(L, x, create_graph=True) · v)`` for a fixed random ``v``, so the
analytic side runs every op's ``backward_graph`` twice over and the numeric side
differentiates first-order gradients. Every element is perturbed: keep inputs small.
"""

from __future__ import annotations

import contextlib

import numpy as np

from .autograd import grad, no_grad
from .checks import check_int, check_number
from .tensor import Tensor


class GradcheckError(AssertionError):
    """An analytic gradient disagrees with its numeric estimate."""


def _check_arguments(fn, inputs, eps, atol, rtol, seed, who: str) -> list[int]:
    """The indices of the inputs to check, after every argument is validated."""
    if not callable(fn):
        raise TypeError(f"{who}: fn must be callable, fn(*inputs) -> Tensor; got "
                        f"{type(fn).__name__} {fn!r:.60}")
    if not isinstance(inputs, (list, tuple)):
        raise TypeError(f"{who}: inputs must be a list or tuple of Tensors; got "
                        f"{type(inputs).__name__}")
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}: inputs must be a list or tuple of Tensors; got "
                            f"{type(t).__name__} at index {i}")
    checked = [i for i, t in enumerate(inputs) if t.requires_grad]
    if not checked:
        raise ValueError(f"{who}: no input has requires_grad=True, so there is nothing to "
                         f"check")
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise ValueError(
                f"{who}: input {i} has dtype {inputs[i].dtype}; finite differences need "
                f"float64 (e.g. Tensor(x.astype(np.float64), requires_grad=True))"
            )
    for i in checked:  # perturbing input i must not silently move another input too
        for j, other in enumerate(inputs):
            if other is not inputs[i] and np.may_share_memory(inputs[i].data, other.data):
                raise ValueError(
                    f"{who}: inputs {min(i, j)} and {max(i, j)} are different tensors over "
                    f"the same memory, so the numeric gradient would be wrong; pass copies "
                    f"(e.g. Tensor(x.copy(), requires_grad=True))"
                )
    check_number(eps, f"{who}: eps", 0, low_inclusive=False)
    check_number(atol, f"{who}: atol", 0)
    check_number(rtol, f"{who}: rtol", 0)
    check_int(seed, f"{who}: seed", 0)
    return checked


def _output_of(fn, inputs, who: str) -> Tensor:
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"{who}: fn must return a Tensor; got {type(out).__name__}")
    if not out.requires_grad:
        raise ValueError(f"{who}: the output does not depend on any input with "
                         f"requires_grad=True through the graph")
    return out


def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0) -> bool:
    """Check ``fn``'s analytic gradients against central differences.

    Args:
        fn: ``fn(*inputs) -> Tensor``.
        inputs: list or tuple of Tensors; those with ``requires_grad=True`` are checked.
        eps: finite-difference step.
        atol, rtol: pass when ``|analytic − numeric| <= atol + rtol·|numeric|``.
        seed: seeds the random direction ``r`` for non-scalar outputs.

    Returns:
        True when every element matches.

    Raises:
        GradcheckError: naming the input index, element index, both values and tolerance.
        ValueError: float32 inputs, no input requiring grad, or an output that does not
            depend on any checked input.
    """
    checked = _check_arguments(fn, inputs, eps, atol, rtol, seed, "gradcheck")
    return _compare(fn, inputs, checked, eps, atol, rtol, seed, numeric_records=False)


def _compare(fn, inputs, checked, eps, atol, rtol, seed, numeric_records: bool) -> bool:
    """The element-by-element comparison behind both checks.

    ``numeric_records``: ``fn`` itself takes gradients (gradgradcheck), so its numeric
    evaluations must run with grad mode on.
    """
    out = _output_of(fn, inputs, "gradcheck")
    scalar = out.size == 1
    direction = (np.ones(out.shape) if scalar
                 else np.random.default_rng(seed).standard_normal(out.shape))
    what = ("d(output)/d(input)" if scalar else
            f"d L/d(input) of the scalar L = sum(output · r), r a fixed random direction of "
            f"shape {out.shape} (seed={seed})")
    analytic = grad(out, [inputs[i] for i in checked], grad_outputs=direction, allow_unused=True)
    if all(g is None for g in analytic):
        raise ValueError("gradcheck: the output does not depend on any input with "
                         "requires_grad=True through the graph")

    def projected() -> float:
        with contextlib.nullcontext() if numeric_records else no_grad():
            return float((fn(*inputs).data * direction).sum())

    for i, g in zip(checked, analytic, strict=True):
        data = inputs[i].data
        g = np.zeros_like(data) if g is None else g.data
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
            if not abs(g[idx] - numeric) <= tol:
                raise GradcheckError(
                    f"gradient mismatch for input {i} at element {idx}: analytic "
                    f"{g[idx]:.10g}, numeric {numeric:.10g}, difference "
                    f"{abs(g[idx] - numeric):.3g} > tolerance {tol:.3g} "
                    f"(atol={atol:g} + rtol={rtol:g}·|numeric|); the values are {what}"
                )
    return True


def gradgradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
                  seed: int = 0) -> bool:
    """Check ``fn``'s second derivatives against central differences of its gradients.

    First the gradients that ``create_graph=True`` computes (each op's
    ``backward_graph``) must equal the first-order ones (each op's ``backward``). Then
    ``gradcheck`` runs on ``(*inputs, r) ↦ sum(grad(sum(fn(*inputs) · r), inputs,
    create_graph=True) · v)``, with fixed random ``r`` and ``v``; an index equal to
    ``len(inputs)`` in its messages means ``r``, the gradient fed into the output.

    Same arguments, return value and errors as ``gradcheck``.
    """
    checked = _check_arguments(fn, inputs, eps, atol, rtol, seed, "gradgradcheck")
    targets = [inputs[i] for i in checked]
    out = _output_of(fn, inputs, "gradgradcheck")
    rng = np.random.default_rng(seed)
    r = Tensor(rng.standard_normal(out.shape), requires_grad=True)
    v = [rng.standard_normal(t.shape) for t in targets]

    fast = grad(out, targets, grad_outputs=r.data, retain_graph=True, allow_unused=True)
    recorded = grad(out, targets, grad_outputs=r.data, create_graph=True, allow_unused=True)
    for i, f, g in zip(checked, fast, recorded, strict=True):
        if (f is None) != (g is None):
            raise GradcheckError(f"gradgradcheck: input {i} gets a gradient in one mode and "
                                 f"none in the other (backward vs backward_graph)")
        if f is None:
            continue
        bad = ~(np.abs(f.data - g.data) <= atol + rtol * np.abs(f.data))
        if bad.any():
            idx = tuple(int(k) for k in np.argwhere(bad)[0])
            raise GradcheckError(
                f"gradgradcheck: first-order gradients disagree for input {i} at element "
                f"{idx}: backward gives {f.data[idx]:.10g}, backward_graph (create_graph=True) "
                f"gives {g.data[idx]:.10g}"
            )

    def first_order_projection(*args):
        *xs, seed_grad = args
        grads = grad(fn(*xs), [xs[i] for i in checked], grad_outputs=seed_grad,
                     create_graph=True, allow_unused=True)
        terms = [(g * w).sum() for g, w in zip(grads, v, strict=True) if g is not None]
        total = terms[0]
        for term in terms[1:]:
            total = total + term
        return total

    try:
        return _compare(first_order_projection, [*inputs, r], [*checked, len(inputs)], eps,
                        atol, rtol, seed, numeric_records=True)
    except GradcheckError as exc:
        raise GradcheckError(f"second derivatives: {exc}") from None
