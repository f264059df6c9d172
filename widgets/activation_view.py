"""Each layer's output on one sample: feature-map grids for convolutions (rank 3/4), bars for
dense vectors, a heat map for sequences (time × features), one section per layer, in a
scrolling column.

``ActivationView.show_activations(layers, title=..., sample=...)`` takes objects with
``name``, ``class_name``, ``shape``, ``values`` (numpy) and ``note`` (what
``engine.inspect_model.activations`` returns); plain numpy in, no Keras here.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QGridLayout,
    QLabel,
    QSizePolicy,
    QWidget,
)

from widgets.card_column import CardColumn

MAP_SIZE = 56  # pixels per feature map
MAX_MAPS = 64  # feature maps drawn per layer
MAX_BARS = 512
GRID_COLUMNS = 8
_LUT: np.ndarray | None = None


def lookup_table() -> np.ndarray:
    """256 × 3 uint8 colours (viridis), built once."""
    global _LUT
    if _LUT is None:
        _LUT = np.asarray(pg.colormap.get("viridis").getLookupTable(nPts=256, alpha=False))
        _LUT = _LUT[:, :3].astype(np.uint8)
    return _LUT


def scaled_indices(array: np.ndarray, low: float | None = None, high: float | None = None):
    """``array`` mapped to 0..255 between ``low`` and ``high`` (default: its own range)."""
    values = np.nan_to_num(np.asarray(array, dtype=np.float64))
    low = float(values.min()) if low is None else low
    high = float(values.max()) if high is None else high
    if high - low < 1e-12:
        return np.zeros(values.shape, dtype=np.uint8)
    return np.clip((values - low) * (255.0 / (high - low)), 0, 255).astype(np.uint8)


def rgb_pixmap(rgb: np.ndarray, width: int, height: int | None = None) -> QPixmap:
    """An H×W×3 uint8 array as a pixmap scaled to fit ``width`` × ``height`` (nearest)."""
    rgb = np.ascontiguousarray(rgb, dtype=np.uint8)
    h, w = rgb.shape[:2]
    image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return QPixmap.fromImage(image.copy()).scaled(
        width,
        height or width,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.FastTransformation,
    )


def heat_pixmap(array2d: np.ndarray, width: int, height: int | None = None) -> QPixmap:
    """A 2-D array drawn with the viridis colours (its own range) as a pixmap."""
    return rgb_pixmap(lookup_table()[scaled_indices(array2d)], width, height)


class Bars(QWidget):
    """Vertical bars for a vector: positive up (blue), negative down (red)."""

    def __init__(self, values: np.ndarray, parent: QWidget | None = None):
        super().__init__(parent)
        self.values = np.nan_to_num(np.asarray(values, dtype=np.float64).reshape(-1))
        self.setMinimumHeight(70)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(self._tip())

    def _tip(self) -> str:
        if not self.values.size:
            return "empty"
        top = int(np.argmax(self.values))
        return (
            f"{self.values.size} values; min {self.values.min():.4g}, max "
            f"{self.values.max():.4g} (unit {top}); "
            f"{100 * np.mean(self.values == 0):.0f} % exactly zero"
        )

    def sizeHint(self) -> QSize:
        return QSize(min(800, max(120, 4 * self.values.size)), 80)

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        rect = self.rect().adjusted(2, 2, -2, -2)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Base))
        n = self.values.size
        if not n:
            return
        peak = float(np.max(np.abs(self.values))) or 1.0
        has_negative = bool((self.values < 0).any())
        zero = rect.center().y() if has_negative else rect.bottom()
        span = (rect.height() / 2 if has_negative else rect.height()) - 1
        step = rect.width() / n
        for i, value in enumerate(self.values):
            height = span * abs(value) / peak
            color = QColor(40, 120, 220) if value >= 0 else QColor(210, 70, 60)
            x = rect.left() + i * step
            top = zero - height if value >= 0 else zero
            painter.fillRect(QRectF(x, top, max(1.0, step - 1), height), color)
        painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
        painter.drawLine(rect.left(), int(zero), rect.right(), int(zero))
        painter.end()


def _section_widget(layer) -> QWidget:
    """The drawing for one layer's values (by rank)."""
    values = np.asarray(layer.values)
    if values.ndim == 0 or values.size == 1:
        return QLabel(f"value: {float(values.reshape(-1)[0]):.6g}")
    if values.ndim == 1:
        return Bars(values[:MAX_BARS])
    if values.ndim == 2:
        # A sequence: features down, time across.
        label = QLabel()
        label.setObjectName("sequenceHeatmap")
        width = int(min(720, max(160, values.shape[0] * 6)))
        height = int(min(240, max(40, values.shape[1] * 4)))
        label.setPixmap(
            heat_pixmap(values.T, width, height).scaled(
                width,
                height,
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.FastTransformation,
            )
        )
        label.setToolTip(f"{values.shape[0]} steps × {values.shape[1]} features")
        return label
    if values.ndim >= 4:  # Conv3D: the middle depth slice
        values = values[values.shape[0] // 2]
        while values.ndim > 3:
            values = values[values.shape[0] // 2]
    return _map_grid(values)


def _map_grid(values: np.ndarray) -> QWidget:
    grid_widget = QWidget()
    grid_widget.setObjectName("featureMaps")
    grid = QGridLayout(grid_widget)
    grid.setSpacing(3)
    grid.setContentsMargins(0, 0, 0, 0)
    channels = values.shape[-1]
    for c in range(min(channels, MAX_MAPS)):
        label = QLabel()
        channel = values[..., c]
        label.setPixmap(heat_pixmap(channel, MAP_SIZE))
        label.setToolTip(
            f"map {c}: min {channel.min():.3g}, max {channel.max():.3g}"
            + (" (all zero)" if not channel.any() else "")
        )
        grid.addWidget(label, c // GRID_COLUMNS, c % GRID_COLUMNS)
    grid.setColumnStretch(GRID_COLUMNS, 1)
    return grid_widget


def describe_shape(shape) -> str:
    return "×".join(str(int(n)) for n in shape) if len(shape) else "scalar"


class ActivationView(CardColumn):
    """A scrolling column of per-layer sections (see the module docstring)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("activationView", "Pick a sample to see each layer's output.", parent)

    @property
    def headers(self) -> list:
        return self.items

    def show_activations(self, layers, title: str = "", sample_pixmap: QPixmap | None = None):
        """One section per layer: a header (name, class, full shape, what was cut) and its
        drawing."""
        self._clear()
        self.title.setText(title)
        if sample_pixmap is not None:
            picture = QLabel()
            picture.setObjectName("activationSample")
            picture.setPixmap(sample_pixmap)
            self.column.addWidget(picture)
        for layer in layers:
            header = QLabel(self.header_text(layer))
            header.setObjectName("activationHeader")
            header.setTextFormat(Qt.TextFormat.RichText)
            self.items.append(header)
            self.column.addWidget(header)
            self.column.addWidget(_section_widget(layer))
        self.column.addStretch(1)

    @staticmethod
    def header_text(layer) -> str:
        values = np.asarray(layer.values)
        text = f"<b>{layer.name}</b> ({layer.class_name}) → {describe_shape(layer.shape)}"
        extra = []
        if values.size:
            zero = float(np.mean(values == 0))
            if zero >= 0.5:
                extra.append(f"{100 * zero:.0f} % zero")
        if layer.note:
            extra.append(layer.note)
        if values.ndim >= 3 and values.shape[-1] > MAX_MAPS:
            extra.append(f"first {MAX_MAPS} maps drawn")
        return text + (f" · <i>{' · '.join(extra)}</i>" if extra else "")

    def header_texts(self) -> list[str]:
        return [header.text() for header in self.headers]
