"""The layer catalog on disk, so the window can fill its palette before TensorFlow is imported.

``engine.catalog`` reads every offered layer from Keras itself, which needs ``import keras``
(5-15 s on a small machine). What it derives depends only on the installed Keras (and
TensorFlow) and on LayerLab's own ``engine/overrides.py`` and ``engine/catalog.py``, so the
first real load writes it to ``<cache>/layerlab/catalog-<keras version>.json`` and later
launches read it back in milliseconds without importing Keras.

The file records a *key*: the format, the Keras and TensorFlow versions (read with
``importlib.metadata``, which imports neither) and a digest of those two source files. A file
whose key differs, or that cannot be read or parsed, is ignored (``read_cache`` returns None)
and the next real load rewrites it. Writes are atomic (temporary file + rename), so a crash
or a second LayerLab never leaves half a file.

This module never imports Keras, TensorFlow or Qt.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from engine.layer_info import LayerInfo, ParamInfo

FORMAT = 1
SOURCES = ("overrides.py", "catalog.py", "layer_info.py")


@dataclass(frozen=True)
class CachedCatalog:
    """What a cache file holds: the layers, their categories in display order, the training
    panel's choices (optimizers/losses/metrics, as ``app.loader.training_choices``) and the
    native libraries the last Keras import loaded (``app.loader`` preloads them)."""

    layers: dict[str, LayerInfo]
    categories: list[str]
    training: dict[str, Any] = field(default_factory=dict)
    libraries: list[str] = field(default_factory=list)


def package_version(name: str) -> str | None:
    """The installed version of distribution ``name`` without importing it; None if absent."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
    except Exception:  # a broken installation's metadata: no cache rather than no window
        return None


def cache_key() -> dict[str, Any]:
    """What must match for a cache file to be used (see the module docstring)."""
    digest = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for name in SOURCES:
        with contextlib.suppress(OSError):
            digest.update((here / name).read_bytes())
    return {
        "format": FORMAT,
        "keras": package_version("keras"),
        "tensorflow": package_version("tensorflow") or package_version("tensorflow-cpu"),
        "python": f"{sys.version_info.major}.{sys.version_info.minor}",
        "sources": digest.hexdigest()[:16],
    }


def cache_folder() -> Path:
    """``$LAYERLAB_CACHE_DIR``, else the platform's user cache folder + ``layerlab``."""
    forced = os.environ.get("LAYERLAB_CACHE_DIR", "").strip()
    if forced:
        return Path(forced)
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "layerlab"


def cache_path(folder: Path | None = None) -> Path:
    """The cache file for the installed Keras: ``catalog-<version>.json``."""
    version = package_version("keras") or "unknown"
    safe = "".join(c if c.isalnum() or c in ".-_" else "_" for c in version)
    return Path(folder or cache_folder()) / f"catalog-{safe}.json"


def _param_from_json(data: dict) -> ParamInfo:
    choices = data["choices"]
    return ParamInfo(
        name=str(data["name"]),
        kind=str(data["kind"]),
        default=data["default"],
        choices=None if choices is None else tuple(choices),
        minimum=data["minimum"],
        maximum=data["maximum"],
        help=str(data["help"]),
        advanced=bool(data["advanced"]),
        optional=bool(data["optional"]),
    )


def _layer_from_json(data: dict) -> LayerInfo:
    return LayerInfo(
        class_name=str(data["class_name"]),
        category=str(data["category"]),
        description=str(data["description"]),
        params=tuple(_param_from_json(p) for p in data["params"]),
        key_params=tuple(str(k) for k in data["key_params"]),
    )


def encode(cached: CachedCatalog, key: dict | None = None) -> str:
    """The cache file's text for ``cached`` under ``key`` (the current one by default)."""
    document = {
        "key": key if key is not None else cache_key(),
        "categories": list(cached.categories),
        "layers": [dataclasses.asdict(info) for info in cached.layers.values()],
        "training": cached.training,
        "libraries": list(cached.libraries),
    }
    return json.dumps(document, indent=1, allow_nan=False)


def decode(text: str, key: dict | None = None) -> CachedCatalog | None:
    """The catalog in ``text`` if it is well formed and its key matches, else None."""
    try:
        document = json.loads(text)
        if not isinstance(document, dict):
            return None
        if document.get("key") != (key if key is not None else cache_key()):
            return None
        layers = {}
        for entry in document["layers"]:
            info = _layer_from_json(entry)
            layers[info.class_name] = info
        categories = [str(c) for c in document["categories"]]
        training = document.get("training") or {}
        libraries = [str(p) for p in document.get("libraries") or []]
        if not layers or not isinstance(training, dict):
            return None
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    return CachedCatalog(layers, categories, training, libraries)


def read_cache(path: Path | None = None) -> CachedCatalog | None:
    """The cached catalog for the installed Keras, or None (missing, corrupt or stale)."""
    target = Path(path) if path is not None else cache_path()
    try:
        text = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return decode(text)


def write_cache(cached: CachedCatalog, path: Path | None = None) -> bool:
    """Write ``cached`` atomically; False (and no file) when the disk refuses.

    A cache is an optimisation: failing to write one must never stop the window.
    """
    from engine.files import atomic_write_text

    target = Path(path) if path is not None else cache_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(target, encode(cached))
    except (OSError, ValueError, TypeError):
        return False
    return True
