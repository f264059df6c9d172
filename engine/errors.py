"""User-facing errors: each names the problem and, where there is one, the fix.

Every error a user can cause is raised as a ``LayerLabError`` (or a subclass), whose
``str()`` is a complete sentence fit for a dialog or a CLI line. Code that catches a
Keras/TensorFlow/pandas exception re-raises it as one of these with ``from``.
"""

from __future__ import annotations


class LayerLabError(Exception):
    """A problem the user can fix. ``field`` names the offending setting, if any."""

    def __init__(self, message: str, *, field: str | None = None, fix: str | None = None):
        self.message = message
        self.field = field
        self.fix = fix
        super().__init__(message if not fix else f"{message} {fix}")


class ProjectError(LayerLabError):
    """A project file or project dict that cannot be read or is invalid."""


class SpecError(LayerLabError):
    """An edit or value that does not fit the model spec (bad parameter, unknown layer)."""


class ModelFileError(LayerLabError):
    """A .h5/.keras file that cannot be saved or loaded safely."""


class DatasetError(LayerLabError):
    """A dataset block that cannot be loaded (missing file, bad CSV, offline set, ...)."""


class TrainingError(LayerLabError):
    """A run that cannot start or failed (wrong loss for the labels, out of memory, ...)."""
