"""A read-only table of per-layer cost (multiply-adds, parameter and output memory per sample)
with a totals row. The app works the values out (``engine.cost``) and passes plain text:
``set_rows(rows, totals, note)``; ``show_message(text)`` replaces the table with a sentence.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("Layer", "Type", "MACs", "Other ops", "Params memory", "Output memory")
NUMERIC = {2, 3, 4, 5}


class CostTable(QWidget):
    """Title, a Copy button, the table and a one-line note under it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("costTable")
        self.table = QTableWidget(0, len(COLUMNS), self)
        self.table.setObjectName("costTableView")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 6)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.note = QLabel(self)
        self.note.setObjectName("costNote")
        self.note.setWordWrap(True)
        copy_button = QPushButton("Copy", self)
        copy_button.setObjectName("costTableCopy")
        copy_button.setToolTip("Copy the cost table as tab-separated text")
        copy_button.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.text()))
        row = QHBoxLayout()
        row.addWidget(QLabel("<b>Cost per sample</b> (inference multiply-adds and memory)", self))
        row.addStretch(1)
        row.addWidget(copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)

    def set_rows(
        self, rows: Sequence[Sequence[str]], totals: Sequence[str] | None, note: str = ""
    ) -> None:
        """One row per layer (six texts, ``COLUMNS``), then ``totals`` in bold."""
        all_rows = [list(r) for r in rows] + ([list(totals)] if totals else [])
        self.table.setRowCount(len(all_rows))
        bold = QFont(self.table.font())
        bold.setBold(True)
        for r, texts in enumerate(all_rows):
            for c, text in enumerate(texts[: len(COLUMNS)]):
                item = QTableWidgetItem(str(text))
                if c in NUMERIC:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                if totals and r == len(all_rows) - 1:
                    item.setFont(bold)
                self.table.setItem(r, c, item)
        self.note.setText(note)
        self.note.setVisible(bool(note))

    def show_message(self, text: str) -> None:
        self.table.setRowCount(0)
        self.note.setText(text)
        self.note.setVisible(bool(text))

    def text(self) -> str:
        """The table as tab-separated lines (header first)."""
        lines = ["\t".join(COLUMNS)]
        for r in range(self.table.rowCount()):
            cells = [self.table.item(r, c) for c in range(self.table.columnCount())]
            lines.append("\t".join(item.text() if item else "" for item in cells))
        return "\n".join(lines)
