"""The File menu's lists: Open Recent and Templates. Each entry opens through the
``FileController`` (which asks before replacing unsaved work)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject

from engine.errors import LayerLabError
from engine.files import read_json
from engine.project import PROJECT_SUFFIX, resources_dir

TEMPLATE_DIR = resources_dir() / "templates"
DEMO_PATH = resources_dir() / f"demo{PROJECT_SUFFIX}"


def _read_json(path: Path) -> Any:
    """The file's JSON through the engine's guarded reader (regular files, bounded depth
    and size), or None when it cannot be read: a menu title then falls back to the name."""
    try:
        return read_json(path)
    except LayerLabError:
        return None


def template_title(path: Path) -> str:
    """A template's menu title: its ``title`` key if it has one, else its file name."""
    data = _read_json(path)
    title = (data.get("title") or data.get("name")) if isinstance(data, dict) else None
    return str(title) if title else path.stem.replace("_", " ").replace("-", " ").title()


def template_description(path: Path) -> str:
    data = _read_json(path)
    description = data.get("description") if isinstance(data, dict) else None
    return str(description) if description else ""


class FileMenus(QObject):
    """Fills the recent-files and templates menus for ``files`` (a FileController)."""

    def __init__(self, files: Any):
        super().__init__(files)
        self.files = files

    def fill_recent_menu(self, menu) -> None:
        menu.clear()
        recent = self.files.settings.recent_files()
        for path in recent:
            action = menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setData(path)
            action.triggered.connect(self._open_recent)
        if not recent:
            menu.addAction("No recent files").setEnabled(False)
        else:
            menu.addSeparator()
            menu.addAction("Clear list", self.files.settings.clear_recent_files)

    def _open_recent(self) -> None:
        path = self.sender().data()
        if path:
            self.files.open_path(Path(path))

    def fill_templates_menu(self, menu) -> None:
        menu.clear()
        templates = sorted(TEMPLATE_DIR.glob(f"*{PROJECT_SUFFIX}")) if TEMPLATE_DIR.exists() else []
        for path in templates:
            action = menu.addAction(template_title(path))
            action.setData(str(path))
            description = template_description(path)
            action.setToolTip(description)
            action.setStatusTip(description)
            action.triggered.connect(self._open_template)
        if templates:
            menu.addSeparator()
        action = menu.addAction("Demo: digits MLP")
        action.setData(str(DEMO_PATH))
        action.triggered.connect(self._open_template)

    def _open_template(self) -> None:
        path = self.sender().data()
        if path:
            self.files.open_path(Path(path), as_template=True)
