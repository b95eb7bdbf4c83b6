"""Download one file from a list of mirrors, verified by SHA-256 before it appears on disk.

The file is streamed into a hidden temporary file beside its destination while its SHA-256
is computed; only when size and digest match is it renamed into place with ``os.replace``
(atomic on one file system). A partial, interrupted or corrupt download never becomes the
destination file; its temporary file is removed.

A dead network must fail fast: each attempt has ``TIMEOUT`` seconds to connect and get the
response headers (enforced by a deadline even where DNS resolution itself stalls), and the
same socket timeout applies to every read. A mirror whose host could not be reached is
recorded in ``dead_hosts`` and skipped for the remaining files.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

TIMEOUT = 5.0  # seconds to connect / get headers, and the longest stall between reads
CHUNK = 1 << 16


class DownloadError(OSError):
    """Every mirror failed; ``failures`` holds one ``(url, reason)`` pair per attempt."""

    def __init__(self, message: str, failures: list[tuple[str, str]]):
        super().__init__(message)
        self.failures = failures


def urlopen(url: str, timeout: float):
    """``urllib.request.urlopen``; a module-level name so tests can replace the network."""
    return urllib.request.urlopen(url, timeout=timeout)


def _open(url: str, timeout: float):
    """Open ``url``, giving up after about ``timeout`` seconds whatever stalls (DNS included)."""
    box: dict = {}

    def attempt():
        try:
            box["response"] = urlopen(url, timeout)
        except BaseException as e:  # handed to the caller's thread
            box["error"] = e

    worker = threading.Thread(target=attempt, name=f"open {url}", daemon=True)
    worker.start()
    worker.join(1.25 * timeout + 0.25)  # a little slack for urlopen's own timeout to fire
    if worker.is_alive():
        raise TimeoutError(f"no answer within {timeout:g} s")
    if "error" in box:
        raise box["error"]
    return box["response"]


class _Progress:
    """A tqdm bar when tqdm is installed, else a plain percentage line on stderr."""

    def __init__(self, total: int | None, desc: str, enabled: bool):
        self.total, self.desc, self.done, self.bar = total, desc, 0, None
        self.enabled, self.last = enabled, 0.0
        if not enabled:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self.bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024,
                        leave=True)

    def update(self, n: int) -> None:
        self.done += n
        if self.bar is not None:
            self.bar.update(n)
        elif self.enabled and time.monotonic() - self.last > 0.5:
            self.last = time.monotonic()
            pct = f"{100 * self.done / self.total:5.1f}% of " if self.total else ""
            size = f"{(self.total or self.done) / 1e6:.1f} MB"
            sys.stderr.write(f"\r{self.desc}: {pct}{size}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.enabled and self.last:
            sys.stderr.write("\n")


def _fetch_one(url: str, dest: Path, sha256: str, size: int | None, progress: bool) -> None:
    """Stream ``url`` into a temporary file, verify, then ``os.replace`` it onto ``dest``."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    bar = None
    try:
        with os.fdopen(fd, "wb") as out, _open(url, TIMEOUT) as response:
            length = response.headers.get("Content-Length") if response.headers else None
            total = int(length) if length and length.isdigit() else size
            bar = _Progress(total, f"Downloading {dest.name}", progress)
            digest, received = hashlib.sha256(), 0
            while chunk := response.read(CHUNK):
                received += len(chunk)
                if size is not None and received > size:
                    raise ValueError(f"more than the expected {size} bytes")
                digest.update(chunk)
                out.write(chunk)
                bar.update(len(chunk))
        if size is not None and received != size:
            raise ValueError(f"got {received} bytes, expected {size} (incomplete download)")
        if digest.hexdigest() != sha256:
            raise ValueError(f"SHA-256 {digest.hexdigest()} does not match the expected "
                             f"{sha256}; the download was discarded")
        os.replace(tmp, dest)
    finally:
        if bar is not None:
            bar.close()
        if os.path.exists(tmp):
            os.unlink(tmp)


def fetch(urls: list[str], dest, sha256: str, size: int | None = None, *,
          dead_hosts: set[str] | None = None, progress: bool = True) -> Path:
    """Download ``dest`` from the first mirror that serves bytes with the right SHA-256.

    Args:
        urls: full URLs of the same file, tried in order.
        dest: final path; its folder must exist. Nothing is written there unless the
            download is complete and verified.
        sha256: expected hex digest (lower case).
        size: expected length in bytes, if known (stops an over-long stream early).
        dead_hosts: hosts that could not be reached before; skipped, and added to on
            connection failures so later files do not wait on them again.
        progress: show a progress bar on stderr.

    Returns:
        ``dest`` as a ``Path``.

    Raises:
        DownloadError: no mirror delivered the file; ``failures`` says why for each URL.
    """
    dest = Path(dest)
    dead_hosts = set() if dead_hosts is None else dead_hosts
    failures: list[tuple[str, str]] = []
    for url in urls:
        host = urllib.parse.urlsplit(url).netloc
        if host in dead_hosts:
            failures.append((url, "skipped: host unreachable earlier"))
            continue
        try:
            _fetch_one(url, dest, sha256, size, progress)
            return dest
        except urllib.error.HTTPError as e:  # the host answered: keep it for other files
            failures.append((url, f"HTTP {e.code} {e.reason}"))
        except (ValueError, http.client.HTTPException) as e:  # bad size/checksum, cut short
            failures.append((url, f"{type(e).__name__}: {e}" if not isinstance(e, ValueError)
                             else str(e)))
        except OSError as e:  # URLError, timeouts, refused connections, DNS failures
            dead_hosts.add(host)
            reason = e.reason if isinstance(e, urllib.error.URLError) else e
            failures.append((url, f"{type(e).__name__}: {reason}"))
    lines = "\n".join(f"  {url}: {reason}" for url, reason in failures)
    raise DownloadError(f"could not download {dest.name}:\n{lines}", failures)
