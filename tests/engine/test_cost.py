"""Per-layer cost (engine.cost) against hand-computed multiply-adds and memory, one modelled
layer type at a time, from the shapes engine.spec.analyse works out."""

from __future__ import annotations

import keras
import pytest

from engine import cost as C
from engine import spec as S

L = keras.layers


def costs(shape, *layers):
    """ModelCost of a stack of Keras layer instances on an input of ``shape``."""
    spec = S.new_spec(shape)
    for i, layer in enumerate(layers):
        spec = S.insert_layer(spec, i, keras.layers.serialize(layer))
    analysis = S.analyse(spec)
    assert analysis.ok, analysis.error
    return C.model_cost(spec, analysis)


def one(shape, layer):
    return costs(shape, layer).layers[0]


def test_dense_on_vector_and_on_sequence():
    row = one((20,), L.Dense(10))
    assert row.macs == 20 * 10
    assert row.param_bytes == (20 * 10 + 10) * 4
    assert row.activation_bytes == 10 * 4
    # A Dense on (T, d) runs on every position: T × d × units
    assert one((5, 8), L.Dense(3)).macs == 5 * 8 * 3


def test_conv2d_valid_strided_same_and_grouped():
    row = one((28, 28, 1), L.Conv2D(32, 3))  # out (26, 26, 32)
    assert row.macs == 26 * 26 * 32 * 9 * 1
    assert row.param_bytes == 320 * 4
    assert row.activation_bytes == 26 * 26 * 32 * 4
    # stride 2, same padding: out (16, 16, 16), each output reads 3×3×3
    assert one((32, 32, 3), L.Conv2D(16, 3, strides=2, padding="same")).macs == 16 * 16 * 16 * 27
    # groups=2: each output channel sees 4/2 input channels; out (6, 6, 6)
    grouped = one((8, 8, 4), L.Conv2D(6, 3, groups=2))
    assert grouped.macs == 6 * 6 * 6 * 9 * 2
    assert grouped.param_bytes == (3 * 3 * 2 * 6 + 6) * 4


def test_conv1d_and_conv3d():
    # length (100 - 5) // 2 + 1 = 48
    assert one((100, 8), L.Conv1D(16, 5, strides=2)).macs == 48 * 16 * 5 * 8
    assert one((8, 8, 8, 2), L.Conv3D(4, 3)).macs == 6 * 6 * 6 * 4 * 27 * 2


def test_conv2d_channels_first_from_shapes():
    entry = {"class_name": "Conv2D", "config": {"kernel_size": [3, 3], "filters": 4}}
    entry["config"]["data_format"] = "channels_first"
    row = C.layer_cost(0, entry, (None, 3, 10, 10), (None, 4, 8, 8), 112)
    assert row.macs == 8 * 8 * 4 * 9 * 3


def test_depthwise_and_separable():
    assert one((10, 10, 3), L.DepthwiseConv2D(3, depth_multiplier=2)).macs == 8 * 8 * 3 * 2 * 9
    # depthwise 8·8·3·9 + pointwise 8·8·8·3
    assert one((10, 10, 3), L.SeparableConv2D(8, 3)).macs == 8 * 8 * 3 * 9 + 8 * 8 * 8 * 3
    assert one((20, 4), L.SeparableConv1D(6, 3)).macs == 18 * 4 * 3 + 18 * 6 * 4


def test_transposed_convolutions():
    # every input position spreads a 3×3 kernel to 3 output channels
    assert one((4, 4, 8), L.Conv2DTranspose(3, 3, strides=2)).macs == 16 * 8 * 9 * 3
    assert one((10, 4), L.Conv1DTranspose(2, 3)).macs == 10 * 4 * 3 * 2


def test_recurrent_layers_per_step_times_steps():
    steps, d, u = 12, 5, 7
    assert one((steps, d), L.SimpleRNN(u)).macs == steps * u * (d + u)
    lstm = one((steps, d), L.LSTM(u))
    assert lstm.macs == steps * 4 * u * (d + u)
    assert lstm.param_bytes == 4 * (u * (d + u) + u) * 4
    assert one((steps, d), L.GRU(u, return_sequences=True)).macs == steps * 3 * u * (d + u)
    assert one((steps, d), L.Bidirectional(L.LSTM(u))).macs == 2 * steps * 4 * u * (d + u)
    assert one((6, 3), L.TimeDistributed(L.Dense(4))).macs == 6 * 3 * 4


def test_sequence_of_unknown_length_is_not_known():
    row = one((None, 5), L.LSTM(4))
    assert row.macs is None and row.note == "sequence length unknown"
    assert row.param_bytes == 4 * (4 * 9 + 4) * 4
    assert row.activation_bytes == 4 * 4


def test_pooling_counts_comparisons_and_additions_not_macs():
    row = one((8, 8, 3), L.MaxPooling2D(2))  # out (4, 4, 3), a 2×2 window each
    assert (row.macs, row.ops, row.ops_kind) == (0, 4 * 4 * 3 * 4, "comparisons")
    assert row.macs_text() == "0 MACs (+ 192 comparisons)"
    average = one((10, 2), L.AveragePooling1D(2))
    assert (average.macs, average.ops, average.ops_kind) == (0, 5 * 2 * 2, "additions")
    assert one((4, 4, 3), L.GlobalAveragePooling2D()).ops == 48
    assert one((4, 4, 3), L.GlobalMaxPooling2D()).ops_kind == "comparisons"


def test_normalisation_per_element():
    batch = one((10,), L.BatchNormalization())
    assert batch.macs == 10 and batch.param_bytes == 40 * 4  # gamma, beta, mean, variance
    assert one((10,), L.LayerNormalization()).macs == 30
    assert one((6,), L.UnitNormalization()).macs == 12
    assert one((6,), L.Rescaling(1 / 255)).macs == 6


def test_embedding_is_a_lookup():
    row = one((15,), L.Embedding(100, 8))
    assert (row.macs, row.ops, row.ops_kind) == (0, 15, "lookups")
    assert row.param_bytes == 100 * 8 * 4
    assert row.activation_bytes == 15 * 8 * 4


def test_zero_cost_layers_and_unmodelled_layer():
    model = costs((8, 8, 3), L.Flatten(), L.Dropout(0.5), L.ReLU())
    assert [row.macs for row in model.layers] == [0, 0, 0]
    assert model.complete
    resized = costs((8, 8, 3), L.Resizing(4, 4), L.Flatten(), L.Dense(2))
    assert resized.layers[0].macs is None
    assert resized.layers[0].macs_text() == "—"
    assert not resized.complete
    assert resized.macs == 4 * 4 * 3 * 2  # the totals add what is known


def test_totals_and_mixed_precision_dtype():
    model = costs((20,), L.Dense(10), L.Dense(3))
    assert model.macs == 20 * 10 + 10 * 3
    assert model.param_bytes == (210 + 33) * 4
    assert model.activation_bytes == (10 + 3) * 4
    entry = {"class_name": "Dense", "config": {"units": 10}}
    entry["config"]["dtype"] = {"class_name": "DTypePolicy", "config": {"name": "mixed_float16"}}
    row = C.layer_cost(0, entry, (None, 20), (None, 10), 210)
    assert (row.param_bytes, row.activation_bytes) == (210 * 4, 10 * 2)


def test_layers_after_an_error_and_functional_models_have_no_cost():
    spec = S.new_spec((4,))
    spec = S.insert_layer(spec, 0, "Conv2D")  # needs a rank-4 input: an error
    spec = S.insert_layer(spec, 1, "Dense")
    model = C.model_cost(spec, S.analyse(spec))
    assert [row.macs for row in model.layers] == [None, None]
    assert not model.complete
    functional = S.Analysis(functional=True)
    assert C.model_cost(spec, functional).layers == []
    assert C.model_cost(spec, None).layers == []


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (850, "850"), (1234, "1.2 K"), (1_200_000, "1.2 M"), (3.4e9, "3.4 G")],
)
def test_format_count(value, text):
    assert C.format_count(value) == text


def test_format_bytes():
    assert C.format_bytes(512) == "512 B"
    assert C.format_bytes(1536) == "1.5 KiB"
    assert C.format_bytes(None) == "—"
