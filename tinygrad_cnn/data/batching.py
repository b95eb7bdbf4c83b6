"""Paired examples ``(x, y)``, Keras' ``validation_split`` and mini-batches, as ``fit`` uses them.

::

    ds = Dataset(x_train, y_train)               # one example per row of x and of y
    train, val = ds.split_last(0.1)              # the last 10% held out, before any shuffling
    for x_batch, y_batch in train.batches(128, shuffle=True, generator=rng):
        ...                                      # len(train) // 128 full batches, then the rest

Nothing is copied until a shuffled batch gathers its rows; splits and in-order batches are
views of the arrays given.
"""

from __future__ import annotations

import math
import reprlib

import numpy as np

from .. import rng as _rng
from ..checks import check_bool, check_int, check_number

_NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floats


def _short(value) -> str:
    return f"{reprlib.repr(value)} ({type(value).__name__})"


def _as_examples(value, arg: str) -> np.ndarray:
    """``value`` as an array whose first axis indexes the examples (no copy for an ndarray)."""
    if not isinstance(value, (np.ndarray, list, tuple)) and not hasattr(value, "__array__"):
        raise TypeError(f"{arg} must be a numpy array (or a list) of numbers, one row per "
                        f"example; got {_short(value)}")
    array = np.asarray(value)
    if array.dtype.kind not in _NUMERIC_KINDS:
        raise TypeError(f"{arg} must hold numbers (bool, int or float); got dtype {array.dtype}"
                        + (" (rows of different lengths?)" if array.dtype == object else ""))
    if array.ndim == 0:
        raise ValueError(f"{arg} must have a first axis indexing the examples; got a 0-d "
                         f"array {array!r}")
    return array


class Dataset:
    """Inputs ``x`` and targets ``y`` with one example per row (first axis) of each.

    Args:
        x: a numpy array (or a list, or anything with ``__array__``) of numbers, shape
            ``(N, ...)``.
        y: the same for the targets, shape ``(N, ...)``, with the same ``N``.

    Raises:
        TypeError: ``x`` or ``y`` is not an array of numbers.
        ValueError: a 0-d array, or ``len(x) != len(y)`` (the message gives both lengths).
    """

    def __init__(self, x, y):
        self._x, self._y = _as_examples(x, "x"), _as_examples(y, "y")
        if len(self._x) != len(self._y):
            raise ValueError(f"x and y must hold the same number of examples (first axis); "
                             f"got len(x) = {len(self._x)} and len(y) = {len(self._y)}")

    @property
    def x(self) -> np.ndarray:
        return self._x

    @property
    def y(self) -> np.ndarray:
        return self._y

    def __len__(self) -> int:
        return len(self._x)

    def __repr__(self) -> str:
        return (f"Dataset({len(self)} examples, x {self._x.dtype} {self._x.shape[1:]}, "
                f"y {self._y.dtype} {self._y.shape[1:]})")

    def split_last(self, fraction) -> tuple[Dataset, Dataset]:
        """``(head, tail)``: ``tail`` is the last ``fraction`` of the examples, in order.

        Keras' ``validation_split`` rule: ``head`` keeps the first
        ``floor(len(self) * (1 - fraction))`` examples, ``tail`` the rest. ``fraction=0``
        gives an empty ``tail``; any other fraction must leave both parts non-empty.

        Raises:
            TypeError: ``fraction`` is not a number.
            ValueError: ``fraction`` is outside [0, 1), or leaves one part empty.
        """
        fraction = check_number(fraction, "fraction", 0, 1)  # the share held out at the end
        n = len(self)
        split_at = n if fraction == 0 else int(math.floor(n * (1.0 - fraction)))
        if fraction and split_at in (0, n):
            part = "head" if split_at == 0 else "tail"
            raise ValueError(f"fraction={fraction!r} of {n} examples leaves the {part} empty "
                             f"(the head keeps floor({n} * (1 - fraction)) = {split_at}); "
                             f"use more examples or a fraction that leaves both parts some")
        return (Dataset(self._x[:split_at], self._y[:split_at]),
                Dataset(self._x[split_at:], self._y[split_at:]))

    def batches(self, batch_size, shuffle=False, generator=None) -> Batches:
        """The mini-batches of one pass over the examples: ``(x_batch, y_batch)`` pairs.

        Args:
            batch_size: a positive int; every batch has that many examples but the last,
                which holds the rest (``len(batches) == ceil(len(self) / batch_size)``).
            shuffle: ``False`` for the examples in order (batches are views); ``True`` for
                an order drawn now as ``generator.permutation(len(self))``, one draw per call.
            generator: the ``numpy.random.Generator`` to shuffle with; ``None`` for the
                library's, ``tinygrad_cnn.rng.generator()`` (seeded by
                ``tinygrad_cnn.manual_seed``). Not used when ``shuffle=False``.

        Returns:
            A :class:`Batches`: iterable (again and again, in the same order), with ``len()``.

        Raises:
            TypeError / ValueError: a bad argument; the message names it.
        """
        batch_size = check_int(batch_size, "batch_size", 1)
        shuffle = check_bool(shuffle, "shuffle")
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError(f"generator must be a numpy.random.Generator (such as "
                            f"tinygrad_cnn.rng.generator()) or None; got {_short(generator)}")
        order = None
        if shuffle:
            generator = _rng.generator() if generator is None else generator
            order = generator.permutation(len(self))
        return Batches(self, int(batch_size), order)


class Batches:
    """The mini-batches of one pass, in an order fixed when :meth:`Dataset.batches` made them.

    Iterating yields ``(x_batch, y_batch)``; ``len()`` is the number of batches.
    """

    def __init__(self, dataset: Dataset, batch_size: int, order: np.ndarray | None):
        self.dataset, self.batch_size, self.order = dataset, batch_size, order

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        x, y, size = self.dataset.x, self.dataset.y, self.batch_size
        for start in range(0, len(self.dataset), size):
            if self.order is None:
                yield x[start:start + size], y[start:start + size]  # views
            else:
                rows = self.order[start:start + size]
                yield x[rows], y[rows]

    def __repr__(self) -> str:
        return (f"Batches({len(self)} of batch_size={self.batch_size} over {len(self.dataset)} "
                f"examples, {'shuffled' if self.order is not None else 'in order'})")
