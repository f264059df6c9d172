"""A real MainWindow per test, created after Keras and the catalog are ready."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox

from app.main_window import MainWindow
from app.settings import AppSettings


@pytest.fixture
def make_window(qtbot, tmp_path):
    """``make_window(path=None)`` opens a window on ``path`` (the demo when None) and waits
    until the background loader filled the palette."""
    made: list[MainWindow] = []

    def make(path=None, **options) -> MainWindow:
        settings = AppSettings(tmp_path / f"settings-{len(made)}.ini")
        window = MainWindow(settings, recovery_dir=tmp_path / "recovery", **options)
        made.append(window)
        window.show()
        with qtbot.waitSignal(window.catalogReady, timeout=90_000):
            window.start(path)
        assert window.document.ready
        return window

    yield make
    for window in made:
        window.controller.shutdown()
        window.document.undo_stack.setClean()
        window.close()
        window.deleteLater()


@pytest.fixture
def window(make_window):
    return make_window()


@pytest.fixture(autouse=True)
def no_unexpected_modal_dialogs(monkeypatch):
    """A modal message box nobody answers would hang the suite: a test that expects one
    patches it (``monkeypatch.setattr(QMessageBox, "question", ...)``); any other fails the
    test at once, naming the dialog."""

    def unexpected(kind):
        def show(*args, **kwargs):
            texts = [a for a in args if isinstance(a, str)]
            raise AssertionError(f"Unexpected modal {kind} dialog: {texts}")

        return staticmethod(show)

    for kind in ("question", "warning", "critical", "information"):
        monkeypatch.setattr(QMessageBox, kind, unexpected(kind))
