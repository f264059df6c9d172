"""A text folder's learned vocabulary goes into the project's dataset block from a preview or
a run, without an undo step; editing the dataset settings drops it, undo brings it back."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QPushButton

TEXTS = {
    "pos": ["a great film", "great acting and a fine story", "loved it, great"],
    "neg": ["a dull film", "bad acting and a dull story", "boring and bad"],
}


def _text_folder(root: Path) -> Path:
    for label, texts in TEXTS.items():
        (root / "train" / label).mkdir(parents=True)
        for number, text in enumerate(texts):
            (root / "train" / label / f"{number}.txt").write_text(text)
    return root


def test_preview_and_run_store_the_vocabulary_edits_drop_it(qtbot, window, tmp_path):
    document = window.document
    block = {
        "source": "text_folder",
        "path": str(_text_folder(tmp_path / "reviews")),
        "output_mode": "multi_hot",
        "max_tokens": 50,
        "test_split": 0.0,
    }
    window.dataset_panel.blockEdited.emit(dict(block))
    assert document.project["dataset"] == block
    document.undo_stack.setClean()
    steps = document.undo_stack.count()

    preview = window.dataset_panel.findChild(QPushButton, "loadPreviewButton")
    with qtbot.waitSignal(window.dataset_controller.loaded, timeout=60_000) as loaded:
        preview.click()
    vocabulary = loaded.args[0].vocabulary
    assert "great" in vocabulary and "dull" in vocabulary
    assert document.project["dataset"] == {**block, "vocabulary": vocabulary}
    # Neither the loaded input shape nor the vocabulary is an undo step: both are derived.
    assert document.undo_stack.count() == steps
    assert document.input_shape() == tuple(loaded.args[0].input_shape)

    # The panel re-emitting the same settings (it never shows the vocabulary) keeps it ...
    window.dataset_panel.blockEdited.emit(dict(block))
    assert document.undo_stack.count() == steps
    assert document.project["dataset"]["vocabulary"] == vocabulary
    # ... a changed setting drops it (it was learned from the old settings); undo restores it.
    window.dataset_panel.blockEdited.emit({**block, "max_tokens": 60})
    assert document.project["dataset"] == {**block, "max_tokens": 60}
    document.undo_stack.undo()
    assert document.project["dataset"] == {**block, "vocabulary": vocabulary}
    document.undo_stack.redo()

    # A run learns it again from the new settings: into the block and the run's snapshot.
    project = document.project
    document.set_training(project["compile"], {**project["fit"], "epochs": 1, "callbacks": []})
    with qtbot.waitSignal(window.controller.finished, timeout=120_000) as finished:
        window.train_button().click()
    result = finished.args[0]
    assert result.status == "completed", result.message
    expected = {**block, "max_tokens": 60, "vocabulary": vocabulary}
    assert document.project["dataset"] == expected
    qtbot.waitUntil(lambda: len(document.project["runs"]) == 1, timeout=30_000)
    assert document.project["runs"][0]["snapshot"]["dataset"] == expected
