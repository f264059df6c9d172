"""``layerlab runs PROJECT``: the project's recorded runs as a table, with what changed.

One row per run: name, status, epochs, the best validation loss and main metric (with the
epoch they came at), the duration, and the "changes" column — what the run does differently
from the run before it (or from ``--base NAME``). An overfitting hint follows its row.
"""

from __future__ import annotations

import argparse
import shutil
import sys

from engine.textfmt import elapsed_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", metavar="PROJECT", help="a LayerLab project (.llproj)")
    parser.add_argument(
        "--base",
        metavar="NAME",
        help="compare every run with this run (name or id) instead of the run before it",
    )


def run(args: argparse.Namespace) -> int:
    from engine.quiet import silenced_stderr

    with silenced_stderr():
        from engine.project import load_project

        project = load_project(args.project)
    sys.stdout.write(runs_table(project, base=args.base))
    sys.stdout.flush()
    return 0


def runs_table(project: dict, base: str | None = None, width: int | None = None) -> str:
    """The runs table as text (what ``layerlab runs`` prints)."""
    from engine import runs as records

    runs = project.get("runs") or []
    if not runs:
        return (
            "No runs recorded yet: runs trained in the LayerLab window or with "
            "'layerlab train' are recorded here.\n"
        )
    base_id = records.find_run(project, base)["id"] if base else None
    changes = records.compared_changes(runs, base_id)
    metric = _main_metric(runs)
    headers = ["run", "status", "epochs", "best val_loss"]
    if metric:
        headers.append(f"best val_{metric}")
    headers += ["time", "changes" if not base else f"changes vs {base}"]
    rows = []
    hints = []
    for run in runs:
        best = run.get("best") or {}
        row = [
            str(run.get("name", "")),
            records.status_text(run),
            str(run.get("epochs_completed", 0)),
            _best(best.get("val_loss")),
        ]
        if metric:
            row.append(_best(best.get(f"val_{metric}")))
        row += [elapsed_text(run.get("seconds") or 0.0), "; ".join(changes[run["id"]]) or "—"]
        rows.append(row)
        hint = run.get("overfitting")
        hints.append(hint.get("message") if isinstance(hint, dict) else None)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    total = width or shutil.get_terminal_size((120, 20)).columns
    fixed = sum(widths[:-1]) + 2 * (len(widths) - 1)
    widths[-1] = max(len(headers[-1]), min(widths[-1], max(20, total - fixed)))
    lines = [_line(headers, widths), _line(["-" * w for w in widths], widths)]
    for row, hint in zip(rows, hints, strict=True):
        lines += _wrapped(row, widths)
        if hint:
            lines.append(" " * 2 + "⚠ " + hint)
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _main_metric(runs: list[dict]) -> str | None:
    from engine.runs import main_metric

    for run in reversed(runs):
        metric = main_metric(run)
        if metric:
            return metric
    return None


def _best(entry) -> str:
    if not isinstance(entry, dict) or entry.get("value") is None:
        return "—"
    return f"{entry['value']:.4g} (ep {entry['epoch'] + 1})"


def _line(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))


def _wrapped(row: list[str], widths: list[int]) -> list[str]:
    """The row, with a long last cell (the changes) continued on the following lines."""
    import textwrap

    pieces = textwrap.wrap(row[-1], widths[-1]) or [""]
    lines = [_line([*row[:-1], pieces[0]], widths)]
    indent = sum(widths[:-1]) + 2 * (len(widths) - 1)
    lines += [" " * indent + piece for piece in pieces[1:]]
    return lines
