"""Model › Load Word Vectors into Embedding…: enabled state, and one undo step for
output_dim + the project's "embeddings" entry (undo restores both)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog

from widgets.embedding_dialog import EmbeddingDialog

TEXTS = {
    "pos": ["a great film", "great acting and a fine story", "loved it, great"],
    "neg": ["a dull film", "bad acting and a dull story", "boring and bad"],
}


def _text_folder(root: Path) -> Path:
    for label, texts in TEXTS.items():
        (root / label).mkdir(parents=True)
        for number, text in enumerate(texts):
            (root / label / f"{number}.txt").write_text(text)
    return root


def _embedding_config(document) -> dict:
    return next(e["config"] for e in document.body() if e["class_name"] == "Embedding")


def test_menu_item_sets_output_dim_and_entry_in_one_undo_step(qtbot, window, tmp_path, monkeypatch):
    document = window.document
    flow = window.embedding_flow
    action = window.findChild(type(flow.action), "wordVectorsAction")
    assert action is flow.action
    menu = next(m for m in window.menuBar().actions() if m.text() == "&Model").menu()
    assert action in menu.actions() and menu.toolTipsVisible()
    # The demo (digits, no Embedding): disabled, and the tooltip says why.
    assert not action.isEnabled()
    assert "Add an Embedding layer" in action.toolTip()
    assert document.insert_layer(0, "Embedding")
    assert not action.isEnabled()
    assert "no word vocabulary" in action.toolTip()
    folder = _text_folder(tmp_path / "reviews")
    block = {"source": "text_folder", "path": str(folder), "output_mode": "int"}
    document.set_dataset({**block, "output_mode": "multi_hot"})
    assert "output mode to int" in action.toolTip()
    document.set_dataset(block)
    assert action.isEnabled(), action.toolTip()

    vectors = tmp_path / "vectors" / "glove.txt"
    vectors.parent.mkdir()
    vectors.write_text("great 1 2 3 4 5 6 7\nFilm 2 2 2 2 2 2 2\nunrelated 0 0 0 0 0 0 0\n")
    name = _embedding_config(document)["name"]
    before = _embedding_config(document)
    assert before["output_dim"] != 7
    steps = document.undo_stack.count()
    seen = {}

    def run_dialog(dialog):
        """What a user does: choose the file, read the coverage, press Load Vectors."""
        dialog.set_file(str(vectors))
        qtbot.waitUntil(lambda: dialog.match is not None, timeout=60_000)
        seen["coverage"] = dialog.result_label.text()
        dialog.trainable_box.setChecked(True)
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(EmbeddingDialog, "exec", run_dialog)
    action.trigger()  # the real matcher loads the text folder off the GUI thread

    assert seen["coverage"].startswith("2 of ") and "vector size 7" in seen["coverage"]
    after = _embedding_config(document)
    assert after["output_dim"] == 7
    words = {w.strip(",") for texts in TEXTS.values() for text in texts for w in text.split()}
    assert after["input_dim"] >= len(words) + 2  # padding and [UNK] too
    assert document.project["embeddings"] == [
        {"layer": name, "file": str(vectors), "lowercase": True, "trainable": True}
    ]
    assert document.undo_stack.count() == steps + 1
    assert document.undo_stack.undoText() == f"Load word vectors into '{name}'"

    document.undo_stack.undo()
    assert _embedding_config(document)["output_dim"] == before["output_dim"]
    assert _embedding_config(document)["input_dim"] == before["input_dim"]
    assert not document.project.get("embeddings")
    document.undo_stack.redo()
    assert _embedding_config(document)["output_dim"] == 7
    assert document.project["embeddings"][0]["layer"] == name


def test_entry_is_relative_for_a_saved_project(qtbot, window, tmp_path):
    from types import SimpleNamespace

    import numpy as np

    document = window.document
    assert document.insert_layer(0, "Embedding")
    document.set_dataset(
        {"source": "text_folder", "path": str(_text_folder(tmp_path / "t")), "output_mode": "int"}
    )
    document.set_path(tmp_path / "work" / "p.llproj")
    name = _embedding_config(document)["name"]
    match = SimpleNamespace(dim=3, found=1, matrix=np.zeros((9, 3)), summary=lambda: "1 of 8")
    choice = {
        "layer": name,
        "file": str(tmp_path / "data" / "v.txt"),
        "lowercase": False,
        "trainable": False,
    }
    assert window.embedding_flow.apply(choice, match)
    assert document.project["embeddings"][0]["file"] == "../data/v.txt"
    assert _embedding_config(document)["output_dim"] == 3
    assert QDialog  # the dialog module stays importable without Keras in widgets
