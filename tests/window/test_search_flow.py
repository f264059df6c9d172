"""Issue 12, the window side of search: "Search this setting…" → the space (one undo step),
a real 2-trial search in a worker process whose trials join the runs table and the
parallel-coordinates plot, and Stop mid-search leaving the window usable."""

from __future__ import annotations

import contextlib
import threading

import pytest
from PySide6.QtCore import QPoint, QTimer
from PySide6.QtWidgets import QApplication, QMenu, QMessageBox

from engine.worker import WorkerPool
from tests.search.support import SPACE, write_project


@pytest.fixture(scope="module")
def warm_pool():
    pool = WorkerPool(1, stop_grace=20)
    yield pool
    pool.close()


def _answer_menu_and_dialog(fill) -> list:
    """Trigger the context menu's "Search this setting…", then ``fill`` the dialog and
    press OK (both are modal: answered from a timer)."""
    seen = []

    def poll():
        popup = QApplication.activePopupWidget()
        if isinstance(popup, QMenu) and "menu" not in seen:
            seen.append("menu")
            (action,) = [a for a in popup.actions() if a.text() == "Search this setting…"]
            popup.close()
            QTimer.singleShot(0, action.trigger)  # not inside this timer's own slot
            return
        modal = QApplication.activeModalWidget()
        if modal is not None and modal.objectName() == "searchEntryDialog":
            seen.append("dialog")
            timer.stop()
            fill(modal)
            modal.accept()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(20)
    seen.append(timer)
    return seen


def test_search_this_setting_stores_one_undo_step(qtbot, make_window, tmp_path):
    window = make_window(write_project(tmp_path))
    window.select_layer(0)  # the first Dense (model.layers[1])
    label = window.property_editor.findChild(QWidget_type(), "label_units")
    assert label is not None

    def fill(dialog):
        dialog.low_edit.setText("4")
        dialog.high_edit.setText("32")
        dialog.log_check.setChecked(True)

    seen = _answer_menu_and_dialog(fill)
    label.customContextMenuRequested.emit(QPoint(2, 2))
    qtbot.waitUntil(lambda: "dialog" in seen, timeout=5000)
    space = window.document.project["search"]["space"]
    assert space == [
        {"path": "model.layers[1].config.units", "type": "int", "low": 4, "high": 32, "log": True}
    ]
    assert window.search_panel.space_list.list.count() == 1
    assert window.document.undo_stack.undoText() == "Search layers[1].units"
    window.document.undo_stack.undo()
    assert window.document.project["search"]["space"] == []
    assert window.search_panel.space_list.list.count() == 0

    # the training panel: batch size as a list of values
    seen = _answer_menu_and_dialog(
        lambda d: (d.values_radio.setChecked(True), d.values_edit.setText("32, 64"))
    )
    batch_label = next(
        lab
        for lab in window.training_panel.findChildren(QWidget_type())
        if lab.buddy() is window.training_panel.batch_size
    )
    batch_label.customContextMenuRequested.emit(QPoint(2, 2))
    qtbot.waitUntil(lambda: "dialog" in seen, timeout=5000)
    assert window.document.project["search"]["space"] == [
        {"path": "fit.batch_size", "type": "categorical", "choices": [32, 64]}
    ]


def QWidget_type():
    from PySide6.QtWidgets import QLabel

    return QLabel


def test_a_real_two_trial_search_fills_the_runs_table_and_the_plot(
    qtbot, make_window, tmp_path, warm_pool
):
    path = write_project(tmp_path, epochs=1, search={"space": SPACE[:3]})
    window = make_window(path)
    flow = window.search
    flow.pool = warm_pool
    panel = window.search_panel
    panel.trials_spin.setValue(2)
    panel.workers_spin.setValue(1)
    window.tabs.setCurrentWidget(window.search_page)
    statuses = []
    flow.job.event.connect(lambda *_: statuses.append(panel.status_label.text()))
    with qtbot.waitSignal(flow.job.finished, timeout=240_000):
        assert flow.start()
    trials = [run for run in window.document.project["runs"] if run.get("trial")]
    assert [run["name"] for run in trials] == ["Trial 0", "Trial 1"]
    table = window.runs_panel.table.run_model
    assert table.rowCount() == 2
    headers = table.columns()
    assert "layers[1].units" in headers and "batch_size" in headers
    assert panel.parallel.line_count() == 2
    assert any(s.startswith("Trial 1 of 2 (1 running)") for s in statuses), statuses
    assert panel.apply_button.isEnabled()
    assert flow.apply_best()
    best = flow.best_run()
    assert window.document.project["fit"]["batch_size"] == best["params"]["fit.batch_size"]
    assert window.document.undo_stack.undoText().startswith("Apply best trial")


def test_opening_another_project_while_searching_asks_and_stops_it(
    qtbot, make_window, tmp_path, monkeypatch
):
    path = write_project(tmp_path, epochs=1, search={"space": SPACE[:1]})
    window = make_window(path)
    entered = threading.Event()

    def fake(path, trials, workers, *, sink, stop, epochs, pool, pool_options):
        entered.set()
        stop.wait(30)

    window.search._run_search = fake
    assert window.search.start()
    qtbot.waitUntil(entered.is_set, timeout=5000)
    asked = []

    def answer(_parent, title, *_args, **_kwargs):
        asked.append(title)
        return (
            QMessageBox.StandardButton.Cancel if len(asked) == 1 else QMessageBox.StandardButton.Yes
        )

    monkeypatch.setattr(QMessageBox, "question", staticmethod(answer))
    assert not window.files.may_replace_project()  # Cancel: the search goes on
    assert window.search.is_running()
    assert window.files.may_replace_project()  # Yes: stopped and joined
    assert asked == ["A search is running"] * 2
    assert not window.search.is_running()


def test_stop_mid_search_leaves_the_window_usable(qtbot, make_window, tmp_path):
    """A fake run_search that waits for Stop: the window stays responsive and usable."""
    path = write_project(tmp_path, epochs=1, search={"space": SPACE[:1]})
    window = make_window(path)
    entered = threading.Event()

    def fake(path, trials, workers, *, sink, stop, epochs, pool, pool_options):
        from engine.worker_protocol import JobStarted

        sink("trial-0", JobStarted(pid=1))
        entered.set()
        stop.wait(30)
        return None

    window.search._run_search = fake
    assert window.search.start()
    qtbot.waitUntil(entered.is_set, timeout=5000)
    qtbot.waitUntil(lambda: "(1 running)" in window.search_panel.status_label.text())
    assert window.search_panel.stop_button.isEnabled()
    with qtbot.waitSignal(window.search.job.finished, timeout=10_000):
        window.search_panel.stop_button.click()
    assert not window.search.is_running()
    assert window.search_panel.start_button.isEnabled()
    window.document.insert_layer(0, "Dense")  # still editable
    assert window.document.layer_count() == 4
    with contextlib.suppress(Exception):
        window.document.undo_stack.undo()


def test_trials_join_the_runs_table_as_they_finish_without_reading_the_file(
    qtbot, make_window, tmp_path, monkeypatch
):
    """Each finished trial's run reaches the table from its TrialFinished event: reading the
    project file again after every trial held the GIL (a search of 100 trials kept the GUI
    thread waiting). A fake search that records nowhere proves the event is enough."""
    import app.model_jobs
    import app.project_guard
    from engine.search import SearchResult
    from engine.worker import adopt_runs
    from engine.worker_protocol import JobResult, JobStarted, TrialFinished

    path = write_project(tmp_path, epochs=1, search={"space": SPACE[:1]})
    window = make_window(path)
    window.search._merge_timer.setInterval(0)
    go_on, reads = threading.Event(), []
    for module, name in ((app.model_jobs, "DiskRuns"), (app.project_guard, "runs_on_disk")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda p, real=real: reads.append(p) or real(p))

    calls = []

    def fake(path, trials, workers, *, sink, stop, epochs, pool, pool_options):
        assert pool_options == {"nice": 10}  # the window's workers yield the CPU to it
        calls.append(1)
        if len(calls) > 1:
            return None  # (the second Start below: only that it starts matters)
        for number in range(2):
            sink(f"trial-{number}", JobStarted(pid=1))
            trial = _trial(number, "COMPLETE", 8, 0.5, 10)
            result = JobResult("completed", "Trained.", str(tmp_path), trial)
            (run,) = adopt_runs(path, [(result, {"name": trial["name"]})])  # as the search does
            finished = TrialFinished(number, "COMPLETE", (0.5,), run["params"], "", run["id"], run)
            sink(f"trial-{number}", finished)
        go_on.wait(30)
        return SearchResult("tiny", "sqlite://", [], trials=[1, 2], counts={"COMPLETE": 2})

    window.search._run_search = fake
    assert window.search.start()
    table = window.runs_panel.table.run_model
    qtbot.waitUntil(lambda: table.rowCount() == 2, timeout=10_000)
    assert [r["name"] for r in window.document.project["runs"]] == ["Trial 0", "Trial 1"]
    qtbot.wait(600)  # the file watcher settles (250 ms) and would have read the file
    assert reads == []  # not one read of the file while the search ran
    assert "changed on disk" not in window.statusBar().currentMessage()  # our own writes
    with qtbot.waitSignal(window.search.job.finished, timeout=10_000):
        go_on.set()
    assert table.rowCount() == 2  # the final merge from the file loses nothing
    assert len(reads) == 1
    # (not the last trial's own end, "Stopped: 2 epochs" when it was pruned)
    assert window.progress.label.text() == "Search finished: 2 trial(s)"
    # the runs are in the file already: the project is not "modified", and the next Start
    # does not ask to save (it asked after every search; an unexpected dialog fails here)
    assert window.document.undo_stack.isClean()
    with qtbot.waitSignal(window.search.job.finished, timeout=10_000):
        assert window.search.start()
    assert len(calls) == 2


def _trial(number, state, units, val_loss, count):
    return {
        "id": f"t{number}",
        "name": f"Trial {number}",
        "status": "completed",
        "epochs_completed": 1,
        "history": {"val_loss": [val_loss]},
        "best": {"val_loss": {"value": val_loss, "epoch": 0}},
        "params": {"model.layers[1].config.units": units, "model.layers[2]": units > 8},
        "trial": {"study": "tiny", "number": number, "state": state},
        "parameter_count": count,
    }


def test_two_objectives_show_a_pareto_front_and_layer_on_off_is_searchable(
    qtbot, make_window, tmp_path
):
    from engine.project import dumps_project
    from tests.search.support import tiny_project

    space = [SPACE[0], SPACE[3]]
    project = tiny_project(
        search={
            "space": space,
            "objective": [{"metric": "val_loss"}, {"metric": "parameter_count"}],
        }
    )
    project["runs"] = [
        _trial(0, "COMPLETE", 4, 0.9, 300),
        _trial(1, "COMPLETE", 16, 0.5, 1200),
        _trial(2, "COMPLETE", 12, 0.7, 1500),  # beaten by trial 1 on both
        _trial(3, "PRUNED", 8, 2.0, 600),
    ]
    path = tmp_path / "tiny.llproj"
    path.write_text(dumps_project(project))
    window = make_window(path)
    panel = window.search_panel
    window.search.refresh()
    assert panel.size_check.isChecked()
    assert panel.parallel.line_count() == 3  # completed trials only
    assert sorted(panel.pareto.front) == [0, 1]
    model = window.runs_panel.table.run_model
    names = [model.data(model.index(r, 0)) for r in range(model.rowCount())]
    assert "Trial 3 (pruned)" in names
    assert window.search.best_run()["name"] == "Trial 1"

    # the layer itself: "Search this setting…" on the property editor's title
    window.select_layer(1)  # the Dropout: model.layers[2], searched already → its entry
    seen = _answer_menu_and_dialog(lambda d: None)
    window.property_editor.title.customContextMenuRequested.emit(QPoint(2, 2))
    qtbot.waitUntil(lambda: "dialog" in seen, timeout=5000)
    assert window.document.project["search"]["space"] == space  # unchanged: already there
    window.select_layer(0)
    seen = _answer_menu_and_dialog(lambda d: None)
    window.property_editor.title.customContextMenuRequested.emit(QPoint(2, 2))
    qtbot.waitUntil(lambda: "dialog" in seen, timeout=5000)
    assert window.document.project["search"]["space"][-1] == {
        "path": "model.layers[1]",
        "type": "layer_on_off",
    }


def test_sampler_pruning_and_study_storage_are_chosen_in_the_tab(
    qtbot, make_window, tmp_path, monkeypatch
):
    """The window offers what the CLI and the project block do: Optuna's sampler, pruning,
    and a study storage URL that several machines can share (issue 12)."""
    from PySide6.QtWidgets import QMessageBox

    path = write_project(tmp_path, epochs=1, search={"space": SPACE[:1]})
    window = make_window(path)
    panel, undo = window.search_panel, window.document.undo_stack
    assert not panel.engine_section.isExpanded()  # the defaults: folded away
    assert panel.sampler_combo.currentData() == "tpe"
    assert panel.pruner_combo.currentData() == "median"
    assert panel.storage_edit.text() == ""

    panel.sampler_combo.setCurrentIndex(panel.sampler_combo.findData("random"))
    panel.sampler_combo.activated.emit(panel.sampler_combo.currentIndex())
    assert window.document.project["search"]["sampler"] == "random"
    assert undo.undoText() == "Change search settings"
    assert panel.engine_section.isExpanded()
    panel.pruner_combo.setCurrentIndex(panel.pruner_combo.findData("none"))
    panel.pruner_combo.activated.emit(panel.pruner_combo.currentIndex())
    assert window.document.project["search"]["pruner"] == "none"
    undo.undo()
    assert "pruner" not in window.document.project["search"]
    assert panel.pruner_combo.currentData() == "median"  # the tab follows the undo

    # two objectives: no pruning (Optuna cannot prune multi-objective studies)
    panel.size_check.setChecked(True)
    assert not panel.pruner_combo.isEnabled()
    panel.size_check.setChecked(False)
    assert panel.pruner_combo.isEnabled()

    panel.storage_edit.setText("not a database")
    panel.storage_edit.editingFinished.emit()
    assert window.document.project["search"]["storage"] == "not a database"
    window.files.save()
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: warnings.append(a[2])))
    with qtbot.waitSignal(window.search.job.finished, timeout=60_000):
        assert window.search.start()
    (message,) = warnings
    assert message.startswith("The study storage 'not a database' is not a database URL. Use ")
    panel.storage_edit.clear()
    panel.storage_edit.editingFinished.emit()
    assert "storage" not in window.document.project["search"]  # the default: beside the file


def test_an_earlier_search_shows_its_importances_and_counts_when_the_tab_opens(
    qtbot, make_window, tmp_path
):
    """A project searched in an earlier session: the Search tab read nothing of the study
    (an empty Importance view, no counts) until a new search ran here."""
    import json

    from tests.search.test_study_summary import make_study

    path = write_project(tmp_path, epochs=1, search={"space": SPACE[:3]})
    make_study(path, [0.9, 0.4, 0.7, None])
    data = json.loads(path.read_text())
    data["runs"] = [_trial(n, "COMPLETE", 4 + 4 * n, v, 100) for n, v in enumerate([0.9, 0.4])]
    path.write_text(json.dumps(data))
    window = make_window(path)
    panel = window.search_panel
    assert panel.importance.names == []  # nothing read while the tab is not shown
    window.search.show_tab()
    qtbot.waitUntil(lambda: bool(panel.importance.names), timeout=60_000)
    assert set(panel.importance.names) <= {"layers[1].units", "learning_rate", "batch_size"}
    assert panel.status_label.text() == (
        "Study: 3 completed, 1 pruned, 0 failed. Start resumes it."
    )
