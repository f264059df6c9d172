"""Every evaluation plot is drawn on the palette's base colour, like the training curves
(ROC and predicted-vs-true were white on black while the others were on white)."""

from __future__ import annotations

import numpy as np
from PySide6.QtGui import QColor, QPalette

from engine import evaluation
from widgets.evaluation_view import EvaluationView

PLOTS = ("confusion_plot", "roc_plot", "scatter_plot", "residual_plot")


def corner_colour(plot) -> QColor:
    plot.resize(300, 220)
    image = plot.grab().toImage()
    return image.pixelColor(image.width() - 3, 3)


def test_every_plot_uses_the_palette_colours(qtbot):
    view = EvaluationView()
    qtbot.addWidget(view)
    t = np.linspace(0, 10, 200)
    stats = evaluation.regression_stats(t, t + np.sin(t), baseline_mae=1.5)
    view.show_evaluation(
        evaluation.Evaluation(
            task="regression", metrics={"loss": 0.5}, samples=200, regression=stats
        ),
        "Run 1",
    )
    base = view.palette().color(QPalette.ColorRole.Base)
    text = view.palette().color(QPalette.ColorRole.Text)
    for name in PLOTS:
        plot = getattr(view, name)
        assert corner_colour(plot) == base, name
        axis = plot.getPlotItem().getAxis("left")
        assert axis.textPen().color() == text, name
    title = view.scatter_plot.getPlotItem().titleLabel
    assert QColor(title.opts.get("color")) == text
