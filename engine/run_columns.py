"""The comparison columns of a list of runs: one source for the runs table and ``layerlab runs``.

``run_columns(runs)`` gives a ``RunTable``: ``columns`` (a key, a header, whether it sorts
as a number) and one row of ``Cell`` s per run (the text shown, the value sorted on — a
number for numeric columns, None when the run has no value — and a tooltip). Plain data
and pure: no Qt, no Keras, nothing but the records passed in (the widgets may import it).

Columns, in this order (the first ones are what a narrow table must show):

- ``name``;
- ``best:val_loss`` and the best of the task's metric with the epoch it came at
  (``0.92 (ep 3)``; the min for losses and errors, the max for accuracy, AUC …, as
  ``engine.runs.best_metrics`` recorded it). When every run logged the same metric the keys
  name it (``best:val_accuracy``, ``test:accuracy``); when runs differ (a classifier and a
  regressor) they are ``best:metric`` / ``test:metric`` and each cell names the run's own
  metric (``val_mae 0.31 (ep 3)``);
- ``changes``: what the run does differently from the run before it, or a reference run;
- the main metric's test value, ``epochs``, ``status``, ``hint`` (overfitting), ``params``
  (the model's parameter count), ``time``;
- for every logged metric its best (with the epoch) and its final value
  (``best:loss``, ``final:val_loss`` …), every other test metric, and ``started``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from engine.identity_memo import IdentityMemo
from engine.textfmt import elapsed_text

NO_VALUE = "—"
_NOT_METRICS = frozenset({"loss", "learning_rate", "lr"})
STATUS_TEXT = {"early_stopped": "early-stopped"}


@dataclass(frozen=True)
class Column:
    """``key`` is stable (``best:val_loss``); ``header`` is what a table shows."""

    key: str
    header: str
    numeric: bool = False
    tooltip: str = ""


@dataclass(frozen=True)
class Cell:
    """``sort``: a number for numeric columns (None: no value), lower-cased text otherwise.
    ``epoch``: for a best-value cell, the 0-based epoch the value came at."""

    text: str
    sort: Any = None
    tooltip: str | None = None
    epoch: int | None = None


EMPTY = Cell(NO_VALUE, None)
_BEST_TIP = "The best value and the epoch it came at (the lowest loss, the highest accuracy)"
_TEST_TIP = "On the dataset's test part"
_OWN_TIP = "Each run's own metric. "


@dataclass
class RunTable:
    columns: list[Column] = field(default_factory=list)
    rows: list[list[Cell]] = field(default_factory=list)  # one per run, in the runs' order
    run_ids: list[str] = field(default_factory=list)
    # The main metric columns (best:val_loss, best:val_accuracy, test:accuracy …).
    main: list[str] = field(default_factory=list)

    def column_keys(self) -> list[str]:
        return [column.key for column in self.columns]

    def headers(self) -> list[str]:
        return [column.header for column in self.columns]

    def index(self, key: str) -> int:
        """The column of ``key`` (ValueError when the table has none)."""
        return self.column_keys().index(key)

    def cell(self, run_id: str, key: str) -> Cell:
        return self.rows[self.run_ids.index(run_id)][self.index(key)]

    def select(self, keys: Iterable[str]) -> RunTable:
        """The same table with only ``keys`` (in that order; keys it lacks are skipped)."""
        mine = self.column_keys()
        picked = [mine.index(key) for key in keys if key in mine]
        return RunTable(
            [self.columns[i] for i in picked],
            [[row[i] for i in picked] for row in self.rows],
            list(self.run_ids),
            [key for key in self.main if key in keys],
        )


# --- metrics -----------------------------------------------------------------------------


def run_metric(run: dict) -> str | None:
    """The run's own main metric besides the loss: the first other metric it logged (or,
    for a run without history, the first of its test metrics or best values)."""
    keys = [
        *(run.get("history") or {}),
        *(run.get("test_metrics") or {}),
        *(key.removeprefix("val_") for key in run.get("best") or {}),
    ]
    for key in keys:
        if key.startswith("val_") or key in _NOT_METRICS:
            continue
        return key
    return None


def shared_metric(runs: list[dict], fallback: str | None = None) -> str | None:
    """The metric every run (that logged one) shares; None when runs differ; ``fallback``
    when no run logged any."""
    metrics = {run_metric(run) for run in runs} - {None}
    if len(metrics) > 1:
        return None
    return metrics.pop() if metrics else fallback


def logged_metrics(runs: list[dict]) -> list[str]:
    """Every log name the runs recorded per epoch, each validation name before its training
    name (``val_loss, loss, val_accuracy, accuracy``); learning rates left out."""
    bases: list[str] = []
    present: set[str] = set()
    for run in runs:
        for key in (run.get("history") or {}, run.get("best") or {}):
            for name in key:
                if name in ("learning_rate", "lr"):
                    continue
                present.add(name)
                base = name.removeprefix("val_")
                if base not in bases:
                    bases.append(base)
    ordered = []
    for base in bases:
        ordered += [name for name in (f"val_{base}", base) if name in present]
    return ordered


def best_entry(run: dict, metric: str) -> dict | None:
    """``{"value", "epoch"}`` of the run's best ``metric``, as recorded with the run
    (``engine.runs.best_metrics``: the min for losses and errors, the max for the rest)."""
    entry = (run.get("best") or {}).get(metric)
    if isinstance(entry, dict) and entry.get("value") is not None:
        return entry
    return None


def status_text(run: dict) -> str:
    """``completed``, ``stopped``, ``early-stopped at epoch 7``, ``imported`` …"""
    status = str(run.get("status", ""))
    text = STATUS_TEXT.get(status, status)
    if status == "early_stopped":
        text += f" at epoch {run.get('epochs_completed', 0)}"
    return text


def final_value(run: dict, metric: str) -> float | None:
    value = (run.get("final") or {}).get(metric)
    if value is not None:
        return float(value)
    values = [v for v in (run.get("history") or {}).get(metric) or [] if v is not None]
    return float(values[-1]) if values else None


def stored_params(run: dict) -> int | None:
    """The parameter count stored with the run (``parameter_count``, as worker runs have),
    if any. (A search trial's ``params`` are its hyperparameters, not a count.)"""
    stored = run.get("parameter_count")
    return stored if isinstance(stored, int) and not isinstance(stored, bool) else None


# --- the table ---------------------------------------------------------------------------


def run_columns(
    runs: list[dict],
    changes: dict[str, list[str]] | None = None,
    metric: str | None = None,
    params: Callable[[dict], int | None] | None = None,
    memo: IdentityMemo | None = None,
) -> RunTable:
    """The comparison table of ``runs`` (see the module docstring for the columns).

    ``changes``: the "changes" lines per run id (``engine.runs.compared_changes``).
    ``metric``: the main metric when no run logged one (the project's). ``params``: a run's
    parameter count (``engine.run_compare.parameter_count``); without it, the count the
    run stored, if any. ``engine.run_compare.comparison_table`` does all of this.
    ``memo``: the caller's own ``IdentityMemo``: a run whose row was made for the same
    columns, changes and parameter count keeps it (a search adds one row at a time).
    """
    runs = list(runs)
    changes = changes or {}
    count = params or stored_params
    shared = shared_metric(runs, metric)
    bests = [Column("best:val_loss", "Best val_loss", numeric=True, tooltip=_BEST_TIP)]
    main = {"val_loss"}
    main_tests: set[str] = set()
    if shared:
        bests.append(Column(f"best:val_{shared}", f"Best val_{shared}", True, _BEST_TIP))
        tested = [Column(f"test:{shared}", f"Test {shared}", True, _TEST_TIP)]
        main.add(f"val_{shared}")
        main_tests.add(shared)
    elif any(run_metric(run) for run in runs):
        bests.append(Column("best:metric", "Best metric", True, _OWN_TIP + _BEST_TIP))
        tested = [Column("test:metric", "Test metric", True, _OWN_TIP + _TEST_TIP)]
    else:
        tested = [Column("test:loss", "Test loss", True, _TEST_TIP)]
        main_tests.add("loss")
    # What a narrow table must show first: the run, its best values and what it changed.
    columns = [
        Column("name", "Name"),
        *bests,
        Column("changes", "Changes", tooltip="What the run does differently"),
        *_param_columns(runs),
        *tested,
        Column("epochs", "Epochs", numeric=True),
        Column("status", "Status"),
        Column("hint", "Hint"),
        Column("params", "Params", True, "The model's parameter count"),
        Column("time", "Time", True, "Training time"),
    ]
    metrics = logged_metrics(runs)
    columns += [Column(f"best:{m}", f"Best {m}", True, _BEST_TIP) for m in metrics if m not in main]
    columns += [Column(f"final:{m}", f"Final {m}", True, "At the last epoch") for m in metrics]
    tests: list[str] = []
    for run in runs:
        tests += [k for k in run.get("test_metrics") or {} if k not in tests]
    columns += [
        Column(f"test:{k}", f"Test {k}", True, _TEST_TIP) for k in tests if k not in main_tests
    ]
    columns.append(Column("started", "Started"))
    table = RunTable(columns=columns, main=[column.key for column in (*bests, *tested)])
    keys = tuple(column.key for column in columns)
    for run in runs:
        run_changes = changes.get(run.get("id"), [])

        def row(run=run, run_changes=run_changes) -> list[Cell]:
            return [_cell(run, key, run_changes, count, shared) for key in keys]

        if memo is None:
            table.rows.append(row())
        else:
            extra = (keys, tuple(run_changes), shared, count(run))
            table.rows.append(list(memo.get((run,), extra, row)))
        table.run_ids.append(run.get("id"))
    if memo is not None:
        memo.end_pass()
    return table


def _param_columns(runs: list[dict]) -> list[Column]:
    """A search trial's hyperparameters (``run["params"]``, by path), one column each."""
    paths: list[str] = []
    for run in runs:
        params = run.get("params")
        if isinstance(params, dict):
            paths += [p for p in params if p not in paths]
    columns = []
    for path in paths:
        short = path.replace(".config.", ".").split(".", 1)[-1].removeprefix("optimizer.")
        values = [
            run["params"][path]
            for run in runs
            if isinstance(run.get("params"), dict) and path in run["params"]
        ]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        columns.append(Column(f"param:{path}", short, numeric, f"Searched setting {path}"))
    return columns


def _best_cell(entry: dict | None, prefix: str = "") -> Cell:
    if not isinstance(entry, dict) or entry.get("value") is None:
        return EMPTY
    value = float(entry["value"])
    if isinstance(entry.get("std"), int | float):  # a group: mean ± std over its members
        text = f"{prefix}{value:.4g} ± {float(entry['std']):.2g} (n={entry.get('n', '?')})"
        return Cell(text, value, "Mean ± standard deviation of the members' best values")
    epoch = int(entry.get("epoch") or 0)
    return Cell(f"{prefix}{value:.4g} (ep {epoch + 1})", value, None, epoch)


def _number_cell(value: Any, prefix: str = "") -> Cell:
    if value is None:
        return EMPTY
    value = float(value)
    return Cell(f"{prefix}{value:.4g}", value)


def _cell(run: dict, key: str, changes: list[str], count: Callable, shared: str | None) -> Cell:
    kind, _, name = key.partition(":")
    if kind == "name":
        text = str(run.get("name", ""))
        state = (
            (run.get("trial") or {}).get("state") if isinstance(run.get("trial"), dict) else None
        )
        if state in ("PRUNED", "FAIL"):
            text += " (pruned)" if state == "PRUNED" else " (failed)"
        return Cell(text, text.lower(), f"{text} — {run.get('device', '')}, id {run.get('id')}")
    if kind == "status":
        text = status_text(run)
        return Cell(text, text, run.get("message") or None)
    if kind == "epochs":
        epochs = int(run.get("epochs_completed") or 0)
        return Cell(str(epochs), epochs)
    if kind == "best" and name == "metric":
        return _own_best(run)
    if kind == "best":
        cell = _best_cell(best_entry(run, name))
        if cell is EMPTY and shared and name == f"val_{shared}":
            return _own_best(run)  # the run has no validation: its training metric, named
        return cell
    if kind == "param":
        params = run.get("params") if isinstance(run.get("params"), dict) else {}
        if name not in params:
            return EMPTY
        value = params[name]
        if isinstance(value, bool):
            return Cell("on" if value else "off", str(value).lower())
        if isinstance(value, int | float):
            return Cell(f"{value:.4g}", float(value))
        return Cell(str(value), str(value).lower())
    if kind == "final":
        return _number_cell(final_value(run, name))
    if kind == "test":
        return _test_cell(run, name)
    if kind == "changes":
        return Cell("; ".join(changes) or NO_VALUE, "; ".join(changes).lower(), "\n".join(changes))
    if kind == "hint":
        hint = run.get("overfitting")
        if not isinstance(hint, dict):
            return Cell("", None)
        epoch = int(hint.get("epoch", 0))
        return Cell(f"⚠ overfitting after epoch {epoch + 1}", epoch, hint.get("message"))
    if kind == "params":
        number = count(run)
        return EMPTY if number is None else Cell(f"{number:,}", number)
    if kind == "time":
        seconds = run.get("seconds")
        if seconds is None:
            return EMPTY
        return Cell(elapsed_text(float(seconds)), float(seconds))
    if kind == "started":
        started = str(run.get("started_at") or "")
        return Cell(started.replace("T", " ")[:19], started)
    return EMPTY


def _own_best(run: dict) -> Cell:
    """The best of the run's own metric, named (``val_mae 0.31 (ep 3)``)."""
    own = run_metric(run)
    if own is None:
        return EMPTY
    for key in (f"val_{own}", own):
        entry = best_entry(run, key)
        if entry is not None:
            return _best_cell(entry, f"{key} ")
    return EMPTY


def _test_cell(run: dict, name: str) -> Cell:
    tests = run.get("test_metrics") or {}
    if name != "metric":
        return _number_cell(tests.get(name))
    for key in (run_metric(run), "loss"):
        if key and tests.get(key) is not None:
            return _number_cell(tests[key], f"{key} ")
    return EMPTY
