"""``main.py train`` records its runs in the project: ``runs`` compares them, ``evaluate`` finds
them; ``--no-record`` leaves the project file alone."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import main
from engine.project import load_project, resources_dir


def _demo(tmp_path: Path) -> Path:
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"]["callbacks"] = []
    path = tmp_path / "digits.llproj"
    path.write_text(json.dumps(project))
    return path


def _set_batch_size(path: Path, size: int) -> None:
    """Edit the saved project as a user would between two runs (its runs stay)."""
    project = json.loads(path.read_text())
    project["fit"]["batch_size"] = size
    path.write_text(json.dumps(project))


def test_two_cli_runs_are_recorded_compared_and_evaluated(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    path = _demo(tmp_path)
    assert main.main(["train", str(path), "--epochs", "1"]) == 0
    first = capsys.readouterr().out
    assert "Recorded as 'Run 1' in digits.llproj, weights in runs/" in first
    _set_batch_size(path, 64)
    arguments = ["train", str(path), "--epochs", "1", "--name", " bigger batch "]
    assert main.main(arguments) == 0
    capsys.readouterr()

    project = load_project(path)
    names = [run["name"] for run in project["runs"]]
    assert names == ["Run 1", "bigger batch"]
    for run in project["runs"]:
        assert (tmp_path / run["weights"]).stat().st_size > 0
        assert run["weights"] == f"runs/{run['id']}.h5"
        assert run["status"] == "completed" and run["epochs_completed"] == 1
        assert run["snapshot"]["fit"]["epochs"] == 1  # what ran, not the project's 15
        assert run["snapshot"]["dataset"] == {"source": "sample", "name": "digits"}
    assert project["fit"]["batch_size"] == 64  # the edit made between the runs is kept
    # The README's outputs are still written, for the last run.
    out = tmp_path / "out" / "digits"
    assert {p.name for p in out.iterdir()} >= {"model.h5", "history.csv", "metrics.json"}

    assert main.main(["runs", str(path)]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[2].startswith("Run 1 ") and rows[2].rstrip().endswith("—")
    assert rows[3].startswith("bigger batch ")
    assert rows[3].rstrip().endswith("  fit.batch_size 32 → 64")

    assert main.main(["evaluate", str(path)]) == 0
    report = capsys.readouterr().out
    assert report.startswith("bigger batch (completed, 1 epochs) on the test part of digits")
    printed = re.search(r"^  accuracy: ([0-9.]+)$", report, re.MULTILINE)
    recorded = project["runs"][-1]["test_metrics"]["accuracy"]
    assert printed and float(printed.group(1)) == pytest.approx(recorded, abs=1e-5)


def test_no_record_leaves_the_project_file_untouched(tmp_path, capsys):
    path = _demo(tmp_path)
    before = path.read_bytes()
    out = tmp_path / "results"
    assert main.main(["train", str(path), "--epochs", "1", "--no-record", "--out", str(out)]) == 0
    assert "Recorded" not in capsys.readouterr().out
    assert path.read_bytes() == before
    assert not (tmp_path / "runs").exists() and (out / "model.h5").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--name", "  "], "--name needs a name"),
        (["--name", "x", "--no-record"], "leave out --no-record"),
    ],
)
def test_bad_name_is_refused_before_training(tmp_path, capsys, extra, message):
    path = _demo(tmp_path)
    assert main.main(["train", str(path), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
