"""Process memory over many consecutive short runs through ``engine.training.run``.

Each run trains the bundled digits demo (a small MLP on scikit-learn's 1,797 digits) for one
epoch, evaluates on its test part and is dropped, as the window does when a user clicks Train
again and again. The script prints the process RSS every ``--every`` runs and the growth per
run as the least-squares slope of RSS over runs 50..N (runs before 50 include warm-up: first
traces, allocator pools). The issue's target is at most 0.5 MB per run.

    .venv/bin/python bench/bench_memory_runs.py                # 100 runs
    .venv/bin/python bench/bench_memory_runs.py --runs 300     # the issue's measurement
    .venv/bin/python bench/bench_memory_runs.py --reuse-dataset  # load the data once

``--record`` also records every run in a project (weights written to a temporary folder), as
the window does.

Measured on the shared 2-core machine, 120 runs: before, 858 -> 1,420 MB, 4.705 MB/run over
runs 50..120 (plain Keras build/compile/fit/evaluate/clear_session grew the same 4.69 MB/run:
TensorFlow's gradient registry kept two ``tf.custom_gradient`` entries per traced train step,
each holding its graph); after ``engine.training.custom_gradients_released``, 727.5 -> 730.3 MB,
0.006 MB/run.
"""

from __future__ import annotations

import argparse
import copy
import gc
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.quiet import import_keras

import_keras()

from engine import runs, training  # noqa: E402
from engine.project import demo_project  # noqa: E402


def rss_mb() -> float:
    """Resident set size now (not the peak), in MB, from /proc."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def slope(points: list[tuple[int, float]]) -> float:
    """Least-squares slope of RSS (MB) over run number."""
    n = len(points)
    if n < 2:
        return float("nan")
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    top = sum((x - mean_x) * (y - mean_y) for x, y in points)
    bottom = sum((x - mean_x) ** 2 for x, _ in points)
    return top / bottom


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--every", type=int, default=10, help="print RSS every N runs")
    parser.add_argument("--from-run", type=int, default=50, help="first run of the slope")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--reuse-dataset", action="store_true", help="load the data once")
    parser.add_argument("--record", action="store_true", help="record each run in a project")
    args = parser.parse_args()

    project = demo_project()
    project["fit"].update(epochs=args.epochs, callbacks=[], seed=None)
    dataset = None
    if args.reuse_dataset:
        from engine.datasets import load_dataset

        dataset = load_dataset(project["dataset"], loss=project["compile"]["loss"])
    folder = Path(tempfile.mkdtemp(prefix="bench-memory-runs-"))
    recorded = copy.deepcopy(project)
    points: list[tuple[int, float]] = []
    start = time.perf_counter()
    print(f"run    RSS MB   (runs: {args.runs}, epochs each: {args.epochs})", flush=True)
    for index in range(1, args.runs + 1):
        result = training.run(copy.deepcopy(project), dataset=dataset, workdir=folder)
        if result.status != "completed":
            print(f"run {index}: {result.status}: {result.message}", file=sys.stderr)
            return 1
        if args.record:
            recorded, _ = runs.record_run(recorded, result, None)
        del result
        gc.collect()
        rss = rss_mb()
        if index >= args.from_run:
            points.append((index, rss))
        if index == 1 or index % args.every == 0 or index == args.runs:
            elapsed = time.perf_counter() - start
            print(f"{index:4d}  {rss:8.1f}   ({elapsed:.0f} s)", flush=True)
    growth = slope(points)
    print(
        f"growth over runs {args.from_run}..{args.runs}: {growth:.3f} MB/run "
        f"({time.perf_counter() - start:.0f} s in all)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
