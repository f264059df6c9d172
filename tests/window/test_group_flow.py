"""Issue 12, groups from the window: k-fold (k=2, real worker) and repeats become ONE runs
table row with mean ± std of each best metric, expandable to the members, and one mean line
with a ±1 std band in the Compare workspace."""

from __future__ import annotations

import pytest

from engine.worker import WorkerPool
from tests.search.support import write_project


@pytest.fixture(scope="module")
def warm_pool():
    pool = WorkerPool(1, stop_grace=20)
    yield pool
    pool.close()


def test_kfold_two_shows_one_group_row_with_mean_and_std(qtbot, make_window, tmp_path, warm_pool):
    window = make_window(write_project(tmp_path, epochs=1))
    flow = window.groups
    flow.pool = warm_pool
    with qtbot.waitSignal(flow.job.finished, timeout=240_000):
        assert flow.start("kfold", 2, workers=1)
    project = window.document.project
    (group,) = project["groups"]
    assert group["kind"] == "kfold" and len(group["runs"]) == 2
    assert [run.get("group") for run in project["runs"]] == [group["id"]] * 2

    table = window.runs_panel.table
    model = table.run_model
    assert model.rowCount() == 1  # the two folds as one row
    row = model.run_at(0)
    assert row["name"] == "2-fold (group of 2)"
    cell = model.data(model.index(0, model.column_of("best:val_loss")))
    assert " ± " in cell and "(n=2)" in cell
    assert sorted(table.selected_run_ids()) == sorted(group["runs"])  # selected: its members

    table.set_group_rows(False)  # expanded: its members
    assert model.rowCount() == 2
    table.set_group_rows(True)
    assert model.rowCount() == 1

    # Compare: the group row draws one mean line with a ±1 std band
    compare = window.compare
    window.tabs.setCurrentWidget(window.compare_page)
    compare.table.select_runs(group["runs"])
    (series,) = compare.curves.series()
    assert series.label == "2-fold (group of 2)" and len(series.std["val_loss"]) == 1

    # the group survives a save: the window merged it into the document
    assert window.save()
    import json

    assert json.loads(window.document.path.read_text())["groups"][0]["id"] == group["id"]
