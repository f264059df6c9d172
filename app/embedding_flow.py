"""Model › Load Word Vectors into Embedding…: pre-trained vectors for an Embedding layer.

``EmbeddingFlow(window)`` owns the menu action. It is enabled when Keras is loaded, the model
has an Embedding layer and the dataset gives a word vocabulary (IMDB or Reuters as sequences,
a text folder with int output); otherwise it is disabled with a tooltip that says why.

It opens ``widgets.embedding_dialog.EmbeddingDialog`` with a matcher that, on the dialog's
worker thread, gets the vocabulary (the loaded dataset's, a text folder's stored one, or by
loading the dataset) and runs ``engine.embeddings.read_vectors``. OK sets the layer's
``output_dim`` to the vector size (and ``input_dim`` to the vocabulary size when smaller) and
the project's ``"embeddings"`` entry for that layer, as ONE undo step through
``ProjectDocument.edit``. The file is recorded relative to the project's folder when it lies
inside or beside it (``engine.embeddings.stored_vector_path``); training loads it
(``engine.embeddings.apply_embeddings``).
"""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDialog

from engine.embeddings import embedding_entries, stored_vector_path, vector_path
from engine.errors import LayerLabError

VECTOR_DATASETS = "IMDB, Reuters or a text folder"


def vocabulary_problem(block: Any) -> str | None:
    """Why the dataset block gives no word vocabulary for an Embedding layer (None: it does)."""
    from engine.datasets.options import resolve_block

    if not isinstance(block, dict):
        return "Choose a dataset first."
    try:
        resolved = resolve_block(block)
    except LayerLabError:
        resolved = block
    source = resolved.get("source")
    if source == "keras" and resolved.get("name") in ("imdb", "reuters"):
        if resolved.get("encoding", "multi_hot") == "multi_hot":
            return (
                "Set the dataset's encoding to sequences: an Embedding layer reads word "
                "indices, not multi-hot vectors."
            )
        return None
    if source == "text_folder":
        if resolved.get("output_mode", "multi_hot") != "int":
            return (
                "Set the text folder's output mode to int: an Embedding layer reads word indices."
            )
        if not resolved.get("path"):
            return "Choose the text folder first."
        return None
    return f"The dataset has no word vocabulary: word vectors need {VECTOR_DATASETS}."


class EmbeddingFlow(QObject):
    """The menu action, its enabled state, the dialog and the one undo step."""

    def __init__(self, window: Any):
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.action = QAction("Load &Word Vectors into Embedding…", window)
        self.action.setObjectName("wordVectorsAction")
        self.action.setStatusTip(
            "Initialise an Embedding layer from pre-trained word vectors (GloVe format)"
        )
        self.action.triggered.connect(self.open_dialog)
        self.dialog: Any = None
        self.document.changed.connect(self.update_action)
        self.document.reset.connect(self.update_action)
        self.update_action()

    # ------------------------------------------------------------------ state
    def embedding_layers(self) -> list[str]:
        """Names of the model's Embedding layers, in stack order."""
        return [
            str(entry.get("config", {}).get("name"))
            for entry in self.document.body()
            if isinstance(entry, dict) and entry.get("class_name") == "Embedding"
        ]

    def unavailable_reason(self) -> str | None:
        """Why the action is disabled now (None: it is enabled)."""
        if not self.document.ready:
            return "Word vectors can be loaded once TensorFlow is loaded."
        if not self.embedding_layers():
            return "Add an Embedding layer to the model first: word vectors fill one."
        return vocabulary_problem(self.document.project.get("dataset"))

    def update_action(self, *_args) -> None:
        reason = self.unavailable_reason()
        self.action.setEnabled(reason is None)
        self.action.setToolTip(
            reason or "Initialise an Embedding layer from a GloVe-format word-vector file."
        )

    # ------------------------------------------------------------------ dialog
    def open_dialog(self) -> None:
        """Show the dialog (modal); OK applies the choice as one undo step."""
        reason = self.unavailable_reason()
        if reason is not None:
            self.window.show_problem(reason)
            return
        dialog = self.make_dialog()
        self.dialog = dialog
        try:
            if dialog.exec() == QDialog.DialogCode.Accepted and dialog.match is not None:
                self.apply(dialog.choice(), dialog.match)
        finally:
            self.dialog = None
            dialog.deleteLater()

    def make_dialog(self) -> Any:
        """The dialog for the current document (its matcher captures what it needs now)."""
        from widgets.embedding_dialog import EmbeddingDialog

        layers = self.embedding_layers()
        selected = self.window.stack_view.current_layer()
        body = self.document.body()
        layer = layers[0]
        if 0 <= selected < len(body) and body[selected].get("class_name") == "Embedding":
            layer = str(body[selected].get("config", {}).get("name"))
        entry = next(
            (e for e in embedding_entries(self.document.project) if e["layer"] == layer), {}
        )
        file = ""
        if entry.get("file"):
            try:
                file = str(vector_path(entry["file"], self._project_dir()))
            except LayerLabError:
                file = str(entry["file"])
        folder = self._project_dir()
        return EmbeddingDialog(
            layers,
            self.matcher(),
            parent=self.window,
            layer=layer,
            file=file,
            lowercase=bool(entry.get("lowercase", True)),
            trainable=bool(entry.get("trainable", False)),
            vocabulary_note=self._vocabulary_note(),
            start_dir=str(folder) if folder is not None else "",
        )

    def _project_dir(self) -> Path | None:
        path = self.document.path
        return Path(path).parent if path is not None else None

    def _vocabulary_note(self) -> str:
        dataset = self.window.dataset_flow.cached()
        vocabulary = getattr(dataset, "vocabulary", None)
        if vocabulary:
            return f"The dataset's vocabulary: {len(vocabulary):,} entries."
        return "The dataset is loaded (once) to read its vocabulary."

    def matcher(self):
        """``matcher(path, lowercase, cancelled, progress)`` for the dialog's worker thread:
        it uses only what is captured here, never the document or a widget."""
        from engine.embeddings import read_vectors

        dataset = self.window.dataset_flow.cached()
        block, loss, split = self.window.dataset_flow.request()
        known: dict[str, list[str]] = {}
        vocabulary = getattr(dataset, "vocabulary", None) or block.get("vocabulary")
        if vocabulary:
            known["words"] = list(vocabulary)

        def match(path: str, lowercase: bool, cancelled, progress) -> Any:
            if "words" not in known:
                from engine.datasets import load_dataset

                progress("Loading the dataset for its vocabulary…", None)
                loaded = load_dataset(
                    block,
                    loss=loss,
                    validation_split=split,
                    progress=progress,
                    cancel=SimpleNamespace(is_set=cancelled),
                )
                if not loaded.vocabulary:
                    raise LayerLabError(
                        "The dataset has no word vocabulary.",
                        fix=f"Word vectors need {VECTOR_DATASETS}.",
                    )
                known["words"] = list(loaded.vocabulary)
            return read_vectors(
                path, known["words"], lowercase=lowercase, cancelled=cancelled, progress=progress
            )

        return match

    # ------------------------------------------------------------------ the edit
    def apply(self, choice: dict, match: Any) -> bool:
        """Set the layer's output_dim (and input_dim when smaller than the vocabulary) and the
        project's entry for it, as one undo step. False (with a status message) if refused."""
        from engine import spec

        document = self.document
        layer = choice["layer"]
        body = document.body()
        index = next(
            (
                i
                for i, entry in enumerate(body)
                if entry.get("class_name") == "Embedding"
                and entry.get("config", {}).get("name") == layer
            ),
            None,
        )
        if index is None:
            self.window.show_problem(f"The model has no Embedding layer named '{layer}' now.")
            return False
        rows = int(match.matrix.shape[0])
        try:
            model = spec.set_param(document.project["model"], index, "output_dim", int(match.dim))
            input_dim = body[index].get("config", {}).get("input_dim")
            if not isinstance(input_dim, int) or input_dim < rows:
                model = spec.set_param(model, index, "input_dim", rows)
        except LayerLabError as error:
            self.window.show_problem(str(error))
            return False
        entry = {
            "layer": layer,
            "file": stored_vector_path(choice["file"], document.path),
            "lowercase": bool(choice["lowercase"]),
            "trainable": bool(choice["trainable"]),
        }
        entries = [e for e in embedding_entries(document.project) if e.get("layer") != layer]
        document.edit(
            f"Load word vectors into '{layer}'",
            {"model": model, "embeddings": copy.deepcopy([*entries, entry])},
            select_before=index,
            select_after=index,
        )
        self.window.show_problem(
            f"Word vectors for '{layer}': {match.summary()}. output_dim is {match.dim}."
        )
        return True
