"""The "changes" column: what a run does differently from the run it is compared with."""

from __future__ import annotations

import json

import keras

from engine.compare import changes, format_value

L = keras.layers


def snapshot(layers, *, learning_rate=1e-3, batch_size=512, num_words=10000, callbacks=()):
    model = keras.Sequential([keras.Input((100,)), *layers])
    optimizer = keras.optimizers.serialize(keras.optimizers.Adam(learning_rate))
    data = {
        "model": model.get_config(),
        "dataset": {"source": "keras", "name": "imdb", "num_words": num_words},
        "compile": {"optimizer": optimizer, "loss": "binary_crossentropy", "metrics": ["accuracy"]},
        "fit": {"epochs": 10, "batch_size": batch_size, "callbacks": list(callbacks)},
    }
    return json.loads(json.dumps(data))  # as stored in a project file


def lstm_stack(dropout=0.0, extra=()):
    return [L.Embedding(5000, 32), *extra, L.LSTM(16, dropout=dropout), L.Dense(1, "sigmoid")]


def test_three_runs_differing_in_one_setting_each_show_exactly_that():
    first = snapshot(lstm_stack())
    second = snapshot(lstm_stack(dropout=0.3))  # keras names every layer anew: lstm_1 ...
    third = snapshot(lstm_stack(dropout=0.3), learning_rate=3e-4)
    fourth = snapshot(lstm_stack(dropout=0.3, extra=[L.SpatialDropout1D(0.2)]), learning_rate=3e-4)
    assert changes(first, second) == ["LSTM.dropout 0 → 0.3"]
    assert changes(second, third) == ["optimizer.learning_rate 0.001 → 0.0003"]
    assert changes(third, fourth) == ["+SpatialDropout1D(rate=0.2) after Embedding"]
    assert changes(first, first) == []
    assert changes(None, first) == []


def test_removed_layer_fit_dataset_and_callbacks():
    base = snapshot([L.Dense(16, "relu"), L.Dropout(0.5), L.Dense(1, "sigmoid")])
    early = {"class_name": "EarlyStopping", "config": {"monitor": "val_loss", "patience": 3}}
    other = snapshot(
        [L.Dense(16, "relu"), L.Dense(1, "sigmoid")],
        batch_size=128,
        num_words=5000,
        callbacks=[early],
    )
    assert changes(base, other) == [
        "-Dropout(rate=0.5)",
        "fit.batch_size 512 → 128",
        "+EarlyStopping(monitor=val_loss, patience=3)",
        "dataset.num_words 10000 → 5000",
    ]
    assert changes(other, base) == [
        "+Dropout(rate=0.5) after Dense[1]",
        "fit.batch_size 128 → 512",
        "-EarlyStopping",
        "dataset.num_words 5000 → 10000",
    ]


def test_repeated_layer_classes_are_numbered_and_replacements_read_as_arrows():
    base = snapshot([L.Dense(16, "relu"), L.Dense(16, "relu"), L.Dense(1)])
    wider = snapshot([L.Dense(16, "relu"), L.Dense(32, "relu"), L.Dense(1)])
    assert changes(base, wider) == ["Dense[2].units 16 → 32"]
    regularised = snapshot(
        [L.Dense(16, "relu", kernel_regularizer=keras.regularizers.L2(0.01)), L.Dense(1)]
    )
    plain = snapshot([L.Dense(16, "relu"), L.Dense(1)])
    assert changes(plain, regularised) == ["Dense[1].kernel_regularizer None → L2(l2=0.01)"]
    gru = snapshot([L.Embedding(5000, 32), L.GRU(16), L.Dense(1, "sigmoid")])
    assert changes(snapshot(lstm_stack()), gru) == [
        "LSTM(units=16, activation=tanh) → GRU(units=16, activation=tanh)"
    ]


def test_wrapped_layers_optimizer_class_input_shape_and_metrics():
    def bidi(units):
        return [L.Embedding(100, 8), L.Bidirectional(L.LSTM(units)), L.Dense(1)]

    base, wider = snapshot(bidi(8)), snapshot(bidi(16))
    assert changes(base, wider) == ["Bidirectional(LSTM).units 8 → 16"]
    rmsprop = {**base, "compile": {**base["compile"], "optimizer": "rmsprop"}}
    assert changes(base, rmsprop) == ["optimizer Adam → RMSprop"]
    by_name = {**base, "compile": {**base["compile"], "optimizer": "adam"}}
    assert changes(base, by_name) == []  # "adam" is Adam with Keras's defaults
    more_metrics = {**base, "compile": {**base["compile"], "metrics": ["accuracy", "auc"]}}
    assert changes(base, more_metrics) == ["metrics +auc"]
    shorter = keras.Sequential([keras.Input((50,)), *bidi(8)]).get_config()
    assert changes(base, {**base, "model": json.loads(json.dumps(shorter))}) == [
        "input shape (None, 100) → (None, 50)"
    ]


def test_values_read_as_typed():
    assert format_value(0.0010000000474974513) == "0.001"
    assert format_value(0.1) == "0.1"
    assert format_value(1e-7) == "1e-07"
    assert format_value(3.0) == "3"
    assert format_value([3, 3]) == "(3, 3)"
    assert format_value(None) == "None"
    assert format_value(list(range(20))) == "[20 items]"
