"""``python main.py search PROJECT --trials N [--workers K] [--storage URL] [--epochs N]``.

Runs N more trials of the project's hyperparameter search (its ``"search"`` block, see
``engine.search``) in K worker processes, printing one line per finished trial and the best
at the end. Every trial is recorded in the project as a run with its hyperparameters. The
study lives in SQLite beside the project (``<stem>.optuna.db``) unless ``--storage`` or the
block names another database: running the command again resumes it.

Ctrl-C stops cleanly: the running trials are stopped and marked failed, the study stays
resumable (exit status 130). Exit status 2 with a plain line for bad input (no search space,
a bad storage URL, a bad number); 0 otherwise. Imports neither Qt nor Keras.
"""

from __future__ import annotations

import argparse
import sys
import threading

from engine.cli.worker_options import add_worker_options, check_worker_options, ctrl_c_stops
from engine.errors import LayerLabError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", help="the .llproj project file whose search to run")
    parser.add_argument(
        "--trials", type=int, required=True, metavar="N", help="how many more trials to run"
    )
    add_worker_options(parser, "trial")
    parser.add_argument(
        "--storage",
        metavar="URL",
        help="Optuna study storage, an SQLAlchemy URL (default: SQLite beside the project, "
        "<project>.optuna.db)",
    )


def run(args: argparse.Namespace) -> int:
    from engine.search import run_search

    check_worker_options(args)
    if args.trials < 1:
        raise LayerLabError(f"--trials must be at least 1, got {args.trials}.")
    stop = threading.Event()
    printer = TrialPrinter(sys.stdout)
    with ctrl_c_stops(stop, "Stopping the running trials (the study stays resumable)…"):
        result = run_search(
            args.project,
            args.trials,
            args.workers,
            args.storage,
            sink=printer,
            stop=stop,
            epochs=args.epochs,
        )
    printer.summary(result)
    return 130 if result.stopped else 0


def _value_text(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def params_text(params: dict) -> str:
    return ", ".join(f"{path}={_value_text(value)}" for path, value in params.items())


class TrialPrinter:
    """The search's sink for the terminal: a line per finished trial."""

    def __init__(self, out):
        self.out = out

    def __call__(self, job_id, event) -> None:
        from engine.worker_protocol import TrialFinished

        if isinstance(event, TrialFinished):
            if event.state == "COMPLETE":
                what = "completed: " + ", ".join(_value_text(v) for v in event.values or ())
            elif event.state == "PRUNED":
                what = "pruned"
            else:
                what = f"failed: {event.message}"
            self._line(f"Trial {event.number} {what} ({params_text(event.params)})")

    def _line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def summary(self, result) -> None:
        from engine.search import counts_text

        counts = result.counts
        self._line(f"Study {result.study_name!r}: {counts_text(counts)} ({result.storage})")
        metrics = " vs ".join(
            f"{goal['metric']} ({goal['direction']})" for goal in result.objectives
        )
        if not result.best:
            self._line(f"No completed trial yet for {metrics}.")
            return
        if len(result.objectives) == 1:
            best = result.best[0]
            self._line(
                f"Best: trial {best['number']}, {metrics} = {_value_text(best['values'][0])} "
                f"({params_text(best['params'])})"
            )
        else:
            self._line(f"Pareto front for {metrics}:")
            for best in result.best:
                values = ", ".join(_value_text(v) for v in best["values"])
                self._line(f"  trial {best['number']}: {values} ({params_text(best['params'])})")
        if result.importance:
            ranked = ", ".join(f"{k} {v:.2f}" for k, v in result.importance.items())
            self._line(f"Importance: {ranked}")
