"""Cancelling a dataset load that is under way (the window closes, a newer load replaces it).

``load_dataset(..., cancel=event)`` wraps the loaders' ``progress`` callback so that every
report first checks ``event`` (a ``threading.Event``) and raises ``LoadCancelled`` once it is
set. Loaders report between pieces, chunks, files and rows, so a cancelled load stops there;
nothing half-loaded is returned. ``LoadCancelled`` is not a ``LayerLabError``: it is no user
mistake, and whoever cancelled swallows it.
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[str, float | None], None]


class LoadCancelled(Exception):
    """The dataset load was cancelled before it finished."""


def cancellable(progress: Progress | None, cancel) -> Progress | None:
    """``progress`` that raises ``LoadCancelled`` once ``cancel`` is set (None: unchanged)."""
    if cancel is None:
        return progress

    def report(message: str, fraction: float | None = None) -> None:
        if cancel.is_set():
            raise LoadCancelled
        if progress is not None:
            progress(message, fraction)

    return report


def check(cancel) -> None:
    """Raise ``LoadCancelled`` if ``cancel`` is set."""
    if cancel is not None and cancel.is_set():
        raise LoadCancelled
