"""Will the model fit? Parameter memory from ``analyse()`` against the machine's free memory.

``parameter_memory(spec)`` lists, per body layer, its parameter count and the bytes its
variables take (parameters × the size of the layer's variable dtype), without building
anything: ``engine.spec.analyse`` works on shapes only. ``check_fits(spec)`` refuses a model
whose variables would not fit in the memory this machine has available, with a message that
names the biggest layer and what to change, instead of a TensorFlow out-of-memory string (or
the kernel killing the process). ``available_memory()`` reads ``MemAvailable`` from
``/proc/meminfo`` (and a cgroup's limit, when the process runs in one), falling back to
``os.sysconf``; when nothing answers, no model is refused.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.errors import SpecError

# Building a layer makes its initial values and then the variable from them: about twice
# the variables' own size at the peak.
BUILD_FACTOR = 2
# Models whose variables need less than this are never refused (whatever the machine says).
ALWAYS_ALLOWED_BYTES = 256 * 1024 * 1024

_DTYPE_BYTES = {
    "float16": 2,
    "bfloat16": 2,
    "float32": 4,
    "float64": 8,
    "int8": 1,
    "uint8": 1,
    "int16": 2,
    "int32": 4,
    "int64": 8,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
}


class ModelTooLargeError(SpecError):
    """A model whose parameters do not fit in the memory this machine has available."""


@dataclass(frozen=True)
class LayerMemory:
    """One body layer's parameters and the bytes its variables take."""

    name: str
    class_name: str
    params: int
    bytes: int


# ------------------------------------------------------------------------ the machine


def available_memory() -> int | None:
    """Bytes this process may still allocate: ``MemAvailable`` (bounded by the cgroup's
    limit, when there is one), else free physical pages; None when nothing tells."""
    found = _meminfo_available()
    if found is None:
        found = _sysconf_available()
    limit = _cgroup_room()
    if limit is not None:
        found = limit if found is None else min(found, limit)
    return found


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    parts = line.split()
                    return int(parts[1]) * (1024 if parts[2:] == ["kB"] else 1)
    except (OSError, ValueError, IndexError):
        return None
    return None


def _sysconf_available() -> int | None:
    try:
        pages = os.sysconf("SC_AVPHYS_PAGES")
        size = os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None
    return pages * size if pages > 0 and size > 0 else None


def _cgroup_room() -> int | None:
    """A cgroup v2 memory limit minus what the group uses now (None without a limit)."""
    folder = Path("/sys/fs/cgroup")
    try:
        limit = (folder / "memory.max").read_text().strip()
        if limit == "max":
            return None
        current = int((folder / "memory.current").read_text().strip())
        return max(int(limit) - current, 0)
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------------ the model


def dtype_bytes(dtype: Any, default: int = 4) -> int:
    """Bytes per variable element for a layer's ``dtype`` config (a name or a DTypePolicy
    dict). Mixed policies (``mixed_float16``) keep their variables in float32."""
    if isinstance(dtype, dict):
        config = dtype.get("config")
        dtype = config.get("name") if isinstance(config, dict) else None
    if not isinstance(dtype, str):
        return default
    if dtype.startswith("mixed_"):
        return 4
    return _DTYPE_BYTES.get(dtype, default)


def parameter_memory(spec: dict, input_shape: tuple | None = None) -> list[LayerMemory] | None:
    """Per body layer: name, class, parameters and their bytes; None when the spec cannot
    be analysed (no input shape, or a layer that does not build)."""
    from engine.spec import analyse, body

    analysis = analyse(spec, input_shape)
    if not analysis.ok:
        return None
    model_dtype = spec.get("dtype") if isinstance(spec, dict) else None
    rows = []
    for entry, row in zip(body(spec), analysis.layers, strict=False):
        config = entry.get("config") if isinstance(entry, dict) else None
        dtype = config.get("dtype") if isinstance(config, dict) else None
        size = dtype_bytes(dtype if dtype is not None else model_dtype)
        params = row.params or 0
        rows.append(LayerMemory(row.name, row.class_name, params, params * size))
    return rows


def check_fits(
    spec: dict, input_shape: tuple | None = None, *, available: int | None = None
) -> None:
    """Raise ``ModelTooLargeError`` when building ``spec`` would not fit in memory.

    ``available`` defaults to ``available_memory()``. A spec that cannot be analysed is
    let through (building it will say what is wrong).
    """
    rows = parameter_memory(spec, input_shape)
    if not rows:
        return
    problem = fit_problem(rows, available)
    if problem:
        from engine.spec import body

        offset = len(spec.get("layers", [])) - len(body(spec))
        index = rows.index(max(rows, key=lambda row: row.bytes))
        raise ModelTooLargeError(problem, field=f"layers[{index + offset}]")


def fit_problem(rows: list[LayerMemory], available: int | None = None) -> str | None:
    """The message refusing a model of these layers, or None when it fits."""
    total = sum(row.bytes for row in rows)
    if total < ALWAYS_ALLOWED_BYTES:
        return None
    if available is None:
        available = available_memory()
    if available is None or total * BUILD_FACTOR <= available:
        return None
    biggest = max(rows, key=lambda row: row.bytes)
    params = sum(row.params for row in rows)
    layer = f"Layer {biggest.name} ({biggest.class_name})"
    if biggest.bytes * 2 >= total:
        head = (
            f"{layer} would need {format_bytes(biggest.bytes)} for its "
            f"{biggest.params:,} parameters"
        )
        if biggest.bytes != total:
            head += f" (the whole model {format_bytes(total)})"
    else:
        head = (
            f"The model would need {format_bytes(total)} for its {params:,} parameters; its "
            f"biggest layer, {biggest.name} ({biggest.class_name}), holds {biggest.params:,}"
        )
    return (
        f"{head}; this machine has {format_bytes(available)} available, and building it "
        f"takes about {format_bytes(total * BUILD_FACTOR)}. {_advice(biggest)}"
    )


def _advice(layer: LayerMemory) -> str:
    kind = layer.class_name
    if kind in {"Dense", "EinsumDense"}:
        return (
            f"Use fewer units in {layer.name}, or make its input smaller (pooling before "
            "Flatten, or a smaller layer before it)."
        )
    if kind.startswith(("Conv", "DepthwiseConv", "SeparableConv")):
        return f"Use fewer filters or a smaller kernel_size in {layer.name}."
    if kind == "Embedding":
        return f"Use a smaller input_dim (vocabulary) or output_dim in {layer.name}."
    if kind in {"LSTM", "GRU", "SimpleRNN", "Bidirectional", "ConvLSTM2D"}:
        return f"Use fewer units in {layer.name}."
    return f"Make {layer.name} smaller."


def format_bytes(count: float) -> str:
    """``4.0 GB``, ``512 MB``, ``1.2 TB`` (powers of 1000, as the messages round anyway)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if count >= scale:
            value = count / scale
            return f"{value:.1f} {unit}" if value < 100 else f"{math.floor(value):,} {unit}"
    return f"{int(count)} bytes"
