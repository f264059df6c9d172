"""The Weights tab: weights over time of the run selected in the Runs panel.

``WeightsTab(window)`` adds a central tab (``window.weights_page``, a
``widgets.weight_histograms.WeightHistogramView``) after the Graph tab and follows the Runs
panel's selection and the document's runs itself: the last selected run's
``run["weights_history"]`` (recorded when ``fit.record_weights`` is on, see
``engine.weight_recorder``) is shown; a run without one gets a sentence saying how to record
it. Nothing is kept here: each refresh reads the document's runs.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from engine.runs import IMPORTED
from widgets.weight_histograms import WeightHistogramView

TITLE = "Weights"


class WeightsTab(QObject):
    def __init__(self, window: Any):
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.page = WeightHistogramView(window)
        window.weights_page = self.page
        tabs = window.tabs
        after = getattr(window, "graph_page", None) or getattr(window, "summary_page", None)
        index = tabs.indexOf(after) + 1 if isinstance(after, QWidget) else tabs.count()
        tabs.insertTab(index if index > 0 else tabs.count(), self.page, TITLE)
        tabs.setTabToolTip(
            tabs.indexOf(self.page),
            "Weight distributions and norms over the epochs of the selected run",
        )
        self._run_id: str | None = None
        window.runs_panel.table.selectionChangedRuns.connect(self._on_selection)
        self.document.changed.connect(self._on_document_changed)
        self.document.reset.connect(self._on_reset)

    def _on_selection(self, run_ids) -> None:
        ids = list(run_ids or [])
        self._run_id = ids[-1] if ids else None
        self.refresh()

    def _on_document_changed(self, sections) -> None:
        if "runs" in set(sections):
            self.refresh()

    def _on_reset(self) -> None:
        self._run_id = None
        self.page.clear()

    def refresh(self) -> None:
        """Show the selected run's recorded weights (or why there are none)."""
        runs = self.document.project.get("runs") or []
        run = next((r for r in runs if isinstance(r, dict) and r.get("id") == self._run_id), None)
        if run is None:
            self.page.clear()
            return
        if run.get("status") == IMPORTED:  # its weights came from a file: no training here
            self.page.show_message(
                f"{run.get('name')} was opened from a model file, not trained here: its "
                "weights have no history. Train the project with “Record weight histograms” "
                "ticked in the Training panel to see how they change."
            )
            return
        self.page.set_history(run.get("weights_history"), str(run.get("name") or ""))
