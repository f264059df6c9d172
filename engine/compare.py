"""What changed between two runs: a short human diff of their snapshots.

A run's snapshot is ``{"model", "dataset", "compile", "fit"}`` — the exact settings it
trained with. ``changes(base, other)`` lists what ``other`` does differently from ``base``
in the words a Keras user would use::

    LSTM.dropout 0 → 0.3
    +Dropout(rate=0.5) after Dense[1]
    -Dropout[2](rate=0.2)
    Dense[3] moved to position 1
    optimizer.learning_rate 0.001 → 0.0003
    fit.batch_size 512 → 128
    dataset.num_words 10000 → 5000

A layer is named by its class, numbered 1, 2, … among the layers of that class when its
stack has more than one (``Dense[3]`` is the third Dense); positions count the stack's
layers from 1, the input not included. Edits, insertions and moves name layers as they are
in ``other``'s stack, removals as they were in ``base``'s.

The stacks are aligned with ``difflib.SequenceMatcher`` over layer *signatures* (class and
settings), so an inserted layer reads as one ``+`` line instead of a cascade of parameter
changes, and a layer removed and added back unchanged elsewhere reads as a move. Within a
changed stretch, layers of the same class are compared parameter by parameter. Names Keras
generates (``dense_3``), dtype policies and build configs are noise and never reported.
Floats are compared and shown at float32 precision, so ``0.0010000000474974513`` (an
optimizer's float32 learning rate) reads ``0.001``.
"""

from __future__ import annotations

import difflib
import json
import math
from collections import Counter
from typing import Any

import numpy as np

ARROW = "→"

# Keys that never carry a setting the user chose.
_NOISE_KEYS = frozenset(
    {"name", "dtype", "build_config", "compile_config", "registered_name", "module"}
)
# Parameters shown when a whole layer is added or removed ("+Dropout(rate=0.5)").
_HEADLINE_PARAMS = (
    "units",
    "filters",
    "kernel_size",
    "pool_size",
    "rate",
    "output_dim",
    "activation",
    "target_shape",
    "n",
)
# Lists longer than this (vocabularies, class names) are reported as changed, not listed.
_LONG_LIST = 8


def changes(base: dict | None, other: dict) -> list[str]:
    """Lines saying how snapshot ``other`` differs from snapshot ``base`` (empty if equal).

    With no ``base`` (the first run) there is nothing to compare: the result is ``[]``.
    """
    if not base:
        return []
    lines: list[str] = []
    lines += _model_changes((base.get("model") or {}), (other.get("model") or {}))
    lines += _compile_changes(base.get("compile") or {}, other.get("compile") or {})
    lines += _fit_changes(base.get("fit") or {}, other.get("fit") or {})
    lines += _dict_changes("dataset", base.get("dataset") or {}, other.get("dataset") or {})
    return lines


def format_value(value: Any) -> str:
    """A setting as a user would type it: ``0.001``, ``relu``, ``(3, 3)``, ``L2(l2=0.01)``."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return _format_float(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)):
        if len(value) > _LONG_LIST:
            return f"[{len(value)} items]"
        inner = ", ".join(format_value(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, dict):
        if _is_serialized_object(value):
            arguments = {
                key: item
                for key, item in (value.get("config") or {}).items()
                if key not in _NOISE_KEYS and item is not None
            }
            inner = ", ".join(f"{key}={format_value(item)}" for key, item in arguments.items())
            return f"{value['class_name']}({inner})"
        inner = ", ".join(f"{key}={format_value(item)}" for key, item in value.items())
        return "{" + inner + "}"
    return str(value)


def _format_float(value: float) -> str:
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if float(np.float32(value)) == value:
        text = np.format_float_positional(np.float32(value), trim="-")
        if len(text) > 10:
            text = np.format_float_scientific(np.float32(value), trim="-")
    else:
        text = repr(value)
    return text[:-2] if text.endswith(".0") else text.rstrip(".")


def _same(a: Any, b: Any) -> bool:
    """Equal as settings: numbers at float32 precision, tuples equal to lists."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b or (isinstance(a, bool) and isinstance(b, bool) and a == b)
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
            return True
        return a == b or np.float32(a) == np.float32(b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        keys = (set(a) | set(b)) - _NOISE_KEYS
        return all(_same(a.get(key), b.get(key)) for key in keys)
    return a == b


def _is_serialized_object(value: Any) -> bool:
    return isinstance(value, dict) and "class_name" in value and "config" in value


def _dict_changes(prefix: str, base: dict, other: dict) -> list[str]:
    """``prefix.key old → new`` for every differing key, recursing into plain dicts and
    into Keras objects of the same class (``kernel_regularizer.l2 0.01 → 0.001``)."""
    lines = []
    for key in _ordered_keys(base, other):
        if key in _NOISE_KEYS:
            continue
        lines += _value_changes(f"{prefix}.{key}", base.get(key), other.get(key))
    return lines


def _value_changes(path: str, old: Any, new: Any) -> list[str]:
    if _same(old, new):
        return []
    if _is_serialized_object(old) and _is_serialized_object(new):
        if old["class_name"] == new["class_name"]:
            return _dict_changes(path, old["config"] or {}, new["config"] or {})
        return [f"{path} {format_value(old)} {ARROW} {format_value(new)}"]
    if (
        isinstance(old, dict)
        and isinstance(new, dict)
        and not _is_serialized_object(old)
        and not _is_serialized_object(new)
    ):
        return _dict_changes(path, old, new)
    if (
        isinstance(old, (list, tuple))
        and isinstance(new, (list, tuple))
        and (len(old) > _LONG_LIST or len(new) > _LONG_LIST)
    ):
        return [f"{path} changed ({len(old)} {ARROW} {len(new)} items)"]
    return [f"{path} {format_value(old)} {ARROW} {format_value(new)}"]


def _ordered_keys(base: dict, other: dict) -> list[str]:
    keys = list(base)
    keys += [key for key in other if key not in base]
    return keys


# -- model -------------------------------------------------------------------------------


def _model_changes(base: dict, other: dict) -> list[str]:
    """Layer changes: the stacks are aligned on layer signatures (class and settings), so
    one inserted, removed, moved or edited layer reads as that one change."""
    base_input, base_layers = _split_input(base)
    other_input, other_layers = _split_input(other)
    lines = []
    if base_input is not None and other_input is not None and not _same(base_input, other_input):
        lines.append(f"input shape {_shape(base_input)} {ARROW} {_shape(other_input)}")
    base_labels, other_labels = _layer_labels(base_layers), _layer_labels(other_layers)
    base_signs = [_signature(layer) for layer in base_layers]
    other_signs = [_signature(layer) for layer in other_layers]
    # Steps in stack order: ("line", text), ("-", base index) or ("+", other index).
    steps: list[tuple[str, Any]] = []
    matcher = difflib.SequenceMatcher(a=base_signs, b=other_signs, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        # Within a changed stretch, layers of the same class are compared parameter by
        # parameter; the rest were removed or added (or moved: paired below).
        base_keys = [_layer_key(layer) for layer in base_layers[i1:i2]]
        other_keys = [_layer_key(layer) for layer in other_layers[j1:j2]]
        inner = difflib.SequenceMatcher(a=base_keys, b=other_keys, autojunk=False)
        for tag2, k1, k2, m1, m2 in inner.get_opcodes():
            pairs = zip(range(i1 + k1, i1 + k2), range(j1 + m1, j1 + m2), strict=False)
            if tag2 == "equal":
                for i, j in pairs:
                    changed = _layer_changes(other_labels[j], base_layers[i], other_layers[j])
                    steps += [("line", line) for line in changed]
            elif tag2 == "replace" and k2 - k1 == m2 - m1:
                for i, j in pairs:
                    old, new = _layer_summary(base_layers[i]), _layer_summary(other_layers[j])
                    steps.append(("line", f"{old} {ARROW} {new}"))
            else:
                steps += [("-", i) for i in range(i1 + k1, i1 + k2)]
                steps += [("+", j) for j in range(j1 + m1, j1 + m2)]
    moves = _moves(steps, base_signs, other_signs)
    for kind, value in steps:
        if kind == "line":
            lines.append(value)
        elif kind == "-" and value in moves:
            lines.append(f"{base_labels[value]} moved to position {moves[value] + 1}")
        elif kind == "-":
            lines.append(f"-{_layer_summary(base_layers[value], base_labels[value])}")
        elif value not in moves.values():
            where = "at the start" if value == 0 else f"after {other_labels[value - 1]}"
            lines.append(f"+{_layer_summary(other_layers[value])} {where}")
    return lines


def _moves(steps: list[tuple[str, Any]], base_signs: list, other_signs: list) -> dict[int, int]:
    """Removed layers that come back unchanged elsewhere: ``{base index: other index}``."""
    added = [value for kind, value in steps if kind == "+"]
    moves = {}
    for kind, value in steps:
        if kind != "-":
            continue
        for j in added:
            if other_signs[j] == base_signs[value] and j not in moves.values():
                moves[value] = j
                break
    return moves


def _signature(layer: dict) -> str:
    """A layer's class and settings as text, names and other noise left out, numbers at
    float32 precision: two layers with the same signature are the same layer."""
    return json.dumps(_settings_only(layer), sort_keys=True, default=str)


def _settings_only(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            str(key): _settings_only(item) for key, item in value.items() if key not in _NOISE_KEYS
        }
    if isinstance(value, (list, tuple)):
        return [_settings_only(item) for item in value]
    if isinstance(value, float) and not isinstance(value, bool):
        if not math.isfinite(value):
            return str(value)
        number = float(np.float32(value))
        return int(number) if number.is_integer() else number
    return value


def _layer_changes(label: str, base: dict, other: dict) -> list[str]:
    """Parameter changes of two matched layers; a wrapper's inner layer (Bidirectional,
    TimeDistributed) reads as the wrapper's own (``Bidirectional(LSTM).units 32 → 64``).
    The backward layer Keras derives for Bidirectional is not reported separately."""
    base_config = dict(base.get("config") or {})
    other_config = dict(other.get("config") or {})
    lines = []
    inner_base, inner_other = base_config.pop("layer", None), other_config.pop("layer", None)
    if _is_serialized_object(inner_base) and _is_serialized_object(inner_other):
        lines += _dict_changes(label, inner_base["config"] or {}, inner_other["config"] or {})
        base_config.pop("backward_layer", None)
        other_config.pop("backward_layer", None)
    return lines + _dict_changes(label, base_config, other_config)


def _split_input(model: dict) -> tuple[Any, list[dict]]:
    """The input shape (from an InputLayer or ``build_input_shape``) and the other layers."""
    layers = list(model.get("layers") or [])
    shape = model.get("build_input_shape")
    if layers and layers[0].get("class_name") == "InputLayer":
        config = layers[0].get("config") or {}
        shape = config.get("batch_shape", config.get("batch_input_shape", shape))
        layers = layers[1:]
    return shape, layers


def _shape(shape: Any) -> str:
    if isinstance(shape, (list, tuple)):
        return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
    return format_value(shape)


def _layer_key(layer: dict) -> str:
    """What must match for two layers to be compared parameter by parameter."""
    config = layer.get("config") or {}
    inner = config.get("layer")
    if _is_serialized_object(inner):
        return f"{layer.get('class_name')}({inner['class_name']})"
    return str(layer.get("class_name"))


def _layer_labels(layers: list[dict]) -> list[str]:
    """``Dense`` — or ``Dense[2]`` when the stack has more than one Dense."""
    keys = [_layer_key(layer) for layer in layers]
    totals = Counter(keys)
    seen: Counter[str] = Counter()
    labels = []
    for key in keys:
        seen[key] += 1
        labels.append(key if totals[key] == 1 else f"{key}[{seen[key]}]")
    return labels


def _layer_summary(layer: dict, label: str | None = None) -> str:
    """``Dropout(rate=0.5)``: the layer's class (or ``label``) and its headline settings."""
    config = layer.get("config") or {}
    arguments = []
    for key in _HEADLINE_PARAMS:
        if key in config and config[key] is not None:
            if key == "activation" and config[key] == "linear":
                continue
            arguments.append(f"{key}={format_value(config[key])}")
    name = label or _layer_key(layer)
    return f"{name}({', '.join(arguments)})" if arguments else name


# -- compile and fit ---------------------------------------------------------------------


def _compile_changes(base: dict, other: dict) -> list[str]:
    lines = []
    old_opt = _optimizer(base.get("optimizer"))
    new_opt = _optimizer(other.get("optimizer"))
    if old_opt["class_name"].lower() != new_opt["class_name"].lower():
        lines.append(f"optimizer {old_opt['class_name']} {ARROW} {new_opt['class_name']}")
    else:
        lines += _dict_changes("optimizer", old_opt["config"], new_opt["config"])
    for key in _ordered_keys(base, other):
        if key == "optimizer" or key in _NOISE_KEYS:
            continue
        old, new = base.get(key), other.get(key)
        if key == "metrics" and isinstance(old, list) and isinstance(new, list):
            lines += _list_membership("metrics", old, new)
        else:
            lines += _value_changes(key, old, new)
    return lines


def _optimizer(value: Any) -> dict:
    """A serialized optimizer dict; a bare name ("adam") becomes that class with Keras's
    defaults so that ``"adam"`` and ``Adam(learning_rate=0.001)`` compare equal."""
    if _is_serialized_object(value):
        return {"class_name": value["class_name"], "config": dict(value.get("config") or {})}
    if isinstance(value, str):
        import keras

        return _optimizer(keras.optimizers.serialize(keras.optimizers.get(value)))
    return {"class_name": format_value(value), "config": {}}


def _list_membership(path: str, old: list, new: list) -> list[str]:
    old_names = [format_value(item) for item in old]
    new_names = [format_value(item) for item in new]
    lines = [f"{path} -{name}" for name in old_names if name not in new_names]
    lines += [f"{path} +{name}" for name in new_names if name not in old_names]
    return lines


def _fit_changes(base: dict, other: dict) -> list[str]:
    lines = []
    for key in _ordered_keys(base, other):
        if key in _NOISE_KEYS:
            continue
        if key == "callbacks":
            lines += _callback_changes(base.get(key) or [], other.get(key) or [])
        else:
            lines += _value_changes(f"fit.{key}", base.get(key), other.get(key))
    return lines


def _callback_changes(base: list, other: list) -> list[str]:
    def by_class(callbacks: list) -> dict[str, dict]:
        return {
            str(item.get("class_name")): dict(item.get("config") or {})
            for item in callbacks
            if isinstance(item, dict)
        }

    old, new = by_class(base), by_class(other)
    lines = []
    for name in _ordered_keys(old, new):
        if name not in new:
            lines.append(f"-{name}")
        elif name not in old:
            settings = ", ".join(f"{k}={format_value(v)}" for k, v in new[name].items())
            lines.append(f"+{name}({settings})")
        else:
            lines += _dict_changes(name, old[name], new[name])
    return lines
