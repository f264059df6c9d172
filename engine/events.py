"""The one progress protocol from the training engine to whoever watches it.

``engine.training`` calls ``sink(event)`` with these plain, immutable objects from the
thread that runs ``fit``. The CLI prints them; ``app/`` re-emits them as Qt signals.
Epochs and steps are 0-based here; displays add 1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["completed", "stopped", "early_stopped", "failed"]


@dataclass(frozen=True)
class TrainBegin:
    """Sent once, after the model is built and compiled, before the first batch."""

    epochs: int
    steps_per_epoch: int | None
    batch_size: int | None
    samples: int | None
    device: str


@dataclass(frozen=True)
class BatchesEnd:
    """Several finished batches of one epoch, coalesced (at most ~20 events/second).

    ``losses`` holds the loss of *every* batch since the previous event, in order;
    batch ``first_step + i`` has ``losses[i]``. ``logs`` are Keras's logs after the
    last of them (running means over the epoch so far).
    """

    epoch: int
    first_step: int
    losses: tuple[float, ...]
    logs: dict[str, float]
    samples_per_second: float


@dataclass(frozen=True)
class EpochEnd:
    """An epoch finished: ``logs`` as Keras names them (loss, val_loss, ..., learning_rate)."""

    epoch: int
    logs: dict[str, float]
    seconds: float


@dataclass(frozen=True)
class TrainEnd:
    """The run ended. Always the last event of a run, on every exit path.

    ``status`` is completed / stopped (by the user) / early_stopped (by EarlyStopping) /
    failed (also after a NaN or infinite loss); ``message`` says what happened in a
    sentence (for failures: the problem and the fix).
    """

    status: Status
    message: str
    epochs_completed: int
    seconds: float
    history: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class LogLine:
    """A line for the log pane / terminal."""

    text: str
    level: Literal["info", "warning", "error"] = "info"


@dataclass(frozen=True)
class LayerOutputs:
    """Each layer's output on the sample the window asked for, with the weights at the end of
    ``epoch`` (``engine.live_activations``). Sent only when asked, in-process only (its
    ``layers``, ``engine.inspect_model.LayerActivation``s, hold arrays: it is not a JSON-line
    protocol event). ``message``: why nothing was computed (``layers`` empty)."""

    epoch: int
    layers: tuple
    title: str = ""
    message: str = ""


Event = TrainBegin | BatchesEnd | EpochEnd | TrainEnd | LogLine | LayerOutputs
Sink = Callable[[Event], Any]
