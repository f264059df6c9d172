"""Labels that follow the loss, the suggested head, and the block's option checking."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from engine.datasets import (
    SOURCES,
    DatasetError,
    OptionInfo,
    dataset_names,
    load_dataset,
    source_options,
    suggest_head,
)
from engine.datasets.labels import adapt_labels, canonical_loss, check_class_labels
from engine.datasets.options import KINDS


@pytest.mark.parametrize(
    ("loss", "name"),
    [
        ("categorical_crossentropy", "categorical_crossentropy"),
        ("CategoricalCrossentropy", "categorical_crossentropy"),
        ("mse", "mean_squared_error"),
        (
            {"class_name": "SparseCategoricalCrossentropy", "config": {}},
            "sparse_categorical_crossentropy",
        ),
        (None, None),
    ],
)
def test_canonical_loss_names(loss, name):
    assert canonical_loss(loss) == name


def test_labels_follow_the_loss():
    labels = np.array([0, 2, 1, 2])
    one_hot, encoding = adapt_labels(labels, "multiclass", 3, "categorical_crossentropy")
    assert encoding == "one_hot" and one_hot.dtype == np.float32
    np.testing.assert_array_equal(one_hot.argmax(axis=1), labels)
    assert one_hot.shape == (4, 3)
    sparse, encoding = adapt_labels(labels, "multiclass", 3, "sparse_categorical_crossentropy")
    assert encoding == "int" and sparse.dtype == np.int32
    binary, encoding = adapt_labels(np.array([0, 1, 1]), "binary", 2, "binary_crossentropy")
    assert encoding == "binary" and binary.dtype == np.float32
    floats, encoding = adapt_labels(np.array([1.5, 2.0]), "regression", None, "mae")
    assert encoding == "float" and floats.dtype == np.float32


def test_binary_loss_with_many_classes_names_the_losses_to_pick():
    with pytest.raises(DatasetError) as caught:
        adapt_labels(np.array([0, 1, 2]), "multiclass", 3, "binary_crossentropy", ["a", "b", "c"])
    message = str(caught.value)
    assert "3 classes" in message
    assert "sparse_categorical_crossentropy" in message and "categorical_crossentropy" in message


@pytest.mark.parametrize(
    ("task", "loss"),
    [
        ("regression", "categorical_crossentropy"),
        ("regression", "sparse_categorical_crossentropy"),
        ("multiclass", "mean_squared_error"),
        ("multilabel", "sparse_categorical_crossentropy"),
    ],
)
def test_loss_that_does_not_fit_the_task(task, loss):
    labels = np.zeros((3, 2)) if task == "multilabel" else np.array([0, 1, 2])
    with pytest.raises(DatasetError, match="Pick"):
        adapt_labels(labels, task, 3, loss)


def test_label_outside_the_class_range_names_the_row():
    with pytest.raises(DatasetError, match=r"row 2 is 7, outside the class range 0 … 2"):
        check_class_labels(np.array([0, 1, 7]), 3, "the test part")
    with pytest.raises(DatasetError, match="not a class number"):
        check_class_labels(np.array([0.0, 1.5]), 3, "the training part")


def test_loaded_labels_follow_the_loss_end_to_end():
    block = {"source": "sample", "name": "iris"}
    one_hot = load_dataset(block, loss="categorical_crossentropy")
    assert one_hot.label_encoding == "one_hot" and one_hot.test_arrays()[1].shape[1] == 3
    assert suggest_head(one_hot).loss == "categorical_crossentropy"
    sparse = load_dataset(block, loss="sparse_categorical_crossentropy")
    assert sparse.label_encoding == "int" and sparse.test_arrays()[1].ndim == 1
    with pytest.raises(DatasetError, match="3 classes"):
        load_dataset(block, loss="binary_crossentropy")


def test_suggested_heads_are_real_keras_layers():
    for name, units, activation, loss in [
        ("breast_cancer", 1, "sigmoid", "binary_crossentropy"),
        ("wine", 3, "softmax", "sparse_categorical_crossentropy"),
        ("diabetes", 1, "linear", "mean_squared_error"),
    ]:
        head = suggest_head(load_dataset({"source": "sample", "name": name}))
        layer = keras.layers.deserialize(head.output_layer)
        assert isinstance(layer, keras.layers.Dense)
        assert layer.units == units and layer.get_config()["activation"] == activation
        assert head.loss == loss
        assert head.output_layer["module"] == "keras.layers"
        assert head.output_layer["registered_name"] is None


def test_source_options_describe_every_source():
    assert SOURCES == ("keras", "sample", "csv", "timeseries", "text_folder", "image_folder", "npz")
    for source in SOURCES:
        options = source_options(source)
        assert options and all(isinstance(o, OptionInfo) and o.kind in KINDS for o in options)
        for option in options:
            assert option.help
            if option.kind == "choice":
                assert option.default in option.choices
    imdb = {o.name: o for o in source_options("keras", "imdb")}
    assert imdb["num_words"].default == 10000 and imdb["encoding"].choices == (
        "multi_hot",
        "sequences",
    )
    assert "sequence_length" in imdb and "test_split" not in imdb
    assert "test_split" in {o.name for o in source_options("keras", "reuters")}
    assert "label_mode" in {o.name for o in source_options("keras", "cifar100")}
    assert dataset_names("keras") == (
        "mnist",
        "fashion_mnist",
        "cifar10",
        "cifar100",
        "imdb",
        "reuters",
        "boston_housing",
    )
    assert dataset_names("sample") == ("digits", "iris", "wine", "breast_cancer", "diabetes")
    assert dataset_names("csv") == ()


@pytest.mark.parametrize(
    ("block", "match"),
    [
        ({"source": "nowhere"}, "Unknown dataset source"),
        ({"name": "mnist"}, "no 'source'"),
        ({"source": "keras", "name": "mnist", "num_word": 3}, "does not take 'num_word'"),
        ({"source": "keras", "name": "svhn"}, "no Keras dataset called 'svhn'"),
        ({"source": "keras", "name": "imdb", "num_words": "many"}, "whole number"),
        ({"source": "keras", "name": "imdb", "encoding": "bag"}, "one of multi_hot, sequences"),
        ({"source": "sample", "name": "iris", "test_split": 1.5}, "at most 0.9"),
        ({"source": "csv"}, "needs 'path'"),
        ({"source": "csv", "path": "x.csv"}, "needs 'target'"),
        ({"source": "timeseries", "path": "a", "target": "t", "split": [0.5, 0.5, 0.5]}, "add up"),
        ({"source": "image_folder", "path": "a", "image_size": [0, 3]}, "two positive"),
    ],
)
def test_bad_blocks_are_refused_by_field(block, match):
    with pytest.raises(DatasetError, match=match):
        load_dataset(block)


def test_bad_validation_split():
    with pytest.raises(DatasetError, match="validation split"):
        load_dataset({"source": "sample", "name": "iris"}, validation_split=1.0)
