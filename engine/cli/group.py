"""``python main.py group PROJECT (--seeds N | --kfold K) [--workers K] [--epochs N]
[--seed S] [--name NAME]``.

Trains the project several times as one group (``engine.groups``), each member in a worker
process: N seeds (fit.seed = S, S+1, ...), or k-fold cross-validation (scikit-learn's
StratifiedKFold for class labels, KFold otherwise). Prints a line per finished member, then
each best metric's mean ± standard deviation over the members. The members are recorded in
the project as runs of one group (the window shows them as one row, mean ± std, and a mean
curve with a ±1 std band).

Ctrl-C stops the members; what trained is still recorded (exit status 130). Exit status 2
with a plain line for bad input; 0 otherwise. Imports neither Qt nor Keras.
"""

from __future__ import annotations

import argparse
import sys
import threading

from engine.cli.worker_options import add_worker_options, check_worker_options, ctrl_c_stops


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", help="the .llproj project file to train as a group")
    kind = parser.add_mutually_exclusive_group(required=True)
    kind.add_argument("--seeds", type=int, metavar="N", help="repeat with N seeds")
    kind.add_argument("--kfold", type=int, metavar="K", help="K-fold cross-validation")
    add_worker_options(parser, "member")
    parser.add_argument(
        "--seed", type=int, default=0, metavar="S", help="the first seed (default 0)"
    )
    parser.add_argument("--name", help="the group's name (default: '5 seeds', '4-fold')")


def run(args: argparse.Namespace) -> int:
    from engine.groups import run_group

    check_worker_options(args)
    kind, size = ("repeat", args.seeds) if args.seeds is not None else ("kfold", args.kfold)
    stop = threading.Event()
    printer = MemberPrinter(sys.stdout)
    with ctrl_c_stops(stop, "Stopping the members (what trained is kept)…"):
        group = run_group(
            args.project,
            kind,
            size,
            workers=args.workers,
            seed=args.seed,
            name=args.name,
            epochs=args.epochs,
            sink=printer,
            stop=stop,
        )
    printer.summary(group, size)
    return 130 if stop.is_set() else 0


class MemberPrinter:
    """The group's sink for the terminal: a line per finished member."""

    def __init__(self, out):
        self.out = out
        self.done = 0

    def __call__(self, job_id, event) -> None:
        from engine.worker_protocol import JobResult

        if not isinstance(event, JobResult):
            return
        self.done += 1
        member = job_id.rsplit("-", 1)[-1]
        best = (event.record or {}).get("best") or {}
        values = ", ".join(
            f"best {metric} {_number(entry.get('value'))} (epoch {int(entry.get('epoch', 0)) + 1})"
            for metric, entry in best.items()
            if isinstance(entry, dict) and entry.get("value") is not None
        )
        what = event.status if event.status != "failed" else f"failed: {event.message}"
        self._line(f"Member {int(member) + 1}: {what}" + (f"; {values}" if values else ""))

    def summary(self, group: dict, size: int) -> None:
        members = len(group.get("runs") or [])
        self._line(f"Group {group.get('name')!r}: {members} of {size} members recorded.")
        for metric, entry in sorted((group.get("best") or {}).items()):
            self._line(
                f"  best {metric}: {_number(entry['mean'])} ± {entry['std']:.2g} (n={entry['n']})"
            )

    def _line(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()


def _number(value) -> str:
    return f"{value:.4g}" if isinstance(value, int | float) else "—"
