"""What each source's ``"dataset"`` block accepts: names, kinds, defaults, ranges, help.

``source_options`` is what the GUI form shows; ``resolve_block`` is the single place where a
block is checked against it and completed with defaults, so the form, the CLI and the loaders
agree on every field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.errors import DatasetError

SOURCES: tuple[str, ...] = (
    "keras",
    "sample",
    "csv",
    "timeseries",
    "text_folder",
    "image_folder",
    "npz",
)
KERAS_NAMES = (
    "mnist",
    "fashion_mnist",
    "cifar10",
    "cifar100",
    "imdb",
    "reuters",
    "boston_housing",
)
SAMPLE_NAMES = ("digits", "iris", "wine", "breast_cancer", "diabetes")
KINDS = ("int", "float", "bool", "choice", "str", "path", "dir", "columns", "int_pair", "split")


@dataclass(frozen=True)
class OptionInfo:
    """One field of a dataset block, as the GUI form shows it."""

    name: str
    kind: str
    default: Any
    choices: tuple | None
    help: str
    minimum: float | None = None
    maximum: float | None = None


def _opt(name, kind, default, help_text, choices=None, minimum=None, maximum=None) -> OptionInfo:
    return OptionInfo(name, kind, default, choices, help_text, minimum, maximum)


_SEED = _opt("seed", "int", 113, "Random seed for shuffling and splitting.", minimum=0)
_TEST_SPLIT = _opt(
    "test_split", "float", 0.2, "Fraction of the data held out as the test part.", None, 0.0, 0.9
)
_NORMALIZE = _opt(
    "normalize",
    "bool",
    True,
    "Scale each input feature to mean 0, standard deviation 1 (statistics from the training "
    "part only).",
)
_RESCALE = _opt("rescale", "bool", True, "Divide pixel values by 255 so they lie in [0, 1].")
_FLATTEN = _opt(
    "flatten",
    "bool",
    False,
    "Give each image as one flat vector (28×28 → 784) instead of height × width × channels.",
)
_TEXT_ARGS = (
    _opt(
        "num_words",
        "int",
        10000,
        "Keep the most frequent words only (rarer words become the out-of-vocabulary index 2). "
        "Empty or 0: all words.",
        minimum=0,
    ),
    _opt("skip_top", "int", 0, "Also drop the most frequent words (e.g. 'the').", minimum=0),
    _opt(
        "maxlen",
        "int",
        None,
        "Drop reviews/newswires longer than this many words. Empty or 0: keep all.",
        minimum=0,
    ),
    _SEED,
    _opt(
        "encoding",
        "choice",
        "multi_hot",
        "multi_hot: a num_words-long 0/1 vector per text (for Dense layers); sequences: word "
        "indices padded/truncated to sequence_length (for Embedding, LSTM, Conv1D).",
        ("multi_hot", "sequences"),
    ),
    _opt(
        "sequence_length",
        "int",
        500,
        "With sequences: pad or cut every text to this many words (like pad_sequences).",
        minimum=1,
    ),
)
_KERAS_EXTRA: dict[str, tuple[OptionInfo, ...]] = {
    "mnist": (_RESCALE, _FLATTEN),
    "fashion_mnist": (_RESCALE, _FLATTEN),
    "cifar10": (_RESCALE, _FLATTEN),
    "cifar100": (
        _opt(
            "label_mode",
            "choice",
            "fine",
            "fine: 100 classes; coarse: 20 super-classes.",
            ("fine", "coarse"),
        ),
        _RESCALE,
        _FLATTEN,
    ),
    "imdb": _TEXT_ARGS,
    "reuters": (
        *_TEXT_ARGS[:3],
        _opt(
            "test_split",
            "float",
            0.2,
            "Fraction of newswires held out for testing.",
            None,
            0.05,
            0.9,
        ),
        *_TEXT_ARGS[3:],
    ),
    "boston_housing": (
        _opt(
            "test_split", "float", 0.2, "Fraction of houses held out for testing.", None, 0.0, 0.9
        ),
        _SEED,
        _NORMALIZE,
    ),
}
_SAMPLE_EXTRA = (_TEST_SPLIT, _SEED, _NORMALIZE)
_CSV_COMMON = (
    _opt("delimiter", "str", ",", "The character between fields."),
    _opt("encoding", "str", "utf-8", "The file's text encoding (utf-8, latin-1, cp1252, …)."),
)
_SOURCE_OPTIONS: dict[str, tuple[OptionInfo, ...]] = {
    "keras": (_opt("name", "choice", "mnist", "Which Keras dataset.", KERAS_NAMES),),
    "sample": (
        _opt(
            "name",
            "choice",
            "digits",
            "A small real dataset that ships with scikit-learn (works offline).",
            SAMPLE_NAMES,
        ),
        *_SAMPLE_EXTRA,
    ),
    "csv": (
        _opt("path", "path", None, "The CSV file (first line: column names)."),
        _opt("target", "columns", None, "The column (or columns) to predict."),
        _opt("features", "columns", None, "Input columns. Empty: every other column."),
        _opt(
            "task",
            "choice",
            "auto",
            "auto: text or few whole-number targets are classes, other numbers regression.",
            ("auto", "binary", "multiclass", "multilabel", "regression"),
        ),
        _opt(
            "test_path",
            "path",
            None,
            "A separate CSV with the same columns for testing. Empty: split off test_split.",
        ),
        _TEST_SPLIT,
        _NORMALIZE,
        _opt(
            "missing",
            "choice",
            "refuse",
            "Empty, NaN or infinite values: refuse the file, drop those rows, or fill features "
            "with the training mean / most frequent value (rows without a target are dropped).",
            ("refuse", "drop_rows", "impute"),
        ),
        _opt(
            "max_categories",
            "int",
            20,
            "Text feature columns with up to this many distinct values are one-hot encoded; "
            "more are refused.",
            minimum=2,
        ),
        _SEED,
        *_CSV_COMMON,
    ),
    "timeseries": (
        _opt("path", "path", None, "A CSV file with one row per time step, oldest first."),
        _opt("target", "columns", None, "The column to predict `delay` steps ahead."),
        _opt(
            "features",
            "columns",
            None,
            "Input columns. Empty: every numeric column (the target included).",
        ),
        _opt("lookback", "int", 1440, "How many past rows each window covers.", minimum=1),
        _opt("step", "int", 6, "Use every step-th row inside a window.", minimum=1),
        _opt(
            "delay",
            "int",
            144,
            "How many rows after the window's last row the target lies.",
            minimum=0,
        ),
        _opt(
            "split",
            "split",
            [0.5, 0.25, 0.25],
            "Fractions of the rows, in time order, for training, validation and test.",
        ),
        _NORMALIZE,
        *_CSV_COMMON,
    ),
    "text_folder": (
        _opt(
            "path",
            "dir",
            None,
            "A folder with one sub-folder of .txt files per class (or train/ and test/ "
            "folders laid out that way, like aclImdb).",
        ),
        _opt("max_tokens", "int", 10000, "Vocabulary size (most frequent words).", minimum=2),
        _opt(
            "output_mode",
            "choice",
            "multi_hot",
            "int: word indices (for Embedding); multi_hot: 0/1 per vocabulary word; tf_idf: "
            "weighted word counts.",
            ("int", "multi_hot", "tf_idf"),
        ),
        _opt(
            "sequence_length",
            "int",
            100,
            "With int: pad or cut every text to this many words.",
            minimum=1,
        ),
        _opt(
            "test_split",
            "float",
            0.0,
            "Without a test/ folder: fraction of the texts held out for testing.",
            None,
            0.0,
            0.9,
        ),
        _SEED,
    ),
    "image_folder": (
        _opt(
            "path",
            "dir",
            None,
            "A folder with one sub-folder of images per class (or train/, validation/ and "
            "test/ folders laid out that way).",
        ),
        _opt("image_size", "int_pair", [180, 180], "Resize every image to height × width."),
        _opt(
            "color_mode",
            "choice",
            "rgb",
            "rgb: 3 channels; grayscale: 1 channel.",
            ("rgb", "grayscale"),
        ),
        _RESCALE,
        _opt(
            "test_split",
            "float",
            0.0,
            "Without a test/ folder: fraction of the images held out for testing.",
            None,
            0.0,
            0.9,
        ),
        _SEED,
    ),
    "npz": (
        _opt(
            "path",
            "path",
            None,
            "A .npz file with arrays x_train, y_train and optionally x_val, y_val, x_test, y_test.",
        ),
        _opt(
            "task",
            "choice",
            "auto",
            "auto: integer labels are classes, float labels regression.",
            ("auto", "binary", "multiclass", "multilabel", "regression"),
        ),
    ),
}
_REQUIRED = {"path", "target"}
_INTERNAL = {"source", "vocabulary"}


def dataset_names(source: str) -> tuple[str, ...]:
    """The named datasets of a source (keras, sample); empty for file sources."""
    _check_source(source)
    return {"keras": KERAS_NAMES, "sample": SAMPLE_NAMES}.get(source, ())


def source_options(source: str, name: str | None = None) -> list[OptionInfo]:
    """The fields of a source's block (for keras: the named set's loader arguments too)."""
    _check_source(source)
    options = list(_SOURCE_OPTIONS[source])
    if source == "keras":
        chosen = name or options[0].default
        if chosen not in KERAS_NAMES:
            raise DatasetError(
                f"There is no Keras dataset called {chosen!r}.",
                field="name",
                fix=f"Pick one of: {', '.join(KERAS_NAMES)}.",
            )
        options.extend(_KERAS_EXTRA[chosen])
    return options


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise DatasetError(
            f"Unknown dataset source {source!r}.",
            field="source",
            fix=f"Use one of: {', '.join(SOURCES)}.",
        )


def resolve_block(block: dict) -> dict:
    """The block checked against its source's options and completed with defaults."""
    if not isinstance(block, dict):
        raise DatasetError("The dataset settings must be a mapping of field names to values.")
    source = block.get("source")
    if source is None:
        raise DatasetError(
            "The dataset settings have no 'source'.",
            field="source",
            fix=f"Set 'source' to one of: {', '.join(SOURCES)}.",
        )
    _check_source(source)
    options = source_options(source, block.get("name"))
    known = {o.name for o in options}
    unknown = sorted(set(block) - known - _INTERNAL)
    if unknown:
        raise DatasetError(
            f"The {source} dataset does not take {', '.join(map(repr, unknown))}.",
            field=unknown[0],
            fix=f"Its fields are: {', '.join(sorted(known))}.",
        )
    resolved = {"source": source}
    for option in options:
        value = block.get(option.name, option.default)
        resolved[option.name] = _check_value(source, option, value)
    if "vocabulary" in block:
        resolved["vocabulary"] = block["vocabulary"]
    return resolved


def _check_value(source: str, option: OptionInfo, value):
    def bad(expected: str) -> DatasetError:
        return DatasetError(
            f"The {source} dataset field {option.name!r} is {value!r}; it must be {expected}.",
            field=option.name,
        )

    if value is None or (option.kind in ("path", "dir", "columns") and value in ("", [])):
        if option.name in _REQUIRED:
            raise DatasetError(
                f"The {source} dataset needs {option.name!r}.",
                field=option.name,
                fix=option.help,
            )
        if option.default is None or option.kind in ("path", "dir", "columns"):
            return None
        raise bad(f"set ({option.help})")
    kind = option.kind
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise bad("a whole number")
        _check_range(option, value, bad)
    elif kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        value = float(value)
        _check_range(option, value, bad)
    elif kind == "bool":
        if not isinstance(value, bool):
            raise bad("true or false")
    elif kind == "choice":
        if value not in option.choices:
            raise bad(f"one of {', '.join(map(str, option.choices))}")
    elif kind in ("str", "path", "dir"):
        if not isinstance(value, str):
            raise bad("text")
    elif kind == "columns":
        if isinstance(value, str):
            return value
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise bad("a column name or a list of column names")
        return list(value)
    elif kind == "int_pair":
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        ):
            raise bad("two positive whole numbers [height, width]")
        return [int(v) for v in value]
    elif kind == "split":
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 3
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            or any(v < 0 for v in value)
            or value[0] <= 0
            or abs(sum(value) - 1.0) > 1e-6
        ):
            raise bad("three fractions [train, validation, test] that add up to 1")
        return [float(v) for v in value]
    return value


def _check_range(option: OptionInfo, value, bad) -> None:
    if option.minimum is not None and value < option.minimum:
        raise bad(f"at least {option.minimum:g}")
    if option.maximum is not None and value > option.maximum:
        raise bad(f"at most {option.maximum:g}")
