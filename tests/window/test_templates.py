"""The Templates menu opens each tutorial classic as an unsaved copy whose stack builds."""

from __future__ import annotations


def test_every_template_opens_and_builds(window):
    actions = [action for action in window.templates_menu.actions() if action.data()]
    titles = [action.text() for action in actions]
    assert len(actions) >= 8, titles  # seven tutorials + the demo
    totals = {}
    for action in actions:
        action.trigger()
        document = window.document
        assert document.path is None, action.text()
        assert document.layer_count() > 0, action.text()
        assert document.stack_error() is None, (action.text(), document.stack_error())
        assert "(unsaved)" in window.windowTitle()
        totals[action.text()] = document.totals()[0]
    imdb_mlp = next(title for title in titles if "MLP 16-16-1" in title)
    assert totals[imdb_mlp] == 160_305
    assert all(action.toolTip() for action in actions[:-1])
