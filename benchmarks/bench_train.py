"""Training throughput of the Keras "simple MNIST convnet", ours vs PyTorch, in one run.

    python benchmarks/bench_train.py [--steps 40] [--batch-size 128] [--threads 2]
                                     [--data fashion-mnist|synthetic] [--no-torch]

Both libraries train the same model (Conv32-Pool-Conv64-Pool-Flatten-Dropout-Dense10) with
Adam 1e-3 on the same batches; after a warm-up, the timed steps give examples/s
(steady state, median step time). Ours and PyTorch alternate in blocks so a noisy machine
slows both alike. Peak RSS is reported for the whole process (it includes PyTorch when it
runs, so ours alone is printed first, before PyTorch is imported).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time

if __name__ == "__main__":
    threads = sys.argv[sys.argv.index("--threads") + 1] if "--threads" in sys.argv[:-1] else "2"
    os.environ.setdefault("OPENBLAS_NUM_THREADS", threads)

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))

import tinygrad_cnn as tc  # noqa: E402
from tinygrad_cnn import Tensor  # noqa: E402
from tinygrad_cnn import functional as F  # noqa: E402
from tinygrad_cnn.data import load_mnist  # noqa: E402

from accuracy_torch import torch_simple_convnet  # noqa: E402
from train_mnist import MODELS  # noqa: E402


def batches(kind: str, batch_size: int, count: int):
    if kind == "fashion-mnist":
        (x, y), _ = load_mnist("fashion-mnist", download=False)
    else:
        rng = np.random.default_rng(0)
        x = rng.integers(0, 256, (batch_size * count, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, batch_size * count)
    x = (x[: batch_size * count].astype(np.float32) / 255)[..., None]
    y = y[: batch_size * count]
    return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(x), batch_size)]


def ours():
    tc.manual_seed(0)
    model = MODELS["simple"]()
    opt = tc.optim.Adam(model.parameters(), lr=1e-3)

    def step(xb, yb):
        loss = F.cross_entropy(model(Tensor(xb)), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def theirs(data, threads: int):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torch_simple_convnet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    tensors = {id(xb): (torch.from_numpy(xb.transpose(0, 3, 1, 2).copy()), torch.from_numpy(yb))
               for xb, yb in data}

    def step(xb, yb):
        tx, ty = tensors[id(xb)]
        loss = loss_fn(model(tx), ty)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def time_steps(step, data, times: list):
    for xb, yb in data:
        start = time.perf_counter()
        step(xb, yb)
        times.append(time.perf_counter() - start)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=40, help="timed steps per library")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", choices=["synthetic", "fashion-mnist"], default="synthetic")
    p.add_argument("--no-torch", action="store_true")
    args = p.parse_args()

    data = batches(args.data, args.batch_size, 10)
    ours_step = ours()
    time_steps(ours_step, data[:3], [])  # warm-up
    ours_times: list = []
    time_steps(ours_step, data, ours_times)
    print(f"numpy {np.__version__}, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}"
          f", batch {args.batch_size}, {args.data} data")
    print(f"peak RSS, tinygrad_cnn alone: {rss_mb():.0f} MB")

    torch_step = None
    if not args.no_torch:
        try:
            torch_step = theirs(data, args.threads)
            time_steps(torch_step, data[:3], [])
        except ImportError:
            print("torch not installed: no side-by-side")
    torch_times: list = []
    blocks = max(1, args.steps // len(data))
    for _ in range(blocks):  # alternate in blocks of one pass over the batches
        time_steps(ours_step, data, ours_times)
        if torch_step is not None:
            time_steps(torch_step, data, torch_times)

    ours_rate = args.batch_size / statistics.median(ours_times)
    print(f"tinygrad_cnn : {statistics.median(ours_times) * 1e3:7.1f} ms/step  "
          f"{ours_rate:7.0f} examples/s")
    if torch_times:
        torch_rate = args.batch_size / statistics.median(torch_times)
        print(f"torch        : {statistics.median(torch_times) * 1e3:7.1f} ms/step  "
              f"{torch_rate:7.0f} examples/s")
        print(f"ratio ours/torch examples/s: {ours_rate / torch_rate:.2f}× (target ≥ 0.8×)")
        print(f"peak RSS, both libraries loaded: {rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
