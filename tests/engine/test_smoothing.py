"""Debiased EMA smoothing (TensorBoard's) and the x axes of a run's curves."""

from __future__ import annotations

import math
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.smoothing import ema, times_are_estimated, x_values


def tensorboard_ema(values, weight):
    """TensorBoard's resampleSmoothing, transcribed (vz_line_chart2/line-chart.ts)."""
    last, count, out = 0.0, 0, []
    for value in values:
        if not math.isfinite(value):
            out.append(value)
            continue
        last = last * weight + (1 - weight) * value
        count += 1
        debias = 1.0 if weight == 1 else 1 - weight**count
        out.append(last / debias)
    return out


def test_first_value_is_not_pulled_toward_zero():
    assert ema([10.0, 10.0, 10.0], 0.9) == pytest.approx([10.0, 10.0, 10.0])
    smoothed = ema([1.0, 0.0], 0.6)
    assert smoothed[0] == 1.0
    assert smoothed[1] == pytest.approx(0.6 * 0.4 / (1 - 0.36))


def test_weight_zero_and_missing_values():
    values = [0.5, None, float("nan"), 0.25, float("inf"), "x", 0.125]
    assert ema(values, 0) == [0.5, None, None, 0.25, None, None, 0.125]
    smoothed = ema(values, 0.5)
    assert smoothed[1:3] == [None, None] and smoothed[4:6] == [None, None]
    assert smoothed[3] == pytest.approx((0.5 * 0.5 * 0.5 + 0.5 * 0.25) / (1 - 0.25))
    assert ema([], 0.9) == []
    assert ema([1.0, 2.0], 5.0) == pytest.approx(ema([1.0, 2.0], 0.999))  # clipped
    assert ema([1.0, 2.0], -1.0) == [1.0, 2.0]


@given(
    st.lists(st.floats(-1e6, 1e6) | st.just(float("nan")), max_size=40),
    st.floats(0.0, 0.999),
)
def test_matches_tensorboard_and_stays_within_the_values(values, weight):
    ours = ema(values, weight)
    theirs = tensorboard_ema(values, weight)
    for a, b in zip(ours, theirs, strict=True):
        assert (a is None) == math.isnan(b)
        if a is not None:
            assert a == pytest.approx(b, rel=1e-9, abs=1e-6)
    finite = [v for v in values if math.isfinite(v)]
    if finite:
        low, high = min(finite), max(finite)
        assert all(low - 1e-6 <= a <= high + 1e-6 for a in ours if a is not None)


def test_x_axes_from_recorded_or_estimated_times():
    started = "2026-01-02T03:04:05+00:00"
    run = {"history": {"loss": [1, 2, 3]}, "seconds": 30.0, "started_at": started}
    assert x_values(run, "epoch") == [1.0, 2.0, 3.0]
    assert x_values(run, "relative") == pytest.approx([10.0, 20.0, 30.0])
    assert times_are_estimated(run)
    recorded = {**run, "epoch_seconds": [5.0, 1.0, 2.0]}
    assert not times_are_estimated(recorded)
    assert x_values(recorded, "relative") == [5.0, 6.0, 8.0]
    start = datetime.fromisoformat(started).timestamp()
    assert x_values(recorded, "wall") == [start + 5, start + 6, start + 8]
    assert x_values({**run, "started_at": None}, "wall") == x_values(run, "relative")
    imported = {"status": "imported"}  # no history, no times
    assert x_values(imported, "relative") == [] and x_values(imported, "wall") == []
    with pytest.raises(ValueError, match="Unknown x axis"):
        x_values(run, "steps")
