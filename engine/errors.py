"""User-facing errors: each names the problem and, where there is one, the fix.

Every error a user can cause is raised as a ``LayerLabError`` (or a subclass), whose
``str()`` is a complete sentence fit for a dialog or a CLI line. Code that catches a
Keras/TensorFlow/pandas exception re-raises it as one of these with ``from``.
"""

from __future__ import annotations

import re


class LayerLabError(Exception):
    """A problem the user can fix. ``field`` names the offending setting, if any."""

    def __init__(self, message: str, *, field: str | None = None, fix: str | None = None):
        self.message = message
        self.field = field
        self.fix = fix
        super().__init__(message if not fix else f"{message} {fix}")


class ProjectError(LayerLabError):
    """A project file or project dict that cannot be read or is invalid.

    Messages that start with the setting's path read as sentences: ``"fit.epochs must be
    …"`` becomes ``"The setting fit.epochs must be …"`` and ``"compile.loss: unknown …"``
    becomes ``"Setting compile.loss: unknown …"``."""

    def __init__(self, message: str, *, field: str | None = None, fix: str | None = None):
        super().__init__(_sentence(message), field=field, fix=fix)


_PATH_FIRST = re.compile(r"^(?:model|dataset|compile|fit|runs|format|version)\b[\w.\[\]'\"-]*")


def _sentence(message: str) -> str:
    """``message`` starting with a capital letter when it starts with a setting's path."""
    match = _PATH_FIRST.match(message)
    if match is None:
        return message
    rest = message[match.end() :]
    return f"Setting {message}" if rest.startswith(":") else f"The setting {message}"


class SpecError(LayerLabError):
    """An edit or value that does not fit the model spec (bad parameter, unknown layer)."""


class ModelFileError(LayerLabError):
    """A .h5/.keras file that cannot be saved or loaded safely."""


class DatasetError(LayerLabError):
    """A dataset block that cannot be loaded (missing file, bad CSV, offline set, ...)."""


class TrainingError(LayerLabError):
    """A run that cannot start or failed (wrong loss for the labels, out of memory, ...)."""
