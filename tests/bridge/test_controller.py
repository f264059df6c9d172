"""TrainingController on real (tiny) runs of engine.training, and on injected faults."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import keras
from PySide6.QtCore import QCoreApplication, QThread

from app.training_controller import TrainingController
from engine.events import BatchesEnd, EpochEnd, LogLine, TrainBegin, TrainEnd
from tests.bridge.support import Recorder, make_project
from widgets.log_view import LogView

ROOT = Path(__file__).resolve().parents[2]


def _is_true(value) -> bool:
    return value is True


def _is_false(value) -> bool:
    return value is False


def _run_to_end(qtbot, controller, project, timeout=60_000, **kwargs):
    with qtbot.waitSignals(
        [controller.runningChanged, controller.finished, controller.runningChanged],
        order="strict",
        check_params_cbs=[_is_true, None, _is_false],
        timeout=timeout,
    ):
        assert controller.start(project, **kwargs) is True


def test_a_real_run_delivers_every_event_in_the_gui_thread(qtbot, controller, npz, tmp_path):
    recorder = Recorder(controller)
    project = make_project(npz, epochs=2)
    _run_to_end(qtbot, controller, project, workdir=tmp_path)

    gui_thread = QCoreApplication.instance().thread()
    assert all(thread is gui_thread for thread in recorder.threads)
    assert not controller.is_running()
    kinds = [kind for kind in recorder.order if kind != "LogLine"]
    assert kinds[0] == "TrainBegin"
    assert kinds[-2:] == ["TrainEnd", "finished"]
    assert kinds.count("EpochEnd") == 2 and kinds.count("TrainEnd") == 1
    (result,) = recorder.results
    assert result.status == "completed", result.message
    end = recorder.events[-1]
    assert isinstance(end, TrainEnd) and end.status == "completed"
    begin = recorder.of(TrainBegin)[0]
    assert (begin.epochs, begin.steps_per_epoch, begin.samples) == (2, 8, 160)
    delivered = [loss for event in recorder.of(BatchesEnd) for loss in event.losses]
    assert delivered == result.batch_losses and len(delivered) == 16
    assert [e.epoch for e in recorder.of(EpochEnd)] == [0, 1]
    assert any(isinstance(e, LogLine) and e.text.startswith("Epoch 2/2") for e in recorder.events)
    assert recorder.errors == []


def test_start_deep_copies_the_project_and_refuses_a_second_run(qtbot, controller, npz):
    project = make_project(npz, epochs=500)
    recorder = Recorder(controller)
    with qtbot.waitSignal(controller.event, check_params_cb=lambda e: isinstance(e, EpochEnd)):
        assert controller.start(project)
    assert controller.is_running()
    assert controller.start(project) is False
    project["fit"]["epochs"] = 1  # the running copy is not affected
    with qtbot.waitSignal(controller.finished, timeout=10_000):
        controller.stop()
    assert recorder.results[0].snapshot["fit"]["epochs"] == 500


def test_stop_ends_the_run_quickly_and_keeps_history(qtbot, controller, npz):
    recorder = Recorder(controller)
    with qtbot.waitSignal(controller.event, check_params_cb=lambda e: isinstance(e, EpochEnd)):
        controller.start(make_project(npz, epochs=1000))
    asked = time.perf_counter()
    with qtbot.waitSignal(controller.finished, timeout=10_000):
        controller.stop()
    assert time.perf_counter() - asked < 3.0
    (result,) = recorder.results
    assert result.status == "stopped"
    assert recorder.events[-1].status == "stopped"
    assert result.epochs_completed >= 1 and len(result.history["loss"]) >= 1
    assert not controller.is_running()


def test_pause_holds_the_run_and_resume_finishes_it(qtbot, controller, npz):
    recorder = Recorder(controller)
    paused_states = []
    controller.pausedChanged.connect(paused_states.append)
    with qtbot.waitSignal(controller.event, check_params_cb=lambda e: isinstance(e, BatchesEnd)):
        controller.start(make_project(npz, epochs=4))
    controller.pause()
    assert controller.is_paused()
    seen = -1
    for _ in range(10):  # the current batch ends and its events arrive, then nothing
        if len(recorder.events) == seen:
            break
        seen = len(recorder.events)
        qtbot.wait(300)
    qtbot.wait(600)
    assert len(recorder.events) == seen, "events kept coming while paused"
    assert controller.is_running()
    with qtbot.waitSignal(controller.finished, timeout=30_000):
        controller.resume()
    assert paused_states == [True, False]
    (result,) = recorder.results
    assert result.status == "completed", result.message
    assert result.epochs_completed == 4


def test_stop_while_paused_ends_the_run(qtbot, controller, npz):
    recorder = Recorder(controller)
    with qtbot.waitSignal(controller.event, check_params_cb=lambda e: isinstance(e, BatchesEnd)):
        controller.start(make_project(npz, epochs=50))
    controller.pause()
    qtbot.wait(200)
    with qtbot.waitSignal(controller.finished, timeout=10_000):
        controller.stop()
    assert recorder.results[0].status == "stopped"
    assert not controller.is_paused()


def test_nan_loss_fails_the_run(qtbot, controller, npz):
    """Issue 10: a NaN loss is a failed run (it was "early_stopped" with exit 0)."""
    recorder = Recorder(controller)
    optimizer = {"class_name": "SGD", "config": {"learning_rate": 1e12}}
    _run_to_end(qtbot, controller, make_project(npz, epochs=3, optimizer=optimizer))
    end = recorder.events[-1]
    assert isinstance(end, TrainEnd) and end.status == "failed"
    assert recorder.results[0].status == "failed"
    losses = [loss for event in recorder.of(BatchesEnd) for loss in event.losses]
    assert not math.isfinite(losses[-1])
    assert recorder.errors == []


def test_a_callback_error_fails_the_run_and_the_next_run_works(qtbot, controller, npz, monkeypatch):
    def broken(self, epoch, logs=None):
        raise RuntimeError("disk quota exceeded")

    monkeypatch.setattr(keras.callbacks.ReduceLROnPlateau, "on_epoch_end", broken)
    callbacks = [{"class_name": "ReduceLROnPlateau", "config": {"monitor": "loss"}}]
    recorder = Recorder(controller)
    _run_to_end(qtbot, controller, make_project(npz, callbacks=callbacks))
    assert recorder.events[-1].status == "failed"
    assert "disk quota exceeded" in recorder.events[-1].message
    assert recorder.results[0].status == "failed"

    monkeypatch.undo()
    _run_to_end(qtbot, controller, make_project(npz, epochs=1, callbacks=callbacks))
    assert recorder.results[1].status == "completed", recorder.results[1].message


def test_an_engine_crash_is_reported_and_the_next_run_works(qtbot, npz):
    """A run function that raises: errored, a failed TrainEnd, finished(None), thread joined."""
    from engine import training

    calls = []

    def crashing_then_real(project, **kwargs):
        calls.append(threading.current_thread())
        if len(calls) == 1:
            kwargs["sink"](LogLine("about to crash"))
            raise MemoryError("simulated crash in the worker")
        return training.run(project, **kwargs)

    controller = TrainingController(run_function=crashing_then_real)
    recorder = Recorder(controller)
    with qtbot.waitSignals(
        [
            controller.runningChanged,
            controller.errored,
            controller.finished,
            controller.runningChanged,
        ],
        order="strict",
        check_params_cbs=[
            _is_true,
            lambda message: "simulated crash" in message,
            lambda result: result is None,
            _is_false,
        ],
        timeout=10_000,
    ):
        controller.start(make_project(npz))
    assert calls[0] is not threading.main_thread()
    assert recorder.order[-3:] == ["errored", "TrainEnd", "finished"]
    end = recorder.events[-1]
    assert end.status == "failed" and "simulated crash" in end.message
    errors = [e.text for e in recorder.events if isinstance(e, LogLine) and e.level == "error"]
    assert "Traceback" in errors[0] and "MemoryError" in errors[0]
    assert errors[1] == end.message
    log = LogView()
    for event in recorder.events:
        log.on_event(event)
    assert log.lines().count(end.message) == 1
    assert not controller.is_running()
    assert recorder.results == [None]

    _run_to_end(qtbot, controller, make_project(npz, epochs=1))
    assert recorder.results[1].status == "completed", recorder.results[1].message
    assert controller.shutdown()


def test_five_consecutive_runs(qtbot, controller, npz):
    recorder = Recorder(controller)
    project = make_project(npz, epochs=1)
    threads_before = threading.active_count()
    for _ in range(5):
        _run_to_end(qtbot, controller, project)
    assert [result.status for result in recorder.results] == ["completed"] * 5
    assert recorder.order.count("TrainBegin") == 5 and recorder.order.count("TrainEnd") == 5
    assert threading.active_count() <= threads_before + 1


def test_shutdown_stops_a_running_run_and_joins_the_thread(qtbot, npz):
    controller = TrainingController()
    recorder = Recorder(controller)
    running = []
    controller.runningChanged.connect(running.append)
    with qtbot.waitSignal(controller.event, check_params_cb=lambda e: isinstance(e, BatchesEnd)):
        controller.start(make_project(npz, epochs=1000))
    thread = controller._thread
    assert controller.shutdown(10_000) is True
    assert thread.isFinished()
    assert not controller.is_running()
    assert running == [True, False]
    assert recorder.order[-2:] == ["TrainEnd", "finished"]
    assert recorder.results[0].status == "stopped"
    assert QThread.currentThread() is QCoreApplication.instance().thread()


def test_closing_a_window_mid_run_exits_cleanly(npz):
    script = Path(__file__).with_name("close_during_training.py")
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    completed = subprocess.run(
        [sys.executable, str(script), str(npz)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=environment,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "QThread: Destroyed" not in completed.stderr
    assert "shutdown True" in completed.stdout
    assert "status stopped" in completed.stdout
    batch_events = int(completed.stdout.split("batch events")[1].split()[0])
    assert batch_events >= 2, completed.stdout
