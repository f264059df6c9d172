"""Notice when the open project file changes on disk, not by this window.

A CLI ``train`` records its run by rewriting the project (an atomic replace: a new file,
so a new inode); a second LayerLab may save it too. ``ProjectWatcher`` watches the file
and its folder with a ``QFileSystemWatcher`` (a watch on a replaced file is dropped by the
system, so the path is added again after every change), checks a moment after the first
change of a burst, and emits ``changedOnDisk(path)`` when the file's identity (inode, size,
modification time) differs from what this window last read or wrote.

Usage (the window)::

    watcher = ProjectWatcher(parent)
    watcher.changedOnDisk.connect(on_changed)   # merge the new runs: engine.project.merge_runs
    watcher.watch(path)                         # after Open / Save As; watch(None) on New
    save_project(project, path); watcher.note_saved()   # our own write is not reported
"""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QTimer, Signal

Signature = tuple[int, int, int] | None


def file_signature(path: Path) -> Signature:
    """(inode, size, mtime in ns) of ``path``; None when it does not exist."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


class ProjectWatcher(QObject):
    """Watches one project file; ``changedOnDisk(Path)`` when someone else changed it."""

    changedOnDisk = Signal(Path)

    def __init__(self, parent: QObject | None = None, *, settle_ms: int = 250):
        super().__init__(parent)
        self._path: Path | None = None
        self._known: Signature = None
        self._watcher = QFileSystemWatcher(self)
        self._watcher.fileChanged.connect(self._on_change)
        self._watcher.directoryChanged.connect(self._on_change)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(settle_ms)
        self._timer.timeout.connect(self._check)

    @property
    def path(self) -> Path | None:
        return self._path

    def watch(self, path: str | Path | None) -> None:
        """Watch ``path`` (None: nothing); its present content counts as ours."""
        self._timer.stop()
        watched = self._watcher.files() + self._watcher.directories()
        if watched:
            self._watcher.removePaths(watched)
        self._path = Path(path) if path is not None else None
        self._known = None
        if self._path is None:
            return
        self._watcher.addPath(str(self._path.parent))
        self._rewatch()
        self.note_saved()

    def note_saved(self) -> None:
        """Call right after this window wrote (or read) the file: that version is ours."""
        if self._path is not None:
            self._known = file_signature(self._path)
            self._rewatch()

    def check_now(self) -> bool:
        """Compare the file with the known version at once (e.g. right before saving);
        emits ``changedOnDisk`` and returns True when it changed."""
        self._timer.stop()
        return self._check()

    def _rewatch(self) -> None:
        if self._path is None:
            return
        name = str(self._path)
        if name not in self._watcher.files() and self._path.exists():
            self._watcher.addPath(name)

    def _on_change(self, _changed: str) -> None:
        if self._path is not None and not self._timer.isActive():
            # Not restarted by later events: a folder busy with other files (a run writing
            # its weights) must not postpone the check forever. Writers replace the file
            # atomically, so whatever is there when the timer fires is complete.
            self._timer.start()

    def _check(self) -> bool:
        if self._path is None:
            return False
        self._rewatch()
        now = file_signature(self._path)
        if now is None or now == self._known:
            return False  # gone (mid-replace, or deleted) or unchanged
        self._known = now
        self.changedOnDisk.emit(self._path)
        return True
