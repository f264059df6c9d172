"""Import and run TensorFlow/Keras without the C++ chatter on stderr.

TensorFlow prints oneDNN/CUDA lines from C++ on import even with TF_CPP_MIN_LOG_LEVEL=3, and
more (absl's "All log messages before absl::InitializeLog()", cuInit, cudart, tf.data notices)
when it first initialises its devices, which happens during the first fit, not the import. The
only reliable silencer is to point file descriptor 2 elsewhere while TensorFlow works:

- ``silenced_stderr()`` sends fd 2 to /dev/null (Python's own writes to stderr too): for an
  import or a short call that prints nothing of ours;
- ``native_stderr_captured()`` sends fd 2 to a temporary file but gives Python a new
  ``sys.stderr`` on a copy of the original fd, so the CLI's own messages still reach the
  terminal while TensorFlow's C++ lines do not.

``LAYERLAB_DEBUG=1`` (any value but empty or 0) turns both off: everything is shown. Both also
work when the process has no stderr at all (``pythonw``, a windowed launcher: ``sys.stderr``
is None and fd 2 may be closed).
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile


def debug_enabled() -> bool:
    """Whether ``LAYERLAB_DEBUG`` asks to see everything TensorFlow prints."""
    return os.environ.get("LAYERLAB_DEBUG", "").strip() not in ("", "0")


def _flush(stream) -> None:
    with contextlib.suppress(AttributeError, OSError, ValueError):
        stream.flush()


@contextlib.contextmanager
def silenced_stderr():
    """Redirect the process-level stderr (fd 2) to /dev/null inside the block."""
    if debug_enabled():
        yield
        return
    _flush(sys.stderr)
    try:
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        _flush(sys.stderr)
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@contextlib.contextmanager
def native_stderr_captured():
    """Inside the block, what C++ code writes to fd 2 goes to a discarded temporary file, while
    ``sys.stderr`` (Python's writes: our messages) still reaches the original stderr."""
    original = sys.stderr
    if debug_enabled():
        yield
        return
    try:
        fileno = original.fileno()
    except (AttributeError, OSError, ValueError):
        fileno = None
    _flush(original)
    try:
        saved = os.dup(2)
    except (OSError, ValueError):  # no fd 2 at all: nothing can reach a terminal
        yield
        return
    capture = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below
    replacement = None
    try:
        if fileno == 2:
            replacement = open(  # noqa: SIM115 - closed in the finally below
                os.dup(saved),
                "w",
                encoding=getattr(original, "encoding", None) or "utf-8",
                errors=getattr(original, "errors", None) or "backslashreplace",
                buffering=1,
            )
            sys.stderr = replacement
        os.dup2(capture.fileno(), 2)
        yield
    finally:
        if replacement is not None:
            _flush(replacement)
            if sys.stderr is replacement:
                sys.stderr = original
            replacement.close()
        os.dup2(saved, 2)
        os.close(saved)
        capture.close()


def import_keras():
    """Import and return ``keras`` (and its backend) quietly; cheap when already imported."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with silenced_stderr():
        import keras

        keras.config.backend()
    return keras
