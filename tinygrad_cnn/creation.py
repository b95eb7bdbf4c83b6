"""PyTorch's constructors: ``tc.tensor``, ``zeros``, ``ones``, ``full``, ``*_like``, ``rand``,
``randn`` and ``arange``.

Each builds an ndarray with numpy and wraps it in a ``Tensor``: float32 unless ``dtype=``
says otherwise (the ``*_like`` ones keep their model's dtype), ``requires_grad=`` as in
torch. ``rand``/``randn`` draw from the library's generator, so ``tc.manual_seed`` repeats
them.
"""

from __future__ import annotations

import numbers

import numpy as np

from . import rng
from .checks import check_number, is_int
from .tensor import Tensor


def _dtype(dtype, who: str, default=np.float32) -> np.dtype:
    if dtype is None:
        return np.dtype(default)
    try:
        result = np.dtype(dtype)
    except TypeError:
        result = None
    if result is None or result.kind not in "fiub":
        raise TypeError(f"{who}: dtype must be a numpy float, integer or bool dtype or its "
                        f"name ('float32', np.float64, 'int64', …); got {dtype!r:.60}")
    return result


def _size(size: tuple, who: str) -> tuple:
    """``zeros(2, 3)`` and ``zeros((2, 3))`` alike: the shape as a tuple of ints >= 0."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    if not all(is_int(n) and n >= 0 for n in size):
        error = ValueError if all(is_int(n) for n in size) else TypeError
        raise error(f"{who}: size must be non-negative ints, as {who}(2, 3) or "
                    f"{who}((2, 3)); got {size!r:.60}")
    return tuple(int(n) for n in size)


def _model(x, who: str) -> np.ndarray:
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(f"{who}: x must be a Tensor or a numpy array; got {type(x).__name__}")


def tensor(data, dtype=None, requires_grad: bool = False) -> Tensor:
    """A new Tensor holding a copy of ``data`` (``torch.tensor``; ``Tensor(array)`` shares).

    Lists and numbers become float32, ndarrays keep their dtype, unless ``dtype`` is given.
    """
    source = data.data if isinstance(data, Tensor) else data
    dtype = None if dtype is None else _dtype(dtype, "tensor")
    out = Tensor(source, requires_grad=requires_grad, dtype=dtype)
    if isinstance(source, np.ndarray) and np.shares_memory(out.data, source):
        out.data = out.data.copy()
    return out


def zeros(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.zeros(_size(size, "zeros"), _dtype(dtype, "zeros")),
                  requires_grad=requires_grad)


def ones(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    return Tensor(np.ones(_size(size, "ones"), _dtype(dtype, "ones")),
                  requires_grad=requires_grad)


def full(size, fill_value, dtype=None, requires_grad: bool = False) -> Tensor:
    """A tensor of shape ``size`` (an int or a tuple) filled with ``fill_value``."""
    shape = _size(size if isinstance(size, (tuple, list)) else (size,), "full")
    if isinstance(fill_value, (bool, np.bool_)) or not isinstance(fill_value, numbers.Real):
        raise TypeError(f"full: fill_value must be a real number; got "
                        f"{type(fill_value).__name__} {fill_value!r:.60}")
    return Tensor(np.full(shape, fill_value, _dtype(dtype, "full")),
                  requires_grad=requires_grad)


def zeros_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    model = _model(x, "zeros_like")
    return Tensor(np.zeros(model.shape, _dtype(dtype, "zeros_like", model.dtype)),
                  requires_grad=requires_grad)


def ones_like(x, dtype=None, requires_grad: bool = False) -> Tensor:
    model = _model(x, "ones_like")
    return Tensor(np.ones(model.shape, _dtype(dtype, "ones_like", model.dtype)),
                  requires_grad=requires_grad)


def _float_dtype(dtype, who: str) -> np.dtype:
    result = _dtype(dtype, who)
    if result.kind != "f":
        raise TypeError(f"{who}: draws floating-point numbers; dtype must be a float dtype, "
                        f"got {result}")
    return result


def rand(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Uniform on [0, 1), from the library's generator."""
    shape, dtype = _size(size, "rand"), _float_dtype(dtype, "rand")
    return Tensor(rng.generator().random(shape).astype(dtype), requires_grad=requires_grad)


def randn(*size, dtype=None, requires_grad: bool = False) -> Tensor:
    """Standard normal, from the library's generator."""
    shape, dtype = _size(size, "randn"), _float_dtype(dtype, "randn")
    return Tensor(rng.generator().standard_normal(shape).astype(dtype),
                  requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, requires_grad: bool = False) -> Tensor:
    """``start, start + step, …`` up to ``end`` (excluded); ``arange(n)`` is 0 … n − 1.

    float32 unless ``dtype=`` (index with ``arange(n, dtype="int64")``).
    """
    if end is None:
        start, end = 0, start
    start, end = check_number(start, "arange: start"), check_number(end, "arange: end")
    step = check_number(step, "arange: step")
    if step == 0 or (end - start) * step < 0:
        raise ValueError(f"arange: step={step:g} never goes from start={start:g} to "
                         f"end={end:g}; its sign must be that of end - start, and it can't be 0")
    values = np.arange(start, end, step)
    return Tensor(values.astype(_dtype(dtype, "arange")), requires_grad=requires_grad)
