"""A row of widgets that stacks them when the row is too narrow for all of them side by side.

Used for button rows in narrow docks: its minimum width is its widest widget's, so a scroll
area around it never has to scroll sideways, and no button is squeezed until its text is cut.
"""

from __future__ import annotations

from PySide6.QtCore import QSize
from PySide6.QtWidgets import QBoxLayout, QWidget


class WrappingRow(QWidget):
    """``add(widget, stretch)`` like a ``QHBoxLayout``; top to bottom when it must."""

    def __init__(self, parent: QWidget | None = None, spacing: int = 6):
        super().__init__(parent)
        self._layout = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(spacing)
        self._widgets: list[QWidget] = []

    def add(self, widget: QWidget, stretch: int = 0) -> None:
        self._layout.addWidget(widget, stretch)
        self._widgets.append(widget)
        self.updateGeometry()

    def stacked(self) -> bool:
        return self._layout.direction() == QBoxLayout.Direction.TopToBottom

    def _row_width(self) -> int:
        shown = [w for w in self._widgets if not w.isHidden()]
        spacing = self._layout.spacing() * max(0, len(shown) - 1)
        return sum(w.sizeHint().width() for w in shown) + spacing

    def minimumSizeHint(self) -> QSize:
        shown = [w for w in self._widgets if not w.isHidden()]
        width = max(
            (w.minimumSizeHint().expandedTo(w.sizeHint()).width() for w in shown), default=0
        )
        return QSize(width, self._layout.minimumSize().height())

    def sizeHint(self) -> QSize:
        return QSize(self._row_width(), self._layout.sizeHint().height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._arrange(event.size().width())

    def _arrange(self, width: int) -> None:
        direction = (
            QBoxLayout.Direction.LeftToRight
            if width >= self._row_width()
            else QBoxLayout.Direction.TopToBottom
        )
        if self._layout.direction() != direction:
            self._layout.setDirection(direction)
            self.updateGeometry()
