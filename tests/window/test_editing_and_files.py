"""Undo merging, the unsaved-changes question, autosave recovery, opening .h5 files."""

from __future__ import annotations

import json

from PySide6.QtWidgets import QMessageBox

from app.application import display_problem
from engine.project import load_project


def _units(window, index=0):
    return window.document.layer_entry(index)["config"]["units"]


def test_spin_box_steps_merge_into_one_undo_step(qtbot, window):
    window.stack_view.select_layer(0)
    spin = window.property_editor.editor("units").spin
    assert _units(window) == 64
    for _ in range(5):
        spin.stepUp()
    assert _units(window) == 69
    assert window.document.undo_stack.count() == 1
    assert window.isWindowModified()
    assert "[*]" in window.windowTitle()
    window.document.undo_stack.undo()
    assert _units(window) == 64
    assert spin.value() == 64
    # A different parameter does not merge with it.
    window.document.undo_stack.redo()
    window.property_editor.editor("use_bias").check.setChecked(False)
    assert window.document.undo_stack.count() == 2


def test_steps_back_to_the_start_leave_no_undo_step(window):
    window.stack_view.select_layer(0)
    spin = window.property_editor.editor("units").spin
    spin.stepUp()
    spin.stepDown()
    assert _units(window) == 64
    assert window.document.undo_stack.count() == 0


def test_bad_value_is_refused_with_a_message(window):
    window.stack_view.select_layer(1)
    assert not window.document.set_param(1, "rate", 3.5)
    assert window.document.layer_entry(1)["config"]["rate"] == 0.2
    assert "rate" in window.statusBar().currentMessage()


def test_closing_with_unsaved_changes_asks(qtbot, window, monkeypatch):
    asked = []

    def answer(button):
        def question(*args, **kwargs):
            asked.append(args[1])
            return button

        return question

    import app.file_controller as files

    window.document.insert_layer(0, "Dense")
    monkeypatch.setattr(files, "ask_unsaved_changes", answer(QMessageBox.StandardButton.Cancel))
    assert not window.close()
    assert window.isVisible() and asked == [window.files.display_name()]
    monkeypatch.setattr(files, "ask_unsaved_changes", answer(QMessageBox.StandardButton.Discard))
    assert window.close()
    assert len(asked) == 2


def test_unsaved_changes_dialog_answers_alt_d_with_discard(qtbot):
    """Issue 9, defect 8: the dialog's Discard is reachable by Alt+D (and Save by Alt+S)."""
    import shiboken6
    from PySide6.QtCore import Qt, QTimer
    from PySide6.QtWidgets import QApplication, QWidget

    from app.file_controller import ask_unsaved_changes

    parent = QWidget()
    qtbot.addWidget(parent)
    seen = []

    def press(key):
        box = QApplication.activeModalWidget()
        if box is None:  # not shown yet
            QTimer.singleShot(20, lambda: press(key))
            return
        seen.append(box.objectName())
        box.activateWindow()
        QApplication.processEvents()
        qtbot.keyClick(QApplication.focusWidget() or box, key, Qt.KeyboardModifier.AltModifier)
        # A key that does nothing must fail the test, not hang it.
        QTimer.singleShot(2000, lambda: shiboken6.isValid(box) and box.isVisible() and box.done(0))

    QTimer.singleShot(0, lambda: press(Qt.Key.Key_D))
    assert ask_unsaved_changes(parent, "x.llproj") == QMessageBox.StandardButton.Discard
    QTimer.singleShot(0, lambda: press(Qt.Key.Key_S))
    assert ask_unsaved_changes(parent, "x.llproj") == QMessageBox.StandardButton.Save
    assert seen == ["unsavedChangesDialog", "unsavedChangesDialog"]


def test_autosave_is_offered_at_next_start(qtbot, make_window, monkeypatch):
    first = make_window()
    first.document.insert_layer(0, "Flatten")
    assert first.autosave()
    recovered_model = first.document.project["model"]
    # Simulate a crash: the recovery file stays because the window never closed cleanly,
    # and its owner is gone (recovery files are per instance: a live one's are not offered).
    first.files.recovery.release()
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Yes)
    )
    second = make_window()
    assert second.document.project["model"] == recovered_model
    assert second.isWindowModified()
    second.document.undo_stack.setClean()
    second.close()
    assert not list(second.recovery_dir.rglob("*.llproj"))


def test_open_h5_model_in_the_background(qtbot, window, tmp_path):
    import keras

    from engine.modelfile import save_model

    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)]
    )
    path = tmp_path / "script_model.h5"
    save_model(model, path)
    window.open_path(path, ask=False)
    qtbot.waitUntil(lambda: window.document.layer_count() == 2, timeout=30_000)
    assert [row.title for row in window.stack_model.rows()[1:]] == ["Dense 4 · relu", "Dense 1"]
    assert "script_model.h5" in window.windowTitle()
    assert window.document.path is None


def test_saved_project_is_a_valid_project(window, tmp_path):
    target = tmp_path / "demo-copy.llproj"
    assert window._save_to(target)
    assert load_project(target)["model"] == window.document.project["model"]
    assert json.loads(target.read_text())["format"] == "layerlab-project"


def test_no_display_is_said_plainly(monkeypatch):
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    message = display_problem()
    assert message and "QT_QPA_PLATFORM=offscreen" in message
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert display_problem() is None


def test_summary_tab_shows_keras_summary_and_config(qtbot, window):
    window.tabs.setCurrentWidget(window.summary_page)
    qtbot.waitUntil(lambda: "Total params" in window.summary_text.toPlainText(), timeout=30_000)
    assert "4,810" in window.summary_text.toPlainText()
    config = json.loads(window.config_text.toPlainText())
    assert config["class_name"] == "Sequential"
    assert window.summary_text.isReadOnly() and window.config_text.isReadOnly()
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QPushButton

    window.summary_page.findChild(QPushButton, "configTextCopy").click()
    assert json.loads(QGuiApplication.clipboard().text())["class_name"] == "Sequential"
    window.document.insert_layer(0, "Dense")
    qtbot.waitUntil(lambda: "dense_2" in window.summary_text.toPlainText(), timeout=30_000)


def test_theme_can_be_forced_dark(qapp, monkeypatch):
    from PySide6.QtGui import QPalette

    from app.application import apply_style

    monkeypatch.setenv("LAYERLAB_THEME", "dark")
    apply_style(qapp)
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 80
    monkeypatch.setenv("LAYERLAB_THEME", "light")
    apply_style(qapp)
    assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 180
    assert qapp.style().name().lower() == "fusion"


def test_training_settings_edits_merge_per_setting(window):
    document = window.document
    compile_block, fit = document.project["compile"], document.project["fit"]
    document.set_training(compile_block, {**fit, "epochs": 16})
    document.set_training(compile_block, {**fit, "epochs": 17})
    assert document.undo_stack.count() == 1
    assert document.undo_stack.undoText() == "Change epochs"
    document.set_training(compile_block, {**fit, "epochs": 17, "batch_size": 64})
    assert document.undo_stack.count() == 2
    document.undo_stack.undo()
    document.undo_stack.undo()
    assert document.project["fit"]["epochs"] == fit["epochs"]
    assert window.training_panel.settings()[1]["epochs"] == fit["epochs"]


def test_before_keras_loads_the_window_shows_the_project_and_waits(qtbot, tmp_path):
    from app.main_window import MainWindow
    from app.settings import AppSettings

    window = MainWindow(AppSettings(tmp_path / "s.ini"), recovery_dir=tmp_path / "recovery")
    qtbot.addWidget(window)
    window.show()
    window.start(None)  # the loader starts on the next event-loop turn
    assert not window.palette.isEnabled()
    assert "Loading TensorFlow" in window.statusBar().currentMessage()
    assert not window.train_button().isEnabled()
    assert [row.title for row in window.stack_model.rows()] == [
        "Input (64,)",
        "Dense",
        "Dropout",
        "Dense",
    ]
    with qtbot.waitSignal(window.catalogReady, timeout=90_000):
        pass
    assert window.palette.isEnabled() and window.train_button().isEnabled()
    assert window.stack_model.rows()[1].title == "Dense 64 · relu"
    window.document.undo_stack.setClean()
