"""Running the real ``keras.datasets`` loaders with a bounded, reported, non-destructive download.

Each loader calls ``get_file`` from its own module. ``call_loader`` swaps that name, for the
duration of one call, for a guard around whatever ``get_file`` the module has (the real one, or
a test's substitute) that:

- checks a cached file's hash first and refuses a mismatch with a message (Keras would try to
  re-download and, offline, delete the user's file);
- bounds the download with a socket timeout, so an unreachable host cannot hang the app;
- reports download progress through the caller's ``progress`` callback;
- turns a failed download into a DatasetError naming the file to put where.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path

from keras.src.backend import config as keras_config
from keras.src.utils import file_utils

from engine.datasets.cancel import LoadCancelled
from engine.errors import DatasetError

DOWNLOAD_TIMEOUT_S = 20.0

Progress = Callable[[str, float | None], None]


def cache_dir() -> Path:
    """The folder where ``keras.datasets`` keeps downloaded files (``$KERAS_HOME/datasets``)."""
    base = os.path.expanduser(keras_config.keras_home())
    if not os.access(base, os.W_OK):
        base = os.path.join("/tmp", ".keras")
    return Path(base) / "datasets"


def _download_target(fname: str, cache_subdir: str, extract: bool) -> Path:
    """Where Keras's ``get_file`` stores ``fname`` (same rules as Keras)."""
    folder = cache_dir().parent / cache_subdir
    if extract:
        if "." in fname:
            return folder / fname
        return folder / f"{fname}_archive"
    return folder / fname


def _guard(real_get_file, label: str, progress: Progress | None, fetched: list):
    def guarded_get_file(fname=None, origin=None, *args, **kwargs):
        cache_subdir = kwargs.get("cache_subdir", "datasets")
        extract = bool(kwargs.get("extract") or kwargs.get("untar"))
        file_hash = kwargs.get("file_hash") or kwargs.get("md5_hash")
        name = fname or os.path.basename(origin or "")
        target = _download_target(name, cache_subdir, extract)
        # The file a user downloads by hand has the origin's name (cifar-10-python.tar.gz);
        # Keras looks for it under its own (cifar-10-batches-py-target_archive).
        placed = target.parent / (_origin_name(origin) or target.name)
        shown, linked = target, False
        if not target.exists() and placed != target and placed.is_file():
            _use_placed_file(placed, target)
            shown, linked = placed, True
        elif target.exists() and placed != target and placed.is_file():
            shown = placed
        if target.exists() and file_hash:
            if not file_utils.validate_file(str(target), file_hash):
                if linked:  # leave only the user's own file behind
                    with contextlib.suppress(OSError):
                        target.unlink()
                raise DatasetError(
                    f"The cached file {shown} for {label} is damaged or incomplete "
                    "(its checksum does not match Keras's).",
                    fix=(
                        f"Delete it so it is downloaded again, or replace it with a fresh copy "
                        f"of {origin}."
                    ),
                )
        elif not target.exists() and progress is not None:
            progress(f"Downloading {label}: {name}", None)
        try:
            with _bounded_download(name, progress):
                path = real_get_file(fname, origin, *args, **kwargs)
            fetched.append(path)
            return path
        except (DatasetError, LoadCancelled, MemoryError):
            raise
        except Exception as error:
            raise DatasetError(
                f"{label[:1].upper()}{label[1:]} is not in the Keras cache and could not be "
                f"downloaded ({_reason(error)}).",
                fix=(
                    f"Connect to the internet and try again, or download {origin} yourself and "
                    f"put it at {placed}."
                ),
            ) from error

    return guarded_get_file


def _origin_name(origin) -> str:
    """The file name at the end of a download URL ('' when there is none)."""
    return os.path.basename(urllib.parse.urlsplit(str(origin or "")).path)


def _use_placed_file(placed: Path, target: Path) -> None:
    """Make a hand-placed download visible under the name Keras's ``get_file`` looks for."""
    with contextlib.suppress(OSError):
        os.link(placed, target)
    if not target.exists():
        with contextlib.suppress(OSError):
            shutil.copyfile(placed, target)


def _reason(error: Exception) -> str:
    text = str(error).strip() or type(error).__name__
    return text if len(text) < 200 else text[:200] + "…"


@contextlib.contextmanager
def _bounded_download(name: str, progress: Progress | None):
    """A socket timeout and a progress-reporting ``urlretrieve`` around one ``get_file`` call."""
    real_retrieve = file_utils.urlretrieve

    def reporting_retrieve(url, filename=None, reporthook=None, data=None):
        def hook(block_num, block_size, total_size):
            if reporthook is not None:
                reporthook(block_num, block_size, total_size)
            if progress is not None:
                done = block_num * block_size
                fraction = min(1.0, done / total_size) if total_size and total_size > 0 else None
                progress(f"Downloading {name}", fraction)

        return real_retrieve(url, filename, hook, data)

    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    file_utils.urlretrieve = reporting_retrieve
    try:
        yield
    finally:
        file_utils.urlretrieve = real_retrieve
        socket.setdefaulttimeout(previous_timeout)


def call_loader(
    function, label: str, progress: Progress | None, *args, fetched: list | None = None, **kwargs
):
    """Call a ``keras.datasets`` function with its module's ``get_file`` guarded.

    ``fetched``, if given, receives each path ``get_file`` returned.

    Errors while parsing a (hash-valid or substituted) file become a DatasetError that names the
    cache folder; DatasetErrors from the guard pass through.
    """
    module = sys.modules[function.__module__]
    real_get_file = module.get_file
    module.get_file = _guard(real_get_file, label, progress, [] if fetched is None else fetched)
    try:
        return function(*args, **kwargs)
    except (DatasetError, LoadCancelled, MemoryError):
        raise
    except Exception as error:
        raise DatasetError(
            f"The cached files for {label} could not be read ({_reason(error)}).",
            fix=f"Delete the {label} files in {cache_dir()} so they are downloaded again.",
        ) from error
    finally:
        module.get_file = real_get_file
