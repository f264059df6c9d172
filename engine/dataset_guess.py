"""Which dataset an opened model was most likely trained on, from its input and output.

Users open models from the Keras tutorials (IMDB and Reuters with Dense or Embedding
layers, MNIST and CIFAR CNNs, Boston housing) and scikit-learn's small sets. When the
model's input shape and output layer match one of those exactly, ``guess_dataset(spec)``
returns that dataset's block (with the vocabulary size or sequence length the model
expects) and a sentence saying why; otherwise ``(None, reason)``. A guess is only offered
where the shapes make it unambiguous enough that the trained weights fit; the user can
always change the dataset.
"""

from __future__ import annotations

from typing import Any

# (input shape, output units) → sample dataset (scikit-learn, works offline)
_SAMPLE_SETS = {
    ((64,), 10): "digits",
    ((4,), 3): "iris",
    ((13,), 3): "wine",
    ((30,), 1): "breast_cancer",
    ((30,), 2): "breast_cancer",
    ((10,), 1): "diabetes",
}
_IMAGE_SETS = {
    ((28, 28), 10): ("mnist", False),
    ((28, 28, 1), 10): ("mnist", False),
    ((784,), 10): ("mnist", True),
    ((32, 32, 3), 10): ("cifar10", False),
    ((3072,), 10): ("cifar10", True),
    ((32, 32, 3), 100): ("cifar100", False),
}
_TEXT_CLASSES = {1: "imdb", 2: "imdb", 46: "reuters"}


def _body(spec: dict) -> list[dict]:
    layers = [entry for entry in spec.get("layers") or [] if isinstance(entry, dict)]
    return [entry for entry in layers if entry.get("class_name") != "InputLayer"]


def _output_units(body: list[dict]) -> int | None:
    for entry in reversed(body):
        config = entry.get("config") or {}
        if entry.get("class_name") == "Dense":
            units = config.get("units")
            return int(units) if isinstance(units, int) else None
        if entry.get("class_name") not in ("Activation", "Dropout", "Softmax"):
            return None
    return None


def guess_dataset(spec: Any) -> tuple[dict | None, str]:
    """(dataset block, why) for a Sequential spec whose input and output match a tutorial
    dataset; (None, why not) otherwise."""
    from engine.spec import input_shape, is_functional

    if not isinstance(spec, dict) or is_functional(spec):
        return None, "the model is not a plain stack of layers"
    body = _body(spec)
    shape = input_shape(spec)
    units = _output_units(body)
    if not body or units is None:
        return None, "its output is not a Dense layer"
    first = body[0]
    first_config = first.get("config") or {}
    shape = tuple(shape) if shape is not None else None
    if first.get("class_name") == "Embedding" and units in _TEXT_CLASSES:
        name = _TEXT_CLASSES[units]
        words = first_config.get("input_dim")
        if not isinstance(words, int) or words < 4:
            return None, "its Embedding has no vocabulary size"
        length = shape[0] if shape and len(shape) == 1 and shape[0] else 500
        block = {
            "source": "keras",
            "name": name,
            "num_words": words,
            "encoding": "sequences",
            "sequence_length": int(length),
        }
        why = (
            f"its Embedding takes {words:,} word indices and its output has {units} "
            f"unit{'s' if units > 1 else ''}: {name.upper() if name == 'imdb' else 'Reuters'} "
            f"word sequences ({int(length)} words)"
        )
        return block, why
    if shape is None:
        return None, "the model does not fix its input shape"
    if (
        len(shape) == 1
        and shape[0] >= 1000
        and first.get("class_name") == "Dense"
        and units in _TEXT_CLASSES
    ):
        name = _TEXT_CLASSES[units]
        block = {"source": "keras", "name": name, "num_words": int(shape[0]),
                 "encoding": "multi_hot"}  # fmt: skip
        why = (
            f"its input is {shape[0]:,} wide and its output has {units} unit"
            f"{'s' if units > 1 else ''}: {'IMDB' if name == 'imdb' else 'Reuters'} "
            f"multi-hot word vectors ({shape[0]:,} words)"
        )
        return block, why
    if (shape, units) in _IMAGE_SETS:
        name, flatten = _IMAGE_SETS[(shape, units)]
        block = {"source": "keras", "name": name, "flatten": flatten}
        other = " (or Fashion-MNIST: same shapes)" if name == "mnist" else ""
        return block, f"its input {shape} and {units} classes match {name.upper()}{other}"
    if shape == (13,) and units == 1:
        return (
            {"source": "keras", "name": "boston_housing"},
            "its 13 inputs and one output match Boston housing prices",
        )
    if (shape, units) in _SAMPLE_SETS:
        name = _SAMPLE_SETS[(shape, units)]
        return {"source": "sample", "name": name}, (
            f"its input {shape} and output of {units} match scikit-learn's {name}"
        )
    return None, f"no known dataset has inputs of shape {shape} and {units} outputs"
