"""A progress bar for a training run: epoch i/N, step, samples/s and ETA, from engine events."""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QTimer, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QSizePolicy, QWidget

from engine.events import BatchesEnd, EpochEnd, TrainBegin, TrainEnd

DISPLAY_INTERVAL_MS = 500  # twice a second: the bar repaints at once on every change
_END_TITLES = {
    "completed": "Completed",
    "stopped": "Stopped",
    "early_stopped": "Stopped early",
    "failed": "Failed",
}


def duration_text(seconds: float) -> str:
    """'0:42', '12:05', '1:02:07'."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TrainProgress(QWidget):
    """``trainProgressBar`` counts batches over the whole run; ``trainProgressLabel`` says
    where the run is. ETA extrapolates the training time so far (pauses excluded) over the
    batches still to go, so it includes validation time."""

    def __init__(self, parent: QWidget | None = None, clock: Callable[[], float] = time.monotonic):
        super().__init__(parent)
        self.setObjectName("trainProgress")
        self._clock = clock
        self.bar = QProgressBar()
        self.bar.setObjectName("trainProgressBar")
        self.bar.setTextVisible(True)
        self.label = QLabel()
        self.label.setObjectName("trainProgressLabel")
        # Text that changes twice a second must not re-lay out the window around it.
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.label.setMinimumWidth(self.label.fontMetrics().horizontalAdvance("x" * 40))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.bar, 1)
        layout.addWidget(self.label, 2)
        # Batch events come up to 10 times a second; QProgressBar.setValue repaints at once,
        # so the display follows them at most every DISPLAY_INTERVAL_MS.
        self._display_timer = QTimer(self)
        self._display_timer.setSingleShot(True)
        self._display_timer.setInterval(DISPLAY_INTERVAL_MS)
        self._display_timer.timeout.connect(self._show)
        self.reset()

    @Slot()
    def reset(self) -> None:
        self._epochs = 0
        self._steps: int | None = None
        self._started: float | None = None
        self._paused_at: float | None = None
        self._paused_total = 0.0
        self._epoch = 0
        self._step = 0
        self._rate = 0.0
        self._display_timer.stop()
        self.bar.setRange(0, 1)
        self.bar.setValue(0)
        self.bar.setFormat("%p%")
        self.label.setText("Ready")

    @Slot(bool)
    def set_paused(self, paused: bool) -> None:
        """Freeze the ETA clock while paused (connect to ``pausedChanged``)."""
        now = self._clock()
        if paused and self._paused_at is None:
            self._paused_at = now
        elif not paused and self._paused_at is not None:
            self._paused_total += now - self._paused_at
            self._paused_at = None
        self._show()

    @Slot(object)
    def on_event(self, event) -> None:
        if isinstance(event, TrainBegin):
            self.reset()
            self._epochs = max(1, event.epochs)
            self._steps = event.steps_per_epoch
            self._started = self._clock()
            self.bar.setRange(0, self._epochs * (self._steps or 1))
            self._show()
        elif isinstance(event, BatchesEnd):
            self._epoch = event.epoch
            self._step = event.first_step + len(event.losses)
            self._rate = event.samples_per_second
            if not self._display_timer.isActive():
                self._display_timer.start()
        elif isinstance(event, EpochEnd):
            self._epoch = event.epoch + 1
            self._step = 0
            self._show()
        elif isinstance(event, TrainEnd):
            self._display_timer.stop()
            if event.status == "completed":
                self.bar.setValue(self.bar.maximum())
            title = _END_TITLES.get(event.status, event.status)
            epochs = event.epochs_completed
            self.label.setText(
                f"{title}: {epochs} epoch{'s' if epochs != 1 else ''} in "
                f"{duration_text(event.seconds)}"
            )
            self._started = None

    def flush(self) -> None:
        """Show the latest batch now instead of at the next display tick."""
        self._display_timer.stop()
        self._show()

    def done_steps(self) -> int:
        return self._epoch * (self._steps or 1) + (self._step if self._steps else 0)

    def eta_seconds(self) -> float | None:
        """Seconds left at the current pace, None before the first batch."""
        if self._started is None:
            return None
        total = self._epochs * (self._steps or 1)
        done = self.done_steps()
        if done <= 0:
            return None
        now = self._paused_at if self._paused_at is not None else self._clock()
        elapsed = now - self._started - self._paused_total
        return elapsed * (total - done) / done

    @Slot()
    def _show(self) -> None:
        if self._started is None:
            return
        self.bar.setValue(min(self.done_steps(), self.bar.maximum()))
        shown_epoch = min(self._epoch + 1, self._epochs)
        parts = [f"Epoch {shown_epoch}/{self._epochs}"]
        if self._steps:
            parts.append(f"step {self._step}/{self._steps}")
        if self._rate > 0:
            parts.append(f"{self._rate:,.0f} samples/s")
        eta = self.eta_seconds()
        if eta is not None:
            parts.append(f"ETA {duration_text(eta)}")
        if self._paused_at is not None:
            parts.append("paused")
        self.label.setText(" · ".join(parts))
