"""The Runs panel with pytest-qt: table model, overlays, rename/delete, evaluation off the
GUI thread, prediction and exports."""

from __future__ import annotations

import shutil
import threading

import numpy as np
import pytest
from PySide6.QtCore import QElapsedTimer, Qt, QTimer

from app.runs_panel import RunsPanel
from engine import evaluation, runs
from engine.project import load_project
from widgets.evaluation_view import parse_raw_input
from widgets.run_table import SORT_ROLE, RunTableModel


@pytest.fixture
def project_copy(recorded_project, tmp_path):
    """A private copy of the recorded project folder (tests here delete runs)."""
    folder = tmp_path / "copy"
    shutil.copytree(recorded_project.parent, folder)
    return folder / recorded_project.name


@pytest.fixture
def panel(qtbot, project_copy):
    widget = RunsPanel()
    qtbot.addWidget(widget)
    widget.set_project(load_project(project_copy), project_copy)
    widget.resize(1000, 700)
    widget.show()
    yield widget
    widget.shutdown()


def test_run_table_model_passes_qt_checks(qtmodeltester, recorded_project):
    project = load_project(recorded_project)
    model = RunTableModel()
    model.set_runs(project["runs"], runs.compared_changes(project["runs"]), "accuracy")
    qtmodeltester.check(model)
    assert model.columns()[:7] == [
        "Name",
        "Best val_loss",
        "Best val_accuracy",
        "Changes",
        "Test accuracy",
        "Epochs",
        "Status",
    ]
    changes = model.index(1, model.columns().index("Changes"))
    assert model.data(changes) == "fit.batch_size 32 → 64"
    assert model.data(model.index(0, model.column_of("epochs")), SORT_ROLE) == 2


def test_table_rows_sorting_and_overlays(qtbot, panel):
    table = panel.table
    assert table.objectName() == "runTable"
    assert table.model().rowCount() == 2
    column = table.run_model.columns().index("Best val_loss")
    table.sortByColumn(column, Qt.SortOrder.DescendingOrder)
    first = table.model().index(0, column).data(SORT_ROLE)
    second = table.model().index(1, column).data(SORT_ROLE)
    assert first >= second
    with qtbot.waitSignal(panel.overlayRequested) as blocker:
        table.select_runs([run["id"] for run in panel.runs()])
    overlays = blocker.args[0]
    assert [label for _, label, _ in overlays] == ["Run 1", "Run 2"]
    assert overlays[0][2]["val_loss"] == panel.runs()[0]["history"]["val_loss"]
    with qtbot.waitSignal(panel.overlayRequested) as blocker:
        table.clearSelection()
    assert blocker.args[0] == []
    panel.base_combo.setCurrentIndex(panel.base_combo.findText("Run 2"))
    changes = table.run_model.columns().index("Changes")
    assert table.run_model.data(table.run_model.index(0, changes)) == "fit.batch_size 64 → 32"


def test_rename_delete_restore_rerun(qtbot, panel, project_copy, monkeypatch):
    first, second = panel.runs()
    model = panel.table.run_model
    with qtbot.waitSignal(panel.projectEdited) as blocker:
        model.setData(model.index(0, 0), "baseline")
    assert [r["name"] for r in blocker.args[0]["runs"]] == ["baseline", "Run 2"]
    panel.table.select_runs([second["id"]])
    with qtbot.waitSignal(panel.restoreRequested) as blocker:
        panel.restore_button.click()
    assert blocker.args[0]["id"] == second["id"]
    with qtbot.waitSignal(panel.rerunRequested) as blocker:
        panel.rerun_button.click()
    assert blocker.args[0]["snapshot"]["fit"]["batch_size"] == 64
    weights = runs.weights_path(project_copy, second)
    assert weights.is_file()
    monkeypatch.setattr(panel, "confirm_delete", lambda names: False)
    with qtbot.assertNotEmitted(panel.projectEdited):
        panel.delete_button.click()
    assert weights.is_file()
    monkeypatch.setattr(panel, "confirm_delete", lambda names: names == ["Run 2"])
    with qtbot.waitSignal(panel.projectEdited) as blocker:
        panel.delete_button.click()
    assert [r["id"] for r in blocker.args[0]["runs"]] == [first["id"]]
    assert not weights.exists()


def test_evaluation_runs_off_the_gui_thread_and_shows_its_views(qtbot, panel, monkeypatch):
    threads = []
    real_evaluate = evaluation.evaluate

    def spy(*args, **kwargs):
        threads.append(threading.get_ident())
        return real_evaluate(*args, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", spy)
    run = panel.runs()[0]
    panel.table.select_runs([run["id"]])
    ticks = []
    clock = QElapsedTimer()
    clock.start()
    probe = QTimer()
    probe.setInterval(10)
    probe.timeout.connect(lambda: ticks.append(clock.elapsed()))
    probe.start()
    with qtbot.waitSignal(panel.evaluationFinished, timeout=120_000) as blocker:
        panel.evaluate_button.click()
        assert panel.busy  # the click returned while the work goes on
    probe.stop()
    assert threads and threads[0] != threading.get_ident()
    assert len(ticks) >= 3  # the GUI event loop kept turning during the evaluation
    run_id, result = blocker.args[0]
    assert run_id == run["id"]
    view = panel.evaluation
    assert view.page_titles()[:2] == ["Confusion matrix", "Per class"]
    counts = [int(text) for text in view.confusion_cell_texts()]
    assert len(counts) == 100 and sum(counts) == result.samples
    assert result.metrics["accuracy"] == pytest.approx(run["test_metrics"]["accuracy"])
    assert view.class_table.rowCount() == 10
    assert view.gallery.rowCount() == evaluation.GALLERY_SIZE
    assert not view.gallery.item(0, 0).icon().isNull()  # digits are thumbnails
    # predict on a new input: 64 pixel values
    view.predict_input.setPlainText(", ".join(["8"] * 64))
    with qtbot.waitSignal(panel.taskFinished, timeout=60_000):
        view.predict_button.click()
    assert view.prediction_label.text().startswith("Predicted: ")


def test_evaluating_a_run_without_test_metrics_fills_its_test_column(qtbot, panel):
    """Seen under Xvfb: Evaluate on a stopped run showed accuracy 0.936 but the table's Test
    column stayed "—"."""
    run = panel.runs()[0]
    project = {**panel.project, "runs": [dict(r, test_metrics=None) for r in panel.runs()]}
    panel.set_project(project, panel.project_path)
    edits = []
    panel.projectEdited.connect(edits.append)
    panel.table.select_runs([run["id"]])
    with qtbot.waitSignal(panel.evaluationFinished, timeout=120_000) as blocker:
        panel.evaluate_button.click()
    _run_id, result = blocker.args[0]
    assert edits, "the evaluation was not stored with the run"
    stored = next(r for r in edits[-1]["runs"] if r["id"] == run["id"])
    assert stored["test_metrics"] == pytest.approx(result.metrics)
    # Evaluating again with the same result changes nothing.
    panel.set_project(edits[-1], panel.project_path)
    with qtbot.waitSignal(panel.evaluationFinished, timeout=120_000):
        panel.evaluate_button.click()
    assert len(edits) == 1


def test_exports_write_files(qtbot, panel, project_copy):
    run = panel.runs()[1]
    panel.table.select_runs([run["id"]])
    csv_path = project_copy.parent / "history.csv"
    panel.export_to("csv", csv_path)
    assert csv_path.read_text().splitlines()[0].startswith("run,epoch,")
    script = project_copy.parent / "run.py"
    with qtbot.waitSignal(panel.taskFinished, timeout=60_000):
        panel.export_to("script", script)
    assert "BATCH_SIZE = 64" in script.read_text()
    model_path = project_copy.parent / "exported.h5"
    with qtbot.waitSignal(panel.statusMessage, timeout=60_000) as blocker:
        panel.export_to("h5", model_path)
    assert blocker.args[0] == f"Wrote {model_path}."
    assert model_path.stat().st_size > 0


def test_raw_input_parsing():
    assert parse_raw_input("1, 2.5;3") == [1.0, 2.5, 3.0]
    assert parse_raw_input("age=3, city=Paris") == {"age": 3.0, "city": "Paris"}
    assert parse_raw_input("a great film") == "a great film"
    assert parse_raw_input("   ") is None
    assert np.allclose(parse_raw_input("1 2\n3"), [1, 2, 3])


def test_regression_views_and_overfitting_hint_in_the_row(qtbot):
    from widgets.evaluation_view import EvaluationView

    view = EvaluationView()
    qtbot.addWidget(view)
    t = np.linspace(0, 10, 200)
    stats = evaluation.regression_stats(t, t + np.sin(t), baseline_mae=1.5)
    result = evaluation.Evaluation(
        task="regression", metrics={"loss": 0.5}, samples=200, regression=stats
    )
    view.show_evaluation(result, "Run 9")
    assert view.page_titles() == [
        "Predicted vs true",
        "Residuals",
        "Gallery",
        "Predict",
    ]
    assert "naive baseline MAE 1.5" in view.summary.text()
    xs, ys = view.identity_line.getData()
    assert list(xs) == list(ys)  # the y = x line
    assert view.residual_bars is not None
    model = RunTableModel()
    hint = {"epoch": 4, "epochs_rising": 6, "message": "Overfitting: val_loss has risen"}
    model.set_runs([{"id": "a", "name": "Run 1", "overfitting": hint, "status": "completed"}], {})
    cell = model.index(0, model.columns().index("Hint"))
    assert model.data(cell) == "⚠ overfitting after epoch 5"
    assert model.data(cell, Qt.ItemDataRole.ToolTipRole) == hint["message"]
