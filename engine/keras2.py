"""Keras 2 model files: translate their configs for Keras 3 and read their weights.

A ``.h5`` file written by Keras 2.0 – 2.13 holds a model config that Keras 3 often refuses
(``time_major`` on every tf.keras LSTM, a Sequential stored as a bare list of layers, inner
layers of ``Bidirectional`` without a ``module``, ...). ``translate(config)`` rewrites such a
config into one Keras 3 builds, with one small named function per legacy feature, and says
what it changed in plain notes. It runs after ``engine.modelfile.check_allowlist`` has
accepted the stored config, never instead of it: every rewrite only removes arguments, fills
in ones Keras 2 implied, or moves a shape; none adds a class the allowlist did not see
(except ``InputLayer``, which holds no code).

``load_weights(model, group, name)`` then copies the trained weights from the file's
``model_weights`` group into the Keras 3 model built from the translated config, layer by
layer name, checking every stored shape against the model's variable before anything is
read (so a header cannot make LayerLab allocate more than the config implies).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from typing import Any

import h5py
import numpy as np

from engine.errors import ModelFileError

RNN_CLASSES = frozenset({"LSTM", "GRU", "SimpleRNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"})
WRAPPER_CLASSES = frozenset({"Bidirectional", "TimeDistributed"})
MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})
# Objects stored inside a layer's config that Keras 2 saved with a ``dtype`` Keras 3 refuses.
KERNEL_OBJECT_KEYS = ("_initializer", "_regularizer", "_constraint")
# Arguments any Keras 2 layer could carry to declare its input (Keras 3 wants an InputLayer).
INPUT_ARGUMENTS = ("batch_input_shape", "input_shape", "input_dim", "batch_size")

Rewrite = Callable[[dict, list[str]], dict]


def keras_major(version: str | None) -> int | None:
    """The major version in a ``keras_version`` attribute (``"2.4.0"``, ``"2.2.4-tf"``)."""
    match = re.match(r"\s*(\d+)", version or "")
    return int(match[1]) if match else None


def is_keras2(version: str | None) -> bool:
    """True for files written by Keras 1 or 2 (or with no version at all)."""
    major = keras_major(version)
    return major is None or major < 3


# --- walking configs ------------------------------------------------------------------


def _label(layer: dict) -> str:
    config = layer.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    return f"{layer.get('class_name')} {name!r}" if name else str(layer.get("class_name"))


def _model_layers(model: dict) -> list | None:
    """The layer list of a Sequential/Functional config (None for other objects)."""
    if model.get("class_name") not in MODEL_CLASSES:
        return None
    config = model.get("config")
    if isinstance(config, dict) and isinstance(config.get("layers"), list):
        return config["layers"]
    return None


def iter_layers(node: Any) -> Iterator[dict]:
    """Every layer object in a model config: nested models' layers and wrapped layers too."""
    if not isinstance(node, dict):
        return
    layers = _model_layers(node)
    if layers is not None:
        for layer in layers:
            if isinstance(layer, dict):
                yield layer
                yield from iter_layers(layer)
        return
    config = node.get("config")
    if node.get("class_name") in WRAPPER_CLASSES and isinstance(config, dict):
        for key in ("layer", "backward_layer"):
            inner = config.get(key)
            if isinstance(inner, dict):
                yield inner
                yield from iter_layers(inner)


def _layer_configs(config: dict, classes: frozenset[str] | None = None) -> Iterator[dict]:
    for layer in iter_layers(config):
        inner = layer.get("config")
        if isinstance(inner, dict) and (classes is None or layer.get("class_name") in classes):
            yield layer


# --- the rewrites, in the order they run -------------------------------------------------


def sequential_from_list(config: dict, notes: list[str]) -> dict:
    """Keras ≤ 2.2 stored a Sequential's config as a bare list of layers; Keras 3 wants
    ``{"name": ..., "layers": [...]}`` (else: "pop expected at most 1 argument, got 2")."""

    def fix(node: dict) -> None:
        if node.get("class_name") == "Sequential" and isinstance(node.get("config"), list):
            node["config"] = {"name": node.get("name", "sequential"), "layers": node["config"]}
            notes.append(
                f"Sequential {node['config']['name']!r}: its layers were stored as a bare "
                "list (Keras ≤ 2.2)"
            )
        for layer in _model_layers(node) or ():
            if isinstance(layer, dict):
                fix(layer)

    fix(config)
    return config


def numpy_values(config: dict, notes: list[str]) -> dict:
    """Keras 2.0 stored numpy scalars as ``{"type": "ndarray", "value": 0.3}`` (LeakyReLU's
    ``alpha``, for one); Keras 3 wants the plain number."""
    changed: set[str] = set()

    def fix(node: Any, owner: str) -> Any:
        if isinstance(node, dict):
            if set(node) == {"type", "value"} and node["type"] == "ndarray":
                changed.add(owner)
                return node["value"]
            label = _label(node) if "class_name" in node else owner
            return {key: fix(value, label) for key, value in node.items()}
        if isinstance(node, list):
            return [fix(value, owner) for value in node]
        return node

    config = fix(config, "model")
    for owner in sorted(changed):
        notes.append(f"{owner}: numpy values stored as {{'type': 'ndarray'}} made plain")
    return config


def leaky_relu_alpha(config: dict, notes: list[str]) -> dict:
    """Keras 2's ``LeakyReLU(alpha=...)`` is Keras 3's ``negative_slope`` (Keras 3 still
    takes ``alpha`` but warns that it is deprecated)."""
    for layer in _layer_configs(config, frozenset({"LeakyReLU"})):
        inner = layer["config"]
        if "alpha" in inner and "negative_slope" not in inner:
            inner["negative_slope"] = inner.pop("alpha")
            notes.append(f"{_label(layer)}: alpha renamed negative_slope (Keras 2)")
    return config


def wrapped_layer_modules(config: dict, notes: list[str]) -> dict:
    """The inner layer of ``Bidirectional``/``TimeDistributed`` has no ``module`` in Keras 2
    files, and Keras 3 deserialises it the new way ("Could not locate class 'LSTM'"): name
    ``keras.layers`` (the allowlist has already accepted the class)."""
    for layer in _layer_configs(config, WRAPPER_CLASSES):
        for key in ("layer", "backward_layer"):
            inner = layer["config"].get(key)
            if isinstance(inner, dict) and inner.get("module") is None:
                inner["module"] = "keras.layers"
                inner.setdefault("registered_name", None)
                notes.append(f"{_label(layer)}: its inner {_label(inner)} names no module")
    return config


def rnn_legacy_arguments(config: dict, notes: list[str]) -> dict:
    """tf.keras 2.x saved ``time_major`` on every LSTM/GRU/SimpleRNN; Keras 3 refuses it
    ("Unrecognized keyword arguments passed to LSTM: {'time_major': False}"). A
    ``time_major`` of True is refused: Keras 3 has no such layout."""
    for layer in _layer_configs(config, RNN_CLASSES):
        inner = layer["config"]
        if "time_major" in inner:
            if inner["time_major"]:
                raise ModelFileError(
                    f"layer {inner.get('name')!r} ({layer['class_name']}) has time_major=True, "
                    "a Keras 2 layout (time steps first) that Keras 3 does not have; "
                    "re-save the model with time_major=False.",
                    field="time_major",
                )
            del inner["time_major"]
            notes.append(f"{_label(layer)}: dropped time_major (Keras 2)")
        if layer["class_name"] == "SimpleRNN" and "implementation" in inner:
            del inner["implementation"]
            notes.append(f"{_label(layer)}: dropped implementation (Keras 2)")
    return config


def gru_reset_after(config: dict, notes: list[str]) -> dict:
    """Keras ≤ 2.2 GRUs did not store ``reset_after`` and behaved as ``reset_after=False``
    (one bias of 3 × units); Keras 3's default is True (two biases): state the old one."""
    for layer in _layer_configs(config, frozenset({"GRU"})):
        if "reset_after" not in layer["config"]:
            layer["config"]["reset_after"] = False
            notes.append(f"{_label(layer)}: reset_after=False, Keras 2's default then")
    return config


def object_dtypes(config: dict, notes: list[str]) -> dict:
    """tf.keras 2.x wrote ``dtype`` into initializer (and some regularizer/constraint)
    configs; Keras 3's initializers do not accept it."""
    for layer in _layer_configs(config):
        dropped = []
        for key, value in layer["config"].items():
            if (
                key.endswith(KERNEL_OBJECT_KEYS)
                and isinstance(value, dict)
                and isinstance(value.get("config"), dict)
                and "dtype" in value["config"]
            ):
                del value["config"]["dtype"]
                dropped.append(key)
        if dropped:
            notes.append(f"{_label(layer)}: dropped dtype from {', '.join(dropped)} (Keras 2)")
    return config


def dtype_policies(config: dict, notes: list[str]) -> dict:
    """tf.keras 2.4+ stored a mixed-precision layer's dtype as ``{"class_name": "Policy",
    "config": {"name": "mixed_float16"}}``, which Keras 3's legacy loader turns into a
    string it then cannot use; Keras 3 layers take the policy's name."""
    for layer in _layer_configs(config):
        dtype = layer["config"].get("dtype")
        if (
            isinstance(dtype, dict)
            and dtype.get("class_name") == "Policy"
            and isinstance(dtype.get("config"), dict)
            and isinstance(dtype["config"].get("name"), str)
        ):
            layer["config"]["dtype"] = dtype["config"]["name"]
            notes.append(f"{_label(layer)}: dtype policy {dtype['config']['name']!r} (Keras 2)")
    return config


def depthwise_groups(config: dict, notes: list[str]) -> dict:
    """Keras 2.4+ ``DepthwiseConv2D`` inherited ``groups`` (always 1) from ``Conv2D``; Keras
    3's refuses it."""
    for layer in _layer_configs(config, frozenset({"DepthwiseConv1D", "DepthwiseConv2D"})):
        inner = layer["config"]
        if "groups" in inner:
            if inner["groups"] not in (1, None):
                raise ModelFileError(
                    f"layer {inner.get('name')!r} ({layer['class_name']}) has "
                    f"groups={inner['groups']!r}, which a depthwise convolution cannot have in "
                    "Keras 3.",
                    field="groups",
                )
            del inner["groups"]
            notes.append(f"{_label(layer)}: dropped groups=1 (Keras 2)")
    return config


def embedding_input_length(config: dict, notes: list[str]) -> dict:
    """Keras 2's ``Embedding(input_length=N)``: Keras 3 has no such argument. The length
    moves into the layer's input shape when it declares one without it (so a following
    ``Flatten`` gets a defined shape); ``first_layer_input`` then makes it an InputLayer."""
    for layer in _layer_configs(config, frozenset({"Embedding"})):
        inner = layer["config"]
        if "input_length" not in inner:
            continue
        length = inner.pop("input_length")
        shape = inner.get("batch_input_shape")
        if isinstance(length, int) and isinstance(shape, list) and len(shape) == 2:
            if shape[1] is None:
                inner["batch_input_shape"] = [shape[0], length]
        elif isinstance(length, int) and "input_shape" not in inner and shape is None:
            inner["_layerlab_sequence_length"] = length
        notes.append(f"{_label(layer)}: dropped input_length={length!r} (Keras 2)")
        if isinstance(length, int):
            _fill_sequence_length(config, layer, length, notes)
    return config


def _fill_sequence_length(config: dict, embedding: dict, length: int, notes: list[str]) -> None:
    """An InputLayer of shape (batch, None) right before the Embedding gets the length."""
    for model in _models(config):
        layers = _model_layers(model) or []
        if model.get("class_name") != "Sequential" or embedding not in layers:
            continue
        index = next(i for i, layer in enumerate(layers) if layer is embedding)
        previous = layers[index - 1] if index > 0 else None
        if not isinstance(previous, dict) or previous.get("class_name") != "InputLayer":
            return
        inner = previous.get("config") or {}
        for key in ("batch_input_shape", "batch_shape"):
            shape = inner.get(key)
            if isinstance(shape, list) and len(shape) == 2 and shape[1] is None:
                inner[key] = [shape[0], length]
                notes.append(
                    f"{_label(previous)}: sequence length {length} kept from the Embedding's "
                    "input_length"
                )
        return


def first_layer_input(config: dict, notes: list[str]) -> dict:
    """A Keras 2 Sequential declared its input on the first layer (``batch_input_shape``,
    ``input_shape`` or ``input_dim``); Keras 3's legacy loader turns ``batch_input_shape``
    into an ``input_shape`` that keeps the batch axis ("expected ndim=3, found ndim=4").
    Make an ``InputLayer`` with ``batch_shape`` instead, and drop such arguments from every
    other layer (Keras 2 ignored them there). Functional models' InputLayers keep theirs."""

    def fix(model: dict) -> None:
        layers = _model_layers(model)
        if layers is None:
            return
        is_sequential = model.get("class_name") == "Sequential"
        for index, layer in enumerate(list(layers)):
            if not isinstance(layer, dict) or not isinstance(layer.get("config"), dict):
                continue
            if _model_layers(layer) is not None:
                fix(layer)
            inner = layer["config"]
            if layer.get("class_name") == "InputLayer":
                continue
            shape = _declared_batch_shape(layer)
            for key in (*INPUT_ARGUMENTS, "input_length", "_layerlab_sequence_length"):
                if key in inner and not (key == "input_dim" and _input_dim_is_argument(layer)):
                    del inner[key]
            first = is_sequential and index == 0
            if first and shape is not None:
                name = f"{inner.get('name', 'layer')}_input"
                input_layer = {
                    "class_name": "InputLayer",
                    "config": {"batch_shape": shape, "dtype": _input_dtype(layer), "name": name},
                }
                layers.insert(0, input_layer)
                notes.append(
                    f"{_label(layer)}: its input shape {_shape_text(shape)} became an "
                    "InputLayer (Keras 2 kept it on the first layer)"
                )

    fix(config)
    return config


def _input_dim_is_argument(layer: dict) -> bool:
    """Embedding's ``input_dim`` is its vocabulary size, not an input shape."""
    return layer.get("class_name") == "Embedding"


def _declared_batch_shape(layer: dict) -> list | None:
    inner = layer["config"]
    shape = inner.get("batch_input_shape")
    if isinstance(shape, list):
        return list(shape)
    batch = inner.get("batch_size")
    if isinstance(inner.get("input_shape"), list):
        return [batch, *inner["input_shape"]]
    if "input_dim" in inner and not _input_dim_is_argument(layer):
        length = inner.get("input_length")
        return (
            [batch, length, inner["input_dim"]]
            if "input_length" in inner
            else [
                batch,
                inner["input_dim"],
            ]
        )
    if "_layerlab_sequence_length" in inner:
        return [batch, inner["_layerlab_sequence_length"]]
    return None


def _input_dtype(layer: dict) -> str:
    """The dtype of the data a first layer took: integer ids for an Embedding."""
    if layer.get("class_name") == "Embedding":
        return "float32"
    dtype = layer["config"].get("dtype")
    return dtype if isinstance(dtype, str) and not dtype.startswith("mixed") else "float32"


def _shape_text(shape: list) -> str:
    return "(" + ", ".join("None" if size is None else str(size) for size in shape) + ")"


def initial_state_wiring(config: dict, notes: list[str]) -> dict:
    """A functional Keras 2 model that called an RNN with ``initial_state`` stored the
    states as extra inputs of the node (``[['emb', 0, 0, {}], ['enc', 0, 1, {}], ...]``);
    Keras 3's legacy loader would pass all of them as the sequence. Rewrite such a node in
    Keras 3's format: the sequence as the argument, the states as ``initial_state``."""
    rnn_like = RNN_CLASSES | {"Bidirectional"}
    for model in _models(config):
        if model.get("class_name") == "Sequential":
            continue
        for layer in _model_layers(model) or ():
            if not isinstance(layer, dict) or layer.get("class_name") not in rnn_like:
                continue
            nodes = layer.get("inbound_nodes")
            if not isinstance(nodes, list):
                continue
            for index, node in enumerate(nodes):
                if not isinstance(node, list) or len(node) < 2:
                    continue
                if not all(isinstance(item, list) and len(item) in (3, 4) for item in node):
                    continue
                kwargs = dict(node[0][3]) if len(node[0]) == 4 else {}
                kwargs.pop("initial_state", None)
                if any(_is_tensor_ref(value) for value in kwargs.values()):
                    continue
                nodes[index] = {
                    "args": [_tensor(node[0])],
                    "kwargs": {**kwargs, "initial_state": [_tensor(item) for item in node[1:]]},
                }
                notes.append(
                    f"{_label(layer)}: its initial states ({len(node) - 1}) are passed as "
                    "initial_state (Keras 2 stored them as extra inputs)"
                )
            for index, node in enumerate(nodes):
                # tf.keras 2.x: [['emb', 0, 0, {'initial_state': [['enc', 0, 1], ...]}]]
                if (
                    isinstance(node, list)
                    and len(node) == 1
                    and isinstance(node[0], list)
                    and len(node[0]) == 4
                    and isinstance(node[0][3], dict)
                    and _is_tensor_ref(node[0][3].get("initial_state"))
                ):
                    kwargs = dict(node[0][3])
                    states = kwargs.pop("initial_state")
                    states = states if isinstance(states[0], list) else [states]
                    nodes[index] = {
                        "args": [_tensor(node[0])],
                        "kwargs": {**kwargs, "initial_state": [_tensor(ref) for ref in states]},
                    }
                    notes.append(
                        f"{_label(layer)}: its initial_state references were converted to "
                        "Keras 3's format"
                    )
    return config


def functional_single_io(config: dict, notes: list[str]) -> dict:
    """Keras 2 listed a functional model's single input and output as ``[['name', 0, 0]]``;
    Keras 3 reads that as a list of one tensor, so a nested model (Teachable Machine's
    MobileNet inside a Sequential) hands a list to the next layer. Keras 2 called such a
    model with one tensor: store the bare reference ``['name', 0, 0]``."""
    for model in _models(config):
        inner = model.get("config")
        if model.get("class_name") == "Sequential" or not isinstance(inner, dict):
            continue
        changed = []
        for key in ("input_layers", "output_layers"):
            value = inner.get(key)
            if (
                isinstance(value, list)
                and len(value) == 1
                and _is_tensor_ref(value[0])
                and isinstance(value[0][0], str)
            ):
                inner[key] = value[0]
                changed.append(key)
        if changed:
            name = inner.get("name", "model")
            notes.append(f"Functional {name!r}: single {' and '.join(changed)} unwrapped")
    return config


def _models(config: dict) -> Iterator[dict]:
    yield config
    for layer in iter_layers(config):
        if _model_layers(layer) is not None:
            yield layer


def _is_tensor_ref(value: Any) -> bool:
    """``['layer', node, tensor]`` or a list of them (tf.keras's kwargs tensors)."""
    if not isinstance(value, list) or not value:
        return False
    if isinstance(value[0], str):
        return len(value) in (3, 4) and all(isinstance(part, int) for part in value[1:3])
    return all(_is_tensor_ref(item) for item in value)


def _tensor(reference: list) -> dict:
    return {
        "class_name": "__keras_tensor__",
        "config": {"shape": [None], "dtype": "float32", "keras_history": list(reference[:3])},
    }


REWRITES: tuple[Rewrite, ...] = (
    sequential_from_list,
    numpy_values,
    leaky_relu_alpha,
    wrapped_layer_modules,
    rnn_legacy_arguments,
    gru_reset_after,
    object_dtypes,
    dtype_policies,
    depthwise_groups,
    embedding_input_length,
    first_layer_input,
    initial_state_wiring,
    functional_single_io,
)


def translate(config: dict) -> tuple[dict, list[str]]:
    """A Keras 3 config for a Keras 2 model config, and a plain note per change.

    The input is not modified. Raises ``ModelFileError`` (with ``field`` the argument) for
    a legacy feature that has no Keras 3 equivalent.
    """
    result = copy.deepcopy(config)
    notes: list[str] = []
    for rewrite in REWRITES:
        result = rewrite(result, notes)
    return result, _compact(notes)


# More layers than this with the same change are noted once, naming the first few.
MAX_NOTES_PER_CHANGE = 3


def _compact(notes: list[str]) -> list[str]:
    """``"DepthwiseConv2D 'a': dropped groups=1 (Keras 2)"`` for 17 layers becomes one
    note: ``"17 DepthwiseConv2D layers ('a', 'b', 'c', …): dropped groups=1 (Keras 2)"``."""
    groups: dict[tuple[str, str], list[str]] = {}
    order: list[tuple[str, str] | str] = []
    for note in notes:
        match = re.match(r"(\w+) ('[^']*'): (.*)", note)
        if not match:
            order.append(note)
            continue
        key = (match[1], match[3])
        if key not in groups:
            groups[key] = []
            order.append(key)
        groups[key].append(match[2])
    result = []
    for item in order:
        if isinstance(item, str):
            result.append(item)
            continue
        class_name, change = item
        names = groups[item]
        if len(names) <= MAX_NOTES_PER_CHANGE:
            result.extend(f"{class_name} {name}: {change}" for name in names)
        else:
            shown = ", ".join(names[:MAX_NOTES_PER_CHANGE])
            result.append(f"{len(names)} {class_name} layers ({shown}, …): {change}")
    return result


# --- weights ---------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


def _names(group: h5py.Group, attribute: str) -> list[str]:
    """A list attribute (``layer_names``, ``weight_names``), also when HDF5 split it into
    ``name0``, ``name1``, ... chunks (Keras does for long lists)."""
    if attribute in group.attrs:
        return [_text(value) for value in group.attrs[attribute]]
    names: list[str] = []
    chunk = 0
    while f"{attribute}{chunk}" in group.attrs:
        names.extend(_text(value) for value in group.attrs[f"{attribute}{chunk}"])
        chunk += 1
    return names


def _legacy_weights(layer) -> list:
    """A layer's weights in the order Keras 2 saved them: trainable, then the others."""
    return list(layer.trainable_weights) + list(layer.non_trainable_weights)


def _is_model(layer) -> bool:
    import keras

    return isinstance(layer, keras.Model)


def _leaf_layers(model) -> dict[str, Any]:
    found = {}
    for layer in model.layers:
        if _is_model(layer):
            found.update(_leaf_layers(layer))
        else:
            found[layer.name] = layer
    return found


def load_weights(model, group: h5py.Group, file_name: str) -> int:
    """Copy the weights stored in ``group`` (a Keras 2 file's ``model_weights``) into
    ``model``; returns how many arrays were set.

    Each layer of ``model`` that has weights takes the subgroup of the same name (the
    config's names are the file's), else, when names do not match, the next stored layer
    with weights (Keras 2's own order-based rule). Inside a nested model the stored
    weights are matched to its layers by the layer name in each weight's name. Every
    stored shape is compared with the variable's before the data is read; a mismatch is a
    ``ModelFileError`` naming the layer and both shapes.
    """
    stored_names = [name for name in _names(group, "layer_names") if name in group]
    with_weights = [name for name in stored_names if _names(group[name], "weight_names")]
    layers = [layer for layer in model.layers if _legacy_weights(layer)]
    if len(layers) != len(with_weights):
        raise ModelFileError(
            f"Cannot open {file_name}: its config has {len(layers)} layers with weights but "
            f"the file stores weights for {len(with_weights)}; the file is damaged."
        )
    by_name = set(with_weights)
    count = 0
    for position, layer in enumerate(layers):
        stored = layer.name if layer.name in by_name else with_weights[position]
        subgroup = group[stored]
        datasets = [
            _dataset(subgroup, weight, file_name) for weight in _names(subgroup, "weight_names")
        ]
        pairs = (
            _nested_pairs(layer, datasets)
            if _is_model(layer)
            else list(zip(_legacy_weights(layer), [d for _, d in datasets], strict=False))
        )
        if len(pairs) != len(_legacy_weights(layer)) or len(datasets) != len(pairs):
            raise ModelFileError(
                f"Cannot open {file_name}: layer {layer.name!r} ({type(layer).__name__}) "
                f"has {len(_legacy_weights(layer))} weights, but the file stores "
                f"{len(datasets)} for it; the file does not match its config."
            )
        for variable, dataset in pairs:
            _check_shape(variable, dataset, layer, file_name)
        for variable, dataset in pairs:
            variable.assign(np.asarray(dataset[()], dtype=variable.dtype))
            count += 1
    return count


def _dataset(group: h5py.Group, name: str, file_name: str) -> tuple[str, h5py.Dataset]:
    item = group.get(name)
    if not isinstance(item, h5py.Dataset):
        raise ModelFileError(
            f"Cannot open {file_name}: the weight {name!r} listed for layer "
            f"{group.name.rsplit('/', 1)[-1]!r} is missing from the file; the file is damaged."
        )
    return name, item


def _nested_pairs(model, datasets: list[tuple[str, h5py.Dataset]]) -> list:
    """Pair a nested model's variables with stored weights: by the layer name inside each
    weight's name (``Conv1/kernel:0``, ``model/Conv1/kernel:0``), in order within a layer;
    by overall order when the names do not say."""
    leaves = _leaf_layers(model)
    per_leaf: dict[str, list[h5py.Dataset]] = {}
    for name, dataset in datasets:
        parts = name.split("/")
        leaf = next((part for part in reversed(parts[:-1]) if part in leaves), None)
        if leaf is None:
            return list(zip(_legacy_weights(model), [d for _, d in datasets], strict=False))
        per_leaf.setdefault(leaf, []).append(dataset)
    pairs = []
    for leaf_name, stored in per_leaf.items():
        variables = _legacy_weights(leaves[leaf_name])
        if len(variables) != len(stored):
            return list(zip(_legacy_weights(model), [d for _, d in datasets], strict=False))
        pairs.extend(zip(variables, stored, strict=True))
    return pairs


def _check_shape(variable, dataset: h5py.Dataset, layer, file_name: str) -> None:
    want = tuple(int(size) for size in variable.shape)
    have = tuple(int(size) for size in dataset.shape)
    if want != have:
        raise ModelFileError(
            f"Cannot open {file_name}: layer {layer.name!r} ({type(layer).__name__}) needs "
            f"its weight {variable.name!r} of shape {want}, but the file stores {have}; the "
            "file does not match its config."
        )


# --- activations that changed meaning --------------------------------------------------------

# Keras 2's hard_sigmoid is clip(0.2 x + 0.5, 0, 1); Keras 3's is clip(x / 6 + 0.5, 0, 1).
# keras2_hard_sigmoid(x) == keras3_hard_sigmoid(1.2 x): scaling the weights that feed it by
# 1.2 makes a Keras 3 model compute exactly what the Keras 2 model did.
HARD_SIGMOID_SCALE = 1.2
# Which gates of a recurrent kernel go through ``recurrent_activation`` (in kernel order).
_RECURRENT_GATES = {"LSTM": (True, True, False, True), "GRU": (True, True, False)}


def match_keras2_activations(model) -> list[str]:
    """Rescale the weights feeding Keras 2's ``hard_sigmoid`` so the model predicts as it did
    in Keras 2 (the default ``recurrent_activation`` of LSTM/GRU up to Keras 2.2). Call after
    the file's weights were loaded; returns a note per layer changed."""
    import keras

    hard_sigmoid = keras.activations.hard_sigmoid
    notes = []
    seen: set[int] = set()
    for layer in _all_layers(model):
        if id(layer) in seen:
            continue
        seen.add(id(layer))
        cell = getattr(layer, "cell", None)
        kind = _cell_kind(cell)
        if kind and getattr(cell, "recurrent_activation", None) is hard_sigmoid:
            _scale_gates(cell, _RECURRENT_GATES[kind])
            notes.append(
                f"{type(layer).__name__} {layer.name!r}: recurrent_activation hard_sigmoid is "
                "steeper in Keras 2; its gate weights were scaled by 1.2 to predict as before"
            )
        if cell is None and getattr(layer, "activation", None) is hard_sigmoid:
            kernel = getattr(layer, "kernel", None)
            if kernel is not None:
                kernel.assign(kernel.numpy() * HARD_SIGMOID_SCALE)
                bias = getattr(layer, "bias", None)
                if bias is not None:
                    bias.assign(bias.numpy() * HARD_SIGMOID_SCALE)
                notes.append(
                    f"{type(layer).__name__} {layer.name!r}: activation hard_sigmoid is steeper "
                    "in Keras 2; its weights were scaled by 1.2 to predict as before"
                )
            else:
                notes.append(
                    f"{type(layer).__name__} {layer.name!r}: activation hard_sigmoid is steeper "
                    "in Keras 2 (0.2 x + 0.5) than in Keras 3 (x / 6 + 0.5); predictions differ"
                )
    return notes


def _cell_kind(cell) -> str | None:
    name = type(cell).__name__ if cell is not None else ""
    if name.startswith("LSTMCell") or name.startswith("ConvLSTM"):
        return "LSTM"
    if name.startswith("GRUCell"):
        return "GRU"
    return None


def _scale_gates(cell, gates: tuple[bool, ...]) -> None:
    """Multiply the kernel/recurrent-kernel/bias columns of the given gates by 1.2."""
    count = len(gates)
    for name in ("kernel", "recurrent_kernel", "bias"):
        variable = getattr(cell, name, None)
        if variable is None:
            continue
        value = variable.numpy()
        width = value.shape[-1] // count
        factor = np.ones(value.shape[-1], dtype=value.dtype)
        for index, scaled in enumerate(gates):
            if scaled:
                factor[index * width : (index + 1) * width] = HARD_SIGMOID_SCALE
        variable.assign(value * factor)


def _all_layers(model) -> Iterator[Any]:
    """Every layer inside ``model``: nested models' and wrapped layers too."""
    for layer in getattr(model, "layers", []):
        yield layer
        yield from _all_layers(layer)
        for attribute in ("forward_layer", "backward_layer", "layer"):
            inner = getattr(layer, attribute, None)
            if inner is not None and inner is not layer:
                yield inner
