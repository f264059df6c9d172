"""Convert a model file for deployment in a separate process: ``python -m engine.deploy_job
MODEL_FILE FORMAT OUT``.

TensorFlow Lite's converter loads a SavedModel in the calling process; done in a thread of
the window, garbage collection on the GUI thread at the same time crashed the process
(a segmentation fault inside TensorFlow's checkpoint restore, seen in the test suite). The
window therefore converts here, in a child process, and only checks the written file itself.
Prints one JSON line: ``{"path", "format", "size", "note"}`` or ``{"error": message}``;
exit status 0, or 2 when the conversion failed with a message.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

_ROOT = Path(__file__).resolve().parent.parent
TIMEOUT_SECONDS = 900


def convert_in_subprocess(model_file: str | os.PathLike, fmt: str, out: str | os.PathLike):
    """``engine.deploy_export.export_deployable`` of the model in ``model_file`` (loaded
    with every safety check), run in a child process; returns its ``ExportResult``.
    Raises ``LayerLabError`` with the child's message, or a plain one when it died."""
    from engine.deploy_export import ExportResult
    from engine.errors import LayerLabError

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(_ROOT), *filter(None, [env.get("PYTHONPATH")])])
    try:
        done = subprocess.run(
            [sys.executable, "-m", "engine.deploy_job", str(model_file), fmt, str(out)],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            cwd=str(_ROOT),
            env=env,
        )
    except subprocess.TimeoutExpired as error:
        raise LayerLabError(
            f"Converting to {fmt} took longer than {TIMEOUT_SECONDS // 60} minutes and was "
            "stopped; try the float32 format, or export from the command line."
        ) from error
    answer = _last_json(done.stdout)
    if answer is None:
        detail = (done.stderr or "").strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise LayerLabError(
            f"The {fmt} converter stopped without a result ({detail[0][:200]}); nothing was "
            "written. Try another format, or export from the command line to see why."
        )
    if "error" in answer:
        raise LayerLabError(str(answer["error"]))
    return ExportResult(
        path=Path(answer["path"]),
        format=str(answer["format"]),
        size=int(answer["size"]),
        note=str(answer.get("note") or ""),
    )


def _last_json(text: str) -> dict[str, Any] | None:
    for line in reversed((text or "").splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3:
        print(json.dumps({"error": "Usage: python -m engine.deploy_job MODEL_FILE FORMAT OUT"}))
        return 2
    model_file, fmt, out = args
    from engine.errors import LayerLabError

    try:
        from engine.deploy_export import export_deployable
        from engine.modelfile import load_model_file

        model = load_model_file(model_file).model
        result = export_deployable(model, out, fmt)
    except LayerLabError as error:
        print(json.dumps({"error": error.message}))
        return 2
    print(
        json.dumps(
            {
                "path": str(result.path),
                "format": result.format,
                "size": result.size,
                "note": result.note,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
