"""One warm worker pool shared by the search, worker and group tests: TensorFlow starts once
per worker process, not once per test."""

from __future__ import annotations

import contextlib

import pytest

from engine.worker import WorkerPool


@pytest.fixture(scope="session")
def shared_pool():
    pool = WorkerPool(1, stop_grace=20)
    yield pool
    pool.close()


@pytest.fixture
def pool(shared_pool):
    """The shared pool, its sink set by the test; whatever a test leaves running is stopped."""
    previous = shared_pool.sink
    yield shared_pool
    with contextlib.suppress(Exception):
        shared_pool.stop_all()
        shared_pool.wait(60)
    shared_pool.sink = previous
