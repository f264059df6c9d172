"""Tiny projects on an .npz dataset, and a recorder of what the controller delivers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, QThread, Slot


def write_npz(folder: Path, *, train: int = 200, features: int = 8, classes: int = 3) -> Path:
    """Separable random classes (argmax of a fixed projection) in ``folder/data.npz``."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(train + 40, features)).astype("float32")
    y = np.argmax(x @ rng.normal(size=(features, classes)), axis=1).astype("int64")
    path = folder / "data.npz"
    np.savez(path, x_train=x[:train], y_train=y[:train], x_test=x[train:], y_test=y[train:])
    return path


def make_project(
    npz: Path,
    *,
    epochs: int = 2,
    batch_size: int = 20,
    features: int = 8,
    classes: int = 3,
    optimizer: dict | None = None,
    **fit,
) -> dict:
    """A LayerLab project: Keras's own Sequential config + dataset, compile and fit blocks."""
    import keras

    model = keras.Sequential(
        [
            keras.Input((features,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(classes, activation="softmax"),
        ]
    )
    return {
        "format": "layerlab-project",
        "version": 1,
        "model": json.loads(json.dumps(model.get_config())),
        "dataset": {"source": "npz", "path": str(npz)},
        "compile": {
            "optimizer": optimizer or {"class_name": "Adam", "config": {"learning_rate": 0.01}},
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy"],
        },
        "fit": {
            "epochs": epochs,
            "batch_size": batch_size,
            "validation_split": 0.2,
            "shuffle": True,
            "seed": None,
            "class_weight": None,
            "callbacks": [],
            **fit,
        },
        "runs": [],
    }


class Recorder(QObject):
    """Lives in the GUI thread; records each delivered event and the thread it arrived in."""

    def __init__(self, controller):
        super().__init__()
        self.events: list = []
        self.threads: list = []
        self.results: list = []
        self.errors: list[str] = []
        self.order: list[str] = []
        controller.event.connect(self.on_event)
        controller.finished.connect(self.on_finished)
        controller.errored.connect(self.on_errored)

    @Slot(object)
    def on_event(self, event) -> None:
        self.events.append(event)
        self.threads.append(QThread.currentThread())
        self.order.append(type(event).__name__)

    @Slot(object)
    def on_finished(self, result) -> None:
        self.results.append(result)
        self.threads.append(QThread.currentThread())
        self.order.append("finished")

    @Slot(str)
    def on_errored(self, message: str) -> None:
        self.errors.append(message)
        self.order.append("errored")

    def of(self, kind) -> list:
        return [event for event in self.events if isinstance(event, kind)]
