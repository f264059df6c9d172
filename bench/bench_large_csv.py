"""Loading a large CSV: peak memory against the float32 size of its features (printed).

Writes a numeric CSV of about ``--mb`` megabytes (``--features`` float columns and an integer
class column ``label``), then in a fresh process loads it through
``engine.datasets.load_dataset`` (source "csv", target "label") and prints:

- the file size and row count, the float32 size of the features (rows x features x 4 bytes),
- the process's RSS before the load (after importing the engine, i.e. TensorFlow) and its peak
  RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss``),
- ratio = peak RSS / float32 size, and the ratio of the load's own growth
  (peak - RSS before) / float32 size; the target (issue 10) is peak ≤ 3x the float32 size,
- the load time and how many progress reports arrived.

Run: ``.venv/bin/python bench/bench_large_csv.py [--mb 100] [--features 9] [--keep]``;
``--mb 1000`` is the 1 GB figure from the issue; ``--csv PATH`` loads a file kept before.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
import engine.datasets.tabular  # imports Keras/TensorFlow: counted in the baseline

def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0

from engine.datasets import load_dataset
path, features = sys.argv[1], int(sys.argv[2])
before = rss_mb()
reports = []
start = time.perf_counter()
dataset = load_dataset(
    {"source": "csv", "path": path, "target": "label", "task": "multiclass"},
    validation_split=0.1,
    progress=lambda message, fraction: reports.append(fraction),
)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
rows = dataset.train_size + dataset.val_size + dataset.test_size
print(json.dumps({
    "rows": rows, "before_mb": before, "peak_mb": peak, "seconds": seconds,
    "reports": len(reports),
    "fractions": sum(1 for f in reports if f is not None),
    "input_shape": list(dataset.input_shape),
}))
"""


def write_csv(path: Path, megabytes: float, features: int) -> int:
    import numpy as np

    target = int(megabytes * 1024 * 1024)
    rng = np.random.default_rng(0)
    header = ",".join([f"f{i}" for i in range(features)] + ["label"]) + "\n"
    written, rows = 0, 0
    with open(path, "w", encoding="utf-8") as file:
        file.write(header)
        written += len(header)
        while written < target:
            block = 200_000
            x = rng.normal(size=(block, features)).round(4)
            y = rng.integers(0, 10, size=block)
            text = "\n".join(
                ",".join(f"{v:.4f}" for v in row) + f",{label}"
                for row, label in zip(x, y, strict=True)
            )
            text += "\n"
            file.write(text)
            written += len(text)
            rows += block
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=100.0, help="CSV size in MB (default 100)")
    parser.add_argument("--features", type=int, default=9, help="feature columns (default 9)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    parser.add_argument("--csv", help="load this file (kept by --keep before) instead")
    args = parser.parse_args()
    if args.csv:
        path, folder = Path(args.csv), None
        with open(path) as file:
            args.features = len(file.readline().split(",")) - 1
        print(f"using {path} ({path.stat().st_size / 2**20:.0f} MB)")
    else:
        folder = Path(tempfile.mkdtemp(prefix="layerlab-bench-csv-"))
        path = folder / "large.csv"
        t0 = time.perf_counter()
        rows = write_csv(path, args.mb, args.features)
        size = path.stat().st_size
        print(
            f"wrote {path} ({size / 2**20:.0f} MB, {rows:,} rows) in "
            f"{time.perf_counter() - t0:.0f} s"
        )
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), str(args.features)],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    if folder is not None and not args.keep:
        path.unlink()
        folder.rmdir()
    if done.returncode != 0:
        print(done.stderr[-3000:])
        raise SystemExit(f"the load failed (exit {done.returncode})")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    float32_mb = result["rows"] * args.features * 4 / 2**20
    growth = result["peak_mb"] - result["before_mb"]
    print(f"features as float32: {float32_mb:.0f} MB ({result['rows']:,} x {args.features})")
    print(f"RSS before load: {result['before_mb']:.0f} MB; peak: {result['peak_mb']:.0f} MB")
    print(f"peak RSS / float32 size: {result['peak_mb'] / float32_mb:.2f}x (target <= 3x)")
    print(f"(peak - before) / float32 size: {growth / float32_mb:.2f}x")
    print(
        f"load time {result['seconds']:.1f} s; {result['reports']} progress reports, "
        f"{result['fractions']} with a fraction"
    )


if __name__ == "__main__":
    main()
