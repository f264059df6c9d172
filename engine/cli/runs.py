"""``layerlab runs PROJECT``: the project's recorded runs as a table, with what changed.

The same columns as the window's runs table (``engine.run_columns``): per run its name,
status, epochs, the best validation loss and main metric with the epoch they came at, the
main metric's final and test values, the parameter count, the training time, and the
"changes" column — what the run does differently from the run before it (or from ``--base
NAME``). The table fits the terminal: the changes wrap, and on a narrow terminal the least
needed columns (final, params, status, test) are left out. An overfitting hint follows its
row. ``--csv OUT`` / ``--json OUT`` write every run in tidy form (one row per run, epoch and
metric, with the run's hyperparameters; ``-`` writes to standard output instead of the
table). ``--no-params`` skips the parameter count (it loads Keras: a few seconds).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import textwrap

MIN_CHANGES_WIDTH = 24
# Left out first when the terminal is too narrow for the changes column.
_OPTIONAL = ("final", "params", "status", "test")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", metavar="PROJECT", help="a LayerLab project (.llproj)")
    parser.add_argument(
        "--base",
        metavar="NAME",
        help="compare every run with this run (name or id) instead of the run before it",
    )
    parser.add_argument(
        "--csv", metavar="OUT", help="write every run's values in tidy form as CSV ('-': stdout)"
    )
    parser.add_argument(
        "--json", metavar="OUT", help="write the same tidy table as JSON ('-': stdout)"
    )
    parser.add_argument(
        "--no-params",
        action="store_true",
        help="leave out the parameter count (it loads Keras, which takes a few seconds)",
    )


def run(args: argparse.Namespace) -> int:
    from engine.quiet import silenced_stderr

    with silenced_stderr():
        from engine.project import load_project

        project = load_project(args.project)
    count = not args.no_params
    to_stdout = "-" in (args.csv, args.json)
    with silenced_stderr():  # counting parameters may load Keras
        table = None if to_stdout else runs_table(project, base=args.base, count_params=count)
        exports = _exports(project, args, count)
    if table is not None:
        sys.stdout.write(table)
    for target, text, rows in exports:
        if target == "-":
            sys.stdout.write(text)
        else:
            from engine.files import atomic_write_text

            atomic_write_text(target, text)
            print(f"Wrote {rows} rows to {target}.")
    sys.stdout.flush()
    return 0


def _exports(project: dict, args: argparse.Namespace, count: bool) -> list[tuple[str, str, int]]:
    from engine import export
    from engine.run_compare import parameter_count

    runs = project.get("runs") or []
    params = (lambda run: parameter_count(run, count=count)) if count else None
    result = []
    if args.csv or args.json:
        _header, rows = export.tidy_rows(runs, params)
        if args.csv:
            result.append((args.csv, export.tidy_csv(runs, params), len(rows)))
        if args.json:
            result.append((args.json, export.tidy_json(runs, params), len(rows)))
    return result


def runs_table(
    project: dict,
    base: str | None = None,
    width: int | None = None,
    count_params: bool = True,
) -> str:
    """The runs table as text (what ``layerlab runs`` prints), ``width`` columns wide (the
    terminal's by default)."""
    from engine import runs as records
    from engine.run_compare import comparison_table

    runs = project.get("runs") or []
    if not runs:
        return (
            "No runs recorded yet: runs trained in the LayerLab window or with "
            "'layerlab train' are recorded here.\n"
        )
    base_id = records.find_run(project, base)["id"] if base else None
    metric = next((m for m in map(records.main_metric, reversed(runs)) if m), None)
    table = comparison_table(runs, base_id, metric, count_params=count_params)
    keys = ["name", "status", "epochs", *_main_columns(table.main), "params", "time", "changes"]
    table = table.select(keys)
    keys = table.column_keys()
    headers = [column.header.lower().replace("name", "run", 1) for column in table.columns]
    if base:
        headers[-1] = f"changes vs {base}"
    rows = [[cell.text for cell in row] for row in table.rows]
    total = width or shutil.get_terminal_size((120, 20)).columns
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for group in _OPTIONAL:
        if _fixed(widths) + MIN_CHANGES_WIDTH <= total:
            break
        drop = [i for i, key in enumerate(keys) if key.partition(":")[0] == group]
        keys, headers, widths = (_without(items, drop) for items in (keys, headers, widths))
        rows = [_without(row, drop) for row in rows]
    widths[-1] = max(
        len(headers[-1]), min(widths[-1], max(MIN_CHANGES_WIDTH, total - _fixed(widths)))
    )
    lines = [_line(headers, widths), _line(["-" * w for w in widths], widths)]
    for run, row in zip(runs, rows, strict=True):
        lines += _wrapped(row, widths)
        hint = run.get("overfitting")
        if isinstance(hint, dict) and hint.get("message"):
            lines.append(" " * 2 + "⚠ " + hint["message"])
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _main_columns(main: list[str]) -> list[str]:
    """The best values, then the main metric's final value, then its test value."""
    bests = [key for key in main if key.startswith("best:")]
    finals = [f"final:{key[5:]}" for key in bests[-1:] if key != "best:metric"]
    return [*bests, *finals, *(key for key in main if not key.startswith("best:"))]


def _fixed(widths: list[int]) -> int:
    """Width of every column but the last (changes), with the gaps."""
    return sum(widths[:-1]) + 2 * (len(widths) - 1)


def _without(items: list, drop: list[int]) -> list:
    return [item for i, item in enumerate(items) if i not in drop]


def _line(cells: list[str], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))


def _wrapped(row: list[str], widths: list[int]) -> list[str]:
    """The row, with a long last cell (the changes) continued on the following lines."""
    pieces = textwrap.wrap(row[-1], widths[-1]) or [""]
    lines = [_line([*row[:-1], pieces[0]], widths)]
    indent = _fixed(widths)
    lines += [" " * indent + piece for piece in pieces[1:]]
    return lines
