"""The Qt bridge to the training engine: one QThread + worker per run.

The controller lives in the GUI thread. ``start`` moves a fresh ``_TrainWorker`` to a fresh
``QThread``; the worker calls the engine's ``run`` there with a sink that emits every engine
event as a ``Signal(object)``. Worker signals are connected only to bound methods of the
controller (a QObject in the GUI thread): a lambda or free function would run in the worker
thread (see FIELD-NOTES), so everything the GUI sees arrives in the GUI thread.

Per run, in this order, in the GUI thread: ``runningChanged(True)``; every engine ``event``
(``TrainBegin`` ... ``TrainEnd``); ``errored(message)`` only when the worker caught an
unexpected exception; then exactly one ``finished(result)`` (``RunResult``, or ``None`` when
the engine function raised) and ``runningChanged(False)``. A ``TrainEnd`` event is always
delivered before ``finished``: when the engine function raised before sending one, the
worker sends a ``failed`` one itself. After ``finished`` the thread has been quit and joined,
so the next ``start`` works at once.
"""

from __future__ import annotations

import copy
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QThread, Signal, Slot

from engine.events import Event, LogLine, TrainEnd

RunFunction = Callable[..., Any]


def _default_run_function() -> RunFunction:
    """The engine's ``run``; imported lazily because it imports Keras (seconds)."""
    from engine import training

    return training.run


def _default_control_factory() -> Any:
    from engine.training import TrainControl

    return TrainControl()


def _plain_message(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return f"Training stopped by an unexpected error: {text}"


class _TrainWorker(QObject):
    """Runs one engine call in its QThread and reports through signals; never raises."""

    event = Signal(object)
    errored = Signal(str)
    done = Signal(object)

    def __init__(self, run_function: RunFunction, arguments: dict[str, Any], control: Any):
        super().__init__()
        self._run_function = run_function
        self._arguments = arguments
        self._control = control
        self._started = time.monotonic()
        self._sent_train_end = False

    def _emit_event(self, event: Event) -> None:
        """The engine's sink: called in the worker thread, delivered queued to the GUI."""
        if isinstance(event, TrainEnd):
            self._sent_train_end = True
        self.event.emit(event)

    @Slot()
    def run(self) -> None:
        result = None
        try:
            extra = {}
            if self._arguments.get("project_path") is not None:
                # relative files of the project (initial weights, word vectors) resolve here
                extra["project_path"] = self._arguments["project_path"]
            result = self._run_function(
                self._arguments["project"],
                sink=self._emit_event,
                control=self._control,
                dataset=self._arguments["dataset"],
                workdir=self._arguments["workdir"],
                **extra,
            )
        except BaseException as error:  # the thread must never die with an exception
            message = _plain_message(error)
            details = "".join(traceback.format_exception(error)).rstrip()
            self.event.emit(LogLine(details, "error"))
            self.event.emit(LogLine(message, "error"))
            self.errored.emit(message)
            if not self._sent_train_end:
                self._emit_event(
                    TrainEnd(
                        status="failed",
                        message=message,
                        epochs_completed=0,
                        seconds=time.monotonic() - self._started,
                    )
                )
        finally:
            # End this thread's event loop (it has not started yet: ``run`` is called from
            # ``started``, so exec() returns at once), hand the worker back to the GUI thread
            # so it is deleted there, then report.
            QThread.currentThread().quit()
            self.moveToThread(QCoreApplication.instance().thread())
            self.done.emit(result)


class TrainingController(QObject):
    """Starts, controls and joins training runs; all signals arrive in the GUI thread."""

    event = Signal(object)
    finished = Signal(object)
    errored = Signal(str)
    runningChanged = Signal(bool)
    pausedChanged = Signal(bool)

    def __init__(
        self,
        parent: QObject | None = None,
        *,
        run_function: RunFunction | None = None,
        control_factory: Callable[[], Any] | None = None,
    ):
        """``run_function``/``control_factory`` default to ``engine.training.run`` and
        ``engine.training.TrainControl``; tests inject others to provoke faults."""
        super().__init__(parent)
        self._run_function = run_function
        self._control_factory = control_factory or _default_control_factory
        self._thread: QThread | None = None
        self._worker: _TrainWorker | None = None
        self._control: Any = None
        self._paused = False

    # -- state -------------------------------------------------------------------------------

    def is_running(self) -> bool:
        return self._worker is not None

    def is_paused(self) -> bool:
        return self._paused

    # -- commands ----------------------------------------------------------------------------

    def start(
        self,
        project: dict,
        workdir: Path | None = None,
        dataset: Any = None,
        project_path: Path | None = None,
    ) -> bool:
        """Train a deep copy of ``project`` in a new thread; False (and nothing) if one runs.
        ``project_path``: the project's file, where its relative files are found.

        The first call imports the engine (and so Keras) in the GUI thread unless a
        ``run_function`` was injected or ``engine.training`` is already imported.
        """
        if self.is_running():
            return False
        run_function = self._run_function or _default_run_function()
        if self._run_function is None:
            from engine.local_workers import local_worker_count
            from engine.local_workers import run as run_local_workers

            if local_worker_count(project):  # fit.devices {"local_workers": N}: N processes
                run_function = run_local_workers
        control = self._control_factory()
        arguments = {
            "project": copy.deepcopy(project),
            "workdir": workdir,
            "dataset": dataset,
            "project_path": project_path,
        }
        worker = _TrainWorker(run_function, arguments, control)
        thread = QThread()
        thread.setObjectName("LayerLabTraining")
        worker.moveToThread(thread)
        worker.event.connect(self._on_worker_event)
        worker.errored.connect(self._on_worker_errored)
        worker.done.connect(self._on_worker_done)
        thread.started.connect(worker.run)
        self._thread, self._worker, self._control = thread, worker, control
        self._set_paused(False)
        self.runningChanged.emit(True)
        thread.start()
        return True

    def stop(self) -> None:
        """Ask the run to stop after the current batch (also ends a pause)."""
        if self._control is not None:
            self._control.stop()
        self._set_paused(False)

    def pause(self) -> None:
        if self._control is not None and not self._paused:
            self._control.pause()
            self._set_paused(True)

    def resume(self) -> None:
        if self._control is not None and self._paused:
            self._control.resume()
            self._set_paused(False)

    def shutdown(self, timeout_ms: int = 10_000) -> bool:
        """Stop any run and join its thread (for ``closeEvent``); False if it did not end.

        Stop takes effect after the current batch, so this normally returns within a second.
        On False the thread is still running and the controller still owns it: keep the
        controller alive (e.g. ignore the close event and try again), because destroying a
        running QThread aborts the process. The run's last events and ``finished`` are
        delivered before this returns True.
        """
        thread, worker = self._thread, self._worker
        if thread is None or worker is None:
            return True
        self.stop()
        thread.quit()
        if not thread.wait(timeout_ms):
            return False
        # Deliver what the worker queued (its last events, then ``done``) before returning.
        QCoreApplication.sendPostedEvents(self)
        if self._worker is worker:
            self._release(worker, None)
        return True

    # -- worker signals (delivered in the GUI thread) ----------------------------------------

    @Slot(object)
    def _on_worker_event(self, event: Event) -> None:
        if self.sender() is self._worker:
            self.event.emit(event)

    @Slot(str)
    def _on_worker_errored(self, message: str) -> None:
        if self.sender() is self._worker:
            self.errored.emit(message)

    @Slot(object)
    def _on_worker_done(self, result: Any) -> None:
        worker = self.sender()
        if worker is not self._worker:
            return
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
        self._release(worker, result)

    def _release(self, worker: QObject, result: Any) -> None:
        for signal in (worker.event, worker.errored, worker.done):
            signal.disconnect()
        self._thread, self._worker, self._control = None, None, None
        self._set_paused(False)
        self.finished.emit(result)
        self.runningChanged.emit(False)

    def _set_paused(self, paused: bool) -> None:
        if paused != self._paused:
            self._paused = paused
            self.pausedChanged.emit(paused)
