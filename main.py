"""LayerLab entry point.

``python main.py [FILE] [window options]`` opens the window;
``python main.py summary|train|runs|evaluate|import|search|group|export ...`` run headless
and never import Qt.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "summary": ("engine.cli.summary", "print a project's or model file's summary table"),
    "train": ("engine.cli.train", "train a project headless and write model.h5, history.csv"),
    "runs": ("engine.cli.runs", "print a project's runs table with what changed"),
    "evaluate": ("engine.cli.evaluate", "print a run's test metrics"),
    "import": (
        "engine.cli.import_model",
        "turn a .h5/.keras model file into a project with its weights and compile settings",
    ),
    "search": ("engine.cli.search", "search a project's hyperparameters with Optuna in workers"),
    "group": (
        "engine.cli.group",
        "train a project with N seeds or k-fold cross-validation as one group (mean ± std)",
    ),
    "export": (
        "engine.cli.export",
        "export a run's model as TensorFlow Lite, ONNX, .h5, .keras or a SavedModel, "
        "checked against Keras",
    ),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI parser; only ``command``'s module is imported (one broken command never
    stops the others, and each stays as light as its own imports)."""
    parser = argparse.ArgumentParser(
        prog="layerlab", description="Design, train and compare Keras networks."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        subparser = sub.add_parser(name, help=help_text, description=help_text)
        subparser.set_defaults(module_name=module_name)
        if name == command:
            importlib.import_module(module_name).add_arguments(subparser)
    return parser


def _ensure_streams() -> None:
    """A windowed launcher (pythonw) starts with no stdout/stderr (None): give the process
    streams that swallow what is written, so that printing never crashes it."""
    import os

    if sys.stdout is None:
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    if sys.stderr is None:
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115


def main(argv: list[str] | None = None) -> int:
    _ensure_streams()
    argv = sys.argv[1:] if argv is None else argv
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help")):
        from app.application import run_app

        return run_app(argv)
    args = build_parser(argv[0]).parse_args(argv)
    if args.command is None:
        build_parser().print_help()
        return 0
    from engine.errors import LayerLabError

    module = importlib.import_module(args.module_name)
    try:
        return module.run(args)
    except LayerLabError as error:
        print(f"layerlab {args.command}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"layerlab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
