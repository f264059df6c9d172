"""Opening a Keras model file (``.h5``/``.keras``) in the window as an unsaved project.

``ModelFileOpener(files).open(path)`` imports the file in a ``BackgroundTask``
(``engine.model_import``: its model, compile settings, trained weights as the project's
initial weights, the dataset it was most likely trained on, and an "Imported from …" run)
and puts the project into the window through its ``FileController``; a file that cannot be
opened gets a plain message and changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox

from app.loader import BackgroundTask


class ModelFileOpener(QObject):
    def __init__(self, files: Any):
        super().__init__(files)
        self.files = files

    def open(self, path: Path) -> None:
        files = self.files
        files._status(f"Opening {path.name}…", 0)
        task = BackgroundTask(lambda: import_for_window(path), self)
        task.done.connect(self._on_loaded)
        task.failed.connect(self._on_failed)
        task.path = path
        files.start_task(task)

    def _on_loaded(self, result: tuple[dict, list[str]]) -> None:
        """The model file as an unsaved project; the log lists what was translated and
        where the settings came from; its run is selected, ready to evaluate."""
        files = self.files
        window = files.window
        task = self.sender()
        path = getattr(task, "path", Path("model.h5"))
        files.forget_task(task)
        project, notes = result
        files._put(project, None, name=path.name, stem=path.stem)
        files.settings.add_recent_file(path)
        for line in notes:
            window.log_view.append_line(line)
        runs = project.get("runs") or []
        if runs:
            window.runs_panel.table.select_runs([runs[-1]["id"]])
        window.select_layer(0 if files.document.layer_count() else -1)
        weights = "with its trained weights" if project.get("weights") else "without weights"
        files._status(
            f"Opened {path.name} {weights}; its run can be evaluated now (Runs › Evaluate).",
            10000,
        )

    def _on_failed(self, message: str) -> None:
        files = self.files
        files.forget_task(self.sender())
        files.window.statusBar().clearMessage()
        QMessageBox.warning(files.parent_widget, "Cannot open model", message)


def import_for_window(path: Path) -> tuple[dict, list[str]]:
    """(unsaved project, log lines) for a model file; runs in a background thread."""
    from engine.model_import import dataset_note, import_model_file, imported_project

    imported = import_model_file(path)
    project = imported_project(imported, None)
    notes = list(imported.note)
    if not imported.functional:
        notes.append(dataset_note(imported))
    return project, notes
