"""The PyTorch side of the accuracy comparison: the simple convnet, same data and recipe.

    python benchmarks/accuracy_torch.py [--dataset fashion-mnist] [--epochs 2]

Compare its per-epoch test accuracy with
``python examples/train_mnist.py --dataset fashion-mnist --epochs 2`` (same model, Adam 1e-3
with eps 1e-7, batch 128, dropout 0.5, Keras/Glorot initialisation is *not* copied: each
library uses its own default init, as a user of each would).

Only PyTorch computes in this process (tinygrad_cnn only loads the data), so its per-epoch
seconds are not distorted by another library's worker threads; they are for orientation.
Speed is compared in ``bench_train.py``, one process per library.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tinygrad_cnn.data import load_mnist


def torch_simple_convnet():
    """Keras' simple MNIST convnet in PyTorch (NCHW), 34,826 parameters."""
    import torch

    return torch.nn.Sequential(
        torch.nn.Conv2d(1, 32, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(32, 64, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Flatten(), torch.nn.Dropout(0.5), torch.nn.Linear(1600, 10))


def torch_batchnorm_convnet():
    """``zoo.batchnorm_mnist_convnet`` in PyTorch (NCHW): BatchNorm2d after each convolution,
    before its ReLU, the convolutions without bias; momentum 0.1 is Keras' 0.9."""
    import torch

    def block(c_in, c_out):
        return [torch.nn.Conv2d(c_in, c_out, 3, bias=False),
                torch.nn.BatchNorm2d(c_out, eps=1e-3, momentum=0.1), torch.nn.ReLU(),
                torch.nn.MaxPool2d(2)]

    return torch.nn.Sequential(*block(1, 32), *block(32, 64), torch.nn.Flatten(),
                               torch.nn.Dropout(0.5), torch.nn.Linear(1600, 10))


def main() -> None:
    import torch

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="fashion-mnist")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    (x_train, y_train), (x_test, y_test) = load_mnist(args.dataset)
    to_tensor = lambda x: torch.from_numpy((x.astype(np.float32) / 255)[:, None])  # NCHW
    x_train, x_test = to_tensor(x_train), to_tensor(x_test)
    y_train, y_test = torch.from_numpy(y_train), torch.from_numpy(y_test)

    model = torch_simple_convnet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = torch.nn.CrossEntropyLoss()
    generator = np.random.default_rng(args.seed)
    for epoch in range(1, args.epochs + 1):
        model.train()
        start = time.perf_counter()
        order = torch.from_numpy(generator.permutation(len(x_train)))
        for i in range(0, len(order), args.batch_size):
            idx = order[i:i + args.batch_size]
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        seconds = time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
        print(f"epoch {epoch}: test accuracy {accuracy:.2%}  ({seconds:.1f}s, "
              f"{len(x_train) / seconds:,.0f} examples/s)")


if __name__ == "__main__":
    main()
