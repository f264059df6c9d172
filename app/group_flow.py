"""Groups from the window: Training › Repeat with N Seeds… and K-fold Cross-validation….

``GroupFlow(window, run_group=None, pool=None)`` adds the two actions
(``window.repeat_action``, ``window.kfold_action``). Each asks N (or k) and the workers in a
small dialog, makes sure the project is saved (the members train the saved file), and runs
``engine.groups.run_group`` in a ``BackgroundJob`` thread: the curves and progress follow
one member at a time, the status says "Member 2 of 5 (1 running)"; at the end the
members' runs and the group (``project["groups"]``) are merged from the file into the
document: the runs table shows the group as one row with mean ± std, the Compare
workspace as a mean line with a ±1 std band.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QMessageBox,
    QSpinBox,
    QWidget,
)

from app.model_jobs import (
    BACKGROUND_POOL,
    BackgroundJob,
    ask_to_stop,
    ensure_saved,
    job_sink_event,
    merge_from_disk,
)
from app.search_panel import default_workers


class GroupDialog(QDialog):
    """N seeds (or k folds) and the workers (objectName ``groupDialog``)."""

    def __init__(self, kind: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("groupDialog")
        self.kind = kind
        kfold = kind == "kfold"
        self.setWindowTitle("K-fold cross-validation" if kfold else "Repeat with N seeds")
        form = QFormLayout(self)
        note = QLabel(
            "Each fold trains on k−1 parts of the training and validation data and validates "
            "on the remaining part; the test part is untouched."
            if kfold
            else "The same model and settings trained with seeds 0, 1, 2 …: how much of a "
            "result is luck."
        )
        note.setWordWrap(True)
        form.addRow(note)
        self.size_spin = QSpinBox()
        self.size_spin.setObjectName("groupSize")
        self.size_spin.setRange(2, 100)
        self.size_spin.setValue(5 if kfold else 3)
        self.workers_spin = QSpinBox()
        self.workers_spin.setObjectName("groupWorkers")
        self.workers_spin.setRange(1, 64)
        self.workers_spin.setValue(default_workers())
        form.addRow("&k:" if kfold else "&Seeds:", self.size_spin)
        form.addRow("&Workers:", self.workers_spin)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)


class GroupFlow(QObject):
    def __init__(self, window: Any, *, run_group=None, pool: Any = None):
        super().__init__(window)
        self.window = window
        self.document = window.document
        self._run_group = run_group
        self.pool = pool
        self.job = BackgroundJob(self)
        window.files.writers.append(self.job.is_running)  # its writes are not read back
        self.group: dict | None = None
        self._generation: int | None = None
        self._shown: str | None = None
        self._running: set[str] = set()
        self._done = 0
        self._size = 0
        window.repeat_action = QAction("Repeat with &N Seeds…", window)
        window.repeat_action.setObjectName("repeatAction")
        window.repeat_action.triggered.connect(lambda: self.ask("repeat"))
        window.kfold_action = QAction("&K-fold Cross-validation…", window)
        window.kfold_action.setObjectName("kfoldAction")
        window.kfold_action.triggered.connect(lambda: self.ask("kfold"))
        self.job.event.connect(self._on_event)
        self.job.errored.connect(self._on_errored)
        self.job.finished.connect(self._on_finished)
        self.job.runningChanged.connect(self._on_running_changed)
        self.document.reset.connect(self.reset)

    def is_running(self) -> bool:
        return self.job.is_running()

    def ask(self, kind: str) -> bool:
        dialog = GroupDialog(kind, self.window)
        accepted = dialog.exec() == 1
        size, workers = dialog.size_spin.value(), dialog.workers_spin.value()
        dialog.deleteLater()
        return accepted and self.start(kind, size, workers)

    def start(self, kind: str, size: int, workers: int = 1, epochs: int | None = None) -> bool:
        window = self.window
        if self.is_running() or window.controller.is_running():
            QMessageBox.information(window, "Group", "Wait for the running training to end.")
            return False
        search = getattr(window, "search", None)
        if search is not None and search.is_running():
            QMessageBox.information(window, "Group", "Wait for the search to end.")
            return False
        title = "K-fold cross-validation" if kind == "kfold" else "Repeat with seeds"
        if not ensure_saved(window, title):
            return False
        run = self._run_group
        if run is None:
            from engine.groups import run_group as run
        path, pool = self.document.path, self.pool

        def work(sink, stop):
            return run(
                path,
                kind,
                size,
                workers=workers,
                epochs=epochs,
                sink=sink,
                stop=stop,
                pool=pool,
                pool_options=BACKGROUND_POOL,
            )

        self.group = None
        self._generation = self.document.generation
        self._shown = None
        self._running = set()
        self._done = 0
        self._size = size
        window.curves.clear()
        window.progress.reset()
        self._status(f"{title}: starting {size} runs…")
        return self.job.start(work)

    def stop(self) -> None:
        self.job.stop()

    def may_stop(self) -> bool:
        if not self.is_running():
            return True
        question = "Repeats or folds are training. Stop them and open another project?"
        return ask_to_stop(self.window, "A group is training", question) and self.job.shutdown()

    def shutdown(self) -> None:
        self.job.shutdown()

    def reset(self) -> None:
        self.group = None
        self._generation = -1 if self._generation is not None else None

    def _current(self) -> bool:
        return self._generation == self.document.generation

    def _on_event(self, job_id: str, event: Any) -> None:
        if not self._current():
            return
        name = type(event).__name__
        if name == "JobStarted":
            self._running.add(job_id)
        elif name == "JobFinished":
            self._running.discard(job_id)
            self._done += 1
            if job_id == self._shown:
                self._shown = None
        elif name == "TrainBegin" and self._shown is None:
            self._shown = job_id
        if job_id == self._shown and job_sink_event(event):
            self.window.curves.on_event(event)
            self.window.progress.on_event(event)
        if name in ("JobStarted", "JobFinished"):
            self._status(self.progress_text())

    def progress_text(self) -> str:
        running = len(self._running)
        text = f"Member {min(self._done + max(running, 1), self._size)} of {self._size}"
        return text + (f" ({running} running)" if running else "")

    def _on_errored(self, message: str) -> None:
        if self._current():
            QMessageBox.warning(self.window, "Group", message)

    def _on_finished(self, group: Any) -> None:
        if not self._current():
            return
        self.group = group
        merge_from_disk(self.window)
        if isinstance(group, dict):
            self._status(f"Group “{group.get('name')}”: {len(group.get('runs') or [])} runs.")
            self.window.progress.show_done(
                f"Group “{group.get('name')}” finished: {len(group.get('runs') or [])} runs"
            )
            members = list(group.get("runs") or [])
            if members:
                self.window.runs_panel.table.select_runs(members)

    def _on_running_changed(self, running: bool) -> None:
        for action in (self.window.repeat_action, self.window.kfold_action):
            action.setEnabled(not running)
        self.window.statusBar().showMessage(
            "Training a group…" if running else "Group ended", 0 if running else 5000
        )

    def _status(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 0 if self.is_running() else 8000)
        self.window.progress.setToolTip(text)
