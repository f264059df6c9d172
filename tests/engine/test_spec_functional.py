"""Functional models as project models (issue 11): validated, built, analysed, never edited."""

from __future__ import annotations

import copy
import json

import keras
import numpy as np
import pytest

from engine import catalog as cat
from engine import spec as S
from engine.errors import SpecError
from engine.model_import import open_model_spec, project_spec
from engine.modelfile import save_model
from engine.project import new_project, validate_project

L = keras.layers


def branched() -> keras.Model:
    inputs = keras.Input((8,), name="features")
    a = L.Dense(4, name="left")(inputs)
    b = L.Dense(4, name="right")(inputs)
    merged = L.Add(name="add_1")([a, b])
    return keras.Model(inputs, L.Dense(3, activation="softmax", name="out")(merged))


def config_of(model: keras.Model) -> dict:
    return json.loads(json.dumps(cat.to_json(model.get_config())))


def two_inputs() -> keras.Model:
    a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
    return keras.Model([a, b], L.Dense(1)(L.Concatenate()([a, b])))


def two_outputs() -> keras.Model:
    c = keras.Input((2,))
    return keras.Model(c, [L.Dense(1, name="o1")(c), L.Dense(2, name="o2")(c)])


def shared_layer() -> keras.Model:
    d = keras.Input((2,))
    shared = L.Dense(2, name="shared")
    return keras.Model(d, shared(shared(d)))


def nested() -> keras.Model:
    e = keras.Input((2,))
    inner = keras.Sequential([L.Dense(2), L.Dense(5)], name="inner")
    return keras.Model(e, L.Add()([inner(e), L.Dense(5)(e)]))


@pytest.mark.parametrize("suffix", [".keras", ".h5", ".hdf5"])
def test_branched_model_file_opens_as_a_functional_project_model(tmp_path, suffix):
    model = branched()
    path = tmp_path / f"branches{suffix}"
    save_model(model, path)
    spec = open_model_spec(path)
    assert S.is_functional(spec)
    S.validate_spec(spec)
    analysis = S.analyse(spec)
    assert analysis.ok and analysis.functional and analysis.layers == []
    assert analysis.total_params == model.count_params()
    assert analysis.output_shapes == [(None, 3)]
    assert S.input_shape(spec) == (8,)
    assert S.body(spec) == []  # no stack
    project = new_project()
    project["model"] = spec
    validate_project(json.loads(json.dumps(project)))  # it saves and reopens


@pytest.mark.parametrize("build", [two_inputs, two_outputs, shared_layer, nested])
def test_every_kind_of_non_chain_becomes_a_functional_model(build):
    model = build()
    spec = project_spec(model, "m.keras")
    assert S.is_functional(spec)
    analysis = S.analyse(spec)
    assert analysis.total_params == model.count_params()
    assert analysis.trainable_params == model.count_params()
    rebuilt = S.build_model(spec)
    assert rebuilt.count_params() == model.count_params()


def test_a_chain_still_becomes_a_sequential_stack():
    inputs = keras.Input((4,))
    model = keras.Model(inputs, L.Dense(2)(L.Dense(3)(inputs)))
    spec = project_spec(model, "chain.h5")
    assert not S.is_functional(spec)
    assert [e["class_name"] for e in S.body(spec)] == ["Dense", "Dense"]


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: S.insert_layer(s, 0, "Dense"),
        lambda s: S.remove_layer(s, 0),
        lambda s: S.move_layer(s, 0, 1),
        lambda s: S.duplicate_layer(s, 0),
        lambda s: S.replace_layer(s, 0, "Dropout"),
        lambda s: S.set_param(s, 0, "units", 5),
        lambda s: S.set_input_shape(s, (9,)),
    ],
)
def test_every_edit_is_refused_plainly(edit):
    spec = config_of(branched())
    before = copy.deepcopy(spec)
    with pytest.raises(SpecError) as info:
        edit(spec)
    assert str(info.value).startswith(
        "Editing branches of a functional model is not available yet;"
    )
    assert spec == before


def test_the_allowlist_still_refuses_in_a_functional_model():
    spec = config_of(branched())
    lam = {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {"name": "evil", "function": "x"},
        "name": "evil",
        "inbound_nodes": [],
    }
    spec["layers"].append(lam)
    with pytest.raises(SpecError, match="Lambda layer"):
        S.validate_spec(spec)
    with pytest.raises(SpecError, match="Lambda layer"):
        S.build_model(spec)
    assert not S.analyse(spec).ok


def test_bad_values_and_broken_connections_are_named():
    spec = config_of(branched())
    spec["layers"][1]["config"]["units"] = -3
    with pytest.raises(SpecError, match="Dense 'left': units"):
        S.validate_spec(spec)
    spec = config_of(branched())
    node = spec["layers"][3]["inbound_nodes"][0]
    node["args"][0][0]["config"]["keras_history"][0] = "ghost"
    with pytest.raises(SpecError, match="takes its input from 'ghost'"):
        S.validate_spec(spec)


def test_dataset_shape_that_does_not_fit_is_said_plainly():
    spec = config_of(branched())
    assert S.analyse(spec, input_shape=(8,)).ok
    analysis = S.analyse(spec, input_shape=(5,))
    assert analysis.error.startswith("The dataset gives samples of shape (5,)")
    assert "input 'features' takes (8,)" in analysis.error
    with pytest.raises(SpecError, match="The dataset gives samples of shape"):
        S.build_model(spec, input_shape=(5,))
    two = config_of(two_inputs())
    assert "takes 2 inputs ('a', 'b')" in S.analyse(two, input_shape=(2,)).error


def test_legacy_config_without_modules_builds():
    spec = config_of(branched())
    for entry in spec["layers"]:
        entry.pop("module", None)
    model = S.build_model(spec)
    assert model.count_params() == branched().count_params()
    assert S.analyse(spec).total_params == model.count_params()


def test_a_functional_model_trains_with_a_matching_dataset():
    spec = config_of(branched())
    model = S.build_model(spec, input_shape=(8,))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(32, 8)).astype("float32")
    y = np.arange(32) % 3
    history = model.fit(x, y, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_engine_training_trains_a_functional_project(tmp_path):
    from engine import training
    from tests.training.support import make_dataset, make_project

    project = make_project(epochs=1)
    project["model"] = config_of(branched())
    result = training.run(project, dataset=make_dataset(), workdir=tmp_path)
    assert result.status == "completed", result.message
    assert result.model.count_params() == branched().count_params()
    assert len(result.history["loss"]) == 1


def test_export_script_rebuilds_a_functional_model():
    from engine.export import export_script

    project = new_project()
    project["model"] = config_of(branched())
    script = export_script(project)
    assert "keras.Sequential(" not in script
    start = script.index("model = keras.Model.from_config(")
    end = script.index("\n)", start) + 2
    namespace = {"keras": keras}
    exec(script[start:end], namespace)
    assert namespace["model"].count_params() == branched().count_params()


def test_opening_a_functional_file_works_out_its_shapes_in_advance(tmp_path):
    """The window opens model files on a background thread: the shape-only build (seconds
    for a big model) happens there, and the GUI thread's analysis is a cache hit."""
    from engine import functional as F

    path = tmp_path / "branches.h5"
    save_model(branched(), path)
    F._CACHE.clear()
    spec = open_model_spec(path)
    assert len(F._CACHE) == 1
    S.analyse(copy.deepcopy(spec))
    assert len(F._CACHE) == 1  # the same model: found, not built again


def test_several_outputs_against_one_label_is_said_but_still_builds():
    spec = config_of(two_outputs())
    error = S.analyse(spec, input_shape=(2,)).error
    assert error.startswith("This functional model has 2 outputs ('o1', 'o2')")
    assert S.analyse(spec).ok  # no dataset: nothing to say
    assert S.build_model(spec, input_shape=(2,)).count_params() == two_outputs().count_params()


def huge_branches() -> dict:
    """Two Dense(20000) branches on a 20000-wide input: 800 million parameters (3.2 GB)."""
    spec = config_of(branched())
    spec["layers"][0]["config"]["batch_shape"] = [None, 20000]
    for entry in spec["layers"][1:3]:
        entry["config"]["units"] = 20000
        entry.pop("build_config", None)
        entry["inbound_nodes"][0]["args"][0]["config"]["shape"] = [None, 20000]
    for entry in spec["layers"][3:]:
        entry.pop("build_config", None)
    spec["layers"][4]["inbound_nodes"][0]["args"][0]["config"]["shape"] = [None, 20000]
    return spec


def test_analysis_allocates_no_weights_and_building_checks_memory(monkeypatch):
    import resource

    from engine import memory
    from engine.memory import ModelTooLargeError

    spec = huge_branches()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    analysis = S.analyse(spec)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert analysis.ok and analysis.total_params == 2 * (20000 * 20000 + 20000) + 20000 * 3 + 3
    assert grown_mb < 300, f"analyse took {grown_mb:.0f} MB"
    monkeypatch.setattr(memory, "available_memory", lambda: 1024**3)
    with pytest.raises(ModelTooLargeError):
        S.build_model(spec)
