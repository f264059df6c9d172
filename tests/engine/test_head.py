"""Suggest on sequence inputs reduces the time axis (issue 9, defect 5)."""

from __future__ import annotations

import numpy as np
import pytest

from engine import spec as S
from engine.datasets.base import ArrayStore, Dataset, Part
from engine.datasets.head import apply_head, suggest_head, target_shape


def _dataset(input_shape, task="regression", y=None, num_classes=None, encoding="float"):
    n = 6
    x = np.zeros((n, *[d or 3 for d in input_shape]), dtype="float32")
    y = np.zeros(n, dtype="float32") if y is None else y
    return Dataset(
        block={},
        input_shape=tuple(input_shape),
        dtype="float32",
        task=task,
        num_classes=num_classes,
        class_names=None,
        label_encoding=encoding,
        train_size=n,
        val_size=0,
        test_size=0,
        description="",
        samples=[],
        parts={"train": Part(ArrayStore(x), y)},
    )


def _stack(*entries):
    model = S.new_spec()
    for i, entry in enumerate(entries):
        name, params = entry if isinstance(entry, tuple) else (entry, {})
        model = S.insert_layer(model, i, name)
        for key, value in params.items():
            model = S.set_param(model, i, key, value)
    return model


def _output(model, input_shape, labels):
    analysis = S.analyse(model, input_shape, labels)
    assert analysis.ok, analysis.error
    return analysis.layers[-1].output_shape


def test_time_series_head_reduces_the_time_axis():
    # The case: Dense layers on (40, 1) windows against one number per window.
    dataset = _dataset((40, 1))
    model = _stack(("Dense", {"units": 16}), ("Dense", {"units": 1}))
    assert not S.analyse(model, (40, 1), ()).ok  # flagged before Suggest
    suggestion = suggest_head(dataset, model)
    assert suggestion.reduce_layer["class_name"] == "Flatten"
    assert suggestion.target_shape == ()
    applied, position = apply_head(model, suggestion)
    assert [e["class_name"] for e in S.body(applied)] == ["Dense", "Flatten", "Dense"]
    assert position == 2
    assert _output(applied, (40, 1), suggestion.target_shape) == (None, 1)


def test_recurrent_sequences_and_variable_length_use_pooling():
    model = _stack(("LSTM", {"units": 4, "return_sequences": True}))
    suggestion = suggest_head(_dataset((None, 3)), model)
    assert suggestion.reduce_layer["class_name"] == "GlobalAveragePooling1D"
    applied, _ = apply_head(model, suggestion)
    assert _output(applied, (None, 3), ()) == (None, 1)


@pytest.mark.parametrize(
    "layers, input_shape",
    [
        ((("LSTM", {"units": 4}), "Dense"), (40, 1)),  # last RNN step: already a vector
        (("Flatten", "Dense"), (28, 28, 1)),
        (("Dense",), (30,)),
        ((), (30,)),
    ],
)
def test_no_reduce_layer_when_the_output_is_already_a_vector(layers, input_shape):
    model = _stack(*layers)
    dataset = _dataset(input_shape, "multiclass", np.arange(6) % 3, 3, "int")
    suggestion = suggest_head(dataset, model)
    assert suggestion.reduce_layer is None
    applied, _ = apply_head(model, suggestion)
    assert _output(applied, input_shape, target_shape(dataset)) == (None, 3)


def test_images_without_flatten_get_one():
    model = _stack(("Conv2D", {"filters": 2, "kernel_size": 3}))
    dataset = _dataset((8, 8, 1), "multiclass", np.arange(6) % 3, 3, "int")
    suggestion = suggest_head(dataset, model)
    assert suggestion.reduce_layer["class_name"] == "Flatten"
    applied, _ = apply_head(model, suggestion)
    assert _output(applied, (8, 8, 1), ()) == (None, 3)


def test_without_a_model_the_suggestion_is_as_before():
    suggestion = suggest_head(_dataset((40, 1)))
    assert suggestion.reduce_layer is None
    assert suggestion.output_layer["config"]["units"] == 1
    assert suggestion.loss == "mean_squared_error"
