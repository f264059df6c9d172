"""Build the IMDB MLP from the palette with the keyboard, break it, undo, save, reopen."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLineEdit, QListView

from widgets.stack_model import ErrorRole, ParamsRole, ShapeRole


def _rows(window):
    model = window.stack_model
    return [
        (
            model.index(row).data(ShapeRole),
            model.index(row).data(ParamsRole),
            model.index(row).data(ErrorRole),
        )
        for row in range(model.rowCount())
    ]


def _add_from_palette(qtbot, window, class_name):
    search = window.palette.findChild(QLineEdit, "paletteSearch")
    search.setFocus()
    search.selectAll()
    qtbot.keyClicks(search, class_name)
    qtbot.keyClick(search, Qt.Key.Key_Return)


def _set_spin(qtbot, editor, value):
    spin = editor.spin
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, str(value))
    qtbot.keyClick(spin, Qt.Key.Key_Return)


def _choose(qtbot, editor, text):
    combo = editor.combo
    combo.setFocus()
    combo.setCurrentIndex(combo.findText(text))
    combo.activated.emit(combo.currentIndex())


def test_imdb_mlp_by_keyboard_break_undo_save_reopen(qtbot, make_window, tmp_path, monkeypatch):
    window = make_window()
    qtbot.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.document.layer_count() == 0
    stack = window.findChild(QListView, "layerStack")

    stack.setFocus()
    stack.setCurrentIndex(window.stack_model.index(0))
    # The new project's dataset (sample digits) fixes the input: a contradicting shape
    # typed into the input row is refused with a message, and the row keeps (64,).
    shape_line = window.property_editor.input_editor.line
    shape_line.setFocus()
    shape_line.selectAll()
    qtbot.keyClicks(shape_line, "10000")
    qtbot.keyClick(shape_line, Qt.Key.Key_Return)
    assert window.document.input_shape() == (64,)
    assert "(64,)" in window.statusBar().currentMessage()
    # Choosing IMDB (multi-hot, 10,000 words) sets the input at once, without a preview.
    window.document.set_dataset({"source": "keras", "name": "imdb"})
    assert window.document.input_shape() == (10000,)
    assert window.stack_model.rows()[0].title == "Input (10000,)"

    for units, activation in ((16, "relu"), (16, "relu"), (1, "sigmoid")):
        _add_from_palette(qtbot, window, "Dense")
        editor = window.property_editor
        _set_spin(qtbot, editor.editor("units"), units)
        _choose(qtbot, editor.editor("activation"), activation)

    titles = [row.title for row in window.stack_model.rows()[1:]]
    assert titles == ["Dense 16 · relu", "Dense 16 · relu", "Dense 1 · sigmoid"]
    assert _rows(window)[1:] == [
        ("(None, 16)", 160_016, None),
        ("(None, 16)", 272, None),
        ("(None, 1)", 17, None),
    ]
    totals = window.findChild(type(window.stack_view.totalsLabel), "paramsTotal").text()
    assert "160,305" in totals
    assert window.isWindowModified()

    # Break it: Conv2D after the first Dense.
    stack.setFocus()
    stack.setCurrentIndex(window.stack_model.index(1))
    _add_from_palette(qtbot, window, "Conv2D")
    rows = _rows(window)
    assert rows[2][2] and "Conv2D" in rows[2][2]
    error_label = window.stack_view.errorLabel
    assert error_label.isVisible() and "Conv2D" in error_label.text()
    assert "160,305" not in window.stack_view.totalsLabel.text()

    # Undo (Ctrl+Z) brings it back to green.
    stack.setFocus()
    qtbot.keyClick(stack, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert all(error is None for _shape, _params, error in _rows(window))
    assert not error_label.isVisible()
    assert "160,305" in window.stack_view.totalsLabel.text()

    # Save As, reopen in a fresh window, compare.
    target = tmp_path / "imdb_mlp.llproj"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *args, **kwargs: (str(target), ""))
    )
    assert window.save()
    assert target.exists() and not window.isWindowModified()
    assert window.windowTitle().startswith("imdb_mlp.llproj")
    window.files.guard.close()  # as when the first window closes: the file is free again
    reopened = make_window(target)
    assert reopened.document.project["model"] == window.document.project["model"]
    assert _rows(reopened) == _rows(window)
    assert "160,305" in reopened.stack_view.totalsLabel.text()
