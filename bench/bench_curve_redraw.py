"""Bench: LiveCurves redraws a batch-loss curve of 10^6 points in <= 30 ms (offscreen).

One redraw = append a coalesced batch of losses, ``flush()`` (setData on the growing buffer)
and render the loss plot (``grab()``) — what the GUI thread pays per redraw tick late in a
long run (batch events only dirty the loss plot). The whole widget (both plots) is timed too.
Prints the median and worst wall time, and the median CPU time of the GUI thread (wall time
includes waiting for the CPU when other processes load the machine).

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_curve_redraw.py
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from PySide6.QtWidgets import QApplication

from engine.events import BatchesEnd, EpochEnd, TrainBegin
from widgets.live_curves import LiveCurves

POINTS = 1_000_000
STEPS_PER_EPOCH = 10_000
TARGET_MS = 30.0
REPEATS = 40


def _filled_curves() -> LiveCurves:
    curves = LiveCurves()
    curves.resize(1200, 800)
    curves.show()
    QApplication.processEvents()
    epochs = POINTS // STEPS_PER_EPOCH
    rng = np.random.default_rng(0)
    losses = np.exp(-np.linspace(0, 4, POINTS)) + 0.05 * rng.random(POINTS)
    curves.on_event(TrainBegin(epochs + 1, STEPS_PER_EPOCH, 32, 32 * STEPS_PER_EPOCH, "CPU"))
    for epoch in range(epochs):
        chunk = losses[epoch * STEPS_PER_EPOCH : (epoch + 1) * STEPS_PER_EPOCH]
        curves.on_event(BatchesEnd(epoch, 0, tuple(chunk.tolist()), {"loss": 1.0}, 1e4))
        mean = float(chunk.mean())
        logs = {"loss": mean, "accuracy": 0.5, "val_loss": mean, "val_accuracy": 0.5}
        curves.on_event(EpochEnd(epoch, logs, 1.0))
    curves.flush()
    curves.grab()
    return curves


def _time_redraws(curves: LiveCurves, widget, first_step: int) -> tuple[list, list]:
    rng = np.random.default_rng(1)
    epoch = POINTS // STEPS_PER_EPOCH
    walls, cpus = [], []
    for index in range(REPEATS):
        new = tuple((0.05 + 0.01 * rng.random(20)).tolist())
        curves.on_event(BatchesEnd(epoch, first_step + 20 * index, new, {"loss": 0.05}, 1e4))
        wall, cpu = time.perf_counter(), time.thread_time()
        curves.flush()
        widget.grab()
        cpus.append((time.thread_time() - cpu) * 1000)
        walls.append((time.perf_counter() - wall) * 1000)
    return walls, cpus


def main() -> int:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    curves = _filled_curves()
    assert curves.batch_series()[1].size == POINTS
    results = {}
    for name, widget, first in (("loss plot", curves.loss_plot, 0), ("both plots", curves, 800)):
        walls, cpus = _time_redraws(curves, widget, first)
        results[name] = statistics.median(walls)
        print(
            f"redraw {name:10s} {curves.batch_series()[1].size:,} points: "
            f"wall median {statistics.median(walls):.1f} ms, max {max(walls):.1f} ms; "
            f"GUI-thread CPU median {statistics.median(cpus):.1f} ms"
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine load average {load:.1f} on {os.cpu_count()} CPUs")
    passed = results["loss plot"] <= TARGET_MS
    print(
        f"target: loss-plot redraw median <= {TARGET_MS:.0f} ms -> {'PASS' if passed else 'FAIL'}"
    )
    del app
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
