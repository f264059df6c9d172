"""A stand-in for ``python -m engine.worker`` that needs no TensorFlow (starts in a blink).

Job ids ending in ``-hang`` hang after their first epoch; those ending in ``-0`` die after it
(exit status 3, no result, a last line on stderr); the others report a completed run whose
val_loss grows with the units.
"""

from __future__ import annotations

import json
import os
import sys
import time

from engine.events import EpochEnd, TrainBegin, TrainEnd
from engine.worker_protocol import JobResult, to_json_line


def emit(event) -> None:
    sys.stdout.write(to_json_line(event) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    if not line.startswith("{"):
        continue
    job = json.loads(line)
    emit(TrainBegin(epochs=2, steps_per_epoch=3, batch_size=8, samples=24, device="CPU"))
    emit(EpochEnd(epoch=0, logs={"loss": 1.0, "val_loss": 9.0}, seconds=0.1))
    if job["id"].endswith("-hang"):
        time.sleep(3600)
    if job["id"].endswith("-0"):
        print("RuntimeError: the fake worker fell over", file=sys.stderr, flush=True)
        sys.exit(3)
    units = job["project"]["model"]["layers"][1]["config"]["units"]
    history = {"loss": [1.0, 0.5], "val_loss": [9.0, 0.1 * units]}
    emit(EpochEnd(epoch=1, logs={"loss": 0.5, "val_loss": 0.1 * units}, seconds=0.1))
    emit(TrainEnd("completed", "Trained 2 epochs.", 2, 0.2, history))
    record = {
        "id": f"fake-{job['id']}",
        "status": "completed",
        "history": history,
        "best": {"val_loss": {"value": min(history["val_loss"]), "epoch": 1}},
        "weights": None,
    }
    # (the pool's priority setting, when it gave one: test_worker_pool checks it arrives)
    nice = os.environ.get("LAYERLAB_WORKER_NICE")
    message = f"nice={nice}" if nice else "Trained 2 epochs."
    emit(JobResult("completed", message, job["out"], record, 100 * units))
