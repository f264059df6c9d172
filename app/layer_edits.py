"""Edits of the open model's layer stack (``ProjectDocument`` mixes this in): insert,
remove, move, duplicate, set a parameter or the input shape, apply a suggested head, each
as ONE undo step through ``edit``. Indices count the stack's body (without the InputLayer).

Needs from the document: ``project``, ``ready``, ``is_functional``, ``input_signature``,
``_spec`` (``engine.spec``, once Keras is loaded), ``_body()``, ``_class_at()``, ``edit()``
and the ``problem``/``changed`` signals. A refused edit emits ``problem`` with the plain
reason and pushes nothing.
"""

from __future__ import annotations

import copy
from typing import Any

from app.stack_rows import format_shape
from engine.errors import LayerLabError


class LayerEditing:
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
        """Fix the model's input shape. Refused when the dataset's signature is known and
        differs: training feeds the dataset's samples, so the model's input follows them."""
        known = self.input_signature
        if self.is_functional:
            return self._model_edit(
                text,
                lambda model: self._spec.set_input_shape(model, shape),
                select_before=-1,
                select_after=-1,
            )  # refused by engine.spec with its plain message
        if shape is not None and known is not None and tuple(shape) != known:
            self.problem.emit(
                f"The dataset gives samples of shape {format_shape(known)}, so the model's input "
                f"is {format_shape(known)}, not {format_shape(tuple(shape))}. Choose another "
                "dataset (or its options) to change the input."
            )
            self.changed.emit(frozenset({"model"}))  # the editor shows the real shape again
            return False
        return self._model_edit(
            text,
            lambda model: self._spec.set_input_shape(model, shape),
            select_before=-1,
            select_after=-1,
        )

    def suggest_head(self, suggestion: Any) -> bool:
        """Apply a ``HeadSuggestion``: input shape, a layer that reduces a sequence or image
        axis when needed, the output layer (replacing a last Dense or appended), loss and
        metrics, as one undo step."""
        if not self.ready:
            return False
        from engine.datasets.head import apply_head

        try:
            model, position = apply_head(self.project["model"], suggestion)
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
