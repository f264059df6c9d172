"""Big numpy arrays handed to ``fit``/``evaluate`` as tensors built in chunks.

Given numpy arrays, Keras (TensorFlow backend) turns each whole array into one tensor at the
start of ``fit`` in a single C call that holds the GIL: 85-300 ms for a 60,000 x 784 float32
array on a small machine, during which the window's Python code cannot run (issue 9). Built
here instead from slices of ~4 MB (each converted in a few milliseconds, the GIL free in
between) joined by ``tf.concat`` (which runs with the GIL released), the longest hold drops
under ~15 ms at the same epoch speed: Keras receives the tensor it would have made.

Only plain numeric arrays between ``MIN_BYTES`` and ``MAX_BYTES`` are converted: small ones
convert quickly anyway, and joining chunks briefly needs the array's size once more, which a
very large array may not have to spare. Float arrays become ``keras.config.floatx()``, as
Keras's own adapter would cast them. Other backends get their arguments unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CHUNK_BYTES = 4 * 2**20
MIN_BYTES = 8 * 2**20
MAX_BYTES = 2**30


def worth_chunking(value: Any) -> bool:
    """Whether ``value`` is a numeric numpy array big enough to stall ``fit`` (see above)."""
    return (
        isinstance(value, np.ndarray)
        and value.ndim >= 1
        and len(value) > 0
        and value.dtype.kind in "biuf"
        and MIN_BYTES <= value.nbytes <= MAX_BYTES
    )


def chunked_tensor(array: np.ndarray, chunk_bytes: int = CHUNK_BYTES):
    """``array`` as a host (CPU) tensor, converted ``chunk_bytes`` at a time."""
    import keras
    import tensorflow as tf

    dtype = keras.config.floatx() if array.dtype.kind == "f" else None
    row_bytes = max(1, array.nbytes // max(1, len(array)))
    rows = max(1, chunk_bytes // row_bytes)
    with tf.device("/CPU:0"):
        parts = [
            tf.convert_to_tensor(array[start : start + rows], dtype=dtype)
            for start in range(0, len(array), rows)
        ]
        if len(parts) == 1:
            return parts[0]
        joined = tf.concat(parts, axis=0)
    del parts
    return joined


def _converted(value: Any) -> Any:
    return chunked_tensor(value) if worth_chunking(value) else value


def chunked_arguments(arguments: dict) -> dict:
    """``fit``/``evaluate`` keyword arguments with big arrays in ``x``, ``y`` and
    ``validation_data`` replaced by chunk-built tensors (a new dict; the input is kept)."""
    import keras

    if keras.config.backend() != "tensorflow":
        return arguments
    out = dict(arguments)
    for key in ("x", "y"):
        if key in out:
            out[key] = _converted(out[key])
    validation = out.get("validation_data")
    if isinstance(validation, tuple | list):
        out["validation_data"] = tuple(_converted(part) for part in validation)
    return out
