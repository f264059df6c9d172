"""What the Search tab shows of a study: its trials (runs of the project), the best one, the
parallel coordinates, importances and Pareto front (``show``). Plain functions of the
project's search block and runs; ``app.search_flow`` calls them on each change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from widgets.parallel_coordinates import Axis
from widgets.search_space_editor import short_path


def trial_runs(project: dict, block: dict, path: Path | None) -> list[dict]:
    """The project's runs that are trials of its study (named by the block, else after the
    project file)."""
    study = block.get("study_name") or (path.stem if path is not None else None)
    return [
        run
        for run in project.get("runs") or []
        if isinstance(run.get("trial"), dict)
        and (study is None or run["trial"].get("study") == study)
    ]


def completed(runs: list[dict]) -> list[dict]:
    return [run for run in runs if run["trial"].get("state") == "COMPLETE"]


def goals(block: dict) -> list[dict]:
    """The block's objectives (``engine.search.objectives``; the default for a bad block)."""
    from engine.search import objectives

    try:
        return objectives(block)
    except (AttributeError, TypeError):
        return objectives({})


def best_run(runs: list[dict], goal: dict) -> dict | None:
    """The run with the best value of ``goal``'s metric (the first of equals)."""
    best, best_value = None, None
    for run in runs:
        value = objective_value(run, goal["metric"])
        if value is None:
            continue
        better = best_value is None or (
            value < best_value if goal["direction"] == "minimize" else value > best_value
        )
        if better:
            best, best_value = run, value
    return best


def show(panel: Any, block: dict, trials: list[dict], importance: dict, running: bool) -> None:
    """Fill the ``SearchPanel``: the space, objective and engine settings of ``block``, and
    the views of ``trials`` (with the last search's parameter ``importance``)."""
    panel.space_list.set_space(block.get("space") or [])
    chosen = goals(block)
    panel.set_objective(chosen)
    panel.set_engine(block)
    goal = chosen[0]
    axes = [axis_for(entry) for entry in block.get("space") or []]
    done = completed(trials)
    rows = []
    for run in done:
        row = dict(run.get("params") or {})
        row[goal["metric"]] = objective_value(run, goal["metric"])
        rows.append(row)
    panel.parallel.set_data(axes, rows, goal["metric"], goal["direction"] == "minimize")
    panel.importance.set_data({short_path(k): v for k, v in importance.items()})
    if len(chosen) > 1:
        points = [
            (float(run["parameter_count"]), objective_value(run, goal["metric"]))
            for run in done
            if isinstance(run.get("parameter_count"), int)
            and objective_value(run, goal["metric"]) is not None
        ]
        panel.pareto.set_data(
            points,
            ("parameters", goal["metric"]),
            (True, goal["direction"] == "minimize"),
            log_x=True,
        )
    else:
        panel.pareto.set_data([])
    best = best_run(done, goal)
    panel.apply_button.setEnabled(best is not None and not running)
    if best is None:
        panel.best_label.setText(
            f"{len(trials)} trial run(s); none completed yet." if trials else ""
        )
        return
    values = ", ".join(
        f"{short_path(k)} {_plain(v)}" for k, v in (best.get("params") or {}).items()
    )
    score = objective_value(best, goal["metric"])
    text = f"Best: {best.get('name')} — {goal['metric']} {score:.4g} ({values})"
    panel.best_label.setText(text)
    panel.best_label.setToolTip(text)


def _plain(value: Any) -> Any:
    return float(f"{value:.4g}") if isinstance(value, float) else value


def objective_value(run: dict, metric: str) -> float | None:
    if metric == "parameter_count":
        count = run.get("parameter_count")
        return float(count) if isinstance(count, int) else None
    entry = (run.get("best") or {}).get(metric)
    value = entry.get("value") if isinstance(entry, dict) else None
    return float(value) if isinstance(value, int | float) else None


def axis_for(entry: dict) -> Axis:
    path = str(entry.get("path"))
    label = short_path(path)
    kind = entry.get("type")
    if kind == "categorical":
        return Axis(path, label, choices=tuple(entry.get("choices") or ()))
    if kind == "layer_on_off":
        return Axis(path, label + " on", choices=(False, True))
    return Axis(
        path, label, log=bool(entry.get("log")), low=entry.get("low"), high=entry.get("high")
    )
