"""The overfitting hint on the curves (recorded runs' overlays and the live run), and the
curves' layout: plots side by side when wide, legends in the corner the curves leave free."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtWidgets import QSplitter

from engine.events import EpochEnd, TrainBegin, TrainEnd
from engine.overfitting import detect
from widgets.live_curves import LIVE_MARK, LiveCurves

EPOCHS = 16
BEST = 5  # 0-based epoch of the lowest validation loss


def _overfitting_history() -> dict[str, list[float]]:
    loss = np.linspace(1.0, 0.1, EPOCHS)
    val = np.concatenate(
        [np.linspace(0.9, 0.4, BEST + 1), 0.4 + 0.05 * np.arange(1, EPOCHS - BEST)]
    )
    accuracy = np.linspace(0.5, 0.98, EPOCHS)
    return {
        "loss": loss.tolist(),
        "val_loss": val.tolist(),
        "accuracy": accuracy.tolist(),
        "val_accuracy": (accuracy - 0.05).tolist(),
    }


def _flat_noisy_history() -> dict[str, list[float]]:
    rng = np.random.default_rng(3)
    return {
        "loss": np.linspace(1.0, 0.5, EPOCHS).tolist(),
        "val_loss": (0.6 + 0.01 * rng.standard_normal(EPOCHS)).tolist(),
    }


def _mark_lines(curves: LiveCurves) -> list[pg.InfiniteLine]:
    """Dashed vertical lines in the loss plot other than the crosshair."""
    return [
        item
        for item in curves.loss_plot.getPlotItem().items
        if isinstance(item, pg.InfiniteLine) and getattr(item, "label", None) is not None
    ]


@pytest.fixture
def curves(qtbot):
    widget = LiveCurves()
    qtbot.addWidget(widget)
    widget.resize(640, 480)
    widget.show()
    return widget


def test_the_synthetic_history_overfits_at_best():
    hint = detect(_overfitting_history())
    assert hint is not None and hint.epoch == BEST
    assert detect(_flat_noisy_history()) is None


def test_a_mark_sits_at_its_epoch_in_the_overlay_colour_and_goes_with_the_overlay(curves):
    curves.add_overlay("run-1", "Run 1", _overfitting_history(), "#8e44ad")
    curves.mark_epoch("run-1", BEST + 1, "Run {1}: overfitting after epoch 6")
    assert curves.marks() == {"run-1": (BEST + 1.0, "Run {1}: overfitting after epoch 6")}
    (line,) = _mark_lines(curves)
    assert line.value() == BEST + 1
    assert line.pen.style() == pg.QtCore.Qt.PenStyle.DashLine
    assert line.pen.color().name() == "#8e44ad"
    assert line.label.toPlainText() == "Run {1}: overfitting after epoch 6"
    curves.remove_overlay("run-1")
    assert curves.marks() == {}
    assert _mark_lines(curves) == []


def test_the_live_mark_goes_when_a_new_run_begins_and_overlay_marks_stay(curves):
    curves.add_overlay("run-1", "Run 1", _overfitting_history(), "g")
    curves.mark_epoch("run-1", 6, "Run 1: overfitting after epoch 6")
    curves.mark_epoch(LIVE_MARK, 4, "overfitting after epoch 4")
    curves.mark_epoch(LIVE_MARK, 5, "overfitting after epoch 5")  # replaces
    assert curves.marks()[LIVE_MARK] == (5.0, "overfitting after epoch 5")
    assert len(_mark_lines(curves)) == 2
    positions = [line.label.orthoPos for line in _mark_lines(curves)]
    assert len(set(positions)) == 2, "labels of two marks must not sit on one another"
    curves.on_event(TrainBegin(3, 4, 32, 128, "CPU"))
    assert list(curves.marks()) == ["run-1"]
    curves.clear_overlays()
    assert _mark_lines(curves) == []


def test_plots_sit_side_by_side_when_wide_and_stacked_when_tall(qtbot, curves):
    splitter = curves.findChild(QSplitter, "curvesSplitter")
    plots = [splitter.widget(0), splitter.widget(1)]
    assert plots == [curves.loss_plot, curves.metric_plot]
    assert not curves.plots_side_by_side()
    curves.resize(1200, 300)
    qtbot.waitUntil(curves.plots_side_by_side)
    assert [splitter.widget(0), splitter.widget(1)] == plots
    qtbot.waitUntil(lambda: curves.metric_plot.x() > curves.loss_plot.x() + 300)
    assert abs(curves.loss_plot.width() - curves.metric_plot.width()) < 20
    curves.resize(600, 500)
    qtbot.waitUntil(lambda: not curves.plots_side_by_side())
    qtbot.waitUntil(lambda: curves.metric_plot.y() > curves.loss_plot.y() + 100)


def test_legends_move_to_the_free_corner(qtbot, curves):
    history = _overfitting_history()
    history["val_loss"] = (np.asarray(history["loss"]) + 0.1).tolist()  # both fall
    curves.on_event(TrainBegin(EPOCHS, 4, 32, 128, "CPU"))
    for epoch in range(EPOCHS):
        logs = {key: values[epoch] for key, values in history.items()}
        curves.on_event(EpochEnd(epoch, logs, 0.1))
    curves.on_event(TrainEnd("completed", "Done.", EPOCHS, 1.0, history))
    qtbot.wait(50)
    curves.flush()
    assert curves.current_metric() == "accuracy"
    assert curves.legend_at_bottom("metric"), "accuracy ends high: legend at the bottom"
    assert not curves.legend_at_bottom("loss"), "loss ends low: legend at the top"


def test_overlays_are_named_once_in_the_legend(curves):
    curves.add_overlay("run-1", "Run 1", _overfitting_history(), "g")
    labels = [label.text for _, label in curves.loss_plot.getPlotItem().legend.items]
    assert labels.count("Run 1") == 1
    assert not any(text.startswith("Run 1 ") for text in labels)
    assert len(curves.overlay_items("run-1")) == 4


def test_window_marks_selected_runs_that_overfit(window, monkeypatch):
    history = _overfitting_history()
    hint = detect(history).to_dict()
    runs = [
        {"id": "a", "name": "Run 1", "history": history, "overfitting": hint},
        {"id": "b", "name": "Run 2", "history": _flat_noisy_history(), "overfitting": None},
    ]
    monkeypatch.setattr(window.runs_panel, "runs", lambda: runs)
    window.runs_panel.overlayRequested.emit(
        [(run["id"], run["name"], run["history"]) for run in runs]
    )
    assert window.curves.marks() == {"a": (BEST + 1.0, "Run 1: overfitting after epoch 6")}
    window.runs_panel.overlayRequested.emit([])
    assert window.curves.marks() == {}


def test_window_marks_a_finished_run_that_overfits_and_warns_in_the_log(window):
    emit = window.controller.event.emit
    emit(TrainBegin(EPOCHS, 4, 32, 128, "CPU"))
    emit(TrainEnd("completed", "Training completed.", EPOCHS, 1.0, _overfitting_history()))
    assert window.curves.marks() == {LIVE_MARK: (BEST + 1.0, "overfitting after epoch 6")}
    assert window.log_view.lines()[-1].startswith("Overfitting: val_loss has risen")
    emit(TrainBegin(EPOCHS, 4, 32, 128, "CPU"))
    assert window.curves.marks() == {}
    lines = len(window.log_view.lines())
    emit(TrainEnd("completed", "Training completed.", EPOCHS, 1.0, _flat_noisy_history()))
    assert window.curves.marks() == {}
    assert not any("Overfitting" in line for line in window.log_view.lines()[lines:])
