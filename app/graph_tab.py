"""The Graph tab: the document's model drawn as a layer graph (``engine.model_graph``).

``GraphTab(window)`` adds the tab (``window.graph_page``, a ``ModelGraphPanel``) after the
Summary tab and follows the document itself: ``changed`` (model or signature) and ``reset``
mark the graph stale; it is worked out on a ``BackgroundTask`` (Keras never runs in the GUI
thread) only while the tab is visible, once per change, and a result for a model that
changed meanwhile is dropped. Nothing of the model is kept here: each refresh reads the
document.

For a functional model it also puts the read-only notice above the stack (the heading that
otherwise says how to drag layers). Clicking a box of a Sequential model selects that layer
in the stack; for a functional model the status bar names the layer.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QLabel

from app.loader import BackgroundTask
from app.stack_rows import FUNCTIONAL_NOTICE
from widgets.model_graph_view import ModelGraphPanel, params_text

TITLE = "Graph"


class GraphTab(QObject):
    def __init__(self, window: Any):
        super().__init__(window)
        from PySide6.QtWidgets import QWidget

        self.window = window
        self.document = window.document
        self.page = ModelGraphPanel(window)
        window.graph_page = self.page
        tabs = window.tabs
        after = getattr(window, "summary_page", None)
        index = tabs.indexOf(after) + 1 if isinstance(after, QWidget) else tabs.count()
        tabs.insertTab(index if index > 0 else tabs.count(), self.page, TITLE)
        self.page.setToolTip("The model's layers from input to output")
        self.dirty = True
        self._stamp = 0
        self._tasks: set[BackgroundTask] = set()
        self._names: list[str] = []  # node names of the graph on show (Sequential: in order)
        self._functional_shown = False
        self._heading_text: str | None = None
        tabs.currentChanged.connect(self._on_tab_changed)
        self.document.changed.connect(self._on_document_changed)
        self.document.reset.connect(self.model_changed)
        self.page.view.nodeActivated.connect(self._on_node_activated)
        self._update_heading()

    # ----------------------------------------------------------------------------- state
    def visible(self) -> bool:
        return self.window.tabs.currentWidget() is self.page

    def _on_document_changed(self, sections) -> None:
        if {"model", "signature"} & set(sections):
            self.model_changed()

    def model_changed(self) -> None:
        self.dirty = True
        self._stamp += 1
        self._update_heading()
        if self.visible():
            self.refresh()

    def _on_tab_changed(self, _index: int) -> None:
        if self.visible() and self.dirty:
            self.refresh()

    def _update_heading(self) -> None:
        """The notice above the stack for a functional model; the usual heading otherwise."""
        heading = self.window.findChild(QLabel, "stackHeading")
        if heading is None:
            return
        functional = self.document.is_functional
        if functional and not self._functional_shown:
            self._heading_text = heading.text()
            heading.setText(f"<b>Model</b> — {FUNCTIONAL_NOTICE}")
        elif not functional and self._functional_shown and self._heading_text is not None:
            heading.setText(self._heading_text)
        self._functional_shown = functional

    # ----------------------------------------------------------------------------- work
    def refresh(self) -> None:
        self.dirty = False
        if not self.document.ready:
            self.page.show_message("The graph appears once TensorFlow is loaded.")
            return
        model = copy.deepcopy(self.document.project["model"])
        shape = self.document.input_signature  # as in training: the dataset's shape wins
        self.page.message.setText("Drawing the graph…")
        task = BackgroundTask(lambda: graph_data(model, shape), self)
        task.stamp = self._stamp
        task.done.connect(self._on_done)
        task.failed.connect(self._on_failed)
        self._tasks.add(task)
        task.start()

    def _finish(self) -> bool:
        task = self.sender()
        current = getattr(task, "stamp", None) == self._stamp
        self._tasks.discard(task)
        if task is not None:
            task.deleteLater()
        return current

    def _on_done(self, plain: dict) -> None:
        if not self._finish():
            return
        self._names = [node["name"] for node in plain.get("nodes", [])]
        self.page.show_graph(plain, describe(plain))

    def _on_failed(self, message: str) -> None:
        if self._finish():
            self._names = []
            self.page.show_message(message)

    def _on_node_activated(self, name: str) -> None:
        if not self.document.is_functional and name in self._names:
            self.window.select_layer(self._names.index(name) - 1)  # node 0 is the input
            return
        item = self.page.view.items_by_name.get(name)
        if item is not None:
            lines = [line for line in item.lines() if line]
            self.window.show_problem(f"{lines[0]} '{name}': " + ", ".join(lines[2:]))

    def shutdown(self) -> None:
        for task in list(self._tasks):
            task.wait()


def describe(plain: dict) -> str:
    """The line above the graph: what it is, its size, and any problem."""
    nodes = plain.get("nodes") or []
    layers = sum(1 for node in nodes if node.get("class_name") != "InputLayer")
    kind = "Functional model" if plain.get("functional") else "Sequential model"
    text = f"{kind}: {layers} layer{'s' if layers != 1 else ''}"
    total = plain.get("total_params")
    if total is not None:
        text += f", {params_text(total).replace(' params', ' parameters')}"
    text += "."
    if plain.get("functional"):
        text += " Read-only: editing branches is not available yet."
    if plain.get("error"):
        text += f" {plain['error']}"
    return text


def graph_data(model: dict, input_shape: tuple | None) -> dict:
    """``engine.model_graph.graph_of(model).plain()`` — runs in a background thread."""
    from engine.model_graph import graph_of

    return graph_of(model, input_shape).plain()
