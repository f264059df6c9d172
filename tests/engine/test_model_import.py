"""A model file becomes the project's model, or a plain refusal: never None (issue 9, defect 10)."""

from __future__ import annotations

import json

import keras
import pytest

from engine import spec as S
from engine.model_import import open_model_spec
from engine.modelfile import save_model

L = keras.layers


def _chain_model() -> keras.Model:
    inputs = keras.Input((8,), name="features")
    x = L.Dense(6, activation="relu")(inputs)
    x = L.Dropout(0.1)(x)
    outputs = L.Dense(3, activation="softmax", name="out")(x)
    return keras.Model(inputs, outputs, name="chain")


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_sequential_file_becomes_the_project_model(tmp_path, suffix):
    model = keras.Sequential([keras.Input((5,)), L.Dense(4), L.Dense(2)])
    path = tmp_path / f"seq{suffix}"
    save_model(model, path)
    spec = open_model_spec(path)
    assert isinstance(spec, dict)
    assert [e["class_name"] for e in S.body(spec)] == ["Dense", "Dense"]
    assert S.analyse(spec).total_params == model.count_params()


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".hdf5"])
def test_functional_chain_becomes_a_sequential_stack(tmp_path, suffix):
    model = _chain_model()
    path = tmp_path / f"chain{suffix}"
    save_model(model, path)
    spec = open_model_spec(path)
    assert [e["class_name"] for e in S.body(spec)] == ["Dense", "Dropout", "Dense"]
    assert S.input_shape(spec) == (8,)
    assert S.body(spec)[-1]["config"]["name"] == "out"
    analysis = S.analyse(spec)
    assert analysis.ok and analysis.total_params == model.count_params()
    # Keras itself accepts it, and it survives the project's JSON.
    rebuilt = keras.Sequential.from_config(json.loads(json.dumps(spec)))
    assert rebuilt.count_params() == model.count_params()


# Branched functional models (not one chain) become functional project models: see
# tests/engine/test_spec_functional.py.
