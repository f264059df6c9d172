"""The model spec: Keras's own ``Sequential.get_config()`` dict, edited by pure functions.

A spec is exactly what ``keras.Sequential.get_config()`` returns, in JSON form (lists, not
tuples): ``{"name", "trainable", "dtype", "layers": [...], "build_input_shape"?}``. An
``InputLayer`` may come first; "body" indices count the layers after it. Every edit function
returns a new dict and leaves its input untouched; layer names stay unique (Keras style:
``dense``, ``dense_1`` ...). Edits drop the per-layer ``build_config`` entries, which describe
a build that an edit may have made stale; Keras rebuilds from the input shape.

``analyse`` works out, layer by layer, each output shape and parameter count (or an error that
names the layer, the parameter and the fix) without allocating any weights: layers are built
inside a Keras ``StatelessScope`` whose variables stay uninitialised. Results are cached per
(input shape, layer config), so after one edit only what changed is recomputed.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import keras

from engine import catalog as cat
from engine import overrides as ov
from engine.errors import SpecError

INPUT_LAYER = "InputLayer"
NO_INPUT_SHAPE = "No input shape: set it or pick a dataset."

# ------------------------------------------------------------------------------ reading


def _layers(spec: dict) -> list[dict]:
    layers = spec.get("layers") if isinstance(spec, dict) else None
    return layers if isinstance(layers, list) else []


def _offset(spec: dict) -> int:
    layers = _layers(spec)
    return 1 if layers and _class(layers[0]) == INPUT_LAYER else 0


def _class(entry: Any) -> str:
    return entry.get("class_name", "") if isinstance(entry, dict) else ""


def _name(entry: Any) -> str:
    config = entry.get("config") if isinstance(entry, dict) else None
    return str(config.get("name", "")) if isinstance(config, dict) else ""


def is_functional(spec: Any) -> bool:
    """True for a functional model's config (``keras.Model.get_config()`` with
    ``input_layers``): shown read-only, never edited as a stack (``engine.functional``)."""
    return isinstance(spec, dict) and "input_layers" in spec


def body(spec: dict) -> list[dict]:
    """The layers after an optional leading InputLayer (the entries themselves: don't mutate).
    A functional model has no stack: its body is empty."""
    if is_functional(spec):
        return []
    return list(_layers(spec)[_offset(spec) :])


def input_shape(spec: dict) -> tuple | None:
    """The input shape without the batch dimension, or None when the spec does not fix one.

    Read from the InputLayer's ``batch_shape`` or, failing that, ``build_input_shape``. A
    functional model: its one input's shape (None when it has several).
    """
    if is_functional(spec):
        from engine.functional import single_input_shape

        return single_input_shape(spec)
    layers = _layers(spec)
    shape = None
    if layers and _class(layers[0]) == INPUT_LAYER:
        config = layers[0].get("config", {})
        shape = config.get("batch_shape")
        if shape is None and config.get("shape") is not None:
            return tuple(config["shape"])
    if shape is None and isinstance(spec, dict):
        shape = spec.get("build_input_shape")
    if not isinstance(shape, list | tuple) or not shape:
        return None
    return tuple(shape[1:])


def _input_dtype(spec: dict) -> str:
    layers = _layers(spec)
    if layers and _class(layers[0]) == INPUT_LAYER:
        return cat.dtype_name(layers[0].get("config", {}).get("dtype")) or "float32"
    return "float32"


# ------------------------------------------------------------------------------ editing


_EMPTY_SPEC: dict | None = None


def new_spec(input_shape: tuple | None = None, name: str = "sequential") -> dict:
    """An empty Sequential config (as Keras writes it), with an InputLayer if a shape is given."""
    global _EMPTY_SPEC
    if _EMPTY_SPEC is None:
        _EMPTY_SPEC = cat.to_json(keras.Sequential(name="sequential").get_config())
    spec = copy.deepcopy(_EMPTY_SPEC)
    spec["name"] = name
    return set_input_shape(spec, input_shape) if input_shape is not None else spec


def _copy(spec: dict) -> dict:
    """A copy to edit (every edit function starts here): a functional model is refused."""
    if is_functional(spec):
        from engine.functional import refuse_edit

        raise refuse_edit()
    if not isinstance(spec, dict) or not isinstance(spec.get("layers", []), list):
        raise SpecError("The model is not a Keras Sequential config (no 'layers' list).")
    out = copy.deepcopy(spec)
    out.setdefault("layers", [])
    for entry in out["layers"]:
        _strip_build(entry)
    return out


def _strip_build(entry: Any) -> None:
    """Drop ``build_config`` from a layer dict and the layers nested in it (in place)."""
    if not isinstance(entry, dict):
        return
    entry.pop("build_config", None)
    config = entry.get("config")
    if isinstance(config, dict):
        for key in ("layer", "backward_layer"):
            _strip_build(config.get(key))


def set_input_shape(spec: dict, shape: tuple | list | None) -> dict:
    """Add, update or (shape None) remove the leading InputLayer and ``build_input_shape``."""
    out = _copy(spec)
    layers = out["layers"]
    has_input = bool(layers) and _class(layers[0]) == INPUT_LAYER
    if shape is None:
        if has_input:
            layers.pop(0)
        out.pop("build_input_shape", None)
        return out
    shape = tuple(shape)
    p = cat.layer_info(INPUT_LAYER).param("batch_shape")
    problem = cat.check_value(p, [None, *shape])
    if problem or not shape:
        raise SpecError(
            f"Input shape {shape} is not valid: sizes must be whole numbers ≥ 1 (None = any).",
            field="input_shape",
        )
    old = layers[0]["config"] if has_input else {}
    taken = {_name(e) for e in layers[1 if has_input else 0 :]}
    name = old.get("name") or _unique_name("input_layer", taken)
    layer = keras.layers.InputLayer(
        batch_shape=(None, *shape), dtype=cat.dtype_name(old.get("dtype")) or None, name=name
    )
    entry = cat.to_json(keras.layers.serialize(layer))
    if has_input:
        layers[0] = entry
    else:
        layers.insert(0, entry)
    out["build_input_shape"] = [None, *shape]
    return out


_SUFFIX = re.compile(r"^(.*)_(\d+)$")


def _unique_name(wanted: str, taken: set[str]) -> str:
    if wanted not in taken:
        return wanted
    match = _SUFFIX.match(wanted)
    base = match.group(1) if match else wanted
    n = 1
    while f"{base}_{n}" in taken:
        n += 1
    return f"{base}_{n}"


def _taken_names(spec: dict, skip: int | None = None) -> set[str]:
    return {_name(e) for i, e in enumerate(_layers(spec)) if i != skip}


def _body_index(spec: dict, index: int, *, allow_end: bool = False) -> int:
    count = len(_layers(spec)) - _offset(spec)
    top = count if allow_end else count - 1
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index <= top:
        where = f"0…{top}" if top >= 0 else "none (the stack is empty)"
        raise SpecError(f"Layer position {index} is out of range: valid positions are {where}.")
    return index + _offset(spec)


def _checked_entry(entry: Any) -> dict:
    """A copy of a layer dict, checked against the catalog; SpecError if not acceptable."""
    if isinstance(entry, str):
        return cat.default_layer_entry(entry)
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise SpecError(f"A layer must be a Keras layer dict with a 'config', got {entry!r}.")
    entry = copy.deepcopy(entry)
    _strip_build(entry)
    cat.layer_info(_class(entry))
    problem = _entry_problem(entry)
    if problem:
        raise SpecError(problem[0], field=f"config.{problem[1]}" if problem[1] else None)
    return entry


def insert_layer(spec: dict, index: int, layer: str | dict) -> dict:
    """Insert a layer (a class name -> its default entry, or a layer dict) at body ``index``."""
    if (layer if isinstance(layer, str) else _class(layer)) == INPUT_LAYER:
        raise SpecError(
            "The Input layer is not part of the stack.", fix="Set the input shape instead."
        )
    out = _copy(spec)
    position = _body_index(out, index, allow_end=True)
    entry = _checked_entry(layer)
    # A new layer is named from its class, not Keras's process-wide counter, so names in a
    # project never depend on what was built before (dense, dense_1, … in every document).
    wanted = _class_base_name(_class(entry)) if isinstance(layer, str) else _name(entry)
    entry["config"]["name"] = _unique_name(wanted or "layer", _taken_names(out))
    out["layers"].insert(position, entry)
    return out


def _class_base_name(class_name: str) -> str:
    """Keras's own base name for a class (``Conv2D`` → ``conv2d``), without a counter."""
    from keras.src.utils.naming import to_snake_case

    return to_snake_case(class_name)


def remove_layer(spec: dict, index: int) -> dict:
    """Remove the layer at body ``index``."""
    out = _copy(spec)
    out["layers"].pop(_body_index(out, index))
    return out


def move_layer(spec: dict, src: int, dst: int) -> dict:
    """Move the layer at body index ``src`` so that it ends up at body index ``dst``."""
    out = _copy(spec)
    entry = out["layers"].pop(_body_index(out, src))
    out["layers"].insert(_body_index(out, dst, allow_end=True), entry)
    return out


def duplicate_layer(spec: dict, index: int) -> dict:
    """Insert a copy of the layer at body ``index`` right after it, with a fresh name."""
    out = _copy(spec)
    position = _body_index(out, index)
    entry = copy.deepcopy(out["layers"][position])
    entry["config"]["name"] = _unique_name(_name(entry), _taken_names(out))
    out["layers"].insert(position + 1, entry)
    return out


def replace_layer(spec: dict, index: int, entry: str | dict) -> dict:
    """Replace the layer at body ``index`` (keeping its name unless the new one is free)."""
    out = _copy(spec)
    position = _body_index(out, index)
    new = _checked_entry(entry)
    if isinstance(entry, str):
        new["config"]["name"] = _name(out["layers"][position])
    new["config"]["name"] = _unique_name(_name(new), _taken_names(out, skip=position))
    out["layers"][position] = new
    return out


def _label(entry: dict) -> str:
    return f"{_class(entry)} '{_name(entry)}'"


def set_param(spec: dict, index: int, name: str, value: Any) -> dict:
    """Set one parameter of the layer at body ``index``; the value is checked and canonicalised.

    ``name`` may also be "name" (rename; must be unique). Values may be given in editor form
    (an initializer or dtype name, a tuple, an int for a kernel size); the stored value is what
    the layer's ``get_config()`` holds. SpecError names the layer, the parameter and the fix.
    """
    out = _copy(spec)
    position = _body_index(out, index)
    entry = out["layers"][position]
    field = f"layers[{position}].config.{name}"
    if name == "name":
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]+", value or ""):
            raise SpecError(
                f"{_label(entry)}: a name must be letters, digits, '_', '.' or '-'; got {value!r}.",
                field=field,
            )
        if value in _taken_names(out, skip=position):
            raise SpecError(
                f"{_label(entry)}: the name '{value}' is already used by another layer.",
                field=field,
                fix="Pick a name no other layer has.",
            )
        entry["config"]["name"] = value
        return out
    info = cat.layer_info(_class(entry))
    try:
        p = info.param(name)
    except SpecError as error:
        raise SpecError(f"{_label(entry)}: {error.message}", field=field) from None
    problem = cat.check_value(p, value)
    if problem:
        raise SpecError(f"{_label(entry)}: {name} {problem}.", field=field)
    config = entry["config"]
    config[name] = cat.normalize_value(p, value)
    if p.kind == "layer":
        config.pop("backward_layer", None)
    out["layers"][position] = _canonical(entry, field=field)
    return out


def _canonical(entry: dict, *, field: str | None = None) -> dict:
    """The entry as Keras serializes it after instantiating it; SpecError if Keras refuses."""
    try:
        layer = keras.layers.deserialize(copy.deepcopy(entry))
        return cat.to_json(keras.layers.serialize(layer))
    except Exception as error:
        raise SpecError(f"{_label(entry)}: {clean_message(error)}", field=field) from None


# --------------------------------------------------------------------------- validation


def _entry_problem(entry: Any, path: str = "") -> tuple[str, str | None] | None:
    """(message, parameter) for the first thing wrong in a layer dict, or None."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        where = path.rstrip(".") or repr(entry)
        return f"The entry {where} is not a Keras layer dict with a 'config'", None
    class_name = _class(entry)
    if class_name not in cat.allowed_class_names():
        try:
            cat.layer_info(class_name)
        except SpecError as error:
            return error.message.rstrip("."), None
    module = entry.get("module")
    if module is not None and module != "keras.layers":
        return f"{_label(entry)}: module '{module}' is not allowed (only keras.layers)", None
    info = cat.layer_info(class_name)
    config = entry["config"]
    for p in info.params:
        if p.name not in config:
            continue
        problem = cat.check_value(p, config[p.name])
        if problem:
            return f"{_label(entry)}: {p.name} {problem}", p.name
        if p.kind == "layer":
            inner = _entry_problem(config[p.name], f"{path}{p.name}.")
            if inner:
                return inner
    for key in ("backward_layer",):
        if key in config and config[key] is not None:
            inner = _entry_problem(config[key], f"{path}{key}.")
            if inner:
                return inner
    return None


def validate_spec(spec: dict) -> None:
    """Raise SpecError for the first problem: not a Sequential config, an unknown layer class
    (not in the catalog's allowlist), a bad value ("Dense 'dense': units must be ≥ 1, got -3"),
    a duplicate name, or a layer Keras refuses to create. ``field`` names the place.
    A functional config (``is_functional``) is checked against the model-file allowlist,
    its catalog layers' values and its connections (``engine.functional.validate``)."""
    if is_functional(spec):
        from engine.functional import validate

        validate(spec)
        return
    if not isinstance(spec, dict) or not isinstance(spec.get("layers"), list):
        raise SpecError("The model is not a Keras Sequential config (no 'layers' list).")
    names: set[str] = set()
    for i, entry in enumerate(spec["layers"]):
        problem = _entry_problem(entry, f"layers[{i}].")
        if problem:
            field = f"layers[{i}].config.{problem[1]}" if problem[1] else f"layers[{i}]"
            raise SpecError(problem[0] + ".", field=field)
        if _class(entry) == INPUT_LAYER and i != 0:
            raise SpecError(
                f"An InputLayer may only come first, found one at position {i}.",
                field=f"layers[{i}]",
            )
        name = _name(entry)
        if name in names:
            raise SpecError(
                f"Two layers are named '{name}': layer names must be unique.",
                field=f"layers[{i}].config.name",
            )
        names.add(name)
        try:
            _instance(json.dumps(_probe_entry(entry), sort_keys=True))
        except Exception as error:
            raise SpecError(
                f"{_label(entry)}: {clean_message(error)}", field=f"layers[{i}]"
            ) from None


# ----------------------------------------------------------------------------- building


def build_model(spec: dict, input_shape: tuple | None = None) -> keras.Model:
    """``keras.Sequential.from_config`` of the (validated) spec; built when a shape is known.

    ``input_shape`` (without the batch dimension) replaces the spec's own, e.g. the dataset's.
    Raises SpecError naming the failing layer when Keras cannot build it. A functional config
    is built with ``keras.Model.from_config``; its input is not rewritten: an ``input_shape``
    that does not fit it is a SpecError saying so.
    """
    if is_functional(spec):
        from engine.functional import build

        return build(spec, input_shape)
    validate_spec(spec)
    config = set_input_shape(spec, input_shape) if input_shape is not None else _copy(spec)
    from engine.memory import check_fits

    check_fits(config)  # a model too big for this machine: a message, not an OOM
    try:
        # Keras pops keys from the config it is given (wrappers): give it a copy.
        return keras.Sequential.from_config(copy.deepcopy(config))
    except Exception as error:
        analysis = analyse(config)
        message = analysis.error or clean_message(error)
        index = analysis.error_index
        field = f"layers[{index + _offset(config)}]" if index is not None else None
        raise SpecError(f"Cannot build the model: {message}", field=field) from None


def spec_from_model(model: Any) -> dict:
    """The spec of a Keras Sequential model (its ``get_config()`` in JSON form)."""
    if not isinstance(model, keras.Sequential):
        raise SpecError(
            f"'{getattr(model, 'name', model)}' is a {type(model).__name__} model, not a "
            "Sequential stack: it can be summarised, evaluated and exported, not edited as a stack."
        )
    return cat.to_json(model.get_config())


# ----------------------------------------------------------------------------- analysis


@dataclass
class LayerAnalysis:
    """What one body layer gives: output shape and parameters, or the error that stops it."""

    index: int
    name: str
    class_name: str
    output_shape: tuple | None
    params: int | None
    trainable_params: int | None
    error: str | None = None


@dataclass
class Analysis:
    """Per-layer results and totals (equal to ``model.summary()``'s) for a spec."""

    layers: list[LayerAnalysis] = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0
    non_trainable_params: int = 0
    error: str | None = None
    error_index: int | None = None
    # A functional model: no per-layer rows (see engine.functional); its output shapes.
    functional: bool = False
    output_shapes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def clean_message(error: BaseException | str) -> str:
    """A Keras/TensorFlow message as one plain line: no ANSI escapes, tracebacks or arg dumps."""
    text = error if isinstance(error, str) else (str(error) or type(error).__name__)
    text = _ANSI.sub("", text)
    if "could not be deserialized" in text and "Exception encountered:" in text:
        # Keras wraps the layer's own complaint in a page about from_config: keep the complaint.
        text = text.rsplit("Exception encountered:", 1)[1]
    for marker in (
        "Traceback (most recent call last)",
        "Arguments received by",
        "Call arguments received",
        "Received: inputs=",
        "Full object config:",
    ):
        text = text.split(marker, 1)[0]
    text = re.sub(r"\s+", " ", text).strip().rstrip(":")
    if len(text) > 300:
        text = text[:299].rsplit(" ", 1)[0] + "…"
    return text


def _fmt_shape(shape: tuple) -> str:
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + ("," if len(shape) == 1 else "")
        + ")"
    )


def _probe_entry(entry: dict) -> dict:
    """The entry with what does not affect shapes or counts (names, build state) normalised."""
    entry = copy.deepcopy(entry)
    _strip_build(entry)
    entry["config"]["name"] = "probe"
    return entry


@contextlib.contextmanager
def _shape_only_scope() -> Iterator[None]:
    """Create Keras variables with shapes but no memory; forget them afterwards.

    Variables made inside ``StatelessScope(initialize_variables=False)`` are registered in a
    per-thread list of uninitialised variables that Keras would fill at the next scope exit;
    restore that list so nothing of ours is ever initialised or kept alive.
    """
    from keras.src.backend.common import global_state

    key = "uninitialized_variables"
    saved = global_state.get_global_attribute(key)
    global_state.set_global_attribute(key, [])
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        global_state.set_global_attribute(key, saved)


def _instance(entry_json: str) -> keras.layers.Layer:
    with _shape_only_scope():
        return keras.layers.deserialize(json.loads(entry_json))


def _count(weights: list) -> int:
    return sum(math.prod(int(d) for d in w.shape) for w in weights)


@dataclass(frozen=True)
class _Outcome:
    shape: tuple | None = None
    params: int = 0
    trainable: int = 0
    # On failure: what kind of failure, and the details to word the message with.
    failure: str | None = None
    detail: tuple = ()


_CACHE: OrderedDict[tuple, _Outcome] = OrderedDict()
_CACHE_SIZE = 4096
_LOCK = threading.Lock()


def _expected_rank(layer: keras.layers.Layer) -> tuple[int | None, int | None]:
    specs = layer.input_spec
    if isinstance(specs, list | tuple):
        specs = specs[0] if specs else None
    if specs is None:
        return None, None
    if specs.ndim is not None:
        return specs.ndim, specs.ndim
    return specs.min_ndim, specs.max_ndim


def _run_layer(entry_json: str, in_shape: tuple, dtype: str) -> _Outcome:
    """Build one layer on a symbolic input of ``in_shape`` (batch axis included)."""
    entry = json.loads(entry_json)
    class_name = _class(entry)
    config = entry["config"]
    with _shape_only_scope():
        try:
            layer = keras.layers.deserialize(entry)
        except Exception as error:
            return _Outcome(failure="create", detail=(clean_message(error),))
        pre = _precheck(class_name, config, in_shape[1:])
        if pre:
            return pre
        low, high = _expected_rank(layer)
        if ov.LAYER_CATEGORY.get(class_name) == "Convolution":
            high = low  # Keras convolutions take no extra batch axes, whatever min_ndim says
        rank = len(in_shape)
        if (low is not None and rank < low) or (high is not None and rank > high):
            return _Outcome(failure="rank", detail=(low, high))
        shape, touched = _shape_by_build(layer, in_shape)
        if shape is None:  # no shortcut, or it failed: let a symbolic call decide
            if touched:
                layer = keras.layers.deserialize(json.loads(entry_json))
            try:
                out = layer(keras.KerasTensor(in_shape, dtype=dtype))
            except Exception as error:
                return _Outcome(failure="call", detail=(clean_message(error),))
            if not hasattr(out, "shape"):
                return _Outcome(failure="call", detail=("the layer gives more than one output",))
            shape = tuple(out.shape)
        return _Outcome(
            shape=tuple(None if d is None else int(d) for d in shape),
            params=_count(layer.weights),
            trainable=_count(layer.trainable_weights),
        )


def _shape_by_build(layer: keras.layers.Layer, in_shape: tuple) -> tuple[tuple | None, bool]:
    """(output shape, whether the layer was touched) via ``build`` + ``compute_output_shape``,
    a third cheaper than a symbolic call. The shape is None where the layer has no such
    shortcut or it fails; a touched layer must then be made afresh."""
    from keras.src.layers.layer import might_have_unbuilt_state
    from keras.src.utils.python_utils import is_default

    if is_default(layer.compute_output_shape):
        return None, False
    try:
        if not is_default(layer.build):
            layer.build(in_shape)
        elif might_have_unbuilt_state(layer):
            return None, False
        shape = layer.compute_output_shape(in_shape)
    except Exception:
        return None, True
    if not isinstance(shape, tuple | list) or not all(
        d is None or isinstance(d, int) for d in shape
    ):
        return None, True
    return tuple(shape), True


def _precheck(class_name: str, config: dict, in_shape: tuple) -> _Outcome | None:
    """Shape problems Keras words poorly, found before calling the layer."""
    if class_name == "Reshape" and None not in in_shape:
        target = list(config.get("target_shape") or [])
        total = math.prod(in_shape)
        known = math.prod(d for d in target if d != -1)
        if (-1 not in target and known != total) or (-1 in target and total % known):
            return _Outcome(failure="reshape", detail=(tuple(target), total))
    if class_name == "Permute":
        dims = list(config.get("dims") or [])
        if sorted(dims) != list(range(1, len(in_shape) + 1)):
            return _Outcome(failure="permute", detail=(tuple(dims), len(in_shape)))
    return None


def _analyse_layer(entry: dict, in_shape: tuple, dtype: str) -> _Outcome:
    entry_json = json.dumps(_probe_entry(entry), sort_keys=True)
    # A digest keeps the cache small (configs run to kilobytes); SHA-256 makes clashes moot.
    key = (in_shape, dtype, hashlib.sha256(entry_json.encode()).digest())
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    outcome = _run_layer(entry_json, in_shape, dtype)
    with _LOCK:
        _CACHE[key] = outcome
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return outcome


def _axes(rank: int, config: dict) -> str:
    axes = ov.AXES_BY_RANK.get(rank, "")
    if axes and config.get("data_format") == "channels_first" and rank >= 3:
        parts = axes.strip("()").split(", ")
        parts = [parts[0], parts[-1], *parts[1:-1]]
        axes = "(" + ", ".join(parts) + ")"
    return f" {axes}" if axes else ""


def _rank_fix(expected: int, got: tuple) -> str:
    """How to get from ``got`` (batch axis included) to a rank-``expected`` input."""
    rank = len(got)
    dims = list(got[1:])
    if rank < expected:
        if None in dims:
            return "add a Reshape before it"
        total = math.prod(dims)
        side = math.isqrt(total)
        if expected == 3:
            return f"add a Reshape before it (e.g. target_shape ({total}, 1)) or an Embedding"
        if expected == 4 and side * side == total:
            return f"add a Reshape before it (e.g. target_shape ({side}, {side}, 1))"
        if expected == 4 and rank == 3:
            return f"add a Reshape before it (e.g. target_shape ({', '.join(map(str, dims))}, 1))"
        return "add a Reshape before it"
    if expected == 2:
        return "add a Flatten or a global pooling layer before it"
    if expected == 3 and rank == 4 and None not in dims[1:]:
        return (
            f"add a Reshape before it (e.g. target_shape ({dims[0] or -1}, {dims[1] * dims[2]})) "
            "or a TimeDistributed(Flatten)"
        )
    return "add a Reshape, Flatten or global pooling layer before it"


def _message(entry: dict, outcome: _Outcome, prev: dict | None, in_shape: tuple) -> str:
    label = _label(entry)
    config = entry.get("config", {})
    full = in_shape
    if prev is None:
        gives = f"the input is {_fmt_shape(full)}"
    else:
        gives = f"{_label(prev)} gives {_fmt_shape(full)}"
    kind = outcome.failure
    if kind == "rank":
        low, high = outcome.detail
        rank = len(full)
        expected = low if (low is not None and rank < low) else high
        exact = low == high or (cat.layer_info(_class(entry)).category == "Convolution")
        need = (
            f"{expected}-D"
            if exact
            else (f"at least {low}-D" if rank < low else f"at most {high}-D")
        )
        fix = _rank_fix(expected, in_shape)
        if (
            prev is not None
            and expected == 3
            and rank == 2
            and _recurrent_config(prev).get("return_sequences") is False
        ):
            fix = f"turn on return_sequences in {_label(prev)}"
        return f"{label} expects {need} input{_axes(expected, config)} but {gives}: {fix}."
    if kind == "reshape":
        target, total = outcome.detail
        return (
            f"{label}: target_shape {_fmt_shape(target)} does not fit its input: {gives}, "
            f"which holds {total} values per sample: change target_shape so its sizes multiply "
            f"to {total} (one entry may be -1)."
        )
    if kind == "permute":
        dims, rank = outcome.detail
        order = ", ".join(str(i) for i in range(1, rank + 1))
        return (
            f"{label}: dims {_fmt_shape(dims)} must reorder the axes {order} of its input "
            f"({gives}): use each of {order} once."
        )
    text = outcome.detail[0] if outcome.detail else "Keras refused this layer"
    if kind == "create":
        return f"{label}: Keras cannot create this layer: {text}."
    lowered = text.lower()
    if "negative" in lowered or "non-positive" in lowered or "must be > 0" in lowered:
        param = next(
            (p for p in ("pool_size", "kernel_size", "cropping", "size") if p in config), None
        )
        if param:
            p = cat.layer_info(_class(entry)).param(param)
            what = f"{param} {cat.format_value(p, config.get(param))}"
        else:
            what = "its window"
        fix = "use padding 'same'" if "padding" in config else "crop less"
        return (
            f"{label}: {what} does not fit its input ({gives}): {fix}, choose a smaller "
            f"{param or 'window'}, or remove a pooling layer before it."
        )
    return f"{label} cannot take its input ({gives}): {text.rstrip('.')}."


def _recurrent_config(entry: dict) -> dict:
    """The config of a recurrent layer (or the one a Bidirectional wraps); {} otherwise."""
    config = entry.get("config", {})
    if _class(entry) == "Bidirectional":
        config = config.get("layer", {}).get("config", {})
        return config
    return config if _class(entry) in ov.RECURRENT_LAYERS else {}


def analyse(
    spec: dict, input_shape: tuple | None = None, target_shape: tuple | None = None
) -> Analysis:
    """Output shape and parameter count per body layer, totals, and the first error.

    ``input_shape`` (no batch dimension) overrides the spec's own. ``target_shape`` is one
    example's label shape as the dataset holds it (``()`` for one number or class index per
    example, ``(k,)`` for one-hot or several targets); when given, an output whose shape cannot
    match it (a sequence ``(None, 40, 1)`` against one number per example) is an error on the
    last layer. Never raises: every problem is reported in ``Analysis.error`` (and
    ``error_index``, a body index, when a layer is to blame); layers after a failing one get no
    shape or counts.
    """
    try:
        if is_functional(spec):
            from engine.functional import analyse as analyse_functional

            return analyse_functional(spec, input_shape)
        result = _analyse(spec, input_shape)
        if target_shape is not None and result.error is None:
            _check_target(spec, result, tuple(target_shape))
        return result
    except Exception as error:  # the contract: never raise
        return Analysis(error=f"The model cannot be analysed: {clean_message(error)}.")


def _check_target(spec: dict, result: Analysis, target: tuple) -> None:
    """Flag a final output shape that the labels (one example: ``target``) cannot match."""
    if not result.layers or result.layers[-1].output_shape is None:
        return
    last = result.layers[-1]
    out = tuple(last.output_shape[1:])
    if not target:
        fits = len(out) == 1
        shape_text = "(None, n)"
        wanted = f"{shape_text} (one number, or one score per class, for each example)"
    else:
        fits = len(out) == len(target) and all(
            a is None or b is None or a == b for a, b in zip(out, target, strict=True)
        )
        shape_text = _fmt_shape((None, *target))
        wanted = shape_text
    if fits:
        return
    layers = body(spec)
    label = _label(layers[-1])
    if len(out) > max(len(target), 1):
        recurrent = next(
            (e for e in reversed(layers) if _recurrent_config(e).get("return_sequences")), None
        )
        fix = (
            f"add a Flatten or GlobalAveragePooling1D before {label}"
            if len(out) == 2
            else f"add a Flatten or global pooling layer before {label}"
        )
        if recurrent is not None:
            fix += f", or turn off return_sequences in {_label(recurrent)}"
        fix += " (Suggest does this for you)"
    else:
        fix = f"make {label} give {shape_text}"
    result.error = (
        f"The last layer, {label}, gives {_fmt_shape(last.output_shape)} but the labels need "
        f"{wanted}: {fix}."
    )
    last.error = result.error
    result.error_index = last.index


def _analyse(spec: dict, shape_override: tuple | None) -> Analysis:
    result = Analysis()
    if not isinstance(spec, dict) or not isinstance(spec.get("layers"), list):
        result.error = "The model is not a Keras Sequential config (no 'layers' list)."
        return result
    layers = body(spec)
    shape = tuple(shape_override) if shape_override is not None else input_shape(spec)
    shape = (None, *shape) if shape is not None else None  # from here on: batch axis included
    dtype = _input_dtype(spec)
    failed = False
    prev: dict | None = None
    for i, entry in enumerate(layers):
        row = LayerAnalysis(i, _name(entry), _class(entry), None, None, None)
        result.layers.append(row)
        if failed:
            continue
        problem = _entry_problem(entry)
        if problem:
            row.error = problem[0] + "."
        elif row.class_name == INPUT_LAYER:
            row.error = f"{_label(entry)}: an InputLayer may only come first in the stack."
        elif shape is None:
            continue
        else:
            outcome = _analyse_layer(entry, shape, dtype)
            if outcome.failure:
                row.error = _message(entry, outcome, prev, shape)
            else:
                row.output_shape = outcome.shape
                row.params = outcome.params
                row.trainable_params = outcome.trainable
                result.total_params += outcome.params
                result.trainable_params += outcome.trainable
                shape = outcome.shape
                prev = entry
        if row.error:
            failed = True
            result.error, result.error_index = row.error, i
    result.non_trainable_params = result.total_params - result.trainable_params
    if shape is None and result.error is None:
        result.error = NO_INPUT_SHAPE
    return result
