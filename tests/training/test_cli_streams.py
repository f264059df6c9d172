"""What the CLI writes to stderr, and running with no stdout/stderr at all (pythonw)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import main
from engine.project import resources_dir

ROOT = Path(main.__file__).resolve().parent
TF_LINE = re.compile(r"^([IWEF]\d{4} |WARNING: All log messages|To enable the following)", re.M)


def _demo(tmp_path: Path, **compile_block) -> Path:
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"].update(callbacks=[], seed=1)
    project["compile"].update(compile_block)
    path = tmp_path / "digits.llproj"
    path.write_text(json.dumps(project))
    return path


def _train(path: Path, **env) -> subprocess.CompletedProcess:
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}
    environment.pop("LAYERLAB_DEBUG", None)
    environment.update(env)
    return subprocess.run(
        [sys.executable, "main.py", "train", str(path), "--epochs", "1", "--no-record"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_stderr_holds_layerlab_lines_only_during_training(tmp_path):
    # TF_CPP_MIN_LOG_LEVEL=0 (a user's setting) makes TensorFlow's C++ code print while it
    # sets up its devices in the first fit; a diverging loss gives LayerLab's own warning.
    adam = {"class_name": "Adam", "config": {"learning_rate": 1e12}}
    path = _demo(tmp_path, optimizer=adam)
    done = _train(path)
    assert done.returncode == 0, done.stderr
    assert not TF_LINE.search(done.stderr), done.stderr
    assert "warning: The loss diverged" in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert all(line.startswith(("warning: ", "layerlab ")) for line in lines), done.stderr
    assert "Epoch 1/1" in done.stdout


def test_layerlab_debug_shows_tensorflows_lines(tmp_path):
    done = _train(_demo(tmp_path), LAYERLAB_DEBUG="1")
    assert done.returncode == 0, done.stderr
    assert TF_LINE.search(done.stderr), done.stderr


NO_STREAMS = textwrap.dedent(
    """
    import sys
    sys.stdout = None
    sys.stderr = None
    report = open(sys.argv[1], "w")
    try:
        {body}
    except BaseException as error:
        report.write(f"raised {{type(error).__name__}}: {{error}}")
        raise SystemExit(3)
    report.write(f"ok {{result}}")
    """
)


def _without_streams(tmp_path: Path, body: str, *args: str) -> str:
    script = NO_STREAMS.format(body=body)
    report = tmp_path / "report.txt"
    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    environment.pop("LAYERLAB_DEBUG", None)
    subprocess.run(
        [sys.executable, "-c", script, str(report), *args],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=300,
    )
    return report.read_text()


def test_cli_and_window_work_with_no_stdout_or_stderr(tmp_path):
    path = _demo(tmp_path)
    body = textwrap.indent(
        textwrap.dedent(
            """
            from app.loader import load_catalog
            import main
            loaded = load_catalog()  # the window's Keras loader
            trained = main.main(["train", sys.argv[2], "--epochs", "1"])
            missing = main.main(["train", sys.argv[2] + ".missing"])
            result = ("Dense" in loaded.layers, trained, missing)
            """
        ),
        "    ",
    ).strip()
    assert _without_streams(tmp_path, body, str(path)) == "ok (True, 0, 2)"
    assert (tmp_path / "out" / "digits" / "model.h5").is_file()
    assert json.loads(path.read_text())["runs"][-1]["status"] == "completed"
