"""What the commands that train in worker processes (``search``, ``group``) share: the
``--workers``/``--epochs`` options and their checks, and Ctrl-C as a stop request."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator

from engine.errors import LayerLabError


def add_worker_options(parser: argparse.ArgumentParser, each: str) -> None:
    """``--workers K`` (default one per two cores) and ``--epochs N`` for each ``each``
    ("trial", "member")."""
    from engine.worker import default_workers

    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        metavar="K",
        help=f"worker processes training at once (default: one per two cores, here "
        f"{default_workers()})",
    )
    parser.add_argument(
        "--epochs", type=int, metavar="N", help=f"epochs per {each} (default: the project's)"
    )


def check_worker_options(args: argparse.Namespace) -> None:
    """A plain ``LayerLabError`` (exit status 2) for a bad ``--epochs`` or ``--workers``."""
    if args.epochs is not None and args.epochs < 1:
        raise LayerLabError(f"--epochs must be at least 1, got {args.epochs}.")
    if args.workers < 1:
        raise LayerLabError(f"--workers must be at least 1, got {args.workers}.")


@contextlib.contextmanager
def ctrl_c_stops(stop: threading.Event, saying: str) -> Iterator[None]:
    """Within the block, Ctrl-C sets ``stop`` and prints ``saying`` on stderr (on the main
    thread only; Python's own handler comes back after the block)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_interrupt(signum, frame):
        stop.set()
        print(saying, file=sys.stderr, flush=True)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
