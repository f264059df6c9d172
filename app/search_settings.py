"""Editing a project's search block from the window (``SearchFlow`` mixes this in): the
space ("Search this setting…" from the property editor and the training panel, the tab's
list), the objective and Optuna's settings, each as ONE undo step (``document.edit``).

Needs ``self.window``, ``self.document``, ``self.panel`` and ``self.refresh()``.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtWidgets import QMessageBox

from widgets.search_space_editor import SearchEntryDialog, short_path


class SearchSettingsEditing:
    def block(self) -> dict:
        block = self.document.project.get("search")
        return copy.deepcopy(block) if isinstance(block, dict) else {"space": []}

    def store(self, block: dict, text: str) -> bool:
        """Put a new search block in the project as one undo step (False: not valid)."""
        from engine.errors import ProjectError
        from engine.search import validate_search

        try:
            validate_search(block)
        except ProjectError as error:
            QMessageBox.warning(self.window, "Search", str(error))
            return False
        if not isinstance(self.document.project.get("search"), dict):
            # an undo must give back a valid block, never a missing one
            self.document.project["search"] = {"space": []}
        self.document.edit(text, {"search": block})
        return True

    def set_space(self, space: list[dict], verb: str = "Edit") -> bool:
        block = self.block()
        block["space"] = copy.deepcopy(space)
        return self.store(block, f"{verb} search setting")

    def layer_path(self, index: int, name: str) -> str:
        """The project path of body layer ``index``'s parameter ``name`` ("" : the layer)."""
        layers = (self.document.project.get("model") or {}).get("layers") or []
        offset = 1 if layers and layers[0].get("class_name") == "InputLayer" else 0
        base = f"model.layers[{index + offset}]"
        return f"{base}.config.{name}" if name else base

    def _on_layer_search(self, index: int, name: str, hint: dict) -> None:
        if index >= 0:
            self.search_setting(self.layer_path(index, name), hint)

    def search_setting(self, path: str, hint: dict, *, dialog_hook=None) -> bool:
        """Open the entry dialog for ``path`` (its current entry if searched already); on OK
        store the space. ``dialog_hook(dialog)``: tests fill the dialog instead of a user."""
        space = self.block().get("space") or []
        current = next((i for i, e in enumerate(space) if e.get("path") == path), None)
        dialog = SearchEntryDialog(
            path, hint, space[current] if current is not None else None, self.window
        )
        accepted = dialog_hook(dialog) if dialog_hook is not None else dialog.exec() == 1
        entry = dialog.entry() if accepted else None
        dialog.deleteLater()
        if entry is None:
            return False
        space = list(space)
        if current is None:
            space.append(entry)
        else:
            space[current] = entry
        self.panel.views.setCurrentIndex(0)
        return self.store({**self.block(), "space": space}, f"Search {short_path(path)}")

    def _on_edit_entry(self, row: int) -> None:
        space = self.block().get("space") or []
        if 0 <= row < len(space):
            entry = space[row]
            kind = {"int": "int", "float": "float", "layer_on_off": "layer"}.get(
                entry.get("type"), "choice"
            )
            hint = {
                "label": short_path(entry["path"]),
                "kind": kind,
                "choices": entry.get("choices") or [],
            }
            self.search_setting(entry["path"], hint)

    def _on_objective(self, objective: Any) -> None:
        from engine.runs import smaller_is_better

        if isinstance(objective, dict) and self.sender() is self.panel:
            # a newly chosen metric gets its natural direction (accuracy: maximize)
            block_goal = self.block().get("objective")
            old = block_goal.get("metric") if isinstance(block_goal, dict) else None
            if old != objective["metric"]:
                objective["direction"] = (
                    "minimize" if smaller_is_better(objective["metric"]) else "maximize"
                )
        block = self.block()
        block["objective"] = objective
        if not self.store(block, "Change search objective"):
            self.refresh()

    def _on_engine(self, values: dict) -> None:
        """The sampler, pruner or study storage chosen in the panel (one undo step; the
        defaults are left out of the block)."""
        block = self.block()
        defaults = {"sampler": "tpe", "pruner": "median", "storage": None}
        for key, value in values.items():
            if value == defaults.get(key):
                block.pop(key, None)
            else:
                block[key] = value
        if block == self.block():
            return
        if not self.store(block, "Change search settings"):
            self.refresh()
