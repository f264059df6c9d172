"""LiveCurves, TrainProgress and LogView fed with synthetic engine events."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtGui import QImage

from engine.events import BatchesEnd, EpochEnd, LogLine, TrainBegin, TrainEnd
from widgets.live_curves import REDRAW_INTERVAL_MS, LiveCurves, metric_names
from widgets.log_view import MAX_LINES, LogView
from widgets.train_progress import TrainProgress, duration_text

STEPS = 4


def _epoch_logs(epoch: int, rate: float = 0.01) -> dict[str, float]:
    return {
        "loss": 1.0 - 0.1 * epoch,
        "accuracy": 0.5 + 0.1 * epoch,
        "val_loss": 1.1 - 0.1 * epoch,
        "val_accuracy": 0.4 + 0.1 * epoch,
        "learning_rate": rate,
    }


def _feed(widget, epochs: int = 3, rates=None) -> list[float]:
    """A run of ``epochs`` epochs of 4 batches, sent as 2 coalesced events per epoch."""
    widget.on_event(TrainBegin(epochs, STEPS, 32, 128, "CPU"))
    losses = []
    for epoch in range(epochs):
        batch = [2.0 - epoch - 0.1 * step for step in range(STEPS)]
        losses += batch
        widget.on_event(BatchesEnd(epoch, 0, tuple(batch[:3]), {"loss": 1.9}, 900.0))
        widget.on_event(BatchesEnd(epoch, 3, tuple(batch[3:]), {"loss": 1.8}, 1000.0))
        rate = rates[epoch] if rates else 0.01
        widget.on_event(EpochEnd(epoch, _epoch_logs(epoch, rate), 1.5))
    return losses


def _ys(curve) -> np.ndarray:
    """A curve's y data (pyqtgraph gives None for an empty curve)."""
    y = curve.getData()[1]
    return np.empty(0) if y is None else y


@pytest.fixture
def curves(qtbot):
    widget = LiveCurves()
    qtbot.addWidget(widget)
    widget.resize(640, 480)
    widget.show()
    return widget


def test_every_batch_loss_lands_at_its_fractional_epoch(curves):
    losses = _feed(curves)
    x, y = curves.batch_series()
    expected_x = [epoch + (step + 1) / STEPS for epoch in range(3) for step in range(STEPS)]
    np.testing.assert_allclose(x, expected_x)
    np.testing.assert_allclose(y, losses)
    curves.flush()
    drawn_x, drawn_y = curves.batch_curve.getData()
    np.testing.assert_allclose(drawn_x, expected_x)
    np.testing.assert_allclose(drawn_y, losses)


def test_epoch_curves_sit_at_epoch_ends(curves):
    _feed(curves)
    curves.flush()
    x, y = curves.train_loss_curve.getData()
    np.testing.assert_allclose(x, [1, 2, 3])
    np.testing.assert_allclose(y, [1.0, 0.9, 0.8])
    np.testing.assert_allclose(curves.val_loss_curve.getData()[1], [1.1, 1.0, 0.9])
    assert curves.current_metric() == "accuracy"
    np.testing.assert_allclose(curves.train_metric_curve.getData()[1], [0.5, 0.6, 0.7])
    np.testing.assert_allclose(curves.val_metric_curve.getData()[1], [0.4, 0.5, 0.6])
    assert curves.epoch_history()["loss"] == pytest.approx([1.0, 0.9, 0.8])


def test_redraws_wait_for_the_timer(curves, qtbot):
    curves.on_event(TrainBegin(1, STEPS, 32, 128, "CPU"))
    curves.on_event(BatchesEnd(0, 0, (1.0, 0.5), {"loss": 0.75}, 10.0))
    assert len(_ys(curves.batch_curve)) == 0
    qtbot.waitUntil(lambda: len(_ys(curves.batch_curve)) == 2, timeout=5_000)
    assert REDRAW_INTERVAL_MS <= 250


def test_buffers_grow_past_their_capacity(curves):
    curves.on_event(TrainBegin(1, 10_000, 1, 10_000, "CPU"))
    for first in range(0, 10_000, 500):
        losses = tuple(float(first + i) for i in range(500))
        curves.on_event(BatchesEnd(0, first, losses, {}, 1.0))
    x, y = curves.batch_series()
    assert len(y) == 10_000
    np.testing.assert_allclose(y, np.arange(10_000))
    assert x[-1] == pytest.approx(1.0)


def test_non_finite_losses_leave_gaps(curves):
    curves.on_event(TrainBegin(1, STEPS, 32, 128, "CPU"))
    curves.on_event(BatchesEnd(0, 0, (1.0, math.inf, math.nan, 2.0), {}, 1.0))
    curves.flush()
    y = curves.batch_curve.getData()[1]
    assert y[0] == 1.0 and y[3] == 2.0 and np.isnan(y[1]) and np.isnan(y[2])


def test_other_metrics_can_be_chosen(curves):
    curves.on_event(TrainBegin(2, STEPS, 32, 128, "CPU"))
    for epoch in range(2):
        logs = {"loss": 1.0, "mean_absolute_error": 0.3 + epoch, "val_mean_absolute_error": 0.4}
        curves.on_event(EpochEnd(epoch, {**logs, "auc": 0.8 + 0.1 * epoch}, 1.0))
    assert curves.current_metric() == "mean_absolute_error"
    assert [curves.metric_combo.itemText(i) for i in range(curves.metric_combo.count())] == [
        "mean_absolute_error",
        "auc",
    ]
    curves.set_metric("auc")
    np.testing.assert_allclose(curves.train_metric_curve.getData()[1], [0.8, 0.9])
    assert len(_ys(curves.val_metric_curve)) == 0
    assert metric_names(["loss", "val_loss", "lr", "val_auc"]) == ["auc"]


def test_learning_rate_axis_appears_only_when_the_rate_changes(curves):
    _feed(curves, rates=[0.01, 0.01, 0.01])
    curves.flush()
    assert not curves.loss_plot.getPlotItem().getAxis("right").isVisible()
    _feed(curves, rates=[0.01, 0.01, 0.001])
    curves.flush()
    assert curves.loss_plot.getPlotItem().getAxis("right").isVisible()
    y = _ys(curves.lr_curve)
    assert len(y) == 3 and y[-1] == pytest.approx(0.001)
    legend = curves.loss_plot.getPlotItem().legend
    assert "learning rate" in [label.text for _, label in legend.items]
    curves.clear()
    assert "learning rate" not in [label.text for _, label in legend.items]
    assert not curves.loss_plot.getPlotItem().getAxis("right").isVisible()


def test_crosshair_values(curves):
    _feed(curves)
    values = curves.values_at(1.6)
    assert values["epoch"] == 2
    assert values["loss"] == pytest.approx(0.9)
    assert values["val_accuracy"] == pytest.approx(0.5)
    assert values["batch loss"] == pytest.approx(0.9)  # epoch 1, step 1 sits at x 1.5
    curves.show_crosshair(1.6)
    assert "epoch 2" in curves.hover_label.text() and "val_loss 1" in curves.hover_label.text()
    curves.hide_crosshair()
    assert curves.hover_label.text() == ""


def test_x_shows_the_planned_epochs_while_training(curves):
    _feed(curves, epochs=1)
    curves.on_event(TrainBegin(20, STEPS, 32, 128, "CPU"))
    curves.on_event(BatchesEnd(0, 0, (1.0, 0.9), {"loss": 0.95}, 10.0))
    curves.flush()
    low, high = curves.loss_plot.getPlotItem().vb.viewRange()[0]
    assert low <= 0 and 20 <= high < 21
    curves.on_event(TrainEnd("stopped", "Stopped.", 0, 1.0))
    assert curves.loss_plot.getPlotItem().vb.autoRangeEnabled()[0]


def test_a_new_run_clears_the_curves_but_not_overlays(curves):
    _feed(curves)
    curves.add_overlay("run-1", "run 1", {"loss": [1.0, 0.5]}, "g")
    curves.on_event(TrainBegin(2, STEPS, 32, 128, "CPU"))
    curves.flush()
    assert len(curves.batch_series()[1]) == 0
    assert len(_ys(curves.train_loss_curve)) == 0
    assert curves.overlay_keys() == ["run-1"]


def test_overlays_add_replace_and_remove(curves):
    _feed(curves)
    history = {
        "loss": [1.0, 0.6, 0.4],
        "val_loss": [1.2, 0.8, 0.7],
        "accuracy": [0.5, 0.7, 0.8],
        "val_accuracy": [0.45, 0.6, 0.65],
    }
    curves.add_overlay("run-1", "run 1", history, "#2ca02c")
    items = curves.overlay_items("run-1")
    assert [item.name() for item in items] == [
        "run 1 loss",
        "run 1 loss (val)",
        "run 1 accuracy",
        "run 1 accuracy (val)",
    ]
    train, val = items[0], items[1]
    assert train.opts["pen"].style() == pg_dash() and val.opts["pen"].style() == pg_solid()
    np.testing.assert_allclose(train.getData()[0], [1, 2, 3])
    np.testing.assert_allclose(val.getData()[1], [1.2, 0.8, 0.7])
    loss_items = curves.loss_plot.getPlotItem().listDataItems()
    assert train in loss_items and val in loss_items

    curves.add_overlay("run-1", "run 1b", {"loss": [2.0]}, "r")
    assert [item.name() for item in curves.overlay_items("run-1")] == ["run 1b loss"]
    assert train not in curves.loss_plot.getPlotItem().listDataItems()

    curves.add_overlay("run-2", "run 2", history, "b")
    curves.remove_overlay("run-1")
    assert curves.overlay_keys() == ["run-2"]
    curves.clear_overlays()
    assert curves.overlay_keys() == []
    remaining = curves.loss_plot.getPlotItem().listDataItems()
    assert all(not item.name() or not item.name().startswith("run ") for item in remaining)


def test_overlays_follow_the_chosen_metric(curves):
    _feed(curves)
    history = {"loss": [1.0], "accuracy": [0.5], "auc": [0.7], "val_auc": [0.6]}
    curves.add_overlay("run-1", "run 1", history, "g")
    curves.set_metric("auc")
    names = [item.name() for item in curves.overlay_items("run-1")]
    assert names == ["run 1 loss", "run 1 auc", "run 1 auc (val)"]


def test_exports_write_images(curves, tmp_path):
    _feed(curves)
    curves.export_png(tmp_path / "loss.png")
    curves.export_png(tmp_path / "metric.png", plot="metric", width=400)
    curves.export_svg(tmp_path / "loss.svg")
    assert not QImage(str(tmp_path / "loss.png")).isNull()
    assert QImage(str(tmp_path / "metric.png")).width() == 400
    svg = (tmp_path / "loss.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg and "</svg>" in svg
    with pytest.raises(ValueError, match="loss"):
        curves.export_png(tmp_path / "x.png", plot="accuracy")


def pg_dash():
    from PySide6.QtCore import Qt

    return Qt.PenStyle.DashLine


def pg_solid():
    from PySide6.QtCore import Qt

    return Qt.PenStyle.SolidLine


# -- TrainProgress ---------------------------------------------------------------------------


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_progress_counts_batches_and_estimates_the_time_left(qtbot):
    clock = FakeClock()
    progress = TrainProgress(clock=clock)
    qtbot.addWidget(progress)
    progress.on_event(TrainBegin(3, STEPS, 32, 128, "CPU"))
    assert progress.bar.maximum() == 12
    clock.now += 6.0
    progress.on_event(BatchesEnd(0, 0, (1.0, 1.0, 1.0), {}, 1234.5))
    assert progress.bar.value() == 0  # shown at the next display tick
    qtbot.waitUntil(lambda: progress.bar.value() == 3, timeout=2_000)
    text = progress.label.text()
    assert "Epoch 1/3" in text and "step 3/4" in text
    assert "samples/s" not in text  # the first batch event (compile time) only starts the clock
    assert progress.eta_seconds() == pytest.approx(6.0 * 9 / 3)
    assert "ETA 0:18" in text
    progress.on_event(EpochEnd(0, {}, 8.0))
    assert progress.bar.value() == 4 and "Epoch 2/3" in progress.label.text()


def test_progress_eta_ignores_pauses_and_shows_the_outcome(qtbot):
    clock = FakeClock()
    progress = TrainProgress(clock=clock)
    qtbot.addWidget(progress)
    progress.on_event(TrainBegin(2, STEPS, 32, 128, "CPU"))
    clock.now += 4.0
    progress.on_event(BatchesEnd(0, 0, (1.0, 1.0), {}, 100.0))
    progress.flush()
    progress.set_paused(True)
    assert "paused" in progress.label.text()
    clock.now += 60.0
    progress.set_paused(False)
    assert progress.eta_seconds() == pytest.approx(4.0 * 6 / 2)
    progress.on_event(TrainEnd("completed", "Trained 2 epochs.", 2, 75.0))
    assert progress.bar.value() == progress.bar.maximum()
    assert progress.label.text() == "Completed: 2 epochs in 1:15"
    progress.on_event(TrainBegin(1, None, None, None, "CPU"))
    assert progress.bar.maximum() == 1 and "Epoch 1/1" in progress.label.text()
    progress.reset()
    assert progress.label.text() == "Ready" and progress.bar.value() == 0


def test_duration_text():
    assert [duration_text(s) for s in (0, 42.4, 725, 3727)] == ["0:00", "0:42", "12:05", "1:02:07"]


# -- LogView ---------------------------------------------------------------------------------


def test_log_view_shows_lines_and_outcomes(qtbot):
    log = LogView()
    qtbot.addWidget(log)
    assert log.objectName() == "logView" and log.isReadOnly()
    log.on_event(TrainBegin(2, 8, 20, 160, "CPU"))
    log.on_event(LogLine("Epoch 1/2 - 0.1 s - loss: 0.9"))
    log.on_event(LogLine("Mixed precision needs a GPU", "warning"))
    log.on_event(BatchesEnd(0, 0, (1.0,), {}, 1.0))
    log.on_event(TrainEnd("stopped", "Stopped by you after epoch 1.", 1, 1.0))
    assert log.lines() == [
        "Training on CPU: 2 epochs, 8 steps per epoch, batch 20, 160 samples",
        "Epoch 1/2 - 0.1 s - loss: 0.9",
        "Mixed precision needs a GPU",
        "Stopped by you after epoch 1.",
    ]
    html = log.document().toHtml()
    assert "#b35900" in html  # the warning and the stop are coloured


def test_log_view_does_not_repeat_a_failure_and_keeps_a_bounded_length(qtbot):
    log = LogView()
    qtbot.addWidget(log)
    log.on_event(LogLine("The data does not fit <the model>.", "error"))
    log.on_event(TrainEnd("failed", "The data does not fit <the model>.", 0, 0.1))
    assert log.lines() == ["The data does not fit <the model>."]
    assert "#c62828" in log.document().toHtml()
    for index in range(MAX_LINES + 50):
        log.append_line(f"line {index}")
    assert log.document().blockCount() == MAX_LINES
    assert log.lines()[-1] == f"line {MAX_LINES + 49}"
