"""The small Keras callbacks ``engine.training`` adds to every run.

- ``LearningRateInLogs`` (first in the list) puts the optimizer's current learning rate
  into each epoch's logs, so every later callback (CSVLogger, the reporter) sees it.
- ``ProgressReporter`` turns Keras's per-batch running means back into each batch's own
  loss and sends them coalesced (``BatchesEnd`` at most every ``interval`` seconds, 0.1 by
  default: 10 events a second are plenty for a progress display), then
  ``EpochEnd`` and a ``LogLine`` per epoch.
- ``NanGuard`` keeps the weights of the last epoch that ended finite and interrupts the run
  at the first batch whose loss is NaN or infinite (Keras's TerminateOnNaN, plus the restore).
- ``DivergenceWatch`` notes (once) when an epoch's loss has grown past ``factor`` (10^6)
  times the first batch's: the run goes on, but it has diverged and the log and the run's
  record say so.
- ``StopControl`` (last) waits while the run is paused and interrupts it when Stop is asked,
  after the current batch, also in the middle of validation.

Interruptions are exceptions (``RunInterrupted``), not ``model.stop_training``: Keras
finishes the epoch's validation after ``stop_training`` (seconds on a big validation set),
and an exception also keeps the partial epoch out of the history. ``engine.training``
catches them; the weights trained so far stay in the model.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

import keras
import numpy as np

from engine.events import BatchesEnd, EpochEnd, LogLine, Sink


class RunInterrupted(Exception):
    """Raised from a callback to leave ``model.fit`` at once."""


class StopRequested(RunInterrupted):
    """The user asked the run to stop."""


class NonFiniteLoss(RunInterrupted):
    """A batch's loss was NaN or infinite."""

    def __init__(self, epoch: int, step: int, value: float):
        super().__init__(f"loss {value} at epoch {epoch + 1}, batch {step + 1}")
        self.epoch = epoch
        self.step = step
        self.value = value


class Clock:
    """Seconds of training time: wall time minus the time spent paused."""

    def __init__(self) -> None:
        self._paused = 0.0

    def now(self) -> float:
        return time.perf_counter() - self._paused

    def add_pause(self, seconds: float) -> None:
        self._paused += seconds


class TrainControl:
    """Stop / pause / resume for one run, shared by the thread that asks and the one that trains.

    All methods are thread-safe. ``stop()`` also ends a pause, so a paused run stops at once.
    """

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        if not self._stop.is_set():
            self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused; return the seconds spent waiting (0.0 when not paused)."""
        if self._running.is_set():
            return 0.0
        start = time.perf_counter()
        self._running.wait()
        return time.perf_counter() - start


def current_learning_rate(model) -> float | None:
    """The optimizer's learning rate now (schedules evaluated at the current step)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None:
        return None
    try:
        # float() of a tensor, not np.array() of the Variable (which warns under numpy 2)
        rate = optimizer.learning_rate
        try:
            rate = float(keras.ops.convert_to_tensor(rate))
        except TypeError:  # a tf.distribute MirroredVariable (several devices or workers)
            rate = float(keras.ops.copy(rate))
    except (TypeError, ValueError, AttributeError):
        return None
    return float(f"{rate:.7g}")  # 0.001 rather than float32's 0.0010000000474974513


class LearningRateInLogs(keras.callbacks.Callback):
    """Adds ``learning_rate`` (the rate used during the epoch) to each epoch's logs."""

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and "learning_rate" not in logs:
            rate = current_learning_rate(self.model)
            if rate is not None:
                logs["learning_rate"] = rate


class ProgressReporter(keras.callbacks.Callback):
    """Sends every batch's loss (coalesced), each epoch's logs and a log line to ``sink``.

    Per-batch loss: Keras's logs hold the running mean of the loss over the epoch, weighted
    by batch size. The reporter undoes the mean exactly: with ``n_i`` samples in batch ``i``
    and ``N_i`` samples so far, ``loss_i = (mean_i * N_i - mean_{i-1} * N_{i-1}) / n_i``.
    The means are float32, so a batch loss is accurate to about ``1e-7 * i`` relative, far
    below what a curve shows. ``batch_size(step)`` gives ``n_i``.
    """

    def __init__(
        self,
        sink: Sink,
        clock: Clock,
        batch_size: Callable[[int], int],
        interval: float = 0.1,
    ):
        super().__init__()
        self.sink = sink
        self.clock = clock
        self.batch_size = batch_size
        self.interval = interval
        self.history: dict[str, list[float]] = {}
        self.batch_losses: list[float] = []
        self.epoch_seconds: list[float] = []  # each completed epoch's training time
        self.epochs_completed = 0
        self.epoch = 0
        self._pending: list[float] = []
        self._pending_first = 0
        self._pending_samples = 0
        self._last_logs: dict[str, float] = {}
        self._last_emit = -math.inf
        self._epoch_start = 0.0
        self._seen_samples = 0
        self._seen_total = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self._pending = []
        self._pending_first = 0
        self._pending_samples = 0
        self._seen_samples = 0
        self._seen_total = 0.0
        self._epoch_start = self.clock.now()
        self._last_emit = self._epoch_start - self.interval

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        mean = logs.get("loss")
        size = self.batch_size(batch)
        if mean is None:
            loss = math.nan
        else:
            seen = self._seen_samples + size
            total = float(mean) * seen
            loss = (total - self._seen_total) / size
            self._seen_samples, self._seen_total = seen, total
            if not math.isfinite(mean):
                loss = float(mean)
        if not self._pending:
            self._pending_first = batch
        self._pending.append(loss)
        self._pending_samples += size
        self.batch_losses.append(loss)
        self._last_logs = logs
        if self.clock.now() - self._last_emit >= self.interval:
            self.flush()

    def flush(self) -> None:
        """Send the batches not sent yet (the run calls this on every way out of ``fit``)."""
        if not self._pending:
            return
        now = self.clock.now()
        elapsed = now - max(self._last_emit, self._epoch_start)
        rate = self._pending_samples / elapsed if elapsed > 0 else 0.0
        event = BatchesEnd(
            epoch=self.epoch,
            first_step=self._pending_first,
            losses=tuple(self._pending),
            logs=scalar_logs(self._last_logs),
            samples_per_second=rate,
        )
        self._pending = []
        self._pending_samples = 0
        self._last_emit = now
        self.sink(event)

    def on_epoch_end(self, epoch, logs=None):
        self.flush()
        logs = scalar_logs(logs)
        seconds = self.clock.now() - self._epoch_start
        for key, value in logs.items():
            column = self.history.setdefault(key, [math.nan] * self.epochs_completed)
            column.append(value)
        for column in self.history.values():
            if len(column) < self.epochs_completed + 1:
                column.append(math.nan)
        self.epochs_completed = epoch + 1
        self.epoch_seconds.append(seconds)
        self.sink(EpochEnd(epoch=epoch, logs=logs, seconds=seconds))
        self.sink(LogLine(epoch_line(epoch, self.params.get("epochs"), logs, seconds)))


def scalar_logs(logs: dict | None) -> dict[str, float]:
    """Keras logs as floats: a per-class array (F1Score) becomes ``name_0``, ``name_1``, ...;
    learning rates are rounded to float32's precision (0.001, not 0.0010000000474974513)."""
    result: dict[str, float] = {}
    for key, value in (logs or {}).items():
        array = np.asarray(value, dtype="float64")
        if array.size == 1:
            number = float(array.reshape(()))
            if key.startswith("learning_rate") and math.isfinite(number):
                number = float(f"{number:.7g}")
            result[key] = number
        else:
            for index, item in enumerate(array.reshape(-1)):
                result[f"{key}_{index}"] = float(item)
    return result


def epoch_line(epoch: int, epochs: int | None, logs: dict[str, float], seconds: float) -> str:
    """'Epoch 3/20 - 1.9 s - loss: 0.4123 - accuracy: 0.8811 - val_loss: ... - lr: 0.001'."""
    parts = [f"Epoch {epoch + 1}/{epochs}" if epochs else f"Epoch {epoch + 1}", f"{seconds:.1f} s"]
    for key, value in logs.items():
        if key == "learning_rate":
            continue
        parts.append(f"{key}: {value:.4g}")
    if "learning_rate" in logs:
        parts.append(f"learning_rate: {logs['learning_rate']:.3g}")
    return " - ".join(parts)


class NanGuard(keras.callbacks.Callback):
    """Interrupts the run at a NaN/inf loss; ``restore()`` brings back the last finite weights.

    A snapshot is taken before the first batch and after each epoch whose loss and weights
    are all finite (once per epoch: cheap next to the epoch itself).
    """

    def __init__(self) -> None:
        super().__init__()
        self.epoch = 0
        self.snapshot_epoch: int | None = None  # None: the initial weights
        self.tripped = False  # a non-finite loss interrupted the run
        self._weights: list[np.ndarray] | None = None

    def on_train_begin(self, logs=None):
        self._take(None)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            self.tripped = True
            raise NonFiniteLoss(self.epoch, batch, float(loss))

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None or math.isfinite(loss):
            self._take(epoch)

    def _take(self, epoch: int | None) -> None:
        weights = self.model.get_weights()
        if all(np.isfinite(w).all() for w in weights if np.issubdtype(w.dtype, np.floating)):
            self._weights = weights
            self.snapshot_epoch = epoch

    def restore(self) -> bool:
        """Put the last finite weights back; False when there were none to restore."""
        if self._weights is None:
            return False
        self.model.set_weights(self._weights)
        return True


DIVERGENCE_FACTOR = 1e6


class DivergenceWatch(keras.callbacks.Callback):
    """Warns once when an epoch's loss exceeds ``factor`` times the first batch's loss.

    The first batch's loss is the untrained model's (an epoch's mean can already be huge
    after one epoch at a far too large learning rate). ``warning`` holds the sentence sent
    to ``sink`` as a warning ``LogLine``, or None.
    """

    def __init__(self, sink: Sink, factor: float = DIVERGENCE_FACTOR):
        super().__init__()
        self.sink = sink
        self.factor = factor
        self.reference: float | None = None
        self.warning: str | None = None

    def on_train_batch_end(self, batch, logs=None):
        if self.reference is None:
            loss = (logs or {}).get("loss")
            if loss is not None and math.isfinite(float(loss)) and float(loss) > 0:
                self.reference = float(loss)

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("loss")
        if self.warning is not None or self.reference is None or loss is None:
            return
        loss = float(loss)
        if math.isfinite(loss) and loss > self.factor * self.reference:
            self.warning = (
                f"The loss diverged: {loss:.4g} at epoch {epoch + 1}, more than "
                f"{self.factor:,.0f} times the first batch's {self.reference:.4g}. The model "
                "has not learned; try a smaller learning rate, normalised inputs or gradient "
                "clipping (clipnorm in the optimizer)."
            )
            self.sink(LogLine(self.warning, level="warning"))


class StopControl(keras.callbacks.Callback):
    """Honours ``TrainControl``: waits while paused, raises ``StopRequested`` after a batch."""

    def __init__(self, control: TrainControl, clock: Clock):
        super().__init__()
        self.control = control
        self.clock = clock

    def _check(self) -> None:
        if self.control.paused:
            self.clock.add_pause(self.control.wait_while_paused())
        if self.control.stop_requested:
            raise StopRequested

    def on_train_batch_end(self, batch, logs=None):
        self._check()

    def on_test_batch_end(self, batch, logs=None):
        self._check()

    def on_epoch_begin(self, epoch, logs=None):
        self._check()
