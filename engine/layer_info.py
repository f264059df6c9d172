"""What the editors know about one layer class: ``LayerInfo`` and its ``ParamInfo`` rows.

Plain data without Keras, so that ``engine.catalog_cache`` can rebuild the catalog from disk
before TensorFlow is imported; ``engine.catalog`` builds the same objects from Keras itself.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from engine.errors import SpecError


@dataclass(frozen=True)
class ParamInfo:
    """One constructor argument of a layer, as the editor shows it.

    ``default`` is the JSON value exactly as in the layer's ``get_config()``. ``minimum`` and
    ``maximum`` are inclusive bounds (for tuples: of each element). ``optional``: None is valid.
    """

    name: str
    kind: str
    default: Any
    choices: tuple | None
    minimum: float | None
    maximum: float | None
    help: str
    advanced: bool
    optional: bool


@dataclass(frozen=True)
class LayerInfo:
    """One offered layer class: its category, one-line description and parameters."""

    class_name: str
    category: str
    description: str
    params: tuple[ParamInfo, ...]
    key_params: tuple[str, ...]

    def param(self, name: str) -> ParamInfo:
        """The parameter called ``name``; SpecError (listing the valid names) if none."""
        for p in self.params:
            if p.name == name:
                return p
        names = [p.name for p in self.params]
        close = difflib.get_close_matches(name, names, n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else f" It has: {', '.join(names)}."
        raise SpecError(f"{self.class_name} has no parameter '{name}'.{hint}", field=name)
