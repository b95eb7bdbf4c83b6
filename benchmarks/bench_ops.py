"""Benchmark conv2d and pooling, forward and forward+backward, against PyTorch (if installed).

    python benchmarks/bench_ops.py [--rounds 5] [--steps 15] [--warmup 3] [--threads 2]
                                   [--no-torch] [--only TEXT] [--stages]

Rows (float32, batch 128):
- layer A:   28×28×1  → 32, 3×3 'same'     (a first conv layer on MNIST)
- layer B:   14×14×32 → 64, 3×3 'same'     (a second conv layer)
- seed:      28×28×1  → 16, 2×2 'same'     (Keras' Conv2D(16, 2, strides=1, padding='same'))
- 2×2 max / average pooling, forward and forward+backward, on 128×28×28×32.

Forward+backward computes every gradient (input, kernel, bias) in both libraries.
Each row runs each library in its own child process (``harness.py``): ``--rounds`` children
per library, alternating ours, torch, ours, …, each timing ``--steps`` calls after
``--warmup``; the table gives the median and best of the round medians, minor page faults
per call and the child's peak RSS. PyTorch gets the same work with the same number of
threads (``--threads``, default 2, for numpy's BLAS and ``torch.set_num_threads`` alike),
the same dtype and NCHW tensors (the layout conversion happens once, outside the timed
region); the ratio line is ours / torch time (below 1 means we are faster). Before timing,
the parent checks that both libraries computed the same numbers (outputs, or every
gradient). Conv GFLOP/s count 2·N·OH·OW·KH·KW·C_in·C_out per GEMM (forward: one;
forward+backward: three).

Finally the forward GEMM of layer B is timed alone and compared with the square float32
matmul rate numpy reaches in the same run (target: ≥ 60 %). ``--stages`` adds a profile of
layer B's forward+backward by stage.

What the conv does now (issue #13; ops/conv.py): when a graph is recorded and the whole
batch's patch matrix takes at most ``KEEP_BYTES`` (32 MiB), forward builds it in one piece
(bias as a column of ones), runs one GEMM and ReLU in place, and keeps the patches, so
backward's dW is one GEMM without a second im2col; otherwise forward works in chunks of
images holding ``CHUNK_BYTES`` (4 MiB) of patches and backward rebuilds them chunk by
chunk. Backward masks the gradient once and gets dx by per-tap GEMMs into one reused block
added into dx. All large arrays come from ``workspace.py``, so a step maps no new memory.

Levers tried for layer B (128×14×14×32 → 64, 3×3 'same'), times in ms; "1T" is CPU time
of one thread in one process (the steadiest figure on the shared machine), "2T" wall
time with 2 threads on a quiet machine:
- Chunked im2col + GEMM (kept): forward 12.4 → 9.4-9.9 (1T); OpenBLAS reaches ~100
  GFLOP/s on the whole (25088, 288) patch matrix and 135-150 on a (784, 288) chunk that
  stays in cache. Chunk size, training step (1T): 1, 2 and 4 MiB equal, 8 MiB +10 %, whole
  batch +18 %; 4 MiB kept (fewer GEMM calls on 2 threads).
- Bias as a column of ones in the GEMM vs a separate pass over the output: 8.7-9.8 vs
  8.8-10.4 (kept the column).
- dx: nine per-tap GEMMs (the original) vs one wide GEMM (M, 64)·(64, 288) + col2im from
  its interleaved result: per-tap 8.9 vs 10.2 (2T), 13.4 vs 13.9 (1T); for the simple
  convnet's second conv 6.1 vs 6.7-7.6 (2T), 8.6 vs 9.6 (1T). Per-tap kept. Also tried:
  the wide GEMM per chunk (col2im in cache: 6.4 + 3.3 (1T), no better overall); col2im in
  runs of KW·C values (windows KW columns apart do not overlap: 0.10 vs 0.15-0.19 ms per
  chunk alone, no gain in place); dx as the conv of the padded gradient with the flipped
  kernel (no col2im: im2col 2.7 + (M, 576)·(576, 32) GEMM 9.1 vs 9.6, dropped); nine tap
  GEMMs as one batched matmul (9.4 + 2.7 vs 6.4 + 3.3, dropped).
- Reusing the forward's patch matrix for dW instead of rebuilding it: first measured at
  dW 7.3 vs 7.6 (1T, second conv), training step 2T equal, 1T worse, and dropped; measured
  again on 2 threads with the whole batch as one chunk, it won: layer B fwd+bwd 26.2-26.7
  vs 28.1-29.1, training step (batch 128) 35.7-37.1 vs 37.4-39.5, same peak RSS of the
  training benchmark; at batch 32 (``examples/train_mnist.py``) it saves the second
  im2col (0.23 s in 3 epochs). Kept, up to ``KEEP_BYTES``.
- Winograd F(2×2, 3×3) (ops/winograd.py, removed): the 16 batched GEMMs take 2.9 instead
  of 6.5, but numpy's transforms cost more than that. Transforms as 16×16 / 4×16 GEMMs
  (kron(Bᵀ, Bᵀ), kron(Aᵀ, Aᵀ)): forward 8.8 vs 9.8, backward 22.7 vs 23.9 (1T, chunks of 4
  images, while the machine was loaded); transforms as whole-array adds: forward 14.7 vs
  10.5, backward 25.4 vs 25.7. Wider layers gain in backward only (64→128: forward 19.9
  vs 16.5, backward 31.4 vs 37.3; 128→256: 36.0 vs 31.1, 57.0 vs 65.5). Dropped.
- Splitting numpy's passes (im2col, masks, col2im, pooling) over two Python threads:
  with OpenBLAS on one thread the second conv's backward went 16.3 → 9.4; with OpenBLAS on
  two (the default) 14.0 → 13.8-14.9, because OpenBLAS's idle worker keeps spinning on
  the second core after each GEMM. numpy gives no way to change OpenBLAS's thread count,
  so this was dropped: on two threads only the GEMMs use the second core.

2×2 stride-2 max pooling (128×28×28×32 fwd+bwd 5.9 ms on the general path; at batch 32
after a ReLU, 32×26×26×32, 1.43 ms): a fast path that found each window's first maximum in
forward and routed with one broadcast multiply measured 6.5-7.0 and 1.38-1.45 (forward
alone 2.6× slower), so it was removed. Also tried and dropped: the first-maximum compares
moved to backward on the 2×2 tiles view (1.34 at batch 32, 6.3 at batch 128); pairs
(left/right, then top/bottom) through reshapes (1.70, 7.8); copying the four taps into one
contiguous (4, N, OH, OW, C) array first (1.35, 7.2); a masked ``np.copyto`` instead of
multiplying by the mask (4.4: it branches per element, so it is fast only on all-true or
all-false masks). Every pass here is bound by memory and by numpy's inner loop over C
contiguous floats (a strided compare over 173 K elements takes 91 µs, the contiguous one
19 µs), and every version makes about the same number of such passes.

What bounds layer B: its GEMMs alone (forward, dW, nine dx taps) take about as long as
PyTorch's whole forward+backward (oneDNN's direct convolution runs at ~190 GFLOP/s on two
threads, OpenBLAS's narrow GEMMs at 120-250), and on two threads every pass numpy makes
(im2col, masks, the col2im adds) runs on one core.

With the harness (one process per library) on the shared 2-core machine while other jobs
run, times at 2 threads jump to multiples of 4–8 ms (a second BLAS/OpenMP thread waiting
for a core), in both libraries: compare runs made while ``uptime`` shows a load below 1.
"""

from __future__ import annotations

import argparse
import sys
import warnings

import numpy as np

import harness

BATCH = 128
CONV_LAYERS = {  # name: (H, W, C_in, C_out, kernel)
    "layer A": (28, 28, 1, 32, 3),
    "layer B": (14, 14, 32, 64, 3),
    "seed": (28, 28, 1, 16, 2),
}
POOL_SHAPE = (BATCH, 28, 28, 32)
SQUARE_SIZES = (512, 1024, 2048)


def nchw(a: np.ndarray):
    """A torch tensor of an NHWC array, laid out NCHW (the conversion is never timed)."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(a.transpose(0, 3, 1, 2)))


def nhwc(t) -> np.ndarray:
    return t.detach().numpy().transpose(0, 2, 3, 1)


# -------------------------------------------------------------------- conv rows
def conv_arrays(h, w, c_in, c_out, k):
    """Input, kernel (KH, KW, C_in, C_out), bias and output gradient, the same everywhere."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((BATCH, h, w, c_in), dtype=np.float32)
    kernel = (rng.standard_normal((k, k, c_in, c_out), dtype=np.float32)
              / np.float32(np.sqrt(k * k * c_in)))
    bias = rng.standard_normal(c_out, dtype=np.float32)
    grad = rng.standard_normal((BATCH, h, w, c_out), dtype=np.float32)  # 'same', stride 1
    return x, kernel, bias, grad


def ours_conv(shape, backward: bool):
    def make(options):
        from tinygrad_cnn import Tensor
        from tinygrad_cnn import functional as F

        x, kernel, bias, grad = conv_arrays(*shape)
        xt, kt, bt = (Tensor(a, requires_grad=True) for a in (x, kernel, bias))

        def fwd():
            return F.conv2d(xt, kt, bt, strides=1, padding="same")

        def fwd_bwd():
            xt.grad = kt.grad = bt.grad = None
            fwd().backward(grad)

        if not backward:
            return fwd, fwd().data
        fwd_bwd()
        return fwd_bwd, np.concatenate([xt.grad.ravel(), kt.grad.ravel(), bt.grad])

    return make


def torch_conv(shape, backward: bool):
    def make(options):
        import torch
        import torch.nn.functional as TF

        # PyTorch pads a copy for the even-kernel 'same' seed layer and says so on every call
        warnings.filterwarnings("ignore", message="Using padding='same' with even kernel")
        x, kernel, bias, grad = conv_arrays(*shape)
        tx = nchw(x).requires_grad_()
        tk = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        tk.requires_grad_()
        tb = torch.from_numpy(bias.copy()).requires_grad_()
        tgrad = nchw(grad)

        def fwd():
            return TF.conv2d(tx, tk, tb, stride=1, padding="same")

        def fwd_bwd():
            tx.grad = tk.grad = tb.grad = None
            fwd().backward(tgrad)

        if not backward:
            return fwd, nhwc(fwd())
        fwd_bwd()
        dk = tk.grad.numpy().transpose(2, 3, 1, 0)  # back to (KH, KW, C_in, C_out)
        return fwd_bwd, np.concatenate([nhwc(tx.grad).ravel(), dk.ravel(), tb.grad.numpy()])

    return make


# -------------------------------------------------------------------- pool rows
def pool_arrays():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(POOL_SHAPE, dtype=np.float32)
    n, h, w, c = POOL_SHAPE
    grad = rng.standard_normal((n, h // 2, w // 2, c), dtype=np.float32)
    return x, grad


def ours_pool(kind: str, backward: bool):
    def make(options):
        from tinygrad_cnn import Tensor
        from tinygrad_cnn import functional as F

        op = F.max_pool2d if kind == "max" else F.avg_pool2d
        x, grad = pool_arrays()
        xt = Tensor(x, requires_grad=True)

        def fwd_bwd():
            xt.grad = None
            op(xt, 2).backward(grad)

        if not backward:
            return (lambda: op(xt, 2)), op(xt, 2).data
        fwd_bwd()
        return fwd_bwd, xt.grad

    return make


def torch_pool(kind: str, backward: bool):
    def make(options):
        import torch.nn.functional as TF

        op = TF.max_pool2d if kind == "max" else TF.avg_pool2d
        x, grad = pool_arrays()
        tx = nchw(x).requires_grad_()
        tgrad = nchw(grad)

        def fwd_bwd():
            tx.grad = None
            op(tx, 2).backward(tgrad)

        if not backward:
            return (lambda: op(tx, 2)), nhwc(op(tx, 2))
        fwd_bwd()
        return fwd_bwd, nhwc(tx.grad)

    return make


# ------------------------------------------------------- numpy's GEMM (ours only)
def layer_b_gemm(options):
    """Layer B's forward GEMM, exactly the op's operands: (25088, 289) @ (289, 64)."""
    import tinygrad_cnn as tc
    from tinygrad_cnn.ops.conv import im2col
    from tinygrad_cnn.ops.window import pad_hw

    h, w, c_in, c_out, k = CONV_LAYERS["layer B"]
    x, _, _, _ = conv_arrays(h, w, c_in, c_out, k)
    pads = tc.shapes.resolve_pads("same", (h, w), (k, k), (1, 1))
    cols = im2col(pad_hw(x, pads), (k, k), (h, w), (1, 1), ones_column=True)
    weights = np.random.default_rng(1).standard_normal((cols.shape[1], c_out), dtype=np.float32)
    return lambda: cols @ weights


def layer_b_gemm_flops() -> float:
    h, w, c_in, c_out, k = CONV_LAYERS["layer B"]
    return 2 * BATCH * h * w * (k * k * c_in + 1) * c_out


def square_matmul(size: int):
    def make(options):
        rng = np.random.default_rng(0)
        a = rng.standard_normal((size, size), dtype=np.float32)
        b = rng.standard_normal((size, size), dtype=np.float32)
        return lambda: a @ b

    return make


# ------------------------------------------------------------ stages (ours only)
def stage(name: str):
    """One stage of layer B's forward+backward, by name (see ``STAGES``)."""

    def make(options):
        return layer_b_stages()[name]

    return make


def layer_b_stages() -> dict:
    """Where layer B's forward+backward time goes, stage by stage (ours, as a recorded op
    runs it at batch 128: the whole batch's patches in one piece, kept for dW)."""
    import tinygrad_cnn as tc
    from tinygrad_cnn.ops import conv
    from tinygrad_cnn.ops.window import pad_hw

    h, w, c_in, c_out, k = CONV_LAYERS["layer B"]
    x, kernel, bias, grad = conv_arrays(h, w, c_in, c_out, k)
    pads = tc.shapes.resolve_pads("same", (h, w), (k, k), (1, 1))
    geometry = ((1, 1), pads, (1, 1))
    xp = pad_hw(x, pads)
    weights = np.concatenate([kernel.reshape(-1, c_out), bias[None]])
    patches = np.empty(BATCH * h * w * weights.shape[0], np.float32)
    cols = conv.im2col(xp, (k, k), (h, w), (1, 1), ones_column=True, out=patches)
    kept = []
    out = conv.conv_forward(x, kernel, bias, *geometry, relu=True, kept=kept)
    assert kept, "layer B's patches should fit KEEP_BYTES at batch 128"
    g = grad.reshape(-1, c_out)

    return {
        "pad": lambda: pad_hw(x, pads),
        "im2col copies": lambda: conv.im2col(xp, (k, k), (h, w), (1, 1), ones_column=True,
                                             out=patches),
        "forward GEMM": lambda: cols @ weights,
        "whole forward": lambda: conv.conv_forward(x, kernel, bias, *geometry, relu=True,
                                                   kept=[]),
        "relu mask": lambda: grad * (out > 0),
        "dW+db GEMM": lambda: cols.T @ g,
        "dx GEMMs + col2im": lambda: conv._input_grad(grad, kernel, x.shape, geometry),
        "whole backward": lambda: conv.conv_backward(grad, x, kernel, geometry,
                                                     (True, True, True), out, kept),
    }


STAGES = ("pad", "im2col copies", "forward GEMM", "whole forward", "relu mask",
          "dW+db GEMM", "dx GEMMs + col2im", "whole backward")


# ------------------------------------------------------------------------ report
def op_workloads() -> list[harness.Workload]:
    rows = []
    for name, shape in CONV_LAYERS.items():
        h, w, c_in, c_out, k = shape
        flops = 2 * BATCH * h * w * k * k * c_in * c_out
        label = f"{name} {h}×{w}×{c_in}→{c_out} {k}×{k} same"
        for backward, suffix, n in ((False, "fwd", 1), (True, "fwd+bwd", 3)):
            rows.append(harness.Workload(
                f"{label} {suffix}",
                {"ours": ours_conv(shape, backward), "torch": torch_conv(shape, backward)},
                flops=n * flops, tol=1e-3))
    for kind in ("max", "avg"):
        for backward, suffix in ((False, "fwd"), (True, "fwd+bwd")):
            rows.append(harness.Workload(
                f"{kind}_pool2d 2×2 {'×'.join(map(str, POOL_SHAPE))} {suffix}",
                {"ours": ours_pool(kind, backward), "torch": torch_pool(kind, backward)},
                tol=1e-5))
    return rows


def gemm_workloads(options) -> list[harness.Workload]:
    rows = [harness.Workload("layer B forward GEMM (25088, 289) @ (289, 64)",
                             {"ours": layer_b_gemm}, flops=layer_b_gemm_flops())]
    for size in SQUARE_SIZES:
        rows.append(harness.Workload(f"square matmul {size}", {"ours": square_matmul(size)},
                                     flops=2 * size**3, steps=max(5, options.steps // 2),
                                     warmup=1))
    return rows


def stage_workloads() -> list[harness.Workload]:
    return [harness.Workload(f"layer B stage: {name}", {"ours": stage(name)}) for name in STAGES]


def workloads(options) -> list[harness.Workload]:
    """Every workload this script can run (the children look theirs up here by name)."""
    return op_workloads() + gemm_workloads(options) + (stage_workloads() if options.stages
                                                       else [])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    harness.add_arguments(parser, steps=15, warmup=3)
    parser.add_argument("--stages", action="store_true", help="profile layer B by stage")
    args = parser.parse_args(argv)
    if args.steps < 5:
        parser.error("--steps must be at least 5")
    libs = harness.libraries(args)
    print(f"{harness.load_average()}; float32, batch {BATCH}, {args.threads} threads; "
          f"{args.rounds} rounds per library of {args.steps} timed calls, one child process "
          "each")
    first = []

    def show(w, runs):
        if not first:
            first.append(runs)
        print(harness.rows(w, runs), flush=True)

    if harness.selected(op_workloads(), args):
        print(harness.header())
        harness.run("bench_ops", args, libs, op_workloads(), show)
        print(harness.describe(first[0]))

    if harness.selected(gemm_workloads(args), args):
        print("\nnumpy's GEMM rate (ours only)")
        print(harness.header())
        rates = {}

        def show_rate(w, runs):
            show(w, runs)
            rates[w.name] = w.flops / harness.summary(runs["ours"])["median"]

        harness.run("bench_ops", args, ("ours",), gemm_workloads(args), show_rate)
        gemm = [rate for name, rate in rates.items() if name.startswith("layer B")]
        square = [rate for name, rate in rates.items() if name.startswith("square")]
        if gemm and square:
            print(f"layer B forward GEMM: {gemm[0] / 1e9:.1f} GFLOP/s = "
                  f"{100 * gemm[0] / max(square):.0f}% of numpy's square float32 matmul "
                  f"({max(square) / 1e9:.1f} GFLOP/s, best of "
                  f"{'/'.join(map(str, SQUARE_SIZES))}; target ≥ 60 %)")
    if args.stages and harness.selected(stage_workloads(), args):
        print("\nlayer B forward+backward by stage (ours)")
        print(harness.header())
        harness.run("bench_ops", args, ("ours",), stage_workloads(), show)
    print(harness.load_average())
    return 0


if __name__ == "__main__":
    sys.exit(main())
