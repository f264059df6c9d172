"""The training log pane: the engine's log lines and each run's outcome, coloured by level."""

from __future__ import annotations

import html

from PySide6.QtCore import Slot
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from engine.events import LogLine, TrainBegin, TrainEnd

MAX_LINES = 5000
LEVEL_COLORS = {"info": None, "warning": "#b35900", "error": "#c62828"}
STATUS_LEVELS = {
    "completed": "info",
    "stopped": "warning",
    "early_stopped": "warning",
    "failed": "error",
}


class LogView(QPlainTextEdit):
    """Read-only, at most ``MAX_LINES`` blocks; follows the end unless scrolled up."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("logView")
        self.setReadOnly(True)
        self.setMaximumBlockCount(MAX_LINES)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setStyleHint(QFont.StyleHint.Monospace)
        self.setFont(font)
        self._last_error = ""

    @Slot()
    def clear(self) -> None:
        """Forget the shown lines (another project is open), the last error too: a new
        project's failure with the same message must still be written."""
        super().clear()
        self._last_error = ""

    @Slot(object)
    def on_event(self, event) -> None:
        """Append LogLines, a line when a run begins and its outcome when it ends."""
        if isinstance(event, LogLine):
            self.append_line(event.text, event.level)
        elif isinstance(event, TrainBegin):
            steps = f", {event.steps_per_epoch} steps per epoch" if event.steps_per_epoch else ""
            batch = f", batch {event.batch_size}" if event.batch_size else ""
            samples = f", {event.samples:,} samples" if event.samples else ""
            self.append_line(
                f"Training on {event.device}: {event.epochs} epochs{steps}{batch}{samples}"
            )
        elif isinstance(event, TrainEnd) and not (
            # The engine already logged a failure's message as an error line.
            event.status == "failed" and event.message == self._last_error
        ):
            self.append_line(event.message, STATUS_LEVELS.get(event.status, "info"))

    def append_line(self, text: str, level: str = "info") -> None:
        scrollbar = self.verticalScrollBar()
        following = scrollbar.value() >= scrollbar.maximum() - 2
        color = LEVEL_COLORS.get(level)
        escaped = html.escape(text).replace("\n", "<br>")
        if color:
            escaped = f'<span style="color:{color}">{escaped}</span>'
        self.appendHtml(f'<span style="white-space:pre">{escaped}</span>')
        if level == "error":
            self._last_error = text
        if following:
            scrollbar.setValue(scrollbar.maximum())

    def lines(self) -> list[str]:
        """The pane's text, one entry per line (for tests and copying)."""
        return self.toPlainText().splitlines()
