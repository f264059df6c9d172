"""``layerlab runs`` / ``layerlab evaluate`` on a project with recorded digits runs."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from engine.cli import evaluate as evaluate_command
from engine.cli import runs as runs_command
from engine.errors import LayerLabError
from engine.project import load_project

ROOT = Path(__file__).resolve().parents[2]


def parse(module, argv):
    parser = argparse.ArgumentParser()
    module.add_arguments(parser)
    return parser.parse_args(argv)


def test_runs_and_evaluate_print_without_importing_qt(recorded_project, tmp_path):
    script = textwrap.dedent(
        """
        import argparse, sys
        from engine.cli import evaluate, runs
        for module, argv in ((runs, [sys.argv[1]]), (evaluate, [sys.argv[1], "--run", "Run 1"])):
            parser = argparse.ArgumentParser()
            module.add_arguments(parser)
            assert module.run(parser.parse_args(argv)) == 0
        qt = [m for m in sys.modules if m.split(".")[0] in ("PySide6", "pyqtgraph", "superqt")]
        print("QT MODULES:", qt)
        """
    )
    env = dict(os.environ, KERAS_HOME=str(tmp_path), COLUMNS="200")
    env.pop("QT_QPA_PLATFORM", None)
    finished = subprocess.run(
        [sys.executable, "-c", script, str(recorded_project)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    out = finished.stdout
    assert "QT MODULES: []" in out
    table, report = out.split("Run 1 (completed", 1)
    lines = table.splitlines()
    header = (
        "run status epochs best val_loss best val_accuracy final val_accuracy test accuracy "
        "params time changes"
    )
    assert lines[0].split() == header.split()
    assert lines[2].startswith("Run 1  completed  2 ") and lines[2].rstrip().endswith("—")
    assert " 4,810 " in lines[2]  # the demo MLP's parameter count
    assert lines[3].startswith("Run 2") and lines[3].rstrip().endswith("fit.batch_size 32 → 64")
    recorded = load_project(recorded_project)["runs"][0]["test_metrics"]
    assert f"  accuracy: {recorded['accuracy']:.6g}" in report
    assert f"  loss: {recorded['loss']:.6g}" in report
    assert "confusion matrix" in report and "precision" in report


def test_runs_table_in_process_and_errors(recorded_project, capsys):
    assert runs_command.run(parse(runs_command, [str(recorded_project), "--base", "Run 2"])) == 0
    out = capsys.readouterr().out
    assert "changes vs Run 2" in out and "fit.batch_size 64 → 32" in out
    empty = runs_command.runs_table({"runs": []})
    assert "No runs recorded yet" in empty
    with pytest.raises(LayerLabError, match="no run named 'missing'"):
        evaluate_command.run(parse(evaluate_command, [str(recorded_project), "--run", "missing"]))


def test_runs_tidy_exports_and_a_narrow_terminal(recorded_project, tmp_path, capsys):
    import json

    out_csv, out_json = tmp_path / "runs.csv", tmp_path / "runs.json"
    argv = [str(recorded_project), "--csv", str(out_csv), "--json", str(out_json), "--no-params"]
    assert runs_command.run(parse(runs_command, argv)) == 0
    printed = capsys.readouterr().out
    assert "Wrote" in printed and str(out_csv) in printed and "best val_loss" in printed
    header = out_csv.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:5] == ["run", "run_id", "epoch", "metric", "value"]
    assert {"optimizer", "learning_rate", "batch_size", "epochs", "loss", "params"} <= set(header)
    records = json.loads(out_json.read_text(encoding="utf-8"))
    assert {row["batch_size"] for row in records} == {32, 64}
    assert len(records) == len(out_csv.read_text(encoding="utf-8").splitlines()) - 1
    assert runs_command.run(parse(runs_command, [str(recorded_project), "--csv", "-"])) == 0
    assert capsys.readouterr().out.startswith("run,run_id,epoch,metric,value")
    narrow = runs_command.runs_table(load_project(recorded_project), width=80, count_params=False)
    assert max(len(line) for line in narrow.splitlines()) <= 80
    assert "fit.batch_size 32 → 64" in narrow.replace("\n", " ")
