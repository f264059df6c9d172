"""Live training curves: loss and a chosen metric, drawn from engine events.

``LiveCurves.on_event`` only appends to numpy buffers and marks curves dirty; a single-shot
timer redraws at most every ``REDRAW_INTERVAL_MS`` and only the curves whose data changed
(pyqtgraph's scrollingPlots approach: keep the ``PlotDataItem``s, grow preallocated buffers,
peak downsampling, clip to view). Heavy batch streams therefore cost the GUI thread a few
array copies, never a redraw per batch.

x is in epochs: batch ``s`` of epoch ``e`` (0-based) sits at ``e + (s + 1) / steps``, and the
value logged at the end of epoch ``e`` at ``e + 1``. Recorded runs can be laid over the live
run with ``add_overlay`` (train dashed, validation solid), and an epoch can be marked on the
loss plot with ``mark_epoch`` (the overfitting hint).

The two plots sit side by side when the widget is wide (``AdaptiveSplitter``), stacked
otherwise; the legends have a translucent background and keep to a corner the curves
usually leave empty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from pyqtgraph import exporters
from PySide6.QtCore import QBuffer, QIODevice, QPointF, QRectF, Qt, QTimer, Slot
from PySide6.QtGui import QColor, QPainter, QPalette
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from engine.events import BatchesEnd, EpochEnd, TrainBegin, TrainEnd
from engine.files import atomic_write_bytes
from widgets.adaptive_splitter import AdaptiveSplitter

# 4 redraws a second are plenty to watch a curve grow; each redraw repaints the plot (~1.5 ms
# of GUI thread on a 2-core machine, taken from the training's cores).
REDRAW_INTERVAL_MS = 250
TRAIN_COLOR = QColor("#1f77b4")
VALIDATION_COLOR = QColor("#ff7f0e")
LEARNING_RATE_COLOR = QColor("#7f7f7f")
_NOT_METRICS = frozenset({"loss", "learning_rate", "lr"})
LIVE_MARK = "live"  # mark_epoch key of the live run's mark; cleared with the live run
_LEGEND_MARGIN = 10
_LEGEND_SAMPLES = 64  # points per curve when judging where a legend covers least


class GrowingSeries:
    """x/y float64 buffers that double when full; ``x``/``y`` are views of the filled part."""

    def __init__(self, capacity: int = 1024):
        self._x = np.empty(capacity)
        self._y = np.empty(capacity)
        self.size = 0

    @property
    def x(self) -> np.ndarray:
        return self._x[: self.size]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self.size]

    def extend(self, xs: Sequence[float] | np.ndarray, ys: Sequence[float] | np.ndarray) -> None:
        count = len(ys)
        needed = self.size + count
        if needed > len(self._x):
            capacity = max(needed, 2 * len(self._x))
            self._x = np.resize(self._x, capacity)
            self._y = np.resize(self._y, capacity)
        self._x[self.size : needed] = xs
        self._y[self.size : needed] = ys
        self.size = needed

    def clear(self) -> None:
        self.size = 0


def _finite_or_nan(values: Sequence[float]) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    return np.where(np.isfinite(array), array, np.nan)


def metric_names(keys: Sequence[str]) -> list[str]:
    """Metric names in Keras log keys (``accuracy``, ``mae``...), without loss, lr, ``val_``."""
    names: list[str] = []
    for key in keys:
        name = key.removeprefix("val_")
        if name not in _NOT_METRICS and name not in names:
            names.append(name)
    return names


def _default_metric(names: Sequence[str]) -> str | None:
    for preferred in ("accuracy", "sparse_categorical_accuracy", "categorical_accuracy"):
        if preferred in names:
            return preferred
    return names[0] if names else None


_LOSS_ALIASES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "bce": "binary_crossentropy",
    "cce": "categorical_crossentropy",
    "scce": "sparse_categorical_crossentropy",
}
_METRIC_ALIASES = {"acc": "accuracy"}


def _snake(name: str) -> str:
    out = []
    for index, char in enumerate(name):
        if char.isupper() and index and not name[index - 1].isupper():
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def loss_name(loss) -> str | None:
    """A compile ``loss`` (a name, an alias such as ``mse``, or a serialized loss dict) as
    one comparable snake-case name: ``mean_squared_error``, ``binary_crossentropy``."""
    if isinstance(loss, dict):
        config = loss.get("config") or {}
        loss = config.get("name") or loss.get("class_name")
    if not loss:
        return None
    name = _snake(str(loss)) if not str(loss).islower() else str(loss)
    name = name.replace("cross_entropy", "crossentropy")
    return _LOSS_ALIASES.get(name, name)


def compiled_metric_name(metric) -> str | None:
    """The log key Keras gives a compile metric: ``"accuracy"``, ``"mae"``, a dict's name."""
    if isinstance(metric, dict):
        config = metric.get("config") or {}
        metric = config.get("name") or (_snake(str(metric.get("class_name") or "")) or None)
    if not metric:
        return None
    return _METRIC_ALIASES.get(str(metric), str(metric))


def _axis_label(item: pg.PlotItem, text: str | None) -> None:
    """Name the left axis after what it shows (no label, no space, when unknown)."""
    axis = item.getAxis("left")
    if text:
        item.setLabel("left", text, color=axis.textPen().color().name(), size="8pt")
    else:
        axis.showLabel(False)
    _plain_ticks(axis)


def _plain_ticks(axis: pg.AxisItem) -> None:
    """Ticks in the values' own units, always. Turning pyqtgraph's SI prefix off freezes the
    scale it last computed from the range at that moment (ticks 200…1000 for accuracy
    0.2…1.0 were seen), so the scale is reset to 1 as well."""
    axis.enableAutoSIPrefix(False)
    axis.autoSIPrefixScale = 1.0
    axis.labelUnitPrefix = ""
    axis._updateLabel()
    axis.picture = None
    axis.update()


def _format_value(value: float) -> str:
    if not math.isfinite(value):
        return "nan"
    return f"{value:.4g}"


class LiveCurves(QWidget):
    """Loss plot (``lossPlot``) and metric plot (``metricPlot``) of the running training."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("liveCurves")
        background = self.palette().color(QPalette.ColorRole.Base)
        foreground = self.palette().color(QPalette.ColorRole.Text)

        self._steps_per_epoch: int | None = None
        self._batches = GrowingSeries(4096)
        self._epoch_history: dict[str, list[float]] = {}
        self._epochs_seen = 0
        self._metric: str | None = None
        self._expected_metric: str | None = None
        self._project_metrics: list[str] = []
        self._loss: str | None = None  # the project's loss (loss_name form)
        self._live_loss: str | None = None  # the loss the live run trained with
        self._batches_dirty = False
        self._epochs_dirty = False
        self._overlays: dict[str, dict] = {}
        self._marks: dict[str, pg.InfiniteLine] = {}
        self._legend_at_bottom: dict[str, bool] = {}

        self.loss_plot = self._make_plot("lossPlot", "Loss", background, foreground)
        self.metric_plot = self._make_plot("metricPlot", "Metric", background, foreground)
        loss_item = self.loss_plot.getPlotItem()

        faint = QColor(TRAIN_COLOR)
        faint.setAlpha(70)
        self.batch_curve = loss_item.plot(
            pen=pg.mkPen(faint, width=1), antialias=False, name="train loss (batch)"
        )
        self.batch_curve.setDownsampling(auto=True, method="peak")
        self.batch_curve.setClipToView(True)
        self.train_loss_curve = self._epoch_curve(loss_item, TRAIN_COLOR, "train loss")
        self.val_loss_curve = self._epoch_curve(loss_item, VALIDATION_COLOR, "validation loss")
        metric_item = self.metric_plot.getPlotItem()
        self.train_metric_curve = self._epoch_curve(metric_item, TRAIN_COLOR, "train")
        self.val_metric_curve = self._epoch_curve(metric_item, VALIDATION_COLOR, "validation")
        self._setup_learning_rate_axis(loss_item)

        self._crosshairs = []
        for plot in (self.loss_plot, self.metric_plot):
            line = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(foreground, width=0.5))
            line.setVisible(False)
            plot.addItem(line, ignoreBounds=True)
            self._crosshairs.append(line)
            plot.scene().sigMouseMoved.connect(self._on_mouse_moved)

        self.metric_combo = QComboBox()
        self.metric_combo.setObjectName("metricCombo")
        self.metric_combo.setToolTip("Metric shown in the lower plot")
        self.metric_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.metric_combo.setMinimumContentsLength(18)
        self.metric_combo.currentTextChanged.connect(self._on_metric_chosen)
        self.hover_label = QLabel()
        self.hover_label.setObjectName("curveValues")
        self.hover_label.setTextFormat(Qt.TextFormat.PlainText)
        self.hover_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        splitter = AdaptiveSplitter()
        splitter.setObjectName("curvesSplitter")
        splitter.addWidget(self.loss_plot)
        splitter.addWidget(self.metric_plot)
        self._plot_splitter = splitter
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Metric:"))
        bar.addWidget(self.metric_combo)
        bar.addWidget(self.hover_label, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter, 1)
        layout.addLayout(bar)

        self._redraw_timer = QTimer(self)
        self._redraw_timer.setSingleShot(True)
        self._redraw_timer.setInterval(REDRAW_INTERVAL_MS)
        self._redraw_timer.timeout.connect(self.flush)
        self._update_metric_title()
        self._update_loss_title()

    # -- construction helpers ----------------------------------------------------------------

    @staticmethod
    def _make_plot(name: str, title: str, background, foreground) -> pg.PlotWidget:
        plot = pg.PlotWidget(background=background)
        plot.setObjectName(name)
        item = plot.getPlotItem()
        item.setTitle(title, color=foreground)
        item.setLabel("bottom", "epoch")
        legend_brush = QColor(background)
        legend_brush.setAlpha(200)
        legend_pen = QColor(foreground)
        legend_pen.setAlpha(60)
        item.addLegend(
            offset=(-_LEGEND_MARGIN, _LEGEND_MARGIN),
            brush=legend_brush,
            pen=legend_pen,
            labelTextColor=foreground,
            labelTextSize="8pt",
        )
        for axis in ("left", "bottom"):
            item.getAxis(axis).setPen(foreground)
            item.getAxis(axis).setTextPen(foreground)
        plot.setMinimumHeight(120)
        plot.setMinimumWidth(200)
        return plot

    @staticmethod
    def _epoch_curve(item: pg.PlotItem, color: QColor, name: str) -> pg.PlotDataItem:
        return item.plot(
            pen=pg.mkPen(color, width=2), symbol="o", symbolSize=5, symbolBrush=color, name=name
        )

    def _setup_learning_rate_axis(self, item: pg.PlotItem) -> None:
        """A right axis with its own ViewBox for the learning rate, hidden until it changes."""
        self._lr_view = pg.ViewBox()
        item.scene().addItem(self._lr_view)
        axis = item.getAxis("right")
        axis.linkToView(self._lr_view)
        axis.setLabel("learning rate")
        self._lr_view.setXLink(item)
        self.lr_curve = pg.PlotDataItem(
            pen=pg.mkPen(LEARNING_RATE_COLOR, width=1.5, style=Qt.PenStyle.DashLine),
            stepMode="center",
            name="learning rate",
        )
        self._lr_view.addItem(self.lr_curve)
        self._lr_legend_added = False
        item.vb.sigResized.connect(self._sync_lr_view)
        item.hideAxis("right")

    @Slot()
    def _sync_lr_view(self) -> None:
        main_view = self.loss_plot.getPlotItem().vb
        self._lr_view.setGeometry(main_view.sceneBoundingRect())
        self._lr_view.linkedViewChanged(main_view, self._lr_view.XAxis)

    # -- events ------------------------------------------------------------------------------

    @Slot(object)
    def on_event(self, event) -> None:
        """Consume one engine event; redraws happen later, at most every REDRAW_INTERVAL_MS."""
        if isinstance(event, TrainBegin):
            self.clear()
            self._live_loss = self._loss
            self._steps_per_epoch = event.steps_per_epoch
            self._show_planned_epochs(event.epochs)
        elif isinstance(event, BatchesEnd):
            self._add_batches(event)
        elif isinstance(event, EpochEnd):
            self._add_epoch(event)
        elif isinstance(event, TrainEnd):
            self.flush()
            for plot in (self.loss_plot, self.metric_plot):
                plot.getPlotItem().enableAutoRange(x=True)
            return
        else:
            return
        if not self._redraw_timer.isActive():
            self._redraw_timer.start()

    def _show_planned_epochs(self, epochs: int) -> None:
        """Fix x to the whole planned run while it trains: the axes stay put (no tick
        regeneration per redraw, which is most of a redraw's cost) and the curves grow
        into the space; the user may still zoom and pan."""
        for plot in (self.loss_plot, self.metric_plot):
            item = plot.getPlotItem()
            item.enableAutoRange(x=False)
            item.setXRange(0, max(1, epochs), padding=0.02)

    def _add_batches(self, event: BatchesEnd) -> None:
        steps = np.arange(event.first_step, event.first_step + len(event.losses), dtype=float)
        if self._steps_per_epoch:
            xs = event.epoch + (steps + 1) / self._steps_per_epoch
        else:  # unknown epoch length: approach the epoch's end without reaching it
            xs = event.epoch + 1 - 1 / (steps + 2)
        self._batches.extend(xs, _finite_or_nan(event.losses))
        self._batches_dirty = True
        if self._metric is None and event.logs:
            self._offer_metrics(list(event.logs))

    def _add_epoch(self, event: EpochEnd) -> None:
        index = self._epochs_seen
        for key in event.logs:
            self._epoch_history.setdefault(key, [math.nan] * index)
        for key, values in self._epoch_history.items():
            value = event.logs.get(key, math.nan)
            values.append(float(value) if value is not None else math.nan)
        self._epochs_seen = index + 1
        self._offer_metrics(list(event.logs))
        self._epochs_dirty = True

    def _offer_metrics(self, keys: list[str]) -> None:
        known = [self.metric_combo.itemText(i) for i in range(self.metric_combo.count())]
        new = [name for name in metric_names(keys) if name not in known]
        if not new:
            return
        self.metric_combo.addItems(new)
        if self._metric is None:
            chosen = _default_metric(self._project_metrics or (known + new))
            self.metric_combo.setCurrentText(chosen or _default_metric(known + new))

    def _refill_metric_combo(self, *, follow_project: bool) -> None:
        """The combo lists the project's metrics, then those the live run and the overlays
        logged. With ``follow_project`` a metric the project no longer compiles gives way to
        the project's first one (a switch to regression leaves "accuracy" for "mae")."""
        names: list[str] = []
        for name in (
            *self._project_metrics,
            *metric_names(list(self._epoch_history)),
            *self._overlay_metric_names(),
        ):
            if name not in names:
                names.append(name)
        chosen = self._metric
        if follow_project and self._project_metrics and chosen not in self._project_metrics:
            chosen = _default_metric(self._project_metrics)
        if chosen not in names:
            chosen = _default_metric(self._project_metrics) or _default_metric(names)
        combo = self.metric_combo
        listed = [combo.itemText(i) for i in range(combo.count())]
        if listed != names or (chosen and combo.currentText() != chosen):
            combo.blockSignals(True)
            combo.clear()
            combo.addItems(names)
            if chosen:
                combo.setCurrentText(chosen)
            combo.blockSignals(False)
        self._on_metric_chosen(chosen or "")

    @Slot(str)
    def _on_metric_chosen(self, name: str) -> None:
        self._metric = name or None
        self._epochs_dirty = True
        self._update_metric_title()
        self._rebuild_overlay_metric_items()
        self.flush()

    def set_metric_names(self, loss, metrics: Sequence) -> None:
        """The project's compile ``loss`` and ``metrics`` (as in the project's compile
        block): call whenever the compile section changes (a new dataset's Suggest, New,
        Open). The metric plot switches to the project's metric and both plots are titled
        and labelled for it; recorded runs trained with another loss leave the loss plot
        (a legend line says so) instead of being drawn on this loss's axis."""
        names = [name for name in map(compiled_metric_name, metrics or ()) if name]
        self._project_metrics = list(dict.fromkeys(names))
        self._expected_metric = self._project_metrics[0] if self._project_metrics else None
        new_loss = loss_name(loss)
        loss_changed = new_loss != self._loss
        self._loss = new_loss
        self._refill_metric_combo(follow_project=True)
        if loss_changed:
            self._rebuild_overlay_loss_items()
            self._epochs_dirty = self._batches_dirty = True
            self.flush()
        self._update_loss_title()

    def set_expected_metrics(self, names: Sequence[str]) -> None:
        """The project's compiled metric names (the loss unchanged): see set_metric_names."""
        self.set_metric_names(self._loss, names)

    def project_metrics(self) -> list[str]:
        return list(self._project_metrics)

    def project_loss(self) -> str | None:
        return self._loss

    def _update_metric_title(self) -> None:
        title = self._metric or getattr(self, "_expected_metric", None) or "no metric compiled"
        item = self.metric_plot.getPlotItem()
        color = self.palette().color(QPalette.ColorRole.Text)
        shown = (title, color.name(), self._metric)
        if shown == getattr(self, "_metric_title_shown", None):
            return  # (each trial of a search starts here: a new title costs a relayout)
        self._metric_title_shown = shown
        item.setTitle(title, color=color)
        _axis_label(item, self._metric)

    def _update_loss_title(self) -> None:
        item = self.loss_plot.getPlotItem()
        color = self.palette().color(QPalette.ColorRole.Text)
        item.setTitle(f"Loss: {self._loss}" if self._loss else "Loss", color=color)
        _axis_label(item, self._loss)

    def _live_loss_fits(self) -> bool:
        """The live run's loss curves belong on this loss axis (same loss, or unknown)."""
        return not (self._live_loss and self._loss and self._live_loss != self._loss)

    # -- layout ------------------------------------------------------------------------------

    def _place_legends(self) -> None:
        """Each legend to the right-hand corner its curves cross least: top right for
        falling curves (loss), bottom right for rising ones (accuracy)."""
        for name in ("loss", "metric"):
            item = self._plot_item(name)
            view, legend = item.vb, item.legend
            self._compact_legend(legend, view.height())
            (x0, x1), (y0, y1) = view.viewRange()
            if view.width() <= 0 or view.height() <= 0 or x1 <= x0 or y1 <= y0:
                continue
            covered_x = (legend.width() + 2 * _LEGEND_MARGIN) / view.width()
            covered_y = (legend.height() + 2 * _LEGEND_MARGIN) / view.height()
            xs, ys = [], []
            for curve in item.listDataItems():
                if curve.xData is None or len(curve.xData) < 1:
                    continue
                grid = np.linspace(curve.xData[0], curve.xData[-1], _LEGEND_SAMPLES)
                xs.append((grid - x0) / (x1 - x0))
                ys.append((np.interp(grid, curve.xData, curve.yData) - y0) / (y1 - y0))
            if not xs:
                continue
            x, y = np.concatenate(xs), np.concatenate(ys)
            right = (x > 1 - covered_x) & np.isfinite(y)
            top = int(np.count_nonzero(right & (y > 1 - covered_y)))
            bottom = int(np.count_nonzero(right & (y < covered_y)))
            at_bottom = bottom < top
            if self._legend_at_bottom.get(name, False) != at_bottom:
                self._legend_at_bottom[name] = at_bottom
                legend.setOffset(
                    (-_LEGEND_MARGIN, -_LEGEND_MARGIN if at_bottom else _LEGEND_MARGIN)
                )

    @staticmethod
    def _compact_legend(legend: pg.LegendItem, view_height: float) -> None:
        """Lay the legend out in columns so that it covers at most about a third of the
        plot's height (three rows of names on a short plot covered half the curves)."""
        count = len(legend.items)
        if count == 0 or view_height <= 0:
            return
        row = 20.0
        rows_allowed = max(1, int(view_height / 3 / row))
        columns = min(count, max(1, math.ceil(count / rows_allowed)))
        if legend.columnCount != columns:
            legend.setColumnCount(columns)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        QTimer.singleShot(0, self._place_legends)  # once the plots have their new size

    def legend_columns(self, plot: str) -> int:
        return self._plot_item(plot).legend.columnCount

    def legend_at_bottom(self, plot: str) -> bool:
        """Whether the ``loss`` or ``metric`` plot's legend sits at the bottom right."""
        self._plot_item(plot)  # validates the name
        return self._legend_at_bottom.get(plot, False)

    def plots_side_by_side(self) -> bool:
        return self._plot_splitter.side_by_side()

    # -- drawing -----------------------------------------------------------------------------

    @Slot()
    def flush(self) -> None:
        """Push changed buffers to their curves now (the timer calls this)."""
        self._redraw_timer.stop()
        if self._batches_dirty:
            if self._live_loss_fits():
                has_gaps = bool(np.isnan(self._batches.y).any())
                self.batch_curve.setData(
                    self._batches.x,
                    self._batches.y,
                    connect="finite",
                    skipFiniteCheck=not has_gaps,
                )
            else:
                self.batch_curve.setData([], [])
            self._batches_dirty = False
        if self._epochs_dirty:
            self._draw_epoch_curves()
            self._epochs_dirty = False

    def _draw_epoch_curves(self) -> None:
        xs = np.arange(1, self._epochs_seen + 1, dtype=float)
        history = self._epoch_history

        def series(key: str) -> np.ndarray:
            return _finite_or_nan(history.get(key, [])) if key in history else np.empty(0)

        def draw(curve: pg.PlotDataItem, key: str | None) -> None:
            ys = series(key) if key else np.empty(0)
            curve.setData(xs[: len(ys)], ys, connect="finite")

        fits = self._live_loss_fits()
        draw(self.train_loss_curve, "loss" if fits else None)
        draw(self.val_loss_curve, "val_loss" if fits else None)
        draw(self.train_metric_curve, self._metric)
        draw(self.val_metric_curve, f"val_{self._metric}" if self._metric else None)
        self._draw_learning_rate(history.get("learning_rate") or history.get("lr") or [])
        self._place_legends()

    def _draw_learning_rate(self, rates: Sequence[float]) -> None:
        finite = [rate for rate in rates if math.isfinite(rate) and rate > 0]
        changed = len(set(finite)) > 1
        item = self.loss_plot.getPlotItem()
        if not changed:
            item.hideAxis("right")
            self.lr_curve.setData([], [])
            if self._lr_legend_added:
                item.legend.removeItem(self.lr_curve)
                self._lr_legend_added = False
            return
        item.showAxis("right")
        if not self._lr_legend_added:
            item.legend.addItem(self.lr_curve, "learning rate")
            self._lr_legend_added = True
        edges = np.arange(0, len(rates) + 1, dtype=float)
        self.lr_curve.setData(edges, _finite_or_nan(rates))
        self._sync_lr_view()

    # -- reading the curves ------------------------------------------------------------------

    def batch_series(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the per-batch (x, loss) buffers received so far."""
        return self._batches.x.copy(), self._batches.y.copy()

    def epoch_history(self) -> dict[str, list[float]]:
        """Per-epoch logs received so far, key -> one value per epoch (nan where absent)."""
        return {key: list(values) for key, values in self._epoch_history.items()}

    def current_metric(self) -> str | None:
        return self._metric

    def set_metric(self, name: str) -> None:
        self.metric_combo.setCurrentText(name)

    def values_at(self, x: float) -> dict[str, float]:
        """The values a crosshair at ``x`` shows: nearest batch loss and nearest epoch's logs."""
        values: dict[str, float] = {}
        if self._batches.size:
            index = int(np.searchsorted(self._batches.x, x))
            candidates = [i for i in (index - 1, index) if 0 <= i < self._batches.size]
            nearest = min(candidates, key=lambda i: abs(self._batches.x[i] - x))
            values["batch loss"] = float(self._batches.y[nearest])
        if self._epochs_seen:
            epoch = min(max(round(x), 1), self._epochs_seen)
            values["epoch"] = float(epoch)
            shown = ["loss", "val_loss"]
            if self._metric:
                shown += [self._metric, f"val_{self._metric}"]
            shown += ["learning_rate"]
            for key in shown:
                if key in self._epoch_history:
                    values[key] = self._epoch_history[key][epoch - 1]
        return values

    def hover_text(self, x: float) -> str:
        values = self.values_at(x)
        if not values:
            return ""
        parts = [f"x {x:.2f}"]
        if "epoch" in values:
            parts.append(f"epoch {int(values.pop('epoch'))}")
        parts += [f"{key} {_format_value(value)}" for key, value in values.items()]
        return " · ".join(parts)

    @Slot(object)
    def _on_mouse_moved(self, position: QPointF) -> None:
        for plot in (self.loss_plot, self.metric_plot):
            view = plot.getPlotItem().vb
            if view.sceneBoundingRect().contains(position):
                self.show_crosshair(view.mapSceneToView(position).x())
                return
        self.hide_crosshair()

    def show_crosshair(self, x: float) -> None:
        """Put the crosshair at ``x`` on both plots and show the values there."""
        for line in self._crosshairs:
            line.setPos(x)
            line.setVisible(True)
        self.hover_label.setText(self.hover_text(x))

    def hide_crosshair(self) -> None:
        for line in self._crosshairs:
            line.setVisible(False)
        self.hover_label.clear()

    # -- clearing ----------------------------------------------------------------------------

    def clear(self) -> None:
        """Forget the live run (overlays stay)."""
        self._batches.clear()
        self._epoch_history = {}
        self._epochs_seen = 0
        self._steps_per_epoch = None
        self._metric = None
        self._live_loss = None
        self._refill_metric_combo(follow_project=True)
        self._update_metric_title()
        self.unmark(LIVE_MARK)
        self._batches_dirty = self._epochs_dirty = True
        self.flush()
        for plot in (self.loss_plot, self.metric_plot):
            item = plot.getPlotItem()
            if not self._overlays:  # nothing left to show: fresh axes, not the old run's
                item.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            item.enableAutoRange()
            _plain_ticks(item.getAxis("left"))

    # -- overlays of recorded runs -----------------------------------------------------------

    def add_overlay(
        self,
        key: str,
        label: str,
        history: Mapping[str, Sequence[float]],
        color,
        loss=None,
    ) -> None:
        """Lay a recorded run's per-epoch ``history`` over the plots (train dashed, val solid).

        ``history`` is Keras's ``History.history`` shape; ``key`` replaces an overlay with
        the same key. The metric plot follows the metric chosen in the combo. ``loss`` is
        the loss the run trained with (its snapshot's compile loss): when it differs from
        the project's (:meth:`set_metric_names`) the run's loss curves are not drawn on
        this loss's axis; the legend names the run and its loss instead.
        """
        self.remove_overlay(key)
        overlay = {
            "label": label,
            "history": {name: list(values) for name, values in history.items()},
            "color": pg.mkColor(color),
            "loss": loss_name(loss),
            "loss_items": [],
            "metric_items": [],
        }
        self._overlays[key] = overlay
        self._draw_overlay_loss(overlay)
        self._offer_metrics(list(overlay["history"]))
        self._rebuild_overlay_metric_items()
        self._place_legends()

    def _overlay_loss_fits(self, overlay: dict) -> bool:
        return not (overlay["loss"] and self._loss and overlay["loss"] != self._loss)

    def _draw_overlay_loss(self, overlay: dict) -> None:
        loss_item = self.loss_plot.getPlotItem()
        for item in overlay["loss_items"]:
            loss_item.removeItem(item)
        if self._overlay_loss_fits(overlay):
            overlay["loss_items"] = self._overlay_pair(loss_item, overlay, "loss", "loss")
            overlay["loss_note"] = None
        else:  # a legend line, no curve: this run's loss is not the one on this axis
            note = pg.PlotDataItem(
                [], [], pen=pg.mkPen(overlay["color"], width=1.5, style=Qt.PenStyle.DotLine)
            )
            loss_item.addItem(note)
            overlay["loss_items"] = [note]
            overlay["loss_note"] = f"{overlay['label']}: {overlay['loss']}, not drawn"
        self._one_legend_entry(loss_item, overlay)

    def _rebuild_overlay_loss_items(self) -> None:
        for overlay in self._overlays.values():
            self._draw_overlay_loss(overlay)
        self._place_legends()

    def overlay_loss_note(self, key: str) -> str | None:
        """The legend line of overlay ``key`` when its loss curves are left out, else None."""
        return self._overlays[key].get("loss_note")

    def remove_overlay(self, key: str) -> None:
        overlay = self._overlays.pop(key, None)
        if overlay is None:
            return
        for item in overlay["loss_items"]:
            self.loss_plot.getPlotItem().removeItem(item)
        for item in overlay["metric_items"]:
            self.metric_plot.getPlotItem().removeItem(item)
        self.unmark(key)
        self._place_legends()

    def clear_overlays(self) -> None:
        for key in list(self._overlays):
            self.remove_overlay(key)

    def overlay_keys(self) -> list[str]:
        return list(self._overlays)

    def overlay_items(self, key: str) -> list[pg.PlotDataItem]:
        """The curves drawn for overlay ``key`` (loss pair first, then the metric pair)."""
        overlay = self._overlays[key]
        return [*overlay["loss_items"], *overlay["metric_items"]]

    def _overlay_metric_names(self) -> list[str]:
        names: list[str] = []
        for overlay in self._overlays.values():
            names += [n for n in metric_names(list(overlay["history"])) if n not in names]
        return names

    def _rebuild_overlay_metric_items(self) -> None:
        metric_item = self.metric_plot.getPlotItem()
        for overlay in self._overlays.values():
            for item in overlay["metric_items"]:
                metric_item.removeItem(item)
            overlay["metric_items"] = (
                self._overlay_pair(metric_item, overlay, self._metric, self._metric)
                if self._metric
                else []
            )
            self._one_legend_entry(metric_item, overlay)

    @staticmethod
    def _one_legend_entry(plot_item: pg.PlotItem, overlay: dict) -> None:
        """The legend names each recorded run once, on its validation (solid) curve."""
        items = [
            item
            for item in (*overlay["loss_items"], *overlay["metric_items"])
            if item in plot_item.listDataItems()
        ]
        for item in items:
            plot_item.legend.removeItem(item)
        if items:
            note = overlay.get("loss_note") if items[-1] in overlay["loss_items"] else None
            plot_item.legend.addItem(items[-1], note or overlay["label"])

    @staticmethod
    def _overlay_pair(
        plot_item: pg.PlotItem, overlay: dict, key: str, caption: str
    ) -> list[pg.PlotDataItem]:
        items = []
        color = overlay["color"]
        for log_key, style, suffix in (
            (key, Qt.PenStyle.DashLine, ""),
            (f"val_{key}", Qt.PenStyle.SolidLine, " (val)"),
        ):
            values = overlay["history"].get(log_key)
            if not values:
                continue
            ys = _finite_or_nan(values)
            xs = np.arange(1, len(ys) + 1, dtype=float)
            item = plot_item.plot(
                xs,
                ys,
                pen=pg.mkPen(color, width=1.5, style=style),
                connect="finite",
                name=f"{overlay['label']} {caption}{suffix}",
            )
            items.append(item)
        return items

    # -- epoch marks -------------------------------------------------------------------------

    def mark_epoch(self, key: str, epoch: float, text: str, color=None) -> None:
        """Mark ``epoch`` on the loss plot: a vertical dashed line at x = ``epoch`` (where
        that 1-based epoch's end-of-epoch values are drawn) with ``text`` beside it.

        ``key`` is an overlay's key (the mark goes when the overlay does) or ``LIVE_MARK``
        (it goes when the live run is cleared); a new mark replaces the key's old one.
        ``color`` defaults to the overlay's colour, or the validation colour.
        """
        self.unmark(key)
        if color is None:
            overlay = self._overlays.get(key)
            color = overlay["color"] if overlay else VALIDATION_COLOR
        color = pg.mkColor(color)
        fill = QColor(self.palette().color(QPalette.ColorRole.Base))
        fill.setAlpha(200)
        line = pg.InfiniteLine(
            pos=float(epoch),
            angle=90,
            movable=False,
            pen=pg.mkPen(color, width=1.5, style=Qt.PenStyle.DashLine),
            # InfLineLabel formats its text with str.format: escape run names' braces.
            label=text.replace("{", "{{").replace("}", "}}"),
            labelOpts={"color": color, "fill": fill, "position": 0.95},
        )
        line.setToolTip(text)
        self.loss_plot.addItem(line, ignoreBounds=True)
        self._marks[key] = line
        self._place_mark_labels()

    def unmark(self, key: str) -> None:
        line = self._marks.pop(key, None)
        if line is not None:
            self.loss_plot.removeItem(line)
            self._place_mark_labels()

    def marks(self) -> dict[str, tuple[float, str]]:
        """The marks drawn, key -> (x, text)."""
        return {key: (float(line.value()), line.toolTip()) for key, line in self._marks.items()}

    def _place_mark_labels(self) -> None:
        """Stack the labels down from the top so marks at one epoch stay readable."""
        for index, line in enumerate(self._marks.values()):
            line.label.setPosition(max(0.05, 0.95 - 0.14 * index))

    # -- export ------------------------------------------------------------------------------

    def _plot_item(self, plot: str) -> pg.PlotItem:
        if plot not in ("loss", "metric"):
            raise ValueError(f"plot must be 'loss' or 'metric', not {plot!r}")
        return (self.loss_plot if plot == "loss" else self.metric_plot).getPlotItem()

    def export_png(self, path: str | Path, plot: str = "loss", width: int | None = None) -> None:
        """Write the ``loss`` or ``metric`` plot as PNG (atomically)."""
        self.flush()
        exporter = exporters.ImageExporter(self._plot_item(plot))
        if width:
            exporter.parameters()["width"] = int(width)
        image = exporter.export(toBytes=True)
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not image.save(buffer, "PNG"):
            raise OSError(f"could not encode the {plot} plot as PNG")
        atomic_write_bytes(path, bytes(buffer.data()))

    def export_svg(self, path: str | Path, plot: str = "loss") -> None:
        """Write the ``loss`` or ``metric`` plot as SVG (atomically).

        Rendered with ``QSvgGenerator``: pyqtgraph 0.14's ``SVGExporter`` fails on the path
        syntax Qt 6.11 writes ("not enough values to unpack").
        """
        self.flush()
        item = self._plot_item(plot)
        source = item.sceneBoundingRect()
        buffer = QBuffer()
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        generator = QSvgGenerator()
        generator.setOutputDevice(buffer)
        generator.setSize(source.size().toSize())
        generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
        generator.setTitle(item.titleLabel.text or plot)
        painter = QPainter(generator)
        try:
            item.scene().render(painter, QRectF(0, 0, source.width(), source.height()), source)
        finally:
            painter.end()
        atomic_write_bytes(path, bytes(buffer.data()))
