"""The output layer, loss and metrics that fit a dataset's task (what the tutorials use).

``suggest_head(dataset, model)`` also looks at the model the head goes on: when the layers
before the head still give a sequence or an image (``(None, 40, 64)``) but each label is one
number or one class, the suggestion carries a ``reduce_layer`` (Flatten, or global average
pooling where an axis has no fixed size) to go right before the output layer, so the model
does not predict one value per time step. ``apply_head`` makes those edits on a spec.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras

from engine.datasets.base import Dataset


@dataclass(frozen=True)
class HeadSuggestion:
    """A Keras layer dict (as in ``Sequential.get_config()["layers"]``), loss, metrics, shape.

    ``reduce_layer`` (a layer dict or None) goes right before ``output_layer``; ``target_shape``
    is one example's label shape (``()`` for one number or class index), as ``analyse`` takes
    it.
    """

    output_layer: dict
    loss: str
    metrics: list[str]
    input_shape: tuple
    reduce_layer: dict | None = None
    target_shape: tuple = ()


def _layer_dict(layer) -> dict:
    return {
        "module": "keras.layers",
        "class_name": type(layer).__name__,
        "config": layer.get_config(),
        "registered_name": None,
    }


def target_shape(dataset: Dataset) -> tuple:
    """One example's label shape as the loaded labels hold it: () or (k,) (or more)."""
    train = dataset.parts.get("train")
    if train is None:
        return ()
    return tuple(int(d) for d in train.y.shape[1:])


def suggest_head(dataset: Dataset, model: dict | None = None) -> HeadSuggestion:
    """binary → Dense(1, sigmoid) + binary_crossentropy; multiclass → Dense(k, softmax) +
    sparse_categorical_crossentropy (categorical_crossentropy when the labels are one-hot);
    multilabel → Dense(k, sigmoid) + binary_crossentropy; regression → Dense(n) +
    mean_squared_error with mean_absolute_error.

    With ``model`` (the project's Sequential spec) the suggestion also says whether a layer
    must reduce the time/space axes before the output layer (see ``reduce_layer``)."""
    task = dataset.task
    if task == "binary":
        layer = keras.layers.Dense(1, activation="sigmoid")
        loss, metrics = "binary_crossentropy", ["accuracy"]
    elif task == "multiclass":
        layer = keras.layers.Dense(int(dataset.num_classes), activation="softmax")
        one_hot = dataset.label_encoding == "one_hot"
        loss = "categorical_crossentropy" if one_hot else "sparse_categorical_crossentropy"
        metrics = ["accuracy"]
    elif task == "multilabel":
        layer = keras.layers.Dense(int(dataset.num_classes), activation="sigmoid")
        loss, metrics = "binary_crossentropy", ["binary_accuracy"]
    else:
        train = dataset.parts.get("train")
        outputs = 1
        if train is not None and train.y.ndim == 2:
            outputs = int(train.y.shape[1])
        layer = keras.layers.Dense(outputs)
        loss, metrics = "mean_squared_error", ["mean_absolute_error"]
    labels = target_shape(dataset)
    shape = tuple(dataset.input_shape)
    reduce = None
    if model is not None and len(labels) <= 1:
        reduce = _reduce_layer(model, shape)
    return HeadSuggestion(_layer_dict(layer), loss, metrics, shape, reduce, labels)


def _reduce_layer(model: dict, input_shape: tuple) -> dict | None:
    """A layer that turns the shape before the head into one vector per example, or None."""
    from engine import spec

    try:
        layers = spec.body(model)
    except Exception:
        return None
    replaced = bool(layers) and layers[-1].get("class_name") == "Dense"
    if len(layers) > int(replaced):
        trimmed = spec.remove_layer(model, len(layers) - 1) if replaced else model
        analysis = spec.analyse(trimmed, input_shape)
        if not analysis.ok or analysis.layers[-1].output_shape is None:
            return None
        shape = tuple(analysis.layers[-1].output_shape[1:])
    else:
        shape = tuple(input_shape)
    if len(shape) <= 1:
        return None
    if None not in shape:
        return _layer_dict(keras.layers.Flatten())
    if len(shape) == 2:
        return _layer_dict(keras.layers.GlobalAveragePooling1D())
    if len(shape) == 3:
        return _layer_dict(keras.layers.GlobalAveragePooling2D())
    return None


def apply_head(model: dict, suggestion: HeadSuggestion) -> tuple[dict, int]:
    """The spec with the suggestion applied, and the output layer's body index.

    Sets the input shape, replaces a last Dense layer with the output layer (or appends it),
    and puts ``reduce_layer`` right before it. Raises SpecError where an edit is refused.
    """
    from engine import spec

    out = spec.set_input_shape(model, list(suggestion.input_shape))
    count = len(spec.body(out))
    last = spec.body(out)[-1] if count else None
    if last is not None and last.get("class_name") == "Dense":
        out = spec.replace_layer(out, count - 1, suggestion.output_layer)
        position = count - 1
    else:
        out = spec.insert_layer(out, count, suggestion.output_layer)
        position = count
    if suggestion.reduce_layer is not None:
        out = spec.insert_layer(out, position, suggestion.reduce_layer)
        position += 1
    return out, position
