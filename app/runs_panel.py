"""The Runs panel the window docks: the runs table, the evaluation of a run, and exports.

``RunsPanel.set_project(project, project_path)`` shows the project's runs. The panel never
changes the project itself; it asks the window through signals:

- ``projectEdited(new_project)`` — a run renamed or deleted (make it an undo command or
  apply it; a deleted run's weights file is already gone);
- ``restoreRequested(run)`` — edit a copy of this run's settings (its snapshot);
- ``rerunRequested(run)`` — train again with this run's settings;
- ``overlayRequested([(key, label, history), ...])`` — the selected runs' per-epoch
  histories, for ``LiveCurves.add_overlay`` (an empty list clears them);
- ``statusMessage(text)`` — one line for the status bar (exports done, failures).

TensorFlow work (loading a run's model and dataset, evaluation, prediction, model and script
exports) runs on a worker thread (``app.loader.BackgroundTask``), one task at a time; the GUI
thread only draws. Call ``shutdown()`` before the window closes.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QMessageBox,
    QWidget,
)

from app import run_exports
from app.loader import BackgroundTask
from app.runs_panel_layout import build
from engine import run_compare
from engine import runs as records
from engine.identity_memo import IdentityMemo

PREVIOUS_RUN = "__previous__"


def _parameter_count(run: dict) -> int | None:
    """A run's parameter count, worked out only once the engine's Keras side is loaded (the
    window loads it in the background; until then only counts stored with runs show)."""
    loaded = hasattr(sys.modules.get("engine.spec"), "analyse")
    return run_compare.parameter_count(run, count=loaded)


class RunsPanel(QWidget):
    projectEdited = Signal(object)
    restoreRequested = Signal(object)
    rerunRequested = Signal(object)
    overlayRequested = Signal(object)
    statusMessage = Signal(str)
    evaluationFinished = Signal(object)  # (run id, Evaluation)
    taskFinished = Signal(str)  # the finished task's kind ("evaluate", "export", ...)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("runsPanel")
        self.project: dict = {"runs": []}
        self.project_path: Path | None = None
        self.curves = None
        self._base = PREVIOUS_RUN
        self._task: BackgroundTask | None = None
        self._task_kind = ""
        self._cancel = threading.Event()
        self._queued = None
        self._loaded: tuple[str, object, object] | None = None  # (run id, model, dataset)
        self._evaluations: dict[str, object] = {}
        self._changes_memo = IdentityMemo()
        self._shown_selection: tuple = ()  # the selected runs the side panel shows
        build(self)

    def side_by_side(self) -> bool:
        return self.splitter.side_by_side()

    # -- project -----------------------------------------------------------------------------

    def set_project(self, project: dict, project_path) -> None:
        """Show ``project``'s runs (``project_path``: where its ``runs/`` folder is)."""
        self.project = project
        self.project_path = Path(project_path) if project_path else None
        ids = {run.get("id") for run in self.runs()}
        self._evaluations = {k: v for k, v in self._evaluations.items() if k in ids}
        if self._loaded is not None and self._loaded[0] not in ids:
            self._loaded = None
        self._refresh_base_combo()
        self._refresh_table()

    def reset(self) -> None:
        """Another project is open: drop evaluations, the loaded model and the comparison
        base of the previous one (``set_project`` follows with the new runs)."""
        self._cancel.set()
        self._queued = None
        self._evaluations = {}
        self._loaded = None
        self._base = PREVIOUS_RUN
        self.evaluation.clear()
        self.inspect_flow.reset()

    def set_curves_widget(self, curves) -> None:
        """The ``LiveCurves`` whose plots the PNG / SVG exports write."""
        self.curves = curves

    def runs(self) -> list[dict]:
        return list(self.project.get("runs") or [])

    def run_by_id(self, run_id: str) -> dict | None:
        return next((run for run in self.runs() if run.get("id") == run_id), None)

    def selected_runs(self) -> list[dict]:
        chosen = set(self.table.selected_run_ids())
        return [run for run in self.runs() if run.get("id") in chosen]

    def current_run(self) -> dict | None:
        selected = self.selected_runs()
        return selected[-1] if selected else None

    def _refresh_table(self) -> None:
        runs = self.runs()
        base_id = None if self._base == PREVIOUS_RUN else self._base
        changes = records.compared_changes(runs, base_id, memo=self._changes_memo)
        metric = next((m for m in map(records.main_metric, reversed(runs)) if m), None)
        self.table.set_runs(runs, changes, metric, params=_parameter_count)
        self._update_buttons()
        selected = self.table.selected_run_ids()
        if self._selection_key(selected) != self._shown_selection:
            # a selected run renamed (or re-recorded) in place: the row kept its selection,
            # so no selection signal came; the overlays and the side panel follow it here
            self._on_selection_changed(selected)

    def _selection_key(self, run_ids: list[str]) -> tuple:
        chosen = set(run_ids)
        return tuple(
            (run.get("id"), run.get("name"), run.get("weights"), id(run.get("history")))
            for run in self.runs()
            if run.get("id") in chosen
        )

    def _refresh_base_combo(self) -> None:
        self.base_combo.blockSignals(True)
        self.base_combo.clear()
        self.base_combo.addItem("the previous run", PREVIOUS_RUN)
        for run in self.runs():
            self.base_combo.addItem(str(run.get("name")), run.get("id"))
        index = self.base_combo.findData(self._base)
        if index < 0:
            self._base = PREVIOUS_RUN
            index = 0
        self.base_combo.setCurrentIndex(index)
        self.base_combo.blockSignals(False)

    def _on_base_chosen(self, index: int) -> None:
        self._base = self.base_combo.itemData(index) or PREVIOUS_RUN
        self._refresh_table()

    def _update_buttons(self) -> None:
        selected = self.selected_runs()
        one = len(selected) == 1
        trained = one and bool(selected[0].get("weights")) and selected[0].get("status") != "failed"
        self.evaluate_button.setEnabled(trained)
        self.restore_button.setEnabled(one)
        self.rerun_button.setEnabled(one)
        self.delete_button.setEnabled(bool(selected))
        self.export_button.setEnabled(bool(selected))
        for kind in run_exports.MODEL_KINDS:
            self.export_actions[kind].setEnabled(trained)
        self.export_actions["script"].setEnabled(one)
        self.export_actions["png"].setEnabled(self.curves is not None)
        self.export_actions["svg"].setEnabled(self.curves is not None)

    # -- selection, rename, delete, restore --------------------------------------------------

    def _on_selection_changed(self, run_ids: list[str]) -> None:
        self._shown_selection = self._selection_key(run_ids)
        self._update_buttons()
        chosen = [run for run in self.runs() if run.get("id") in set(run_ids)]
        self.overlayRequested.emit(
            [(run["id"], str(run.get("name")), dict(run.get("history") or {})) for run in chosen]
        )
        run = chosen[-1] if chosen else None
        if run is None:
            self.evaluation.clear()
        elif run["id"] in self._evaluations:
            self.evaluation.show_evaluation(self._evaluations[run["id"]], str(run.get("name")))
        elif not run.get("weights"):
            self.evaluation.show_message(f"{run.get('name')} has no trained weights to evaluate.")
        else:
            self.evaluation.show_message(
                f"Press Evaluate to test {run.get('name')} on the dataset's test part."
            )

    def _on_double_clicked(self, index) -> None:
        if index.column() != 0:
            self.evaluate_selected()

    def _on_rename_requested(self, run_id: str, name: str) -> None:
        try:
            edited = records.rename_run(self.project, run_id, name)
        except Exception as error:
            self.statusMessage.emit(str(error))
            return
        self.projectEdited.emit(edited)

    def confirm_delete(self, names: list[str]) -> bool:
        """Ask before deleting (tests replace this)."""
        listed = ", ".join(names)
        answer = QMessageBox.question(
            self,
            "Delete runs" if len(names) > 1 else "Delete run",
            f"Delete {listed}? The recorded history and the trained weights file"
            f"{'s' if len(names) > 1 else ''} will be removed.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Yes

    def delete_selected(self) -> None:
        doomed = self.selected_runs()
        if not doomed or not self.confirm_delete([str(r.get("name")) for r in doomed]):
            return
        if self._loaded is not None and self._loaded[0] in {r["id"] for r in doomed}:
            self._loaded = None
        project = self.project
        try:
            for run in doomed:
                project = records.delete_run(project, run["id"], self.project_path)
        except Exception as error:
            self.statusMessage.emit(str(error))
            return
        self.projectEdited.emit(project)

    def _on_restore(self) -> None:
        run = self.current_run()
        if run is not None:
            self.restoreRequested.emit(run)

    def _on_rerun(self) -> None:
        run = self.current_run()
        if run is not None:
            self.rerunRequested.emit(run)

    # -- worker tasks ------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return self._task is not None and self._task.running

    def _start(self, kind: str, work, on_done) -> None:
        """Run ``work(cancelled)`` on the worker thread, then ``on_done(result)`` here.

        A request while a task runs cancels that task (``cancelled()`` turns True) and runs
        after it.
        """
        if self.busy:
            self._cancel.set()
            self._queued = (kind, work, on_done)
            return
        cancel = self._cancel = threading.Event()
        self._task_kind = kind
        self._on_done = on_done
        self._task = BackgroundTask(lambda: work(cancel.is_set), self)
        self._task.done.connect(self._on_task_done)
        self._task.failed.connect(self._on_task_failed)
        self._task.start()

    def _on_task_done(self, result) -> None:
        kind, on_done = self._task_kind, self._on_done
        cancelled = self._cancel.is_set()
        self._finish_task()
        if not cancelled:
            on_done(result)
        self.taskFinished.emit(kind)

    def _on_task_failed(self, message: str) -> None:
        kind = self._task_kind
        cancelled = self._cancel.is_set()
        self._finish_task()
        if not cancelled:
            if kind == "evaluate":
                self.evaluation.show_message(f"Evaluation failed: {message}")
            elif kind == "predict":
                self.evaluation.show_prediction(message)
            self.statusMessage.emit(message)
        self.taskFinished.emit(kind)

    def _finish_task(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.deleteLater()
        if self._queued is not None:
            queued, self._queued = self._queued, None
            self._start(*queued)

    def shutdown(self, milliseconds: int = 30_000) -> None:
        """Cancel the running task and wait for its thread (call before closing)."""
        self._queued = None
        self._cancel.set()
        if self._task is not None:
            self._task.wait(milliseconds)

    def _model_and_dataset(self, run: dict):
        """(model, dataset) of ``run``; called on the worker thread."""
        loaded = self._loaded
        if loaded is not None and loaded[0] == run["id"]:
            return loaded[1], loaded[2]
        return records.run_model(self.project_path, run), records.run_dataset(run)

    # -- evaluation and prediction -----------------------------------------------------------

    def evaluate_selected(self) -> None:
        run = self.current_run()
        if run is None or not run.get("weights"):
            return
        self.evaluate_run(run)

    def evaluate_run(self, run: dict) -> None:
        """Evaluate ``run`` on its dataset's test part, on the worker thread."""
        from engine import evaluation

        name = str(run.get("name"))
        self.evaluation.show_message(f"Evaluating {name}… (loading its model and data)")
        batch_size = int(((run.get("snapshot") or {}).get("fit") or {}).get("batch_size") or 32)

        def work(cancelled):
            model, dataset = self._model_and_dataset(run)
            result = evaluation.evaluate(model, dataset, batch_size, cancelled=cancelled)
            return run["id"], model, dataset, result

        def done(payload) -> None:
            run_id, model, dataset, result = payload
            self._loaded = (run_id, model, dataset)
            self._evaluations[run_id] = result
            current = self.current_run()
            if current is not None and current["id"] == run_id:
                self.evaluation.show_evaluation(result, name)
            stored = (self.run_by_id(run_id) or {}).get("test_metrics") or {}
            if result.metrics and stored != result.metrics:
                # The table's Test columns show what was just measured (a stopped run had none).
                self.projectEdited.emit(
                    records.set_test_metrics(self.project, run_id, result.metrics)
                )
            self.evaluationFinished.emit((run_id, result))

        self._start("evaluate", work, done)

    def predict(self, raw) -> None:
        """Predict on new input with the selected run's model (worker thread)."""
        run = self.current_run()
        if run is None or not run.get("weights"):
            self.evaluation.show_prediction("Select a trained run first.")
            return
        from engine import evaluation

        def work(cancelled):
            model, dataset = self._model_and_dataset(run)
            return run["id"], model, dataset, evaluation.predict_one(model, dataset, raw)

        def done(payload) -> None:
            run_id, model, dataset, prediction = payload
            self._loaded = (run_id, model, dataset)
            self.evaluation.show_prediction(prediction.text())

        self._start("predict", work, done)

    # -- exports -----------------------------------------------------------------------------

    def export_dialog(self, kind: str) -> None:
        """Ask where to write, then export (``kind``: a key of ``EXPORT_KINDS``)."""
        run_exports.export_dialog(self, kind)

    def export_to(self, kind: str, path) -> None:
        """Export without a dialog (curves and CSV at once, the rest on the worker thread)."""
        run_exports.export_to(self, kind, path)
