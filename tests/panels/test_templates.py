"""The tutorial templates load as projects, analyse cleanly with the tutorials' parameter
counts, take a dataset block the engine accepts, and compile and train one step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.compiling import compile_model
from engine.datasets import resolve_block
from engine.project import load_project, validate_project
from engine.spec import analyse, build_model, input_shape

TEMPLATES = Path(__file__).resolve().parents[2] / "resources" / "templates"

# name: (total params, dataset source/name, last layer units and activation)
EXPECTED = {
    "imdb_mlp": (160_305, "imdb", 1, "sigmoid"),
    "imdb_lstm": (213_301, "imdb", 1, "sigmoid"),
    "imdb_conv_lstm": (216_405, "imdb", 1, "sigmoid"),
    "mnist_cnn": (93_322, "mnist", 10, "softmax"),
    "cifar10_cnn": (122_570, "cifar10", 10, "softmax"),
    "boston_housing": (5_121, "boston_housing", 1, "linear"),
    "jena_gru": (4_641, None, 1, "linear"),
}


def test_every_template_is_listed():
    assert sorted(p.stem for p in TEMPLATES.glob("*.llproj")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_template_loads_and_analyses(name):
    params, dataset_name, units, activation = EXPECTED[name]
    path = TEMPLATES / f"{name}.llproj"
    project = load_project(path)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["title"] and len(raw["description"]) > 80
    assert project["title"] == raw["title"]  # unknown keys survive loading
    analysis = analyse(project["model"])
    assert analysis.ok, analysis.error
    assert analysis.total_params == params
    last = project["model"]["layers"][-1]["config"]
    assert (last["units"], last["activation"]) == (units, activation)
    resolved = resolve_block(project["dataset"])
    if dataset_name is not None:
        assert resolved["name"] == dataset_name
    assert project["fit"]["epochs"] >= 1 and project["compile"]["loss"].count("_") >= 1


def test_tutorial_settings_are_kept():
    mlp = load_project(TEMPLATES / "imdb_mlp.llproj")
    assert mlp["dataset"] == {
        "source": "keras",
        "name": "imdb",
        "num_words": 10000,
        "encoding": "multi_hot",
    }
    assert mlp["compile"]["optimizer"]["class_name"] == "RMSprop"
    assert (mlp["fit"]["epochs"], mlp["fit"]["batch_size"]) == (20, 512)
    lstm = load_project(TEMPLATES / "imdb_lstm.llproj")
    layer = lstm["model"]["layers"][2]["config"]
    assert (layer["units"], layer["dropout"], layer["recurrent_dropout"]) == (100, 0.3, 0.1)
    assert lstm["dataset"]["sequence_length"] == 500 == input_shape(lstm["model"])[0]
    jena = load_project(TEMPLATES / "jena_gru.llproj")["dataset"]
    assert (jena["lookback"], jena["step"], jena["delay"]) == (1440, 6, 144)
    assert jena["target"] == "T (degC)" and jena["path"].endswith("jena_climate_2009_2016.csv")
    assert input_shape(load_project(TEMPLATES / "jena_gru.llproj")["model"]) == (240, 14)
    boston = load_project(TEMPLATES / "boston_housing.llproj")
    assert boston["compile"]["loss"] == "mean_squared_error"
    assert boston["compile"]["metrics"] == ["mean_absolute_error"]
    assert boston["dataset"]["normalize"] is True


@pytest.mark.parametrize("name", ["imdb_mlp", "mnist_cnn", "jena_gru"])
def test_template_compiles_and_trains_one_step(name):
    project = validate_project(json.loads((TEMPLATES / f"{name}.llproj").read_text()))
    model = build_model(project["model"])
    compile_model(model, project["compile"])
    shape = input_shape(project["model"])
    rng = np.random.default_rng(0)
    if project["dataset"].get("encoding") == "sequences":
        x = rng.integers(0, 5000, size=(4, *shape))
    else:
        x = rng.random((4, *shape), dtype=np.float32)
    units = project["model"]["layers"][-1]["config"]["units"]
    if project["compile"]["loss"] == "categorical_crossentropy":
        y = np.eye(units, dtype=np.float32)[rng.integers(0, units, size=4)]
    else:
        y = rng.integers(0, 2, size=(4, 1)).astype(np.float32)
    history = model.fit(x, y, epochs=1, batch_size=4, verbose=0)
    assert np.isfinite(history.history["loss"][0])
