"""Benchmark conv2d and pooling, forward and forward+backward, against PyTorch (if installed).

    python benchmarks/bench_ops.py [--reps 15] [--warmup 3] [--threads 2] [--no-torch] [--stages]

Rows (float32, batch 128):
- layer A:   28×28×1  → 32, 3×3 'same'     (a first conv layer on MNIST)
- layer B:   14×14×32 → 64, 3×3 'same'     (a second conv layer)
- seed:      28×28×1  → 16, 2×2 'same'     (Keras' Conv2D(16, 2, strides=1, padding='same'))
- 2×2 max / average pooling, forward+backward, on 128×28×28×32.

Forward+backward computes every gradient (input, kernel, bias) in both libraries.
Times are medians over ``--reps`` repetitions; ours and PyTorch's alternate in blocks
(see ``compare``) so that a noisy machine slows both alike. PyTorch gets the same work with
``torch.set_num_threads(2)`` (``--threads``; numpy's BLAS gets the same number through
``OPENBLAS_NUM_THREADS``), the same dtype and NCHW tensors (the layout conversion
happens once, outside the timed region); the last column is the ratio ours / torch
(below 1 means we are faster). Conv GFLOP/s count 2·N·OH·OW·KH·KW·C_in·C_out per GEMM
(forward: one; forward+backward: three).

Finally the forward GEMM of layer B is timed alone and compared with the square float32
matmul rate numpy reaches in the same run (target: ≥ 60 %). ``--stages`` adds a profile of
layer B's forward+backward by stage.

What bounds layer B (measured on the 2-core reference machine): PyTorch runs a direct
oneDNN convolution, while ours is three OpenBLAS GEMMs plus memory passes. The GEMMs
alone (forward (25088, 289)·(289, 64), dW, and nine (25088, 64)·(64, 32) tap GEMMs for
dx) reach only 50–65 % of the square-matmul rate because one side is only 32–64 wide,
and they already take about as long as PyTorch's whole forward+backward. On top come the
im2col copy (a 29 MB patch matrix) and the col2im adds, memory-bound single passes that a
second thread does not speed up (tried: OpenBLAS's spinning worker and the memory
bandwidth are the limit). Layers with one input channel (A, seed) and pooling have no
big GEMMs and are at or below PyTorch's time.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings

if __name__ == "__main__":
    # BLAS reads its thread count when numpy is first imported: --threads (default 2)
    if "--threads" in sys.argv[:-1]:
        os.environ["OPENBLAS_NUM_THREADS"] = sys.argv[sys.argv.index("--threads") + 1]
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import tinygrad_cnn as tc  # noqa: E402
from tinygrad_cnn import Tensor  # noqa: E402
from tinygrad_cnn import functional as F  # noqa: E402
from tinygrad_cnn.ops.conv import im2col  # noqa: E402
from tinygrad_cnn.ops.window import pad_hw  # noqa: E402

try:
    import torch
    import torch.nn.functional as TF
except ImportError:  # torch is never a dependency; the comparison is optional
    torch = None
# PyTorch pads a copy for the even-kernel 'same' seed layer and says so on every call
warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")

BATCH = 128
CONV_LAYERS = {  # name: (H, W, C_in, C_out, kernel)
    "layer A": (28, 28, 1, 32, 3),
    "layer B": (14, 14, 32, 64, 3),
    "seed": (28, 28, 1, 16, 2),
}
POOL_SHAPE = (BATCH, 28, 28, 32)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def compare(ours, theirs, reps: int, warmup: int, rounds: int = 3):
    """Median ms of ``ours`` and ``theirs`` (None to skip).

    The two run in alternating blocks (``rounds`` each) rather than call by call: after a
    call, OpenBLAS's and PyTorch's worker threads keep spinning for a while, and on two
    cores a spinning neighbour would slow whichever library runs next. A short pause
    before each block lets them go to sleep; the first calls of a block are not timed.
    """
    times = ([], [])
    per_round = -(-reps // rounds)
    for r in range(rounds):
        for fn, acc in zip((ours, theirs), times, strict=True):
            if fn is None:
                continue
            time.sleep(0.2)
            for _ in range(warmup if r == 0 else 1):
                fn()
            acc.extend(timed(fn) for _ in range(per_round))
    return statistics.median(times[0]), (statistics.median(times[1]) if theirs else None)


# -------------------------------------------------------------------- workloads
def conv_workloads(h, w, c_in, c_out, k, use_torch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, h, w, c_in), dtype=np.float32)
    kernel = (rng.standard_normal((k, k, c_in, c_out), dtype=np.float32)
              / np.float32(np.sqrt(k * k * c_in)))
    bias = rng.standard_normal(c_out, dtype=np.float32)
    xt, kt, bt = (Tensor(a, requires_grad=True) for a in (x, kernel, bias))
    grad = rng.standard_normal((BATCH, h, w, c_out), dtype=np.float32)  # 'same', stride 1

    def ours_fwd():
        return F.conv2d(xt, kt, bt, strides=1, padding="same")

    def ours_fwd_bwd():
        xt.grad = kt.grad = bt.grad = None
        ours_fwd().backward(grad)

    if not use_torch:
        return (ours_fwd, None), (ours_fwd_bwd, None)
    tx = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).requires_grad_()
    tk = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))).requires_grad_()
    tb = torch.from_numpy(bias.copy()).requires_grad_()
    tgrad = torch.from_numpy(np.ascontiguousarray(grad.transpose(0, 3, 1, 2)))

    def torch_fwd():
        return TF.conv2d(tx, tk, tb, stride=1, padding="same")

    def torch_fwd_bwd():
        tx.grad = tk.grad = tb.grad = None
        torch_fwd().backward(tgrad)

    # same numbers in both libraries (TF and PyTorch agree on 'same' for stride 1)
    ours = ours_fwd().data
    theirs = torch_fwd().detach().numpy().transpose(0, 2, 3, 1)
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-3)
    return (ours_fwd, torch_fwd), (ours_fwd_bwd, torch_fwd_bwd)


def pool_workloads(kind, use_torch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(POOL_SHAPE, dtype=np.float32)
    xt = Tensor(x, requires_grad=True)
    n, h, w, c = POOL_SHAPE
    grad = rng.standard_normal((n, h // 2, w // 2, c), dtype=np.float32)
    ours_op = F.max_pool2d if kind == "max" else F.avg_pool2d

    def ours_fwd_bwd():
        xt.grad = None
        ours_op(xt, 2).backward(grad)

    if not use_torch:
        return ours_fwd_bwd, None
    tx = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).requires_grad_()
    tgrad = torch.from_numpy(np.ascontiguousarray(grad.transpose(0, 3, 1, 2)))
    torch_op = TF.max_pool2d if kind == "max" else TF.avg_pool2d

    def torch_fwd_bwd():
        tx.grad = None
        torch_op(tx, 2).backward(tgrad)

    np.testing.assert_allclose(ours_op(xt, 2).data,
                               torch_op(tx, 2).detach().numpy().transpose(0, 2, 3, 1),
                               rtol=1e-6, atol=1e-6)
    return ours_fwd_bwd, torch_fwd_bwd


# ------------------------------------------------------------------------ report
def environment() -> str:
    blas = "?"
    try:
        import threadpoolctl

        info = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
        if info:
            blas = (f"{info[0]['internal_api']} {info[0]['version']} "
                    f"({info[0].get('architecture')}, {info[0]['num_threads']} threads)")
    except ImportError:
        pass
    lines = [
        f"python {platform.python_version()}, numpy {np.__version__}, BLAS {blas}, "
        f"{os.cpu_count()} CPUs, OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE')!r}",
    ]
    if torch is not None:
        lines.append(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    return "\n".join(lines)


def gemm_rates(reps: int):
    """Layer B's forward GEMM (exactly the op's operands) vs numpy's square matmul."""
    h, w, c_in, c_out, k = CONV_LAYERS["layer B"]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, h, w, c_in), dtype=np.float32)
    pads = tc.shapes.resolve_pads("same", (h, w), (k, k), (1, 1))
    cols = im2col(pad_hw(x, pads), (k, k), (h, w), (1, 1), ones_column=True)
    weights = rng.standard_normal((cols.shape[1], c_out), dtype=np.float32)
    gemm_ms, _ = compare(lambda: cols @ weights, None, reps, 2)
    gemm_rate = 2 * cols.shape[0] * cols.shape[1] * c_out / gemm_ms / 1e6
    best = 0.0
    for size in (512, 1024, 2048):
        a = rng.standard_normal((size, size), dtype=np.float32)
        b = rng.standard_normal((size, size), dtype=np.float32)
        ms, _ = compare(lambda a=a, b=b: a @ b, None, max(5, reps // 2), 1)
        best = max(best, 2 * size**3 / ms / 1e6)
    return cols.shape, gemm_ms, gemm_rate, best


def stage_profile(reps: int):
    """Where layer B's forward+backward time goes, stage by stage (ours)."""
    from tinygrad_cnn.ops.conv import Conv2D
    from tinygrad_cnn.shapes import tap_span

    h, w, c_in, c_out, k = CONV_LAYERS["layer B"]
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, h, w, c_in), dtype=np.float32)
    kernel = rng.standard_normal((k, k, c_in, c_out), dtype=np.float32)
    bias = rng.standard_normal(c_out, dtype=np.float32)
    grad = rng.standard_normal((BATCH, h, w, c_out), dtype=np.float32)
    pads = tc.shapes.resolve_pads("same", (h, w), (k, k), (1, 1))
    xp = pad_hw(x, pads)
    cols = im2col(xp, (k, k), (h, w), (1, 1), ones_column=True)
    weights = np.concatenate([kernel.reshape(-1, c_out), bias[None]])
    g = grad.reshape(-1, c_out)
    w_taps = np.ascontiguousarray(kernel.reshape(k * k, c_in, c_out).transpose(0, 2, 1))
    block = np.empty((g.shape[0], c_in), np.float32)
    blocks = [(g @ w_taps[t]).reshape(BATCH, h, w, c_in) for t in range(k * k)]
    spans = [(tap_span(i, 1, 1, h, h), tap_span(j, 1, 1, w, w))
             for i in range(k) for j in range(k)]

    def tap_gemms():
        for t in range(k * k):
            np.matmul(g, w_taps[t], out=block)

    def col2im_adds():
        dx = blocks[4].copy()
        for t, ((rows_in, rows_out), (cols_in, cols_out)) in enumerate(spans):
            if t != 4:
                dx[:, rows_in, cols_in] += blocks[t][:, rows_out, cols_out]

    op = Conv2D(1, "same")
    op.forward(x, kernel, bias)
    op.needs_input_grad = (True, True, True)
    saved = op.saved

    def whole_backward():
        op.saved = saved
        op.backward(grad)

    stages = {
        "pad": lambda: pad_hw(x, pads),
        "im2col copy": lambda: im2col(xp, (k, k), (h, w), (1, 1), ones_column=True),
        "forward GEMM": lambda: cols @ weights,
        "whole forward": lambda: Conv2D(1, "same").forward(x, kernel, bias),
        "dW+db GEMM": lambda: cols.T @ g,
        "dx 9 tap GEMMs": tap_gemms,
        "dx col2im adds": col2im_adds,
        "whole backward": whole_backward,
    }
    rows = []
    for name, fn in stages.items():
        ms, _ = compare(fn, None, reps, 2)
        rows.append(f"  {name:<18} {ms:7.2f} ms")
    return "\n".join(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=15, help="timed repetitions (median)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2,
                        help="threads for PyTorch and numpy's BLAS (default 2)")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    parser.add_argument("--stages", action="store_true", help="profile layer B by stage")
    args = parser.parse_args(argv)
    if args.reps < 5:
        parser.error("--reps must be at least 5")
    use_torch = torch is not None and not args.no_torch
    if use_torch:
        torch.set_num_threads(args.threads)
    print(environment())
    if torch is None:
        print("torch is not installed: PyTorch columns skipped (pip install torch==2.13.0)")
    print(f"median of {args.reps} repetitions, float32, batch {BATCH}, {args.threads} threads\n")
    header = f"{'workload':<40} {'ours ms':>9} {'GFLOP/s':>8} {'torch ms':>9} {'GFLOP/s':>8} " \
             f"{'ours/torch':>10}"
    print(header)
    print("-" * len(header))

    def row(name, ours_ms, torch_ms, flops=None):
        def rate(ms):
            return f"{flops / ms / 1e6:8.1f}" if flops and ms else f"{'':>8}"
        theirs = f"{torch_ms:9.2f}" if torch_ms else f"{'—':>9}"
        ratio = f"{ours_ms / torch_ms:9.2f}×" if torch_ms else f"{'—':>10}"
        print(f"{name:<40} {ours_ms:9.2f} {rate(ours_ms)} {theirs} {rate(torch_ms)} {ratio}",
              flush=True)

    for name, (h, w, c_in, c_out, k) in CONV_LAYERS.items():
        flops = 2 * BATCH * h * w * k * k * c_in * c_out
        (f_ours, f_torch), (fb_ours, fb_torch) = conv_workloads(h, w, c_in, c_out, k, use_torch)
        label = f"{name} {h}×{w}×{c_in}→{c_out} {k}×{k} same"
        row(f"{label} fwd", *compare(f_ours, f_torch, args.reps, args.warmup), flops)
        row(f"{label} fwd+bwd", *compare(fb_ours, fb_torch, args.reps, args.warmup),
            3 * flops)
    for kind in ("max", "avg"):
        ours, theirs = pool_workloads(kind, use_torch)
        row(f"{kind}_pool2d 2×2 {POOL_SHAPE} fwd+bwd",
            *compare(ours, theirs, args.reps, args.warmup))

    shape, gemm_ms, gemm_rate, square = gemm_rates(args.reps)
    print(f"\nlayer B forward GEMM {shape} @ ({shape[1]}, 64): {gemm_ms:.2f} ms, "
          f"{gemm_rate:.1f} GFLOP/s = {100 * gemm_rate / square:.0f}% of numpy's square "
          f"float32 matmul ({square:.1f} GFLOP/s, best of 512/1024/2048)")
    if args.stages:
        print("\nlayer B forward+backward by stage (ours):")
        print(stage_profile(args.reps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
