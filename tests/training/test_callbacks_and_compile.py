"""Project-configured callbacks, and compiling from the project's compile block."""

from __future__ import annotations

import csv

import keras
import numpy as np
import pytest

from engine import compiling, training
from engine.errors import TrainingError
from tests.training.support import make_dataset, make_project


def test_early_stopping_reports_the_epoch(recorder):
    callbacks = [
        {
            "class_name": "EarlyStopping",
            "config": {"monitor": "loss", "patience": 1, "min_delta": 100.0},
        }
    ]
    result = training.run(
        make_project(epochs=10, callbacks=callbacks), sink=recorder, dataset=make_dataset()
    )
    assert result.status == "early_stopped"
    assert "EarlyStopping stopped the run at epoch 2" in result.message
    assert result.epochs_completed == 2
    assert recorder.events[-1].status == "early_stopped"
    assert result.test_metrics is not None


def test_early_stopping_restores_the_best_weights():
    callbacks = [
        {
            "class_name": "EarlyStopping",
            "config": {
                "monitor": "val_loss",
                "patience": 1,
                "min_delta": 100.0,
                "restore_best_weights": True,
            },
        }
    ]
    result = training.run(
        make_project(epochs=10, callbacks=callbacks, validation_split=0.2), dataset=make_dataset()
    )
    assert result.status == "early_stopped"
    assert "weights of the best epoch (1) were restored" in result.message


def test_reduce_lr_on_plateau_shows_in_the_history():
    callbacks = [
        {
            "class_name": "ReduceLROnPlateau",
            "config": {"monitor": "loss", "factor": 0.5, "patience": 0, "min_delta": 100.0},
        }
    ]
    result = training.run(make_project(epochs=3, callbacks=callbacks), dataset=make_dataset())
    assert result.status == "completed", result.message
    # the rate used during each epoch; a reduction at the end of epoch 2 shows in epoch 3
    assert result.history["learning_rate"] == [0.01, 0.01, 0.005]


def test_file_writing_callbacks_write_inside_the_workdir(tmp_path):
    callbacks = [
        {"class_name": "CSVLogger", "config": {"filename": "logs/epochs.csv"}},
        {"class_name": "TensorBoard", "config": {}},
        {
            "class_name": "ModelCheckpoint",
            "config": {"filepath": "checkpoints/best.keras", "save_best_only": True},
        },
        {"class_name": "ModelCheckpoint", "config": {"filepath": "checkpoints/last.h5"}},
        {"class_name": "TerminateOnNaN", "config": {}},
    ]
    project = make_project(epochs=2, callbacks=callbacks, validation_split=0.2)
    result = training.run(project, dataset=make_dataset(), workdir=tmp_path)
    assert result.status == "completed", result.message

    with open(tmp_path / "logs" / "epochs.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 2 and {"loss", "val_loss", "learning_rate"} <= set(rows[0])
    runs = [p for p in (tmp_path / "logs").iterdir() if p.is_dir()]
    assert len(runs) == 1 and runs[0].name[:8].isdigit()
    assert any(path.name.startswith("events.out") for path in runs[0].rglob("*"))
    best = keras.saving.load_model(tmp_path / "checkpoints" / "best.keras", compile=False)
    assert best.count_params() == result.model.count_params()
    last = keras.saving.load_model(tmp_path / "checkpoints" / "last.h5", compile=False)
    for saved, trained in zip(last.get_weights(), result.model.get_weights(), strict=True):
        np.testing.assert_array_equal(saved, trained)


@pytest.mark.parametrize("path", ["../outside.csv", "/tmp/absolute.csv"])
def test_callback_paths_may_not_leave_the_workdir(tmp_path, path):
    callbacks = [{"class_name": "CSVLogger", "config": {"filename": path}}]
    result = training.run(
        make_project(callbacks=callbacks), dataset=make_dataset(), workdir=tmp_path / "project"
    )
    assert result.status == "failed"
    assert "outside the project's folder" in result.message


def test_unknown_callbacks_and_settings_are_refused():
    lambda_callback = [{"class_name": "LambdaCallback", "config": {}}]
    result = training.run(make_project(callbacks=lambda_callback), dataset=make_dataset())
    assert result.status == "failed" and "LambdaCallback" in result.message
    bad_setting = [{"class_name": "EarlyStopping", "config": {"patients": 3}}]
    result = training.run(make_project(callbacks=bad_setting), dataset=make_dataset())
    assert result.status == "failed" and "EarlyStopping" in result.message


OPTIMIZERS = [
    {"class_name": "SGD", "config": {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}},
    {"class_name": "RMSprop", "config": {"learning_rate": 0.002, "rho": 0.8}},
    {"class_name": "Adam", "config": {"learning_rate": 0.003, "beta_1": 0.8, "amsgrad": True}},
    {"class_name": "AdamW", "config": {"learning_rate": 0.003, "weight_decay": 0.01}},
    {"class_name": "Adagrad", "config": {"learning_rate": 0.02}},
    {"class_name": "Adadelta", "config": {"learning_rate": 1.0, "rho": 0.9}},
    {"class_name": "Nadam", "config": {"learning_rate": 0.002}},
    "adam",
    "sgd",
]


@pytest.mark.parametrize("setting", OPTIMIZERS, ids=lambda s: str(s)[:30])
def test_optimizers_from_the_project(setting):
    optimizer = compiling.make_optimizer(setting)
    if isinstance(setting, dict):
        assert type(optimizer).__name__ == setting["class_name"]
        config = optimizer.get_config()
        for key, value in setting["config"].items():
            assert config[key] == pytest.approx(value)


def test_serialized_optimizer_round_trips():
    original = keras.optimizers.SGD(learning_rate=0.1, momentum=0.5, nesterov=True)
    rebuilt = compiling.make_optimizer(keras.optimizers.serialize(original))
    assert rebuilt.get_config() == original.get_config()


@pytest.mark.parametrize(
    "block, field",
    [
        ({"optimizer": "adamm", "loss": "mean_squared_error"}, "compile.optimizer"),
        ({"optimizer": {"class_name": "SGD", "config": {"momentun": 1}}, "loss": "mse"}, None),
        ({"optimizer": "adam", "loss": "mean_squared_errror"}, "compile.loss"),
        ({"optimizer": "adam", "loss": "mse", "metrics": ["acuracy"]}, "compile.metrics"),
        ({"optimizer": "adam"}, "compile.loss"),
    ],
)
def test_bad_compile_blocks_are_refused(block, field):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    with pytest.raises(TrainingError) as caught:
        compiling.compile_model(model, block)
    assert caught.value.field == (field or "compile.optimizer")


@pytest.mark.parametrize(
    "task, loss, units, activation",
    [
        ("binary", "binary_crossentropy", 1, "sigmoid"),
        ("multiclass", "sparse_categorical_crossentropy", 3, "softmax"),
        ("multiclass", "categorical_crossentropy", 3, "softmax"),
        ("regression", "mean_squared_error", 1, None),
    ],
)
def test_metric_choices_fit_their_task(task, loss, units, activation):
    """Every metric offered for a task compiles and trains with that task's labels."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    if task == "binary":
        y = (x[:, :1] > 0).astype("float32")
    elif loss == "categorical_crossentropy":
        y = np.eye(3, dtype="float32")[rng.integers(0, 3, 64)]
    elif task == "multiclass":
        y = rng.integers(0, 3, 64)
    else:
        y = x[:, :1] * 2 + 3
    metrics = compiling.metric_choices(task, loss)
    assert metrics
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(units, activation=activation)])
    compiling.compile_model(model, {"optimizer": "adam", "loss": loss, "metrics": metrics})
    history = model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    assert all(np.isfinite(values).all() for values in history.history.values())


def test_mixed_precision_spec_keeps_the_output_layer_float32():
    spec = make_project(hidden=8)["model"]
    model = keras.Sequential.from_config(training.mixed_precision_spec(spec))
    assert [layer.compute_dtype for layer in model.layers] == ["float16", "float32"]
    assert all(weight.dtype == "float32" for weight in model.weights)
    block = {"optimizer": "adam", "loss": "mean_squared_error"}
    compiling.compile_model(model, block, loss_scale=True)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
    assert spec["layers"][1]["config"]["dtype"]["config"]["name"] == "float32"  # not changed


def test_mixed_precision_on_cpu_trains_in_float32(recorder):
    result = training.run(make_project(mixed_precision=True), sink=recorder, dataset=make_dataset())
    assert result.status == "completed", result.message
    if result.device == "CPU":
        assert any("Mixed precision needs a GPU" in getattr(e, "text", "") for e in recorder.events)
        assert all(layer.compute_dtype == "float32" for layer in result.model.layers)
