"""Issue 12: the Compare workspace — filter runs, select several, see their curves with a
legend that says train/validation, write tags and notes (kept in the project), and let it
take the whole window."""

from __future__ import annotations

import copy

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from engine.project import demo_project, save_project


def _run(run_id: str, name: str, val_loss: list[float], **extra) -> dict:
    epochs = len(val_loss)
    best = min(range(epochs), key=val_loss.__getitem__)
    return {
        "id": run_id,
        "name": name,
        "started_at": "2026-12-01T10:00:00+00:00",
        "seconds": 4.0 * epochs,
        "status": "completed",
        "epochs_completed": epochs,
        "snapshot": {},
        "history": {
            "loss": [v - 0.1 for v in val_loss],
            "val_loss": val_loss,
            "accuracy": [0.5 + 0.1 * i for i in range(epochs)],
            "val_accuracy": [0.45 + 0.1 * i for i in range(epochs)],
        },
        "best": {"val_loss": {"value": val_loss[best], "epoch": best}},
        "final": {},
        "test_metrics": None,
        "weights": None,
        "warnings": [],
        **extra,
    }


def _project(tmp_path):
    project = demo_project()
    project["runs"] = [
        _run("a", "Dense baseline", [1.0, 0.8, 0.7]),
        _run("b", "LSTM dropout", [0.9, 0.6, 0.65], tags=["lstm"]),
        _run("c", "GRU", [1.2, 1.0, 0.9]),
    ]
    path = tmp_path / "compare.llproj"
    save_project(project, path)
    return path


def test_select_filter_annotate_and_take_the_whole_window(qtbot, make_window, tmp_path):
    window = make_window(_project(tmp_path))
    window.tabs.setCurrentWidget(window.compare_page)
    compare = window.compare
    assert compare.table.run_model.rowCount() == 3
    compare.table.select_runs(["a", "b"])
    names = {curve.name() for curve in compare.curves.drawn() if curve.name()}
    assert {
        "Dense baseline · train",
        "Dense baseline · validation",
        "LSTM dropout · validation",
    } <= names

    QTest.keyClicks(compare.filter_edit, "tag:lstm")
    assert [r["id"] for r in compare.table.run_model.runs()] == ["b"]
    assert compare.count_label.text() == "1 of 3 runs"
    compare.filter_edit.clear()
    QTest.keyClicks(compare.filter_edit, "/^(gru|dense)/")
    assert [r["id"] for r in compare.table.run_model.runs()] == ["a", "c"]
    compare.filter_edit.clear()

    compare.table.select_runs(["c"])
    compare.tags_edit.setFocus()
    QTest.keyClicks(compare.tags_edit, "rnn, slow")
    QTest.keyClick(compare.tags_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.document.project["runs"][2].get("tags") == ["rnn", "slow"])
    assert not window.document.undo_stack.isClean()
    compare.notes_edit.setPlainText("needs more epochs")
    qtbot.waitUntil(
        lambda: window.document.project["runs"][2].get("notes") == "needs more epochs",
        timeout=3000,
    )
    assert compare.table.selected_run_ids() == ["c"]  # the edit kept the selection

    window.docks["trainingDock"].raise_()
    window.docks["runsDock"].raise_()
    qtbot.wait(20)
    visible = [d for d in window.docks.values() if d.isVisible()]
    assert visible
    compare.maximise_button.click()
    assert not any(d.isVisible() for d in window.docks.values())
    compare.maximise_button.click()
    qtbot.wait(200)
    assert all(d.isVisible() for d in visible)

    # the tabs that were on top are on top again (not the first of each tab group)
    def on_top(name: str) -> bool:
        return not window.docks[name].visibleRegion().isEmpty()

    assert on_top("trainingDock") and not on_top("datasetDock")
    assert on_top("runsDock") and not on_top("curvesDock")


def test_another_project_clears_the_selection_and_curves(qtbot, make_window, tmp_path):
    window = make_window(_project(tmp_path))
    window.compare.table.select_runs(["a"])
    assert window.compare.curves.drawn()
    other = copy.deepcopy(demo_project())
    path = tmp_path / "other.llproj"
    save_project(other, path)
    window.open_path(path, ask=False)
    assert window.compare.table.run_model.rowCount() == 0
    assert not window.compare.curves.drawn()
    assert not window.compare.details.isEnabled()


def test_export_selected_runs_as_one_tidy_table(make_window, tmp_path):
    import csv
    import json

    window = make_window(_project(tmp_path))
    compare = window.compare
    compare.table.select_runs(["a", "c"])
    compare.export_to(tmp_path / "chosen.csv")
    with open(tmp_path / "chosen.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["run"] for row in rows} == {"Dense baseline", "GRU"}
    val_loss = [r for r in rows if r["run"] == "GRU" and r["metric"] == "val_loss"]
    assert [float(r["value"]) for r in val_loss] == [1.2, 1.0, 0.9]
    assert "batch_size" in rows[0]
    compare.export_to(tmp_path / "chosen.json")
    records = json.loads((tmp_path / "chosen.json").read_text())
    assert len(records) == len(rows)


def test_a_hidden_compare_tab_catches_up_when_shown_or_asked(qtbot, make_window, tmp_path):
    """A search adds a run a second: while another tab is on top, Compare leaves its table
    as it was and brings it up to date when shown (or when its table is asked for)."""
    window = make_window(_project(tmp_path))
    compare = window.compare
    window.tabs.setCurrentWidget(window.compare_page)
    shown = compare._table.run_model
    assert shown.rowCount() == 3
    window.tabs.setCurrentWidget(window.search_page)
    assert not compare.isVisible()
    before = shown.rowCount()
    runs = [*window.document.project["runs"], _run("d", "Trial 0", [0.5, 0.4])]
    window.document.replace_runs(runs)
    assert shown.rowCount() == before  # nothing was worked out for the hidden tab
    window.tabs.setCurrentWidget(window.compare_page)
    qtbot.waitUntil(lambda: shown.rowCount() == before + 1)
    assert compare.count_label.text() == "4 runs"

    window.tabs.setCurrentWidget(window.search_page)
    window.document.replace_runs(runs[:1])
    window.tabs.setCurrentWidget(window.compare_page)
    assert compare.count_label.text() == "1 run"  # (it said "1 runs")
    window.tabs.setCurrentWidget(window.search_page)
    window.document.replace_runs([*runs, _run("e", "Trial 1", [0.6, 0.3])])
    assert [r["id"] for r in compare.table.run_model.runs()][-1] == "e"  # asked: up to date
