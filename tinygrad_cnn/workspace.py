"""Large arrays whose memory is kept from one training step to the next and reused.

Why: a training step allocates the same large arrays every time (patch matrices,
activations, gradients, masks) and frees them by the end of the step. glibc gives big
freed blocks back to the kernel (``munmap``, or trimming the top of the heap), so the next
step gets fresh pages and takes a page fault on each 4 KiB of them: about 5,500-7,500
faults and 7-14 ms of a 40-50 ms step of the simple MNIST convnet (measured on two
threads; how many depends on where glibc happens to place things). ``empty(shape,
dtype)`` works like ``np.empty`` but takes its memory from a shelf of blocks that earlier
arrays no longer use, so after the first step nothing new is mapped. A request takes the
most recently shelved block that is large enough (at most twice the size), and the array
starts on a 64-byte cache line.

Why it is safe: memory goes back on the shelf only when **no array can see it any more**.
An array from ``empty`` is built on a small ``_Lease`` object (through numpy's
``__array_interface__``), and numpy keeps that object as the array's ``.base``; every
view, reshape or slice of the array leads back to it. So the lease lives exactly as long
as some array still uses the memory, and Python calls ``_Lease.__del__`` the moment the
last one goes. A graph kept for a second backward, a gradient the user holds, a saved
activation, a view made by a custom op: each keeps its memory, with no rule for the ops
to follow. An op only chooses ``workspace.empty`` over ``np.empty`` for its big arrays.

What stays allocated is bounded: arrays smaller than ``MIN_BYTES`` come from numpy as
usual (malloc reuses small blocks without faults), and the shelf holds at most
``limit()`` bytes of unused blocks; past that the least recently shelved go back to
malloc. ``set_limit(0)`` turns the reuse off (every block is freed when its last array
goes, as with ``np.empty``).

Threads: every change to the shelf happens under one lock. A dying lease does not take
it: Python may run ``__del__`` inside that very lock, on the thread that holds it (the
cyclic garbage collector can run at any allocation), where taking it again would wait
forever. So ``__del__`` only appends its block to ``_returned`` (a deque: appends are
atomic), and whoever next takes the lock moves those blocks onto the shelf first.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict, deque

import numpy as np

MIN_BYTES = 256 * 1024  # smaller blocks: malloc reuses them without faults (measured)
_DEFAULT_LIMIT = 512 * 1024 * 1024

_shelf: OrderedDict[int, list[np.ndarray]] = OrderedDict()  # nbytes -> unused blocks
_state = {"limit": _DEFAULT_LIMIT, "shelved_bytes": 0, "reused": 0, "allocated": 0}
_lock = threading.Lock()  # held for every change to _shelf and _state
_returned: deque[np.ndarray] = deque()  # blocks whose last array died, not yet shelved


class _Lease:
    """The ``.base`` of every array built on a block; gives the block back when it dies."""

    __slots__ = ("__array_interface__", "block")

    def __init__(self, block: np.ndarray, shape: tuple, dtype: np.dtype):
        self.block = block  # keeps the memory alive while any array uses it
        address = block.__array_interface__["data"][0]
        address += -address % 64  # start on a cache line (the block has 64 bytes to spare)
        self.__array_interface__ = {"shape": shape, "typestr": dtype.str, "version": 3,
                                    "data": (address, False)}

    def __del__(self):
        # the last array using the block is gone: nothing can read or write it any more.
        # A block over the limit is never kept: numpy frees it when ``self.block`` goes.
        if _returned is not None and self.block.nbytes - 64 <= _state["limit"]:
            _returned.append(self.block)  # (None only while the interpreter shuts down)


def _shelve_returned() -> None:
    """Move the blocks of dead leases onto the shelf, oldest first. Call with the lock."""
    while _returned:
        _shelve(_returned.popleft())


def _shelve(block: np.ndarray) -> None:
    size = block.nbytes - 64
    if size > _state["limit"]:
        return  # the limit went down since the block was returned
    _shelf.setdefault(size, []).append(block)
    _shelf.move_to_end(size)  # most recently shelved last
    _state["shelved_bytes"] += size
    _trim()


def _trim() -> None:
    """Drop the least recently shelved blocks until the shelf is within the limit. Call with
    the lock."""
    while _state["shelved_bytes"] > _state["limit"]:
        size, blocks = next(iter(_shelf.items()))
        blocks.pop()
        if not blocks:
            del _shelf[size]
        _state["shelved_bytes"] -= size


def _take(size: int):
    """The most recently shelved block of ``size`` to ``2·size`` bytes, off the shelf; or None.
    Call with the lock.

    Most recent first because that memory is the likeliest to be still in the caches
    (measured: about 1 ms of a 40 ms training step against taking only exact sizes); at
    most twice the size so that a small array never ties up a large block.
    """
    for block_size in reversed(_shelf):
        if size <= block_size <= 2 * size:
            blocks = _shelf[block_size]
            block = blocks.pop()
            if not blocks:
                del _shelf[block_size]
            _state["shelved_bytes"] -= block_size
            return block
    return None


def empty(shape, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array, like ``np.empty``, on reused memory if possible."""
    dtype = np.dtype(dtype)
    size = dtype.itemsize * math.prod(shape)
    if size < MIN_BYTES or dtype.hasobject or _state["limit"] == 0:
        return np.empty(shape, dtype)  # small arrays cost no faults: no bookkeeping
    shape = tuple(int(n) for n in shape)
    with _lock:
        _shelve_returned()
        block = _take(size)
        _state["reused" if block is not None else "allocated"] += 1
    if block is None:
        block = np.empty(size + 64, np.uint8)
    return np.asarray(_Lease(block, shape, dtype))


def owns(a: np.ndarray) -> bool:
    """True for a whole array from ``empty`` (not a view of one): it owns its memory as
    much as an array from ``np.empty`` does."""
    return type(a.base) is _Lease


def empty_like(a: np.ndarray) -> np.ndarray:
    """``empty(a.shape, a.dtype)``."""
    if a.nbytes < MIN_BYTES:  # the common small case, without empty's bookkeeping
        return np.empty(a.shape, a.dtype)
    return empty(a.shape, a.dtype)


def zeros(shape, dtype) -> np.ndarray:
    """Like ``np.zeros``, on reused memory if possible."""
    out = empty(shape, dtype)
    out.fill(0)
    return out


def limit() -> int:
    """The most bytes of unused blocks the shelf keeps."""
    return _state["limit"]


def set_limit(nbytes: int) -> int:
    """Keep at most ``nbytes`` of unused blocks (0: no reuse); returns the old limit."""
    if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)) or nbytes < 0:
        raise ValueError(f"set_limit: nbytes must be an int >= 0; got {nbytes!r}")
    with _lock:
        old, _state["limit"] = _state["limit"], int(nbytes)
        _shelve_returned()
        _trim()
    return old


def clear() -> None:
    """Give every unused block back to malloc (arrays in use are untouched)."""
    set_limit(set_limit(0))


def stats() -> dict:
    """``shelved_bytes`` and ``shelved_blocks`` now; ``reused``/``allocated`` blocks so far."""
    with _lock:
        _shelve_returned()
        return {"shelved_bytes": _state["shelved_bytes"],
                "shelved_blocks": sum(len(b) for b in _shelf.values()),
                "reused": _state["reused"], "allocated": _state["allocated"]}
