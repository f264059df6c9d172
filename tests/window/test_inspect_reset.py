"""Issue 9's rule for issue 14's views: New/Open leaves no layer outputs or explanations of
the previous project on screen."""

from __future__ import annotations


def test_new_project_closes_the_previous_projects_inspect_window(window):
    flow = window.runs_panel.inspect_flow
    inspect = flow.ensure_window()
    inspect.activations.show_message("layer outputs of Run 1")
    inspect.show()
    flow.last_request = {"what": "activations", "rows": [0]}
    window.document.undo_stack.setClean()
    window.new_project()
    assert not inspect.isVisible()
    assert flow.last_request is None
