"""LogView.clear() (New/Open) forgets the previous project's last error too."""

from __future__ import annotations

from engine.events import LogLine, TrainEnd
from widgets.log_view import LogView


def test_clear_forgets_the_last_error(qtbot):
    view = LogView()
    qtbot.addWidget(view)
    view.on_event(LogLine("The data file is missing.", "error"))
    view.on_event(TrainEnd("failed", "The data file is missing.", 0, 0.1))
    assert view.lines() == ["The data file is missing."]  # not written twice
    view.clear()
    assert view.lines() == []
    view.on_event(TrainEnd("failed", "The data file is missing.", 0, 0.1))
    assert view.lines() == ["The data file is missing."]  # the new project's failure shows
