"""Small projects, in-memory datasets and an event recorder for the training tests."""

from __future__ import annotations

import json

import keras
import numpy as np

from engine.datasets.base import ArrayStore, Dataset, Part


def make_dataset(
    train: int = 256,
    validation: int = 64,
    test: int = 64,
    features: int = 8,
    classes: int = 3,
    seed: int = 0,
    task: str = "multiclass",
) -> Dataset:
    """Separable random data: class = argmax of a fixed projection of the features."""
    rng = np.random.default_rng(seed)
    total = train + validation + test
    x = rng.normal(size=(total, features)).astype("float32")
    projection = rng.normal(size=(features, classes))
    if task == "regression":
        y = (x @ projection[:, :1]).astype("float32")
    else:
        y = np.argmax(x @ projection, axis=1).astype("int64")
    cuts = np.cumsum([train, validation])
    parts = {
        "train": Part(ArrayStore(x[: cuts[0]]), y[: cuts[0]]),
        "validation": Part(ArrayStore(x[cuts[0] : cuts[1]]), y[cuts[0] : cuts[1]]),
        "test": Part(ArrayStore(x[cuts[1] :]), y[cuts[1] :]),
    }
    return Dataset(
        block={"source": "npz", "path": "memory"},
        input_shape=(features,),
        dtype="float32",
        task=task,
        num_classes=None if task == "regression" else classes,
        class_names=None if task == "regression" else [str(c) for c in range(classes)],
        label_encoding="sparse" if task != "regression" else "none",
        train_size=train,
        val_size=validation,
        test_size=test,
        description="random test data",
        samples=[],
        parts=parts,
    )


def make_project(
    *,
    features: int = 8,
    classes: int = 3,
    hidden: int = 16,
    epochs: int = 2,
    batch_size: int = 32,
    learning_rate: float = 0.01,
    loss: str = "sparse_categorical_crossentropy",
    **fit,
) -> dict:
    """A project whose model is a small MLP, written as Keras's own config."""
    layers = [keras.Input((features,)), keras.layers.Dense(hidden, activation="relu")]
    if loss == "mean_squared_error":
        layers.append(keras.layers.Dense(1))
        metrics = ["mean_absolute_error"]
    else:
        layers.append(keras.layers.Dense(classes, activation="softmax"))
        metrics = ["accuracy"]
    model = keras.Sequential(layers)
    return {
        "format": "layerlab-project",
        "version": 1,
        "model": json.loads(json.dumps(model.get_config())),
        "dataset": {"source": "npz", "path": "memory"},
        "compile": {
            "optimizer": {"class_name": "Adam", "config": {"learning_rate": learning_rate}},
            "loss": loss,
            "metrics": metrics,
        },
        "fit": {
            "epochs": epochs,
            "batch_size": batch_size,
            "validation_split": 0.0,
            "shuffle": True,
            "seed": None,
            "class_weight": None,
            "callbacks": [],
            **fit,
        },
        "runs": [],
    }


class Recorder:
    """A sink that keeps every event."""

    def __init__(self):
        self.events = []

    def __call__(self, event):
        self.events.append(event)

    def of(self, kind):
        return [e for e in self.events if isinstance(e, kind)]
