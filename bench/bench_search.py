"""Search throughput with 1 vs 2 worker processes, and the parent's memory.

    python bench/bench_search.py [--trials 20] [--epochs 3] [--workers 1 2] [--repeat-rss 0]

Makes a small digits project (the demo MLP, a search over units, learning rate and batch
size), runs ``engine.search.run_search`` with each worker count on a fresh study, and
prints trials/minute for each and their ratio, plus the parent's RSS before and after every
search (the parent imports no Keras, so it should stay flat). ``--repeat-rss N`` adds N
more searches on one warm pool to see the parent's RSS over many trials. Every trial is a
real training run in a worker process; the first trial of each pool pays TensorFlow's start.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SPACE = [
    {"path": "model.layers[1].config.units", "type": "int", "low": 8, "high": 128, "log": True},
    {
        "path": "compile.optimizer.config.learning_rate",
        "type": "float",
        "low": 1e-4,
        "high": 1e-2,
        "log": True,
    },
    {"path": "fit.batch_size", "type": "categorical", "choices": [32, 64, 128]},
]


def rss_mb() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_project(folder: Path, name: str, epochs: int) -> Path:
    from engine.project import dumps_project, resources_dir

    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"].update(epochs=epochs, callbacks=[], seed=0)
    project["runs"] = []
    # No pruning: every trial trains all its epochs, so the two runs do the same work.
    project["search"] = {"space": SPACE, "objective": {"metric": "val_loss"}, "pruner": "none"}
    path = folder / f"{name}.llproj"
    path.write_text(dumps_project(project))
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat-rss", type=int, default=0, metavar="N")
    args = parser.parse_args()

    from engine.search import run_search
    from engine.worker import WorkerPool

    print(f"parent RSS at start: {rss_mb():.1f} MB ('keras' imported: {'keras' in sys.modules})")
    rates = {}
    with tempfile.TemporaryDirectory(prefix="bench-search-") as scratch:
        for workers in args.workers:
            path = make_project(Path(scratch), f"w{workers}", args.epochs)
            before = rss_mb()
            start = time.perf_counter()
            result = run_search(path, args.trials, workers, seed=0)
            minutes = (time.perf_counter() - start) / 60
            rates[workers] = len(result.trials) / minutes
            best = f"best val_loss {result.best[0]['values'][0]:.4f}" if result.best else ""
            print(
                f"{workers} worker(s): {len(result.trials)} trials in {minutes * 60:.1f} s = "
                f"{rates[workers]:.2f} trials/min; {result.counts}; {best}",
                flush=True,
            )
            print(f"  parent RSS {before:.1f} -> {rss_mb():.1f} MB", flush=True)
        if len(rates) >= 2:
            low, high = min(rates), max(rates)
            print(f"ratio {high} vs {low} workers: {rates[high] / rates[low]:.2f}x trials/min")
        if args.repeat_rss:
            path = make_project(Path(scratch), "rss", 1)
            with WorkerPool(max(args.workers)) as pool:
                first = None
                for i in range(args.repeat_rss):
                    run_search(path, args.trials, max(args.workers), pool=pool, seed=i)
                    now = rss_mb()
                    first = first or now
                    print(f"  after {(i + 1) * args.trials} more trials: parent RSS {now:.1f} MB")
                print(f"parent RSS growth over the repeats: {now - first:+.1f} MB")
    print(f"parent RSS at end: {rss_mb():.1f} MB ('keras' imported: {'keras' in sys.modules})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
