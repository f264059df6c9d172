"""Big arrays reach fit/evaluate as tensors built in chunks (engine.chunked_feed), so that
no single GIL-holding conversion stalls the window at the start of fit (issue 9)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from engine import chunked_feed, training
from engine.chunked_feed import chunked_arguments, chunked_tensor, worth_chunking
from tests.training.support import make_dataset, make_project


@pytest.mark.parametrize(
    "array",
    [
        np.arange(10_000 * 7, dtype="float32").reshape(10_000, 7),
        np.arange(10_000, dtype="int64"),
        (np.arange(3_000 * 4 * 5) % 3 == 0).reshape(3_000, 4, 5),
        np.arange(5, dtype="uint8"),
    ],
)
def test_chunked_tensor_equals_the_array(array):
    tensor = chunked_tensor(array, chunk_bytes=1_000)
    assert isinstance(tensor, tf.Tensor)
    assert tensor.shape == array.shape
    assert tensor.dtype == tf.as_dtype(array.dtype)
    np.testing.assert_array_equal(tensor.numpy(), array)
    assert "CPU" in tensor.device


def test_float64_becomes_floatx_as_keras_would_cast_it():
    array = np.linspace(0, 1, 5_000).reshape(1_000, 5)
    tensor = chunked_tensor(array, chunk_bytes=4_096)
    assert tensor.dtype.name == keras.config.floatx()
    np.testing.assert_allclose(tensor.numpy(), array.astype(keras.config.floatx()))


def test_conversion_happens_in_many_small_pieces(monkeypatch):
    sizes: list[int] = []
    original = tf.convert_to_tensor

    def spy(value, *args, **kwargs):
        sizes.append(np.asarray(value).nbytes)
        return original(value, *args, **kwargs)

    monkeypatch.setattr(tf, "convert_to_tensor", spy)
    array = np.zeros((4_096, 256), dtype="float32")  # 4 MB
    chunked_tensor(array, chunk_bytes=256 * 1024)
    assert len(sizes) == 16 and max(sizes) <= 256 * 1024


def test_only_big_numeric_arrays_are_worth_it():
    big = chunked_feed.MIN_BYTES // 4 + 1
    assert worth_chunking(np.zeros(big, dtype="float32"))
    assert not worth_chunking(np.zeros(16, dtype="float32"))
    assert not worth_chunking(np.array(["a"] * 3, dtype=object))
    assert not worth_chunking(np.array(["text"] * big))
    assert not worth_chunking(np.zeros((0, 3), dtype="float32"))
    assert not worth_chunking(np.float32(3.0))
    assert not worth_chunking([1.0, 2.0])


def test_arguments_keep_small_arrays_and_convert_big_ones(monkeypatch):
    monkeypatch.setattr(chunked_feed, "MIN_BYTES", 1_000)
    x = np.ones((500, 4), dtype="float32")  # 8,000 bytes: converted
    y = np.zeros(10, dtype="int64")  # 80 bytes: kept
    vx, vy = np.ones((400, 4), dtype="float32"), np.zeros(400, dtype="int64")
    original = {"x": x, "y": y, "batch_size": 32, "validation_data": (vx, vy)}
    out = chunked_arguments(original)
    assert isinstance(out["x"], tf.Tensor) and out["y"] is y and out["batch_size"] == 32
    assert isinstance(out["validation_data"], tuple)
    assert isinstance(out["validation_data"][0], tf.Tensor)
    assert isinstance(out["validation_data"][1], tf.Tensor)
    assert original["x"] is x  # the caller's dict is left alone


def test_training_hands_fit_and_evaluate_tensors_built_in_chunks(recorder, monkeypatch):
    monkeypatch.setattr(chunked_feed, "MIN_BYTES", 1_000)
    received: dict[str, type] = {}
    fit, evaluate = keras.Model.fit, keras.Model.evaluate

    def spy_fit(self, *args, **kwargs):
        received["fit"] = type(kwargs.get("x"))
        received["validation"] = type(kwargs["validation_data"][0])
        return fit(self, *args, **kwargs)

    def spy_evaluate(self, *args, **kwargs):
        received["evaluate"] = type(kwargs.get("x"))
        return evaluate(self, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy_fit)
    monkeypatch.setattr(keras.Model, "evaluate", spy_evaluate)
    project = make_project(epochs=1, batch_size=32, validation_split=0.2)
    result = training.run(project, sink=recorder, dataset=make_dataset(train=256))
    assert result.status == "completed", result.message
    assert all(issubclass(kind, tf.Tensor) for kind in received.values()), received
    assert set(received) == {"fit", "validation", "evaluate"}
