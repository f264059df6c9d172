"""Keras 2 ``.h5`` files open with their trained weights (engine.keras2 via load_model_file).

Each legacy feature has its own crafted Keras-2-format file (tests/files/keras2_files.py).
Where a Keras 3 model equivalent to the Keras 2 one can be built, the file holds that
model's (random) weights written in Keras 2's layout and order, and the opened model must
predict exactly what the reference does.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from engine import keras2
from engine.errors import ModelFileError
from engine.modelfile import load_model_file, save_model
from engine.quiet import import_keras
from tests.files.keras2_files import (
    dense,
    initializer,
    input_layer,
    named_weights,
    rnn,
    sequential,
    write_keras2_h5,
)

keras = import_keras()

KERNEL_BIAS = ["kernel", "bias"]
RNN_WEIGHTS = ["kernel", "recurrent_kernel", "bias"]


def predictions(model, inputs) -> list[np.ndarray]:
    out = model(inputs, training=False)
    out = out if isinstance(out, list | tuple) else [out]
    return [np.asarray(value) for value in out]


def assert_same_predictions(loaded, reference, inputs) -> None:
    for ours, theirs in zip(
        predictions(loaded, inputs), predictions(reference, inputs), strict=True
    ):
        np.testing.assert_array_equal(ours, theirs)


def randomise(model, seed: int = 1) -> None:
    """Non-trivial values everywhere (biases and BatchNorm statistics included)."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        value = rng.normal(size=variable.shape).astype("float32")
        if "variance" in variable.path:
            value = np.abs(value) + 0.5
        variable.assign(value)


def seq_inputs(shape, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


# --- one test per rewrite --------------------------------------------------------------


def test_sequential_stored_as_a_bare_list_opens_with_its_weights(tmp_path):
    reference = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)]
    )
    randomise(reference)
    first, second = reference.layers
    config = {
        "class_name": "Sequential",
        "config": [
            dense("dense_1", 3, "relu", batch_input_shape=[None, 4]),
            dense("dense_2", 2),
        ],
    }
    path = write_keras2_h5(
        tmp_path / "bare.h5",
        config,
        {
            "dense_1": named_weights("dense_1", KERNEL_BIAS, first.get_weights()),
            "dense_2": named_weights("dense_2", KERNEL_BIAS, second.get_weights()),
        },
        keras_version="2.1.6",
    )
    loaded = load_model_file(path)
    assert loaded.editable and loaded.weights_loaded
    assert loaded.keras_version == "2.1.6"
    assert "Sequential 'sequential': its layers were stored as a bare list (Keras ≤ 2.2)" in (
        loaded.rewrites
    )
    assert [layer.name for layer in loaded.model.layers] == ["dense_1", "dense_2"]
    assert_same_predictions(loaded.model, reference, seq_inputs((5, 4)))


@pytest.mark.parametrize("class_name", ["LSTM", "GRU", "SimpleRNN"])
def test_time_major_is_dropped_from_recurrent_layers(tmp_path, class_name):
    extra = {"reset_after": True} if class_name == "GRU" else {}
    if class_name == "SimpleRNN":
        extra["implementation"] = 1  # Keras 2.0's SimpleRNN carried it; Keras 3's refuses it
    layer = getattr(keras.layers, class_name)(4, return_sequences=True)
    reference = keras.Sequential([keras.Input((5, 3)), layer, keras.layers.Dense(2)])
    randomise(reference)
    config = sequential(
        "sequential_1",
        [
            input_layer("rnn_input", [None, 5, 3]),
            rnn(class_name, "rnn_1", 4, return_sequences=True, **extra),
            dense("dense_1", 2),
        ],
    )
    path = write_keras2_h5(
        tmp_path / f"{class_name}.h5",
        config,
        {
            "rnn_1": named_weights("rnn_1", RNN_WEIGHTS, layer.get_weights()),
            "dense_1": named_weights("dense_1", KERNEL_BIAS, reference.layers[1].get_weights()),
        },
        keras_version="2.3.0-tf",
    )
    loaded = load_model_file(path)
    assert f"{class_name} 'rnn_1': dropped time_major (Keras 2)" in loaded.rewrites
    assert loaded.weights_loaded
    assert_same_predictions(loaded.model, reference, seq_inputs((2, 5, 3)))


def keras2_hard_sigmoid(x):
    """Keras 2's hard_sigmoid (Keras 3's is clip(x / 6 + 0.5, 0, 1))."""
    return keras.ops.clip(0.2 * x + 0.5, 0.0, 1.0)


@pytest.mark.parametrize("class_name", ["LSTM", "GRU"])
def test_keras2_hard_sigmoid_gates_predict_as_in_keras2(tmp_path, class_name):
    """Keras ≤ 2.2's LSTM/GRU default recurrent_activation was hard_sigmoid, whose slope
    Keras 3 changed: the opened model must still compute the Keras 2 function."""
    extra = {"reset_after": False} if class_name == "GRU" else {}
    layer = getattr(keras.layers, class_name)(
        4, recurrent_activation=keras2_hard_sigmoid, return_sequences=True, **extra
    )
    reference = keras.Sequential([keras.Input((6, 3)), layer])
    randomise(reference)
    config = sequential(
        "sequential_1",
        [
            input_layer("x", [None, 6, 3]),
            rnn(
                class_name,
                "rnn_1",
                4,
                return_sequences=True,
                recurrent_activation="hard_sigmoid",
                **extra,
            ),
        ],
    )
    path = write_keras2_h5(
        tmp_path / "hard.h5",
        config,
        {"rnn_1": named_weights("rnn_1", RNN_WEIGHTS, layer.get_weights())},
        keras_version="2.2.4",
    )
    loaded = load_model_file(path)
    assert any("hard_sigmoid is steeper in Keras 2" in note for note in loaded.rewrites)
    inputs = seq_inputs((3, 6, 3)) * 3  # reach the clipped parts too
    ours, theirs = predictions(loaded.model, inputs)[0], predictions(reference, inputs)[0]
    np.testing.assert_allclose(ours, theirs, atol=2e-6)
    assert np.abs(ours - theirs).max() < 1e-5


def test_a_keras3_file_keeps_keras3s_hard_sigmoid(tmp_path):
    layer = keras.layers.LSTM(3, recurrent_activation="hard_sigmoid")
    model = keras.Sequential([keras.Input((4, 2)), layer])
    save_model(model, tmp_path / "k3.h5")
    loaded = load_model_file(tmp_path / "k3.h5")
    assert loaded.rewrites == []
    for ours, theirs in zip(loaded.model.get_weights(), model.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_gru_without_reset_after_is_keras2s_single_bias_gru(tmp_path):
    layer = keras.layers.GRU(4, reset_after=False)
    reference = keras.Sequential([keras.Input((5, 3)), layer])
    randomise(reference)
    gru = rnn("GRU", "gru_1", 4)
    del gru["config"]["time_major"]  # Keras 2.0 – 2.2 wrote neither
    config = sequential("sequential_1", [input_layer("gru_input", [None, 5, 3]), gru])
    path = write_keras2_h5(
        tmp_path / "gru.h5",
        config,
        {"gru_1": named_weights("gru_1", RNN_WEIGHTS, layer.get_weights())},
        layer_names=["gru_1"],
    )
    loaded = load_model_file(path)
    assert "GRU 'gru_1': reset_after=False, Keras 2's default then" in loaded.rewrites
    assert_same_predictions(loaded.model, reference, seq_inputs((2, 5, 3)))


def test_bidirectional_and_time_distributed_inner_layers_without_module(tmp_path):
    bidirectional = keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True))
    distributed = keras.layers.TimeDistributed(keras.layers.Dense(2))
    reference = keras.Sequential([keras.Input((5, 3)), bidirectional, distributed])
    randomise(reference)
    config = sequential(
        "sequential_1",
        [
            input_layer("bi_input", [None, 5, 3]),
            {
                "class_name": "Bidirectional",
                "config": {
                    "name": "bidirectional_1",
                    "trainable": True,
                    "dtype": "float32",
                    "layer": rnn("LSTM", "lstm_1", 4, return_sequences=True),
                    "merge_mode": "concat",
                },
            },
            {
                "class_name": "TimeDistributed",
                "config": {
                    "name": "time_distributed_1",
                    "trainable": True,
                    "dtype": "float32",
                    "layer": dense("dense_1", 2),
                },
            },
        ],
    )
    # Keras 2 stored a Bidirectional's forward weights first, then the backward ones.
    forward = bidirectional.forward_layer.get_weights()
    backward = bidirectional.backward_layer.get_weights()
    weights = {
        "bidirectional_1": named_weights("bidirectional_1/forward_lstm_1", RNN_WEIGHTS, forward)
        + named_weights("bidirectional_1/backward_lstm_1", RNN_WEIGHTS, backward),
        "time_distributed_1": named_weights(
            "time_distributed_1", KERNEL_BIAS, distributed.get_weights()
        ),
    }
    path = write_keras2_h5(tmp_path / "wrapped.h5", config, weights, keras_version="2.10.0")
    loaded = load_model_file(path)
    assert "Bidirectional 'bidirectional_1': its inner LSTM 'lstm_1' names no module" in (
        loaded.rewrites
    )
    assert "TimeDistributed 'time_distributed_1': its inner Dense 'dense_1' names no module" in (
        loaded.rewrites
    )
    assert_same_predictions(loaded.model, reference, seq_inputs((2, 5, 3)))


def test_initializer_configs_with_dtype_are_accepted():
    layer = dense("dense_1", 2, kernel_initializer=initializer("GlorotUniform", dtype="float32"))
    config = sequential("s", [input_layer("i", [None, 3]), layer])
    translated, notes = keras2.translate(config)
    assert notes == ["Dense 'dense_1': dropped dtype from kernel_initializer (Keras 2)"]
    kernel_initializer = translated["config"]["layers"][1]["config"]["kernel_initializer"]
    assert "dtype" not in kernel_initializer["config"]
    assert "dtype" in layer["config"]["kernel_initializer"]["config"]  # input left alone


def test_the_same_change_on_many_layers_is_noted_once():
    layers = [dense(f"dense_{index}", 2) for index in range(5)]
    for layer in layers:
        layer["config"]["kernel_initializer"]["config"]["dtype"] = "float32"
    _, notes = keras2.translate(sequential("s", [input_layer("i", [None, 2]), *layers]))
    assert notes == [
        "5 Dense layers ('dense_0', 'dense_1', 'dense_2', …): dropped dtype from "
        "kernel_initializer (Keras 2)"
    ]


def test_initializer_dtype_file_opens(tmp_path):
    layer = dense("dense_1", 2, kernel_initializer=initializer("GlorotUniform", dtype="float32"))
    config = sequential("s", [input_layer("i", [None, 3]), layer])
    values = [np.ones((3, 2)), np.arange(2.0)]
    path = write_keras2_h5(
        tmp_path / "dtype.h5", config, {"dense_1": named_weights("dense_1", KERNEL_BIAS, values)}
    )
    loaded = load_model_file(path)
    np.testing.assert_array_equal(loaded.model.get_weights()[1], [0.0, 1.0])


@pytest.mark.parametrize(
    ("argument", "value", "input_shape"),
    [
        ("batch_input_shape", [None, 6, 6, 1], (None, 6, 6, 1)),
        ("input_shape", [6, 6, 1], (None, 6, 6, 1)),
    ],
)
def test_first_layer_input_shape_becomes_an_input_layer(tmp_path, argument, value, input_shape):
    reference = keras.Sequential([keras.Input((6, 6, 1)), keras.layers.Conv2D(2, 3)])
    randomise(reference)
    conv = {
        "class_name": "Conv2D",
        "config": {
            "name": "conv2d_1",
            "trainable": True,
            argument: value,
            "dtype": "float32",
            "filters": 2,
            "kernel_size": [3, 3],
            "strides": [1, 1],
            "padding": "valid",
            "data_format": "channels_last",
            "dilation_rate": [1, 1],
            "activation": "linear",
            "use_bias": True,
            "kernel_initializer": initializer(),
            "bias_initializer": {"class_name": "Zeros", "config": {}},
        },
    }
    path = write_keras2_h5(
        tmp_path / "conv.h5",
        sequential("sequential_1", [conv]),
        {"conv2d_1": named_weights("conv2d_1", KERNEL_BIAS, reference.layers[0].get_weights())},
    )
    loaded = load_model_file(path)
    assert tuple(loaded.model.input_shape) == input_shape
    assert loaded.spec["layers"][0]["class_name"] == "InputLayer"
    assert any("became an InputLayer" in note for note in loaded.rewrites)
    assert_same_predictions(loaded.model, reference, seq_inputs((2, 6, 6, 1)))


def test_input_dim_on_a_first_dense_layer_is_its_input_shape(tmp_path):
    config = sequential("s", [dense("dense_1", 2, input_dim=3)])
    values = [np.ones((3, 2)), np.zeros(2)]
    path = write_keras2_h5(
        tmp_path / "dim.h5", config, {"dense_1": named_weights("dense_1", KERNEL_BIAS, values)}
    )
    loaded = load_model_file(path)
    assert tuple(loaded.model.input_shape) == (None, 3)
    np.testing.assert_array_equal(loaded.model.predict(np.ones((1, 3)), verbose=0), [[3.0, 3.0]])


def embedding(name: str, **extra) -> dict:
    return {
        "class_name": "Embedding",
        "config": {
            "name": name,
            "trainable": True,
            "dtype": "float32",
            "input_dim": 20,
            "output_dim": 3,
            "embeddings_initializer": {
                "class_name": "RandomUniform",
                "config": {"minval": -0.05, "maxval": 0.05, "seed": None},
            },
            "mask_zero": False,
            **extra,
        },
    }


@pytest.mark.parametrize("with_input_layer", [False, True])
def test_embedding_input_length_keeps_the_sequence_length_for_flatten(tmp_path, with_input_layer):
    reference = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Embedding(20, 3),
            keras.layers.Flatten(),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    randomise(reference)
    if with_input_layer:  # tf.keras with an explicit Input of unknown length
        layers = [input_layer("ids", [None, None]), embedding("embedding_1", input_length=6)]
    else:  # Keras 2's Embedding(input_length=6) as the first layer
        layers = [embedding("embedding_1", batch_input_shape=[None, 6], input_length=6)]
    flatten = {"class_name": "Flatten", "config": {"name": "flatten_1", "trainable": True}}
    config = sequential("sequential_1", [*layers, flatten, dense("dense_1", 1, "sigmoid")])
    path = write_keras2_h5(
        tmp_path / "embedding.h5",
        config,
        {
            "embedding_1": [("embedding_1/embeddings:0", reference.layers[0].get_weights()[0])],
            "flatten_1": [],
            "dense_1": named_weights("dense_1", KERNEL_BIAS, reference.layers[2].get_weights()),
        },
    )
    loaded = load_model_file(path)
    assert "Embedding 'embedding_1': dropped input_length=6 (Keras 2)" in loaded.rewrites
    assert tuple(loaded.model.input_shape) == (None, 6)
    ids = np.random.default_rng(0).integers(0, 20, size=(4, 6)).astype("float32")
    assert_same_predictions(loaded.model, reference, ids)


def test_depthwise_conv2d_groups_is_dropped(tmp_path):
    reference = keras.Sequential([keras.Input((5, 5, 2)), keras.layers.DepthwiseConv2D(3)])
    randomise(reference)
    layer = {
        "class_name": "DepthwiseConv2D",
        "config": {
            "name": "dw",
            "trainable": True,
            "dtype": "float32",
            "kernel_size": [3, 3],
            "strides": [1, 1],
            "padding": "valid",
            "data_format": "channels_last",
            "dilation_rate": [1, 1],
            "groups": 1,
            "activation": "linear",
            "use_bias": True,
            "depth_multiplier": 1,
            "depthwise_initializer": initializer(),
        },
    }
    config = sequential("s", [input_layer("i", [None, 5, 5, 2]), layer])
    path = write_keras2_h5(
        tmp_path / "dw.h5",
        config,
        {
            "dw": named_weights(
                "dw", ["depthwise_kernel", "bias"], reference.layers[0].get_weights()
            )
        },
        keras_version="2.4.0",
    )
    loaded = load_model_file(path)
    assert loaded.rewrites == ["DepthwiseConv2D 'dw': dropped groups=1 (Keras 2)"]
    assert_same_predictions(loaded.model, reference, seq_inputs((2, 5, 5, 2)))


def test_leaky_relu_alpha_stored_as_a_numpy_value(tmp_path):
    layer = {
        "class_name": "LeakyReLU",
        "config": {"name": "leaky", "trainable": True, "alpha": {"type": "ndarray", "value": 0.5}},
    }
    config = sequential("s", [input_layer("i", [None, 2]), layer])
    path = write_keras2_h5(tmp_path / "leaky.h5", config, {}, layer_names=["leaky"])
    loaded = load_model_file(path)
    out = loaded.model.predict(np.array([[-2.0, 2.0]]), verbose=0)
    np.testing.assert_allclose(out, [[-1.0, 2.0]])
    assert any("numpy values" in note for note in loaded.rewrites)
    assert "LeakyReLU 'leaky': alpha renamed negative_slope (Keras 2)" in loaded.rewrites


def test_a_mixed_precision_policy_is_kept(tmp_path):
    policy = {"class_name": "Policy", "config": {"name": "mixed_float16"}}
    config = sequential("s", [input_layer("i", [None, 3]), dense("d", 2, dtype=policy)])
    values = [np.ones((3, 2)), np.zeros(2)]
    path = write_keras2_h5(
        tmp_path / "mixed.h5", config, {"d": named_weights("d", KERNEL_BIAS, values)}
    )
    loaded = load_model_file(path)
    assert loaded.model.layers[0].dtype_policy.name == "mixed_float16"
    assert loaded.rewrites == ["Dense 'd': dtype policy 'mixed_float16' (Keras 2)"]
    np.testing.assert_array_equal(loaded.model.layers[0].get_weights()[0], np.ones((3, 2)))


def mobilenet_like(prefix: str = "") -> dict:
    """A Keras 2.4 functional model as Teachable Machine nested it (single io in lists)."""
    return {
        "class_name": "Functional",
        "config": {
            "name": "model1",
            "layers": [
                {**input_layer("input_1", [None, 6, 6, 3]), "name": "input_1", "inbound_nodes": []},
                {
                    "class_name": "Conv2D",
                    "name": "Conv1",
                    "config": {
                        "name": "Conv1",
                        "trainable": True,
                        "dtype": "float32",
                        "filters": 4,
                        "kernel_size": [3, 3],
                        "strides": [1, 1],
                        "padding": "valid",
                        "data_format": "channels_last",
                        "dilation_rate": [1, 1],
                        "groups": 1,
                        "activation": "linear",
                        "use_bias": False,
                        "kernel_initializer": initializer(),
                    },
                    "inbound_nodes": [[["input_1", 0, 0, {}]]],
                },
                {
                    "class_name": "BatchNormalization",
                    "name": "bn_Conv1",
                    "config": {
                        "name": "bn_Conv1",
                        "trainable": True,
                        "dtype": "float32",
                        "axis": -1,
                        "momentum": 0.999,
                        "epsilon": 0.001,
                        "center": True,
                        "scale": True,
                    },
                    "inbound_nodes": [[["Conv1", 0, 0, {}]]],
                },
                {
                    "class_name": "ReLU",
                    "name": "out_relu",
                    "config": {"name": "out_relu", "trainable": True, "max_value": 6.0},
                    "inbound_nodes": [[["bn_Conv1", 0, 0, {}]]],
                },
            ],
            "input_layers": [["input_1", 0, 0]],
            "output_layers": [["out_relu", 0, 0]],
        },
    }


def test_nested_sequential_with_a_functional_model_teachable_machine_style(tmp_path):
    inputs = keras.Input((6, 6, 3))
    x = keras.layers.Conv2D(4, 3, use_bias=False, name="Conv1")(inputs)
    x = keras.layers.BatchNormalization(epsilon=0.001, momentum=0.999, name="bn_Conv1")(x)
    base = keras.Model(inputs, keras.layers.ReLU(6.0, name="out_relu")(x), name="model1")
    head = keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3, name="d1"), keras.layers.Dense(2, name="d2")]
    )
    reference = keras.Sequential(
        [keras.Input((6, 6, 3)), base, keras.layers.GlobalAveragePooling2D(), head]
    )
    randomise(reference)
    conv, bn = base.get_layer("Conv1"), base.get_layer("bn_Conv1")
    gamma, beta, mean, variance = bn.get_weights()
    # Keras 2 listed a nested model's trainable weights first, then the others.
    body_weights = [
        ("Conv1/kernel:0", conv.get_weights()[0]),
        ("bn_Conv1/gamma:0", gamma),
        ("bn_Conv1/beta:0", beta),
        ("bn_Conv1/moving_mean:0", mean),
        ("bn_Conv1/moving_variance:0", variance),
    ]
    head_weights = named_weights("d1", KERNEL_BIAS, head.layers[0].get_weights()) + named_weights(
        "d2", KERNEL_BIAS, head.layers[1].get_weights()
    )
    pooling = {"class_name": "GlobalAveragePooling2D", "config": {"name": "gap", "trainable": True}}
    config = sequential(
        "sequential_12",
        [
            input_layer("sequential_9_input", [None, 6, 6, 3]),
            sequential(
                "sequential_9",
                [input_layer("model1_input", [None, 6, 6, 3]), mobilenet_like(), pooling],
            ),
            sequential(
                "sequential_11",
                [input_layer("d1_input", [None, 4]), dense("d1", 3), dense("d2", 2)],
            ),
        ],
    )
    path = write_keras2_h5(
        tmp_path / "keras_model.h5",
        config,
        {"sequential_9": body_weights, "sequential_11": head_weights},
        keras_version="2.4.0",
    )
    loaded = load_model_file(path)
    assert loaded.weights_loaded
    assert not loaded.editable and loaded.spec is None  # the stack cannot show nested models
    assert loaded.note.startswith(
        "a Sequential model holding other models ('sequential_9', 'sequential_11'; "
    )
    assert "Functional 'model1': single input_layers and output_layers unwrapped" in (
        loaded.rewrites
    )
    assert "DepthwiseConv2D" not in " ".join(loaded.rewrites)
    assert loaded.model.count_params() == reference.count_params()
    assert_same_predictions(loaded.model, reference, seq_inputs((2, 6, 6, 3)))


def seq2seq_reference():
    encoder_in = keras.Input((None, 3), name="encoder_in")
    _, state_h, state_c = keras.layers.LSTM(4, return_state=True, name="encoder")(encoder_in)
    decoder_in = keras.Input((None, 3), name="decoder_in")
    decoder = keras.layers.LSTM(4, return_sequences=True, name="decoder")
    out = keras.layers.Dense(2, name="out")(decoder(decoder_in, initial_state=[state_h, state_c]))
    model = keras.Model([encoder_in, decoder_in], out)
    randomise(model)
    return model


@pytest.mark.parametrize("style", ["keras 2.2 extra inputs", "tf.keras initial_state kwargs"])
def test_functional_model_with_initial_state_wiring(tmp_path, style):
    reference = seq2seq_reference()
    if style == "keras 2.2 extra inputs":
        decoder_node = [[["decoder_in", 0, 0, {}], ["encoder", 0, 1, {}], ["encoder", 0, 2, {}]]]
    else:
        decoder_node = [
            [["decoder_in", 0, 0, {"initial_state": [["encoder", 0, 1], ["encoder", 0, 2]]}]]
        ]

    def node(layer: dict, name: str, inbound: list) -> dict:
        return {**layer, "name": name, "inbound_nodes": inbound}

    config = {
        "class_name": "Model",
        "config": {
            "name": "model_1",
            "layers": [
                node(input_layer("encoder_in", [None, None, 3]), "encoder_in", []),
                node(input_layer("decoder_in", [None, None, 3]), "decoder_in", []),
                node(
                    rnn("LSTM", "encoder", 4, return_state=True),
                    "encoder",
                    [[["encoder_in", 0, 0, {}]]],
                ),
                node(rnn("LSTM", "decoder", 4, return_sequences=True), "decoder", decoder_node),
                node(dense("out", 2), "out", [[["decoder", 0, 0, {}]]]),
            ],
            "input_layers": [["encoder_in", 0, 0], ["decoder_in", 0, 0]],
            "output_layers": [["out", 0, 0]],
        },
    }
    weights = {
        "encoder_in": [],
        "decoder_in": [],
        "encoder": named_weights(
            "encoder", RNN_WEIGHTS, reference.get_layer("encoder").get_weights()
        ),
        "decoder": named_weights(
            "decoder", RNN_WEIGHTS, reference.get_layer("decoder").get_weights()
        ),
        "out": named_weights("out", KERNEL_BIAS, reference.get_layer("out").get_weights()),
    }
    path = write_keras2_h5(tmp_path / "s2s.h5", config, weights, keras_version="2.2.4")
    loaded = load_model_file(path)
    assert not loaded.editable and loaded.weights_loaded
    assert any(note.startswith("LSTM 'decoder': its initial") for note in loaded.rewrites)
    inputs = [seq_inputs((2, 5, 3), 3), seq_inputs((2, 4, 3), 4)]
    assert_same_predictions(loaded.model, reference, inputs)


# --- what is returned with the model ---------------------------------------------------


def test_training_config_is_returned_raw(tmp_path):
    training = {
        "optimizer_config": {"class_name": "RMSprop", "config": {"lr": 0.001, "rho": 0.9}},
        "loss": "binary_crossentropy",
        "metrics": ["acc"],
        "sample_weight_mode": None,
        "loss_weights": None,
    }
    config = sequential("s", [input_layer("i", [None, 3]), dense("d", 1, "sigmoid")])
    values = [np.ones((3, 1)), np.zeros(1)]
    path = write_keras2_h5(
        tmp_path / "compiled.h5",
        config,
        {"d": named_weights("d", KERNEL_BIAS, values)},
        training_config=training,
    )
    loaded = load_model_file(path)
    assert loaded.training_config == training


def test_keras3_files_keep_keras_own_path(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    h5_path, keras_path = tmp_path / "k3.h5", tmp_path / "k3.keras"
    save_model(model, h5_path)
    save_model(model, keras_path)
    for path in (h5_path, keras_path):
        loaded = load_model_file(path)
        assert loaded.rewrites == []
        assert loaded.weights_loaded
        assert loaded.keras_version == keras.__version__
        for ours, theirs in zip(loaded.model.get_weights(), model.get_weights(), strict=True):
            np.testing.assert_array_equal(ours, theirs)
    assert load_model_file(h5_path).training_config is None  # saved without the optimizer
    compile_config = load_model_file(keras_path).training_config
    assert compile_config["loss"] == "mean_squared_error"


def test_translate_leaves_a_keras3_config_unchanged():
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(2)])
    config = {"class_name": "Sequential", "config": model.get_config()}
    translated, notes = keras2.translate(copy.deepcopy(config))
    assert notes == []
    assert translated == config


# --- weights are checked before they are read ------------------------------------------


def test_a_stored_weight_of_the_wrong_shape_is_refused_naming_the_layer(tmp_path):
    config = sequential("s", [input_layer("i", [None, 3]), dense("dense_1", 2)])
    values = [np.ones((4, 2)), np.zeros(2)]
    path = write_keras2_h5(
        tmp_path / "shape.h5", config, {"dense_1": named_weights("dense_1", KERNEL_BIAS, values)}
    )
    with pytest.raises(ModelFileError) as caught:
        load_model_file(path)
    assert str(caught.value) == (
        "Cannot open shape.h5: layer 'dense_1' (Dense) needs its weight 'kernel' of shape "
        "(3, 2), but the file stores (4, 2); the file does not match its config."
    )


def test_a_missing_weight_is_refused(tmp_path):
    config = sequential("s", [input_layer("i", [None, 3]), dense("dense_1", 2)])
    path = write_keras2_h5(
        tmp_path / "missing.h5",
        config,
        {"dense_1": named_weights("dense_1", ["kernel"], [np.ones((3, 2))])},
    )
    with pytest.raises(ModelFileError) as caught:
        load_model_file(path)
    assert str(caught.value) == (
        "Cannot open missing.h5: layer 'dense_1' (Dense) has 2 weights, but the file stores 1 "
        "for it; the file does not match its config."
    )


def test_a_huge_declared_dataset_is_refused_without_reading_it(tmp_path):
    """A functional model (whose config the size check cannot count) declaring a 400 MB
    kernel in a tiny file: refused from the shape, before any data is read."""
    import h5py

    config = {
        "class_name": "Model",
        "config": {
            "name": "m",
            "layers": [
                {**input_layer("i", [None, 3]), "name": "i", "inbound_nodes": []},
                {**dense("d", 2), "name": "d", "inbound_nodes": [[["i", 0, 0, {}]]]},
            ],
            "input_layers": [["i", 0, 0]],
            "output_layers": [["d", 0, 0]],
        },
    }
    path = write_keras2_h5(
        tmp_path / "huge.h5",
        config,
        {"d": named_weights("d", KERNEL_BIAS, [np.ones((3, 2)), np.zeros(2)])},
        layer_names=["i", "d"],
    )
    with h5py.File(path, "a") as h5:
        del h5["model_weights/d/d/kernel:0"]
        h5.create_dataset(
            "model_weights/d/d/kernel:0", shape=(100_000_000,), dtype="f4", chunks=(1024,)
        )
    assert path.stat().st_size < 100_000
    with pytest.raises(ModelFileError) as caught:
        load_model_file(path)
    assert "needs its weight 'kernel' of shape (3, 2), but the file stores (100000000,)" in str(
        caught.value
    )
