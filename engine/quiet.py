"""Import TensorFlow/Keras without the C++ start-up chatter on stderr.

TensorFlow prints oneDNN/CUDA lines from C++ on import even with TF_CPP_MIN_LOG_LEVEL=3;
the only reliable silencer is to point file descriptor 2 elsewhere during the import.
"""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def silenced_stderr():
    """Redirect the process-level stderr (fd 2) to /dev/null inside the block."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras():
    """Import and return ``keras`` (and its backend) quietly; cheap when already imported."""
    if "keras" in sys.modules:
        return sys.modules["keras"]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with silenced_stderr():
        import keras

        keras.config.backend()
    return keras
