"""Groups: one configuration trained several times -- "repeat with N seeds" or "k-fold".

``run_group(project_path, kind, n, ...)`` runs the members in worker processes
(``engine.worker.WorkerPool``), records each as an ordinary run tagged with the group's id
(``run["group"]``) and stores the group in the project's top-level ``"groups"`` list::

    {"id": "g-20250101-120000-a1b2c3", "name": "5 seeds", "kind": "repeat" | "kfold",
     "size": 5, "seed": 0, "created_at": "...", "runs": ["<run id>", ...],
     "best": {"val_loss": {"mean": 0.31, "std": 0.02, "n": 5}, ...},
     "curves": {"val_loss": {"mean": [...], "std": [...], "n": [...]}, ...}}

``std`` is the sample standard deviation (ddof=1; 0 for a single member); a curve's epoch
``e`` averages the members that reached it (``n[e]`` of them).

K-fold (scikit-learn's ``StratifiedKFold`` for classification, ``KFold`` otherwise,
shuffled with ``seed``) splits the dataset's training and validation parts together; each
fold trains on k-1 parts and validates on the remaining one; the test part is untouched.
The split is made in the worker (``fold_dataset``): the parent never loads the data.

Imports neither Keras nor scikit-learn at import time.
"""

from __future__ import annotations

import copy
import math
import secrets
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from engine.errors import LayerLabError, ProjectError

KINDS = ("repeat", "kfold")
MAX_MEMBERS = 100


class GroupError(LayerLabError):
    """A group that cannot be run as asked."""


# --- validation (engine.project calls this for a "groups" key) --------------------------


def validate_groups(groups: Any) -> list:
    """The project's ``"groups"`` list, checked: each an object with an id, a kind and a
    list of run ids. Raises ``ProjectError`` naming the bad entry."""
    if not isinstance(groups, list):
        raise ProjectError("The project's groups must be a list.", field="groups")
    seen = set()
    for i, group in enumerate(groups):
        where = f"groups[{i}]"
        if not isinstance(group, dict):
            raise ProjectError(f"The entry {where} of the project's groups must be an object.")
        gid = group.get("id")
        if not isinstance(gid, str) or not gid or gid in seen:
            raise ProjectError(f"The group {where} needs a unique text id.", field=where)
        seen.add(gid)
        if group.get("kind") not in KINDS:
            raise ProjectError(
                f"The group {where} has kind {group.get('kind')!r}; use 'repeat' or 'kfold'.",
                field=where,
            )
        runs = group.get("runs")
        if not isinstance(runs, list) or not all(isinstance(r, str) for r in runs):
            raise ProjectError(f"The group {where} needs a list of run ids.", field=where)
    return groups


# --- k-fold split (in the worker) -------------------------------------------------------


def fold_rows(labels, k: int, index: int, seed: int, stratify: bool):
    """(train rows, validation rows) of fold ``index`` of ``k`` over ``len(labels)`` rows."""
    import numpy as np
    from sklearn.model_selection import KFold, StratifiedKFold

    n = len(labels)
    if not 2 <= k <= n:
        raise GroupError(f"K-fold needs k from 2 up to the number of examples ({n}), got {k}.")
    if not 0 <= index < k:
        raise GroupError(f"Fold {index} does not exist with k={k}.")
    y = np.asarray(labels)
    if stratify:
        y = y.argmax(axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(n, -1)[:, 0]
        smallest = int(np.unique(y, return_counts=True)[1].min())
        if smallest < k:
            stratify = False  # a class rarer than k: StratifiedKFold would warn and skew
    splitter = (
        StratifiedKFold(k, shuffle=True, random_state=seed)
        if stratify
        else KFold(k, shuffle=True, random_state=seed)
    )
    split = splitter.split(np.zeros(n), y if stratify else None)
    for i, (train, validation) in enumerate(split):
        if i == index:
            return train, validation
    raise GroupError(f"Fold {index} does not exist with k={k}.")  # unreachable


def fold_dataset(dataset, k: int, index: int, seed: int = 0):
    """A copy of ``dataset`` whose training and validation parts are fold ``index`` of a
    k-fold split of its training and validation examples together."""
    import dataclasses

    import numpy as np

    from engine.datasets.base import Part

    parts = [dataset.parts[name] for name in ("train", "validation") if name in dataset.parts]
    parts = [part for part in parts if len(part)]
    labels = np.concatenate([np.asarray(part.y) for part in parts])
    stratify = dataset.task in ("binary", "multiclass")
    train, validation = fold_rows(labels, k, index, seed, stratify)
    stores = [part.x for part in parts]
    new_parts = dict(dataset.parts)
    new_parts["train"] = Part(_RowsStore(stores, train), labels[train])
    new_parts["validation"] = Part(_RowsStore(stores, validation), labels[validation])
    return dataclasses.replace(
        dataset, parts=new_parts, train_size=len(train), val_size=len(validation)
    )


class _RowsStore:
    """Rows ``rows`` of several stores laid end to end (an ``engine.datasets`` Store)."""

    def __init__(self, stores: list, rows):
        import numpy as np

        self.stores = stores
        self.rows = np.asarray(rows)
        self.offsets = np.cumsum([0, *(len(store) for store in stores)])

    def __len__(self) -> int:
        return len(self.rows)

    def take(self, indices):
        import numpy as np

        wanted = self.rows[np.asarray(indices)]
        which = np.searchsorted(self.offsets, wanted, side="right") - 1
        pieces, order = [], []
        for s, store in enumerate(self.stores):
            mask = which == s
            if mask.any():
                pieces.append(store.take(wanted[mask] - self.offsets[s]))
                order.append(np.flatnonzero(mask))
        batch = np.concatenate(pieces)
        out = np.empty_like(batch)
        out[np.concatenate(order)] = batch
        return out

    def as_array(self):
        import numpy as np

        arrays = [store.as_array() for store in self.stores]
        if any(array is None for array in arrays):
            return None
        whole = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
        return whole[self.rows]

    def dataset(self, labels, batch_size, shuffle, seed):
        return None


# --- summaries ----------------------------------------------------------------------------


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    variance = sum((v - mean) ** 2 for v in values) / (len(values) - 1)
    return mean, math.sqrt(variance)


def summarize(runs: list[dict]) -> dict:
    """``{"best": {metric: {mean, std, n}}, "curves": {metric: {mean, std, n}}}`` over the
    member runs' best values and per-epoch histories (None values are left out)."""
    best: dict[str, dict] = {}
    metrics = sorted({key for run in runs for key in (run.get("best") or {})})
    for metric in metrics:
        values = [
            float(run["best"][metric]["value"])
            for run in runs
            if metric in (run.get("best") or {})
            and isinstance(run["best"][metric].get("value"), int | float)
        ]
        if values:
            mean, std = _mean_std(values)
            best[metric] = {"mean": mean, "std": std, "n": len(values)}
    curves: dict[str, dict] = {}
    names = sorted({key for run in runs for key in (run.get("history") or {})})
    for name in names:
        series = [list((run.get("history") or {}).get(name) or []) for run in runs]
        length = max((len(s) for s in series), default=0)
        means, stds, counts = [], [], []
        for epoch in range(length):
            values = [
                float(s[epoch])
                for s in series
                if epoch < len(s) and isinstance(s[epoch], int | float) and math.isfinite(s[epoch])
            ]
            if values:
                mean, std = _mean_std(values)
            else:
                mean, std = None, None
            means.append(mean)
            stds.append(std)
            counts.append(len(values))
        curves[name] = {"mean": means, "std": stds, "n": counts}
    return {"best": best, "curves": curves}


def mean_std_text(entry: dict, digits: int = 4) -> str:
    """'0.3124 ± 0.0203' for a ``best`` entry."""
    return f"{entry['mean']:.{digits}g} ± {entry['std']:.{digits}g}"


# --- running ------------------------------------------------------------------------------


def member_jobs(
    project: dict,
    kind: str,
    size: int,
    *,
    seed: int = 0,
    group_id: str,
    out: Path,
    workdir: Path | None = None,
    epochs: int | None = None,
) -> list:
    """The ``Job``s of a group: ``size`` seeds (fit.seed = seed, seed+1, ...) or ``size``
    folds (each keeps the project's own fit seed, or ``seed`` when it has none)."""
    from engine.worker import Job

    if kind not in KINDS:
        raise GroupError(f"Unknown group kind {kind!r}; use 'repeat' or 'kfold'.")
    low = 2 if kind == "kfold" else 1
    if isinstance(size, bool) or not isinstance(size, int) or not low <= size <= MAX_MEMBERS:
        what = "k" if kind == "kfold" else "the number of seeds"
        raise GroupError(
            f"For a {kind} group {what} must be from {low} to {MAX_MEMBERS}, got {size}."
        )
    jobs = []
    for i in range(size):
        member = copy.deepcopy(project)
        fit = dict(member.get("fit") or {})
        fold = None
        if kind == "repeat":
            fit["seed"] = seed + i
            label = f"seed {seed + i}"
        else:
            if fit.get("seed") is None:
                fit["seed"] = seed
            fold = {"k": size, "index": i, "seed": seed}
            label = f"fold {i + 1} of {size}"
        member["fit"] = fit
        jobs.append(
            Job(
                id=f"{group_id}-{i}",
                project=member,
                out=out / f"member-{i}",
                workdir=workdir,
                epochs=epochs,
                fold=fold,
                label=label,
            )
        )
    return jobs


def new_group_id() -> str:
    return f"g-{datetime.now().strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"


def run_group(
    project_path: str | Path,
    kind: str,
    size: int,
    *,
    workers: int = 1,
    seed: int = 0,
    name: str | None = None,
    epochs: int | None = None,
    sink: Callable[[str, Any], Any] | None = None,
    stop: threading.Event | None = None,
    pool=None,
    pool_options: dict | None = None,
) -> dict:
    """Train the project at ``project_path`` as a group and record it; returns the group.

    ``sink(job_id, event)`` gets every member's events (job ids ``<group id>-<i>``), from
    this thread. ``stop`` (a ``threading.Event``): set it to stop the members; what trained
    is still recorded. Members whose run failed before training anything are left out.
    ``pool``: a running ``WorkerPool`` to use (left open), else one is made and closed.
    """
    import queue

    from engine.files import read_json
    from engine.project import preview_project, save_project
    from engine.worker import adopt_runs, borrowed_pool
    from engine.worker_protocol import JobFinished, JobResult

    path = Path(project_path)
    project = preview_project(path)
    group_id = new_group_id()
    events: queue.Queue = queue.Queue()
    with tempfile.TemporaryDirectory(prefix="layerlab-group-") as scratch:
        jobs = member_jobs(
            project,
            kind,
            size,
            seed=seed,
            group_id=group_id,
            out=Path(scratch),
            workdir=path.resolve().parent,
            epochs=epochs,
        )
        results: dict[str, JobResult] = {}
        finished = 0
        stopping = False
        with borrowed_pool(pool, workers, lambda j, e: events.put((j, e)), pool_options) as pool:
            for job in jobs:
                pool.submit(job)
            while finished < len(jobs):
                if stop is not None and stop.is_set() and not stopping:
                    stopping = True
                    pool.stop_all()
                try:
                    job_id, event = events.get(timeout=0.2)
                except queue.Empty:
                    continue
                if isinstance(event, JobResult):
                    results[job_id] = event
                elif isinstance(event, JobFinished):
                    finished += 1
                if sink is not None:
                    sink(job_id, event)
        label = name or (f"{size} seeds" if kind == "repeat" else f"{size}-fold")
        items = [
            (
                results[job.id],
                {"name": f"{label}: {job.label}", "group": group_id, "group_member": i},
            )
            for i, job in enumerate(jobs)
            if job.id in results and results[job.id].record
        ]
        members = adopt_runs(path, items)
    group = {
        "id": group_id,
        "name": label,
        "kind": kind,
        "size": size,
        "seed": seed,
        "created_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "runs": [run["id"] for run in members],
        **summarize(members),
    }
    data = read_json(path)
    data["groups"] = [*(data.get("groups") or []), group]
    save_project(data, path)
    return group
