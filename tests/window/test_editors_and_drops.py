"""Generated editors (nested layer, regularizer, optional values), file drops, recent files."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication

from engine.project import new_project, save_project


def test_nested_layer_editor_switches_and_edits_the_wrapped_layer(qtbot, window):
    document = window.document
    document.insert_layer(3, "Bidirectional")
    window.stack_view.select_layer(3)
    editor = window.property_editor.editor("layer")
    assert editor.combo.currentText() == "LSTM"
    editor.combo.setCurrentIndex(editor.combo.findText("GRU"))
    editor.combo.activated.emit(editor.combo.currentIndex())
    wrapped = document.layer_entry(3)["config"]["layer"]
    assert wrapped["class_name"] == "GRU"
    units = editor.form.editors["units"].spin
    units.setValue(8)
    assert document.layer_entry(3)["config"]["layer"]["config"]["units"] == 8
    assert window.stack_model.rows()[4].title.startswith("Bidirectional")
    document.undo_stack.undo()
    document.undo_stack.undo()
    assert document.layer_entry(3)["config"]["layer"]["class_name"] == "LSTM"


def test_regularizer_editor_writes_keras_regularizers(window):
    document = window.document
    window.stack_view.select_layer(0)
    editor = window.property_editor.editor("kernel_regularizer")
    editor.combo.setCurrentIndex(editor.combo.findData("l2"))
    editor.combo.activated.emit(editor.combo.currentIndex())
    value = document.layer_entry(0)["config"]["kernel_regularizer"]
    assert value["class_name"] == "L2"
    editor.l2.setValue(0.001)
    value = document.layer_entry(0)["config"]["kernel_regularizer"]
    assert abs(value["config"]["l2"] - 0.001) < 1e-9
    assert document.undo_stack.count() == 2


def test_every_catalog_layer_gets_a_form_whose_values_the_engine_accepts(window):
    """Each generated editor shows the layer's value in a form ``set_param`` accepts back."""
    document = window.document
    problems = []
    window.document.problem.connect(problems.append)
    for class_name in window.catalog.layers:
        if class_name == "InputLayer":
            continue
        document.undo_stack.clear()
        document.project["model"]["layers"] = document.project["model"]["layers"][:1]
        assert document.insert_layer(0, class_name), class_name
        window.stack_view.select_layer(0)
        form = window.property_editor.form
        assert form is not None and form.editors, class_name
        before = document.layer_entry(0)["config"]
        for name, editor in form.editors.items():
            assert document.set_param(0, name, editor.value()), (class_name, name, problems[-1:])
        after = document.layer_entry(0)["config"]
        changed = {key for key in form.editors if before.get(key) != after.get(key)}
        assert not changed, (class_name, changed)


def _drop(window, path):
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(
        QPointF(50, 50),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    return event


def test_dropping_a_project_file_opens_it(qtbot, window, tmp_path):
    project = new_project()
    project["model"]["layers"] = window.document.project["model"]["layers"][:2]
    path = tmp_path / "dropped.llproj"
    save_project(project, path)
    event = _drop(window, path)
    assert event.isAccepted()
    qtbot.waitUntil(lambda: window.document.path == path, timeout=5_000)
    assert window.document.layer_count() == 1
    assert str(path.resolve()) in window.settings.recent_files()

    other = tmp_path / "notes.txt"
    other.write_text("hello")
    assert not _drop(window, other).isAccepted()
    QApplication.processEvents()
    assert window.document.path == path
