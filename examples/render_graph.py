"""Draw the computation graph of the Keras "simple MNIST convnet" with tinygrad_cnn.viz.

Builds the model, runs one small random batch forward, takes the cross-entropy loss,
backpropagates with ``retain_graph=True`` (so the graph survives and every tensor keeps its
``.grad``), and writes

    OUT/graph.dot   the DOT source (needs no Graphviz program)
    OUT/graph.svg   the picture, rendered by Graphviz `dot` (skipped with a note if missing)

Usage: python examples/render_graph.py [--out DIR] [--batch-size N] [--seed N] [--no-grads]
(DIR defaults to runs/graph/, which git ignores)
"""

from __future__ import annotations

import argparse
import os
import re
import sys

import numpy as np

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, zoo
from tinygrad_cnn import functional as F


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--out", default=os.path.join("runs", "graph"),
                        help="folder to write graph.svg/graph.dot into (created if missing)")
    parser.add_argument("--batch-size", type=positive_int, default=4,
                        help="random images in the batch")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--no-grads", action="store_true",
                        help="leave out gradient norms and shading")
    args = parser.parse_args(argv)

    tc.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    model = zoo.simple_mnist_convnet()
    images = rng.random((args.batch_size, 28, 28, 1), dtype=np.float32)  # (N, 28, 28, 1)
    labels = rng.integers(0, 10, size=args.batch_size)  # (N,)

    loss = F.cross_entropy(model(Tensor(images)), labels)
    loss.backward(retain_graph=True)  # keep the graph and every tensor's .grad for drawing

    show_grads = not args.no_grads
    os.makedirs(args.out, exist_ok=True)
    source = tc.viz.draw_graph(loss, show_grads=show_grads).source
    nodes = len(re.findall(r"^\t+(?:t|op)\d+ \[", source, flags=re.M))
    clusters = re.findall(r"^\t+subgraph (cluster_\w+) \{", source, flags=re.M)

    dot_path = tc.viz.render(loss, os.path.join(args.out, "graph.dot"), show_grads=show_grads)
    print(f"wrote {dot_path}")
    try:
        svg_path = tc.viz.render(loss, os.path.join(args.out, "graph.svg"),
                                 show_grads=show_grads)
        print(f"wrote {svg_path}")
    except tc.viz.GraphvizNotFoundError as exc:
        print(f"skipped graph.svg: {exc}", file=sys.stderr)
    print(f"loss {loss.item():.4f}; graph: {nodes} nodes (tensors and ops), "
          f"{len(clusters)} layer clusters: {', '.join(c[len('cluster_'):] for c in clusters)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
