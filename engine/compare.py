"""What changed between two runs: a short human diff of their snapshots.

A run's snapshot is ``{"model", "dataset", "compile", "fit"}`` — the exact settings it
trained with. ``changes(base, other)`` lists what ``other`` does differently from ``base``
in the words a Keras user would use::

    LSTM.dropout 0 → 0.3
    +SpatialDropout1D(rate=0.2)
    -Dropout(rate=0.5)
    optimizer.learning_rate 0.001 → 0.0003
    fit.batch_size 512 → 128
    dataset.num_words 10000 → 5000

Layers are aligned as sequences of class names (``difflib``), so inserting a layer shows
as one ``+`` line instead of a cascade of parameter changes; matched layers are then
compared parameter by parameter. Names Keras generates (``dense_3``), dtype policies and
build configs are noise and never reported. Floats are compared and shown at float32
precision, so ``0.0010000000474974513`` (an optimizer's float32 learning rate) reads ``0.001``.
"""

from __future__ import annotations

import difflib
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
    base_input, base_layers = _split_input(base)
    other_input, other_layers = _split_input(other)
    lines = []
    if base_input is not None and other_input is not None and not _same(base_input, other_input):
        lines.append(f"input shape {_shape(base_input)} {ARROW} {_shape(other_input)}")
    other_labels = _layer_labels(other_layers)
    base_keys = [_layer_key(layer) for layer in base_layers]
    other_keys = [_layer_key(layer) for layer in other_layers]
    matcher = difflib.SequenceMatcher(a=base_keys, b=other_keys, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                lines += _layer_changes(other_labels[j], base_layers[i], other_layers[j])
        elif tag == "replace" and i2 - i1 == j2 - j1:
            for i, j in zip(range(i1, i2), range(j1, j2), strict=True):
                lines.append(
                    f"{_layer_summary(base_layers[i])} {ARROW} {_layer_summary(other_layers[j])}"
                )
        else:
            lines += [f"-{_layer_summary(base_layers[i])}" for i in range(i1, i2)]
            lines += [f"+{_layer_summary(other_layers[j])}" for j in range(j1, j2)]
    return lines


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


def _layer_summary(layer: dict) -> str:
    config = layer.get("config") or {}
    arguments = []
    for key in _HEADLINE_PARAMS:
        if key in config and config[key] is not None:
            if key == "activation" and config[key] == "linear":
                continue
            arguments.append(f"{key}={format_value(config[key])}")
    return f"{_layer_key(layer)}({', '.join(arguments)})" if arguments else _layer_key(layer)


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
