"""Weight files: round trip, atomic writes, and loads that fail without touching the model."""

import numpy as np
import pytest

import tinygrad_cnn as tc
from tinygrad_cnn import Tensor, nn


def small_model(filters=4):
    return nn.Sequential([
        nn.Conv2D(filters, 3, padding="same", activation="relu", input_shape=(8, 8, 1)),
        nn.MaxPooling2D(2),
        nn.Flatten(),
        nn.Dense(3),
    ])


def weights_of(model):
    return [p.data.copy() for p in model.parameters()]


def test_round_trip_gives_identical_outputs(tmp_path):
    tc.manual_seed(1)
    model = small_model()
    x = Tensor(np.random.default_rng(0).random((2, 8, 8, 1)).astype(np.float32))
    path = tmp_path / "m.npz"
    model.save_weights(path)
    tc.manual_seed(2)
    fresh = small_model()
    assert not np.array_equal(fresh(x).data, model(x).data)
    fresh.load_weights(path)
    np.testing.assert_array_equal(fresh(x).data, model(x).data)


def test_file_keys_are_layer_name_dot_weight_name(tmp_path):
    small_model().save_weights(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as f:
        assert sorted(f.files) == ["conv2d.bias", "conv2d.kernel", "dense.bias", "dense.kernel"]
        assert f["conv2d.kernel"].shape == (3, 3, 1, 4)


def test_a_save_that_fails_midway_leaves_the_previous_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    model = small_model()
    model.save_weights(path)
    before = path.read_bytes()

    def broken_savez(file, **arrays):
        file.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        model.save_weights(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temp file left behind


def _assert_load_fails_unchanged(model, path, match):
    before = weights_of(model)
    with pytest.raises(ValueError, match=match):
        model.load_weights(path)
    for a, b in zip(before, weights_of(model)):
        np.testing.assert_array_equal(a, b)


def test_missing_key_names_the_layer_and_changes_nothing(tmp_path):
    model = small_model()
    arrays = model.state_dict()
    del arrays["dense.bias"]
    np.savez(tmp_path / "m.npz", **arrays)
    _assert_load_fails_unchanged(model, tmp_path / "m.npz", "missing dense.bias")


def test_extra_key_is_reported(tmp_path):
    model = small_model()
    np.savez(tmp_path / "m.npz", **model.state_dict(), **{"dense_9.kernel": np.ones(2)})
    _assert_load_fails_unchanged(model, tmp_path / "m.npz", "unexpected dense_9.kernel")


def test_shape_mismatch_names_the_layer_and_both_shapes(tmp_path):
    small_model(filters=5).save_weights(tmp_path / "m.npz")
    _assert_load_fails_unchanged(small_model(filters=4), tmp_path / "m.npz",
                                 r"conv2d.*\(3, 3, 1, 5\).*\(3, 3, 1, 4\)")


@pytest.mark.parametrize("content", [b"", b"not a zip at all", b"PK\x03\x04truncated"])
def test_garbage_files_raise_value_error(tmp_path, content):
    (tmp_path / "m.npz").write_bytes(content)
    _assert_load_fails_unchanged(small_model(), tmp_path / "m.npz", "not a readable weights")


def test_truncated_file_raises_value_error(tmp_path):
    model = small_model()
    model.save_weights(tmp_path / "m.npz")
    data = (tmp_path / "m.npz").read_bytes()
    (tmp_path / "m.npz").write_bytes(data[: len(data) // 2])
    _assert_load_fails_unchanged(model, tmp_path / "m.npz", "not a readable weights")


def test_pickled_object_arrays_are_refused(tmp_path):
    model = small_model()
    arrays = dict(model.state_dict())
    arrays["dense.bias"] = np.array([object()] * 3, dtype=object)
    np.savez(tmp_path / "m.npz", **arrays)
    _assert_load_fails_unchanged(model, tmp_path / "m.npz", "not a readable weights")


def test_missing_file_raises_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        small_model().load_weights(tmp_path / "nope.npz")


def test_unbuilt_model_cannot_save_or_load(tmp_path):
    model = nn.Sequential([nn.Dense(2)])
    with pytest.raises(ValueError, match="not built"):
        model.save_weights(tmp_path / "m.npz")
