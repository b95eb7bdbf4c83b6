"""The small examples run and print what they promise."""

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script, *args, cwd=None):
    result = subprocess.run([sys.executable, str(EXAMPLES / script), *map(str, args)],
                            capture_output=True, text=True, timeout=300, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_quickstart_loss_falls_and_gradcheck_passes():
    out = run("quickstart.py")
    losses = [float(line.split()[-1]) for line in out.splitlines() if line.startswith("step")]
    assert len(losses) >= 5 and losses[-1] < losses[0] / 10
    assert "gradcheck of the first layer: True" in out


def test_render_graph_writes_dot_and_names_every_layer(tmp_path):
    out = run("render_graph.py", "--out", tmp_path)
    dot = (tmp_path / "graph.dot").read_text()
    for layer in ("conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "flatten",
                  "dropout", "dense"):
        assert f"cluster_{layer}" in dot
    assert "conv2d 3×3 s1 valid" in dot and "7 layer clusters" in out


def test_render_graph_writes_under_runs_by_default(tmp_path):
    run("render_graph.py", "--no-grads", cwd=tmp_path)
    assert (tmp_path / "runs" / "graph" / "graph.dot").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs"]  # nothing in the cwd itself
