"""Deployable exports of a trained model, checked against Keras.

``export_deployable(model, path, fmt)`` writes the model as

- ``tflite``: TensorFlow Lite, float32 (``tf.lite.TFLiteConverter.from_keras_model``);
- ``tflite-f16``: TensorFlow Lite with float16 weights (half the size; runs in float32 on a
  CPU, in float16 on GPUs that have it);
- ``tflite-int8``: TensorFlow Lite with dynamic-range int8 weights (a quarter of the size;
  activations stay float);
- ``onnx``: ONNX through tf2onnx (``onnx_unavailable_reason()`` says why not when tf2onnx or
  onnxruntime is missing).

Models whose operations TensorFlow Lite lacks as built-ins (some recurrent layers) are
converted with TensorFlow ops as a fallback; ``ExportResult.note`` says so (such a file needs
the Flex delegate on the device).

``check_agreement(model, path, fmt, dataset)`` runs the written file (``tf.lite.Interpreter``
/ ``onnxruntime``) on the dataset's test part and compares with Keras's own predictions:
``Agreement(max_abs_diff, keras_accuracy, exported_accuracy, samples)`` (for regression the
two "accuracies" are mean absolute errors; ``metric`` says which).

This module imports TensorFlow only inside functions.
"""

from __future__ import annotations

import contextlib
import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import LayerLabError, ModelFileError

FORMATS = {
    "tflite": "TensorFlow Lite (float32)",
    "tflite-f16": "TensorFlow Lite (float16 weights)",
    "tflite-int8": "TensorFlow Lite (dynamic-range int8 weights)",
    "onnx": "ONNX",
}
SUFFIXES = {"tflite": ".tflite", "tflite-f16": ".tflite", "tflite-int8": ".tflite", "onnx": ".onnx"}
DEFAULT_CHECK_SAMPLES = 2000
_BATCH = 256


@dataclass(frozen=True)
class ExportResult:
    path: Path
    format: str
    size: int  # bytes written
    note: str = ""


@dataclass(frozen=True)
class Agreement:
    """How closely the exported file predicts like Keras on ``samples`` test rows."""

    max_abs_diff: float
    keras_accuracy: float | None
    exported_accuracy: float | None
    samples: int
    metric: str = "accuracy"  # "accuracy" (classification) or "MAE" (regression)
    format: str = ""
    same_predictions: float | None = None  # share of rows with the same predicted class

    def text(self) -> str:
        """One line for a status bar, a dialog or the CLI."""
        name = FORMATS.get(self.format, self.format or "the export")
        parts = [
            f"{name} vs Keras on {self.samples:,} test samples: "
            f"max |difference| of outputs {self.max_abs_diff:.3g}"
        ]
        if self.keras_accuracy is not None and self.exported_accuracy is not None:
            if self.metric == "accuracy":
                parts.append(
                    f"accuracy Keras {self.keras_accuracy:.4f}, exported "
                    f"{self.exported_accuracy:.4f}"
                )
            else:
                parts.append(
                    f"{self.metric} Keras {self.keras_accuracy:.4g}, exported "
                    f"{self.exported_accuracy:.4g}"
                )
        if self.same_predictions is not None:
            parts.append(f"same predicted class on {100 * self.same_predictions:.2f} %")
        return "; ".join(parts) + "."


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise LayerLabError(
            f"Unknown export format {fmt!r}.",
            fix=f"Use one of {', '.join(FORMATS)}.",
        )
    return fmt


def onnx_unavailable_reason() -> str | None:
    """Why ONNX export cannot work here, or None when it can."""
    missing = [name for name in ("tf2onnx", "onnxruntime") if not _importable(name)]
    if missing:
        return (
            f"ONNX export needs the {' and '.join(missing)} package"
            f"{'s' if len(missing) > 1 else ''}: install them with "
            "pip install 'layerlab[onnx]' (or pip install tf2onnx onnxruntime)."
        )
    return None


def _importable(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


# --- conversion ----------------------------------------------------------------------------


def convert(model, fmt: str) -> tuple[bytes, str]:
    """(the exported file's bytes, a note) for ``model`` in ``fmt``."""
    check_format(fmt)
    _single_input(model)
    if fmt == "onnx":
        return _to_onnx(model), ""
    return _to_tflite(model, fmt)


def export_deployable(model, path: str | os.PathLike, fmt: str) -> ExportResult:
    """Write ``model`` to ``path`` in ``fmt`` (atomically: a failure leaves no half file)."""
    from engine.files import atomic_write_bytes

    data, note = convert(model, fmt)
    target = Path(path)
    if target.exists() and target.is_dir():
        raise ModelFileError(f"Cannot export to {target}: it is a folder.")
    atomic_write_bytes(target, data)
    return ExportResult(target, fmt, len(data), note)


def _single_input(model) -> None:
    try:
        inputs = model.inputs
    except Exception:
        inputs = None
    if not inputs:
        raise ModelFileError(
            "The model's input shape is not known, so it cannot be exported.",
            fix="Train the run (or give the model an Input layer) first.",
        )
    if len(inputs) != 1 or len(model.outputs) != 1:
        raise ModelFileError(
            "Only models with one input and one output can be exported to TensorFlow Lite "
            "or ONNX here."
        )


@contextlib.contextmanager
def _quiet():
    """Keras's export prints "Saved artifact at …" on stdout; TensorFlow warns on stderr."""
    from engine.quiet import silenced_stderr

    with (
        contextlib.redirect_stdout(io.StringIO()),
        silenced_stderr(),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        yield


def _unrolled(model):
    """A copy of ``model`` with its recurrent layers unrolled (same weights), or None when
    it has none or they cannot be unrolled (unknown sequence length). TensorFlow Lite has
    no built-in for Keras 3's recurrent loop (TensorList ops), but converts the unrolled
    steps with built-ins only."""
    import keras

    def recurrent(layer) -> bool:
        return isinstance(layer, keras.layers.RNN | keras.layers.Bidirectional)

    if not any(recurrent(layer) for layer in model.layers):
        return None

    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, keras.layers.RNN):
            config["unroll"] = True
        elif isinstance(layer, keras.layers.Bidirectional):
            for key in ("layer", "backward_layer"):
                if isinstance(config.get(key), dict):
                    config[key]["config"]["unroll"] = True
        return layer.__class__.from_config(config)

    try:
        copy = keras.models.clone_model(model, clone_function=clone)
        copy.set_weights(model.get_weights())
    except Exception:
        return None
    return copy


def _to_tflite(model, fmt: str) -> tuple[bytes, str]:
    import tensorflow as tf

    unrolled = _unrolled(model)

    def converter(select_ops: bool, source=model):
        conv = tf.lite.TFLiteConverter.from_keras_model(source)
        if fmt in ("tflite-f16", "tflite-int8"):
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
        if fmt == "tflite-f16":
            conv.target_spec.supported_types = [tf.float16]
        if select_ops:
            conv.target_spec.supported_ops = [
                tf.lite.OpsSet.TFLITE_BUILTINS,
                tf.lite.OpsSet.SELECT_TF_OPS,
            ]
            conv._experimental_lower_tensor_list_ops = False
        return conv.convert()

    with _quiet():
        if unrolled is not None:
            # when the unrolled model does not convert either, the model as it is is tried
            with contextlib.suppress(Exception):
                return bytes(converter(False, unrolled)), (
                    "The recurrent layers were unrolled over their fixed number of steps "
                    "(TensorFlow Lite built-ins only)."
                )
        try:
            return bytes(converter(False)), ""
        except Exception as first:
            try:
                data = bytes(converter(True))
            except Exception:
                raise ModelFileError(
                    f"The model cannot be converted to TensorFlow Lite: {_one_line(first)}"
                ) from first
    return data, (
        "Some operations are TensorFlow ops, not TensorFlow Lite built-ins: the device "
        "needs the Flex delegate (select TF ops) to run this file."
    )


def _input_spec(model):
    import tensorflow as tf

    tensor = model.inputs[0]
    shape = (None, *tuple(tensor.shape[1:]))
    return tf.TensorSpec(shape, tf.as_dtype(str(tensor.dtype)), name="input")


def _to_onnx(model) -> bytes:
    reason = onnx_unavailable_reason()
    if reason:
        raise ModelFileError(reason)
    import tensorflow as tf

    with _quiet():
        import tf2onnx

        spec = _input_spec(model)

        @tf.function(input_signature=[spec])
        def serve(x):
            return model(x, training=False)

        try:
            proto, _ = tf2onnx.convert.from_function(serve, input_signature=[spec])
        except Exception as error:
            raise ModelFileError(
                f"The model cannot be converted to ONNX: {_one_line(error)}"
            ) from error
    return proto.SerializeToString()


# --- running an exported file --------------------------------------------------------------


def run_exported(path: str | os.PathLike, fmt: str, x: np.ndarray) -> np.ndarray:
    """The exported file's outputs for the model inputs ``x`` (batched internally)."""
    check_format(fmt)
    data = Path(path).read_bytes()
    runner = _onnx_runner(data) if fmt == "onnx" else _tflite_runner(data)
    outputs = [runner(x[start : start + _BATCH]) for start in range(0, len(x), _BATCH)]
    return np.concatenate(outputs, axis=0) if outputs else np.zeros((0,))


def _tflite_runner(data: bytes):
    import tensorflow as tf

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        interpreter = tf.lite.Interpreter(model_content=data)
    input_detail = interpreter.get_input_details()[0]
    output_index = interpreter.get_output_details()[0]["index"]
    state = {"shape": None}

    def run(batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=input_detail["dtype"])
        if state["shape"] != batch.shape:
            interpreter.resize_tensor_input(input_detail["index"], list(batch.shape))
            interpreter.allocate_tensors()
            state["shape"] = batch.shape
        interpreter.set_tensor(input_detail["index"], batch)
        interpreter.invoke()
        return np.array(interpreter.get_tensor(output_index))

    return run


def _onnx_runner(data: bytes):
    import onnxruntime

    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    first = session.get_inputs()[0]
    dtype = {"tensor(float)": np.float32, "tensor(int32)": np.int32, "tensor(int64)": np.int64}

    def run(batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=dtype.get(first.type, np.float32))
        return np.asarray(session.run(None, {first.name: batch})[0])

    return run


def check_agreement(
    model,
    path: str | os.PathLike,
    fmt: str,
    dataset,
    *,
    limit: int = DEFAULT_CHECK_SAMPLES,
) -> Agreement:
    """Run the exported file and Keras on (at most ``limit``) test rows and compare."""
    arrays = dataset.test_arrays(limit)
    if arrays is None:
        raise LayerLabError(
            "This dataset has no test part to check the export on.",
            fix="Choose a split that keeps test data (test_split > 0).",
        )
    x, y = arrays
    x = np.asarray(x)
    keras_out = np.asarray(model.predict(x, batch_size=_BATCH, verbose=0))
    try:
        exported = run_exported(path, fmt, x)
    except LayerLabError:
        raise
    except Exception as error:
        raise ModelFileError(
            f"The exported file {Path(path).name} could not be run: {_one_line(error)}"
        ) from error
    exported = exported.reshape(keras_out.shape)
    diff = float(np.max(np.abs(keras_out.astype("float64") - exported))) if len(x) else 0.0
    return _scores(dataset.task, keras_out, exported, np.asarray(y), diff, fmt)


def _scores(task, keras_out, exported, labels, diff, fmt) -> Agreement:
    from engine.evaluation import (
        CLASSIFICATION_TASKS,
        predicted_classes,
        probabilities,
        true_classes,
    )

    samples = len(keras_out)
    if task in CLASSIFICATION_TASKS and samples:
        truth = true_classes(labels)
        k_pred, _ = predicted_classes(probabilities(keras_out, task))
        e_pred, _ = predicted_classes(probabilities(exported, task))
        return Agreement(
            max_abs_diff=diff,
            keras_accuracy=float(np.mean(k_pred == truth)),
            exported_accuracy=float(np.mean(e_pred == truth)),
            samples=samples,
            format=fmt,
            same_predictions=float(np.mean(k_pred == e_pred)),
        )
    if task == "regression" and samples:
        truth = labels.astype("float64").reshape(samples, -1)
        return Agreement(
            max_abs_diff=diff,
            keras_accuracy=float(np.mean(np.abs(keras_out.reshape(samples, -1) - truth))),
            exported_accuracy=float(np.mean(np.abs(exported.reshape(samples, -1) - truth))),
            samples=samples,
            metric="MAE",
            format=fmt,
        )
    return Agreement(diff, None, None, samples, format=fmt)


def export_and_check(
    model, path: str | os.PathLike, fmt: str, dataset=None, *, limit: int = DEFAULT_CHECK_SAMPLES
) -> tuple[ExportResult, Agreement | None]:
    """Export, then (when a dataset is given) check the written file against Keras."""
    result = export_deployable(model, path, fmt)
    if dataset is None:
        return result, None
    return result, check_agreement(model, result.path, fmt, dataset, limit=limit)


def _one_line(error: BaseException) -> str:
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[-1] if lines else type(error).__name__)[:300]
