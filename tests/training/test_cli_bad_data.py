"""``main.py train`` with a dataset that cannot be used: exit 2 with one plain line, before any
run is recorded or any output written; ``engine.runs.record_run`` refuses runs that never
trained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from keras.src.datasets import mnist as mnist_module

import main
from engine import runs, training
from engine.project import resources_dir
from tests.training.support import make_project


def _project(tmp_path: Path, dataset: dict) -> Path:
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"]["callbacks"] = []
    project["dataset"] = dataset
    path = tmp_path / "bad.llproj"
    path.write_text(json.dumps(project))
    return path


def _csv(tmp_path: Path, text: str, **block) -> dict:
    (tmp_path / "data.csv").write_text(text)
    return {"source": "csv", "path": str(tmp_path / "data.csv"), "target": "y", **block}


CASES = {
    "missing file": lambda tmp: {"source": "csv", "path": str(tmp / "nope.csv"), "target": "y"},
    "empty file": lambda tmp: _csv(tmp, ""),
    "header only": lambda tmp: _csv(tmp, "a,b,y\n"),
    "ragged rows": lambda tmp: _csv(tmp, "a,b,y\n1,2,0\n3,4,5,6,7\n1,2\n" + "1,2,1\n" * 20),
    "NaN values": lambda tmp: _csv(tmp, "a,b,y\n" + "1,2,0\n,3,1\n" * 20),
    "unknown target": lambda tmp: _csv(tmp, "a,b,c\n" + "1,2,0\n3,4,1\n" * 20),
    "broken image folder": lambda tmp: {"source": "image_folder", "path": str(tmp / "imgs")},
}


def _broken_images(tmp_path: Path) -> None:
    for name in ("cats", "dogs"):
        folder = tmp_path / "imgs" / name
        folder.mkdir(parents=True)
        for index in range(3):
            (folder / f"{index}.png").write_bytes(b"not a png at all")


@pytest.mark.parametrize("case", sorted(CASES))
def test_unusable_dataset_exits_2_before_recording(tmp_path, capsys, case):
    if case == "broken image folder":
        _broken_images(tmp_path)
    path = _project(tmp_path, CASES[case](tmp_path))
    before = path.read_bytes()
    assert main.main(["train", str(path), "--epochs", "1"]) == 2
    captured = capsys.readouterr()
    error = captured.err
    assert error.startswith("layerlab train: ") and error.count("\n") == 1, error
    assert "Traceback" not in error and "Error:" not in error, error
    assert "Training" not in captured.out
    assert path.read_bytes() == before  # no failed "Run 1"
    assert not (tmp_path / "runs").exists() and not (tmp_path / "out").exists()


def test_builtin_set_offline_exits_2(tmp_path, capsys, monkeypatch):
    def offline(fname=None, origin=None, **kwargs):
        raise Exception(f"URL fetch failure on {origin}: None -- [Errno -3] name resolution")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setattr(mnist_module, "get_file", offline)
    path = _project(tmp_path, {"source": "keras", "name": "mnist"})
    before = path.read_bytes()
    assert main.main(["train", str(path), "--epochs", "1"]) == 2
    assert "could not be downloaded" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_a_run_that_never_trained_is_not_recorded(tmp_path):
    project = make_project()
    project["dataset"] = {"source": "csv", "path": str(tmp_path / "missing.csv"), "target": "y"}
    result = training.run(project)
    assert result.status == "failed" and not result.batch_losses
    reason = runs.unrecorded_reason(result)
    assert reason and reason.startswith("The run was not recorded")
    new_project, run = runs.record_run(project, result, tmp_path / "p.llproj")
    assert run is None and new_project == project
    assert not (tmp_path / "runs").exists()
