"""``layerlab export PROJECT [--run NAME] --format FORMAT OUT``: a run's trained model as a
file to deploy or share.

Formats: ``tflite`` / ``tflite-f16`` / ``tflite-int8`` (TensorFlow Lite: float32, float16
weights, dynamic-range int8 weights), ``onnx`` (needs tf2onnx and onnxruntime), ``h5``,
``keras`` and ``savedmodel`` (a TensorFlow SavedModel folder). After a TensorFlow Lite or
ONNX export the written file is run on the test part of the run's dataset and the agreement
with Keras is printed (max |difference| of outputs, the accuracy of each). Default run: the
last. Exits 2 with one plain line on stderr for bad input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import LayerLabError

KERAS_FORMATS = ("h5", "keras", "savedmodel")
DEPLOY_FORMATS = ("tflite", "tflite-f16", "tflite-int8", "onnx")
ALL_FORMATS = DEPLOY_FORMATS + KERAS_FORMATS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("project", metavar="PROJECT", help="a LayerLab project (.llproj)")
    parser.add_argument("out", metavar="OUT", help="the file (or SavedModel folder) to write")
    parser.add_argument("--run", metavar="NAME", help="the run's name or id (default: the last)")
    parser.add_argument(
        "--format",
        metavar="FORMAT",
        default="tflite",
        help=f"one of {', '.join(ALL_FORMATS)} (default: tflite)",
    )
    parser.add_argument(
        "--check-samples",
        type=int,
        default=2000,
        metavar="N",
        help="test samples to compare the export with Keras on (0: do not check)",
    )


def run(args: argparse.Namespace) -> int:
    from engine.quiet import native_stderr_captured

    with native_stderr_captured():
        text = export_run(args.project, args.run, args.format, args.out, args.check_samples)
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


def export_run(
    project_path: str, name: str | None, fmt: str, out: str, check_samples: int = 2000
) -> str:
    """Export run ``name`` of the project at ``project_path``; the text the CLI prints."""
    fmt = (fmt or "").strip().lower()
    if fmt not in ALL_FORMATS:
        raise LayerLabError(
            f"Unknown export format {fmt!r}.", fix=f"Use one of {', '.join(ALL_FORMATS)}."
        )
    target = Path(out)
    if not target.parent.exists():
        raise LayerLabError(
            f"The folder {target.parent} does not exist.", fix="Create it or choose another OUT."
        )
    wanted = {"h5": (".h5", ".hdf5"), "keras": (".keras",)}.get(fmt)
    if wanted and target.suffix.lower() not in wanted:
        raise LayerLabError(
            f"A {fmt} model file must end in {' or '.join(wanted)}, not {target.name!r}.",
            fix=f"Name OUT like model{wanted[0]}.",
        )
    if fmt in DEPLOY_FORMATS and target.is_dir():
        raise LayerLabError(f"{target} is a folder.", fix="Give a file name for OUT.")
    if fmt == "onnx":
        from engine.deploy_export import onnx_unavailable_reason

        reason = onnx_unavailable_reason()
        if reason:
            raise LayerLabError(reason)
    from engine.quiet import import_keras

    import_keras()
    from engine.project import load_project
    from engine.runs import find_run, run_dataset, run_model

    project = load_project(project_path)
    record = find_run(project, name)
    model = run_model(project_path, record)
    run_name = record.get("name")
    if fmt in KERAS_FORMATS:
        if fmt == "savedmodel":
            from engine.export import export_saved_model

            export_saved_model(model, target)
        else:
            from engine.modelfile import save_model

            save_model(model, target)
        return f"Wrote {run_name} to {target}.\n"
    from engine import deploy_export

    result = deploy_export.export_deployable(model, target, fmt)
    lines = [
        f"Wrote {run_name} as {deploy_export.FORMATS[fmt]} to {target} ({result.size:,} bytes)."
    ]
    if result.note:
        lines.append(result.note)
    if check_samples > 0:
        try:
            dataset = run_dataset(record)
            agreement = deploy_export.check_agreement(
                model, target, fmt, dataset, limit=check_samples
            )
            lines.append(agreement.text())
        except LayerLabError as error:
            lines.append(f"Not checked against Keras: {error}")
    return "\n".join(lines) + "\n"
