"""Hyperparameter search with Optuna, trials trained in worker processes.

The search space lives in the project, in a top-level ``"search"`` block::

    "search": {
      "space": [
        {"path": "model.layers[1].config.units", "type": "int", "low": 16, "high": 128,
         "log": true},
        {"path": "compile.optimizer.config.learning_rate", "type": "float",
         "low": 1e-4, "high": 1e-2, "log": true},
        {"path": "fit.batch_size", "type": "categorical", "choices": [16, 32, 64]},
        {"path": "model.layers[2]", "type": "layer_on_off"}
      ],
      "objective": {"metric": "val_loss", "direction": "minimize"},
      "sampler": "tpe", "pruner": "median", "storage": null, "study_name": null
    }

``objective`` is one metric (a Keras log name; its best epoch counts) or a list of two, e.g.
``[{"metric": "val_loss"}, {"metric": "parameter_count"}]``: best validation metric vs
the model's size, whose Pareto front ``run_search`` returns. ``direction`` defaults to
minimize for losses and errors, maximize otherwise. ``storage``: an SQLAlchemy URL; null
means SQLite beside the project (``<stem>.optuna.db``), so a search survives a crash and
resumes (``load_if_exists``); ``study_name`` defaults to the project's stem.

``run_search`` asks Optuna for trials, applies each trial's values to a copy of the project
(``apply_params``), trains it in a ``engine.worker.WorkerPool`` process, reports every
epoch's validation metric to the trial (a pruned trial's worker is told to stop), and
records each trial as a run (``run["params"]``, ``run["trial"]``). A worker that crashes
fails its trial; the search goes on.

Imports Optuna only when a search runs (``validate_search`` needs none).
"""

from __future__ import annotations

import copy
import math
import os
import queue
import re
import socket
import tempfile
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import LayerLabError, ProjectError

TYPES = ("int", "float", "categorical", "layer_on_off")
SAMPLERS = ("tpe", "random")
# A trial the user stopped: Optuna's FAIL, with this message (counted apart as "stopped")
STOPPED_MESSAGE = "Stopped by the user before it finished."
PRUNERS = ("median", "none")
PARAMETER_COUNT = "parameter_count"
DEFAULT_OBJECTIVE = {"metric": "val_loss", "direction": "minimize"}
STORAGE_SUFFIX = ".optuna.db"
_SECTIONS = ("model", "compile", "fit")
_STEP = re.compile(r"\.?([A-Za-z_][\w]*)|\[(\d+)\]")
_LAYER_PATH = re.compile(r"^model\.layers\[(\d+)\]$")
_OPTIMIZER_CLASSES = {
    name.lower(): name
    for name in (
        "Adam",
        "AdamW",
        "Adadelta",
        "Adafactor",
        "Adagrad",
        "Adamax",
        "Ftrl",
        "Lamb",
        "Lion",
        "Muon",
        "Nadam",
        "RMSprop",
        "SGD",
    )
}

SearchSink = Callable[[str, Any], Any]


class SearchError(LayerLabError):
    """A search that cannot run as asked (no space, a bad storage URL, ...)."""


# --- the search block ---------------------------------------------------------------------


def parse_path(path: str) -> list[str | int]:
    """``"model.layers[2].config.units"`` -> ``["model", "layers", 2, "config", "units"]``.
    Raises ``ValueError`` unless it is a path into model, compile or fit."""
    if not isinstance(path, str) or not path:
        raise ValueError("a path must be text such as model.layers[1].config.units")
    steps: list[str | int] = []
    position = 0
    while position < len(path):
        match = _STEP.match(path, position)
        if match is None or (position == 0 and path.startswith(".")):
            raise ValueError(f"{path!r} is not a path such as model.layers[1].config.units")
        steps.append(match[1] if match[1] is not None else int(match[2]))
        position = match.end()
    if steps[0] not in _SECTIONS or len(steps) < 2:
        raise ValueError(f"{path!r} must lead into model, compile or fit")
    return steps


def objectives(block: dict) -> list[dict]:
    """The block's objectives as a list of {"metric", "direction"} (one or two)."""
    from engine.runs import smaller_is_better

    raw = block.get("objective", block.get("objectives"))
    if raw is None:
        raw = [DEFAULT_OBJECTIVE]
    if isinstance(raw, dict):
        raw = [raw]
    result = []
    for item in raw:
        metric = item.get("metric", "val_loss")
        default = (
            "minimize" if metric == PARAMETER_COUNT or smaller_is_better(metric) else "maximize"
        )
        result.append({"metric": metric, "direction": item.get("direction") or default})
    return result


def validate_search(block: Any) -> dict:
    """The project's ``"search"`` block, checked (``engine.project`` calls this). Raises
    ``ProjectError`` naming the bad entry and the fix."""

    def fail(message: str, where: str = "search") -> None:
        raise ProjectError(message, field=where)

    if not isinstance(block, dict):
        fail("The project's search settings must be an object with a space.")
    space = block.get("space", [])
    if not isinstance(space, list):
        fail("The search space (search.space) must be a list of settings to search.")
    seen = set()
    for i, entry in enumerate(space):
        where = f"search.space[{i}]"
        if not isinstance(entry, dict):
            fail(f"The search entry {where} must be an object with a path and a type.", where)
        path, kind = entry.get("path"), entry.get("type")
        try:
            parse_path(path)
        except ValueError as error:
            fail(f"The search entry {where} has a bad path: {error}.", where)
        if path in seen:
            fail(f"The search entry {where} repeats the path {path}.", where)
        seen.add(path)
        if kind not in TYPES:
            fail(
                f"The search entry {where} ({path}) has type {kind!r}; use one of "
                f"{', '.join(TYPES)}.",
                where,
            )
        if kind in ("int", "float"):
            low, high = entry.get("low"), entry.get("high")
            number = int if kind == "int" else (int, float)
            if not all(isinstance(v, number) and not isinstance(v, bool) for v in (low, high)):
                fail(f"The search entry {where} ({path}) needs {kind} low and high values.", where)
            if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
                fail(
                    f"The search entry {where} ({path}) needs low below high, got {low} "
                    f"and {high}.",
                    where,
                )
            if entry.get("log") and low <= 0:
                fail(
                    f"The search entry {where} ({path}) is searched on a log scale, so low "
                    f"must be above 0, got {low}.",
                    where,
                )
        elif kind == "categorical":
            choices = entry.get("choices")
            plain = (str, int, float, bool, type(None))
            if not isinstance(choices, list) or not choices:
                fail(f"The search entry {where} ({path}) needs a list of choices.", where)
            if not all(isinstance(choice, plain) for choice in choices):
                fail(
                    f"The search entry {where} ({path}) may only choose among numbers, "
                    "text, true/false and null.",
                    where,
                )
        elif _LAYER_PATH.match(path) is None:
            fail(
                f"The search entry {where} switches a layer on and off, so its path must "
                f"name a layer like model.layers[2], got {path}.",
                where,
            )
    try:
        directions = objectives(block)
    except (AttributeError, TypeError):
        fail(
            'The search objective must be {"metric": "val_loss", "direction": "minimize"} '
            "or a list of two such objects.",
            "search.objective",
        )
    if not 1 <= len(directions) <= 2 or not all(
        isinstance(d["metric"], str) and d["direction"] in ("minimize", "maximize")
        for d in directions
    ):
        fail(
            "The search objective must be one or two metrics, each to minimize or maximize.",
            "search.objective",
        )
    for key, allowed in (("sampler", SAMPLERS), ("pruner", PRUNERS)):
        value = block.get(key)
        if value is not None and value not in allowed:
            fail(
                f"The search {key} {value!r} is unknown; use one of {', '.join(allowed)}.",
                f"search.{key}",
            )
    for key in ("storage", "study_name"):
        value = block.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            fail(f"The search {key} must be text or null.", f"search.{key}")
    return block


# --- applying a trial's values ----------------------------------------------------------


def apply_params(project: dict, params: dict[str, Any], space: list[dict] | None = None) -> dict:
    """A copy of ``project`` with each ``{path: value}`` of ``params`` set.

    A ``layer_on_off`` entry (``model.layers[i]`` with true/false) removes the layer when
    false; removals are done last, so every path names a layer by its index in
    ``project``; the copy's search space follows the layers that moved. A string
    optimizer becomes an object when a path sets one of its config values. Raises
    ``SearchError`` for a path that does not exist in the project.
    """
    space = space if space is not None else ((project.get("search") or {}).get("space") or [])
    kinds = {entry.get("path"): entry.get("type") for entry in space if isinstance(entry, dict)}
    result = copy.deepcopy(project)
    removed: list[int] = []
    settings = []
    for path, value in params.items():
        layer = _LAYER_PATH.match(path)
        if layer and (kinds.get(path) == "layer_on_off" or isinstance(value, bool)):
            if not value:
                removed.append(int(layer[1]))
            continue
        settings.append((len(parse_path(path)), path, value))
    for _depth, path, value in sorted(settings, key=lambda item: item[:2]):
        _set(result, path, value)
    layers = (result.get("model") or {}).get("layers")
    for index in sorted(set(removed), reverse=True):
        if not isinstance(layers, list) or index >= len(layers):
            raise SearchError(f"The search setting model.layers[{index}] names no layer.")
        del layers[index]
    if removed and isinstance(result.get("search"), dict):
        result["search"] = dict(result["search"], space=_shift_space(space, removed))
    return result


def _set(project: dict, path: str, value: Any) -> None:
    steps = parse_path(path)
    node: Any = project
    for i, step in enumerate(steps[:-1]):
        nxt = steps[i + 1]
        if step == "optimizer" and steps[:1] == ["compile"] and isinstance(node.get(step), str):
            name = node[step]
            node[step] = {"class_name": _OPTIMIZER_CLASSES.get(name.lower(), name), "config": {}}
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                raise SearchError(
                    f"The search setting {path} does not exist in the project (no item {step})."
                )
            child = node[step]
        else:
            if not isinstance(node, dict):
                raise SearchError(f"The search setting {path} does not exist in the project.")
            child = node.get(step)
            if child is None and step == "config" and not isinstance(nxt, int):
                child = node[step] = {}  # an optimizer given by name has no config yet
        if not isinstance(child, dict | list):
            raise SearchError(f"The search setting {path} does not exist in the project.")
        node = child
    last = steps[-1]
    if isinstance(last, int):
        if not isinstance(node, list) or last >= len(node):
            raise SearchError(f"The search setting {path} does not exist in the project.")
    elif not isinstance(node, dict):
        raise SearchError(f"The search setting {path} does not exist in the project.")
    node[last] = value


def _shift_space(space: list[dict], removed: list[int]) -> list[dict]:
    """The space after removing layers ``removed``: their entries go, later indices move."""
    gone = set(removed)
    shifted = []
    for entry in space:
        steps = parse_path(entry.get("path", ""))
        if steps[:2] == ["model", "layers"] and len(steps) > 2 and isinstance(steps[2], int):
            index = steps[2]
            if index in gone:
                continue
            new = index - sum(1 for r in gone if r < index)
            path = re.sub(r"^model\.layers\[\d+\]", f"model.layers[{new}]", entry["path"])
            entry = dict(entry, path=path)
        shifted.append(entry)
    return shifted


def suggest(trial, space: list[dict]) -> dict[str, Any]:
    """The values ``trial`` (an Optuna trial) picks for ``space``, by path."""
    params = {}
    for entry in space:
        path, kind = entry["path"], entry["type"]
        if kind == "int":
            params[path] = trial.suggest_int(
                path, entry["low"], entry["high"], log=bool(entry.get("log"))
            )
        elif kind == "float":
            params[path] = trial.suggest_float(
                path, float(entry["low"]), float(entry["high"]), log=bool(entry.get("log"))
            )
        elif kind == "categorical":
            params[path] = trial.suggest_categorical(path, entry["choices"])
        else:
            params[path] = trial.suggest_categorical(path, [True, False])
    return params


def best_params_applied(project: dict, study) -> dict:
    """``project`` with the best trial's values applied ("apply best to the model").

    ``study``: an Optuna study, a ``SearchResult`` or a params dict. For two objectives the
    Pareto trial with the best first objective is taken. Raises ``SearchError`` when no
    trial has completed.
    """
    if isinstance(study, dict):
        params = study
    elif isinstance(study, SearchResult):
        if not study.best:
            raise SearchError("No trial of this search has completed yet, so there is no best.")
        params = study.best[0]["params"]
    else:
        best = _best_trials(study)
        if not best:
            raise SearchError("No trial of this search has completed yet, so there is no best.")
        params = best[0].params
    return apply_params(project, params)


# --- running a search ----------------------------------------------------------------------


@dataclass
class SearchResult:
    """What ``run_search`` did: this call's finished trials, and over the whole study the
    best trial(s) (one, or the Pareto front for two objectives, best first objective first:
    ``{"number", "values", "params", "run_id"}``), parameter importances (empty with fewer
    than two completed trials) and counts by state."""

    study_name: str
    storage: str
    objectives: list[dict]
    trials: list = field(default_factory=list)
    best: list[dict] = field(default_factory=list)
    importance: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    stopped: bool = False


def default_storage(project_path: str | os.PathLike) -> str:
    """SQLite beside the project: ``sqlite:////abs/folder/<stem>.optuna.db``."""
    path = Path(project_path).resolve()
    return f"sqlite:///{path.parent / (path.stem + STORAGE_SUFFIX)}"


def open_storage(url: str):
    """An Optuna storage for ``url``; ``SearchError`` saying what is wrong with it."""
    import optuna

    if not isinstance(url, str) or "://" not in url:
        raise SearchError(
            f"The study storage {url!r} is not a database URL.",
            fix="Use an SQLAlchemy URL such as sqlite:///study.db or "
            "postgresql://user@host/db, or leave it out for SQLite beside the project.",
        )
    try:
        return optuna.storages.RDBStorage(url)
    except Exception as error:  # sqlalchemy's ArgumentError, OperationalError, ImportError...
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise SearchError(
            f"Cannot open the study storage {url}: {reason}.",
            fix="Check the URL (an SQLAlchemy database URL such as sqlite:///study.db) and "
            "that the database is reachable and writable.",
        ) from error


def load_study(project_path: str | os.PathLike, storage: str | None = None):
    """The project's existing study (for the window's views); ``SearchError`` if none."""
    import optuna

    path = Path(project_path)
    block = _search_block(path)
    url = storage or block.get("storage") or default_storage(path)
    name = block.get("study_name") or path.stem
    try:
        return optuna.load_study(study_name=name, storage=open_storage(url))
    except KeyError as error:
        raise SearchError(f"There is no search study {name!r} for {path.name} yet.") from error


def counts_text(counts: dict[str, int]) -> str:
    """ "5 completed, 1 pruned, 2 stopped, 0 failed" ("stopped" only when some were)."""
    parts = [f"{counts.get('COMPLETE', 0)} completed", f"{counts.get('PRUNED', 0)} pruned"]
    if counts.get("STOPPED"):
        parts.append(f"{counts['STOPPED']} stopped")
    return ", ".join([*parts, f"{counts.get('FAIL', 0)} failed"])


def study_summary(project_path: str | os.PathLike, storage: str | None = None) -> SearchResult:
    """What the project's existing study holds, without running a trial: counts by state,
    the best trial(s) and parameter importances (the window shows them for a search run
    earlier, e.g. in another session). ``SearchError`` when there is no study yet; the
    default SQLite file is never created by asking."""
    path = Path(project_path)
    block = _search_block(path)
    url = storage or block.get("storage") or default_storage(path)
    if url == default_storage(path) and not (path.parent / (path.stem + STORAGE_SUFFIX)).is_file():
        raise SearchError(f"There is no search study for {path.name} yet.")
    study = load_study(path, storage)
    return _summary(study, block.get("study_name") or path.stem, url, objectives(block))


def _search_block(path: Path) -> dict:
    from engine.project import preview_project

    data = preview_project(path)
    block = data.get("search")
    if not isinstance(block, dict) or not block.get("space"):
        raise SearchError(
            f"{path.name} has no search space.",
            fix='Add a "search" block with a "space" list (e.g. {"path": '
            '"compile.optimizer.config.learning_rate", "type": "float", "low": 0.0001, '
            '"high": 0.01, "log": true}), or mark settings "search" in the window.',
        )
    try:
        return validate_search(block)
    except ProjectError as error:
        raise SearchError(f"{path.name}: {error}") from error


def run_search(
    project_path: str | os.PathLike,
    trials: int,
    workers: int = 1,
    storage: str | None = None,
    *,
    sink: SearchSink | None = None,
    stop: threading.Event | None = None,
    epochs: int | None = None,
    sampler=None,
    pruner=None,
    seed: int | None = None,
    pool=None,
    pool_options: dict | None = None,
) -> SearchResult:
    """Run ``trials`` more trials of the project's search, ``workers`` at a time.

    ``sink(job_id, event)`` is called from this thread with every trial's training events
    (job id ``trial-<number>``: ``JobStarted``, ``TrainBegin``, ..., ``TrainEnd``,
    ``JobResult``, ``JobFinished``), then a ``TrialFinished``, and ``("search",
    SearchFinished)`` last. Set ``stop`` (a ``threading.Event``) to stop: running trials are
    told to stop and marked failed, the study stays resumable. ``sampler``/``pruner``:
    Optuna objects overriding the block's. ``pool``: a running ``WorkerPool`` to use (its
    warm workers skip TensorFlow's start-up; it is left open), else one is made and closed
    (``pool_options`` are its keyword arguments). Raises ``SearchError``/``ProjectError`` for bad
    input before any trial starts.
    """
    import optuna

    from engine.worker import Job, adopt_runs, borrowed_pool
    from engine.worker_protocol import (
        EpochEnd,
        JobFinished,
        JobResult,
        SearchFinished,
    )

    path = Path(project_path)
    if isinstance(trials, bool) or not isinstance(trials, int) or trials < 1:
        raise SearchError(f"The number of trials must be 1 or more, got {trials!r}.")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise SearchError(f"The number of workers must be 1 or more, got {workers!r}.")
    from engine.project import preview_project

    project = preview_project(path)
    block = _search_block(path)
    space = block["space"]
    goals = objectives(block)
    for entry in space:  # every path must exist before any trial is asked for
        apply_params(project, {entry["path"]: _some_value(entry)}, space)
    url = storage or block.get("storage") or default_storage(path)
    rdb = open_storage(url)
    name = block.get("study_name") or path.stem
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if sampler is None:
        sampler = (
            optuna.samplers.RandomSampler(seed=seed)
            if block.get("sampler") == "random"
            else optuna.samplers.TPESampler(seed=seed)
        )
    if pruner is None:
        pruner = (
            optuna.pruners.NopPruner()
            if block.get("pruner") == "none" or len(goals) > 1
            else optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=1)
        )
    try:
        study = optuna.create_study(
            storage=rdb,
            sampler=sampler,
            pruner=pruner,
            study_name=name,
            directions=[goal["direction"] for goal in goals],
            load_if_exists=True,
        )
    except ValueError as error:
        raise SearchError(
            f"The study {name!r} in {url} cannot be resumed with these objectives: {error}",
            fix='Give the search another "study_name", or restore its objectives.',
        ) from error
    _fail_orphans(study)
    sink = sink or (lambda job_id, event: None)
    events: queue.Queue = queue.Queue()
    active: dict[str, dict] = {}
    finished: list = []
    asked = 0
    stopping = False
    prunable = len(goals) == 1 and goals[0]["metric"] != PARAMETER_COUNT
    with (
        tempfile.TemporaryDirectory(prefix="layerlab-search-") as scratch,
        borrowed_pool(
            pool, workers, lambda job_id, event: events.put((job_id, event)), pool_options
        ) as pool,
    ):
        try:
            while True:
                if stop is not None and stop.is_set() and not stopping:
                    stopping = True
                    pool.stop_all()
                while not stopping and asked < trials and len(active) < workers:
                    trial = study.ask()
                    params = suggest(trial, space)
                    trial.set_user_attr("host", socket.gethostname())
                    trial.set_user_attr("pid", os.getpid())
                    job = Job(
                        id=f"trial-{trial.number}",
                        project=apply_params(project, params, space),
                        out=Path(scratch) / f"trial-{trial.number}",
                        workdir=path.resolve().parent,
                        epochs=epochs,
                        label=f"trial {trial.number}",
                    )
                    active[job.id] = {"trial": trial, "params": params, "pruned": False}
                    asked += 1
                    pool.submit(job)
                if not active:
                    break
                try:
                    job_id, event = events.get(timeout=0.2)
                except queue.Empty:
                    continue
                item = active.get(job_id)
                if item is None:
                    continue
                sink(job_id, event)
                if isinstance(event, EpochEnd) and prunable and not item["pruned"]:
                    value = event.logs.get(goals[0]["metric"])
                    if isinstance(value, int | float) and math.isfinite(value):
                        item["trial"].report(float(value), event.epoch)
                        if item["trial"].should_prune():
                            item["pruned"] = True
                            pool.stop(job_id)
                elif isinstance(event, JobResult):
                    item["result"] = event
                elif isinstance(event, JobFinished):
                    outcome = _finish_trial(study, item, goals, stopping, path, name, adopt_runs)
                    finished.append(outcome)
                    del active[job_id]
                    sink(job_id, outcome)
        except BaseException:  # a sink that raised, an interrupt: no trial stays RUNNING
            _abandon(study, active)
            raise
    result = _summary(study, name, url, goals)
    result.trials = finished
    result.stopped = stopping
    message = f"{len(finished)} trial{'s' if len(finished) != 1 else ''} finished"
    if stopping:
        message += "; stopped (run the search again to resume it)"
    sink("search", SearchFinished(stopped=stopping, trials_done=len(finished), message=message))
    return result


def _abandon(study, active: dict) -> None:
    from optuna.trial import TrialState

    for item in active.values():
        try:
            item["trial"].set_user_attr("message", "The search ended before it finished.")
            study.tell(item["trial"], state=TrialState.FAIL)
        except Exception:  # already told, or the storage is gone: nothing more to do
            pass


def _some_value(entry: dict) -> Any:
    if entry["type"] in ("int", "float"):
        return entry["low"]
    if entry["type"] == "categorical":
        return entry["choices"][0]
    return True


def _fail_orphans(study) -> None:
    """Trials left RUNNING by a search on this machine whose process is gone (a crash, a
    kill) are marked failed, so the study's counts and best stay honest."""
    from optuna.trial import TrialState

    host = socket.gethostname()
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        attrs = trial.user_attrs
        pid = attrs.get("pid")
        if attrs.get("host") != host or not isinstance(pid, int):
            continue
        try:
            os.kill(pid, 0)
            alive = pid != os.getpid()
        except ProcessLookupError:
            alive = False
        except PermissionError:
            alive = True
        if not alive:
            study._storage.set_trial_user_attr(
                trial._trial_id, "message", "The search that ran it ended before it finished."
            )
            study.tell(trial.number, state=TrialState.FAIL)


def _objective_values(goals: list[dict], result) -> tuple[list[float] | None, str]:
    record = result.record or {}
    history = record.get("history") or {}
    values = []
    for goal in goals:
        metric = goal["metric"]
        if metric == PARAMETER_COUNT:
            if result.parameter_count is None:
                return None, "The model's parameter count is unknown."
            values.append(float(result.parameter_count))
            continue
        finite = [v for v in history.get(metric) or [] if isinstance(v, int | float)]
        finite = [v for v in finite if math.isfinite(v)]
        if not finite:
            logged = ", ".join(sorted(history)) or "nothing"
            return None, (
                f"The run logged no {metric} to optimise (it logged {logged}); set the search "
                "objective to one of these, or give the dataset a validation part."
            )
        values.append(min(finite) if goal["direction"] == "minimize" else max(finite))
    return values, ""


def _finish_trial(study, item, goals, stopping, path, name, adopt_runs):
    from optuna.trial import TrialState

    from engine.worker_protocol import JobResult, TrialFinished

    trial = item["trial"]
    result = item.get("result") or JobResult("failed", "The trial's worker sent no result.")
    values = None
    if item["pruned"]:
        state, message = TrialState.PRUNED, "Pruned: its validation metric lagged the median."
    elif result.status in ("completed", "early_stopped") and result.record:
        values, message = _objective_values(goals, result)
        state = TrialState.COMPLETE if values is not None else TrialState.FAIL
        message = message or result.message
    elif result.status == "stopped" and stopping:
        state, message = TrialState.FAIL, STOPPED_MESSAGE
    else:
        state, message = TrialState.FAIL, result.message or "The trial failed."
    run_id, run = None, None
    if result.record:
        recorded = adopt_runs(
            path,
            [
                (
                    result,
                    {
                        "name": f"Trial {trial.number}",
                        "params": item["params"],
                        "trial": {"study": name, "number": trial.number, "state": state.name},
                    },
                )
            ],
        )
        run = recorded[0] if recorded else None
        run_id = run["id"] if run else None
    trial.set_user_attr("message", message)
    if run_id:
        trial.set_user_attr("run_id", run_id)
    if result.parameter_count is not None:
        trial.set_user_attr(PARAMETER_COUNT, result.parameter_count)
    if state == TrialState.COMPLETE:
        study.tell(trial, values)
    else:
        study.tell(trial, state=state)
    return TrialFinished(
        number=trial.number,
        state=state.name,
        values=tuple(values) if values is not None else None,
        params=dict(item["params"]),
        message=message,
        run_id=run_id,
        run=run,
    )


def _best_trials(study) -> list:
    from optuna.trial import TrialState

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return []
    if len(study.directions) == 1:
        return [study.best_trial]
    sign = 1 if study.directions[0].name == "MINIMIZE" else -1
    return sorted(study.best_trials, key=lambda t: sign * t.values[0])


def _summary(study, name: str, url: str, goals: list[dict]) -> SearchResult:
    import optuna
    from optuna.trial import TrialState

    result = SearchResult(study_name=name, storage=url, objectives=goals)
    trials = study.get_trials(deepcopy=False)
    for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL):
        result.counts[state.name] = sum(1 for t in trials if t.state == state)
    # Optuna has no "stopped" state: trials the user stopped are FAIL with our message
    result.counts["STOPPED"] = sum(
        1
        for t in trials
        if t.state == TrialState.FAIL and t.user_attrs.get("message") == STOPPED_MESSAGE
    )
    result.counts["FAIL"] -= result.counts["STOPPED"]
    result.best = [
        {
            "number": t.number,
            "values": list(t.values),
            "params": dict(t.params),
            "run_id": t.user_attrs.get("run_id"),
        }
        for t in _best_trials(study)
    ]
    if result.counts["COMPLETE"] >= 2:
        sign = 1.0 if goals[0]["direction"] == "minimize" else -1.0

        def target(trial) -> float:  # the evaluator ranks what makes the target low
            return sign * trial.values[0]

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                importance = optuna.importance.get_param_importances(study, target=target)
            result.importance = {key: float(value) for key, value in importance.items()}
        except Exception:  # e.g. every completed trial had the same values
            result.importance = {}
    return result
