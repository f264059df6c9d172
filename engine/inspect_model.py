"""Looking inside a trained model: each layer's output on one sample, and why it predicted
what it did.

- ``activations(model, sample)`` → one ``LayerActivation`` per layer (numpy values, reduced
  to at most ``max_elements`` numbers per layer: the first feature maps, or every n-th row;
  ``note`` says what was cut). One probe ``keras.Model(inputs, [layer outputs])`` is built
  per model and cached (keyed by the model object, dropped with it).
- ``explain(model, sample, class_index)`` → an ``Explanation``:
  ``"gradcam"`` for models with a convolution over an image (gradient of the class score
  with respect to the last rank-4 convolution output; channel weights = mean gradients;
  ReLU; upsampled to the input's height and width; scaled to [0, 1]);
  ``"tokens"`` for models that start with an ``Embedding`` (gradient × input on the
  embedding output, summed over the embedding dimension: one score per token, since token
  ids are not differentiable);
  ``"features"`` for the rest (gradient × input per input value: tabular columns, the
  pixels of a flattened image, the words of a multi-hot vector).
  The class score is taken before a final softmax / sigmoid (the last layer's activation is
  switched to linear while the gradient is taken), so saturated probabilities still give
  gradients. A one-unit sigmoid head scores class 1 as the logit and class 0 as its negative.
- ``explain_test_rows`` / ``confusion_cell_rows`` / ``explain_input``: the same for rows of
  a dataset's test part (gallery items, "all mistakes of a confusion-matrix cell") with the
  tokens decoded with the dataset's vocabulary and the feature names from its describer.

Gradients need the TensorFlow backend (``tf.GradientTape``). This module imports Keras and
TensorFlow only inside functions (widgets may import its result types).
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from engine.errors import LayerLabError

DEFAULT_MAX_ELEMENTS = 65_536  # numbers kept per layer (256 KiB of float32)
MAX_CELL_ROWS = 12  # mistakes of one confusion-matrix cell explained at most

_probes: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_grad_models: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_probe_lock = threading.Lock()
_FINAL_ACTIVATIONS = ("softmax", "sigmoid")
_CONV_HINTS = ("Conv", "Separable", "Depthwise")


@dataclass(frozen=True)
class LayerActivation:
    """One layer's output for one sample (no batch axis). ``shape`` is the full output
    shape; ``values`` may be smaller (see ``note``)."""

    name: str
    class_name: str
    shape: tuple
    values: np.ndarray
    note: str = ""

    @property
    def reduced(self) -> bool:
        return tuple(self.values.shape) != tuple(self.shape)


@dataclass(frozen=True)
class Explanation:
    """Why the model gave ``class_index`` the score it did.

    ``kind``: ``"gradcam"`` (``heatmap``: H×W in [0, 1] at the input's size), ``"tokens"``
    (``scores`` per token position, ``tokens`` the words), ``"features"`` (``scores`` per
    input value, ``feature_names`` when known). Scores are gradient × input: positive pushed
    the class up, negative pushed it down.
    """

    kind: str
    class_index: int
    class_name: str
    probability: float | None
    heatmap: np.ndarray | None = None
    scores: np.ndarray | None = None
    tokens: list[str] | None = None
    feature_names: list[str] | None = None
    layer: str = ""
    note: str = ""
    sample: Any = None  # engine.datasets Sample to draw under the heatmap, when known
    title: str = ""  # e.g. "test sample 12: true 3, predicted 8"
    extra: dict = field(default_factory=dict)


# --- activations ---------------------------------------------------------------------------


def activations(
    model, sample, *, max_elements: int = DEFAULT_MAX_ELEMENTS
) -> list[LayerActivation]:
    """Every layer's output for ``sample`` (one input row, with or without a batch axis of
    one), reduced to at most ``max_elements`` numbers per layer."""
    batch = _batch_of_one(model, sample)
    probe, layers = _probe(model, batch)
    try:
        outputs = probe(batch, training=False)
    except Exception as error:
        raise LayerLabError(
            f"The model could not run on this sample: {_one_line(error)}",
            fix="Pick a sample of the run's own dataset.",
        ) from error
    if not isinstance(outputs, list | tuple):
        outputs = [outputs]
    result = []
    limit = max(16, int(max_elements))
    for layer, output in zip(layers, outputs, strict=True):
        array = np.asarray(output)[0]
        values, note = reduce_array(array, limit)
        result.append(
            LayerActivation(
                name=str(layer.name),
                class_name=type(layer).__name__,
                shape=tuple(int(n) for n in array.shape),
                values=values,
                note=note,
            )
        )
        del array
    return result


def reduce_array(array: np.ndarray, limit: int) -> tuple[np.ndarray, str]:
    """``array`` (one sample's layer output) cut to at most ``limit`` numbers, float32, and
    a note saying what was cut ("" when nothing was)."""
    array = np.asarray(array)
    if array.dtype.kind not in "fiub":
        array = array.astype("float32")
    if array.size <= limit:
        return np.array(array, dtype="float32", copy=True), ""
    if array.ndim == 0:
        return np.asarray(array, dtype="float32"), ""
    if array.ndim == 1:
        return np.array(array[:limit], dtype="float32"), f"first {limit:,} of {array.size:,} values"
    notes = []
    if array.ndim >= 3:
        # Feature maps: keep the first channels (each map whole when that fits).
        per_map = int(np.prod(array.shape[:-1]))
        channels = array.shape[-1]
        keep = max(1, min(channels, limit // max(1, per_map)))
        if keep < channels:
            array = array[..., :keep]
            notes.append(f"first {keep} of {channels} feature maps")
    if array.size > limit:
        # Still too big (long sequences, huge maps): every n-th step along the leading axes.
        spatial = array.ndim - 1 if array.ndim >= 3 else 1
        step = 1
        while array[tuple(slice(None, None, step) for _ in range(spatial))].size > limit:
            step += 1
        array = array[tuple(slice(None, None, step) for _ in range(spatial))]
        notes.append(f"every {_ordinal(step)} {'row' if spatial == 1 else 'position'}")
    if array.size > limit:
        array = array.reshape(-1)[:limit]
        notes.append(f"first {limit:,} values")
    return np.array(array, dtype="float32"), "showing " + ", ".join(notes)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _probe(model, batch):
    """(probe model, its layers): one ``keras.Model`` with every layer's output, cached."""
    with _probe_lock:
        cached = _probes.get(model)
    if cached is not None:
        return cached
    import keras

    inputs = _model_inputs(model, batch)
    graph, pairs = _layer_outputs(model)
    if graph is not None:
        inputs = _single(graph.inputs)
    layers = [layer for layer, _ in pairs]
    outputs = [tensor for _, tensor in pairs]
    if not outputs:
        raise LayerLabError("This model has no layers whose outputs can be shown.")
    try:
        probe = keras.Model(inputs, outputs)
    except Exception as error:
        raise LayerLabError(
            f"The layers' outputs cannot be collected from this model: {_one_line(error)}"
        ) from error
    entry = (probe, layers)
    with _probe_lock:
        _probes[model] = entry
    return entry


def _graph(model):
    """The functional graph the model runs (a Sequential keeps one inside), or None."""
    import keras

    if isinstance(model, keras.Sequential):
        model = getattr(model, "_functional", None)
    return model if getattr(model, "_nodes_by_depth", None) else None


def _layer_outputs(model) -> tuple[Any, list]:
    """(graph, [(layer, its output tensor in that graph)]) in running order.

    ``layer.output`` is the layer's *first* symbolic call, which need not be the one on the
    path the model runs (a Sequential loaded from a file calls its layers several times while
    it is rebuilt): a model built from such tensors computes each layer twice and the
    gradient of the output with respect to them is None. The graph's own nodes are right.
    """
    import keras

    graph = _graph(model)
    pairs: list = []
    if graph is None:
        for layer in _flat_layers(model):
            try:
                output = layer.output
            except Exception:
                continue  # a layer used twice, or not connected to the model's inputs
            pairs.append((layer, output))
    else:
        seen: set[int] = set()
        for depth in sorted(graph._nodes_by_depth, reverse=True):
            for node in graph._nodes_by_depth[depth]:
                layer = node.operation
                if isinstance(layer, keras.layers.InputLayer) or id(layer) in seen:
                    continue
                seen.add(id(layer))
                pairs.append((layer, node.outputs))
    result = []
    for layer, output in pairs:
        if isinstance(output, list | tuple):
            if not output:
                continue
            output = output[0]
        result.append((layer, output))
    return graph, result


def _single(tensors):
    tensors = list(tensors)
    return tensors[0] if len(tensors) == 1 else tensors


def _flat_layers(model) -> list:
    import keras

    return [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]


def _model_inputs(model, batch):
    """The model's symbolic inputs; an unbuilt model is built by one call first."""
    try:
        inputs = model.inputs
    except Exception:
        inputs = None
    if not inputs:
        try:
            model(batch, training=False)
            inputs = model.inputs
        except Exception as error:
            raise LayerLabError(
                f"The model's inputs are not known: {_one_line(error)}",
                fix="Give the model an Input layer, or train it once.",
            ) from error
    return inputs[0] if len(inputs) == 1 else inputs


def _batch_of_one(model, sample) -> np.ndarray:
    array = np.asarray(sample)
    shape = _input_shape(model)
    missing_batch = array.ndim == len(shape) if shape is not None else array.shape[:1] != (1,)
    if missing_batch:
        array = array[None, ...]
    if array.shape[0] != 1:
        raise LayerLabError(
            f"Pick one sample to look at (got {array.shape[0]} rows).",
        )
    if shape is not None and tuple(array.shape[1:]) != tuple(
        s if s is not None else array.shape[1 + i] for i, s in enumerate(shape)
    ):
        raise LayerLabError(
            f"The sample has shape {tuple(array.shape[1:])}; this model takes "
            f"{tuple('?' if s is None else s for s in shape)}.",
            fix="Pick a sample of the run's own dataset.",
        )
    if array.dtype.kind == "f" and array.dtype != np.float32:
        array = array.astype("float32")
    return array


def _input_shape(model) -> tuple | None:
    try:
        inputs = model.inputs
        if inputs and len(inputs) == 1:
            return tuple(inputs[0].shape[1:])
    except Exception:
        pass
    return None


def forget(model) -> None:
    """Drop the cached probe of ``model`` (its weights changed shape, or it is retired)."""
    with _probe_lock:
        _probes.pop(model, None)
        _grad_models.pop(model, None)


# --- explanations --------------------------------------------------------------------------


def explain(
    model,
    sample,
    class_index: int | None = None,
    *,
    class_names: list[str] | None = None,
    vocabulary: list[str] | None = None,
    feature_names: list[str] | None = None,
    task: str | None = None,
) -> Explanation:
    """Why ``model`` scores ``class_index`` (default: its predicted class) on ``sample``
    (one input row). See the module docstring for the three kinds. For ``task ==
    "regression"`` the explained score is output unit ``class_index`` (default 0) itself:
    positive scores pushed the predicted value up."""
    _require_tensorflow()
    batch = _batch_of_one(model, sample)
    layers = _flat_layers(model)
    if not layers:
        raise LayerLabError("This model has no layers to explain.")
    with _linear_head(model) as head_note:
        probs = np.asarray(model(batch, training=False)).reshape(-1)
        regression = task == "regression"
        index = _class_index(probs, class_index, regression)
        scorer = _scorer(index, regression)
        conv = _last_conv(layers, batch)
        embedding = _first_embedding(layers)
        if conv is not None:
            result = _gradcam(model, batch, conv, scorer, layers)
        elif embedding is not None:
            result = _token_saliency(model, batch, embedding, scorer, vocabulary)
        else:
            result = _feature_saliency(model, batch, scorer, feature_names)
    if regression:
        probability = None
        name = "the predicted value" if probs.size == 1 else f"output {index}"
    else:
        probability = _probability(probs, index, model)
        name = _class_name(class_names, index, len(probs))
    note = " ".join(n for n in (result.get("note", ""), head_note) if n)
    return Explanation(
        kind=result["kind"],
        class_index=index,
        class_name=name,
        probability=probability,
        heatmap=result.get("heatmap"),
        scores=result.get("scores"),
        tokens=result.get("tokens"),
        feature_names=result.get("feature_names"),
        layer=result.get("layer", ""),
        note=note,
    )


def _require_tensorflow() -> None:
    import keras

    if keras.backend.backend() != "tensorflow":
        raise LayerLabError(
            f"Explanations need the TensorFlow backend; Keras runs on {keras.backend.backend()}.",
            fix="Set KERAS_BACKEND=tensorflow and restart LayerLab.",
        )


class _linear_head:
    """Switch the last layer's softmax/sigmoid to linear while gradients are taken (the
    class score before squashing); restores it on exit. Enter returns a note ("" or what
    could not be switched)."""

    def __init__(self, model):
        self.layer = None
        self.saved = None
        layers = _flat_layers(model)
        last = layers[-1] if layers else None
        activation = getattr(last, "activation", None)
        if last is not None and _activation_name(activation) in _FINAL_ACTIVATIONS:
            self.layer, self.saved = last, activation

    def __enter__(self) -> str:
        if self.layer is not None:
            import keras

            self.layer.activation = keras.activations.linear
        return ""

    def __exit__(self, *exc) -> None:
        if self.layer is not None:
            self.layer.activation = self.saved


def _activation_name(activation) -> str:
    return str(getattr(activation, "__name__", "") or "").lower()


def _class_index(outputs: np.ndarray, wanted: int | None, regression: bool = False) -> int:
    if regression:
        if wanted is None:
            return 0
        if not 0 <= int(wanted) < outputs.size:
            raise LayerLabError(f"There is no output {wanted}; the model has {outputs.size}.")
        return int(wanted)
    count = max(2, outputs.size) if outputs.size == 1 else outputs.size
    if wanted is None:
        if outputs.size == 1:
            return int(outputs[0] > 0)  # logits here: > 0 means p > 0.5
        return int(np.argmax(outputs))
    wanted = int(wanted)
    if not 0 <= wanted < count:
        raise LayerLabError(f"There is no class {wanted}; the model has {count} classes.")
    return wanted


def _probability(logits: np.ndarray, index: int, model) -> float | None:
    """The class probability from the (linear-head) outputs."""
    layers = _flat_layers(model)
    name = _activation_name(getattr(layers[-1], "activation", None)) if layers else ""
    values = logits.astype("float64")
    if values.size == 1:
        p = 1.0 / (1.0 + np.exp(-values[0])) if name == "sigmoid" else float(values[0])
        return float(p if index == 1 else 1.0 - p)
    if name == "softmax":
        shifted = np.exp(values - values.max())
        return float(shifted[index] / shifted.sum())
    if name == "sigmoid":
        return float(1.0 / (1.0 + np.exp(-values[index])))
    return None


def _class_name(names: list[str] | None, index: int, outputs: int) -> str:
    if names and index < len(names):
        return str(names[index])
    return str(index)


def _scorer(index: int, regression: bool = False):
    """A function from the model's (linear-head) outputs to the explained score tensor: the
    class's logit (a one-unit binary head: the logit for class 1, its negative for class
    0), or for regression the output unit itself."""
    import tensorflow as tf

    def score(outputs):
        flat = tf.reshape(outputs, (tf.shape(outputs)[0], -1))
        if flat.shape[-1] == 1 and not regression:
            return flat[:, 0] if index == 1 else -flat[:, 0]
        return flat[:, index]

    return score


def _rank(tensor) -> int:
    try:
        return len(tensor.shape)
    except Exception:
        return 0


def _last_conv(layers, batch):
    """The last convolution with a rank-4 output (batch, H, W, C); None when the model has
    none. The input need not be an image: a flat input reshaped inside counts too."""
    found = None
    for layer in layers:
        try:
            output = layer.output
        except Exception:
            continue
        if _rank(output) != 4:
            continue
        if any(hint in type(layer).__name__ for hint in _CONV_HINTS):
            found = layer
    return found


def _first_embedding(layers):
    import keras

    for layer in layers:
        if isinstance(layer, keras.layers.Embedding):
            return layer
    return None


def _grad_model(model, layer):
    """``keras.Model(inputs, [layer output, model output])``, cached per model and layer."""
    import keras

    with _probe_lock:
        cached = _grad_models.setdefault(model, {}).get(layer.name)
    if cached is not None:
        return cached
    graph, pairs = _layer_outputs(model)
    tensor = next((t for candidate, t in pairs if candidate is layer), None)
    source = graph if graph is not None else model
    try:
        if tensor is None:
            raise ValueError(f"{layer.name} is not on the model's path")
        grad_model = keras.Model(_single(source.inputs), [tensor, source.outputs[0]])
    except Exception as error:
        raise LayerLabError(
            f"The output of {layer.name} cannot be reached from the model's input: "
            f"{_one_line(error)}"
        ) from error
    with _probe_lock:
        _grad_models.setdefault(model, {})[layer.name] = grad_model
    return grad_model


def _gradcam(model, batch, conv, scorer, layers) -> dict:
    import tensorflow as tf

    grad_model = _grad_model(model, conv)
    x = tf.convert_to_tensor(batch)
    with tf.GradientTape() as tape:
        maps, outputs = grad_model(x, training=False)
        score = scorer(outputs)
    grads = tape.gradient(score, maps)
    if grads is None:
        raise LayerLabError(f"The class score does not depend on {conv.name}'s output.")
    weights = tf.reduce_mean(grads, axis=(1, 2))  # (1, C)
    cam = tf.nn.relu(tf.reduce_sum(maps * weights[:, None, None, :], axis=-1))[0]
    cam = cam.numpy().astype("float64")
    height, width = _image_size(batch, layers, conv, cam.shape)
    heatmap = _upsample(cam, height, width)
    top = float(heatmap.max())
    note = ""
    if top <= 0:
        note = "No region raised this class's score (the map is empty)."
    else:
        heatmap = heatmap / top
    return {
        "kind": "gradcam",
        "heatmap": heatmap.astype("float32"),
        "layer": str(conv.name),
        "note": note,
    }


def _image_size(batch, layers, conv, fallback) -> tuple[int, int]:
    """The picture the heat map is drawn over: the input image, or the first image-shaped
    tensor inside the model (a flat input reshaped to H×W×C), or the map itself."""
    if batch.ndim == 4:
        return int(batch.shape[1]), int(batch.shape[2])
    for layer in layers:
        if layer is conv:
            break
        try:
            shape = tuple(layer.output.shape)
        except Exception:
            continue
        if len(shape) == 4 and shape[1] and shape[2]:
            return int(shape[1]), int(shape[2])
    return int(fallback[0]), int(fallback[1])


def _upsample(cam: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of a 2-D map to ``height`` × ``width`` (numpy; centres aligned)."""
    h, w = cam.shape
    if (h, w) == (height, width):
        return cam

    def axis(n_in: int, n_out: int):
        pos = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
        pos = np.clip(pos, 0, n_in - 1)
        low = np.floor(pos).astype(int)
        high = np.minimum(low + 1, n_in - 1)
        return low, high, pos - low

    r0, r1, rf = axis(h, height)
    c0, c1, cf = axis(w, width)
    top = cam[r0][:, c0] * (1 - cf) + cam[r0][:, c1] * cf
    bottom = cam[r1][:, c0] * (1 - cf) + cam[r1][:, c1] * cf
    return top * (1 - rf[:, None]) + bottom * rf[:, None]


def _token_saliency(model, batch, embedding, scorer, vocabulary) -> dict:
    import tensorflow as tf

    grad_model = _grad_model(model, embedding)
    x = tf.convert_to_tensor(batch)
    with tf.GradientTape() as tape:
        embedded, outputs = grad_model(x, training=False)
        score = scorer(outputs)
    grads = tape.gradient(score, embedded)
    if grads is None:
        raise LayerLabError("The class score does not depend on the embedding's output.")
    scores = tf.reduce_sum(grads * embedded, axis=-1)[0].numpy().reshape(-1)
    ids = np.asarray(batch[0]).reshape(-1).astype(np.int64)
    tokens = decode_tokens(ids, vocabulary)
    keep = ids != 0  # padding
    return {
        "kind": "tokens",
        "scores": scores[keep].astype("float32"),
        "tokens": [t for t, k in zip(tokens, keep, strict=True) if k],
        "layer": str(embedding.name),
        "note": "" if keep.all() else f"{int((~keep).sum())} padding positions left out.",
    }


def decode_tokens(ids, vocabulary: list[str] | None) -> list[str]:
    """Token ids as words (``vocabulary[id]``); ``#id`` where the vocabulary has no word."""
    words = []
    for token in np.asarray(ids).reshape(-1):
        t = int(token)
        word = vocabulary[t] if vocabulary is not None and 0 <= t < len(vocabulary) else ""
        words.append(str(word) if word else f"#{t}")
    return words


def _feature_saliency(model, batch, scorer, feature_names) -> dict:
    import tensorflow as tf

    x = tf.convert_to_tensor(batch)
    if not x.dtype.is_floating:
        raise LayerLabError(
            "This model takes integer inputs without an Embedding layer first, so there "
            "is no gradient to explain its prediction with."
        )
    with tf.GradientTape() as tape:
        tape.watch(x)
        outputs = model(x, training=False)
        score = scorer(outputs)
    grads = tape.gradient(score, x)
    if grads is None:
        raise LayerLabError("The class score does not depend on the input.")
    scores = (grads * x)[0].numpy()
    if scores.ndim == 3:  # an image without convolutions: sum over the channels
        scores = scores.sum(axis=-1)
    scores = scores.reshape(-1) if scores.ndim == 1 or scores.ndim > 2 else scores
    names = None
    if feature_names is not None and len(feature_names) == np.asarray(scores).size:
        names = [str(n) for n in feature_names]
    scores = np.asarray(scores, dtype="float32")
    return {"kind": "features", "scores": scores, "feature_names": names}


# --- dataset rows --------------------------------------------------------------------------


def dataset_names(dataset) -> dict:
    """Keyword arguments for ``explain`` from a loaded dataset: class names, vocabulary,
    and the feature names its describer gives a row (tabular columns)."""
    names = None
    test = getattr(dataset, "parts", {}).get("test")
    if test is not None and len(test):
        try:
            sample = dataset.describe_input(test.x.take(np.arange(1))[0])
            if sample.kind == "row" and isinstance(sample.value, dict):
                names = [str(k) for k in sample.value]
        except Exception:
            names = None
    vocabulary = getattr(dataset, "vocabulary", None)
    if (
        names is None
        and vocabulary is not None
        and tuple(dataset.input_shape) == (len(vocabulary),)
    ):
        names = [str(w) for w in vocabulary]  # multi-hot / tf-idf: one column per word
    return {
        "task": getattr(dataset, "task", None),
        "class_names": list(dataset.class_names or []) or None,
        "vocabulary": vocabulary,
        "feature_names": names,
    }


def explain_test_rows(
    model, dataset, rows, class_index: int | None = None, *, titles: list[str] | None = None
) -> list[Explanation]:
    """``explain`` for rows of the test part, each with its displayable sample."""
    test = dataset.parts.get("test")
    if test is None or not len(test):
        raise LayerLabError("This dataset has no test part to explain samples from.")
    rows = [int(r) for r in rows]
    if any(not 0 <= r < len(test) for r in rows):
        raise LayerLabError(f"The test part has {len(test):,} rows; row {max(rows)} is not one.")
    names = dataset_names(dataset)
    result = []
    for i, row in enumerate(rows):
        x_row = test.x.take(np.asarray([row]))[0]
        explanation = explain(model, x_row, class_index, **names)
        result.append(
            _with(
                explanation,
                sample=dataset.describe_input(x_row),
                title=titles[i] if titles else f"test sample {row}",
            )
        )
    return result


def confusion_cell_rows(
    model,
    dataset,
    true_class: int,
    predicted_class: int,
    *,
    limit: int = MAX_CELL_ROWS,
    batch_size: int = 256,
) -> tuple[list[int], int]:
    """(first ``limit`` test rows whose true class is ``true_class`` and whose predicted class
    is ``predicted_class``, how many there are in all)."""
    from engine.evaluation import predicted_classes, probabilities, true_classes

    test = dataset.parts.get("test")
    if test is None or not len(test):
        raise LayerLabError("This dataset has no test part.")
    arguments = dataset.evaluate_arguments(int(batch_size))
    outputs = np.asarray(
        model.predict(arguments["x"], batch_size=batch_size, verbose=0)
        if "y" in arguments
        else model.predict(arguments["x"], verbose=0)
    )
    y_pred, _ = predicted_classes(probabilities(outputs, dataset.task))
    y_true = true_classes(np.asarray(test.y))
    rows = np.flatnonzero((y_true == int(true_class)) & (y_pred == int(predicted_class)))
    return [int(r) for r in rows[:limit]], len(rows)


def explain_cell(
    model,
    dataset,
    true_class: int,
    predicted_class: int,
    *,
    class_index: int | None = None,
    limit: int = MAX_CELL_ROWS,
) -> tuple[list[Explanation], int]:
    """Explanations of ``class_index`` (default: the predicted class) for the mistakes (or
    hits) of one confusion-matrix cell, and how many test rows the cell holds."""
    rows, total = confusion_cell_rows(model, dataset, true_class, predicted_class, limit=limit)
    names = list(dataset.class_names or [])

    def name(i: int) -> str:
        return names[i] if i < len(names) else str(i)

    titles = [
        f"test sample {r}: true {name(true_class)}, predicted {name(predicted_class)}" for r in rows
    ]
    explained = explain_test_rows(
        model,
        dataset,
        rows,
        predicted_class if class_index is None else class_index,
        titles=titles,
    )
    return explained, total


def explain_input(model, dataset, raw, class_index: int | None = None) -> Explanation:
    """``explain`` for new raw input (what the Predict box takes)."""
    x_row = encode_one(dataset, raw)
    explanation = explain(model, x_row, class_index, **dataset_names(dataset))
    return _with(explanation, sample=dataset.describe_input(x_row), title="your input")


def encode_one(dataset, raw) -> np.ndarray:
    """New raw input encoded like the dataset's inputs: the first row, as the model takes it.
    Input that does not fit is a plain ``LayerLabError``."""
    try:
        batch = np.asarray(dataset.encode_inputs(raw))
    except LayerLabError:
        raise
    except Exception as error:
        shape = tuple(getattr(dataset, "input_shape", ()) or ())
        if isinstance(raw, list | tuple) and len(shape) == 1:
            message = f"The input has {len(raw)} values; this dataset's inputs have {shape[0]}."
        else:
            message = f"The input does not fit this dataset's inputs: {_one_line(error)}."
        raise LayerLabError(message, fix="Type an input like the dataset's samples.") from error
    if not len(batch):
        raise LayerLabError("The input held nothing to look at.")
    return batch[0]


def _with(explanation: Explanation, **changes) -> Explanation:
    from dataclasses import replace

    return replace(explanation, **changes)


def _one_line(error: BaseException) -> str:
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return (lines[-1] if lines else type(error).__name__)[:300]
