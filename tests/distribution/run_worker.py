"""One training process for the distribution tests (run as a script, not collected).

``python run_worker.py PROJECT OUT.npz DEVICES_JSON EPOCHS``: trains ``PROJECT`` with
``engine.training.run(devices=DEVICES)`` and writes the final weights, the history, the status
and the device description to ``OUT.npz``. DEVICES_JSON is ``null`` for a plain run.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.quiet import import_keras


def main() -> None:
    project_path, out, devices, epochs = sys.argv[1:5]
    devices = json.loads(devices)
    import_keras()
    from engine.distribution import strategy_for

    if isinstance(devices, dict):
        strategy_for(devices).join()  # before reading the project builds a model
    import numpy as np

    from engine import training
    from engine.project import load_project

    project = load_project(Path(project_path))
    with tempfile.TemporaryDirectory() as scratch:
        result = training.run(
            project, devices=devices, epochs=int(epochs), workdir=Path(scratch), evaluate_test=False
        )
    weights = result.model.get_weights() if result.model is not None else []
    info = {
        "status": result.status,
        "message": result.message,
        "device": result.device,
        "history": result.history,
        "is_chief": result.is_chief,
    }
    np.savez(out, *weights, info=json.dumps(info))


if __name__ == "__main__":
    main()
