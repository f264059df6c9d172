"""JAX backend: "all" devices is keras.distribution.DataParallel (2 forced CPU devices)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Seen here: the same validation losses to 7 digits on 1 and 2 devices.
VAL_LOSS_TOLERANCE = 1e-3

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        importlib.util.find_spec("jax") is None,
        reason="jax is not installed (pip install jax, or the 'jax' extra)",
    ),
]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    sys.path.insert(0, sys.argv[1])
    from engine.quiet import import_keras
    import_keras()
    import keras
    from engine import training
    from engine.project import resources_dir
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["fit"]["callbacks"] = []
    devices = json.loads(sys.argv[2])
    result = training.run(project, epochs=2, devices=devices, evaluate_test=False)
    print(json.dumps({
        "backend": keras.config.backend(), "status": result.status,
        "message": result.message, "device": result.device,
        "val_loss": result.history.get("val_loss"),
    }))
    """
)


def test_data_parallel_on_two_cpu_devices_matches_one():
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
    # Each run in a fresh process: two seeded runs in one process draw different shuffles.
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(ROOT), devices],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for devices in ('"all"', "null")
    ]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err[-2000:]
        reports.append(json.loads(out.strip().splitlines()[-1]))
    two, one = reports
    assert two["backend"] == one["backend"] == "jax"
    assert two["status"] == one["status"] == "completed", two["message"]
    assert two["device"] == "2 CPU devices (DataParallel)"
    assert len(two["val_loss"]) == len(one["val_loss"]) == 2
    assert two["val_loss"][-1] == pytest.approx(one["val_loss"][-1], abs=VAL_LOSS_TOLERANCE)
