"""The stack model: Qt's model tester, drop-reorder through its own MIME data, palette drops."""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QMimeData, Qt

from widgets.stack_model import LAYER_MIME, ROWS_MIME, StackModel, StackRow


def _body_names(window):
    return [entry["config"]["name"] for entry in window.document._body()]


def test_qtmodeltester_on_the_window_stack_model(qtmodeltester, window):
    qtmodeltester.check(window.stack_model, force_py=True)
    window.document.insert_layer(1, "Dropout")
    window.document.undo_stack.undo()
    qtmodeltester.check(window.stack_model, force_py=True)


def test_qtmodeltester_through_structural_changes(qtmodeltester):
    model = StackModel()
    rows = [StackRow("__input__", "InputLayer", "Input", is_input=True)]
    rows += [StackRow(name, "Dense", f"Dense {name}") for name in "abcd"]
    model.set_rows(rows)
    qtmodeltester.check(model, force_py=True)
    model.set_rows([rows[0], rows[2], rows[1], rows[3], rows[4]])  # move
    model.set_rows([rows[0], rows[2], rows[3], rows[4]])  # remove
    model.set_rows([rows[0], StackRow("e", "Flatten", "Flatten"), *rows[2:]])  # insert
    model.set_rows([rows[0]])  # reset
    qtmodeltester.check(model, force_py=True)


def test_drop_reorder_uses_one_move(window):
    before = _body_names(window)
    assert before == ["dense", "dropout", "dense_1"]
    model = window.stack_model
    data = model.mimeData([model.index(1)])  # body layer 0 ("dense")
    assert data.hasFormat(ROWS_MIME)
    model.dropMimeData(data, Qt.DropAction.MoveAction, 4, 0, model.index(-1))  # to the end
    assert _body_names(window) == ["dropout", "dense_1", "dense"]
    assert window.document.undo_stack.count() == 1

    data = model.mimeData([model.index(3)])  # "dense" back to the top (below the input row)
    model.dropMimeData(data, Qt.DropAction.MoveAction, 1, 0, model.index(-1))
    assert _body_names(window) == before
    assert [row.key for row in model.rows()[1:]] == before
    window.document.undo_stack.undo()
    assert _body_names(window) == ["dropout", "dense_1", "dense"]


def test_palette_drop_inserts_at_position(window):
    model = window.stack_model
    data = QMimeData()
    data.setData(LAYER_MIME, QByteArray(b"BatchNormalization"))
    assert model.canDropMimeData(data, Qt.DropAction.CopyAction, 2, 0, model.index(-1))
    model.dropMimeData(data, Qt.DropAction.CopyAction, 2, 0, model.index(-1))
    assert [entry["class_name"] for entry in window.document._body()] == [
        "Dense",
        "BatchNormalization",
        "Dropout",
        "Dense",
    ]
    assert window.stack_view.current_layer() == 1


def test_palette_drag_carries_the_class_name(window):
    palette = window.palette
    proxy = palette.proxy
    group = proxy.index(0, 0)
    leaf = proxy.index(0, 0, group)
    data = proxy.mimeData([leaf])
    assert bytes(data.data(LAYER_MIME).data()).decode() == leaf.data()


def test_keyboard_move_duplicate_delete(qtbot, window):
    stack = window.stack_view.list
    stack.setFocus()
    window.stack_view.select_layer(0)
    qtbot.keyClick(stack, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert _body_names(window) == ["dropout", "dense", "dense_1"]
    assert window.stack_view.current_layer() == 1
    qtbot.keyClick(stack, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert _body_names(window) == ["dropout", "dense", "dense_2", "dense_1"]
    qtbot.keyClick(stack, Qt.Key.Key_Delete)
    assert _body_names(window) == ["dropout", "dense", "dense_1"]
    qtbot.keyClick(stack, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert window.document.undo_stack.count() == 4
