"""The layer stack as a Qt list model: an input-shape row, then one row per body layer.

The model never edits the project itself. It shows ``StackRow`` values that the app
computes from the spec and its analysis, and turns user gestures into requests:
``moveRequested(src, dst)``, ``insertRequested(index, class_name)`` and
``trainableToggled(index, trainable)`` (a row's "trainable" checkbox, clicked or toggled
with Space), in *body* indices (row - 1), exactly the indices ``engine.spec`` uses. The app
answers with undo commands and then calls ``set_rows``, which reports the change to views
as the smallest structural change (insert / remove / move / data change) so selections
survive.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QIcon

ROWS_MIME = "application/x-layerlab-stack-rows"
LAYER_MIME = "application/x-layerlab-layer-class"

INPUT_KEY = "__input__"

ShapeRole = Qt.ItemDataRole.UserRole + 1
ParamsRole = Qt.ItemDataRole.UserRole + 2
ErrorRole = Qt.ItemDataRole.UserRole + 3
IsInputRole = Qt.ItemDataRole.UserRole + 4
TitleRole = Qt.ItemDataRole.UserRole + 5
ClassRole = Qt.ItemDataRole.UserRole + 6
CostRole = Qt.ItemDataRole.UserRole + 7  # compact multiply-adds text ("1.2 M MACs") or ""

ERROR_BACKGROUND = QColor(220, 53, 69, 60)
ERROR_FOREGROUND = QColor(200, 30, 45)


@dataclass(frozen=True)
class StackRow:
    """One displayed row. ``key`` identifies the layer across edits (its Keras name)."""

    key: str
    class_name: str
    title: str
    category: str = ""
    output_shape: str = ""
    params: int | None = None
    error: str | None = None
    tooltip: str = ""
    is_input: bool = False
    # None: no checkbox (the layer has no weights to freeze); else the layer's trainable flag.
    trainable: bool | None = None
    # Multiply-adds per sample, compact ("1.2 M MACs"; engine.cost); "" when unknown.
    cost: str = ""


def format_count(count: int | None) -> str:
    return "" if count is None else f"{count:,}"


class StackModel(QAbstractListModel):
    """List model over ``StackRow``s; row 0 is the input row, rows 1.. are body layers."""

    moveRequested = Signal(int, int)
    insertRequested = Signal(int, str)
    trainableToggled = Signal(int, bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[StackRow] = [StackRow(INPUT_KEY, "Input", "Input", is_input=True)]
        self._icon_for: Callable[[str], QIcon] | None = None

    # Content ----------------------------------------------------------------------
    def rows(self) -> list[StackRow]:
        return list(self._rows)

    def set_icon_provider(self, icon_for: Callable[[str], QIcon]) -> None:
        """``icon_for(category)`` gives each row's icon."""
        self._icon_for = icon_for
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))

    def set_rows(self, rows: Sequence[StackRow]) -> None:
        """Show ``rows`` (input row first), announcing the smallest structural change."""
        new = list(rows)
        old_keys = [row.key for row in self._rows]
        new_keys = [row.key for row in new]
        if len(set(new_keys)) != len(new_keys) or len(set(old_keys)) != len(old_keys):
            self._reset(new)
        elif old_keys == new_keys:
            self._rows = new
            if new:
                self.dataChanged.emit(self.index(0), self.index(len(new) - 1))
        elif len(new_keys) == len(old_keys) + 1 and _one_removed(new_keys, old_keys) is not None:
            position = _one_removed(new_keys, old_keys)
            self.beginInsertRows(QModelIndex(), position, position)
            self._rows = new
            self.endInsertRows()
            self.dataChanged.emit(self.index(0), self.index(len(new) - 1))
        elif len(new_keys) == len(old_keys) - 1 and _one_removed(old_keys, new_keys) is not None:
            position = _one_removed(old_keys, new_keys)
            self.beginRemoveRows(QModelIndex(), position, position)
            self._rows = new
            self.endRemoveRows()
            if new:
                self.dataChanged.emit(self.index(0), self.index(len(new) - 1))
        elif (move := _one_moved(old_keys, new_keys)) is not None:
            source, destination = move
            qt_destination = destination + 1 if destination > source else destination
            self.beginMoveRows(QModelIndex(), source, source, QModelIndex(), qt_destination)
            self._rows = new
            self.endMoveRows()
            self.dataChanged.emit(self.index(0), self.index(len(new) - 1))
        else:
            self._reset(new)

    def _reset(self, rows: list[StackRow]) -> None:
        self.beginResetModel()
        self._rows = rows
        self.endResetModel()

    # Qt model API -----------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            parts = [row.title, row.output_shape, format_count(row.params)]
            return "   ".join(part for part in parts if part)
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tooltip or row.error or row.title
        if role == Qt.ItemDataRole.DecorationRole:
            return self._icon_for(row.category) if self._icon_for else None
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(ERROR_BACKGROUND) if row.error else None
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(ERROR_FOREGROUND) if row.error else None
        if role == Qt.ItemDataRole.CheckStateRole:
            if row.trainable is None or row.is_input:
                return None
            return Qt.CheckState.Checked if row.trainable else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.AccessibleTextRole:
            text = f"{row.title}, output {row.output_shape or 'unknown'}"
            if row.trainable is False:
                text += ", frozen"
            return f"{text}, error: {row.error}" if row.error else text
        return {
            ShapeRole: row.output_shape,
            ParamsRole: row.params,
            ErrorRole: row.error,
            IsInputRole: row.is_input,
            TitleRole: row.title,
            ClassRole: row.class_name,
            CostRole: row.cost,
        }.get(role)

    def flags(self, index):
        base = Qt.ItemFlag.ItemIsDropEnabled
        if not index.isValid():
            return base
        flags = base | Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        row = self._rows[index.row()]
        if not row.is_input:
            flags |= Qt.ItemFlag.ItemIsDragEnabled
            if row.trainable is not None:
                flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        """A click on a row's checkbox asks for the layer's ``trainable`` to change; the row
        itself changes only when the app answers with ``set_rows`` (returns False)."""
        if role != Qt.ItemDataRole.CheckStateRole or not index.isValid() or index.row() == 0:
            return False
        row = self._rows[index.row()]
        if row.trainable is None:
            return False
        checked = Qt.CheckState(value) == Qt.CheckState.Checked if value is not None else False
        if checked != row.trainable:
            self.trainableToggled.emit(index.row() - 1, checked)
        return False

    def supportedDropActions(self):
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction

    def supportedDragActions(self):
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        return [ROWS_MIME, LAYER_MIME]

    def mimeData(self, indexes) -> QMimeData:
        """Body indices of the dragged rows (the input row is never dragged)."""
        rows = sorted({index.row() - 1 for index in indexes if index.isValid() and index.row() > 0})
        data = QMimeData()
        data.setData(ROWS_MIME, QByteArray(json.dumps(rows).encode()))
        return data

    def canDropMimeData(self, data, action, row, column, parent) -> bool:
        if data is None:
            return False
        return data.hasFormat(ROWS_MIME) or data.hasFormat(LAYER_MIME)

    def dropMimeData(self, data, action, row, column, parent) -> bool:
        """Turn a drop into one ``moveRequested`` or ``insertRequested``.

        Returns False after a move so that the view does not remove the source rows
        itself (the app's command already moved them), as napari's list model does.
        """
        if data is None or action == Qt.DropAction.IgnoreAction:
            return False
        if row < 0:
            row = parent.row() if parent.isValid() else len(self._rows)
        body_position = max(row - 1, 0)
        if data.hasFormat(LAYER_MIME):
            class_name = bytes(data.data(LAYER_MIME).data()).decode()
            if class_name:
                self.insertRequested.emit(body_position, class_name)
            return False
        if data.hasFormat(ROWS_MIME):
            try:
                sources = json.loads(bytes(data.data(ROWS_MIME).data()).decode())
            except ValueError:
                return False
            if len(sources) != 1:
                return False
            source = int(sources[0])
            destination = body_position - 1 if source < body_position else body_position
            destination = min(destination, len(self._rows) - 2)
            if destination != source and destination >= 0:
                self.moveRequested.emit(source, destination)
        return False


def _one_removed(longer: list[str], shorter: list[str]) -> int | None:
    """Position p such that ``longer`` without item p equals ``shorter``, else None."""
    for position in range(len(longer)):
        if longer[:position] + longer[position + 1 :] == shorter:
            return position
    return None


def _one_moved(old: list[str], new: list[str]) -> tuple[int, int] | None:
    """(source, destination) of a single-item move turning ``old`` into ``new``."""
    if len(old) != len(new) or sorted(old) != sorted(new):
        return None
    for source in range(len(old)):
        rest = old[:source] + old[source + 1 :]
        key = old[source]
        destination = new.index(key)
        if [*rest[:destination], key, *rest[destination:]] == new:
            return source, destination
    return None
