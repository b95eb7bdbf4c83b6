"""Regenerate the README pictures in docs/ (run from the repository root).

    python docs/make_pictures.py

Trains the seed model (28×28×1 → conv 28×28×10 → pool 14×14×10 → 10) on the offline
mnist-5k digits for a few epochs with examples/train_mnist.py, then keeps its curves,
feature maps, filters and rendered loss graph.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, str(ROOT / "examples" / "train_mnist.py"),
                        "--dataset", "mnist-5k", "--model", "seed", "--epochs", "8",
                        "--out", tmp], check=True)
        for name in ("curves.png", "feature_maps.png", "filters.png", "graph.svg"):
            source = Path(tmp) / name
            if source.exists():
                shutil.copy(source, DOCS / name)
                print(f"wrote {DOCS / name}")


if __name__ == "__main__":
    main()
