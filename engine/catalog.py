"""The layer catalog: what each offered Keras layer takes, read from Keras itself.

For every layer named in ``engine.overrides.LAYER_CATEGORY`` the catalog instantiates the Keras
class once (with the override defaults for required arguments), reads ``inspect.signature`` for
the argument names, the docstring's ``Args:`` section for one-line help, and ``get_config()`` for
the defaults, exactly as Keras serializes them. ``engine.overrides`` adds only what that cannot
tell: choices, ranges, categories, which parameters are advanced, and row-label keys.

Values everywhere are JSON values as they appear in a layer's ``get_config()`` after a JSON
round trip (tuples become lists); initializers, regularizers and constraints are Keras's
serialized dicts. Helpers convert them to and from the names the editors show.
"""

from __future__ import annotations

import copy
import difflib
import functools
import inspect
import json
import math
import re
from typing import Any

import keras

from engine import overrides as ov
from engine.errors import SpecError
from engine.layer_info import LayerInfo, ParamInfo

KINDS = (
    "int",
    "float",
    "bool",
    "choice",
    "str",
    "int_tuple",
    "float_tuple",
    "shape",
    "activation",
    "initializer",
    "regularizer",
    "constraint",
    "layer",
    "dtype",
)


def to_json(value: Any) -> Any:
    """``value`` as it reads after ``json.loads(json.dumps(value))`` (tuples become lists)."""
    return json.loads(json.dumps(value))


# ---------------------------------------------------------------------------- choice lists


@functools.cache
def activation_names() -> tuple[str, ...]:
    """Names of the activations in ``keras.activations`` usable by name alone."""
    names = []
    for name in dir(keras.activations):
        if name.startswith("_") or name in ("get", "serialize", "deserialize"):
            continue
        fn = getattr(keras.activations, name)
        if not callable(fn) or inspect.isclass(fn) or name in ov.EXCLUDED_ACTIVATIONS:
            continue
        params = list(inspect.signature(fn).parameters.values())[1:]
        if any(p.default is inspect.Parameter.empty for p in params):
            continue
        names.append(name)
    names.sort(key=lambda n: (n != "linear", n))
    return tuple(names)


@functools.cache
def initializer_names() -> tuple[str, ...]:
    """Snake-case initializer names from ``keras.initializers`` that work without arguments."""
    names = []
    for name in dir(keras.initializers):
        if not name.islower() or name.startswith("_") or name in ov.EXCLUDED_INITIALIZERS:
            continue
        if name in ("get", "serialize", "deserialize"):
            continue
        try:
            obj = keras.initializers.get(name)
        except (ValueError, TypeError):
            continue
        if isinstance(obj, keras.initializers.Initializer):
            names.append(name)
    return tuple(sorted(names))


def initializer_value(name: str) -> dict:
    """The serialized Keras initializer for ``name`` (e.g. "he_normal")."""
    if name not in initializer_names():
        raise SpecError(
            f"Unknown initializer '{name}'.",
            fix=f"Use one of: {', '.join(initializer_names())}.",
        )
    return to_json(keras.initializers.serialize(keras.initializers.get(name)))


def initializer_name(value: Any) -> str | None:
    """The editor name of a serialized initializer (or a name), None if it is not one."""
    if isinstance(value, str):
        return _snake(value) if _snake(value) in initializer_names() else None
    if isinstance(value, dict) and isinstance(value.get("class_name"), str):
        name = _snake(value["class_name"])
        aliases = {"orthogonal_initializer": "orthogonal", "identity_initializer": "identity"}
        return aliases.get(name, name)
    return None


_REGULARIZER_CLASSES = {"l1": "L1", "l2": "L2", "l1_l2": "L1L2"}


def regularizer_value(kind: str | None, l1: float = 0.0, l2: float = 0.0) -> dict | None:
    """Serialized Keras regularizer: kind None/"l1"/"l2"/"l1_l2" with its factors."""
    if kind is None:
        return None
    if kind == "l1":
        reg = keras.regularizers.L1(l1)
    elif kind == "l2":
        reg = keras.regularizers.L2(l2)
    elif kind == "l1_l2":
        reg = keras.regularizers.L1L2(l1=l1, l2=l2)
    else:
        raise SpecError(f"Unknown regularizer '{kind}'.", fix="Use none, l1, l2 or l1_l2.")
    return to_json(keras.regularizers.serialize(reg))


def regularizer_parts(value: Any) -> tuple[str | None, float, float]:
    """(kind, l1, l2) of a serialized regularizer; (None, 0.0, 0.0) for None."""
    if value is None:
        return None, 0.0, 0.0
    if isinstance(value, str):
        value = to_json(keras.regularizers.serialize(keras.regularizers.get(value)))
    cls = value.get("class_name") if isinstance(value, dict) else None
    cfg = value.get("config", {}) if isinstance(value, dict) else {}
    kinds = {v: k for k, v in _REGULARIZER_CLASSES.items()}
    if cls not in kinds:
        raise SpecError(f"Unsupported regularizer {value!r}.", fix="Use l1, l2 or l1_l2.")
    return kinds[cls], float(cfg.get("l1", 0.0) or 0.0), float(cfg.get("l2", 0.0) or 0.0)


def constraint_value(name: str | None) -> dict | None:
    """Serialized Keras constraint for ``name`` ("max_norm", "non_neg" ...), None for none."""
    if name is None:
        return None
    if name not in ov.CONSTRAINTS:
        names = ", ".join(str(c) for c in ov.CONSTRAINTS if c)
        raise SpecError(f"Unknown constraint '{name}'.", fix=f"Use one of: {names}.")
    return to_json(keras.constraints.serialize(keras.constraints.get(name)))


def constraint_name(value: Any) -> str | None:
    """The editor name of a serialized constraint; None for no constraint."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return _snake(value.get("class_name", "")) if isinstance(value, dict) else None


def dtype_value(name: str) -> dict:
    """Serialized Keras dtype policy for ``name`` ("float32", "mixed_float16" ...)."""
    return to_json(keras.dtype_policies.serialize(keras.dtype_policies.get(name)))


def dtype_name(value: Any) -> str | None:
    """The policy name of a layer's ``dtype`` config value (a string or a policy dict)."""
    if isinstance(value, str) or value is None:
        return value
    if isinstance(value, dict):
        return value.get("config", {}).get("name")
    return None


def _snake(class_name: str) -> str:
    from keras.src.utils.naming import to_snake_case

    return to_snake_case(class_name)


def default_name(class_name: str) -> str:
    """Keras's default layer name for a class ("Conv2D" -> "conv2d")."""
    return _snake(class_name)


# ------------------------------------------------------------------------- docstrings


_ARG_LINE = re.compile(r"^(\s*)([A-Za-z_][A-Za-z0-9_]*)(?:\s*\([^)]*\))?:\s*(.*)$")


def parse_args_doc(doc: str | None) -> dict[str, str]:
    """One-line help per argument from a Google-style docstring's ``Args:`` section."""
    if not doc:
        return {}
    lines = inspect.cleandoc(doc).splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() in ("Args:", "Arguments:"))
    except StopIteration:
        return {}
    found: dict[str, list[str]] = {}
    indent = None
    current = None
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        width = len(line) - len(line.lstrip())
        if width == 0:
            break
        match = _ARG_LINE.match(line)
        if match and (indent is None or width == indent):
            indent = width
            current = match.group(2)
            found[current] = [match.group(3)]
        elif current is not None and indent is not None and width > indent:
            found[current].append(line.strip())
        elif indent is not None and width < indent:
            break
    return {name: _one_line(" ".join(parts)) for name, parts in found.items()}


def _one_line(text: str, limit: int = 140) -> str:
    text = re.sub(r"\s+", " ", text).strip().replace("`", "")
    sentences = re.split(r"(?<=[.!?])\s(?=[A-Z(\"])", text)
    sentence = sentences[0]
    # "Integer." or "Boolean (default False)." alone says little: add the next sentence.
    if len(sentence) < 30 and len(sentences) > 1:
        sentence = f"{sentence} {sentences[1]}"
    if len(sentence) > limit:
        sentence = sentence[: limit - 1].rsplit(" ", 1)[0] + "…"
    return sentence


def _description(cls: type) -> str:
    doc = inspect.cleandoc(cls.__doc__ or "")
    first = doc.split("\n\n", 1)[0] if doc else cls.__name__
    return _one_line(first, limit=160)


# --------------------------------------------------------------------- building the catalog


def _required_default(class_name: str, arg: str) -> Any:
    per_layer = ov.REQUIRED_DEFAULTS_BY_LAYER.get(class_name, {})
    if arg in per_layer:
        return per_layer[arg]
    if arg in ov.REQUIRED_DEFAULTS:
        return ov.REQUIRED_DEFAULTS[arg]
    raise LookupError(f"engine.overrides has no default for {class_name}({arg}=...)")


def _required_args(cls: type) -> list[str]:
    sig = inspect.signature(cls.__init__)
    return [
        name
        for name, p in sig.parameters.items()
        if name != "self"
        and p.default is inspect.Parameter.empty
        and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]


def _instantiate_default(class_name: str, name: str) -> keras.layers.Layer:
    cls = getattr(keras.layers, class_name)
    kwargs: dict[str, Any] = {}
    for arg in _required_args(cls):
        value = _required_default(class_name, arg)
        if arg == "layer":
            value = _instantiate_default(str(value), default_name(str(value)))
        kwargs[arg] = value
    if class_name == "InputLayer" and "shape" not in kwargs:
        kwargs["shape"] = _required_default(class_name, "shape")
    return cls(name=name, **kwargs)


@functools.cache
def _default_entry(class_name: str) -> dict:
    layer = _instantiate_default(class_name, default_name(class_name))
    return to_json(keras.layers.serialize(layer))


def _kind(class_name: str, name: str, default: Any) -> str:
    by_layer = ov.KIND_BY_LAYER.get(class_name, {})
    if name in by_layer:
        return by_layer[name]
    if name == "activation" or name.endswith("_activation"):
        return "activation"
    for suffix in ("initializer", "regularizer", "constraint"):
        if name.endswith("_" + suffix):
            return suffix
    if name in ov.KIND_BY_NAME:
        return ov.KIND_BY_NAME[name]
    if name in ov.CHOICES:
        return "choice"
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, str):
        return "str"
    if isinstance(default, list) and all(isinstance(v, int) for v in default):
        return "int_tuple"
    raise LookupError(f"engine.overrides does not say what kind {class_name}.{name} is")


def _choices(class_name: str, name: str, kind: str, default: Any) -> tuple | None:
    if kind == "activation":
        return activation_names()
    if kind == "initializer":
        return initializer_names()
    if kind == "regularizer":
        return ov.REGULARIZERS
    if kind == "constraint":
        return ov.CONSTRAINTS
    if kind == "dtype":
        return ov.INPUT_DTYPES if class_name == "InputLayer" else ov.DTYPES
    if kind == "layer":
        if class_name == "Bidirectional":
            return ov.RECURRENT_LAYERS
        return tuple(
            n for n in ov.LAYER_CATEGORY if n not in ov.WRAPPERS and n not in ("InputLayer",)
        )
    if kind == "choice":
        choices = ov.CHOICES_BY_LAYER.get(class_name, {}).get(name) or ov.CHOICES.get(name, ())
        if default not in choices:
            choices = (*choices, default)
        return tuple(choices)
    return None


def _range(class_name: str, name: str) -> tuple[float | None, float | None]:
    per_layer = ov.RANGES_BY_LAYER.get(class_name, {})
    if name in per_layer:
        return per_layer[name]
    return ov.RANGES.get(name, (None, None))


def _param_names(class_name: str, config: dict) -> list[str]:
    cls = getattr(keras.layers, class_name)
    names = [
        n
        for n, p in inspect.signature(cls.__init__).parameters.items()
        if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]
    if class_name == "InputLayer":
        names.append("batch_shape")
    names += ["activity_regularizer", "trainable", "dtype"]
    seen: list[str] = []
    for n in names:
        if n in config and n not in ov.EXCLUDED_PARAMS and n not in seen:
            seen.append(n)
    return seen


def _build_layer_info(class_name: str) -> LayerInfo:
    cls = getattr(keras.layers, class_name)
    config = _default_entry(class_name)["config"]
    helps: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        helps.update(parse_args_doc(klass.__dict__.get("__doc__")))
    required = set(_required_args(cls))
    params = []
    for name in _param_names(class_name, config):
        default = config[name]
        kind = _kind(class_name, name, default)
        minimum, maximum = _range(class_name, name)
        optional = (
            default is None
            or name in ov.OPTIONAL_PARAMS
            or kind in ("regularizer", "constraint")
            or (kind == "int_tuple" and name in ("strides", "noise_shape", "output_padding"))
            or name == "seed"
        )
        params.append(
            ParamInfo(
                name=name,
                kind=kind,
                default=default,
                choices=_choices(class_name, name, kind, default),
                minimum=minimum,
                maximum=maximum,
                help=helps.get(name) or ov.FALLBACK_HELP.get(name, name.replace("_", " ")),
                advanced=name not in ov.BASIC_PARAMS and name not in required,
                optional=optional,
            )
        )
    names = {p.name for p in params}
    keys = tuple(k for k in ov.KEY_PARAMS.get(class_name, ()) if k in names)
    return LayerInfo(
        class_name=class_name,
        category=ov.LAYER_CATEGORY[class_name],
        description=_description(cls),
        params=tuple(params),
        key_params=keys,
    )


@functools.cache
def catalog() -> dict[str, LayerInfo]:
    """Every offered layer, ordered by category (display order) then class name."""
    order = {c: i for i, c in enumerate(ov.CATEGORIES)}
    names = sorted(ov.LAYER_CATEGORY, key=lambda n: (order[ov.LAYER_CATEGORY[n]], n.lower()))
    return {n: _build_layer_info(n) for n in names}


def categories() -> list[str]:
    """Category names in display order."""
    return list(ov.CATEGORIES)


def layer_info(class_name: str) -> LayerInfo:
    """The catalog entry for ``class_name``; SpecError naming close matches if unknown."""
    cat = catalog()
    if class_name in cat:
        return cat[class_name]
    close = difflib.get_close_matches(str(class_name), list(cat), n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    raise SpecError(
        f"Unknown layer type '{class_name}': LayerLab offers only the layers in its palette.{hint}",
        field="class_name",
    )


def required_params(class_name: str) -> frozenset[str]:
    """Arguments Keras requires for ``class_name`` (those the overrides give defaults for)."""
    return frozenset(_required_args(getattr(keras.layers, class_name)))


def default_layer_entry(class_name: str, name: str | None = None) -> dict:
    """A new layer dict exactly as in ``Sequential.get_config()["layers"]``.

    Made by instantiating the Keras layer with the override defaults and serializing it. The
    name defaults to Keras's snake-case class name ("dense"); the spec makes names unique.
    """
    layer_info(class_name)
    entry = copy.deepcopy(_default_entry(class_name))
    if name is not None:
        entry["config"]["name"] = name
    return entry


def allowed_class_names() -> frozenset[str]:
    """Layer class names a model file may contain: the catalog's (nested ones are too)."""
    return frozenset(catalog())


# --------------------------------------------------------------------------- validation


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _range_problem(p: ParamInfo, v: float) -> str | None:
    if p.minimum is not None and v < p.minimum:
        if p.maximum is not None:
            return f"must be between {_num(p.minimum)} and {_num(p.maximum)}, got {_num(v)}"
        return f"must be ≥ {_num(p.minimum)}, got {_num(v)}"
    if p.maximum is not None and v > p.maximum:
        if p.minimum is not None:
            return f"must be between {_num(p.minimum)} and {_num(p.maximum)}, got {_num(v)}"
        return f"must be ≤ {_num(p.maximum)}, got {_num(v)}"
    return None


def _num(v: float) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _flat_ints(value: Any) -> list | None:
    """The ints in an int or (nested) list/tuple of ints; None if anything else is inside."""
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if isinstance(value, list | tuple) and value:
        out: list = []
        for v in value:
            inner = _flat_ints(v)
            if inner is None:
                return None
            out += inner
        return out
    return None


def check_value(p: ParamInfo, value: Any) -> str | None:
    """Why ``value`` does not fit parameter ``p`` ("must be ≥ 1, got -3"), or None if it fits."""
    if value is None:
        return None if p.optional else "must be set (None is not allowed)"
    kind = p.kind
    if kind == "int":
        if not isinstance(value, int) or isinstance(value, bool):
            return f"must be a whole number, got {value!r}"
        return _range_problem(p, value)
    if kind in ("float", "float_tuple"):
        values = value if isinstance(value, list | tuple) else [value]
        if not values or not all(_is_number(v) for v in values):
            return f"must be a number, got {value!r}"
        if kind == "float" and len(values) > 2:
            return f"must be a number or a (low, high) pair, got {value!r}"
        return next((m for v in values if (m := _range_problem(p, v))), None)
    if kind == "bool":
        return None if isinstance(value, bool) else f"must be true or false, got {value!r}"
    if kind in ("choice", "activation"):
        if value in (p.choices or ()):
            return None
        return f"must be one of {', '.join(map(str, p.choices or ()))}; got {value!r}"
    if kind == "str":
        return None if isinstance(value, str) else f"must be text, got {value!r}"
    if kind == "shape":
        if not isinstance(value, list | tuple) or not value:
            return f"must be a list of sizes, got {value!r}"
        for v in value:
            if v is None and p.name == "batch_shape":
                continue
            if not isinstance(v, int) or isinstance(v, bool) or v == 0 or v < -1:
                return f"entries must be whole numbers ≥ 1 (or one -1), got {value!r}"
        if list(value).count(-1) > (1 if p.name == "target_shape" else 0):
            return f"may contain -1 at most once, got {value!r}"
        return None
    if kind == "int_tuple":
        items = _flat_ints(value)
        if items is None:
            return f"must be a whole number or a list of whole numbers, got {value!r}"
        for v in items:
            problem = _range_problem(p, v)
            if problem:
                return problem
        return None
    if kind == "initializer":
        name = initializer_name(value)
        if name is None or (isinstance(value, str) and name not in initializer_names()):
            return f"must be an initializer ({', '.join(initializer_names())}), got {value!r}"
        return None
    if kind == "regularizer":
        try:
            _, l1, l2 = regularizer_parts(value)
        except (SpecError, ValueError, TypeError, AttributeError):
            return f"must be none, l1, l2 or l1_l2, got {value!r}"
        return None if l1 >= 0 and l2 >= 0 else "factors must be ≥ 0"
    if kind == "constraint":
        if constraint_name(value) in ov.CONSTRAINTS:
            return None
        return f"must be one of max_norm, min_max_norm, non_neg, unit_norm; got {value!r}"
    if kind == "layer":
        cls = value.get("class_name") if isinstance(value, dict) else None
        if cls in (p.choices or ()):
            return None
        return f"must be a layer of type {', '.join(p.choices or ())}; got {cls or value!r}"
    if kind == "dtype":
        name = dtype_name(value)
        if name in (p.choices or ()):
            return None
        return f"must be one of {', '.join(p.choices or ())}; got {value!r}"
    return f"has an unknown kind {kind!r}"


def normalize_value(p: ParamInfo, value: Any) -> Any:
    """``value`` in its config form: names of initializers/dtypes become Keras dicts."""
    if p.kind == "initializer" and isinstance(value, str):
        return initializer_value(initializer_name(value) or value)
    if p.kind == "regularizer" and isinstance(value, str):
        return to_json(keras.regularizers.serialize(keras.regularizers.get(value)))
    if p.kind == "constraint" and isinstance(value, str):
        return constraint_value(value)
    if p.kind == "dtype" and isinstance(value, str) and isinstance(p.default, dict):
        return dtype_value(value)
    return to_json(value)


# ------------------------------------------------------------------------------ labels


def format_value(p: ParamInfo, value: Any) -> str:
    """``value`` of parameter ``p`` as a label shows it ("3×3", "(-1, 1)", "0.5")."""
    if p.kind == "layer" and isinstance(value, dict):
        return describe_layer(value)
    if p.kind == "int_tuple" and isinstance(value, list):
        flat = _flat_ints(value) or []
        nested = any(isinstance(v, list) for v in value)
        if nested and len(set(flat)) == 1:
            return str(flat[0])
        return "×".join(str(v) for v in flat)
    if p.kind == "float_tuple" and isinstance(value, list):
        return "…".join(_num(v) for v in value)
    if p.kind == "shape" and isinstance(value, list):
        return "(" + ", ".join("None" if v is None else str(v) for v in value) + ")"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def describe_layer(entry: dict) -> str:
    """One-line row label: "Dense 16 · relu", "Conv2D 32 3×3 · relu", "Dropout 0.5".

    Arguments Keras requires (and a leading size-like key) are shown bare, the activation bare
    unless linear, other key parameters as "name value" only when they differ from the default.
    """
    class_name = entry.get("class_name", "?")
    config = entry.get("config", {})
    try:
        info = layer_info(class_name)
    except SpecError:
        return str(class_name)
    if class_name == "InputLayer":
        dims = ["None" if v is None else str(v) for v in (config.get("batch_shape") or [])[1:]]
        return "Input (" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"
    required = required_params(class_name)
    head: list[str] = [class_name]
    tail: list[str] = []
    for i, key in enumerate(info.key_params):
        p = info.param(key)
        value = config.get(key, p.default)
        label = key.replace("_", " ")
        bare = key in required or p.kind == "layer"
        bare = bare or (i == 0 and p.kind in ("int", "int_tuple", "shape"))
        if value is None:
            continue
        if p.kind == "activation":
            if value != "linear":
                tail.append(str(value))
        elif bare:
            (tail if tail else head).append(format_value(p, value))
        elif value == p.default:
            continue
        elif p.kind == "choice":
            tail.append(str(value))
        elif p.kind == "bool":
            tail.append(label if value else "no " + label if key != "trainable" else "frozen")
        else:
            tail.append(f"{label} {format_value(p, value)}")
    return " · ".join([" ".join(head), *tail])
