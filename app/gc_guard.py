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
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

CHECK_INTERVAL_MS = 500

_guard: _MainThreadCollector | None = None


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
