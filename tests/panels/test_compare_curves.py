"""Issue 12: the compare plot draws train dashed and validation solid per run, says so in
the legend, smooths with a debiased EMA (raw curve faded behind), marks each run's best
epoch, switches the x axis, and draws a group as mean ± std."""

from __future__ import annotations

import itertools

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetrics

from widgets.compare_curves import CompareCurves, CompareSeries, base_metrics, ema


def _series(key: str, color: str, **extra) -> CompareSeries:
    history = {
        "loss": [1.0, 0.6, 0.4, 0.3],
        "val_loss": [1.1, 0.7, 0.5, 0.6],
        "accuracy": [0.5, 0.7, 0.8, 0.9],
        "val_accuracy": [0.45, 0.65, 0.75, 0.7],
    }
    return CompareSeries(
        key=key,
        label=f"Run {key}",
        color=color,
        history=history,
        x={"wall": [10, 20, 30, 40], "relative": [1, 2, 3, 4]},
        best_epoch={"val_loss": 2, "val_accuracy": 2},
        **extra,
    )


def _named(widget: CompareCurves) -> dict[str, pg.PlotDataItem]:
    return {c.name(): c for c in widget.drawn() if c.name()}


def test_ema_is_debiased_and_skips_gaps():
    assert np.allclose(ema([2.0, 2.0, 2.0], 0.9), [2.0, 2.0, 2.0])  # no pull toward 0
    smoothed = ema([1.0, None, 3.0], 0.5)
    assert smoothed[0] == 1.0 and np.isnan(smoothed[1])
    assert np.isclose(smoothed[2], (0.5 * 0.5 * 1.0 + 0.5 * 3.0) / (1 - 0.25))
    assert np.array_equal(ema([1.0, 5.0], 0.0), [1.0, 5.0])


def test_base_metrics_loss_first_without_val_prefix():
    assert base_metrics([{"accuracy": [], "val_accuracy": [], "loss": [], "val_loss": []}]) == [
        "loss",
        "accuracy",
    ]


def test_two_runs_train_dashed_validation_solid_legend_says_which(qtbot):
    widget = CompareCurves()
    qtbot.addWidget(widget)
    widget.set_series([_series("1", "#1f77b4"), _series("2", "#d62728")])
    named = _named(widget)
    assert set(named) == {
        "Run 1 · train",
        "Run 1 · validation",
        "Run 2 · train",
        "Run 2 · validation",
    }
    assert named["Run 1 · train"].opts["pen"].style() == Qt.PenStyle.DashLine
    assert named["Run 1 · validation"].opts["pen"].style() == Qt.PenStyle.SolidLine
    legend_texts = [label.text for _sample, label in widget.legend.items]
    assert "Run 2 · validation" in legend_texts
    stars = [i for i in widget._items if isinstance(i, pg.ScatterPlotItem)]
    assert len(stars) == 2
    assert stars[0].data["x"][0] == 3  # best epoch 2 (0-based) is x = 3


def test_smoothing_keeps_the_raw_curve_faded_and_smooths_the_named_one(qtbot):
    widget = CompareCurves()
    qtbot.addWidget(widget)
    widget.set_series([_series("1", "#1f77b4")])
    widget.smoothing.setValue(60)
    named = _named(widget)
    unnamed = [c for c in widget.drawn() if not c.name()]
    assert len(unnamed) == 2  # the raw train and validation curves, faded
    assert unnamed[0].opts["pen"].color().alpha() < 100
    _x, y = named["Run 1 · validation"].getData()
    assert np.allclose(y, ema([1.1, 0.7, 0.5, 0.6], widget.smoothing_weight()))


def test_x_axis_log_y_gap_and_metric_switch(qtbot):
    widget = CompareCurves()
    qtbot.addWidget(widget)
    widget.set_series([_series("1", "#1f77b4")])
    widget.x_combo.setCurrentIndex(widget.x_combo.findData("wall"))
    x, _y = _named(widget)["Run 1 · train"].getData()
    assert list(x) == [10, 20, 30, 40]
    widget.gap.setChecked(True)
    assert "Run 1 · gap (train − validation)" in _named(widget)
    widget.set_metric("accuracy")
    _x, y = _named(widget)["Run 1 · validation"].getData()
    assert list(y) == [0.45, 0.65, 0.75, 0.7]
    widget.log_y.setChecked(True)
    assert widget.plot.getPlotItem().ctrl.logYCheck.isChecked()


def test_group_is_a_mean_line_with_a_band_and_empty_selection_says_so(qtbot):
    widget = CompareCurves()
    qtbot.addWidget(widget)
    widget.set_series([_series("g", "#2ca02c", std={"val_loss": [0.1, 0.1, 0.05, 0.05]})])
    assert "Run g · validation (mean ± std)" in _named(widget)
    assert any(isinstance(i, pg.FillBetweenItem) for i in widget._items)
    widget.set_series([])
    assert widget.empty_label.isVisibleTo(widget) and not widget.plot.isVisibleTo(widget)


def test_time_of_day_axis_keeps_hours_and_minutes_at_every_zoom(qtbot):
    """One short run on the time-of-day axis read "14.000 14.500 …" (seconds alone)."""
    from datetime import datetime

    from widgets.compare_curves import ClockAxis

    axis = ClockAxis(orientation="bottom")
    start = datetime(2026, 12, 1, 21, 10, 14).timestamp()
    assert axis.tickStrings([start, start + 0.5], 1.0, 0.5) == ["21:10:14.000", "21:10:14.500"]
    assert axis.tickStrings([start, start + 5], 1.0, 5) == ["21:10:14", "21:10:19"]


def test_log_y_labels_never_overlap(qtbot):
    """Under one decade pyqtgraph labelled 1, 0.9 … 0.5 on top of each other (Xvfb)."""
    widget = CompareCurves()
    qtbot.addWidget(widget)
    widget.resize(470, 200)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_series([_series("1", "#1f77b4")])
    widget.log_y.setChecked(True)
    qtbot.wait(50)
    axis = widget.plot.getPlotItem().getAxis("left")
    values = list(np.log10([0.5, 0.6, 0.7, 0.8, 0.9, 1.0]))
    axis.setRange(np.log10(0.45), np.log10(1.05))
    labels = axis.tickStrings(values, 1.0, 0.05)
    kept = [v for v, text in zip(values, labels, strict=True) if text]
    assert 2 <= len(kept) < len(values)
    pixels = [(v - axis.range[0]) / (axis.range[1] - axis.range[0]) * axis.height() for v in kept]
    height = QFontMetrics(axis.style.get("tickFont") or axis.font()).height()
    assert all(b - a >= height for a, b in itertools.pairwise(pixels))
    widget.log_y.setChecked(False)
    assert all(axis.tickStrings([0.5, 0.6, 0.7], 1.0, 0.1))  # linear: every label


def test_the_widget_does_not_shadow_qwidget_metric(qtbot):
    """``CompareCurves.metric()`` overrode the virtual ``QWidget.metric(m)``: every paint
    device query (DPI, size in mm: grab, export, high-DPI painting) printed "Error calling
    Python override of QWidget::metric()" and got no answer."""
    widget = CompareCurves()
    qtbot.addWidget(widget)
    widget.set_series([_series("1", "#1f77b4")])
    assert widget.logicalDpiY() > 0 and widget.widthMM() > 0
    assert widget.metric_name() == "loss"
    assert not widget.grab().isNull()
