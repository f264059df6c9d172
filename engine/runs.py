"""Run records: every training run, kept in the project's ``"runs"`` list.

A run record is plain JSON (floats survive ``json`` exactly, so save → reopen keeps it bit
for bit)::

    {"id": "20250101-120000-a1b2c3", "name": "Run 3",
     "started_at": "2025-01-01T12:00:00+01:00", "seconds": 12.5, "device": "CPU",
     "status": "completed" | "stopped" | "early_stopped" | "failed" | "imported",
     "message": "...",
     "epochs_completed": 10, "steps_per_epoch": 36,
     "snapshot": {"model": ..., "dataset": ..., "compile": ..., "fit": ...},
     "history": {"loss": [...], "val_loss": [...], ...},        # one value per epoch
     "batch_loss": {"x": [...], "loss": [...]},                  # x in fractional epochs
     "best": {"val_loss": {"value": 0.28, "epoch": 3}, ...},     # epoch 0-based
     "final": {"loss": 0.1, ...},
     "test_metrics": {"loss": ..., "accuracy": ...} | null,
     "weights": "runs/<id>.h5" | null,
     "overfitting": {"epoch": 3, "epochs_rising": 6, ..., "message": "..."} | null,
     "warnings": ["The loss diverged: ..."],                    # [] when none
     "epoch_seconds": [1.9, 1.7, ...],                          # each epoch's training time
     "weights_history": {...}}     # only with fit.record_weights: engine.weight_recorder

Non-finite values (a NaN loss) are stored as ``null``. The trained weights are a full
``.h5`` model file in a ``runs/`` folder beside the project, written atomically by
``engine.modelfile.save_model``. A project that has not been saved yet keeps its runs'
weights in a private temporary folder (``weights`` is then an absolute path) until
``place_run_files`` moves them beside the project on save (with the project's initial
weights, see ``engine.project_weights``).

An opened model file is shown as a run too (``imported_run``): status "imported", message
"Imported from X.h5", the file's model saved as the run's weights, no history (``best``,
``final`` and ``batch_loss`` are empty), so it can be evaluated, used for predictions and
exported without training.

All functions are pure on the project dict: they return a new project and never change
the one passed in. This module imports no Keras at import time (the CLI ``runs`` command
lists runs without loading TensorFlow).
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import re
import secrets
import shutil
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from engine import overfitting
from engine.compare import changes
from engine.errors import ModelFileError, ProjectError
from engine.identity_memo import IdentityMemo

RUNS_FOLDER = "runs"
WEIGHTS_SUFFIX = ".h5"
MAX_BATCH_POINTS = 3000
STATUS_TEXT = {
    "completed": "completed",
    "stopped": "stopped",
    "early_stopped": "early-stopped",
    "failed": "failed",
    "imported": "imported",
}
IMPORTED = "imported"
# Log names where smaller is better; every other metric (accuracy, auc, ...) is maximised.
_SMALLER_IS_BETTER = re.compile(
    r"(loss|error|mae|mse|mape|msle|hinge|crossentropy|divergence|poisson|log_cosh)$"
)
_NOT_METRICS = ("learning_rate", "lr")

_pending_folder: Path | None = None


# --- recording ---------------------------------------------------------------------------


def unrecorded_reason(result: Any) -> str | None:
    """Why ``result`` is not recorded (a sentence for the log), or None when it is.

    Only runs that trained at least one batch are recorded: a run that failed or was stopped
    before its first batch (data missing, a wrong setting) has nothing to compare.
    """
    if getattr(result, "batch_losses", None) or int(getattr(result, "epochs_completed", 0) or 0):
        return None
    message = str(getattr(result, "message", "") or "").strip()
    because = f": {message}" if message else "."
    return f"The run was not recorded because it ended before training a single batch{because}"


def record_run(project: dict, result: Any, project_path: str | os.PathLike | None):
    """Record ``result`` (an ``engine.training.RunResult``) in ``project``.

    Returns ``(new_project, run)``, or ``(project, None)`` when the run trained no batch at
    all (``unrecorded_reason`` says why; nothing is written). The trained weights are saved
    (when the run did not fail) to ``runs/<id>.h5`` beside ``project_path``, or to a
    temporary folder when the project has no path yet (see ``place_run_files``).
    Raises ``ModelFileError`` when the weights cannot be written.
    """
    if unrecorded_reason(result) is not None:
        return project, None
    runs = list(project.get("runs") or [])
    started = getattr(result, "started_at", "") or datetime.now().astimezone().isoformat(
        timespec="seconds"
    )
    run_id = _new_id(started, {run.get("id") for run in runs})
    history = {str(key): _clean_list(values) for key, values in (result.history or {}).items()}
    hint = overfitting.detect(history)
    run: dict[str, Any] = {
        "id": run_id,
        "name": _next_name(runs),
        "started_at": started,
        "seconds": float(result.seconds),
        "device": str(getattr(result, "device", "") or ""),
        "status": str(result.status),
        "message": str(result.message or ""),
        "epochs_completed": int(result.epochs_completed),
        "steps_per_epoch": _int_or_none(getattr(result, "steps_per_epoch", None)),
        "snapshot": _plain(copy.deepcopy(result.snapshot or {})),
        "history": history,
        "batch_loss": downsample_batch_loss(
            list(getattr(result, "batch_losses", None) or []),
            getattr(result, "steps_per_epoch", None),
            int(result.epochs_completed),
        ),
        "best": best_metrics(history),
        "final": {key: values[-1] for key, values in history.items() if values},
        "test_metrics": _clean_dict(getattr(result, "test_metrics", None)),
        "weights": None,
        "overfitting": hint.to_dict() if hint else None,
        "warnings": [str(text) for text in (getattr(result, "warnings", None) or [])],
        "epoch_seconds": [float(s) for s in (getattr(result, "epoch_seconds", None) or [])],
    }
    weights_history = getattr(result, "weights_history", None)  # engine.weight_recorder
    if isinstance(weights_history, dict):
        run["weights_history"] = _plain(weights_history)
    model = getattr(result, "model", None)
    if model is not None:
        # stored, so listing runs never needs Keras to count them
        with contextlib.suppress(Exception):
            run["parameter_count"] = int(model.count_params())
    if model is not None and result.status != "failed" and run["batch_loss"]["loss"]:
        run["weights"] = _save_weights(model, run_id, project_path)
    new_project = dict(project)
    new_project["runs"] = [*runs, run]
    return new_project, run


def _save_weights(model, run_id: str, project_path) -> str:
    from engine.modelfile import save_model

    if project_path is None:
        target = _pending_dir() / f"{run_id}{WEIGHTS_SUFFIX}"
        save_model(model, target)
        return str(target)
    relative = f"{RUNS_FOLDER}/{run_id}{WEIGHTS_SUFFIX}"
    save_model(model, Path(project_path).parent / relative)
    return relative


def _pending_dir() -> Path:
    global _pending_folder
    if _pending_folder is None or not _pending_folder.is_dir():
        _pending_folder = Path(tempfile.mkdtemp(prefix="layerlab-unsaved-runs-"))
    return _pending_folder


def imported_run(
    project: dict, model, file_name: str, project_path: str | os.PathLike | None = None
) -> tuple[dict, dict]:
    """Record the model opened from ``file_name`` as a run of ``project``.

    Returns ``(new_project, run)``: status "imported", message "Imported from X.h5", the
    model (with the file's weights) saved as the run's ``.h5`` (``runs/<id>.h5`` beside
    ``project_path``, or in the temporary folder while the project is unsaved, like trained
    runs), a snapshot of the project's model, dataset, compile and fit, and no history.
    Raises ``ModelFileError`` when the weights cannot be written.
    """
    runs = list(project.get("runs") or [])
    started = datetime.now().astimezone().isoformat(timespec="seconds")
    run_id = _new_id(started, {run.get("id") for run in runs})
    name = Path(str(file_name)).name
    run: dict[str, Any] = {
        "id": run_id,
        "name": _unique_run_name(f"Imported {Path(name).stem}", runs),
        "started_at": started,
        "seconds": 0.0,
        "device": "",
        "status": IMPORTED,
        "message": f"Imported from {name}",
        "epochs_completed": 0,
        "steps_per_epoch": None,
        "snapshot": _plain(copy.deepcopy({key: project.get(key) for key in _SNAPSHOT_KEYS})),
        "history": {},
        "batch_loss": {"x": [], "loss": []},
        "best": {},
        "final": {},
        "test_metrics": None,
        "weights": _save_weights(model, run_id, project_path),
        "overfitting": None,
        "warnings": [],
    }
    return {**project, "runs": [*runs, run]}, run


_SNAPSHOT_KEYS = ("model", "dataset", "compile", "fit")


def _unique_run_name(wanted: str, runs: list[dict]) -> str:
    taken = {run.get("name") for run in runs}
    name, number = wanted, 2
    while name in taken:
        name, number = f"{wanted} ({number})", number + 1
    return name


def is_imported(run: dict) -> bool:
    """Whether ``run`` is an opened model file rather than a trained run."""
    return isinstance(run, dict) and run.get("status") == IMPORTED


def _new_id(started_at: str, taken: set) -> str:
    try:
        stamp = datetime.fromisoformat(started_at).strftime("%Y%m%d-%H%M%S")
    except (TypeError, ValueError):
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    while True:
        candidate = f"{stamp}-{secrets.token_hex(3)}"
        if candidate not in taken:
            return candidate


def _next_name(runs: list[dict]) -> str:
    runs = [run for run in runs if run.get("status") != IMPORTED]  # Run 1 is the first trained
    numbers = [
        int(match.group(1))
        for run in runs
        if (match := re.fullmatch(r"Run (\d+)", str(run.get("name", ""))))
    ]
    return f"Run {max([len(runs), *numbers]) + 1}"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _clean_list(values) -> list[float | None]:
    return [_number(value) for value in (values or [])]


def _clean_dict(values) -> dict[str, float | None] | None:
    if values is None:
        return None
    return {str(key): _number(value) for key, value in values.items()}


def _plain(value: Any) -> Any:
    """JSON-safe copy: numpy scalars/arrays and tuples become plain numbers and lists."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def downsample_batch_loss(
    losses: list[float], steps_per_epoch: int | None, epochs_completed: int = 0
) -> dict[str, list]:
    """Every batch's loss with its x in fractional epochs (batch ``i`` of epoch ``e`` ends
    at ``e + (i + 1) / steps``), reduced to at most ``MAX_BATCH_POINTS`` points by keeping
    each bucket's lowest and highest value in order (the curve's envelope survives)."""
    n = len(losses)
    if n == 0:
        return {"x": [], "loss": []}
    if steps_per_epoch:
        xs = [(i + 1) / steps_per_epoch for i in range(n)]
    else:
        span = max(epochs_completed, 1)
        xs = [span * (i + 1) / n for i in range(n)]
    values = [_number(value) for value in losses]
    if n <= MAX_BATCH_POINTS:
        return {"x": xs, "loss": values}
    buckets = MAX_BATCH_POINTS // 2
    keep: list[int] = []
    for b in range(buckets):
        start, end = b * n // buckets, (b + 1) * n // buckets
        finite = [i for i in range(start, end) if values[i] is not None]
        if not finite:
            keep.append(start)
            continue
        low = min(finite, key=lambda i: values[i])
        high = max(finite, key=lambda i: values[i])
        keep += sorted({low, high})
    return {"x": [xs[i] for i in keep], "loss": [values[i] for i in keep]}


def smaller_is_better(metric: str) -> bool:
    """Whether a lower value of log name ``metric`` is better (losses, errors)."""
    return bool(_SMALLER_IS_BETTER.search(metric.removeprefix("val_")))


def best_metrics(history: dict[str, list]) -> dict[str, dict]:
    """For each metric in ``history``: its best value and the (0-based) epoch it came at."""
    best = {}
    for key, values in history.items():
        if key in _NOT_METRICS:
            continue
        finite = [(value, epoch) for epoch, value in enumerate(values) if value is not None]
        if not finite:
            continue
        pick = min if smaller_is_better(key) else max
        value, epoch = pick(finite, key=lambda pair: pair[0])
        best[key] = {"value": value, "epoch": epoch}
    return best


# --- learned dataset data --------------------------------------------------------------

LEARNED_KEY = "vocabulary"


def learned_block(block: Any, dataset: Any) -> dict | None:
    """``block`` with the vocabulary ``dataset`` learned from it, or None when there is
    nothing to add.

    A ``text_folder`` block learns its vocabulary from the training texts; stored in the
    block, it is used as is the next time (so a model keeps reading new text the way it was
    trained even after the folder changes). Returns a new block only when ``block`` is a
    text_folder block without a stored vocabulary and ``dataset`` (an ``engine.datasets``
    Dataset) was loaded from these very settings.
    """
    if not isinstance(block, dict) or block.get("source") != "text_folder":
        return None
    if block.get(LEARNED_KEY):
        return None
    vocabulary = getattr(dataset, "vocabulary", None)
    loaded_from = getattr(dataset, "block", None)
    if not vocabulary or not isinstance(loaded_from, dict):
        return None
    if _settings(loaded_from) != _settings(block):
        return None
    return {**block, LEARNED_KEY: [str(word) for word in vocabulary]}


def edited_block(old: Any, new: dict) -> dict:
    """The dataset block after the user edited ``old`` into ``new``: a vocabulary learned
    from the old settings is kept while the settings stay the same and dropped as soon as
    any of them changes (it is learned again from the new ones)."""
    settings = _settings(new)
    if isinstance(old, dict) and _settings(old) == settings and old.get(LEARNED_KEY):
        return {**settings, LEARNED_KEY: copy.deepcopy(old[LEARNED_KEY])}
    return settings


def _settings(block: dict) -> dict:
    return {key: value for key, value in block.items() if key != LEARNED_KEY}


# --- reading -----------------------------------------------------------------------------


def find_run(project: dict, key: str | None = None) -> dict:
    """The run whose name or id is ``key`` (the last run when ``key`` is None).

    Raises ``ProjectError`` listing the runs there are when none matches.
    """
    runs = project.get("runs") or []
    if not runs:
        raise ProjectError(
            "This project has no recorded runs yet.",
            fix=(
                "Train it in the LayerLab window or with 'layerlab train'; every run is "
                "recorded in the project."
            ),
        )
    if key is None:
        return runs[-1]
    for run in reversed(runs):
        if key in (run.get("name"), run.get("id")):
            return run
    names = ", ".join(repr(run.get("name")) for run in runs)
    raise ProjectError(f"There is no run named {key!r}; the runs are {names}.", field="runs")


def main_metric(run: dict) -> str | None:
    """The task's main metric besides the loss: the first other metric the run logged."""
    for key in run.get("history") or {}:
        if key.startswith("val_") or key in ("loss", *_NOT_METRICS):
            continue
        return key
    return None


def status_text(run: dict) -> str:
    """``completed``, ``stopped``, ``early-stopped at epoch 7``, ``failed`` or
    ``imported from X.h5``."""
    status = run.get("status", "")
    if status == IMPORTED:
        message = str(run.get("message") or "")
        return message[:1].lower() + message[1:] if message else STATUS_TEXT[IMPORTED]
    text = STATUS_TEXT.get(status, str(status))
    if status == "early_stopped":
        text += f" at epoch {run.get('epochs_completed', 0)}"
    return text


def compared_changes(
    runs: list[dict], base_id: str | None = None, memo: IdentityMemo | None = None
) -> dict[str, list[str]]:
    """For each run id: what differs from the previous run, or from run ``base_id``.

    ``memo``: the caller's own ``IdentityMemo`` (one per view), to describe a pair of
    snapshots it described before without comparing them again."""
    base_run = next((run for run in runs if run.get("id") == base_id), None)

    def describe(before: dict | None, after: dict) -> list[str]:
        if memo is None:
            return changes(before, after)
        return list(memo.get((before, after), None, lambda: changes(before, after)))

    result = {}
    previous = None
    for run in runs:
        base = base_run if base_run is not None else previous
        if base is None or base is run:
            result[run["id"]] = []
        else:
            result[run["id"]] = describe(base.get("snapshot"), run.get("snapshot") or {})
        previous = run
    if memo is not None:
        memo.end_pass()
    return result


def weights_path(project_path: str | os.PathLike | None, run: dict) -> Path | None:
    """Where the run's weights file is (absolute), or None when it has none."""
    weights = run.get("weights")
    if not weights:
        return None
    path = Path(weights)
    if path.is_absolute():
        return path
    if project_path is None:
        return None
    return Path(project_path).parent / path


def run_model(project_path: str | os.PathLike | None, run: dict):
    """The run's trained model, loaded safely from its weights file and compiled with the
    run's own compile settings (ready for ``evaluate``/``predict``)."""
    path = weights_path(project_path, run)
    name = run.get("name", "this run")
    if path is None:
        raise ModelFileError(
            f"{name} has no saved weights ({status_text(run)} before any were trained).",
            fix="Re-run it to get a trained model.",
        )
    if not path.is_file():
        raise ModelFileError(
            f"The weights of {name} are missing ({path}).",
            fix="Re-run it, or restore the runs folder that was beside the project.",
        )
    from engine.compiling import compile_model
    from engine.modelfile import load_model_file

    model = load_model_file(path).model
    compile_model(model, (run.get("snapshot") or {}).get("compile") or {})
    return model


def run_dataset(run: dict, progress=None):
    """The dataset exactly as the run had it (its snapshot's dataset, loss and split)."""
    from engine.datasets import load_dataset

    snapshot = run.get("snapshot") or {}
    return load_dataset(
        snapshot.get("dataset") or {},
        loss=(snapshot.get("compile") or {}).get("loss"),
        validation_split=float((snapshot.get("fit") or {}).get("validation_split") or 0.0),
        progress=progress,
    )


# --- editing -----------------------------------------------------------------------------


def rename_run(project: dict, run_id: str, name: str) -> dict:
    """A new project in which run ``run_id`` is called ``name`` (stripped, not empty)."""
    name = str(name).strip()
    if not name:
        raise ProjectError("A run needs a name.", field="runs.name")
    runs = [dict(run, name=name) if run.get("id") == run_id else run for run in _runs(project)]
    return {**project, "runs": runs}


def set_test_metrics(project: dict, run_id: str, metrics: dict) -> dict:
    """A new project in which run ``run_id`` holds ``metrics`` (an evaluation on the test
    part, e.g. of a run that was stopped before its own test evaluation) as its test metrics."""
    clean = {str(key): float(value) for key, value in dict(metrics).items()}
    runs = [
        dict(run, test_metrics=clean) if run.get("id") == run_id else run for run in _runs(project)
    ]
    return {**project, "runs": runs}


def delete_run(project: dict, run_id: str, project_path: str | os.PathLike | None) -> dict:
    """A new project without run ``run_id``; its weights file is deleted from disk."""
    runs = _runs(project)
    doomed = next((run for run in runs if run.get("id") == run_id), None)
    if doomed is None:
        raise ProjectError(f"There is no run with id {run_id!r}.", field="runs")
    path = weights_path(project_path, doomed)
    if path is not None:
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise ProjectError(
                f"Cannot delete {path}: {error.strerror or error}.", field="runs"
            ) from error
    return {**project, "runs": [run for run in runs if run is not doomed]}


def place_run_files(
    project: dict,
    project_path: str | os.PathLike,
    old_project_path: str | os.PathLike | None = None,
) -> dict:
    """Put every run's weights in ``runs/`` beside ``project_path``, and the project's
    initial weights (``"weights"``) beside it as ``<stem>.weights.h5`` (call on Save /
    Save As, whether or not the project has runs).

    Weights of an unsaved project (in the temporary folder) are moved there; with
    ``old_project_path`` (Save As into another folder) the old project's files are copied.
    Each copy is atomic (a temporary sibling renamed onto the target). Returns the project
    with relative ``weights`` paths.
    """
    from engine.project_weights import place_project_weights

    project = place_project_weights(project, project_path, old_project_path)
    if not project.get("runs"):
        return project
    folder = Path(project_path).parent / RUNS_FOLDER
    runs = []
    for run in _runs(project):
        weights = run.get("weights")
        if not weights:
            runs.append(run)
            continue
        source = Path(weights)
        if not source.is_absolute():
            if old_project_path is None:
                runs.append(run)
                continue
            source = Path(old_project_path).parent / source
        relative = f"{RUNS_FOLDER}/{source.name}"
        target = folder / source.name
        if source.resolve() != target.resolve() and source.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, suffix=".part", delete=False) as part:
                partial = Path(part.name)
            try:
                shutil.copy2(source, partial)
                os.replace(partial, target)
            finally:
                partial.unlink(missing_ok=True)
            if source.parent == _pending_folder:
                source.unlink(missing_ok=True)
        runs.append(dict(run, weights=relative))
    return {**project, "runs": runs}


def _runs(project: dict) -> list[dict]:
    return list(project.get("runs") or [])
