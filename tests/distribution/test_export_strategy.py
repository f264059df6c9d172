"""The exported script builds and compiles the model under the project's devices setting."""

from __future__ import annotations

import os
import subprocess
import sys

import keras

from engine.export import _strategy_lines, export_script
from engine.project import demo_project


def _script(devices) -> str:
    project = demo_project()
    project["fit"].update(epochs=1, callbacks=[], devices=devices)
    script = export_script(project, title="Digits MLP")
    compile(script, "exported.py", "exec")
    return script


def test_all_gpus_is_a_mirrored_strategy_scope():
    script = _script("all")
    assert "import tensorflow as tf" in script.split("# --- data")[0]
    assert "strategy = tf.distribute.MirroredStrategy()" in script
    scoped = script.split("with strategy.scope():\n", 1)[1]
    assert scoped.startswith("    model = keras.Sequential(")
    assert "\n    model.compile(\n" in scoped
    assert "\nhistory = model.fit(" in scoped  # fit runs after the block, as in LayerLab


def test_the_default_has_no_strategy():
    script = _script(None)
    assert "strategy" not in script and "tf.distribute" not in script


def test_jax_uses_keras_distribution():
    lines = _strategy_lines("all", ["model = build()"], "jax")
    assert "keras.distribution.set_distribution(keras.distribution.DataParallel())" in lines
    assert lines[-1] == "model = build()"


def test_several_workers_say_the_script_runs_in_one_process():
    lines = _strategy_lines({"workers": ["a:1", "b:2"], "index": 0}, ["model = build()"], "tf")
    assert "tf.distribute" not in "\n".join(lines) and "several workers" in lines[0]


def test_a_one_device_script_runs(tmp_path):
    assert keras.config.backend() == "tensorflow"
    script = _script("cpu")
    assert "strategy = tf.distribute.OneDeviceStrategy('/cpu:0')" in script
    path = tmp_path / "exported.py"
    path.write_text(script, encoding="utf-8")
    env = dict(os.environ, KERAS_HOME=str(tmp_path / "keras-home"), TF_CPP_MIN_LOG_LEVEL="3")
    finished = subprocess.run(
        [sys.executable, str(path), str(tmp_path / "out.h5")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "Saved" in finished.stdout and (tmp_path / "out.h5").is_file()
