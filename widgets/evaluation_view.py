"""The evaluation of one run: metrics, confusion heat map, per-class scores, ROC, regression
plots, a gallery of test samples (misclassified first) and a box to predict on new input.

``EvaluationView.show_evaluation(result)`` takes an ``engine.evaluation.Evaluation`` (plain
numpy data; no Keras here). The work itself happens elsewhere (a worker thread in
``app.runs_panel``); ``predictRequested(raw)`` asks the owner to predict on new input and
``show_prediction(text)`` shows the answer.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QImage, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

WRONG_COLOR = QColor(220, 60, 60, 60)
THUMBNAIL = 48
_MAX_LABELLED_CELLS = 20  # up to this many classes, each cell shows its count


def sample_text(sample, limit: int = 160) -> str:
    """A gallery sample as one line of text (for non-image samples)."""
    kind, value = getattr(sample, "kind", ""), getattr(sample, "value", None)
    if kind == "text":
        text = str(value)
    elif kind == "row" and isinstance(value, dict):
        text = ", ".join(f"{k}={_short(v)}" for k, v in value.items())
    else:
        array = np.asarray(value).reshape(-1)
        shown = ", ".join(_short(v) for v in array[:12])
        text = f"[{shown}{', …' if array.size > 12 else ''}]"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(value) -> str:
    try:
        return f"{float(value):.4g}"
    except (TypeError, ValueError):
        return str(value)


def image_pixmap(pixels, size: int = THUMBNAIL) -> QPixmap:
    """A uint8 H×W(×C) array as a pixmap scaled to ``size`` (nearest, so pixels stay crisp)."""
    array = np.asarray(pixels)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    array = np.ascontiguousarray(np.clip(array, 0, 255).astype(np.uint8))
    height, width = array.shape[:2]
    if array.ndim == 2:
        image = QImage(array.data, width, height, width, QImage.Format.Format_Grayscale8)
    else:
        channels = array.shape[2]
        if channels == 4:
            fmt = QImage.Format.Format_RGBA8888
        else:
            array = np.ascontiguousarray(array[:, :, :3])
            channels, fmt = 3, QImage.Format.Format_RGB888
        image = QImage(array.data, width, height, width * channels, fmt)
    return QPixmap.fromImage(image.copy()).scaled(
        size, size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation
    )


class EvaluationView(QWidget):
    """Shows an ``Evaluation``; tabs that do not fit the task are hidden."""

    predictRequested = Signal(object)  # raw input: text, a list of numbers, a dict, a path
    # Look inside (app.inspect_flow): {"what": "activations" | "explain", "rows": [test rows]},
    # {"what": ..., "raw": new input} or {"what": "explain", "cell": (true, predicted)}.
    inspectRequested = Signal(object)

    def _text_color(self):
        return self.palette().color(QPalette.ColorRole.Text)

    def _plot(self, name: str) -> pg.PlotWidget:
        """A plot on the palette's colours, like the training curves (pyqtgraph's own
        default is white on black)."""
        background = self.palette().color(QPalette.ColorRole.Base)
        foreground = self.palette().color(QPalette.ColorRole.Text)
        plot = pg.PlotWidget(background=background)
        plot.setObjectName(name)
        item = plot.getPlotItem()
        for axis in ("left", "bottom", "top", "right"):
            item.getAxis(axis).setPen(foreground)
            item.getAxis(axis).setTextPen(foreground)
        item.titleLabel.setText(item.titleLabel.text, color=foreground)
        plot.setMinimumSize(160, 120)
        return plot

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("evaluationView")
        self.result = None
        self.summary = QLabel("Select a run and press Evaluate.")
        self.summary.setObjectName("evaluationSummary")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("evaluationTabs")

        self.confusion_plot = self._plot("confusionPlot")
        self.confusion_image = pg.ImageItem()
        self.confusion_plot.addItem(self.confusion_image)
        self.confusion_plot.invertY(True)
        self.confusion_plot.setLabel("left", "true class")
        self.confusion_plot.setLabel("bottom", "predicted class")
        self.confusion_texts: list[pg.TextItem] = []

        self.class_table = QTableWidget(0, 5)
        self.class_table.setObjectName("classScores")
        self.class_table.setHorizontalHeaderLabels(
            ["class", "precision", "recall", "F1", "support"]
        )
        self.class_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.class_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.class_table.verticalHeader().setVisible(False)

        self.roc_plot = self._plot("rocPlot")
        self.roc_plot.setLabel("bottom", "false positive rate")
        self.roc_plot.setLabel("left", "true positive rate")
        self.roc_plot.setXRange(0, 1)
        self.roc_plot.setYRange(0, 1)
        self.roc_curve = self.roc_plot.plot(pen=pg.mkPen((40, 120, 220), width=2))
        self.roc_plot.plot(
            [0, 1], [0, 1], pen=pg.mkPen((150, 150, 150), style=Qt.PenStyle.DashLine)
        )

        self.scatter_plot = self._plot("scatterPlot")
        self.scatter_plot.setLabel("bottom", "true value")
        self.scatter_plot.setLabel("left", "predicted value")
        self.scatter = pg.ScatterPlotItem(size=4, pen=None, brush=pg.mkBrush(40, 120, 220, 120))
        self.scatter_plot.addItem(self.scatter)
        self.identity_line = self.scatter_plot.plot(
            pen=pg.mkPen((200, 60, 60), style=Qt.PenStyle.DashLine)
        )

        self.residual_plot = self._plot("residualPlot")
        self.residual_plot.setLabel("bottom", "residual (predicted − true)")
        self.residual_plot.setLabel("left", "count")
        self.residual_bars: pg.BarGraphItem | None = None

        self.gallery = QTableWidget(0, 5)
        self.gallery.setObjectName("evaluationGallery")
        self.gallery.setHorizontalHeaderLabels(["sample", "true", "predicted", "confidence", "#"])
        self.gallery.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.gallery.setIconSize(pg.QtCore.QSize(THUMBNAIL, THUMBNAIL))
        self.gallery.verticalHeader().setDefaultSectionSize(THUMBNAIL + 4)
        self.gallery.horizontalHeader().setStretchLastSection(True)
        self.gallery.verticalHeader().setVisible(False)
        self.gallery.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.gallery.customContextMenuRequested.connect(self._on_gallery_menu)
        self.gallery.setToolTip("Right-click a sample: its layer outputs, or why it was predicted")
        self.confusion_plot.scene().sigMouseClicked.connect(self._on_confusion_clicked)
        self.confusion_plot.setToolTip("Double-click a cell to explain its samples")

        self.predict_page = QWidget()
        self.predict_input = QPlainTextEdit()
        self.predict_input.setObjectName("predictInput")
        self.predict_input.setPlaceholderText(
            "Type or paste a text, a row of numbers (1.2, 3, 4.5 …) or column=value pairs"
        )
        self.predict_button = QPushButton("Predict")
        self.predict_button.setObjectName("predictButton")
        self.open_image_button = QPushButton("Open image…")
        self.open_image_button.setObjectName("predictImageButton")
        self.prediction_label = QLabel("")
        self.prediction_label.setObjectName("predictionLabel")
        self.prediction_label.setWordWrap(True)
        self.prediction_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.input_activations_button = QPushButton("Layer outputs")
        self.input_activations_button.setObjectName("inputActivationsButton")
        self.input_explain_button = QPushButton("Explain")
        self.input_explain_button.setObjectName("inputExplainButton")
        self.input_activations_button.clicked.connect(lambda: self._inspect_input("activations"))
        self.input_explain_button.clicked.connect(lambda: self._inspect_input("explain"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.open_image_button)
        buttons.addStretch(1)
        buttons.addWidget(self.input_activations_button)
        buttons.addWidget(self.input_explain_button)
        buttons.addWidget(self.predict_button)
        predict_layout = QVBoxLayout(self.predict_page)
        predict_layout.addWidget(self.predict_input, 1)
        predict_layout.addLayout(buttons)
        predict_layout.addWidget(self.prediction_label)
        self.predict_button.clicked.connect(self._on_predict_clicked)
        self.open_image_button.clicked.connect(self._on_open_image)

        self.pages = {
            "confusion": (self.confusion_plot, "Confusion matrix"),
            "classes": (self.class_table, "Per class"),
            "roc": (self.roc_plot, "ROC"),
            "scatter": (self.scatter_plot, "Predicted vs true"),
            "residuals": (self.residual_plot, "Residuals"),
            "gallery": (self.gallery, "Gallery"),
            "predict": (self.predict_page, "Predict"),
        }
        self.stack = QStackedWidget()
        self.message = QLabel("")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.tabs)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.stack, 1)
        self.show_message("Select a run and press Evaluate.")

    # -- public ------------------------------------------------------------------------------

    def show_message(self, text: str) -> None:
        """Replace the views with a message (``Evaluating…``, an error, nothing selected);
        the summary line belongs to a shown evaluation, so it is hidden meanwhile."""
        self.message.setText(text)
        self.summary.hide()
        self.stack.setCurrentWidget(self.message)

    def clear(self) -> None:
        self.result = None
        self.summary.clear()
        self.show_message("Select a run and press Evaluate.")

    def show_evaluation(self, result, title: str = "") -> None:
        self.result = result
        self.summary.show()
        metrics = " · ".join(f"{k} {v:.4g}" for k, v in result.metrics.items())
        head = f"<b>{title}</b> — " if title else ""
        extra = ""
        if result.regression is not None:
            stats = result.regression
            extra = f"<br>MAE {stats.mae:.4g} · RMSE {stats.rmse:.4g}"
            if stats.baseline_mae is not None:
                extra += f" · naive baseline MAE {stats.baseline_mae:.4g}"
        if result.roc is not None:
            extra += f"<br>ROC AUC {result.roc.auc:.4f}"
        self.summary.setText(f"{head}test, {result.samples:,} samples: {metrics}{extra}")
        self.tabs.clear()
        if result.confusion is not None:
            self._show_confusion(result.confusion, result.class_names or [])
            self._add_page("confusion")
        if result.per_class:
            self._show_class_scores(result.per_class)
            self._add_page("classes")
        if result.roc is not None:
            self.roc_curve.setData(result.roc.fpr, result.roc.tpr)
            self.roc_plot.setTitle(f"AUC {result.roc.auc:.4f}", color=self._text_color())
            self._add_page("roc")
        if result.regression is not None:
            self._show_regression(result.regression)
            self._add_page("scatter")
            self._add_page("residuals")
        self._show_gallery(result.gallery, result.task)
        self._add_page("gallery")
        self._add_page("predict")
        self.stack.setCurrentWidget(self.tabs)

    def show_prediction(self, text: str) -> None:
        self.prediction_label.setText(text)

    def page_titles(self) -> list[str]:
        return [self.tabs.tabText(i) for i in range(self.tabs.count())]

    # -- pages -------------------------------------------------------------------------------

    def _add_page(self, key: str) -> None:
        widget, title = self.pages[key]
        self.tabs.addTab(widget, title)

    def _show_confusion(self, matrix: np.ndarray, names: list[str]) -> None:
        counts = np.asarray(matrix, dtype=float)
        n = len(counts)
        rows = counts.sum(axis=1, keepdims=True)
        shares = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
        self.confusion_image.setImage(shares.T, levels=(0.0, 1.0))
        self.confusion_image.setColorMap(pg.colormap.get("viridis"))
        for item in self.confusion_texts:
            self.confusion_plot.removeItem(item)
        self.confusion_texts = []
        if n <= _MAX_LABELLED_CELLS:
            for t in range(n):
                for p in range(n):
                    color = "k" if shares[t, p] > 0.6 else "w"
                    text = pg.TextItem(str(int(counts[t, p])), color=color, anchor=(0.5, 0.5))
                    text.setPos(p + 0.5, t + 0.5)
                    self.confusion_plot.addItem(text)
                    self.confusion_texts.append(text)
        ticks = [(i + 0.5, names[i] if i < len(names) else str(i)) for i in range(n)]
        if n > _MAX_LABELLED_CELLS:
            step = max(1, n // _MAX_LABELLED_CELLS)
            ticks = ticks[::step]
        for axis in ("left", "bottom"):
            self.confusion_plot.getAxis(axis).setTicks([ticks])
        self.confusion_plot.setXRange(0, n, padding=0.02)
        self.confusion_plot.setYRange(0, n, padding=0.02)

    def confusion_cell_texts(self) -> list[str]:
        return [item.toPlainText() for item in self.confusion_texts]

    def _show_class_scores(self, scores) -> None:
        self.class_table.setRowCount(len(scores))
        for row, score in enumerate(scores):
            cells = [
                score.name,
                f"{score.precision:.3f}",
                f"{score.recall:.3f}",
                f"{score.f1:.3f}",
                str(score.support),
            ]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if column:
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.class_table.setItem(row, column, item)

    def _show_regression(self, stats) -> None:
        self.scatter.setData(stats.y_true, stats.y_pred)
        if len(stats.y_true):
            low = float(min(stats.y_true.min(), stats.y_pred.min()))
            high = float(max(stats.y_true.max(), stats.y_pred.max()))
            self.identity_line.setData([low, high], [low, high])
        self.scatter_plot.setTitle(
            f"MAE {stats.mae:.4g} · RMSE {stats.rmse:.4g}", color=self._text_color()
        )
        if self.residual_bars is not None:
            self.residual_plot.removeItem(self.residual_bars)
            self.residual_bars = None
        residuals = np.asarray(stats.residuals, dtype=float)
        residuals = residuals[np.isfinite(residuals)]
        if len(residuals):
            counts, edges = np.histogram(residuals, bins=min(50, max(5, len(residuals) // 10)))
            self.residual_bars = pg.BarGraphItem(
                x0=edges[:-1], x1=edges[1:], height=counts, brush=pg.mkBrush(40, 120, 220, 160)
            )
            self.residual_plot.addItem(self.residual_bars)

    def _show_gallery(self, items, task: str) -> None:
        self.gallery.setRowCount(len(items))
        regression = task == "regression"
        self.gallery.setHorizontalHeaderLabels(
            ["sample", "true", "predicted", "error" if regression else "confidence", "#"]
        )
        images = bool(items) and getattr(items[0].sample, "kind", "") == "image"
        header = self.gallery.horizontalHeader()
        if images:
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Fixed)
            self.gallery.setColumnWidth(0, THUMBNAIL + 12)
        else:
            header.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
            self.gallery.setColumnWidth(0, max(320, self.gallery.width() // 2))
        for row, item in enumerate(items):
            sample = item.sample
            cell = QTableWidgetItem()
            if getattr(sample, "kind", "") == "image":
                cell.setIcon(QIcon(image_pixmap(sample.value)))
                cell.setToolTip(f"test sample {item.index}")
            else:
                cell.setText(sample_text(sample))
                cell.setToolTip(sample_text(sample, limit=2000))
            if regression:
                score = "" if item.error is None else f"{item.error:+.4g}"
            else:
                score = "" if item.confidence is None else f"{100 * item.confidence:.1f} %"
            cells = [
                cell,
                QTableWidgetItem(item.true_label),
                QTableWidgetItem(item.predicted_label),
                QTableWidgetItem(score),
                QTableWidgetItem(str(item.index)),
            ]
            for column, widget_item in enumerate(cells):
                if not item.correct:
                    widget_item.setBackground(QBrush(WRONG_COLOR))
                self.gallery.setItem(row, column, widget_item)

    # -- look inside -------------------------------------------------------------------------

    def gallery_rows(self) -> list[int]:
        """Test rows of the gallery's selected samples."""
        if self.result is None:
            return []
        chosen = sorted({index.row() for index in self.gallery.selectedIndexes()})
        return [self.result.gallery[r].index for r in chosen if r < len(self.result.gallery)]

    def gallery_menu(self):
        """The gallery's context menu for the selected samples (None without a selection)."""
        from PySide6.QtWidgets import QMenu

        if not self.gallery_rows():
            return None
        menu = QMenu(self.gallery)
        shown = menu.addAction("Layer outputs for this sample")
        shown.triggered.connect(lambda: self.inspect_gallery("activations"))
        why = menu.addAction("Why this prediction?")
        why.triggered.connect(lambda: self.inspect_gallery("explain"))
        return menu

    def inspect_gallery(self, what: str) -> None:
        """Ask for the layer outputs (first selected sample) or explanations (all selected)."""
        rows = self.gallery_rows()
        if rows:
            self.inspectRequested.emit(
                {"what": what, "rows": rows[:1] if what == "activations" else rows}
            )

    def _on_gallery_menu(self, position) -> None:
        menu = self.gallery_menu()
        if menu is not None:
            menu.exec(self.gallery.viewport().mapToGlobal(position))
            menu.deleteLater()

    def _on_confusion_clicked(self, event) -> None:
        if not event.double() or self.result is None or self.result.confusion is None:
            return
        point = self.confusion_plot.getPlotItem().vb.mapSceneToView(event.scenePos())
        n = len(self.result.confusion)
        predicted, true = int(np.floor(point.x())), int(np.floor(point.y()))
        if 0 <= predicted < n and 0 <= true < n:
            self.explain_cell(true, predicted)

    def explain_cell(self, true: int, predicted: int) -> None:
        """Ask to explain the test samples of one confusion-matrix cell."""
        self.inspectRequested.emit({"what": "explain", "cell": (int(true), int(predicted))})

    def _inspect_input(self, what: str) -> None:
        raw = parse_raw_input(self.predict_input.toPlainText())
        if raw is None:
            self.show_prediction("Type an input first.")
            return
        self.inspectRequested.emit({"what": what, "raw": raw})

    # -- prediction input --------------------------------------------------------------------

    def _on_predict_clicked(self) -> None:
        raw = parse_raw_input(self.predict_input.toPlainText())
        if raw is None:
            self.show_prediction("Type an input first.")
            return
        self.show_prediction("Predicting…")
        self.predictRequested.emit(raw)

    def _on_open_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open an image", "", "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp)"
        )
        if path:
            self.predict_input.setPlainText(path)
            self.show_prediction("Predicting…")
            self.predictRequested.emit(path)


def parse_raw_input(text: str):
    """What the user typed, as the dataset's encoder takes it: numbers → a list of floats,
    ``a=1, b=x`` pairs → a dict, anything else → the text itself (or an image path)."""
    text = text.strip()
    if not text:
        return None
    pieces = [p.strip() for p in text.replace(";", ",").replace("\n", ",").split(",")]
    pieces = [p for p in pieces if p]
    if all("=" in p for p in pieces):
        pairs = [p.split("=", 1) for p in pieces]
        return {k.strip(): _number_or_text(v.strip()) for k, v in pairs}
    flat = text.replace(",", " ").replace(";", " ").split()
    try:
        return [float(v) for v in flat]
    except ValueError:
        return text


def _number_or_text(value: str):
    try:
        return float(value)
    except ValueError:
        return value
