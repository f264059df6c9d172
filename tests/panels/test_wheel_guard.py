"""Issue 9 (seen under Xvfb): wheeling over a dock's form changed its combo and spin boxes."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QComboBox, QScrollArea, QSpinBox, QVBoxLayout, QWidget

from widgets.wheel_guard import install_wheel_guard


def _wheel(widget, steps=-1):
    event = QWheelEvent(
        QPointF(5, 5),
        QPointF(widget.mapToGlobal(QPoint(5, 5))),
        QPoint(0, 0),
        QPoint(0, 120 * steps),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_wheel_scrolls_the_form_and_changes_only_a_focused_control(qtbot):
    install_wheel_guard(QApplication.instance())
    area = QScrollArea()
    qtbot.addWidget(area)
    form = QWidget()
    layout = QVBoxLayout(form)
    spin = QSpinBox()
    spin.setValue(15)
    combo = QComboBox()
    combo.addItems(["csv", "keras", "sample"])
    layout.addWidget(spin)
    layout.addWidget(combo)
    for _ in range(40):
        layout.addWidget(QSpinBox())
    area.setWidget(form)
    area.resize(200, 150)
    area.show()
    qtbot.waitExposed(area)
    assert spin.focusPolicy() == Qt.FocusPolicy.StrongFocus

    _wheel(spin)
    _wheel(combo)
    assert spin.value() == 15 and combo.currentText() == "csv"
    assert area.verticalScrollBar().value() > 0  # the wheel scrolled the form instead

    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    _wheel(spin, steps=1)
    assert spin.value() == 16
