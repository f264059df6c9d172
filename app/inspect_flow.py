"""Look inside a run: each layer's output on a sample, and why the model predicted what it did.

``InspectFlow(panel)`` listens to the Runs panel's evaluation view (``inspectRequested``: a
gallery sample's context menu, a double-clicked confusion-matrix cell, the Predict page's
"Layer outputs" / "Explain" buttons) and answers in one non-modal ``InspectWindow`` with two
tabs (Layer outputs: ``widgets.activation_view``; Why: ``widgets.explanation_view``). The
work (loading the run's model and dataset, ``engine.inspect_model``) runs on the panel's
worker thread (``RunsPanel._start``), with the model it already loaded when it has one.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from widgets.activation_view import ActivationView
from widgets.evaluation_view import image_pixmap
from widgets.explanation_view import ExplanationView

PREDICTED = -1


class InspectWindow(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("inspectWindow")
        self.setWindowTitle("Look inside")
        self.resize(760, 680)
        self.status = QLabel("")
        self.status.setObjectName("inspectStatus")
        self.status.setWordWrap(True)
        self.class_combo = QComboBox()
        self.class_combo.setObjectName("explainClass")
        self.class_combo.setToolTip("The class whose score is explained")
        self.class_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.tabs = QTabWidget()
        self.activations = ActivationView()
        self.explanations = ExplanationView()
        self.tabs.addTab(self.activations, "Layer outputs")
        self.tabs.addTab(self.explanations, "Why")
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(QLabel("Explain class:"))
        top.addWidget(self.class_combo)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.tabs, 1)

    def set_classes(self, names: list[str] | None) -> None:
        wanted = ["the predicted class", *(names or [])]
        current = [self.class_combo.itemText(i) for i in range(self.class_combo.count())]
        if current == wanted:
            return
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem(wanted[0], PREDICTED)
        for i, name in enumerate(names or []):
            self.class_combo.addItem(str(name), i)
        self.class_combo.blockSignals(False)

    def chosen_class(self) -> int | None:
        value = self.class_combo.currentData()
        return None if value in (None, PREDICTED) else int(value)


class InspectFlow(QObject):
    """Wires ``panel.evaluation.inspectRequested`` to the engine and the window."""

    def __init__(self, panel):
        super().__init__(panel)
        self.panel = panel
        self.window: InspectWindow | None = None
        self.last_request: dict | None = None
        panel.evaluation.inspectRequested.connect(self.request)

    def ensure_window(self) -> InspectWindow:
        if self.window is None:
            self.window = InspectWindow(self.panel)
            self.window.class_combo.currentIndexChanged.connect(self._on_class_chosen)
        return self.window

    def reset(self) -> None:
        """Another project is open: its layer outputs and explanations are gone."""
        self.last_request = None
        if self.window is not None:
            self.window.hide()
            self.window.activations.show_message("")
            self.window.explanations.show_message("")

    def _on_class_chosen(self, _index: int) -> None:
        if self.last_request is not None and self.last_request.get("what") == "explain":
            self.request(self.last_request)

    def request(self, payload: dict) -> None:
        """Compute what ``payload`` asks for (see ``EvaluationView.inspectRequested``)."""
        panel = self.panel
        run = panel.current_run()
        if run is None or not run.get("weights") or run.get("status") == "failed":
            panel.statusMessage.emit("Select a trained run first.")
            return
        self.last_request = dict(payload)
        window = self.ensure_window()
        what = payload.get("what", "explain")
        window.tabs.setCurrentIndex(0 if what == "activations" else 1)
        view = window.activations if what == "activations" else window.explanations
        view.show_message(f"Working on {run.get('name')}… (loading its model and data)")
        window.status.setText(str(run.get("name")))
        window.show()
        window.raise_()
        class_index = window.chosen_class()
        titles = self._gallery_titles(payload.get("rows") or [])

        def work(cancelled):
            model, dataset = panel._model_and_dataset(run)
            try:
                result = compute(model, dataset, payload, class_index, titles)
            except Exception as error:  # shown in the window, not only the status bar
                result = {"error": _message(error), "what": payload.get("what", "explain")}
            return run["id"], model, dataset, result

        def done(answer) -> None:
            run_id, model, dataset, result = answer
            panel._loaded = (run_id, model, dataset)
            self.show_result(str(run.get("name")), dataset, result)

        panel._start("inspect", work, done)

    def _gallery_titles(self, rows: list[int]) -> dict[int, str]:
        result = self.panel.evaluation.result
        titles = {}
        for item in getattr(result, "gallery", None) or []:
            if item.index in rows:
                titles[item.index] = (
                    f"test sample {item.index}: true {item.true_label}, "
                    f"predicted {item.predicted_label}"
                )
        return titles

    def show_result(self, run_name: str, dataset, result: dict) -> None:
        window = self.ensure_window()
        window.set_classes(list(getattr(dataset, "class_names", None) or []))
        if "error" in result:
            activations = result.get("what") == "activations"
            view = window.activations if activations else window.explanations
            view.show_message(result["error"])
            return
        if result["what"] == "activations":
            sample = result.get("sample")
            pixmap = (
                image_pixmap(sample.value, 96) if getattr(sample, "kind", "") == "image" else None
            )
            window.activations.show_activations(
                result["layers"], f"{run_name} · {result['title']}", pixmap
            )
            window.tabs.setCurrentWidget(window.activations)
        else:
            window.explanations.show_explanations(
                result["explanations"], f"{run_name} · {result['title']}"
            )
            window.tabs.setCurrentWidget(window.explanations)


def compute(model, dataset, payload: dict, class_index: int | None, titles: dict) -> dict:
    """The engine work for one request (worker thread): a dict for ``show_result``."""
    from engine import inspect_model

    what = payload.get("what", "explain")
    if what == "activations":
        if "raw" in payload:
            x_row = inspect_model.encode_one(dataset, payload["raw"])
            title = "your input"
        else:
            row = int(payload["rows"][0])
            test = dataset.parts["test"]
            x_row = test.x.take(np.asarray([row]))[0]
            title = titles.get(row, f"test sample {row}")
        return {
            "what": what,
            "layers": inspect_model.activations(model, x_row),
            "sample": dataset.describe_input(x_row),
            "title": title,
        }
    if "cell" in payload:
        true, predicted = payload["cell"]
        explained, total = inspect_model.explain_cell(
            model, dataset, true, predicted, class_index=class_index
        )
        names = list(dataset.class_names or [])

        def name(i: int) -> str:
            return names[i] if i < len(names) else str(i)

        kind = "mistakes" if true != predicted else "hits"
        title = (
            f"{total} test samples of true {name(true)} predicted as {name(predicted)} "
            f"({kind}); {'the first ' + str(len(explained)) if total > len(explained) else 'all'}"
            " shown"
        )
        if not total:
            title = f"No test sample of true {name(true)} was predicted as {name(predicted)}."
        return {"what": what, "explanations": explained, "title": title}
    if "raw" in payload:
        explained = [inspect_model.explain_input(model, dataset, payload["raw"], class_index)]
        return {"what": what, "explanations": explained, "title": "your input"}
    rows = [int(r) for r in payload.get("rows") or []]
    explained = inspect_model.explain_test_rows(
        model, dataset, rows, class_index, titles=[titles.get(r, f"test sample {r}") for r in rows]
    )
    return {"what": what, "explanations": explained, "title": f"{len(rows)} test sample(s)"}


def _message(error: BaseException) -> str:
    from engine.errors import LayerLabError

    if isinstance(error, LayerLabError):
        return str(error)
    text = str(error).strip().splitlines()
    return f"Could not look inside this run: {text[-1] if text else type(error).__name__}"
