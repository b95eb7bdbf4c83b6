"""Classify one digit with weights saved by train_mnist.py.

    python examples/predict.py runs/mnist-5k-.../weights.npz digit.png
    python examples/predict.py runs/mnist-5k-.../weights.npz --index 7 [--dataset mnist-5k]

An image file is read as grayscale, resized to 28×28 and, if it is dark ink on a light
background (a scan or a drawing), inverted to MNIST's light-on-dark.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from tinygrad_cnn import Tensor, data, no_grad
from tinygrad_cnn.zoo import MODELS


def load_model(weights: Path):
    """The architecture whose weights match the file (simple or seed)."""
    errors = []
    for name, build in MODELS.items():
        model = build()
        try:
            model.load_weights(weights)
        except ValueError as exc:
            errors.append(f"{name}: {exc}")
            continue
        return name, model.eval()
    raise ValueError(f"{weights} matches none of the models {sorted(MODELS)}: "
                     + " | ".join(errors))


def read_image(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as img:
        pixels = np.asarray(img.convert("L").resize((28, 28)), dtype=np.float32) / 255.0
    if pixels.mean() > 0.5:  # light background: invert to white ink on black, like MNIST
        pixels = 1.0 - pixels
    return pixels


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("weights", type=Path)
    p.add_argument("image", type=Path, nargs="?", help="a PNG/JPEG of one digit")
    p.add_argument("--index", type=int, help="use test image N instead of a file")
    p.add_argument("--dataset", choices=["mnist", "mnist-5k", "fashion-mnist"],
                   default="mnist-5k", help="test set for --index")
    args = p.parse_args(argv)
    if (args.image is None) == (args.index is None):
        p.error("give either IMAGE or --index N")
    if not args.weights.is_file():
        p.error(f"weights file not found: {args.weights}")

    truth = None
    if args.image is not None:
        if not args.image.is_file():
            p.error(f"image not found: {args.image}")
        pixels = read_image(args.image)
    else:
        _, (x_test, y_test) = data.load_mnist(args.dataset)
        if not 0 <= args.index < len(x_test):
            p.error(f"--index must be in 0..{len(x_test) - 1}; got {args.index}")
        pixels, truth = x_test[args.index].astype(np.float32) / 255.0, int(y_test[args.index])

    name, model = load_model(args.weights)
    with no_grad():
        probs = model(Tensor(pixels[None, :, :, None])).softmax().data[0]
    best = int(probs.argmax())
    print(f"model '{name}' predicts {best} ({probs[best]:.1%})"
          + ("" if truth is None else f"; true label {truth}"))
    for digit in np.argsort(-probs):
        print(f"  {digit}: {probs[digit]:6.2%} {'█' * int(round(40 * probs[digit]))}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, FileNotFoundError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
