"""``layerlab evaluate PROJECT [--run NAME]``: a recorded run's test metrics.

Loads the run's trained weights (``runs/<id>.h5`` beside the project), reloads the dataset
exactly as the run had it (its snapshot), and prints ``model.evaluate`` on the test part,
plus per-class precision/recall/F1 and the confusion matrix (classification) or MAE/RMSE
and the naive baseline (regression). Default: the last run.
"""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", metavar="PROJECT", help="a LayerLab project (.llproj)")
    parser.add_argument("--run", metavar="NAME", help="the run's name or id (default: the last)")
    parser.add_argument(
        "--batch-size", type=int, default=None, help="evaluation batch size (default: the run's)"
    )


def run(args: argparse.Namespace) -> int:
    from engine.quiet import silenced_stderr

    with silenced_stderr():
        report = evaluate_project_run(args.project, args.run, args.batch_size)
    sys.stdout.write(report)
    sys.stdout.flush()
    return 0


def evaluate_project_run(path: str, name: str | None, batch_size: int | None = None) -> str:
    """The printed report for run ``name`` (or the last) of the project at ``path``."""
    from engine.quiet import import_keras

    import_keras()
    from engine.evaluation import evaluate
    from engine.project import load_project
    from engine.runs import find_run, is_imported, run_dataset, run_model, status_text

    project = load_project(path)
    record = find_run(project, name)
    model = run_model(path, record)
    dataset = run_dataset(record)
    size = batch_size or int(
        ((record.get("snapshot") or {}).get("fit") or {}).get("batch_size") or 32
    )
    result = evaluate(model, dataset, size)
    epochs = "" if is_imported(record) else f", {record.get('epochs_completed', 0)} epochs"
    header = (
        f"{record.get('name')} ({status_text(record)}{epochs}) on the test part of "
        f"{_dataset_name(record)}"
    )
    return "\n".join([header, *result.summary_lines()]) + "\n"


def _dataset_name(record: dict) -> str:
    block = (record.get("snapshot") or {}).get("dataset") or {}
    return str(block.get("name") or block.get("path") or block.get("source") or "the dataset")
