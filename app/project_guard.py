"""The open project's lock and watch in one object, for the file controller.

``ProjectGuard`` combines ``ProjectLock`` (no two LayerLabs edit one file unawares) and
``ProjectWatcher`` (a run a CLI ``train`` records into the open project is merged, not
wiped by the next save). The controller calls::

    guard.open(path, project)          # after loading; False: held elsewhere → ask
    guard.open_read_only(path, project)    # the user chose read-only: no lock, no Save
    guard.changedOnDisk → runs = guard.merged_runs(document.project); put them in the document
    problem = guard.prepare_save(path) # before every save: a message, or None to go on
    runs = guard.merged_runs(project)  # right before saving (None: nothing new on disk)
    guard.saved(path, project)         # right after save_project; after Save As too
    guard.close()                      # New, Open of another file, window close
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from app.project_lock import ProjectLock
from app.project_watch import ProjectWatcher
from engine.project import merge_runs, run_ids, runs_on_disk


class ProjectGuard(QObject):
    """Lock + watch + run merging for the one project a window has open."""

    changedOnDisk = Signal(Path)

    def __init__(self, parent: QObject | None = None, *, settle_ms: int = 250):
        super().__init__(parent)
        self.lock = ProjectLock()
        self.watcher = ProjectWatcher(self, settle_ms=settle_ms)
        self.watcher.changedOnDisk.connect(self._on_changed)
        self.read_only = False
        self._path: Path | None = None
        self._known: set[str] = set()
        self._stale = False
        self._pending: ProjectLock | None = None

    @property
    def path(self) -> Path | None:
        return self._path

    def open(self, path: str | Path, project: dict) -> bool:
        """Lock and watch ``path`` (whose content is ``project``, as loaded). False when
        another LayerLab holds it: show ``message()``; then ``open_read_only`` or keep
        the previous project (this guard then guards nothing)."""
        self.close()
        if not self.lock.try_lock(path):
            return False
        self._watch(Path(path), project)
        return True

    def open_read_only(self, path: str | Path, project: dict) -> None:
        """Watch ``path`` without locking it; the window must not Save (only Save As)."""
        self.close()
        self.read_only = True
        self._watch(Path(path), project)

    def message(self) -> str:
        """Why ``open`` returned False, as a question (see ``ProjectLock.message``)."""
        return self.lock.message()

    def prepare_save(self, path: str | Path) -> str | None:
        """Before saving to ``path``: None to go on, or why not (the project is read-only
        here, or Save As targets a file another LayerLab has open)."""
        target = Path(path)
        if target == self._path:
            if self.read_only:
                return (
                    f"{target.name} is open read-only (another LayerLab has it open). "
                    "Use Save As to keep your changes in another file."
                )
            return None
        self._drop_pending()
        pending = ProjectLock()
        if not pending.try_lock(target):
            return (
                f"Cannot save over {target.name}: it is open in another LayerLab"
                f"{pending.where()}. Choose another name."
            )
        self._pending = pending
        return None

    def merged_runs(self, project: dict) -> list[dict] | None:
        """``project``'s runs plus runs recorded on disk since we last read or wrote the
        file; None when the file has not changed since (nothing to merge)."""
        if self._path is None:
            return None
        self.watcher.check_now()  # a change not yet reported by the watcher counts too
        if not self._stale:
            return None
        on_disk = runs_on_disk(self._path)
        merged = merge_runs(project, on_disk, known_ids=self._known)
        self._known |= {run["id"] for run in on_disk if isinstance(run.get("id"), str)}
        self._stale = False
        return merged

    def saved(self, path: str | Path, project: dict) -> None:
        """Call right after ``save_project(project, path)`` (Save or Save As)."""
        target = Path(path)
        if target != self._path:  # Save As: the new file is the one to guard
            pending = self._pending
            self._pending = None
            self.close()
            if pending is not None and pending.path == target:
                self.lock = pending  # taken by prepare_save
            else:
                self.lock.try_lock(target)
            self._watch(target, project)
            return
        self.read_only = False
        self._known = run_ids(project)
        self._stale = False
        self.watcher.note_saved()

    def close(self) -> None:
        """Release the lock and stop watching."""
        self._drop_pending()
        self.lock.unlock()
        self.watcher.watch(None)
        self._path = None
        self._known = set()
        self._stale = False
        self.read_only = False

    def _drop_pending(self) -> None:
        if self._pending is not None:
            self._pending.unlock()
            self._pending = None

    def _watch(self, path: Path, project: dict) -> None:
        self._path = path
        self._known = run_ids(project)
        self._stale = False
        self.watcher.watch(path)

    def _on_changed(self, path: Path) -> None:
        self._stale = True
        self.changedOnDisk.emit(path)
