"""Shape arithmetic shared by the conv/pool ops, the layers, summaries and error messages.

One copy of the rules: Keras/TensorFlow ``'valid'`` and ``'same'`` padding for every kernel
size, stride and dilation, plus explicit zero padding.
"""

from __future__ import annotations

import math

import numpy as np

from .checks import is_int

Pads = tuple[tuple[int, int], tuple[int, int]]  # ((top, bottom), (left, right))


def standardize_pair(value, arg: str, allow_zero: bool = False) -> tuple[int, int]:
    """A positive int or a pair of positive ints (``kernel_size``, ``strides``, …) as a pair."""
    items = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    smallest = 0 if allow_zero else 1
    accepted = (f"a {'non-negative' if allow_zero else 'positive'} int or a pair of them, "
                f"e.g. {arg}=2 or {arg}=(2, 2)")
    if len(items) != 2:
        raise ValueError(f"{arg} must be {accepted}; got {value!r} ({len(items)} values)")
    for v in items:
        if isinstance(v, str):
            hint = f"; did you mean {arg}={v.strip()}?" if v.strip().isdigit() else ""
            raise TypeError(f"{arg} must be {accepted}; got the string {value!r}{hint}")
        if isinstance(v, (float, np.floating)) and not math.isfinite(v):
            raise ValueError(f"{arg} must be {accepted}; got non-finite {value!r}")
        if not is_int(v):
            raise TypeError(f"{arg} must be {accepted}; got {value!r} ({type(v).__name__})")
        if v < smallest:
            raise ValueError(f"{arg} must be {accepted}; got {value!r}")
    return int(items[0]), int(items[1])


def standardize_padding(padding, allow_explicit: bool = True):
    """``'valid'``/``'same'`` (any case), or for convs an int, a pair or ((t, b), (l, r)).

    Returns ``'valid'``, ``'same'`` or explicit pads ``((top, bottom), (left, right))``.
    """
    accepted = "'valid' or 'same'"
    if allow_explicit:
        accepted += ", an int p, a pair (ph, pw) or ((top, bottom), (left, right))"
    if isinstance(padding, str):
        mode = padding.lower()
        if mode not in ("valid", "same"):
            raise ValueError(f"padding must be {accepted}; got {padding!r}")
        return mode
    if not allow_explicit:
        raise TypeError(f"padding must be {accepted}; got {padding!r}")
    if is_int(padding) or (isinstance(padding, (tuple, list)) and len(padding) == 2
                            and all(is_int(p) for p in padding)):
        ph, pw = standardize_pair(padding, "padding", allow_zero=True)
        return (ph, ph), (pw, pw)
    if (isinstance(padding, (tuple, list)) and len(padding) == 2
            and all(isinstance(p, (tuple, list)) and len(p) == 2 for p in padding)):
        flat = [v for p in padding for v in p]
        if all(is_int(v) and v >= 0 for v in flat):
            return (int(flat[0]), int(flat[1])), (int(flat[2]), int(flat[3]))
    kind = ValueError if isinstance(padding, (tuple, list)) or is_int(padding) else TypeError
    raise kind(f"padding must be {accepted} with non-negative ints; got {padding!r}")


def same_pads(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TensorFlow's 'same' rule: out = ceil(in / stride); odd totals put the extra pad after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + (kernel - 1) * dilation + 1 - size, 0)
    return total // 2, total - total // 2


def resolve_pads(padding, input_hw, kernel_hw, strides, dilation=(1, 1)) -> Pads:
    """Explicit ((top, bottom), (left, right)) pads for a standardized padding."""
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        return tuple(same_pads(n, k, s, d) for n, k, s, d in
                     zip(input_hw, kernel_hw, strides, dilation))
    return padding


def output_size(size: int, kernel: int, stride: int, pads: tuple[int, int],
                dilation: int = 1) -> int:
    """floor((in + pads − (k − 1)·d − 1) / s) + 1; equals ceil(in / s) for 'same' pads."""
    return (size + pads[0] + pads[1] - (kernel - 1) * dilation - 1) // stride + 1


def window_output_hw(input_hw, kernel_hw, strides, pads: Pads, dilation=(1, 1),
                     what: str = "kernel") -> tuple[int, int]:
    """Output height and width; raises ValueError stating the sizes when it would be empty."""
    out = []
    for axis, n, k, s, p, d in zip(("height", "width"), input_hw, kernel_hw, strides, pads,
                                   dilation):
        extent = (k - 1) * d + 1
        o = output_size(n, k, s, p, d)
        if o < 1:
            dil = f" (dilated to {extent})" if d > 1 else ""
            raise ValueError(
                f"{what} {kernel_hw[0]}×{kernel_hw[1]}{dil} is larger than the padded input: "
                f"{axis} {n} + padding {p[0]}+{p[1]} = {n + p[0] + p[1]} < {extent}; output "
                f"{axis} = floor(({n + p[0] + p[1]} − {extent}) / {s}) + 1 = {o}. Use a smaller "
                f"{what}, padding='same', or a larger input"
            )
        out.append(o)
    return out[0], out[1]


def conv_output_shape(input_hw, kernel_size, strides=1, padding="valid",
                      dilation_rate=1) -> tuple[int, int]:
    """(out_height, out_width) of a conv (or pool) with these hyper-parameters.

    >>> conv_output_shape((28, 28), 3, padding="same")
    (28, 28)
    >>> conv_output_shape((28, 28), 2, strides=2)
    (14, 14)
    """
    input_hw = standardize_pair(input_hw, "input_hw")
    kernel_hw = standardize_pair(kernel_size, "kernel_size")
    strides = standardize_pair(strides, "strides")
    dilation = standardize_pair(dilation_rate, "dilation_rate")
    pads = resolve_pads(standardize_padding(padding), input_hw, kernel_hw, strides, dilation)
    return window_output_hw(input_hw, kernel_hw, strides, pads, dilation)


def explain_output_size(size: int, kernel: int, stride: int, padding, dilation: int = 1) -> str:
    """The formula behind one output dimension, for summaries: ``out = ceil(28/1) = 28 …``."""
    if padding == "same":
        before, after = same_pads(size, kernel, stride, dilation)
        return (f"out = ceil({size}/{stride}) = {-(-size // stride)} "
                f"('same', pad {before}+{after})")
    pads = (0, 0) if padding == "valid" else padding
    extent = (kernel - 1) * dilation + 1
    padded = f"{size}+{pads[0]}+{pads[1]}" if any(pads) else f"{size}"
    label = "'valid'" if padding == "valid" else f"pad {pads[0]}+{pads[1]}"
    return (f"out = floor(({padded} − {extent})/{stride}) + 1 = "
            f"{output_size(size, kernel, stride, pads, dilation)} ({label})")


def tap_span(offset: int, pad_before: int, stride: int, out_len: int,
             in_len: int) -> tuple[slice, slice]:
    """Where one window tap lands in the *unpadded* input, along one axis.

    Output ``o`` reads input index ``o·stride + offset − pad_before``. Returns
    ``(input_slice, output_slice)`` for the outputs whose index falls inside
    ``[0, in_len)`` (the rest read padding); both are empty when none do.

    >>> tap_span(0, 1, 1, 4, 4)   # 3×3 'same' on 4: tap 0 misses the first output
    (slice(0, 3, 1), slice(1, 4, None))
    """
    first = offset - pad_before
    lo = max(0, -(first // stride))
    hi = min(out_len, (in_len - 1 - first) // stride + 1)
    if hi <= lo:
        return slice(0, 0), slice(0, 0)
    start = first + lo * stride
    return slice(start, start + (hi - lo - 1) * stride + 1, stride), slice(lo, hi)


def explain_output_hw(input_hw, kernel_hw, strides, padding, dilation=(1, 1)) -> list[str]:
    """``explain_output_size`` for height and width: one line when both read the same."""
    pads = resolve_pads(padding, input_hw, kernel_hw, strides, dilation)
    lines = [explain_output_size(input_hw[i], kernel_hw[i], strides[i],
                                 padding if isinstance(padding, str) else pads[i], dilation[i])
             for i in range(2)]
    if lines[0] == lines[1]:
        return [f"height, width: {lines[0]}"]
    return [f"height: {lines[0]}", f"width:  {lines[1]}"]
