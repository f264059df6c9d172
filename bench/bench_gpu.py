"""On a GPU: a plain ``model.fit`` against LayerLab's engine (``engine.training.run``).

The same model (a small convnet on 32x32x3 random images, or ``--mlp`` for the MNIST-size
MLP), data, batch size and seed, on the first GPU of whichever Keras backend is installed
(``KERAS_BACKEND``); with several GPUs also both on all of them (MirroredStrategy /
DataParallel, through ``fit["devices"] = "all"``). Rounds alternate which goes first; the
first epoch of each run (tracing) is left out. Prints samples/s of each and the ratio
engine / plain (the issue asks for >= 0.95).

Without a GPU it says so and exits 0: there is nothing to measure.

    .venv/bin/python bench/bench_gpu.py [--rounds 3] [--epochs 3] [--samples 50000]
        [--batch 256] [--mlp]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--mlp", action="store_true", help="the MNIST-size MLP instead")
    args = parser.parse_args()

    from engine.quiet import import_keras

    keras = import_keras()
    from engine.distribution import available_devices

    backend = keras.config.backend()
    gpus = [device for device in available_devices(backend) if device.kind == "gpu"]
    if not gpus:
        print(f"no GPU on this machine ({backend} backend): nothing to measure")
        return 0
    import numpy as np

    from engine import training
    from engine.datasets.base import ArrayStore, Dataset, Part
    from engine.events import EpochEnd

    rng = np.random.default_rng(0)
    shape = (784,) if args.mlp else (32, 32, 3)
    x = rng.random((args.samples, *shape), dtype=np.float32)
    y = rng.integers(0, 10, args.samples).astype("int64")
    if args.mlp:
        layers = [
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dense(256, activation="relu"),
        ]
    else:
        layers = [
            keras.layers.Conv2D(32, 3, activation="relu"),
            keras.layers.Conv2D(64, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(128, 3, activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
        ]
    model = keras.Sequential(
        [keras.Input(shape), *layers, keras.layers.Dense(10, activation="softmax")]
    )
    config = json.loads(json.dumps(model.get_config()))
    compile_block = {
        "optimizer": "adam",
        "loss": "sparse_categorical_crossentropy",
        "metrics": ["accuracy"],
    }
    dataset = Dataset(
        block={"source": "npz", "path": "memory"},
        input_shape=shape,
        dtype="float32",
        task="multiclass",
        num_classes=10,
        class_names=[str(i) for i in range(10)],
        label_encoding="sparse",
        train_size=len(x),
        val_size=0,
        test_size=0,
        description="random",
        samples=[],
        parts={"train": Part(ArrayStore(x), y)},
    )

    def plain(devices) -> float:
        keras.backend.clear_session()
        keras.utils.set_random_seed(1)
        times: list[float] = []

        class Timer(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                times.append(time.perf_counter() - self.start)

        if devices == "all":
            if backend == "jax":
                distribution = keras.distribution.DataParallel()
                scope = distribution.scope()
            else:
                import tensorflow as tf

                scope = tf.distribute.MirroredStrategy().scope()
        else:
            import contextlib

            scope = contextlib.nullcontext()
        with scope:
            net = keras.Sequential.from_config(config)
            net.compile(**compile_block)
            net.fit(x, y, batch_size=args.batch, epochs=args.epochs, verbose=0, callbacks=[Timer()])
        return args.samples / statistics.median(times[1:])

    def engine(devices) -> float:
        times: list[float] = []

        def sink(event):
            if isinstance(event, EpochEnd):
                times.append(event.seconds)

        project = {
            "model": config,
            "dataset": {"source": "npz", "path": "memory"},
            "compile": compile_block,
            "fit": {
                "epochs": args.epochs,
                "batch_size": args.batch,
                "validation_split": 0.0,
                "seed": 1,
                "devices": devices,
            },
        }
        result = training.run(project, sink=sink, dataset=dataset, evaluate_test=False)
        if result.status != "completed":
            raise SystemExit(f"the engine's run failed: {result.message}")
        return args.samples / statistics.median(times[1:])

    print(
        f"{backend} backend, {', '.join(gpu.label for gpu in gpus)}; {args.samples:,} samples "
        f"{shape}, batch {args.batch}, {args.epochs} epochs (first left out), {args.rounds} rounds"
    )
    arms = [None] + (["all"] if len(gpus) > 1 else [])
    for devices in arms:
        rates: dict[str, list[float]] = {"plain": [], "engine": []}
        for round_index in range(args.rounds):
            order = ("plain", "engine") if round_index % 2 == 0 else ("engine", "plain")
            for name in order:
                rates[name].append(plain(devices) if name == "plain" else engine(devices))
        p, e = statistics.median(rates["plain"]), statistics.median(rates["engine"])
        where = "all GPUs" if devices == "all" else "GPU 0 (the default device)"
        print(
            f"{where}: plain model.fit {p:,.0f} samples/s, LayerLab engine {e:,.0f} samples/s, "
            f"ratio engine/plain {e / p:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
