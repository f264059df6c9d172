"""One run on several worker processes over loopback (MultiWorkerMirroredStrategy).

Each test starts fresh Python processes (TensorFlow allows one group of workers per
process), so each takes 30-70 s on a 2-core machine: they are marked slow.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from engine.cli.workers import free_ports
from engine.project import resources_dir

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("run_worker.py")
MAIN = [sys.executable, str(ROOT / "main.py"), "train"]
# The final validation loss of 2 workers against 1 (same project, global batch and seed).
# Seen here: 1.4859 against 1.4860 after 2 epochs of the digits demo.
VAL_LOSS_TOLERANCE = 0.01
# A killed or frozen (SIGSTOP) worker must end the run within this many seconds (seen:
# ~10 s either way, noticed by the coordination service's heartbeats).
FAIL_WITHIN = 60.0

pytestmark = pytest.mark.slow


def _env(**extra) -> dict:
    env = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", **extra)
    return env


def _demo(tmp_path: Path, **fit) -> Path:
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"].update(callbacks=[], **fit)
    path = tmp_path / "digits.llproj"
    path.write_text(json.dumps(project, indent=1))
    return path


def _load(out: Path) -> tuple[dict, list[np.ndarray]]:
    with np.load(out) as data:
        info = json.loads(str(data["info"]))
        weights = [data[f"arr_{index}"] for index in range(len(data.files) - 1)]
    return info, weights


def test_two_workers_train_like_one(tmp_path):
    path = _demo(tmp_path)
    workers = [f"127.0.0.1:{port}" for port in free_ports(2)]
    runs = {
        "one": "null",
        "chief": json.dumps({"workers": workers, "index": 0}),
        "other": json.dumps({"workers": workers, "index": 1}),
    }
    processes = {
        name: subprocess.Popen(
            [sys.executable, str(WORKER), str(path), str(tmp_path / f"{name}.npz"), devices, "2"],
            env=_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, devices in runs.items()
    }
    for name, process in processes.items():
        _, err = process.communicate(timeout=400)
        assert process.returncode == 0, f"{name}: {err[-2000:]}"
    one, one_weights = _load(tmp_path / "one.npz")
    chief, chief_weights = _load(tmp_path / "chief.npz")
    other, other_weights = _load(tmp_path / "other.npz")
    assert one["status"] == chief["status"] == other["status"] == "completed", chief["message"]
    assert chief["is_chief"] and not other["is_chief"]
    assert chief["device"].startswith("2 workers (MultiWorkerMirroredStrategy): 127.0.0.1:")
    assert len(chief["history"]["val_loss"]) == len(one["history"]["val_loss"]) == 2
    assert chief["history"] == other["history"]  # the metrics are averaged over the workers
    assert chief["history"]["val_loss"][-1] == pytest.approx(
        one["history"]["val_loss"][-1], abs=VAL_LOSS_TOLERANCE
    )
    assert len(chief_weights) == len(other_weights) == len(one_weights) > 0
    for mine, theirs in zip(chief_weights, other_weights, strict=True):
        np.testing.assert_array_equal(mine, theirs)  # identical, bit for bit


def test_local_workers_cli_records_the_chiefs_run_only(tmp_path):
    path = _demo(tmp_path)
    result = subprocess.run(
        [*MAIN, str(path), "--epochs", "2", "--local-workers", "2", "--name", "two workers"],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Starting 2 workers on 127.0.0.1" in result.stdout
    assert "batch size 32 (per replica: 16) on 2 workers (MultiWorkerMirroredStrategy)" in (
        result.stdout
    )
    assert result.stdout.count("Epoch ") == 2
    out = tmp_path / "out" / "digits"
    assert sorted(p.name for p in out.iterdir()) == ["history.csv", "metrics.json", "model.h5"]
    with open(out / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2
    assert rows[-1]["learning_rate"] == "0.001"  # read from a MirroredVariable
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["status"] == "completed" and "2 workers" in metrics["device"]
    project = json.loads(path.read_text())
    assert [run["name"] for run in project["runs"]] == ["two workers"]
    assert "MultiWorkerMirroredStrategy" in project["runs"][0]["device"]
    assert project["fit"].get("devices") is None  # the workers are not a project setting
    # Only the chief wrote: the project, its backup, the results and one run's weights.
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert [p for p in written if not p.startswith("out/")] == [
        "digits.llproj",
        *(["digits.llproj~"] if (tmp_path / "digits.llproj~").exists() else []),
        f"runs/{project['runs'][0]['id']}.h5",
    ]


def _wait_for(path: Path, text: str, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text(errors="replace"):
            return
        assert process.poll() is None, path.read_text(errors="replace")[-2000:]
        time.sleep(0.2)
    raise AssertionError(f"{text!r} did not appear in {path.name} within {timeout} s")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGSTOP], ids=["killed", "frozen"])
def test_a_lost_worker_fails_the_run_plainly_and_in_bounded_time(tmp_path, how):
    path = _demo(tmp_path, epochs=500)
    before = json.loads(path.read_text())
    workers = ",".join(f"127.0.0.1:{port}" for port in free_ports(2))
    logs, processes = [], []
    for index in range(2):
        log = tmp_path.parent / f"worker{index}.log"
        logs.append(log)
        with open(log, "w") as handle:
            processes.append(
                subprocess.Popen(
                    [*MAIN, str(path), "--workers", workers, "--worker-index", str(index)],
                    env=_env(),  # no collective timeout: the heartbeats notice
                    stdout=handle,
                    stderr=subprocess.STDOUT,
                )
            )
    chief, other = processes
    try:
        _wait_for(logs[0], "Epoch 2/500", chief, timeout=300)
        other.send_signal(how)
        killed = time.monotonic()
        chief.wait(timeout=FAIL_WITHIN + 30)
        elapsed = time.monotonic() - killed
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    printed = logs[0].read_text()
    assert chief.returncode == 1, printed[-2000:]
    assert elapsed < FAIL_WITHIN, f"the chief took {elapsed:.1f} s to notice"
    second = workers.split(",")[1]
    assert f"layerlab train: Training failed because worker 1 ({second}) stopped" in printed
    assert "Traceback" not in printed
    after = json.loads(path.read_text())
    runs = after.pop("runs")
    before.pop("runs")
    assert after == before  # untouched but for the failed run's record
    assert [run["status"] for run in runs] == ["failed"] and "worker 1" in runs[0]["message"]
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    out = tmp_path / "out" / "digits"
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json"]  # no model.h5
    assert json.loads((out / "metrics.json").read_text())["status"] == "failed"
