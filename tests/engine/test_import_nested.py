"""A Teachable Machine export (a Sequential holding a Sequential holding a functional
MobileNet) opens read-only like a functional model; before, the window refused it with
"Unknown layer type 'Sequential'" (seen opening a real Teachable Machine file)."""

from __future__ import annotations

import keras

from engine import spec as S
from engine.model_import import import_model_file, imported_project
from engine.modelfile import save_model


def _teachable_machine_like():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, name="conv")(inputs)
    x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    base = keras.Model(inputs, x, name="base")
    features = keras.Sequential([keras.Input((8, 8, 3)), base], name="features")
    head = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, "softmax")], name="head")
    return keras.Sequential([keras.Input((8, 8, 3)), features, head], name="tm")


def test_nested_models_open_read_only_with_their_weights(tmp_path):
    model = _teachable_machine_like()
    path = tmp_path / "keras_model.h5"
    save_model(model, path)
    imported = import_model_file(path)
    assert imported.functional and S.is_functional(imported.spec)
    S.validate_spec(imported.spec)
    assert S.analyse(imported.spec).total_params == model.count_params()
    project = imported_project(imported, None)
    assert project["runs"][0]["status"] == "imported" and project.get("weights")


def test_compile_is_suggested_from_the_innermost_output_layer(tmp_path):
    path = tmp_path / "keras_model.h5"
    save_model(_teachable_machine_like(), path)
    imported = import_model_file(path)
    project = imported_project(imported, None)
    assert project["compile"]["loss"] == "sparse_categorical_crossentropy"  # Dense(3, softmax)
