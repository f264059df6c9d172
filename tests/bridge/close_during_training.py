"""Run by test_controller: a window that owns a training run is closed one second into fit.

Usage: python close_during_training.py DATA.npz. Prints what happened; exits 0 when the
window's closeEvent stopped the run and joined its thread.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="layerlab-close-test-")

from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import QApplication, QMainWindow

from app.training_controller import TrainingController
from engine.events import BatchesEnd, TrainEnd
from engine.quiet import import_keras
from tests.bridge.support import make_project
from widgets.live_curves import LiveCurves


class Window(QMainWindow):
    def __init__(self, project: dict):
        super().__init__()
        self.curves = LiveCurves()
        self.setCentralWidget(self.curves)
        self.controller = TrainingController(self)
        self.controller.event.connect(self.on_event)
        self.events = 0
        self.batches = 0
        self.status = None
        self.controller.start(project)

    @Slot(object)
    def on_event(self, event) -> None:
        self.events += 1
        self.curves.on_event(event)
        if isinstance(event, BatchesEnd):
            self.batches += 1
            if self.batches == 1:
                QTimer.singleShot(1000, self.close)
        if isinstance(event, TrainEnd):
            self.status = event.status

    def closeEvent(self, event) -> None:
        print("shutdown", self.controller.shutdown(10_000), flush=True)
        print("batch events", self.batches, "status", self.status, flush=True)
        super().closeEvent(event)


def main() -> int:
    import_keras()
    app = QApplication(sys.argv[:1])
    window = Window(make_project(Path(sys.argv[1]), epochs=100_000))
    window.show()
    QTimer.singleShot(60_000, lambda: app.exit(3))  # fit never started
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
