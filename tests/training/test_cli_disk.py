"""``main.py train`` when the disk refuses: a plain line, exit status 2, no traceback, no
orphaned weights. Tests run as root (chmod does not stop root), so the refusals are simulated
with the OSErrors the system raises."""

from __future__ import annotations

import errno
import json
import os
import pathlib
from pathlib import Path

import pytest

import engine.cli.train as train_cli
import engine.project
import main
from engine.project import resources_dir


def _demo(tmp_path: Path) -> Path:
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"]["callbacks"] = []
    path = tmp_path / "digits.llproj"
    path.write_text(json.dumps(project))
    return path


def _one_error_line(err: str) -> str:
    assert err.startswith("layerlab train: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "Error:" not in err and ".tmp" not in err, err
    return err


def test_read_only_out_is_refused_before_training(tmp_path, capsys, monkeypatch):
    path = _demo(tmp_path)
    out = tmp_path / "results"
    real_mkdir = pathlib.Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self == out:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(pathlib.Path, "mkdir", mkdir)
    before = path.read_bytes()
    assert main.main(["train", str(path), "--epochs", "1", "--out", str(out)]) == 2
    captured = capsys.readouterr()
    err = _one_error_line(captured.err)
    assert f"Cannot write the results to {out}: the file system is read-only." in err
    assert "Training" not in captured.out  # refused before anything was trained
    assert path.read_bytes() == before and not (tmp_path / "runs").exists()


def test_full_disk_while_writing_results_is_a_plain_message(tmp_path, capsys, monkeypatch):
    path = _demo(tmp_path)
    out = tmp_path / "results"

    def full(target, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))

    monkeypatch.setattr(train_cli, "atomic_write_text", full)
    assert main.main(["train", str(path), "--epochs", "1", "--out", str(out)]) == 2
    err = _one_error_line(capsys.readouterr().err)
    assert "the disk is full. Free some space" in err and str(out) in err
    # the project is on another disk here: the run is still recorded, weights and all
    run = json.loads(path.read_text())["runs"][-1]
    assert (tmp_path / run["weights"]).is_file()


@pytest.mark.parametrize(
    ("code", "reason"), [(errno.EACCES, "permission denied"), (errno.ENOSPC, "the disk is full")]
)
def test_project_unwritable_during_the_run_keeps_no_weights(
    tmp_path, capsys, monkeypatch, code, reason
):
    path = _demo(tmp_path)
    before = path.read_bytes()

    def refuse(project, target, **kwargs):
        raise OSError(code, os.strerror(code), str(target))

    monkeypatch.setattr(engine.project, "save_project", refuse)
    assert main.main(["train", str(path), "--epochs", "1"]) == 2
    err = _one_error_line(capsys.readouterr().err)
    assert "The run was trained (its files are in" in err
    assert f"but not recorded in digits.llproj: {reason}." in err
    assert path.read_bytes() == before
    assert not (tmp_path / "runs").exists()  # no orphaned weights, no empty folder
    assert (tmp_path / "out" / "digits" / "model.h5").is_file()


def test_project_made_read_only_before_recording_writes_no_weights(tmp_path, capsys, monkeypatch):
    path = _demo(tmp_path)
    real_access = os.access
    checks = []

    def access(target, mode, *args, **kwargs):
        if Path(target) == path and mode == os.W_OK:
            checks.append(target)
            if len(checks) > 1:  # writable at the start, read-only by the end of the run
                return False
        return real_access(target, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    assert main.main(["train", str(path), "--epochs", "1"]) == 2
    err = _one_error_line(capsys.readouterr().err)
    assert "not recorded in digits.llproj: permission denied" in err
    assert not (tmp_path / "runs").exists()
