"""A real short run from the demo through the Train control; closing mid-run exits cleanly."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from engine.events import TrainEnd

ROOT = Path(__file__).resolve().parents[2]


def _short_fit(window, epochs):
    project = window.document.project
    window.document.set_training(project["compile"], {**project["fit"], "epochs": epochs})


def test_demo_trains_through_the_train_button(qtbot, window, tmp_path, monkeypatch):
    _short_fit(window, 2)
    ends = []
    window.controller.event.connect(
        lambda event: ends.append(event) if isinstance(event, TrainEnd) else None
    )
    with qtbot.waitSignal(window.controller.finished, timeout=120_000) as finished:
        window.train_button().click()
        assert not window.train_button().isEnabled()
        assert window.stop_action.isEnabled()
    result = finished.args[0]
    assert result is not None and result.status == "completed", getattr(result, "message", "")
    assert ends and ends[-1].status == "completed"
    assert len(window.curves.epoch_history()["loss"]) == 2
    assert window.export_action.isEnabled()
    assert window.train_button().isEnabled()
    assert "CPU" in window.device_label.text() or "GPU" in window.device_label.text()
    qtbot.waitUntil(lambda: len(window.document.project["runs"]) == 1, timeout=30_000)
    assert window.runs_panel.runs()[0]["status"] == "completed"
    assert window.isWindowModified()

    target = tmp_path / "trained.h5"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *args, **kwargs: (str(target), ""))
    )
    window.export_action.trigger()
    qtbot.waitUntil(lambda: "Exported" in window.statusBar().currentMessage(), timeout=30_000)
    from engine.modelfile import load_model_file

    assert load_model_file(target).spec["layers"][-1]["config"]["units"] == 10


CLOSE_MID_RUN = textwrap.dedent(
    """
    import os, sys, tempfile
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    os.environ["KERAS_HOME"] = tempfile.mkdtemp()
    sys.path.insert(0, {root!r})
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    app = QApplication([])
    from app.main_window import MainWindow
    from app.settings import AppSettings
    from engine.events import BatchesEnd, EpochEnd
    folder = tempfile.mkdtemp()
    window = MainWindow(AppSettings(os.path.join(folder, "s.ini")),
                        recovery_dir=os.path.join(folder, "recovery"))
    window.show()

    class Driver:
        def ready(self, _result):
            project = window.document.project
            window.document.set_training(project["compile"], {{**project["fit"], "epochs": 200}})
            window.document.undo_stack.setClean()
            window.train()

        def event(self, event):
            if isinstance(event, (BatchesEnd, EpochEnd)) and window.isVisible():
                window.close()
                QTimer.singleShot(0, app.quit)

    driver = Driver()
    window.catalogReady.connect(driver.ready)
    window.controller.event.connect(driver.event)
    window.start(None)
    QTimer.singleShot(120_000, lambda: sys.exit(3))
    code = app.exec()
    print("running after close:", window.controller.is_running())
    sys.exit(code)
    """
)


def test_closing_mid_run_stops_and_exits_cleanly(tmp_path):
    script = tmp_path / "close_mid_run.py"
    script.write_text(CLOSE_MID_RUN.format(root=str(ROOT)))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=180, cwd=ROOT
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "QThread: Destroyed" not in output
    assert "running after close: False" in output
