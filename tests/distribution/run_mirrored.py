"""One process for the MirroredStrategy test (run as a script, not collected).

``python run_mirrored.py OUT.json mirrored|plain``: splits the CPU into two logical devices
and trains the digits demo for 2 epochs with "all" devices as ``engine.distribution`` makes
them on a machine with two GPUs -- a MirroredStrategy over both -- or plainly.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from engine.quiet import import_keras


def main() -> None:
    out, mode = sys.argv[1:3]
    import_keras()
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
    )
    from engine import distribution, training
    from engine.project import resources_dir

    def two_devices(setting, backend=None, *, devices=None):
        assert setting == "all"
        return distribution.Distribution(
            "all",
            "mirrored",
            "tensorflow",
            replicas=2,
            description="2 CPUs (MirroredStrategy)",
            devices=("/cpu:0", "/cpu:1"),
        )

    if mode == "mirrored":
        distribution.strategy_for = two_devices
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"].update(callbacks=[], devices="all" if mode == "mirrored" else None)
    result = training.run(project, epochs=2)
    Path(out).write_text(
        json.dumps(
            {
                "status": result.status,
                "message": result.message,
                "device": result.device,
                "history": result.history,
                "test": result.test_metrics,
                "strategy": type(result.model.distribute_strategy).__name__
                if result.model is not None
                else None,
            }
        )
    )


if __name__ == "__main__":
    main()
