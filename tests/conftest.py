"""Session-wide test settings: headless Qt, a private Keras cache, no network."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Keras reads KERAS_HOME at import and writes keras.json there: never the user's cache.
os.environ["KERAS_HOME"] = tempfile.mkdtemp(prefix="layerlab-keras-home-")
# The layer catalog cache (engine.catalog_cache): never the user's cache folder either.
os.environ["LAYERLAB_CACHE_DIR"] = tempfile.mkdtemp(prefix="layerlab-cache-")

from engine.quiet import import_keras

import_keras()


import pytest  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _collect_garbage_on_the_gui_thread(qapp):
    """As the app does (``app.gc_guard``): a worker thread's garbage collection destroyed a
    pyqtgraph scene off the GUI thread and deadlocked an evaluation test."""
    from app import gc_guard

    gc_guard.install(qapp)
    yield
    gc_guard.uninstall()
