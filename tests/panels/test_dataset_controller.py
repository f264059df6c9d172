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
