"""Search views from plain data (pyqtgraph; no Keras, no engine state).

- ``ParallelCoordinates``: one vertical axis per hyperparameter and one for the objective,
  one polyline per completed trial coloured by its objective (the best trials brightest).
  A numeric axis spans its values (log10 for a log-scaled setting, the ticks still read in
  the setting's own units); a categorical axis spaces its choices evenly.
- ``ImportanceBars``: parameter importances as horizontal bars, largest on top.
- ``ParetoPlot``: two objectives as a scatter, the Pareto front highlighted and joined.

Each takes plain Python values: ``set_data(...)``; ``line_count()`` etc. for tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QStackedLayout, QWidget

_EMPTY_STYLE = "color: palette(mid); padding: 12px;"


@dataclass(frozen=True)
class Axis:
    """One vertical axis. ``choices``: a categorical axis's values in order (None: numeric);
    ``log``: numeric values drawn on a log scale; ``low``/``high``: its span (the searched
    range; None: the values' own)."""

    key: str
    label: str
    log: bool = False
    choices: tuple | None = None
    low: float | None = None  # the searched range (None: the values' own)
    high: float | None = None


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def _position(axis: Axis, value: Any, low: float, high: float) -> float:
    """``value`` on ``axis`` as 0..1 (NaN when it has none)."""
    if value is None:
        return math.nan
    if axis.choices is not None:
        try:
            index = list(axis.choices).index(value)
        except ValueError:
            return math.nan
        return 0.5 if len(axis.choices) == 1 else index / (len(axis.choices) - 1)
    if isinstance(value, bool):
        value = float(value)
    if not isinstance(value, int | float) or not math.isfinite(value):
        return math.nan
    if axis.log:
        if value <= 0:
            return math.nan
        value = math.log10(value)
    if high <= low:
        return 0.5
    return (value - low) / (high - low)


def _colour(fraction: float) -> tuple[int, int, int]:
    """0 (worst) .. 1 (best) on a dark-blue → yellow ramp (viridis' ends)."""
    stops = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
    fraction = min(max(fraction, 0.0), 1.0) * (len(stops) - 1)
    i = min(int(fraction), len(stops) - 2)
    t = fraction - i
    a, b = stops[i], stops[i + 1]
    return tuple(int(a[k] + (b[k] - a[k]) * t) for k in range(3))


class _Empty(QWidget):
    """A plot with a message in its place while there is nothing to draw."""

    def __init__(self, plot: pg.PlotWidget, message: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.plot = plot
        self.message = QLabel(message, self)
        self.message.setWordWrap(True)
        self.message.setStyleSheet(_EMPTY_STYLE)
        self._stack = QStackedLayout(self)
        self._stack.addWidget(self.message)
        self._stack.addWidget(plot)

    def _show_plot(self, shown: bool, message: str | None = None) -> None:
        if message is not None:
            self.message.setText(message)
        self._stack.setCurrentIndex(1 if shown else 0)


class ParallelCoordinates(_Empty):
    """Hyperparameters vs objective (objectName ``parallelCoordinates``)."""

    def __init__(self, parent: QWidget | None = None):
        plot = pg.PlotWidget()
        super().__init__(plot, "Completed trials appear here as lines.", parent)
        self.setObjectName("parallelCoordinates")
        plot.setBackground("w")
        plot.hideAxis("left")
        plot.hideAxis("bottom")
        plot.setMouseEnabled(x=False, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        self.lines: list[pg.PlotDataItem] = []
        self._decor: list[Any] = []
        self._key: Any = None
        self._decor_key: Any = None
        self._row_keys: list[tuple] = []
        self._drawn: list[tuple | None] = []  # per line: (its y bytes, its pen) as drawn
        self._objective_labels: list[tuple[int, tuple]] = []

    def line_count(self) -> int:
        return len(self.lines)

    def set_data(
        self,
        axes: Sequence[Axis],
        rows: Sequence[dict[str, Any]],
        objective: str,
        minimize: bool = True,
    ) -> None:
        """``axes``: the hyperparameters (the objective axis is added last, keyed
        ``objective``); ``rows``: one dict per completed trial, values by axis key and the
        objective's value under ``objective``. Lines are kept and re-coloured as rows are
        added (a search adds one at a time); the axes' labels are made again only when
        the axes change."""
        key = (
            tuple(axes),
            tuple(tuple(sorted(r.items(), key=str)) for r in rows),
            objective,
            minimize,
        )
        if key == self._key:
            return  # the same picture: nothing to redraw
        self._key = key
        plot = self.plot
        values = [row.get(objective) for row in rows]
        finite = [v for v in values if isinstance(v, int | float) and math.isfinite(v)]
        if not rows or (not axes and not finite):
            for item in [*self.lines, *self._decor]:
                plot.removeItem(item)
            self.lines, self._row_keys, self._decor, self._decor_key = [], [], [], None
            self._drawn = []
            self._show_plot(False, "Completed trials appear here as lines.")
            return
        all_axes = [*axes, Axis(objective, objective)]
        ranges = [self._range(axis, rows) for axis in all_axes]
        low, high = ranges[-1]
        xs = np.arange(len(all_axes), dtype=float)
        decor = tuple(all_axes)
        if decor != self._decor_key:  # other axes: every line is drawn again
            for item in [*self.lines, *self._decor]:
                plot.removeItem(item)
            self.lines, self._row_keys, self._decor, self._drawn = [], [], [], []
        for i, row in enumerate(rows):
            ys = np.array(
                [_position(a, row.get(a.key), *r) for a, r in zip(all_axes, ranges, strict=True)]
            )
            value = values[i]
            if isinstance(value, int | float) and math.isfinite(value) and high > low:
                quality = (value - low) / (high - low)
                quality = 1 - quality if minimize else quality
            else:
                quality = 0.5
            row_key = tuple(sorted(row.items(), key=str))
            pen_key = (_colour(quality), quality > 0.99)
            if i < len(self.lines) and self._row_keys[i] == row_key:
                line = self.lines[i]
                if self._drawn[i] == (ys.tobytes(), pen_key):
                    continue  # the same line in the same colour (most, as a search goes on)
                line.setData(xs, ys, connect="finite")
            else:
                line = pg.PlotDataItem(xs, ys, connect="finite")
                line.setToolTip("\n".join(f"{a.label}: {_short(row.get(a.key))}" for a in all_axes))
                plot.addItem(line)
                if i < len(self.lines):
                    plot.removeItem(self.lines[i])
                    self.lines[i], self._row_keys[i] = line, row_key
                else:
                    self.lines.append(line)
                    self._row_keys.append(row_key)
                    self._drawn.append(None)
            self._drawn[i] = (ys.tobytes(), pen_key)
            line.setPen(pg.mkPen(color=(*pen_key[0], 210), width=2.4 if pen_key[1] else 1.4))
            line.setZValue(1 + quality)  # the best on top
        for line in self.lines[len(rows) :]:
            plot.removeItem(line)
        del self.lines[len(rows) :], self._row_keys[len(rows) :], self._drawn[len(rows) :]
        if decor != self._decor_key:
            self._decor_key = decor
            self._objective_labels = []
            for x, axis in enumerate(all_axes):
                rule = pg.InfiniteLine(pos=x, angle=90, pen=pg.mkPen((120, 120, 120), width=1))
                plot.addItem(rule)
                self._decor.append(rule)
                # four axes or more: names alternate between two rows (they overlapped
                # in a 300 px wide plot at 1024×700)
                staggered = len(all_axes) >= 4 and x % 2 == 1
                # the outer names lean inwards, so the plot's edges do not cut them
                lean = 0.3 if x == 0 else 0.7 if x == len(all_axes) - 1 else 0.5
                self._label(
                    x, 1.24 if staggered else 1.14, axis.label, bold=True, anchor=(lean, 0.5)
                )
                if axis.choices is not None:
                    for j, choice in enumerate(axis.choices):
                        y = 0.5 if len(axis.choices) == 1 else j / (len(axis.choices) - 1)
                        self._label(x, y, _short(choice), anchor=(-0.08, 0.5))
                else:
                    labels = (self._label(x, 1.06, ""), self._label(x, -0.06, ""))
                    self._objective_labels.append((x, labels))
            plot.setXRange(-0.5, len(all_axes) - 0.5, padding=0)
            plot.setYRange(-0.12, 1.3 if len(all_axes) >= 4 else 1.2, padding=0)
        for x, (top, bottom) in self._objective_labels:
            axis, (lo, hi) = all_axes[x], ranges[x]
            show = (lambda v: 10**v) if axis.log else (lambda v: v)
            top.setText(_short(show(hi)))
            bottom.setText(_short(show(lo)))
        self._show_plot(True)

    @staticmethod
    def _range(axis: Axis, rows: Sequence[dict[str, Any]]) -> tuple[float, float]:
        """The axis's span (log10 for a log axis): the searched range when known, else its
        values'."""
        if axis.low is not None and axis.high is not None and (not axis.log or axis.low > 0):
            low, high = float(axis.low), float(axis.high)
            return (math.log10(low), math.log10(high)) if axis.log else (low, high)
        numbers = [
            float(row[axis.key])
            for row in rows
            if isinstance(row.get(axis.key), int | float)
            and not isinstance(row.get(axis.key), bool)
            and math.isfinite(row[axis.key])
            and (not axis.log or row[axis.key] > 0)
        ]
        if axis.log:
            numbers = [math.log10(n) for n in numbers]
        return (min(numbers), max(numbers)) if numbers else (0.0, 1.0)

    def _label(
        self, x: float, y: float, text: str, bold: bool = False, anchor=(0.5, 0.5)
    ) -> pg.TextItem:
        item = pg.TextItem(text, color="#333", anchor=anchor)
        if bold:
            font = item.textItem.font()
            font.setBold(True)
            item.setFont(font)
        item.setPos(x, y)
        self.plot.addItem(item)
        self._decor.append(item)
        return item


class ImportanceBars(_Empty):
    """Parameter importances (objectName ``importanceBars``)."""

    def __init__(self, parent: QWidget | None = None):
        plot = pg.PlotWidget()
        super().__init__(plot, "Parameter importance needs two completed trials.", parent)
        self.setObjectName("importanceBars")
        plot.setBackground("w")
        plot.setMouseEnabled(x=False, y=False)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setLabel("bottom", "importance")
        self.bars: pg.BarGraphItem | None = None
        self.names: list[str] = []

    def set_data(self, importance: dict[str, float]) -> None:
        if self.bars is not None:
            self.plot.removeItem(self.bars)
            self.bars = None
        items = sorted(importance.items(), key=lambda kv: kv[1])
        self.names = [name for name, _ in reversed(items)]
        if not items:
            self._show_plot(False)
            return
        ys = np.arange(len(items), dtype=float)
        widths = np.array([value for _, value in items], dtype=float)
        self.bars = pg.BarGraphItem(x0=0, y=ys, height=0.6, width=widths, brush="#3b528b")
        self.plot.addItem(self.bars)
        self.plot.getAxis("left").setTicks([[(float(i), n) for i, (n, _) in enumerate(items)]])
        self.plot.setXRange(0, max(1e-9, float(widths.max())) * 1.05)
        self.plot.setYRange(-0.6, len(items) - 0.4)
        self._show_plot(True)


def pareto_front(points: Sequence[tuple[float, float]], minimize=(True, True)) -> list[int]:
    """Indices of the points no other point beats on both values (ties kept)."""
    signs = [1 if m else -1 for m in minimize]
    keyed = [(signs[0] * a, signs[1] * b) for a, b in points]
    front = []
    for i, (a, b) in enumerate(keyed):
        dominated = any(
            (c <= a and d <= b) and (c < a or d < b) for j, (c, d) in enumerate(keyed) if j != i
        )
        if not dominated:
            front.append(i)
    return front


class ParetoPlot(_Empty):
    """Two objectives as a scatter, the front highlighted (objectName ``paretoPlot``)."""

    def __init__(self, parent: QWidget | None = None):
        plot = pg.PlotWidget()
        super().__init__(plot, "A search with two objectives shows its Pareto front here.", parent)
        self.setObjectName("paretoPlot")
        plot.setBackground("w")
        plot.showGrid(x=True, y=True, alpha=0.2)
        self.front: list[int] = []
        self._items: list[Any] = []

    def set_data(
        self,
        points: Sequence[tuple[float, float]],
        labels: tuple[str, str] = ("objective 1", "objective 2"),
        minimize: tuple[bool, bool] = (True, True),
        log_x: bool = False,
    ) -> None:
        for item in self._items:
            self.plot.removeItem(item)
        self._items = []
        points = [
            (float(a), float(b))
            for a, b in points
            if math.isfinite(a) and math.isfinite(b) and (not log_x or a > 0)
        ]
        self.front = pareto_front(points, minimize)
        if not points:
            self._show_plot(False)
            return
        self.plot.setLogMode(x=log_x, y=False)
        self.plot.setLabel("bottom", labels[0])
        self.plot.setLabel("left", labels[1])
        xs = np.array([p[0] for p in points])
        ys = np.array([p[1] for p in points])
        others = pg.ScatterPlotItem(xs, ys, size=7, brush=pg.mkBrush(150, 150, 150, 160), pen=None)
        on = sorted(self.front, key=lambda i: points[i][0])
        front = pg.PlotDataItem(
            xs[on],
            ys[on],
            pen=pg.mkPen("#d35400", width=2),
            symbol="o",
            symbolSize=9,
            symbolBrush="#d35400",
        )
        for item in (others, front):
            self.plot.addItem(item)
            self._items.append(item)
        self._show_plot(True)
