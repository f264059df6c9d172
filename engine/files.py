"""Atomic file writes: every file LayerLab writes goes through here.

A write goes to a temporary file in the target's folder, is flushed and fsynced, and
replaces the target with ``os.replace`` — a crash or a full disk never leaves a
half-written file where the user's file was.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path


@contextlib.contextmanager
def temporary_sibling(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path`` (same suffix, so Keras accepts it);
    it is removed unless renamed away.

    Use it when a library writes the file itself (``model.save``): write to the yielded
    path, verify it, then ``os.replace`` it onto the target inside the block.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor, name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=suffix or ".tmp" + target.suffix, dir=target.parent
    )
    os.close(descriptor)
    temporary = Path(name)
    temporary.unlink()
    try:
        yield temporary
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, backup: bool = False) -> None:
    """Write ``data`` to ``path`` atomically; with ``backup``, keep the old file as ``path~``."""
    atomic_write_with(path, lambda handle: handle.write(data), backup=backup)


def atomic_write_text(path: str | os.PathLike, text: str, *, backup: bool = False) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically (see ``atomic_write_bytes``)."""
    atomic_write_bytes(path, text.encode("utf-8"), backup=backup)


def atomic_write_with(
    path: str | os.PathLike, write: Callable[[object], object], *, backup: bool = False
) -> None:
    """Call ``write(binary_file)`` on a temporary file, then move it onto ``path``."""
    target = Path(path)
    with temporary_sibling(target) as temporary:
        with open(temporary, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if backup and target.exists():
            shutil.copy2(target, target.with_name(target.name + "~"))
        os.replace(temporary, target)
