"""Throughput of ``engine.training.run`` against a plain ``model.fit``, and RSS over repeated runs.

MNIST-size MLP 784-256-256-10 on 60,000 x 784 float32 random data, batch 128, no
validation: the same model, data and batch size both ways. Runs alternate between the two
(plain first in odd rounds, engine first in even ones) so that machine noise (epoch times
wander by several percent on a shared 2-core box) hits both alike; the first epoch of each
run (tracing) is left out. The engine's per-batch cost is also measured directly (its
callbacks called 50,000 times), which machine load does not blur. Then 50 small runs
through ``engine.training.run`` print the process RSS every 10 runs.

    .venv/bin/python bench/bench_engine_overhead.py [--rounds 3] [--epochs 3] [--runs 50]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.quiet import import_keras

keras = import_keras()

import numpy as np  # noqa: E402

from engine import training  # noqa: E402
from engine.datasets.base import ArrayStore, Dataset, Part  # noqa: E402
from engine.events import EpochEnd  # noqa: E402

SAMPLES, FEATURES, CLASSES, BATCH = 60_000, 784, 10, 128


def mlp_config() -> dict:
    model = keras.Sequential(
        [
            keras.Input((FEATURES,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(CLASSES, activation="softmax"),
        ]
    )
    return json.loads(json.dumps(model.get_config()))


def array_dataset(x: np.ndarray, y: np.ndarray) -> Dataset:
    return Dataset(
        block={"source": "npz", "path": "memory"},
        input_shape=x.shape[1:],
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


def project(epochs: int, config: dict) -> dict:
    return {
        "model": config,
        "dataset": {"source": "npz", "path": "memory"},
        "compile": {
            "optimizer": "rmsprop",
            "loss": "sparse_categorical_crossentropy",
            "metrics": ["accuracy"],
        },
        "fit": {"epochs": epochs, "batch_size": BATCH, "shuffle": True, "validation_split": 0.0},
    }


def plain_epoch_seconds(x, y, config, epochs) -> list[float]:
    keras.backend.clear_session()  # collects garbage, as in engine.training.run
    model = keras.Sequential.from_config(config)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    times: list[float] = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[EpochTimer()])
    return times[1:]


def engine_epoch_seconds(dataset, config, epochs) -> list[float]:
    times: list[float] = []

    def sink(event):
        if isinstance(event, EpochEnd):
            times.append(event.seconds)

    result = training.run(project(epochs, config), sink=sink, dataset=dataset, evaluate_test=False)
    assert result.status == "completed", result.message
    return times[1:]


def callback_microseconds_per_batch(batches: int = 50_000) -> tuple[float, float]:
    """Keras's CallbackList per batch without and with the engine's callbacks (microseconds).

    Immune to machine load in a way epoch times are not: the engine's whole per-batch cost
    is this difference, next to a batch that takes milliseconds.
    """
    from engine import callbacks as engine_callbacks

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mean_squared_error")
    clock = engine_callbacks.Clock()
    ours = [
        engine_callbacks.LearningRateInLogs(),
        engine_callbacks.ProgressReporter(lambda event: None, clock, lambda step: BATCH),
        engine_callbacks.NanGuard(),
        engine_callbacks.StopControl(engine_callbacks.TrainControl(), clock),
    ]
    costs = []
    for extra in ([], ours):
        callback_list = keras.callbacks.CallbackList(
            extra, add_history=True, model=model, epochs=1, steps=batches
        )
        callback_list.on_train_begin()
        callback_list.on_epoch_begin(0)
        logs = {"loss": 0.5, "accuracy": 0.9}
        start = time.perf_counter()
        for step in range(batches):
            callback_list.on_train_batch_begin(step)
            callback_list.on_train_batch_end(step, logs)
        costs.append((time.perf_counter() - start) / batches * 1e6)
    return costs[0], costs[1]


def rss_mib() -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per round (first dropped)")
    parser.add_argument("--runs", type=int, default=50, help="repeated small runs for RSS")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.random((SAMPLES, FEATURES), dtype=np.float32)
    y = rng.integers(0, CLASSES, SAMPLES)
    config = mlp_config()
    dataset = array_dataset(x, y)
    print(f"device: {training.device_description()}, keras {keras.__version__}")
    print(f"MLP 784-256-256-10, {SAMPLES} x {FEATURES} float32, batch {BATCH}")

    plain: list[float] = []
    engine: list[float] = []
    for round_index in range(args.rounds):
        if round_index % 2 == 0:
            plain += plain_epoch_seconds(x, y, config, args.epochs)
            engine += engine_epoch_seconds(dataset, config, args.epochs)
        else:
            engine += engine_epoch_seconds(dataset, config, args.epochs)
            plain += plain_epoch_seconds(x, y, config, args.epochs)
        print(
            f"round {round_index + 1}: plain fit {SAMPLES / statistics.median(plain):,.0f} "
            f"samples/s, engine {SAMPLES / statistics.median(engine):,.0f} samples/s"
        )
    ratio = statistics.median(plain) / statistics.median(engine)
    print(
        f"median epoch: plain {statistics.median(plain):.3f} s, engine "
        f"{statistics.median(engine):.3f} s -> throughput ratio engine/plain = {ratio:.3f}"
    )
    # Other processes only ever add time: the fastest epoch is the least disturbed one.
    print(
        f"fastest epoch: plain {min(plain):.3f} s, engine {min(engine):.3f} s -> "
        f"throughput ratio engine/plain = {min(plain) / min(engine):.3f}"
    )

    bare, with_engine = callback_microseconds_per_batch()
    batch_ms = statistics.median(plain) / (SAMPLES / BATCH) * 1e3
    print(
        f"callbacks per batch: Keras alone {bare:.1f} us, with the engine's {with_engine:.1f} us "
        f"(+{with_engine - bare:.1f} us next to a {batch_ms:.2f} ms batch: "
        f"{(with_engine - bare) / (batch_ms * 1e3):+.2%})"
    )

    small_x = x[:512, :32].copy()
    small_y = y[:512]
    small = array_dataset(small_x, small_y)
    small_config = keras.Sequential(
        [
            keras.Input((32,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(CLASSES, activation="softmax"),
        ]
    ).get_config()
    small_project = project(2, json.loads(json.dumps(small_config)))
    if args.runs < 1:
        return
    start = rss_mib()
    print(f"RSS before {args.runs} small runs: {start:.0f} MiB")
    for index in range(1, args.runs + 1):
        result = training.run(small_project, dataset=small)
        assert result.status == "completed", result.message
        del result
        if index % 10 == 0:
            print(f"  after {index:3d} runs: {rss_mib():.0f} MiB")
    end = rss_mib()
    print(
        f"RSS growth over {args.runs} runs: {end - start:+.0f} MiB "
        f"({(end - start) / args.runs:+.2f} MiB per run)"
    )


if __name__ == "__main__":
    main()
