"""Dataset wiring: the dataset panel's edits, previews and "Suggest output layer…".

``DatasetFlow`` connects ``DatasetPanel`` ↔ ``ProjectDocument`` ↔ ``DatasetController``.
The panel's edits become undoable document edits; the document re-probes the input
signature on every dataset change, so the stack's input row follows at once. A preview
(or the load a suggestion needs) refines the signature with the loaded dataset's shape, but
only while the project's dataset block is still the one that was loaded: a result that
arrives after the user changed the dataset again is dropped.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import QObject

from app.dataset_controller import DatasetController, dataset_info


class DatasetFlow(QObject):
    def __init__(self, window: Any):
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.panel = window.dataset_panel
        self.controller = DatasetController(self)
        self._loading_block: dict | None = None
        self.controller.progress.connect(self._on_progress)
        self.controller.loaded.connect(self._on_loaded)
        self.controller.failed.connect(self._on_failed)
        self.controller.headSuggested.connect(self._on_head_suggested)
        self.panel.blockEdited.connect(self._on_edited)
        self.panel.suggestHeadRequested.connect(self.suggest_head)
        self.panel.previewRequested.connect(self.preview)
        self.panel.sampleInspectRequested.connect(self.inspect_sample)

    # ------------------------------------------------------------------ requests
    def request(self) -> tuple[dict, Any, float]:
        """(dataset block, loss, validation split) of the document, as a load request."""
        project = self.document.project
        return (
            copy.deepcopy(project["dataset"]),
            project["compile"].get("loss"),
            float(project["fit"].get("validation_split") or 0.0),
        )

    def cached(self) -> Any:
        """The loaded dataset when it was loaded for exactly the document's request."""
        block, loss, split = self.request()
        return self.controller.cached(block, loss, split)

    def _on_edited(self, block: dict) -> None:
        from engine.runs import edited_block

        self.document.set_dataset(edited_block(self.document.project["dataset"], block))

    def preview(self) -> None:
        if not self.document.ready:
            self.window.show_problem("TensorFlow is still loading; the preview follows.")
            return
        block, loss, split = self.request()
        self._loading_block = copy.deepcopy(block)
        self.panel.show_loading("Loading the dataset…")
        self.controller.load(block, loss=loss, validation_split=split)

    def inspect_sample(self, index: int, sample: dict) -> None:
        """Each layer's output on preview sample ``index``, with the Runs panel's current run."""
        self.window.runs_panel.inspect_flow.request(
            {"what": "activations", "preview": int(index), "sample": dict(sample)}
        )

    def suggest_head(self) -> None:
        if not self.document.ready:
            self.window.show_problem("TensorFlow is still loading; try again in a moment.")
            return
        block = copy.deepcopy(self.document.project["dataset"])
        self._loading_block = copy.deepcopy(block)
        self.panel.show_loading("Loading the dataset to see its task…")
        self.controller.request_head(block)

    # ------------------------------------------------------------------ results
    def _current(self, dataset: Any) -> bool:
        """Whether ``dataset`` was loaded from the document's current dataset block."""
        from engine.runs import LEARNED_KEY

        block = getattr(dataset, "block", None)
        if block is None:
            block = self._loading_block
        current = self.document.project.get("dataset")
        if not isinstance(block, dict) or not isinstance(current, dict):
            return False

        def settings(b: dict) -> dict:
            return {key: value for key, value in b.items() if key != LEARNED_KEY}

        return settings(block) == settings(current)

    def _on_progress(self, text: str, fraction: Any) -> None:
        self.panel.show_loading(text, fraction)

    def _on_loaded(self, dataset: Any) -> None:
        if not self._current(dataset):
            return  # the user changed the dataset meanwhile: this result is stale
        info = dataset_info(dataset)
        self.keep_learned_vocabulary(dataset)
        self.panel.show_dataset(info)
        self.window.training_panel.set_class_names(info.get("class_names") or [])
        self.document.set_dataset_input_shape(tuple(info["input_shape"]))
        self.window.show_properties()

    def keep_learned_vocabulary(self, dataset: Any) -> None:
        """A text folder's vocabulary, learned from the project's current dataset settings,
        goes into its dataset block: derived data, not an edit (no undo step, and a preview
        alone does not mark the project modified); it is saved with the project. Editing
        the dataset settings drops it (``_on_edited``)."""
        from engine.runs import learned_block

        block = learned_block(self.document.project.get("dataset"), dataset)
        if block is not None:
            self.document.project["dataset"] = block

    def _on_failed(self, message: str) -> None:
        self.panel.show_error(message)
        self.window.show_problem(message)

    def _on_head_suggested(self, suggestion: Any) -> None:
        """Fit the stack's head, input shape, loss and metrics to the dataset (one undo step)."""
        dataset = self.controller.dataset
        if dataset is not None:
            if not self._current(dataset):
                return
            self._on_loaded(dataset)
        if self.document.suggest_head(suggestion):
            self.window.statusBar().showMessage(
                f"Output layer, loss ({suggestion.loss}) and metrics set for this dataset.", 6000
            )

    # ------------------------------------------------------------------ reset / close
    def reset(self) -> None:
        """Another document or dataset: nothing loaded so far belongs to it."""
        self._loading_block = None
        self.controller.forget()

    def shutdown(self) -> None:
        self.controller.shutdown()
