"""Curve smoothing and x axes for comparing runs (pure Python, no Qt, no Keras).

``ema(values, weight)`` is TensorBoard's smoothing: an exponential moving average whose
start is debiased, so the first smoothed point equals the first value instead of being
pulled toward 0 (``last = weight * last + (1 - weight) * value``, divided by
``1 - weight ** n`` after ``n`` finite values). ``weight`` 0 leaves the curve as it is;
it is clipped to [0, 0.999]. Missing values (None, NaN, ±inf) stay missing and do not
disturb the average.

``x_values(run, axis)`` gives a run's x for each recorded epoch: ``"epoch"`` (1, 2, …),
``"relative"`` (seconds since the run started, at the end of each epoch) or ``"wall"``
(Unix time at the end of each epoch). Times come from the run's ``epoch_seconds`` (each
epoch's duration, when the run recorded them); a run without them has its total ``seconds``
spread evenly over its epochs (``times_are_estimated`` says so).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime
from typing import Any

MAX_WEIGHT = 0.999
AXES = ("epoch", "relative", "wall")
AXIS_TITLES = {
    "epoch": "Epoch",
    "relative": "Time since the run started (s)",
    "wall": "Time of day",
}


def ema(values: Iterable[Any], weight: float) -> list[float | None]:
    """``values`` smoothed with a debiased exponential moving average of ``weight``
    (0: none … 0.999: very smooth). None where a value is missing or not finite."""
    weight = min(max(float(weight), 0.0), MAX_WEIGHT) if math.isfinite(weight) else 0.0
    smoothed: list[float | None] = []
    last = 0.0
    count = 0
    for value in values:
        number = _finite(value)
        if number is None:
            smoothed.append(None)
            continue
        if weight == 0.0:
            smoothed.append(number)
            continue
        last = last * weight + (1.0 - weight) * number
        count += 1
        smoothed.append(last / (1.0 - weight**count))
    return smoothed


def times_are_estimated(run: dict) -> bool:
    """True when the run has no per-epoch times (its total time is spread evenly)."""
    return _epoch_durations(run) is None


def x_values(run: dict, axis: str = "epoch") -> list[float]:
    """The run's x for each recorded epoch on ``axis`` (``"epoch"``, ``"relative"``,
    ``"wall"``; see the module docstring). ``"wall"`` without a readable start time falls
    back to relative seconds."""
    if axis not in AXES:
        raise ValueError(f"Unknown x axis {axis!r}; choose one of {', '.join(AXES)}.")
    count = epoch_count(run)
    if axis == "epoch":
        return [float(epoch + 1) for epoch in range(count)]
    durations = _epoch_durations(run)
    if durations is None:
        total = _finite(run.get("seconds")) or 0.0
        durations = [total / count] * count if count else []
    relative = []
    elapsed = 0.0
    for seconds in durations[:count]:
        elapsed += seconds
        relative.append(elapsed)
    if axis == "relative":
        return relative
    start = start_time(run)
    return relative if start is None else [start + seconds for seconds in relative]


def epoch_count(run: dict) -> int:
    """How many epochs the run's history holds (its longest series)."""
    history = run.get("history") or {}
    return max((len(values or []) for values in history.values()), default=0)


def start_time(run: dict) -> float | None:
    """The run's start as Unix time (from ``started_at``), or None."""
    try:
        return datetime.fromisoformat(str(run.get("started_at"))).timestamp()
    except (TypeError, ValueError):
        return None


def _epoch_durations(run: dict) -> list[float] | None:
    recorded = run.get("epoch_seconds")
    if not isinstance(recorded, list) or len(recorded) < epoch_count(run):
        return None
    durations = [_finite(value) for value in recorded]
    if any(value is None or value < 0 for value in durations):
        return None
    return [float(value) for value in durations]


def _finite(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
