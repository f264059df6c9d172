"""Garbage is collected on the GUI thread only (app.gc_guard): a worker thread that
allocates never runs a collection that could destroy Qt objects off the GUI thread."""

from __future__ import annotations

import gc
import threading

from app import gc_guard


class _Cycle:
    def __init__(self):
        self.me = self


def test_worker_threads_never_collect_and_the_gui_thread_does(qtbot, qapp):
    gc_guard.install(qapp)
    assert gc_guard.installed() and not gc.isenabled()
    threads: list[str] = []

    def record(phase, info):
        if phase == "start":
            threads.append(threading.current_thread().name)

    gc.callbacks.append(record)
    try:
        worker = threading.Thread(
            target=lambda: [_Cycle() for _ in range(50_000)], name="allocating-worker"
        )
        worker.start()
        worker.join()
        assert "allocating-worker" not in threads
        qtbot.waitUntil(lambda: "MainThread" in threads, timeout=5_000)
    finally:
        gc.callbacks.remove(record)
