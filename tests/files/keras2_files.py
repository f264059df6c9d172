"""Crafting Keras-2-format ``.h5`` model files for tests (no Keras 2 needed).

The layout is the one Keras 2.0 – 2.13 wrote: root attributes ``keras_version``,
``backend``, ``model_config`` (JSON) and ``training_config`` (JSON); a ``model_weights``
group with attribute ``layer_names`` and one subgroup per layer whose ``weight_names``
attribute lists its datasets (``dense_1/kernel:0``, ...), in Keras 2's order.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np


def write_keras2_h5(
    path: Path,
    model_config: dict,
    weights: dict[str, list[tuple[str, np.ndarray]]],
    *,
    layer_names: list[str] | None = None,
    keras_version: str = "2.2.4",
    training_config: dict | None = None,
) -> Path:
    """Write ``path`` as Keras 2 did. ``weights``: per layer name, (weight name, value)."""
    with h5py.File(path, "w") as h5:
        h5.attrs["keras_version"] = keras_version.encode()
        h5.attrs["backend"] = b"tensorflow"
        h5.attrs["model_config"] = json.dumps(model_config).encode()
        if training_config is not None:
            h5.attrs["training_config"] = json.dumps(training_config).encode()
        group = h5.create_group("model_weights")
        names = layer_names if layer_names is not None else list(weights)
        group.attrs["layer_names"] = [name.encode() for name in names]
        group.attrs["backend"] = b"tensorflow"
        group.attrs["keras_version"] = keras_version.encode()
        for name in names:
            layer = group.create_group(name)
            pairs = weights.get(name, [])
            layer.attrs["weight_names"] = [weight.encode() for weight, _ in pairs]
            for weight, value in pairs:
                layer.create_dataset(weight, data=np.asarray(value, dtype="float32"))
    return path


def initializer(class_name: str = "GlorotUniform", **config) -> dict:
    return {"class_name": class_name, "config": {"seed": None, **config}}


def dense(name: str, units: int, activation: str = "linear", **extra) -> dict:
    """A Dense layer's config as tf.keras 2.x wrote it (initializers carry ``dtype``)."""
    return {
        "class_name": "Dense",
        "config": {
            "name": name,
            "trainable": True,
            "dtype": "float32",
            "units": units,
            "activation": activation,
            "use_bias": True,
            "kernel_initializer": initializer(),
            "bias_initializer": {"class_name": "Zeros", "config": {}},
            "kernel_regularizer": None,
            "bias_regularizer": None,
            "activity_regularizer": None,
            "kernel_constraint": None,
            "bias_constraint": None,
            **extra,
        },
    }


def rnn(class_name: str, name: str, units: int, **extra) -> dict:
    """An LSTM/GRU/SimpleRNN config as tf.keras 2.x wrote it (with ``time_major``)."""
    config = {
        "name": name,
        "trainable": True,
        "dtype": "float32",
        "return_sequences": False,
        "return_state": False,
        "go_backwards": False,
        "stateful": False,
        "unroll": False,
        "time_major": False,
        "units": units,
        "activation": "tanh",
        "use_bias": True,
        "kernel_initializer": initializer(),
        "recurrent_initializer": {
            "class_name": "Orthogonal",
            "config": {"gain": 1.0, "seed": None},
        },
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "dropout": 0.0,
        "recurrent_dropout": 0.0,
    }
    if class_name != "SimpleRNN":
        config["recurrent_activation"] = "sigmoid"
        config["implementation"] = 2
    if class_name == "LSTM":
        config["unit_forget_bias"] = True
    config.update(extra)
    return {"class_name": class_name, "config": config}


def input_layer(name: str, batch_input_shape: list) -> dict:
    return {
        "class_name": "InputLayer",
        "config": {
            "batch_input_shape": batch_input_shape,
            "dtype": "float32",
            "sparse": False,
            "ragged": False,
            "name": name,
        },
    }


def sequential(name: str, layers: list) -> dict:
    return {"class_name": "Sequential", "config": {"name": name, "layers": layers}}


def named_weights(prefix: str, names: list[str], values: list[np.ndarray]) -> list:
    """``[(prefix/name:0, value), ...]``."""
    return [(f"{prefix}/{name}:0", value) for name, value in zip(names, values, strict=True)]
