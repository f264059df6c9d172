"""The comparison columns (engine.run_columns): best value and epoch per logged metric, final
and test values, epochs, time, parameter count and changes, as plain sortable data; the runs
table shows them and sorts numbers as numbers."""

from __future__ import annotations

import copy

import pytest
from PySide6.QtCore import Qt

from engine import run_compare
from engine.project import demo_project
from engine.run_columns import NO_VALUE, logged_metrics, run_columns
from engine.runs import best_metrics
from widgets.run_table import SORT_ROLE, RunTableView


def record(run_id, name, history, *, seconds=12.0, tests=None, model=None, **extra):
    return {
        "id": run_id,
        "name": name,
        "status": "completed",
        "epochs_completed": max((len(v) for v in history.values()), default=0),
        "seconds": seconds,
        "history": history,
        "best": best_metrics(history),
        "final": {key: values[-1] for key, values in history.items() if values},
        "test_metrics": tests,
        "snapshot": {"model": model} if model else {},
        **extra,
    }


FIRST = record(
    "a",
    "Run 1",
    {
        "loss": [0.9, 0.5, 0.4],
        "accuracy": [0.6, 0.8, 0.85],
        "val_loss": [0.8, 0.45, 0.5],
        "val_accuracy": [0.7, 0.9, 0.88],
        "learning_rate": [0.001, 0.001, 0.001],
    },
    tests={"loss": 0.47, "accuracy": 0.89},
)
SECOND = record(
    "b",
    "Run 2",
    {
        "loss": [0.7] * 10,
        "accuracy": [0.7] * 9 + [0.95],
        "val_loss": [0.6] * 10,
        "val_accuracy": [0.8] * 10,
    },
    seconds=95.0,
)


def test_columns_best_with_epoch_final_test_and_sort_keys():
    table = run_columns([FIRST, SECOND], {"b": ["fit.batch_size 32 → 64"]})
    assert table.column_keys()[:9] == [
        "name",
        "best:val_loss",
        "best:val_accuracy",
        "changes",
        "test:accuracy",
        "epochs",
        "status",
        "hint",
        "params",
    ]
    assert table.main == ["best:val_loss", "best:val_accuracy", "test:accuracy"]
    keys = set(table.column_keys())
    assert {"best:loss", "best:accuracy", "final:val_loss", "final:accuracy", "test:loss"} <= keys
    assert "best:learning_rate" not in keys
    # min for losses, max for accuracies, with the (1-based) epoch it came at
    best_loss = table.cell("a", "best:val_loss")
    assert (best_loss.text, best_loss.sort, best_loss.epoch) == ("0.45 (ep 2)", 0.45, 1)
    assert table.cell("a", "best:val_accuracy").text == "0.9 (ep 2)"
    assert table.cell("b", "best:accuracy").text == "0.95 (ep 10)"
    assert table.cell("a", "final:val_loss").sort == 0.5
    assert table.cell("a", "test:accuracy").text == "0.89"
    assert table.cell("b", "test:accuracy") == table.cell("b", "test:loss")  # both empty
    assert table.cell("b", "test:accuracy").text == NO_VALUE
    assert table.cell("b", "test:accuracy").sort is None
    assert table.cell("b", "epochs").sort == 10
    assert table.cell("b", "time").text == "1 min 35 s" and table.cell("b", "time").sort == 95.0
    assert table.cell("b", "changes").text == "fit.batch_size 32 → 64"
    assert table.cell("b", "changes").tooltip == "fit.batch_size 32 → 64"
    assert table.cell("a", "changes").text == NO_VALUE
    assert [c.numeric for c in table.columns[:4]] == [False, True, True, False]
    picked = table.select(["name", "time", "missing"])
    assert picked.headers() == ["Name", "Time"] and picked.rows[1][1].sort == 95.0


def test_logged_metrics_put_validation_first():
    assert logged_metrics([FIRST]) == ["val_loss", "loss", "val_accuracy", "accuracy"]


def test_imported_run_without_history_does_not_crash_and_counts_parameters():
    model = demo_project()["model"]
    imported = {"id": "i", "name": "model.h5", "status": "imported", "snapshot": {"model": model}}
    table = run_compare.comparison_table([FIRST, imported])
    assert table.cell("i", "status").text == "imported"
    assert table.cell("i", "best:val_loss").text == NO_VALUE
    assert table.cell("i", "time").sort is None
    assert table.cell("i", "epochs").sort == 0
    count = table.cell("i", "params")
    assert count.sort > 1000 and count.text == f"{count.sort:,}"
    assert table.cell("a", "params").sort is None  # no model in its snapshot
    # stored counts win, and nothing is worked out when counting is off
    assert run_compare.parameter_count({**imported, "parameter_count": 7}) == 7
    trial = {**imported, "params": {"units": 8}}  # a search trial's hyperparameters
    assert run_compare.parameter_count(trial) == count.sort
    assert run_compare.parameter_count(imported, count=False) is None
    # changes against an imported run: its model against the other's
    other_model = copy.deepcopy(model)
    other_model["layers"][-1]["config"]["units"] = 5
    second = {**imported, "id": "j", "snapshot": {"model": other_model}}
    table = run_compare.comparison_table([imported, second])
    assert "units" in table.cell("j", "changes").text


def test_runs_table_sorts_numbers_as_numbers(qtbot):
    view = RunTableView()
    qtbot.addWidget(view)
    short = record("c", "Run 3", {"loss": [1.0] * 9, "val_loss": [0.9] * 9}, seconds=9.0)
    view.set_runs([SECOND, short], {})
    model = view.run_model
    epochs = model.column_of("epochs")
    view.sortByColumn(epochs, Qt.SortOrder.AscendingOrder)
    shown = [view.model().index(row, epochs).data() for row in range(2)]
    assert shown == ["9", "10"]  # as text "10" < "9"
    time = model.column_of("time")
    view.sortByColumn(time, Qt.SortOrder.DescendingOrder)
    assert view.model().index(0, time).data(SORT_ROLE) == 95.0
    assert model.headerData(time, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    cell = model.index(0, model.column_of("changes"))
    assert model.data(cell, Qt.ItemDataRole.ToolTipRole) is None  # no changes: no tooltip
    params = model.column_of("params")
    view.set_runs([SECOND, short], {}, params=lambda run: {"b": 100, "c": 20}[run["id"]])
    view.sortByColumn(params, Qt.SortOrder.AscendingOrder)
    assert [view.model().index(r, params).data() for r in range(2)] == ["20", "100"]


@pytest.mark.parametrize("missing", ["history", "best", "final", "snapshot", "seconds"])
def test_runs_missing_any_field_still_make_a_row(missing):
    run = {key: value for key, value in FIRST.items() if key != missing}
    table = run_compare.comparison_table([run, SECOND], count_params=False)
    assert len(table.rows) == 2 and all(isinstance(cell.text, str) for cell in table.rows[0])


def test_changes_column_is_on_screen_in_the_runs_dock_at_1280x800(qtbot):
    """The Runs dock of a 1280×800 window is about 740×270: its Changes column was at
    x = 578 of a 428 px wide table (off-screen)."""
    from app.runs_panel import RunsPanel
    from widgets.run_table import CHANGES_MIN_WIDTH

    def with_fit(run, batch_size, layers):
        model = {"layers": [{"class_name": "Dense", "config": {"units": u}} for u in layers]}
        return {**run, "snapshot": {"model": model, "fit": {"batch_size": batch_size}}}

    runs = [with_fit(FIRST, 32, [64, 10]), with_fit(SECOND, 64, [64, 32, 10])]
    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.set_project({"runs": runs}, None)
    panel.resize(738, 274)
    panel.show()
    qtbot.waitExposed(panel)
    table = panel.table
    column = table.run_model.column_of("changes")
    left = table.horizontalHeader().sectionViewportPosition(column)
    width = table.columnWidth(column)
    assert left >= 0 and left + width <= table.viewport().width()
    assert width >= CHANGES_MIN_WIDTH
    text = table.run_model.data(table.run_model.index(1, column))
    assert text.startswith("+Dense(units=32) after Dense[1]")
    panel.shutdown()


def test_recorded_runs_hold_each_epochs_time_for_the_time_axes(recorded_project):
    from engine.project import load_project
    from engine.smoothing import times_are_estimated, x_values

    run = load_project(recorded_project)["runs"][0]
    assert len(run["epoch_seconds"]) == run["epochs_completed"] == 2
    assert all(0 < seconds <= run["seconds"] for seconds in run["epoch_seconds"])
    assert not times_are_estimated(run)
    relative = x_values(run, "relative")
    assert relative[0] == run["epoch_seconds"][0] and relative[1] == sum(run["epoch_seconds"])
