"""Launch timings: process start → window shown, → palette filled, and → Keras loaded.

Runs ``main.py --quit-after-ready`` in fresh processes (offscreen unless a DISPLAY is set)
and prints the median of a few launches. The window must show within 1.5 s; Keras follows in
the background. The launches share a private catalog cache folder (``LAYERLAB_CACHE_DIR``):
the first, uncounted launch finds it empty and writes it, as a first launch after installing
would; the counted ones read it, as every later launch does. ``--no-cache`` empties it before
every launch instead (the figures of a first launch).

    .venv/bin/python bench/bench_launch.py [--runs 3] [--no-cache]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 3
WINDOW_BUDGET_S = 1.5
DEMO = ROOT / "resources" / "demo.llproj"


def launch_once(settings: Path, cache: Path) -> tuple[float, float, float, float]:
    environment = dict(os.environ)
    environment["LAYERLAB_CACHE_DIR"] = str(cache)
    if not environment.get("DISPLAY"):
        environment.setdefault("QT_QPA_PLATFORM", "offscreen")
    environment["KERAS_HOME"] = tempfile.mkdtemp(prefix="layerlab-bench-keras-")
    started = time.time()
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            str(DEMO),
            "--quit-after-ready",
            "--settings",
            str(settings),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        env=environment,
    )
    values = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    if done.returncode != 0 or "shown_at_epoch" not in values:
        raise SystemExit(f"launch failed (exit {done.returncode}):\n{done.stdout}\n{done.stderr}")
    ready = float(values["ready_at_epoch"]) - started
    return (
        float(values["shown_at_epoch"]) - started,
        float(values.get("palette_at_epoch", values["ready_at_epoch"])) - started,
        ready,
        float(values["event_gap_max_ms"]),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help="counted launches (median)")
    parser.add_argument("--no-cache", action="store_true", help="empty the cache every launch")
    args = parser.parse_args(argv)
    runs = max(1, args.runs)
    with tempfile.TemporaryDirectory() as folder:
        settings = Path(folder) / "settings.ini"
        cache = Path(folder) / "cache"

        def launch() -> tuple[float, float, float, float]:
            if args.no_cache:
                shutil.rmtree(cache, ignore_errors=True)
            return launch_once(settings, cache)

        first = launch()  # warms the file cache (and writes the catalog cache); not counted
        shown, palette, ready, gaps = zip(*(launch() for _ in range(runs)), strict=True)
    shown_s, ready_s = statistics.median(shown), statistics.median(ready)
    palette_s = statistics.median(palette)
    cached = "empty catalog cache" if args.no_cache else "catalog cache written by launch 1"
    print(
        f"uncounted first launch ({'no' if args.no_cache else 'empty'} catalog cache): "
        f"shown {first[0]:.2f} s, palette {first[1]:.2f} s, Keras {first[2]:.2f} s, "
        f"longest stall {first[3]:.0f} ms"
    )
    print(f"counted launches: {runs}, {cached}")
    print(f"launch → window shown: {shown_s:.2f} s (median of {runs}; budget {WINDOW_BUDGET_S} s)")
    print(f"launch → palette filled: {palette_s:.2f} s (median of {runs})")
    print(f"launch → Keras ready: {ready_s:.2f} s (median of {runs})")
    print(f"window shown before Keras by {ready_s - shown_s:.2f} s")
    print(
        f"longest GUI stall while Keras loads (10 ms timer lateness): "
        f"{statistics.median(gaps):.0f} ms (median of {runs} launches' maxima: "
        f"{', '.join(f'{g:.0f}' for g in gaps)})"
    )
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    print(f"machine load while measuring: {load:.1f} runnable tasks per core (1.0 = busy)")
    return 0 if shown_s <= WINDOW_BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
