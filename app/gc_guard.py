"""Garbage collection on the GUI thread only.

Python's cyclic garbage collector runs in whichever thread happens to allocate when a
generation fills up. In LayerLab that is often a worker thread (training, evaluation,
conversions build thousands of TensorFlow objects), and a collection there may destroy Qt
widgets caught in reference cycles (pyqtgraph items, closed dialogs): their C++
destructors then run off the GUI thread. Seen in the test suite: an evaluation thread
collected a plot's ``QGraphicsScene`` and deadlocked on the GIL inside Shiboken; earlier, a
collection on the GUI thread while TensorFlow restored a SavedModel in a worker thread
crashed the process.

``install(app)`` turns the automatic collector off and runs the same thresholds from a
timer on the GUI thread instead (the pattern PyQt's documentation describes for threaded
programs), so every collection, and every Qt destructor it triggers, happens there.
Idempotent; ``uninstall()`` restores automatic collection.

``freeze_once(reason)`` (GUI thread) moves every object alive now out of the collector's
sight (``gc.freeze``), once per reason per process: for just after a large one-off import
made objects that live as long as the process (a search's first trial imports Optuna,
SQLAlchemy and Alembic, ~150k objects; its importances SciPy, pandas and scikit-learn,
~180k), which every later full collection would otherwise scan, 40-80 ms each on the GUI
thread. ``app.loader`` does the same after importing TensorFlow.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_INTERVAL_MS = 500

_guard: _MainThreadCollector | None = None
_frozen_for: set[str] = set()


class _MainThreadCollector(QObject):
    def __init__(self, parent: QObject):
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setInterval(CHECK_INTERVAL_MS)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    def check(self) -> None:
        """Collect the generations whose counts passed their thresholds, oldest first."""
        counts = gc.get_count()
        for generation in (2, 1, 0):
            threshold = self.thresholds[generation]
            if threshold and counts[generation] > threshold:
                gc.collect(generation)
                return


def install(app: QObject) -> None:
    """Collect garbage on the GUI thread (``app``'s) from now on."""
    global _guard
    if _guard is None:
        _guard = _MainThreadCollector(app)


def uninstall() -> None:
    global _guard
    if _guard is not None:
        _guard.timer.stop()
        if _guard.was_enabled:
            gc.enable()
        _guard.deleteLater()
        _guard = None


def installed() -> bool:
    return _guard is not None


def freeze_once(reason: str) -> bool:
    """``gc.freeze()`` the first time it is called with ``reason``; True when it froze.
    Call it on the GUI thread (where ``install`` collects), never during a collection."""
    if reason in _frozen_for:
        return False
    _frozen_for.add(reason)
    gc.freeze()
    return True
