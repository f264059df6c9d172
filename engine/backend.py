"""The only TensorFlow-specific code in LayerLab: GPUs, memory growth, op determinism.

Import and call this module only when ``keras.config.backend() == "tensorflow"``; the rest
of the engine uses Keras APIs alone, so the CLI also runs under ``KERAS_BACKEND=jax``.
``engine.training`` calls ``prepare_devices()`` before it builds a model; the window may call
it earlier, right after TensorFlow is imported, since memory growth can only be switched on
before TensorFlow first touches a GPU.
"""

from __future__ import annotations

import threading

import tensorflow as tf

from engine.quiet import silenced_stderr

_prepared = False
_lock = threading.Lock()


def prepare_devices() -> list[str]:
    """Switch on memory growth for every GPU (once) and return a note per GPU it could not.

    Without memory growth TensorFlow reserves almost all GPU memory at the first op, which
    starves the window's own drawing and any other process. When a GPU was already
    initialised (something ran on it first) growth cannot change any more: that GPU is
    named in the returned notes, and training still works.
    """
    global _prepared
    notes: list[str] = []
    with _lock:
        if _prepared:
            return notes
        with silenced_stderr():  # "failed call to cuInit" on machines without a GPU
            gpus = tf.config.list_physical_devices("GPU")
        for gpu in gpus:
            try:
                tf.config.experimental.set_memory_growth(gpu, True)
            except (RuntimeError, ValueError) as error:
                notes.append(f"{gpu.name}: memory growth not enabled ({error})")
        _prepared = True
    return notes


def gpu_names() -> list[str]:
    """'GPU 0: NVIDIA H100 80GB HBM3', ... for each GPU TensorFlow can use (empty on CPU)."""
    names = []
    with silenced_stderr():
        gpus = tf.config.list_physical_devices("GPU")
    for index, gpu in enumerate(gpus):
        try:
            details = tf.config.experimental.get_device_details(gpu)
        except (RuntimeError, ValueError):
            details = {}
        names.append(f"GPU {index}: {details.get('device_name', gpu.name)}")
    return names


def device_description() -> str:
    """Where training runs: the first GPU ('GPU 0: NVIDIA H100 ...', '+ 1 more') or 'CPU'."""
    names = gpu_names()
    if not names:
        return "CPU"
    if len(names) == 1:
        return names[0]
    return f"{names[0]} (+{len(names) - 1} more GPU not used)"


def set_op_determinism(enabled: bool) -> None:
    """Make TensorFlow ops bit-for-bit repeatable (seeded runs) or free them again.

    ``keras.utils.set_random_seed`` alone fixes the initial weights and shuffling, but
    TensorFlow's multi-threaded reductions still sum in varying order; two seeded CPU runs
    of one GRU here differed by 6 points of accuracy without this.
    """
    from tensorflow.python.framework import config as tf_config

    if enabled:
        tf.config.experimental.enable_op_determinism()
    elif tf_config.is_op_determinism_enabled():
        tf_config.disable_op_determinism()
