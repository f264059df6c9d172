"""The dataset panel drives previews and the suggested head through the window."""

from __future__ import annotations

from PySide6.QtWidgets import QPushButton


def test_preview_sets_the_input_row_and_suggest_fixes_the_head(qtbot, window):
    document = window.document
    document.set_input_shape(None)
    # Without a preview, the dataset's metadata already gives the input (issue 9, defect 2).
    assert window.stack_model.rows()[0].title == "Input (64,)"
    assert "4,810" in window.stack_view.totalsLabel.text()
    failures = []
    window.dataset_controller.failed.connect(failures.append)
    preview = window.dataset_panel.findChild(QPushButton, "loadPreviewButton")
    with qtbot.waitSignal(window.dataset_controller.loaded, timeout=60_000):
        preview.click()
    assert not failures
    assert document.input_shape() == (64,)
    assert window.stack_model.rows()[0].title == "Input (64,)"
    assert "4,810" in window.stack_view.totalsLabel.text()

    document.set_param(document.layer_count() - 1, "units", 3)
    document.set_training(
        {**document.project["compile"], "loss": "mean_squared_error"}, document.project["fit"]
    )
    steps = document.undo_stack.count()

    suggest = window.dataset_panel.findChild(QPushButton, "suggestHeadButton")
    suggest.click()
    qtbot.waitUntil(lambda: document.undo_stack.count() == steps + 1, timeout=60_000)
    last = document.layer_entry(document.layer_count() - 1)
    assert last["class_name"] == "Dense"
    assert last["config"]["units"] == 10
    assert last["config"]["activation"] == "softmax"
    assert document.project["compile"]["loss"] == "sparse_categorical_crossentropy"
    assert document.spec_input_shape() == (64,)
    assert "4,810" in window.stack_view.totalsLabel.text()

    document.undo_stack.undo()
    assert document.layer_entry(document.layer_count() - 1)["config"]["units"] == 3
    assert document.project["compile"]["loss"] == "mean_squared_error"
