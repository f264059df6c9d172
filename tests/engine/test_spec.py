"""The model spec: pure edits, validation, building and analysis against Keras's own counts."""

from __future__ import annotations

import copy
import json
import resource

import keras
import pytest

from engine import catalog as cat
from engine import spec as S
from engine.errors import SpecError

L = keras.layers


def stack(shape, layers):
    """A spec built only through the spec functions: [(class_name, {param: value}), ...]."""
    spec = S.new_spec(shape)
    for i, (class_name, params) in enumerate(layers):
        spec = S.insert_layer(spec, i, class_name)
        for name, value in params.items():
            spec = S.set_param(spec, i, name, value)
    return spec


def keras_counts(model):
    total = sum(int(w.numpy().size) for w in model.weights)
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    return total, trainable, total - trainable


def strip_build(spec):
    spec = copy.deepcopy(spec)
    for entry in spec["layers"]:
        for nested in (entry, entry["config"].get("layer"), entry["config"].get("backward_layer")):
            if nested:
                nested.pop("build_config", None)
    return spec


def lstm_entry(**config):
    entry = cat.default_layer_entry("LSTM")
    entry["config"].update(config)
    return entry


TUTORIALS = {
    "imdb_mlp": (
        (10000,),
        [
            ("Dense", {"units": 16, "activation": "relu"}),
            ("Dense", {"units": 16, "activation": "relu"}),
            ("Dense", {"units": 1, "activation": "sigmoid"}),
        ],
        lambda: [L.Dense(16, activation="relu"), L.Dense(16, activation="relu"), L.Dense(1)],
        160_305,
    ),
    "imdb_lstm": (
        (500,),
        [
            ("Embedding", {"input_dim": 5000, "output_dim": 32}),
            ("LSTM", {"units": 100, "dropout": 0.3, "recurrent_dropout": 0.1}),
            ("Dense", {"units": 1, "activation": "sigmoid"}),
        ],
        lambda: [
            L.Embedding(5000, 32),
            L.LSTM(100, dropout=0.3, recurrent_dropout=0.1),
            L.Dense(1, activation="sigmoid"),
        ],
        213_301,
    ),
    "cnn_lstm": (
        (500,),
        [
            ("Embedding", {"input_dim": 5000, "output_dim": 32}),
            ("Conv1D", {"filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"}),
            ("MaxPooling1D", {"pool_size": 2}),
            ("LSTM", {"units": 100}),
            ("Dense", {"units": 1, "activation": "sigmoid"}),
        ],
        lambda: [
            L.Embedding(5000, 32),
            L.Conv1D(32, 3, padding="same", activation="relu"),
            L.MaxPooling1D(2),
            L.LSTM(100),
            L.Dense(1, activation="sigmoid"),
        ],
        None,
    ),
    "bi_lstm": (
        (200,),
        [
            ("Embedding", {"input_dim": 20000, "output_dim": 128}),
            ("Bidirectional", {"layer": lstm_entry(units=64, return_sequences=True)}),
            ("Bidirectional", {"layer": lstm_entry(units=64)}),
            ("Dense", {"units": 1, "activation": "sigmoid"}),
        ],
        lambda: [
            L.Embedding(20000, 128),
            L.Bidirectional(L.LSTM(64, return_sequences=True)),
            L.Bidirectional(L.LSTM(64)),
            L.Dense(1, activation="sigmoid"),
        ],
        None,
    ),
    "jena_gru": (
        (120, 14),
        [("GRU", {"units": 32, "recurrent_dropout": 0.25}), ("Dense", {"units": 1})],
        lambda: [L.GRU(32, recurrent_dropout=0.25), L.Dense(1)],
        None,
    ),
    "mnist_cnn": (
        (28, 28, 1),
        [
            ("Conv2D", {"filters": 32, "kernel_size": [3, 3], "activation": "relu"}),
            ("MaxPooling2D", {"pool_size": [2, 2]}),
            ("Conv2D", {"filters": 64, "kernel_size": 3, "activation": "relu"}),
            ("MaxPooling2D", {}),
            ("Flatten", {}),
            ("Dropout", {"rate": 0.5}),
            ("Dense", {"units": 10, "activation": "softmax"}),
        ],
        lambda: [
            L.Conv2D(32, (3, 3), activation="relu"),
            L.MaxPooling2D((2, 2)),
            L.Conv2D(64, 3, activation="relu"),
            L.MaxPooling2D(),
            L.Flatten(),
            L.Dropout(0.5),
            L.Dense(10, activation="softmax"),
        ],
        34_826,
    ),
    "cifar_cnn": (
        (32, 32, 3),
        [
            ("Conv2D", {"filters": 32, "kernel_size": 3, "padding": "same", "activation": "relu"}),
            ("BatchNormalization", {}),
            ("Conv2D", {"filters": 32, "kernel_size": 3, "activation": "relu"}),
            ("MaxPooling2D", {}),
            ("SpatialDropout2D", {"rate": 0.25}),
            ("Flatten", {}),
            ("Dense", {"units": 128, "activation": "relu", "kernel_regularizer": "l2"}),
            ("BatchNormalization", {}),
            ("Dense", {"units": 10, "activation": "softmax"}),
        ],
        lambda: [
            L.Conv2D(32, 3, padding="same", activation="relu"),
            L.BatchNormalization(),
            L.Conv2D(32, 3, activation="relu"),
            L.MaxPooling2D(),
            L.SpatialDropout2D(0.25),
            L.Flatten(),
            L.Dense(128, activation="relu", kernel_regularizer="l2"),
            L.BatchNormalization(),
            L.Dense(10, activation="softmax"),
        ],
        None,
    ),
}


@pytest.mark.parametrize("tutorial", list(TUTORIALS))
def test_tutorial_models_match_keras_exactly(tutorial):
    shape, layers, make_keras, expected_total = TUTORIALS[tutorial]
    spec = stack(shape, layers)
    analysis = S.analyse(spec)
    assert analysis.ok, analysis.error
    reference = keras.Sequential([keras.Input(shape), *make_keras()])
    total, trainable, non_trainable = keras_counts(reference)
    if expected_total is not None:
        assert total == expected_total
    assert (analysis.total_params, analysis.trainable_params) == (total, trainable)
    assert analysis.non_trainable_params == non_trainable
    for row, layer in zip(analysis.layers, reference.layers, strict=True):
        assert row.output_shape == tuple(layer.output.shape), row.name
        assert row.params == layer.count_params()
    built = S.build_model(spec)
    assert keras_counts(built) == (total, trainable, non_trainable)
    # spec -> Keras model -> spec is stable (build state aside)
    assert strip_build(S.spec_from_model(built)) == strip_build(spec)


def test_batch_normalization_counts_as_non_trainable_like_summary():
    spec = stack((8,), [("Dense", {"units": 4}), ("BatchNormalization", {})])
    analysis = S.analyse(spec)
    assert (analysis.total_params, analysis.trainable_params) == (36 + 16, 36 + 8)
    assert analysis.non_trainable_params == 8
    frozen = S.set_param(spec, 0, "trainable", False)
    assert S.analyse(frozen).non_trainable_params == 8 + 36


def test_keras_config_with_and_without_input_layer_analyses():
    built = keras.Sequential([keras.Input((20,)), L.Dense(8, activation="relu"), L.Dense(1)])
    spec = json.loads(json.dumps(S.spec_from_model(built)))
    assert S.input_shape(spec) == (20,)
    assert [e["class_name"] for e in S.body(spec)] == ["Dense", "Dense"]
    analysis = S.analyse(spec)
    assert analysis.ok and analysis.total_params == built.count_params() == 177

    unbuilt = keras.Sequential([L.Dense(8, activation="relu"), L.Dense(1)])
    spec = json.loads(json.dumps(unbuilt.get_config()))
    assert S.input_shape(spec) is None and len(S.body(spec)) == 2
    no_shape = S.analyse(spec)
    assert no_shape.error == S.NO_INPUT_SHAPE and no_shape.error_index is None
    assert all(row.output_shape is None for row in no_shape.layers)
    with_shape = S.analyse(spec, (20,))
    assert with_shape.ok and with_shape.total_params == 177
    model = S.build_model(spec, (20,))
    assert model.built and model.count_params() == 177
    assert not S.build_model(spec).built

    via_build = keras.Sequential([L.Dense(3)])
    via_build.build((None, 5))
    assert S.analyse(S.spec_from_model(via_build)).total_params == 18


def test_conv2d_after_dense_names_both_layers_and_the_fix():
    spec = stack((784,), [("Dense", {"units": 64}), ("Conv2D", {})])
    analysis = S.analyse(spec)
    assert not analysis.ok and analysis.error_index == 1
    assert analysis.error == (
        "Conv2D 'conv2d' expects 4-D input (batch, height, width, channels) but Dense 'dense' "
        "gives (None, 64): add a Reshape before it (e.g. target_shape (8, 8, 1))."
    )
    assert analysis.layers[0].output_shape == (None, 64)
    assert analysis.layers[1].output_shape is None
    assert analysis.total_params == 784 * 64 + 64
    with pytest.raises(SpecError, match="Conv2D 'conv2d' expects 4-D input"):
        S.build_model(spec)


def test_analysis_errors_name_layer_parameter_and_fix():
    stacked = stack((12, 3), [("LSTM", {}), ("LSTM", {})])
    assert "turn on return_sequences in LSTM 'lstm'" in S.analyse(stacked).error
    big_kernel = stack((28, 28, 1), [("Conv2D", {"kernel_size": 40})])
    error = S.analyse(big_kernel).error
    assert error.startswith("Conv2D 'conv2d': kernel_size 40×40 does not fit its input")
    assert "padding 'same'" in error
    reshape = stack((12,), [("Reshape", {"target_shape": [5, 5]})])
    assert "multiply to 12" in S.analyse(reshape).error
    permute = stack((4, 5, 6), [("Permute", {"dims": [2, 1]})])
    assert "dims (2, 1)" in S.analyse(permute).error
    ok = stack((12,), [("Reshape", {"target_shape": [-1, 3]}), ("LSTM", {"units": 2})])
    assert S.analyse(ok).layers[0].output_shape == (None, 4, 3)


def test_set_param_validates_and_names_layer_param_and_fix():
    spec = stack((10,), [("Dense", {})])
    with pytest.raises(SpecError) as info:
        S.set_param(spec, 0, "units", -3)
    assert str(info.value) == "Dense 'dense': units must be ≥ 1, got -3."
    assert info.value.field == "layers[1].config.units"
    with pytest.raises(SpecError, match="Did you mean units"):
        S.set_param(spec, 0, "unit", 3)
    with pytest.raises(SpecError, match="activation must be one of"):
        S.set_param(spec, 0, "activation", "rleu")
    with pytest.raises(SpecError, match="whole number"):
        S.set_param(spec, 0, "units", "8")
    drop = stack((10,), [("Dropout", {})])
    with pytest.raises(SpecError, match=r"rate must be between 0 and 0\.99, got 1\.5"):
        S.set_param(drop, 0, "rate", 1.5)
    conv = stack((8, 8, 1), [("Conv2D", {})])
    with pytest.raises(SpecError, match="kernel_size"):
        S.set_param(conv, 0, "kernel_size", [0, 3])
    with pytest.raises(SpecError, match="out of range"):
        S.set_param(spec, 3, "units", 4)


def test_set_param_stores_values_as_keras_serializes_them():
    conv = stack((8, 8, 1), [("Conv2D", {})])
    before = copy.deepcopy(conv)
    conv2 = S.set_param(conv, 0, "kernel_size", 5)
    assert conv == before  # input untouched
    config = S.body(conv2)[0]["config"]
    assert config["kernel_size"] == [5, 5]
    config = S.body(S.set_param(conv2, 0, "kernel_initializer", "he_normal"))[0]["config"]
    assert config["kernel_initializer"] == cat.initializer_value("he_normal")
    reg = cat.regularizer_value("l1_l2", 0.01, 0.02)
    config = S.body(S.set_param(conv2, 0, "kernel_regularizer", reg))[0]["config"]
    assert config["kernel_regularizer"] == reg
    bi = stack((5, 3), [("Bidirectional", {"layer": lstm_entry(units=7)})])
    config = S.body(bi)[0]["config"]
    assert config["layer"]["config"]["units"] == 7
    assert config["backward_layer"]["config"]["units"] == 7
    assert S.analyse(bi).layers[0].output_shape == (None, 14)


def test_edits_keep_names_unique_and_inputs_untouched():
    spec = S.new_spec((4,))
    spec = S.insert_layer(spec, 0, "Dense")
    spec = S.insert_layer(spec, 1, "Dense")
    spec = S.insert_layer(spec, 0, "Dense")
    names = [e["config"]["name"] for e in S.body(spec)]
    assert names == ["dense_2", "dense", "dense_1"]
    frozen = copy.deepcopy(spec)
    dup = S.duplicate_layer(spec, 1)
    assert [e["config"]["name"] for e in S.body(dup)] == ["dense_2", "dense", "dense_3", "dense_1"]
    assert spec == frozen
    moved = S.move_layer(spec, 0, 2)
    assert [e["config"]["name"] for e in S.body(moved)] == ["dense", "dense_1", "dense_2"]
    removed = S.remove_layer(spec, 1)
    assert [e["config"]["name"] for e in S.body(removed)] == ["dense_2", "dense_1"]
    replaced = S.replace_layer(spec, 1, "Dropout")
    assert [e["class_name"] for e in S.body(replaced)] == ["Dense", "Dropout", "Dense"]
    assert S.body(replaced)[1]["config"]["name"] == "dense"
    foreign = cat.to_json(L.serialize(L.Dense(3, name="dense_1")))
    inserted = S.insert_layer(spec, 3, foreign)
    assert S.body(inserted)[3]["config"]["name"] == "dense_3"
    renamed = S.set_param(spec, 0, "name", "hidden")
    assert S.body(renamed)[0]["config"]["name"] == "hidden"
    with pytest.raises(SpecError, match="already used"):
        S.set_param(spec, 0, "name", "dense")
    with pytest.raises(SpecError, match="Set the input shape"):
        S.insert_layer(spec, 0, "InputLayer")
    with pytest.raises(SpecError, match="Unknown layer type 'Lambda'"):
        S.insert_layer(spec, 0, "Lambda")
    with pytest.raises(SpecError, match="out of range"):
        S.insert_layer(spec, 5, "Dense")
    assert spec == frozen


def test_set_input_shape_adds_updates_and_removes_the_input_layer():
    spec = S.new_spec()
    assert S.input_shape(spec) is None and spec["layers"] == []
    spec = S.insert_layer(spec, 0, "Dense")
    shaped = S.set_input_shape(spec, (28, 28))
    assert shaped["layers"][0]["class_name"] == "InputLayer"
    assert shaped["layers"][0]["config"]["batch_shape"] == [None, 28, 28]
    assert shaped["build_input_shape"] == [None, 28, 28]
    assert S.input_shape(shaped) == (28, 28)
    reshaped = S.set_input_shape(shaped, (None, 3))
    assert S.input_shape(reshaped) == (None, 3) and len(reshaped["layers"]) == 2
    cleared = S.set_input_shape(reshaped, None)
    assert cleared["layers"] == spec["layers"] and "build_input_shape" not in cleared
    with pytest.raises(SpecError):
        S.set_input_shape(spec, (0, 3))
    reference = keras.Sequential([keras.Input((28, 28), name="input_layer"), L.Dense(32)])
    assert shaped["layers"][0] == cat.to_json(reference.get_config())["layers"][0]


def test_validate_spec_refuses_unknown_classes_and_bad_values():
    good = stack((10,), [("Dense", {"units": 4})])
    S.validate_spec(good)
    bad = copy.deepcopy(good)
    bad["layers"][1]["config"]["units"] = -3
    with pytest.raises(SpecError) as info:
        S.validate_spec(bad)
    assert str(info.value) == "Dense 'dense': units must be ≥ 1, got -3."
    assert info.value.field == "layers[1].config.units"
    lam = copy.deepcopy(good)
    lam["layers"][1] = {"module": "keras.layers", "class_name": "Lambda", "config": {}}
    with pytest.raises(SpecError, match="Unknown layer type 'Lambda'"):
        S.validate_spec(lam)
    foreign = copy.deepcopy(good)
    foreign["layers"][1]["module"] = "os"
    with pytest.raises(SpecError, match="module 'os' is not allowed"):
        S.validate_spec(foreign)
    twins = S.duplicate_layer(good, 0)
    twins["layers"][2]["config"]["name"] = "dense"
    with pytest.raises(SpecError, match="named 'dense'"):
        S.validate_spec(twins)
    nested = stack((5, 3), [("Bidirectional", {})])
    nested["layers"][1]["config"]["layer"]["config"]["units"] = 0
    with pytest.raises(SpecError, match="units must be ≥ 1"):
        S.validate_spec(nested)
    with pytest.raises(SpecError):
        S.validate_spec({"name": "x"})


@pytest.mark.parametrize(
    "spec",
    [
        None,
        {},
        {"layers": [42]},
        {"layers": [{"class_name": "Dense", "config": {}}]},
        {"layers": [{"class_name": "Dense", "config": {"units": "x"}}], "build_input_shape": [3]},
        {"layers": [{"class_name": "Lambda", "config": {}}]},
        {"layers": [], "build_input_shape": "nonsense"},
    ],
)
def test_analyse_never_raises(spec):
    analysis = S.analyse(spec, (4,))
    assert isinstance(analysis, S.Analysis)
    if spec and spec.get("layers"):
        assert not analysis.ok and analysis.error


def test_analyse_cache_gives_the_same_answers_as_a_fresh_run():
    spec = stack((16,), [("Dense", {"units": 8}), ("Dense", {"units": 4}), ("Dense", {})])
    S.analyse(spec)
    edited = S.set_param(spec, 0, "units", 5)
    warm = S.analyse(edited)
    S._CACHE.clear()
    cold = S.analyse(edited)
    assert warm == cold
    assert warm.layers[1].params == 5 * 4 + 4


def test_analyse_allocates_no_weights():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    huge = stack((10,), [("Embedding", {"input_dim": 2_000_000, "output_dim": 512})])
    analysis = S.analyse(huge)
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert analysis.total_params == 1_024_000_000
    assert grown_mib < 300  # the weights would take 3.8 GiB


def test_keras_deserialization_page_becomes_the_layers_own_complaint():
    spec = stack((2, 3), [("Permute", {})])
    with pytest.raises(SpecError) as info:
        S.set_param(spec, 0, "dims", [1, 1])
    message = str(info.value)
    assert message.startswith("Permute 'permute': Invalid permutation argument `dims`")
    assert "from_config" not in message and "config=" not in message


def test_clean_message_strips_ansi_and_tracebacks():
    raw = "\x1b[1mInput 0 of layer\x1b[0m is bad.\nTraceback (most recent call last):\n  File x"
    assert S.clean_message(ValueError(raw)) == "Input 0 of layer is bad."
    raw = "Exception encountered when calling Dense.call().\n\nArguments received by Dense: x"
    assert S.clean_message(raw) == "Exception encountered when calling Dense.call()."


def test_spec_from_model_refuses_functional_models():
    inputs = keras.Input((3,))
    functional = keras.Model(inputs, L.Dense(2)(inputs))
    with pytest.raises(SpecError, match="not a Sequential stack"):
        S.spec_from_model(functional)


def test_build_model_error_names_the_layer_after_a_wrapper():
    """Keras's wrappers pop keys from the config they get: the spec must survive that."""
    spec = stack((1, 1), [("TimeDistributed", {}), ("Conv2D", {})])
    with pytest.raises(SpecError, match="Conv2D 'conv2d' expects 4-D input") as info:
        S.build_model(spec)
    assert info.value.field == "layers[2]"
    assert S.body(spec)[0]["config"]["layer"]["class_name"] == "Dense"


def test_analyse_flags_a_sequence_output_against_one_label_per_example():
    """Issue 9 defect 5: (None, 40, 1) against a scalar target trained by broadcasting."""
    spec = stack(
        (40, 1),
        [("LSTM", {"units": 8, "return_sequences": True}), ("Dense", {"units": 1})],
    )
    assert S.analyse(spec).ok  # without the labels' shape nothing is wrong
    analysis = S.analyse(spec, target_shape=())
    assert not analysis.ok and analysis.error_index == 1
    message = analysis.error
    assert message.startswith("The last layer, Dense 'dense'")
    assert "(None, 40, 1)" in message and "(None, n)" in message
    assert "Flatten or GlobalAveragePooling1D" in message
    assert "return_sequences in LSTM 'lstm'" in message
    assert analysis.layers[1].error == message
    assert analysis.total_params == S.analyse(spec).total_params


@pytest.mark.parametrize(
    "shape, layers, target, ok",
    [
        ((5,), [("Dense", {"units": 3})], (), True),  # class indices against 3 scores
        ((5,), [("Dense", {"units": 3})], (3,), True),  # one-hot
        ((5,), [("Dense", {"units": 3})], (4,), False),
        ((5,), [("Dense", {"units": 1})], (40, 1), False),
        ((40, 1), [("LSTM", {"units": 1, "return_sequences": True})], (40, 1), True),
        ((5,), [("Dense", {"units": 2})], (None,), True),
    ],
)
def test_analyse_compares_the_output_with_the_labels_shape(shape, layers, target, ok):
    analysis = S.analyse(stack(shape, layers), None, target)
    assert analysis.ok is ok, analysis.error
    if not ok:
        assert analysis.error[0].isupper() and analysis.error.endswith(".")


def test_new_layers_are_named_from_their_class_not_kerass_global_counter():
    """Issue 9, defect 3: a new project's first Dense is ``dense`` however many layers Keras
    built before in this process (it showed ``dense_9``)."""
    for _ in range(5):
        keras.layers.Dense(1)  # advance Keras's process-wide name counter
    model = S.insert_layer(S.new_spec(), 0, "Dense")
    model = S.insert_layer(model, 1, "Dense")
    model = S.insert_layer(model, 2, "Conv2D")
    assert [entry["config"]["name"] for entry in S.body(model)] == [
        "dense",
        "dense_1",
        "conv2d",
    ]
