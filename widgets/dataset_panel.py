"""The dataset panel: pick a source and its options, preview what it loads.

The panel edits a project's ``"dataset"`` block and shows a loaded dataset; it loads
nothing itself (no Keras here). The window wires it to ``app.dataset_controller``:

- ``set_option_provider(options, names)`` gives it ``engine.datasets.source_options`` and
  ``engine.datasets.dataset_names`` (both Keras-free to call).
- ``set_block(block)`` shows a project's block without emitting; every user edit emits
  ``blockEdited(new_block)`` once — the window turns it into an undo command and calls
  ``set_block`` back.
- ``previewRequested`` asks the window to load the current block; the window answers with
  ``show_loading(text, fraction)``, then ``show_dataset(info)`` or ``show_error(message)``.
- ``suggestHeadRequested`` asks the window to fix the stack's head for this dataset.

``info`` is a plain dict: ``task, input_shape, num_classes, class_names, train_size,
val_size, test_size, description`` and ``samples`` (dicts ``kind, value, label`` with
``kind`` one of image (uint8 array H×W or H×W×C), text (str), row (dict column → value),
vector (1-D numbers), series (2-D time × features numbers)); optional ``columns`` for rows
and ``baseline_mae``.
"""

from __future__ import annotations

import copy
import csv
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPen, QPixmap, QPolygonF
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from widgets.option_form import Option, OptionForm
from widgets.wrapping_row import WrappingRow

SOURCE_LABELS: dict[str, str] = {
    "keras": "Keras built-in dataset",
    "sample": "Offline sample (scikit-learn)",
    "csv": "CSV table",
    "timeseries": "Time series (CSV)",
    "text_folder": "Text folder",
    "image_folder": "Image folder",
    "npz": "NumPy arrays (.npz)",
}
TASK_LABELS = {
    "binary": "Binary classification",
    "multiclass": "Multi-class classification",
    "multilabel": "Multi-label classification",
    "regression": "Regression",
}
THUMBNAIL = 72
SPARKLINE = QSize(150, 56)
MAX_TEXT_CHARS = 600

OptionProvider = Callable[[str, str | None], Sequence[Any]]
NameProvider = Callable[[str], Sequence[str]]


def read_csv_header(path: str, delimiter: str = ",", encoding: str = "utf-8") -> list[str]:
    """The column names on the first line of a CSV file; [] when it cannot be read."""
    try:
        with open(path, newline="", encoding=encoding or "utf-8", errors="replace") as handle:
            row = next(csv.reader(handle, delimiter=(delimiter or ",")[:1]), [])
    except (OSError, LookupError, csv.Error):
        return []
    return [name.strip() for name in row if name.strip()]


def image_from_array(array: Any) -> QImage:
    """A QImage (a deep copy) of a uint8 image array H×W, H×W×1, H×W×3 or H×W×4."""
    pixels = np.asarray(array)
    if pixels.dtype != np.uint8:
        top = float(pixels.max()) if pixels.size else 1.0
        scale = 255.0 if top <= 1.0 else 1.0
        pixels = np.clip(pixels * scale, 0, 255).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    pixels = np.ascontiguousarray(pixels)
    height, width = pixels.shape[:2]
    if pixels.ndim == 2:
        fmt, stride = QImage.Format.Format_Grayscale8, width
    elif pixels.shape[2] == 3:
        fmt, stride = QImage.Format.Format_RGB888, width * 3
    elif pixels.shape[2] == 4:
        fmt, stride = QImage.Format.Format_RGBA8888, width * 4
    else:
        raise ValueError(f"cannot show an image with shape {pixels.shape}")
    return QImage(pixels.data, width, height, stride, fmt).copy()


def sparkline(values: Any, size: QSize, color: QColor, background: QColor) -> QPixmap:
    """A small line drawing of a series (first feature column of a 2-D array)."""
    data = np.asarray(values, dtype=float)
    if data.ndim > 1:
        data = data[:, 0]
    pixmap = QPixmap(size)
    pixmap.fill(background)
    finite = data[np.isfinite(data)]
    if len(finite) < 2:
        return pixmap
    low, high = float(finite.min()), float(finite.max())
    span = high - low or 1.0
    margin = 4
    width, height = size.width() - 2 * margin, size.height() - 2 * margin
    count = len(data)
    points = QPolygonF(
        [
            QPointF(margin + width * i / (count - 1), margin + height * (1 - (v - low) / span))
            for i, v in enumerate(np.nan_to_num(data, nan=low))
        ]
    )
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(color, 1.4))
    painter.drawPolyline(points)
    painter.end()
    return pixmap


def format_shape(shape: Any) -> str:
    if shape is None:
        return "—"
    items = ["None" if s is None else str(s) for s in shape]
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def format_number(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)


class DatasetPanel(QWidget):
    """Dataset source, options and a preview of the loaded data (objectName ``datasetPanel``)."""

    blockEdited = Signal(object)
    previewRequested = Signal()
    suggestHeadRequested = Signal()
    sampleInspectRequested = Signal(int, object)  # preview index, its sample dict

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("datasetPanel")
        self._block: dict = {}
        self._options_for: OptionProvider | None = None
        self._names_for: NameProvider | None = None
        self._options_key: tuple | None = None
        self._build()
        self._set_state("empty")

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        # Up and down only: every row fits the dock's width (buttons stack when narrow).
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setObjectName("datasetScroll")
        outer.addWidget(scroll)
        self.scroll = scroll
        body = QWidget()
        scroll.setWidget(body)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(10)

        source_box = QGroupBox("Source")
        source_layout = QVBoxLayout(source_box)
        self.source_combo = QComboBox()
        self.source_combo.setObjectName("datasetSource")
        self.source_combo.setToolTip("Where the data comes from")
        for source, label in SOURCE_LABELS.items():
            self.source_combo.addItem(label, source)
        self.source_combo.activated.connect(self._on_source_activated)
        source_label = QLabel("&Source:")
        source_label.setBuddy(self.source_combo)
        self.form = OptionForm()
        self.form.setObjectName("datasetOptions")
        self.form.add_fixed_row(source_label, self.source_combo)
        self.form.valueEdited.connect(self._on_value_edited)
        self.form.pathChosen.connect(self._on_path_chosen)
        source_layout.addWidget(self.form)
        layout.addWidget(source_box)

        buttons = WrappingRow()
        buttons.setObjectName("datasetButtons")
        self.load_button = QPushButton("&Load preview")
        self.load_button.setObjectName("loadPreviewButton")
        self.load_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_BrowserReload))
        self.load_button.setToolTip("Load the dataset and show its sizes and a few samples")
        self.load_button.clicked.connect(self.previewRequested)
        self.suggest_button = QPushButton("Suggest output layer, loss and &metric")
        self.suggest_button.setObjectName("suggestHeadButton")
        self.suggest_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton)
        )
        self.suggest_button.setToolTip(
            "Set the last layer, the loss and the metric that fit this dataset's task, "
            "and the input shape"
        )
        self.suggest_button.clicked.connect(self.suggestHeadRequested)
        buttons.add(self.load_button)
        buttons.add(self.suggest_button, 1)
        self.button_row = buttons
        layout.addWidget(buttons)

        preview = QGroupBox("Preview")
        preview_layout = QVBoxLayout(preview)
        self.status_label = QLabel()
        self.status_label.setObjectName("datasetStatus")
        self.status_label.setWordWrap(True)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.status_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.progress_bar = QProgressBar()
        self.progress_bar.setObjectName("datasetProgress")
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setMaximumHeight(8)
        preview_layout.addWidget(self.status_label)
        preview_layout.addWidget(self.progress_bar)

        self.summary = QWidget()
        summary_layout = QFormLayout(self.summary)
        summary_layout.setContentsMargins(0, 0, 0, 0)
        summary_layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self._summary_values: dict[str, QLabel] = {}
        for key, title in (
            ("task", "Task"),
            ("input_shape", "Input shape"),
            ("classes", "Classes"),
            ("sizes", "Samples"),
            ("description", "About"),
        ):
            value = QLabel()
            value.setObjectName(f"datasetInfo_{key}")
            value.setWordWrap(True)
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
            summary_layout.addRow(f"{title}:", value)
            self._summary_values[key] = value
        preview_layout.addWidget(self.summary)

        self.samples = QStackedWidget()
        self.samples.setObjectName("datasetSamples")
        self.image_list = QListWidget()
        self.image_list.setObjectName("sampleImages")
        self.image_list.setViewMode(QListView.ViewMode.IconMode)
        self.image_list.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
        self.image_list.setGridSize(QSize(THUMBNAIL + 24, THUMBNAIL + 30))
        self.image_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.image_list.setMovement(QListView.Movement.Static)
        self.image_list.setWrapping(True)
        self.text_list = QListWidget()
        self.text_list.setObjectName("sampleTexts")
        self.text_list.setWordWrap(True)
        self.text_list.setSpacing(3)
        self.text_list.setAlternatingRowColors(True)
        self.text_list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.table = QTableWidget()
        self.table.setObjectName("sampleTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self._shown_samples: list[tuple[int, dict]] = []  # (index in info["samples"], sample)
        for view in (self.image_list, self.text_list, self.table):
            view.setMinimumHeight(170)
            view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
            view.customContextMenuRequested.connect(
                lambda pos, v=view: self._show_sample_menu(v, pos)
            )
            self.samples.addWidget(view)
        preview_layout.addWidget(self.samples, 1)
        preview_layout.addStretch(0)
        layout.addWidget(preview, 1)
        self.preview_box = preview

    # ------------------------------------------------------------------ providers
    def set_option_provider(
        self, options: OptionProvider, names: NameProvider | None = None
    ) -> None:
        """Where option lists come from: ``options(source, name) -> [OptionInfo]`` and
        ``names(source) -> tuple`` (named sets of a source; empty for file sources)."""
        self._options_for = options
        self._names_for = names
        self._options_key = None
        if self._block:
            self._show_block()

    def set_sources(self, sources: Sequence[str]) -> None:
        """Limit/ordering of the sources offered (labels from ``SOURCE_LABELS``)."""
        self.source_combo.clear()
        for source in sources:
            self.source_combo.addItem(SOURCE_LABELS.get(source, source), source)
        if self._block:
            self._show_block()

    # ------------------------------------------------------------------ block
    def block(self) -> dict:
        """A copy of the block the panel shows."""
        return copy.deepcopy(self._block)

    def set_block(self, block: dict) -> None:
        """Show ``block`` (a project's dataset block). Emits nothing. A shown preview is kept
        only when the block is unchanged."""
        block = copy.deepcopy(dict(block or {}))
        if block != self._block:
            self._block = block
            if self._state in ("dataset", "error"):
                self._set_state("stale")
        self._show_block()

    def _options(self, source: str, name: str | None) -> list[Any]:
        if self._options_for is None:
            return []
        try:
            options = list(self._options_for(source, name))
        except Exception as error:  # a provider error is shown, never raised into Qt
            self.show_error(str(error))
            return []
        if not any(o.name == "name" for o in options) and self._names_for is not None:
            names = tuple(self._names_for(source))
            if names:
                options.insert(0, Option("name", "choice", names[0], names, "Which dataset."))
        return options

    def _show_block(self) -> None:
        source = self._block.get("source")
        index = self.source_combo.findData(source)
        if index < 0 and source:
            self.source_combo.addItem(SOURCE_LABELS.get(source, source), source)
            index = self.source_combo.count() - 1
        self.source_combo.setCurrentIndex(max(index, 0))
        if not source:
            return
        key = (source, self._block.get("name"))
        if key != self._options_key:
            self.form.set_options(self._options(*key))
            self._options_key = key
        self.form.set_values(self._block)
        self._refresh_columns()

    def _edit(self, block: dict) -> None:
        self._block = block
        self._show_block()
        self._set_state("stale")
        self.blockEdited.emit(copy.deepcopy(block))

    def _on_source_activated(self, _index: int) -> None:
        source = self.source_combo.currentData()
        if source == self._block.get("source"):
            return
        new: dict[str, Any] = {"source": source}
        options = self._options(source, None)
        name_option = next((o for o in options if o.name == "name"), None)
        if name_option is not None and name_option.default is not None:
            new["name"] = name_option.default
        kinds = {o.name: o.kind for o in options}
        old_kinds = {o.name: o.kind for o in self.form.options()}
        for key in ("path",):
            if key in self._block and kinds.get(key) == old_kinds.get(key):
                new[key] = self._block[key]
        self._edit(new)

    def _on_value_edited(self, name: str, value: Any) -> None:
        new = copy.deepcopy(self._block)
        if value is None:
            new.pop(name, None)
        else:
            new[name] = value
        if name == "name":
            allowed = {o.name for o in self._options(new["source"], value)}
            new = {k: v for k, v in new.items() if k in allowed or k == "source"}
        self._edit(new)

    def _on_path_chosen(self, _name: str, _path: str) -> None:
        self._refresh_columns()

    def _refresh_columns(self) -> None:
        path = self._block.get("path")
        has_columns = any(o.kind == "columns" for o in self.form.options())
        if not has_columns:
            return
        columns: list[str] = []
        if isinstance(path, str) and os.path.isfile(path):
            columns = read_csv_header(
                path, self._block.get("delimiter", ","), self._block.get("encoding", "utf-8")
            )
        self.form.set_columns(columns)

    # ------------------------------------------------------------------ preview states
    def _set_state(self, state: str) -> None:
        self._state = state
        self.progress_bar.setVisible(state == "loading")
        self.summary.setVisible(state in ("dataset", "stale") and self._has_summary())
        self.samples.setVisible(state in ("dataset", "stale") and self._has_summary())
        palette = self.status_label.palette()
        role_color = self.palette().color(QPalette.ColorRole.WindowText)
        if state == "error":
            role_color = QColor("#c62828")
        palette.setColor(QPalette.ColorRole.WindowText, role_color)
        self.status_label.setPalette(palette)
        if state == "empty":
            self.status_label.setText(
                "Press <b>Load preview</b> to see the dataset's sizes, input shape, classes "
                "and a few samples."
            )
        elif state == "stale" and self._has_summary():
            self.status_label.setText(
                "The settings changed since this preview: press <b>Load preview</b> to update it."
            )
        elif state == "stale":
            self._state = "empty"
            self._set_state("empty")

    def _has_summary(self) -> bool:
        return bool(self._summary_values["task"].text())

    def show_loading(self, text: str = "Loading…", fraction: float | None = None) -> None:
        """Show that a load is running: ``text`` and a busy bar, or ``fraction`` done (0..1)."""
        self._set_state("loading")
        self.status_label.setText(text)
        if fraction is None:
            self.progress_bar.setRange(0, 0)
        else:
            self.progress_bar.setRange(0, 1000)
            self.progress_bar.setValue(int(max(0.0, min(1.0, float(fraction))) * 1000))

    def show_error(self, message: str) -> None:
        """Show why the dataset could not be loaded (the engine's message, as is)."""
        for label in self._summary_values.values():
            label.clear()
        self._set_state("error")
        self.status_label.setText(message)

    def clear_preview(self) -> None:
        """Forget the shown preview (another project is open): back to the empty state."""
        for label in self._summary_values.values():
            label.clear()
        self._show_samples([], None)
        self._set_state("empty")

    def show_dataset(self, info: dict) -> None:
        """Show a loaded dataset's summary and samples (``info`` as in the module docstring)."""
        values = self._summary_values
        values["task"].setText(TASK_LABELS.get(info.get("task"), str(info.get("task") or "—")))
        values["input_shape"].setText(format_shape(info.get("input_shape")))
        names = info.get("class_names") or []
        count = info.get("num_classes")
        if count:
            shown = ", ".join(map(str, names[:12])) + (" …" if len(names) > 12 else "")
            values["classes"].setText(f"{count}" + (f" — {shown}" if shown else ""))
        else:
            values["classes"].setText("— (regression)" if info.get("task") == "regression" else "—")
        values["sizes"].setText(
            info.get("sizes_text")  # the engine's one text for these counts
            or f"{info.get('train_size', 0):,} train · {info.get('val_size', 0):,} validation · "
            f"{info.get('test_size', 0):,} test"
        )
        description = str(info.get("description") or "")
        baseline = info.get("baseline_mae")
        if baseline is not None:
            description += f"\nNaive last-value baseline MAE: {baseline:.4g}"
        values["description"].setText(description.strip() or "—")
        self._show_samples(list(info.get("samples") or []), info.get("columns"))
        self._set_state("dataset")
        # In a short dock the preview sits below the fold: bring it into view once laid out.
        QTimer.singleShot(0, self.reveal_preview)
        self.status_label.setText(f"Loaded: {info.get('title') or self._block_title()}")

    def reveal_preview(self) -> None:
        """Scroll so that the preview's top is at the top of the panel (as far as it goes)."""
        bar = self.scroll.verticalScrollBar()
        top = self.preview_box.mapTo(self.scroll.widget(), self.preview_box.rect().topLeft())
        bar.setValue(min(bar.maximum(), top.y()))

    def _block_title(self) -> str:
        source = self._block.get("source", "")
        name = self._block.get("name") or os.path.basename(str(self._block.get("path") or ""))
        return (
            f"{SOURCE_LABELS.get(source, source)} — {name}"
            if name
            else SOURCE_LABELS.get(source, source)
        )

    # ------------------------------------------------------------------ samples
    def _show_samples(self, samples: list[dict], columns: Sequence[str] | None) -> None:
        self.image_list.clear()
        self.text_list.clear()
        self.table.clear()
        self.table.setRowCount(0)
        self.table.setColumnCount(0)
        kinds = {s.get("kind") for s in samples}
        shown = next((k for k in ("image", "series", "text") if k in kinds), None)
        self._shown_samples = [
            (i, s) for i, s in enumerate(samples) if shown is None or s.get("kind") == shown
        ]
        if kinds & {"image"}:
            self._show_images([s for s in samples if s.get("kind") == "image"])
        elif kinds & {"series"}:
            self._show_series([s for s in samples if s.get("kind") == "series"])
        elif kinds & {"text"}:
            self._show_texts([s for s in samples if s.get("kind") == "text"])
        else:
            self._show_table(samples, columns)

    def current_sample(self) -> tuple[int, dict] | None:
        """(index in the preview's samples, sample dict) of the selected preview sample."""
        view = self.samples.currentWidget()
        row = view.currentRow() if isinstance(view, QListWidget | QTableWidget) else -1
        if not 0 <= row < len(self._shown_samples):
            return None
        return self._shown_samples[row]

    def sample_menu(self) -> QMenu:
        """The preview sample's context menu (for the selected sample)."""
        menu = QMenu(self)
        action = menu.addAction("Layer outputs for this sample")
        action.setToolTip("Each layer's output on this sample, with the selected run's weights")
        action.setEnabled(self.current_sample() is not None)
        action.triggered.connect(self.inspect_current_sample)
        return menu

    def inspect_current_sample(self) -> None:
        picked = self.current_sample()
        if picked is not None:
            self.sampleInspectRequested.emit(picked[0], picked[1])

    def _show_sample_menu(self, view: QWidget, pos) -> None:
        index = view.indexAt(pos)
        if index.isValid():
            view.setCurrentIndex(index)
        if self.current_sample() is not None:
            self.sample_menu().exec(view.viewport().mapToGlobal(pos))

    def _show_images(self, samples: list[dict]) -> None:
        self.image_list.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
        self.image_list.setGridSize(QSize(THUMBNAIL + 24, THUMBNAIL + 30))
        for sample in samples:
            image = image_from_array(sample["value"])
            pixmap = QPixmap.fromImage(
                image.scaled(
                    THUMBNAIL,
                    THUMBNAIL,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.FastTransformation
                    if max(image.width(), image.height()) < THUMBNAIL
                    else Qt.TransformationMode.SmoothTransformation,
                )
            )
            item = QListWidgetItem(pixmap, str(sample.get("label", "")))
            item.setToolTip(f"{sample.get('label', '')} — {image.width()}×{image.height()}")
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            self.image_list.addItem(item)
        self.samples.setCurrentWidget(self.image_list)

    def _show_series(self, samples: list[dict]) -> None:
        color = self.palette().color(QPalette.ColorRole.Highlight)
        background = self.palette().color(QPalette.ColorRole.Base)
        self.image_list.setIconSize(SPARKLINE)
        self.image_list.setGridSize(QSize(SPARKLINE.width() + 12, SPARKLINE.height() + 30))
        for sample in samples:
            pixmap = sparkline(sample["value"], SPARKLINE, color, background)
            item = QListWidgetItem(pixmap, f"→ {sample.get('label', '')}")
            item.setToolTip(
                f"Window of {len(np.asarray(sample['value']))} steps; target "
                f"{sample.get('label', '')}"
            )
            self.image_list.addItem(item)
        self.samples.setCurrentWidget(self.image_list)

    def _show_texts(self, samples: list[dict]) -> None:
        for sample in samples:
            text = str(sample.get("value", ""))
            short = text if len(text) <= MAX_TEXT_CHARS else text[:MAX_TEXT_CHARS] + " …"
            item = QListWidgetItem(f"[{sample.get('label', '')}]  {short}")
            item.setToolTip(text[:4000])
            self.text_list.addItem(item)
        self.samples.setCurrentWidget(self.text_list)

    def _show_table(self, samples: list[dict], columns: Sequence[str] | None) -> None:
        rows: list[list[Any]] = []
        headers = list(columns or [])
        for sample in samples:
            value = sample.get("value")
            if isinstance(value, dict):
                if not headers:
                    headers = [str(k) for k in value]
                cells = [value.get(h, "") for h in headers]
            else:
                cells = list(np.asarray(value).ravel()[:64])
            rows.append([*cells, sample.get("label", "")])
        width = max((len(r) for r in rows), default=0)
        if len(headers) != width - 1:
            headers = [str(i) for i in range(width - 1)]
        self.table.setColumnCount(width)
        self.table.setRowCount(len(rows))
        self.table.setHorizontalHeaderLabels([*headers, "label"])
        for r, row in enumerate(rows):
            for c, cell in enumerate(row):
                item = QTableWidgetItem(format_number(cell))
                if isinstance(cell, (int, float, np.number)):
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.samples.setCurrentWidget(self.table)
