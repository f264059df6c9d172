"""``layerlab summary FILE``: print a project's or model file's ``model.summary()`` table.

FILE is a project (``.llproj``, or ``.json``), a ``.h5`` or a ``.keras`` model file. The
output is exactly Keras's table, ending with its ``Total params`` / ``Trainable params`` /
``Non-trainable params`` lines. Problems are ``LayerLabError``s (one line, exit status 2):
among them a FILE that is not a regular file (a pipe, a device, a folder) and a model too big
for this machine's memory (refused before anything is allocated, naming the biggest layer).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import LayerLabError, ProjectError

PROJECT_SUFFIXES = (".llproj", ".json")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", metavar="FILE", help="a LayerLab project (.llproj) or a .h5/.keras model file"
    )


def run(args: argparse.Namespace) -> int:
    from engine.quiet import silenced_stderr

    # TensorFlow's C++ start-up lines (CUDA probing, oneDNN) would go to fd 2; errors are
    # raised as LayerLabError and printed by main.py after the redirection ends.
    with silenced_stderr():
        text = summary_for_file(args.file)
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


def summary_for_file(path: str) -> str:
    """The summary table for the project or model file at ``path``."""
    from engine.quiet import import_keras

    import_keras()
    from engine.modelfile import MODEL_SUFFIXES, check_regular_file, load_model_file, summary_text

    target = Path(path)
    suffix = target.suffix.lower()
    if suffix in PROJECT_SUFFIXES or suffix in MODEL_SUFFIXES:
        # A pipe, a device or a folder named like a project would block or read forever.
        check_regular_file(target)
    if suffix in PROJECT_SUFFIXES:
        model = _model_from_project(target)
    elif suffix in MODEL_SUFFIXES:
        model = load_model_file(target).model
    else:
        raise LayerLabError(
            f"Cannot summarise {target.name}: give a LayerLab project (.llproj) or a .h5 or "
            ".keras model file."
        )
    return summary_text(model)


def _model_from_project(target: Path):
    from engine.project import load_project
    from engine.spec import build_model, input_shape

    project = load_project(target)
    spec = project["model"]
    if input_shape(spec) is None:
        raise ProjectError(
            f"Cannot summarise {target.name}: its model has no input shape, so Keras cannot "
            "work out shapes and parameter counts. Set the input shape (an Input layer first "
            "in the stack), then try again."
        )
    try:
        return build_model(spec)
    except LayerLabError as error:
        raise ProjectError(
            f"Cannot summarise {target.name}: {error.message}", field=error.field, fix=error.fix
        ) from error
