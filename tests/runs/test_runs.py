"""Run records: record → save → reopen keeps every bit; weights files follow the runs."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from engine import runs
from engine.errors import ModelFileError, ProjectError
from engine.project import demo_project, load_project, save_project


def tiny_model():
    model = keras.Sequential(
        [keras.Input((64,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(10)]
    )
    return model


def fake_result(project, *, status="completed", model=None, steps=7, epochs=3, seed=0):
    """A RunResult as engine.training returns it (awkward floats included)."""
    rng = np.random.default_rng(seed)
    history = {
        "loss": [float(v) for v in np.float32(rng.random(epochs))],  # float32 values
        "accuracy": [0.1 + 0.2, 1 / 3, 2 / 3][:epochs],
        "val_loss": [1e-300, 5e-324, math.pi][:epochs],
        "val_accuracy": [0.5, float("nan"), 0.75][:epochs],
        "learning_rate": [0.0010000000474974513] * epochs,
    }
    return SimpleNamespace(
        status=status,
        message="Trained 3 epochs.",
        epochs_completed=epochs,
        seconds=1.2345678901234567,
        started_at="2025-03-04T05:06:07+01:00",
        history=history,
        batch_losses=[float(v) for v in rng.random(steps * epochs)],
        steps_per_epoch=steps,
        test_metrics={"loss": np.float32(0.25), "accuracy": 0.9},
        device="CPU",
        model=model,
        snapshot={key: project[key] for key in ("model", "dataset", "compile", "fit")},
    )


def test_record_save_reopen_keeps_every_run_bit_for_bit(tmp_path):
    path = tmp_path / "project.llproj"
    project = demo_project()
    model = tiny_model()
    project, first = runs.record_run(project, fake_result(project, model=model), path)
    project, second = runs.record_run(
        project, fake_result(project, status="stopped", model=model, seed=1), path
    )
    assert [first["name"], second["name"]] == ["Run 1", "Run 2"]
    assert first["id"] != second["id"]
    assert first["history"]["val_accuracy"][1] is None  # NaN stored as null
    assert first["test_metrics"] == {"loss": 0.25, "accuracy": 0.9}
    assert first["best"]["val_loss"] == {"value": 5e-324, "epoch": 1}
    assert first["best"]["accuracy"] == {"value": 2 / 3, "epoch": 2}
    assert "learning_rate" not in first["best"]
    assert first["final"]["val_accuracy"] == 0.75
    assert first["batch_loss"]["x"][:2] == [1 / 7, 2 / 7] and len(first["batch_loss"]["x"]) == 21
    assert first["weights"] == f"runs/{first['id']}.h5"
    assert first["parameter_count"] == model.count_params()  # listing runs needs no Keras
    save_project(project, path)
    reopened = load_project(path)
    assert json.dumps(reopened["runs"], sort_keys=True) == json.dumps(
        project["runs"], sort_keys=True
    )
    for original, loaded in zip(project["runs"], reopened["runs"], strict=True):
        assert loaded == original
        for key, values in original["history"].items():
            assert [repr(v) for v in loaded["history"][key]] == [repr(v) for v in values]
    weights = runs.weights_path(path, reopened["runs"][0])
    assert weights == tmp_path / "runs" / f"{first['id']}.h5" and weights.is_file()
    loaded_model = runs.run_model(path, reopened["runs"][0])
    for ours, theirs in zip(model.get_weights(), loaded_model.get_weights(), strict=True):
        assert np.array_equal(ours, theirs)
    assert loaded_model.optimizer is not None and loaded_model.compiled


def test_failed_run_keeps_no_weights_and_cannot_be_loaded(tmp_path):
    project = demo_project()
    result = fake_result(project, status="failed", model=tiny_model())
    project, run = runs.record_run(project, result, tmp_path / "p.llproj")
    assert run["weights"] is None and not (tmp_path / "runs").exists()
    with pytest.raises(ModelFileError, match="no saved weights"):
        runs.run_model(tmp_path / "p.llproj", run)


def test_delete_rename_and_find(tmp_path):
    path = tmp_path / "p.llproj"
    project = demo_project()
    project, first = runs.record_run(project, fake_result(project, model=tiny_model()), path)
    project, second = runs.record_run(project, fake_result(project, model=tiny_model()), path)
    renamed = runs.rename_run(project, first["id"], "  baseline ")
    assert runs.find_run(renamed, "baseline")["id"] == first["id"]
    assert project["runs"][0]["name"] == "Run 1"  # the old project is untouched
    assert runs.find_run(renamed)["id"] == second["id"]
    with pytest.raises(ProjectError, match="no run named 'nope'; the runs are 'baseline'"):
        runs.find_run(renamed, "nope")
    file = runs.weights_path(path, first)
    assert file.is_file()
    smaller = runs.delete_run(renamed, first["id"], path)
    assert [run["id"] for run in smaller["runs"]] == [second["id"]]
    assert not file.exists() and runs.weights_path(path, second).is_file()
    with pytest.raises(ProjectError):
        runs.find_run({"runs": []})


def test_unsaved_project_weights_move_beside_it_on_save(tmp_path):
    project = demo_project()
    project, run = runs.record_run(project, fake_result(project, model=tiny_model()), None)
    pending = runs.weights_path(None, run)
    assert pending.is_absolute() and pending.is_file()
    path = tmp_path / "later.llproj"
    placed = runs.place_run_files(project, path)
    assert placed["runs"][0]["weights"] == f"runs/{run['id']}.h5"
    assert runs.weights_path(path, placed["runs"][0]).is_file() and not pending.exists()
    # Save As into another folder copies the files along.
    other = tmp_path / "elsewhere" / "copy.llproj"
    copied = runs.place_run_files(placed, other, old_project_path=path)
    assert runs.weights_path(other, copied["runs"][0]).is_file()
    assert runs.weights_path(path, placed["runs"][0]).is_file()


def test_batch_loss_is_downsampled_keeping_its_envelope():
    rng = np.random.default_rng(3)
    losses = list(rng.random(20_000))
    losses[12_345] = 9.0
    losses[777] = -1.0
    curve = runs.downsample_batch_loss(losses, steps_per_epoch=1000)
    assert len(curve["x"]) == len(curve["loss"]) <= runs.MAX_BATCH_POINTS
    assert 9.0 in curve["loss"] and -1.0 in curve["loss"]
    assert curve["x"][curve["loss"].index(9.0)] == pytest.approx(12.346)
    assert all(a < b for a, b in zip(curve["x"], curve["x"][1:], strict=False))
    assert runs.downsample_batch_loss([], 10) == {"x": [], "loss": []}


def test_metric_direction_and_status_text():
    assert runs.smaller_is_better("val_loss") and runs.smaller_is_better("mean_absolute_error")
    assert not runs.smaller_is_better("val_accuracy") and not runs.smaller_is_better("auc")
    assert runs.status_text({"status": "early_stopped", "epochs_completed": 7}) == (
        "early-stopped at epoch 7"
    )
    assert runs.main_metric({"history": {"loss": [], "accuracy": [], "val_loss": []}}) == (
        "accuracy"
    )
