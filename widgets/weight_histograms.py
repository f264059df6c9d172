"""Weights over time for one run: per weight tensor, a heat map of its value distribution over
the epochs (x: epoch, y: value, colour: how many weights), and the norms of the layer's
weights and of its last update per epoch; below, what the recorder flagged (dead ReLU
units, exploding norms).

``WeightHistogramView.set_history(history, run_name)`` takes the plain dict that
``engine.weight_recorder`` records (``run["weights_history"]``); ``show_message(text)``
shows a sentence instead (a run recorded without it). No Keras here: plain data only.

Each epoch's histogram has its own range (the recorder bins every epoch from its own minimum
to its maximum); ``rebin`` spreads each bin's count over the common rows it overlaps, so the
columns of the heat map line up on one value axis and each column still adds up to the
tensor's size.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

ROWS = 60  # value rows of the heat map
WEIGHT_PEN = pg.mkPen((31, 119, 180), width=2)
UPDATE_PEN = pg.mkPen((255, 127, 14), width=2)


def rebin(ranges, counts, rows: int = ROWS) -> tuple[np.ndarray, float, float]:
    """(image epochs × rows, lo, hi): every epoch's histogram (its own ``[lo, hi]`` range)
    spread over ``rows`` common bins from the smallest lo to the largest hi, each source bin's
    count shared out in proportion to its overlap with each common bin (column sums kept)."""
    spans = [(float(a), float(b)) for a, b in ranges] if len(ranges) else []
    if not spans:
        return np.zeros((0, rows)), 0.0, 1.0
    lo = min(a for a, _ in spans)
    hi = max(b for _, b in spans)
    if not hi > lo:
        lo, hi = lo - 0.5, hi + 0.5
    common = np.linspace(lo, hi, rows + 1)
    image = np.zeros((len(spans), rows))
    for e, ((a, b), row) in enumerate(zip(spans, counts, strict=True)):
        row = np.asarray(row, dtype=np.float64)
        if row.size == 0 or not row.sum():
            continue
        if not b > a:
            a, b = a - 0.5, b + 0.5
        edges = np.linspace(a, b, row.size + 1)
        cumulative = np.concatenate([[0.0], np.cumsum(row)])
        image[e] = np.diff(np.interp(common, edges, cumulative))
    return image, lo, hi


class WeightHistogramView(QWidget):
    """Tensor picker, distribution heat map, norms plot and the recorder's warnings."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("weightHistograms")
        self.history: dict | None = None
        self._choices: list[tuple[int, int]] = []  # (layer index, tensor index) per combo entry

        self.title = QLabel(self)
        self.title.setObjectName("weightsTitle")
        self.picker = QComboBox(self)
        self.picker.setObjectName("weightsLayerPicker")
        self.picker.setToolTip("The layer and weight tensor to show")
        # long layer names must not widen the window: the list pops up at full width
        self.picker.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.picker.setMinimumContentsLength(28)
        self.picker.currentIndexChanged.connect(self._show_current)
        top = QHBoxLayout()
        top.addWidget(self.title)
        top.addStretch(1)
        top.addWidget(QLabel("Layer:", self))
        top.addWidget(self.picker)

        self.heatmap = pg.PlotWidget(self)
        self.heatmap.setObjectName("weightsHeatmap")
        self.heatmap.setBackground("w")
        self.heatmap.setMenuEnabled(False)
        self.heatmap.setLabel("bottom", "epoch")
        self.heatmap.setLabel("left", "weight value")
        self.image = pg.ImageItem(axisOrder="col-major")
        self.image.setColorMap(pg.colormap.get("viridis"))
        self.heatmap.addItem(self.image)

        self.norms = pg.PlotWidget(self)
        self.norms.setObjectName("weightsNorms")
        self.norms.setBackground("w")
        self.norms.setMenuEnabled(False)
        self.norms.setLabel("bottom", "epoch")
        self.norms.setLabel("left", "L2 norm")
        # The title says which curve is which (a legend inside the plot hid the points).
        self.norm_curve = self.norms.plot(
            [], [], pen=WEIGHT_PEN, symbol="o", symbolSize=5, symbolBrush=WEIGHT_PEN.color()
        )
        self.update_curve = self.norms.plot(
            [], [], pen=UPDATE_PEN, symbol="o", symbolSize=5, symbolBrush=UPDATE_PEN.color()
        )

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(self.heatmap)
        self.splitter.addWidget(self.norms)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)

        self.warnings = QLabel(self)
        self.warnings.setObjectName("weightsWarnings")
        self.warnings.setWordWrap(True)
        self.warnings.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message = QLabel(self)
        self.message.setObjectName("weightsMessage")
        self.message.setWordWrap(True)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.warnings)
        layout.addWidget(self.message, 1)
        self.show_message("Select a run to see its weights over time.")

    # ------------------------------------------------------------------ content
    def clear(self) -> None:
        self.show_message("Select a run to see its weights over time.")

    def show_message(self, text: str) -> None:
        """A sentence instead of the plots."""
        self.history = None
        self._choices = []
        self.picker.blockSignals(True)
        self.picker.clear()
        self.picker.blockSignals(False)
        self.picker.setEnabled(False)
        self.title.setText("")
        self.splitter.hide()
        self.warnings.hide()
        self.message.setText(text)
        self.message.show()

    def set_history(self, history: dict | None, run_name: str = "") -> None:
        """Show a recorded history (``engine.weight_recorder``'s dict); None: say there is none."""
        if not isinstance(history, dict) or not history.get("layers"):
            name = run_name or "This run"
            self.show_message(
                f"{name} did not record its weights. Tick “Record weight histograms” in the "
                "Training panel and train again to see them here."
            )
            return
        self.history = history
        epochs = history.get("epochs") or []
        self.title.setText(
            f"<b>{run_name or 'Run'}</b> · {len(epochs)} epochs recorded · "
            f"{history.get('bins', '?')} bins per epoch"
        )
        previous = self.picker.currentText()
        self._choices = []
        self.picker.blockSignals(True)
        self.picker.clear()
        for li, layer in enumerate(history["layers"]):
            for ti, tensor in enumerate(layer.get("tensors") or []):
                shape = "×".join(str(d) for d in tensor.get("shape") or []) or "scalar"
                self.picker.addItem(f"{layer.get('name')} — {tensor.get('name')} ({shape})")
                self._choices.append((li, ti))
        index = max(self.picker.findText(previous), 0)
        self.picker.setCurrentIndex(index)
        self.picker.blockSignals(False)
        self.picker.setEnabled(bool(self._choices))
        self.message.hide()
        self.splitter.show()
        self._show_warnings(history)
        self._show_current()

    def select(self, layer_name: str, tensor_name: str = "kernel") -> bool:
        """Pick ``layer_name``'s tensor (for tests and the window); False when absent."""
        for position, (li, ti) in enumerate(self._choices):
            layer = self.history["layers"][li]
            if layer.get("name") == layer_name and layer["tensors"][ti].get("name") == tensor_name:
                self.picker.setCurrentIndex(position)
                return True
        return False

    # ------------------------------------------------------------------ drawing
    def _show_warnings(self, history: dict) -> None:
        lines = [str(text) for text in history.get("warnings") or []]
        if history.get("note"):
            lines.append(str(history["note"]))
        self.warnings.setText("\n".join(f"⚠ {line}" for line in lines))
        self.warnings.setVisible(bool(lines))

    def _show_current(self, _index: int = 0) -> None:
        if self.history is None:
            return
        epochs = [int(e) + 1 for e in self.history.get("epochs") or []]  # shown 1-based
        position = self.picker.currentIndex()
        if 0 <= position < len(self._choices):
            li, ti = self._choices[position]
        else:
            li, ti = 0, None
        layer = self.history["layers"][li]
        if ti is not None:
            tensor = layer["tensors"][ti]
            image, lo, hi = rebin(tensor.get("range") or [], tensor.get("counts") or [])
            self.current_image = image
            if image.size:
                # log scale: a few outliers stay visible next to the bulk of the weights
                self.image.setImage(np.log1p(image), autoLevels=True)
                first = epochs[0] if epochs else 1
                step = (epochs[1] - epochs[0]) if len(epochs) > 1 else 1
                self.image.setRect(QRectF(first - step / 2, lo, step * len(epochs), hi - lo))
                self.heatmap.setTitle("values per epoch (colour: count, log)", size="9pt")
                self.heatmap.autoRange()
        else:
            self.image.clear()
            self.current_image = np.zeros((0, ROWS))
        norm = [np.nan if v is None else v for v in layer.get("norm") or []]
        update = [np.nan if v is None else v for v in layer.get("update_norm") or []]
        count = min(len(epochs), len(norm), len(update))
        self.norm_curve.setData(epochs[:count], norm[:count], connect="finite")
        self.update_curve.setData(epochs[:count], update[:count], connect="finite")
        # short titles: a PlotItem is never narrower than its title (a long one was cut off)
        self.norms.setTitle(
            f"<span style='color:{WEIGHT_PEN.color().name()}'>weights</span> · "
            f"<span style='color:{UPDATE_PEN.color().name()}'>last update</span>",
            size="9pt",
        )
        self.norms.setLabel("left", f"L2 norm · {layer.get('name')}")
        self.norms.autoRange()
