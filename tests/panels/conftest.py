"""Fixtures for the panel tests: what the window passes the panels, read from Keras."""

from __future__ import annotations

import inspect

import pytest

OPTIMIZERS = ("SGD", "RMSprop", "Adam", "AdamW", "Adagrad", "Adadelta", "Nadam")
CALLBACKS = ("EarlyStopping", "ModelCheckpoint", "ReduceLROnPlateau", "TensorBoard", "CSVLogger")


@pytest.fixture(scope="session")
def keras_choices():
    """(optimizers, losses, metrics, callbacks) as the window derives them from Keras."""
    from engine.quiet import import_keras

    keras = import_keras()
    optimizers = {name: getattr(keras.optimizers, name)().get_config() for name in OPTIMIZERS}
    losses = sorted(
        name
        for name, obj in vars(keras.losses).items()
        if inspect.isfunction(obj) and name not in {"get", "serialize", "deserialize"}
    )
    metrics = ["accuracy", "binary_accuracy", "auc", "precision", "recall", "mean_absolute_error"]
    callbacks = {}
    for name in CALLBACKS:
        parameters = inspect.signature(getattr(keras.callbacks, name).__init__).parameters
        callbacks[name] = {
            key: p.default
            for key, p in parameters.items()
            if key != "self" and p.default is not inspect.Parameter.empty
        }
    return optimizers, losses, metrics, callbacks
