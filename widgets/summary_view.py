"""The Summary tab: ``model.summary()`` text and the Keras JSON config, read-only, copyable.

The app computes both texts (building the model needs Keras, off the GUI thread) and calls
``show_texts``; ``show_message`` replaces the summary with a sentence (loading, errors).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)


class SummaryView(QWidget):
    """Two read-only monospace panes with a Copy button each."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("summaryPage")
        fixed = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.summary_text = self._text_pane("summaryText", fixed)
        self.config_text = self._text_pane("configText", fixed)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        for title, editor in (
            ("model.summary()", self.summary_text),
            ("Keras JSON config", self.config_text),
        ):
            box = QWidget(splitter)
            box_layout = QVBoxLayout(box)
            box_layout.setContentsMargins(0, 0, 0, 0)
            row = QHBoxLayout()
            row.addWidget(QLabel(f"<b>{title}</b>", box))
            row.addStretch(1)
            copy_button = QPushButton("Copy", box)
            copy_button.setObjectName(f"{editor.objectName()}Copy")
            copy_button.setToolTip(f"Copy the {title} text to the clipboard")
            copy_button.clicked.connect(
                lambda _checked=False, pane=editor: QGuiApplication.clipboard().setText(
                    pane.toPlainText()
                )
            )
            row.addWidget(copy_button)
            box_layout.addLayout(row)
            box_layout.addWidget(editor)
            splitter.addWidget(box)
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def _text_pane(self, name: str, font) -> QPlainTextEdit:
        editor = QPlainTextEdit(self)
        editor.setObjectName(name)
        editor.setReadOnly(True)
        editor.setFont(font)
        editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        editor.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        return editor

    def show_texts(self, summary: str, config_json: str) -> None:
        self.summary_text.setPlainText(summary)
        self.config_text.setPlainText(config_json)

    def show_message(self, text: str) -> None:
        self.summary_text.setPlainText(text)
