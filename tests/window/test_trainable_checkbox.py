"""Issue 11: each stack row with weights has a "trainable" checkbox (fine-tuning: freeze the
first layers). Clicking it or pressing Space sets the layer's own Keras ``trainable`` flag as
one undo step, and the totals line counts the frozen parameters as non-trainable."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem


def _body(window) -> list[dict]:
    return window.document.body()


def _dense_row(window) -> int:
    rows = window.stack_model.rows()
    return next(i for i, row in enumerate(rows) if row.class_name == "Dense")


def _check_rect_centre(view, index) -> QPoint:
    option = QStyleOptionViewItem()
    option.initFrom(view)
    option.rect = view.visualRect(index)
    view.itemDelegate().initStyleOption(option, index)
    assert option.features & QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    rect = view.style().subElementRect(
        QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, view
    )
    return rect.center()


def test_rows_with_weights_have_a_trainable_checkbox_and_others_none(window):
    model = window.stack_model
    for row_number, row in enumerate(model.rows()):
        state = model.data(model.index(row_number), Qt.ItemDataRole.CheckStateRole)
        if row.is_input or not row.params:
            assert state is None, row
        else:
            assert state == Qt.CheckState.Checked, row


def test_clicking_the_checkbox_freezes_the_layer_in_one_undo_step(qtbot, window):
    view = window.stack_view.list
    row = _dense_row(window)
    index = window.stack_model.index(row)
    total_before, trainable_before = window.document.totals()
    params = window.stack_model.rows()[row].params
    centre = _check_rect_centre(view, index)
    QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.waitUntil(lambda: _body(window)[row - 1]["config"]["trainable"] is False, timeout=3000)
    qtbot.waitUntil(lambda: window.document.totals()[1] == trainable_before - params, timeout=10000)
    assert window.document.totals()[0] == total_before
    assert "non-trainable" in window.stack_view.totalsLabel.text()
    assert window.stack_model.data(index, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    window.document.undo_stack.undo()
    assert _body(window)[row - 1]["config"].get("trainable", True) is True
    assert window.stack_model.data(index, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked


def test_space_toggles_trainable_from_the_keyboard(qtbot, window):
    from PySide6.QtWidgets import QListView

    view = window.stack_view.findChild(QListView)
    row = _dense_row(window)
    view.setFocus()
    view.setCurrentIndex(window.stack_model.index(row))
    QTest.keyClick(view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: _body(window)[row - 1]["config"]["trainable"] is False, timeout=3000)
    QTest.keyClick(view, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: _body(window)[row - 1]["config"]["trainable"] is True, timeout=3000)
