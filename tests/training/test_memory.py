"""Memory across runs: a run leaves nothing of itself in TensorFlow's process-wide state."""

from __future__ import annotations

import gc

import keras
import numpy as np

# TensorFlow is a required dependency and Keras's backend here (pyproject.toml): this test
# always runs. The registry it inspects is where the per-run growth was found.
from tensorflow.python.framework import ops as tf_ops

from engine import training
from tests.training.support import make_dataset, make_project


def _custom_gradients() -> set[str]:
    return {
        name
        for name in tf_ops._gradient_registry._registry
        if str(name).startswith("CustomGradient-")
    }


def _traced_graphs() -> int:
    gc.collect()
    return sum(type(o).__name__ == "FuncGraph" for o in gc.get_objects())


def test_runs_leave_no_custom_gradients_or_graphs_behind():
    assert keras.config.backend() == "tensorflow"
    dataset = make_dataset(train=64, validation=16, test=16)
    first = training.run(make_project(epochs=1), dataset=dataset)
    assert first.status == "completed", first.message
    del first
    registered, graphs = _custom_gradients(), _traced_graphs()
    for _ in range(2):
        result = training.run(make_project(epochs=1), dataset=dataset)
        assert result.status == "completed", result.message
        del result
    # Before: two registry entries per run, each keeping its traced graph (~4.6 MB) alive.
    assert _custom_gradients() == registered
    assert _traced_graphs() <= graphs


def test_the_trained_model_still_trains_evaluates_and_predicts():
    result = training.run(make_project(epochs=1), dataset=make_dataset(train=64, test=16))
    model = result.model
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(21, 8)).astype("float32"), rng.integers(0, 3, 21)
    history = model.fit(x, y, epochs=1, batch_size=7, verbose=0)  # a new trace
    assert np.isfinite(history.history["loss"][0])
    assert np.isfinite(model.evaluate(x, y, verbose=0, return_dict=True)["loss"])
    assert model.predict(x[:3], verbose=0).shape == (3, 3)
