"""Worker processes: events arrive in order, a killed worker fails only its job."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from engine.events import BatchesEnd, EpochEnd, LogLine, TrainBegin, TrainEnd
from engine.worker import BACKGROUND_NICE, NICE_VARIABLE, Job, WorkerPool, lower_priority
from engine.worker_protocol import JobFinished, JobResult, JobStarted
from tests.search.support import tiny_project

TIMEOUT = 240


class Events:
    def __init__(self):
        self.lock = threading.Lock()
        self.items: list[tuple[str, object]] = []

    def __call__(self, job_id, event):
        with self.lock:
            self.items.append((job_id, event))

    def kinds(self, job_id):
        with self.lock:
            names = [type(e).__name__ for j, e in self.items if j == job_id]
        return [n for n in names if n not in ("BatchesEnd", "LogLine")]

    def of(self, job_id, cls):
        with self.lock:
            return [e for j, e in self.items if j == job_id and isinstance(e, cls)]


def test_jobs_run_in_a_worker_and_their_events_arrive_in_order(tmp_path, pool):
    events = Events()
    pool.sink = events
    project = tiny_project(epochs=2)
    bad = tiny_project()
    bad["model"]["layers"][1]["config"]["units"] = 0
    params = {"model.layers[1].config.units": 6}
    pool.submit(Job("a", project, tmp_path / "a", label="job a", params=params, seed=3))
    pool.submit(Job("bad", bad, tmp_path / "bad", label="job bad"))
    pool.submit(Job("c", project, tmp_path / "c", label="job c"))
    pool.stop("c")  # still queued: it never starts
    assert pool.wait(TIMEOUT)
    assert events.kinds("a") == [
        "JobStarted",
        "TrainBegin",
        "EpochEnd",
        "EpochEnd",
        "TrainEnd",
        "JobResult",
        "JobFinished",
    ]
    assert events.of("a", BatchesEnd) and events.of("a", LogLine)
    assert events.of("a", TrainBegin)[0].epochs == 2
    result = events.of("a", JobResult)[0]
    assert result.status == "completed" and result.parameter_count > 0
    record = result.record
    assert len(record["history"]["val_loss"]) == 2
    assert record["snapshot"]["model"]["layers"][1]["config"]["units"] == 6  # the overrides
    assert record["snapshot"]["fit"]["seed"] == 3
    assert (tmp_path / "a" / record["weights"]).is_file()  # runs/<id>.h5 in its folder
    assert (tmp_path / "a" / "result.json").is_file()
    # A project Keras refuses fails its own job only, with a sentence that says why.
    failed = events.of("bad", JobResult)[0]
    assert failed.status == "failed" and "units" in failed.message
    assert events.of("bad", TrainEnd)[0].status == "failed"
    assert events.kinds("bad")[-1] == "JobFinished"
    assert events.kinds("c") == ["JobResult", "JobFinished"]
    assert events.of("c", JobFinished)[0].status == "stopped"
    assert events.of("c", JobResult)[0].message == "Job c was stopped before it started."


def test_a_worker_killed_mid_run_fails_its_job_and_the_pool_goes_on(tmp_path, pool):
    events = Events()
    killed = threading.Event()

    def sink(job_id, event):
        events(job_id, event)
        if job_id == "a" and isinstance(event, EpochEnd) and not killed.is_set():
            killed.set()
            os.kill(events.of("a", JobStarted)[0].pid, signal.SIGKILL)

    pool.sink = sink
    pool.submit(Job("a", tiny_project(epochs=30), tmp_path / "a", label="trial 7"))
    pool.submit(Job("b", tiny_project(epochs=1), tmp_path / "b", label="trial 8"))
    assert pool.wait(TIMEOUT)
    result = events.of("a", JobResult)[0]
    assert result.status == "failed" and result.record is None
    assert result.message.startswith("The worker process for trial 7 was killed (SIGKILL)")
    assert events.of("a", JobFinished)[0].status == "failed"
    assert events.kinds("a")[-1] == "JobFinished"
    assert events.of("b", JobResult)[0].status == "completed"  # a fresh worker ran it
    assert events.of("b", JobStarted)[0].pid != events.of("a", JobStarted)[0].pid


def test_a_stop_for_a_finished_job_does_not_stop_a_later_job_with_its_id(tmp_path, pool):
    """Searches number their trials from 0: trial-0 of one search was stopped (pruned), and
    the next search's trial-0 on the same warm worker must still train."""
    events = Events()

    def sink(job_id, event):
        events(job_id, event)
        if isinstance(event, EpochEnd):
            pool.stop(job_id)

    pool.sink = sink
    pool.submit(Job("trial-0", tiny_project(epochs=5), tmp_path / "first"))
    assert pool.wait(TIMEOUT)
    pool.stop("trial-0")  # late, as a pruner's stop can be
    pool.sink = events
    pool.submit(Job("trial-0", tiny_project(epochs=1), tmp_path / "second"))
    assert pool.wait(TIMEOUT)
    first, second = events.of("trial-0", JobResult)
    assert first.status == "stopped"
    assert second.status == "completed", second.message


def test_a_hung_worker_is_killed_at_its_time_limit_and_the_pool_never_hangs(tmp_path):
    events = Events()
    fake = [sys.executable, str(Path(__file__).with_name("fake_worker.py"))]
    with WorkerPool(1, events, command=fake, stop_grace=2) as pool:
        pool.submit(Job("x-hang", {}, tmp_path / "h", label="trial 5", timeout=2))
        pool.submit(Job("x-1", tiny_project(), tmp_path / "ok"))
        assert pool.wait(60)
        pool.submit(Job("y-hang", {}, tmp_path / "h2"))
        pool.stop("y-hang")  # asked to stop, it does not: killed after the grace time
        assert pool.wait(60)
    result = events.of("x-hang", JobResult)[0]
    assert result.status == "failed"
    assert result.message.startswith(
        "The worker process for trial 5 was ended because it ran past its time limit of 2 s."
    )
    assert events.of("x-1", JobResult)[0].status == "completed"
    stopped = events.of("y-hang", JobFinished)[0]
    assert "it did not stop within 2 s of being asked" in stopped.message


def _niceness(pid: int) -> int:
    return os.getpriority(os.PRIO_PROCESS, pid)


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no process priorities on this platform")
def test_the_windows_workers_yield_the_cpu_to_it(tmp_path):
    """The window's search and group workers run ``BACKGROUND_NICE`` steps less urgent than
    the window: with 2 workers training on 2 cores its GUI thread was late by 26-44 ms (p99)
    while trials streamed; niced workers leave it the CPU when it needs it (issue 12)."""
    import subprocess

    from app.model_jobs import BACKGROUND_POOL

    assert BACKGROUND_POOL["nice"] == BACKGROUND_NICE > 0
    base = os.nice(0)
    expected = min(19, base + BACKGROUND_NICE)

    # the pool tells each worker how much to lower itself ...
    events = Events()
    fake = [sys.executable, str(Path(__file__).with_name("fake_worker.py"))]
    with WorkerPool(1, events, command=fake, **BACKGROUND_POOL) as pool:
        pool.submit(Job("n-1", tiny_project(), tmp_path / "n"))
        assert pool.wait(60)
    assert events.of("n-1", JobResult)[0].message == f"nice={BACKGROUND_NICE}"

    # ... and the real worker does so first thing, before importing TensorFlow
    env = {**os.environ, NICE_VARIABLE: str(BACKGROUND_NICE)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "engine.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        deadline = time.monotonic() + 30
        while _niceness(worker.pid) != expected and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _niceness(worker.pid) == expected
    finally:
        worker.kill()
        worker.wait()
    assert _niceness(os.getpid()) == base  # the window itself is untouched


def test_lower_priority_takes_only_sensible_values():
    assert lower_priority("not a number") == os.nice(0)
    assert lower_priority(None) == os.nice(0)
    assert lower_priority(0) == os.nice(0)
