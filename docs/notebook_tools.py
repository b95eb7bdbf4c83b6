"""Run the lesson notebook headless, and keep its outputs out of git.

    python docs/notebook_tools.py strip              # clear outputs before committing
    python docs/notebook_tools.py check              # exit 1 if outputs are left in it
    python docs/notebook_tools.py run [--fast] [--save executed.ipynb]

Each command takes the notebook's path as an optional last argument (default
examples/cnn_lesson.ipynb). ``run`` executes every cell with nbclient in a Jupyter kernel
started from *this* Python interpreter (a throwaway kernelspec, so whatever kernels are
installed elsewhere cannot get in the way) with this checkout first on ``PYTHONPATH`` and
a fresh IPython profile (no startup files of yours run).
``--fast`` sets ``TINYGRAD_CNN_LESSON_FAST=1``, which the notebook's first cell reads to
shrink its data and steps. The test suite (``tests/test_lesson_notebook.py``) and
``docs/make_lesson_picture.py`` call ``execute``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LESSON = ROOT / "examples" / "cnn_lesson.ipynb"
FAST_ENV = "TINYGRAD_CNN_LESSON_FAST"
NEEDS = ("nbformat", "nbclient", "ipykernel")  # the `dev` extra installs them

# Cell metadata that Jupyter front ends add while you work; none of it belongs in git.
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled", "jupyter")


def require(names=NEEDS) -> None:
    """Raise RuntimeError naming every missing package (instead of failing deep inside)."""
    missing = [name for name in names if importlib.util.find_spec(name) is None]
    if missing:
        raise RuntimeError(
            f"running the notebook needs {', '.join(missing)} (missing from {sys.executable}); "
            f"install the dev extra: pip install -e \".[dev]\"")


def read(path=LESSON):
    require(["nbformat"])
    import nbformat

    return nbformat.read(str(path), as_version=4)


def leftovers(nb) -> list[str]:
    """What ``strip`` would remove: outputs and execution counts, one line per cell."""
    found = []
    for number, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if cell.get("outputs"):
            found.append(f"cell {number}: {len(cell.outputs)} output(s)")
        if cell.get("execution_count") is not None:
            found.append(f"cell {number}: execution_count {cell.execution_count}")
        for key in VOLATILE_CELL_METADATA:
            if key in cell.metadata:
                found.append(f"cell {number}: metadata {key!r}")
    if "widgets" in nb.metadata:
        found.append("notebook metadata 'widgets'")
    return found


def strip(nb):
    """Remove outputs, execution counts and front-end metadata, in place; returns nb."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
    nb.metadata.pop("widgets", None)
    nb.metadata["language_info"] = {"name": "python"}  # executing fills in versions
    return nb


def write(nb, path=LESSON) -> None:
    import nbformat

    nbformat.validate(nb)
    nbformat.write(nb, str(path))


def execute(nb, cwd=LESSON.parent, fast: bool = True, timeout: int = 300,
            startup_timeout: int = 60):
    """Run every cell of ``nb`` (from ``read``) in a fresh kernel of this interpreter.

    The cells run in folder ``cwd`` and their outputs are stored in ``nb``, which is
    returned. ``timeout`` bounds each cell and ``startup_timeout`` the kernel's start, in
    seconds, so a broken setup fails instead of hanging. A cell that raises stops the run
    with nbclient's ``CellExecutionError``, which quotes the cell and its traceback.
    """
    require()
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    with tempfile.TemporaryDirectory() as tmp:
        # A kernelspec naming sys.executable: the kernel is this interpreter, this venv.
        spec = Path(tmp, "kernels", "python3")
        spec.mkdir(parents=True)
        spec.joinpath("kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (tinygrad_cnn lesson)", "language": "python"}))
        km = AsyncKernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(
            kernel_dirs=[str(spec.parent)]))
        pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, FAST_ENV: "1" if fast else "0", "PYTHONPATH": pythonpath,
               "IPYTHONDIR": str(Path(tmp, "ipython"))}  # no user startup files or history
        client = NotebookClient(nb, km=km, timeout=timeout, startup_timeout=startup_timeout,
                                resources={"metadata": {"path": str(cwd)}})
        client.execute(env=env)
    return nb


# ------------------------------------------------------------- reading executed outputs
def outputs(nb, tag: str | None = None) -> list:
    """Every output of the code cells (only those tagged ``tag``, if given), in order."""
    return [out for cell in nb.cells if cell.cell_type == "code"
            and (tag is None or tag in cell.metadata.get("tags", ()))
            for out in cell.get("outputs", ())]


def text(outs) -> str:
    """Everything printed to stdout, plus plain-text results (``Out[n]``)."""
    parts = []
    for out in outs:
        if out.output_type == "stream" and out.name == "stdout":
            parts.append(out.text)
        elif out.output_type in ("execute_result", "display_data"):
            parts.append(out.data.get("text/plain", "") + "\n")
    return "".join(parts)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("strip", "check", "run"))
    parser.add_argument("notebook", nargs="?", type=Path, default=LESSON)
    parser.add_argument("--fast", action="store_true", help=f"run with {FAST_ENV}=1")
    parser.add_argument("--save", type=Path, help="run: write the executed notebook here")
    args = parser.parse_args(argv)

    if args.command == "run":
        start = time.perf_counter()
        nb = execute(read(args.notebook), args.notebook.parent, fast=args.fast)
        print(text(outputs(nb)), end="")
        print(f"ran {len(nb.cells)} cells in {time.perf_counter() - start:.1f} s "
              f"({'fast' if args.fast else 'full'} run)")
        if args.save:
            write(nb, args.save)
            print(f"wrote {args.save}")
        return 0
    nb = read(args.notebook)
    found = leftovers(nb)
    if args.command == "check":
        for line in found:
            print(f"{args.notebook}: {line}")
        return 1 if found else 0
    write(strip(nb), args.notebook)
    print(f"stripped {args.notebook}" + (f": {len(found)} thing(s) removed" if found else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
