"""Import TensorFlow/Keras and build the layer catalog on a background thread.

The window appears first; ``KerasLoader.start()`` then imports Keras (5 s or more on a
small machine) on a ``QThread`` and emits ``ready(LoadedCatalog)`` or ``failed(str)``
in the GUI thread. Connect them to bound methods of GUI-thread objects (FIELD-NOTES).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal


@dataclass(frozen=True)
class LoadedCatalog:
    """What the GUI needs once Keras is importable: the layer catalog and timings."""

    layers: dict[str, Any]
    categories: list[str]
    seconds: float
    device: str = "CPU"
    extra: dict[str, Any] = field(default_factory=dict)


def load_catalog() -> LoadedCatalog:
    """Import Keras quietly, then read the catalog (blocking; call it off the GUI thread)."""
    started = time.perf_counter()
    from engine.quiet import import_keras

    import_keras()
    from engine import catalog as catalog_module

    layers = catalog_module.catalog()
    categories = list(catalog_module.categories())
    training = training_choices()
    return LoadedCatalog(
        layers=layers,
        categories=categories,
        seconds=time.perf_counter() - started,
        device=_device_name(),
        extra={"training": training},
    )


NOT_LOSSES = frozenset({"get", "serialize", "deserialize", "ctc"})


def training_choices() -> dict[str, Any]:
    """What Keras offers the training panel: optimizers with their default ``get_config()``,
    loss names and metric names (from ``keras.optimizers``/``keras.losses``/``engine``)."""
    import keras

    from engine import compiling
    from engine.catalog import to_json
    from engine.project import WRAPPING_OPTIMIZERS

    optimizers: dict[str, dict] = {}
    for name in sorted(dir(keras.optimizers), key=str.lower):
        cls = getattr(keras.optimizers, name)
        if not isinstance(cls, type) or not issubclass(cls, keras.optimizers.Optimizer):
            continue
        if name in WRAPPING_OPTIMIZERS:
            continue
        try:
            optimizers[name] = to_json(cls().get_config())
        except Exception:  # an optimizer that needs arguments is simply not offered
            continue
    losses = [
        name
        for name in dir(keras.losses)
        if not name.startswith("_")
        and not name[0].isupper()
        and name not in NOT_LOSSES
        and callable(getattr(keras.losses, name))
    ]
    metrics: list[str] = []
    for task in ("binary", "multiclass", "regression"):
        for loss in (None, "categorical_crossentropy"):
            for metric in compiling.metric_choices(task, loss):
                if metric not in metrics:
                    metrics.append(metric)
    return {"optimizers": optimizers, "losses": losses, "metrics": metrics}


def _device_name() -> str:
    from engine.quiet import silenced_stderr

    try:
        import tensorflow as tf

        with silenced_stderr():
            gpus = tf.config.list_physical_devices("GPU")
    except Exception:  # a broken CUDA set-up must not stop the app; CPU still works
        return "CPU"
    return f"GPU ({len(gpus)})" if gpus else "CPU"


class _LoaderThread(QThread):
    loaded = Signal(object)
    broke = Signal(str)

    def run(self) -> None:
        try:
            result = load_catalog()
        except Exception as error:  # shown to the user in the status bar and a dialog
            self.broke.emit(f"TensorFlow/Keras could not be loaded: {error}")
            return
        self.loaded.emit(result)


class KerasLoader(QObject):
    """Runs ``load_catalog`` once in the background; ``ready``/``failed`` arrive in the GUI."""

    ready = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._thread: _LoaderThread | None = None
        self.result: LoadedCatalog | None = None
        self.error: str | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = _LoaderThread()
        self._thread.loaded.connect(self._on_loaded)
        self._thread.broke.connect(self._on_failed)
        self._thread.start()

    def is_ready(self) -> bool:
        return self.result is not None

    def wait(self, milliseconds: int = 60_000) -> bool:
        """Block until the thread finished (tests and shutdown only)."""
        return self._thread is None or self._thread.wait(milliseconds)

    def _on_loaded(self, result: LoadedCatalog) -> None:
        self.result = result
        self.ready.emit(result)

    def _on_failed(self, message: str) -> None:
        self.error = message
        self.failed.emit(message)


class _TaskThread(QThread):
    succeeded = Signal(object)
    broke = Signal(str)

    def __init__(self, function, parent: QObject | None = None):
        super().__init__(parent)
        self._function = function

    def run(self) -> None:
        from engine.errors import LayerLabError

        try:
            result = self._function()
        except LayerLabError as error:
            self.broke.emit(str(error))
            return
        except Exception as error:  # unexpected: still a sentence, never a traceback dialog
            self.broke.emit(f"{type(error).__name__}: {error}")
            return
        self.succeeded.emit(result)


class BackgroundTask(QObject):
    """Run ``function()`` on a QThread; ``done(result)`` or ``failed(message)`` in the GUI.

    Used for TensorFlow work the GUI starts (opening .h5/.keras, building the summary,
    exporting a model). The task keeps its thread until it finished; ``wait`` joins it.
    """

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, function, parent: QObject | None = None):
        super().__init__(parent)
        self._thread = _TaskThread(function)
        self._thread.succeeded.connect(self._on_succeeded)
        self._thread.broke.connect(self._on_failed)
        self.running = False

    def start(self) -> None:
        self.running = True
        self._thread.start()

    def wait(self, milliseconds: int = 60_000) -> bool:
        return self._thread.wait(milliseconds)

    def _on_succeeded(self, result) -> None:
        self._thread.wait()
        self.running = False
        self.done.emit(result)

    def _on_failed(self, message: str) -> None:
        self._thread.wait()
        self.running = False
        self.failed.emit(message)
