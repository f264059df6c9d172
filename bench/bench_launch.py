"""Launch timings: process start → window shown, and → Keras loaded (palette filled).

Runs ``main.py --quit-after-ready`` in fresh processes (offscreen unless a DISPLAY is set)
and prints the median of a few launches. The window must show within 1.5 s; Keras follows in
the background.
"""

from __future__ import annotations

import os
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


def launch_once(settings: Path) -> tuple[float, float, float]:
    environment = dict(os.environ)
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
    return (
        float(values["shown_at_epoch"]) - started,
        float(values["ready_at_epoch"]) - started,
        float(values["event_gap_max_ms"]),
    )


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        settings = Path(folder) / "settings.ini"
        launch_once(settings)  # warm the file cache; not counted
        shown, ready, gaps = zip(*(launch_once(settings) for _ in range(RUNS)), strict=True)
    shown_s, ready_s = statistics.median(shown), statistics.median(ready)
    print(f"launch → window shown: {shown_s:.2f} s (median of {RUNS}; budget {WINDOW_BUDGET_S} s)")
    print(f"launch → Keras ready, palette filled: {ready_s:.2f} s (median of {RUNS})")
    print(f"window shown before Keras by {ready_s - shown_s:.2f} s")
    print(
        f"longest GUI stall while Keras loads (10 ms timer lateness): "
        f"{statistics.median(gaps):.0f} ms (median of {RUNS} launches' maxima)"
    )
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    print(f"machine load while measuring: {load:.1f} runnable tasks per core (1.0 = busy)")
    return 0 if shown_s <= WINDOW_BUDGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
