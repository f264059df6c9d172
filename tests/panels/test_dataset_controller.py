"""DatasetController: loads in a worker thread, reports in the GUI thread, caches, suggests."""

from __future__ import annotations

import threading

import pytest

from app.dataset_controller import DatasetController, dataset_info
from engine.datasets import DatasetError, load_dataset
from widgets.dataset_panel import DatasetPanel

DIGITS = {"source": "sample", "name": "digits"}


@pytest.fixture
def controller(qtbot):
    made = DatasetController()
    yield made
    made.shutdown()


def test_loads_digits_in_a_thread_and_reports_in_the_gui_thread(qtbot, controller):
    main = threading.get_ident()
    seen_in = []

    class Probe:
        def loaded(self, dataset):
            seen_in.append(threading.get_ident())

    probe = Probe()
    busy = []
    controller.loaded.connect(probe.loaded)
    controller.busyChanged.connect(busy.append)
    with qtbot.waitSignal(controller.loaded, timeout=60_000) as blocker:
        controller.load(DIGITS, loss="sparse_categorical_crossentropy", validation_split=0.2)
        assert controller.is_busy()
    dataset = blocker.args[0]
    qtbot.waitUntil(lambda: busy == [True, False], timeout=10_000)
    assert seen_in == [main]
    assert dataset.task == "multiclass" and tuple(dataset.input_shape) == (64,)
    assert dataset.val_size > 0
    assert controller.dataset is dataset and not controller.is_busy()
    assert controller.cached(DIGITS, "sparse_categorical_crossentropy", 0.2) is dataset
    assert controller.cached(DIGITS, "sparse_categorical_crossentropy", 0.1) is None

    info = dataset_info(dataset)
    assert info["num_classes"] == 10 and info["input_shape"] == (64,)
    assert info["samples"] and info["samples"][0]["kind"] == "image"
    panel = DatasetPanel()
    qtbot.addWidget(panel)
    panel.show_dataset(info)
    assert panel.image_list.count() == len(info["samples"])


def test_bad_block_emits_failed_with_the_engine_message(qtbot, controller, tmp_path):
    block = {"source": "csv", "path": str(tmp_path / "missing.csv"), "target": "y"}
    with pytest.raises(DatasetError) as expected:
        load_dataset(block)
    with (
        qtbot.assertNotEmitted(controller.loaded),
        qtbot.waitSignal(controller.failed, timeout=60_000) as blocker,
    ):
        controller.load(block)
    assert blocker.args == [str(expected.value)]
    assert "missing.csv" in blocker.args[0]


def test_only_the_latest_request_reports(qtbot, controller):
    results = []
    controller.loaded.connect(results.append)
    controller.failed.connect(results.append)
    controller.load({"source": "sample", "name": "no_such_set"})
    with qtbot.waitSignal(controller.loaded, timeout=60_000):
        controller.load({"source": "sample", "name": "iris"})
    qtbot.waitUntil(lambda: not controller._running, timeout=60_000)
    assert len(results) == 1 and results[0].num_classes == 3


def test_head_suggestion_loads_when_needed(qtbot, controller):
    with qtbot.waitSignal(controller.headSuggested, timeout=60_000) as blocker:
        controller.request_head({"source": "sample", "name": "breast_cancer"})
    suggestion = blocker.args[0]
    assert suggestion.loss == "binary_crossentropy"
    assert suggestion.output_layer["config"]["activation"] == "sigmoid"
    # the same block again: answered from the cache, synchronously
    with (
        qtbot.waitSignal(controller.headSuggested, timeout=1000),
        qtbot.assertNotEmitted(controller.busyChanged),
    ):
        controller.request_head({"source": "sample", "name": "breast_cancer"})
    assert controller.suggest_head().loss == "binary_crossentropy"


def _slow_loader(calls, seconds=20.0, reports=True):
    """A fake source loader that reads for ``seconds``, reporting progress (or not)."""
    import time

    def load(block, loss, validation_split, progress):
        calls.append("started")
        end = time.monotonic() + seconds
        step = 0
        while time.monotonic() < end:
            step += 1
            if reports:
                try:
                    progress(f"Reading piece {step}", None)
                except BaseException:
                    calls.append("stopped")
                    raise
            time.sleep(0.01)
        calls.append("finished")
        return real(source)(block, loss, validation_split, None)

    import engine.datasets

    real = engine.datasets._loader
    source = "sample"
    return lambda _source: load


def _started(calls):
    return lambda: bool(calls) and calls[0] == "started"


def test_shutdown_cancels_a_long_load_and_leaves_no_thread(qtbot, monkeypatch):
    import time

    import engine.datasets

    calls = []
    monkeypatch.setattr(engine.datasets, "_loader", _slow_loader(calls))
    controller = DatasetController()
    results = []
    controller.loaded.connect(results.append)
    controller.failed.connect(results.append)
    controller.load(DIGITS)
    qtbot.waitUntil(_started(calls), timeout=10_000)
    threads = [thread for thread, _ in controller._running.values()]
    start = time.monotonic()
    controller.shutdown(timeout_ms=5_000)
    assert time.monotonic() - start < 3.0
    assert threads and not any(thread.isRunning() for thread in threads)
    assert "finished" not in calls  # stopped, not run to its end
    qtbot.wait(50)
    assert results == []  # a cancelled load reports nothing


def test_shutdown_waits_again_rather_than_leave_a_running_thread(qtbot, monkeypatch):
    import engine.datasets

    calls = []  # this loader reports nothing, so it cannot be cancelled midway
    monkeypatch.setattr(engine.datasets, "_loader", _slow_loader(calls, 1.0, reports=False))
    controller = DatasetController()
    controller.load(DIGITS)
    qtbot.waitUntil(_started(calls), timeout=10_000)
    threads = [thread for thread, _ in controller._running.values()]
    controller.shutdown(timeout_ms=100)
    assert threads and not any(thread.isRunning() for thread in threads)


def test_a_newer_load_cancels_the_running_one(qtbot, monkeypatch):
    import engine.datasets

    calls = []
    real = engine.datasets._loader
    slow = _slow_loader(calls)
    monkeypatch.setattr(
        engine.datasets, "_loader", lambda source: slow(source) if not calls else real(source)
    )
    controller = DatasetController()
    controller.load(DIGITS)
    qtbot.waitUntil(_started(calls), timeout=10_000)
    with qtbot.waitSignal(controller.loaded, timeout=60_000) as blocker:
        controller.load({"source": "sample", "name": "iris"})
    assert blocker.args[0].num_classes == 3
    qtbot.waitUntil(lambda: "stopped" in calls, timeout=5_000)
    assert "finished" not in calls
    controller.shutdown()


def test_dataset_info_carries_the_engines_counts_text():
    dataset = load_dataset(
        {"source": "sample", "name": "iris", "test_split": 0.2}, validation_split=0.25
    )
    info = dataset_info(dataset)
    assert info["sizes_text"] == dataset.sizes_text() == "90 train · 30 validation · 30 test"
    assert (info["train_size"], info["val_size"], info["test_size"]) == (90, 30, 30)
