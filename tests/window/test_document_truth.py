"""Issue 9: the window shows the open document's numbers, never another project's.

Each test reproduces a defect seen with the real window: stale input shapes and parameter
counts after Open/New/dataset change, views keeping the previous project's state, layer
names counting across documents, functional model files breaking the window, and a refused
project being saved over.
"""

from __future__ import annotations

import json
import re

import numpy as np
from PySide6.QtWidgets import QFileDialog, QMessageBox

from engine.events import BatchesEnd, EpochEnd, LogLine, TrainBegin, TrainEnd
from engine.project import new_project, save_project


def _dense_model(*units: int) -> dict:
    layers = [
        {"module": "keras.layers", "class_name": "Dense", "config": {"name": f"d{i}", "units": u}}
        for i, u in enumerate(units)
    ]
    return {"name": "sequential", "layers": layers}


def _project(tmp_path, name: str, dataset: dict, *units: int):
    project = new_project()
    project["dataset"] = dataset
    project["compile"]["loss"] = "mean_squared_error"
    project["compile"]["metrics"] = ["mae"]
    import keras

    from engine import spec

    model = keras.Sequential([keras.layers.Dense(u) for u in units])
    project["model"] = spec.spec_from_model(model)
    path = tmp_path / f"{name}.llproj"
    save_project(project, path)
    return path


def _total(window) -> int:
    text = window.stack_view.totalsLabel.text()
    return int(re.search(r"([\d,]+)", text).group(1).replace(",", ""))


def _expected_total(window) -> int:
    from engine.datasets.probe import input_signature
    from engine.spec import analyse

    document = window.document
    probe = input_signature(document.project["dataset"])
    analysis = analyse(document.project["model"], input_shape=probe.input_shape)
    return analysis.total_params


def test_open_npz_then_csv_project_shows_the_new_input_and_counts(make_window, tmp_path):
    """Defect 2: Open on an 8-feature npz, then a 30-feature CSV: Input (30,), 15,872 params."""
    rng = np.random.default_rng(0)
    npz = tmp_path / "eight.npz"
    np.savez(npz, x_train=rng.random((40, 8)), y_train=rng.random(40))
    csv = tmp_path / "thirty.csv"
    columns = [f"f{i}" for i in range(30)] + ["y"]
    rows = [",".join(columns)] + [",".join(f"{v:.3f}" for v in rng.random(31)) for _ in range(20)]
    csv.write_text("\n".join(rows) + "\n")
    first = _project(tmp_path, "npz", {"source": "npz", "path": str(npz)}, 512, 1)
    second = _project(tmp_path, "csv", {"source": "csv", "path": str(csv), "target": "y"}, 512, 1)

    window = make_window(first)
    assert window.stack_model.rows()[0].title == "Input (8,)"
    assert _total(window) == 8 * 512 + 512 + 513 == 5_121
    window.open_path(second, ask=False)
    assert window.stack_model.rows()[0].title == "Input (30,)"
    assert _total(window) == 30 * 512 + 512 + 513 == 16_385 == _expected_total(window)


def test_new_project_and_dataset_switch_follow_the_dataset_at_once(window):
    """Defect 2: File › New shows the new project's dataset input (digits: 64), and switching
    digits → iris updates Input and the counts without a preview."""
    document = window.document
    document.set_dataset({"source": "sample", "name": "iris"})
    assert window.stack_model.rows()[0].title == "Input (4,)"
    assert _total(window) == _expected_total(window)
    document.undo_stack.undo()
    assert window.stack_model.rows()[0].title == "Input (64,)"
    document.undo_stack.redo()
    document.set_dataset({"source": "sample", "name": "breast_cancer"})
    document.undo_stack.setClean()
    window.new_project()
    assert window.stack_model.rows()[0].title == "Input (64,)"
    document.insert_layer(0, "Dense")
    assert _total(window) == _expected_total(window) == 64 * 32 + 32


def test_new_project_resets_every_view_and_names(qtbot, window, monkeypatch):
    """Defect 3: New keeps nothing of the old project: curves, progress, log, preview,
    evaluation, the last run's export, the Save As name, and layer names start afresh."""
    for _ in range(9):
        window.document.insert_layer(0, "Dense")
    assert "dense_8" in {e["config"]["name"] for e in window.document.body()}
    events = [
        TrainBegin(epochs=9, steps_per_epoch=3, batch_size=8, samples=24, device="CPU"),
        BatchesEnd(
            epoch=0,
            first_step=0,
            losses=(1.0, 0.9, 0.8),
            logs={"loss": 0.9},
            samples_per_second=100.0,
        ),
        EpochEnd(epoch=0, logs={"loss": 0.9, "accuracy": 0.5}, seconds=0.1),
        LogLine("a line of the old project"),
        TrainEnd(status="stopped", message="Stopped: 9 epochs", epochs_completed=1, seconds=1.0),
    ]
    for event in events:
        window.curves.on_event(event)
        window.progress.on_event(event)
        window.log_view.on_event(event)
    window.curves.flush()
    window.dataset_panel.show_dataset(
        {
            "task": "multiclass",
            "input_shape": (64,),
            "num_classes": 10,
            "train_size": 10,
            "val_size": 0,
            "test_size": 0,
            "samples": [],
        }
    )
    window.runs_panel.evaluation.show_message("Evaluation of the old run")
    window.export_action.setEnabled(True)
    assert window.log_view.lines() and window.curves.epoch_history()

    window.document.undo_stack.setClean()
    window.new_project()

    assert window.log_view.lines() == []
    assert not any(window.curves.epoch_history().values())
    assert window.curves.batch_series()[0].size == 0
    assert "9 epochs" not in " ".join(
        label.text() for label in window.progress.findChildren(type(window.device_label))
    )
    assert not window.dataset_panel.summary.isVisible()
    assert not window.export_action.isEnabled()
    asked = {}

    def dialog(parent, caption, suggested, *args, **kwargs):
        asked["suggested"] = suggested
        return "", ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(dialog))
    window.files.save_as()
    assert asked["suggested"].endswith("untitled.llproj")
    window.document.insert_layer(0, "Dense")
    assert window.document.layer_entry(0)["config"]["name"] == "dense"


# A branched functional model now opens read-only (issue 11): see
# tests/window/test_functional_model.py.


def test_hdf5_suffix_opens_in_the_window(qtbot, window, tmp_path):
    """Defect 10: ``.hdf5`` model files open like ``.h5`` (the CLI took them already)."""
    import keras

    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(2, name="out")])
    path = tmp_path / "old_model.hdf5"
    model.save(str(path).replace(".hdf5", ".h5"))
    (tmp_path / "old_model.h5").rename(path)
    window.open_path(path, ask=False)
    qtbot.waitUntil(
        lambda: window.files.display_name().startswith("old_model.hdf5"), timeout=60_000
    )
    assert [e["class_name"] for e in window.document.body()] == ["Dense"]


def test_a_refused_newer_project_is_never_saved_over(qtbot, make_window, tmp_path, monkeypatch):
    """Issue 10: starting on a project with a newer version warns, and Ctrl+S cannot rewrite
    it as version 1 (the preview shown while Keras loads is not attached to the file)."""
    path = tmp_path / "future.llproj"
    project = new_project()
    project["version"] = 99
    project["from_the_future"] = {"keep": True}
    path.write_text(json.dumps(project))
    original = path.read_bytes()
    warnings = []
    monkeypatch.setattr(QMessageBox, "warning", staticmethod(lambda *a, **k: warnings.append(a[2])))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: ("", "")))
    window = make_window(path)
    qtbot.waitUntil(lambda: bool(warnings), timeout=30_000)
    assert window.document.path is None
    window.document.insert_layer(0, "Dense")
    assert not window.save()  # asks for a new name (cancelled): never the refused file
    assert path.read_bytes() == original


def test_stale_preview_result_does_not_set_the_input(qtbot, window):
    """A preview that finishes after the user changed the dataset must not set the input."""
    document = window.document
    window.dataset_flow.preview()
    document.set_dataset({"source": "sample", "name": "iris"})
    qtbot.wait(200)
    qtbot.waitUntil(lambda: not window.dataset_controller.is_busy(), timeout=60_000)
    qtbot.wait(100)
    assert document.input_shape() == (4,)
    assert window.stack_model.rows()[0].title == "Input (4,)"


def test_a_run_that_never_trained_a_batch_is_logged_not_recorded(qtbot, window):
    """Defect 9: a run failing before its first batch (data missing offline) is not a run:
    the log says why; the project is neither given a run nor marked modified; Export stays
    off for a failed run."""
    from engine.training import RunResult

    window.document.undo_stack.setClean()
    window.training._run_generation = window.document.generation
    failed = RunResult(
        status="failed",
        message="The dataset mnist is not on this machine.",
        epochs_completed=0,
        seconds=0.1,
        started_at="2026-12-01T00:00:00",
        model=object(),
    )
    monkeypatched = []
    window.training._show_failure = monkeypatched.append
    window.controller.finished.emit(failed)
    qtbot.wait(50)
    assert window.document.project["runs"] == []
    assert not window.isWindowModified()
    assert not window.export_action.isEnabled()
    assert "not recorded" in window.log_view.lines()[-1]
    assert monkeypatched == ["The dataset mnist is not on this machine."]


def test_train_is_disabled_while_the_recovery_question_is_asked(qtbot, make_window, monkeypatch):
    """Defect 9: Train looked enabled behind the recovery dialog while Keras was loading."""
    states = []

    def question(parent, *args, **kwargs):
        states.append(parent.train_button().isEnabled())
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    monkeypatch.setattr("app.recovery.RecoveryStore.exists", lambda self: True, raising=False)
    make_window()
    assert states == [False]


def test_second_window_on_an_open_project_asks_and_opens_read_only(
    qtbot, make_window, tmp_path, monkeypatch
):
    """Issue 10: two instances, one project: the second is told and may open read-only;
    its Save then goes to Save As instead of silently dropping the first one's changes."""
    path = tmp_path / "shared.llproj"
    save_project(new_project(), path)
    first = make_window(path)
    assert first.document.path == path
    asked = []

    def question(parent, title, text, *args, **kwargs):
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    second = make_window(path)
    assert asked and "shared.llproj" in asked[0]
    second.document.insert_layer(0, "Dense")
    dialogs = []
    monkeypatch.setattr(
        QFileDialog,
        "getSaveFileName",
        staticmethod(lambda *a, **k: dialogs.append(a) or ("", "")),
    )
    assert not second.save()
    assert dialogs, "Save on a read-only project must ask for another file"


def test_a_run_recorded_on_disk_is_merged_not_wiped_by_the_next_save(qtbot, make_window, tmp_path):
    """Issue 10: a CLI `train` recording a run into the open project is kept."""
    path = tmp_path / "p.llproj"
    save_project(new_project(), path)
    window = make_window(path)
    on_disk = json.loads(path.read_text())
    on_disk["runs"] = [
        {"id": "cli-run-1", "name": "Run 1", "status": "completed", "history": {"loss": [1.0]}}
    ]
    from engine.project import load_project

    path.write_text(json.dumps(on_disk))  # as another process's save would
    qtbot.waitUntil(
        lambda: [run.get("id") for run in window.document.project["runs"]] == ["cli-run-1"],
        timeout=10_000,
    )
    window.document.insert_layer(0, "Dense")
    assert window.save()
    assert [run["id"] for run in load_project(path)["runs"]] == ["cli-run-1"]


def test_first_window_fits_the_screen(make_window):
    """Seen on a 1024×700 screen: the window opened at 1280×800, docks off-screen."""
    window = make_window()
    room = window.screen().availableGeometry()  # offscreen: 800×800
    smallest = window.minimumSizeHint()
    assert window.width() <= max(room.width(), smallest.width()) < 1280
    assert window.height() <= max(room.height(), smallest.height()) < 800 + 1


def test_a_dataset_whose_shape_is_unknown_never_shows_the_old_shape(window):
    """Seen under Xvfb: switching to an image folder without a path kept Input (64,)."""
    document = window.document
    assert window.stack_model.rows()[0].title == "Input (64,)"
    document.set_dataset({"source": "image_folder"})
    assert document.input_shape() is None
    assert window.stack_model.rows()[0].title == "Input · shape comes from the dataset"
    document.undo_stack.undo()
    assert window.stack_model.rows()[0].title == "Input (64,)"


def test_runs_panel_compare_combo_is_readable_at_1280x800(qtbot, window):
    """Issue 9, defect 7: "Compare with: the previ" was cut at 1280×800."""
    runs = [
        {
            "id": f"r{i}",
            "name": f"Run {i} with dropout 0.{i}",
            "status": "completed",
            "history": {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]},
        }
        for i in range(1, 4)
    ]
    window.document.replace_runs(runs)
    window.resize(1280, 800)
    window.layout_builder.default_dock_sizes()
    window.docks["runsDock"].raise_()
    qtbot.wait(100)
    combo = window.runs_panel.base_combo
    text_width = combo.fontMetrics().horizontalAdvance(combo.currentText())
    assert combo.currentText() == "the previous run"
    # The layout may never squeeze it below its text (plus the arrow).
    assert combo.minimumSizeHint().width() >= text_width + 20
    assert combo.width() >= text_width + 20


def test_the_finished_run_is_not_drawn_twice_over_its_live_curves(qtbot, window):
    """Seen under Xvfb: after a run, "Run 1" was overlaid on the same live curves."""
    document = window.document
    document.set_training(
        document.project["compile"], {**document.project["fit"], "epochs": 1, "callbacks": []}
    )
    window.train()
    qtbot.waitUntil(lambda: len(document.project["runs"]) == 1, timeout=120_000)
    qtbot.wait(50)
    run_id = document.project["runs"][0]["id"]
    assert window.runs_panel.table.selected_run_ids() == [run_id]
    assert window.curves.overlay_keys() == []
    window.train()  # the next run's live curves replace it: now it may be overlaid
    qtbot.waitUntil(lambda: len(document.project["runs"]) == 2, timeout=120_000)
    window.runs_panel.table.select_runs([run_id])
    qtbot.wait(50)
    assert window.curves.overlay_keys() == [run_id]
