"""The window's local multi-worker run: ``run`` starts N workers on this machine.

``fit["devices"] = {"local_workers": N}`` (``engine.distribution``) asks for one run on N
``main.py train --workers ... --worker-index I`` processes over 127.0.0.1, as ``main.py train
--local-workers N`` does (the same command lines, ports and grace period:
``engine.cli.workers``). ``run`` has the signature of ``engine.training.run``, so the
window's training thread calls it like any run: the chief (worker 0) writes every training
event as a JSON line (``engine.worker_protocol``; it is started with ``LAYERLAB_EVENTS=json``)
and ``run`` passes each, parsed, to ``sink`` as it arrives, so the curves, progress and log
update live. The chief records nothing itself (``--no-record``): ``run`` returns its
``RunResult`` (history, status, its trained model read back from ``model.h5``) and the
window records it once, like any run. Stop asks every worker to stop (SIGINT: each stops
after its batch) and ends the ones still running after ``STOP_GRACE`` seconds. When a
worker dies the chief fails within a bounded time with a message naming it; a chief that
dies, or does not finish ``grace_seconds()`` after a worker failed, is ended and the run
fails. Pause is not available (the log says so: the workers keep training). Imports no Qt
and, until the run ends well, no Keras.
"""

from __future__ import annotations

import contextlib
import copy
import datetime
import json
import os
import queue
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from engine.events import EpochEnd, LogLine, TrainBegin, TrainEnd

EVENTS_ENV = "LAYERLAB_EVENTS"
STOP_GRACE = 20.0  # seconds the workers get to stop after Stop before they are ended
DEFAULT_WORKERS = 2


def local_worker_count(project: Any) -> int | None:
    """N when the project's ``fit["devices"]`` is ``{"local_workers": N}``, else None."""
    fit = project.get("fit") if isinstance(project, dict) else None
    devices = fit.get("devices") if isinstance(fit, dict) else None
    if isinstance(devices, dict) and "local_workers" in devices:
        return int(devices["local_workers"])
    return None


class JsonLineSink:
    """A training sink that writes each protocol event as one JSON line to ``stream``."""

    def __init__(self, stream):
        self.stream = stream

    def __call__(self, event: Any) -> None:
        from engine.worker_protocol import ProtocolError, to_json_line

        try:
            line = to_json_line(event)
        except ProtocolError:
            return
        self.stream.write(line + "\n")
        self.stream.flush()


def event_sink_from_env(stream) -> JsonLineSink | None:
    """The JSON-lines sink when this process was started with ``LAYERLAB_EVENTS=json``."""
    return JsonLineSink(stream) if os.environ.get(EVENTS_ENV) == "json" else None


def _read_lines(stream, events: queue.Queue) -> None:
    from engine.worker_protocol import ProtocolError, from_json_line

    for line in stream:
        text = line.strip()
        if not text:
            continue
        try:
            events.put(from_json_line(text))
        except ProtocolError:
            events.put(LogLine(text))  # the chief's own text lines (e.g. its summary)
    events.put(None)


def _project_file(project: dict, project_path: Any, scratch: Path) -> Path:
    """The project as the workers train it, beside the user's project (its relative files
    resolve the same) or, unsaved, in ``scratch``; ``fit.devices`` comes from the workers'
    command line."""
    data = {key: value for key, value in project.items() if key not in ("runs", "groups")}
    data = copy.deepcopy(data)
    if isinstance(data.get("fit"), dict):
        data["fit"]["devices"] = None
    text = json.dumps(data)
    if project_path is not None:
        folder = Path(project_path).resolve().parent
        path = folder / f".{Path(project_path).stem}.workers-{os.getpid()}.llproj"
        # a read-only folder: the scratch copy below (its relative files still resolve for
        # absolute paths)
        with contextlib.suppress(OSError):
            path.write_text(text)
            return path
    path = scratch / "project.llproj"
    path.write_text(text)
    return path


def run(
    project: dict,
    sink=None,
    control=None,
    dataset: Any = None,
    workdir: Any = None,
    *,
    epochs: int | None = None,
    project_path: Any = None,
    workers: int | None = None,
    **_ignored: Any,
):
    """Train ``project`` on ``workers`` (default: its ``{"local_workers": N}``) local worker
    processes; returns the chief's ``engine.training.RunResult`` (see the module docstring).
    ``dataset`` is not used: every worker loads the project's dataset itself."""
    from engine.cli.workers import LOOPBACK, _end, free_ports, grace_seconds, worker_command
    from engine.training import SNAPSHOT_KEYS, RunResult

    sink = sink or (lambda _event: None)
    count = workers or local_worker_count(project) or DEFAULT_WORKERS
    started = time.monotonic()
    started_at = datetime.datetime.now().isoformat(timespec="seconds")
    snapshot = {key: copy.deepcopy(project.get(key)) for key in SNAPSHOT_KEYS}
    if epochs is not None and isinstance(snapshot.get("fit"), dict):
        snapshot["fit"]["epochs"] = epochs
    end: TrainEnd | None = None
    batch_losses: list[float] = []
    epoch_seconds: list[float] = []
    paused_said = False
    steps: int | None = None
    device = ""
    failure = ""
    with contextlib.ExitStack() as stack:
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="layerlab-w-")))
        path = _project_file(project, project_path, scratch)
        stack.callback(lambda: path.unlink(missing_ok=True))
        out = scratch / "out"
        import argparse

        args = argparse.Namespace(
            project=str(path), epochs=epochs, out=str(out), record=False, name=None
        )
        addresses = [f"{LOOPBACK}:{port}" for port in free_ports(count)]
        env = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
        env.update(PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="3")
        sink(
            LogLine(
                f"Starting {count} workers on {LOOPBACK} ({', '.join(addresses)}); worker 0, "
                "the chief, sends these curves."
            )
        )
        logs = []
        processes: list[subprocess.Popen] = []
        for index in range(count):
            log = stack.enter_context(tempfile.TemporaryFile(mode="w+", dir=scratch))
            logs.append(log)
            processes.append(
                subprocess.Popen(
                    worker_command(args, addresses, index),
                    env={**env, EVENTS_ENV: "json"} if index == 0 else env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE if index == 0 else subprocess.DEVNULL,
                    stderr=log,
                    text=True,
                )
            )
        stack.callback(_end, processes, 0.0)  # never leave a worker behind
        events: queue.Queue = queue.Queue()
        reader = threading.Thread(
            target=_read_lines, args=(processes[0].stdout, events), daemon=True
        )
        reader.start()
        deadline = None
        stop_sent = False
        reading = True
        while True:
            try:
                event = events.get(timeout=0.1)
            except queue.Empty:
                event = False
            if event is None:
                reading = False
            elif event is not False and not (end is not None and isinstance(event, LogLine)):
                # (after TrainEnd the chief only prints its summary, naming temporary files)
                if isinstance(event, TrainBegin):
                    steps, device = event.steps_per_epoch, event.device
                elif isinstance(event, TrainEnd):
                    end = event
                elif isinstance(event, EpochEnd):
                    epoch_seconds.append(event.seconds)
                losses = getattr(event, "losses", None)
                if losses is not None and not isinstance(event, TrainEnd):
                    batch_losses.extend(losses)
                sink(event)
                continue  # drain what has arrived before looking at the processes
            codes = [process.poll() for process in processes]
            if all(code is not None for code in codes) and not reading:
                break
            if control is not None and control.paused and not paused_said:
                paused_said = True
                sink(
                    LogLine(
                        "A multi-worker run cannot pause: it keeps training (Stop stops it).",
                        "warning",
                    )
                )
            if control is not None and control.stop_requested and not stop_sent:
                stop_sent = True
                for process in processes:
                    with contextlib.suppress(OSError):
                        process.send_signal(signal.SIGINT)
                deadline = time.monotonic() + STOP_GRACE
            if deadline is None and (
                codes[0] is not None or any(code not in (None, 0) for code in codes)
            ):
                deadline = time.monotonic() + grace_seconds()
            if deadline is not None and time.monotonic() > deadline:
                if processes[0].poll() is None and end is None:
                    failure = (
                        f"A worker failed and the chief did not finish within "
                        f"{grace_seconds():.0f} s, so it was ended; nothing was recorded. "
                        "Start the run again."
                    )
                _end(processes, 0.0)
                reader.join(5.0)
                while not events.empty():
                    event = events.get()
                    if event is not None:
                        if isinstance(event, TrainEnd):
                            end = event
                        sink(event)
                break
        codes = [process.poll() for process in processes]
        if end is None:  # the chief did not say why: what the others said, then a failure
            for index, code in enumerate(codes):
                if code not in (0, None, 130, -signal.SIGINT) and index > 0:
                    logs[index].seek(0)
                    last = [
                        line.strip() for line in logs[index].read().splitlines() if line.strip()
                    ]
                    said = f": {last[-1][:300]}" if last else ""
                    sink(
                        LogLine(
                            f"Worker {index} ({addresses[index]}) ended with exit status "
                            f"{code}{said}",
                            "warning",
                        )
                    )
            if not failure:
                logs[0].seek(0)
                last = [line.strip() for line in logs[0].read().splitlines() if line.strip()]
                said = f": {last[-1][:300]}" if last else "."
                failure = (
                    f"Worker 0, the chief ({addresses[0]}), ended with exit status "
                    f"{codes[0]} before the run finished{said}"
                )
            end = TrainEnd(
                status="failed",
                message=failure,
                epochs_completed=0,
                seconds=time.monotonic() - started,
            )
            sink(end)
        result = RunResult(
            status=end.status,
            message=end.message,
            epochs_completed=end.epochs_completed,
            seconds=end.seconds,
            started_at=started_at,
            history=dict(end.history),
            batch_losses=batch_losses,
            steps_per_epoch=steps,
            epoch_seconds=epoch_seconds,
            device=device,
            snapshot=snapshot,
        )
        metrics = out / "metrics.json"
        if metrics.is_file():
            with contextlib.suppress(ValueError, OSError):
                test = json.loads(metrics.read_text()).get("test")
                result.test_metrics = test if isinstance(test, dict) else None
        model_file = out / "model.h5"
        if end.status != "failed" and model_file.is_file():
            import keras

            result.model = keras.models.load_model(model_file, compile=False)
        return result
