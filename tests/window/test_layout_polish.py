"""Layout polish: runs panel orientation, training panel width, metric plot title."""

from PySide6.QtWidgets import QScrollArea

from app.runs_panel import RunsPanel


def test_runs_panel_orientation_follows_its_size(qtbot):
    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.show()
    panel.resize(1200, 300)
    qtbot.wait(10)
    assert panel.side_by_side()
    panel.resize(500, 600)
    qtbot.wait(10)
    assert not panel.side_by_side()


def test_training_panel_has_no_horizontal_scrollbar(window, qtbot):
    window.resize(1280, 800)
    qtbot.wait(50)
    scroll = window.training_panel.findChild(QScrollArea)
    assert not scroll.horizontalScrollBar().isVisible()


def test_metric_title_names_the_compiled_metric_before_training(window):
    title = window.curves.metric_plot.getPlotItem().titleLabel.text
    assert "accuracy" in title
