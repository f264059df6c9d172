"""Look inside a run: each layer's output on a sample, and why the model predicted what it did.

``InspectFlow(panel)`` listens to the Runs panel's evaluation view (``inspectRequested``: a
gallery sample's context menu, a double-clicked confusion-matrix cell, the Predict page's
"Layer outputs" / "Explain" buttons) and answers in one non-modal ``InspectWindow`` with two
tabs (Layer outputs: ``widgets.activation_view``; Why: ``widgets.explanation_view``). The
work (loading the run's model and dataset, ``engine.inspect_model``) runs on the panel's
worker thread (``RunsPanel._start``), with the model it already loaded when it has one.

A dataset preview sample asks too (``request({"what": "activations", "preview": index,
"sample": {...}})``, from ``DatasetFlow``). While a run trains, ``attach_live(request)``
(``engine.live_activations.LiveRequest``, from ``TrainingFlow``) is kept asking for the shown
sample's layer outputs as long as the window shows them; ``show_live(event)`` draws each
epoch's ``LayerOutputs`` titled "epoch N (training)".
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
        self.live = None  # engine.live_activations.LiveRequest of the run that trains
        self.live_updates = 0  # epochs whose layer outputs were drawn (tests read it)
        self._shown: tuple | None = None  # (encoded sample, title, pixmap) of the layer outputs
        panel.evaluation.inspectRequested.connect(self.request)

    def ensure_window(self) -> InspectWindow:
        if self.window is None:
            self.window = InspectWindow(self.panel)
            self.window.class_combo.currentIndexChanged.connect(self._on_class_chosen)
            self.window.tabs.currentChanged.connect(lambda _index: self._sync_live())
            self.window.finished.connect(lambda _code: self._sync_live())
        return self.window

    def reset(self) -> None:
        """Another project is open: its layer outputs and explanations are gone."""
        self.last_request = None
        self._shown = None
        if self.window is not None:
            self.window.hide()
            self.window.activations.show_message("")
            self.window.explanations.show_message("")
        self._sync_live()

    # ------------------------------------------------------------------ during training
    def attach_live(self, live) -> None:
        """A run started (``live``: its ``LiveRequest``) or ended (None)."""
        if self.live is not None and self.live is not live:
            self.live.cancel()
        self.live = live
        self._sync_live()

    def _watching(self) -> bool:
        window = self.window
        return (
            window is not None
            and window.isVisible()
            and window.tabs.currentWidget() is window.activations
            and self._shown is not None
        )

    def _sync_live(self) -> None:
        """Ask the training run for the shown sample's layer outputs only while they show."""
        if self.live is None:
            return
        if self._watching():
            x_row, title, _pixmap = self._shown
            self.live.ask(x_row, title)
        else:
            self.live.cancel()

    def show_live(self, event) -> None:
        """An epoch's ``engine.events.LayerOutputs`` from the run that trains."""
        if not self._watching():
            return
        window = self.window
        _x, title, pixmap = self._shown
        heading = f"epoch {event.epoch + 1} (training) · {title}"
        if event.message:
            window.status.setText(f"{heading}: {event.message}")
            return
        window.activations.show_activations(list(event.layers), heading, pixmap)
        window.status.setText(f"Layer outputs with the weights after epoch {event.epoch + 1}.")
        self.live_updates += 1

    def _on_class_chosen(self, _index: int) -> None:
        if self.last_request is not None and self.last_request.get("what") == "explain":
            self.request(self.last_request)

    def request(self, payload: dict) -> None:
        """Compute what ``payload`` asks for (see ``EvaluationView.inspectRequested``)."""
        panel = self.panel
        run = panel.current_run()
        if run is None or not run.get("weights") or run.get("status") == "failed":
            if "preview" in payload:
                panel.statusMessage.emit(
                    "Select a trained run in the Runs panel first: its weights compute the "
                    "layer outputs of this sample."
                )
            else:
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
            if result.get("x") is not None:
                self._shown = (result["x"], result["title"], pixmap)
            self._sync_live()
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
        elif "preview" in payload:
            index = int(payload["preview"])
            x_row = preview_row(dataset, index, (payload.get("sample") or {}).get("value"))
            label = (payload.get("sample") or {}).get("label")
            title = f"preview sample {index + 1}" + (f" ({label})" if label else "")
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
            "x": np.asarray(x_row),
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


def preview_row(dataset, index: int, value) -> np.ndarray:
    """The encoded model input of the dataset preview's sample ``index`` (shown as ``value``).

    The preview shows the first training rows: the training part's row ``index`` when it
    displays as ``value``; else ``value`` encoded as new input (text, a table row, pixels)."""
    from engine import inspect_model
    from engine.errors import LayerLabError

    train = dataset.parts.get("train")
    if train is not None and 0 <= index < len(train):
        x_row = train.x.take(np.asarray([index]))[0]
        if value is None or _same(dataset.describe_input(x_row).value, value):
            return x_row
    missing = LayerLabError(
        "This preview sample is not in the selected run's dataset.",
        fix="Select a run trained on this dataset, or pick a sample from its evaluation gallery.",
    )
    if value is None:
        raise missing
    try:
        return inspect_model.encode_one(dataset, value)
    except LayerLabError as error:
        raise missing from error


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        a, b = np.asarray(a), np.asarray(b)
        if a.shape != b.shape or a.dtype.kind in "OUS" or b.dtype.kind in "OUS":
            return False
        return bool(np.allclose(a.astype("float64"), b.astype("float64"), atol=1e-6))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _message(error: BaseException) -> str:
    from engine.errors import LayerLabError

    if isinstance(error, LayerLabError):
        return str(error)
    text = str(error).strip().splitlines()
    return f"Could not look inside this run: {text[-1] if text else type(error).__name__}"
