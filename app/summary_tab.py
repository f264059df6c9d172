"""The Summary tab: Keras's own ``model.summary()`` and config of the document's model.

Built on a ``BackgroundTask`` (TensorFlow never runs in the GUI thread), only while the tab
is visible and only once per model change; a result for a model that changed meanwhile is
dropped. The model is built with the shape it trains with (``document.input_shape()``).
"""

from __future__ import annotations

import copy
import json
from typing import Any

from PySide6.QtCore import QObject

from app.loader import BackgroundTask


class SummaryTab(QObject):
    def __init__(self, window: Any):
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.page = window.summary_page
        self.dirty = True
        self._tasks: set[BackgroundTask] = set()
        self._stamp = 0
        window.tabs.currentChanged.connect(self._on_tab_changed)

    def visible(self) -> bool:
        return self.window.tabs.currentWidget() is self.page

    def model_changed(self) -> None:
        self.dirty = True
        self._stamp += 1
        if self.visible():
            self.refresh()

    def _on_tab_changed(self, _index: int) -> None:
        if self.visible() and self.dirty:
            self.refresh()

    def refresh(self) -> None:
        self.dirty = False
        model = copy.deepcopy(self.document.project["model"])
        text = self.page.summary_text
        self.page.config_text.setPlainText(
            json.dumps(
                {
                    "class_name": "Functional" if "input_layers" in model else "Sequential",
                    "config": model,
                },
                indent=2,
            )
        )
        if not self.document.ready:
            text.setPlainText("The summary appears once TensorFlow is loaded.")
            return
        error = self.document.stack_error()
        if error and not (self.document.is_functional and self.document.totals()[0]):
            # (a functional model that builds is summarised even when the dataset misfits)
            text.setPlainText(f"The model does not build:\n{error}")
            return
        shape = self.document.input_shape()
        text.setPlainText("Building the model…")
        task = BackgroundTask(lambda: summary_of(model, shape), self)
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

    def _on_done(self, result: tuple[str, str]) -> None:
        if not self._finish():
            return
        summary, config_json = result
        self.page.summary_text.setPlainText(summary)
        self.page.config_text.setPlainText(config_json)

    def _on_failed(self, message: str) -> None:
        if self._finish():
            self.page.summary_text.setPlainText(message)

    def shutdown(self) -> None:
        for task in list(self._tasks):
            task.wait()


def summary_of(model_config: dict, input_shape: tuple | None) -> tuple[str, str]:
    """(model.summary() text, model JSON) — runs in a background thread. Models too big for
    this machine's memory are refused before they are built, and the built model is
    released afterwards (``engine.modelfile.summary_for_config``)."""
    from engine.modelfile import summary_for_config

    return summary_for_config(model_config, input_shape)
