"""apply_params on every kind of path, and the search block's validation."""

from __future__ import annotations

import pytest

from engine.errors import ProjectError
from engine.project import validate_project
from engine.search import (
    SearchError,
    apply_params,
    best_params_applied,
    parse_path,
    validate_search,
)
from tests.search.support import SPACE, tiny_project


def test_parse_path():
    assert parse_path("model.layers[2].config.units") == ["model", "layers", 2, "config", "units"]
    assert parse_path("fit.batch_size") == ["fit", "batch_size"]
    for bad in ("dataset.name", "model", "runs[0]", "fit..x", "fit.a[x]", ""):
        with pytest.raises(ValueError):
            parse_path(bad)


def test_layer_config_value():
    project = tiny_project()
    new = apply_params(project, {"model.layers[1].config.units": 12})
    assert new["model"]["layers"][1]["config"]["units"] == 12
    assert project["model"]["layers"][1]["config"]["units"] == 8  # the original is untouched


def test_optimizer_learning_rate_in_an_object_and_in_a_name():
    project = tiny_project()
    new = apply_params(project, {"compile.optimizer.config.learning_rate": 0.005})
    assert new["compile"]["optimizer"]["config"]["learning_rate"] == 0.005
    assert new["compile"]["optimizer"]["class_name"] == "Adam"
    project["compile"]["optimizer"] = "sgd"
    new = apply_params(project, {"compile.optimizer.config.learning_rate": 0.1})
    assert new["compile"]["optimizer"] == {"class_name": "SGD", "config": {"learning_rate": 0.1}}
    validate_project(new)  # Keras accepts it


def test_optimizer_choice_then_its_learning_rate():
    new = apply_params(
        tiny_project(),
        {"compile.optimizer.config.learning_rate": 0.02, "compile.optimizer": "rmsprop"},
    )
    assert new["compile"]["optimizer"] == {
        "class_name": "RMSprop",
        "config": {"learning_rate": 0.02},
    }


def test_fit_value():
    new = apply_params(tiny_project(), {"fit.batch_size": 128, "fit.epochs": 3})
    assert new["fit"]["batch_size"] == 128 and new["fit"]["epochs"] == 3


def test_layer_off_removes_it_after_the_other_values_and_moves_the_space():
    project = tiny_project(search={"space": SPACE})
    names = [layer["config"]["name"] for layer in project["model"]["layers"]]
    new = apply_params(
        project,
        {"model.layers[2]": False, "model.layers[3].config.units": 10},
    )
    assert [layer["config"]["name"] for layer in new["model"]["layers"]] == [
        names[0],
        names[1],
        names[3],
    ]
    assert new["model"]["layers"][2]["config"]["units"] == 10  # index 3 meant the old layer 3
    paths = [entry["path"] for entry in new["search"]["space"]]
    assert "model.layers[2]" not in paths and "model.layers[1].config.units" in paths
    kept = apply_params(project, {"model.layers[2]": True})
    assert len(kept["model"]["layers"]) == 4


def test_missing_paths_are_search_errors():
    for path in ("model.layers[9].config.units", "fit.batch_size.x", "model.layers[1].config[0]"):
        with pytest.raises(SearchError, match="does not exist"):
            apply_params(tiny_project(), {path: 1})


def test_best_params_applied_from_a_dict():
    new = best_params_applied(tiny_project(), {"fit.batch_size": 16})
    assert new["fit"]["batch_size"] == 16


def test_a_good_block_validates_in_a_project():
    project = validate_project(tiny_project(search={"space": SPACE}))
    assert project["search"]["space"] == SPACE


@pytest.mark.parametrize(
    ("block", "words"),
    [
        ([], "must be an object"),
        ({"space": {}}, "must be a list"),
        ({"space": [{"path": "dataset.name", "type": "int", "low": 1, "high": 2}]}, "bad path"),
        ({"space": [{"path": "fit.epochs", "type": "range"}]}, "type 'range'"),
        ({"space": [{"path": "fit.epochs", "type": "int", "low": 5, "high": 5}]}, "low below"),
        ({"space": [{"path": "fit.epochs", "type": "int", "low": 1.5, "high": 5}]}, "int low"),
        (
            {"space": [{"path": "fit.x", "type": "float", "low": 0, "high": 1, "log": True}]},
            "log scale",
        ),
        ({"space": [{"path": "fit.x", "type": "categorical", "choices": []}]}, "choices"),
        ({"space": [{"path": "fit.x", "type": "categorical", "choices": [[1]]}]}, "numbers"),
        ({"space": [{"path": "model.layers[1].config", "type": "layer_on_off"}]}, "name a layer"),
        ({"space": [], "sampler": "grid"}, "sampler 'grid'"),
        ({"space": [], "objective": [{"metric": "a"}, {"metric": "b"}, {"metric": "c"}]}, "two"),
        ({"space": [], "objective": {"metric": "val_loss", "direction": "up"}}, "minimize"),
    ],
)
def test_bad_blocks_are_project_errors_that_say_what(block, words):
    with pytest.raises(ProjectError, match=words) as caught:
        validate_search(block)
    assert str(caught.value)[0].isupper()
    with pytest.raises(ProjectError, match=words):
        validate_project(tiny_project(search=None) | {"search": block})
