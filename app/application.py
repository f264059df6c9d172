"""Start the LayerLab window: ``run_app(argv)`` is what ``python main.py [FILE]`` calls.

The window is shown before TensorFlow is imported; ``app.loader`` imports Keras in the
background and the window fills its palette when that is done. With no display at all the
user gets a plain sentence instead of Qt's platform-plugin abort.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

LAUNCH_TIME = time.perf_counter()

ICON_DIR = Path(__file__).resolve().parent.parent / "resources" / "icons"


def display_problem() -> str | None:
    """Why Qt cannot open a window here, or None when it can (or a platform is forced)."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return None
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return (
            "LayerLab needs a graphical desktop, and no display was found "
            "(neither DISPLAY nor WAYLAND_DISPLAY is set).\n"
            "Run it from a desktop session, or without a screen with "
            "QT_QPA_PLATFORM=offscreen (or under Xvfb).\n"
            "The headless commands work anywhere: python main.py summary|train|runs|evaluate."
        )
    return None


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="layerlab", description="Open the LayerLab window.")
    parser.add_argument("file", nargs="?", help="a project (.llproj) or model (.h5, .keras)")
    parser.add_argument(
        "--settings", help="use this INI file for preferences instead of the user's"
    )
    parser.add_argument(
        "--quit-after-ready",
        action="store_true",
        help="close the window as soon as Keras is loaded (launch benchmarks)",
    )
    return parser.parse_args(argv)


def wants_dark(app) -> bool:
    """Dark when ``LAYERLAB_THEME=dark``, light when ``=light``, else the system's scheme."""
    from PySide6.QtCore import Qt

    forced = os.environ.get("LAYERLAB_THEME", "").strip().lower()
    if forced in {"dark", "light"}:
        return forced == "dark"
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def apply_style(app) -> None:
    """Fusion, following the system's light or dark scheme (see ``wants_dark``)."""
    from PySide6.QtGui import QColor, QPalette

    app.setStyle("Fusion")
    if not wants_dark(app):
        app.setPalette(app.style().standardPalette())
        return
    palette = QPalette()
    window, base, text = QColor(45, 45, 48), QColor(30, 30, 32), QColor(230, 230, 230)
    palette.setColor(QPalette.ColorRole.Window, window)
    palette.setColor(QPalette.ColorRole.WindowText, text)
    palette.setColor(QPalette.ColorRole.Base, base)
    palette.setColor(QPalette.ColorRole.AlternateBase, QColor(40, 40, 43))
    palette.setColor(QPalette.ColorRole.ToolTipBase, QColor(60, 60, 64))
    palette.setColor(QPalette.ColorRole.ToolTipText, text)
    palette.setColor(QPalette.ColorRole.Text, text)
    palette.setColor(QPalette.ColorRole.Button, window)
    palette.setColor(QPalette.ColorRole.ButtonText, text)
    palette.setColor(QPalette.ColorRole.BrightText, QColor(255, 90, 90))
    palette.setColor(QPalette.ColorRole.Highlight, QColor(64, 128, 220))
    palette.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    palette.setColor(QPalette.ColorRole.PlaceholderText, QColor(150, 150, 155))
    palette.setColor(QPalette.ColorRole.Link, QColor(110, 170, 255))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(120, 120, 125))
    app.setPalette(palette)


def run_app(argv: list[str]) -> int:
    """Open the window (optionally on ``argv[0]``) and run the event loop; the exit code."""
    problem = display_problem()
    if problem:
        print(problem, file=sys.stderr)
        return 2
    args = parse_arguments(argv)
    start_early_imports()
    os.environ.setdefault("QT_API", "pyside6")
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from app import gc_guard
    from app.settings import APPLICATION, ORGANIZATION, AppSettings

    app = QApplication.instance() or QApplication([sys.argv[0], *argv])
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName(APPLICATION)
    app.setDesktopFileName("layerlab")
    app.setWindowIcon(QIcon(str(ICON_DIR / "layerlab.svg")))
    apply_style(app)
    gc_guard.install(app)  # garbage is collected on this thread only
    app.styleHints().colorSchemeChanged.connect(lambda _scheme: apply_style(app))

    from app.main_window import MainWindow

    settings = AppSettings(args.settings) if args.settings else AppSettings()
    window = MainWindow(settings)
    window.show()
    shown = time.perf_counter() - LAUNCH_TIME
    window.launch_seconds = shown
    window.launch_clock = LAUNCH_TIME
    probe = None
    if args.quit_after_ready:
        probe = EventLoopProbe(window)
        window.catalogReady.connect(probe.report_and_quit)
        window.loader.failed.connect(probe.report_and_quit)
    window.start(args.file)
    return app.exec()


EARLY_IMPORTS = ("numpy", "ml_dtypes")


def start_early_imports():
    """Import what TensorFlow needs that holds the GIL for long stretches in C (``ml_dtypes``
    registers its numpy ufunc loops in one ~0.5 s call) on a thread while the window is
    being built, so the freeze falls before the window appears instead of after.
    ``LAYERLAB_EARLY_IMPORTS=0`` turns it off (to measure). Returns the thread or None."""
    if os.environ.get("LAYERLAB_EARLY_IMPORTS", "1").strip() == "0":
        return None
    import importlib
    import threading

    def work() -> None:
        for name in EARLY_IMPORTS:
            try:
                importlib.import_module(name)
            except Exception:  # the real import reports it later
                return

    thread = threading.Thread(target=work, name="layerlab-early-imports", daemon=True)
    thread.start()
    return thread


class EventLoopProbe:
    """For ``--quit-after-ready`` (launch benchmark): how late a 10 ms timer fired while
    Keras loaded in the background, i.e. the longest moment the window could not react,
    and when the palette first showed layers (from the catalog cache, or once Keras loaded)."""

    def __init__(self, window):
        from PySide6.QtCore import QTimer

        self.window = window
        self.gaps: list[float] = []
        self.palette_at: float | None = None  # time.time() when the palette first had rows
        self._last = time.perf_counter()
        self.timer = QTimer(window)
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.gaps.append((now - self._last) * 1000 - 10)
        self._last = now
        if self.palette_at is None and self.window.palette.model.rowCount() > 0:
            self.palette_at = time.time()

    def report_and_quit(self, *_args) -> None:
        self.timer.stop()
        if self.palette_at is None and self.window.palette.model.rowCount() > 0:
            self.palette_at = time.time()
        if self.palette_at is not None:
            print(f"palette_at_epoch={self.palette_at:.3f}")
        gaps = sorted(self.gaps) or [0.0]
        print(f"event_gap_max_ms={gaps[-1]:.1f}")
        print(f"event_gap_p99_ms={gaps[int(len(gaps) * 0.99) - 1 if len(gaps) > 1 else 0]:.1f}")
        self.window.report_launch_and_quit()
