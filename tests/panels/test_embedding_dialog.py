"""The word-vector dialog with a fake matcher: coverage shown, progress, cancel, errors."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog

from widgets.embedding_dialog import EmbeddingDialog


def fake_match(found=3, total=4, dim=5):
    return SimpleNamespace(
        dim=dim,
        found=found,
        matrix=np.zeros((total + 1, dim), "float32"),
        summary=lambda: (
            f"{found} of {total} words found ({100 * found / total:.1f} %), "
            f"vector size {dim}; e.g. missing: zyzzyva"
        ),
    )


class Recorder:
    """A matcher that records its calls (and the thread they ran on)."""

    def __init__(self, result=None, error=None, gate=None):
        self.calls = []
        self.result = result or fake_match()
        self.error = error
        self.gate = gate

    def __call__(self, path, lowercase, cancelled, progress):
        self.calls.append((path, lowercase, threading.current_thread()))
        progress("Reading vectors.txt: 4,096 lines", 0.5)
        if self.gate is not None:
            while not cancelled():
                self.gate.wait(0.01)
            raise RuntimeError("cancelled")
        if self.error:
            raise self.error
        return self.result


def vector_file(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_text("the 1 2 3 4 5\n")
    return str(path)


def test_match_runs_off_the_gui_thread_and_shows_coverage(qtbot, tmp_path):
    matcher = Recorder()
    dialog = EmbeddingDialog(["embedding", "embedding_1"], matcher, layer="embedding_1")
    qtbot.addWidget(dialog)
    dialog.show()
    assert not dialog.ok_button.isEnabled()
    dialog.set_file(vector_file(tmp_path))
    qtbot.waitUntil(lambda: dialog.match is not None, timeout=5000)
    path, lowercase, thread = matcher.calls[0]
    assert thread is not threading.main_thread() and lowercase is True
    assert dialog.result_label.text() == (
        "3 of 4 words found (75.0 %), vector size 5; e.g. missing: zyzzyva."
    )
    assert "output_dim of 'embedding_1' to the vector size (5)" in dialog.note_label.text()
    assert dialog.ok_button.isEnabled()
    dialog.trainable_box.setChecked(True)
    assert dialog.choice() == {
        "layer": "embedding_1",
        "file": path,
        "lowercase": True,
        "trainable": True,
    }
    # Changing the case setting matches again.
    dialog.lowercase_box.setChecked(False)
    qtbot.waitUntil(lambda: len(matcher.calls) == 2 and dialog.match is not None, timeout=5000)
    assert matcher.calls[1][1] is False
    dialog.file_edit.setFocus()
    qtbot.keyClick(dialog.file_edit, Qt.Key.Key_Return)
    assert dialog.result() == QDialog.DialogCode.Accepted


def test_errors_are_shown_and_ok_stays_off(qtbot, tmp_path):
    message = "The word-vector file x.txt: line 2 has 'x' where a number should be."
    dialog = EmbeddingDialog(["embedding"], Recorder(error=ValueError(message)))
    qtbot.addWidget(dialog)
    dialog.set_file(vector_file(tmp_path))
    qtbot.waitUntil(lambda: dialog.result_label.text() == message, timeout=5000)
    assert not dialog.ok_button.isEnabled() and not dialog.is_matching()
    dialog.set_file(str(tmp_path / "gone.txt"))
    assert "There is no file" in dialog.result_label.text()
    # Accepting without a match does nothing (Enter while the file is still being read).
    dialog.show()
    dialog.accept()
    assert dialog.isVisible() and dialog.result() != QDialog.DialogCode.Accepted


def test_no_word_found_keeps_ok_off(qtbot, tmp_path):
    dialog = EmbeddingDialog(["embedding"], Recorder(result=fake_match(found=0)))
    qtbot.addWidget(dialog)
    dialog.set_file(vector_file(tmp_path))
    qtbot.waitUntil(lambda: dialog.match is not None, timeout=5000)
    assert "No word matched" in dialog.result_label.text()
    assert not dialog.ok_button.isEnabled()


def test_cancel_stops_the_match_and_reject_waits(qtbot, tmp_path):
    gate = threading.Event()
    matcher = Recorder(gate=gate)
    dialog = EmbeddingDialog(["embedding"], matcher)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.set_file(vector_file(tmp_path))
    assert dialog.is_matching() and dialog.cancel_match_button.isVisible()
    qtbot.waitUntil(lambda: "4,096 lines" in dialog.result_label.text(), timeout=5000)
    assert dialog.progress_bar.value() == 500
    qtbot.mouseClick(dialog.cancel_match_button, Qt.MouseButton.LeftButton)
    assert not dialog.is_matching() and "cancelled" in dialog.result_label.text()
    assert dialog.match is None and not dialog.ok_button.isEnabled()
    # A match still running when the dialog closes is stopped first (no thread left).
    dialog.lowercase_box.setChecked(False)
    assert dialog.is_matching()
    dialog.reject()
    assert not dialog.is_matching()


def test_keyboard_labels_have_buddies(qtbot):
    dialog = EmbeddingDialog(["embedding"], Recorder())
    qtbot.addWidget(dialog)
    from PySide6.QtWidgets import QLabel

    buddies = {label.text(): label.buddy() for label in dialog.findChildren(QLabel)}
    assert buddies["Vector &file:"] is dialog.file_edit
    assert buddies["&Layer:"] is dialog.layer_combo
    assert "&" in dialog.lowercase_box.text() and "&" in dialog.trainable_box.text()
