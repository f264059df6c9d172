"""Weights over time in the window: the heat map and norms widget on plain data, its re-binning,
the Training panel's "Record weight histograms" checkbox, and the Weights tab following the
selected run."""

from __future__ import annotations

import numpy as np
import pytest

from widgets.training_panel import TrainingPanel
from widgets.weight_histograms import ROWS, WeightHistogramView, rebin


def history(epochs=3, bins=10):
    """A recorded history as engine.weight_recorder writes it: one Dense layer."""
    rng = np.random.default_rng(0)
    kernel = {"name": "kernel", "shape": [4, 8], "range": [], "counts": [], "nonfinite": []}
    bias = {"name": "bias", "shape": [8], "range": [], "counts": [], "nonfinite": []}
    for epoch in range(epochs):
        for tensor, size in ((kernel, 32), (bias, 8)):
            values = rng.normal(scale=1 + epoch, size=size)
            counts, edges = np.histogram(values, bins=bins)
            tensor["range"].append([float(edges[0]), float(edges[-1])])
            tensor["counts"].append(counts.tolist())
            tensor["nonfinite"].append(0)
    return {
        "format": 1,
        "bins": bins,
        "epochs": list(range(epochs)),
        "layers": [
            {
                "name": "dense_2",
                "class_name": "Dense",
                "initial_norm": 1.0,
                "norm": [1.5, 2.0, 2.5][:epochs],
                "update_norm": [0.5, 0.4, 0.3][:epochs],
                "tensors": [kernel, bias],
            }
        ],
        "dead_relu": [{"layer": "dense_2", "zero_fraction": 0.83, "dead_units": 0.5}],
        "warnings": ["dense_2: 83 % of ReLU outputs are zero on the validation sample"],
    }


def test_rebin_keeps_each_epochs_count_and_lines_ranges_up():
    image, lo, hi = rebin([[0.0, 1.0], [-1.0, 3.0]], [[4, 6], [1, 1, 1, 1]], rows=8)
    assert (lo, hi) == (-1.0, 3.0)
    assert image.shape == (2, 8)
    assert image.sum(axis=1) == pytest.approx([10, 4])
    # epoch 0 lives in [0, 1]: common rows 2 and 3 (each 0.5 wide) hold its two halves
    assert image[0].tolist() == pytest.approx([0, 0, 4, 6, 0, 0, 0, 0])
    assert image[1].tolist() == pytest.approx([0.5] * 8)


def test_widget_draws_heatmap_norms_and_warnings(qtbot):
    view = WeightHistogramView()
    qtbot.addWidget(view)
    view.resize(1000, 380)
    view.set_history(history(), "Run 3")
    view.show()
    assert view.picker.count() == 2
    assert view.picker.itemText(0) == "dense_2 — kernel (4×8)"
    assert view.current_image.shape == (3, ROWS)
    assert view.current_image.sum(axis=1) == pytest.approx([32, 32, 32])
    x, y = view.norm_curve.getData()
    assert x.tolist() == [1, 2, 3] and y.tolist() == [1.5, 2.0, 2.5]
    assert view.update_curve.getData()[1].tolist() == [0.5, 0.4, 0.3]
    assert "83 % of ReLU outputs are zero" in view.warnings.text()
    assert view.warnings.isVisible() and not view.message.isVisible()
    assert view.select("dense_2", "bias")
    assert view.current_image.sum(axis=1) == pytest.approx([8, 8, 8])
    assert not view.grab().isNull()


def test_plots_fit_a_narrow_tab(qtbot):
    """At 1024 px the Weights tab is ~740 px wide: no plot may be wider than its widget (a
    long norms title made the plot 377 px wide in a 286 px widget, cut off at the right)."""
    view = WeightHistogramView()
    qtbot.addWidget(view)
    view.set_history(history(), "Run 1")
    view.resize(740, 370)
    view.show()
    qtbot.waitUntil(lambda: view.norms.width() > 0)
    for plot in (view.heatmap, view.norms):
        assert plot.plotItem.geometry().width() <= plot.width() + 1


def test_a_run_without_history_says_how_to_record_it(qtbot):
    view = WeightHistogramView()
    qtbot.addWidget(view)
    view.show()
    view.set_history(None, "Run 1")
    assert view.message.isVisible() and not view.splitter.isVisible()
    assert view.message.text().startswith("Run 1 did not record its weights.")
    assert "Record weight histograms" in view.message.text()


def test_record_weights_checkbox_round_trips(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.set_settings({"optimizer": "adam", "loss": "mean_squared_error"}, {"epochs": 2})
    assert not panel.record_weights.isChecked()
    seen = []
    panel.settingsEdited.connect(lambda c, f: seen.append(f))
    panel.record_weights.setChecked(True)
    assert seen[-1]["record_weights"] is True and len(seen) == 1
    panel.settingsEdited.disconnect()
    with qtbot.assertNotEmitted(panel.settingsEdited):
        panel.set_settings({"optimizer": "adam"}, {"epochs": 2, "record_weights": False})
    assert not panel.record_weights.isChecked()


def test_weights_tab_follows_the_selected_run(qtbot, tmp_path):
    from PySide6.QtWidgets import QTabWidget, QWidget

    from app.weights_tab import WeightsTab
    from widgets.run_table import RunTableView

    class Document(QWidget):
        from PySide6.QtCore import Signal

        changed = Signal(object)
        reset = Signal()

    class Window(QWidget):
        pass

    window = Window()
    qtbot.addWidget(window)
    window.document = Document()
    window.document.project = {
        "runs": [
            {"id": "a", "name": "Run 1"},
            {"id": "b", "name": "Run 2", "weights_history": history()},
        ]
    }
    window.tabs = QTabWidget(window)
    window.summary_page = QWidget()
    window.tabs.addTab(window.summary_page, "Summary")

    class Panel:
        table = RunTableView()

    window.runs_panel = Panel()
    tab = WeightsTab(window)
    assert window.tabs.tabText(1) == "Weights"
    window.runs_panel.table.selectionChangedRuns.emit(["b"])
    assert window.weights_page.history is not None
    assert "Run 2" in window.weights_page.title.text()
    window.runs_panel.table.selectionChangedRuns.emit(["a"])
    assert window.weights_page.history is None
    assert window.weights_page.message.text().startswith("Run 1 did not record")
    window.document.reset.emit()
    assert tab._run_id is None
