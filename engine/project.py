"""The project file: Keras's own Sequential config plus dataset, compile and fit settings.

A project is a JSON object (extension ``.llproj``)::

    {"format": "layerlab-project", "version": 1,
     "model":   <exactly keras.Sequential.get_config()>,
     "dataset": {"source": ..., ...},
     "compile": {"optimizer": <keras.optimizers.serialize dict or a name>,
                 "loss": <full Keras loss name>, "metrics": [...]},
     "fit":     {"epochs", "batch_size", "validation_split", "shuffle", "seed",
                 "class_weight", "callbacks": [{"class_name", "config"}],
                 "devices": "cpu" | "gpu:N" | "all" | null,    # engine.distribution
                 "record_weights": false},                      # engine.weight_recorder
     "runs":    [...],
     "weights": "<stem>.weights.h5"}                 # optional: initial weights

``"weights"`` (optional) names the project's initial weights, Keras's ``.weights.h5`` format,
relative to the project's folder (absolute, in a private temporary folder, while the project
is unsaved); ``fit["start_from"]`` is ``"weights"`` (the default when there are weights) or
``"fresh"``. See ``engine.project_weights``.

``validate_project`` checks a dict and returns a normalised copy (loss aliases become full
names, missing fit settings get defaults); unknown keys, top-level or inside a section, are
kept and written back on save. Every refusal is a ``ProjectError`` that names the field.

This module imports no Keras at import time (the window loads projects before TensorFlow
is up); validation imports ``engine.spec``/``engine.modelfile`` and Keras when it runs.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from engine.errors import LayerLabError, ModelFileError, ProjectError
from engine.files import atomic_write_text, read_json

PROJECT_FORMAT = "layerlab-project"
PROJECT_VERSION = 1
PROJECT_SUFFIX = ".llproj"


class ProjectTooNewError(ProjectError):
    """The project was written by a newer LayerLab: it may be neither edited nor replaced."""


SECTION_ORDER = ("format", "version", "model", "dataset", "compile", "fit", "runs")
REQUIRED_SECTIONS = ("model", "dataset", "compile", "fit")

# LayerLab's defaults for fit settings a project leaves out.
FIT_DEFAULTS: dict[str, Any] = {
    "epochs": 20,
    "batch_size": 32,
    "validation_split": 0.2,
    "shuffle": True,
    "seed": None,
    "class_weight": None,
    "callbacks": [],
}

# Callbacks a project may configure (the training issue's list). The file-writing ones
# (ModelCheckpoint, CSVLogger, TensorBoard) are confined by engine.training to the
# project's folder, so opening someone else's project cannot write elsewhere; callbacks
# that run code (LambdaCallback) or restore state (BackupAndRestore) are refused.
ALLOWED_CALLBACKS = (
    "EarlyStopping",
    "ReduceLROnPlateau",
    "ModelCheckpoint",
    "CSVLogger",
    "TensorBoard",
    "TerminateOnNaN",
)

# Strings Model.compile resolves itself from the loss, not through keras.metrics.get.
COMPILE_METRIC_SHORTHANDS = frozenset({"accuracy", "acc", "crossentropy", "ce"})

# Optimizer classes that wrap other optimizers: not a single setting a project can hold.
WRAPPING_OPTIMIZERS = frozenset(
    {"Optimizer", "LossScaleOptimizer", "MultiOptimizer", "OptimizerMap"}
)

# Exactly what keras.Sequential().get_config() returns (a test keeps this equal), so a
# new project needs no Keras import.
EMPTY_SEQUENTIAL_CONFIG: dict[str, Any] = {
    "name": "sequential",
    "trainable": True,
    "dtype": {
        "module": "keras",
        "class_name": "DTypePolicy",
        "config": {"name": "float32"},
        "registered_name": None,
    },
    "layers": [],
}


def resources_dir() -> Path:
    """The folder holding LayerLab's bundled files (demo project, icons)."""
    return Path(__file__).resolve().parent.parent / "resources"


def new_project() -> dict:
    """An empty project: no layers, the sample digits data, Adam, 20 epochs."""
    return {
        "format": PROJECT_FORMAT,
        "version": PROJECT_VERSION,
        "model": copy.deepcopy(EMPTY_SEQUENTIAL_CONFIG),
        "dataset": {"source": "sample", "name": "digits"},
        "compile": {
            "optimizer": "adam",
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy"],
        },
        "fit": copy.deepcopy(FIT_DEFAULTS),
        "runs": [],
    }


def demo_project() -> dict:
    """The bundled demo (``resources/demo.llproj``): a small MLP on the sample digits."""
    return load_project(resources_dir() / f"demo{PROJECT_SUFFIX}")


def load_project(path: str | os.PathLike) -> dict:
    """Read, check and normalise the project at ``path``.

    Raises ``ProjectError`` naming the file and the problem (missing file, not JSON with
    its line and column, nested absurdly deep, not a LayerLab project, bad field) and
    ``ProjectTooNewError`` for a newer version. Nothing else is touched: a caller keeps its
    open project when this raises.
    """
    target = Path(path)
    data = read_json(target, error=ProjectError)
    try:
        return validate_project(data)
    except ProjectError as error:
        raise type(error)(
            f"Cannot open {target.name}: {_lower_first(error.message)}",
            field=error.field,
            fix=error.fix,
        ) from error


def preview_project(path: str | os.PathLike) -> dict:
    """The project at ``path`` checked only as far as possible without Keras: JSON,
    header, version and the sections' kinds, for the window to show before TensorFlow is
    up. Raises ``ProjectError`` / ``ProjectTooNewError`` like ``load_project``; the full
    check (``load_project``) still has to pass before the project may be edited or saved.
    """
    target = Path(path)
    data = read_json(target, error=ProjectError)
    try:
        if not isinstance(data, dict):
            raise ProjectError(
                f"This is not a LayerLab project: expected a JSON object, found {_json_kind(data)}."
            )
        _check_header(data)
        for section in REQUIRED_SECTIONS:
            if not isinstance(data.get(section), dict):
                raise ProjectError(
                    f'The project has no "{section}" section (an object).', field=section
                )
    except ProjectError as error:
        raise type(error)(
            f"Cannot open {target.name}: {_lower_first(error.message)}",
            field=error.field,
            fix=error.fix,
        ) from error
    return data


def save_project(project: dict, path: str | os.PathLike, *, force: bool = False) -> None:
    """Write ``project`` to ``path`` atomically; the previous file is kept as ``path~``.

    Unless ``force``, a file written by a newer LayerLab is never replaced (it would lose
    what this version does not know): that raises ``ProjectTooNewError``. Disk problems
    raise ``engine.files.FileSaveError`` (a ``LayerLabError`` and an ``OSError``)
    whose message names ``path``, never a temporary file.
    """
    text = dumps_project(project)
    if not force:
        reason = may_overwrite(path)
        if reason is not None:
            raise ProjectTooNewError(reason, field="version")
    atomic_write_text(path, text, backup=True)


def may_overwrite(path: str | os.PathLike) -> str | None:
    """``None`` when saving a project onto ``path`` loses nothing this LayerLab can know;
    otherwise the reason it must not (a project written by a newer LayerLab is there).

    Missing, unreadable or non-project files return ``None``: replacing them is the user's
    choice (the save dialog asks), and the old file is kept as ``path~``.
    """
    target = Path(path)
    version = _version_on_disk(target)
    if version is None or version <= PROJECT_VERSION:
        return None
    return (
        f"Cannot save {target.name}: it was written by a newer LayerLab (project version "
        f"{version}) and saving would replace it with version {PROJECT_VERSION}, losing what "
        "this LayerLab does not know. Save under another name, or update LayerLab."
    )


_HEADER = re.compile(
    rb'\A(?:\xef\xbb\xbf)?\s*\{\s*"format"\s*:\s*"layerlab-project"\s*,\s*"version"\s*:\s*(\d{1,9})\s*[,}]'
)


def _version_on_disk(path: Path) -> int | None:
    """The ``version`` of the LayerLab project at ``path``; None when it is none."""
    try:
        if not path.is_file():
            return None
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return None
    match = _HEADER.match(head)
    if match:  # the layout LayerLab writes: no need to parse a large file
        return int(match[1])
    try:
        data = read_json(path, error=ProjectError)
    except ProjectError:
        return None
    if not isinstance(data, dict) or data.get("format") != PROJECT_FORMAT:
        return None
    version = data.get("version")
    return version if _is_int(version) else None


def merge_runs(ours: dict, on_disk: dict | list, *, known_ids: Iterable[str] = ()) -> list[dict]:
    """Our runs plus the runs recorded in ``on_disk`` (the same project as saved on disk,
    e.g. by a CLI ``train`` while the window had it open, or its ``runs_on_disk`` list)
    that we do not have, by run id.

    ``known_ids`` are the ids we have seen (in the file as we loaded or last saved it): a
    run we deleted since is one of them and is not brought back. Our runs keep their order
    and content (renames win); new runs follow in the order they are on disk.
    """
    runs = list(_run_list(ours))
    have = {run.get("id") for run in runs if isinstance(run, dict)}
    skip = have | set(known_ids)
    for run in on_disk if isinstance(on_disk, list) else _run_list(on_disk):
        if not isinstance(run, dict):
            continue
        run_id = run.get("id")
        if not isinstance(run_id, str) or run_id in skip:
            continue
        runs.append(copy.deepcopy(run))
        skip.add(run_id)
    return runs


def runs_on_disk(path: str | os.PathLike) -> list[dict]:
    """The runs recorded in the project file at ``path`` as it is on disk now, read without
    Keras or validation (for ``merge_runs``); [] when it cannot be read as a project."""
    try:
        data = read_json(path, error=ProjectError)
    except ProjectError:
        return []
    if not isinstance(data, dict) or data.get("format") != PROJECT_FORMAT:
        return []
    return [run for run in _run_list(data) if isinstance(run, dict)]


def run_ids(project: dict) -> set[str]:
    """The ids of ``project``'s runs (for ``merge_runs``'s ``known_ids``)."""
    runs = _run_list(project)
    return {run["id"] for run in runs if isinstance(run, dict) and isinstance(run.get("id"), str)}


def _run_list(project: Any) -> list:
    runs = project.get("runs") if isinstance(project, dict) else None
    return runs if isinstance(runs, list) else []


def dumps_project(project: dict) -> str:
    """The project as pretty JSON: sections in a fixed order, unknown keys after them."""
    ordered: dict[str, Any] = {"format": PROJECT_FORMAT, "version": PROJECT_VERSION}
    for key in SECTION_ORDER[2:]:
        if key in project:
            ordered[key] = project[key]
    for key, value in project.items():
        if key not in ordered:
            ordered[key] = value
    try:
        return _pretty(ordered, "") + "\n"
    except (TypeError, ValueError) as error:
        raise ProjectError(f"The project cannot be written as JSON: {error}.") from error


def _pretty(value: Any, indent: str) -> str:
    """JSON indented by two spaces, except that a list of plain values (a shape, a metric
    list, a loss history) stays on one line."""
    inner = indent + "  "
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = (
            f"{inner}{json.dumps(str(key), ensure_ascii=False)}: {_pretty(item, inner)}"
            for key, item in value.items()
        )
        return "{\n" + ",\n".join(items) + f"\n{indent}}}"
    if isinstance(value, list | tuple):
        value = [
            item if _is_plain(item) or isinstance(item, dict | list | tuple) else _plain_json(item)
            for item in value
        ]
        if all(_is_plain(item) for item in value):
            return json.dumps(value, ensure_ascii=False)
        return "[\n" + ",\n".join(inner + _pretty(item, inner) for item in value) + f"\n{indent}]"
    if _is_plain(value):
        return json.dumps(value, ensure_ascii=False)
    return _pretty(_plain_json(value), indent)


def _is_plain(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _plain_json(value: Any) -> Any:
    """Turn numpy scalars/arrays (e.g. in run histories) into plain JSON values."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# --- validation ------------------------------------------------------------------------


def validate_project(data: Any) -> dict:
    """Check a project dict and return a normalised deep copy.

    Raises ``ProjectError`` whose message starts with the field, e.g.
    ``model.layers[1] (Dense 'dense'): units must be ≥ 1, got -3`` or
    ``fit.epochs must be a positive integer, got 0``.
    """
    if not isinstance(data, dict):
        raise ProjectError(
            f"This is not a LayerLab project: expected a JSON object, found {_json_kind(data)}."
        )
    _check_header(data)
    for section in REQUIRED_SECTIONS:
        if section not in data:
            raise ProjectError(
                f'The project has no "{section}" section; a LayerLab project needs '
                + ", ".join(f'"{name}"' for name in REQUIRED_SECTIONS)
                + ".",
                field=section,
            )
    project = copy.deepcopy(data)
    _validate_weights(project)
    project["model"] = _validate_model(project["model"])
    project["dataset"] = _validate_dataset(project["dataset"])
    project["compile"] = _validate_compile(project["compile"])
    project["fit"] = _validate_fit(project["fit"])
    if project.get("embeddings") is None:  # word vectors for Embedding layers (optional)
        project.pop("embeddings", None)
    else:
        from engine.embeddings import validate_embeddings

        project["embeddings"] = validate_embeddings(project["embeddings"])
    if "search" in project:  # hyperparameter search space (engine.search)
        from engine.search import validate_search

        project["search"] = validate_search(project["search"])
    if "groups" in project:  # repeats and k-fold groups (engine.groups)
        from engine.groups import validate_groups

        project["groups"] = validate_groups(project["groups"])
    project.setdefault("runs", [])
    if not isinstance(project["runs"], list):
        raise ProjectError(
            f"runs must be a list, found {_json_kind(project['runs'])}.", field="runs"
        )
    return project


def _check_header(data: dict) -> None:
    if data.get("format") != PROJECT_FORMAT:
        if "format" not in data and ("layers" in data or "class_name" in data):
            raise ProjectError(
                "This is a Keras model config, not a LayerLab project: put it under "
                '"model" in a project, or open a .h5/.keras file instead.',
                field="format",
            )
        found = f" (format is {data['format']!r})" if "format" in data else ""
        raise ProjectError(
            f'This is not a LayerLab project{found}: expected "format": "{PROJECT_FORMAT}".',
            field="format",
        )
    version = data.get("version")
    if not _is_int(version) or version < 1:
        raise ProjectError(
            f"version must be a positive integer, found {version!r}.", field="version"
        )
    if version > PROJECT_VERSION:
        raise ProjectTooNewError(
            f"the project was written by a newer LayerLab (version {version}); this one "
            f"reads version {PROJECT_VERSION}: update LayerLab.",
            field="version",
        )


def _validate_weights(project: dict) -> None:
    """The initial weights (``"weights"``: a ``.weights.h5`` beside the project, or null)
    and ``fit.start_from`` ("weights", the default with weights, or "fresh")."""
    from engine.project_weights import START_FROM, check_weights_setting

    problem = check_weights_setting(project.get("weights"))
    if problem:
        raise ProjectError(problem, field="weights")
    if project.get("weights") is None:
        project.pop("weights", None)
    fit = project.get("fit")
    if not isinstance(fit, dict):
        return  # _validate_fit says what is wrong
    choice = fit.get("start_from")
    if choice is None:
        fit.pop("start_from", None)
        if project.get("weights"):
            fit["start_from"] = "weights"
    elif choice not in START_FROM:
        raise ProjectError(
            f'fit.start_from must be "weights" or "fresh", got {choice!r}.',
            field="fit.start_from",
        )


def _validate_model(model: Any) -> dict:
    if not isinstance(model, dict):
        raise ProjectError(
            f"model must be a Sequential config (an object), found {_json_kind(model)}.",
            field="model",
        )
    if "class_name" in model:
        # A serialised model (model.to_json()): accept a Sequential, unwrap it.
        if model.get("class_name") != "Sequential" or not isinstance(model.get("config"), dict):
            raise ProjectError(
                f"model must be a Sequential model's get_config(); this is a "
                f"{model.get('class_name')!r} model, which LayerLab cannot edit as a stack.",
                field="model",
            )
        model = model["config"]
    layers = model.get("layers")
    if not isinstance(layers, list):
        raise ProjectError(
            "model.layers must be a list of layer configs, found "
            f"{_json_kind(layers) if 'layers' in model else 'nothing'}.",
            field="model.layers",
        )
    for index, layer in enumerate(layers):
        if not isinstance(layer, dict) or not isinstance(layer.get("class_name"), str):
            raise ProjectError(
                f'model.layers[{index}] must be a layer config with a "class_name".',
                field=f"model.layers[{index}]",
            )

    from engine.catalog import layer_info
    from engine.modelfile import CODE_RUNNING_LAYERS, check_allowlist

    for index, layer in enumerate(layers):
        if layer["class_name"] in CODE_RUNNING_LAYERS or "input_layers" in model:
            continue  # the allowlist below says why it is refused (a functional model's too)
        try:
            layer_info(layer["class_name"])
        except LayerLabError as error:
            raise ProjectError(
                f"model.layers[{index}]: {_lower_first(error.message)}",
                field=f"model.layers[{index}]",
            ) from error
    try:
        check_allowlist(model)
    except ModelFileError as error:
        field = f"model.{error.field}" if error.field else "model"
        raise ProjectError(f"{field}: {error.message}", field=field) from error

    from engine.spec import validate_spec

    try:
        validate_spec(model)
    except LayerLabError as error:
        field = f"model.{error.field}" if error.field else "model"
        raise ProjectError(
            _model_problem(model, error.message, error.field), field=field, fix=error.fix
        ) from error
    except Exception as error:  # Keras's own checks: cleaned into one line
        raise ProjectError(f"model: {_one_line(error)}", field="model") from error
    return model


def _model_problem(model: dict, message: str, field: str | None) -> str:
    """'Dense 'dense': units …' at layers[1] → "model.layers[1] (Dense 'dense'): units …"."""
    match = re.match(r"layers\[(\d+)\]", field or "")
    if not match:
        return f"model: {message}"
    index = int(match[1])
    place = f"model.layers[{index}]"
    layer = model["layers"][index] if index < len(model["layers"]) else {}
    config = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    label = f"{layer.get('class_name')} '{config.get('name')}'"
    if message.startswith(f"{label}: "):
        return f"{place} ({label}): {message[len(label) + 2 :]}"
    return f"{place}: {_lower_first(message)}"


def _validate_dataset(dataset: Any) -> dict:
    if not isinstance(dataset, dict):
        raise ProjectError(
            f"dataset must be an object, found {_json_kind(dataset)}.", field="dataset"
        )
    source = dataset.get("source")
    if not isinstance(source, str) or not source:
        raise ProjectError(
            'dataset.source must name where the data comes from (e.g. "sample").',
            field="dataset.source",
        )
    return dataset


def _validate_compile(settings: Any) -> dict:
    if not isinstance(settings, dict):
        raise ProjectError(
            f"compile must be an object, found {_json_kind(settings)}.", field="compile"
        )
    for key in ("optimizer", "loss"):
        if key not in settings:
            raise ProjectError(f"compile.{key} is missing.", field=f"compile.{key}")
    settings["optimizer"] = _validate_optimizer(settings["optimizer"])
    settings["loss"] = _validate_loss(settings["loss"])
    settings.setdefault("metrics", [])
    settings["metrics"] = _validate_metrics(settings["metrics"])
    return settings


def _validate_optimizer(optimizer: Any) -> Any:
    from engine.quiet import import_keras

    keras = import_keras()
    classes = {
        name: cls
        for name in dir(keras.optimizers)
        if isinstance(cls := getattr(keras.optimizers, name), type)
        and issubclass(cls, keras.optimizers.Optimizer)
        and name not in WRAPPING_OPTIMIZERS
    }
    known = ", ".join(sorted(classes))
    field = "compile.optimizer"
    if isinstance(optimizer, str):
        if optimizer.lower() not in {name.lower() for name in classes}:
            raise ProjectError(
                f"{field}: unknown optimizer {optimizer!r}; use one of {known}.", field=field
            )
        return optimizer
    if not isinstance(optimizer, dict):
        raise ProjectError(
            f"{field} must be a name or a keras.optimizers.serialize() object, "
            f"found {_json_kind(optimizer)}.",
            field=field,
        )
    class_name = optimizer.get("class_name")
    if class_name not in classes:
        raise ProjectError(
            f"{field}: unknown optimizer class {class_name!r}; use one of {known}.", field=field
        )
    _check_keras_origin(optimizer, ("keras.optimizers",), field)
    config = optimizer.get("config", {})
    if not isinstance(config, dict):
        raise ProjectError(f"{field}.config must be an object.", field=f"{field}.config")
    rate = config.get("learning_rate")
    if isinstance(rate, dict):
        _check_keras_origin(rate, ("keras.optimizers.schedules",), f"{field}.learning_rate")
        schedule = rate.get("class_name")
        if not isinstance(getattr(keras.optimizers.schedules, str(schedule), None), type):
            raise ProjectError(
                f"{field}.config.learning_rate: unknown schedule {schedule!r}.",
                field=f"{field}.config.learning_rate",
            )
    elif rate is not None and (not _is_number(rate) or rate <= 0):
        raise ProjectError(
            f"{field}.config.learning_rate must be a positive number, got {rate!r}.",
            field=f"{field}.config.learning_rate",
        )
    try:
        keras.optimizers.deserialize(copy.deepcopy(optimizer))  # Keras edits its argument
    except Exception as error:
        raise ProjectError(f"{field} ({class_name}): {_one_line(error)}", field=field) from error
    return optimizer


def _validate_loss(loss: Any) -> Any:
    from engine.quiet import import_keras

    keras = import_keras()
    field = "compile.loss"
    if isinstance(loss, str):
        try:
            resolved = keras.losses.get(loss)
        except Exception:
            raise ProjectError(
                f"{field}: unknown loss {loss!r}; use a Keras loss name such as "
                '"sparse_categorical_crossentropy", "binary_crossentropy" or '
                '"mean_squared_error".',
                field=field,
            ) from None
        # Aliases ("mse", "mae", "bce") become the function's full name: Keras cannot
        # reload an .h5 compiled with an alias (keras-team/keras#19330).
        return getattr(resolved, "__name__", loss) if callable(resolved) else loss
    if isinstance(loss, dict):
        class_name = loss.get("class_name")
        cls = getattr(keras.losses, str(class_name), None)
        if not (isinstance(cls, type) and issubclass(cls, keras.losses.Loss)):
            raise ProjectError(f"{field}: unknown loss class {class_name!r}.", field=field)
        _check_keras_origin(loss, ("keras.losses",), field)
        try:
            keras.losses.deserialize(copy.deepcopy(loss))
        except Exception as error:
            raise ProjectError(
                f"{field} ({class_name}): {_one_line(error)}", field=field
            ) from error
        return loss
    raise ProjectError(f"{field} must be a Keras loss name, found {_json_kind(loss)}.", field=field)


def _validate_metrics(metrics: Any) -> list:
    from engine.quiet import import_keras

    keras = import_keras()
    if not isinstance(metrics, list):
        raise ProjectError(
            f"compile.metrics must be a list, found {_json_kind(metrics)}.",
            field="compile.metrics",
        )
    for index, metric in enumerate(metrics):
        field = f"compile.metrics[{index}]"
        if isinstance(metric, str) and metric in COMPILE_METRIC_SHORTHANDS:
            continue
        if isinstance(metric, dict):
            class_name = metric.get("class_name")
            cls = getattr(keras.metrics, str(class_name), None)
            if not (isinstance(cls, type) and issubclass(cls, keras.metrics.Metric)):
                raise ProjectError(f"{field}: unknown metric class {class_name!r}.", field=field)
            _check_keras_origin(metric, ("keras.metrics",), field)
            getter = keras.metrics.deserialize
        elif isinstance(metric, str):
            getter = keras.metrics.get
        else:
            raise ProjectError(
                f"{field} must be a metric name, found {_json_kind(metric)}.", field=field
            )
        try:
            getter(copy.deepcopy(metric))
        except Exception:
            raise ProjectError(
                f'{field}: unknown metric {metric!r}; use a Keras metric such as "accuracy", '
                '"mean_absolute_error" or "auc".',
                field=field,
            ) from None
    return metrics


def _validate_fit(fit: Any) -> dict:
    if not isinstance(fit, dict):
        raise ProjectError(f"fit must be an object, found {_json_kind(fit)}.", field="fit")
    for key, value in FIT_DEFAULTS.items():
        fit.setdefault(key, copy.deepcopy(value))
    for key in ("epochs", "batch_size"):
        value = fit[key]
        if not _is_int(value) or value < 1:
            raise ProjectError(
                f"fit.{key} must be a positive integer, got {value!r}.", field=f"fit.{key}"
            )
    split = fit["validation_split"]
    if not _is_number(split) or not 0 <= split < 1:
        raise ProjectError(
            f"fit.validation_split must be a number from 0 up to (not including) 1, got {split!r}.",
            field="fit.validation_split",
        )
    if not isinstance(fit["shuffle"], bool):
        raise ProjectError(
            f"fit.shuffle must be true or false, got {fit['shuffle']!r}.", field="fit.shuffle"
        )
    seed = fit["seed"]
    if seed is not None and (not _is_int(seed) or seed < 0):
        raise ProjectError(
            f"fit.seed must be a non-negative integer or null, got {seed!r}.", field="fit.seed"
        )
    fit["class_weight"] = _validate_class_weight(fit["class_weight"])
    fit["callbacks"] = _validate_callbacks(fit["callbacks"])
    if "devices" in fit:  # where to train (engine.distribution); absent or null: the default
        from engine.distribution import check_devices

        fit["devices"] = check_devices(fit["devices"])
    if "record_weights" in fit and not isinstance(fit["record_weights"], bool):
        # engine.weight_recorder: histograms of the weights at each epoch end (off if absent)
        raise ProjectError(
            f"fit.record_weights must be true or false, got {fit['record_weights']!r}.",
            field="fit.record_weights",
        )
    return fit


def _validate_class_weight(weights: Any) -> Any:
    field = "fit.class_weight"
    if weights is None or weights == "balanced":
        return weights
    if not isinstance(weights, dict):
        raise ProjectError(
            f'{field} must be null, "balanced" or an object {{"class": weight}}, got {weights!r}.',
            field=field,
        )
    normalised = {}
    for label, weight in weights.items():
        try:
            index = int(label)
        except (TypeError, ValueError):
            index = -1
        if index < 0 or str(index) != str(label).strip():
            raise ProjectError(
                f"{field}: class {label!r} must be a class index (0, 1, 2, ...).", field=field
            )
        if not _is_number(weight) or weight < 0:
            raise ProjectError(
                f"{field}[{label!r}] must be a non-negative number, got {weight!r}.",
                field=field,
            )
        normalised[str(index)] = weight
    return normalised


def _validate_callbacks(callbacks: Any) -> list:
    import inspect

    from engine.quiet import import_keras

    keras = import_keras()
    if not isinstance(callbacks, list):
        raise ProjectError(
            f"fit.callbacks must be a list, found {_json_kind(callbacks)}.", field="fit.callbacks"
        )
    for index, callback in enumerate(callbacks):
        field = f"fit.callbacks[{index}]"
        if not isinstance(callback, dict):
            raise ProjectError(
                f'{field} must be an object {{"class_name": ..., "config": {{...}}}}.',
                field=field,
            )
        class_name = callback.get("class_name")
        if class_name not in ALLOWED_CALLBACKS:
            raise ProjectError(
                f"{field}: callback {class_name!r} is not available; LayerLab runs "
                + ", ".join(ALLOWED_CALLBACKS)
                + ".",
                field=field,
            )
        config = callback.setdefault("config", {})
        if not isinstance(config, dict):
            raise ProjectError(f"{field}.config must be an object.", field=f"{field}.config")
        cls = getattr(keras.callbacks, class_name)
        accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
        unknown = sorted(set(config) - accepted)
        if unknown:
            raise ProjectError(
                f"{field} ({class_name}): unknown setting {unknown[0]!r}; it takes "
                + ", ".join(sorted(accepted))
                + ".",
                field=f"{field}.config.{unknown[0]}",
            )
    return callbacks


# --- helpers ---------------------------------------------------------------------------


def _check_keras_origin(item: dict, modules: tuple[str, ...], field: str) -> None:
    """Refuse a serialised object that names a module or registration outside Keras."""
    module = item.get("module")
    if module is not None and module not in modules:
        raise ProjectError(
            f"{field}: module {module!r} is not part of Keras; LayerLab only loads Keras's "
            "own classes.",
            field=field,
        )
    registered = item.get("registered_name")
    if registered is not None and registered != item.get("class_name"):
        raise ProjectError(
            f"{field}: {registered!r} is a custom registered class; LayerLab only loads "
            "Keras's own classes.",
            field=field,
        )


SENTENCE_OPENERS = frozenset({"A", "An", "The", "This", "Two", "Unknown"})


def _lower_first(text: str) -> str:
    """'This is ...' → 'this is ...' (to follow a colon); leaves 'Keras ...' alone."""
    first, _, rest = text.partition(" ")
    return f"{first.lower()} {rest}" if first in SENTENCE_OPENERS else text


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _one_line(error: BaseException) -> str:
    """The first line of an exception's text, without ANSI colour codes."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    return text.splitlines()[0] if text else type(error).__name__
