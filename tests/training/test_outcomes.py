"""Training outcomes: a NaN loss fails the run, a diverging loss is flagged as a warning."""

from __future__ import annotations

import json
from pathlib import Path

import main
from engine import runs, training
from engine.events import LogLine, TrainEnd
from engine.project import resources_dir
from tests.training.support import make_dataset, make_project


def _huge_rate(optimizer: str, rate: float = 1e12, epochs: int = 3) -> dict:
    project = make_project(epochs=epochs, seed=1)
    project["compile"]["optimizer"] = {"class_name": optimizer, "config": {"learning_rate": rate}}
    return project


def test_nan_loss_fails_the_run_and_keeps_no_weights(recorder, tmp_path):
    result = training.run(_huge_rate("SGD"), sink=recorder, dataset=make_dataset())
    assert result.status == "failed"
    assert "NaN" in result.message and "smaller learning rate" in result.message
    assert recorder.of(TrainEnd)[-1].status == "failed"
    assert any(e.level == "error" and "NaN" in e.text for e in recorder.of(LogLine))
    _, run = runs.record_run(make_project(), result, tmp_path / "p.llproj")
    assert run["status"] == "failed" and run["weights"] is None
    assert not (tmp_path / "runs").exists()


def test_diverging_loss_is_a_warning_in_the_log_and_the_record(recorder, tmp_path):
    result = training.run(_huge_rate("Adam"), sink=recorder, dataset=make_dataset())
    assert result.status == "completed", result.message  # finite, but 1e24
    warnings = [e.text for e in recorder.of(LogLine) if e.level == "warning"]
    assert len(warnings) == 1 and warnings[0].startswith("The loss diverged:")
    assert "smaller learning rate" in warnings[0]
    assert result.warnings == warnings
    _, run = runs.record_run(make_project(), result, tmp_path / "p.llproj")
    assert run["warnings"] == warnings


def test_a_sound_run_has_no_warnings(recorder):
    result = training.run(make_project(epochs=2), sink=recorder, dataset=make_dataset())
    assert result.status == "completed" and result.warnings == []
    assert not [e for e in recorder.of(LogLine) if e.level == "warning"]


def _demo(tmp_path: Path, rate: float, optimizer: str) -> Path:
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"].update(callbacks=[], seed=1)
    project["compile"]["optimizer"] = {"class_name": optimizer, "config": {"learning_rate": rate}}
    path = tmp_path / "digits.llproj"
    path.write_text(json.dumps(project))
    return path


def test_cli_nan_run_exits_1_without_a_model_file(tmp_path, capsys):
    path = _demo(tmp_path, 1e12, "SGD")
    out = tmp_path / "results"
    assert main.main(["train", str(path), "--epochs", "2", "--out", str(out)]) == 1
    assert "NaN" in capsys.readouterr().err
    assert not (out / "model.h5").exists()
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "failed"


def test_cli_diverging_run_warns_on_stderr_and_in_metrics(tmp_path, capsys):
    path = _demo(tmp_path, 1e12, "Adam")
    out = tmp_path / "results"
    assert main.main(["train", str(path), "--epochs", "2", "--out", str(out)]) == 0
    assert "warning: The loss diverged" in capsys.readouterr().err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["warnings"] and metrics["warnings"][0].startswith("The loss diverged")
    recorded = json.loads(path.read_text())["runs"][-1]
    assert recorded["warnings"] == metrics["warnings"]


def test_out_of_memory_while_loading_advises_about_the_data(monkeypatch, recorder):
    import engine.datasets

    def exhausted(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(engine.datasets, "load_dataset", exhausted)
    result = training.run(make_project(), sink=recorder)
    assert result.status == "failed"
    assert result.message.startswith("Loading the dataset ran out of memory.")
    assert "smaller batch size" not in result.message
