"""A progress bar for a training run: epoch i/N, step, samples/s and ETA, from engine events."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer, Slot
from PySide6.QtWidgets import QLabel, QProgressBar, QSizePolicy, QVBoxLayout, QWidget

from engine.events import BatchesEnd, EpochEnd, TrainBegin, TrainEnd

DISPLAY_INTERVAL_MS = 500  # twice a second: the bar repaints at once on every change
# samples/s is measured over the batches of the last few seconds of training. The batches of
# the first event of a run (compile and tracing), of the first after each epoch's end
# (validation) and of the first after a pause only start the measurement.
RATE_WINDOW_S = 5.0
# About the longest progress line, to decide whether one line of text is enough.
LONGEST_TEXT = "Epoch 888/888 · step 8888/8888 · 88,888 samples/s · ETA 8:88:88"
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
    where the run is.

    samples/s: completed batches × batch size over the last ``RATE_WINDOW_S`` seconds of
    training (the first batch event, which carries compile time, only starts the clock).
    ETA: the pace since the first batch event (pauses excluded, validation included) over
    the batches still to go; while paused it is frozen and the label says "paused"."""

    def __init__(self, parent: QWidget | None = None, clock: Callable[[], float] = time.monotonic):
        super().__init__(parent)
        self.setObjectName("trainProgress")
        self._clock = clock
        self.bar = QProgressBar()
        self.bar.setObjectName("trainProgressBar")
        self.bar.setTextVisible(True)
        self.label = QLabel()
        self.label.setObjectName("trainProgressLabel")
        # The bar above, the words below, wrapped onto a second line in a narrow dock rather
        # than cut ("… · ETA 0:4"). Its height follows the width only (one line when the
        # longest text fits, else two): text that changes twice a second must not re-lay out
        # the window around it.
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._lines = 0
        self._fit_label_height(2)
        self.label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.bar)
        layout.addWidget(self.label)
        # Batch events come up to 10 times a second; QProgressBar.setValue repaints at once,
        # so the display follows them at most every DISPLAY_INTERVAL_MS.
        self._display_timer = QTimer(self)
        self._display_timer.setSingleShot(True)
        self._display_timer.setInterval(DISPLAY_INTERVAL_MS)
        self._display_timer.timeout.connect(self._show)
        self.reset()

    def _fit_label_height(self, lines: int) -> None:
        if lines != self._lines:
            self._lines = lines
            self.label.setFixedHeight(lines * self.label.fontMetrics().lineSpacing() + 2)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        longest = self.label.fontMetrics().horizontalAdvance(LONGEST_TEXT)
        self._fit_label_height(1 if longest <= event.size().width() - 4 else 2)

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
        self._batch_size: int | None = None
        self._samples_done = 0
        self._points: deque[tuple[float, int]] = deque()
        self._segment_fresh = True
        self._pace_origin: tuple[float, int] | None = None
        self._frozen_eta: float | None = None
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
            self._frozen_eta = self.eta_seconds()
            self._paused_at = now
        elif not paused and self._paused_at is not None:
            self._paused_total += now - self._paused_at
            self._paused_at = None
            self._frozen_eta = None
            self._segment_fresh = True  # the batch in flight at the pause spans it
        self._show()

    @Slot(object)
    def on_event(self, event) -> None:
        if isinstance(event, TrainBegin):
            self.reset()
            self._epochs = max(1, event.epochs)
            self._steps = event.steps_per_epoch
            self._batch_size = event.batch_size or None
            self._started = self._clock()
            self.bar.setRange(0, self._epochs * (self._steps or 1))
            self._show()
        elif isinstance(event, BatchesEnd):
            self._epoch = event.epoch
            self._step = event.first_step + len(event.losses)
            self._measure(event)
            if not self._display_timer.isActive():
                self._display_timer.start()
        elif isinstance(event, EpochEnd):
            self._epoch = event.epoch + 1
            self._step = 0
            self._segment_fresh = True  # validation ran since the last batch
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

    def show_done(self, text: str) -> None:
        """A job of many runs ended (a search, a group): a full bar and ``text``, instead
        of the last run's own end ("Stopped: 2 epochs" after a search whose last trial
        shown was pruned)."""
        self._display_timer.stop()
        self._started = None
        self.bar.setRange(0, 1)
        self.bar.setValue(1)
        self.label.setText(text)

    def _active_time(self) -> float:
        """Seconds of training so far, pauses excluded."""
        now = self._paused_at if self._paused_at is not None else self._clock()
        return now - (self._started or now) - self._paused_total

    def _measure(self, event: BatchesEnd) -> None:
        now = self._active_time()
        if self._pace_origin is None:
            self._pace_origin = (now, self.done_steps())
        fresh, self._segment_fresh = self._segment_fresh, False
        if not self._batch_size:  # no batch size: smooth the engine's own figure
            if not fresh and event.samples_per_second > 0:
                rate = event.samples_per_second
                self._rate = rate if self._rate <= 0 else 0.7 * self._rate + 0.3 * rate
            return
        self._samples_done += len(event.losses) * self._batch_size
        if fresh:
            self._points.clear()
        self._points.append((now, self._samples_done))
        while len(self._points) > 2 and self._points[1][0] <= now - RATE_WINDOW_S:
            self._points.popleft()
        (t0, s0), (t1, s1) = self._points[0], self._points[-1]
        if t1 > t0 and s1 > s0:
            self._rate = (s1 - s0) / (t1 - t0)

    def samples_per_second(self) -> float:
        """The training throughput shown (0 until two batch events measured it)."""
        return self._rate

    def flush(self) -> None:
        """Show the latest batch now instead of at the next display tick."""
        self._display_timer.stop()
        self._show()

    def done_steps(self) -> int:
        return self._epoch * (self._steps or 1) + (self._step if self._steps else 0)

    def eta_seconds(self) -> float | None:
        """Seconds left at the current pace, None before the first batch; frozen while
        paused."""
        if self._started is None:
            return None
        if self._paused_at is not None and self._frozen_eta is not None:
            return self._frozen_eta
        total = self._epochs * (self._steps or 1)
        done = self.done_steps()
        if done <= 0:
            return None
        elapsed = self._active_time()
        if self._pace_origin is not None and done > self._pace_origin[1]:
            # the pace after the first batch event: compile time does not inflate it
            since, done_then = self._pace_origin
            return max(0.0, (elapsed - since) * (total - done) / (done - done_then))
        return max(0.0, elapsed * (total - done) / done)

    @Slot()
    def _show(self) -> None:
        if self._started is None:
            return
        self.bar.setValue(min(self.done_steps(), self.bar.maximum()))
        shown_epoch = min(self._epoch + 1, self._epochs)
        parts = [f"Epoch {shown_epoch}/{self._epochs}"]
        if self._steps:
            parts.append(f"step {self._step}/{self._steps}")
        if self._paused_at is not None:
            parts.append("paused")
        else:
            if self._rate > 0:
                parts.append(f"{self._rate:,.0f} samples/s")
            eta = self.eta_seconds()
            if eta is not None:
                parts.append(f"ETA {duration_text(eta)}")
        text = " · ".join(parts)
        if self.label.fontMetrics().horizontalAdvance(text) > self.label.width() - 4:
            self._fit_label_height(2)  # grows once; only a resize makes it one line again
        self.label.setText(text)
        self.label.setToolTip(text)
