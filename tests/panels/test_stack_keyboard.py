"""The stack view's keys: Ctrl+Up/Down move the layer (never just the selection, even when
another shortcut has the same keys), the selection follows the moved layer, and the list
shows a focus ring while it has the keyboard focus."""

from __future__ import annotations

from collections import namedtuple

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence, QPalette
from PySide6.QtWidgets import QLineEdit, QVBoxLayout, QWidget

from widgets.layer_palette import LayerPalette
from widgets.stack_model import StackModel, StackRow
from widgets.stack_view import StackView

CTRL = Qt.KeyboardModifier.ControlModifier
Info = namedtuple("Info", "class_name category description")
INPUT = StackRow("__input__", "InputLayer", "Input", is_input=True)


class Owner:
    """Applies the view's requests to a list of names and refreshes the model, like the app
    (with a reset when ``reset`` is set: the view must not rely on a row move)."""

    def __init__(self, view: StackView, names: list[str], reset: bool = False):
        self.view, self.names, self.reset = view, list(names), reset
        view.moveRequested.connect(self.move)
        view.removeRequested.connect(self.remove)
        self.refresh()

    def refresh(self) -> None:
        rows = [INPUT, *(StackRow(name, "Dense", f"Dense {name}") for name in self.names)]
        if self.reset:
            self.view.model.set_rows([INPUT, StackRow("x", "Dense", "x", params=1)] * 2)
        self.view.model.set_rows(rows)

    def move(self, source: int, destination: int) -> None:
        self.names.insert(destination, self.names.pop(source))
        self.refresh()

    def remove(self, index: int) -> None:
        del self.names[index]
        self.refresh()


@pytest.fixture
def host(qtbot):
    window = QWidget()
    layout = QVBoxLayout(window)
    other = QLineEdit()
    view = StackView(StackModel())
    layout.addWidget(other)
    layout.addWidget(view)
    qtbot.addWidget(window)
    window.resize(400, 400)
    window.show()
    qtbot.waitExposed(window)
    window.other = other
    window.view = view
    return window


def current_key(view: StackView) -> str:
    return view.model.rows()[view.list.currentIndex().row()].key


@pytest.mark.parametrize("reset", [False, True])
def test_ctrl_up_down_move_the_layer_and_the_selection_follows(qtbot, host, reset):
    view = host.view
    owner = Owner(view, ["a", "b", "c", "d"], reset=reset)
    view.list.setFocus()
    view.select_layer(1)
    qtbot.keyClick(view.list, Qt.Key.Key_Down, CTRL)
    assert owner.names == ["a", "c", "b", "d"]
    assert current_key(view) == "b" and view.current_layer() == 2
    qtbot.keyClick(view.list, Qt.Key.Key_Up, CTRL)
    qtbot.keyClick(view.list, Qt.Key.Key_Up, CTRL)
    assert owner.names == ["b", "a", "c", "d"]
    assert current_key(view) == "b"
    qtbot.keyClick(view.list, Qt.Key.Key_Up, CTRL)  # already first: nothing moves
    assert owner.names == ["b", "a", "c", "d"] and current_key(view) == "b"
    qtbot.keyClick(view.list, Qt.Key.Key_Down)  # a plain arrow still moves the cursor
    assert current_key(view) == "a" and owner.names == ["b", "a", "c", "d"]


def test_a_window_shortcut_with_the_same_keys_does_not_steal_them(qtbot, host):
    view = host.view
    owner = Owner(view, ["a", "b", "c"])
    stolen = []
    for sequence in ("Ctrl+Up", "Ctrl+Down", "Del"):
        action = QAction(sequence, host)
        action.setShortcut(QKeySequence(sequence))
        action.triggered.connect(lambda _checked=False, s=sequence: stolen.append(s))
        host.addAction(action)
    view.list.setFocus()
    view.select_layer(2)
    qtbot.keyClick(view.list, Qt.Key.Key_Up, CTRL)
    assert owner.names == ["a", "c", "b"] and current_key(view) == "c"
    qtbot.keyClick(view.list, Qt.Key.Key_Delete)
    assert owner.names == ["a", "b"]
    assert stolen == []


def test_focus_ring_shows_while_the_list_has_focus(qtbot, host):
    view = host.view
    Owner(view, ["a", "b"])
    host.other.setFocus()
    qtbot.waitUntil(lambda: host.other.hasFocus())
    assert not view.has_focus_ring()
    highlight = view.palette().color(QPalette.ColorRole.Highlight)
    image = view.frame.grab().toImage()
    assert image.pixelColor(1, image.height() // 2) != highlight
    view.focus_list()
    qtbot.waitUntil(lambda: view.list.hasFocus())
    assert view.has_focus_ring()
    image = view.frame.grab().toImage()
    assert image.pixelColor(1, image.height() // 2) == highlight
    host.other.setFocus()
    qtbot.waitUntil(lambda: not view.has_focus_ring())


def test_palette_says_when_a_layer_was_added_by_keyboard(qtbot):
    palette = LayerPalette()
    qtbot.addWidget(palette)
    layers = {
        "Dense": Info("Dense", "Core", "A dense layer"),
        "Dropout": Info("Dropout", "Regularization", "Drops units"),
    }
    palette.set_catalog(layers, ["Core", "Regularization"], lambda _category: QIcon())
    palette.show()
    by_key, any_way = [], []
    palette.layerAddedByKeyboard.connect(by_key.append)
    palette.layerActivated.connect(any_way.append)
    palette.search.setFocus()
    qtbot.keyClicks(palette.search, "dropout")
    qtbot.keyClick(palette.search, Qt.Key.Key_Return)
    assert any_way == ["Dropout"] and by_key == ["Dropout"]
    palette.tree.setFocus()
    qtbot.keyClick(palette.tree, Qt.Key.Key_Enter)
    assert by_key == ["Dropout", "Dropout"]
    index = palette.tree.currentIndex()
    palette.tree.doubleClicked.emit(index)  # a double click is not the keyboard
    assert any_way == ["Dropout"] * 3 and len(by_key) == 2
