"""The output layer, loss and metrics that fit a dataset's task (what the tutorials use)."""

from __future__ import annotations

from dataclasses import dataclass

import keras

from engine.datasets.base import Dataset


@dataclass(frozen=True)
class HeadSuggestion:
    """A Keras layer dict (as in ``Sequential.get_config()["layers"]``), loss, metrics, shape."""

    output_layer: dict
    loss: str
    metrics: list[str]
    input_shape: tuple


def _layer_dict(layer) -> dict:
    return {
        "module": "keras.layers",
        "class_name": type(layer).__name__,
        "config": layer.get_config(),
        "registered_name": None,
    }


def suggest_head(dataset: Dataset) -> HeadSuggestion:
    """binary → Dense(1, sigmoid) + binary_crossentropy; multiclass → Dense(k, softmax) +
    sparse_categorical_crossentropy (categorical_crossentropy when the labels are one-hot);
    multilabel → Dense(k, sigmoid) + binary_crossentropy; regression → Dense(n) +
    mean_squared_error with mean_absolute_error."""
    task = dataset.task
    if task == "binary":
        layer = keras.layers.Dense(1, activation="sigmoid")
        loss, metrics = "binary_crossentropy", ["accuracy"]
    elif task == "multiclass":
        layer = keras.layers.Dense(int(dataset.num_classes), activation="softmax")
        one_hot = dataset.label_encoding == "one_hot"
        loss = "categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"
        metrics = ["accuracy"]
    elif task == "multilabel":
        layer = keras.layers.Dense(int(dataset.num_classes), activation="sigmoid")
        loss, metrics = "binary_crossentropy", ["binary_accuracy"]
    else:
        train = dataset.parts.get("train")
        outputs = 1
        if train is not None and train.y.ndim == 2:
            outputs = int(train.y.shape[1])
        layer = keras.layers.Dense(outputs)
        loss, metrics = "mean_squared_error", ["mean_absolute_error"]
    return HeadSuggestion(_layer_dict(layer), loss, metrics, tuple(dataset.input_shape))
