"""When a Keras 2 (or hand-edited) file still cannot load, the message names the file, the
layer, the argument and why: no config dump, no "register_keras_serializable" hint for one
of Keras's own layers. Vocabularies given inline are allowed, file paths refused."""

from __future__ import annotations

import copy

import pytest

from engine import modelfile
from engine.errors import ModelFileError
from engine.modelfile import check_allowlist, load_model_file, save_model
from engine.quiet import import_keras
from tests.files.keras2_files import dense, input_layer, rnn, sequential, write_keras2_h5

keras = import_keras()


def refused(path) -> ModelFileError:
    with pytest.raises(ModelFileError) as caught:
        load_model_file(path)
    text = str(caught.value)
    assert "{" not in text and "register_keras_serializable" not in text
    assert "\n" not in text
    return caught.value


def test_an_argument_keras3_does_not_accept_is_named_with_file_and_layer(tmp_path):
    layer = dense("dense_1", 2, sharpness=3)
    config = sequential("s", [input_layer("i", [None, 3]), layer])
    path = write_keras2_h5(tmp_path / "odd.h5", config, {"dense_1": []})
    error = refused(path)
    assert str(error).startswith(
        "Cannot open odd.h5: layer 'dense_1' (Dense) has the argument 'sharpness', an argument "
        "Keras 3 does not accept"
    )


def test_time_major_true_is_refused_naming_the_layer(tmp_path):
    config = sequential(
        "s", [input_layer("i", [None, 5, 3]), rnn("LSTM", "lstm_1", 4, time_major=True)]
    )
    path = write_keras2_h5(tmp_path / "tm.h5", config, {"lstm_1": []})
    error = refused(path)
    assert str(error) == (
        "Cannot open tm.h5: layer 'lstm_1' (LSTM) has time_major=True, a Keras 2 layout (time "
        "steps first) that Keras 3 does not have; re-save the model with time_major=False."
    )
    assert error.field == "time_major"


def test_depthwise_groups_other_than_one_is_refused(tmp_path):
    layer = {
        "class_name": "DepthwiseConv2D",
        "config": {"name": "dw", "kernel_size": [3, 3], "groups": 2, "depth_multiplier": 1},
    }
    config = sequential("s", [input_layer("i", [None, 5, 5, 2]), layer])
    path = write_keras2_h5(tmp_path / "dw.h5", config, {"dw": []})
    assert str(refused(path)) == (
        "Cannot open dw.h5: layer 'dw' (DepthwiseConv2D) has groups=2, which a depthwise "
        "convolution cannot have in Keras 3."
    )


def test_a_layer_keras_cannot_build_is_named_without_kerass_call_header(tmp_path):
    conv = {
        "class_name": "Conv2D",
        "config": {"name": "conv2d_1", "filters": 2, "kernel_size": [3, 3]},
    }
    config = sequential("s", [input_layer("i", [None, 6]), conv])
    path = write_keras2_h5(tmp_path / "flat.h5", config, {"conv2d_1": []})
    text = str(refused(path))
    assert text.startswith("Cannot open flat.h5: Keras could not load the model (")
    assert "conv2d_1" in text and "found ndim=2" in text and "None' of" not in text
    assert "Exception encountered when calling" not in text


def legacy_keras_error(config: dict) -> Exception:
    """The exception Keras 3's own legacy loader raises for ``config``."""
    from keras.src.legacy.saving import saving_options, saving_utils

    with (
        pytest.raises(Exception) as caught,
        saving_options.keras_option_scope(use_legacy_config=True),
    ):
        saving_utils.model_from_config(copy.deepcopy(config))
    return caught.value


def test_could_not_locate_a_builtin_class_gives_no_registration_hint():
    bidirectional = {
        "class_name": "TimeDistributed",
        "config": {"name": "td", "layer": dense("dense_1", 2)},
    }
    config = sequential("s", [input_layer("i", [None, 5, 3]), bidirectional])
    error = legacy_keras_error(config)
    assert "register_keras_serializable" in str(error)  # what Keras itself says
    message = str(modelfile._keras_load_error("model.h5", config, error))
    assert message == (
        "Cannot open model.h5: layer 'dense_1' (Dense) is stored in a form Keras 3 cannot "
        "rebuild (an old Keras layout it does not recognise). Re-save the model with Keras 3."
    )


def test_a_deserialisation_error_names_the_layer_and_argument_without_the_config_dump():
    layer = {
        "class_name": "DepthwiseConv2D",
        "config": {"name": "dw", "kernel_size": [3, 3], "groups": 1, "depth_multiplier": 1},
    }
    inner = {
        "class_name": "Functional",
        "config": {
            "name": "inner",
            "layers": [
                {**input_layer("x", [None, 5, 5, 2]), "name": "x", "inbound_nodes": []},
                {**layer, "name": "dw", "inbound_nodes": [[["x", 0, 0, {}]]]},
            ],
            "input_layers": [["x", 0, 0]],
            "output_layers": [["dw", 0, 0]],
        },
    }
    config = sequential("s", [input_layer("i", [None, 5, 5, 2]), inner])
    error = legacy_keras_error(config)
    assert "using config=" in str(error)  # Keras's dump
    message = modelfile._keras_load_error("model.h5", config, error)
    assert str(message) == (
        "Cannot open model.h5: layer 'dw' (DepthwiseConv2D) has the argument 'groups', a "
        "Keras 2 argument that Keras 3 does not accept. Re-save the model with Keras 3, or "
        "remove the argument from the layer's config."
    )


# --- vocabularies ------------------------------------------------------------------------


def lookup(class_name: str, vocabulary) -> dict:
    return {
        "class_name": "Sequential",
        "config": {
            "name": "s",
            "layers": [
                {"class_name": class_name, "config": {"name": "lookup", "vocabulary": vocabulary}}
            ],
        },
    }


@pytest.mark.parametrize("class_name", ["StringLookup", "IntegerLookup", "TextVectorization"])
def test_inline_vocabularies_are_allowed(class_name):
    check_allowlist(lookup(class_name, ["a", "b"] if class_name != "IntegerLookup" else [3, 4]))


def test_a_model_with_an_inline_string_lookup_opens(tmp_path):
    layer = keras.layers.StringLookup(vocabulary=["cat", "dog"])
    model = keras.Sequential([keras.Input((1,), dtype="string"), layer])
    save_model(model, tmp_path / "lookup.keras")
    loaded = load_model_file(tmp_path / "lookup.keras")
    assert list(loaded.model.layers[0].get_vocabulary())[1:] == ["cat", "dog"]


@pytest.mark.parametrize("class_name", ["StringLookup", "TextVectorization"])
def test_a_vocabulary_file_path_is_refused(class_name):
    with pytest.raises(ModelFileError) as caught:
        check_allowlist(lookup(class_name, "/home/someone/vocab.txt"))
    assert str(caught.value) == (
        f"the {class_name} layer ('lookup') takes its vocabulary from the file "
        "'/home/someone/vocab.txt'; LayerLab does not open files a model names. Give the "
        "vocabulary as a list in the layer instead."
    )
    assert caught.value.field == "layers[0].vocabulary"


def test_a_vocabulary_file_path_in_a_model_file_is_refused_naming_the_file(tmp_path):
    config = lookup("StringLookup", "vocab.txt")
    path = write_keras2_h5(tmp_path / "vocab.h5", config, {"lookup": []})
    assert str(refused(path)).startswith(
        "Cannot open vocab.h5: the StringLookup layer ('lookup') takes its vocabulary from the "
        "file 'vocab.txt'"
    )


def test_a_cudnn_layer_is_refused_saying_what_replaced_it():
    config = sequential("s", [{"class_name": "CuDNNLSTM", "config": {"name": "fast", "units": 4}}])
    with pytest.raises(ModelFileError) as caught:
        check_allowlist(config)
    assert str(caught.value) == (
        "the model uses CuDNNLSTM ('fast'), a Keras 2 layer for NVIDIA GPUs that Keras 3 "
        "replaced by LSTM; LayerLab cannot convert its weights. Re-save the model with LSTM "
        "layers."
    )


def test_a_keras1_file_is_refused_saying_so(tmp_path):
    old_dense = {
        "class_name": "Dense",
        "config": {"name": "dense_1", "output_dim": 2, "init": "glorot_uniform", "input_dim": 3},
    }
    path = write_keras2_h5(
        tmp_path / "old.h5",
        {"class_name": "Sequential", "config": [old_dense]},
        {"dense_1": []},
        keras_version="1.2.2",
    )
    assert str(refused(path)) == (
        "Cannot open old.h5: it was written by Keras 1.2.2, whose layer format LayerLab does not "
        "translate (it reads files from Keras 2.0 on). Re-save the model with a newer Keras."
    )
