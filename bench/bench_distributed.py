"""Samples per second of one training process against N local workers (MultiWorkerMirrored).

The same MNIST-size MLP (784-256-256-10, random data, the same global batch and seed) is
trained through ``engine.training.run`` (a) in one process with Keras's default device and
(b) by N worker processes on this machine over 127.0.0.1, as ``main.py train
--local-workers N`` runs them. Each process times its epochs; the first epoch (tracing,
joining) is left out. Printed: samples/s of each, their ratio, and the communication overhead
per step, ``t_N - t_1 / N``: what a step of N workers costs beyond an ideal split of the
work (on a machine whose cores the workers share, this includes their contention).

On a 2-core machine no speed-up is expected; run it on a many-core or multi-GPU machine with
``--workers 4 --full`` (each worker then uses its own cores or GPU).

    .venv/bin/python bench/bench_distributed.py [--workers 2] [--samples 20000] [--epochs 3]
        [--batch 256] [--full]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FEATURES, CLASSES = 784, 10


def worker(args: argparse.Namespace) -> None:
    """One process: train and print {"epoch_seconds": [...], ...} as JSON."""
    setting = json.loads(args.devices)
    from engine.quiet import import_keras

    import_keras()
    from engine.distribution import strategy_for

    if isinstance(setting, dict):
        strategy_for(setting).join()  # before TensorFlow runs anything else
    import keras
    import numpy as np

    from engine import training
    from engine.datasets.base import ArrayStore, Dataset, Part
    from engine.events import EpochEnd

    rng = np.random.default_rng(0)
    x = rng.random((args.samples, FEATURES), dtype=np.float32)
    y = rng.integers(0, CLASSES, args.samples).astype("int64")
    dataset = Dataset(
        block={"source": "npz", "path": "memory"},
        input_shape=(FEATURES,),
        dtype="float32",
        task="multiclass",
        num_classes=CLASSES,
        class_names=[str(i) for i in range(CLASSES)],
        label_encoding="sparse",
        train_size=len(x),
        val_size=0,
        test_size=0,
        description="random",
        samples=[],
        parts={"train": Part(ArrayStore(x), y)},
    )
    model = keras.Sequential(
        [
            keras.Input((FEATURES,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    project = {
        "model": json.loads(json.dumps(model.get_config())),
        "dataset": {"source": "npz", "path": "memory"},
        "compile": {
            "optimizer": "rmsprop",
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy"],
        },
        "fit": {
            "epochs": args.epochs,
            "batch_size": args.batch,
            "shuffle": True,
            "validation_split": 0.0,
            "seed": 1,
        },
    }
    times: list[float] = []

    def sink(event):
        if isinstance(event, EpochEnd):
            times.append(event.seconds)

    result = training.run(
        project,
        sink=sink,
        dataset=dataset,
        devices=setting,
        evaluate_test=False,
        workdir=Path(os.environ.get("TMPDIR", "/tmp")),
    )
    print(
        json.dumps(
            {
                "status": result.status,
                "message": result.message,
                "device": result.device,
                "epoch_seconds": times,
                "params": model.count_params(),
            }
        ),
        flush=True,
    )


def launch(args: argparse.Namespace, settings: list) -> list[dict]:
    env = {key: value for key, value in os.environ.items() if key != "TF_CONFIG"}
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    command = [sys.executable, str(Path(__file__).resolve()), "--worker"]
    command += ["--samples", str(args.samples), "--epochs", str(args.epochs)]
    command += ["--batch", str(args.batch)]
    processes = [
        subprocess.Popen(
            [*command, "--devices", json.dumps(setting)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for setting in settings
    ]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=3600)
        if process.returncode != 0 or not out.strip():
            raise SystemExit(f"a worker failed:\n{err[-3000:]}")
        reports.append(json.loads(out.strip().splitlines()[-1]))
    for report in reports:
        if report["status"] != "completed":
            raise SystemExit(f"a run did not complete: {report['message']}")
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=256, help="the global batch")
    parser.add_argument("--full", action="store_true", help="60,000 samples, 5 epochs")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--devices", default="null", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if args.full:
        args.samples, args.epochs = 60_000, 5
    if args.epochs < 2:
        raise SystemExit("--epochs must be at least 2 (the first epoch is left out)")
    from engine.cli.workers import free_ports

    steps = math.ceil(args.samples / args.batch)
    print(
        f"{args.samples:,} samples x {FEATURES} float32, MLP 784-256-256-10, global batch "
        f"{args.batch}, {steps} steps/epoch, {args.epochs} epochs (first left out); "
        f"{os.cpu_count()} CPU cores"
    )
    started = time.perf_counter()
    (one,) = launch(args, [None])
    workers = [f"127.0.0.1:{port}" for port in free_ports(args.workers)]
    many = launch(args, [{"workers": workers, "index": i} for i in range(args.workers)])
    chief = many[0]
    one_epoch = statistics.median(one["epoch_seconds"][1:])
    many_epoch = statistics.median(chief["epoch_seconds"][1:])
    one_rate = args.samples / one_epoch
    many_rate = args.samples / many_epoch
    t1, tn = one_epoch / steps * 1000, many_epoch / steps * 1000
    overhead = tn - t1 / args.workers
    megabytes = one["params"] * 4 / 2**20
    print(f"1 process ({one['device']}): {one_rate:,.0f} samples/s, {t1:.2f} ms/step")
    print(
        f"{args.workers} local workers (MultiWorkerMirroredStrategy): {many_rate:,.0f} samples/s, "
        f"{tn:.2f} ms/step"
    )
    print(f"ratio {args.workers} workers / 1 process: {many_rate / one_rate:.2f}x")
    print(
        f"communication overhead per step (t_{args.workers} - t_1/{args.workers}): "
        f"{overhead:.2f} ms, all-reducing {megabytes:.2f} MB of gradients per step"
    )
    print(f"(wall time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
