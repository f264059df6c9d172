"""Typed access to LayerLab's QSettings: recent files, window layout, first-launch flag.

Every preference the GUI keeps across launches goes through ``AppSettings`` so that keys
and value types live in one place. Tests point it at a private INI file with
``AppSettings(path)``.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

ORGANIZATION = "LayerLab"
APPLICATION = "LayerLab"
MAX_RECENT = 10


class AppSettings:
    """A thin, typed wrapper over one ``QSettings`` store."""

    def __init__(self, path: str | Path | None = None):
        if path is None:
            self._store = QSettings(ORGANIZATION, APPLICATION)
        else:
            self._store = QSettings(str(path), QSettings.Format.IniFormat)

    # Recent files -------------------------------------------------------------
    def recent_files(self) -> list[str]:
        """Most recent first; files that no longer exist are left out."""
        value = self._store.value("files/recent", [])
        if isinstance(value, str):
            value = [value]
        return [item for item in (value or []) if Path(item).exists()]

    def add_recent_file(self, path: str | Path) -> None:
        path = str(Path(path).resolve())
        items = [item for item in self.recent_files() if item != path]
        self._store.setValue("files/recent", [path, *items][:MAX_RECENT])

    def clear_recent_files(self) -> None:
        self._store.setValue("files/recent", [])

    # Window layout ------------------------------------------------------------
    def window_geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    def save_window_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        self._store.setValue("window/geometry", geometry)
        self._store.setValue("window/state", state)

    def splitter_state(self, name: str) -> QByteArray | None:
        return self._bytes(f"window/splitter_{name}")

    def save_splitter_state(self, name: str, state: QByteArray) -> None:
        self._store.setValue(f"window/splitter_{name}", state)

    # First launch / last folder -------------------------------------------------
    def first_launch(self) -> bool:
        return not self._bool("app/launched_before")

    def mark_launched(self) -> None:
        self._store.setValue("app/launched_before", True)

    def last_folder(self) -> str:
        return str(self._store.value("files/last_folder", str(Path.home())))

    def set_last_folder(self, folder: str | Path) -> None:
        self._store.setValue("files/last_folder", str(folder))

    def sync(self) -> None:
        self._store.sync()

    # ---------------------------------------------------------------------------
    def _bytes(self, key: str) -> QByteArray | None:
        value = self._store.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def _bool(self, key: str) -> bool:
        value = self._store.value(key, False)
        if isinstance(value, str):
            return value.lower() in {"true", "1", "yes"}
        return bool(value)
