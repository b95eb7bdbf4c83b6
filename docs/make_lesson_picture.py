"""Regenerate docs/lesson_cost.png, the README's picture of what parameters and MACs cost.

    python docs/make_lesson_picture.py

Runs examples/cnn_lesson.ipynb headless with its full settings (not the test suite's fast
ones), from the first cell to the one that draws part 3's measurements (tag "cost-plot"),
saves that cell's picture as docs/lesson_cost.png, and prints the table it measured. The
times are this machine's, so they change from run to run; the parameters and MACs do not.
"""

import base64
import sys
import time
from pathlib import Path

import notebook_tools

PICTURE = Path(__file__).resolve().parent / "lesson_cost.png"
TAG = "cost-plot"


def main() -> int:
    nb = notebook_tools.read()
    last = next((i for i, cell in enumerate(nb.cells) if TAG in cell.metadata.get("tags", ())),
                None)
    if last is None:
        sys.exit(f"no cell of {notebook_tools.LESSON} is tagged {TAG!r}")
    nb.cells = nb.cells[:last + 1]
    start = time.perf_counter()
    notebook_tools.execute(nb, fast=False)
    seconds = time.perf_counter() - start
    pictures = [out.data["image/png"] for out in notebook_tools.outputs(nb, TAG)
                if "image/png" in out.get("data", {})]
    if len(pictures) != 1:
        sys.exit(f"the cell tagged {TAG!r} drew {len(pictures)} pictures; expected 1")
    PICTURE.write_bytes(base64.b64decode(pictures[0]))
    print(notebook_tools.text(notebook_tools.outputs(nb, "cost-table")), end="")
    print(f"wrote {PICTURE} ({len(nb.cells)} cells ran in {seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
