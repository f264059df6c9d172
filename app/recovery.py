"""The autosave recovery file: unsaved work written every few minutes, offered after a crash.

``RecoveryStore(folder)`` keeps two files there: ``autosave.llproj`` (the project as it was)
and ``autosave.json`` (where that project was saved, if anywhere). A clean close or a save
removes them; finding them at start-up means LayerLab did not close normally.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from engine.files import atomic_write_text
from engine.project import PROJECT_SUFFIX, dumps_project


class RecoveryStore:
    """Write, find and clear the recovery files in one folder."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.project_file = self.folder / f"autosave{PROJECT_SUFFIX}"
        self.meta_file = self.folder / "autosave.json"

    def write(self, project: dict, original: Path | None) -> None:
        """Store ``project`` (and the path it belongs to); raises OSError / ProjectError."""
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.project_file, dumps_project(project))
        meta = {"path": str(original) if original else None, "saved_at": time.time()}
        atomic_write_text(self.meta_file, json.dumps(meta))

    def exists(self) -> bool:
        return self.project_file.exists()

    def original_path(self) -> Path | None:
        """The file the recovered work belonged to (None for a never-saved project)."""
        try:
            meta = json.loads(self.meta_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        path = meta.get("path") if isinstance(meta, dict) else None
        return Path(path) if path else None

    def clear(self) -> None:
        for path in (self.project_file, self.meta_file):
            path.unlink(missing_ok=True)
