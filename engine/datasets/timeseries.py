"""Time series from a CSV: windows of past rows → a value ``delay`` rows later (the Jena tutorial).

Rows are split in time order into training, validation and test parts; features are z-scored
with training statistics; the target stays in its own units so MAE reads in those units. For
``fit``, windows come from ``keras.utils.timeseries_dataset_from_array`` (built per batch: Jena's
200,000 windows of 240 x 14 would be 2.7 GB as one array); the same windows are cut with numpy
for samples and ``test_arrays``. The naive forecast "the target will be what it is at the end of
the window" gives ``baseline_mae`` on the validation part — the number a model has to beat.
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from engine.datasets.base import Sample, Store
from engine.datasets.build import Standardizer, assemble
from engine.datasets.csvfile import looks_numeric, numeric_column, read_csv
from engine.errors import DatasetError

_SAMPLE_COUNT = 4


class WindowStore(Store):
    """Windows starting at ``starts`` (absolute row numbers), ``length`` rows every ``step``.

    ``naive_forecast``: the target at each window's last row (the naive baseline's guess).
    """

    naive_forecast: np.ndarray | None = None

    def __init__(self, data, targets, starts, end, length: int, step: int):
        self.data = data
        self.targets = targets
        self.starts = starts
        self.end = end
        self.length = length
        self.step = step

    def __len__(self) -> int:
        return len(self.starts)

    def take(self, indices: np.ndarray) -> np.ndarray:
        rows = self.starts[np.asarray(indices)][:, None] + np.arange(self.length) * self.step
        return self.data[rows]

    def dataset(self, labels, batch_size: int, shuffle: bool, seed):
        if not len(self.starts):
            return None
        start = int(self.starts[0])
        end = self.end if self.end < len(self.data) else None
        return keras.utils.timeseries_dataset_from_array(
            self.data,
            self.targets,
            sequence_length=self.length,
            sampling_rate=self.step,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            start_index=start,
            end_index=end,
        )


def load(block: dict, loss, validation_split: float, progress):
    if progress is not None:
        progress(f"Reading {block['path']}", None)
    table = read_csv(block["path"], block["delimiter"], block["encoding"], progress=progress)
    target = block["target"]
    if isinstance(target, list):
        if len(target) != 1:
            raise DatasetError(
                "A time series predicts one target column.",
                field="target",
                fix="Pick a single column.",
            )
        target = target[0]
    table.require_columns([target], "target")
    features = block["features"]
    skipped: list[str] = []
    if isinstance(features, str):
        features = [features]
    if not features:
        features = [c for c in table.frame.columns if looks_numeric(table.frame[c])]
        skipped = [c for c in table.frame.columns if c not in features]
    table.require_columns(features, "features")
    if not features:
        raise DatasetError(
            f"The file {table.path} has no numeric columns to use.", field="features"
        )
    columns = {name: numeric_column(table, name).to_numpy() for name in {*features, target}}
    for name in [target, *features]:
        bad = ~np.isfinite(columns[name])
        if bad.any():
            raise DatasetError(
                f"Column {name!r} of {table.path} is empty, NaN or infinite on line "
                f"{table.line_of(int(np.argmax(bad)))}.",
                field="features",
                fix="Fill in the value (a time series cannot skip rows).",
            )
    raw = np.column_stack([columns[name] for name in features])
    target_values = columns[target].astype("float64")
    n = len(raw)
    fractions = block["split"]
    n_train = int(n * fractions[0])
    n_val = int(n * fractions[1])
    bounds = {
        "train": (0, n_train),
        "validation": (n_train, n_train + n_val),
        "test": (n_train + n_val, n),
    }
    lookback, step, delay = block["lookback"], block["step"], block["delay"]
    length = len(range(0, lookback, step))
    offset = (length - 1) * step + delay
    scaler = Standardizer(raw[:n_train], enabled=block["normalize"])
    data = scaler.apply(raw)
    shifted = np.zeros(n, dtype="float32")
    if offset < n:
        shifted[: n - offset] = target_values[offset:]
    needed = offset + 1
    parts, baselines = {}, {}
    last_column = features.index(target) if target in features else None
    for part, (a, b) in bounds.items():
        rows = b - a
        if rows == 0 and part != "train":
            continue
        if rows < needed:
            raise DatasetError(
                f"The {part} part of {table.path.name} has {rows:,} rows, but a window with "
                f"lookback {lookback} (every {step}) and delay {delay} needs {needed:,}.",
                field="lookback",
                fix=(
                    "Shorten lookback or delay, give that part a larger share of the split, or "
                    f"use a longer series ({n:,} rows now)."
                ),
            )
        starts = np.arange(a, b - offset, dtype="int64")
        store = WindowStore(data, shifted, starts, b - delay, length, step)
        labels = target_values[starts + offset].astype("float32")
        parts[part] = (store, labels)
        last = target_values[starts + (length - 1) * step]
        store.naive_forecast = last.astype("float32")
        baselines[part] = float(np.mean(np.abs(last - target_values[starts + offset])))

    def history(window: np.ndarray) -> np.ndarray:
        raw_window = scaler.invert(window)
        column = last_column if last_column is not None else 0
        return raw_window[:, column]

    def describe(x_row) -> Sample:
        return Sample("series", history(np.asarray(x_row).reshape(length, len(features))), "")

    def encode(values) -> np.ndarray:
        if isinstance(values, (pd.DataFrame, dict)):
            frame = pd.DataFrame(values)
            missing = [c for c in features if c not in frame.columns]
            if missing:
                raise DatasetError(f"The new series lacks the columns {', '.join(missing)}.")
            values = frame[features].to_numpy(dtype="float64")
        values = np.asarray(values, dtype="float64")
        span = (length - 1) * step + 1
        if values.ndim != 2 or values.shape[1] != len(features) or len(values) < span:
            raise DatasetError(
                f"A new series needs at least {span} rows of {len(features)} columns "
                f"({', '.join(features)}); got shape {values.shape}."
            )
        return scaler.apply(values[-span::step])[None, ...]

    train_store, train_labels = parts["train"]
    picks = np.linspace(0, len(train_store) - 1, _SAMPLE_COUNT).astype(int)
    samples = [
        Sample(
            "series",
            history(train_store.take(np.array([i]))[0]),
            f"{target} {delay} rows later: {train_labels[i]:.4g}",
        )
        for i in picks
    ]
    baseline = baselines.get("validation", baselines.get("test", baselines["train"]))
    notes = [
        f"Target: {target} {delay} rows after each window's last row, in its own units.",
        "Naive baseline (last value) MAE: "
        + ", ".join(f"{part} {value:.4g}" for part, value in baselines.items())
        + ".",
    ]
    if skipped:
        notes.append(f"Non-numeric columns left out: {', '.join(skipped)}.")
    return assemble(
        block,
        title=f"{table.path.name} (time series)",
        count_unit=f"windows from {n_train:,} / {n_val:,} / {n - n_train - n_val:,} rows",
        task="regression",
        parts=parts,
        loss=loss,
        input_shape=(length, len(features)),
        dtype="float32",
        input_note=(
            f"windows of {length} steps (lookback {lookback}, every {step} rows) × "
            f"{len(features)} features" + (" z-scored" if block["normalize"] else "")
        ),
        samples=samples,
        baseline_mae=baseline,
        describer=describe,
        encoder=encode,
        notes=tuple(notes),
    )
