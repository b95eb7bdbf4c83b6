"""Overhead of graph recording: a 784-256-10 MLP step in tinygrad_cnn vs hand-written numpy.

Both sides do the same arithmetic on the same float32 arrays — forward (x @ W1 + b1, relu,
@ W2 + b2, log-softmax cross-entropy) and backward (every parameter's gradient) — so the
difference is what the engine adds: Tensor/Function objects, the graph walk, unbroadcast,
gradient bookkeeping. Runs alternate between the two so drift in machine load hits both.

    python benchmarks/bench_autograd.py [--repeats 300] [--batch 128] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import time


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=300, help="timed steps per side")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None,
                        help="BLAS threads (sets OMP/OPENBLAS/MKL_NUM_THREADS before numpy loads)")
    parser.add_argument("--profile", action="store_true",
                        help="print a cProfile of the engine step instead of timing")
    return parser.parse_args(argv)


ARGS = _parse_args() if __name__ == "__main__" else None
if ARGS is not None and ARGS.threads:
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(ARGS.threads)

import numpy as np  # noqa: E402  (after the thread settings)

import tinygrad_cnn.functional as F  # noqa: E402
from tinygrad_cnn import Tensor  # noqa: E402

IN, HIDDEN, OUT = 784, 256, 10


def make_problem(batch: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, IN)).astype(np.float32)
    labels = rng.integers(0, OUT, size=batch)
    w1 = (rng.standard_normal((IN, HIDDEN)) * np.sqrt(2 / IN)).astype(np.float32)
    b1 = np.zeros(HIDDEN, np.float32)
    w2 = (rng.standard_normal((HIDDEN, OUT)) * np.sqrt(2 / HIDDEN)).astype(np.float32)
    b2 = np.zeros(OUT, np.float32)
    return x, labels, [w1, b1, w2, b2]


def numpy_step(x, labels, w1, b1, w2, b2):
    """Forward and manual backward in plain numpy; returns (loss, [dw1, db1, dw2, db2])."""
    n = x.shape[0]
    h = x @ w1 + b1                                   # (N, 256)
    a = np.maximum(h, 0)                              # (N, 256)
    logits = a @ w2 + b2                              # (N, 10)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_p[np.arange(n), labels].mean()
    d_logits = np.exp(log_p)                          # softmax
    d_logits[np.arange(n), labels] -= 1
    d_logits *= np.float32(1 / n)
    dw2 = a.T @ d_logits                              # (256, 10)
    db2 = d_logits.sum(axis=0)
    d_h = (d_logits @ w2.T) * (a > 0)                 # (N, 256)
    dw1 = x.T @ d_h                                   # (784, 256)
    db1 = d_h.sum(axis=0)
    return loss, [dw1, db1, dw2, db2]


def engine_step(x, labels, params):
    """The same step through Tensors and autograd; returns (loss, grads)."""
    w1, b1, w2, b2 = params
    for p in params:
        p.grad = None
    logits = (x @ w1 + b1).relu() @ w2 + b2
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    return loss.data, [p.grad for p in params]


def main(args) -> None:
    x, labels, arrays = make_problem(args.batch)
    params = [Tensor(a, requires_grad=True) for a in arrays]
    xt = Tensor(x)

    # Same numbers both ways, or the comparison means nothing.
    loss_np, grads_np = numpy_step(x, labels, *arrays)
    loss_tc, grads_tc = engine_step(xt, labels, params)
    assert np.allclose(loss_np, loss_tc, rtol=1e-5), (loss_np, loss_tc)
    for g_np, g_tc in zip(grads_np, grads_tc, strict=True):
        assert g_tc.dtype == np.float32 and np.allclose(g_np, g_tc, rtol=1e-4, atol=1e-6)

    if args.profile:
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            for _ in range(args.repeats):
                engine_step(xt, labels, params)
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        return

    for _ in range(args.warmup):
        numpy_step(x, labels, *arrays)
        engine_step(xt, labels, params)
    t_np, t_tc = [], []
    clock = time.perf_counter
    for _ in range(args.repeats):
        t0 = clock()
        numpy_step(x, labels, *arrays)
        t1 = clock()
        engine_step(xt, labels, params)
        t2 = clock()
        t_np.append(t1 - t0)
        t_tc.append(t2 - t1)
    med_np, med_tc = float(np.median(t_np)), float(np.median(t_tc))
    overhead = (med_tc / med_np - 1) * 100
    print(f"MLP {IN}-{HIDDEN}-{OUT}, batch {args.batch}, float32, forward+backward, "
          f"median of {args.repeats} steps")
    print(f"  numpy by hand : {med_np * 1e3:8.3f} ms")
    print(f"  tinygrad_cnn  : {med_tc * 1e3:8.3f} ms")
    print(f"  overhead      : {overhead:+7.1f} %  (target < 15 %)")


if __name__ == "__main__":
    main(ARGS)
