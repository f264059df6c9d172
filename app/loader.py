"""Import TensorFlow/Keras and build the layer catalog on a background thread.

The window appears first; ``KerasLoader.start()`` then emits ``cached(LoadedCatalog)`` at
once when ``engine.catalog_cache`` holds the catalog of the installed Keras (read from disk
in milliseconds, without importing Keras: the palette can fill before TensorFlow is loaded),
imports Keras (5 s or more on a small machine) on a ``QThread`` and emits
``ready(LoadedCatalog)`` or ``failed(str)`` in the GUI thread. Connect them to bound methods
of GUI-thread objects (FIELD-NOTES). The real load rewrites the cache when it differs.

Keeping the window responsive while Keras loads (the import runs on another thread, but
holds the GIL, so the GUI thread's Python slots wait for it):

- the cyclic garbage collector is off during the import and everything the import created
  is then frozen (``gc.freeze``): TensorFlow's import otherwise triggers full collections
  over hundreds of thousands of objects, 100-400 ms each, all holding the GIL;
- the native libraries the previous import loaded (remembered in the cache) are loaded
  first with ``dlopen`` called through ctypes, which releases the GIL: loading
  TensorFlow's 1.2 GB of shared objects and running their static initialisers otherwise
  happens inside ``import`` with the GIL held (0.6-0.7 s here).

- the import starts only after the palette's first paint (see ``KerasLoader.start``).

What remains is ``ml_dtypes``' module initialisation (registering its numpy ufunc loops,
~0.5 s in C with the GIL held): ``app.application.start_early_imports`` runs it while the
window is being built, so that it delays the window (still well within its 1.5 s) instead
of freezing it once shown.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer, Signal


@dataclass(frozen=True)
class LoadedCatalog:
    """What the GUI needs once Keras is importable: the layer catalog and timings."""

    layers: dict[str, Any]
    categories: list[str]
    seconds: float
    device: str = "CPU"
    extra: dict[str, Any] = field(default_factory=dict)


def load_catalog(libraries: list[str] | tuple[str, ...] = ()) -> LoadedCatalog:
    """Import Keras quietly, then read the catalog (blocking; call it off the GUI thread).

    ``libraries``: native libraries to load first without holding the GIL (see the module
    docstring); the result's ``extra["libraries"]`` lists those this import loaded.
    """
    started = time.perf_counter()
    collecting = gc.isenabled()
    gc.disable()
    try:
        preload_libraries(libraries or default_libraries())
        before = set(sys.modules)
        from engine.quiet import import_keras

        import_keras()
        from engine import catalog as catalog_module

        layers = catalog_module.catalog()
        categories = list(catalog_module.categories())
        training = training_choices()
        devices = _device_choices()
        loaded = extension_files(name for name in sys.modules if name not in before)
    finally:
        gc.freeze()  # what the import made lives as long as the process: never rescan it
        if collecting:  # (app.gc_guard keeps it off: it collects on the GUI thread)
            gc.enable()
    return LoadedCatalog(
        layers=layers,
        categories=categories,
        seconds=time.perf_counter() - started,
        device=_device_name(),
        extra={"training": training, "devices": devices, "libraries": loaded or list(libraries)},
    )


# One run on 2 worker processes of this machine (engine.local_workers; issue 13).
LOCAL_WORKERS_CHOICE = {
    "value": {"local_workers": 2},
    "label": "2 local workers (multi-worker, this machine)",
    "enabled": True,
    "reason": "One run on 2 worker processes over 127.0.0.1; the chief's curves are shown",
    "replicas": 2,
}


def _device_choices() -> list[dict]:
    """The training panel's device choices (CPU, each GPU, all GPUs), each with why it is
    unavailable; [] when they cannot be read (the panel then offers Keras's default)."""
    try:
        from engine.distribution import device_choices

        return [
            {
                "value": choice.value,
                "label": choice.label,
                "enabled": choice.enabled,
                "reason": choice.reason,
                "replicas": choice.replicas,
            }
            for choice in device_choices()
        ] + [LOCAL_WORKERS_CHOICE]
    except Exception:  # a device query must never keep the window from starting
        return []


def extension_files(module_names) -> list[str]:
    """Files of the compiled extension modules among ``module_names`` (import order), but
    Qt's: PySide6 is loaded before Keras, and must keep loading as it does."""
    from importlib.machinery import EXTENSION_SUFFIXES

    files = []
    for name in module_names:
        path = getattr(sys.modules.get(name), "__file__", None) or ""
        if not path.endswith(tuple(EXTENSION_SUFFIXES)):
            continue
        if "PySide6" in path or "shiboken6" in path:
            continue
        files.append(path)
    return files


DEFAULT_LIBRARIES = (
    "libtensorflow_framework.so*",
    "libtensorflow_cc.so*",
    "python/platform/_pywrap_cpu_feature_guard*.so",
)


def default_libraries() -> list[str]:
    """TensorFlow's big native libraries, found without importing it: what to preload on a
    first launch, before the cache remembers what an import really loaded."""
    from importlib.util import find_spec
    from pathlib import Path

    try:
        spec = find_spec("tensorflow")
    except (ImportError, ValueError):
        return []
    folders = list(spec.submodule_search_locations or []) if spec else []
    found: list[str] = []
    for folder in folders[:1]:
        for pattern in DEFAULT_LIBRARIES:
            found += sorted(str(path) for path in Path(folder).glob(pattern))
    return found


def preload_libraries(paths) -> int:
    """``dlopen`` each of ``paths`` (with Python's own flags) through ctypes, which releases
    the GIL while the loader maps the file and runs its static initialisers; the later
    ``import`` then finds it loaded. Missing files and failures are skipped (the import
    reports real problems). Returns how many loaded; 0 where ``dlopen`` does not exist."""
    if not paths or not hasattr(sys, "getdlopenflags"):
        return 0
    try:
        import ctypes

        dlopen = ctypes.CDLL(None).dlopen
    except (OSError, AttributeError):
        return 0
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    dlopen.restype = ctypes.c_void_p
    flags = sys.getdlopenflags()
    count = 0
    for path in paths:
        with contextlib.suppress(Exception):
            if dlopen(str(path).encode(), flags):
                count += 1
    return count


def cached_catalog() -> LoadedCatalog | None:
    """The catalog from ``engine.catalog_cache`` as a ``LoadedCatalog`` (``extra["cached"]``
    is True; ``device`` is unknown), or None without a usable cache. Never imports Keras."""
    from engine.catalog_cache import read_cache

    started = time.perf_counter()
    cached = read_cache()
    if cached is None:
        return None
    return LoadedCatalog(
        layers=cached.layers,
        categories=cached.categories,
        seconds=time.perf_counter() - started,
        device="…",
        extra={"training": cached.training, "libraries": cached.libraries, "cached": True},
    )


def update_cache(result: LoadedCatalog, previous: LoadedCatalog | None) -> bool:
    """Write ``result`` to the catalog cache unless ``previous`` (what was read) equals it;
    True when written. A failing write is ignored (the cache is only an optimisation)."""
    from engine.catalog_cache import CachedCatalog, write_cache

    fresh = CachedCatalog(
        layers=dict(result.layers),
        categories=list(result.categories),
        training=result.extra.get("training") or {},
        libraries=list(result.extra.get("libraries") or []),
    )
    if previous is not None:
        old = CachedCatalog(
            layers=dict(previous.layers),
            categories=list(previous.categories),
            training=previous.extra.get("training") or {},
            libraries=list(previous.extra.get("libraries") or []),
        )
        if old == fresh:
            return False
    return write_cache(fresh)


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

    def __init__(self, previous: LoadedCatalog | None = None):
        super().__init__()
        self.previous = previous

    def run(self) -> None:
        libraries = (self.previous.extra.get("libraries") or []) if self.previous else []
        try:
            result = load_catalog(libraries)
        except Exception as error:  # shown to the user in the status bar and a dialog
            self.broke.emit(f"TensorFlow/Keras could not be loaded: {error}")
            return
        self.loaded.emit(result)
        with contextlib.suppress(Exception):  # a cache that cannot be written is no error
            update_cache(result, self.previous)


class KerasLoader(QObject):
    """Runs ``load_catalog`` once in the background; ``ready``/``failed`` arrive in the GUI.

    ``cached(LoadedCatalog)`` comes first, inside ``start()``, when the on-disk catalog of the
    installed Keras is usable (``extra["cached"]`` is True): enough to fill the palette, not
    to edit layers or train, which wait for ``ready``. ``use_cache=False`` skips it.
    """

    cached = Signal(object)
    ready = Signal(object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None, *, use_cache: bool = True):
        super().__init__(parent)
        self._thread: _LoaderThread | None = None
        self.use_cache = use_cache
        self._start_pending = False
        self.cached_result: LoadedCatalog | None = None
        self.result: LoadedCatalog | None = None
        self.error: str | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        if self.use_cache:
            try:
                self.cached_result = cached_catalog()
            except Exception:  # an unreadable cache only costs the head start
                self.cached_result = None
        self._thread = _LoaderThread(self.cached_result)
        self._thread.loaded.connect(self._on_loaded)
        self._thread.broke.connect(self._on_failed)
        if self.cached_result is None:
            self._thread.start()
            return
        self.cached.emit(self.cached_result)
        # The import starts on the next turn of the event loop, after the palette's first
        # paint: painting loads Qt plugins, and glibc's loader lock is held while the import
        # maps TensorFlow (300 ms of frozen window here when both ran at once).
        self._start_pending = True
        QTimer.singleShot(0, self, self._start_thread)

    def _start_thread(self) -> None:
        if self._start_pending and self._thread is not None:
            self._start_pending = False
            self._thread.start()

    def is_ready(self) -> bool:
        return self.result is not None

    def wait(self, milliseconds: int = 60_000) -> bool:
        """Block until the thread finished (tests and shutdown only)."""
        self._start_thread()  # a start still pending runs now: wait means "until loaded"
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
