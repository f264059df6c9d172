"""Curves of several runs on one plot, for comparing them (objectName ``compareCurves``).

Each run is a ``CompareSeries`` of plain data (no Keras): its per-epoch history, its colour,
its x values for each x-axis choice and the epoch of its best value per metric. The widget
draws, for the chosen metric, the training curve dashed and the validation curve solid in
the run's colour, the legend saying which is which, a marker at each run's best epoch, and
optionally the train − validation gap. Controls (all keyboard reachable):

- smoothing (``smoothingSlider``, 0–0.99): a debiased exponential moving average, as
  TensorBoard's; the raw curve stays behind, faded;
- x axis (``xAxisCombo``): epoch, wall-clock time, or time relative to each run's start;
- log y (``logYCheck``), and the gap curve (``gapCheck``).

A group (repeats or folds) is a series with ``std`` per key: it is drawn as its mean line
with a ±1 std band.

``set_series`` replaces everything shown; the widget keeps no other copy of the runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontMetrics, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from engine import smoothing

X_AXES = tuple((axis, smoothing.AXIS_TITLES[axis]) for axis in ("epoch", "relative", "wall"))
SMOOTHING_STEPS = 99  # slider 0..99 → weight 0.00..0.99


@dataclass
class CompareSeries:
    """One run (or group) as the compare plot needs it.

    ``history``: metric name → one value per epoch (None/NaN for a missing value), with the
    Keras names (``loss``, ``val_loss``, ``accuracy``, ``val_accuracy``…). ``x``: x-axis key
    (``epoch``/``wall``/``relative``) → one value per epoch; missing keys fall back to the
    epoch number. ``best_epoch``: metric name → 0-based epoch of the best value.
    ``std``: for a group, metric name → per-epoch standard deviation."""

    key: str
    label: str
    color: str
    history: dict[str, Sequence[float | None]]
    x: dict[str, Sequence[float]] = field(default_factory=dict)
    best_epoch: dict[str, int] = field(default_factory=dict)
    std: dict[str, Sequence[float | None]] = field(default_factory=dict)


def ema(values: Sequence[float | None], weight: float) -> np.ndarray:
    """``engine.smoothing.ema`` (TensorBoard's debiased smoothing) as a float array, missing
    values as NaN."""
    return _values(smoothing.ema(values, weight))


def base_metrics(histories: Sequence[dict]) -> list[str]:
    """Metric names without the ``val_`` prefix, loss first, in first-seen order."""
    names: list[str] = []
    for history in histories:
        for key in history:
            name = key[4:] if key.startswith("val_") else key
            if name not in names and name not in ("learning_rate", "lr"):
                names.append(name)
    return sorted(names, key=lambda n: (n != "loss", names.index(n)))


class SparseLogAxis(pg.AxisItem):
    """An axis whose log-scale labels never overlap: under one decade pyqtgraph labels every
    minor tick (1, 0.9, 0.8 … 0.5), drawn on top of each other in a short plot (found
    under Xvfb). A label closer than a line of text to the one kept below it is left out."""

    def tickStrings(self, values, scale, spacing):
        strings = list(super().tickStrings(values, scale, spacing))
        low, high = self.range
        size = self.height() if self.orientation in ("left", "right") else self.width()
        if not self.logMode or len(values) < 2 or high <= low or size <= 0:
            return strings
        metrics = QFontMetrics(self.style.get("tickFont") or self.font())
        last = None
        for i in sorted(range(len(values)), key=lambda i: values[i]):
            where = (values[i] - low) / (high - low) * size
            if self.orientation in ("left", "right"):
                room = metrics.height()
            else:
                room = metrics.horizontalAdvance(strings[i]) + metrics.averageCharWidth()
            if last is not None and where - last < room:
                strings[i] = ""
            else:
                last = where
        return strings


class ClockAxis(pg.DateAxisItem):
    """Time of day, with hours and minutes at every zoom: pyqtgraph's date axis labels a
    span under a minute with seconds alone ("14.000 14.500 …", found under Xvfb with one
    short run selected)."""

    def tickStrings(self, values, scale, spacing):
        if spacing >= 60:
            return super().tickStrings(values, scale, spacing)
        texts = []
        for value in values:
            try:
                moment = datetime.fromtimestamp(float(value))
            except (OverflowError, OSError, ValueError):
                texts.append("")
                continue
            text = moment.strftime("%H:%M:%S.%f")
            texts.append(text[:-3] if spacing < 1 else text[:-7])
        return texts


class CompareCurves(QWidget):
    """One plot of the chosen metric for every series; see the module docstring."""

    metricChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("compareCurves")
        self._series: list[CompareSeries] = []
        self._items: list[pg.GraphicsObject] = []
        background = self.palette().color(QPalette.ColorRole.Base)
        self._foreground = self.palette().color(QPalette.ColorRole.Text)

        self.plot = pg.PlotWidget(
            background=background, axisItems={"left": SparseLogAxis(orientation="left")}
        )
        self.plot.setObjectName("comparePlot")
        item = self.plot.getPlotItem()
        item.showGrid(x=True, y=True, alpha=0.15)
        for axis in ("left", "bottom"):
            item.getAxis(axis).setPen(self._foreground)
            item.getAxis(axis).setTextPen(self._foreground)
        self.legend = item.addLegend(offset=(-8, 8), labelTextColor=self._foreground)

        self.metric_combo = QComboBox()
        self.metric_combo.setObjectName("compareMetricCombo")
        self.metric_combo.setAccessibleName("Metric")
        self.metric_combo.currentTextChanged.connect(self._on_metric)
        self.x_combo = QComboBox()
        self.x_combo.setObjectName("xAxisCombo")
        self.x_combo.setAccessibleName("X axis")
        for key, text in X_AXES:
            self.x_combo.addItem(text, key)
        self.x_combo.currentIndexChanged.connect(self.redraw)
        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setObjectName("smoothingSlider")
        self.smoothing.setAccessibleName("Smoothing")
        self.smoothing.setRange(0, SMOOTHING_STEPS)
        self.smoothing.setPageStep(10)
        self.smoothing.setToolTip(
            "Exponential moving average of each curve (debiased, as TensorBoard's); the raw "
            "curve stays behind, faded"
        )
        self.smoothing.valueChanged.connect(self._on_smoothing)
        self.smoothing_label = QLabel("0.00")
        self.smoothing_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("0.000"))
        self.log_y = QCheckBox("&Log y")
        self.log_y.setObjectName("logYCheck")
        self.log_y.toggled.connect(self.redraw)
        self.gap = QCheckBox("&Gap")
        self.gap.setObjectName("gapCheck")
        self.gap.setToolTip(
            "Also draw the train − validation gap per epoch (dotted): a widening gap is overfitting"
        )
        self.gap.toggled.connect(self.redraw)

        metric_label = QLabel("&Metric:")
        metric_label.setBuddy(self.metric_combo)
        x_label = QLabel("&X axis:")
        x_label.setBuddy(self.x_combo)
        smoothing_label = QLabel("&Smoothing:")
        smoothing_label.setBuddy(self.smoothing)
        # Two short rows, so the plot fits narrow windows (1024 px with the docks open).
        first = QHBoxLayout()
        for widget in (metric_label, self.metric_combo, x_label, self.x_combo):
            first.addWidget(widget)
        first.addStretch(1)
        second = QHBoxLayout()
        second.addWidget(smoothing_label)
        second.addWidget(self.smoothing, 1)
        second.addWidget(self.smoothing_label)
        second.addWidget(self.log_y)
        second.addWidget(self.gap)
        self.smoothing.setMinimumWidth(80)
        self.empty_label = QLabel("Select runs in the table to compare their curves.")
        self.empty_label.setObjectName("compareEmpty")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(first)
        layout.addLayout(second)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.empty_label)
        self.redraw()

    # ------------------------------------------------------------------ content
    def set_series(self, series: Sequence[CompareSeries]) -> None:
        """Show ``series`` (replacing what was shown); keeps the chosen metric if offered."""
        self._series = list(series)
        current = self.metric_combo.currentText()
        names = base_metrics([s.history for s in self._series])
        self.metric_combo.blockSignals(True)
        self.metric_combo.clear()
        self.metric_combo.addItems(names)
        if current in names:
            self.metric_combo.setCurrentText(current)
        self.metric_combo.blockSignals(False)
        self.redraw()

    def series(self) -> list[CompareSeries]:
        return list(self._series)

    def metric_name(self) -> str:
        return self.metric_combo.currentText()

    def set_metric(self, name: str) -> None:
        self.metric_combo.setCurrentText(name)

    def smoothing_weight(self) -> float:
        return self.smoothing.value() / (SMOOTHING_STEPS + 1)

    def x_axis(self) -> str:
        return self.x_combo.currentData()

    # ------------------------------------------------------------------ drawing
    def _on_metric(self, name: str) -> None:
        self.redraw()
        self.metricChanged.emit(name)

    def _on_smoothing(self, value: int) -> None:
        self.smoothing_label.setText(f"{self.smoothing_weight():.2f}")
        self.redraw()

    def drawn(self) -> list[pg.PlotDataItem]:
        """The curves on the plot now (for tests and exports)."""
        return [item for item in self._items if isinstance(item, pg.PlotDataItem)]

    def redraw(self) -> None:
        item = self.plot.getPlotItem()
        for old in self._items:
            item.removeItem(old)
        self._items = []
        self.legend.clear()
        metric = self.metric_name()
        has_data = bool(self._series) and bool(metric)
        self.plot.setVisible(has_data)
        self.empty_label.setVisible(not has_data)
        if not has_data:
            return
        log_y = self.log_y.isChecked()
        item.setLogMode(x=False, y=log_y)
        x_key = self.x_axis()
        self._use_axis(item, x_key)
        item.setLabel("bottom", dict(X_AXES)[x_key])
        item.setLabel("left", metric + (" (log)" if log_y else ""))
        weight = self.smoothing_weight()
        for series in self._series:
            x = self._x_values(series, x_key)
            train = series.history.get(metric)
            validation = series.history.get(f"val_{metric}")
            if train is not None:
                self._curve(series, x, train, metric, "train", Qt.PenStyle.DashLine, weight)
            if validation is not None:
                self._curve(
                    series,
                    x,
                    validation,
                    f"val_{metric}",
                    "validation",
                    Qt.PenStyle.SolidLine,
                    weight,
                )
            if self.gap.isChecked() and train is not None and validation is not None:
                gap = _values(train) - _values(validation)
                self._add(
                    x,
                    ema(gap, weight),
                    series.color,
                    Qt.PenStyle.DotLine,
                    f"{series.label} · gap (train − validation)",
                    width=1.5,
                )
            self._best_marker(
                series, x, metric, validation if validation is not None else train, weight
            )

    def _use_axis(self, item: pg.PlotItem, key: str) -> None:
        """A time-of-day axis for wall-clock x values, a plain one otherwise."""
        dated = isinstance(item.getAxis("bottom"), pg.DateAxisItem)
        if dated == (key == "wall"):
            return
        axis = ClockAxis(orientation="bottom") if key == "wall" else pg.AxisItem("bottom")
        axis.setPen(self._foreground)
        axis.setTextPen(self._foreground)
        item.setAxisItems({"bottom": axis})

    def _x_values(self, series: CompareSeries, key: str) -> np.ndarray:
        count = max((len(v) for v in series.history.values()), default=0)
        values = series.x.get(key)
        if values is not None and len(values) >= count:
            return np.asarray(values[:count], dtype=float)
        return np.arange(1, count + 1, dtype=float)

    def _curve(self, series, x, values, key, role, style, weight) -> None:
        raw = _values(values)
        std = series.std.get(key)
        if std is not None:
            spread = _values(std)
            upper = pg.PlotDataItem(x, raw + spread, pen=pg.mkPen(None))
            lower = pg.PlotDataItem(x, raw - spread, pen=pg.mkPen(None))
            band = QColor(series.color)
            band.setAlpha(45)
            fill = pg.FillBetweenItem(upper, lower, brush=band)
            for part in (upper, lower, fill):
                self.plot.addItem(part)
                self._items.append(part)
        if weight > 0:
            faded = QColor(series.color)
            faded.setAlpha(60)
            self._add(x, raw, faded, style, None, width=1)
        suffix = " (mean ± std)" if std is not None else ""
        self._add(x, ema(raw, weight), series.color, style, f"{series.label} · {role}{suffix}")

    def _best_marker(self, series, x, metric, values, weight) -> None:
        key = f"val_{metric}" if f"val_{metric}" in series.best_epoch else metric
        epoch = series.best_epoch.get(key)
        if values is None or epoch is None or not 0 <= epoch < len(x):
            return
        y = ema(_values(values), weight)[epoch]
        if not np.isfinite(y):
            return
        marker = pg.ScatterPlotItem(
            [x[epoch]],
            [np.log10(y) if self.log_y.isChecked() and y > 0 else y],
            symbol="star",
            size=14,
            brush=pg.mkBrush(series.color),
            pen=pg.mkPen(self._foreground),
        )
        marker.setToolTip(f"{series.label}: best {key} at epoch {epoch + 1}")
        self.plot.addItem(marker)
        self._items.append(marker)

    def _add(self, x, y, color, style, name, width: float = 2) -> pg.PlotDataItem:
        y = np.asarray(y, dtype=float)
        if self.log_y.isChecked():
            y = np.where(y > 0, y, np.nan)
        curve = pg.PlotDataItem(
            x,
            y,
            pen=pg.mkPen(QColor(color), width=width, style=style),
            name=name,
            connect="finite",
        )
        self.plot.addItem(curve)
        self._items.append(curve)
        return curve


def _values(values: Sequence[float | None]) -> np.ndarray:
    return np.asarray([np.nan if v is None else float(v) for v in values], dtype=float)
