"""The window converts models for deployment in a child process (TensorFlow Lite's
converter crashed the window's process when the GUI thread collected garbage meanwhile)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from engine.deploy_export import run_exported
from engine.deploy_job import convert_in_subprocess
from engine.errors import LayerLabError
from engine.modelfile import save_model


def test_tflite_conversion_in_a_child_process_writes_a_working_file(tmp_path):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    save_model(model, tmp_path / "m.h5")
    result = convert_in_subprocess(tmp_path / "m.h5", "tflite", tmp_path / "m.tflite")
    assert result.path.is_file() and result.size == result.path.stat().st_size
    x = np.random.default_rng(0).random((5, 4)).astype("float32")
    assert np.allclose(
        run_exported(result.path, "tflite", x), model.predict(x, verbose=0), atol=1e-5
    )


def test_a_failing_conversion_is_a_plain_message(tmp_path):
    (tmp_path / "broken.h5").write_bytes(b"not a model")
    with pytest.raises(LayerLabError) as caught:
        convert_in_subprocess(tmp_path / "broken.h5", "tflite", tmp_path / "m.tflite")
    assert "broken.h5" in str(caught.value)
    assert not (tmp_path / "m.tflite").exists()
