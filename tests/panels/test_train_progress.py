"""TrainProgress numbers from synthetic engine events: a steady samples/s that ignores the
compile time of the first batch and the validation between epochs, and an ETA that neither
counts compile time nor moves while paused."""

from __future__ import annotations

import pytest

from engine.events import BatchesEnd, EpochEnd, TrainBegin
from widgets.train_progress import RATE_WINDOW_S, TrainProgress

STEPS = 300
BATCH = 32
TRUE_RATE = 3 * BATCH / 0.1  # 3 batches every 0.1 s: 960 samples/s


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def progress(qtbot, clock):
    widget = TrainProgress(clock=clock)
    qtbot.addWidget(widget)
    widget.resize(700, 30)
    return widget


def feed(progress, clock, epoch, first, count, engine_rate=0.0, seconds=0.1):
    """``count`` events of 3 batches each, ``seconds`` apart; returns the next first step."""
    for _ in range(count):
        clock.now += seconds
        progress.on_event(BatchesEnd(epoch, first, (0.5, 0.5, 0.5), {}, engine_rate))
        first += 3
    return first


def shown_rate(progress) -> float | None:
    progress.flush()
    for part in progress.label.text().split(" · "):
        if part.endswith("samples/s"):
            return float(part.split()[0].replace(",", ""))
    return None


def test_samples_per_second_is_smooth_from_the_second_event(progress, clock):
    progress.on_event(TrainBegin(2, STEPS, BATCH, STEPS * BATCH, "CPU"))
    clock.now += 10.0  # compile + tracing before the first batch ends
    progress.on_event(BatchesEnd(0, 0, (0.7,), {}, 2.0))  # the engine said "2 samples/s"
    assert shown_rate(progress) is None  # not measured yet: nothing rather than nonsense
    rates = []
    first = 1
    for engine_rate in (924.0, 10_960.0, 950.0, 980.0, 20_000.0):  # what the engine said
        first = feed(progress, clock, 0, first, 1, engine_rate)
        rates.append(shown_rate(progress))
    assert all(rate == pytest.approx(TRUE_RATE, rel=0.02) for rate in rates), rates
    # the validation between epochs does not drag it down either
    first = feed(progress, clock, 0, first, 20)
    progress.on_event(EpochEnd(0, {"loss": 0.5}, 30.0))
    clock.now += 6.0  # validation
    feed(progress, clock, 1, 0, 1, 3.0)
    assert shown_rate(progress) == pytest.approx(TRUE_RATE, rel=0.02)
    feed(progress, clock, 1, 3, 3)
    assert shown_rate(progress) == pytest.approx(TRUE_RATE, rel=0.02)
    assert progress.samples_per_second() == pytest.approx(TRUE_RATE, rel=0.02)


def test_rate_follows_a_change_within_its_window(progress, clock):
    progress.on_event(TrainBegin(1, 10_000, BATCH, None, "CPU"))
    first = feed(progress, clock, 0, 0, 1)
    first = feed(progress, clock, 0, first, 30)
    assert shown_rate(progress) == pytest.approx(TRUE_RATE, rel=0.02)
    events = int(RATE_WINDOW_S / 0.2) + 2
    feed(progress, clock, 0, first, events, seconds=0.2)  # half as fast now
    assert shown_rate(progress) == pytest.approx(TRUE_RATE / 2, rel=0.05)


def test_eta_excludes_compile_time_and_freezes_while_paused(progress, clock):
    progress.on_event(TrainBegin(1, STEPS, BATCH, STEPS * BATCH, "CPU"))
    clock.now += 30.0  # a slow compile
    progress.on_event(BatchesEnd(0, 0, (0.7, 0.7, 0.7), {}, 3.0))
    first = feed(progress, clock, 0, 3, 10)  # 30 steps in 1 s
    left = STEPS - first
    assert progress.eta_seconds() == pytest.approx(left * 0.1 / 3, rel=0.01)
    eta = progress.eta_seconds()
    progress.set_paused(True)
    progress.flush()
    text = progress.label.text()
    assert "paused" in text and "ETA" not in text and "samples/s" not in text
    clock.now += 120.0
    # a batch event in flight when the pause began still arrives
    progress.on_event(BatchesEnd(0, first, (0.5,), {}, 0.5))
    progress.flush()
    assert progress.eta_seconds() == pytest.approx(eta)
    assert "paused" in progress.label.text()
    progress.set_paused(False)
    first = feed(progress, clock, 0, first + 1, 1)  # the first batch after the pause
    first = feed(progress, clock, 0, first, 5)
    assert shown_rate(progress) == pytest.approx(TRUE_RATE, rel=0.02)
    left = STEPS - first
    assert progress.eta_seconds() == pytest.approx(left * 0.1 / 3, rel=0.05)
    assert "ETA" in progress.label.text() and "paused" not in progress.label.text()


def test_without_a_batch_size_the_engine_figure_is_smoothed(progress, clock):
    progress.on_event(TrainBegin(1, None, None, None, "CPU"))
    clock.now += 5.0
    progress.on_event(BatchesEnd(0, 0, (0.7,), {}, 2.0))
    assert shown_rate(progress) is None
    progress.on_event(BatchesEnd(0, 1, (0.7,), {}, 1000.0))
    progress.on_event(BatchesEnd(0, 2, (0.7,), {}, 1200.0))
    assert 1000.0 <= shown_rate(progress) <= 1200.0
