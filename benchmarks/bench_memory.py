"""Does a training loop's memory stay flat? 2,000 steps of a small CNN, RSS measured.

The model is ``tinygrad_cnn.zoo.seed_convnet`` (Conv2D 10 3×3 'same' + ReLU →
MaxPooling2D 2 → Flatten → Dense 10) trained with Adam on random 28×28×1 batches of 32.
Every step draws a fresh batch, so nothing is cached between steps. At the checkpoints
the script prints the current resident set size (``VmRSS`` from /proc/self/status) and
the peak so far (``ru_maxrss``); a leak shows as RSS rising checkpoint after checkpoint.

    python benchmarks/bench_memory.py [--steps 2000] [--batch 32] [--model seed|simple]

This is a measurement, not a test: nothing here asserts.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time

import numpy as np

import tinygrad_cnn as tc
import tinygrad_cnn.functional as F
from tinygrad_cnn import Tensor
from tinygrad_cnn.zoo import MODELS

CHECKPOINTS = (1, 100, 500, 1000, 1500, 2000)


def rss_mib() -> float:
    """Current resident set size (VmRSS) in MiB; falls back to the peak off Linux."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return peak_rss_mib()


def peak_rss_mib() -> float:
    """Peak resident set size so far (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--model", choices=sorted(MODELS), default="seed")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    checkpoints = sorted({c for c in CHECKPOINTS if c <= args.steps} | {args.steps})

    tc.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = MODELS[args.model]()
    opt = tc.optim.Adam(model.parameters(), lr=1e-3)
    losses = np.zeros(args.steps + 1)  # preallocated: a growing list would be measured too
    print(f"{args.model} model, {model.count_params():,} parameters, batches of "
          f"{args.batch}×28×28×1, {args.steps:,} Adam steps")
    print(f"{'step':>6}  {'RSS MiB':>8}  {'peak MiB':>8}  {'loss':>7}  {'s/100 steps':>11}")
    print(f"{0:>6}  {rss_mib():8.1f}  {peak_rss_mib():8.1f}  {'':>7}  {'':>11}")
    start = last = time.perf_counter()
    last_step = 0
    figures = {}
    for step in range(1, args.steps + 1):
        x = rng.random((args.batch, 28, 28, 1), dtype=np.float32)
        y = rng.integers(0, 10, args.batch)
        loss = F.cross_entropy(model(Tensor(x)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses[step] = loss.item()
        if step in checkpoints:
            now = time.perf_counter()
            per_100 = (now - last) / (step - last_step) * 100
            figures[step] = (rss_mib(), peak_rss_mib())
            print(f"{step:>6}  {figures[step][0]:8.1f}  {figures[step][1]:8.1f}  "
                  f"{losses[step]:7.4f}  {per_100:11.2f}", flush=True)
            last, last_step = now, step
    first = checkpoints[1] if len(checkpoints) > 1 else checkpoints[0]
    growth = figures[args.steps][0] - figures[first][0]
    print(f"RSS change from step {first} to step {args.steps}: {growth:+.1f} MiB; "
          f"peak {figures[args.steps][1]:.1f} MiB; {time.perf_counter() - start:.1f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
