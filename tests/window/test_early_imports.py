"""The window's launch imports ml_dtypes (its ~0.5 s GIL-holding ufunc registration) on a
thread while the window is built, so the freeze falls before the window shows (issue 9)."""

from __future__ import annotations

import sys

from app.application import EARLY_IMPORTS, start_early_imports


def test_early_imports_run_on_a_thread():
    thread = start_early_imports()
    assert thread is not None and thread.daemon
    thread.join(60)
    assert not thread.is_alive()
    assert all(name in sys.modules for name in EARLY_IMPORTS)
    assert "ml_dtypes" in EARLY_IMPORTS


def test_early_imports_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("LAYERLAB_EARLY_IMPORTS", "0")
    assert start_early_imports() is None
