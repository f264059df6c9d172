"""The window's "2 local workers" device choice: one run on 2 worker processes of this
machine (``engine.local_workers``), the chief's events shown live, the run recorded once.

The tests that train start 2 fresh TensorFlow processes (20-30 s each on a 2-core machine,
the window's start included): marked slow.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from app.loader import LOCAL_WORKERS_CHOICE
from engine import local_workers
from engine.callbacks import TrainControl
from engine.events import BatchesEnd, EpochEnd, TrainEnd
from engine.project import resources_dir

# A killed worker must end the run within this many seconds (the chief notices in ~10-20 s).
FAIL_WITHIN = 90.0


def _demo(tmp_path: Path, epochs: int) -> Path:
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"].update(callbacks=[], epochs=epochs)
    path = tmp_path / "digits.llproj"
    path.write_text(json.dumps(project, indent=1))
    return path


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from app.main_window import MainWindow
    from app.settings import AppSettings

    def unexpected(*args, **kwargs):
        raise AssertionError(f"Unexpected modal dialog: {[a for a in args if isinstance(a, str)]}")

    for kind in ("question", "warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, kind, staticmethod(unexpected))
    window = MainWindow(AppSettings(tmp_path / "settings.ini"), recovery_dir=tmp_path / "rec")
    window.show()
    with qtbot.waitSignal(window.catalogReady, timeout=90_000):
        window.start(_demo(tmp_path, epochs=2))
    yield window
    window.controller.shutdown(60_000)
    window.document.undo_stack.setClean()
    window.close()
    window.deleteLater()


def _children(pattern: str) -> list[int]:
    """Process ids of this process's children whose command line holds ``pattern``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and pattern in command:
            found.append(int(entry.name))
    return found


@pytest.mark.slow
def test_window_trains_on_two_local_workers_with_live_curves(window, qtbot, tmp_path):
    panel = window.training_panel
    index = panel.devices_combo.findText(LOCAL_WORKERS_CHOICE["label"])
    assert index >= 0, "the Devices row offers the local workers"
    panel.devices_combo.setCurrentIndex(index)
    panel.devices_combo.activated.emit(index)
    assert window.document.project["fit"]["devices"] == {"local_workers": 2}

    seen = []  # (event type, the run still going, curves' epochs so far)
    original = window.curves.on_event

    def spy(event):
        original(event)
        seen.append((type(event).__name__, window.controller.is_running()))

    window.curves.on_event = spy
    started = time.monotonic()
    with qtbot.waitSignal(window.controller.finished, timeout=300_000) as finished:
        window.training.train()
    seconds = time.monotonic() - started
    result = finished.args[0]
    assert result.status == "completed", result.message
    assert result.epochs_completed == 2 and len(result.history["loss"]) == 2
    assert result.model is not None
    names = [name for name, _ in seen]
    assert names.count("EpochEnd") == 2 and names[-1] == "TrainEnd"
    # live: the first epoch's curves arrived while the run was still going
    first = names.index("EpochEnd")
    assert seen[first][1] is True
    assert names.index("BatchesEnd") < first
    qtbot.waitUntil(lambda: len(window.document.project.get("runs", [])) == 1, timeout=30_000)
    run = window.document.project["runs"][0]
    assert len(run["history"]["loss"]) == 2
    assert run["snapshot"]["fit"]["devices"] == {"local_workers": 2}
    # the chief recorded nothing itself, and its temporary project file is gone
    assert json.loads((tmp_path / "digits.llproj").read_text()).get("runs", []) == []
    assert not list(tmp_path.glob(".digits.workers-*"))
    assert _children("--worker-index") == []
    print(f"2 local workers, 2 epochs of the digits demo through the window: {seconds:.1f} s")


@pytest.mark.slow
def test_a_killed_worker_fails_the_run_within_a_bounded_time(tmp_path):
    path = _demo(tmp_path, epochs=1000)
    project = json.loads(path.read_text())
    project["fit"]["devices"] = {"local_workers": 2}
    events = []
    killed = []

    def sink(event):
        events.append(event)
        if isinstance(event, BatchesEnd | EpochEnd) and not killed:
            pids = _children("--worker-index 1")
            assert len(pids) == 1
            os.kill(pids[0], signal.SIGKILL)
            killed.append(time.monotonic())

    result = local_workers.run(
        project, sink=sink, control=TrainControl(), workdir=tmp_path, project_path=path
    )
    took = time.monotonic() - killed[0]
    assert took < FAIL_WITHIN, took
    assert result.status == "failed"
    assert result.model is None
    assert result.message[0].isupper() and "worker" in result.message
    assert "Traceback" not in result.message
    assert isinstance(events[-1], TrainEnd) and events[-1].status == "failed"
    assert sum(isinstance(event, TrainEnd) for event in events) == 1
    assert json.loads(path.read_text()).get("runs", []) == []
    assert not list(tmp_path.glob(".digits.workers-*"))
    assert _children("--worker-index") == []
    print(f"a killed worker ended the run in {took:.1f} s: {result.message}")


@pytest.mark.slow
def test_stop_ends_every_worker_within_a_bounded_time(tmp_path):
    path = _demo(tmp_path, epochs=1000)
    project = json.loads(path.read_text())
    project["fit"]["devices"] = {"local_workers": 2}
    control = TrainControl()
    asked = []

    def sink(event):
        if isinstance(event, EpochEnd) and not asked:
            control.stop()
            asked.append(time.monotonic())

    result = local_workers.run(project, sink=sink, control=control, project_path=path)
    took = time.monotonic() - asked[0]
    assert took < local_workers.STOP_GRACE + 10, took
    assert result.status in ("stopped", "failed"), result.message
    assert _children("--worker-index") == []
    print(f"Stop ended the 2 workers in {took:.1f} s: {result.status} {result.message}")


def test_the_local_workers_setting_is_checked_and_not_run_in_process():
    from engine.distribution import check_devices, strategy_for
    from engine.errors import ProjectError, TrainingError

    assert check_devices({"local_workers": 2}) == {"local_workers": 2}
    for bad in (0, "2", True, 65):
        with pytest.raises(ProjectError, match="local_workers must be a number"):
            check_devices({"local_workers": bad})
    with pytest.raises(TrainingError, match="local workers, which are started by the window"):
        strategy_for({"local_workers": 2}, "tensorflow")
    assert local_workers.local_worker_count({"fit": {"devices": {"local_workers": 3}}}) == 3
    assert local_workers.local_worker_count({"fit": {"devices": "cpu"}}) is None
    assert LOCAL_WORKERS_CHOICE["value"] == {"local_workers": 2}


def test_the_chief_writes_events_as_json_lines(monkeypatch):
    import io

    from engine.events import LogLine
    from engine.worker_protocol import from_json_line

    stream = io.StringIO()
    monkeypatch.delenv(local_workers.EVENTS_ENV, raising=False)
    assert local_workers.event_sink_from_env(stream) is None  # main.py train prints text
    monkeypatch.setenv(local_workers.EVENTS_ENV, "json")
    sink = local_workers.event_sink_from_env(stream)
    end = TrainEnd("completed", "Done.", 2, 1.5, history={"loss": [1.0, float("nan")]})
    sink(LogLine("hello"))
    sink(end)
    sink(object())  # not a protocol event: skipped
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert from_json_line(lines[0]) == LogLine("hello")
    again = from_json_line(lines[1])
    assert again.status == "completed" and again.history["loss"][0] == 1.0
