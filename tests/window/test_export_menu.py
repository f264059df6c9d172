"""File › Export Trained Model after reopening a project: it was greyed out (only the model
trained in this session counted) while the Runs panel could export the same run."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog

from engine import runs, training
from engine.modelfile import load_model_file
from engine.project import demo_project, save_project


def test_export_trained_model_uses_a_recorded_run_after_reopening(
    qtbot, make_window, tmp_path, monkeypatch
):
    path = tmp_path / "trained.llproj"
    project = demo_project()
    project["fit"].update(epochs=1, seed=1)
    result = training.run(project, workdir=tmp_path)
    assert result.status == "completed", result.message
    project, run = runs.record_run(project, result, path)
    save_project(project, path)

    window = make_window(path)
    assert window.export_action.isEnabled()
    target = tmp_path / "exported.h5"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), ""))
    )
    window.export_action.trigger()
    qtbot.waitUntil(target.exists, timeout=60_000)
    assert window.runs_panel.table.selected_run_ids() == [run["id"]]
    assert load_model_file(target).model.count_params() == result.model.count_params()

    window.document.replace_runs([])  # no trained run left: nothing to export
    assert not window.export_action.isEnabled()


def test_edit_a_copy_shows_the_builder_and_says_what_it_did(qtbot, make_window, tmp_path):
    """Found under Xvfb: "Edit a copy" changed the editor with no message or tab change."""
    window = make_window()
    window.tabs.setCurrentWidget(window.compare_page)
    run = {
        "id": "r",
        "name": "Run 7",
        "snapshot": {"fit": {**window.document.project["fit"], "epochs": 3}},
    }
    assert window.training.restore_run(run)
    assert window.tabs.currentWidget() is window.builder_splitter
    assert window.statusBar().currentMessage().startswith("The editor now holds Run 7's model")
    assert window.document.project["fit"]["epochs"] == 3
    assert window.document.undo_stack.undoText() == "Restore Run 7"


def test_a_model_whose_input_the_dataset_replaces_shows_both_shapes(make_window, tmp_path):
    """Found under Xvfb: an opened LSTM file over (1, 56), whose dataset could not be
    guessed, showed "Input (64,)" (the sample digits) as if that were the model's input."""
    import keras

    model = keras.Sequential(
        [keras.Input((1, 56)), keras.layers.LSTM(4), keras.layers.Dense(10, activation="softmax")]
    )
    project = demo_project()
    project["model"] = model.get_config()
    path = tmp_path / "lstm.llproj"
    save_project(project, path)
    window = make_window(path)
    assert window.stack_model.rows()[0].title == "Input (64,) ≠ (1, 56)"
    assert "replaced by it when training" in window.stack_model.rows()[0].tooltip
