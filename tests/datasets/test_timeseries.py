"""Time-series windows (Jena-style), the naive baseline, and a series too short for its windows."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from engine.datasets import DatasetError, load_dataset


@pytest.fixture
def climate(tmp_path):
    n = 400
    t = np.arange(n)
    temperature = 10 + 5 * np.sin(t / 20.0)
    pressure = 1000 + t * 0.1
    lines = ["Date Time,p (mbar),T (degC)"]
    lines += [f"01.01.2009 {i:05d},{pressure[i]:.2f},{temperature[i]:.4f}" for i in range(n)]
    path = tmp_path / "climate.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, temperature


def _block(path, **fields):
    block = {
        "source": "timeseries",
        "path": str(path),
        "target": "T (degC)",
        "lookback": 30,
        "step": 3,
        "delay": 6,
        "split": [0.5, 0.25, 0.25],
    }
    block.update(fields)
    return block


def test_windows_targets_and_baseline(climate):
    path, temperature = climate
    dataset = load_dataset(_block(path))
    length = 10  # 30 rows every 3
    offset = (length - 1) * 3 + 6
    assert dataset.input_shape == (length, 2)  # the date column is left out
    assert "Non-numeric columns left out: Date Time" in dataset.description
    assert dataset.train_size == 200 - offset
    assert dataset.val_size == 100 - offset and dataset.test_size == 100 - offset
    assert dataset.task == "regression"
    # Validation windows start at row 200; the target is `offset` rows later, in degrees.
    val = dataset.parts["validation"]
    np.testing.assert_allclose(val.y[0], temperature[200 + offset], atol=1e-3)
    starts = np.arange(200, 300 - offset)
    expected = np.mean(np.abs(temperature[starts + 27] - temperature[starts + offset]))
    assert dataset.baseline_mae == pytest.approx(expected, rel=1e-3)
    assert "Naive baseline (last value) MAE" in dataset.description
    x, y = dataset.test_arrays(limit=5)
    assert x.shape == (5, length, 2) and y.shape == (5,)
    shown = dataset.describe_input(x[0])
    assert shown.kind == "series" and shown.value.shape == (length,)
    np.testing.assert_allclose(shown.value, temperature[300 : 300 + 28 : 3], atol=1e-3)


def test_keras_windows_match_the_numpy_windows(climate):
    path, _ = climate
    dataset = load_dataset(_block(path))
    args = dataset.fit_arguments(16, False, 0)
    first_x, first_y = next(iter(args["x"]))
    train = dataset.parts["train"]
    np.testing.assert_allclose(first_x.numpy(), train.x.take(np.arange(16)), rtol=1e-6)
    np.testing.assert_allclose(first_y.numpy(), train.y[:16], rtol=1e-6)
    total = sum(int(batch[0].shape[0]) for batch in args["x"])
    assert total == dataset.train_size
    val_total = sum(int(batch[0].shape[0]) for batch in args["validation_data"])
    assert val_total == dataset.val_size
    test_total = sum(int(b[0].shape[0]) for b in dataset.evaluate_arguments(16)["x"])
    assert test_total == dataset.test_size


def test_a_small_gru_trains_on_it(climate):
    path, _ = climate
    dataset = load_dataset(_block(path))
    model = keras.Sequential(
        [keras.Input(dataset.input_shape), keras.layers.GRU(4), keras.layers.Dense(1)]
    )
    model.compile(optimizer="rmsprop", loss="mean_squared_error", metrics=["mean_absolute_error"])
    history = model.fit(**dataset.fit_arguments(32, True, 0), epochs=1, verbose=0)
    assert np.isfinite(history.history["val_mean_absolute_error"][0])


def test_lookback_longer_than_a_part_is_refused(climate):
    path, _ = climate
    with pytest.raises(DatasetError, match=r"validation part .* has 100 rows, but a window") as e:
        load_dataset(_block(path, lookback=90, step=3, delay=20))
    assert "needs 108" in str(e.value)
    with pytest.raises(DatasetError, match=r"train part .* needs 1,579\..*\(400 rows now\)"):
        load_dataset(_block(path, lookback=1440, step=6, delay=144))
    with pytest.raises(DatasetError, match="delay"):
        load_dataset(_block(path, delay=150))


def test_new_series_is_encoded_like_training_windows(climate):
    path, _ = climate
    dataset = load_dataset(_block(path))
    x, _ = dataset.test_arrays(limit=1)
    raw = np.loadtxt(path, delimiter=",", skiprows=1, usecols=(1, 2))[300:328]
    np.testing.assert_allclose(dataset.encode_inputs(raw), x, atol=1e-4)
    with pytest.raises(DatasetError, match="at least 28 rows"):
        dataset.encode_inputs(raw[:10])


def test_gaps_in_a_series_are_refused(tmp_path):
    path = tmp_path / "gappy.csv"
    path.write_text("a,b\n" + "".join(f"{i},{'' if i == 7 else i}\n" for i in range(100)))
    with pytest.raises(DatasetError, match=r"Column 'b' .* line 9"):
        load_dataset(_block(path, target="b", lookback=4, step=1, delay=1))
