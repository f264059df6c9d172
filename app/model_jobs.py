"""Work that runs many models, from the window: a job thread and the project file it fills.

``BackgroundJob`` runs ``function(sink, stop)`` in a QThread (the GUI thread never waits on
it): ``event(job_id, event)`` for each sink call, ``errored(message)`` if it raised, then
always ``finished(result)`` (None after an error) and ``runningChanged(False)``.

Searches and groups (``app.search_flow``, ``app.group_flow``) write their runs into the
project file as they finish; ``merge_recorded`` puts a search's trial runs (carried by its
events) into the document, ``merge_from_disk`` whatever the file holds (at the end).
``ensure_saved`` asks for a saved project first; ``job_sink_event`` tells training events
from the worker pool's own.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot
from PySide6.QtWidgets import QMessageBox

from engine.errors import LayerLabError
from engine.worker import BACKGROUND_NICE

# The window's searches and groups: their worker processes yield the CPU to the window.
BACKGROUND_POOL = {"nice": BACKGROUND_NICE}

_WORKER_EVENTS = (
    "JobStarted",
    "JobResult",
    "JobFinished",
    "TrialFinished",
    "SearchFinished",
)


# --- a function in a thread, reporting through signals ----------------------------------------


class _Worker(QObject):
    event = Signal(str, object)
    errored = Signal(str)
    done = Signal(object)

    def __init__(self, function: Callable, stop: threading.Event):
        super().__init__()
        self._function = function
        self._stop = stop

    def _sink(self, job_id: str, event: Any) -> None:
        self.event.emit(job_id, event)

    @Slot()
    def run(self) -> None:
        result = None
        try:
            result = self._function(self._sink, self._stop)
        except BaseException as error:  # the thread must never die with an exception
            text = str(error).strip() or type(error).__name__
            if not isinstance(error, LayerLabError):
                traceback.print_exception(error)
            self.errored.emit(text)
        finally:
            QThread.currentThread().quit()
            self.moveToThread(QCoreApplication.instance().thread())
            self.done.emit(result)


class BackgroundJob(QObject):
    """One long engine call (a search, a group) at a time, in its own QThread."""

    event = Signal(str, object)
    errored = Signal(str)
    finished = Signal(object)
    runningChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: _Worker | None = None
        self._stop: threading.Event | None = None

    def is_running(self) -> bool:
        return self._worker is not None

    def start(self, function: Callable[[Callable, threading.Event], Any]) -> bool:
        if self.is_running():
            return False
        stop = threading.Event()
        worker = _Worker(function, stop)
        thread = QThread()
        thread.setObjectName("LayerLabSearch")
        worker.moveToThread(thread)
        worker.event.connect(self._on_event)
        worker.errored.connect(self._on_errored)
        worker.done.connect(self._on_done)
        thread.started.connect(worker.run)
        self._thread, self._worker, self._stop = thread, worker, stop
        self.runningChanged.emit(True)
        thread.start()
        return True

    def stop(self) -> None:
        if self._stop is not None:
            self._stop.set()

    def shutdown(self, timeout_ms: int = 60_000) -> bool:
        """Stop and join (for closing); the last events and ``finished`` are delivered."""
        thread, worker = self._thread, self._worker
        if thread is None or worker is None:
            return True
        self.stop()
        if not thread.wait(timeout_ms):
            return False
        QCoreApplication.sendPostedEvents(self)
        if self._worker is worker:
            self._release(worker, None)
        return True

    @Slot(str, object)
    def _on_event(self, job_id: str, event: Any) -> None:
        if self.sender() is self._worker:
            self.event.emit(job_id, event)

    @Slot(str)
    def _on_errored(self, message: str) -> None:
        if self.sender() is self._worker:
            self.errored.emit(message)

    @Slot(object)
    def _on_done(self, result: Any) -> None:
        worker = self.sender()
        if worker is not self._worker:
            return
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
        self._release(worker, result)

    def _release(self, worker: _Worker, result: Any) -> None:
        for signal in (worker.event, worker.errored, worker.done):
            signal.disconnect()
        worker.deleteLater()
        self._thread, self._worker, self._stop = None, None, None
        self.finished.emit(result)
        self.runningChanged.emit(False)


def ask_to_stop(window: Any, title: str, question: str) -> bool:
    """Before New/Open while a job runs: Yes (stop it) or Cancel, Cancel the default."""
    answer = QMessageBox.question(
        window,
        title,
        question,
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Cancel,
    )
    return answer == QMessageBox.StandardButton.Yes


def ensure_saved(window: Any, what: str) -> bool:
    """A search or group trains from the project FILE: ask to save unsaved changes (or an
    untitled project) first, like Save. True when the file is up to date."""
    document = window.document
    if document.path is not None and document.undo_stack.isClean():
        return True
    answer = QMessageBox.question(
        window,
        what,
        f"The {what.lower()} trains the project as saved. Save it now?",
        QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
        QMessageBox.StandardButton.Save,
    )
    if answer != QMessageBox.StandardButton.Save:
        return False
    return bool(window.files.save()) and document.path is not None


class DiskRuns:
    """The runs and groups in the project file at ``path`` as it is now."""

    def __init__(self, path):
        from engine.files import read_json

        try:
            data = read_json(path)
        except Exception:  # a file being replaced this instant: the next read takes it
            data = {}
        runs = data.get("runs") if isinstance(data, dict) else None
        groups = data.get("groups") if isinstance(data, dict) else None
        self.runs = [r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []
        self.groups = groups if isinstance(groups, list) else None


def merge_recorded(window: Any, runs: list[dict]) -> None:
    """Runs the engine just recorded in the project file (a search's trials, as its
    ``TrialFinished`` events carry them) join the document, without reading the file."""
    from engine.project import merge_runs

    document = window.document
    merged = merge_runs(document.project, [run for run in runs if isinstance(run, dict)])
    if len(merged) != len(document.project.get("runs") or []):
        document.replace_runs(merged, saved=True)


def merge_from_disk(window: Any, disk: DiskRuns | None = None) -> None:
    """Runs (and groups) the engine wrote into the project file join the document
    (``disk``: the file as read already; None: read it now)."""
    from engine.project import merge_runs

    document = window.document
    path = document.path
    if path is None:
        return
    if disk is None:
        disk = DiskRuns(path)
    runs = merge_runs(document.project, disk.runs)
    groups = disk.groups
    before = len(document.project.get("groups") or [])
    if isinstance(groups, list):
        known = {g.get("id") for g in document.project.get("groups") or []}
        document.project["groups"] = [
            *(document.project.get("groups") or []),
            *(g for g in groups if isinstance(g, dict) and g.get("id") not in known),
        ]
    added_groups = len(document.project.get("groups") or []) != before
    if runs != document.project.get("runs") or added_groups:
        document.replace_runs(runs, saved=True)


def job_sink_event(event: Any) -> bool:
    """Whether ``event`` is a training event the curves and progress understand."""
    return type(event).__name__ not in _WORKER_EVENTS
