"""Issue 12: runs carry notes, tags and a colour, and the compare filter finds them."""

from __future__ import annotations

import pytest

from engine.errors import ProjectError
from engine.run_notes import (
    PALETTE,
    annotate_run,
    parse_tags,
    query_problem,
    run_color,
    run_matches,
)

PROJECT = {
    "runs": [
        {"id": "a", "name": "Run 1", "status": "completed"},
        {"id": "b", "name": "LSTM dropout", "status": "stopped"},
    ]
}


def test_annotate_sets_and_removes_fields_without_touching_the_input():
    edited = annotate_run(
        PROJECT, "b", notes="best so far", tags="lstm, dropout lstm", color="#123abc"
    )
    run = edited["runs"][1]
    assert run["notes"] == "best so far" and run["tags"] == ["lstm", "dropout"]
    assert run["color"] == "#123abc"
    assert "notes" not in PROJECT["runs"][1]
    cleared = annotate_run(edited, "b", notes="", tags=[], color=None)
    assert {"notes", "tags", "color"}.isdisjoint(cleared["runs"][1])


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"color": "red"}, "#rrggbb"),
        ({"tags": ["a b"]}, "short word"),
        ({"notes": "x" * 10_001}, "limited"),
        ({"size": 3}, "no field"),
    ],
)
def test_bad_annotations_are_refused_with_the_fix(fields, words):
    with pytest.raises(ProjectError, match=words):
        annotate_run(PROJECT, "a", **fields)


def test_unknown_run_is_refused():
    with pytest.raises(ProjectError, match="no run"):
        annotate_run(PROJECT, "zzz", notes="x")


def test_filter_words_tags_and_regex():
    run = {
        "id": "b",
        "name": "LSTM dropout",
        "status": "stopped",
        "tags": ["imdb"],
        "notes": "try 0.3 next",
    }
    assert run_matches(run, "")
    assert run_matches(run, "lstm 0.3")
    assert not run_matches(run, "lstm gru")
    assert run_matches(run, "tag:imdb") and not run_matches(run, "tag:reuters")
    assert run_matches(run, "/^lstm/")
    assert not run_matches(run, "/^gru/")
    assert run_matches(run, "Dropout(rate", changes="+Dropout(rate=0.5) after Dense[1]")
    assert run_matches(run, "/[unclosed/")  # a broken pattern hides nothing
    assert query_problem("/[unclosed/") is not None and query_problem("lstm") is None


def test_colours_and_tags():
    assert run_color({"color": "#abcdef"}, 3) == "#abcdef"
    assert run_color({}, 11) == PALETTE[1]
    assert parse_tags(" a,,b  a ") == ["a", "b"]
