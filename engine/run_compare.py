"""The runs' comparison table with everything worked out: what changed and parameter counts.

``comparison_table(runs)`` is ``engine.run_columns.run_columns`` with the "changes" of each
run (``engine.runs.compared_changes``: against the run before it, or run ``base_id``) and
each run's parameter count (``parameter_count``). ``layerlab runs`` and the window call it.
"""

from __future__ import annotations

import hashlib
import json

from engine import runs as records
from engine.run_columns import RunTable, run_columns, stored_params

_params_cache: dict[str, int | None] = {}


def parameter_count(run: dict, *, count: bool = True) -> int | None:
    """The run's model's parameter count: the ``parameter_count`` stored with the run when
    it has one, else worked out from its snapshot model with ``engine.spec.analyse`` (no weights
    are made; cached per model, so many runs of one model count once). ``count=False``:
    stored counts only (nothing imports Keras)."""
    stored = stored_params(run)
    if stored is not None:
        return stored
    model = (run.get("snapshot") or {}).get("model")
    if not count or not isinstance(model, dict) or not model.get("layers"):
        return None
    key = hashlib.sha1(json.dumps(model, sort_keys=True, default=str).encode()).hexdigest()
    if key not in _params_cache:
        from engine import spec

        analysis = spec.analyse(model)
        _params_cache[key] = int(analysis.total_params) if analysis.ok else None
    return _params_cache[key]


def comparison_table(
    runs: list[dict],
    base_id: str | None = None,
    metric: str | None = None,
    count_params: bool = True,
) -> RunTable:
    """The comparison columns of ``runs`` (``engine.run_columns``), changes against the
    previous run or run ``base_id``, parameter counts worked out (``count_params=False``:
    only stored ones)."""
    runs = list(runs)
    return run_columns(
        runs,
        changes=records.compared_changes(runs, base_id),
        metric=metric,
        params=lambda run: parameter_count(run, count=count_params),
    )
