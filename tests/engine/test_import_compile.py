"""A model file's stored compile settings (Keras 2 ``training_config`` / Keras 3
``compile_config``) as the project's compile block, and Suggest when there are none."""

from __future__ import annotations

import json

import keras
import pytest

from engine.compiling import compile_from_training_config, compile_model, suggest_compile
from engine.project import new_project, validate_project

# What Keras 2.x wrote into a .h5 file's training_config attribute (seen in real files).
KERAS2_RMSPROP = {
    "optimizer_config": {
        "class_name": "RMSprop",
        "config": {"lr": 0.0010000000474974513, "rho": 0.9, "epsilon": 1e-07, "decay": 1e-06},
    },
    "loss": "binary_crossentropy",
    "metrics": ["acc"],
    "sample_weight_mode": None,
    "loss_weights": None,
}
TF_KERAS_213_ADAM = {
    "loss": {
        "class_name": "CategoricalCrossentropy",
        "config": {
            "reduction": "auto",
            "name": "categorical_crossentropy",
            "from_logits": False,
            "label_smoothing": 0,
        },
    },
    "metrics": [
        [
            {
                "class_name": "MeanMetricWrapper",
                "config": {"name": "accuracy", "dtype": "float32", "fn": "categorical_accuracy"},
            }
        ]
    ],
    "weighted_metrics": None,
    "loss_weights": None,
    "optimizer_config": {
        "class_name": "Custom>Adam",
        "config": {
            "name": "Adam",
            "weight_decay": None,
            "clipnorm": None,
            "jit_compile": True,
            "is_legacy_optimizer": False,
            "learning_rate": 0.0005000000237487257,
            "beta_1": 0.9,
            "beta_2": 0.999,
            "epsilon": 1e-07,
            "amsgrad": False,
        },
    },
}


def test_keras2_rmsprop_lr_becomes_learning_rate_and_decay_is_dropped_with_a_note():
    block, note = compile_from_training_config(json.dumps(KERAS2_RMSPROP))
    assert block == {
        "optimizer": {"class_name": "RMSprop", "config": {"learning_rate": 0.001}},
        "loss": "binary_crossentropy",
        "metrics": ["accuracy"],
    }
    assert "RMSprop" in note and "decay" in note and "Left out" in note


def test_tf_keras_213_adam_with_loss_object_and_wrapped_metric():
    block, note = compile_from_training_config(TF_KERAS_213_ADAM)
    assert block["optimizer"] == {"class_name": "Adam", "config": {"learning_rate": 0.0005}}
    assert block["loss"] == "categorical_crossentropy"
    assert block["metrics"] == ["accuracy"]
    assert "Left out" not in note


@pytest.mark.parametrize(
    ("loss", "expected"),
    [
        ("mse", "mean_squared_error"),
        ("mae", "mean_absolute_error"),
        ("categorical_crossentropy", "categorical_crossentropy"),
        ("sparse_categorical_crossentropy", "sparse_categorical_crossentropy"),
        ("binary_crossentropy", "binary_crossentropy"),
        ("keras.losses.Huber", "huber"),
        ({"class_name": "MeanSquaredError", "config": {"reduction": "auto"}}, "mean_squared_error"),
        (
            {"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": True}},
            {"class_name": "SparseCategoricalCrossentropy", "config": {"from_logits": True}},
        ),
    ],
)
def test_loss_names(loss, expected):
    block, _note = compile_from_training_config({"optimizer_config": "adam", "loss": loss})
    assert block is not None and block["loss"] == expected


@pytest.mark.parametrize(
    ("metrics", "expected"),
    [
        (["acc"], ["accuracy"]),
        (["accuracy", "mae"], ["accuracy", "mean_absolute_error"]),
        (["auc"], ["auc"]),
        ({"dense_1": ["acc"]}, ["accuracy"]),
        (["acc", "not_a_metric"], ["accuracy"]),
    ],
)
def test_metric_names(metrics, expected):
    block, note = compile_from_training_config(
        {
            "optimizer_config": {"class_name": "SGD", "config": {"lr": 0.01}},
            "loss": "mse",
            "metrics": metrics,
        }
    )
    assert block["metrics"] == expected
    assert ("not_a_metric" in note) == ("not_a_metric" in metrics)


def test_keras3_compile_config():
    raw = {
        "optimizer": {
            "module": "keras.optimizers",
            "class_name": "SGD",
            "config": {"name": "SGD", "learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
            "registered_name": None,
        },
        "loss": "sparse_categorical_crossentropy",
        "metrics": ["accuracy"],
        "loss_weights": None,
    }
    block, _note = compile_from_training_config(raw)
    assert block["optimizer"] == {
        "class_name": "SGD",
        "config": {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True},
    }


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (None, "no compile settings"),
        ("{not json", "not readable JSON"),
        ({"optimizer_config": {"class_name": "Yogi", "config": {}}, "loss": "mse"}, "Yogi"),
        ({"optimizer_config": "adam", "loss": {"a": "mse", "b": "mae"}}, "one loss per output"),
        ({"optimizer_config": "adam", "loss": "my_custom_loss"}, "my_custom_loss"),
        ({"optimizer_config": "adam"}, "no loss"),
    ],
)
def test_untranslatable_settings_give_none_and_the_reason(raw, reason):
    block, note = compile_from_training_config(raw)
    assert block is None and reason in note and note[0].isupper()


def test_translated_block_is_a_valid_project_compile_block_that_compiles():
    block, _note = compile_from_training_config(KERAS2_RMSPROP)
    project = validate_project({**new_project(), "compile": block})
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
    compile_model(model, project["compile"])
    assert type(model.optimizer).__name__ == "RMSprop"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.001)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras's own .h5 save
def test_keras_3_h5_file_stores_a_training_config_that_translates(tmp_path):
    import h5py

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(
        optimizer=keras.optimizers.RMSprop(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    path = tmp_path / "m.h5"
    model.save(path)
    with h5py.File(path) as h5:
        raw = h5.attrs["training_config"]
    block, _note = compile_from_training_config(raw)
    assert block["optimizer"]["class_name"] == "RMSprop"
    assert block["optimizer"]["config"]["learning_rate"] == 0.01
    assert block["loss"] == "sparse_categorical_crossentropy"


SPARSE = "sparse_categorical_crossentropy"


@pytest.mark.parametrize(
    ("last", "loss", "metrics"),
    [
        (keras.layers.Dense(1, activation="sigmoid"), "binary_crossentropy", ["accuracy"]),
        (keras.layers.Dense(4, activation="sigmoid"), "binary_crossentropy", ["binary_accuracy"]),
        (
            keras.layers.Dense(4, activation="softmax"),
            "sparse_categorical_crossentropy",
            ["accuracy"],
        ),
        (keras.layers.Dense(2), "mean_squared_error", ["mean_absolute_error"]),
    ],
)
def test_suggest_from_the_output_layer(last, loss, metrics):
    model = keras.Sequential([keras.Input((3,)), last])
    block, note = suggest_compile(model)
    assert block == {"optimizer": "adam", "loss": loss, "metrics": metrics}
    assert "output layer" in note and "Suggest" in note


def test_suggest_from_the_dataset():
    from engine.datasets import load_dataset

    dataset = load_dataset({"source": "sample", "name": "breast_cancer"})
    model = keras.Sequential([keras.Input((30,)), keras.layers.Dense(2, activation="softmax")])
    block, note = suggest_compile(model, dataset)
    assert block["loss"] == "binary_crossentropy"
    assert "binary task" in note
