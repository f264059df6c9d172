"""Issue 9 (seen under Xvfb): the metric axis read 200…1000 for accuracy 0.2…1.0, and New
left the old run's axis ranges on empty plots."""

from __future__ import annotations

from widgets.live_curves import LiveCurves, _axis_label


def test_axis_label_never_freezes_a_scaled_tick_unit(qtbot):
    curves = LiveCurves()
    qtbot.addWidget(curves)
    item = curves.metric_plot.getPlotItem()
    _axis_label(item, "accuracy")
    item.setRange(yRange=(0.2, 0.9), padding=0)  # below 1: pyqtgraph would use "m" (×1000)
    _axis_label(item, "accuracy")  # the title is set again (next run, metric switch)
    item.setRange(yRange=(0.2, 1.0), padding=0)
    axis = item.getAxis("left")
    assert axis.autoSIPrefixScale == 1.0
    assert axis.tickStrings([0.2, 1.0], axis.autoSIPrefixScale, 0.2) == ["0.2", "1.0"]


def test_clear_gives_fresh_axes(qtbot):
    curves = LiveCurves()
    qtbot.addWidget(curves)
    item = curves.loss_plot.getPlotItem()
    item.disableAutoRange()
    item.setRange(xRange=(0, 40), yRange=(100, 900), padding=0)
    curves.clear()
    (_x0, x1), (_y0, y1) = item.viewRange()
    assert x1 <= 1.5 and y1 <= 1.5
