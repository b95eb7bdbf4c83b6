"""Run each library's workload in its own process, alternating rounds, and report.

Timing tinygrad_cnn and PyTorch in one process is unfair on a small machine: after a call,
OpenBLAS's worker threads and PyTorch's OpenMP workers keep spinning, and on two cores a
spinning neighbour slows whichever library runs next. So every measurement here is one
child process (this file, run with ``--child``) that loads one library, builds one
workload, warms it up and times its steps; nothing else computes while it runs.

A benchmark script describes its workloads (``Workload``: a name and, per library, a
factory) in a ``workloads(options)`` function and calls ``run``. For every workload the
parent starts ``rounds`` children per library in the order ours, torch, ours, torch, …
so load that drifts over the run hits both libraries alike. Each child reports

- the time of every timed step (``time.perf_counter``),
- minor page faults per step: the ``ru_minflt`` delta over the timed steps / steps
  (fresh pages the allocator had to map: a sign of large temporaries not reused),
- peak RSS of the whole child, imports and data included: ``VmHWM`` from
  /proc/self/status where there is one, because on Linux a child's ``ru_maxrss`` starts at
  its parent's peak (vfork + exec keep the larger), so it would show the parent's size;
  ``ru_maxrss`` elsewhere.

The report gives, per library, the median over rounds of each round's median step, the
best round (lowest median) and the spread of the round medians, and the ratio
ours / torch of the medians: **below 1 means ours is faster**.

Threads are equal in every child: ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` and
``MKL_NUM_THREADS`` are set before numpy or torch is imported, threadpoolctl (if installed)
limits every BLAS/OpenMP pool it finds, and torch children call ``torch.set_num_threads``.
Only the standard library is imported at the top of this file, so a child can set its
environment first.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

LIBRARIES = ("ours", "torch")
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
RESULT_TAG = "HARNESS-RESULT "
TORCH_MISSING = ("torch is not installed: tinygrad_cnn only "
                 "(pip install torch==2.13.0 for the comparison; never a dependency)")


@dataclasses.dataclass(frozen=True)
class Workload:
    """One benchmark row.

    ``make[library](options)`` runs in the child after the imports and returns the step to
    time (a no-argument callable), or ``(step, check)`` where ``check`` is an ndarray in a
    layout both libraries share: the parent asserts the libraries' checks agree within
    ``tol`` (relative and absolute). ``items`` (examples per step) adds a per-second
    column; ``flops`` per step adds GFLOP/s. ``steps``/``warmup`` override the options.
    """

    name: str
    make: dict[str, Callable]
    items: int = 0
    flops: float = 0.0
    steps: int | None = None
    warmup: int | None = None
    tol: float = 1e-3
    unit: str = "ex/s"


def add_arguments(parser: argparse.ArgumentParser, steps: int, warmup: int,
                  rounds: int = 5) -> None:
    """The flags every harness benchmark shares."""
    parser.add_argument("--rounds", type=int, default=rounds,
                        help=f"child processes per library and workload (default {rounds})")
    parser.add_argument("--steps", type=int, default=steps,
                        help=f"timed steps per child (default {steps})")
    parser.add_argument("--warmup", type=int, default=warmup,
                        help=f"untimed steps per child first (default {warmup})")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for numpy's BLAS and PyTorch alike (default 2)")
    parser.add_argument("--no-torch", action="store_true", help="tinygrad_cnn only")
    parser.add_argument("--only", default=None,
                        help="run only the workloads whose name contains this text")


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def libraries(options: argparse.Namespace) -> tuple[str, ...]:
    """("ours", "torch"), or ("ours",) with a note when torch is off or missing."""
    if options.no_torch:
        return ("ours",)
    if not torch_available():
        print(TORCH_MISSING)
        return ("ours",)
    return LIBRARIES


def selected(workloads: list[Workload], options: argparse.Namespace) -> list[Workload]:
    """The workloads ``--only`` keeps (all of them without it)."""
    return [w for w in workloads if not options.only or options.only in w.name]


def load_average() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


# ------------------------------------------------------------------------- parent
def run(module: str, options: argparse.Namespace, libs: tuple[str, ...],
        workloads: list[Workload], on_result: Callable | None = None) -> dict:
    """Measure every workload; returns {name: {library: [round results]}}.

    ``module`` is the benchmark's module name (a sibling of this file); the children import
    it and call ``workloads(options)`` to find the same workload by name.
    ``on_result(workload, results)`` is called as each workload finishes.
    """
    if options.rounds < 1 or options.steps < 1 or options.warmup < 0:
        raise ValueError("--rounds and --steps must be at least 1, --warmup at least 0")
    opts = json.dumps(vars(options))
    out = {}
    for w in selected(workloads, options):
        runs = {lib: [] for lib in libs if lib in w.make}
        with tempfile.TemporaryDirectory() as tmp:
            checks = {}
            for r in range(options.rounds):
                for lib in runs:  # ours, torch, ours, torch, …
                    check = os.path.join(tmp, f"{lib}.npy") if r == 0 else ""
                    runs[lib].append(_spawn(module, w.name, lib, opts, options.threads, check))
                    if check and os.path.exists(check):
                        checks[lib] = check
            if len(checks) > 1:
                _compare_checks(w, checks)
        out[w.name] = runs
        if on_result is not None:
            on_result(w, runs)
    return out


def _spawn(module, name, lib, opts, threads, check) -> dict:
    env = dict(os.environ, **{var: str(threads) for var in THREAD_VARS})
    cmd = [sys.executable, os.path.abspath(__file__), "--child", module, name, lib, opts]
    if check:
        cmd.append(check)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_TAG)]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise RuntimeError(f"{lib} child for {name!r} failed (exit status {proc.returncode})")
    return json.loads(lines[-1][len(RESULT_TAG):])


def _compare_checks(w: Workload, checks: dict) -> None:
    import numpy as np

    (lib_a, a), (lib_b, b) = list(checks.items())[:2]
    np.testing.assert_allclose(np.load(a), np.load(b), rtol=w.tol, atol=w.tol,
                               err_msg=f"{w.name}: {lib_a} and {lib_b} compute different "
                                       "numbers, so their times cannot be compared")


def summary(rounds: list[dict]) -> dict:
    """Median over rounds of the round medians, best round, spread, faults, peak RSS."""
    medians = [statistics.median(r["times"]) for r in rounds]
    median = statistics.median(medians)
    return {
        "median": median,
        "best": min(medians),
        "spread": (max(medians) - min(medians)) / median,
        "faults": statistics.median(r["faults_per_step"] for r in rounds),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in rounds),
    }


def header() -> str:
    cols = (f"{'workload':<44} {'library':<10} {'median ms':>10} {'best ms':>9} "
            f"{'spread':>7} {'rate':>14} {'faults/step':>11} {'peak MiB':>8}")
    return cols + "\n" + "-" * len(cols)


def rows(w: Workload, runs: dict) -> str:
    """The table lines of one workload: a line per library, then ours/torch."""
    lines, stats = [], {lib: summary(rs) for lib, rs in runs.items()}
    for i, (lib, s) in enumerate(stats.items()):
        seconds = s["median"]
        if w.flops:
            rate = f"{w.flops / seconds / 1e9:7.1f} GFLOP/s"
        elif w.items:
            rate = f"{w.items / seconds:9,.0f} {w.unit}"
        else:
            rate = ""
        lines.append(f"{w.name if i == 0 else '':<44} {lib:<10} {seconds * 1e3:10.2f} "
                     f"{s['best'] * 1e3:9.2f} {s['spread']:7.0%} {rate:>14} "
                     f"{s['faults']:11.1f} {s['peak_rss_mib']:8.0f}")
    if "ours" in stats and "torch" in stats:
        ratio = stats["ours"]["median"] / stats["torch"]["median"]
        best = stats["ours"]["best"] / stats["torch"]["best"]
        lines.append(f"{'':<44} {'ours/torch':<10} {ratio:9.2f}× {best:8.2f}×"
                     "   time ratio, below 1 = ours faster")
    return "\n".join(lines)


def describe(runs: dict) -> str:
    """Library versions and thread pools, as the first child of each library saw them."""
    lines = []
    for lib, rs in runs.items():
        lines.append(f"{lib}: {rs[0]['info']}")
    return "\n".join(lines)


# -------------------------------------------------------------------------- child
def peak_rss_mib(usage) -> float:
    """This process's own peak RSS: VmHWM (Linux), else ru_maxrss (KiB, bytes on macOS)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def _child(argv: list[str]) -> int:
    module, name, lib, opts = argv[:4]
    check = argv[4] if len(argv) > 4 else ""
    options = argparse.Namespace(**json.loads(opts))
    for var in THREAD_VARS:  # before numpy or torch is imported
        os.environ[var] = str(options.threads)

    import numpy as np

    info = [f"numpy {np.__version__}"]
    try:
        import threadpoolctl

        limiter = threadpoolctl.threadpool_limits(options.threads)  # noqa: F841 (kept alive)
    except ImportError:
        threadpoolctl = None
    if lib == "torch":
        import torch

        torch.set_num_threads(options.threads)
        info.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    bench = importlib.import_module(module)
    (w,) = [w for w in bench.workloads(options) if w.name == name]
    made = w.make[lib](options)
    step, reference = made if isinstance(made, tuple) else (made, None)
    if check and reference is not None:
        np.save(check, np.asarray(reference))
    if threadpoolctl is not None:
        info += [f"{p['internal_api']} {p.get('version') or ''} {p['num_threads']} threads"
                 .replace("  ", " ") for p in threadpoolctl.threadpool_info()]

    steps = w.steps or options.steps
    for _ in range(options.warmup if w.warmup is None else w.warmup):
        step()
    times = []
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result = {
        "times": times,
        "faults_per_step": (usage.ru_minflt - before) / steps,
        "peak_rss_mib": peak_rss_mib(usage),
        "info": ", ".join(info),
    }
    print(RESULT_TAG + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] != ["--child"]:
        sys.exit("harness.py is run by the benchmarks (bench_train.py, bench_ops.py)")
    sys.exit(_child(sys.argv[2:]))
