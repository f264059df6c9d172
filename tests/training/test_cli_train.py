"""``python main.py train``: end to end on the bundled digits demo, Ctrl-C, bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keras
import numpy as np

import main
from engine.cli.train import Printer
from engine.events import BatchesEnd, LogLine, TrainBegin
from engine.project import resources_dir

ROOT = Path(main.__file__).resolve().parent


def _demo(tmp_path: Path, **fit) -> Path:
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"].update(fit)
    path = tmp_path / "digits.llproj"
    path.write_text(json.dumps(project))
    return path


def test_train_digits_writes_model_history_and_metrics(tmp_path, capsys):
    path = _demo(tmp_path, callbacks=[])
    assert main.main(["train", str(path), "--epochs", "2"]) == 0
    out_dir = tmp_path / "out" / "digits"
    printed = capsys.readouterr().out
    assert printed.count("Epoch ") == 2 and "val_loss" in printed and "Test:" in printed
    assert "\r" not in printed  # no progress bar when stdout is not a terminal

    with open(out_dir / "history.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["epoch"] for row in rows] == ["1", "2"]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"} <= set(rows[0])
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed" and metrics["epochs"] == 2
    assert set(metrics["test"]) == {"loss", "accuracy"} and metrics["duration_seconds"] > 0
    model = keras.saving.load_model(out_dir / "model.h5", compile=False)
    assert model.input_shape == (None, 64) and model.output_shape == (None, 10)
    probabilities = model.predict(np.zeros((1, 64), "float32"), verbose=0)
    assert np.isclose(probabilities.sum(), 1.0, atol=1e-4)


def test_bad_input_exits_2_with_one_line(tmp_path, capsys):
    assert main.main(["train", str(tmp_path / "missing.llproj")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("layerlab train:") and error.count("\n") == 1
    assert main.main(["train", str(_demo(tmp_path)), "--epochs", "0"]) == 2


def test_failed_run_exits_1_and_records_why(tmp_path, capsys):
    path = _demo(tmp_path, seed=1)
    project = json.loads(path.read_text())
    project["compile"]["optimizer"] = {"class_name": "SGD", "config": {"learning_rate": 1e12}}
    path.write_text(json.dumps(project))
    out_dir = tmp_path / "results"
    assert main.main(["train", str(path), "--epochs", "1", "--out", str(out_dir)]) == 1
    assert "layerlab train:" in capsys.readouterr().err
    metrics = json.loads((out_dir / "metrics.json").read_text())
    assert metrics["status"] == "failed" and metrics["message"]
    assert not (out_dir / "model.h5").exists()
    assert json.loads(path.read_text())["runs"][-1]["status"] == "failed"


def test_a_loss_that_does_not_fit_the_labels_is_bad_input(tmp_path, capsys):
    path = _demo(tmp_path)
    project = json.loads(path.read_text())
    project["compile"]["loss"] = "binary_crossentropy"  # 10 classes
    path.write_text(json.dumps(project))
    before = path.read_bytes()
    assert main.main(["train", str(path), "--epochs", "1"]) == 2
    assert capsys.readouterr().err.startswith("layerlab train: ")
    assert path.read_bytes() == before and not (tmp_path / "out").exists()


def test_progress_bar_only_on_a_terminal():
    out = io.StringIO()
    printer = Printer(out, io.StringIO(), tty=True)
    printer(TrainBegin(epochs=3, steps_per_epoch=10, batch_size=8, samples=80, device="CPU"))
    printer(BatchesEnd(0, 0, (0.9, 0.8, 0.7, 0.6, 0.5), {"loss": 0.7}, 1234.0))
    printer(LogLine("Epoch 1/3 - loss: 0.5"))
    text = out.getvalue()
    assert "\r" in text and "5/10" in text and "1,234 samples/s" in text
    assert text.endswith("Epoch 1/3 - loss: 0.5\n")


CTRL_C_SCRIPT = textwrap.dedent(
    """
    import sys
    import main
    code = main.main(sys.argv[1:])
    if "PySide6" in sys.modules:
        code = 99
    sys.exit(code)
    """
)


def test_ctrl_c_stops_cleanly_and_writes_outputs_without_qt(tmp_path):
    path = _demo(tmp_path, callbacks=[])
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-c", CTRL_C_SCRIPT, "train", str(path), "--epochs", "500"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        line = ""
        while not line.startswith("Epoch 1/") and time.monotonic() < deadline:
            line = process.stdout.readline()
            assert line or process.poll() is None, process.stderr.read()
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Stopping after the current batch" in stderr
    metrics = json.loads((tmp_path / "out" / "digits" / "metrics.json").read_text())
    assert metrics["status"] == "stopped" and metrics["epochs"] < 500
    assert (tmp_path / "out" / "digits" / "model.h5").stat().st_size > 0
    assert "Stopped by the user" in stdout
