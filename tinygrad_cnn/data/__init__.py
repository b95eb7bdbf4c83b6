"""Datasets: the IDX file format, MNIST / Fashion-MNIST loaders and the offline mnist-5k.

Public API (../shared/API.md, "Data")::

    (x_train, y_train), (x_test, y_test) = load_mnist(name="mnist", data_dir=None, download=True)
    arr = read_idx(path)

Also here: ``write_idx`` and ``save_mnist`` (write tiny IDX datasets, e.g. in tests),
``find_dataset`` / ``dataset_locations`` (what is on disk, where it is looked for) and
``DatasetNotFound`` (a ``FileNotFoundError``), which callers catch to fall back to
``"mnist-5k"`` explicitly.
"""

from .idx import read_idx, write_idx
from .mnist import (
    DATASET_NAMES,
    DatasetNotFound,
    dataset_locations,
    find_dataset,
    load_mnist,
    mnist_5k_split,
    save_mnist,
)

__all__ = [
    "DATASET_NAMES",
    "DatasetNotFound",
    "dataset_locations",
    "find_dataset",
    "load_mnist",
    "mnist_5k_split",
    "read_idx",
    "save_mnist",
    "write_idx",
]
