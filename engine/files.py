"""Atomic file writes and safe JSON reads: every file LayerLab writes goes through here.

A write goes to a temporary file in the target's folder, is flushed and fsynced, and
replaces the target with ``os.replace`` — a crash or a full disk never leaves a
half-written file where the user's file was. The optional backup (``name~``) is made the
same way: a hard link to the old file (or, where links are not possible, a fsynced copy)
renamed onto ``name~``, so the previous good backup is only ever replaced by a complete
one. Temporary files left by a killed save (``.name.XXXXXXXX.tmp…``) are removed by the
next save of the same file once they are a few minutes old.

A disk error while writing becomes a ``FileSaveError``: a ``LayerLabError`` whose message
names the user's file (never the temporary one) and the fix, and also an ``OSError`` (with
its ``errno``) for callers that catch those.

``read_json`` / ``loads_json`` parse a user's JSON file and refuse, with a plain message,
what would otherwise crash the parser or later code: non-regular files (a FIFO hangs, a link
to ``/dev/zero`` never ends), huge files, bad UTF-8, bad JSON and absurd nesting (100,000
``[`` raise ``RecursionError`` inside ``json``).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import stat
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from engine.errors import LayerLabError

# A temporary file older than this, named like ours and beside the file being saved, was
# left by a save that was killed: the next save removes it.
STALE_TEMPORARY_SECONDS = 120.0

# No LayerLab file nests deeper than a few dozen levels (a Keras config with wrappers is
# about 15); deeper JSON is refused before anything walks it recursively.
MAX_JSON_DEPTH = 100

# A JSON file larger than this is refused before it is read (projects with many runs are
# tens of megabytes).
MAX_JSON_BYTES = 1 << 30


class FileSaveError(LayerLabError, OSError):
    """A file could not be written; the message names the user's file and the fix."""

    def __str__(self) -> str:  # OSError would rebuild "[Errno n] ..." from errno
        return BaseException.__str__(self)


# --- writing -----------------------------------------------------------------------------


@contextlib.contextmanager
def temporary_sibling(path: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path`` (same suffix, so Keras accepts it);
    it is removed unless renamed away.

    Use it when a library writes the file itself (``model.save``): write to the yielded
    path, verify it, then ``os.replace`` it onto the target inside the block.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target)
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
    path: str | os.PathLike,
    write: Callable[[object], object],
    *,
    backup: bool = False,
    suffix: str | None = None,
    verify: Callable[[Path], object] | None = None,
    say_kept: bool = False,
) -> None:
    """Call ``write(binary_file)`` on a temporary file, then move it onto ``path``.

    ``suffix`` is the temporary file's (Keras reads a file only by its suffix); ``verify``
    gets the written, fsynced temporary file before it replaces ``path`` and may raise.
    Raises ``FileSaveError`` (an ``OSError`` too) naming ``path`` when the disk refuses;
    with ``say_kept`` its message also says whether the previous file is unchanged.
    """
    target = Path(path)
    existed = target.exists()
    try:
        with temporary_sibling(target, suffix) as temporary:
            with open(temporary, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            if verify is not None:
                verify(temporary)
            if backup and target.is_file():
                backup_file(target)
            os.replace(temporary, target)
        _fsync_folder(target.parent)
    except FileSaveError:
        raise
    except OSError as error:
        raise save_error(target, error, existed=existed if say_kept else None) from error


def backup_file(path: str | os.PathLike) -> Path:
    """Make ``path~`` a complete copy of ``path`` without ever truncating the old ``path~``.

    A hard link to ``path`` goes to a temporary name and is renamed onto ``path~`` (the
    saved file itself is always replaced, never rewritten, so the link keeps the old
    content); where the filesystem has no hard links, a fsynced copy is renamed instead.
    """
    source = Path(path)
    backup = source.with_name(source.name + "~")
    with temporary_sibling(backup) as temporary:
        try:
            os.link(source, temporary)
        except OSError:
            shutil.copyfile(source, temporary)
            with contextlib.suppress(OSError):
                shutil.copystat(source, temporary)
            with open(temporary, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(temporary, backup)
    return backup


def remove_stale_temporaries(
    path: str | os.PathLike, older_than: float = STALE_TEMPORARY_SECONDS
) -> list[Path]:
    """Remove temporary files left beside ``path`` (for it or its ``~`` backup) by saves
    that were killed, once their last write is ``older_than`` seconds ago; returns them.

    Only names this module makes are touched (``.name.XXXXXXXX.tmp…``); a save still
    writing keeps its file fresh, so it is left alone.
    """
    target = Path(path)
    pattern = re.compile(r"\." + re.escape(target.name) + r"~?\.[A-Za-z0-9_]{8}\.tmp")
    removed: list[Path] = []
    now = time.time()
    try:
        entries = list(os.scandir(target.parent))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.match(entry.name):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < older_than:
                continue
            os.unlink(entry.path)
        except OSError:
            continue
        removed.append(Path(entry.path))
    return removed


def save_error(
    path: str | os.PathLike, error: OSError, *, existed: bool | None = None
) -> FileSaveError:
    """``error`` (raised while saving ``path``, perhaps about a temporary file) as a plain
    message naming ``path``. ``existed`` (when known) adds whether the previous file is
    unchanged or nothing was written."""
    target = Path(path)
    name, folder = target.name, target.parent
    code = error.errno
    if code in (errno.EACCES, errno.EPERM):
        problem = f"permission denied for the folder {folder}"
        fix = "Save it in another folder, or make this one writable."
    elif code == errno.EROFS:
        problem = f"the folder {folder} is on a read-only disk"
        fix = "Save it in another folder."
    elif code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        problem = f"the disk holding {folder} is full"
        fix = "Free some space, or save it in another folder."
    elif code == errno.EISDIR:
        problem = "there is a folder with that name"
        fix = "Choose another name."
    elif code == errno.ENAMETOOLONG:
        problem = "the name or path is too long"
        fix = "Choose a shorter name or another folder."
    elif code in (errno.ENOENT, errno.ENOTDIR):
        problem = f"the folder {folder} does not exist or cannot hold files"
        fix = "Choose another folder."
    else:
        reason = error.strerror or (str(error.args[0]) if error.args else "") or "disk error"
        problem = reason[:1].lower() + reason[1:]
        fix = None
    if existed is not None:
        problem += f"; the previous {name} is unchanged" if existed else "; nothing was written"
    result = FileSaveError(f"Cannot save {name}: {problem}.", fix=fix)
    result.errno = code
    result.strerror = error.strerror
    result.filename = str(target)
    return result


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (where the platform allows opening a folder)."""
    with contextlib.suppress(OSError, AttributeError):
        descriptor = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


# --- reading JSON ------------------------------------------------------------------------


def read_json(
    path: str | os.PathLike,
    *,
    error: type[LayerLabError] = LayerLabError,
    max_depth: int = MAX_JSON_DEPTH,
    max_bytes: int = MAX_JSON_BYTES,
) -> Any:
    """Read and parse the JSON file at ``path``; every refusal is ``error`` (a
    ``LayerLabError`` subclass) with a message starting "Cannot open <name>: ..."."""
    target = Path(path)
    try:
        info = os.stat(target)  # follows links: what would be read
    except FileNotFoundError:
        raise error(f"Cannot open {target}: there is no such file.") from None
    except OSError as problem:
        raise error(f"Cannot open {target}: {_reason(problem)}.") from problem
    if stat.S_ISDIR(info.st_mode):
        raise error(f"Cannot open {target}: it is a folder, not a file.")
    if not stat.S_ISREG(info.st_mode):
        raise error(
            f"Cannot open {target.name}: it is not a regular file (a device, pipe or socket)."
        )
    if info.st_size > max_bytes:
        raise error(
            f"Cannot open {target.name}: it is {info.st_size / 2**20:,.0f} MB, more than the "
            f"{max_bytes / 2**20:,.0f} MB LayerLab reads."
        )
    try:
        raw = target.read_bytes()
    except IsADirectoryError:
        raise error(f"Cannot open {target}: it is a folder, not a file.") from None
    except OSError as problem:
        raise error(f"Cannot open {target}: {_reason(problem)}.") from problem
    return loads_json(raw, target.name, error=error, max_depth=max_depth)


def loads_json(
    data: str | bytes,
    name: str,
    *,
    error: type[LayerLabError] = LayerLabError,
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """Parse JSON text from the file called ``name`` (for messages), refusing bad UTF-8,
    bad JSON and nesting deeper than ``max_depth`` with ``error``."""
    if isinstance(data, bytes):
        if not data.strip():
            raise error(f"Cannot open {name}: the file is empty.")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as problem:
            raise error(
                f"Cannot open {name}: it is not a text file (byte {problem.start} is not UTF-8)."
            ) from None
    if not data.strip():
        raise error(f"Cannot open {name}: the file is empty.")
    too_deep = error(
        f"Cannot open {name}: its JSON nests more than {max_depth} levels deep, "
        "which no LayerLab file does."
    )
    try:
        value = json.loads(data)
    except json.JSONDecodeError as problem:
        raise error(
            f"Cannot open {name}: it is not valid JSON "
            f"({problem.msg} at line {problem.lineno}, column {problem.colno})."
        ) from None
    except RecursionError:
        raise too_deep from None
    if json_depth(value, max_depth) > max_depth:
        raise too_deep
    return value


def json_depth(value: Any, limit: int | None = None) -> int:
    """How deeply lists/objects nest in ``value`` (a scalar is 0, ``[]`` is 1), counted
    without recursion; stops early once deeper than ``limit``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if limit is not None and deepest > limit:
                return deepest
        stack.extend((child, depth) for child in children if isinstance(child, dict | list))
    return deepest


def _reason(error: OSError) -> str:
    """An OSError's reason without its class name or the path ('permission denied')."""
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    text = error.strerror or (str(error.args[0]) if error.args else "") or "it cannot be read"
    return text[:1].lower() + text[1:]
