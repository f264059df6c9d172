"""Every control in the docks is readable at 1280×800 (what most laptops give), as laid out
by default: no label, button, check box or combo narrower than it needs, no elided text, no
horizontal scrolling. And the training form keeps several rows visible at 1024×700."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QLabel,
    QPushButton,
    QScrollArea,
    QStyle,
    QStyleOptionComboBox,
    QWidget,
)

CHECKED = (QLabel, QPushButton, QCheckBox, QComboBox)


def _really_visible(widget: QWidget) -> bool:
    """Shown (scrolled away vertically is allowed: forms may scroll up and down)."""
    return widget.isVisible() and widget.width() > 0 and widget.height() > 0


def _text_width(widget: QWidget, text: str) -> int:
    """Width of ``text`` as drawn: a single ``&`` marks a mnemonic and takes no room."""
    shown = text.replace("&&", "\0").replace("&", "").replace("\0", "&")
    return widget.fontMetrics().horizontalAdvance(shown)


def clipped(widget: QWidget) -> str | None:
    """Why ``widget`` does not show all of itself, or None."""
    name = f"{type(widget).__name__} {widget.objectName()!r}"
    if isinstance(widget, QLabel):
        text = widget.text()
        if not text or (widget.pixmap() is not None and not widget.pixmap().isNull()):
            return None
        room = widget.contentsRect()
        if widget.wordWrap():
            need = widget.heightForWidth(room.width())
            if need > widget.height() + 1:
                return f"{name} {text[:40]!r}: needs {need} px high, has {widget.height()}"
            return None
        plain = widget.textFormat() == Qt.TextFormat.PlainText or not Qt.mightBeRichText(text)
        need = _text_width(widget, text) if plain else widget.sizeHint().width()
        if need > room.width() + 1:
            return f"{name} {text[:40]!r}: needs {need} px wide, has {room.width()}"
        return None
    # what a layout grants at least: minimumSize where set, else minimumSizeHint
    hint = widget.minimumSizeHint()
    if widget.minimumWidth() > 0:
        hint.setWidth(widget.minimumWidth())
    if widget.minimumHeight() > 0:
        hint.setHeight(widget.minimumHeight())
    if isinstance(widget, QAbstractButton) and widget.text():
        hint = hint.expandedTo(widget.sizeHint())
    if isinstance(widget, QComboBox) and widget.currentText() and not widget.isEditable():
        option = QStyleOptionComboBox()
        widget.initStyleOption(option)
        text = QSize(_text_width(widget, widget.currentText()), widget.fontMetrics().height())
        if not widget.itemIcon(widget.currentIndex()).isNull():
            text.setWidth(text.width() + widget.iconSize().width() + 4)
        need = widget.style().sizeFromContents(
            QStyle.ContentsType.CT_ComboBox, option, text, widget
        )
        if widget.width() + 1 < need.width():
            text = widget.currentText()
            return f"{name} {text!r}: {widget.width()} px wide, needs {need.width()}"
    if widget.width() + 1 < hint.width():
        return f"{name}: {widget.width()} px wide, needs {hint.width()}"
    if widget.height() + 1 < hint.height():
        return f"{name}: {widget.height()} px high, needs {hint.height()}"
    return None


def dock_problems(window) -> list[str]:
    problems = []
    for dock in window.findChildren(QDockWidget):
        if not dock.isVisible() or dock.widget() is None:
            continue
        for area in dock.widget().findChildren(QScrollArea):
            if area.isVisible() and area.horizontalScrollBar().isVisible():
                problems.append(f"{dock.objectName()}: {area.objectName()!r} scrolls sideways")
        for kind in CHECKED:
            for widget in dock.widget().findChildren(kind):
                if not _really_visible(widget):
                    continue
                problem = clipped(widget)
                if problem:
                    problems.append(f"{dock.objectName()}: {problem}")
    return problems


def show_at(window, qtbot, width: int, height: int) -> None:
    """The window as a first launch lays it out on a screen of this size (the offscreen
    screen is only 800 px wide, so the default dock sizes are applied again)."""
    window.resize(width, height)
    window.showNormal()
    qtbot.waitUntil(lambda: window.width() == width, timeout=5_000)
    window.layout_builder.default_dock_sizes()
    qtbot.wait(100)


@pytest.mark.parametrize("tab", ["datasetDock", "trainingDock"])
def test_no_control_is_clipped_at_1280x800(window, qtbot, tab):
    show_at(window, qtbot, 1280, 800)
    window.docks[tab].raise_()
    qtbot.wait(100)
    problems = dock_problems(window)
    for bottom in ("runsDock", "logDock", "curvesDock"):
        window.docks[bottom].raise_()
        qtbot.wait(50)
        problems += [p for p in dock_problems(window) if p.startswith(bottom)]
    assert not sorted(set(problems)), "\n".join(sorted(set(problems)))


def test_progress_text_is_not_cut_while_training(window, qtbot):
    from engine.events import BatchesEnd, TrainBegin

    show_at(window, qtbot, 1280, 800)
    progress = window.progress
    progress.on_event(TrainBegin(150, 1875, 32, 60_000, "CPU"))
    progress.on_event(BatchesEnd(11, 0, (0.5,) * 3, {}, 1.0))
    progress.on_event(BatchesEnd(11, 3, (0.5,) * 1400, {}, 1.0))
    progress.flush()
    assert "ETA" in progress.label.text()
    assert clipped(progress.label) is None


def test_training_form_shows_enough_rows_at_1024x700(window, qtbot):
    show_at(window, qtbot, 1024, 700)
    window.docks["trainingDock"].raise_()
    qtbot.wait(100)
    scroll = window.training_panel.findChild(QScrollArea)
    assert not scroll.horizontalScrollBar().isVisible()
    fields = [
        w
        for w in window.training_panel.findChildren(QWidget)
        if isinstance(w, (QComboBox, QAbstractButton)) or "SpinBox" in type(w).__name__
    ]
    viewport = scroll.viewport()
    shown = [
        w
        for w in fields
        if w.isVisible()
        and viewport.isAncestorOf(w)
        and viewport.rect().contains(w.mapTo(viewport, w.rect().center()))
    ]
    assert len(shown) >= 7, [w.objectName() or type(w).__name__ for w in shown]
