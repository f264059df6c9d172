"""The layer palette (``layerPalette``): the Keras layer catalog grouped by category.

A search box (``paletteSearch``) filters by name, category and description; Enter in the
search box or on an entry, or a double-click, emits ``layerActivated(class_name)``; an
entry dragged out carries ``LAYER_MIME`` (the class name) for the stack to accept.
The palette is disabled with a "loading" note until ``set_catalog`` is called.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import (
    QByteArray,
    QEvent,
    QMimeData,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QIcon, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from widgets.stack_model import LAYER_MIME

ClassNameRole = Qt.ItemDataRole.UserRole + 1
SearchTextRole = Qt.ItemDataRole.UserRole + 2


class _PaletteItemModel(QStandardItemModel):
    """Layer entries drag out as ``LAYER_MIME`` with their class name."""

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]

    def mimeData(self, indexes) -> QMimeData:
        data = QMimeData()
        names = [index.data(ClassNameRole) for index in indexes if index.data(ClassNameRole)]
        if names:
            data.setData(LAYER_MIME, QByteArray(names[0].encode()))
            data.setText(names[0])
        return data

    def supportedDragActions(self):
        return Qt.DropAction.CopyAction


class _PaletteFilter(QSortFilterProxyModel):
    """Matches every word of the query against an entry's name, category, description."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._words: list[str] = []
        self.setRecursiveFilteringEnabled(True)

    def set_query(self, text: str) -> None:
        self.beginFilterChange()
        self._words = text.lower().split()
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row: int, parent: QModelIndex) -> bool:
        if not self._words:
            return True
        index = self.sourceModel().index(row, 0, parent)
        haystack = index.data(SearchTextRole)
        if not haystack:
            return False
        return all(word in haystack for word in self._words)


class LayerPalette(QWidget):
    """Searchable tree of layer classes by category."""

    layerActivated = Signal(str)
    # Follows layerActivated when the layer was chosen with Enter (in the search box or the
    # tree): the window adds the layer, then gives the stack the focus
    # (``StackView.focus_list``) so that Ctrl+Up/Down, Ctrl+D and Delete act on it.
    layerAddedByKeyboard = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("layerPalette")
        self.search = QLineEdit(self)
        self.search.setObjectName("paletteSearch")
        self.search.setPlaceholderText("Search layers…")
        self.search.setClearButtonEnabled(True)
        self.model = _PaletteItemModel(self)
        self.proxy = _PaletteFilter(self)
        self.proxy.setSourceModel(self.model)
        self.tree = QTreeView(self)
        self.tree.setObjectName("paletteTree")
        self.tree.setModel(self.proxy)
        self.tree.setHeaderHidden(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setUniformRowHeights(True)
        self.tree.setAccessibleName("Layer palette")
        self.note = QLabel("Loading TensorFlow…", self)
        self.note.setObjectName("paletteNote")
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.search)
        layout.addWidget(self.note)
        layout.addWidget(self.tree, 1)

        self.search.textChanged.connect(self._on_query)
        self.search.returnPressed.connect(self._activate_first_match_by_key)
        self.tree.doubleClicked.connect(self._activate_index)
        self.tree.installEventFilter(self)
        self.setEnabled(False)

    def set_loading(self, message: str) -> None:
        self.note.setText(message)
        self.note.show()
        self.setEnabled(False)

    def set_catalog(
        self,
        layers: dict[str, Any],
        categories: Iterable[str],
        icon_for: Callable[[str], QIcon],
    ) -> None:
        """Fill the tree from ``{class_name: LayerInfo}`` grouped in ``categories`` order."""
        self.model.clear()
        order = list(categories)
        for info in layers.values():
            if info.category not in order:
                order.append(info.category)
        for category in order:
            members = sorted(
                (info for info in layers.values() if info.category == category),
                key=lambda info: info.class_name.lower(),
            )
            if not members:
                continue
            group = QStandardItem(icon_for(category), category)
            group.setEditable(False)
            group.setDragEnabled(False)
            group.setSelectable(False)
            font = group.font()
            font.setBold(True)
            group.setFont(font)
            for info in members:
                item = QStandardItem(icon_for(category), info.class_name)
                item.setEditable(False)
                item.setDragEnabled(True)
                description = (info.description or "").strip()
                item.setToolTip(f"<b>{info.class_name}</b><br>{description}" if description else "")
                item.setData(info.class_name, ClassNameRole)
                item.setData(f"{info.class_name} {category} {description}".lower(), SearchTextRole)
                group.appendRow(item)
            self.model.appendRow(group)
        self.tree.expandAll()
        self.note.hide()
        self.setEnabled(True)

    def class_names(self) -> list[str]:
        """Visible (filtered) class names in display order."""
        names = []
        for group_row in range(self.proxy.rowCount()):
            group = self.proxy.index(group_row, 0)
            for row in range(self.proxy.rowCount(group)):
                names.append(self.proxy.index(row, 0, group).data(ClassNameRole))
        return names

    # Internals ---------------------------------------------------------------------
    def _on_query(self, text: str) -> None:
        self.proxy.set_query(text)
        self.tree.expandAll()
        first = self._first_leaf()
        if first.isValid():
            self.tree.setCurrentIndex(first)

    def _first_leaf(self) -> QModelIndex:
        query = self.search.text().strip().lower()
        best = QModelIndex()
        for group_row in range(self.proxy.rowCount()):
            group = self.proxy.index(group_row, 0)
            for row in range(self.proxy.rowCount(group)):
                index = self.proxy.index(row, 0, group)
                if query and str(index.data(ClassNameRole)).lower() == query:
                    return index
                if not best.isValid():
                    best = index
        return best

    def _activate_first_match(self) -> None:
        current = self.tree.currentIndex()
        index = current if current.data(ClassNameRole) else self._first_leaf()
        self._activate_index(index)

    def _activate_first_match_by_key(self) -> None:
        current = self.tree.currentIndex()
        index = current if current.data(ClassNameRole) else self._first_leaf()
        self._activate_index(index, by_keyboard=True)

    def _activate_index(self, index: QModelIndex, by_keyboard: bool = False) -> None:
        name = index.data(ClassNameRole) if index.isValid() else None
        if name:
            self.layerActivated.emit(name)
            if by_keyboard:
                self.layerAddedByKeyboard.emit(name)

    def eventFilter(self, watched, event) -> bool:
        if (
            watched is self.tree
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)
        ):
            self._activate_index(self.tree.currentIndex(), by_keyboard=True)
            return True
        return super().eventFilter(watched, event)
