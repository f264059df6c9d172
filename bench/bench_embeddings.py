"""Loading GloVe-format word vectors: time and memory against the vocabulary matrix (printed).

Writes a GloVe-format text file of ``--size`` words x ``--dim`` numbers (default 400,000 x 100,
about the size of glove.6B.100d.txt) into a temporary folder, then, in a fresh process (only
numpy and ``engine.embeddings`` imported), matches it against a ``--vocab``-word vocabulary
(default 20,000: half of them in the file, half not) with ``engine.embeddings.read_vectors``
and prints:

- the file size and the matrix size (vocabulary x dim x 4 bytes: what the load must produce),
- the load time,
- the peak RSS growth during the load (VmHWM after the load - VmRSS before it, with VmHWM reset
  through ``/proc/self/clear_refs`` just before; elsewhere ``ru_maxrss``, an upper bound) and
  its ratio to the matrix size,
- a second load under ``tracemalloc``: the peak of Python/numpy allocations during the load,
  and its ratio to the matrix size.

Target (issue 11): memory ≤ 2x the matrix size, i.e. the file is never held in memory.

Run: ``.venv/bin/python bench/bench_embeddings.py [--size 400000] [--dim 100] [--vocab 20000]
[--gz] [--keep]``; ``--size 40000`` for a quick check.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import gc, json, resource, sys, time, tracemalloc

def status_bytes(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    return 0

def reset_peak():
    # Linux: make VmHWM (peak RSS) the current RSS, so the next peak is the load's own.
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False

def peak_bytes(exact):
    if exact:
        return status_bytes("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

from engine.embeddings import read_vectors

path, vocab_size, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# Half the vocabulary is in the file (every k-th file word), half is not.
step = max(1, size // (vocab_size // 2))
vocabulary = [""] + [f"w{i}" for i in range(0, size, step)][: vocab_size // 2]
vocabulary += [f"absent{i}" for i in range(vocab_size - len(vocabulary))]
gc.collect()
before = status_bytes("VmRSS")
exact = reset_peak()
started = time.perf_counter()
match = read_vectors(path, vocabulary)
seconds = time.perf_counter() - started
peak_after = peak_bytes(exact)
after = status_bytes("VmRSS")
matrix = match.matrix.nbytes
found, lines = match.found, match.lines
del match
gc.collect()
tracemalloc.start()
started = time.perf_counter()
again = read_vectors(path, vocabulary)
traced_seconds = time.perf_counter() - started
_, traced_peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(json.dumps({
    "seconds": seconds,
    "traced_seconds": traced_seconds,
    "rss_before": before,
    "rss_peak_growth": peak_after - before,
    "rss_growth_kept": after - before,
    "peak_exact": exact,
    "traced_peak": traced_peak,
    "matrix_bytes": matrix,
    "found": found,
    "vocabulary": len(vocabulary),
    "lines": lines,
}))
"""


def write_file(path: Path, size: int, dim: int, gz: bool) -> None:
    """``w0 … w{size-1}``, each with ``dim`` numbers formatted like GloVe's (5 decimals)."""
    rng = np.random.default_rng(0)
    pool = [" ".join(f"{v:.5f}" for v in rng.normal(0, 0.4, dim)).encode() for _ in range(997)]
    opener = gzip.open if gz else open
    with opener(path, "wb") as out:
        chunk = []
        for i in range(size):
            chunk.append(b"w%d %s\n" % (i, pool[i % len(pool)]))
            if len(chunk) == 10_000:
                out.write(b"".join(chunk))
                chunk.clear()
        out.write(b"".join(chunk))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=400_000, help="words in the vector file")
    parser.add_argument("--dim", type=int, default=100, help="numbers per word")
    parser.add_argument("--vocab", type=int, default=20_000, help="vocabulary size")
    parser.add_argument("--gz", action="store_true", help="gzip the vector file")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="layerlab-bench-vectors-"))
    path = folder / ("vectors.txt.gz" if args.gz else "vectors.txt")
    started = time.perf_counter()
    write_file(path, args.size, args.dim, args.gz)
    print(
        f"file: {args.size:,} words x {args.dim} numbers, {path.stat().st_size / 2**20:,.1f} MiB"
        f"{' (gzip)' if args.gz else ''}, written in {time.perf_counter() - started:.1f} s"
    )
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=str(root))
    try:
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), str(args.vocab), str(args.size)],
            check=True,
            capture_output=True,
            text=True,
            cwd=root,
            env=env,
        ).stdout
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
            folder.rmdir()
    result = json.loads(out.strip().splitlines()[-1])
    matrix = result["matrix_bytes"]
    mib = 2**20
    print(
        f"vocabulary: {result['vocabulary']:,} words, {result['found']:,} found; "
        f"matrix {matrix / mib:.2f} MiB ({result['vocabulary']:,} x {args.dim} float32)"
    )
    print(
        f"load: {result['seconds']:.2f} s ({result['lines'] / result['seconds']:,.0f} lines/s); "
        f"under tracemalloc {result['traced_seconds']:.2f} s"
    )
    how = "VmHWM reset before the load" if result["peak_exact"] else "ru_maxrss: an upper bound"
    print(
        f"peak RSS growth during the load ({how}): {result['rss_peak_growth'] / mib:.2f} MiB = "
        f"{result['rss_peak_growth'] / matrix:.2f}x the matrix; kept after it: "
        f"{result['rss_growth_kept'] / mib:.2f} MiB"
    )
    print(
        f"tracemalloc peak during the load: {result['traced_peak'] / mib:.2f} MiB = "
        f"{result['traced_peak'] / matrix:.2f}x the matrix (target <= 2x)"
    )
    if args.keep:
        print(f"kept: {path}")


if __name__ == "__main__":
    main()
