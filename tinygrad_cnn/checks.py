"""Argument and array checks shared across the package: one copy of each rule and message.

Each check returns the cleaned value or raises ``TypeError`` (wrong kind of thing) or
``ValueError`` (right kind, bad value) with a message that names the argument, the value
received and what is accepted.
"""

from __future__ import annotations

import math
import numbers
import os
import sys

import numpy as np

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def user_stacklevel() -> int:
    """``warnings.warn(..., stacklevel=user_stacklevel())`` points at the user's line.

    Counts the frames from the caller of this function up to the first one outside the
    tinygrad_cnn package, however deep inside the library the warning is raised.
    """
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def is_int(value) -> bool:
    """A true integer: ``3`` and ``np.int64(3)``, but not ``True`` or ``3.0``."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_bool(value, arg: str) -> bool:
    """``value`` as a bool; anything but True/False (a truthy string, 1, None) is refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{arg} must be True or False; got {value!r} ({type(value).__name__})")
    return bool(value)


def check_int(value, arg: str, low: int | None = None, what: str = "") -> int:
    """An int >= ``low`` (when given); ``what`` says what it counts, for the message."""
    kind = {None: "an int", 0: "a non-negative int", 1: "a positive int"}.get(
        low, f"an int >= {low}")
    accepted = kind + (f" ({what})" if what else "")
    if not is_int(value):
        raise TypeError(f"{arg} must be {accepted}; got {type(value).__name__} {value!r:.60}")
    if low is not None and value < low:
        raise ValueError(f"{arg} must be {accepted}; got {value!r}")
    return int(value)


def check_number(value, arg: str, low: float = -math.inf, high: float = math.inf,
                 low_inclusive: bool = True, high_inclusive: bool = False) -> float:
    """A finite real number in the interval given by ``low``/``high`` (bools refused)."""
    if math.isfinite(low) and math.isfinite(high):
        accepted = (f"a number in {'[' if low_inclusive else '('}{low:g}, {high:g}"
                    f"{']' if high_inclusive else ')'}")
    elif math.isfinite(low):
        accepted = f"a finite number {'>=' if low_inclusive else '>'} {low:g}"
    elif math.isfinite(high):
        accepted = f"a finite number {'<=' if high_inclusive else '<'} {high:g}"
    else:
        accepted = "a finite number"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{arg} must be {accepted}; got {type(value).__name__} {value!r:.60}")
    inside = (math.isfinite(value)
              and (value >= low if low_inclusive else value > low)
              and (value <= high if high_inclusive else value < high))
    if not inside:
        raise ValueError(f"{arg} must be {accepted}; got {value!r}")
    return float(value)


def check_path(path, arg: str = "path", example: str = "'weights.npz'") -> str:
    """A ``str`` or ``os.PathLike`` of str, as a str."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{arg} must be a str or os.PathLike such as {example}; got "
                        f"{type(path).__name__} {path!r:.60}")
    path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f"{arg} must be a str or os.PathLike of str; got {path!r:.60}")
    return path


def check_float_array(x: np.ndarray, arg: str, op: str) -> None:
    """Ops that compute in floating point refuse int/bool arrays (float32 stays float32)."""
    if x.dtype.kind != "f":
        raise ValueError(
            f"{op}: {arg} must be a floating-point array; got dtype {x.dtype}. Convert it "
            f"first, e.g. {arg}.astype(np.float32)"
        )


def check_same_dtype(x: np.ndarray, other: np.ndarray, other_arg: str, op: str) -> None:
    if other.dtype != x.dtype:
        raise ValueError(f"{op}: dtype mismatch: x is {x.dtype} but {other_arg} is "
                         f"{other.dtype}; convert one so both match, e.g. "
                         f"{other_arg}.astype(np.{x.dtype})")


def check_nhwc(shape, op: str) -> None:
    """Image ops need (N, H, W, C) input, channels_last; a rank-3 input gets a hint."""
    if len(shape) != 4:
        hint = (" (add the batch axis with x[None] or the channel axis with x[..., None])"
                if len(shape) == 3 else "")
        raise ValueError(f"{op}: x must have shape (N, H, W, C), rank 4, channels_last; "
                         f"got shape {tuple(shape)} (rank {len(shape)}){hint}")
