"""``layerlab import MODEL_FILE [PROJECT.llproj]``: a model file as an editable project.

Writes the project (default: MODEL_FILE's name with ``.llproj``, beside it), its initial
weights (``<project stem>.weights.h5``: the file's trained weights, loaded by layer name when
the project trains) and the model as an "imported" run in ``runs/`` (evaluate, predict and
export it without training). The compile settings come from the file when it stores them,
otherwise from the model's output layer. Prints the model's summary table and one line per
note, and exits 0; exits 2 with one plain line on stderr when it cannot (a file that is not a
model LayerLab can open, an existing project without ``--force``, a disk problem).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.errors import LayerLabError

PROJECT_SUFFIX = ".llproj"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model_file", metavar="MODEL_FILE", help="a .h5, .hdf5 or .keras file")
    parser.add_argument(
        "project",
        metavar="PROJECT",
        nargs="?",
        help="the project to write (default: MODEL_FILE's name with .llproj, beside it)",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace PROJECT (and its weights) if it exists"
    )


def project_path_for(model_file: str | Path, project: str | Path | None = None) -> Path:
    """The project to write: ``project`` (``.llproj`` added when missing) or MODEL_FILE's
    stem + ``.llproj`` beside it."""
    if project is None:
        source = Path(model_file)
        return source.with_name(source.stem + PROJECT_SUFFIX)
    target = Path(project)
    if target.suffix.lower() != PROJECT_SUFFIX:
        target = target.with_name(target.name + PROJECT_SUFFIX)
    return target


def run(args: argparse.Namespace) -> int:
    from engine.quiet import silenced_stderr

    with silenced_stderr():
        text = import_file(args.model_file, args.project, force=args.force)
    sys.stdout.write(text)
    sys.stdout.flush()
    return 0


def import_file(model_file: str, project: str | None = None, *, force: bool = False) -> str:
    """Import ``model_file`` into a project; the text ``layerlab import`` prints."""
    from engine.quiet import import_keras

    import_keras()
    from engine.model_import import dataset_note, import_model_file, write_import
    from engine.modelfile import MODEL_SUFFIXES, summary_text
    from engine.project_weights import weights_file_name

    source = Path(model_file)
    target = project_path_for(source, project)
    if source.suffix.lower() not in MODEL_SUFFIXES:
        raise LayerLabError(f"Cannot import {source.name}: give a .h5, .hdf5 or .keras model file.")
    if target.exists() and not force:
        raise LayerLabError(
            f"Cannot import {source.name}: {target.name} already exists. Give another project "
            "name, or add --force to replace it."
        )
    if not target.parent.is_dir():
        raise LayerLabError(
            f"Cannot import {source.name}: the folder {target.parent} does not exist."
        )
    try:
        imported = import_model_file(source)
        project_dict = write_import(imported, target)
    except LayerLabError:
        raise
    except OSError as error:  # the disk: full, read-only, no permission
        raise LayerLabError(
            f"Cannot write {target.name}: {error.strerror or error}. Nothing was kept; free "
            "some space or choose another folder, then import again."
        ) from error
    except Exception as error:  # Keras/h5py surprises: one plain line, exit status 2
        detail = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise LayerLabError(
            f"Cannot import {source.name}: {detail or type(error).__name__}."
        ) from error
    lines = [summary_text(imported.model).rstrip("\n"), ""]
    lines += [line for line in imported.note if line]
    if not imported.functional:
        lines.append(dataset_note(imported))
    written = [target.name]
    if project_dict.get("weights"):
        written.append(weights_file_name(target))
    runs = project_dict.get("runs") or []
    if runs and runs[-1].get("weights"):
        written.append(str(runs[-1]["weights"]))
    lines.append(f"Wrote {', '.join(written)} in {target.resolve().parent}.")
    return "\n".join(lines) + "\n"
