"""A project's initial weights: saved in Keras's .weights.h5, loaded by layer name into the
edited model, kept through validate/save/reopen and the unsaved → saved move."""

from __future__ import annotations

import copy
from pathlib import Path

import keras
import numpy as np
import pytest

from engine import project_weights as pw
from engine.errors import ModelFileError, ProjectError
from engine.project import load_project, new_project, save_project, validate_project
from engine.runs import place_run_files
from engine.spec import build_model, insert_layer, set_param


def _spec() -> dict:
    model = keras.Sequential(
        [
            keras.Input((8,)),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dense(12, activation="relu", name="middle"),
            keras.layers.Dense(3, activation="softmax", name="out"),
        ]
    )
    return model.get_config()


@pytest.fixture
def trained(tmp_path) -> tuple[keras.Model, Path]:
    """A model with recognisable (non-initial) weights and its .weights.h5 file."""
    model = build_model(_spec())
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    path = tmp_path / "model.weights.h5"
    pw.save_initial_weights(model, path)
    return model, path


def _same(a: keras.layers.Layer, b: keras.layers.Layer) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a.get_weights(), b.get_weights(), strict=True))


def test_weights_load_by_name_after_a_dropout_is_inserted(trained):
    model, path = trained
    edited = insert_layer(_spec(), 1, "Dropout")  # after "hidden"
    target = build_model(edited)
    report = pw.load_initial_weights(target, path)
    assert report.loaded == ["hidden", "middle", "out"] and report.fresh == []
    for name in ("hidden", "middle", "out"):
        assert _same(target.get_layer(name), model.get_layer(name))


def test_frozen_layer_still_loads_and_stays_frozen(trained):
    model, path = trained
    spec = set_param(_spec(), 0, "trainable", False)
    target = build_model(spec)
    report = pw.load_initial_weights(target, path)
    assert report.complete
    assert _same(target.get_layer("hidden"), model.get_layer("hidden"))
    assert target.get_layer("hidden").trainable is False


def test_changed_units_leave_that_layer_fresh_and_named(trained):
    model, path = trained
    spec = set_param(_spec(), 1, "units", 32)  # middle 12 → 32: out's kernel changes too
    target = build_model(spec)
    fresh_middle = target.get_layer("middle").get_weights()
    report = pw.load_initial_weights(target, path)
    assert report.loaded == ["hidden"]
    assert [name for name, _ in report.fresh] == ["middle", "out"]
    assert "shapes changed" in dict(report.fresh)["middle"]
    assert _same(target.get_layer("hidden"), model.get_layer("hidden"))
    kept = target.get_layer("middle").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(kept, fresh_middle, strict=True))
    assert "middle" in report.message() and "freshly initialised" in report.message()


def test_new_layer_and_removed_layer_are_reported(trained):
    _model, path = trained
    target = build_model(
        keras.Sequential(
            [
                keras.Input((8,)),
                keras.layers.Dense(16, name="hidden"),
                keras.layers.Dense(2, name="extra"),
            ]
        ).get_config()
    )
    report = pw.load_initial_weights(target, path)
    assert report.loaded == ["hidden"]
    assert report.fresh == [("extra", "not in the weights file")]
    assert report.unused == ["middle", "out"]


def test_missing_and_corrupt_files_name_the_file_and_the_fix(tmp_path):
    model = build_model(_spec())
    with pytest.raises(ModelFileError) as missing:
        pw.load_initial_weights(model, tmp_path / "gone.weights.h5")
    assert "gone.weights.h5 is missing" in str(missing.value)
    assert "fresh initialisation" in str(missing.value)
    junk = tmp_path / "junk.weights.h5"
    junk.write_bytes(b"not an hdf5 file at all")
    with pytest.raises(ModelFileError) as corrupt:
        pw.load_initial_weights(model, junk)
    assert str(corrupt.value).startswith("The initial weights file junk.weights.h5 cannot be read")
    assert "fresh initialisation" in str(corrupt.value)
    assert str(tmp_path) not in str(corrupt.value)


def test_project_weights_round_trip_through_save_and_reopen(tmp_path, trained):
    model, _path = trained
    unsaved = pw.set_project_weights({**new_project(), "model": _spec()}, model, None)
    temporary = Path(unsaved["weights"])
    assert temporary.is_absolute() and temporary.is_file()
    assert validate_project(unsaved)["weights"] == unsaved["weights"]  # unsaved: absolute
    project_path = tmp_path / "proj" / "net.llproj"
    project_path.parent.mkdir()
    placed = place_run_files(unsaved, project_path)  # no runs: the weights still move
    assert placed["weights"] == "net.weights.h5"
    assert (project_path.parent / "net.weights.h5").is_file()
    assert not temporary.exists()  # moved out of the private temporary folder
    save_project(placed, project_path)
    reopened = load_project(project_path)
    assert reopened["weights"] == "net.weights.h5"
    assert reopened["fit"]["start_from"] == "weights"
    target = build_model(reopened["model"])
    report = pw.weights_for_run(target, reopened, project_path)
    assert report is not None and report.complete
    assert all(
        np.array_equal(a, b) for a, b in zip(target.get_weights(), model.get_weights(), strict=True)
    )
    # Save As into another folder copies the file and keeps the original.
    other = tmp_path / "other" / "copy.llproj"
    other.parent.mkdir()
    copied = place_run_files(reopened, other, old_project_path=project_path)
    assert copied["weights"] == "copy.weights.h5"
    assert (other.parent / "copy.weights.h5").is_file()
    assert (project_path.parent / "net.weights.h5").is_file()


def test_start_from_fresh_ignores_the_weights(tmp_path, trained):
    _model, path = trained
    project = {**new_project(), "model": _spec(), "weights": path.name}
    project["fit"] = {**project["fit"], "start_from": "fresh"}
    project = validate_project(project)
    target = build_model(project["model"])
    before = copy.deepcopy(target.get_weights())
    assert pw.weights_for_run(target, project, tmp_path / "p.llproj") is None
    assert all(np.array_equal(a, b) for a, b in zip(target.get_weights(), before, strict=True))
    assert pw.start_from(project) == "fresh"
    assert pw.start_from(new_project()) == "fresh"  # no weights: nothing to start from


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("../elsewhere.weights.h5", "inside the project's folder"),
        ("/etc/elsewhere.weights.h5", "inside the project's folder"),
        ("model.h5", ".weights.h5"),
        (7, ".weights.h5 file"),
        ("", ".weights.h5 file"),
    ],
)
def test_validate_refuses_bad_weights_settings(value, words):
    project = {**new_project(), "weights": value}
    with pytest.raises(ProjectError) as error:
        validate_project(project)
    assert words in str(error.value) and error.value.field == "weights"
    assert str(error.value)[0].isupper()


def test_validate_start_from_and_null_weights():
    project = validate_project({**new_project(), "weights": None})
    assert "weights" not in project and "start_from" not in project["fit"]
    with pytest.raises(ProjectError, match="start_from"):
        validate_project(
            {**new_project(), "weights": "a.weights.h5", "fit": {"start_from": "pretrained"}}
        )


def test_training_starts_from_the_project_weights_and_logs_it(tmp_path, trained):
    from engine import training
    from engine.events import LogLine

    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(8, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ]
    )
    pw.save_initial_weights(model, tmp_path / "digits.weights.h5")
    project = new_project()
    project["model"] = model.get_config()
    project["model"] = insert_layer(project["model"], 1, "Dropout")
    project["weights"] = "digits.weights.h5"
    project["fit"] = {**project["fit"], "epochs": 1, "validation_split": 0.0}
    project = validate_project(project)
    events: list = []
    captured = {}

    original = training._Run._load_initial_weights

    def spy(self):
        original(self)
        captured["hidden"] = self.model.get_layer("hidden").get_weights()

    training._Run._load_initial_weights = spy
    try:
        result = training.run(project, sink=events.append, project_path=tmp_path / "digits.llproj")
    finally:
        training._Run._load_initial_weights = original
    assert result.status == "completed", result.message
    lines = [e.text for e in events if isinstance(e, LogLine)]
    assert "Initial weights from digits.weights.h5: 2 layers loaded." in lines
    assert result.snapshot["weights"] == "digits.weights.h5"  # the run says what it started from
    assert all(
        np.array_equal(a, b)
        for a, b in zip(captured["hidden"], model.get_layer("hidden").get_weights(), strict=True)
    )
    # A missing file fails the run with the file's name and the fix.
    (tmp_path / "digits.weights.h5").unlink()
    failed = training.run(project, project_path=tmp_path / "digits.llproj")
    assert failed.status == "failed"
    assert "digits.weights.h5 is missing" in failed.message
