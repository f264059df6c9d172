"""Every event survives the JSON-line round trip exactly."""

from __future__ import annotations

import json
import math

import pytest

from engine.events import BatchesEnd, EpochEnd, LogLine, TrainBegin, TrainEnd
from engine.worker_protocol import (
    EVENT_CLASSES,
    JobFinished,
    JobResult,
    JobStarted,
    ProtocolError,
    SearchFinished,
    TrialFinished,
    from_json_line,
    to_json_line,
)

EXAMPLES = [
    TrainBegin(epochs=3, steps_per_epoch=None, batch_size=32, samples=1000, device="CPU"),
    BatchesEnd(
        epoch=1,
        first_step=4,
        losses=(0.1, 1e-310, float("nan"), float("inf"), 0.30000000000000004),
        logs={"loss": 0.2, "accuracy": 0.5},
        samples_per_second=1234.5,
    ),
    EpochEnd(epoch=2, logs={"loss": float("-inf"), "val_loss": 0.123456789012345678}, seconds=1.5),
    TrainEnd(
        status="failed",
        message="The loss became NaN — lower the learning rate “now”.",
        epochs_completed=2,
        seconds=3.25,
        history={"loss": [1.0, float("nan")], "val_loss": [0.5, 0.25]},
    ),
    TrainEnd(status="completed", message="Trained.", epochs_completed=1, seconds=0.0),
    LogLine("a line\nwith a newline", level="warning"),
    JobStarted(pid=4242),
    JobResult(
        status="completed",
        message="Trained 2 epochs.",
        folder="/tmp/x",
        record={"id": "r1", "history": {"loss": [0.5, None]}, "best": {}},
        parameter_count=1234,
        exit_code=None,
    ),
    JobFinished(status="failed", message="killed", exit_code=-9),
    TrialFinished(number=3, state="COMPLETE", values=(0.25, 1234.0), params={"fit.batch_size": 64}),
    TrialFinished(number=4, state="FAIL", values=None, params={}, message="x", run_id=None),
    SearchFinished(stopped=True, trials_done=2, message="stopped"),
]


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and str(a) == str(b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: type(e).__name__)
def test_round_trip_is_exact(event):
    line = to_json_line(event)
    assert "\n" not in line
    back = from_json_line(line)
    assert type(back) is type(event)
    assert _same(vars(back), vars(event))
    assert to_json_line(back) == line


def test_every_event_class_has_an_example():
    assert {type(e).__name__ for e in EXAMPLES} == set(EVENT_CLASSES)


def test_numpy_values_become_plain_numbers():
    import numpy as np

    event = EpochEnd(epoch=0, logs={"loss": np.float32(0.5)}, seconds=np.float64(1.25))
    back = from_json_line(to_json_line(event))
    assert back.logs == {"loss": 0.5} and type(back.logs["loss"]) is float
    assert back.seconds == 1.25


@pytest.mark.parametrize(
    "line",
    [
        "not json",
        "[1, 2]",
        json.dumps({"event": "Nope", "data": {}}),
        json.dumps({"event": "EpochEnd", "data": {"epoch": 1}}),
        json.dumps({"event": "EpochEnd"}),
    ],
)
def test_other_lines_are_protocol_errors(line):
    with pytest.raises(ProtocolError):
        from_json_line(line)


def test_only_protocol_events_are_written():
    with pytest.raises(ProtocolError):
        to_json_line({"event": "x"})
