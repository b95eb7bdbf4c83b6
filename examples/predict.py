"""Classify one digit with a model saved by train_mnist.py (model.npz: architecture + weights).

    python examples/predict.py runs/mnist-5k-.../model.npz digit.png
    python examples/predict.py runs/mnist-5k-.../model.npz --index 7 [--dataset mnist-5k]

An image file is read as grayscale (a transparent background counts as white), resized to
28×28 and, if it is dark ink on a light background (a scan or a drawing), inverted to
MNIST's light-on-dark.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from tinygrad_cnn import data, nn


def read_image(path: Path) -> np.ndarray:
    """(28, 28) float32 in [0, 1], white ink on black like MNIST."""
    from PIL import Image

    with Image.open(path) as img:
        if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
            rgba = img.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            img = Image.alpha_composite(white, rgba)  # see-through pixels become paper
        pixels = np.asarray(img.convert("L").resize((28, 28)), dtype=np.float32) / 255.0
    if pixels.mean() > 0.5:  # light background: invert to white ink on black, like MNIST
        pixels = 1.0 - pixels
    return pixels


def class_probabilities(model, pixels: np.ndarray) -> np.ndarray:
    """The model's output for one image; logits (a model without a softmax) are softmaxed."""
    out = model.predict(pixels[None, :, :, None], verbose=0)[0].astype(np.float64)
    if (out < 0).any() or abs(out.sum() - 1) > 1e-3:
        out = np.exp(out - out.max())
        out /= out.sum()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("model", type=Path, help="a model.npz written by train_mnist.py")
    p.add_argument("image", type=Path, nargs="?", help="a PNG/JPEG of one digit")
    p.add_argument("--index", type=int, help="use test image N instead of a file")
    p.add_argument("--dataset", choices=data.DATASET_NAMES, default="mnist-5k",
                   help="test set for --index")
    args = p.parse_args(argv)
    if (args.image is None) == (args.index is None):
        p.error("give either IMAGE or --index N")
    if not args.model.is_file():
        p.error(f"model file not found: {args.model}")

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

    model = nn.load_model(args.model)
    probs = class_probabilities(model, pixels)
    best = int(probs.argmax())
    print(f"model '{model.name}' predicts {best} ({probs[best]:.2%})"
          + ("" if truth is None else f"; true label {truth}"))
    for digit in np.argsort(-probs):
        print(f"  {digit}: {probs[digit]:7.2%} {'█' * int(round(40 * probs[digit]))}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (ValueError, FileNotFoundError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(1)
