"""CSV tables: feature columns in, one target column (or several) out.

Numeric features are z-scored with training statistics; text features with few distinct values
are one-hot encoded (more are refused); a text target becomes class indices with its values kept
as class names. Missing values (empty, NaN, infinite) are refused unless the block says to drop
those rows or to impute features.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.datasets.base import (
    ArrayStore,
    Sample,
    release_free_memory,
)
from engine.datasets.build import assemble
from engine.datasets.csvfile import CsvTable, looks_numeric, numeric_column, read_csv
from engine.errors import DatasetError

_SAMPLE_COUNT = 8
_AUTO_MAX_CLASSES = 10
_FILL_ROWS = 1 << 18


@dataclass
class _Column:
    name: str
    numeric: bool
    mean: float = 0.0
    std: float = 1.0
    levels: tuple[str, ...] = ()
    most_frequent: str = ""

    @property
    def width(self) -> int:
        return 1 if self.numeric else len(self.levels)

    @property
    def output_names(self) -> list[str]:
        return [self.name] if self.numeric else [f"{self.name}={v}" for v in self.levels]


class _FeatureEncoder:
    """Table rows → float32 features, fitted on the training rows only."""

    def __init__(self, columns: list[_Column], normalize: bool):
        self.columns = columns
        self.normalize = normalize

    @property
    def width(self) -> int:
        return sum(c.width for c in self.columns)

    def transform(self, values: dict[str, pd.Series]) -> np.ndarray:
        n = len(next(iter(values.values()))) if values else 0
        out = np.zeros((n, self.width), dtype="float32")
        at = 0
        for column in self.columns:
            self.fill(out, at, column, values[column.name])
            at += column.width
        return out

    def fill(self, out: np.ndarray, at: int, column: _Column, series: pd.Series) -> None:
        """Encode one column's values into ``out[:, at : at + column.width]``."""
        if column.numeric:
            numbers = series.to_numpy(dtype="float64", copy=True)
            del series
            numbers[~np.isfinite(numbers)] = column.mean
            if self.normalize:
                numbers -= column.mean
                numbers /= column.std
            out[:, at] = numbers
        else:
            text = series.where(series.notna(), column.most_frequent).astype(str)
            for j, level in enumerate(column.levels):
                out[:, at + j] = (text == level).to_numpy()

    def invert(self, row: np.ndarray) -> dict:
        row = np.asarray(row, dtype="float64").reshape(-1)
        result, at = {}, 0
        for column in self.columns:
            if column.numeric:
                value = row[at] * column.std + column.mean if self.normalize else row[at]
                result[column.name] = float(value)
            else:
                block = row[at : at + column.width]
                result[column.name] = (
                    column.levels[int(np.argmax(block))] if block.max() > 0 else ""
                )
            at += column.width
        return result


def _text(series: pd.Series) -> pd.Series:
    """Text values with NaN kept, numbers written without a trailing '.0'."""

    def as_text(value):
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value).strip()

    return series.map(as_text, na_action="ignore")


def _column_missing(table: CsvTable, name: str, numeric: bool) -> np.ndarray:
    """Per row: is this column's value empty, NaN or infinite (no float64 copy of a numeric
    column)."""
    column = table.frame[name]
    if numeric and isinstance(column.dtype, np.dtype) and column.dtype.kind in "iuf":
        return ~np.isfinite(column.to_numpy())
    if numeric:
        return ~np.isfinite(numeric_column(table, name).to_numpy())
    return column.isna().to_numpy()


def _missing_rows(table: CsvTable, columns: list[str], numeric: dict[str, bool]) -> np.ndarray:
    """Per row: does any of ``columns`` miss its value (one column at a time)."""
    rows = np.zeros(len(table.frame), dtype=bool)
    for name in columns:
        rows |= _column_missing(table, name, numeric[name])
    return rows


def _refuse_missing(table: CsvTable, rows: np.ndarray, columns, numeric, what: str) -> None:
    if rows.any():
        row = int(np.argmax(rows))
        column = next(c for c in columns if _column_missing(table, c, numeric[c])[row])
        raise DatasetError(
            f"{what} column {column!r} of {table.path} is empty, NaN or infinite on line "
            f"{table.line_of(row)}.",
            field="missing",
            fix=(
                "Fill in the value, or set 'missing' to drop_rows (leave such rows out) or "
                "impute (fill features with the training mean or most frequent value)."
            ),
        )


def _valid_rows(table, features, targets, numeric, mode) -> tuple[np.ndarray, int]:
    feature_rows = _missing_rows(table, features, numeric)
    target_rows = _missing_rows(table, targets, numeric)
    if mode == "refuse":
        _refuse_missing(table, target_rows, targets, numeric, "Target")
        _refuse_missing(table, feature_rows, features, numeric, "Feature")
        drop = np.zeros(len(table.frame), dtype=bool)
    elif mode == "drop_rows":
        drop = feature_rows | target_rows
    else:
        drop = target_rows
    del feature_rows, target_rows
    if drop.any():
        keep = _positions(np.flatnonzero(~drop), len(drop))
    else:
        keep = np.arange(len(drop), dtype="int32" if len(drop) < 2**31 - 1 else "int64")
    if not len(keep):
        raise DatasetError(
            f"Every row of {table.path} has a missing value.",
            field="missing",
            fix="Check the file, or choose fewer columns.",
        )
    dropped = int(drop.sum())
    del drop
    release_free_memory(collect=False)
    return keep, dropped


def _distinct_numbers(table: CsvTable, name: str, rows: np.ndarray) -> np.ndarray:
    """The distinct values (float64) of a numeric column at ``rows``, without a float64 copy
    of the column."""
    column = table.frame[name]
    if isinstance(column.dtype, np.dtype) and column.dtype.kind in "iuf":
        raw = column.to_numpy()
        return pd.unique(raw if len(rows) == len(raw) else raw[rows]).astype("float64")
    return pd.unique(numeric_column(table, name, rows).to_numpy())


def _mean_and_std(values_at, rows: np.ndarray) -> tuple[float, float]:
    """Mean and (population) standard deviation of the finite values, in blocks of rows:
    one block gives exactly pandas' ``mean()`` and ``std(ddof=0)``; a large column never
    exists as float64 whole."""
    count, total = 0, 0.0
    for start in range(0, len(rows), _FILL_ROWS):
        block = values_at(rows[start : start + _FILL_ROWS]).to_numpy(dtype="float64")
        block = block[np.isfinite(block)]
        count += len(block)
        total += block.sum()
    if not count:
        return 0.0, 1.0
    mean = total / count
    squares = 0.0
    for start in range(0, len(rows), _FILL_ROWS):
        block = values_at(rows[start : start + _FILL_ROWS]).to_numpy(dtype="float64")
        block = block[np.isfinite(block)]
        squares += ((block - mean) ** 2).sum()
    return float(mean), float(np.sqrt(squares / count))


def _class_codes(values_at, rows: np.ndarray, ordered) -> np.ndarray | int:
    """Class indices of numeric targets at ``rows`` (``ordered``: the sorted class values),
    block by block; or the position of the first row whose value is not a class."""
    classes = np.asarray(ordered, dtype="float64")
    codes = np.empty(len(rows), dtype="int32" if len(classes) < 2**31 else "int64")
    for start in range(0, len(rows), _FILL_ROWS):
        block = values_at(rows[start : start + _FILL_ROWS]).to_numpy(dtype="float64")
        found = np.minimum(np.searchsorted(classes, block), len(classes) - 1)
        unknown = classes[found] != block
        if unknown.any():
            return start + int(np.argmax(unknown))
        codes[start : start + len(block)] = found
    return codes


def _positions(rows: np.ndarray, n: int) -> np.ndarray:
    """Row positions as int32 when the table allows (half the memory of int64 indices)."""
    return rows.astype("int32") if n < 2**31 - 1 else rows


def _infer_task(values: pd.Series, numeric: bool, several: bool, requested: str, name) -> str:
    if several:
        if requested in ("binary", "multiclass"):
            raise DatasetError(
                f"The task {requested} predicts one column, but the target is {name}.",
                field="target",
                fix="Pick a single target column, or set the task to multilabel or regression.",
            )
        return requested if requested != "auto" else "multilabel" if numeric else "regression"
    if requested == "multilabel":
        raise DatasetError(
            "The multilabel task needs several 0/1 target columns.",
            field="task",
            fix="List the target columns, or pick binary or multiclass.",
        )
    if requested != "auto":
        return requested
    if not numeric:
        return "binary" if values.nunique() == 2 else "multiclass"
    finite = values[np.isfinite(values)]
    distinct = finite.nunique()
    if (finite == np.round(finite)).all() and distinct <= _AUTO_MAX_CLASSES:
        return "binary" if distinct == 2 else "multiclass"
    return "regression"


def load(block: dict, loss, validation_split: float, progress):
    if progress is not None:
        progress(f"Reading {block['path']}", None)
    table = read_csv(block["path"], block["delimiter"], block["encoding"], progress=progress)
    targets = [block["target"]] if isinstance(block["target"], str) else list(block["target"])
    table.require_columns(targets, "target")
    features = block["features"]
    if isinstance(features, str):
        features = [features]
    features = features or [c for c in table.frame.columns if c not in targets]
    table.require_columns(features, "features")
    overlap = [c for c in features if c in targets]
    if overlap:
        raise DatasetError(
            f"The column {overlap[0]!r} is both a feature and the target.",
            field="features",
            fix="Remove it from the features.",
        )
    if not features:
        raise DatasetError(
            f"The file {table.path} has no columns left to use as features.", field="features"
        )
    test_table = None
    if block["test_path"]:
        test_table = read_csv(
            block["test_path"], block["delimiter"], block["encoding"], "test_path", progress
        )
        test_table.require_columns(features + targets, "test_path")
    several = len(targets) > 1
    requested = block["task"]
    numeric = {c: looks_numeric(table.frame[c]) for c in features + targets}
    if requested == "regression" or several:
        for name in targets:
            numeric[name] = True
    if requested in ("binary", "multiclass"):
        numeric[targets[0]] = numeric[targets[0]] and looks_numeric(table.frame[targets[0]])
    mode = block["missing"]
    release_free_memory(collect=False)  # the reading's buffers
    train_valid, dropped = _valid_rows(table, features, targets, numeric, mode)
    test_valid = None
    if test_table is not None:
        test_valid, dropped_test = _valid_rows(test_table, features, targets, numeric, mode)
        dropped += dropped_test

    target_values = None  # only guessing the task needs them (their distinct values)
    if not several and requested == "auto":
        target_values = (
            pd.Series(_distinct_numbers(table, targets[0], train_valid))
            if numeric[targets[0]]
            else _text(table.frame[targets[0]].iloc[train_valid])
        )
    if several and requested in ("auto", "multilabel"):
        matrix = np.column_stack(
            [numeric_column(table, t, train_valid).to_numpy() for t in targets]
        )
        binary = bool(np.isin(matrix, (0.0, 1.0)).all())
        if requested == "multilabel" and not binary:
            raise DatasetError(
                "The multilabel task needs target columns holding only 0 and 1.",
                field="target",
                fix="Pick regression for numeric targets.",
            )
        task = "multilabel" if binary else "regression"
    else:
        task = _infer_task(target_values, numeric[targets[0]], several, requested, targets)
    del target_values

    # Row sets (positions into the training table, or into the test table for "test").
    # The same rows as ``split_rows`` then ``permutation`` then ``tail_rows`` would give, cut
    # and sorted in place (views of one array: a large table's indices are not copied).
    seed = block["seed"]
    if test_table is None:
        n = len(train_valid)
        order = np.arange(n, dtype=train_valid.dtype)
        np.random.default_rng(seed).shuffle(order)
        cut = n - round(n * block["test_split"])
        order[:cut].sort()
        order[cut:].sort()
        if n == len(table.frame):  # no row left out: positions are rows
            pool, test_rows = order[:cut], ("train", order[cut:])
        else:
            pool, test_rows = train_valid[order[:cut]], ("train", train_valid[order[cut:]])
        del order
    else:
        test_rows = ("test", test_valid)
        pool = train_valid.copy()
    del train_valid, test_valid
    np.random.default_rng(seed).shuffle(pool)
    cut = len(pool) - round(len(pool) * validation_split)
    pool[:cut].sort()
    pool[cut:].sort()
    row_sets = {
        "train": ("train", pool[:cut]),
        "validation": ("train", pool[cut:]),
        "test": test_rows,
    }
    del pool
    tables = {"train": table, "test": test_table}

    def values_of(which: str, rows: np.ndarray, name: str) -> pd.Series:
        source = tables[which]
        if numeric[name]:
            return numeric_column(source, name, rows).reset_index(drop=True)
        return _text(source.frame[name].iloc[rows]).reset_index(drop=True)

    train_rows = row_sets["train"][1]
    columns = []
    for name in features:
        if numeric[name]:
            mean, std = _mean_and_std(
                lambda some, name=name: values_of("train", some, name), train_rows
            )
            columns.append(_Column(name, True, mean, std if std > 0 else 1.0))
        else:
            series = values_of("train", train_rows, name)
            present = series.dropna()
            levels = tuple(sorted(present.unique()))
            if len(levels) > block["max_categories"]:
                raise DatasetError(
                    f"Column {name!r} of {table.path} is text with {len(levels)} distinct "
                    f"values; at most max_categories ({block['max_categories']}) are one-hot "
                    "encoded.",
                    field="features",
                    fix=(
                        "Leave that column out of the features, or raise max_categories if it "
                        "really is a category."
                    ),
                )
            most = str(present.mode().iloc[0]) if len(present) else ""
            columns.append(_Column(name, False, levels=levels, most_frequent=most))
    encoder = _FeatureEncoder(columns, block["normalize"])

    class_names = None
    if task in ("binary", "multiclass"):
        if numeric[targets[0]]:
            ordered = sorted(_distinct_numbers(table, targets[0], train_rows))
            class_names = [str(int(v)) if float(v).is_integer() else str(v) for v in ordered]
            lookup = {float(v): i for i, v in enumerate(ordered)}
        else:
            class_names = sorted(values_of("train", train_rows, targets[0]).unique())
            lookup = {v: i for i, v in enumerate(class_names)}
        if len(class_names) < 2:
            raise DatasetError(
                f"The target column {targets[0]!r} of {table.path} has a single class "
                f"({class_names[0] if class_names else 'none'}) in the training rows.",
                field="target",
                fix="Use data with at least two classes, or a different target column.",
            )
        if task == "binary" and len(class_names) != 2:
            raise DatasetError(
                f"The task is binary, but the target column {targets[0]!r} has "
                f"{len(class_names)} classes.",
                field="task",
                fix="Set the task to multiclass (or auto).",
            )

    def labels_of(which: str, rows: np.ndarray) -> np.ndarray:
        if task in ("binary", "multiclass") and numeric[targets[0]]:
            codes = _class_codes(lambda some: values_of(which, some, targets[0]), rows, ordered)
            if isinstance(codes, np.ndarray):
                return codes
            position = codes  # the first row whose class the training rows do not have
            source = tables[which]
            value = values_of(which, rows[position : position + 1], targets[0]).iloc[0]
            raise DatasetError(
                f"Line {source.line_of(int(rows[position]))} of {source.path} has the "
                f"class {value!r}, which the training rows do not have.",
                field="target",
                fix=f"Known classes: {', '.join(class_names)}.",
            )
        if task in ("binary", "multiclass"):
            series = values_of(which, rows, targets[0])
            keys = series.astype("float64") if numeric[targets[0]] else series
            codes = keys.map(lookup)
            unknown = codes.isna().to_numpy()
            if unknown.any():
                position = int(np.argmax(unknown))
                source = tables[which]
                raise DatasetError(
                    f"Line {source.line_of(int(rows[position]))} of {source.path} has the "
                    f"class {series.iloc[position]!r}, which the training rows do not have.",
                    field="target",
                    fix=f"Known classes: {', '.join(class_names)}.",
                )
            return codes.to_numpy(dtype="int32" if len(class_names) < 2**31 else "int64")
        matrix = np.column_stack([values_of(which, rows, t).to_numpy() for t in targets])
        return matrix if several else matrix[:, 0]

    samples = []
    for row in train_rows[:_SAMPLE_COUNT]:
        record = {c: _plain(table.frame[c].iloc[row]) for c in features}
        label = ", ".join(str(_plain(table.frame[t].iloc[row])) for t in targets)
        samples.append(Sample("row", record, label))
    labels = {part: labels_of(which, rows) for part, (which, rows) in row_sets.items()}

    release_free_memory(collect=False)  # the statistics' and labels' temporaries
    outputs = {
        part: np.zeros((len(rows), encoder.width), dtype="float32")
        for part, (_, rows) in row_sets.items()
    }
    # Encode each table block by block in row order (every part's rows are sorted), handing
    # each block's memory back once done: the table shrinks while the float32 inputs grow, so
    # a large file never holds both whole.
    for which, source in tables.items():
        if source is None:
            continue
        names = [part for part, (from_table, _) in row_sets.items() if from_table == which]
        total = len(source.frame)
        for start in range(0, total, _FILL_ROWS):
            stop = min(total, start + _FILL_ROWS)
            for part in names:
                rows = row_sets[part][1]
                lo, hi = (int(i) for i in np.searchsorted(rows, (start, stop)))
                if hi <= lo:
                    continue
                some = rows[lo:hi]
                at = 0
                for column in columns:
                    encoder.fill(
                        outputs[part][lo:hi], at, column, values_of(which, some, column.name)
                    )
                    at += column.width
            source.release_rows(features, stop)
    parts = {part: (ArrayStore(outputs.pop(part)), labels.pop(part)) for part in row_sets}

    def describe(x_row) -> Sample:
        return Sample("row", encoder.invert(x_row), "")

    def encode(raw) -> np.ndarray:
        frame = pd.DataFrame([raw]) if isinstance(raw, dict) else pd.DataFrame(raw)
        missing = [c for c in features if c not in frame.columns]
        if missing:
            raise DatasetError(f"The new input lacks the columns {', '.join(map(repr, missing))}.")
        values = {}
        for column in columns:
            series = frame[column.name]
            if column.numeric:
                parsed = pd.to_numeric(series, errors="coerce")
                if parsed.isna().any() and block["missing"] != "impute":
                    raise DatasetError(
                        f"The value of {column.name!r} must be a number "
                        f"(got {series.iloc[int(np.argmax(parsed.isna()))]!r})."
                    )
                values[column.name] = parsed.astype("float64")
            else:
                values[column.name] = _text(series)
        return encoder.transform(values)

    notes = [f"Target: {', '.join(targets)}; features: {len(features)} column(s)."]
    categorical = [c.name for c in columns if not c.numeric]
    if categorical:
        notes.append(f"One-hot encoded: {', '.join(categorical)}.")
    if dropped:
        verb = "dropped" if mode == "drop_rows" else "dropped (no target)"
        notes.append(f"{dropped} row(s) with missing values {verb}.")
    if task in ("binary", "multiclass") and requested == "auto" and numeric[targets[0]]:
        notes.append(
            f"Task guessed from {len(class_names)} whole-number values; set 'task' to "
            "regression to predict the number instead."
        )
    note = f"{encoder.width} features" + (" (numbers z-scored)" if block["normalize"] else "")
    return assemble(
        block,
        title=f"{table.path.name}",
        task=task,
        parts=parts,
        loss=loss,
        input_shape=(encoder.width,),
        dtype="float32",
        input_note=note,
        class_names=class_names,
        samples=samples,
        describer=describe,
        encoder=encode,
        notes=tuple(notes),
    )


def _plain(value):
    if isinstance(value, np.float32):  # a large file's column: show 0.1, not 0.10000000149
        return float(str(value))
    if isinstance(value, np.generic):
        return value.item()
    return value
