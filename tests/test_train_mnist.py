"""The training script end to end on a tiny IDX dataset written here (no network)."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_cnn import data, nn

import train_mnist  # examples/ is on pytest's pythonpath (pyproject.toml)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def tiny_mnist(tmp_path):
    """120 train / 40 test digits: each class a bright bar in its own rows, plus noise."""
    rng = np.random.default_rng(0)

    def make(n):
        labels = np.arange(n) % 10
        images = rng.integers(0, 40, (n, 28, 28)).astype(np.uint8)
        for i, label in enumerate(labels):
            images[i, 2 + 2 * label: 4 + 2 * label, 4:24] = 255
        return images, labels

    folder = tmp_path / "tiny"
    data.save_mnist(folder, make(120), make(40))
    return folder


def run_script(*args, env=None):
    return subprocess.run([sys.executable, str(EXAMPLES / "train_mnist.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def test_script_writes_every_output_and_they_load(tiny_mnist, tmp_path):
    out = tmp_path / "run"
    result = run_script("--data-dir", tiny_mnist, "--epochs", 1, "--limit", 100,
                        "--batch-size", 32, "--model", "seed", "--out", out)
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout and str(out / "weights.npz") in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics) == 1
    record = metrics[0]
    for key in ("epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy",
                "seconds"):
        assert key in record
    assert 0 <= record["train_accuracy"] <= 1 and 0 <= record["test_accuracy"] <= 1
    from PIL import Image

    for picture in ("curves.png", "feature_maps.png", "filters.png"):
        with Image.open(out / picture) as img:
            assert img.format == "PNG" and img.size[0] > 100
    graph = out / "graph.svg" if (out / "graph.svg").exists() else out / "graph.dot"
    assert "conv2d" in graph.read_text()
    model = train_mnist.MODELS["seed"]()
    model.load_weights(out / "weights.npz")


def test_same_seed_same_data_gives_identical_metrics(tiny_mnist, tmp_path):
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        result = run_script("--data-dir", tiny_mnist, "--epochs", 2, "--limit", 64,
                            "--batch-size", 16, "--out", out, "--no-plots", "--seed", 3)
        assert result.returncode == 0, result.stderr
        runs.append(json.loads((out / "metrics.json").read_text()))
    drop_timing = [[{k: v for k, v in r.items() if k not in ("seconds", "examples_per_second")}
                    for r in run] for run in runs]
    assert drop_timing[0] == drop_timing[1]
    with np.load(tmp_path / "a" / "weights.npz") as a, np.load(tmp_path / "b" / "weights.npz") as b:
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize("flags, message", [
    (["--epochs", "0"], "--epochs"),
    (["--epochs", "two"], "--epochs"),
    (["--batch-size", "-5"], "--batch-size"),
    (["--lr", "nan"], "--lr"),
    (["--dataset", "cifar10"], "--dataset"),
    (["--model", "resnet"], "--model"),
    (["--data-dir", "/no/such/folder"], "--data-dir"),
])
def test_bad_flags_exit_nonzero_with_a_message(flags, message, tmp_path):
    result = run_script(*flags, "--out", tmp_path / "x")
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1  # one line, not the usage text
    assert message in result.stderr


def test_missing_dataset_exits_with_one_line_listing_where_it_looked(tmp_path, monkeypatch,
                                                                     capsys):
    from tinygrad_cnn.data import download, registry

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("TINYGRAD_CNN_DATA", str(tmp_path / "nothing"))
    fashion = registry.DATASETS["fashion-mnist"]
    (debian,) = fashion.local_folders
    monkeypatch.setitem(registry.DATASETS, "fashion-mnist", dataclasses.replace(
        fashion, local_folders=(dataclasses.replace(debian, path=tmp_path / "no-debian-here"),)))

    def no_network(url, timeout):
        raise OSError("network is unreachable")

    monkeypatch.setattr(download, "urlopen", no_network)
    empty = tmp_path / "empty"
    empty.mkdir()
    code = train_mnist.run(["--dataset", "fashion-mnist", "--data-dir", str(empty),
                            "--out", str(tmp_path / "x")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(lines) == 1 and lines[0].startswith("error:")
    assert str(empty) in lines[0] and "no-debian-here" in lines[0]


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning",
                            "ignore:invalid value:RuntimeWarning")
def test_a_non_finite_loss_stops_with_the_step_and_keeps_last_good_weights(tiny_mnist, tmp_path,
                                                                            capsys):
    out = tmp_path / "run"
    code = train_mnist.main(["--data-dir", str(tiny_mnist), "--epochs", "1", "--lr", "1e30",
                             "--limit", "64", "--batch-size", "8", "--model", "seed",
                             "--out", str(out), "--no-plots"])
    err = capsys.readouterr().err
    assert code == 1
    assert "at step" in err and "--lr" in err
    model = train_mnist.MODELS["seed"]()
    model.load_weights(out / "weights.npz")
    assert all(np.isfinite(p.data).all() for p in model.parameters())


def test_ctrl_c_keeps_the_last_completed_epoch(tiny_mnist, tmp_path, monkeypatch, capsys):
    real_epoch = train_mnist.train_epoch
    calls = []

    def interrupted_on_second_epoch(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_epoch(*args, **kwargs)

    monkeypatch.setattr(train_mnist, "train_epoch", interrupted_on_second_epoch)
    out = tmp_path / "run"
    code = train_mnist.main(["--data-dir", str(tiny_mnist), "--epochs", "3", "--limit", "32",
                             "--model", "seed", "--out", str(out), "--no-plots"])
    assert code == 130
    assert "interrupted" in capsys.readouterr().err
    assert [r["epoch"] for r in json.loads((out / "metrics.json").read_text())] == [1]
    nn_model = train_mnist.MODELS["seed"]()
    nn_model.load_weights(out / "weights.npz")
    assert isinstance(nn_model, nn.Sequential)


def test_predict_reads_an_image_file_and_prints_probabilities(tiny_mnist, tmp_path):
    from PIL import Image

    out = tmp_path / "run"
    assert train_mnist.main(["--data-dir", str(tiny_mnist), "--epochs", "1", "--limit", "40",
                             "--model", "seed", "--out", str(out), "--no-plots"]) == 0
    _, (x_test, y_test) = data.load_mnist(data_dir=tiny_mnist)
    picture = tmp_path / "digit.png"
    Image.fromarray(255 - x_test[3]).save(picture)  # dark ink on white, like a scan
    result = subprocess.run([sys.executable, str(EXAMPLES / "predict.py"),
                             str(out / "weights.npz"), str(picture)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("model 'seed' predicts ")
    percentages = [float(line.split()[1].rstrip("%")) for line in result.stdout.splitlines()[1:]]
    assert len(percentages) == 10 and abs(sum(percentages) - 100) < 0.1


def test_predict_refuses_weights_of_another_model(tmp_path):
    np.savez(tmp_path / "w.npz", **{"other.kernel": np.ones(3)})
    result = subprocess.run([sys.executable, str(EXAMPLES / "predict.py"),
                             str(tmp_path / "w.npz"), "--index", "0"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "matches none of the models" in result.stderr
