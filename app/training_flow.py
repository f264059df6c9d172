"""Training wiring: Train/Pause/Stop, live events to the views, recording runs, exports.

``TrainingFlow`` starts ``TrainingController`` runs on a deep copy of the document's
project, routes each ``TrainEvent`` to the curves, progress and log, and records a finished
run in the project (weights written on a ``BackgroundTask``). A run belongs to the document
it was started from: when another project is opened meanwhile (``document.generation``
changed), its result is neither recorded nor shown. The Runs panel's requests (rename,
delete, restore, re-run, overlays) come through here too.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from app.loader import BackgroundTask
from engine import overfitting
from engine.events import LayerOutputs, TrainEnd

OVERLAY_COLORS = ("#8e44ad", "#16a085", "#d35400", "#2c3e50", "#c0392b", "#7f8c8d")
EXPORT_SUFFIXES = (".h5", ".hdf5", ".keras")


class TrainingFlow(QObject):
    def __init__(self, window: Any):
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.controller = window.controller
        self.last_result: Any = None
        self._run_generation: int | None = None
        self._live_run_id: str | None = None  # the recorded run the live curves show
        self._tasks: set[BackgroundTask] = set()
        controller = self.controller
        controller.event.connect(self._on_event)
        controller.finished.connect(self._on_finished)
        controller.errored.connect(self._on_errored)
        controller.runningChanged.connect(self._on_running_changed)
        controller.pausedChanged.connect(self._on_paused_changed)
        panel = window.training_panel
        panel.settingsEdited.connect(self.document.set_training)
        panel.trainRequested.connect(self.train)
        panel.pauseRequested.connect(controller.pause)
        panel.resumeRequested.connect(controller.resume)
        panel.stopRequested.connect(self.stop)
        runs = window.runs_panel
        runs.projectEdited.connect(self._on_runs_edited)
        runs.restoreRequested.connect(self.restore_run)
        runs.rerunRequested.connect(self._on_rerun_requested)
        runs.overlayRequested.connect(self._on_overlays_requested)
        runs.statusMessage.connect(window.show_problem)

    # ------------------------------------------------------------------ controls
    def train(self) -> None:
        window = self.window
        if self.controller.is_running():
            return
        if not self.document.ready:
            QMessageBox.information(
                window, "Train", "TensorFlow is still loading; try again in a moment."
            )
            return
        error = self.document.stack_error()
        if error:
            QMessageBox.warning(window, "The model does not build", error)
            return
        if not self.document.layer_count() and not self.document.is_functional:
            QMessageBox.information(window, "Train", "Add layers to the model first.")
            return
        window.curves.clear()
        window.progress.reset()
        self.last_result = None
        self._live_run_id = None
        window.export_action.setEnabled(self.can_export())
        self._run_generation = self.document.generation
        path = self.document.path
        self.controller.start(
            copy.deepcopy(self.document.project),
            # callbacks' files (checkpoints, logs) go beside a saved project
            workdir=path.parent if path is not None else None,
            dataset=window.dataset_flow.cached(),
            project_path=path,
        )

    def toggle_pause(self) -> None:
        if self.controller.is_paused():
            self.controller.resume()
        else:
            self.controller.pause()

    def stop(self) -> None:
        self.controller.stop()

    def set_train_enabled(self, enabled: bool) -> None:
        """Train needs Keras: off while it loads (and while a run is going)."""
        enabled = enabled and not self.controller.is_running()
        self.window.train_action.setEnabled(enabled)
        self.window.training_panel.train_button.setEnabled(enabled)

    def _current(self) -> bool:
        """Whether the run reporting belongs to the open document (None: no run was started
        from this window yet, so events come from the one controller run there is)."""
        return self._run_generation is None or self._run_generation == self.document.generation

    # ------------------------------------------------------------------ events
    def _on_event(self, event: Any) -> None:
        if not self._current():
            return  # a run of a project that is no longer open
        window = self.window
        if isinstance(event, LayerOutputs):  # the inspect window's sample, this epoch
            window.runs_panel.inspect_flow.show_live(event)
            return
        window.curves.on_event(event)
        window.progress.on_event(event)
        window.log_view.on_event(event)
        if isinstance(event, TrainEnd) and event.history:
            self._mark_overfitting(event.history)
        device = getattr(event, "device", None)
        if device:
            window.device_label.setText(f"Device: {device}")

    def _on_finished(self, result: Any) -> None:
        if result is None or not self._current():
            return
        window = self.window
        self.last_result = result
        failed = getattr(result, "status", None) == "failed"
        window.export_action.setEnabled(self.can_export())
        message = getattr(result, "message", "") or "Training finished."
        window.statusBar().showMessage(message, 8000)
        if failed:
            self._show_failure(message)
        window.dataset_flow.keep_learned_vocabulary(getattr(result, "dataset", None))
        self._record_run(result)

    def _show_failure(self, message: str) -> None:
        """Say why a run failed (e.g. a dataset that is offline) without blocking the loop."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Training failed",
            message,
            QMessageBox.StandardButton.Ok,
            self.window,
        )
        box.setObjectName("runFailedDialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _on_errored(self, message: str) -> None:
        self._show_failure(message)

    def _on_running_changed(self, running: bool) -> None:
        window = self.window
        window.train_action.setEnabled(not running and self.document.ready)
        window.pause_action.setEnabled(running)
        window.stop_action.setEnabled(running)
        window.training_panel.set_running(running, self.controller.is_paused())
        self._attach_live(running)
        window.statusBar().showMessage(
            "Training…" if running else "Training ended", 0 if running else 5000
        )

    def _attach_live(self, running: bool) -> None:
        """The inspect window's layer outputs follow the run's epochs while it trains."""
        control = getattr(self.controller, "_control", None) if running else None
        live = None
        if control is not None:
            from engine.live_activations import request_of

            live = request_of(control)
        self.window.runs_panel.inspect_flow.attach_live(live)

    def _on_paused_changed(self, paused: bool) -> None:
        window = self.window
        window.pause_action.setText("&Resume" if paused else "&Pause")
        pixmap = window.style().StandardPixmap
        window.pause_action.setIcon(
            window.style().standardIcon(pixmap.SP_MediaPlay if paused else pixmap.SP_MediaPause)
        )
        window.progress.set_paused(paused)
        window.training_panel.set_running(self.controller.is_running(), paused)

    # ------------------------------------------------------------------ runs
    def _record_run(self, result: Any) -> None:
        """Record a finished run in the project; its weights are written in the background.
        A run that never trained a batch is not a run: the log says why instead."""
        from engine.runs import record_run, unrecorded_reason

        reason = unrecorded_reason(result)
        if reason is not None:
            self.window.log_view.append_line(reason, "warning")
            return
        project = copy.deepcopy(self.document.project)
        path = self.document.path
        task = BackgroundTask(lambda: record_run(project, result, path), self)
        task.generation = self.document.generation
        task.done.connect(self._on_run_recorded)
        task.failed.connect(self._on_run_record_failed)
        self._start_task(task)

    def _on_run_recorded(self, recorded: tuple[dict, dict]) -> None:
        task = self.sender()
        self._forget_task(task)
        if getattr(task, "generation", None) != self.document.generation:
            return
        _project, run = recorded
        self._live_run_id = run["id"]  # its curves are on screen already: no overlay of it
        self.document.replace_runs([*self.document.project.get("runs", []), run])
        self.window.runs_panel.table.select_runs([run["id"]])

    def _on_run_record_failed(self, message: str) -> None:
        self._forget_task(self.sender())
        QMessageBox.warning(self.window, "Run not recorded", message)

    def _on_runs_edited(self, project: dict) -> None:
        self.document.replace_runs(project.get("runs", []))

    def restore_run(self, run: dict) -> bool:
        """Make the run's model, dataset and training settings the current ones (undoable)."""
        snapshot = run.get("snapshot") or {}
        sections = {
            key: copy.deepcopy(snapshot[key])
            for key in ("model", "dataset", "compile", "fit")
            if key in snapshot
        }
        if not sections:
            self.window.statusBar().showMessage(
                f"{run.get('name', 'The run')} has no recorded settings to edit.", 8000
            )
            return False
        self.document.edit(f"Restore {run.get('name', 'run')}", sections, select_after=0)
        # say what happened and show it (the button changed the editor out of sight)
        self.window.tabs.setCurrentWidget(self.window.builder_splitter)
        self.window.statusBar().showMessage(
            f"The editor now holds {run.get('name', 'the run')}'s model, dataset and training "
            "settings (Ctrl+Z undoes).",
            10000,
        )
        return True

    def _on_rerun_requested(self, run: dict) -> None:
        self.restore_run(run)
        self.train()

    def _mark_overfitting(self, history: dict) -> None:
        """Mark the finished run's overfitting epoch on the curves and warn in the log."""
        from widgets.live_curves import LIVE_MARK

        hint = overfitting.detect(history)
        if hint is None:
            return
        self.window.curves.mark_epoch(
            LIVE_MARK, hint.epoch + 1, f"overfitting after epoch {hint.epoch + 1}"
        )
        self.window.log_view.append_line(hint.message, "warning")

    def _on_overlays_requested(self, overlays: list) -> None:
        curves = self.window.curves
        curves.clear_overlays()
        hints = {run.get("id"): run.get("overfitting") for run in self.window.runs_panel.runs()}
        overlays = [item for item in overlays if item[0] != self._live_run_id]
        for number, (key, label, history) in enumerate(overlays):
            color = OVERLAY_COLORS[number % len(OVERLAY_COLORS)]
            snapshot = (self.window.runs_panel.run_by_id(key) or {}).get("snapshot") or {}
            loss = (snapshot.get("compile") or {}).get("loss")
            curves.add_overlay(key, label, history, color, loss=loss)
            hint = hints.get(key)
            if isinstance(hint, dict) and "epoch" in hint:
                epoch = int(hint["epoch"]) + 1
                curves.mark_epoch(key, epoch, f"{label}: overfitting after epoch {epoch}")

    # ------------------------------------------------------------------ export
    def _live_model(self) -> Any:
        if getattr(self.last_result, "status", None) == "failed":
            return None
        return getattr(self.last_result, "model", None)

    def _trained_run(self) -> dict | None:
        """The selected run with trained weights, else the latest one (None: none)."""
        panel = self.window.runs_panel
        current = panel.current_run()
        trained = [
            run
            for run in self.document.project.get("runs") or []
            if run.get("weights") and run.get("status") != "failed"
        ]
        if current is not None and current in trained:
            return current
        return trained[-1] if trained else None

    def can_export(self) -> bool:
        """File › Export Trained Model has something to write: the model trained in this
        session, or a recorded run's weights (after reopening a project it was greyed out
        while the Runs panel could export)."""
        return self._live_model() is not None or self._trained_run() is not None

    def export_model(self) -> None:
        window = self.window
        model = self._live_model()
        if model is None:
            run = self._trained_run()
            if run is None:
                QMessageBox.information(
                    window,
                    "Export model",
                    "Train the model first; then its trained weights can be exported.",
                )
                return
            window.runs_panel.table.select_runs([run["id"]])
            window.runs_panel.export_dialog("h5")  # the run's recorded weights
            return
        path, _filter = QFileDialog.getSaveFileName(
            window,
            "Export trained model",
            str(Path(window.settings.last_folder()) / "model.h5"),
            "Keras HDF5 (*.h5 *.hdf5);;Keras v3 (*.keras)",
        )
        if not path:
            return
        target = Path(path)
        if target.suffix.lower() not in EXPORT_SUFFIXES:
            target = target.with_name(target.name + ".h5")
        from engine.modelfile import save_model

        task = BackgroundTask(lambda: save_model(model, target), self)
        task.done.connect(self._on_export_done)
        task.failed.connect(self._on_export_failed)
        task.path = target
        window.statusBar().showMessage(f"Exporting {target.name}…")
        self._start_task(task)

    def _on_export_done(self, _result) -> None:
        task = self.sender()
        self._forget_task(task)
        self.window.statusBar().showMessage(f"Exported {getattr(task, 'path', '')}", 6000)

    def _on_export_failed(self, message: str) -> None:
        self._forget_task(self.sender())
        QMessageBox.warning(self.window, "Cannot export", message)

    # ------------------------------------------------------------------ lifetime
    def reset(self) -> None:
        """Another document: the last run's model and result are not its own."""
        self.last_result = None
        self._live_run_id = None
        self.window.export_action.setEnabled(self.can_export())
        if self._run_generation is not None:
            self._run_generation = -1  # what the previous document's run still sends is dropped

    def _start_task(self, task: BackgroundTask) -> None:
        self._tasks.add(task)
        task.start()

    def _forget_task(self, task) -> None:
        self._tasks.discard(task)
        if task is not None:
            task.deleteLater()

    def shutdown(self) -> None:
        if self.controller.is_running():
            self.window.statusBar().showMessage("Stopping the training run…")
            QApplication.processEvents()
        self.controller.shutdown()
        for task in list(self._tasks):
            task.wait()
