"""The metric views follow the task: after a switch from classification to regression the
metric plot shows the project's metric, the runs table each run's own metric, and a run
trained with another loss is never drawn on this loss's axis."""

from __future__ import annotations

import numpy as np
import pytest

from engine.events import EpochEnd, TrainBegin
from widgets.live_curves import LiveCurves, compiled_metric_name, loss_name
from widgets.run_table import SORT_ROLE, RunTableModel

CLASSIFIER = {
    "id": "r1",
    "name": "Run 1",
    "status": "completed",
    "epochs_completed": 3,
    "history": {
        "loss": [0.7, 0.5, 0.4],
        "accuracy": [0.6, 0.8, 0.9],
        "val_loss": [0.6, 0.5, 0.45],
        "val_accuracy": [0.7, 0.85, 0.92],
    },
    "best": {"val_loss": {"value": 0.45, "epoch": 2}, "val_accuracy": {"value": 0.92, "epoch": 2}},
    "test_metrics": {"loss": 0.47, "accuracy": 0.9},
    "snapshot": {"compile": {"loss": "binary_crossentropy", "metrics": ["accuracy"]}},
}
REGRESSOR = {
    "id": "r2",
    "name": "Run 2",
    "status": "completed",
    "epochs_completed": 4,
    "history": {
        "loss": [2.0, 1.0, 0.5, 0.4],
        "mae": [1.0, 0.7, 0.5, 0.45],
        "val_loss": [2.1, 1.1, 0.6, 0.5],
        "val_mae": [1.1, 0.6, 0.31, 0.33],
    },
    "best": {"val_loss": {"value": 0.5, "epoch": 3}, "val_mae": {"value": 0.31, "epoch": 2}},
    "test_metrics": {"loss": 0.52, "mae": 0.34},
    "snapshot": {"compile": {"loss": "mse", "metrics": ["mae"]}},
}


def cell(model: RunTableModel, row: int, column: str, role=None):
    index = model.index(row, model.columns().index(column))
    return model.data(index) if role is None else model.data(index, role)


def test_run_table_shows_each_runs_own_metric(qtmodeltester):
    model = RunTableModel()
    model.set_runs([CLASSIFIER, REGRESSOR], {}, "mae")
    qtmodeltester.check(model)
    assert model.columns()[:5] == [
        "Name",
        "Best val_loss",
        "Best metric",
        "Changes",  # before the bookkeeping columns: a narrow table still shows it
        "Test metric",
    ]
    assert cell(model, 0, "Best metric") == "val_accuracy 0.92 (ep 3)"
    assert cell(model, 1, "Best metric") == "val_mae 0.31 (ep 3)"
    assert cell(model, 0, "Test metric") == "accuracy 0.9"
    assert cell(model, 1, "Test metric") == "mae 0.34"
    assert cell(model, 1, "Best metric", SORT_ROLE) == pytest.approx(0.31)
    # one task only: the header names the metric and the cells are plain numbers
    model.set_runs([REGRESSOR], {}, "mae")
    assert model.columns()[2:5] == ["Best val_mae", "Changes", "Test mae"]
    assert cell(model, 0, "Best val_mae") == "0.31 (ep 3)"
    # a run that logged no metric at all
    bare = {**REGRESSOR, "history": {"loss": [1.0]}, "best": {}, "test_metrics": None}
    model.set_runs([bare], {}, None)
    assert "Test loss" in model.columns()


def test_names_of_losses_and_metrics():
    assert loss_name("mse") == loss_name("mean_squared_error") == "mean_squared_error"
    assert loss_name({"class_name": "BinaryCrossentropy", "config": {}}) == "binary_crossentropy"
    assert loss_name({"class_name": "X", "config": {"name": "binary_crossentropy"}}) == (
        "binary_crossentropy"
    )
    assert compiled_metric_name("acc") == "accuracy"
    assert compiled_metric_name({"class_name": "AUC", "config": {"name": "auc"}}) == "auc"


@pytest.fixture
def curves(qtbot):
    widget = LiveCurves()
    qtbot.addWidget(widget)
    widget.resize(900, 400)
    widget.show()
    return widget


def titles(curves: LiveCurves) -> tuple[str, str]:
    return (
        curves.loss_plot.getPlotItem().titleLabel.text,
        curves.metric_plot.getPlotItem().titleLabel.text,
    )


def legend_texts(curves: LiveCurves, plot: str = "loss") -> list[str]:
    item = (curves.loss_plot if plot == "loss" else curves.metric_plot).getPlotItem()
    return [label.text for _, label in item.legend.items]


def test_metric_plot_follows_the_project_to_regression(curves):
    curves.set_metric_names("binary_crossentropy", ["accuracy"])
    curves.on_event(TrainBegin(2, 4, 32, 128, "CPU"))
    for epoch in range(2):
        logs = {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.6, "val_accuracy": 0.7}
        curves.on_event(EpochEnd(epoch, logs, 1.0))
    curves.flush()
    assert curves.current_metric() == "accuracy"
    assert "binary_crossentropy" in titles(curves)[0]
    # the user picks a regression dataset; Suggest compiles mse + mae
    curves.set_metric_names("mse", ["mae"])
    assert curves.current_metric() == "mae"
    assert curves.metric_combo.currentText() == "mae"
    assert titles(curves) == ("Loss: mean_squared_error", "mae")
    assert curves.metric_plot.getPlotItem().getAxis("left").labelText == "mae"
    assert not curves.metric_plot.getPlotItem().getAxis("left").autoSIPrefix  # no "(x0.001)"
    assert curves.loss_plot.getPlotItem().getAxis("left").labelText == "mean_squared_error"
    # the finished classification run's BCE is not drawn on the MSE axis
    assert len(curves.train_loss_curve.getData()[1] or []) == 0
    assert len(curves.batch_curve.getData()[1] or []) == 0
    # a new run with the new loss is drawn
    curves.on_event(TrainBegin(1, 4, 32, 128, "CPU"))
    curves.on_event(EpochEnd(0, {"loss": 3.0, "mae": 1.2, "val_loss": 3.3, "val_mae": 1.3}, 1.0))
    curves.flush()
    np.testing.assert_allclose(curves.train_loss_curve.getData()[1], [3.0])
    np.testing.assert_allclose(curves.train_metric_curve.getData()[1], [1.2])


def test_metric_plot_starts_on_the_project_metric_after_new(curves):
    curves.add_overlay("r1", "Run 1", CLASSIFIER["history"], "g", loss="binary_crossentropy")
    assert curves.current_metric() == "accuracy"
    curves.clear_overlays()
    curves.clear()
    curves.set_metric_names("mse", ["mae"])
    assert curves.current_metric() == "mae"
    assert [curves.metric_combo.itemText(i) for i in range(curves.metric_combo.count())] == ["mae"]


def test_overlay_with_another_loss_is_not_drawn_on_this_axis(curves):
    curves.set_metric_names("mse", ["mae"])
    curves.add_overlay("r1", "Run 1", CLASSIFIER["history"], "g", loss="binary_crossentropy")
    curves.add_overlay("r2", "Run 2", REGRESSOR["history"], "r", loss="mean_squared_error")
    loss_plot = curves.loss_plot.getPlotItem()
    drawn = [
        item
        for item in loss_plot.listDataItems()
        if item.getData()[1] is not None and len(item.getData()[1])
    ]
    drawn_names = [item.name() for item in drawn]
    assert "Run 2 loss" in drawn_names and "Run 2 loss (val)" in drawn_names
    assert not any(name and name.startswith("Run 1") for name in drawn_names)
    assert curves.overlay_loss_note("r1") == "Run 1: binary_crossentropy, not drawn"
    assert curves.overlay_loss_note("r2") is None
    assert "Run 1: binary_crossentropy, not drawn" in legend_texts(curves)
    # the metric plot draws only the chosen metric's values: Run 1 has no mae
    metric_drawn = [i.name() for i in curves.metric_plot.getPlotItem().listDataItems() if i.name()]
    assert not any(name.startswith("Run 1") for name in metric_drawn)
    # back to classification: Run 1 draws, Run 2 becomes the note
    curves.set_metric_names("binary_crossentropy", ["accuracy"])
    assert curves.overlay_loss_note("r1") is None
    assert curves.overlay_loss_note("r2") == "Run 2: mean_squared_error, not drawn"
    assert curves.current_metric() == "accuracy"
    # an overlay without a known loss is drawn as before
    curves.add_overlay("r3", "Run 3", {"loss": [1.0, 0.5]}, "b")
    assert curves.overlay_loss_note("r3") is None


def test_legends_keep_to_a_third_of_a_short_plot(curves, qtbot):
    curves.resize(1200, 230)
    curves.set_metric_names("binary_crossentropy", ["accuracy"])
    curves.add_overlay("r1", "Run 1", CLASSIFIER["history"], "g", loss="binary_crossentropy")
    curves.add_overlay("r2", "Run 2", CLASSIFIER["history"], "m", loss="binary_crossentropy")
    qtbot.wait(20)
    curves.on_event(TrainBegin(3, 4, 32, 128, "CPU"))
    curves.on_event(EpochEnd(0, {"loss": 0.6, "accuracy": 0.7, "val_loss": 0.7}, 1.0))
    curves.flush()
    for plot in (curves.loss_plot, curves.metric_plot):
        item = plot.getPlotItem()
        assert len(item.legend.items) >= 4
        assert item.legend.boundingRect().height() <= item.vb.height() / 3 + 24
    assert curves.legend_columns("loss") > 1
    curves.resize(700, 900)  # tall: one column again
    qtbot.wait(50)
    curves.flush()
    assert curves.legend_columns("loss") == 1
