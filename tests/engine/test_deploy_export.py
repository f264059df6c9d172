"""engine.deploy_export and ``layerlab export``: TensorFlow Lite (float32, float16, int8) and
ONNX exports of a trained digits run, run on the test part and compared with Keras."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from engine import deploy_export, runs, training
from engine.errors import LayerLabError
from engine.project import demo_project, save_project


@pytest.fixture(scope="module")
def digits_project(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("deploy")
    path = folder / "digits.llproj"
    project = demo_project()
    project["fit"]["epochs"] = 3
    project["fit"]["seed"] = 5
    result = training.run(copy.deepcopy(project), workdir=folder)
    assert result.status == "completed", result.message
    project, _ = runs.record_run(project, result, path)
    save_project(project, path)
    return path


@pytest.fixture(scope="module")
def model_and_dataset(digits_project):
    from engine.project import load_project

    record = runs.find_run(load_project(digits_project))
    return runs.run_model(digits_project, record), runs.run_dataset(record)


@pytest.mark.parametrize(
    ("fmt", "tolerance"), [("tflite", 1e-4), ("tflite-f16", 2e-2), ("tflite-int8", 0.1)]
)
def test_tflite_exports_predict_like_keras(model_and_dataset, tmp_path, fmt, tolerance):
    model, dataset = model_and_dataset
    path = tmp_path / "model.tflite"
    result, agreement = deploy_export.export_and_check(model, path, fmt, dataset)
    assert path.is_file() and result.size == path.stat().st_size
    assert agreement.samples == dataset.test_size
    assert agreement.max_abs_diff < tolerance
    assert abs(agreement.exported_accuracy - agreement.keras_accuracy) <= 0.02
    assert agreement.keras_accuracy > 0.5
    assert agreement.text().startswith(f"{deploy_export.FORMATS[fmt]} vs Keras on ")


def test_smaller_weights_make_smaller_files(model_and_dataset, tmp_path):
    model, _ = model_and_dataset
    sizes = {
        fmt: deploy_export.export_deployable(model, tmp_path / f"{fmt}.tflite", fmt).size
        for fmt in ("tflite", "tflite-f16", "tflite-int8")
    }
    assert sizes["tflite-int8"] < sizes["tflite-f16"] < sizes["tflite"]


def test_onnx_export_agrees_or_says_why_not(model_and_dataset, tmp_path):
    model, dataset = model_and_dataset
    reason = deploy_export.onnx_unavailable_reason()
    if reason is not None:
        assert reason.startswith("ONNX export needs the ")
        with pytest.raises(LayerLabError, match="ONNX export needs"):
            deploy_export.export_deployable(model, tmp_path / "m.onnx", "onnx")
        return
    _result, agreement = deploy_export.export_and_check(
        model, tmp_path / "m.onnx", "onnx", dataset, limit=100
    )
    assert agreement.samples == 100
    assert agreement.max_abs_diff < 1e-4
    assert agreement.exported_accuracy == agreement.keras_accuracy


def test_onnx_reason_names_the_missing_packages(monkeypatch):
    monkeypatch.setattr(deploy_export, "_importable", lambda name: name != "tf2onnx")
    assert deploy_export.onnx_unavailable_reason() == (
        "ONNX export needs the tf2onnx package: install them with pip install "
        "'layerlab[onnx]' (or pip install tf2onnx onnxruntime)."
    )


def test_regression_agreement_reports_mae():
    outputs = np.array([[1.0], [2.0]])
    agreement = deploy_export._scores(
        "regression", outputs, outputs + 0.5, np.array([1.0, 2.0]), 0.5, "tflite"
    )
    assert agreement.metric == "MAE"
    assert agreement.keras_accuracy == 0.0 and agreement.exported_accuracy == 0.5
    assert "MAE Keras 0, exported 0.5" in agreement.text()


# --- CLI -------------------------------------------------------------------------------------


def test_cli_exports_tflite_and_prints_the_agreement(digits_project, tmp_path, capsys):
    import main

    out = tmp_path / "digits.tflite"
    code = main.main(["export", str(digits_project), "--format", "tflite-int8", str(out)])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert out.is_file()
    assert "Wrote Run 1 as TensorFlow Lite (dynamic-range int8 weights)" in printed
    assert "vs Keras on 359 test samples: max |difference| of outputs 0.0" in printed
    assert "accuracy Keras 0." in printed


def test_cli_keras_formats_reuse_the_model_file_writers(digits_project, tmp_path, capsys):
    import main

    assert (
        main.main(["export", str(digits_project), "--format", "keras", str(tmp_path / "m.keras")])
        == 0
    )
    assert (tmp_path / "m.keras").is_file()
    assert (
        main.main(["export", str(digits_project), "--format", "savedmodel", str(tmp_path / "sm")])
        == 0
    )
    assert (tmp_path / "sm" / "saved_model.pb").is_file()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--format", "tflite-int4"], "Unknown export format 'tflite-int4'. Use one of tflite"),
        (["--run", "Run 9"], "There is no run named 'Run 9'; the runs are 'Run 1'."),
        (["--format", "h5"], "A h5 model file must end in .h5 or .hdf5, not 'out.tflite'."),
    ],
)
def test_cli_bad_input_exits_2_with_one_line(digits_project, tmp_path, capsys, arguments, message):
    import main

    code = main.main(["export", str(digits_project), *arguments, str(tmp_path / "out.tflite")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert err.startswith("layerlab export: ")
    assert message in err
    assert not (tmp_path / "out.tflite").exists()


def test_cli_missing_folder_is_one_line(digits_project, tmp_path, capsys):
    import main

    code = main.main(["export", str(digits_project), str(tmp_path / "nowhere" / "m.tflite")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert "does not exist" in err


def test_recurrent_model_converts_to_builtins_and_runs(tmp_path):
    """Keras 3's LSTM/GRU loop needs TensorFlow ops in TFLite (the interpreter here cannot
    run them: "Select TensorFlow op(s) … not supported"); unrolled over the fixed sequence
    length it converts with built-ins only and predicts like Keras."""
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((12,), dtype="int32"),
            keras.layers.Embedding(50, 8),
            keras.layers.Bidirectional(keras.layers.LSTM(6, return_sequences=True)),
            keras.layers.GRU(4),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    x = np.random.default_rng(0).integers(0, 50, size=(300, 12)).astype("int32")
    result = deploy_export.export_deployable(model, tmp_path / "rnn.tflite", "tflite")
    assert "unrolled" in result.note
    out = deploy_export.run_exported(result.path, "tflite", x)
    assert np.abs(out.reshape(-1) - model.predict(x, verbose=0).reshape(-1)).max() < 1e-5
