"""Loads dataset blocks off the GUI thread and hands the window plain data to show.

``DatasetController.load(block, loss=..., validation_split=...)`` runs
``engine.datasets.load_dataset`` in a worker ``QThread`` and emits, in the GUI thread:

- ``progress(text, fraction_or_None)`` while it loads (downloads, long reads),
- ``loaded(dataset)`` — an ``engine.datasets.Dataset``; ``dataset_info(dataset)`` turns it
  into the plain dict ``widgets.dataset_panel.DatasetPanel.show_dataset`` takes,
- or ``failed(message)`` — the ``DatasetError`` message (any other exception becomes a
  one-line message naming its type; no traceback reaches the user).

Only the latest request reports: starting a new load cancels a running one (loaders stop at
their next progress report; see ``engine.datasets.cancel``) and drops its result. The last
loaded dataset is cached with the request that made it, so the training run reuses it
(``cached(block, loss, validation_split)``). ``shutdown()`` cancels running loads and waits
until their threads have ended (never leaving a live QThread to be destroyed, which aborts
the process); call it before the application quits.

Worker signals are connected only to bound methods of this controller, which lives in the
GUI thread (a lambda would run in the worker thread; see FIELD-NOTES).
"""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

from engine.errors import LayerLabError


def request_key(block: dict, loss: Any = None, validation_split: float = 0.0) -> str:
    """A stable text key for one load request (block, loss, validation split)."""
    return json.dumps(
        {"block": block, "loss": loss, "validation_split": float(validation_split or 0.0)},
        sort_keys=True,
        default=str,
    )


def dataset_info(dataset: Any) -> dict:
    """The plain dict the dataset panel shows, from an ``engine.datasets.Dataset``."""
    samples = []
    columns: list[str] | None = None
    for sample in dataset.samples:
        value = sample.value
        if sample.kind == "row" and isinstance(value, dict) and columns is None:
            columns = [str(k) for k in value]
        samples.append({"kind": sample.kind, "value": value, "label": str(sample.label)})
    return {
        "task": dataset.task,
        "input_shape": tuple(dataset.input_shape),
        "num_classes": dataset.num_classes,
        "class_names": list(dataset.class_names or []),
        "train_size": int(dataset.train_size),
        "val_size": int(dataset.val_size),
        "test_size": int(dataset.test_size),
        "sizes_text": dataset.sizes_text(),
        "description": dataset.description,
        "samples": samples,
        "columns": columns,
        "baseline_mae": getattr(dataset, "baseline_mae", None),
    }


class _LoadWorker(QObject):
    """Runs one ``load_dataset`` call in its thread; reports through its own signals."""

    progressed = Signal(int, str, object)
    succeeded = Signal(int, object)
    errored = Signal(int, str)
    done = Signal(int)

    def __init__(self, ticket: int, block: dict, loss: Any, validation_split: float):
        super().__init__()
        self.ticket = ticket
        self.block = block
        self.loss = loss
        self.validation_split = validation_split
        self.cancel = threading.Event()

    @Slot()
    def run(self) -> None:
        try:
            from engine.datasets import load_dataset
            from engine.datasets.cancel import LoadCancelled

            try:
                dataset = load_dataset(
                    self.block,
                    loss=self.loss,
                    validation_split=self.validation_split,
                    progress=self._report,
                    cancel=self.cancel,
                )
            except LoadCancelled:
                return  # whoever cancelled wants no result
        except LayerLabError as error:
            self.errored.emit(self.ticket, str(error))
        except MemoryError:
            self.errored.emit(
                self.ticket,
                "The dataset does not fit in memory: choose fewer words, smaller images or a "
                "smaller file.",
            )
        except Exception as error:  # an engine bug: still a message, never a crash
            self.errored.emit(
                self.ticket, f"The dataset could not be loaded ({type(error).__name__}: {error})."
            )
        else:
            self.succeeded.emit(self.ticket, dataset)
        finally:
            self.done.emit(self.ticket)

    def _report(self, message: str, fraction: float | None = None) -> None:
        self.progressed.emit(self.ticket, str(message), fraction)


class DatasetController(QObject):
    """Loads dataset blocks in worker threads; create it in the GUI thread."""

    loaded = Signal(object)
    failed = Signal(str)
    progress = Signal(str, object)
    busyChanged = Signal(bool)
    headSuggested = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._ticket = 0
        self._running: dict[int, tuple[QThread, _LoadWorker]] = {}
        self._requests: dict[int, str] = {}
        self._dataset: Any = None
        self._dataset_key: str | None = None
        self._suggest_ticket: int | None = None

    # ------------------------------------------------------------------ state
    @property
    def dataset(self) -> Any:
        """The last successfully loaded ``Dataset`` (None before the first)."""
        return self._dataset

    def is_busy(self) -> bool:
        """Whether the latest requested load is still running."""
        return self._ticket in self._running

    def cached(self, block: dict, loss: Any = None, validation_split: float = 0.0) -> Any:
        """The cached dataset if it was loaded from exactly this request, else None."""
        if self._dataset_key == request_key(block, loss, validation_split):
            return self._dataset
        return None

    # ------------------------------------------------------------------ loading
    def load(self, block: dict, *, loss: Any = None, validation_split: float = 0.0) -> int:
        """Start loading ``block`` in a worker thread; returns the request's ticket.

        Emits ``progress``, then ``loaded`` or ``failed`` for this request unless a newer
        ``load`` is started meanwhile.
        """
        self._ticket += 1
        ticket = self._ticket
        self._cancel_running()  # their results would be dropped anyway
        block = copy.deepcopy(block)
        self._requests[ticket] = request_key(block, loss, validation_split)
        thread = QThread()
        thread.setObjectName(f"dataset-load-{ticket}")
        worker = _LoadWorker(ticket, block, loss, float(validation_split or 0.0))
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progressed.connect(self._on_progress)
        worker.succeeded.connect(self._on_succeeded)
        worker.errored.connect(self._on_errored)
        worker.done.connect(self._on_done)
        self._running[ticket] = (thread, worker)
        self.busyChanged.emit(True)
        self.progress.emit("Loading the dataset…", None)
        thread.start()
        return ticket

    def forget(self) -> None:
        """Another document: drop the cached dataset; loads still running are cancelled and
        report nothing."""
        self._ticket += 1
        self._cancel_running()
        self._dataset = None
        self._dataset_key = None
        self._suggest_ticket = None
        self.busyChanged.emit(False)

    def shutdown(self, timeout_ms: int = 10_000) -> None:
        """Cancel running loads and wait until their threads have ended; no signal follows.

        A load stops at its next progress report, normally within a fraction of a second.
        One that is still running after ``timeout_ms`` (a loader inside a long call that
        reports nothing) is waited for again, never abandoned: destroying a running QThread
        aborts the process.
        """
        self._ticket += 1  # results still arriving belong to no request
        self._cancel_running()
        for thread, _worker in list(self._running.values()):
            thread.quit()
            while not thread.wait(timeout_ms):
                thread.quit()  # still inside the loader: keep it referenced and wait again

    def _cancel_running(self) -> None:
        for _thread, worker in self._running.values():
            worker.cancel.set()

    @Slot(int, str, object)
    def _on_progress(self, ticket: int, message: str, fraction: object) -> None:
        if ticket == self._ticket:
            self.progress.emit(message, fraction)

    @Slot(int, object)
    def _on_succeeded(self, ticket: int, dataset: object) -> None:
        if ticket != self._ticket:
            return
        self._dataset = dataset
        self._dataset_key = self._requests.get(ticket)
        self.loaded.emit(dataset)
        if self._suggest_ticket == ticket:
            self._suggest_ticket = None
            self._emit_suggestion(dataset)

    @Slot(int, str)
    def _on_errored(self, ticket: int, message: str) -> None:
        if ticket != self._ticket:
            return
        if self._suggest_ticket == ticket:
            self._suggest_ticket = None
        self.failed.emit(message)

    @Slot(int)
    def _on_done(self, ticket: int) -> None:
        thread, _worker = self._running.pop(ticket, (None, None))
        self._requests.pop(ticket, None)
        if thread is not None:
            thread.quit()
            thread.wait()
            thread.deleteLater()
            _worker.deleteLater()
        if ticket == self._ticket:
            self.busyChanged.emit(False)

    # ------------------------------------------------------------------ output layer
    def suggest_head(self, dataset: Any = None) -> Any:
        """``engine.datasets.suggest_head`` for ``dataset`` (default: the cached one)."""
        from engine.datasets import suggest_head

        target = dataset if dataset is not None else self._dataset
        if target is None:
            raise LayerLabError("Load the dataset first, then ask for an output layer.")
        return suggest_head(target)

    def request_head(self, block: dict) -> None:
        """Emit ``headSuggested(HeadSuggestion)`` for ``block``: at once when it is the
        cached dataset's block, else after loading it (``failed`` on error)."""
        cached = self._dataset if self._dataset is not None else None
        if cached is not None and getattr(cached, "block", None) == block:
            self._emit_suggestion(cached)
            return
        self._suggest_ticket = self.load(block)

    def _emit_suggestion(self, dataset: Any) -> None:
        try:
            suggestion = self.suggest_head(dataset)
        except LayerLabError as error:
            self.failed.emit(str(error))
            return
        self.headSuggested.emit(suggestion)
