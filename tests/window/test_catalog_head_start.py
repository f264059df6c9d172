"""The palette fills from the on-disk catalog before Keras is loaded (issue 9, performance):
KerasLoader emits ``cached`` from the cache, writes the cache after the real load, ignores and
rewrites a corrupt one; the window shows the cached palette while edits still wait."""

from __future__ import annotations

import gc

import pytest

from app import loader as loader_module
from app.loader import KerasLoader, load_catalog, preload_libraries
from engine import catalog
from engine.catalog_cache import cache_path, read_cache


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("LAYERLAB_CACHE_DIR", str(folder))
    return folder


def run_loader(qtbot) -> tuple[KerasLoader, list]:
    loader = KerasLoader()
    seen: list = []
    loader.cached.connect(lambda result: seen.append(("cached", result)))
    loader.ready.connect(lambda result: seen.append(("ready", result)))
    with qtbot.waitSignal(loader.ready, timeout=90_000):
        loader.start()
    assert loader.wait(90_000)
    return loader, seen


def test_first_load_writes_the_cache_and_emits_no_cached(qtbot, cache_dir):
    _loader, seen = run_loader(qtbot)
    assert [kind for kind, _ in seen] == ["ready"]
    cached = read_cache()
    assert cached is not None
    assert cached.layers == catalog.catalog()
    assert cached.categories == catalog.categories()
    assert cached.training == seen[0][1].extra["training"]


def test_second_load_emits_the_cached_catalog_first(qtbot, cache_dir):
    run_loader(qtbot)
    written = cache_path().stat().st_mtime_ns
    _loader, seen = run_loader(qtbot)
    assert [kind for kind, _ in seen] == ["cached", "ready"]
    head, ready = seen[0][1], seen[1][1]
    assert head.extra.get("cached") is True and not ready.extra.get("cached")
    assert head.layers == ready.layers
    assert head.categories == ready.categories
    assert cache_path().stat().st_mtime_ns == written  # unchanged: not rewritten


def test_a_corrupt_cache_is_ignored_and_rewritten(qtbot, cache_dir):
    cache_dir.mkdir(parents=True)
    cache_path().write_text('{"key": "broken', encoding="utf-8")
    _loader, seen = run_loader(qtbot)
    assert [kind for kind, _ in seen] == ["ready"]
    assert read_cache() is not None


def test_a_stale_cache_is_ignored_and_rewritten(qtbot, cache_dir, monkeypatch):
    run_loader(qtbot)
    stale = cache_path().read_text(encoding="utf-8").replace('"keras": "', '"keras": "0.0.', 1)
    cache_path().write_text(stale, encoding="utf-8")
    assert read_cache() is None
    _loader, seen = run_loader(qtbot)
    assert [kind for kind, _ in seen] == ["ready"]
    assert read_cache() is not None


def test_use_cache_false_skips_it(qtbot, cache_dir):
    run_loader(qtbot)
    loader = KerasLoader(use_cache=False)
    seen: list = []
    loader.cached.connect(seen.append)
    with qtbot.waitSignal(loader.ready, timeout=90_000):
        loader.start()
    loader.wait()
    assert seen == []


def test_a_cache_that_cannot_be_written_does_not_stop_loading(qtbot, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("LAYERLAB_CACHE_DIR", str(blocker / "cache"))
    loader, seen = run_loader(qtbot)
    assert [kind for kind, _ in seen] == ["ready"]
    assert loader.error is None


@pytest.fixture
def collector_on():
    """Automatic collection on, as outside the window (the window's app.gc_guard keeps it
    off and collects on the GUI thread); the previous state is restored afterwards."""
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_load_catalog_turns_the_collector_back_on(cache_dir, collector_on):
    result = load_catalog()
    assert gc.isenabled()
    assert "Dense" in result.layers
    assert isinstance(result.extra["libraries"], list)


def test_load_catalog_leaves_a_disabled_collector_off(cache_dir):
    """Under app.gc_guard the collector stays off: the GUI thread's timer collects."""
    was = gc.isenabled()
    gc.disable()
    try:
        load_catalog()
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


def test_load_catalog_restores_the_collector_when_the_import_fails(monkeypatch, collector_on):
    def broken():
        raise RuntimeError("no keras here")

    monkeypatch.setattr(loader_module, "training_choices", broken)
    with pytest.raises(RuntimeError):
        load_catalog()
    assert gc.isenabled()


def test_preload_skips_missing_files_and_loads_real_ones(tmp_path):
    import numpy._core._multiarray_umath as umath  # loaded already: dlopen adds a reference

    assert preload_libraries([str(tmp_path / "absent.so")]) == 0
    assert preload_libraries([umath.__file__]) == 1
    assert preload_libraries([]) == 0


def test_window_palette_fills_from_the_cache_before_keras_is_ready(qtbot, cache_dir, tmp_path):
    from app.main_window import MainWindow
    from app.settings import AppSettings

    run_loader(qtbot)  # writes the cache, as a first launch does
    window = MainWindow(AppSettings(tmp_path / "settings.ini"), recovery_dir=tmp_path / "rec")
    window.show()
    at_cached: dict = {}

    def look(_result) -> None:  # connected after the window's own slot, so runs after it
        at_cached["names"] = window.palette.class_names()
        at_cached["ready"] = window.document.ready
        at_cached["train"] = window.train_button().isEnabled()

    try:
        with qtbot.waitSignal(window.catalogReady, timeout=90_000):
            window.start(None)  # connects the window's slots; the loader starts in the loop
            window.loader.cached.connect(look)
        assert "Dense" in at_cached["names"] and "InputLayer" not in at_cached["names"]
        assert at_cached["ready"] is False  # layer edits and shapes still wait for Keras
        assert at_cached["train"] is False
        assert window.palette.class_names() == at_cached["names"]
        assert window.document.ready
    finally:
        window.controller.shutdown()
        window.document.undo_stack.setClean()
        window.close()
        window.deleteLater()


def test_wait_right_after_a_cached_start_still_loads(qtbot, cache_dir):
    run_loader(qtbot)  # writes the cache
    loader = KerasLoader()
    heads: list = []
    loader.cached.connect(heads.append)
    loader.start()  # the import itself starts on the next event-loop turn
    assert len(heads) == 1
    assert loader.wait(90_000)  # starts the pending import and waits for it
    assert loader._thread.isFinished()  # really loaded, not merely never started
    with qtbot.waitSignal(loader.ready, timeout=10_000):
        pass
    assert loader.is_ready()


def test_first_launch_preloads_tensorflows_libraries_without_importing_it():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys; from app.loader import default_libraries; found = default_libraries(); "
        "assert any('libtensorflow_framework' in p for p in found), found; "
        "assert any('_pywrap_cpu_feature_guard' in p for p in found), found; "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False"]
