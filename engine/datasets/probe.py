"""A dataset's input shape from its settings and file headers, without loading the data.

``input_signature(block)`` answers "what shape will one model input have?" in milliseconds, so
the window can show the right Input row and parameter counts the moment a dataset is chosen:
Keras's built-in sets and the scikit-learn samples have fixed shapes, a CSV's width comes from
its header and a scan of its values (text columns are one-hot encoded), an ``.npz`` file's from
its arrays' headers (never unpickled, never read in full), folders from the block's options.

The shape it gives is the shape ``load_dataset`` gives (a contract test checks every source);
where that cannot be known without loading (a vocabulary learned from the texts, a CSV too
large to scan whose columns hold text), the shape is None and ``reason`` says why. It never
imports TensorFlow or Keras and never raises for anything in the block.
"""

from __future__ import annotations

import csv
import io
import math
import threading
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.datasets.options import resolve_block
from engine.errors import LayerLabError

# A CSV up to this size is scanned in full (values, missing cells, text levels); a larger one
# only in its first _SCAN_BYTES, which is enough to tell numeric columns from text ones.
_SCAN_BYTES = 2 * 1024 * 1024
# Columns are judged numeric or text on their first rows when those agree throughout.
_JUDGE_ROWS = 2000
_AUTO_MAX_CLASSES = 10
# pandas' default missing-value markers (read_csv's na_values).
_NA = frozenset(
    (
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    )
)
_BOOLS = frozenset(("True", "False", "TRUE", "FALSE", "true", "false"))

_KERAS_IMAGES = {
    "mnist": ((28, 28, 1), 10),
    "fashion_mnist": ((28, 28, 1), 10),
    "cifar10": ((32, 32, 3), 10),
    "cifar100": ((32, 32, 3), 100),
}
_SAMPLES = {
    "digits": (64, "multiclass", 10),
    "iris": (4, "multiclass", 3),
    "wine": (13, "multiclass", 3),
    "breast_cancer": (30, "binary", 2),
    "diabetes": (10, "regression", None),
}
_BOSTON_FEATURES = 13
_REUTERS_CLASSES = 46


@dataclass(frozen=True)
class ProbeResult:
    """What a dataset block will give, as far as its settings and headers tell.

    ``input_shape``: one example's shape without the batch axis (e.g. ``(30,)``), or None when
    it cannot be known without loading; ``reason`` then says why in a sentence. ``task``
    ("binary", "multiclass", "multilabel", "regression") and ``num_classes`` are given where
    cheap, else None. ``exact`` is False when a large CSV was judged from its first rows only.
    ``target_shape`` is one example's label shape for ``spec.analyse(..., target_shape=…)``:
    ``()`` for one number or class per example, ``(k,)`` for k targets, None when unknown.
    """

    input_shape: tuple | None
    task: str | None = None
    num_classes: int | None = None
    dtype: str | None = None
    reason: str | None = None
    exact: bool = True
    target_shape: tuple | None = ()

    @property
    def ok(self) -> bool:
        return self.input_shape is not None


class _Unknown(Exception):
    """The shape cannot be known cheaply; the message says why (a sentence)."""


def input_signature(block: dict, validation_split: float = 0.0) -> ProbeResult:
    """The input shape (and task, where cheap) ``load_dataset(block, validation_split=…)``
    will give, from settings and file headers only. Never raises: a problem is the ``reason``
    of a result whose ``input_shape`` is None."""
    try:
        resolved = resolve_block(block)
        source = resolved["source"]
        return _PROBES[source](resolved, float(validation_split or 0.0))
    except LayerLabError as error:
        return ProbeResult(None, reason=str(error), target_shape=None)
    except _Unknown as unknown:
        return ProbeResult(None, reason=str(unknown), target_shape=None)
    except Exception as error:  # the contract: never raise for user input
        detail = str(error) or type(error).__name__
        return ProbeResult(
            None,
            reason=f"The dataset settings could not be read ({detail}).",
            target_shape=None,
        )


# ------------------------------------------------------------------ fixed-shape sources


def _keras(block: dict, validation_split: float) -> ProbeResult:
    name = block["name"]
    if name in _KERAS_IMAGES:
        shape, classes = _KERAS_IMAGES[name]
        if name == "cifar100" and block.get("label_mode") == "coarse":
            classes = 20
        if block.get("flatten"):
            shape = (math.prod(shape),)
        return ProbeResult(tuple(shape), "multiclass", classes, "float32")
    if name == "boston_housing":
        return ProbeResult((_BOSTON_FEATURES,), "regression", None, "float32")
    # imdb, reuters
    task, classes = ("binary", 2) if name == "imdb" else ("multiclass", _REUTERS_CLASSES)
    if block["encoding"] == "sequences":
        return ProbeResult((block["sequence_length"],), task, classes, "int32")
    if block["num_words"]:
        return ProbeResult((block["num_words"],), task, classes, "float32")
    return ProbeResult(
        None,
        task,
        classes,
        "float32",
        reason=(
            f"With num_words empty, the width of the {name} multi-hot vectors is the largest "
            "word index in the data, known only once it is loaded: set num_words, or load the "
            "preview."
        ),
    )


def _sample(block: dict, validation_split: float) -> ProbeResult:
    width, task, classes = _SAMPLES[block["name"]]
    return ProbeResult((width,), task, classes, "float32")


# ----------------------------------------------------------------------------- folders


def _class_dirs(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _folder_classes(path: str) -> int:
    """The number of classes ``folders.find_layout`` finds (its checks, without the files)."""
    root = Path(path).expanduser()
    if not root.exists():
        raise _Unknown(f"The folder {root} does not exist.")
    if not root.is_dir():
        raise _Unknown(f"The path {root} is a file, not a folder.")
    train = root / "train"
    if train.is_dir() and _class_dirs(train):
        classes = _class_dirs(train)
        if (root / "test").is_dir():
            test_classes = set(_class_dirs(root / "test"))
            classes = [c for c in classes if c in test_classes]
    else:
        classes = _class_dirs(root)
    if len(classes) < 2:
        raise _Unknown(f"The folder {root} needs at least two class sub-folders.")
    return len(classes)


def _task(classes: int) -> str:
    return "binary" if classes == 2 else "multiclass"


def _image_folder(block: dict, validation_split: float) -> ProbeResult:
    classes = _folder_classes(block["path"])
    height, width = block["image_size"]
    channels = 1 if block["color_mode"] == "grayscale" else 3
    return ProbeResult((height, width, channels), _task(classes), classes, "float32")


def _text_folder(block: dict, validation_split: float) -> ProbeResult:
    classes = _folder_classes(block["path"])
    if block["output_mode"] == "int":
        return ProbeResult((block["sequence_length"],), _task(classes), classes, "int32")
    stored = block.get("vocabulary")
    if isinstance(stored, list) and stored and all(isinstance(w, str) for w in stored):
        return ProbeResult((len(stored),), _task(classes), classes, "float32")
    return ProbeResult(
        None,
        _task(classes),
        classes,
        "float32",
        reason=(
            f"The width of {block['output_mode']} vectors is the size of the vocabulary learned "
            f"from the texts (at most max_tokens, {block['max_tokens']:,}), known once they are "
            "read: load the preview."
        ),
    )


# --------------------------------------------------------------------------------- npz


def _npz(block: dict, validation_split: float) -> ProbeResult:
    path = Path(block["path"]).expanduser()
    if not path.is_file():
        raise _Unknown(f"The file {path} does not exist.")
    headers = _npz_headers(path)
    if "x_train" not in headers:
        raise _Unknown(f"The file {path} has no x_train array.")
    shape, dtype = headers["x_train"]
    if dtype.kind not in "iubf" or len(shape) < 1:
        raise _Unknown(f"In {path}, x_train must be an array of numbers, one row per example.")
    task, classes, labels = None, None, None
    if "y_train" in headers:
        y_shape, y_dtype = headers["y_train"]
        requested = block["task"]
        single = len(y_shape) == 1 or (len(y_shape) == 2 and y_shape[1] == 1)
        if requested != "auto":
            task = requested
        elif single:
            task = "regression" if y_dtype.kind not in "iub" else None  # classes: 2 or more
        if single:
            labels = ()
        elif len(y_shape) == 2 and y_shape[1] > 2:
            # k columns: one-hot classes, k labels or k numbers; the output has k units.
            labels = (int(y_shape[1]),)
    return ProbeResult(
        tuple(int(d) for d in shape[1:]),
        task,
        classes,
        "float32" if dtype.kind == "f" else str(dtype),
        target_shape=labels,
    )


def _npz_headers(path: Path) -> dict[str, tuple[tuple, np.dtype]]:
    """name → (shape, dtype) of each array, read from the .npy headers inside the zip."""
    headers = {}
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with archive.open(info) as member:
                    version = np.lib.format.read_magic(member)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(member)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(member)
                headers[info.filename[: -len(".npy")]] = (tuple(shape), dtype)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as error:
        raise _Unknown(f"The file {path} is not a readable .npz file ({error}).") from None
    return headers


# --------------------------------------------------------------------------------- CSV


@dataclass
class _Table:
    path: Path
    names: list[str]
    rows: list[list[str]]
    complete: bool
    _numeric: dict[str, bool] = field(default_factory=dict)

    def column(self, name: str) -> list[str]:
        i = self.names.index(name)
        return [row[i] for row in self.rows]

    def numeric(self, name: str) -> bool:
        """``csvfile.looks_numeric`` of a column, judged once per file version."""
        if name not in self._numeric:
            # A file read in full is judged on every row, as the loader does; a larger one on
            # its first rows (then ``exact`` is False).
            rows = self.rows if self.complete else self.rows[:_JUDGE_ROWS]
            i = self.names.index(name)
            self._numeric[name] = _looks_numeric([row[i] for row in rows])
        return self._numeric[name]

    def require(self, names: list[str], what: str) -> None:
        missing = [n for n in names if n not in self.names]
        if missing:
            raise _Unknown(
                f"The file {self.path} has no column {', '.join(map(repr, missing))} (the {what})."
            )


_TABLES: OrderedDict[tuple, _Table] = OrderedDict()
_TABLES_LOCK = threading.Lock()


def _read_table(path: str, delimiter: str, encoding: str) -> _Table:
    file = Path(path).expanduser()
    try:
        stat = file.stat()
    except OSError:
        raise _Unknown(f"The file {file} does not exist.") from None
    if not file.is_file():
        raise _Unknown(f"The path {file} is not a file.")
    key = (str(file), stat.st_mtime_ns, stat.st_size, delimiter, encoding)
    with _TABLES_LOCK:
        if key in _TABLES:
            _TABLES.move_to_end(key)
            return _TABLES[key]
    with open(file, "rb") as handle:
        data = handle.read(_SCAN_BYTES + 1)
    complete = len(data) <= _SCAN_BYTES
    if not complete:
        data = data[: data.rfind(b"\n") + 1]
    try:
        text = data.decode(encoding)
    except (LookupError, UnicodeDecodeError):
        raise _Unknown(f"The file {file} cannot be read as {encoding} text.") from None
    if len(delimiter) != 1:
        raise _Unknown(f"The delimiter {delimiter!r} must be a single character.")
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise _Unknown(f"The file {file} is empty.")
    names = [h.strip() for h in header]
    if len(set(names)) != len(names):
        raise _Unknown(f"The file {file} has more than one column with the same name.")
    rows = []
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            raise _Unknown(f"Line {reader.line_num} of {file} has {len(row)} fields.")
        rows.append(row)
    if not rows:
        raise _Unknown(f"The file {file} has a header line but no data rows.")
    table = _Table(file, names, rows, complete)
    with _TABLES_LOCK:
        _TABLES[key] = table
        while len(_TABLES) > 8:
            _TABLES.popitem(last=False)
    return table


def _number(value: str) -> float | None:
    """The value as pandas would read it into a float column; None for text."""
    try:
        return float(value)
    except ValueError:
        return None


def _is_missing(value: str) -> bool:
    return value in _NA or value.strip() == ""


def _looks_numeric(values: list[str]) -> bool:
    """``csvfile.looks_numeric`` on the column pandas would make of ``values``."""
    present = [v for v in values if not _is_missing(v)]
    if not present:
        return True
    if all(v.strip() in _BOOLS for v in present):
        return True  # pandas reads a True/False column as bool, which counts as numeric
    numbers = sum(_number(v) is not None for v in present)
    return numbers / len(present) >= 0.8


def _finite(value: str) -> bool:
    if _is_missing(value):
        return False
    number = _number(value)
    return number is not None and math.isfinite(number)


def _as_text(value: str) -> str:
    """``tabular._text`` of a value pandas kept as text."""
    return value.strip()


def _csv(block: dict, validation_split: float) -> ProbeResult:
    table = _read_table(block["path"], block["delimiter"], block["encoding"])
    targets = [block["target"]] if isinstance(block["target"], str) else list(block["target"])
    table.require(targets, "target")
    features = block["features"]
    if isinstance(features, str):
        features = [features]
    features = features or [c for c in table.names if c not in targets]
    table.require(features, "features")
    if not features or any(c in targets for c in features):
        raise _Unknown("The features must be columns other than the target.")
    several = len(targets) > 1
    requested = block["task"]
    columns = {name: table.column(name) for name in {*features, *targets}}
    numeric = {name: table.numeric(name) for name in columns}
    if requested == "regression" or several:
        numeric.update(dict.fromkeys(targets, True))
    task = _csv_task(columns, numeric, targets, requested, several)
    labels = (len(targets),) if several else ()
    text_columns = [c for c in features if not numeric[c]]
    if not text_columns:
        return ProbeResult(
            (len(features),), task, None, "float32", exact=table.complete, target_shape=labels
        )
    if not table.complete:
        raise _Unknown(
            f"The file {table.path.name} is large and has text columns "
            f"({', '.join(text_columns)}), whose one-hot width depends on the values in the "
            "training rows: load the preview."
        )
    if block["test_path"] and not Path(block["test_path"]).expanduser().is_file():
        raise _Unknown(f"The file {Path(block['test_path']).expanduser()} does not exist.")
    train_rows = _csv_train_rows(
        block, table, columns, numeric, features, targets, validation_split
    )
    width = 0
    for name in features:
        if numeric[name]:
            width += 1
            continue
        values = columns[name]
        levels = {_as_text(values[i]) for i in train_rows if not _is_missing(values[i])}
        if len(levels) > block["max_categories"]:
            raise _Unknown(
                f"Column {name!r} of {table.path} is text with {len(levels)} distinct values; "
                f"at most max_categories ({block['max_categories']}) are one-hot encoded."
            )
        width += len(levels)
    return ProbeResult((width,), task, None, "float32", target_shape=labels)


def _csv_task(columns, numeric, targets, requested, several) -> str | None:
    """The task ``tabular.load`` settles on (judged on every row, not the training rows)."""
    if several:
        if requested != "auto":
            return requested
        if not all(numeric[t] for t in targets):
            return None
        binary = all(v.strip() in ("0", "1", "0.0", "1.0") for t in targets for v in columns[t])
        return "multilabel" if binary else "regression"
    if requested != "auto":
        return requested
    values = [v for v in columns[targets[0]] if not _is_missing(v)]
    if not numeric[targets[0]]:
        return "binary" if len({_as_text(v) for v in values}) == 2 else "multiclass"
    numbers = [n for n in (_number(v) for v in values) if n is not None and math.isfinite(n)]
    distinct = set(numbers)
    if all(n == round(n) for n in numbers) and len(distinct) <= _AUTO_MAX_CLASSES:
        return "binary" if len(distinct) == 2 else "multiclass"
    return "regression"


def _csv_train_rows(
    block, table, columns, numeric, features, targets, validation_split
) -> np.ndarray:
    """The training rows ``tabular.load`` picks: missing-value policy, test split, shuffle,
    then the validation tail (its ``split_rows`` / ``tail_rows``, re-done here)."""
    n = len(table.rows)

    def missing(name: str) -> np.ndarray:
        values = columns[name]
        if numeric[name]:
            return np.array([not _finite(v) for v in values], dtype=bool)
        return np.array([_is_missing(v) for v in values], dtype=bool)

    feature_missing = np.zeros(n, dtype=bool)
    for name in features:
        feature_missing |= missing(name)
    target_missing = np.zeros(n, dtype=bool)
    for name in targets:
        target_missing |= missing(name)
    mode = block["missing"]
    if mode == "refuse":
        if feature_missing.any() or target_missing.any():
            raise _Unknown(f"The file {table.path} has missing values, which 'missing' refuses.")
        drop = np.zeros(n, dtype=bool)
    elif mode == "drop_rows":
        drop = feature_missing | target_missing
    else:
        drop = target_missing
    valid = np.flatnonzero(~drop)
    if not len(valid):
        raise _Unknown(f"Every row of {table.path} has a missing value.")
    seed = block["seed"]
    if block["test_path"]:
        pool = valid
    else:
        keep, _ = _split_rows(len(valid), block["test_split"], seed)
        pool = valid[keep]
    pool = np.random.default_rng(seed).permutation(pool)
    cut = len(pool) - round(len(pool) * validation_split)
    return np.sort(pool[:cut])


def _split_rows(n: int, fraction: float, seed) -> tuple[np.ndarray, np.ndarray]:
    """``base.split_rows`` (not imported: base imports Keras)."""
    order = np.arange(n)
    np.random.default_rng(seed).shuffle(order)
    cut = n - round(n * fraction)
    return np.sort(order[:cut]), np.sort(order[cut:])


# -------------------------------------------------------------------------- time series


def _timeseries(block: dict, validation_split: float) -> ProbeResult:
    table = _read_table(block["path"], block["delimiter"], block["encoding"])
    target = block["target"]
    if isinstance(target, list):
        if len(target) != 1:
            raise _Unknown("A time series predicts one target column.")
        target = target[0]
    table.require([target], "target")
    features = block["features"]
    if isinstance(features, str):
        features = [features]
    if not features:
        features = [c for c in table.names if table.numeric(c)]
    table.require(features, "features")
    if not features:
        raise _Unknown(f"The file {table.path} has no numeric columns to use.")
    lookback, step, delay = block["lookback"], block["step"], block["delay"]
    length = len(range(0, lookback, step))
    if table.complete:
        n = len(table.rows)
        needed = (length - 1) * step + delay + 1
        fractions = block["split"]
        n_train, n_val = int(n * fractions[0]), int(n * fractions[1])
        for part, rows in (
            ("train", n_train),
            ("validation", n_val),
            ("test", n - n_train - n_val),
        ):
            if (rows or part == "train") and rows < needed:
                raise _Unknown(
                    f"The {part} part of {table.path.name} has {rows:,} rows, but a window "
                    f"with lookback {lookback} (every {step}) and delay {delay} needs {needed:,}."
                )
    return ProbeResult((length, len(features)), "regression", None, "float32", exact=table.complete)


_PROBES = {
    "keras": _keras,
    "sample": _sample,
    "csv": _csv,
    "timeseries": _timeseries,
    "image_folder": _image_folder,
    "text_folder": _text_folder,
    "npz": _npz,
}

__all__ = ["ProbeResult", "input_signature"]
