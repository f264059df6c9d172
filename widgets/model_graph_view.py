"""A model's layer graph drawn top to bottom, like Netron: one rounded box per layer.

``ModelGraphView`` (a ``QGraphicsView``) draws a plain structure (no Keras here): a dict
``{"nodes": [...], "edges": [...]}`` whose nodes carry ``name``, ``class_name``,
``output_shape`` (text), ``params`` (int or None), ``is_input``, ``is_output``, ``row``
(0 at the top), ``column`` (a float, in box widths) and optionally ``calls`` (how often a
shared layer is used); edges carry ``src``, ``dst`` and optional ``waypoints``
(``[row, column]`` pairs an edge passes through). ``engine.model_graph.ModelGraph.plain()``
gives exactly that.

Each box shows the class name in bold, the layer name, the output shape and the parameter
count; edges are curves with arrow heads. A new graph is shown whole when that keeps its
text legible, else from its top; Ctrl+wheel or +/- zoom, F or 0 fits the whole graph to the
view; clicking a box, or Enter on the current one, emits ``nodeActivated(name)``. The
keyboard moves between boxes: Tab/Shift+Tab in reading order, the arrow keys to the nearest
box above, below, left or right. ``ModelGraphPanel`` adds a message line and Fit/zoom
buttons above the view.
"""

from __future__ import annotations

import itertools
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QKeyEvent,
    QPainter,
    QPainterPath,
    QPen,
    QPolygonF,
    QWheelEvent,
)
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsPathItem,
    QGraphicsScene,
    QGraphicsView,
    QHBoxLayout,
    QLabel,
    QStyleOptionGraphicsItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

NODE_WIDTH = 200.0
NODE_HEIGHT = 74.0
COLUMN_STEP = 240.0  # one column unit, in scene pixels
ROW_STEP = 120.0
MIN_ZOOM, MAX_ZOOM = 0.1, 4.0
READABLE_ZOOM = 0.7  # the smallest zoom at which a box's text is legible
ZOOM_STEP = 1.25

MERGE_CLASSES = frozenset(
    {"Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot"}
)
MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})

# (fill, border) per kind of node.
COLOURS = {
    "input": ("#e3f4e6", "#3c8d4f"),
    "merge": ("#fdebd3", "#c07a1c"),
    "model": ("#ece4f7", "#7153a8"),
    "layer": ("#e6eef8", "#4a6f9c"),
}
OUTPUT_BORDER = "#b3261e"
EDGE_COLOUR = "#6b7785"
FOCUS_COLOUR = "#1f6fd6"


def _kind(node: dict) -> str:
    if node.get("class_name") == "InputLayer" or node.get("is_input"):
        return "input"
    if node.get("class_name") in MERGE_CLASSES:
        return "merge"
    if node.get("class_name") in MODEL_CLASSES:
        return "model"
    return "layer"


def params_text(params: Any) -> str:
    if params is None:
        return ""
    return f"{int(params):,} params"


class NodeItem(QGraphicsItem):
    """One layer's box. ``node`` is the plain dict it was made from."""

    def __init__(self, node: dict, font: QFont):
        super().__init__()
        self.node = node
        self.name = str(node.get("name", ""))
        self._font = QFont(font)
        self._bold = QFont(font)
        self._bold.setBold(True)
        self.current = False
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable, True)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(self._tooltip())

    def lines(self) -> list[str]:
        node = self.node
        shape = str(node.get("output_shape") or "")
        calls = int(node.get("calls") or 1)
        is_input_layer = node.get("class_name") == "InputLayer"
        extra = [] if is_input_layer else [params_text(node.get("params"))]
        if calls > 1:
            extra.append(f"used {calls}×")
        return [
            str(node.get("class_name", "")),
            self.name,
            shape or "shape unknown",
            " · ".join(part for part in extra if part),
        ]

    def _tooltip(self) -> str:
        node = self.node
        role = []
        if node.get("is_input"):
            role.append("model input")
        if node.get("is_output"):
            role.append("model output")
        lines = self.lines()
        text = f"<b>{lines[0]}</b> '{self.name}'<br>output {lines[2]}"
        if lines[3]:
            text += f"<br>{lines[3]}"
        if role:
            text += f"<br>{', '.join(role)}"
        return text

    def boundingRect(self) -> QRectF:
        return QRectF(-NODE_WIDTH / 2 - 3, -NODE_HEIGHT / 2 - 3, NODE_WIDTH + 6, NODE_HEIGHT + 6)

    def box(self) -> QRectF:
        return QRectF(-NODE_WIDTH / 2, -NODE_HEIGHT / 2, NODE_WIDTH, NODE_HEIGHT)

    def paint(self, painter: QPainter, _option: QStyleOptionGraphicsItem, _widget=None) -> None:
        fill, border = COLOURS[_kind(self.node)]
        if self.node.get("is_output"):
            border = OUTPUT_BORDER
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        width = 1.5
        if self.current or self.isSelected():
            border, width = FOCUS_COLOUR, 3.0
        painter.setPen(QPen(QColor(border), width))
        painter.setBrush(QBrush(QColor(fill)))
        painter.drawRoundedRect(self.box(), 9, 9)
        painter.setPen(QColor("#1d232b"))
        lines = self.lines()
        metrics = QFontMetricsF(self._font)
        step = metrics.height() + 1
        top = -2 * step + metrics.ascent() - step * 0.05
        for i, text in enumerate(lines):
            font = self._bold if i == 0 else self._font
            painter.setFont(font)
            shown = QFontMetricsF(font).elidedText(
                text, Qt.TextElideMode.ElideMiddle, NODE_WIDTH - 16
            )
            if i == 3:
                painter.setPen(QColor("#4e5965"))
            painter.drawText(QPointF(-NODE_WIDTH / 2 + 10, top + i * step), shown)


class EdgeItem(QGraphicsPathItem):
    def __init__(self, src: str, dst: str, points: list[QPointF], back: bool):
        super().__init__()
        self.src, self.dst = src, dst
        path = QPainterPath(points[0])
        if back:  # an edge going up (a layer fed its own output): a loop at the side
            start, end = points[0], points[-1]
            side = max(start.x(), end.x()) + NODE_WIDTH * 0.75
            path.cubicTo(QPointF(side, start.y()), QPointF(side, end.y()), end)
        else:
            for a, b in itertools.pairwise(points):
                middle = (a.y() + b.y()) / 2
                path.cubicTo(QPointF(a.x(), middle), QPointF(b.x(), middle), b)
        self.setPath(path)
        pen = QPen(QColor(EDGE_COLOUR), 1.6)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        self.setPen(pen)
        self.setZValue(-1)
        tip = points[-1]
        angle_from = path.pointAtPercent(0.97)
        self.head = _arrow_head(angle_from, tip)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        super().paint(painter, option, widget)
        painter.setBrush(QColor(EDGE_COLOUR))
        painter.drawPolygon(self.head)

    def boundingRect(self) -> QRectF:
        return super().boundingRect().united(self.head.boundingRect()).adjusted(-2, -2, 2, 2)


def _arrow_head(before: QPointF, tip: QPointF, size: float = 9.0) -> QPolygonF:
    dx, dy = tip.x() - before.x(), tip.y() - before.y()
    length = (dx * dx + dy * dy) ** 0.5 or 1.0
    ux, uy = dx / length, dy / length
    back = QPointF(tip.x() - ux * size, tip.y() - uy * size)
    left = QPointF(back.x() - uy * size * 0.5, back.y() + ux * size * 0.5)
    right = QPointF(back.x() + uy * size * 0.5, back.y() - ux * size * 0.5)
    return QPolygonF([tip, left, right])


class ModelGraphView(QGraphicsView):
    """The graph; ``set_graph(plain)`` replaces what is drawn."""

    nodeActivated = Signal(str)
    currentNodeChanged = Signal(str)
    zoomChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("modelGraphView")
        self.setScene(QGraphicsScene(self))
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setBackgroundBrush(QColor("#fbfbfc"))
        self.setAccessibleName("Model graph")
        self.setAccessibleDescription(
            "The model's layers from input to output. Tab or the arrow keys move between "
            "layers; Enter selects one; plus and minus zoom; F fits the graph to the view."
        )
        self.items_by_name: dict[str, NodeItem] = {}
        self.edge_items: list[EdgeItem] = []
        self._order: list[str] = []
        self._current: str | None = None

    # -------------------------------------------------------------------------- content
    def set_graph(self, graph: dict | None) -> None:
        """Draw ``graph`` (the plain structure described in the module docstring)."""
        current = self._current
        self.scene().clear()
        self.items_by_name, self.edge_items = {}, []
        self._current = None
        graph = graph or {}
        nodes = [n for n in graph.get("nodes") or [] if isinstance(n, dict) and n.get("name")]
        for node in nodes:
            item = NodeItem(node, self.font())
            item.setPos(self._point(node.get("row", 0), node.get("column", 0.0)))
            self.scene().addItem(item)
            self.items_by_name[item.name] = item
        for edge in graph.get("edges") or []:
            self._add_edge(edge)
        self._order = [
            item.name for item in sorted(self.items_by_name.values(), key=lambda i: (i.y(), i.x()))
        ]
        rect = self.scene().itemsBoundingRect().adjusted(-40, -40, 40, 40)
        self.scene().setSceneRect(rect)
        if current in self.items_by_name:
            self.set_current_node(current, emit=False)
        self.fit(readable=True)

    def clear(self) -> None:
        self.set_graph(None)

    def node_names(self) -> list[str]:
        """Names of the drawn nodes, top to bottom then left to right."""
        return list(self._order)

    def node_rect(self, name: str) -> QRectF:
        """The box of node ``name`` in scene coordinates."""
        item = self.items_by_name[name]
        return item.mapRectToScene(item.box())

    def _point(self, row: Any, column: Any) -> QPointF:
        return QPointF(float(column) * COLUMN_STEP, float(row) * ROW_STEP)

    def _add_edge(self, edge: dict) -> None:
        src, dst = edge.get("src"), edge.get("dst")
        a, b = self.items_by_name.get(src), self.items_by_name.get(dst)
        if a is None or b is None:
            return
        back = b.y() <= a.y()
        start = QPointF(a.x(), a.y() + NODE_HEIGHT / 2)
        end = QPointF(b.x(), b.y() - NODE_HEIGHT / 2)
        if back:
            start = QPointF(a.x() + NODE_WIDTH / 2, a.y())
            end = QPointF(b.x() + NODE_WIDTH / 2, b.y() - NODE_HEIGHT / 4)
            points = [start, end]
        else:
            middle = [self._point(r, c) for r, c in edge.get("waypoints") or []]
            points = [start, *middle, end]
        item = EdgeItem(src, dst, points, back)
        self.scene().addItem(item)
        self.edge_items.append(item)

    # -------------------------------------------------------------------------- current node
    def current_node(self) -> str | None:
        return self._current

    def set_current_node(self, name: str | None, *, emit: bool = True) -> None:
        if name == self._current:
            return
        old = self.items_by_name.get(self._current or "")
        if old is not None:
            old.current = False
            old.update()
        self._current = name if name in self.items_by_name else None
        item = self.items_by_name.get(self._current or "")
        if item is not None:
            item.current = True
            item.update()
            self.ensureVisible(item, 30, 30)
        if emit:
            self.currentNodeChanged.emit(self._current or "")

    def _neighbour(self, key: int) -> str | None:
        if not self._order:
            return None
        if self._current is None:
            return self._order[0]
        here = self.items_by_name[self._current]
        best, best_cost = None, None
        for name, item in self.items_by_name.items():
            if name == self._current:
                continue
            dx, dy = item.x() - here.x(), item.y() - here.y()
            if key == Qt.Key.Key_Down and dy > 1:
                cost = (dy, abs(dx))
            elif key == Qt.Key.Key_Up and dy < -1:
                cost = (-dy, abs(dx))
            elif key == Qt.Key.Key_Right and abs(dy) < 1 and dx > 1:
                cost = (dx, 0)
            elif key == Qt.Key.Key_Left and abs(dy) < 1 and dx < -1:
                cost = (-dx, 0)
            else:
                continue
            if best_cost is None or cost < best_cost:
                best, best_cost = name, cost
        return best

    # -------------------------------------------------------------------------- zoom
    def zoom(self) -> float:
        return self.transform().m11()

    def zoom_by(self, factor: float) -> None:
        target = min(MAX_ZOOM, max(MIN_ZOOM, self.zoom() * factor))
        if target != self.zoom():
            self.scale(target / self.zoom(), target / self.zoom())
            self.zoomChanged.emit(self.zoom())

    def zoom_in(self) -> None:
        self.zoom_by(ZOOM_STEP)

    def zoom_out(self) -> None:
        self.zoom_by(1 / ZOOM_STEP)

    def fit(self, readable: bool = False) -> None:
        """Show the whole graph (never magnified beyond 1:1: a small graph stays readable).
        ``readable``: a graph too tall for that is shown from its top at the smallest zoom
        whose text is still legible (``READABLE_ZOOM``) instead."""
        rect = self.scene().sceneRect()
        if rect.isEmpty():
            return
        self.resetTransform()
        self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
        zoom = min(1.0, max(MIN_ZOOM, self.zoom()))
        if readable:
            zoom = min(1.0, max(zoom, READABLE_ZOOM))
        self.resetTransform()
        self.scale(zoom, zoom)
        visible_height = self.viewport().height() / zoom
        if visible_height >= rect.height():
            self.centerOn(rect.center())
        else:
            self.centerOn(rect.center().x(), rect.top() + visible_height / 2)
        self.zoomChanged.emit(self.zoom())

    # -------------------------------------------------------------------------- events
    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            delta = event.angleDelta().y()
            if delta:
                self.zoom_by(ZOOM_STEP if delta > 0 else 1 / ZOOM_STEP)
            event.accept()
            return
        super().wheelEvent(event)

    def mousePressEvent(self, event) -> None:
        item = self._node_at(event.position().toPoint())
        if item is not None and event.button() == Qt.MouseButton.LeftButton:
            self.setFocus(Qt.FocusReason.MouseFocusReason)
            self.set_current_node(item.name)
            self.nodeActivated.emit(item.name)
            event.accept()
            return
        super().mousePressEvent(event)

    def _node_at(self, pos) -> NodeItem | None:
        for item in self.items(pos):
            if isinstance(item, NodeItem):
                return item
        return None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        text = event.text()
        if text in ("+", "=") or key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_in()
        elif text in ("-", "_") or key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom_out()
        elif key in (Qt.Key.Key_F, Qt.Key.Key_0):
            self.fit()
        elif key in (Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Left, Qt.Key.Key_Right):
            target = self._neighbour(key)
            if target is not None:
                self.set_current_node(target)
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            if self._current is not None:
                self.nodeActivated.emit(self._current)
        elif key == Qt.Key.Key_Home and self._order:
            self.set_current_node(self._order[0])
        elif key == Qt.Key.Key_End and self._order:
            self.set_current_node(self._order[-1])
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def focusNextPrevChild(self, forward: bool) -> bool:
        """Tab / Shift+Tab step through the boxes in reading order; past the last (or before
        the first) box the focus leaves the view as usual."""
        if self._order and self.hasFocus():
            if self._current is None:
                index = 0 if forward else len(self._order) - 1
            else:
                index = self._order.index(self._current) + (1 if forward else -1)
            if 0 <= index < len(self._order):
                self.set_current_node(self._order[index])
                return True
            self.set_current_node(None)
        return super().focusNextPrevChild(forward)


class ModelGraphPanel(QWidget):
    """The Graph tab: a message line, Fit and zoom buttons, and the view."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("graphPage")
        self.view = ModelGraphView(self)
        self.message = QLabel(self)
        self.message.setObjectName("graphMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.message, 1)
        for name, text, tip, slot in (
            ("graphZoomOut", "−", "Zoom out (-, Ctrl+wheel)", self.view.zoom_out),
            ("graphZoomIn", "+", "Zoom in (+, Ctrl+wheel)", self.view.zoom_in),
            ("graphFit", "Fit", "Show the whole graph (F)", self.view.fit),
        ):
            button = QToolButton(self)
            button.setObjectName(name)
            button.setText(text)
            button.setToolTip(tip)
            button.setAccessibleName(tip.split(" (")[0])
            button.clicked.connect(slot)
            row.addWidget(button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(row)
        layout.addWidget(self.view, 1)

    def show_graph(self, graph: dict | None, message: str = "") -> None:
        self.view.set_graph(graph)
        self.message.setText(message)

    def show_message(self, message: str) -> None:
        """Only a sentence (loading, an error): the drawing is cleared."""
        self.view.clear()
        self.message.setText(message)
