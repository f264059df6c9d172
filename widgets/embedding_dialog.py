"""The "Load word vectors into Embedding" dialog: a vector file, a layer, and what matched.

``EmbeddingDialog(layers, matcher, ...)`` lets the user choose a GloVe-format file (``.txt``,
``.vec``, ``.gz``), the Embedding layer to fill, whether words are compared ignoring case and
whether the vectors keep training. Each time the file or the case setting changes it runs
``matcher(path, lowercase, cancelled, progress)`` on a worker thread (progress bar, Cancel
button) and shows the coverage it returns (``match.summary()``: "31,245 of 40,000 words found
(78.1 %), vector size 100; e.g. missing: …"). OK is enabled once a match succeeded; then
``choice()`` returns the settings and ``match`` the matcher's result (``dim``, ``matrix``).

The matcher comes from the app (it knows the dataset's vocabulary and imports the engine);
this widget imports no Keras. It raises for any problem (``str(error)`` is shown); when it
raises after ``cancelled()`` became true, the run counts as cancelled, not failed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThread, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

Matcher = Callable[[str, bool, Callable[[], bool], Callable[[str, Any], None]], Any]
FILE_FILTER = "Word vectors (*.txt *.gz *.vec);;All files (*)"


class _MatchThread(QThread):
    """Runs the matcher once; reports with signals (connected to the dialog's bound slots)."""

    progressed = Signal(object, object, object)  # generation, text, fraction
    matched = Signal(object, object)  # generation, match
    failed = Signal(object, object)  # generation, message
    cancelled = Signal(object)  # generation

    def __init__(self, matcher: Matcher, path: str, lowercase: bool, generation: int, parent):
        super().__init__(parent)
        self.matcher = matcher
        self.path = path
        self.lowercase = lowercase
        self.generation = generation
        self.stop = threading.Event()

    def run(self) -> None:
        generation = self.generation
        try:
            match = self.matcher(
                self.path,
                self.lowercase,
                self.stop.is_set,
                lambda text, fraction=None: self.progressed.emit(generation, text, fraction),
            )
        except Exception as error:  # the matcher's own message, or a cancel
            if self.stop.is_set():
                self.cancelled.emit(generation)
            else:
                self.failed.emit(generation, str(error) or type(error).__name__)
            return
        if self.stop.is_set():
            self.cancelled.emit(generation)
        else:
            self.matched.emit(generation, match)


class EmbeddingDialog(QDialog):
    """Choose word vectors for an Embedding layer; see the module docstring."""

    def __init__(
        self,
        layers: list[str],
        matcher: Matcher,
        *,
        parent: QWidget | None = None,
        layer: str | None = None,
        file: str = "",
        lowercase: bool = True,
        trainable: bool = False,
        vocabulary_note: str = "",
        start_dir: str = "",
    ):
        super().__init__(parent)
        self.setObjectName("embeddingDialog")
        self.setWindowTitle("Load Word Vectors into Embedding")
        self.setMinimumWidth(520)
        self.matcher = matcher
        self.start_dir = start_dir
        self.match: Any = None
        self._matched_for: tuple[str, bool] | None = None
        self._thread: _MatchThread | None = None
        self._generation = 0
        self._pending: tuple[str, bool] | None = None

        intro = QLabel(
            "Initialise an Embedding layer from pre-trained word vectors (GloVe's text "
            "format: a word and its numbers per line; .gz is fine). Words of the dataset's "
            "vocabulary that the file lacks start as zeros."
            + (f"<br>{vocabulary_note}" if vocabulary_note else ""),
            self,
        )
        intro.setWordWrap(True)

        self.file_edit = QLineEdit(file, self)
        self.file_edit.setObjectName("vectorFileEdit")
        self.file_edit.setPlaceholderText("glove.6B.100d.txt")
        self.file_edit.editingFinished.connect(self._start_match)
        self.browse_button = QPushButton("&Browse…", self)
        self.browse_button.setObjectName("browseVectorsButton")
        self.browse_button.clicked.connect(self.browse)
        file_row = QHBoxLayout()
        file_row.addWidget(self.file_edit, 1)
        file_row.addWidget(self.browse_button)

        self.layer_combo = QComboBox(self)
        self.layer_combo.setObjectName("embeddingLayerCombo")
        self.layer_combo.addItems(layers)
        if layer in layers:
            self.layer_combo.setCurrentText(layer)
        self.layer_combo.currentTextChanged.connect(self._update_note)

        self.lowercase_box = QCheckBox("Ignore &case when matching words (lowercase)", self)
        self.lowercase_box.setObjectName("lowercaseBox")
        self.lowercase_box.setChecked(lowercase)
        self.lowercase_box.toggled.connect(self._start_match)
        self.trainable_box = QCheckBox("Keep &training the vectors (trainable)", self)
        self.trainable_box.setObjectName("trainableBox")
        self.trainable_box.setChecked(trainable)
        self.trainable_box.setToolTip(
            "Off: the vectors stay as loaded (frozen), as in Keras's GloVe example. On: "
            "training adjusts them too."
        )

        form = QFormLayout()
        file_label = QLabel("Vector &file:", self)
        file_label.setBuddy(self.file_edit)
        form.addRow(file_label, file_row)
        layer_label = QLabel("&Layer:", self)
        layer_label.setBuddy(self.layer_combo)
        form.addRow(layer_label, self.layer_combo)
        form.addRow("", self.lowercase_box)
        form.addRow("", self.trainable_box)

        self.progress_bar = QProgressBar(self)
        self.progress_bar.setObjectName("vectorProgress")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setTextVisible(False)
        self.progress_bar.hide()
        self.cancel_match_button = QPushButton("Cancel &Reading", self)
        self.cancel_match_button.setObjectName("cancelMatchButton")
        self.cancel_match_button.clicked.connect(self.cancel_match)
        self.cancel_match_button.hide()
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress_bar, 1)
        progress_row.addWidget(self.cancel_match_button)

        self.result_label = QLabel("Choose a vector file.", self)
        self.result_label.setObjectName("coverageLabel")
        self.result_label.setWordWrap(True)
        self.note_label = QLabel(self)
        self.note_label.setObjectName("outputDimNote")
        self.note_label.setWordWrap(True)

        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.ok_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Load Vectors")
        self.ok_button.setEnabled(False)
        self.ok_button.setDefault(True)  # Enter loads once a match is shown
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addLayout(progress_row)
        layout.addWidget(self.result_label)
        layout.addWidget(self.note_label)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self._update_note()
        if file:
            self._start_match()

    # ------------------------------------------------------------------ choosing
    def browse(self) -> None:
        start = self.file_edit.text().strip() or self.start_dir
        path, _ = QFileDialog.getOpenFileName(self, "Word Vector File", start, FILE_FILTER)
        if path:
            self.set_file(path)

    def set_file(self, path: str) -> None:
        """Choose ``path`` and match it (what Browse does)."""
        self.file_edit.setText(path)
        self._start_match()

    def choice(self) -> dict:
        """{"layer", "file" (as chosen), "lowercase", "trainable"}."""
        return {
            "layer": self.layer_combo.currentText(),
            "file": self.file_edit.text().strip(),
            "lowercase": self.lowercase_box.isChecked(),
            "trainable": self.trainable_box.isChecked(),
        }

    def is_matching(self) -> bool:
        return self._thread is not None

    # ------------------------------------------------------------------ matching
    def _start_match(self, *_args) -> None:
        path = self.file_edit.text().strip()
        wanted = (path, self.lowercase_box.isChecked())
        if wanted == self._matched_for and self.match is not None:
            return
        self._stop_thread()
        self.match = None
        self._matched_for = None
        self.ok_button.setEnabled(False)
        self._update_note()
        if not path:
            self.result_label.setText("Choose a vector file.")
            return
        if not Path(path).is_file():
            self.result_label.setText(f"There is no file {path}. Choose the vector file again.")
            return
        self._generation += 1
        thread = _MatchThread(self.matcher, path, wanted[1], self._generation, self)
        thread.progressed.connect(self._on_progress)
        thread.matched.connect(self._on_matched)
        thread.failed.connect(self._on_failed)
        thread.cancelled.connect(self._on_cancelled)
        self._thread = thread
        self._pending = wanted
        self.result_label.setText(f"Reading {Path(path).name}…")
        self.progress_bar.setValue(0)
        self.progress_bar.show()
        self.cancel_match_button.show()
        thread.start()

    def cancel_match(self) -> None:
        if self._thread is not None:
            self._stop_thread()
            self.result_label.setText("Reading cancelled. Choose the file again to match it.")

    def _stop_thread(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.stop.set()
            thread.wait()
        self.progress_bar.hide()
        self.cancel_match_button.hide()

    def _finish(self, generation: int) -> bool:
        """Whether a report of ``generation`` is the running match's (then it has ended)."""
        if generation != self._generation or self._thread is None:
            return False
        self._thread.wait()
        self._thread = None
        self.progress_bar.hide()
        self.cancel_match_button.hide()
        return True

    def _on_progress(self, generation: int, text: str, fraction: Any) -> None:
        if generation != self._generation or self._thread is None:
            return
        self.result_label.setText(str(text))
        if fraction is None:
            self.progress_bar.setRange(0, 0)
        else:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(1000 * max(0.0, min(1.0, float(fraction)))))

    def _on_matched(self, generation: int, match: Any) -> None:
        if not self._finish(generation):
            return
        self.match = match
        self._matched_for = self._pending
        self.result_label.setText(match.summary() + ".")
        self.ok_button.setEnabled(getattr(match, "found", 1) > 0)
        if getattr(match, "found", 1) == 0:
            self.result_label.setText(
                match.summary() + ". No word matched: is this the right file, or should "
                "case be ignored?"
            )
        self._update_note()

    def _on_failed(self, generation: int, message: str) -> None:
        if self._finish(generation):
            self.result_label.setText(message)

    def _on_cancelled(self, generation: int) -> None:
        if self._finish(generation):
            self.result_label.setText("Reading cancelled.")

    def _update_note(self, *_args) -> None:
        layer = self.layer_combo.currentText() or "the Embedding layer"
        if self.match is not None:
            self.note_label.setText(
                f"Load Vectors sets output_dim of '{layer}' to the vector size "
                f"({self.match.dim}), and input_dim to the vocabulary size if it is smaller; "
                "the project records the file, so every run loads the same vectors."
            )
        else:
            self.note_label.setText(
                f"Load Vectors sets output_dim of '{layer}' to the vector size."
            )

    # ------------------------------------------------------------------ closing
    def done(self, result: int) -> None:
        if result == QDialog.DialogCode.Accepted and self.match is None:
            return  # Enter before the match finished: nothing to load yet
        self._stop_thread()
        super().done(result)
