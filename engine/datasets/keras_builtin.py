"""Keras's built-in datasets, loaded with the real ``keras.datasets`` loaders.

The tutorials' preprocessing is done here from block fields: images scaled to [0, 1] (and
flattened on request), IMDB/Reuters multi-hot (per batch, never a dense float64 matrix) or
padded sequences, Boston housing z-scored with training statistics.
"""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import keras
import numpy as np

from engine.datasets.base import (
    ArrayStore,
    MultiHotStore,
    Sample,
    release_free_memory,
    tail_rows,
)
from engine.datasets.build import Standardizer, assemble, image_store
from engine.datasets.fetch import cache_dir, call_loader
from engine.datasets.image_folder import read_image
from engine.errors import DatasetError

_TITLES = {
    "mnist": "MNIST digits",
    "fashion_mnist": "Fashion-MNIST",
    "cifar10": "CIFAR-10",
    "cifar100": "CIFAR-100",
    "imdb": "IMDB movie reviews",
    "reuters": "Reuters newswires",
    "boston_housing": "Boston housing prices",
}
_CLASS_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion_mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
    "cifar10": [
        "airplane",
        "automobile",
        "bird",
        "cat",
        "deer",
        "dog",
        "frog",
        "horse",
        "ship",
        "truck",
    ],
}
BOSTON_COLUMNS = (
    "CRIM",
    "ZN",
    "INDUS",
    "CHAS",
    "NOX",
    "RM",
    "AGE",
    "DIS",
    "RAD",
    "TAX",
    "PTRATIO",
    "B",
    "LSTAT",
)
_SPECIAL_TOKENS = ("<pad>", "<start>", "<oov>", "<unused>")


_SAMPLE_COUNT = 8


def load(block: dict, loss, validation_split: float, progress) -> object:
    name = block["name"]
    if name in ("imdb", "reuters"):
        return _load_texts(block, loss, validation_split, progress)
    if name == "boston_housing":
        return _load_boston(block, loss, validation_split, progress)
    return _load_images(block, loss, validation_split, progress)


def _label(name: str) -> str:
    return f"the Keras dataset {name}"


def _load_images(block, loss, validation_split, progress):
    name = block["name"]
    module = getattr(keras.datasets, name)
    kwargs = {"label_mode": block["label_mode"]} if name == "cifar100" else {}
    fetched: list = []
    (x_train, y_train), (x_test, y_test) = call_loader(
        module.load_data, _label(name), progress, fetched=fetched, **kwargs
    )
    if progress is not None:
        progress(f"Preparing {_TITLES[name]}", None)
    y_train = np.asarray(y_train).reshape(-1).astype("int64")
    y_test = np.asarray(y_test).reshape(-1).astype("int64")
    if x_train.ndim == 3:
        x_train, x_test = x_train[..., None], x_test[..., None]
    image_shape = x_train.shape[1:]
    class_names = _CLASS_NAMES.get(name) or _cifar100_names(block["label_mode"], y_train, fetched)
    rescale, flatten = block["rescale"], block["flatten"]

    def shaped(images):
        return images.reshape(len(images), int(np.prod(image_shape))) if flatten else images

    keep, val = tail_rows(len(x_train), validation_split)
    parts = {
        "train": (image_store(shaped(x_train[keep]), rescale), y_train[keep]),
        "validation": (image_store(shaped(x_train[val]), rescale), y_train[val]),
        "test": (image_store(shaped(x_test), rescale), y_test),
    }
    input_shape = (int(np.prod(image_shape)),) if flatten else image_shape
    scale = 255.0 if rescale else 1.0

    def describe(x_row) -> Sample:
        pixels = np.asarray(x_row, dtype="float64").reshape(image_shape) * scale
        return Sample("image", np.clip(np.round(pixels), 0, 255).astype("uint8"), "")

    def encode(raw) -> np.ndarray:
        if isinstance(raw, (str, os.PathLike)):
            color = "grayscale" if image_shape[-1] == 1 else "rgb"
            raw = read_image(raw, image_shape[:2], color)
        pixels = np.asarray(raw, dtype="float32")
        if pixels.shape == image_shape[:2] and image_shape[-1] == 1:
            pixels = pixels[..., None]
        if pixels.shape != image_shape:
            raise DatasetError(
                f"The image has shape {pixels.shape}; {_TITLES[name]} images are {image_shape}."
            )
        pixels = pixels / scale
        return pixels.reshape(1, -1) if flatten else pixels[None, ...]

    samples = [
        Sample("image", x_train[i], class_names[int(y_train[i])])
        for i in range(min(_SAMPLE_COUNT, len(x_train)))
    ]
    h, w, c = image_shape
    note = f"{h}×{w}×{c} images" + (" scaled to [0, 1]" if rescale else " (0–255)")
    return assemble(
        block,
        title=_TITLES[name],
        task="multiclass",
        parts=parts,
        loss=loss,
        input_shape=input_shape,
        dtype="float32",
        input_note=note + (", flattened" if flatten else ""),
        class_names=class_names,
        samples=samples,
        describer=describe,
        encoder=encode,
    )


def _cifar100_names(label_mode: str, labels: np.ndarray, fetched: list) -> list[str]:
    """Class names from the archive's ``meta`` file (read with Keras's restricted unpickler)."""
    from keras.src.datasets.npz_utils import RestrictedUnpickler

    folder = Path(fetched[0]) if fetched else cache_dir() / "cifar-100-python-target"
    meta = folder / "cifar-100-python" / "meta"
    key = f"{label_mode}_label_names"
    try:
        with open(meta, "rb") as file:
            table = RestrictedUnpickler(file, encoding="bytes").load()
        table = {k.decode() if isinstance(k, bytes) else k: v for k, v in table.items()}
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in table[key]]
        if names:
            return names
    except (OSError, KeyError, pickle.UnpicklingError, EOFError, TypeError, AttributeError):
        pass
    count = 20 if label_mode == "coarse" else 100
    count = max(count, int(labels.max()) + 1 if len(labels) else 0)
    return [f"class {i}" for i in range(count)]


def _load_texts(block, loss, validation_split, progress):
    name = block["name"]
    module = getattr(keras.datasets, name)
    kwargs = {
        "num_words": block["num_words"] or None,
        "skip_top": block["skip_top"],
        "maxlen": block["maxlen"] or None,
        "seed": block["seed"],
    }
    if name == "reuters":
        kwargs["test_split"] = block["test_split"]
    try:
        (x_train, y_train), (x_test, y_test) = call_loader(
            module.load_data, _label(name), progress, **kwargs
        )
    except DatasetError as error:
        if "no sequence was kept" in str(error):
            raise DatasetError(
                f"No {name} text is shorter than maxlen={block['maxlen']}.",
                field="maxlen",
                fix="Increase maxlen, or leave it empty to keep every text.",
            ) from error
        raise
    word_index = call_loader(module.get_word_index, _label(name), progress)
    if progress is not None:
        progress(f"Encoding {_TITLES[name]}", None)
    y_train = np.asarray(y_train).reshape(-1).astype("int64")
    y_test = np.asarray(y_test).reshape(-1).astype("int64")
    width = block["num_words"] or 1 + max(
        (max(s) for s in (*x_train, *x_test) if len(s)), default=3
    )
    vocabulary = list(_SPECIAL_TOKENS) + [""] * max(0, width - len(_SPECIAL_TOKENS))
    for word, rank in word_index.items():
        token = rank + 3
        if len(_SPECIAL_TOKENS) <= token < width:
            vocabulary[token] = word
    vocabulary = vocabulary[:width]
    if name == "imdb":
        class_names, task = ["negative", "positive"], "binary"
    else:
        class_names = list(module.get_label_names())
        task = "multiclass"
    encoding = block["encoding"]
    keep, val = tail_rows(len(x_train), validation_split)
    length = block["sequence_length"]

    def store(sequences):
        if encoding == "multi_hot":
            return MultiHotStore(sequences, width)
        padded = keras.utils.pad_sequences(list(sequences), maxlen=length, dtype="int32")
        return ArrayStore(padded)

    parts = {
        "train": (store(x_train[keep]), y_train[keep]),
        "validation": (store(x_train[val]), y_train[val]),
        "test": (store(x_test), y_test),
    }
    first_texts = [list(x_train[i]) for i in range(min(_SAMPLE_COUNT, len(x_train)))]
    del x_train, x_test
    release_free_memory()

    def decode(tokens) -> str:
        words = [vocabulary[t] if 0 <= t < width else "<oov>" for t in tokens if t > 1]
        return " ".join("?" if w == "<oov>" else w for w in words)

    def describe(x_row) -> Sample:
        row = np.asarray(x_row)
        if encoding == "multi_hot":
            present = np.flatnonzero(row > 0)
            return Sample("text", "Words present: " + decode(present), "")
        return Sample("text", decode(row[row > 0]), "")

    skip_top = block["skip_top"]

    def encode(raw) -> np.ndarray:
        texts = [raw] if isinstance(raw, str) else list(raw)
        sequences = []
        for text in texts:
            tokens = [1]
            for word in re.findall(r"[a-z0-9']+", str(text).lower()):
                token = word_index.get(word, -10) + 3
                tokens.append(token if skip_top <= token < width and token > 3 else 2)
            sequences.append(tokens)
        if encoding == "multi_hot":
            return MultiHotStore(sequences, width).take(np.arange(len(sequences)))
        return keras.utils.pad_sequences(sequences, maxlen=length, dtype="int32")

    samples = [
        Sample("text", decode(tokens), class_names[int(y_train[i])])
        for i, tokens in enumerate(first_texts)
    ]
    if encoding == "multi_hot":
        note = f"multi-hot vectors over {width:,} words (built per batch)"
        input_shape, dtype = (width,), "float32"
    else:
        note = f"word-index sequences padded/cut to {length} words (vocabulary {width:,})"
        input_shape, dtype = (length,), "int32"
    return assemble(
        block,
        title=_TITLES[name],
        task=task,
        parts=parts,
        loss=loss,
        input_shape=input_shape,
        dtype=dtype,
        input_note=note,
        class_names=class_names,
        samples=samples,
        vocabulary=vocabulary,
        describer=describe,
        encoder=encode,
    )


def _load_boston(block, loss, validation_split, progress):
    name = "boston_housing"
    (x_train, y_train), (x_test, y_test) = call_loader(
        keras.datasets.boston_housing.load_data,
        _label(name),
        progress,
        test_split=block["test_split"],
        seed=block["seed"],
    )
    columns = list(BOSTON_COLUMNS[: x_train.shape[1]])
    keep, val = tail_rows(len(x_train), validation_split)
    scaler = Standardizer(x_train[keep], enabled=block["normalize"])
    parts = {
        "train": (ArrayStore(scaler.apply(x_train[keep])), y_train[keep]),
        "validation": (ArrayStore(scaler.apply(x_train[val])), y_train[val]),
        "test": (ArrayStore(scaler.apply(x_test)), y_test),
    }

    def describe(x_row) -> Sample:
        values = scaler.invert(np.asarray(x_row).reshape(-1))
        return Sample("row", dict(zip(columns, (float(v) for v in values), strict=True)), "")

    def encode(raw) -> np.ndarray:
        if isinstance(raw, dict):
            missing = [c for c in columns if c not in raw]
            if missing:
                raise DatasetError(f"The new row lacks the columns {', '.join(missing)}.")
            raw = [float(raw[c]) for c in columns]
        values = np.asarray(raw, dtype="float64").reshape(-1, len(columns))
        return scaler.apply(values)

    samples = [
        Sample(
            "row",
            dict(zip(columns, (float(v) for v in x_train[i]), strict=True)),
            f"{float(y_train[i]):.4g}",
        )
        for i in range(min(_SAMPLE_COUNT, len(x_train)))
    ]
    note = f"{len(columns)} features" + (" z-scored" if block["normalize"] else "")
    return assemble(
        block,
        title=_TITLES[name],
        task="regression",
        parts=parts,
        loss=loss,
        input_shape=(len(columns),),
        dtype="float32",
        input_note=note,
        samples=samples,
        describer=describe,
        encoder=encode,
        notes=("Target: median home value in $1000s.",),
    )
