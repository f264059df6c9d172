"""Undo commands: every edit of a project is one ``ProjectEdit`` on the window's QUndoStack.

A command holds deep copies of the project sections it changes (``model``, ``dataset``,
``compile``, ``fit``) before and after the edit, and the layer to select after redo/undo.
Commands with the same ``merge_key`` that follow each other (spin-box steps on one
parameter of one layer) merge into one undo step; a merged command that ends where it
started becomes obsolete and leaves the stack.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable
from typing import Any, Protocol

from PySide6.QtGui import QUndoCommand

MERGE_ID = 4711


class SectionTarget(Protocol):
    def apply_sections(self, sections: dict[str, Any], select: int | None) -> None: ...


class ProjectEdit(QUndoCommand):
    """Replace some project sections; undo puts the old ones back."""

    def __init__(
        self,
        target: SectionTarget,
        text: str,
        before: dict[str, Any],
        after: dict[str, Any],
        *,
        merge_key: Hashable | None = None,
        select_before: int | None = None,
        select_after: int | None = None,
    ):
        super().__init__(text)
        self.target = target
        self.before = copy.deepcopy(before)
        self.after = copy.deepcopy(after)
        self.merge_key = merge_key
        self.select_before = select_before
        self.select_after = select_after

    def redo(self) -> None:
        self.target.apply_sections(copy.deepcopy(self.after), self.select_after)

    def undo(self) -> None:
        self.target.apply_sections(copy.deepcopy(self.before), self.select_before)

    def id(self) -> int:
        return MERGE_ID if self.merge_key is not None else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, ProjectEdit) or other.merge_key != self.merge_key:
            return False
        if set(other.after) != set(self.after):
            return False
        self.after = copy.deepcopy(other.after)
        self.select_after = other.select_after
        self.setText(other.text())
        if _comparable(self.after) == _comparable(self.before):
            self.setObsolete(True)
        return True


def _comparable(sections: dict[str, Any]) -> dict[str, Any]:
    """Sections without the layers' ``build_config`` (a spec edit drops it; it is not a change
    the user made)."""
    model = sections.get("model")
    if not isinstance(model, dict) or not isinstance(model.get("layers"), list):
        return sections
    layers = [
        {key: value for key, value in entry.items() if key != "build_config"}
        if isinstance(entry, dict)
        else entry
        for entry in model["layers"]
    ]
    return {**sections, "model": {**model, "layers": layers}}
