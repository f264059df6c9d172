"""Exports: the generated script reproduces the project; SavedModel; history CSV."""

from __future__ import annotations

import copy
import csv
import io
import os
import subprocess
import sys

import keras
import numpy as np

from engine.export import export_saved_model, export_script, history_csv
from engine.project import demo_project
from engine.spec import build_model


def test_exported_script_trains_and_saves_the_same_model(tmp_path):
    project = demo_project()
    project["fit"]["epochs"] = 1
    script = export_script(project, title="Digits MLP")
    compile(script, "exported.py", "exec")  # valid Python before running it
    assert 'layers.Dense(64, activation="relu")' in script
    assert "keras.optimizers.Adam(learning_rate=0.001)" in script
    assert "keras.callbacks.EarlyStopping(" in script
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
    assert "Saved" in finished.stdout
    saved = keras.saving.load_model(tmp_path / "out.h5", compile=False)
    expected = build_model(project["model"])
    assert saved.count_params() == expected.count_params()
    ours = [(type(layer).__name__, layer.get_config().get("units")) for layer in saved.layers]
    theirs = [(type(layer).__name__, layer.get_config().get("units")) for layer in expected.layers]
    assert ours == theirs
    assert saved.layers[-1].get_config()["activation"] == "softmax"


def test_script_layers_show_only_what_differs_from_keras_defaults():
    project = demo_project()
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(32, (3, 3), activation="relu", padding="same"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10, kernel_regularizer=keras.regularizers.L2(0.01)),
        ]
    )
    project["model"] = model.get_config()
    project["dataset"] = {"source": "keras", "name": "mnist"}
    project["compile"]["loss"] = "categorical_crossentropy"
    script = export_script(project)
    compile(script, "exported.py", "exec")
    assert "keras.Input(shape=(28, 28, 1))" in script
    assert 'layers.Conv2D(32, (3, 3), padding="same", activation="relu")' in script
    assert "layers.MaxPooling2D()" in script
    assert "layers.Dense(10, kernel_regularizer=keras.regularizers.L2(l2=0.01))" in script
    assert "keras.datasets.mnist.load_data()" in script
    assert "keras.utils.to_categorical(y_train, NUM_CLASSES)" in script
    namespace: dict = {"keras": keras, "layers": keras.layers}
    model_code = script[script.index("model = keras.Sequential(") : script.index("model.summary()")]
    exec(model_code, namespace)
    assert namespace["model"].count_params() == model.count_params()


def test_every_source_gives_valid_python():
    blocks = [
        {"source": "keras", "name": "imdb", "encoding": "sequences"},
        {"source": "keras", "name": "reuters"},
        {"source": "keras", "name": "boston_housing"},
        {"source": "keras", "name": "cifar100", "label_mode": "coarse", "flatten": True},
        {"source": "sample", "name": "diabetes"},
        {"source": "csv", "path": "data.csv", "target": "label"},
        {"source": "timeseries", "path": "jena.csv", "target": "T (degC)"},
        {"source": "text_folder", "path": "aclImdb", "output_mode": "int"},
        {"source": "image_folder", "path": "photos"},
        {"source": "npz", "path": "arrays.npz"},
    ]
    for block in blocks:
        project = copy.deepcopy(demo_project())
        project["dataset"] = block
        project["fit"]["class_weight"] = "balanced"
        compile(export_script(project), f"{block['source']}.py", "exec")


def test_saved_model_export(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    target = tmp_path / "served"
    export_saved_model(model, target)
    assert (target / "saved_model.pb").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".served")]


def test_history_csv_has_one_row_per_run_and_epoch():
    runs = [
        {"name": "Run 1", "history": {"loss": [0.5, 0.25], "val_loss": [0.6, None]}},
        {"name": "Run, 2", "history": {"loss": [0.1], "accuracy": [0.9]}},
    ]
    rows = list(csv.reader(io.StringIO(history_csv(runs))))
    assert rows == [
        ["run", "epoch", "loss", "val_loss", "accuracy"],
        ["Run 1", "1", "0.5", "0.6", ""],
        ["Run 1", "2", "0.25", "", ""],
        ["Run, 2", "1", "0.1", "", "0.9"],
    ]
    assert np.float64(rows[1][2]) == 0.5
