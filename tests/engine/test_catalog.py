"""The layer catalog agrees with Keras: defaults, round trips, choices, labels."""

from __future__ import annotations

import copy
import inspect
import json

import keras
import pytest

from engine import catalog as cat
from engine import overrides as ov
from engine.errors import SpecError

REQUIRED_LAYERS = [
    "InputLayer",
    "Dense",
    "Activation",
    "Dropout",
    "Flatten",
    "Reshape",
    "Permute",
    "RepeatVector",
    "Embedding",
    "SimpleRNN",
    "LSTM",
    "GRU",
    "Bidirectional",
    "TimeDistributed",
    "Conv1D",
    "Conv2D",
    "Conv3D",
    "SeparableConv2D",
    "Conv2DTranspose",
    "MaxPooling1D",
    "MaxPooling2D",
    "AveragePooling1D",
    "AveragePooling2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "BatchNormalization",
    "LayerNormalization",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "GaussianNoise",
    "Rescaling",
    "Normalization",
    "ZeroPadding2D",
    "UpSampling2D",
    "RandomFlip",
    "RandomRotation",
    "RandomZoom",
]

ALL = list(ov.LAYER_CATEGORY)


def test_catalog_offers_every_required_layer_grouped_by_category():
    catalog = cat.catalog()
    assert set(REQUIRED_LAYERS) <= set(catalog)
    order = [cat.categories().index(info.category) for info in catalog.values()]
    assert order == sorted(order)
    assert catalog["Bidirectional"].param("layer").choices == ("SimpleRNN", "LSTM", "GRU")
    assert catalog["Conv2D"].category == "Convolution"
    assert catalog["LSTM"].category == "Recurrent"


@pytest.mark.parametrize("class_name", ALL)
def test_default_entry_round_trips_through_keras(class_name):
    """As Keras's run_class_serialization_test: config -> from_config -> config is stable."""
    entry = cat.default_layer_entry(class_name)
    assert set(entry) >= {"module", "class_name", "config", "registered_name"}
    assert json.loads(json.dumps(entry)) == entry
    # Keras's wrappers pop keys from the config they are given: always hand Keras a copy.
    layer = keras.layers.deserialize(copy.deepcopy(entry))
    assert type(layer).__name__ == class_name
    again = cat.to_json(keras.layers.serialize(layer))
    assert again == entry
    third = cat.to_json(keras.layers.serialize(keras.layers.deserialize(copy.deepcopy(again))))
    assert third == entry


@pytest.mark.parametrize("class_name", ALL)
def test_params_mirror_keras_signature_and_config(class_name):
    info = cat.layer_info(class_name)
    config = cat.default_layer_entry(class_name)["config"]
    names = [p.name for p in info.params]
    assert len(names) == len(set(names))
    sig = inspect.signature(getattr(keras.layers, class_name).__init__).parameters
    for arg in sig:
        if arg in config and arg not in ov.EXCLUDED_PARAMS:
            assert arg in names, f"{class_name}.{arg} is neither offered nor excluded"
    for p in info.params:
        assert p.kind in cat.KINDS
        assert p.default == config[p.name], p.name
        assert cat.check_value(p, p.default) is None, (p.name, p.default)
        assert p.help and "\n" not in p.help and len(p.help) <= 160
        if p.kind in ("choice", "activation", "dtype", "layer", "regularizer", "constraint"):
            assert p.choices
        if p.kind == "choice":
            assert p.default in p.choices
    assert set(info.key_params) <= set(names)
    assert info.description and "\n" not in info.description


def test_required_arguments_get_override_defaults_and_the_rest_keras_defaults():
    dense = cat.layer_info("Dense")
    assert dense.param("units").default == 32
    assert dense.param("activation").default == "linear"
    assert dense.param("kernel_initializer").default["class_name"] == "GlorotUniform"
    lstm = cat.layer_info("LSTM")
    assert lstm.param("recurrent_initializer").default["class_name"] == "Orthogonal"
    assert lstm.param("dropout").default == 0.0
    assert not lstm.param("units").advanced
    assert lstm.param("unroll").advanced
    assert cat.layer_info("Conv2D").param("kernel_size").default == [3, 3]
    assert cat.layer_info("Conv1D").param("padding").choices == ("valid", "same", "causal")
    assert cat.layer_info("Dropout").param("rate").maximum < 1


def test_choice_lists_are_derived_from_keras():
    acts = cat.activation_names()
    assert {"relu", "sigmoid", "softmax", "tanh", "linear", "gelu"} <= set(acts)
    for name in acts:
        assert callable(keras.activations.get(name))
    inits = cat.initializer_names()
    assert {"glorot_uniform", "he_normal", "zeros", "orthogonal"} <= set(inits)
    for name in inits:
        value = cat.initializer_value(name)
        assert value["module"] == "keras.initializers"
        assert cat.initializer_name(value) == name
        assert isinstance(keras.initializers.deserialize(value), keras.initializers.Initializer)


def test_regularizer_and_constraint_helpers_round_trip():
    assert cat.regularizer_value(None) is None
    l2 = cat.regularizer_value("l2", l2=0.01)
    assert l2 == {
        "module": "keras.regularizers",
        "class_name": "L2",
        "config": {"l2": 0.01},
        "registered_name": None,
    }
    assert cat.regularizer_parts(l2) == ("l2", 0.0, 0.01)
    both = cat.regularizer_value("l1_l2", 0.001, 0.002)
    assert cat.regularizer_parts(both) == ("l1_l2", 0.001, 0.002)
    assert cat.regularizer_parts(cat.regularizer_value("l1", l1=0.5)) == ("l1", 0.5, 0.0)
    assert cat.regularizer_parts(None) == (None, 0.0, 0.0)
    with pytest.raises(SpecError):
        cat.regularizer_value("l3", 0.1, 0.1)
    for name in ov.CONSTRAINTS:
        value = cat.constraint_value(name)
        assert cat.constraint_name(value) == name
    assert cat.dtype_name(cat.dtype_value("mixed_float16")) == "mixed_float16"


def test_check_value_explains_what_is_wrong():
    dense = cat.layer_info("Dense")
    assert cat.check_value(dense.param("units"), -3) == "must be ≥ 1, got -3"
    assert "whole number" in cat.check_value(dense.param("units"), 2.5)
    assert "one of" in cat.check_value(dense.param("activation"), "rleu")
    assert cat.check_value(dense.param("kernel_regularizer"), None) is None
    rate = cat.layer_info("Dropout").param("rate")
    assert "between" in cat.check_value(rate, 1.5)
    assert cat.check_value(rate, True) is not None
    ks = cat.layer_info("Conv2D").param("kernel_size")
    assert cat.check_value(ks, [3, 3]) is None
    assert cat.check_value(ks, 5) is None
    assert cat.check_value(ks, [0, 3]) is not None
    target = cat.layer_info("Reshape").param("target_shape")
    assert cat.check_value(target, [-1, 8]) is None
    assert cat.check_value(target, [-1, -1]) is not None
    bi = cat.layer_info("Bidirectional").param("layer")
    assert cat.check_value(bi, cat.default_layer_entry("GRU")) is None
    assert cat.check_value(bi, cat.default_layer_entry("Dense")) is not None


def _entry(layer: keras.layers.Layer) -> dict:
    return cat.to_json(keras.layers.serialize(layer))


def test_describe_layer_gives_one_line_labels():
    L = keras.layers
    assert cat.describe_layer(_entry(L.Dense(16, activation="relu"))) == "Dense 16 · relu"
    assert cat.describe_layer(_entry(L.Conv2D(32, 3, activation="relu"))) == "Conv2D 32 3×3 · relu"
    assert cat.describe_layer(_entry(L.Dropout(0.5))) == "Dropout 0.5"
    assert cat.describe_layer(_entry(L.LSTM(100, dropout=0.3))) == "LSTM 100 · dropout 0.3"
    assert cat.describe_layer(_entry(L.Dense(1))) == "Dense 1"
    assert cat.describe_layer(_entry(L.MaxPooling2D(2))) == "MaxPooling2D 2×2"
    assert (
        cat.describe_layer(_entry(L.Bidirectional(L.LSTM(64, return_sequences=True))))
        == "Bidirectional LSTM 64 · return sequences"
    )
    assert cat.describe_layer(_entry(L.Conv1D(8, 5, padding="same"))) == "Conv1D 8 5 · same"
    assert cat.describe_layer({"class_name": "Lambda", "config": {}}) == "Lambda"
    assert cat.describe_layer(cat.default_layer_entry("InputLayer")) == "Input (10,)"


def test_unknown_layers_are_refused_with_close_matches():
    with pytest.raises(SpecError, match="Did you mean Dense"):
        cat.layer_info("Dens")
    with pytest.raises(SpecError):
        cat.default_layer_entry("Lambda")
    allowed = cat.allowed_class_names()
    assert "InputLayer" in allowed and "LSTM" in allowed
    assert "Lambda" not in allowed and "TFSMLayer" not in allowed
    with pytest.raises(SpecError, match="units"):
        cat.layer_info("Dense").param("unit")


def test_args_section_parser_reads_one_line_per_argument():
    doc = """Does things.

    Args:
        size: Integer. Number of things
            to do. More text here.
        mode: One of `"a"`, `"b"`.

    Example:
        nothing: here
    """
    assert cat.parse_args_doc(doc) == {
        "size": "Integer. Number of things to do.",
        "mode": 'One of "a", "b".',
    }
