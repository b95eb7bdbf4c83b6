"""Regenerate docs/backward_walk.svg, the README's picture of backward walking a tiny convnet.

    python docs/make_backward_picture.py

The network and image are the lesson's part 5 (``tc.zoo.tiny_convnet()`` after
``tc.manual_seed(0)``, one 6×6 image from ``np.random.default_rng(0)``, label 1). Its loss's
graph is drawn with ``draw_graph(show_backward=True)``: each op with its step number and
rule, each edge with the gradient flowing back along it. Also prints the same walk, as
``tc.explain_backward`` does. Needs Graphviz's ``dot`` program.
"""

from pathlib import Path

import numpy as np

import tinygrad_cnn as tc
from tinygrad_cnn import functional as F

PICTURE = Path(__file__).resolve().parent / "backward_walk.svg"


def main() -> None:
    tc.manual_seed(0)
    model = tc.zoo.tiny_convnet()
    image = np.random.default_rng(0).random((1, 6, 6, 1), dtype=np.float32)
    loss = F.cross_entropy(model(image), np.array([1]))
    tc.explain_backward(loss, max_values=18)
    tc.viz.render(loss, PICTURE, show_backward=True)
    print(f"wrote {PICTURE}")


if __name__ == "__main__":
    main()
