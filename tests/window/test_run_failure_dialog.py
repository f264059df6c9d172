"""A run that fails for a reason the user can fix says so in a dialog, and the window lives on."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QMessageBox

from engine.project import demo_project, save_project


def test_a_failed_run_explains_itself_in_a_dialog(qtbot, make_window, tmp_path):
    project = demo_project()
    project["dataset"] = {"source": "npz", "path": str(tmp_path / "missing.npz")}
    path = tmp_path / "broken.llproj"
    save_project(project, path)
    window = make_window(path)

    with qtbot.waitSignal(window.controller.finished, timeout=120_000) as finished:
        window.train_button().click()
    assert finished.args[0].status == "failed"

    def dialog():
        return next(
            (w for w in QApplication.topLevelWidgets() if w.objectName() == "runFailedDialog"),
            None,
        )

    qtbot.waitUntil(lambda: dialog() is not None and dialog().isVisible())
    box = dialog()
    assert isinstance(box, QMessageBox)
    assert "missing.npz" in box.text()
    box.accept()
    assert window.train_button().isEnabled()
