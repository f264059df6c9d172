"""The Summary tab: Keras's own ``model.summary()`` and config of the document's model.

Built on a ``BackgroundTask`` (TensorFlow never runs in the GUI thread), only while the tab
is visible and only once per model change; a result for a model that changed meanwhile is
dropped. The model is built with the shape it trains with (``document.input_shape()``).

Between the summary and the config, a cost table (``widgets.cost_table``): per layer the
multiply-adds, parameter and output memory per sample (``engine.cost``, pure arithmetic on
the document's analysis, so it is worked out in the GUI thread), with totals.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QSplitter

from app.loader import BackgroundTask
from engine import cost as costs
from widgets.cost_table import CostTable


class SummaryTab(QObject):
    def __init__(self, window: Any):
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.page = window.summary_page
        self.dirty = True
        self._tasks: set[BackgroundTask] = set()
        self._stamp = 0
        self.cost_table = CostTable(self.page)
        self.cost_table.note.setToolTip(COST_CONVENTION)
        splitter = self.page.findChild(QSplitter)
        if splitter is not None:  # between model.summary() and the JSON config
            splitter.insertWidget(1, self.cost_table)
            splitter.setSizes([300, 300, 150])
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
        self.show_cost()
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

    def show_cost(self) -> None:
        """Fill the cost table from the document's latest analysis."""
        rows, totals, note = cost_rows(self.document)
        if rows:
            self.cost_table.set_rows(rows, totals, note)
        else:
            self.cost_table.show_message(note)

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


def cost_rows(document: Any) -> tuple[list[list[str]], list[str] | None, str]:
    """(rows, totals, note) for the cost table from ``document``'s latest analysis."""
    if getattr(document, "is_functional", False):
        return [], None, "Per-layer cost is worked out for Sequential models only."
    analysis = getattr(document, "analysis", None)
    if analysis is None:
        return [], None, "The cost appears once the model's shapes are known."
    model = costs.model_cost(
        document.project.get("model"), analysis, getattr(document, "input_signature", None)
    )
    rows = []
    for layer in model.layers:
        ops = f"{costs.format_count(layer.ops)} {layer.ops_kind}" if layer.ops else ""
        rows.append(
            [
                layer.name,
                layer.class_name,
                "—" if layer.macs is None else f"{layer.macs:,}",
                ops,
                costs.format_bytes(layer.param_bytes),
                costs.format_bytes(layer.activation_bytes),
            ]
        )
    totals = [
        "Total",
        f"{len(rows)} layers",
        f"{model.macs:,} ({costs.format_count(model.macs)})",
        "",
        costs.format_bytes(model.param_bytes),
        costs.format_bytes(model.activation_bytes),
    ]
    note = "MACs: multiply-adds per sample (FLOPs ≈ 2 × MACs); hover here for what is counted."
    if not model.complete:
        note = "—: not modelled or not known; the totals add the known values. " + note
    return rows, totals, note


COST_CONVENTION = (
    "MACs: multiply-adds per sample in inference (FLOPs ≈ 2 × MACs). Bias additions and "
    "activation functions are not counted; pooling's comparisons and additions are under "
    "Other ops; an Embedding's lookups too. Params memory: all parameters at the layer's "
    "variable dtype. Output memory: one sample's output at its compute dtype (training keeps "
    "these for the backward pass)."
)
