"""Open a model trained in Keras 3 and look inside it with tinygrad_cnn.

Loads a ``.keras`` file (by default the small lesson network Keras wrote for the tests),
then:

1. prints ``summary(explain=True)``: every layer's output shape, parameters and
   multiply-accumulates, with the arithmetic behind each number;
2. runs a batch forward, takes the loss (the compiled one Keras saved, if any) and
   backpropagates, and draws the graph with each tensor's gradient norm into
   OUT/graph.dot and OUT/graph.svg (the SVG needs Graphviz' ``dot``; without it the DOT
   file stays, which any Graphviz viewer opens);
3. checks the first layer with weights numerically: ``tc.gradcheck`` on a float64 copy of
   it, for its input and every trainable weight;
4. when Keras is installed, opens the same file with Keras and prints the largest
   difference between the two libraries' predictions.

Usage: python examples/from_keras.py [MODEL.keras] [--out DIR] [--seed N] [--no-keras]
(DIR defaults to runs/from_keras/, which git ignores)
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn

LESSON = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "lesson.keras"


def first_layer_with_weights(model):
    """(layer, its input shape) of the first layer that holds its own weights."""
    for layer, input_shape, _ in model.layer_shapes():
        if layer.layers:  # a nested model: look inside it
            for inner, inner_shape, _ in layer.layer_shapes(input_shape):
                if inner.weights and not inner.layers:
                    return inner, inner_shape
        elif layer.weights:
            return layer, input_shape
    return None, None


def gradcheck_float64_copy(layer, input_shape, rng) -> bool:
    """tc.gradcheck of ``layer`` rebuilt in float64 (float32 differences are too coarse)."""
    twin = type(layer).from_config({**layer.get_config(), "dtype": "float64"})
    twin.build(input_shape)
    twin.set_weights(layer.get_weights())
    x = Tensor(rng.standard_normal((2, *input_shape)), requires_grad=True)
    return tc.gradcheck(lambda x, *weights: twin(x, training=False),
                        [x, *twin.trainable_weights])


def keras_predictions(path: Path, x: np.ndarray):
    """Keras' predictions for ``x`` from the same file, or None without Keras."""
    if importlib.util.find_spec("keras") is None:
        return None
    if "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("jax") is not None:
        os.environ["KERAS_BACKEND"] = "jax"
    import keras

    return np.asarray(keras.saving.load_model(path)(x, training=False))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("model", nargs="?", default=str(LESSON),
                        help="a .keras file written by Keras 3")
    parser.add_argument("--out", default=os.path.join("runs", "from_keras"),
                        help="folder for graph.dot and graph.svg (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random batch")
    parser.add_argument("--no-keras", action="store_true",
                        help="skip the comparison with Keras even if it is installed")
    args = parser.parse_args(argv)
    path = Path(args.model)
    if path.suffix != ".keras":
        parser.error(f"MODEL must be a .keras file; got {str(path)!r}")
    try:
        model = nn.load_model(path)
    except (OSError, ValueError, ImportError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    print(f"opened {path} ({len(model.layers)} layers)\n")
    model.summary(explain=True)

    rng = np.random.default_rng(args.seed)
    tc.manual_seed(args.seed)
    x = rng.random((4, *model.input_shape)).astype(np.float32)  # (N, H, W, C)
    classes = model.compute_output_shape(model.input_shape)[-1]
    labels = rng.integers(0, classes, len(x))
    loss_fn = model.loss or tc.losses.SparseCategoricalCrossentropy(from_logits=True)
    loss = loss_fn(labels, model(x, training=False))
    loss.backward(retain_graph=True)  # keep the graph and every .grad for the drawing
    print(f"\nloss ({type(loss_fn).__name__}) of a random batch: {loss.item():.4f}")
    os.makedirs(args.out, exist_ok=True)
    for name in ("graph.dot", "graph.svg"):
        try:
            print(f"wrote {tc.viz.render(loss, os.path.join(args.out, name), show_grads=True)}")
        except tc.viz.GraphvizNotFoundError as exc:  # only the SVG needs Graphviz' dot
            print(f"skipped {name}: {exc}", file=sys.stderr)

    layer, input_shape = first_layer_with_weights(model)
    if layer is not None:
        ok = gradcheck_float64_copy(layer, input_shape, rng)
        n = len(layer.trainable_weights)
        print(f"gradcheck of layer '{layer.name}' ({type(layer).__name__}, float64 copy; its "
              f"input and {n} trainable weight{'' if n == 1 else 's'}): {ok}")

    theirs = None if args.no_keras else keras_predictions(path, x)
    if theirs is None:
        print("Keras comparison skipped" + ("" if args.no_keras else
                                            ": Keras is not installed"))
    else:
        ours = model.predict(x, verbose=0)
        print(f"largest difference from Keras' predictions: {np.abs(ours - theirs).max():.3g} "
              f"(predictions up to {np.abs(theirs).max():.3g})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
