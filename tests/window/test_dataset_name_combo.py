"""Issue 9, defect 1 in the real window: changing the dataset panel's Name combo by keyboard,
many times and after File › New › Discard, never deletes the combo inside its own signal
(it segfaulted in libQt6Core), and the form shows the chosen set's options."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QMessageBox

from engine.datasets import dataset_names, source_options


def press_on_name(qtbot, window, key) -> None:
    combo = window.dataset_panel.form.editor("name")
    destroyed: list[bool] = []
    delivered: list[bool] = []
    combo.destroyed.connect(lambda *_: destroyed.append(True))
    combo.activated.connect(lambda *_: delivered.append(shiboken6.isValid(combo)))
    combo.setFocus()
    qtbot.keyClick(combo, key)
    assert not destroyed, "the Name combo was deleted while its own signal was delivered"
    assert delivered in ([True], [])
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()


def shown_matches_the_document(window) -> None:
    block = window.document.project["dataset"]
    panel = window.dataset_panel
    assert panel.block() == block
    expected = [o.name for o in source_options(block["source"], block.get("name"))]
    assert [o.name for o in panel.form.options()] == expected
    assert panel.form.editor("name").currentData() == block["name"]


def test_name_combo_changes_many_times_and_after_new(qtbot, window, monkeypatch):
    import app.file_controller as files

    window.docks["datasetDock"].raise_()
    panel = window.dataset_panel
    if window.document.project["dataset"] != {"source": "sample", "name": "digits"}:
        window.document.set_dataset({"source": "sample", "name": "digits"})
    names = list(dataset_names(panel.block()["source"]))
    for key in [Qt.Key.Key_Down] * (len(names) - 1) + [Qt.Key.Key_Up] * 2:
        press_on_name(qtbot, window, key)
        shown_matches_the_document(window)
    monkeypatch.setattr(
        files, "ask_unsaved_changes", lambda *a, **k: QMessageBox.StandardButton.Discard
    )
    window.new_project()
    window.docks["datasetDock"].raise_()
    for key in (Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_Up, Qt.Key.Key_End):
        if panel.form.options() and panel.form.options()[0].name == "name":
            press_on_name(qtbot, window, key)
            shown_matches_the_document(window)
    assert window.isVisible()
