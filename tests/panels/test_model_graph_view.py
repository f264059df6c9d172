"""The Graph tab's view: boxes top to bottom, zoom, fit, click and keyboard (issue 11)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QColor, QWheelEvent
from PySide6.QtWidgets import QToolButton

from widgets.model_graph_view import ModelGraphPanel, ModelGraphView

# A diamond: input → two branches → Add → output (plain data, as ModelGraph.plain() gives).
GRAPH = {
    "nodes": [
        {"name": "x", "class_name": "InputLayer", "output_shape": "(None, 8)", "params": 0,
         "is_input": True, "is_output": False, "row": 0, "column": 0.0},
        {"name": "left", "class_name": "Dense", "output_shape": "(None, 4)", "params": 36,
         "is_input": False, "is_output": False, "row": 1, "column": -0.5},
        {"name": "right", "class_name": "Dense", "output_shape": "(None, 4)", "params": 36,
         "is_input": False, "is_output": False, "row": 1, "column": 0.5, "calls": 2},
        {"name": "add", "class_name": "Add", "output_shape": "(None, 4)", "params": 0,
         "is_input": False, "is_output": False, "row": 2, "column": 0.0},
        {"name": "out", "class_name": "Dense", "output_shape": "(None, 3)", "params": 15,
         "is_input": False, "is_output": True, "row": 4, "column": 0.0},
    ],
    "edges": [
        {"src": "x", "dst": "left"},
        {"src": "x", "dst": "right"},
        {"src": "left", "dst": "add"},
        {"src": "right", "dst": "add"},
        {"src": "add", "dst": "out", "waypoints": [[3, 0.0]]},
        {"src": "right", "dst": "right"},  # a layer fed its own output: drawn as a loop
    ],
}  # fmt: skip


@pytest.fixture
def panel(qtbot):
    panel = ModelGraphPanel()
    qtbot.addWidget(panel)
    panel.resize(700, 600)
    panel.show()
    qtbot.waitExposed(panel)
    panel.show_graph(GRAPH, "A functional model.")
    return panel


def test_draws_every_node_top_to_bottom(panel):
    view = panel.view
    assert view.objectName() == "modelGraphView"
    assert panel.findChild(type(panel.message), "graphMessage").text() == "A functional model."
    assert sorted(view.node_names()) == ["add", "left", "out", "right", "x"]
    y = {name: view.node_rect(name).center().y() for name in view.node_names()}
    assert y["x"] < y["left"] == y["right"] < y["add"] < y["out"]
    assert view.node_rect("left").center().x() < view.node_rect("right").center().x()
    assert len(view.edge_items) == 6
    assert "used 2×" in view.items_by_name["right"].lines()[3]
    assert view.items_by_name["left"].lines() == ["Dense", "left", "(None, 4)", "36 params"]
    assert view.items_by_name["x"].lines()[3] == ""  # an input has no parameters to show
    # It renders: the grab shows the boxes' fill colours, not only the background.
    image = view.viewport().grab().toImage()
    assert not image.isNull()
    colours = {
        image.pixelColor(x, y).name()
        for x in range(0, image.width(), 4)
        for y in range(0, image.height(), 4)
    }
    assert QColor("#e6eef8").name() in colours  # a layer box
    assert QColor("#fdebd3").name() in colours  # the merge box


def test_click_activates_a_node(panel, qtbot):
    view = panel.view
    centre = view.mapFromScene(view.node_rect("add").center())
    with qtbot.waitSignal(view.nodeActivated) as signal:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert signal.args == ["add"]
    assert view.current_node() == "add"


def test_keyboard_moves_between_nodes_and_activates(panel, qtbot):
    view = panel.view
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_Down)  # no current node yet: the first one
    assert view.current_node() == "x"
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.current_node() in ("left", "right")
    qtbot.keyClick(view, Qt.Key.Key_Left)
    assert view.current_node() == "left"
    qtbot.keyClick(view, Qt.Key.Key_Right)
    assert view.current_node() == "right"
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.current_node() == "add"
    qtbot.keyClick(view, Qt.Key.Key_Up)
    assert view.current_node() in ("left", "right")
    with qtbot.waitSignal(view.nodeActivated) as signal:
        qtbot.keyClick(view, Qt.Key.Key_Return)
    assert signal.args == [view.current_node()]
    view.set_current_node(None)
    qtbot.keyClick(view, Qt.Key.Key_Tab)  # Tab steps through the boxes in reading order
    assert view.current_node() == "x" and view.hasFocus()
    qtbot.keyClick(view, Qt.Key.Key_Tab)
    assert view.current_node() == "left"
    qtbot.keyClick(view, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    assert view.current_node() == "x"
    view.set_current_node(None)
    assert view.focusNextPrevChild(True) and view.current_node() == "x"
    assert view.focusNextPrevChild(True) and view.current_node() == "left"
    assert view.focusNextPrevChild(False) and view.current_node() == "x"


def test_zoom_keys_wheel_and_fit(panel, qtbot):
    view = panel.view
    view.setFocus()
    start = view.zoom()
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    assert view.zoom() > start
    qtbot.keyClick(view, Qt.Key.Key_Minus)
    qtbot.keyClick(view, Qt.Key.Key_Minus)
    assert view.zoom() < start
    qtbot.keyClick(view, Qt.Key.Key_F)
    assert view.zoom() == pytest.approx(start)
    before = view.zoom()
    wheel = QWheelEvent(
        QPointF(50, 50), QPointF(view.mapToGlobal(QPoint(50, 50))), QPoint(0, 0),
        QPoint(0, 120), Qt.MouseButton.NoButton, Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    view.wheelEvent(wheel)
    assert view.zoom() > before
    panel.findChild(QToolButton, "graphFit").click()
    assert view.zoom() == pytest.approx(start)
    # The whole graph is in view after Fit.
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert visible.contains(view.node_rect("x")) and visible.contains(view.node_rect("out"))


def test_a_new_graph_replaces_the_old_and_a_message_clears_it(panel):
    panel.show_graph({"nodes": [GRAPH["nodes"][0]], "edges": []})
    assert panel.view.node_names() == ["x"]
    panel.show_message("The graph appears once TensorFlow is loaded.")
    assert panel.view.node_names() == []
    assert panel.message.text().startswith("The graph appears")
    ModelGraphView().set_graph({"nodes": [{"bad": 1}, "junk"], "edges": [{"src": "?"}]})
