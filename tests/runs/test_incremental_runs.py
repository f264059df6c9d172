"""A search adds one run at a time to a hundred: the runs views describe and measure only the
new run (issue 12: each addition cost the GUI thread 395 ms at 100 runs, 8 ms now)."""

from __future__ import annotations

import copy

import engine.run_columns
import engine.runs
from engine.identity_memo import IdentityMemo
from engine.run_columns import run_columns
from engine.runs import compared_changes
from widgets.run_table import COLUMN_WIDTH, RunTableView


def run(number: int, units: int = 8) -> dict:
    model = {"layers": [{"class_name": "Dense", "config": {"units": units}}]}
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.6 + number / 100]}
    return {
        "id": f"r{number}",
        "name": f"Trial {number}",
        "status": "completed",
        "epochs_completed": 2,
        "seconds": 3.0,
        "history": history,
        "best": engine.runs.best_metrics(history),
        "final": {key: values[-1] for key, values in history.items()},
        "snapshot": {"model": model, "fit": {"batch_size": 32 + number}},
        "params": {"fit.batch_size": 32 + number},
    }


def test_identity_memo_makes_a_value_once_per_objects_and_forgets_unused_ones():
    memo, made = IdentityMemo(), []
    a, b = {"x": 1}, {"x": 1}  # equal, but other objects
    for _ in range(3):
        assert memo.get((a,), "k", lambda: made.append("a") or "A") == "A"
        memo.end_pass()
    assert made == ["a"]
    assert memo.get((b,), "k", lambda: made.append("b") or "B") == "B"  # not by equality
    assert memo.get((a,), "other", lambda: made.append("a2") or "A2") == "A2"  # nor other extra
    memo.end_pass()
    assert len(memo) == 2  # a with "k" was not used in that pass: gone
    memo.get((a,), "k", lambda: made.append("a3") or "A3")
    assert made == ["a", "b", "a2", "a3"]


def test_changes_are_worked_out_once_per_pair_of_runs(monkeypatch):
    calls = []
    real = engine.runs.changes
    monkeypatch.setattr(
        engine.runs, "changes", lambda before, after: calls.append(1) or real(before, after)
    )
    runs = [run(0), run(1, units=16), run(2)]
    memo = IdentityMemo()
    first = compared_changes(runs, memo=memo)
    assert len(calls) == 2
    runs.append(run(3, units=4))
    second = compared_changes(runs, memo=memo)
    assert len(calls) == 3  # only the new run against the one before it
    assert second == compared_changes(runs)  # the same lines as without a memo
    assert first["r1"] == second["r1"] and "Dense.units 8 → 16" in "; ".join(first["r1"])
    second["r1"].append("edited by a caller")
    assert "edited by a caller" not in compared_changes(runs, memo=memo)["r1"]


def test_table_rows_are_made_once_per_run_and_again_when_their_inputs_change(monkeypatch):
    cells = []
    real = engine.run_columns._cell
    monkeypatch.setattr(engine.run_columns, "_cell", lambda *args: cells.append(1) or real(*args))
    runs = [run(n) for n in range(5)]
    memo = IdentityMemo()
    table = run_columns(runs, {}, memo=memo)
    per_row = len(table.columns)
    assert len(cells) == 5 * per_row
    sixth = run(5)
    again = run_columns([*runs, sixth], {}, memo=memo)
    assert len(cells) == 6 * per_row  # the five rows came from the memo
    run_columns([*runs, sixth], {"r2": ["fit.batch_size 33 → 34"]}, memo=memo)
    assert len(cells) == 7 * per_row  # r2's changes line changed: only its row is made again
    assert again.rows[:5] == table.rows and again == run_columns([*runs, sixth], {})


def test_adding_runs_inserts_rows_keeping_the_selection_and_widths(qtbot):
    view = RunTableView()
    qtbot.addWidget(view)
    view.resize(900, 300)
    view.show()
    qtbot.waitExposed(view)
    model = view.run_model
    runs = [run(n) for n in range(3)]
    view.set_runs(runs, {})
    view.select_runs(["r1"])
    name = model.column_of("name")
    view.setColumnWidth(name, 150)
    resets, inserted, selections = [], [], []
    model.modelReset.connect(lambda: resets.append(1))
    model.rowsInserted.connect(lambda parent, first, last: inserted.append((first, last)))
    view.selectionChangedRuns.connect(selections.append)

    view.set_runs([*runs, run(3), run(4)], {})
    assert resets == [] and inserted == [(3, 4)]
    assert view.selected_run_ids() == ["r1"] and selections == []
    assert view.columnWidth(name) == 150  # widened only when a new cell needs it
    assert model.rowCount() == 5

    renamed = {**runs[0], "name": "Best trial with a long, long name"}
    changed = []
    model.dataChanged.connect(lambda top, bottom, roles: changed.append(top.row()))
    view.set_runs([renamed, *runs[1:], run(3), run(4)], {})
    assert changed == [0] and resets == []
    assert view.columnWidth(name) > 150  # the longer name is measured

    view.set_runs([run(7), run(8)], {})  # other runs (another project): a reset
    assert resets == [1] and model.rowCount() == 2


def test_a_hidden_table_measures_its_columns_when_shown(qtbot):
    view = RunTableView()
    qtbot.addWidget(view)
    long_name = {**run(0), "name": "A trial whose name is long enough to need room"}
    view.set_runs([long_name, run(1)], {})
    name = view.run_model.column_of("name")
    before = view.columnWidth(name)
    view.resize(900, 300)
    view.show()
    qtbot.waitExposed(view)
    assert view.columnWidth(name) > before
    assert view.columnWidth(name) == min(view.sizeHintForColumn(name), COLUMN_WIDTH)


def test_the_document_copies_only_runs_it_does_not_hold_already(qtbot, tmp_path):
    from app.document import ProjectDocument

    document = ProjectDocument()
    mine = [run(0), run(1)]
    document.replace_runs(mine)
    held = document.project["runs"]
    assert held[0] is not mine[0]  # what callers pass is copied ...
    new = run(2)
    document.replace_runs([*held, new])
    assert document.project["runs"][0] is held[0]  # ... once
    assert document.project["runs"][2] is not new
    new["name"] = "changed by the caller afterwards"
    assert document.project["runs"][2]["name"] == "Trial 2"
    assert copy.deepcopy(document.project["runs"]) == [*held, run(2)]


def test_a_group_row_carries_the_overfitting_hint_of_its_mean_curves():
    """Issue 12: "the overfitting hint and the changes column work on groups too"."""
    from widgets.run_table import collapse_groups

    def member(number, rise):
        val = [1.0, 0.8, 0.6, 0.5] + [0.5 + rise * (i + 1) for i in range(6)]
        history = {"loss": [1.0 - 0.08 * i for i in range(10)], "val_loss": val}
        return {**run(number), "history": history, "group": "g1"}

    rows, _changes, members = collapse_groups(
        [member(0, 0.06), member(1, 0.08), member(2, 0.07)], {}
    )
    (row,) = rows
    assert members == {"group:g1": ["r0", "r1", "r2"]}
    assert row["overfitting"]["epoch"] == 3  # val_loss lowest at epoch 4, rising after
    table = run_columns(rows, {})
    assert table.cell("group:g1", "hint").text == "⚠ overfitting after epoch 4"
    flat, _, _ = collapse_groups([member(3, 0.0), member(4, 0.0)], {})
    assert flat[0]["overfitting"] is None


def test_renaming_the_selected_run_updates_the_side_panel_and_overlays(qtbot):
    """Found under Xvfb: after F2 renamed "Run 2", the panel still said "Press Evaluate to
    test Run 2" (the renamed row keeps its selection now, so no selection signal came)."""
    from app.runs_panel import RunsPanel

    panel = RunsPanel()
    qtbot.addWidget(panel)
    first, second = {**run(0), "weights": "runs/a.h5"}, {**run(1), "weights": "runs/b.h5"}
    panel.set_project({"runs": [first, second]}, None)
    overlays = []
    panel.overlayRequested.connect(overlays.append)
    panel.table.select_runs(["r1"])
    assert "Trial 1" in panel.evaluation.message.text()
    panel.set_project({"runs": [first, {**second, "name": "wide128"}]}, None)
    assert panel.evaluation.message.text() == (
        "Press Evaluate to test wide128 on the dataset's test part."
    )
    assert overlays[-1][0][1] == "wide128"
    count = len(overlays)
    panel.set_project({"runs": [first, {**second, "name": "wide128"}], "x": 1}, None)
    assert len(overlays) == count  # nothing about the selected run changed: no redraw
    panel.shutdown()
