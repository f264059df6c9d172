"""Functional models in a project: ``keras.Model.get_config()`` of a model with branches.

A project's model may be a functional config (it has ``input_layers``): branches, merges,
several inputs or outputs, shared layers, models inside the model. LayerLab shows it
read-only: it is validated against the same allowlist as a model file, built with
``keras.Model.from_config``, analysed without allocating weights (a shape-only build in
``engine.spec``'s ``StatelessScope``) and drawn as a graph (``engine.model_graph``). No edit
function accepts it (``EDIT_REFUSED``).

``engine.spec`` dispatches here; callers use ``engine.spec``'s names (``is_functional``,
``validate_spec``, ``build_model``, ``analyse``).
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import keras

from engine import catalog as cat
from engine import spec as S
from engine.errors import LayerLabError, SpecError

EDIT_REFUSED = (
    "Editing branches of a functional model is not available yet; the model is shown in the "
    "Graph tab, and you can evaluate, predict and export it."
)
MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})


def refuse_edit() -> SpecError:
    return SpecError(EDIT_REFUSED)


# ------------------------------------------------------------------------------ reading


def layer_name(entry: Any) -> str:
    """A functional layer entry's name (the entry's own ``name``, else its config's)."""
    if not isinstance(entry, dict):
        return ""
    name = entry.get("name")
    if isinstance(name, str) and name:
        return name
    return S._name(entry)


def refs(value: Any) -> list[tuple[str, int, int]]:
    """(layer, node, tensor) of a config's ``input_layers``/``output_layers``: one tensor
    ``[name, node, index]`` or a list of them (Keras 3 and Keras 2 write both)."""
    if not isinstance(value, list | tuple) or not value:
        return []
    if isinstance(value[0], str):
        return [_ref(value)]
    out = []
    for item in value:
        if isinstance(item, list | tuple) and item and isinstance(item[0], str):
            out.append(_ref(item))
    return out


def _ref(item: Any) -> tuple[str, int, int]:
    node = item[1] if len(item) > 1 and isinstance(item[1], int) else 0
    index = item[2] if len(item) > 2 and isinstance(item[2], int) else 0
    return (item[0], node, index)


def node_sources(node: Any) -> list[tuple[str, int, int]]:
    """The (layer, node, tensor) each input of one inbound node comes from, in order.

    Keras 3 writes ``{"args": [...], "kwargs": {...}}`` with ``__keras_tensor__`` objects
    carrying a ``keras_history``; Keras 2 wrote ``[[name, node, tensor, kwargs], ...]``."""
    found: list[tuple[str, int, int]] = []
    if isinstance(node, dict):
        if node.get("class_name") == "__keras_tensor__":
            history = (node.get("config") or {}).get("keras_history")
            if isinstance(history, list | tuple) and history and isinstance(history[0], str):
                found.append(_ref(history))
            return found
        for value in node.values():
            found.extend(node_sources(value))
    elif isinstance(node, list | tuple):
        if (
            len(node) >= 3
            and isinstance(node[0], str)
            and isinstance(node[1], int)
            and isinstance(node[2], int)
        ):
            return [_ref(node)]
        for value in node:
            found.extend(node_sources(value))
    return found


def inbound_nodes(entry: dict) -> list[Any]:
    nodes = entry.get("inbound_nodes") if isinstance(entry, dict) else None
    return nodes if isinstance(nodes, list) else []


def input_shapes(spec: dict) -> list[tuple[str, tuple | None]]:
    """(name, shape without the batch axis) of each model input, in the model's order."""
    by_name = {layer_name(e): e for e in S._layers(spec)}
    out = []
    for name, _node, _index in refs(spec.get("input_layers")):
        entry = by_name.get(name)
        config = entry.get("config", {}) if isinstance(entry, dict) else {}
        shape = config.get("batch_shape") or config.get("batch_input_shape")
        if isinstance(shape, list | tuple) and shape:
            out.append((name, tuple(shape[1:])))
        elif isinstance(config.get("shape"), list | tuple):
            out.append((name, tuple(config["shape"])))
        else:
            out.append((name, None))
    return out


def single_input_shape(spec: dict) -> tuple | None:
    """The input shape when the model has exactly one input, else None."""
    shapes = input_shapes(spec)
    return shapes[0][1] if len(shapes) == 1 else None


def _fits(wanted: tuple | None, given: tuple) -> bool:
    if wanted is None:
        return True
    return len(wanted) == len(given) and all(
        a is None or b is None or a == b for a, b in zip(wanted, given, strict=True)
    )


def input_problem(spec: dict, given: tuple | None, *, outputs: bool = True) -> str | None:
    """Why samples of shape ``given`` (the dataset's) cannot feed this model, or None.
    ``outputs``: also say that a model with several outputs cannot learn one label."""
    if given is None:
        return None
    given = tuple(given)
    shapes = input_shapes(spec)
    if len(shapes) != 1:
        names = ", ".join(f"'{name}'" for name, _shape in shapes)
        return (
            f"This functional model takes {len(shapes)} inputs ({names}) but a LayerLab dataset "
            "gives one: it can be shown, summarised and exported, not trained on this dataset."
        )
    name, wanted = shapes[0]
    if not _fits(wanted, given):
        return (
            f"The dataset gives samples of shape {S._fmt_shape(given)} but this functional "
            f"model's input '{name}' takes {S._fmt_shape(wanted)}: pick a dataset (or options) "
            "whose samples match; the input of a functional model cannot be changed yet."
        )
    heads = [ref[0] for ref in refs(spec.get("output_layers"))]
    if outputs and len(heads) > 1:
        names = ", ".join(f"'{head}'" for head in heads)
        return (
            f"This functional model has {len(heads)} outputs ({names}) but a LayerLab dataset "
            "gives one label per example: it can be shown, summarised and exported, not "
            "trained on this dataset."
        )
    return None


# --------------------------------------------------------------------------- validation


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def validate_nested(config: dict) -> None:
    """Validate a model inside a read-only model: a functional one as ``validate`` does; a
    Sequential one layer by layer, its own nested models included (a Teachable Machine
    export is a Sequential holding a Sequential holding MobileNet)."""
    if S.is_functional(config):
        validate(config)
        return
    layers = config.get("layers") if isinstance(config, dict) else None
    if not isinstance(layers, list):
        raise SpecError("The model has no list of layers.", field="layers")
    for i, entry in enumerate(layers):
        where = f"layers[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
            raise SpecError(f"The entry {where} is not a Keras layer dict.", field=where)
        class_name = S._class(entry)
        if class_name in MODEL_CLASSES:
            validate_nested(entry["config"])
        elif class_name != "InputLayer":
            problem = S._entry_problem(entry, f"{where}.")
            if problem:
                field = f"{where}.config.{problem[1]}" if problem[1] else where
                raise SpecError(problem[0] + ".", field=field)


def validate(spec: dict) -> None:
    """SpecError for the first problem of a functional config: what the model-file allowlist
    refuses, a bad value in a catalog layer, a duplicate name, or a connection to a layer
    that is not in the model."""
    layers = spec.get("layers")
    if not isinstance(layers, list) or not layers:
        raise SpecError("The functional model has no layers.", field="layers")
    from engine.errors import ModelFileError
    from engine.modelfile import check_allowlist

    try:
        check_allowlist(spec)
    except ModelFileError as error:
        raise SpecError(_capital(error.message), field=error.field) from None
    names: set[str] = set()
    for i, entry in enumerate(layers):
        where = f"layers[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
            raise SpecError(f"The entry {where} is not a Keras layer dict.", field=where)
        class_name = S._class(entry)
        name = layer_name(entry)
        if not name:
            raise SpecError(f"The layer at {where} ({class_name}) has no name.", field=where)
        if name in names:
            raise SpecError(
                f"Two layers are named '{name}': layer names must be unique.",
                field=f"{where}.config.name",
            )
        names.add(name)
        if class_name in MODEL_CLASSES:
            try:
                validate_nested(entry["config"])
            except LayerLabError as error:
                raise SpecError(
                    f"The model '{name}' inside the model: {error.message}", field=where
                ) from None
        elif class_name in cat.allowed_class_names():
            problem = S._entry_problem(entry, f"{where}.")
            if problem:
                field = f"{where}.config.{problem[1]}" if problem[1] else where
                raise SpecError(problem[0] + ".", field=field)
    for i, entry in enumerate(layers):
        for node in inbound_nodes(entry):
            for source, _node, _index in node_sources(node):
                if source not in names:
                    raise SpecError(
                        f"Layer '{layer_name(entry)}' takes its input from '{source}', which "
                        "is not a layer of the model.",
                        field=f"layers[{i}].inbound_nodes",
                    )
    for key in ("input_layers", "output_layers"):
        found = refs(spec.get(key))
        if not found:
            raise SpecError(f"The functional model names no {key.split('_')[0]}s.", field=key)
        for name, _node, _index in found:
            if name not in names:
                raise SpecError(
                    f"The model's {key.split('_')[0]} '{name}' is not one of its layers.",
                    field=key,
                )


# ----------------------------------------------------------------------------- building


def keras_config(spec: dict) -> dict:
    """A copy Keras can deserialise: legacy layers get their module, build state is dropped
    only where an edit could have made it stale (never, here: it is kept)."""
    from engine.modelfile import _with_layer_modules

    return _with_layer_modules(copy.deepcopy(spec))


def build(spec: dict, input_shape: tuple | None = None) -> keras.Model:
    """``keras.Model.from_config`` of the validated config. ``input_shape`` (the dataset's)
    must fit the model's one input: a functional model's input is not rewritten."""
    validate(spec)
    problem = input_problem(spec, input_shape, outputs=False)  # (a summary builds it too)
    if problem:
        raise SpecError(problem, field="input_layers")
    info = describe(spec)
    if info.error is None and info.layers:
        from engine.memory import LayerMemory, ModelTooLargeError, dtype_bytes, fit_problem

        rows = [
            LayerMemory(
                layer.name, layer.class_name, layer.params, layer.params * dtype_bytes(None)
            )
            for layer in info.layers
        ]
        too_big = fit_problem(rows)
        if too_big:
            raise ModelTooLargeError(too_big)
    try:
        return keras.Model.from_config(keras_config(spec))
    except Exception as error:
        raise SpecError(f"Cannot build the model: {S.clean_message(error)}.") from None


# ----------------------------------------------------------------------------- analysis


@dataclass(frozen=True)
class FunctionalLayer:
    """One layer of a functional model: its output shape per call (a shared layer is called
    more than once; a layer with several outputs gives several shapes) and its parameters."""

    name: str
    class_name: str
    output_shapes: tuple = ()
    params: int = 0
    trainable_params: int = 0


@dataclass(frozen=True)
class FunctionalInfo:
    layers: tuple = ()
    output_shapes: tuple = ()
    total_params: int = 0
    trainable_params: int = 0
    error: str | None = None
    by_name: dict = field(default_factory=dict, compare=False)


_CACHE: OrderedDict[bytes, FunctionalInfo] = OrderedDict()
_CACHE_SIZE = 32
_LOCK = threading.Lock()


def _shape(value: Any) -> tuple:
    return tuple(None if d is None else int(d) for d in value)


def _outputs_of(tensors: Any) -> tuple:
    flat = keras.tree.flatten(tensors)
    return tuple(_shape(t.shape) for t in flat if hasattr(t, "shape"))


def describe(spec: dict) -> FunctionalInfo:
    """Per layer output shapes and parameter counts, from a shape-only build (no weights are
    allocated). Cached per config. Never raises: a failure is ``error``."""
    text = json.dumps(spec, sort_keys=True, default=str)
    key = hashlib.sha256(text.encode()).digest()
    with _LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    info = _describe(spec)
    with _LOCK:
        _CACHE[key] = info
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return info


def _describe(spec: dict) -> FunctionalInfo:
    try:
        validate(spec)
    except LayerLabError as error:
        return FunctionalInfo(error=error.message)
    try:
        with S._shape_only_scope():
            model = keras.Model.from_config(keras_config(spec))
            layers = []
            for layer in model.layers:
                shapes: list[tuple] = []
                for node in getattr(layer, "_inbound_nodes", []):
                    shapes.extend(_outputs_of(node.output_tensors))
                layers.append(
                    FunctionalLayer(
                        name=layer.name,
                        class_name=type(layer).__name__,
                        output_shapes=tuple(shapes),
                        params=S._count(layer.weights),
                        trainable_params=S._count(layer.trainable_weights),
                    )
                )
            outputs = _outputs_of(model.outputs)
            total = S._count(model.weights)
            trainable = S._count(model.trainable_weights)
    except Exception as error:
        return FunctionalInfo(error=f"The functional model does not build: {_reason(error)}.")
    return FunctionalInfo(
        layers=tuple(layers),
        output_shapes=outputs,
        total_params=total,
        trainable_params=trainable,
        by_name={layer.name: layer for layer in layers},
    )


def _reason(error: BaseException) -> str:
    return S.clean_message(error).rstrip(".")


def analyse(spec: dict, input_shape: tuple | None = None) -> S.Analysis:
    """The ``Analysis`` of a functional model: no per-layer rows (the stack does not show its
    layers), the totals, the model's output shapes, and an error when the dataset's sample
    shape (``input_shape``) does not fit the model's input."""
    info = describe(spec)
    result = S.Analysis(functional=True)
    if info.error:
        result.error = info.error
        return result
    result.total_params = info.total_params
    result.trainable_params = info.trainable_params
    result.non_trainable_params = info.total_params - info.trainable_params
    result.output_shapes = list(info.output_shapes)
    result.error = input_problem(spec, input_shape)
    return result
