"""Exports: a standalone Keras script, a TensorFlow SavedModel, run histories as CSV, and
the runs in tidy (long) form as CSV or JSON (``tidy_csv``, ``tidy_json``).

``export_script(project)`` writes the Python a user would have written by hand for the
project: it loads the same data the same way (the same splits, scaling and label encoding as
LayerLab's loaders for the sample, keras and npz sources; the ``keras.utils`` loaders for
folders and time series; pandas for CSV), builds the same model layer by layer
(``layers.Dense(16, activation="relu")``: only the arguments that differ from Keras's
defaults; a layer with many of them is rebuilt from its config), compiles and fits it with
the same optimizer, loss, metrics, batch size, seed and callbacks, evaluates it on the test
part and saves it as ``.h5``.

This module imports Keras only inside functions that need it.
"""

from __future__ import annotations

import csv
import inspect
import io
import math
import os
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import ModelFileError

_NOISE = {"name", "trainable", "dtype"}
_MAX_LAYER_ARGUMENTS = 8
_ONE_HOT_LOSSES = {
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "kl_divergence",
}


# --- SavedModel and CSV -----------------------------------------------------------------


def export_saved_model(model, directory: str | os.PathLike) -> None:
    """Write ``model`` as a TensorFlow SavedModel (for TF Serving) via ``model.export``.

    Written into a temporary sibling folder first and renamed into place, so a failure never
    leaves half a SavedModel where ``directory`` was.
    """
    import shutil
    import tempfile

    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise ModelFileError(f"Cannot export to {target}: a file of that name exists.")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        model.export(str(staging / "saved"), format="tf_saved_model", verbose=False)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging / "saved", target)
    except Exception as error:
        raise ModelFileError(
            f"Cannot export the SavedModel to {target.name}: {_one_line(error)}"
        ) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def history_csv(runs: list[dict]) -> str:
    """The per-epoch history of ``runs`` as CSV: one row per run and epoch, columns
    ``run, epoch`` (1-based) then every metric Keras logged (empty where a run lacks it)."""
    metrics: list[str] = []
    for run in runs:
        for key in run.get("history") or {}:
            if key not in metrics:
                metrics.append(key)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["run", "epoch", *metrics])
    for run in runs:
        history = run.get("history") or {}
        epochs = max((len(values) for values in history.values()), default=0)
        for epoch in range(epochs):
            row = [run.get("name", run.get("id", "")), epoch + 1]
            for key in metrics:
                values = history.get(key) or []
                value = values[epoch] if epoch < len(values) else None
                row.append("" if value is None else repr(float(value)))
            writer.writerow(row)
    return out.getvalue()


# --- tidy runs table ---------------------------------------------------------------------

TIDY_COLUMNS = ("run", "run_id", "epoch", "metric", "value")


def run_hyperparameters(run: dict, params: Any = None) -> dict[str, Any]:
    """The settings a run trained with, as flat columns: optimizer, learning_rate,
    batch_size, epochs, loss, validation_split, seed, dataset, layers (count), params
    (``params(run)``: the parameter count, or None), status, seconds, started_at, group, tags,
    and a search trial's values as ``search.<name>``. Missing settings are None."""
    snapshot = run.get("snapshot") or {}
    compiled = snapshot.get("compile") or {}
    fit = snapshot.get("fit") or {}
    dataset = snapshot.get("dataset") or {}
    optimizer = compiled.get("optimizer")
    optimizer_config = (optimizer.get("config") or {}) if isinstance(optimizer, dict) else {}
    layers = (snapshot.get("model") or {}).get("layers")
    body = [
        layer
        for layer in layers or []
        if not (isinstance(layer, dict) and layer.get("class_name") == "InputLayer")
    ]
    tags = run.get("tags")
    values: dict[str, Any] = {
        "optimizer": _setting_name(optimizer),
        "learning_rate": _float32(optimizer_config.get("learning_rate")),
        "batch_size": fit.get("batch_size"),
        "epochs": fit.get("epochs"),
        "loss": _setting_name(compiled.get("loss")),
        "validation_split": fit.get("validation_split"),
        "seed": fit.get("seed"),
        "dataset": dataset.get("name") or dataset.get("path") or dataset.get("source"),
        "layers": len(body) if layers is not None else None,
        "params": params(run) if params is not None else run.get("parameter_count"),
        "status": run.get("status"),
        "seconds": run.get("seconds"),
        "started_at": run.get("started_at"),
        "group": run.get("group"),
        "tags": " ".join(str(tag) for tag in tags) if isinstance(tags, list) else None,
    }
    trial = run.get("params")
    if isinstance(trial, dict):
        values.update({f"search.{name}": value for name, value in trial.items()})
    return values


def tidy_rows(runs: list[dict], params: Any = None) -> tuple[list[str], list[list[Any]]]:
    """The runs' values in long ("tidy") form: one row per run, epoch and metric (``epoch``
    1-based; test metrics have no epoch and read ``test_<metric>``), then the run's
    hyperparameters (``run_hyperparameters``) as further columns. Values are plain Python
    (None where there is none). Returns ``(header, rows)``."""
    settings = [run_hyperparameters(run, params) for run in runs]
    extra: list[str] = []
    for values in settings:
        extra += [key for key in values if key not in extra]
    rows: list[list[Any]] = []
    for run, values in zip(runs, settings, strict=True):
        tail = [_plain_value(values.get(key)) for key in extra]
        name, run_id = run.get("name", run.get("id", "")), run.get("id", "")
        for metric, series in (run.get("history") or {}).items():
            for epoch, value in enumerate(series or []):
                rows.append([name, run_id, epoch + 1, metric, _plain_value(value), *tail])
        for metric, value in (run.get("test_metrics") or {}).items():
            rows.append([name, run_id, None, f"test_{metric}", _plain_value(value), *tail])
    return [*TIDY_COLUMNS, *extra], rows


def tidy_csv(runs: list[dict], params: Any = None) -> str:
    """``tidy_rows`` as CSV (floats written exactly, empty cells for None)."""
    header, rows = tidy_rows(runs, params)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else repr(v) if isinstance(v, float) else v for v in row])
    return out.getvalue()


def tidy_json(runs: list[dict], params: Any = None) -> str:
    """``tidy_rows`` as a JSON list of objects, one per row (``pandas.read_json`` reads it);
    non-finite numbers are null."""
    import json

    header, rows = tidy_rows(runs, params)
    records = [dict(zip(header, row, strict=True)) for row in rows]
    return json.dumps(records, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def _setting_name(value: Any) -> str | None:
    """``adam`` / ``Adam`` / ``binary_crossentropy``: a setting given by name or as a
    serialized Keras object."""
    if value is None:
        return None
    if isinstance(value, dict):
        return str(value.get("class_name") or (value.get("config") or {}).get("name") or "")
    return str(value)


def _float32(value: Any) -> float | None:
    """A float32 setting as typed (0.001, not 0.0010000000474974513)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(f"{float(np.float32(value)):.7g}") if math.isfinite(value) else None


def _plain_value(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, (list, tuple, dict)):
        import json

        return json.dumps(value, default=str)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return number if math.isfinite(number) else None


# --- the script -------------------------------------------------------------------------


def export_script(project: dict, *, title: str = "LayerLab project") -> str:
    """A standalone, readable Keras script that reproduces ``project`` (see module doc)."""
    import keras

    fit = dict(project.get("fit") or {})
    compile_block = dict(project.get("compile") or {})
    from engine.datasets.options import resolve_block

    block = resolve_block(project.get("dataset") or {})
    data = _DATA_WRITERS[block["source"]](block, float(fit.get("validation_split") or 0.0))
    loss_name = _loss_name(compile_block.get("loss"))
    lines = [
        f'"""A Keras script exported from LayerLab on {date.today().isoformat()}.',
        "",
        "PROJECT names the project and DATASET its data (below).",
        "Run it with:  python this_script.py [output.h5]",
        '"""',
        "",
        "import sys",
        "",
        *sorted(set(data.imports) | {"import keras", "import numpy as np"}),
        "from keras import layers",
        "",
        f"PROJECT = {_py(str(title))}",
        f"DATASET = {_py(_described_block(block))}",
        f"SEED = {_py(fit.get('seed'))}",
        f"EPOCHS = {int(fit.get('epochs') or 1)}",
        f"BATCH_SIZE = {int(fit.get('batch_size') or 32)}",
        f"VALIDATION_SPLIT = {_py(float(fit.get('validation_split') or 0.0))}",
        'OUTPUT = sys.argv[1] if len(sys.argv) > 1 else "model.h5"',
        "",
        "if SEED is not None:",
        "    keras.utils.set_random_seed(SEED)",
        "",
        "",
        "# --- data " + "-" * 70,
        "",
        "",
        *data.lines,
    ]
    if data.arrays:
        lines += _label_lines(loss_name, data)
    lines += ["", "# --- model " + "-" * 69, ""]
    model_lines = _model_lines(project.get("model") or {}, data, keras)
    model_lines += [
        "model.summary()",
        "",
        "model.compile(",
        f"    optimizer={_optimizer_code(compile_block.get('optimizer', 'rmsprop'), keras)},",
        f"    loss={_object_code(compile_block.get('loss'), 'losses')},",
        f"    metrics={_metrics_code(compile_block.get('metrics'))},",
        ")",
    ]
    strategy = _strategy_lines(fit.get("devices"), model_lines, keras.config.backend())
    if any("tf.distribute" in line for line in strategy) and "import tensorflow as tf" not in lines:
        lines.insert(lines.index("import numpy as np") + 1, "import tensorflow as tf")
    lines += [*strategy, ""]
    lines += _fit_lines(fit, data)
    lines += [
        "",
        "# Keras 3 cannot restore an optimizer from .h5: save without it (compile after loading).",
        "model.save(OUTPUT, include_optimizer=False)",
        'print(f"Saved {OUTPUT}")',
        "",
    ]
    return "\n".join(lines)


def _strategy_lines(setting, body: list[str], backend: str) -> list[str]:
    """``body`` (the lines that build and compile the model) under the project's devices
    setting, as ``engine.distribution`` runs it: a ``tf.distribute`` strategy's scope on
    TensorFlow, ``keras.distribution.DataParallel`` on JAX."""
    if isinstance(setting, str):
        setting = setting.strip().lower()
        if setting == "gpu":
            setting = "gpu:0"
    if setting in (None, "") or (setting == "cpu" and backend != "tensorflow"):
        return body
    if isinstance(setting, dict):
        return [
            "# LayerLab trained this project on several workers (python main.py train",
            "# --workers ...); this script trains in one process.",
            *body,
        ]
    if backend == "jax":
        if setting != "all":
            return body
        return [
            '# Devices: "all" -- every JAX device shares each batch (data parallel).',
            "keras.distribution.set_distribution(keras.distribution.DataParallel())",
            "",
            *body,
        ]
    if setting == "all":
        head = [
            '# Devices: "all" -- every GPU of this machine trains a replica; each global batch',
            "# of BATCH_SIZE is split between them.",
            "strategy = tf.distribute.MirroredStrategy()",
        ]
    else:
        device = "/cpu:0" if setting == "cpu" else "/" + setting
        head = [
            f"# Devices: {setting!r} -- build, compile and train on {device}.",
            f"strategy = tf.distribute.OneDeviceStrategy({device!r})",
        ]
    indented = [f"    {line}" if line else "" for line in body]
    return [*head, "with strategy.scope():", *indented]


class _Data:
    """Generated data code. ``arrays``: defines x_/y_ train, val (may be None), test (may be
    None) as numpy arrays; else tf.data sets train_data, val_data, test_data."""

    def __init__(self, lines, imports=(), arrays=True, input_shape_expr=None, num_classes=None):
        self.lines = list(lines)
        self.imports = set(imports)
        self.arrays = arrays
        self.input_shape_expr = input_shape_expr or "x_train.shape[1:]"
        self.num_classes = num_classes


def _split_helpers() -> list[str]:
    return [
        "def split_rows(n, fraction, seed):",
        '    """(kept rows, split-off rows): `fraction` of n rows drawn at random."""',
        "    order = np.arange(n)",
        "    np.random.default_rng(seed).shuffle(order)",
        "    cut = n - int(round(n * fraction))",
        "    return np.sort(order[:cut]), np.sort(order[cut:])",
        "",
        "",
        "def tail_rows(n, fraction):",
        '    """(first rows, last `fraction` of rows), as Keras\'s validation_split cuts."""',
        "    cut = n - int(round(n * fraction))",
        "    return np.arange(cut), np.arange(cut, n)",
        "",
        "",
        "def standardize(train, *others):",
        '    """z-score with the training part\'s mean and std (std 0 counts as 1)."""',
        "    mean, std = train.mean(axis=0), train.std(axis=0)",
        "    std = np.where(std > 0, std, 1.0)",
        '    return [((a - mean) / std).astype("float32") for a in (train, *others)]',
        "",
    ]


def _sample_data(block: dict, validation_split: float) -> _Data:
    name = block["name"]
    lines = [
        *_split_helpers(),
        "",
        f"bunch = sklearn.datasets.load_{_identifier(name)}()",
        'x = np.asarray(bunch.data, dtype="float64")',
    ]
    if name == "diabetes":
        lines.append("y = np.asarray(bunch.target)")
    else:
        lines.append('y = np.asarray(bunch.target).astype("int64")')
    lines += [
        f"keep, test = split_rows(len(x), {_py(block['test_split'])}, {_py(block['seed'])})",
        f"keep = np.random.default_rng({_py(block['seed'])}).permutation(keep)",
        "first, val = tail_rows(len(keep), VALIDATION_SPLIT)",
        "train, val = keep[first], keep[val]",
    ]
    if name == "digits":
        scale = "16.0" if block["normalize"] else "1.0"
        lines += [
            f"# Pixel intensities 0..16{' scaled to [0, 1]' if block['normalize'] else ''}.",
            f'x_train, x_val, x_test = ((x[rows] / {scale}).astype("float32") '
            "for rows in (train, val, test))",
        ]
    elif block["normalize"]:
        lines.append("x_train, x_val, x_test = standardize(x[train], x[val], x[test])")
    else:
        lines.append(
            'x_train, x_val, x_test = (x[rows].astype("float32") for rows in (train, val, test))'
        )
    lines.append("y_train, y_val, y_test = y[train], y[val], y[test]")
    classes = {"digits": 10, "iris": 3, "wine": 3, "breast_cancer": 2}.get(name)
    return _Data(lines, {"import sklearn.datasets"}, num_classes=classes)


def _keras_data(block: dict, validation_split: float) -> _Data:
    name = block["name"]
    if name in ("imdb", "reuters"):
        return _keras_text_data(block)
    if name == "boston_housing":
        lines = [
            *_split_helpers(),
            "",
            "(x_all, y_all), (x_test, y_test) = keras.datasets.boston_housing.load_data(",
            f"    test_split={_py(block['test_split'])}, seed={_py(block['seed'])}",
            ")",
            "first, val = tail_rows(len(x_all), VALIDATION_SPLIT)",
            "x_train, y_train = x_all[first], y_all[first]",
            "x_val, y_val = x_all[val], y_all[val]",
        ]
        if block["normalize"]:
            lines.append("x_train, x_val, x_test = standardize(x_train, x_val, x_test)")
        return _Data(lines)
    arguments = f"label_mode={_py(block['label_mode'])}" if name == "cifar100" else ""
    lines = [
        *_split_helpers(),
        "",
        f"(x_all, y_all), (x_test, y_test) = keras.datasets.{_identifier(name)}.load_data("
        f"{arguments})",
        "y_all, y_test = y_all.reshape(-1), y_test.reshape(-1)",
        "if x_all.ndim == 3:  # grayscale: add the channel axis",
        "    x_all, x_test = x_all[..., None], x_test[..., None]",
    ]
    if block["flatten"]:
        lines.append(
            "x_all, x_test = x_all.reshape(len(x_all), -1), x_test.reshape(len(x_test), -1)"
        )
    if block["rescale"]:
        lines.append(
            'x_all, x_test = x_all.astype("float32") / 255.0, x_test.astype("float32") / 255.0'
        )
    else:
        lines.append('x_all, x_test = x_all.astype("float32"), x_test.astype("float32")')
    lines += [
        "first, val = tail_rows(len(x_all), VALIDATION_SPLIT)",
        "x_train, y_train, x_val, y_val = x_all[first], y_all[first], x_all[val], y_all[val]",
    ]
    classes = {"cifar100": 20 if block.get("label_mode") == "coarse" else 100}.get(name, 10)
    return _Data(lines, num_classes=classes)


def _keras_text_data(block: dict) -> _Data:
    name = block["name"]
    arguments = [
        f"num_words={_py(block['num_words'] or None)}",
        f"skip_top={_py(block['skip_top'])}",
        f"maxlen={_py(block['maxlen'] or None)}",
        f"seed={_py(block['seed'])}",
    ]
    if name == "reuters":
        arguments.append(f"test_split={_py(block['test_split'])}")
    lines = [
        *_split_helpers(),
        "",
        f"(x_all, y_all), (x_test, y_test) = keras.datasets.{_identifier(name)}.load_data(",
        f"    {', '.join(arguments)}",
        ")",
    ]
    if block["num_words"]:
        lines.append(f"WIDTH = {_py(block['num_words'])}")
    else:
        lines.append("WIDTH = 1 + max(max(s) for s in (*x_all, *x_test) if len(s))")
    if block["encoding"] == "multi_hot":
        lines += [
            "",
            "",
            "def multi_hot(sequences):",
            '    """One 0/1 row of WIDTH per text, float32 (the tutorial\'s float64 is 2x)."""',
            '    out = np.zeros((len(sequences), WIDTH), dtype="float32")',
            "    for i, sequence in enumerate(sequences):",
            "        tokens = np.asarray(sequence)",
            "        out[i, tokens[tokens < WIDTH]] = 1.0",
            "    return out",
            "",
            "",
            "x_all, x_test = multi_hot(x_all), multi_hot(x_test)",
        ]
    else:
        length = _py(block["sequence_length"])
        lines += [
            f'x_all = keras.utils.pad_sequences(list(x_all), maxlen={length}, dtype="int32")',
            f'x_test = keras.utils.pad_sequences(list(x_test), maxlen={length}, dtype="int32")',
        ]
    lines += [
        'y_all, y_test = np.asarray(y_all).astype("int64"), np.asarray(y_test).astype("int64")',
        "first, val = tail_rows(len(x_all), VALIDATION_SPLIT)",
        "x_train, y_train, x_val, y_val = x_all[first], y_all[first], x_all[val], y_all[val]",
    ]
    return _Data(lines, num_classes=2 if name == "imdb" else 46)


def _npz_data(block: dict, validation_split: float) -> _Data:
    lines = [
        f"arrays = np.load({_py(str(Path(block['path']).expanduser()))})",
        "",
        "",
        "def part(name):",
        "    x = arrays[name]",
        '    return x.astype("float32") if x.dtype == np.float64 else x',
        "",
        "",
        'x_all, y_all = part("x_train"), arrays["y_train"]',
        'if "x_val" in arrays:',
        '    x_train, y_train, x_val, y_val = x_all, y_all, part("x_val"), arrays["y_val"]',
        "else:",
        "    cut = len(x_all) - int(round(len(x_all) * VALIDATION_SPLIT))",
        "    x_train, y_train, x_val, y_val = x_all[:cut], y_all[:cut], x_all[cut:], y_all[cut:]",
        "x_test, y_test = None, None",
        'if "x_test" in arrays:',
        '    x_test, y_test = part("x_test"), arrays["y_test"]',
        "if y_train.ndim == 2 and y_train.shape[1] == 1:",
        "    y_train, y_val = y_train[:, 0], y_val[:, 0]",
        "    y_test = None if y_test is None else y_test[:, 0]",
    ]
    return _Data(lines)


def _csv_data(block: dict, validation_split: float) -> _Data:
    targets = [block["target"]] if isinstance(block["target"], str) else list(block["target"])
    features = block["features"]
    if isinstance(features, str):
        features = [features]
    read = f"delimiter={_py(block['delimiter'])}, encoding={_py(block['encoding'])}"
    lines = [
        *_split_helpers(),
        "",
        f"table = pd.read_csv({_py(block['path'])}, {read})",
        f"TARGETS = {_py(targets)}",
        f"FEATURES = {_py(features)} or [c for c in table.columns if c not in TARGETS]",
    ]
    if block.get("missing") == "drop_rows":
        lines.append("table = table.dropna(subset=FEATURES + TARGETS).reset_index(drop=True)")
    if block["test_path"]:
        lines += [
            f"test_table = pd.read_csv({_py(block['test_path'])}, {read})",
            f"pool = np.random.default_rng({_py(block['seed'])}).permutation(len(table))",
        ]
    else:
        lines += [
            f"keep, test_rows = split_rows(len(table), {_py(block['test_split'])}, "
            f"{_py(block['seed'])})",
            "test_table = table.iloc[test_rows].reset_index(drop=True)",
            f"pool = np.random.default_rng({_py(block['seed'])}).permutation(keep)",
        ]
    lines += [
        "first, val = tail_rows(len(pool), VALIDATION_SPLIT)",
        "train_table = table.iloc[np.sort(pool[first])].reset_index(drop=True)",
        "val_table = table.iloc[np.sort(pool[val])].reset_index(drop=True)",
        "",
        "# Text feature columns become one-hot columns (levels from the training part).",
        "text_columns = [c for c in FEATURES if train_table[c].dtype == object]",
        "",
        "",
        "def features_of(frame):",
        "    encoded = pd.get_dummies(frame[FEATURES], columns=text_columns, dtype=float)",
        "    return encoded.reindex(columns=train_columns, fill_value=0.0).to_numpy(float)",
        "",
        "",
        "train_columns = pd.get_dummies(",
        "    train_table[FEATURES], columns=text_columns, dtype=float",
        ").columns",
        "x_train, x_val, x_test = (features_of(f) for f in (train_table, val_table, test_table))",
    ]
    if block["normalize"]:
        lines.append("x_train, x_val, x_test = standardize(x_train, x_val, x_test)")
    else:
        lines.append(
            'x_train, x_val, x_test = (a.astype("float32") for a in (x_train, x_val, x_test))'
        )
    if len(targets) == 1:
        lines += [
            "target = train_table[TARGETS[0]]",
            f"if target.dtype == object or {_py(block['task'] in ('binary', 'multiclass'))}:",
            "    class_names = sorted(pd.concat([target, val_table[TARGETS[0]],"
            " test_table[TARGETS[0]]]).astype(str).unique())",
            "    index = {name: i for i, name in enumerate(class_names)}",
            "    y_train, y_val, y_test = (",
            '        f[TARGETS[0]].astype(str).map(index).to_numpy("int64")',
            "        for f in (train_table, val_table, test_table)",
            "    )",
            "else:",
            '    y_train, y_val, y_test = (f[TARGETS[0]].to_numpy("float32") '
            "for f in (train_table, val_table, test_table))",
        ]
    else:
        lines.append(
            'y_train, y_val, y_test = (f[TARGETS].to_numpy("float32") '
            "for f in (train_table, val_table, test_table))"
        )
    return _Data(lines, {"import pandas as pd"})


def _timeseries_data(block: dict, validation_split: float) -> _Data:
    fractions = block["split"]
    read = f"delimiter={_py(block['delimiter'])}, encoding={_py(block['encoding'])}"
    lines = [
        f"table = pd.read_csv({_py(block['path'])}, {read})",
        f"TARGET = {_py(block['target'])}",
        f"FEATURES = {_py(block['features'])} or [",
        "    c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])",
        "]",
        f"LOOKBACK, STEP, DELAY = {_py(block['lookback'])}, {_py(block['step'])}, "
        f"{_py(block['delay'])}",
        'raw = table[FEATURES].to_numpy("float64")',
        'target = table[TARGET].to_numpy("float64")',
        "n = len(raw)",
        f"n_train, n_val = int(n * {_py(fractions[0])}), int(n * {_py(fractions[1])})",
    ]
    if block["normalize"]:
        lines += [
            "# Normalised with statistics of the training rows only.",
            "mean, std = raw[:n_train].mean(axis=0), raw[:n_train].std(axis=0)",
            'data = ((raw - mean) / np.where(std > 0, std, 1.0)).astype("float32")',
        ]
    else:
        lines.append('data = raw.astype("float32")')
    lines += [
        "# A window: LOOKBACK rows, every STEP-th; its target lies DELAY rows after its last row.",
        "length = len(range(0, LOOKBACK, STEP))",
        "offset = (length - 1) * STEP + DELAY",
        'shifted = np.zeros(n, dtype="float32")',
        "shifted[: n - offset] = target[offset:]",
        "",
        "",
        "def windows(start, stop, shuffle):",
        "    end = stop - DELAY",
        "    return keras.utils.timeseries_dataset_from_array(",
        "        data,",
        "        shifted,",
        "        sequence_length=length,",
        "        sampling_rate=STEP,",
        "        batch_size=BATCH_SIZE,",
        "        shuffle=shuffle,",
        "        seed=SEED,",
        "        start_index=start,",
        "        end_index=end if end < n else None,",
        "    )",
        "",
        "",
        "train_data = windows(0, n_train, True)",
        "val_data = windows(n_train, n_train + n_val, False) if n_val else None",
        "test_data = windows(n_train + n_val, n, False) if n - n_train - n_val > offset else None",
    ]
    return _Data(
        lines,
        {"import pandas as pd"},
        arrays=False,
        input_shape_expr="train_data.element_spec[0].shape[1:]",
    )


def _folder_lines(loader: str, arguments: str, seed: int) -> list[str]:
    """train/val/test tf.data sets from a class-per-sub-folder tree (with optional test/)."""
    seed = _py(seed)
    return [
        'has_test = os.path.isdir(os.path.join(FOLDER, "test"))',
        'train_folder = os.path.join(FOLDER, "train") if has_test else FOLDER',
        "if VALIDATION_SPLIT:",
        f"    train_data, val_data = keras.utils.{loader}(",
        f"        train_folder, {arguments},",
        f'        validation_split=VALIDATION_SPLIT, subset="both", seed={seed},',
        "    )",
        "else:",
        f"    train_data = keras.utils.{loader}(train_folder, {arguments}, seed={seed})",
        "    val_data = None",
        "test_data = None",
        "if has_test:",
        f"    test_data = keras.utils.{loader}(",
        f'        os.path.join(FOLDER, "test"), {arguments}, shuffle=False',
        "    )",
        "",
        "",
        "def mapped(data, function):",
        "    return None if data is None else data.map(function)",
        "",
        "",
    ]


def _text_folder_data(block: dict, validation_split: float) -> _Data:
    mode = block["output_mode"]
    length = block["sequence_length"] if mode == "int" else None
    lines = [
        f"FOLDER = {_py(block['path'])}",
        *_folder_lines("text_dataset_from_directory", "batch_size=BATCH_SIZE", block["seed"]),
        "vectorize = keras.layers.TextVectorization(",
        f"    max_tokens={_py(block['max_tokens'])}, output_mode={_py(mode)},"
        f" output_sequence_length={_py(length)}",
        ")",
        "vectorize.adapt(train_data.map(lambda text, label: text))",
        "train_data, val_data, test_data = (",
        "    mapped(d, lambda text, label: (vectorize(text), label))",
        "    for d in (train_data, val_data, test_data)",
        ")",
    ]
    return _Data(
        lines,
        {"import os"},
        arrays=False,
        input_shape_expr="train_data.element_spec[0].shape[1:]",
    )


def _image_folder_data(block: dict, validation_split: float) -> _Data:
    height, width = block["image_size"]
    arguments = (
        f"image_size=({_py(height)}, {_py(width)}), color_mode={_py(block['color_mode'])}, "
        "batch_size=BATCH_SIZE"
    )
    lines = [
        f"FOLDER = {_py(block['path'])}",
        *_folder_lines("image_dataset_from_directory", arguments, block["seed"]),
    ]
    if block["rescale"]:
        lines += [
            "train_data, val_data, test_data = (",
            "    mapped(d, lambda x, y: (x / 255.0, y)) for d in (train_data, val_data, test_data)",
            ")",
        ]
    return _Data(
        lines,
        {"import os"},
        arrays=False,
        input_shape_expr="train_data.element_spec[0].shape[1:]",
    )


_DATA_WRITERS = {
    "sample": _sample_data,
    "keras": _keras_data,
    "npz": _npz_data,
    "csv": _csv_data,
    "timeseries": _timeseries_data,
    "text_folder": _text_folder_data,
    "image_folder": _image_folder_data,
}


def _described_block(block: dict) -> dict:
    """The dataset block for the script's ``DATASET`` constant (no learned vocabulary)."""
    return {key: value for key, value in block.items() if key != "vocabulary" and value is not None}


def _loss_name(loss: Any) -> str | None:
    from engine.datasets.labels import canonical_loss

    return canonical_loss(loss)


def _label_lines(loss_name: str | None, data: _Data) -> list[str]:
    if loss_name in _ONE_HOT_LOSSES:
        count = data.num_classes
        classes = str(count) if count else "int(y_train.max()) + 1"
        return [
            "# This loss wants one-hot labels.",
            f"NUM_CLASSES = {classes}",
            "y_train = keras.utils.to_categorical(y_train, NUM_CLASSES)",
            "y_val = keras.utils.to_categorical(y_val, NUM_CLASSES)",
            "if y_test is not None:",
            "    y_test = keras.utils.to_categorical(y_test, NUM_CLASSES)",
        ]
    return []


# --- model code -------------------------------------------------------------------------


def _model_lines(spec: dict, data: _Data, keras) -> list[str]:
    if "input_layers" in spec:  # a functional model (branches): Keras rebuilds it from its config
        return ["model = keras.Model.from_config(", f"    {_py(spec)}", ")"]
    layers = list(spec.get("layers") or [])
    entries = []
    if layers and layers[0].get("class_name") == "InputLayer":
        config = layers.pop(0).get("config") or {}
        shape = tuple(config.get("batch_shape") or config.get("batch_input_shape") or ())[1:]
        dtype = config.get("dtype")
        dtype_text = f", dtype={_py(dtype)}" if dtype and dtype != "float32" else ""
        entries.append(f"keras.Input(shape={_py(tuple(shape))}{dtype_text})")
    else:
        entries.append(f"keras.Input(shape={data.input_shape_expr})")
    entries += [_layer_code(layer, keras) for layer in layers]
    return ["model = keras.Sequential(", "    [", *[f"        {e}," for e in entries], "    ]", ")"]


def _layer_code(layer: dict, keras) -> str:
    """``layers.Dense(16, activation="relu")``: the arguments that differ from Keras's
    defaults; ``layers.deserialize({...})`` for a layer with very many."""
    class_name = layer.get("class_name")
    config = dict(layer.get("config") or {})
    try:
        cls = getattr(keras.layers, class_name)
        arguments = _non_default_arguments(cls, config, keras)
    except Exception:
        arguments = None
    if arguments is None or len(arguments) > _MAX_LAYER_ARGUMENTS:
        plain = {key: value for key, value in layer.items() if key != "build_config"}
        return f"layers.deserialize({_py(plain)})"
    return f"layers.{class_name}({', '.join(arguments)})"


def _non_default_arguments(cls, config: dict, keras) -> list[str] | None:
    signature = inspect.signature(cls.__init__)
    parameters = [
        p
        for p in list(signature.parameters.values())[1:]
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    required = [p.name for p in parameters if p.default is p.empty]
    nested = {}
    positional = []
    for name in required:
        if name not in config:
            return None
        value = config[name]
        if (
            isinstance(value, dict)
            and "class_name" in value
            and name in ("layer", "backward_layer")
        ):
            nested[name] = keras.layers.deserialize(value)
            positional.append(_layer_code(value, keras))
        else:
            positional.append(_py(_tuple(value)))
    reference_arguments = {name: nested.get(name, _tuple(config[name])) for name in required}
    reference = cls(**reference_arguments).get_config()
    keywords = []
    names = {p.name for p in parameters}
    order = [p.name for p in parameters]
    for key, value in sorted(config.items(), key=lambda item: _position(order, item[0])):
        if key in _NOISE or key in required or key not in names:
            continue
        if key == "backward_layer":
            continue
        if _same(value, reference.get(key)):
            continue
        keywords.append(f"{key}={_value_code(value)}")
    return positional + keywords


def _position(order: list[str], name: str) -> int:
    return order.index(name) if name in order else len(order)


def _tuple(value):
    return tuple(value) if isinstance(value, list) else value


def _same(a, b) -> bool:
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        keys = (set(a) | set(b)) - {"registered_name", "module"}
        return all(_same(a.get(k), b.get(k)) for k in keys)
    if isinstance(a, float) and isinstance(b, float):
        return a == b or np.float32(a) == np.float32(b)
    return a == b


def _value_code(value) -> str:
    """A config value as code: Keras objects as constructor calls, lists as tuples."""
    if isinstance(value, dict) and "class_name" in value and "config" in value:
        return _object_code(value, None)
    if isinstance(value, list):
        return _py(tuple(value))
    return _py(value)


def _object_code(value, kind: str | None) -> str:
    """``"adam"`` stays a string; ``{"module": "keras.regularizers", "class_name": "L2", ...}``
    becomes ``keras.regularizers.L2(l2=0.01)``."""
    if not (isinstance(value, dict) and "class_name" in value):
        return _py(value)
    module = value.get("module") or (f"keras.{kind}" if kind else "keras")
    if not str(module).startswith("keras"):
        module = f"keras.{kind}" if kind else "keras"
    module = ".".join(part for part in str(module).split(".") if part != "src")[:60]
    config = value.get("config") or {}
    if not isinstance(config, dict):
        config = {}
    config = {
        key: item
        for key, item in config.items()
        if key not in ("name", "reduction", "dtype") and item is not None
    }
    names = [value["class_name"], *module.split("."), *config]
    if not all(_is_identifier(name) for name in names):
        # Not plain Python names: rebuilt from its config, which stays data.
        return f"keras.saving.deserialize_keras_object({_py(value)})"
    arguments = ", ".join(f"{key}={_value_code(item)}" for key, item in config.items())
    return f"{module}.{value['class_name']}({arguments})"


def _optimizer_code(value, keras) -> str:
    if not (isinstance(value, dict) and "class_name" in value):
        return _py(value)
    name = value["class_name"]
    cls = getattr(keras.optimizers, name, None) if _is_identifier(name) else None
    config = value.get("config") or {}
    config = dict(config) if isinstance(config, dict) else {}
    if cls is None or not all(_is_identifier(key) for key in config):
        return f"keras.optimizers.deserialize({_py(value)})"
    reference = cls().get_config()
    arguments = [
        f"{key}={_value_code(item)}"
        for key, item in config.items()
        if key == "learning_rate" or (key != "name" and not _same(item, reference.get(key)))
    ]
    return f"keras.optimizers.{value['class_name']}({', '.join(arguments)})"


def _metrics_code(metrics) -> str:
    items = [_object_code(m, "metrics") for m in (metrics or [])]
    return "[" + ", ".join(items) + "]"


def _fit_lines(fit: dict, data: _Data) -> list[str]:
    lines = []
    callbacks = [_callback_code(item) for item in fit.get("callbacks") or []]
    if callbacks:
        lines += ["callbacks = [", *[f"    {code}," for code in callbacks], "]"]
    else:
        lines.append("callbacks = []")
    class_weight = fit.get("class_weight")
    weight_argument = ""
    if class_weight == "balanced" and data.arrays:
        lines += [
            "# class_weight 'balanced': n_samples / (n_classes * count of each class)",
            "labels = np.asarray(y_train).reshape(len(y_train), -1)",
            "labels = labels.argmax(axis=1) if labels.shape[1] > 1 else labels[:, 0].astype(int)",
            "counts = np.bincount(labels)",
            "class_weight = {",
            "    i: len(labels) / (len(counts) * c) for i, c in enumerate(counts) if c",
            "}",
        ]
        weight_argument = "    class_weight=class_weight,"
    elif isinstance(class_weight, dict):
        weights = {int(k): float(v) for k, v in class_weight.items()}
        weight_argument = f"    class_weight={_py(weights)},"
    lines.append("history = model.fit(")
    if data.arrays:
        lines += [
            "    x_train,",
            "    y_train,",
            "    batch_size=BATCH_SIZE,",
            "    validation_data=(x_val, y_val) if len(x_val) else None,",
            f"    shuffle={_py(bool(fit.get('shuffle', True)))},",
        ]
    else:
        lines += ["    train_data,", "    validation_data=val_data,"]
    lines += ["    epochs=EPOCHS,", "    callbacks=callbacks,"]
    if weight_argument:
        lines.append(weight_argument)
    lines.append(")")
    if data.arrays:
        lines += [
            "if x_test is not None:",
            "    print(model.evaluate(x_test, y_test, batch_size=BATCH_SIZE, return_dict=True))",
        ]
    else:
        lines += [
            "if test_data is not None:",
            "    print(model.evaluate(test_data, return_dict=True))",
        ]
    return lines


def _callback_code(item: dict) -> str:
    name = item.get("class_name") if isinstance(item, dict) else None
    config = (item.get("config") if isinstance(item, dict) else None) or {}
    if not isinstance(config, dict):
        config = {}
    if not _is_identifier(name) or not all(_is_identifier(key) for key in config):
        return f"keras.saving.deserialize_keras_object({_py(item)})"
    arguments = ", ".join(f"{key}={_value_code(value)}" for key, value in config.items())
    return f"keras.callbacks.{name}({arguments})"


# --- literals ----------------------------------------------------------------------------


def _py(value) -> str:
    """A Python literal for JSON-ish ``value`` (floats at their shortest exact form)."""
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return f'float("{value}")'
        if float(np.float32(value)) == value and value != 0:
            text = np.format_float_positional(np.float32(value), trim="-")
            if len(text) > 12:
                text = np.format_float_scientific(np.float32(value), trim="-")
            return text if any(c in text for c in ".e") else text + ".0"
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, tuple):
        inner = ", ".join(_py(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py(k)}: {_py(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _string(text: str) -> str:
    """A double-quoted Python literal equal to ``text``: quotes, backslashes and every
    character that is not printable (newlines, NUL, line and paragraph separators, lone
    surrogates) are escaped, so a user's string can never end the literal or start a line."""
    parts = ['"']
    for char in text:
        if char in ('"', "\\"):
            parts.append("\\" + char)
        elif char.isprintable():
            parts.append(char)
        else:
            parts.append(repr(char)[1:-1])
    parts.append('"')
    return "".join(parts)


def _is_identifier(name) -> bool:
    """Whether ``name`` may be written into code as a bare name (``keyword.iskeyword`` aside,
    ``str.isidentifier`` accepts only letters, digits and underscores)."""
    import keyword

    return isinstance(name, str) and name.isidentifier() and not keyword.iskeyword(name)


def _identifier(name) -> str:
    if not _is_identifier(name):
        raise ModelFileError(f"Cannot export: {name!r} is not a valid name.")
    return name


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return (lines[-1] if lines else type(error).__name__)[:300]
