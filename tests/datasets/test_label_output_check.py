"""Labels against the model's output layer, checked before ``fit`` (issue 10, Datasets)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from engine.datasets import load_dataset
from engine.datasets.labels import check_labels_fit_output
from engine.errors import LayerLabError


def _csv(tmp_path, labels, name="eight.csv"):
    path = tmp_path / name
    rows = "".join(f"{i * 0.1:.2f},{(i * 7) % 5},{label}\n" for i, label in enumerate(labels))
    path.write_text("a,b,label\n" + rows)
    return path


def _model(units: int, activation: str) -> keras.Sequential:
    return keras.Sequential([keras.Input((2,)), keras.layers.Dense(units, activation=activation)])


@pytest.fixture
def eight_classes(tmp_path):
    return _csv(tmp_path, [i % 8 for i in range(64)])


def test_sparse_labels_beyond_the_softmax_are_named_before_fit(eight_classes):
    loss = "sparse_categorical_crossentropy"
    dataset = load_dataset(
        {"source": "csv", "path": str(eight_classes), "target": "label", "task": "multiclass"},
        loss=loss,
    )
    model = _model(5, "softmax")
    with pytest.raises(LayerLabError) as caught:
        check_labels_fit_output(dataset, model.output_shape[-1], loss)
    text = str(caught.value)
    assert "The labels go up to 7 (8 classes)" in text
    assert "output layer has 5 units" in text
    assert "Set the last Dense to 8 units" in text and "Suggest" in text
    check_labels_fit_output(dataset, _model(8, "softmax").output_shape[-1], loss)


def test_the_check_catches_what_keras_would_fail_on_mid_epoch(eight_classes):
    loss = "sparse_categorical_crossentropy"
    dataset = load_dataset(
        {"source": "csv", "path": str(eight_classes), "target": "label", "task": "multiclass"},
        loss=loss,
    )
    model = _model(5, "softmax")
    model.compile(optimizer="adam", loss=loss)
    with pytest.raises(Exception, match="7"):  # what the user saw before: a raw TF error
        model.fit(**dataset.fit_arguments(16, False, 0), epochs=1, verbose=0)
    with pytest.raises(LayerLabError):
        check_labels_fit_output(dataset, model.output_shape[-1], loss)


def test_one_hot_width_against_units(eight_classes):
    loss = "categorical_crossentropy"
    dataset = load_dataset(
        {"source": "csv", "path": str(eight_classes), "target": "label", "task": "multiclass"},
        loss=loss,
    )
    with pytest.raises(LayerLabError, match=r"one-hot vectors of width 8 .*5 units"):
        check_labels_fit_output(dataset, _model(5, "softmax").output_shape[-1], loss)
    check_labels_fit_output(dataset, 8, loss)


def test_binary_loss_on_labels_beyond_one(eight_classes):
    dataset = load_dataset(
        {"source": "csv", "path": str(eight_classes), "target": "label", "task": "multiclass"}
    )  # loaded for another loss: integer labels 0 … 7
    with pytest.raises(LayerLabError, match=r"labels go up to 7 .*expects labels 0 and 1"):
        check_labels_fit_output(dataset, 1, "binary_crossentropy")


def test_binary_labels_with_two_sigmoid_units(tmp_path):
    path = _csv(tmp_path, [i % 2 for i in range(40)], "two.csv")
    dataset = load_dataset(
        {"source": "csv", "path": str(path), "target": "label"}, loss="binary_crossentropy"
    )
    check_labels_fit_output(dataset, _model(1, "sigmoid").output_shape[-1], "binary_crossentropy")
    with pytest.raises(LayerLabError, match="Set the last Dense to 1 unit"):
        check_labels_fit_output(dataset, 2, "binary_crossentropy")


def test_regression_target_against_units(tmp_path):
    path = _csv(tmp_path, [i * 0.37 for i in range(40)], "reg.csv")
    dataset = load_dataset({"source": "csv", "path": str(path), "target": "label"}, loss="mse")
    check_labels_fit_output(dataset, 1, "mse")
    with pytest.raises(LayerLabError, match=r"one number per example .*3 units"):
        check_labels_fit_output(dataset, 3, "mse")


def test_unknown_losses_and_missing_units_are_not_checked(eight_classes):
    dataset = load_dataset(
        {"source": "csv", "path": str(eight_classes), "target": "label", "task": "multiclass"}
    )
    check_labels_fit_output(dataset, 5, "my_custom_loss")
    check_labels_fit_output(dataset, None, "sparse_categorical_crossentropy")
    check_labels_fit_output(dataset, 5, None)
    assert np.asarray(dataset.parts["train"].y).max() == 7


def test_a_training_run_fails_before_fit_with_the_plain_message():
    from engine import training
    from tests.training.support import make_dataset, make_project

    project = make_project(classes=5, epochs=1)
    dataset = make_dataset(train=64, validation=0, test=0, classes=8)
    result = training.run(project, dataset=dataset, evaluate_test=False)
    assert result.status == "failed"
    assert result.epochs_completed == 0 and not result.batch_losses
    assert "The labels go up to 7 (8 classes)" in result.message
    assert "InvalidArgumentError" not in result.message
