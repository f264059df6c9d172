"""Issue 11: an opened tutorial model starts with the dataset it was trained on, so its
trained weights fit (IMDB/Reuters multi-hot or sequences, MNIST/CIFAR, Boston, sklearn)."""

from __future__ import annotations

import keras
import pytest

from engine.dataset_guess import guess_dataset
from engine.datasets.probe import input_signature
from engine.project import new_project, validate_project
from engine.spec import spec_from_model


def _spec(*layers) -> dict:
    return spec_from_model(keras.Sequential(list(layers)))


L = keras.layers
CASES = [
    (
        _spec(keras.Input((10000,)), L.Dense(16, activation="relu"), L.Dense(1, "sigmoid")),
        {"source": "keras", "name": "imdb", "num_words": 10000, "encoding": "multi_hot"},
    ),
    (
        _spec(keras.Input((200,)), L.Embedding(5000, 32), L.LSTM(8), L.Dense(1, "sigmoid")),
        {"source": "keras", "name": "imdb", "num_words": 5000, "encoding": "sequences",
         "sequence_length": 200},
    ),
    (
        _spec(keras.Input((10000,)), L.Dense(64, activation="relu"), L.Dense(46, "softmax")),
        {"source": "keras", "name": "reuters", "num_words": 10000, "encoding": "multi_hot"},
    ),
    (
        _spec(keras.Input((28, 28, 1)), L.Conv2D(8, 3), L.Flatten(), L.Dense(10, "softmax")),
        {"source": "keras", "name": "mnist", "flatten": False},
    ),
    (
        _spec(keras.Input((784,)), L.Dense(32), L.Dense(10), L.Activation("softmax")),
        {"source": "keras", "name": "mnist", "flatten": True},
    ),
    (
        _spec(keras.Input((32, 32, 3)), L.Conv2D(8, 3), L.Flatten(), L.Dense(10, "softmax")),
        {"source": "keras", "name": "cifar10", "flatten": False},
    ),
    (
        _spec(keras.Input((13,)), L.Dense(8), L.Dense(1)),
        {"source": "keras", "name": "boston_housing"},
    ),
    (
        _spec(keras.Input((4,)), L.Dense(8), L.Dense(3, "softmax")),
        {"source": "sample", "name": "iris"},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("spec", "block"), CASES)
def test_tutorial_models_get_their_dataset_and_the_shapes_agree(spec, block):
    guessed, why = guess_dataset(spec)
    assert guessed == block, why
    project = new_project()
    project["model"], project["dataset"] = spec, guessed
    validated = validate_project(project)  # a block the project accepts
    probe = input_signature(validated["dataset"], 0.2)
    model_shape = spec["layers"][0]["config"]["batch_shape"][1:]
    assert probe.input_shape is not None, probe.reason
    # the dataset gives exactly the samples the model's weights were trained on
    assert list(probe.input_shape) == list(model_shape)


def test_unknown_shapes_and_functional_models_are_not_guessed():
    block, why = guess_dataset(_spec(keras.Input((7,)), L.Dense(5, "softmax")))
    assert block is None and "(7,)" in why
    assert guess_dataset({"layers": [], "input_layers": []})[0] is None
