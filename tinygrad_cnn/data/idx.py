"""The IDX file format of MNIST and Fashion-MNIST: a validating reader and a small writer.

An IDX file is a 4-byte magic number, one 4-byte big-endian size per dimension, then the
elements in C order, big-endian::

    magic = 0x00 0x00 <dtype code> <number of dimensions>

    code  0x08 uint8   0x09 int8   0x0B int16   0x0C int32   0x0D float32   0x0E float64

Files may be gzip-compressed; the reader recognises gzip by its content (``1f 8b``), not
by the file name. See http://yann.lecun.com/exdb/mnist/ (bottom of the page).
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from ..checks import check_path

# dtype code -> big-endian numpy dtype, as the IDX format defines them.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_OF = {dt.newbyteorder("=").name: code for code, dt in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_ACCEPTED_DTYPES = ", ".join(_CODE_OF)  # "uint8, int8, int16, int32, float32, float64"


def _check_path(path, arg: str = "path") -> Path:
    return Path(check_path(path, arg, "'t10k-images-idx3-ubyte.gz'"))


def _read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped if it is gzip data (whatever its name)."""
    raw = path.read_bytes()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as e:  # BadGzipFile is an OSError
        raise ValueError(f"{path}: not a readable gzip file (truncated or corrupt?): {e}") from e


def read_idx(path) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a new, writable ndarray.

    Args:
        path: a ``str`` or ``os.PathLike``; gzip data is recognised by its content.

    Returns:
        An ndarray of the file's dimensions in native byte order, e.g. ``uint8``
        ``(60000, 28, 28)`` for ``train-images-idx3-ubyte.gz``.

    Raises:
        TypeError: ``path`` is not a path.
        FileNotFoundError: the file does not exist.
        ValueError: ``path`` is a folder; or, naming the file, when the magic number is
            wrong (not ``00 00`` then a known dtype code), the header is cut short, a gzip
            stream is corrupt, or the dimensions disagree with the file's length (truncated
            or trailing bytes).
    """
    path = _check_path(path)
    if path.is_dir():
        raise ValueError(f"path {str(path)!r} is a folder, not an IDX file; give the file, e.g. "
                         f"{str(path / 'train-images-idx3-ubyte.gz')!r}")
    data = _read_bytes(path)
    if len(data) < 4:
        raise ValueError(f"{path}: truncated IDX file: {len(data)} bytes, too short for the "
                         f"4-byte magic number")
    zero1, zero2, code, ndim = data[:4]
    if zero1 != 0 or zero2 != 0 or code not in IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise ValueError(f"{path}: not an IDX file: magic number {data[:4].hex(' ')} "
                         f"(expected 00 00 <dtype code> <ndim>, dtype code one of {known})")
    if ndim == 0:
        raise ValueError(f"{path}: IDX header declares 0 dimensions; expected at least 1")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated IDX file: the header of {ndim} dimensions needs "
                         f"{header} bytes, the file has {len(data)}")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    found = len(data) - header
    if found < expected:
        raise ValueError(f"{path}: truncated IDX file: dimensions {dims} of {dtype.name} need "
                         f"{expected} data bytes, the file has {found}")
    if found > expected:
        raise ValueError(f"{path}: IDX dimensions {dims} of {dtype.name} disagree with the "
                         f"file's length: {found - expected} bytes left over after the "
                         f"{expected} data bytes")
    array = np.frombuffer(data, dtype=dtype, count=expected // dtype.itemsize, offset=header)
    return array.reshape(dims).astype(dtype.newbyteorder("="))  # a native-order copy


def write_idx(path, array) -> Path:
    """Write ``array`` as an IDX file; gzip-compressed when ``path`` ends in ``.gz``.

    The inverse of :func:`read_idx`; tests use it to make tiny MNIST-like datasets.

    Args:
        path: a ``str`` or ``os.PathLike``; parent folders must exist.
        array: array-like of dtype uint8, int8, int16, int32, float32 or float64 with at
            least one dimension. Labels held as int64 must be converted first, e.g.
            ``labels.astype(np.uint8)``, as MNIST stores them.

    Returns:
        The path written, as a ``Path``.

    Raises:
        TypeError: ``path`` is not a path, or the dtype has no IDX code.
        ValueError: ``array`` is 0-dimensional, has more than 255 dimensions or a
            dimension of 2**32 or more.
    """
    path = _check_path(path)
    array = np.asarray(array)
    name = array.dtype.name
    if name not in _CODE_OF:
        raise TypeError(f"array must have an IDX dtype ({_ACCEPTED_DTYPES}); got dtype {name}"
                        + ("; convert first, e.g. array.astype(np.uint8)"
                           if array.dtype.kind in "iub" else ""))
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"array must have 1 to 255 dimensions for IDX; got shape {array.shape}")
    if max(array.shape) >= 2**32:
        raise ValueError(f"array dimensions must be below 2**32 for IDX; got {array.shape}")
    code = _CODE_OF[name]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if path.name.endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)  # mtime=0: same array, same bytes
    path.write_bytes(payload)
    return path
