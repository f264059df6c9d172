"""What a user writes about runs: notes, tags and a colour, and the filter that finds them.

A run record may hold ``"notes"`` (free text), ``"tags"`` (a list of short words) and
``"color"`` (``"#rrggbb"``, the run's colour in every comparison plot). ``annotate_run``
returns a new project with them set (pure, like ``engine.runs``); ``run_matches`` is the
compare workspace's filter: plain words match the name, notes, tags, status and the changes
text (case-insensitive, every word must match), ``tag:NAME`` matches a tag exactly, and a
query written ``/…/`` is a regular expression over the same text.
"""

from __future__ import annotations

import re
from typing import Any

from engine.errors import ProjectError

MAX_NOTES = 10_000
MAX_TAGS = 20
_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
_TAG = re.compile(r"[\w.+\-]{1,40}")
# Distinct colours for runs without one of their own (matplotlib's tab10).
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip


def run_color(run: dict, position: int) -> str:
    """The run's own colour, else the palette colour of its position in the project."""
    color = run.get("color")
    if isinstance(color, str) and _COLOR.fullmatch(color):
        return color
    return PALETTE[position % len(PALETTE)]


def parse_tags(text: str) -> list[str]:
    """Tags typed as ``a, b c`` → ``["a", "b", "c"]`` (order kept, duplicates dropped)."""
    tags: list[str] = []
    for word in re.split(r"[,\s]+", str(text)):
        if word and word not in tags:
            tags.append(word)
    return tags


def annotate_run(project: dict, run_id: str, **fields: Any) -> dict:
    """A new project in which run ``run_id`` has the given ``notes``, ``tags`` or ``color``
    (None removes one). ProjectError names the field and the fix."""
    clean: dict[str, Any] = {}
    for key, value in fields.items():
        if key == "notes":
            text = "" if value is None else str(value)
            if len(text) > MAX_NOTES:
                raise ProjectError(
                    f"Notes are limited to {MAX_NOTES:,} characters; these have {len(text):,}.",
                    field="runs.notes",
                )
            clean[key] = text or None
        elif key == "tags":
            tags = parse_tags(value) if isinstance(value, str) else list(value or [])
            bad = [tag for tag in tags if not isinstance(tag, str) or not _TAG.fullmatch(tag)]
            if bad:
                raise ProjectError(
                    f"The tag {bad[0]!r} is not a short word: use letters, digits, '.', '+', "
                    "'-' or '_' (up to 40).",
                    field="runs.tags",
                )
            if len(tags) > MAX_TAGS:
                raise ProjectError(f"A run can have at most {MAX_TAGS} tags.", field="runs.tags")
            clean[key] = tags or None
        elif key == "color":
            if value is not None and not (isinstance(value, str) and _COLOR.fullmatch(value)):
                raise ProjectError(
                    f"A run colour is written #rrggbb; got {value!r}.", field="runs.color"
                )
            clean[key] = value
        else:
            raise ProjectError(f"A run has no field {key!r} to annotate.", field=f"runs.{key}")
    runs = list(project.get("runs") or [])
    if not any(run.get("id") == run_id for run in runs):
        raise ProjectError(f"There is no run with id {run_id!r}.", field="runs")
    edited = []
    for run in runs:
        if run.get("id") == run_id:
            run = dict(run)
            for key, value in clean.items():
                if value is None:
                    run.pop(key, None)
                else:
                    run[key] = value
        edited.append(run)
    return {**project, "runs": edited}


def _text(run: dict, changes: str = "") -> str:
    parts = [
        str(run.get("name", "")),
        str(run.get("notes", "")),
        " ".join(run.get("tags") or []),
        str(run.get("status", "")),
        changes,
    ]
    return "\n".join(parts)


def query_problem(query: str) -> str | None:
    """Why ``query`` cannot be used (a broken regular expression), else None."""
    query = query.strip()
    if len(query) >= 2 and query.startswith("/") and query.endswith("/"):
        try:
            re.compile(query[1:-1], re.IGNORECASE)
        except re.error as error:
            return f"The pattern {query} is not a regular expression: {error}."
    return None


def run_matches(run: dict, query: str, changes: str = "") -> bool:
    """Whether ``run`` passes the filter ``query`` (see the module docstring); an empty
    query or a broken pattern matches every run."""
    query = query.strip()
    if not query:
        return True
    text = _text(run, changes)
    if len(query) >= 2 and query.startswith("/") and query.endswith("/"):
        try:
            return re.search(query[1:-1], text, re.IGNORECASE) is not None
        except re.error:
            return True
    tags = set(run.get("tags") or [])
    lowered = text.lower()
    for word in query.split():
        if word.lower().startswith("tag:"):
            if word[4:] not in tags:
                return False
        elif word.lower() not in lowered:
            return False
    return True
