"""WeightRecorder: per-epoch histograms and norms of a tiny model's weights, the thinning
that bounds its size, and the dead-ReLU and exploding-norm warnings."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from engine.events import LogLine
from engine.weight_recorder import WeightRecorder, dead_relu_fractions, histogram

L = keras.layers


def tiny_model(bias: float = 0.0) -> keras.Model:
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            L.Dense(
                8,
                activation="relu",
                name="hidden",
                bias_initializer=keras.initializers.Constant(bias),
            ),
            L.Dense(1, name="out"),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
    return model


def data(n=64):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def fit(model, recorder, epochs=3):
    x, y = data()
    model.fit(x, y, epochs=epochs, batch_size=16, verbose=0, callbacks=[recorder])


def test_three_epochs_histograms_and_norms():
    model = tiny_model()
    weights_before = [w.numpy().copy() for w in model.weights]
    lines = []
    recorder = WeightRecorder(lines.append, bins=10)
    fit(model, recorder)
    history = recorder.history()
    json.loads(json.dumps(history))  # plain JSON
    assert history["epochs"] == [0, 1, 2]
    assert [layer["name"] for layer in history["layers"]] == ["hidden", "out"]
    hidden = history["layers"][0]
    assert [t["name"] for t in hidden["tensors"]] == ["kernel", "bias"]
    kernel = hidden["tensors"][0]
    assert kernel["shape"] == [4, 8]
    assert len(kernel["counts"]) == 3 and all(len(c) == 10 for c in kernel["counts"])
    assert all(sum(c) == 32 for c in kernel["counts"])  # every value counted once
    assert all(sum(c) == 8 for c in hidden["tensors"][1]["counts"])
    last = model.get_layer("hidden").kernel.numpy()
    lo, hi = kernel["range"][-1]
    assert lo == pytest.approx(last.min()) and hi == pytest.approx(last.max())
    now = [w.numpy() for w in model.get_layer("hidden").weights]
    assert hidden["norm"][-1] == pytest.approx(np.sqrt(sum((a**2).sum() for a in now)))
    assert hidden["initial_norm"] == pytest.approx(
        np.sqrt(sum((a**2).sum() for a in weights_before[:2]))
    )
    assert all(u > 0 for u in hidden["update_norm"])
    assert lines == []  # nothing to flag: no sample given, nothing exploding


def test_update_norm_is_the_difference_from_the_previous_epoch():
    model = tiny_model()
    seen = []

    class Snap(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append([w.numpy().copy() for w in model.get_layer("out").weights])

    recorder = WeightRecorder()
    x, y = data()
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[recorder, Snap()])
    out = recorder.history()["layers"][1]
    step = np.sqrt(sum(((a - b) ** 2).sum() for a, b in zip(seen[2], seen[1], strict=True)))
    assert out["update_norm"][2] == pytest.approx(step, rel=1e-5)


def test_long_runs_are_thinned_to_the_cap():
    model = tiny_model()
    recorder = WeightRecorder(bins=5, max_epochs=4)
    fit(model, recorder, epochs=9)
    history = recorder.history()
    assert history["epochs"] == [0, 4, 8]
    kernel = history["layers"][0]["tensors"][0]
    assert len(kernel["counts"]) == len(history["layers"][0]["norm"]) == 3


def test_tensor_cap_keeps_norms():
    model = tiny_model()
    recorder = WeightRecorder(max_tensors=1)
    fit(model, recorder, epochs=1)
    history = recorder.history()
    assert [len(layer["tensors"]) for layer in history["layers"]] == [1, 0]
    assert len(history["layers"][1]["norm"]) == 1
    assert "first 1 weight tensors" in history["note"]


def test_planted_dead_relu_layer_is_reported():
    model = tiny_model(bias=-100.0)  # every hidden unit's input is far below zero
    lines = []
    x, _ = data()
    recorder = WeightRecorder(lines.append, sample=x[:32])
    fit(model, recorder, epochs=1)
    dead = recorder.history()["dead_relu"]
    assert dead == [{"layer": "hidden", "zero_fraction": 1.0, "dead_units": 1.0, "samples": 32}]
    warnings = [line for line in lines if isinstance(line, LogLine) and line.level == "warning"]
    assert len(warnings) == 1
    assert warnings[0].text.startswith(
        "hidden: 100 % of ReLU outputs are zero on the validation sample"
    )
    assert recorder.history()["warnings"] == [warnings[0].text]


def test_healthy_relu_layer_is_not_reported():
    model = tiny_model(bias=1.0)
    lines = []
    x, _ = data()
    recorder = WeightRecorder(lines.append, sample=x[:32])
    fit(model, recorder, epochs=1)
    (item,) = recorder.history()["dead_relu"]
    assert item["zero_fraction"] < 0.5
    assert lines == []


def test_exploding_norm_is_flagged_once():
    model = tiny_model()
    model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")  # diverges
    lines = []
    recorder = WeightRecorder(lines.append)
    x, y = data()
    model.fit(x, y * 100, epochs=3, batch_size=16, verbose=0, callbacks=[recorder])
    flagged = [line.text for line in lines if "out:" in line.text or "hidden:" in line.text]
    assert flagged, lines
    assert len({text.split(":")[0] for text in flagged}) == len(flagged)  # once per layer


def test_dead_fractions_of_a_functional_model():
    inputs = keras.Input((3,))
    hidden = L.Dense(4, activation="relu", bias_initializer=keras.initializers.Constant(-50.0))
    model = keras.Model(inputs, L.Dense(1)(hidden(inputs)))
    (item,) = dead_relu_fractions(model, np.ones((5, 3), "float32"))
    assert item["zero_fraction"] == 1.0


def test_histogram_of_constant_and_nonfinite_values():
    span, counts, nonfinite = histogram(np.array([2.0, 2.0, np.nan]), 4)
    assert span == [1.5, 2.5] and sum(counts) == 2 and nonfinite == 1


def test_histogram_matches_numpy_and_survives_huge_ranges():
    values = np.random.default_rng(3).normal(size=1000)
    span, counts, _ = histogram(values, 30)
    expected, _ = np.histogram(values, bins=30, range=tuple(span))
    assert counts == expected.tolist()
    span, counts, _ = histogram(np.array([-1e308, 0.0, 1e308]), 30)
    assert counts[0] == 1 and counts[-1] == 1 and sum(counts) == 3


# --- through the engine: fit.record_weights, the run record, project validation ------------


def test_training_records_weights_only_when_asked(tmp_path):
    from engine import training
    from engine.runs import record_run
    from tests.training.support import make_dataset, make_project

    plain = training.run(make_project(epochs=2), dataset=make_dataset(), evaluate_test=False)
    assert plain.weights_history is None

    lines = []
    project = make_project(epochs=3, record_weights=True)
    result = training.run(
        project, sink=lines.append, dataset=make_dataset(), evaluate_test=False, workdir=tmp_path
    )
    assert result.status == "completed", result.message
    history = result.weights_history
    assert history["epochs"] == [0, 1, 2]
    assert [len(layer["norm"]) for layer in history["layers"]] == [3, 3]
    (dead,) = history["dead_relu"]  # the hidden ReLU layer, on the validation part
    assert dead["samples"] == 64

    _, run = record_run(project, result, tmp_path / "p.llproj")
    assert json.loads(json.dumps(run))["weights_history"] == history  # survives save/reopen


def test_record_weights_must_be_a_boolean():
    from engine.errors import ProjectError
    from engine.project import validate_project
    from tests.training.support import make_project

    project = make_project()
    project["fit"]["record_weights"] = True
    assert validate_project(project)["fit"]["record_weights"] is True
    project["fit"]["record_weights"] = "yes"
    with pytest.raises(ProjectError) as caught:
        validate_project(project)
    assert str(caught.value).endswith("fit.record_weights must be true or false, got 'yes'.")
    assert caught.value.field == "fit.record_weights"


def test_a_small_cnn_is_recorded_per_tensor_and_per_channel():
    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            L.Conv2D(4, 3, activation="relu", name="conv"),
            L.Flatten(),
            L.Dense(2, name="out"),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    x = np.random.default_rng(0).normal(size=(16, 8, 8, 1)).astype("float32")
    recorder = WeightRecorder(sample=x, bins=8)
    model.fit(x, np.zeros((16, 2)), epochs=2, verbose=0, callbacks=[recorder])
    conv = recorder.history()["layers"][0]
    kernel = conv["tensors"][0]
    assert kernel["shape"] == [3, 3, 1, 4]
    assert all(sum(c) == 36 for c in kernel["counts"])
    (dead,) = recorder.history()["dead_relu"]
    assert dead["layer"] == "conv" and dead["samples"] == 16
    assert 0 < dead["zero_fraction"] < 1  # per channel: some outputs fire
