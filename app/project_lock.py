"""A lock on an open project, so two LayerLab windows do not silently overwrite each other.

``ProjectLock`` holds a ``QLockFile`` beside the project (``.name.llproj.lock``): it records
the holder's process id, host name and program. A lock whose process is gone (a crash, a
kill -9) is stale and taken over by Qt's own check (the holder's pid is not running, or is
another program); the age-based staleness is switched off, since a project stays open for
hours.

Usage (the window)::

    lock = ProjectLock()
    if not lock.try_lock(path):
        ask(lock.message())        # "p.llproj is open in another LayerLab (process …)"
        # yes: open read-only (no Save, only Save As); no: keep the current project
    ...
    lock.unlock()                  # on close, New, Open of another file
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QLockFile


def lock_path(project_path: str | Path) -> Path:
    """Where the lock for ``project_path`` lives: ``.name.llproj.lock`` beside it."""
    path = Path(project_path)
    return path.with_name(f".{path.name}.lock")


class ProjectLock:
    """The lock on the project one window has open (at most one path at a time)."""

    def __init__(self) -> None:
        self._lock: QLockFile | None = None
        self._path: Path | None = None
        self._holder: tuple[int, str, str] | None = None
        self._unlockable = False

    @property
    def path(self) -> Path | None:
        """The project the last ``try_lock`` was about (locked or not)."""
        return self._path

    def try_lock(self, path: str | Path) -> bool:
        """Lock ``path`` for this window, releasing any previous lock.

        False when another live LayerLab holds it (``holder()``/``message()`` say who).
        True when locked, and also when no lock can be made there at all (a read-only
        folder: nobody can save there, so nobody can clobber; ``is_locked()`` is False).
        """
        self.unlock()
        target = Path(path)
        lock = QLockFile(str(lock_path(target)))
        lock.setStaleLockTime(0)  # held for as long as the project is open
        self._path = target
        if lock.tryLock(0):
            self._lock = lock
            return True
        if lock.error() == QLockFile.LockError.LockFailedError:
            info = lock.getLockInfo()
            if isinstance(info, tuple) and len(info) == 3 and info[0]:
                self._holder = (int(info[0]), str(info[1]), str(info[2]))
            else:
                self._holder = (0, "", "")
            return False
        self._unlockable = True  # PermissionError / UnknownError: the folder takes no files
        return True

    def is_locked(self) -> bool:
        """True while this window holds the lock on ``path``."""
        return self._lock is not None and self._lock.isLocked()

    def could_not_lock(self) -> bool:
        """True when the last ``try_lock`` found a folder where no lock file can be made."""
        return self._unlockable

    def holder(self) -> tuple[int, str, str] | None:
        """(pid, host name, program) of the LayerLab holding the project when ``try_lock``
        returned False; None otherwise."""
        return self._holder

    def message(self) -> str:
        """The question for the user when ``try_lock`` returned False."""
        name = self._path.name if self._path else "The project"
        return (
            f"{name} is open in another LayerLab{self.where()}. Saving here would overwrite "
            "the changes made there. Open it read-only?"
        )

    def where(self) -> str:
        """' (process 1234 on host)' for the holder, or '' when it is not known."""
        if not self._holder or not self._holder[0]:
            return ""
        pid, host, _program = self._holder
        return f" (process {pid} on {host})" if host else f" (process {pid})"

    def unlock(self) -> None:
        """Release the lock (if held) and forget the path."""
        if self._lock is not None:
            self._lock.unlock()
        self._lock = None
        self._path = None
        self._holder = None
        self._unlockable = False
