"""Array plumbing shared by the conv and pooling ops: padding, window taps, labels.

The shape arithmetic itself (output sizes, 'same' pads, error messages) lives in
``tinygrad_cnn.shapes``; this module only moves array elements around, always through
views or one vectorized copy, never a Python loop over batch, pixels or channels.

Vocabulary: a *tap* is one offset (i, j) inside the window. ``tap(a, i, j, …)`` is the
strided view of every window's element at that offset, shape (N, OH, OW, C); looping over
the KH×KW taps is the only Python loop the ops use.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import workspace
from ..shapes import Pads


def pad_hw(x: np.ndarray, pads: Pads, fill=0) -> np.ndarray:
    """``x`` (N, H, W, C) surrounded by ``pads`` rows/columns of ``fill``; ``x`` itself if none.

    Only the border is filled and the interior copied once (cheaper than ``np.pad``).
    """
    (top, bottom), (left, right) = pads
    if not (top or bottom or left or right):
        return x
    n, h, w, c = x.shape
    out = workspace.empty((n, h + top + bottom, w + left + right, c), x.dtype)  # (N, Hp, Wp, C)
    out[:, :top] = fill
    out[:, top + h:] = fill
    out[:, top:top + h, :left] = fill
    out[:, top:top + h, left + w:] = fill
    out[:, top:top + h, left:left + w] = x
    return out


def crop_hw(a: np.ndarray, pads: Pads, hw: tuple[int, int]) -> np.ndarray:
    """Undo ``pad_hw``: the (N, H, W, C) interior of a padded array (a view); ``a`` itself
    if nothing was padded (so a whole workspace array can become ``.grad`` uncopied)."""
    (top, _), (left, _) = pads
    if a.shape[1:3] == tuple(hw):
        return a
    return a[:, top:top + hw[0], left:left + hw[1]]


def tap(a: np.ndarray, i: int, j: int, out_hw, strides) -> np.ndarray:
    """Every window's element at offset (i, j) of ``a`` (N, Hp, Wp, C): a (N, OH, OW, C) view."""
    (oh, ow), (sh, sw) = out_hw, strides
    return a[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw]


def windows(a: np.ndarray, kernel_hw, out_hw, strides, dilation=(1, 1)) -> np.ndarray:
    """All windows of ``a`` (N, Hp, Wp, C) as a read-only (N, OH, OW, KH, KW, C) view, no copy.

    Works for any memory layout of ``a`` (the strides are taken from it).
    """
    n, _, _, c = a.shape
    s_n, s_h, s_w, s_c = a.strides
    return as_strided(
        a,
        shape=(n, out_hw[0], out_hw[1], kernel_hw[0], kernel_hw[1], c),
        strides=(s_n, s_h * strides[0], s_w * strides[1],
                 s_h * dilation[0], s_w * dilation[1], s_c),
        writeable=False,
    )


def tiles(a: np.ndarray, window_hw, out_hw) -> np.ndarray:
    """Windows that tile ``a`` (N, H, W, C) side by side (stride = window) as a view.

    Shape (N, OH, KH, OW, KW, C): element [n, y, i, x, j, c] is a[n, KH·y + i, KW·x + j, c],
    the input's own memory order, so a loop over it runs straight through ``a``. Writable
    when ``a`` is; rows and columns past KH·OH, KW·OW are left out.
    """
    n, _, _, c = a.shape
    (kh, kw), (oh, ow) = window_hw, out_hw
    s_n, s_h, s_w, s_c = a.strides
    return as_strided(a, shape=(n, oh, kh, ow, kw, c),
                      strides=(s_n, kh * s_h, s_h, kw * s_w, s_w, s_c))


def _pair_label(pair, sep="×") -> str:
    return f"{pair[0]}" if pair[0] == pair[1] else f"{pair[0]}{sep}{pair[1]}"


def padding_label(padding) -> str:
    """'same' / 'valid' / 'pad 1' / 'pad 1×2' / 'pad (0,1)×(1,0)' for graph labels."""
    if isinstance(padding, str):
        return padding
    (top, bottom), (left, right) = padding
    if top == bottom and left == right:
        return f"pad {_pair_label((top, left))}"
    return f"pad ({top},{bottom})×({left},{right})"


def window_label(name: str, window_hw, strides, padding, dilation=(1, 1)) -> str:
    """``conv2d 3×3 s1 same``, ``max_pool2d 2×2 s2 valid``, ``conv2d 3×3 s2×1 d2 pad 1``."""
    parts = [name]
    if window_hw is not None:
        parts.append(f"{window_hw[0]}×{window_hw[1]}")
    parts.append(f"s{_pair_label(strides)}")
    if tuple(dilation) != (1, 1):
        parts.append(f"d{_pair_label(dilation)}")
    parts.append(padding_label(padding))
    return " ".join(parts)

