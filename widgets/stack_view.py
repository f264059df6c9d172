"""The layer stack view: the list (``layerStack``), its keyboard actions and totals.

Ctrl+Up/Down move the selected layer, Delete removes it, Ctrl+D duplicates it; dropping
a palette entry or dragging a row goes through ``StackModel.dropMimeData``. The widget
only emits requests (body indices); the app turns them into undo commands.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QModelIndex, QRect, QSize, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QFrame,
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
    CostRole,
    ErrorRole,
    IsInputRole,
    ParamsRole,
    ShapeRole,
    StackModel,
    TitleRole,
    format_count,
)


class StackDelegate(QStyledItemDelegate):
    """Paints ``[x] icon  title ........ shape   MACs   params`` and, for a broken layer, its
    message. The MACs column (multiply-adds per sample) is left out of a row too narrow for
    it; the row's tooltip always has the cost.

    The "trainable" checkbox is drawn (and clicked) by the style where the row has one; every
    row keeps its width free so icons and titles line up."""

    PADDING = 6
    MIN_TITLE_WIDTH = 14  # characters the title keeps before the cost column is left out

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

        check_width = style.pixelMetric(QStyle.PixelMetric.PM_IndicatorWidth, opt, opt.widget)
        if opt.features & QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator:
            check = style.subElementRect(
                QStyle.SubElement.SE_ItemViewItemCheckIndicator, opt, opt.widget
            )
            line.setLeft(max(line.left(), check.right() + self.PADDING))
        else:
            line.setLeft(line.left() + check_width + self.PADDING // 2)
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
        # The multiply-adds column, where the title keeps room (else only in the tooltip).
        cost_text = index.data(CostRole) or ""
        cost_width = max(metrics.horizontalAdvance(cost_text), metrics.horizontalAdvance("000 K"))
        cost_width = cost_width + 12 if cost_text else 0
        room = params_rect.left() - shape_width - cost_width - left
        if cost_text and room < self.MIN_TITLE_WIDTH * metrics.averageCharWidth():
            cost_text, cost_width = "", 0
        cost_rect = QRect(params_rect.left() - cost_width, line.top(), cost_width, line.height())
        shape_rect = QRect(cost_rect.left() - shape_width, line.top(), shape_width, line.height())
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
        if cost_text:
            painter.drawText(cost_rect, align_right, cost_text)
        if error:
            painter.setPen(ERROR_FOREGROUND if not selected else text_color)
            message_rect = QRect(left, line.bottom() + 2, rect.right() - left, metrics.height())
            message = metrics.elidedText(
                str(error), Qt.TextElideMode.ElideRight, message_rect.width()
            )
            painter.drawText(message_rect, Qt.AlignmentFlag.AlignVCenter, message)
        painter.restore()


class _StackList(QListView):
    """The list itself. Its editing keys (Ctrl+Up/Down, Delete, Ctrl+D) are handled here,
    before QAbstractItemView's cursor movement and before any window shortcut with the same
    keys: a shortcut elsewhere made Ctrl+Up ambiguous, and the key then moved the selection
    instead of the layer. A highlight frame shows when the list has the keyboard focus."""

    focusChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.key_handlers: dict[tuple[int, Qt.KeyboardModifier], Callable[[], None]] = {}

    def _handler(self, event) -> Callable[[], None] | None:
        modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        return self.key_handlers.get((event.key(), modifiers))

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and self._handler(event) is not None:
            event.accept()  # ours: no shortcut may take it
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        handler = self._handler(event)
        if handler is None:
            super().keyPressEvent(event)
            return
        event.accept()
        handler()

    def focusInEvent(self, event) -> None:
        super().focusInEvent(event)
        self.focusChanged.emit(True)

    def focusOutEvent(self, event) -> None:
        super().focusOutEvent(event)
        self.focusChanged.emit(False)


class StackView(QWidget):
    """The stack list with its keyboard actions, an error line and the parameter totals."""

    removeRequested = Signal(int)
    duplicateRequested = Signal(int)
    moveRequested = Signal(int, int)
    currentLayerChanged = Signal(int)  # body index; -1 for the input row or nothing

    def __init__(self, model: StackModel, parent=None):
        super().__init__(parent)
        self.model = model
        self.frame = QFrame(self)
        self.frame.setObjectName("stackFrame")
        frame_layout = QVBoxLayout(self.frame)
        frame_layout.setContentsMargins(2, 2, 2, 2)
        self.list = _StackList(self.frame)
        frame_layout.addWidget(self.list)
        self.list.focusChanged.connect(self._show_focus)
        self._show_focus(False)
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
        self.totalsLabel.setWordWrap(True)  # a narrow window wraps the totals, never widens

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.frame, 1)
        layout.addWidget(self.errorLabel)
        layout.addWidget(self.totalsLabel)

        control = Qt.KeyboardModifier.ControlModifier
        none = Qt.KeyboardModifier.NoModifier
        for text, shortcut, keys, slot in (
            ("Move layer up", "Ctrl+Up", [(Qt.Key.Key_Up, control)], self._move_up),
            ("Move layer down", "Ctrl+Down", [(Qt.Key.Key_Down, control)], self._move_down),
            ("Remove layer", "Del", [(Qt.Key.Key_Delete, none)], self._remove),
            ("Duplicate layer", "Ctrl+D", [(Qt.Key.Key_D, control)], self._duplicate),
        ):
            self._add_action(text, shortcut, slot)
            for key in keys:
                self.list.key_handlers[key] = slot
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.list.selectionModel().currentChanged.connect(self._on_current_changed)

    def _add_action(self, text, shortcut, slot) -> QAction:
        """A context-menu entry; its shortcut is shown there, the key is the list's."""
        action = QAction(text, self.list)
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        action.triggered.connect(slot)
        self.list.addAction(action)
        return action

    # Focus --------------------------------------------------------------------------
    def _show_focus(self, focused: bool) -> None:
        color = self.palette().color(QPalette.ColorRole.Highlight) if focused else None
        border = color.name() if color is not None else "transparent"
        self.frame.setStyleSheet(
            f"QFrame#stackFrame {{ border: 2px solid {border}; border-radius: 3px; }}"
        )
        self.frame.setProperty("focused", focused)

    def has_focus_ring(self) -> bool:
        return bool(self.frame.property("focused"))

    def focus_list(self) -> None:
        """Give the list the keyboard focus (after a layer was added from the palette by
        keyboard, so that Ctrl+Up/Down, Ctrl+D and Delete act on it); the current layer
        stays selected and in view."""
        self.list.setFocus(Qt.FocusReason.OtherFocusReason)
        current = self.list.currentIndex()
        if current.isValid():
            self.list.scrollTo(current)

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
    def set_totals(self, total: int | None, trainable: int | None, cost: str = "") -> None:
        """The parameter totals; ``cost``: the model's multiply-adds per sample, as text."""
        if total is None:
            self.totalsLabel.setText("Parameters: —")
            return
        frozen = total - (trainable or 0)
        text = f"Total params: {total:,}   ·   trainable: {trainable or 0:,}"
        if frozen:
            text += f"   ·   non-trainable: {frozen:,}"
        if cost:
            text += f"   ·   {cost}"
        self.totalsLabel.setText(text)

    def set_error(self, message: str | None) -> None:
        self.errorLabel.setText(message or "")
        self.errorLabel.setVisible(bool(message))

    # Keyboard actions ---------------------------------------------------------------
    def _move_up(self) -> None:
        index = self.current_layer()
        if index > 0:
            self._move(index, index - 1)

    def _move_down(self) -> None:
        index = self.current_layer()
        if 0 <= index < self.model.rowCount() - 2:
            self._move(index, index + 1)

    def _move(self, source: int, destination: int) -> None:
        """Ask for the move; then the selection follows the moved layer (by its key), even
        when the owner refreshed the model with a reset rather than a row move."""
        rows = self.model.rows()
        key = rows[source + 1].key if source + 1 < len(rows) else None
        self.moveRequested.emit(source, destination)
        keys = [row.key for row in self.model.rows()]
        if key in keys and keys.index(key) != self.list.currentIndex().row():
            self.select_layer(keys.index(key) - 1)

    def _remove(self) -> None:
        index = self.current_layer()
        if index >= 0:
            self.removeRequested.emit(index)

    def _duplicate(self) -> None:
        index = self.current_layer()
        if index >= 0:
            self.duplicateRequested.emit(index)
