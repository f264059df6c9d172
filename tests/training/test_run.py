"""engine.training.run on real (tiny) Keras runs: events, controls, faults, determinism."""

from __future__ import annotations

import math
import threading
import time

import keras
import numpy as np
import pytest

from engine import training
from engine.events import BatchesEnd, EpochEnd, LogLine, TrainBegin, TrainEnd
from tests.training.support import make_dataset, make_project


def test_events_arrive_in_order_with_every_batch_loss_once(recorder):
    project = make_project(epochs=2, batch_size=30, validation_split=0.2)
    result = training.run(project, sink=recorder, dataset=make_dataset(train=256))

    assert result.status == "completed", result.message
    events = recorder.events
    assert isinstance(events[0], TrainBegin)
    assert isinstance(events[-1], TrainEnd)
    assert [e for e in events if isinstance(e, TrainEnd)] == [events[-1]]
    begin = events[0]
    assert (begin.epochs, begin.steps_per_epoch, begin.batch_size, begin.samples) == (2, 9, 30, 256)

    kinds = [type(e).__name__ for e in events[1:-1] if not isinstance(e, LogLine)]
    # per epoch: one or more BatchesEnd, then EpochEnd
    assert kinds[0] == "BatchesEnd" and kinds[-1] == "EpochEnd"
    assert kinds.count("EpochEnd") == 2
    for epoch in range(2):
        batches = [e for e in recorder.of(BatchesEnd) if e.epoch == epoch]
        steps = [b.first_step + i for b in batches for i in range(len(b.losses))]
        assert steps == list(range(9))
    losses = [loss for b in recorder.of(BatchesEnd) for loss in b.losses]
    assert losses == result.batch_losses
    assert len(losses) == 18 and all(math.isfinite(x) for x in losses)

    epoch_ends = recorder.of(EpochEnd)
    assert [e.epoch for e in epoch_ends] == [0, 1]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
        assert key in epoch_ends[0].logs
    assert epoch_ends[0].logs["learning_rate"] == 0.01
    assert result.history["loss"] == [e.logs["loss"] for e in epoch_ends]
    assert events[-1].history == result.history
    assert result.epochs_completed == 2 and result.steps_per_epoch == 9
    assert set(result.test_metrics) == {"loss", "accuracy"}
    assert sum(isinstance(e, LogLine) and e.text.startswith("Epoch ") for e in events) == 2
    assert result.snapshot["fit"]["batch_size"] == 30 and result.snapshot is not project


def test_batch_losses_are_each_batchs_own_loss(recorder):
    """With a zero learning rate the weights stay put, so each batch's loss is known."""
    project = make_project(epochs=1, batch_size=30, shuffle=False)
    project["compile"]["optimizer"] = {"class_name": "SGD", "config": {"learning_rate": 0.0}}
    dataset = make_dataset(train=100)  # batches of 30, 30, 30 and 10
    result = training.run(project, sink=recorder, dataset=dataset, evaluate_test=False)
    assert result.status == "completed", result.message

    x, y = dataset.parts["train"].x.array, dataset.parts["train"].y
    loss = keras.losses.SparseCategoricalCrossentropy()
    expected = [float(loss(y[i : i + 30], result.model(x[i : i + 30]))) for i in range(0, 100, 30)]
    assert result.batch_losses == pytest.approx(expected, rel=1e-4)


def test_batch_events_are_coalesced(recorder):
    project = make_project(epochs=1, batch_size=1, hidden=4)
    result = training.run(
        project, sink=recorder, dataset=make_dataset(train=1500), evaluate_test=False
    )
    assert result.status == "completed", result.message
    batches = recorder.of(BatchesEnd)
    assert sum(len(b.losses) for b in batches) == 1500
    # at most one event per 50 ms, plus the first batch and the epoch's last flush
    assert len(batches) <= result.seconds * 20 + 3
    assert len(batches) < 300
    assert all(b.samples_per_second > 0 for b in batches)


def _run_in_thread(project, dataset, recorder, control):
    box = {}
    thread = threading.Thread(
        target=lambda: box.setdefault(
            "result", training.run(project, sink=recorder, control=control, dataset=dataset)
        )
    )
    thread.start()
    return thread, box


def test_stop_during_validation_returns_within_a_second(recorder):
    """One training batch, then a long validation: Stop must not wait for its end."""
    project = make_project(epochs=3, batch_size=16, hidden=64)
    dataset = make_dataset(train=16, validation=120_000, test=16)
    control = training.TrainControl()
    thread, box = _run_in_thread(project, dataset, recorder, control)
    deadline = time.monotonic() + 60
    while not recorder.of(BatchesEnd) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # inside the 7,500-batch validation pass now
    asked = time.monotonic()
    control.stop()
    thread.join(30)
    took = time.monotonic() - asked
    result = box["result"]
    assert result.status == "stopped"
    assert took < 1.0
    assert not recorder.of(EpochEnd)  # validation did not finish: the stop cut it short
    assert result.test_metrics is None
    assert result.batch_losses and result.model is not None
    assert isinstance(recorder.events[-1], TrainEnd)
    assert recorder.events[-1].status == "stopped"


def test_stop_after_a_batch_keeps_weights_and_history(recorder):
    control = training.TrainControl()

    def sink(event):
        recorder(event)
        if isinstance(event, EpochEnd) and event.epoch == 1:
            control.stop()

    project = make_project(epochs=50, batch_size=8)
    result = training.run(project, sink=sink, control=control, dataset=make_dataset())
    assert result.status == "stopped"
    assert "weights and history so far are kept" in result.message
    assert result.epochs_completed == 2 and len(result.history["loss"]) == 2
    assert len(result.batch_losses) == 2 * 32  # stopped before the third epoch began
    first_kernel = result.model.layers[0].get_weights()[0]
    assert np.isfinite(first_kernel).all()


def test_pause_holds_the_run_and_resume_continues(recorder):
    control = training.TrainControl()
    paused_once = threading.Event()

    def sink(event):
        recorder(event)
        if isinstance(event, BatchesEnd) and not paused_once.is_set():
            paused_once.set()
            control.pause()

    project = make_project(epochs=2, batch_size=16)
    thread, box = _run_in_thread(project, make_dataset(), sink, control)
    assert paused_once.wait(30)
    time.sleep(0.2)
    count = len(recorder.events)
    time.sleep(0.5)
    assert len(recorder.events) == count  # nothing moves while paused
    assert control.paused and thread.is_alive()
    control.resume()
    thread.join(30)
    assert box["result"].status == "completed"
    assert box["result"].epochs_completed == 2
    # paused time does not count as training time
    assert box["result"].seconds < time.monotonic()  # sanity
    assert sum(e.seconds for e in recorder.of(EpochEnd)) < box["result"].seconds


def test_stop_while_paused(recorder):
    control = training.TrainControl()

    def sink(event):
        recorder(event)
        if isinstance(event, BatchesEnd):
            control.pause()

    thread, box = _run_in_thread(make_project(epochs=5), make_dataset(), sink, control)
    deadline = time.monotonic() + 30
    while not control.paused and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    control.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert box["result"].status == "stopped"


def test_nan_loss_stops_and_restores_finite_weights(recorder):
    project = make_project(epochs=3, learning_rate=1e12)
    project["compile"]["optimizer"] = {"class_name": "SGD", "config": {"learning_rate": 1e12}}
    result = training.run(project, sink=recorder, dataset=make_dataset())
    assert result.status == "failed"
    assert "NaN" in result.message or "inf" in result.message
    assert "smaller learning rate" in result.message
    for weights in result.model.get_weights():
        assert np.isfinite(weights).all()
    assert recorder.events[-1].status == "failed"
    assert not math.isfinite(result.batch_losses[-1])


def test_callback_exception_fails_the_run_and_the_next_run_works(recorder, monkeypatch):
    def broken(self, epoch, logs=None):
        raise RuntimeError("disk quota exceeded")

    monkeypatch.setattr(keras.callbacks.ReduceLROnPlateau, "on_epoch_end", broken)
    project = make_project(
        epochs=2, callbacks=[{"class_name": "ReduceLROnPlateau", "config": {"monitor": "loss"}}]
    )
    result = training.run(project, sink=recorder, dataset=make_dataset())
    assert result.status == "failed"
    assert "disk quota exceeded" in result.message
    assert recorder.events[-1].status == "failed"
    assert any(isinstance(e, LogLine) and e.level == "error" for e in recorder.events)

    monkeypatch.undo()
    again = training.run(project, dataset=make_dataset())
    assert again.status == "completed", again.message


def test_sink_exception_fails_the_run():
    calls = []

    def sink(event):
        calls.append(event)
        if isinstance(event, EpochEnd):
            raise ValueError("widget gone")

    result = training.run(make_project(), sink=sink, dataset=make_dataset())
    assert result.status == "failed"
    assert "widget gone" in result.message
    assert isinstance(calls[-1], TrainEnd)


def test_label_outside_the_output_classes_fails_with_a_fix(recorder):
    project = make_project(classes=2)  # the data has 3 classes
    result = training.run(project, sink=recorder, dataset=make_dataset(classes=3))
    assert result.status == "failed"
    assert "units" in result.message
    assert "Traceback" not in result.message and "\n" not in result.message


def test_wrong_loss_for_the_labels_fails_with_a_fix():
    project = make_project(classes=3, loss="binary_crossentropy")
    result = training.run(project, dataset=make_dataset(classes=3))
    assert result.status == "failed"
    assert "loss" in result.message and "Traceback" not in result.message


def test_bad_fit_settings_fail_before_training(recorder):
    project = make_project(batch_size=0)
    result = training.run(project, sink=recorder, dataset=make_dataset())
    assert result.status == "failed"
    assert "fit.batch_size" in result.message
    assert [type(e) for e in recorder.events if not isinstance(e, LogLine)] == [TrainEnd]


def test_out_of_memory_suggests_a_smaller_batch():
    class ResourceExhaustedError(Exception):
        pass

    settings = training.fit_settings({"batch_size": 512})
    message = training.explain_failure(ResourceExhaustedError("OOM when allocating"), settings)
    assert "smaller batch size" in message and "512" in message and "256" in message


def test_seeded_runs_give_identical_histories():
    project = make_project(epochs=2, batch_size=16, seed=7)
    first = training.run(project, dataset=make_dataset(seed=1))
    second = training.run(project, dataset=make_dataset(seed=1))
    assert first.status == second.status == "completed"
    assert first.history == second.history
    assert first.batch_losses == second.batch_losses
    other = training.run(
        make_project(epochs=2, batch_size=16, seed=8), dataset=make_dataset(seed=1)
    )
    assert other.history != first.history


def test_balanced_class_weight_follows_sklearn():
    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)
    weights = training.resolve_class_weight("balanced", {"y": labels}, make_dataset())
    assert weights == pytest.approx({0: 100 / 180, 1: 100 / 90, 2: 100 / 30})
    one_hot = np.eye(3)[labels]
    assert training.resolve_class_weight("balanced", {"y": one_hot}, None) == weights
    assert training.resolve_class_weight({"0": 1, "2": 5.5}, {}, None) == {0: 1.0, 2: 5.5}


def test_class_weights_change_training():
    dataset = make_dataset(seed=3)
    plain = training.run(make_project(seed=3), dataset=dataset)
    balanced = training.run(make_project(seed=3, class_weight="balanced"), dataset=dataset)
    explicit = training.run(
        make_project(seed=3, class_weight={"0": 1.0, "1": 10.0, "2": 1.0}), dataset=dataset
    )
    assert plain.status == balanced.status == explicit.status == "completed"
    assert balanced.history["loss"] != plain.history["loss"]
    assert explicit.history["loss"] != plain.history["loss"]


def test_class_weight_is_refused_for_regression():
    project = make_project(loss="mean_squared_error", class_weight="balanced")
    result = training.run(project, dataset=make_dataset(task="regression"))
    assert result.status == "failed" and "regression" in result.message


def test_a_run_stopped_before_it_starts_trains_nothing(recorder):
    control = training.TrainControl()
    control.stop()
    control.pause()  # a stopped run cannot be paused
    assert control.stop_requested and not control.paused
    result = training.run(make_project(), sink=recorder, control=control, dataset=make_dataset())
    assert result.status == "stopped" and result.message == "Stopped before training began."
    assert [type(e) for e in recorder.events] == [TrainEnd]
    assert result.epochs_completed == 0 and result.model is None


def test_history_rows_and_per_class_logs():
    from engine.callbacks import epoch_line, scalar_logs

    logs = scalar_logs({"loss": np.float32(0.5), "f1": np.array([0.1, 0.9]), "learning_rate": 1e-3})
    assert logs == {"loss": 0.5, "f1_0": 0.1, "f1_1": 0.9, "learning_rate": 0.001}
    rows = training.history_rows({"loss": [0.9, 0.5], "val_loss": [1.0, 0.7]})
    assert rows == [
        {"epoch": 1, "loss": 0.9, "val_loss": 1.0},
        {"epoch": 2, "loss": 0.5, "val_loss": 0.7},
    ]
    line = epoch_line(1, 5, {"loss": 0.5, "learning_rate": 0.001}, 1.25)
    assert line == "Epoch 2/5 - 1.2 s - loss: 0.5 - learning_rate: 0.001"


def test_a_project_that_is_not_an_object_fails_plainly(recorder):
    result = training.run(None, sink=recorder)
    assert result.status == "failed" and "must be an object" in result.message
    assert isinstance(recorder.events[-1], TrainEnd)
