"""One's own arrays in an .npz file."""

from __future__ import annotations

import numpy as np
import pytest

from engine.datasets import DatasetError, load_dataset


def _save(tmp_path, **arrays):
    path = tmp_path / "data.npz"
    np.savez(path, **arrays)
    return {"source": "npz", "path": str(path)}


def test_integer_labels_are_classes(tmp_path):
    rng = np.random.default_rng(0)
    block = _save(
        tmp_path,
        x_train=rng.normal(size=(20, 4)),
        y_train=np.arange(20) % 3,
        x_test=rng.normal(size=(5, 4)),
        y_test=np.arange(5) % 3,
    )
    dataset = load_dataset(block, loss="categorical_crossentropy", validation_split=0.25)
    assert dataset.task == "multiclass" and dataset.num_classes == 3
    assert (dataset.train_size, dataset.val_size, dataset.test_size) == (15, 5, 5)
    assert dataset.dtype == "float32" and dataset.input_shape == (4,)
    assert dataset.test_arrays()[1].shape == (5, 3)
    assert dataset.samples[0].kind == "vector"


def test_own_validation_arrays_and_float_regression(tmp_path):
    block = _save(
        tmp_path,
        x_train=np.ones((10, 2)),
        y_train=np.linspace(0, 1, 10),
        x_val=np.ones((4, 2)),
        y_val=np.linspace(0, 1, 4),
    )
    dataset = load_dataset(block, validation_split=0.5)
    assert dataset.task == "regression"
    assert (dataset.train_size, dataset.val_size, dataset.test_size) == (10, 4, 0)
    assert dataset.evaluate_arguments(8) is None and dataset.test_arrays() is None


def test_one_hot_labels_and_image_samples(tmp_path):
    y = np.eye(2)[np.arange(8) % 2]
    block = _save(tmp_path, x_train=np.zeros((8, 5, 5, 1), dtype=np.uint8), y_train=y)
    dataset = load_dataset(block, loss="sparse_categorical_crossentropy")
    assert dataset.task == "binary" and dataset.label_encoding == "int"
    assert dataset.samples[0].kind == "image"


@pytest.mark.parametrize(
    ("arrays", "match"),
    [
        ({"x": np.zeros(3), "y": np.zeros(3)}, "no x_train/y_train arrays"),
        ({"x_train": np.zeros((3, 2))}, "has x_train but no y_train"),
        ({"x_train": np.zeros((3, 2)), "y_train": np.zeros(4)}, "x_train has 3 rows but y_train"),
        ({"x_train": np.array([[np.nan, 1.0]]), "y_train": np.zeros(1)}, "NaN or infinity"),
        (
            {"x_train": np.zeros((4, 2)), "y_train": np.array([0, 1, -1, 1])},
            r"row 2 is -1, outside the class range",
        ),
        ({"x_train": np.zeros((3, 2)), "y_train": np.zeros(3, dtype=int)}, "single class"),
    ],
)
def test_bad_arrays(tmp_path, arrays, match):
    with pytest.raises(DatasetError, match=match):
        load_dataset(_save(tmp_path, **arrays))


def test_missing_empty_and_object_files(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_dataset({"source": "npz", "path": str(tmp_path / "none.npz")})
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    with pytest.raises(DatasetError, match="is empty"):
        load_dataset({"source": "npz", "path": str(empty)})
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"this is not a zip archive")
    with pytest.raises(DatasetError, match=r"not a readable \.npz"):
        load_dataset({"source": "npz", "path": str(garbage)})
    ragged = np.empty(2, dtype=object)
    ragged[0], ragged[1] = [1, 2], [3]
    with pytest.raises(DatasetError, match="object array"):
        load_dataset(_save(tmp_path, x_train=ragged, y_train=np.array([0, 1])))
