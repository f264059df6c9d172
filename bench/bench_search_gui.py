"""Bench: the window stays responsive while a search streams from worker processes, and its
memory stays flat over many trials (offscreen).

A real ``MainWindow`` opens a tiny digits project (Input, Dense(8), Dropout, Dense; 1 epoch
per trial) with a search space (units, learning rate, batch size) and runs a search through
the Search tab's flow (``SearchFlow.start``: ``engine.search.run_search`` in a QThread, the
trials in ``--workers`` worker processes). Meanwhile a 10 ms precise QTimer in the GUI thread
records how late it fires (the method of ``bench_gui_training.py``); the window's RSS is
sampled before the search, after the first trials finished (warm-up) and at the end.
Also measured: the idle lateness floor (3 s, nothing running) set by the machine's load, the
garbage collections the GUI thread ran while streaming (count, longest, total per
generation), and the window's RSS every 10 trials (what grows per trial, apart from the
importances' SciPy/scikit-learn import at the end).

Targets (issue 12): lateness p99 <= 16 ms while 2 workers stream; RSS growth from the
warm-up sample to the end <= 50 MB over the search (the issue asks 100 trials: ``--trials
100``; the default 20 is the reduced size). Exits 1 when one is missed.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_search_gui.py [--trials 20]
        [--workers 2] [--shot search.png]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_P99_MS = 16.0
TARGET_RSS_MB = 50.0
LATE_TICKS: list[tuple[float, float]] = []  # (when the late tick was due - 10 ms, lateness ms)


def rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--shot", help="save a 1280x800 grab of the Search tab at the end")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QEventLoop, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv)
    from app.main_window import MainWindow
    from app.settings import AppSettings
    from tests.search.support import SPACE, write_project

    folder = Path(tempfile.mkdtemp(prefix="bench-search-gui-"))
    path = write_project(folder, epochs=1, search={"space": SPACE[:3]})
    window = MainWindow(AppSettings(folder / "settings.ini"), recovery_dir=folder / "recovery")
    window.resize(1280, 800)
    window.show()
    ready = QEventLoop()
    window.catalogReady.connect(ready.quit)
    window.start(path)
    ready.exec()

    lateness: list[float] = []
    state = {"last": None, "active": False}

    def tick() -> None:
        now = time.perf_counter()
        if state["active"] and state["last"] is not None:
            lateness.append(max(0.0, (now - state["last"]) * 1000 - 10.0))
            if lateness[-1] > TARGET_P99_MS:
                LATE_TICKS.append((state["last"], lateness[-1]))
        state["last"] = now

    import gc

    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    gc_started = {}

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_started["t"] = time.perf_counter()
        elif state["active"] and "t" in gc_started:
            pauses[info["generation"]].append((time.perf_counter() - gc_started["t"]) * 1000)

    gc.callbacks.append(on_gc)

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()

    def wait(seconds: float) -> None:
        loop = QEventLoop()
        QTimer.singleShot(int(seconds * 1000), loop.quit)
        loop.exec()

    state["active"] = True
    wait(3.0)
    floor = list(lateness)
    lateness.clear()
    for kept in pauses.values():
        kept.clear()

    flow = window.search
    panel = window.search_panel
    panel.trials_spin.setValue(args.trials)
    panel.workers_spin.setValue(args.workers)
    window.search.show_tab()
    samples = {"before": rss_mb()}
    finished_trials = []
    series: list[tuple[int, float]] = []  # (trials finished, RSS MB) every 10 trials

    def on_event(_job_id, event) -> None:
        if type(event).__name__ == "TrialFinished":
            finished_trials.append(time.perf_counter())
            if len(finished_trials) == min(4, args.trials):
                samples["warm"] = rss_mb()
            if len(finished_trials) % 10 == 0:
                series.append((len(finished_trials), rss_mb()))

    flow.job.event.connect(on_event)
    done = QEventLoop()
    flow.job.finished.connect(done.quit)
    started = time.perf_counter()
    if not flow.start():
        print("The search did not start.")
        return 1
    done.exec()
    seconds = time.perf_counter() - started
    state["active"] = False
    samples["end"] = rss_mb()
    wait(0.5)

    p99, worst = percentile(lateness, 0.99), max(lateness, default=float("nan"))
    growth = samples["end"] - samples.get("warm", samples["before"])
    trials = len(finished_trials)
    print(
        f"Search: {trials} trials with {args.workers} workers in {seconds:.1f} s "
        f"({60 * trials / seconds:.1f} trials/min); runs in the table: "
        f"{window.runs_panel.table.run_model.rowCount()}; "
        f"parallel-coordinates lines: {panel.parallel.line_count()}"
    )
    print(
        f"GUI timer lateness while streaming over {len(lateness)} ticks: "
        f"p50 {percentile(lateness, 0.5):.1f} ms, p99 {p99:.1f} ms, max {worst:.1f} ms "
        f"(target p99 <= {TARGET_P99_MS:.0f} ms); idle floor p99 {percentile(floor, 0.99):.1f} ms"
    )
    print(
        f"Window RSS: before {samples['before']:.0f} MB, after {min(4, args.trials)} trials "
        f"{samples.get('warm', float('nan')):.0f} MB, at the end {samples['end']:.0f} MB "
        f"(growth since warm-up {growth:+.1f} MB over {trials} trials; target <= "
        f"{TARGET_RSS_MB:.0f} MB)"
    )
    if series:
        print("Window RSS every 10 trials: " + ", ".join(f"{n}: {mb:.0f}" for n, mb in series))
    print(
        "Garbage collections on the GUI thread while streaming: "
        + "; ".join(
            f"gen {g}: {len(p)}, max {max(p, default=0):.1f} ms, total {sum(p):.0f} ms"
            for g, p in pauses.items()
        )
    )
    gc.callbacks.remove(on_gc)
    if args.shot:
        window.grab().save(args.shot)
        print(f"Saved {args.shot}")
    window.document.undo_stack.setClean()
    window.close()
    app.processEvents()
    ok = p99 <= TARGET_P99_MS and growth <= TARGET_RSS_MB
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
