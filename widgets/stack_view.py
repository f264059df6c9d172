"""The layer stack view: the list (``layerStack``), its keyboard actions and totals.

Ctrl+Up/Down move the selected layer, Delete removes it, Ctrl+D duplicates it; dropping
a palette entry or dragging a row goes through ``StackModel.dropMimeData``. The widget
only emits requests (body indices); the app turns them into undo commands.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QLabel,
    QListView,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from widgets.stack_model import (
    ERROR_FOREGROUND,
    ErrorRole,
    IsInputRole,
    ParamsRole,
    ShapeRole,
    StackModel,
    TitleRole,
    format_count,
)


class StackDelegate(QStyledItemDelegate):
    """Paints ``icon  title ........ shape   params`` and, for a broken layer, its message."""

    PADDING = 6

    def sizeHint(self, option, index) -> QSize:
        metrics = option.fontMetrics
        lines = 2 if index.data(ErrorRole) else 1
        return QSize(200, metrics.height() * lines + 2 * self.PADDING + (lines - 1) * 2)

    def paint(self, painter, option, index) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        style = opt.widget.style() if opt.widget else QApplication.style()
        opt.text = ""
        opt_icon = opt.icon
        opt.icon = type(opt_icon)()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)

        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        palette = opt.palette
        text_color = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        )
        muted = palette.color(
            QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.PlaceholderText
        )
        error = index.data(ErrorRole)
        metrics = opt.fontMetrics
        rect = opt.rect.adjusted(self.PADDING, self.PADDING, -self.PADDING, -self.PADDING)
        line = QRect(rect.left(), rect.top(), rect.width(), metrics.height())

        icon_size = metrics.height()
        if not opt_icon.isNull():
            opt_icon.paint(painter, QRect(line.left(), line.top(), icon_size, icon_size))
        left = line.left() + icon_size + self.PADDING

        params_text = format_count(index.data(ParamsRole))
        shape_text = index.data(ShapeRole) or ""
        params_width = (
            max(metrics.horizontalAdvance(params_text), metrics.horizontalAdvance("00,000")) + 12
        )
        shape_width = max(
            metrics.horizontalAdvance(shape_text), metrics.horizontalAdvance("(None, 00)")
        )
        shape_width += 12
        params_rect = QRect(line.right() - params_width, line.top(), params_width, line.height())
        shape_rect = QRect(params_rect.left() - shape_width, line.top(), shape_width, line.height())
        title_rect = QRect(left, line.top(), shape_rect.left() - left - 4, line.height())

        painter.save()
        font = opt.font
        if index.data(IsInputRole):
            font.setItalic(True)
        painter.setFont(font)
        painter.setPen(ERROR_FOREGROUND if error and not selected else text_color)
        title = metrics.elidedText(
            index.data(TitleRole) or "", Qt.TextElideMode.ElideRight, title_rect.width()
        )
        painter.drawText(
            title_rect, Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, title
        )
        painter.setPen(muted)
        align_right = Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight
        painter.drawText(shape_rect, align_right, shape_text)
        painter.drawText(params_rect, align_right, params_text)
        if error:
            painter.setPen(ERROR_FOREGROUND if not selected else text_color)
            message_rect = QRect(left, line.bottom() + 2, rect.right() - left, metrics.height())
            message = metrics.elidedText(
                str(error), Qt.TextElideMode.ElideRight, message_rect.width()
            )
            painter.drawText(message_rect, Qt.AlignmentFlag.AlignVCenter, message)
        painter.restore()


class StackView(QWidget):
    """The stack list with its keyboard actions, an error line and the parameter totals."""

    removeRequested = Signal(int)
    duplicateRequested = Signal(int)
    moveRequested = Signal(int, int)
    currentLayerChanged = Signal(int)  # body index; -1 for the input row or nothing

    def __init__(self, model: StackModel, parent=None):
        super().__init__(parent)
        self.model = model
        self.list = QListView(self)
        self.list.setObjectName("layerStack")
        self.list.setModel(model)
        self.list.setItemDelegate(StackDelegate(self.list))
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.setDragEnabled(True)
        self.list.setAcceptDrops(True)
        self.list.setDropIndicatorShown(True)
        self.list.setUniformItemSizes(False)
        self.list.setAlternatingRowColors(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setMinimumWidth(300)
        self.list.setAccessibleName("Layer stack")

        self.errorLabel = QLabel(self)
        self.errorLabel.setObjectName("stackError")
        self.errorLabel.setWordWrap(True)
        self.errorLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.errorLabel.setStyleSheet(f"color: {ERROR_FOREGROUND.name()};")
        self.errorLabel.hide()
        self.totalsLabel = QLabel(self)
        self.totalsLabel.setObjectName("paramsTotal")
        self.totalsLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addWidget(self.errorLabel)
        layout.addWidget(self.totalsLabel)

        self._add_action("Move layer up", "Ctrl+Up", self._move_up)
        self._add_action("Move layer down", "Ctrl+Down", self._move_down)
        self._add_action("Remove layer", QKeySequence.StandardKey.Delete, self._remove)
        self._add_action("Duplicate layer", "Ctrl+D", self._duplicate)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.list.selectionModel().currentChanged.connect(self._on_current_changed)

    def _add_action(self, text, shortcut, slot) -> QAction:
        action = QAction(text, self.list)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(slot)
        self.list.addAction(action)
        return action

    # Selection --------------------------------------------------------------------
    def current_layer(self) -> int:
        """Body index of the selected layer, or -1."""
        row = self.list.currentIndex().row()
        return row - 1 if row >= 1 else -1

    def select_layer(self, body_index: int) -> None:
        """Select body layer ``body_index`` (-1: the input row)."""
        row = min(body_index + 1, self.model.rowCount() - 1)
        if row < 0:
            return
        index = self.model.index(row)
        self.list.setCurrentIndex(index)
        self.list.scrollTo(index)

    def _on_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        row = current.row() if current.isValid() else -1
        self.currentLayerChanged.emit(row - 1 if row >= 1 else -1)

    # Totals / error -----------------------------------------------------------------
    def set_totals(self, total: int | None, trainable: int | None) -> None:
        if total is None:
            self.totalsLabel.setText("Parameters: —")
            return
        frozen = total - (trainable or 0)
        text = f"Total params: {total:,}   ·   trainable: {trainable or 0:,}"
        if frozen:
            text += f"   ·   non-trainable: {frozen:,}"
        self.totalsLabel.setText(text)

    def set_error(self, message: str | None) -> None:
        self.errorLabel.setText(message or "")
        self.errorLabel.setVisible(bool(message))

    # Keyboard actions ---------------------------------------------------------------
    def _move_up(self) -> None:
        index = self.current_layer()
        if index > 0:
            self.moveRequested.emit(index, index - 1)

    def _move_down(self) -> None:
        index = self.current_layer()
        if 0 <= index < self.model.rowCount() - 2:
            self.moveRequested.emit(index, index + 1)

    def _remove(self) -> None:
        index = self.current_layer()
        if index >= 0:
            self.removeRequested.emit(index)

    def _duplicate(self) -> None:
        index = self.current_layer()
        if index >= 0:
            self.duplicateRequested.emit(index)
