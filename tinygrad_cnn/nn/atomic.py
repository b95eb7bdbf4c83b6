"""Files written whole or not at all: a temp file in the same folder, then one rename."""

from __future__ import annotations

import os
import tempfile


def write_atomically(path: str, write) -> None:
    """``write(binary_file)`` into a temp file in the same folder, then one rename onto
    ``path``: a reader never sees half a file, and a failed write leaves the old one."""
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"path {path!r} is a folder; give a file name such as "
                         f"{os.path.join(path, 'weights.npz')!r}")
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot write weights to {path!r}: folder {directory!r} "
                                f"does not exist")
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a saved model is shareable
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
