"""A titled, scrolling column of cards: the common frame of the layer-output and
explanation views (``ActivationView``, ``ExplanationView``).

``show_message(text)`` empties the column and shows ``text`` as the title; subclasses add
their cards with ``self.column.addWidget`` and remember them in ``self.items``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget


class CardColumn(QWidget):
    """``title`` (a wrapping label) above a scroll area holding ``column``."""

    def __init__(self, name: str, empty_text: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName(name)
        self.title = QLabel("")
        self.title.setObjectName(name.removesuffix("View") + "Title")
        self.title.setWordWrap(True)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.body = QWidget()
        self.column = QVBoxLayout(self.body)
        self.column.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.scroll.setWidget(self.body)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.scroll, 1)
        self.items: list[QWidget] = []
        self.show_message(empty_text)

    def _clear(self) -> None:
        while self.column.count():
            item = self.column.takeAt(0)
            widget = item.widget()
            if widget is not None:
                widget.deleteLater()
        self.items = []

    def show_message(self, text: str) -> None:
        self._clear()
        self.title.setText(text)
