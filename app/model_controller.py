"""The open project, its undo stack, and the glue from spec edits to stack rows.

``ProjectDocument`` owns the project dict (the one source of truth), a ``QUndoStack`` and
the latest shape analysis. Every edit goes through ``edit`` as a ``ProjectEdit`` command;
commands call back ``apply_sections``, which emits ``changed(sections)`` so that views
refresh. Model edits use ``engine.spec`` (imported lazily: it needs Keras, which loads in
the background); until ``set_catalog`` is called, layer edits are refused and rows show
class names only.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from app.commands import ProjectEdit
from engine.errors import LayerLabError
from widgets.stack_model import INPUT_KEY, StackRow


def format_shape(shape: Any) -> str:
    if shape is None:
        return ""
    if isinstance(shape, list) and shape and isinstance(shape[0], list | tuple):
        return ", ".join(format_shape(item) for item in shape)
    items = ["None" if item is None else str(item) for item in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


class ProjectDocument(QObject):
    """The project being edited. ``changed`` carries the set of section names that changed."""

    changed = Signal(object)
    selectRequested = Signal(int)
    problem = Signal(str)
    pathChanged = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        from engine.project import new_project

        self.project: dict = new_project()
        self.path: Path | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(500)
        self.analysis: Any = None
        self.analysis_ms = 0.0
        self.dataset_input_shape: tuple | None = None
        self.generation = 0  # increases each time another project is opened
        self._catalog: Any = None
        self._spec: Any = None

    # Set-up -----------------------------------------------------------------------
    def set_catalog(self, catalog_module: Any) -> None:
        """Keras is loaded: enable layer edits and shape analysis."""
        from engine import spec

        self._catalog = catalog_module
        self._spec = spec
        self._analyse()
        self.changed.emit(frozenset({"model"}))

    @property
    def ready(self) -> bool:
        return self._spec is not None

    def set_project(self, project: dict, path: Path | None) -> None:
        """Open ``project`` (already validated); the undo history starts afresh."""
        self.project = copy.deepcopy(project)
        self.path = Path(path) if path is not None else None
        self.generation += 1
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self._analyse()
        self.pathChanged.emit(self.path)
        self.changed.emit(frozenset({"model", "dataset", "compile", "fit", "runs"}))

    def set_path(self, path: Path) -> None:
        self.path = Path(path)
        self.pathChanged.emit(self.path)

    def set_dataset_input_shape(self, shape: tuple | None) -> None:
        """The loaded dataset's sample shape (without batch); the input row follows it."""
        shape = tuple(shape) if shape is not None else None
        if shape == self.dataset_input_shape:
            return
        self.dataset_input_shape = shape
        self._analyse()
        self.changed.emit(frozenset({"model"}))

    # Commands ----------------------------------------------------------------------
    def apply_sections(self, sections: dict[str, Any], select: int | None) -> None:
        """Called by undo commands: put ``sections`` into the project."""
        self.project.update(sections)
        if "model" in sections:
            self._analyse()
        self.changed.emit(frozenset(sections))
        if select is not None:
            self.selectRequested.emit(select)

    def edit(
        self,
        text: str,
        after: dict[str, Any],
        *,
        merge_key: Hashable | None = None,
        select_before: int | None = None,
        select_after: int | None = None,
    ) -> None:
        """Push one undoable edit replacing the given sections."""
        before = {key: copy.deepcopy(self.project.get(key)) for key in after}
        if before == after:
            return
        self.undo_stack.push(
            ProjectEdit(
                self,
                text,
                before,
                after,
                merge_key=merge_key,
                select_before=select_before,
                select_after=select_after,
            )
        )

    # Layer edits (body indices) ------------------------------------------------------------
    def _model_edit(self, text, change, *, select_before, select_after, merge_key=None) -> bool:
        if not self.ready:
            self.problem.emit("TensorFlow is still loading; layer edits start when it is ready.")
            return False
        try:
            model = change(self.project["model"])
        except LayerLabError as error:
            self.problem.emit(str(error))
            return False
        self.edit(
            text,
            {"model": model},
            merge_key=merge_key,
            select_before=select_before,
            select_after=select_after,
        )
        return True

    def layer_count(self) -> int:
        return len(self._body())

    def layer_entry(self, index: int) -> dict:
        return self._body()[index]

    def insert_layer(self, index: int, class_name: str, current: int = -1) -> bool:
        index = max(0, min(index, self.layer_count()))
        return self._model_edit(
            f"Add {class_name}",
            lambda model: self._spec.insert_layer(model, index, class_name),
            select_before=current,
            select_after=index,
        )

    def remove_layer(self, index: int) -> bool:
        name = self._class_at(index)
        return self._model_edit(
            f"Remove {name}",
            lambda model: self._spec.remove_layer(model, index),
            select_before=index,
            select_after=min(index, self.layer_count() - 2),
        )

    def move_layer(self, source: int, destination: int) -> bool:
        if source == destination or not 0 <= destination < self.layer_count():
            return False
        return self._model_edit(
            f"Move {self._class_at(source)}",
            lambda model: self._spec.move_layer(model, source, destination),
            select_before=source,
            select_after=destination,
        )

    def duplicate_layer(self, index: int) -> bool:
        return self._model_edit(
            f"Duplicate {self._class_at(index)}",
            lambda model: self._spec.duplicate_layer(model, index),
            select_before=index,
            select_after=index + 1,
        )

    def set_param(self, index: int, name: str, value: Any, mergeable: bool = False) -> bool:
        return self._model_edit(
            f"Set {self._class_at(index)} {name}",
            lambda model: self._spec.set_param(model, index, name, value),
            select_before=index,
            select_after=index,
            merge_key=("param", index, name) if mergeable else None,
        )

    def set_input_shape(self, shape: list | None, text: str = "Set input shape") -> bool:
        return self._model_edit(
            text,
            lambda model: self._spec.set_input_shape(model, shape),
            select_before=-1,
            select_after=-1,
        )

    def suggest_head(self, suggestion: Any) -> bool:
        """Apply a ``HeadSuggestion``: input shape, output layer (replacing a last Dense or
        appended), loss and metrics, as one undo step."""
        if not self.ready:
            return False
        spec = self._spec
        try:
            model = spec.set_input_shape(self.project["model"], list(suggestion.input_shape))
            count = len(spec.body(model))
            last = spec.body(model)[-1] if count else None
            if last is not None and last.get("class_name") == "Dense":
                model = spec.replace_layer(model, count - 1, suggestion.output_layer)
                position = count - 1
            else:
                model = spec.insert_layer(model, count, suggestion.output_layer)
                position = count
        except LayerLabError as error:
            self.problem.emit(str(error))
            return False
        compile_block = {
            **copy.deepcopy(self.project["compile"]),
            "loss": suggestion.loss,
            "metrics": list(suggestion.metrics),
        }
        self.edit(
            "Suggest output layer, loss and metrics",
            {"model": model, "compile": compile_block},
            select_before=None,
            select_after=position,
        )
        return True

    def replace_model(self, model: dict, text: str) -> None:
        self.edit(text, {"model": copy.deepcopy(model)}, select_before=None, select_after=0)

    # Other sections --------------------------------------------------------------------
    def set_dataset(self, block: dict) -> None:
        self.edit("Change dataset", {"dataset": copy.deepcopy(block)}, merge_key=None)

    def set_training(self, compile_block: dict, fit_block: dict) -> None:
        """Replace the compile and fit blocks; successive edits of the same settings (a
        spin box stepping the learning rate) merge into one undo step."""
        changed = sorted(
            f"{section}.{key}"
            for section, new in (("compile", compile_block), ("fit", fit_block))
            for key in set(new) | set(self.project.get(section, {}))
            if new.get(key) != self.project.get(section, {}).get(key)
        )
        label = changed[0].split(".", 1)[1].replace("_", " ") if len(changed) == 1 else "training"
        self.edit(
            f"Change {label} settings" if label == "training" else f"Change {label}",
            {"compile": copy.deepcopy(compile_block), "fit": copy.deepcopy(fit_block)},
            merge_key=("training", *changed),
        )

    def replace_runs(self, runs: list[dict]) -> None:
        """Runs recorded, renamed or deleted: not an undo step (their files already changed),
        but the project is modified until saved."""
        self.project["runs"] = copy.deepcopy(runs)
        self.undo_stack.resetClean()
        self.changed.emit(frozenset({"runs"}))

    # Display ----------------------------------------------------------------------------
    def stack_rows(self) -> list[StackRow]:
        """The input row and one row per body layer, from the latest analysis."""
        body = self._body()
        analysis = self.analysis
        by_index = {}
        if analysis is not None:
            by_index = {layer.index: layer for layer in analysis.layers}
        rows = [self._input_row()]
        error_index = getattr(analysis, "error_index", None) if analysis is not None else None
        for index, entry in enumerate(body):
            class_name = entry.get("class_name", "?")
            config = entry.get("config", {})
            key = str(config.get("name") or f"{class_name}#{index}")
            title = class_name
            category = ""
            if self._catalog is not None:
                title = self._catalog.describe_layer(entry)
                try:
                    category = self._catalog.layer_info(class_name).category
                except LayerLabError:
                    category = ""
            layer = by_index.get(index)
            error = getattr(layer, "error", None) if layer is not None else None
            if error is None and error_index == index and analysis is not None:
                error = analysis.error
            shape = format_shape(layer.output_shape) if layer is not None else ""
            params = layer.params if layer is not None and not error else None
            tooltip = self._tooltip(entry, title, error)
            rows.append(
                StackRow(
                    key=key,
                    class_name=class_name,
                    title=title,
                    category=category,
                    output_shape=shape if not error else "",
                    params=params,
                    error=error,
                    tooltip=tooltip,
                )
            )
        return rows

    def stack_error(self) -> str | None:
        analysis = self.analysis
        if analysis is None or analysis.ok:
            return None
        return analysis.error

    def totals(self) -> tuple[int | None, int | None]:
        analysis = self.analysis
        if analysis is None or not analysis.ok:
            return None, None
        return analysis.total_params, analysis.trainable_params

    def spec_input_shape(self) -> tuple | None:
        """The shape the model itself fixes (its InputLayer), or None."""
        if self._spec is None:
            return None
        shape = self._spec.input_shape(self.project["model"])
        return tuple(shape) if shape is not None else None

    def input_shape(self) -> tuple | None:
        """The stack's input shape: the spec's InputLayer, else the dataset's."""
        if self._spec is not None:
            shape = self._spec.input_shape(self.project["model"])
            if shape is not None:
                return tuple(shape)
        return self.dataset_input_shape

    # Internals ---------------------------------------------------------------------------
    def _body(self) -> list[dict]:
        layers = self.project.get("model", {}).get("layers", [])
        if layers and layers[0].get("class_name") == "InputLayer":
            return layers[1:]
        return layers

    def _class_at(self, index: int) -> str:
        body = self._body()
        return body[index].get("class_name", "layer") if 0 <= index < len(body) else "layer"

    def _raw_input_shape(self) -> tuple | None:
        """The InputLayer's shape read from the dict itself (before Keras is loaded)."""
        layers = self.project.get("model", {}).get("layers", [])
        if not layers or layers[0].get("class_name") != "InputLayer":
            return None
        shape = layers[0].get("config", {}).get("batch_shape")
        return tuple(shape[1:]) if isinstance(shape, list) and len(shape) > 1 else None

    def _input_row(self) -> StackRow:
        if self._spec is not None:
            spec_shape = self._spec.input_shape(self.project["model"])
        else:
            spec_shape = self._raw_input_shape()
        if spec_shape is not None:
            shape, source = tuple(spec_shape), "set in the model"
        elif self.dataset_input_shape is not None:
            shape, source = self.dataset_input_shape, "from the dataset"
        else:
            shape, source = None, ""
        if shape is None:
            title = "Input · shape comes from the dataset"
            tooltip = "The input shape is taken from the dataset once it is loaded."
            output = ""
        else:
            title = f"Input {format_shape(shape)}"
            tooltip = f"Input shape {format_shape(shape)}, {source}."
            output = format_shape((None, *shape))
        return StackRow(
            key=INPUT_KEY,
            class_name="InputLayer",
            title=title,
            category="Input",
            output_shape=output,
            params=None,
            tooltip=tooltip,
            is_input=True,
        )

    def _tooltip(self, entry: dict, title: str, error: str | None) -> str:
        name = entry.get("config", {}).get("name", "")
        if error:
            return f"<b>{title}</b> ({name})<br><span style='color:#c81e2d'>{error}</span>"
        return f"<b>{title}</b> ({name})"

    def _analyse(self) -> None:
        if self._spec is None:
            self.analysis = None
            return
        started = time.perf_counter()
        shape = None
        if self._spec.input_shape(self.project["model"]) is None:
            shape = self.dataset_input_shape
        try:
            self.analysis = self._spec.analyse(self.project["model"], input_shape=shape)
        except LayerLabError as error:
            self.analysis = None
            self.problem.emit(str(error))
        self.analysis_ms = (time.perf_counter() - started) * 1000
