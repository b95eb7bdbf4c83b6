"""Training and inference throughput of the Keras "simple MNIST convnet", ours vs PyTorch.

    python benchmarks/bench_train.py [--rounds 5] [--steps 30] [--warmup 3] [--threads 2]
                                     [--batch-size 128] [--predict-batch 500]
                                     [--data synthetic|fashion-mnist] [--no-torch] [--only TEXT]

Both libraries build the same model (Conv32-Pool-Conv64-Pool-Flatten-Dropout-Dense10,
``tinygrad_cnn.zoo.simple_mnist_convnet`` and ``accuracy_torch.torch_simple_convnet``),
each with its own default initialisation. Rows:

- training step: Adam 1e-3 (eps 1e-7), cross-entropy, batch 128, cycling over 10 batches;
  one step is forward, backward and update, ``loss.item()`` included.
- the same training step of the convnet with BatchNormalization after each convolution
  (``zoo.batchnorm_mnist_convnet``, ``accuracy_torch.torch_batchnorm_convnet``); after
  both rows the report gives each library's ratio of the two steps (BatchNormalization's
  cost; the target for ours is at most 1.5×).
- inference: 10,000 28×28×1 images predicted in batches of 500 in eval mode without
  recording a graph: ``model.predict(x, batch_size=500, verbose=0)`` where the model has
  it, else ``model.eval()`` and a loop under ``tc.no_grad()`` (PyTorch: the loop under
  ``torch.no_grad()``); one step is the whole 10,000.

Every row runs each library in its own child process (``harness.py``: alternating rounds,
equal threads, faults/step, peak RSS). Data and weights are made in the child, untimed.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

import harness

PREDICT_IMAGES = 10_000


def images(kind: str, count: int, seed: int = 0):
    """``count`` float32 images (N, 28, 28, 1) in [0, 1] and their int64 labels."""
    if kind == "fashion-mnist":
        from tinygrad_cnn.data import load_mnist

        (x, y), _ = load_mnist("fashion-mnist", download=False)
        x, y = x[:count], y[:count]
    else:
        rng = np.random.default_rng(seed)
        x = rng.integers(0, 256, (count, 28, 28), dtype=np.uint8)
        y = rng.integers(0, 10, count)
    return (x.astype(np.float32) / 255)[..., None], y.astype(np.int64)


def cycle(items):
    """A step function's source of batches: the items, over and over."""
    while True:
        yield from items


# ------------------------------------------------------------------ tinygrad_cnn
def ours_train(options, model_name: str = "simple"):
    import tinygrad_cnn as tc
    from tinygrad_cnn import functional as F
    from tinygrad_cnn import zoo

    tc.manual_seed(0)
    model = zoo.MODELS[model_name]()
    opt = tc.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)  # as torch_train
    x, y = images(options.data, 10 * options.batch_size)
    b = options.batch_size
    data = cycle([(tc.Tensor(x[i:i + b]), y[i:i + b]) for i in range(0, len(x), b)])

    def step():
        xb, yb = next(data)
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def ours_predict(model, x, batch_size: int) -> np.ndarray:
    """Logits for ``x`` in batches: ``model.predict`` (Keras' API) when the model has it."""
    import tinygrad_cnn as tc

    if hasattr(model, "predict"):
        return model.predict(x, batch_size=batch_size, verbose=0)
    model.eval()
    with tc.no_grad():
        return np.concatenate([model(tc.Tensor(x[i:i + batch_size])).data
                               for i in range(0, len(x), batch_size)])


def ours_inference(options):
    import tinygrad_cnn as tc
    from tinygrad_cnn import zoo

    tc.manual_seed(0)
    model = zoo.simple_mnist_convnet()
    x, _ = images(options.data, PREDICT_IMAGES)
    return lambda: ours_predict(model, x, options.predict_batch)


def ours_train_bn(options):
    return ours_train(options, "bn")


# ----------------------------------------------------------------------- PyTorch
def torch_train(options, batchnorm: bool = False):
    import torch

    from accuracy_torch import torch_batchnorm_convnet, torch_simple_convnet

    torch.manual_seed(0)
    model = torch_batchnorm_convnet() if batchnorm else torch_simple_convnet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    x, y = images(options.data, 10 * options.batch_size)
    x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NCHW
    y = torch.from_numpy(y)
    b = options.batch_size
    data = cycle([(x[i:i + b], y[i:i + b]) for i in range(0, len(x), b)])

    def step():
        xb, yb = next(data)
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    return step


def torch_train_bn(options):
    return torch_train(options, batchnorm=True)


def torch_inference(options):
    import torch

    from accuracy_torch import torch_simple_convnet

    torch.manual_seed(0)
    model = torch_simple_convnet()
    x, _ = images(options.data, PREDICT_IMAGES)
    x = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))  # NCHW
    b = options.predict_batch

    def step():
        model.eval()
        with torch.no_grad():
            return torch.cat([model(x[i:i + b]) for i in range(0, len(x), b)])

    return step


# ------------------------------------------------------------------------ report
def predict_passes(options) -> int:
    """Timed inference passes per child: each is 10,000 images, so a tenth of --steps."""
    return max(1, options.steps // 10)


def train_name(options) -> str:
    return f"training step, batch {options.batch_size}"


def train_bn_name(options) -> str:
    return f"training step, batch {options.batch_size}, BatchNormalization"


def workloads(options) -> list[harness.Workload]:
    return [
        harness.Workload(train_name(options), {"ours": ours_train, "torch": torch_train},
                         items=options.batch_size),
        harness.Workload(train_bn_name(options), {"ours": ours_train_bn,
                                                  "torch": torch_train_bn},
                         items=options.batch_size),
        harness.Workload(f"inference, {PREDICT_IMAGES:,} images in batches of "
                         f"{options.predict_batch}",
                         {"ours": ours_inference, "torch": torch_inference},
                         items=PREDICT_IMAGES, unit="img/s", steps=predict_passes(options),
                         warmup=min(1, options.warmup)),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    harness.add_arguments(parser, steps=30, warmup=3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--predict-batch", type=int, default=500)
    parser.add_argument("--data", choices=["synthetic", "fashion-mnist"], default="synthetic")
    args = parser.parse_args(argv)
    libs = harness.libraries(args)
    print(f"{harness.load_average()}; {args.rounds} rounds per library, one child process "
          f"each, {args.threads} threads, {args.data} data; inference: "
          f"{predict_passes(args)} timed passes per round")
    print(harness.header())
    first = []

    def show(w, runs):
        if not first:
            first.append(runs)
        print(harness.rows(w, runs), flush=True)

    results = harness.run("bench_train", args, libs, workloads(args), show)
    plain, bn = results.get(train_name(args)), results.get(train_bn_name(args))
    if plain and bn:
        def median(runs, lib):
            return harness.summary(runs[lib])["median"]

        ratios = ", ".join(f"{lib} {median(bn, lib) / median(plain, lib):.2f}×" for lib in plain)
        print(f"BatchNormalization convnet step / simple convnet step (medians): {ratios}")
    if first:
        print(harness.describe(first[0]))
    print(harness.load_average())
    return 0


if __name__ == "__main__":
    sys.exit(main())
