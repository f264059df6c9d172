"""The changes column aligns layer stacks by their signatures (class + settings): one
inserted, removed, moved or edited layer reads as exactly that one edit."""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache

import keras
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.compare import changes, format_value

L = keras.layers


def snapshot(layers) -> dict:
    model = keras.Sequential([keras.Input((20, 8)), *layers])
    data = {
        "model": model.get_config(),
        "compile": {"optimizer": "adam", "loss": "mse"},
        "fit": {"epochs": 3, "batch_size": 32},
    }
    return json.loads(json.dumps(data))  # as stored in a project file


def test_dropout_inserted_after_the_first_dense_reads_as_one_insertion():
    """It read "+Dense(units=16…); +Dropout(rate=0.5); Dense[3].units 16 → 1; …"."""
    base = snapshot([L.Dense(16, "relu"), L.Dense(16, "relu"), L.Dense(1, "sigmoid")])
    other = snapshot(
        [L.Dense(16, "relu"), L.Dropout(0.5), L.Dense(16, "relu"), L.Dense(1, "sigmoid")]
    )
    assert changes(base, other) == ["+Dropout(rate=0.5) after Dense[1]"]
    assert changes(other, base) == ["-Dropout(rate=0.5)"]


def test_removal_move_and_edit_name_the_layer_as_numbered_in_its_stack():
    def dropouts():
        return [L.Dense(16, "relu"), L.Dropout(0.5), L.Dense(8, "relu"), L.Dropout(0.2)]

    base = snapshot([*dropouts(), L.Dense(1)])
    fewer = snapshot([*dropouts()[:3], L.Dense(1)])
    assert changes(base, fewer) == ["-Dropout[2](rate=0.2)"]
    moved = snapshot([L.Dense(1), *dropouts()])
    assert changes(base, moved) == ["Dense[3] moved to position 1"]
    lstm = snapshot([L.LSTM(8), L.Dense(1)])
    assert changes(lstm, snapshot([L.LSTM(8, dropout=0.3), L.Dense(1)])) == ["LSTM.dropout 0 → 0.3"]
    first = snapshot([L.Dropout(0.1), L.LSTM(8), L.Dense(1)])
    assert changes(lstm, first) == ["+Dropout(rate=0.1) at the start"]


def test_imported_runs_without_history_or_settings_compare():
    model = snapshot([L.Dense(4), L.Dense(1)])["model"]
    assert changes({"model": model}, {"model": model}) == []
    assert changes({"model": model}, {}) != []  # no crash: a model against nothing
    assert changes({}, {"model": model}) == []  # no base: nothing to compare


# -- property: one random edit is described as exactly that edit ------------------------

KINDS = ("Dense", "Dropout", "LSTM", "Conv1D", "Flatten")
CHOICES = {
    "Dense": {"units": (1, 4, 8, 16, 32, 64), "activation": ("linear", "relu", "tanh")},
    "Dropout": {"rate": (0.1, 0.2, 0.3, 0.5)},
    "LSTM": {"units": (4, 8, 16), "dropout": (0.0, 0.2, 0.3)},
    "Conv1D": {"filters": (4, 8, 16), "kernel_size": (1, 3, 5)},
    "Flatten": {},
}


@cache
def layer_config(kind: str, params: tuple) -> str:
    layer = getattr(L, kind)(**dict(params))
    return json.dumps(keras.layers.serialize(layer))


def layer_strategy():
    def params(kind):
        options = CHOICES[kind]
        if not options:
            return st.just((kind, ()))
        return st.tuples(*(st.sampled_from(values) for values in options.values())).map(
            lambda values: (kind, tuple(zip(options, values, strict=True)))
        )

    return st.sampled_from(KINDS).flatmap(params)


def model_of(stack) -> dict:
    return {"model": {"layers": [json.loads(layer_config(kind, p)) for kind, p in stack]}}


def labels(stack) -> list[str]:
    """Dense, or Dense[2] when the stack has more than one Dense (1-based)."""
    totals = Counter(kind for kind, _ in stack)
    seen: Counter[str] = Counter()
    result = []
    for kind, _ in stack:
        seen[kind] += 1
        result.append(kind if totals[kind] == 1 else f"{kind}[{seen[kind]}]")
    return result


def fmt(value) -> str:
    return str(value).removesuffix(".0") if isinstance(value, float) else str(value)


def headline(kind, params) -> str:
    """The arguments shown for an added or removed layer, read from its Keras config."""
    config = json.loads(layer_config(kind, params))["config"]
    keys = ("units", "filters", "kernel_size", "rate", "activation")
    shown = [
        f"{key}={format_value(config[key])}"
        for key in keys
        if key in config and not (key == "activation" and config[key] == "linear")
    ]
    return f"({', '.join(shown)})" if shown else ""


@st.composite
def stack_and_edit(draw):
    stack = draw(st.lists(layer_strategy(), min_size=3, max_size=8, unique=True))
    kind = draw(st.sampled_from(("insert", "remove", "move", "edit")))
    other = list(stack)
    if kind == "insert":
        new = draw(layer_strategy())
        assume(new not in stack)
        at = draw(st.integers(0, len(stack)))
        other.insert(at, new)
        return stack, other, kind, at
    if kind == "remove":
        at = draw(st.integers(0, len(stack) - 1))
        del other[at]
        return stack, other, kind, at
    if kind == "move":
        source = draw(st.integers(0, len(stack) - 1))
        target = draw(st.integers(0, len(stack) - 1))
        assume(source != target)
        other.insert(target, other.pop(source))
        return stack, other, kind, (source, target)
    editable = [i for i, (k, _) in enumerate(stack) if CHOICES[k]]
    assume(editable)
    at = draw(st.sampled_from(editable))
    layer_kind, params = stack[at]
    key = draw(st.sampled_from(list(CHOICES[layer_kind])))
    value = draw(st.sampled_from(CHOICES[layer_kind][key]))
    assume(value != dict(params)[key])
    edited = (layer_kind, tuple((k, value if k == key else v) for k, v in params))
    assume(edited not in stack)
    other[at] = edited
    return stack, other, kind, (at, key, dict(params)[key], value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stack_and_edit())
def test_one_edit_is_described_as_exactly_that_edit(case):
    stack, other, kind, where = case
    lines = changes(model_of(stack), model_of(other))
    assert len(lines) == 1, (kind, where, lines)
    line = lines[0]
    if kind == "insert":
        layer_kind, params = other[where]
        place = "at the start" if where == 0 else f"after {labels(other)[where - 1]}"
        assert line == f"+{layer_kind}{headline(layer_kind, params)} {place}"
    elif kind == "remove":
        layer_kind, params = stack[where]
        assert line == f"-{labels(stack)[where]}{headline(layer_kind, params)}"
    elif kind == "edit":
        at, key, old, new = where
        shown = {"kernel_size": lambda v: f"({v},)"}.get(key, fmt)
        assert line == f"{labels(other)[at]}.{key} {shown(old)} → {shown(new)}"
    else:
        # A move can be told two ways (swapping neighbours moves either one): the line must
        # name a layer of the base and a position that together turn the base into the other.
        match = re.fullmatch(r"(\S+) moved to position (\d+)", line)
        assert match, line
        source = labels(stack).index(match.group(1))
        replayed = list(stack)
        replayed.insert(int(match.group(2)) - 1, replayed.pop(source))
        assert replayed == other
