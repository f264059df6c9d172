"""The search views from plain data: parallel coordinates, importance bars, Pareto front."""

from __future__ import annotations

import math

from widgets.parallel_coordinates import (
    Axis,
    ImportanceBars,
    ParallelCoordinates,
    ParetoPlot,
    pareto_front,
)

AXES = [
    Axis("units", "units", log=True),
    Axis("batch", "batch size", choices=(32, 64, 128)),
    Axis("opt", "optimizer", choices=("adam", "sgd")),
]
ROWS = [
    {"units": 8, "batch": 32, "opt": "adam", "val_loss": 0.5},
    {"units": 64, "batch": 128, "opt": "sgd", "val_loss": 0.2},
    {"units": 16, "batch": 64, "opt": "adam", "val_loss": 0.9},
]


def test_one_line_per_trial_on_log_and_categorical_axes(qtbot):
    plot = ParallelCoordinates()
    qtbot.addWidget(plot)
    plot.set_data(AXES, ROWS, "val_loss", minimize=True)
    assert plot.line_count() == 3
    lines = {round(float(line.yData[-1]), 3): line for line in plot.lines}
    best = lines[0.0]  # the lowest val_loss sits at the bottom of the objective axis
    ys = list(best.yData)
    assert math.isclose(ys[0], 1.0)  # units 64: the top of a log axis 8…64
    assert math.isclose(ys[1], 1.0) and math.isclose(ys[2], 1.0)  # batch 128, sgd: last choice
    worst = lines[1.0]  # val_loss 0.9, units 16: a third of the way up log 8…64
    assert math.isclose(worst.yData[0], 1 / 3) and math.isclose(worst.yData[1], 0.5)
    assert best.zValue() == max(line.zValue() for line in plot.lines)  # the best on top
    assert best.opts["pen"].widthF() > plot.lines[0].opts["pen"].widthF()

    plot.set_data(AXES, ROWS[:2], "val_loss")
    assert plot.line_count() == 2
    plot.set_data(AXES, [], "val_loss")
    assert plot.line_count() == 0


def test_a_new_trial_redraws_only_the_lines_it_changes(qtbot):
    """A search adds a row at a time: redrawing all 100 lines cost 28 ms per trial."""
    plot = ParallelCoordinates()
    qtbot.addWidget(plot)
    rows = [
        {"units": 8, "batch": 32, "opt": "adam", "val_loss": 0.5},
        {"units": 64, "batch": 128, "opt": "sgd", "val_loss": 0.2},
        {"units": 16, "batch": 64, "opt": "adam", "val_loss": 0.3},
    ]
    plot.set_data(AXES, rows[:2], "val_loss")
    redrawn = []
    for line in plot.lines:
        line.sigPlotChanged.connect(lambda item: redrawn.append(item))
    first, second = plot.lines
    # a middle value: neither line moves nor changes colour (the objective's range holds)
    plot.set_data(AXES, rows, "val_loss")
    assert plot.line_count() == 3 and redrawn == []
    assert plot.lines[:2] == [first, second]
    # a new best: the old best's colour changes, so that line is drawn again
    plot.set_data(
        AXES, [*rows, {"units": 32, "batch": 32, "opt": "sgd", "val_loss": 0.1}], "val_loss"
    )
    assert second in redrawn and plot.line_count() == 4


def test_a_missing_value_leaves_a_gap_not_a_crash(qtbot):
    plot = ParallelCoordinates()
    qtbot.addWidget(plot)
    plot.set_data(AXES, [{"units": 8, "opt": "rmsprop", "val_loss": 1.0}], "val_loss")
    (line,) = plot.lines
    assert math.isnan(line.yData[1]) and math.isnan(line.yData[2])


def test_importance_bars_largest_first(qtbot):
    bars = ImportanceBars()
    qtbot.addWidget(bars)
    bars.set_data({"units": 0.2, "learning_rate": 0.7, "batch": 0.1})
    assert bars.names == ["learning_rate", "units", "batch"]
    bars.set_data({})
    assert bars.bars is None


def test_pareto_front_keeps_the_undominated_points(qtbot):
    points = [(100, 0.5), (1000, 0.3), (500, 0.6), (5000, 0.3), (50, 0.9)]
    assert sorted(pareto_front(points)) == [0, 1, 4]
    assert sorted(pareto_front([(1, 0.9), (2, 0.95)], (True, False))) == [0, 1]
    plot = ParetoPlot()
    qtbot.addWidget(plot)
    plot.set_data(points, ("parameters", "val_loss"), log_x=True)
    assert sorted(plot.front) == [0, 1, 4]


def test_a_growing_search_keeps_its_lines_and_spans_the_searched_range(qtbot):
    plot = ParallelCoordinates()
    qtbot.addWidget(plot)
    axes = [Axis("units", "units", log=True, low=4, high=64)]
    rows = [{"units": 16, "val_loss": 0.5}, {"units": 4, "val_loss": 0.4}]
    plot.set_data(axes, rows, "val_loss")
    first = list(plot.lines)
    assert math.isclose(first[0].yData[0], 0.5)  # 16 is half-way up log 4…64
    plot.set_data(axes, [*rows, {"units": 64, "val_loss": 0.3}], "val_loss")
    assert plot.lines[:2] == first and plot.line_count() == 3  # kept, re-coloured
    assert math.isclose(plot.lines[2].yData[0], 1.0)
    top, bottom = plot._objective_labels[-1][1]
    assert (top.textItem.toPlainText(), bottom.textItem.toPlainText()) == ("0.5", "0.3")
