"""What fit, evaluate and predict print: Keras' ``verbose`` levels.

- 0: nothing.
- 1 (and "auto"): a progress bar per pass with the running loss, metrics and examples/s
  (tqdm, from the ``examples`` extra, on a terminal); without tqdm or a terminal, the one
  line of level 2.
- 2: one line per pass, as Keras writes it:
  ``32/32 - 2s - 61ms/step - accuracy: 0.9312 - loss: 0.2280 - val_accuracy: …``.
"""

from __future__ import annotations

import sys
import time

from .checks import is_int

VERBOSE = (0, 1, 2, "auto")


def check_verbose(verbose) -> int:
    """``verbose`` as 0, 1 or 2 ("auto" is 1, as in Keras)."""
    if verbose == "auto" and isinstance(verbose, str):
        return 1
    if not is_int(verbose) or verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0 (silent), 1 (progress bar), 2 (one line per "
                         f"epoch) or 'auto'; got {verbose!r}")
    return int(verbose)


def format_logs(logs: dict) -> str:
    """``accuracy: 0.9312 - loss: 0.2280``: names in Keras 3's (sorted) order, and as Keras
    writes them, values of at most 1e-3 in scientific notation (``learning_rate: 1.0000e-04``)."""
    return " - ".join(f"{key}: {value:.4f}" if abs(value) > 1e-3 else f"{key}: {value:.4e}"
                      for key, value in sorted(logs.items()))


def _tqdm():
    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # tqdm comes with the examples extra; the plain line does without
        return None
    return tqdm


class Progbar:
    """Progress of one pass of ``steps`` batches (an epoch, an evaluate, a predict)."""

    def __init__(self, steps: int, verbose: int, title: str | None = None):
        self.steps, self.verbose = steps, verbose
        self.start = self.last = time.perf_counter()
        tqdm = _tqdm() if verbose == 1 else None
        self.bar = None if tqdm is None else tqdm(total=steps, desc=title, unit="batch",
                                                  leave=True, dynamic_ncols=True)
        if self.bar is None and verbose and title:
            print(title, flush=True)

    def update(self, examples_seen: int, logs: dict) -> None:
        """One more batch done; ``logs`` are the running values."""
        self.last = time.perf_counter()
        if self.bar is not None:
            rate = examples_seen / max(self.last - self.start, 1e-9)
            self.bar.set_postfix_str(f"{format_logs(logs)} - {rate:,.0f} examples/s",
                                     refresh=False)
            self.bar.update(1)

    def finish(self, examples_seen: int, logs: dict) -> None:
        """The pass is over: the bar's last state, or the one line. The rate counts the
        batches' time only (not an epoch's validation)."""
        seconds = time.perf_counter() - self.start
        rate = f"{examples_seen / max(self.last - self.start, 1e-9):,.0f} examples/s"
        if self.bar is not None:
            self.bar.set_postfix_str(f"{format_logs(logs)} - {rate}", refresh=False)
            self.bar.close()
        elif self.verbose:
            per_step = 1000 * seconds / max(self.steps, 1)
            parts = [f"{self.steps}/{self.steps}", f"{seconds:.0f}s", f"{per_step:.0f}ms/step"]
            print(" - ".join(parts + ([format_logs(logs)] if logs else []) + [rate]),
                  flush=True)
