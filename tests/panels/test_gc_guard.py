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


def test_freeze_once_freezes_the_first_time_for_each_reason(monkeypatch):
    """After a search's first trial (Optuna, SQLAlchemy, Alembic imported: ~150k objects) the
    GUI thread's collections no longer scan what the import made (a gen-1 collection took
    37-80 ms during a search; 2-4 ms with it frozen)."""
    import gc

    frozen = []
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(1))
    monkeypatch.setattr(gc_guard, "_frozen_for", set())
    assert gc_guard.freeze_once("search started")
    assert not gc_guard.freeze_once("search started")
    assert gc_guard.freeze_once("search importances")
    assert len(frozen) == 2
