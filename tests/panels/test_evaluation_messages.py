"""Seen under Xvfb: "Select a run and press Evaluate." stayed above "Press Evaluate to test
Run 1 …" while a run was selected: one view showed two contradicting messages."""

from __future__ import annotations

from widgets.evaluation_view import EvaluationView


def test_a_message_replaces_the_evaluation_summary(qtbot):
    view = EvaluationView()
    qtbot.addWidget(view)
    view.show()
    view.show_message("Press Evaluate to test Run 1 on the dataset's test part.")
    assert not view.summary.isVisible()
    assert view.message.isVisible()
    view.clear()
    assert not view.summary.isVisible()
    assert view.message.text() == "Select a run and press Evaluate."
