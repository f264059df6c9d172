"""Remember values worked out from objects that are never changed in place.

A recorded run (and its snapshot) is never edited in place: a rename or a note makes a new
run dict. Views that describe every run again after each new one (a search adds one run to
a hundred) can therefore remember what they worked out per run by the run OBJECT, and work
out only the new one. ``IdentityMemo`` holds the objects it remembers, so their ids cannot
be reused by other objects while remembered; each pass (``end_pass``) keeps only what that
pass used, so it never outgrows what is shown.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["IdentityMemo"]


class IdentityMemo:
    """``get(objects, extra, make)``: ``make()``'s value for these objects (by identity) and
    the hashable ``extra``, made once and remembered while passes keep using it."""

    def __init__(self) -> None:
        self._kept: dict[tuple, tuple[tuple, Any]] = {}
        self._used: dict[tuple, tuple[tuple, Any]] = {}

    def get(self, objects: tuple, extra: Hashable, make: Callable[[], T]) -> T:
        key = (tuple(map(id, objects)), extra)
        entry = self._used.get(key) or self._kept.get(key)
        if entry is None or any(a is not b for a, b in zip(entry[0], objects, strict=True)):
            entry = (objects, make())
        self._used[key] = entry
        return entry[1]

    def end_pass(self) -> None:
        """Forget what this pass did not use."""
        self._kept, self._used = self._used, {}

    def __len__(self) -> int:
        return len(self._kept)
