"""The training events as JSON lines, for worker processes (``engine.worker``).

A worker writes one JSON object per line on its stdout; the parent reads them back into the
very ``engine.events`` objects an in-process run sends, so a sink cannot tell a run in a
worker from one in a thread. ``to_json_line(event)`` and ``from_json_line(line)`` round-trip
every event exactly (floats, NaN and infinities included; tuples stay tuples).

Besides the training events, a job ends with two events of its own:

- ``JobResult``: what the worker produced (its run record, written into the job's folder),
  sent by the worker after ``TrainEnd``, or made up by the parent when the worker died
  without one (crash, kill, timeout), with a plain message saying so;
- ``JobFinished``: sent by the pool, always, exactly once per job, last.

Search and groups add ``TrialFinished`` (one per Optuna trial) and ``SearchFinished``.

This module imports nothing heavy (no Keras, no Optuna): the parent side stays light.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

from engine.events import BatchesEnd, EpochEnd, LogLine, TrainBegin, TrainEnd


@dataclass(frozen=True)
class JobResult:
    """The outcome of one job. ``status`` as ``TrainEnd``'s (completed / stopped /
    early_stopped / failed); ``record``: the run record the worker wrote (``engine.runs``
    format, its weights path relative to ``folder``), None when nothing was trained;
    ``parameter_count``: the model's parameters (None when it was never built)."""

    status: str
    message: str
    folder: str = ""
    record: dict | None = None
    parameter_count: int | None = None
    exit_code: int | None = None


@dataclass(frozen=True)
class JobStarted:
    """The pool started a worker process for a job (``pid``: its process id)."""

    pid: int


@dataclass(frozen=True)
class JobFinished:
    """The pool is done with a job: always the last event of every job."""

    status: str
    message: str
    exit_code: int | None = None


@dataclass(frozen=True)
class TrialFinished:
    """A search trial ended. ``state``: COMPLETE / PRUNED / FAIL (Optuna's names);
    ``values``: its objective values (None unless COMPLETE); ``run_id``: the recorded run;
    ``run``: that run as written into the project file (a view shows it without reading
    the whole file again)."""

    number: int
    state: str
    values: tuple[float, ...] | None
    params: dict[str, Any]
    message: str = ""
    run_id: str | None = None
    run: dict[str, Any] | None = None


@dataclass(frozen=True)
class SearchFinished:
    """The search call ended (all its trials done, or stopped)."""

    stopped: bool
    trials_done: int
    message: str = ""


EVENT_CLASSES = {
    cls.__name__: cls
    for cls in (
        TrainBegin,
        BatchesEnd,
        EpochEnd,
        TrainEnd,
        LogLine,
        JobStarted,
        JobResult,
        JobFinished,
        TrialFinished,
        SearchFinished,
    )
}
# Fields that must come back as tuples (JSON has only lists).
_TUPLE_FIELDS = {("BatchesEnd", "losses"), ("TrialFinished", "values")}


class ProtocolError(ValueError):
    """A line that is not one of the protocol's events."""


def to_json_line(event: Any) -> str:
    """``event`` as one line of JSON (no newline inside; ends without ``\\n``)."""
    name = type(event).__name__
    if EVENT_CLASSES.get(name) is not type(event):
        raise ProtocolError(f"{name} is not a protocol event.")
    data = {item.name: getattr(event, item.name) for item in dataclasses.fields(event)}
    return json.dumps({"event": name, "data": _plain(data)}, allow_nan=True, ensure_ascii=True)


def from_json_line(line: str | bytes) -> Any:
    """The event a ``to_json_line`` line holds; ``ProtocolError`` for anything else."""
    try:
        message = json.loads(line)
    except (ValueError, TypeError) as error:
        raise ProtocolError(f"Not a JSON line: {str(line)[:80]!r}") from error
    if not isinstance(message, dict) or not isinstance(message.get("data"), dict):
        raise ProtocolError(f"Not a protocol event: {str(line)[:80]!r}")
    name = message.get("event")
    cls = EVENT_CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ProtocolError(f"Unknown event {name!r}.")
    data = dict(message["data"])
    for key in list(data):
        if (name, key) in _TUPLE_FIELDS and isinstance(data[key], list):
            data[key] = tuple(data[key])
    try:
        return cls(**data)
    except TypeError as error:
        raise ProtocolError(f"Bad {name} event: {error}") from error


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars become Python numbers, tuples lists."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, bool | str | int) or value is None:
        return value
    if isinstance(value, float):
        return value
    if hasattr(value, "item"):  # numpy scalar
        return _plain(value.item())
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    return str(value)


def is_finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


__all__ = [
    "EVENT_CLASSES",
    "JobFinished",
    "JobResult",
    "JobStarted",
    "ProtocolError",
    "SearchFinished",
    "TrialFinished",
    "from_json_line",
    "is_finite",
    "to_json_line",
]
