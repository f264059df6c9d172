"""The autosave recovery files: unsaved work written every few minutes, offered after a crash.

Each running LayerLab has its own slot in the recovery folder, so one instance's normal
close never deletes another's autosave::

    recovery/
      <pid>-<random>/autosave.llproj   the project as it was
      <pid>-<random>/autosave.json     where that project was saved, if anywhere
      <pid>-<random>.lock              a QLockFile held while the slot holds work

A slot whose lock can be taken belongs to a LayerLab that is gone (it crashed, or was
killed): its work is an orphan. ``exists()`` adopts the newest orphan into this instance's
own slot (renaming it, under the orphan's lock, so two instances starting together do not
both take it) and says whether there is work to offer; ``project_file`` and
``original_path()`` then describe it. ``clear()`` removes only this instance's files.
Files from LayerLab versions before slots (``recovery/autosave.llproj``) are orphans too.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import time
from pathlib import Path

from PySide6.QtCore import QLockFile

from engine.files import atomic_write_text
from engine.project import PROJECT_SUFFIX, dumps_project

PROJECT_NAME = f"autosave{PROJECT_SUFFIX}"
META_NAME = "autosave.json"
LEGACY_LOCK = "autosave.lock"


class RecoveryStore:
    """Write, find and clear one LayerLab instance's recovery files in ``folder``."""

    def __init__(self, folder: str | Path, instance: str | None = None):
        self.folder = Path(folder)
        self.instance = instance or f"{os.getpid()}-{secrets.token_hex(4)}"
        self.slot = self.folder / self.instance
        self.project_file = self.slot / PROJECT_NAME
        self.meta_file = self.slot / META_NAME
        self._lock: QLockFile | None = None

    # --- this instance's own files -------------------------------------------------

    def write(self, project: dict, original: Path | None) -> None:
        """Store ``project`` (and the path it belongs to); raises OSError / ProjectError."""
        self._own()
        self.slot.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.project_file, dumps_project(project))
        meta = {
            "path": str(original) if original else None,
            "saved_at": time.time(),
            "pid": os.getpid(),
        }
        atomic_write_text(self.meta_file, json.dumps(meta))

    def exists(self) -> bool:
        """Whether there is recovered work to offer: this instance's own, or else the
        newest orphan, which is adopted into this instance's slot first."""
        if self.project_file.exists():
            return True
        return self.adopt_orphan()

    def original_path(self) -> Path | None:
        """The file the recovered work belonged to (None for a never-saved project)."""
        return _original_path(self.meta_file)

    def clear(self) -> None:
        """Remove this instance's recovery files (after a save, a clean close, or when
        the user declined the recovered work) and release its lock."""
        for path in (self.project_file, self.meta_file):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self.slot.rmdir()
        self.release()

    def release(self) -> None:
        """Give up this instance's lock, leaving its files (what a crash does)."""
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    # --- orphans ---------------------------------------------------------------------

    def orphans(self) -> list[Path]:
        """Recovery files whose LayerLab is gone, newest first (their ``autosave.llproj``)."""
        found: list[tuple[float, Path]] = []
        try:
            entries = list(os.scandir(self.folder))
        except OSError:
            return []
        names = {entry.name for entry in entries}
        for entry in entries:
            if entry.name.endswith(".lock") and entry.name[: -len(".lock")] not in names:
                if entry.name not in (LEGACY_LOCK, f"{self.instance}.lock"):
                    _held(Path(entry.path))  # a stale lock without a slot: taken and removed
                continue
            if entry.name == self.instance or not entry.is_dir(follow_symlinks=False):
                continue
            project = Path(entry.path) / PROJECT_NAME
            if project.exists() and not _held(self.folder / f"{entry.name}.lock"):
                found.append((_saved_at(project), project))
        legacy = self.folder / PROJECT_NAME
        if legacy.exists() and not _held(self.folder / LEGACY_LOCK):
            found.append((_saved_at(legacy), legacy))
        return [path for _when, path in sorted(found, key=lambda item: item[0], reverse=True)]

    def adopt_orphan(self) -> bool:
        """Move the newest orphan's files into this instance's slot; True when one was."""
        for project in self.orphans():
            legacy = project.parent == self.folder
            lock = QLockFile(
                str(self.folder / (LEGACY_LOCK if legacy else f"{project.parent.name}.lock"))
            )
            lock.setStaleLockTime(0)
            if not lock.tryLock(0):
                continue  # another instance is adopting it right now
            try:
                if not project.exists():
                    continue
                self._own()
                self.slot.mkdir(parents=True, exist_ok=True)
                meta = project.with_name(META_NAME)
                os.replace(project, self.project_file)
                if meta.exists():
                    os.replace(meta, self.meta_file)
                else:
                    self.meta_file.unlink(missing_ok=True)
                if not legacy:
                    shutil.rmtree(project.parent, ignore_errors=True)
                return True
            except OSError:
                continue
            finally:
                lock.unlock()
        return False

    def _own(self) -> None:
        """Hold this instance's lock (while its slot may hold work)."""
        if self._lock is not None:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        lock = QLockFile(str(self.folder / f"{self.instance}.lock"))
        lock.setStaleLockTime(0)
        if lock.tryLock(0):
            self._lock = lock


def _held(lock_file: Path) -> bool:
    """Whether a live LayerLab holds ``lock_file`` (a stale lock counts as not held)."""
    if not lock_file.exists():
        return False
    lock = QLockFile(str(lock_file))
    lock.setStaleLockTime(0)
    if lock.tryLock(0):
        lock.unlock()
        return False
    return lock.error() == QLockFile.LockError.LockFailedError


def _saved_at(project: Path) -> float:
    meta = project.with_name(META_NAME)
    try:
        value = json.loads(meta.read_text(encoding="utf-8")).get("saved_at")
        return float(value)
    except (OSError, ValueError, TypeError, AttributeError, RecursionError):
        with contextlib.suppress(OSError):
            return project.stat().st_mtime
        return 0.0


def _original_path(meta_file: Path) -> Path | None:
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    path = meta.get("path") if isinstance(meta, dict) else None
    return Path(path) if isinstance(path, str) and path else None
