"""Loads that are cancelled, and loads that run out of memory (issue 10)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import engine.datasets.csvfile as csvfile
from engine.datasets import DatasetError, load_dataset
from engine.datasets.cancel import LoadCancelled


@pytest.fixture
def table(tmp_path, monkeypatch):
    monkeypatch.setattr(csvfile, "_READ_BLOCK_BYTES", 1000)
    path = tmp_path / "rows.csv"
    path.write_text("a,b,y\n" + "".join(f"{i},{i % 7},{i % 2}\n" for i in range(5000)))
    return {"source": "csv", "path": str(path), "target": "y"}


def test_a_set_event_stops_a_csv_load_between_pieces(table):
    cancel = threading.Event()
    reports = []

    def progress(text, fraction):
        reports.append(fraction)
        if len(reports) == 3:
            cancel.set()

    with pytest.raises(LoadCancelled):
        load_dataset(table, progress=progress, cancel=cancel)
    assert len(reports) == 3  # nothing was reported (or read) after the cancel
    assert load_dataset(table, cancel=threading.Event()).train_size > 0


def test_a_load_cancelled_before_it_starts_reads_nothing(table, monkeypatch):
    cancel = threading.Event()
    cancel.set()
    monkeypatch.setattr(csvfile, "read_csv", lambda *a, **k: pytest.fail("read anyway"))
    with pytest.raises(LoadCancelled):
        load_dataset(table, cancel=cancel)


def test_running_out_of_memory_while_reading_advises_about_the_data(table, monkeypatch):
    def exhausted(*args, **kwargs):
        return np.empty(2**40, dtype="float64")  # 8 TiB: numpy raises _ArrayMemoryError

    monkeypatch.setattr("engine.datasets.tabular.read_csv", exhausted)
    with pytest.raises(DatasetError) as caught:
        load_dataset(table)
    text = str(caught.value)
    assert text.startswith("There is not enough memory to load") and "rows.csv" in text
    assert "fewer rows" in text
    assert "smaller batch size" not in text.lower()
