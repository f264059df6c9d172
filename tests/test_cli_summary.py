"""``python main.py summary FILE``: Keras's own table for projects and model files, plain
errors (exit 2, one line, no traceback), and no Qt on the way."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import pytest

import main
from engine.modelfile import save_model
from engine.project import demo_project, new_project, resources_dir, save_project

ROOT = Path(__file__).resolve().parents[1]
DEMO = resources_dir() / "demo.llproj"


def run_main(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``python main.py ARGS`` as a user would (a fresh interpreter)."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd,
        env=env,
        timeout=180,
    )


def keras_summary(model: keras.Model) -> str:
    """What ``model.summary()`` prints, captured in this process."""
    printed: list[str] = []
    model.summary(print_fn=lambda text, line_break=True: printed.append(text))
    return "".join(printed)


def param_lines(text: str) -> list[str]:
    return text.rstrip("\n").splitlines()[-3:]


@pytest.fixture(scope="module")
def cnn_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("cli")
    model = keras.Sequential(
        [
            keras.Input((12, 12, 1)),
            keras.layers.Conv2D(4, 3, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Flatten(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    files = {}
    for suffix in (".h5", ".keras"):
        files[suffix] = folder / f"cnn{suffix}"
        save_model(model, files[suffix])
    lambda_model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: x + 1)])
    files["lambda"] = folder / "lambda.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lambda_model.save(files["lambda"])
    return files


def test_summary_of_the_demo_project_is_keras_table(tmp_path):
    from engine.spec import build_model

    result = run_main("summary", str(DEMO), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = keras_summary(build_model(demo_project()["model"]))
    assert result.stdout.rstrip("\n") == expected.rstrip("\n")
    assert param_lines(result.stdout) == [
        " Total params: 4,810 (18.79 KB)",
        " Trainable params: 4,810 (18.79 KB)",
        " Non-trainable params: 0 (0.00 B)",
    ]
    assert result.stderr == ""


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_summary_of_model_files_is_keras_table(tmp_path, cnn_files, suffix):
    result = run_main("summary", str(cnn_files[suffix]), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reference = keras.saving.load_model(cnn_files[suffix], compile=False)
    expected = keras_summary(reference)
    assert result.stdout.rstrip("\n") == expected.rstrip("\n")
    assert param_lines(result.stdout) == param_lines(expected)
    assert param_lines(result.stdout)[0].startswith(" Total params: 1,259 ")
    assert result.stderr == ""


def test_summary_never_imports_qt_and_bad_input_is_one_plain_line(cnn_files):
    """One interpreter (starts cost seconds): a good and a bad file through main.main, as
    ``python main.py`` runs it (``sys.exit(main())``)."""
    script = (
        "import sys, main\n"
        f"ok = main.main(['summary', {str(DEMO)!r}])\n"
        f"bad = main.main(['summary', {str(cnn_files['lambda'])!r}])\n"
        "print('RESULT', ok, bad, any(m.split('.')[0] == 'PySide6' for m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        timeout=180,
    )
    assert result.stdout.splitlines()[-1] == "RESULT 0 2 False", result.stderr
    assert " Total params: 4,810 (18.79 KB)" in result.stdout
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("layerlab summary: Cannot open lambda.h5: ")
    assert "Lambda layer" in result.stderr and "arbitrary code" in result.stderr
    assert "Traceback" not in result.stderr


def test_other_bad_inputs_are_one_plain_line(tmp_path, capsys):
    unbuilt = new_project()
    unbuilt["model"] = json.loads(
        json.dumps(keras.Sequential([keras.layers.Dense(4), keras.layers.Dense(1)]).get_config())
    )
    save_project(unbuilt, tmp_path / "unbuilt.llproj")
    broken = demo_project()
    broken["model"]["layers"][1]["config"]["units"] = -3
    save_project(broken, tmp_path / "broken.llproj")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "empty.keras").write_bytes(b"")
    expected = {
        "unbuilt.llproj": "its model has no input shape, so Keras cannot work out shapes and "
        "parameter counts. Set the input shape",
        "broken.llproj": "Cannot open broken.llproj: the setting model.layers[1] (Dense 'dense'): "
        "units",
        "missing.llproj": "there is no such file",
        "empty.keras": "Cannot open empty.keras: the file is empty (0 bytes).",
        "notes.txt": "give a LayerLab project (.llproj) or a .h5 or .keras model file",
    }
    for name, message in expected.items():
        assert main.main(["summary", str(tmp_path / name)]) == 2
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith("layerlab summary: ")
        assert message in captured.err, captured.err
        assert captured.err.count("\n") == 1
