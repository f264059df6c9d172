"""A model file becomes the project's model, or a plain refusal: never None (issue 9, defect 10)."""

from __future__ import annotations

import json

import keras
import pytest

from engine import spec as S
from engine.errors import ModelFileError
from engine.model_import import open_model_spec, project_spec
from engine.modelfile import save_model

L = keras.layers


def _chain_model() -> keras.Model:
    inputs = keras.Input((8,), name="features")
    x = L.Dense(6, activation="relu")(inputs)
    x = L.Dropout(0.1)(x)
    outputs = L.Dense(3, activation="softmax", name="out")(x)
    return keras.Model(inputs, outputs, name="chain")


def _branched_model() -> keras.Model:
    inputs = keras.Input((8,))
    a = L.Dense(4, name="left")(inputs)
    b = L.Dense(4, name="right")(inputs)
    merged = L.Add(name="add_1")([a, b])
    return keras.Model(inputs, L.Dense(1)(merged))


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


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_branched_functional_model_is_refused_plainly(tmp_path, suffix):
    path = tmp_path / f"branches{suffix}"
    save_model(_branched_model(), path)
    with pytest.raises(ModelFileError) as info:
        open_model_spec(path)
    message = str(info.value)
    assert message.startswith(f"The file branches{suffix} is a functional model with branches")
    assert "add_1 takes 2 inputs" in message or "goes to 2 layers" in message
    assert "LayerLab edits Sequential models" in message
    assert "Its summary: 4 layers (Dense 'left', Dense 'right', Add 'add_1'" in message
    assert f"python main.py summary branches{suffix}" in message


@pytest.mark.parametrize(
    "build, reason",
    [
        (
            lambda: keras.Model(
                [a := keras.Input((2,)), b := keras.Input((3,))],
                L.Dense(1)(L.Concatenate()([a, b])),
            ),
            "it has 2 inputs",
        ),
        (
            lambda: keras.Model(
                c := keras.Input((2,)), [L.Dense(1, name="o1")(c), L.Dense(1, name="o2")(c)]
            ),
            "it has 2 outputs",
        ),
        (
            lambda: keras.Model(
                d := keras.Input((2,)), (shared := L.Dense(2, name="shared"))(shared(d))
            ),
            "layer shared is used 2 times",
        ),
        (
            lambda: keras.Model(
                e := keras.Input((2,)), keras.Sequential([L.Dense(2)], name="inner")(e)
            ),
            "layer inner is a whole model inside the model",
        ),
    ],
)
def test_every_kind_of_non_chain_names_its_reason(build, reason):
    with pytest.raises(ModelFileError, match=reason):
        project_spec(build(), "m.keras")
