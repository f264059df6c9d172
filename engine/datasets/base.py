"""The loaded-dataset type and the storage behind it.

A ``Dataset`` holds up to three parts (train, validation, test). Each part pairs labels that
already follow the chosen loss with an *input store*: something that can turn a set of row
indices into a model-ready batch. Stores that are cheap to hold as one float array hand that
array to ``model.fit`` directly (the fastest path); the others (multi-hot text, images on disk,
text vectorised on the fly) feed ``fit`` through a ``keras.utils.PyDataset`` that builds each
batch when it is asked for, so no dense 25,000 x 10,000 matrix is ever made.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np

from engine.errors import DatasetError

PART_NAMES = ("train", "validation", "test")


@dataclass(frozen=True)
class Sample:
    """One raw example for display: an image array, a text, a CSV row, a vector or a series."""

    kind: str
    value: Any
    label: str


class Store:
    """Model inputs for one part; ``take`` returns the rows at ``indices`` ready for the model."""

    def __len__(self) -> int:
        raise NotImplementedError

    def take(self, indices: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def as_array(self) -> np.ndarray | None:
        """The whole part as one model-ready array, or None when it is built per batch."""
        return None

    def dataset(self, labels: np.ndarray, batch_size: int, shuffle: bool, seed):
        """A store's own input pipeline for ``fit`` (e.g. a tf.data set), or None to use
        ``Batches``."""
        return None


class ArrayStore(Store):
    """Inputs held in memory; ``scale`` (if set) converts stored integers to float32 per batch."""

    def __init__(self, array: np.ndarray, scale: float | None = None):
        self.array = array
        self.scale = scale

    def __len__(self) -> int:
        return len(self.array)

    def take(self, indices: np.ndarray) -> np.ndarray:
        rows = self.array[indices]
        if self.scale is None:
            return rows
        return rows.astype("float32") * np.float32(self.scale)

    def as_array(self) -> np.ndarray | None:
        return self.array if self.scale is None else None


class MultiHotStore(Store):
    """Token-id lists kept as one flat int32 array; each batch becomes a float32 multi-hot block.

    Memory is the token count (4 bytes each), not rows x width.
    """

    def __init__(self, sequences, width: int):
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        self.offsets = np.concatenate([[0], np.cumsum(lengths)])
        flat = np.fromiter(
            (t for s in sequences for t in s), dtype=np.int32, count=int(self.offsets[-1])
        )
        self.flat = flat
        self.width = width

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def sequence(self, i: int) -> np.ndarray:
        return self.flat[self.offsets[i] : self.offsets[i + 1]]

    def take(self, indices: np.ndarray) -> np.ndarray:
        indices = np.asarray(indices)
        out = np.zeros((len(indices), self.width), dtype="float32")
        starts, ends = self.offsets[indices], self.offsets[indices + 1]
        counts = ends - starts
        rows = np.repeat(np.arange(len(indices)), counts)
        first = np.repeat(starts - (np.cumsum(counts) - counts), counts)
        cols = self.flat[first + np.arange(int(counts.sum()))]
        keep = cols < self.width
        out[rows[keep], cols[keep]] = 1.0
        return out

    def dataset(self, labels: np.ndarray, batch_size: int, shuffle: bool, seed):
        from engine.datasets.pipelines import multi_hot_dataset

        return multi_hot_dataset(
            self.flat, self.offsets, self.width, labels, batch_size, shuffle, seed
        )


class Batches(keras.utils.PyDataset):
    """Feeds one part to ``fit``/``evaluate`` a batch at a time (reshuffled each epoch)."""

    def __init__(self, store: Store, labels: np.ndarray, batch_size: int, shuffle: bool, seed):
        super().__init__()
        self.store = store
        self.labels = labels
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(store))
        if shuffle:
            self._rng.shuffle(self._order)

    def __len__(self) -> int:
        return math.ceil(len(self.store) / self.batch_size)

    def __getitem__(self, index: int):
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        return self.store.take(rows), self.labels[rows]

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._rng.shuffle(self._order)


@dataclass
class Part:
    """One split: its input store and its labels (already in the loss's encoding)."""

    x: Store
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def feed(self, batch_size: int, shuffle: bool, seed) -> tuple[Any, Any, bool]:
        """(x, y, is_array): arrays for ``fit`` when cheap, else a PyDataset and None."""
        array = self.x.as_array()
        if array is not None:
            return array, self.y, True
        own = self.x.dataset(self.y, batch_size, shuffle, seed)
        if own is not None:
            return own, None, False
        return Batches(self.x, self.y, batch_size, shuffle, seed), None, False


@dataclass
class Dataset:
    """A loaded dataset: parts, shapes, task, labels and what the GUI shows about it."""

    block: dict
    input_shape: tuple
    dtype: str
    task: str
    num_classes: int | None
    class_names: list[str] | None
    label_encoding: str
    train_size: int
    val_size: int
    test_size: int
    description: str
    samples: list[Sample]
    vocabulary: list[str] | None = None
    baseline_mae: float | None = None
    parts: dict[str, Part] = field(default_factory=dict, repr=False)
    describer: Callable[[Any], Sample] | None = field(default=None, repr=False)
    encoder: Callable[[Any], np.ndarray] | None = field(default=None, repr=False)
    count_unit: str = ""

    def sizes(self) -> dict[str, int]:
        """Examples per part as ``fit``/``evaluate`` see them (windows for a time series)."""
        return {name: len(self.parts[name]) if name in self.parts else 0 for name in PART_NAMES}

    def sizes_text(self) -> str:
        """'384 train · 96 validation · 120 test' (+ the unit, e.g. 'windows'): the one text
        for these counts, used by the description and meant for every view."""
        sizes = self.sizes()
        text = " · ".join(f"{sizes[name]:,} {name}" for name in PART_NAMES)
        return f"{text} ({self.count_unit})" if self.count_unit else text

    def fit_arguments(self, batch_size: int, shuffle: bool, seed: int | None) -> dict:
        """Keyword arguments for ``model.fit``: training data and validation data."""
        x, y, is_array = self.parts["train"].feed(batch_size, shuffle, seed)
        args: dict[str, Any] = {"x": x}
        if is_array:
            args.update(y=y, batch_size=batch_size, shuffle=shuffle)
        else:
            # The feed shuffles rows itself; Keras's own shuffle would reorder its batches
            # (PyDataset) or warn (tf.data).
            args["shuffle"] = False
        val = self.parts.get("validation")
        if val is not None and len(val):
            vx, vy, v_array = val.feed(batch_size, False, seed)
            if v_array:
                args["validation_data"] = (vx, vy)
                args["validation_batch_size"] = batch_size
            else:
                args["validation_data"] = vx
        return args

    def evaluate_arguments(self, batch_size: int) -> dict | None:
        """Keyword arguments for ``model.evaluate`` on the test part; None without one."""
        test = self.parts.get("test")
        if test is None or not len(test):
            return None
        x, y, is_array = test.feed(batch_size, False, None)
        if is_array:
            return {"x": x, "y": y, "batch_size": batch_size}
        return {"x": x}

    def test_arrays(self, limit: int | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """The first ``limit`` test rows (all if None) as model inputs and labels."""
        test = self.parts.get("test")
        if test is None or not len(test):
            return None
        n = len(test) if limit is None else min(int(limit), len(test))
        rows = np.arange(n)
        return test.x.take(rows), test.y[rows]

    def describe_input(self, x_row) -> Sample:
        """A single model input row turned back into something to display."""
        if self.describer is None:
            return Sample("vector", np.asarray(x_row), "")
        return self.describer(x_row)

    def encode_inputs(self, raw) -> np.ndarray:
        """New raw input (text, image path, dict row...) encoded like the training inputs.

        Returns a batch of one (or more) rows; raises DatasetError when ``raw`` cannot be used.
        """
        if self.encoder is None:
            array = np.asarray(raw, dtype="float32")
            expected = tuple(self.input_shape)
            if array.shape == expected:
                return array[None, ...]
            if array.shape[1:] == expected:
                return array
            raise DatasetError(
                f"The input has shape {array.shape}; this dataset's inputs have shape {expected}."
            )
        return self.encoder(raw)


def split_rows(
    n: int, fraction: float, seed, shuffle: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (kept, split-off): ``fraction`` of ``n`` rows, drawn at random with ``seed``."""
    order = np.arange(n, dtype=_index_dtype(n))
    if shuffle:
        np.random.default_rng(seed).shuffle(order)
    cut = n - round(n * fraction)
    return np.sort(order[:cut]), np.sort(order[cut:])


def tail_rows(n: int, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(first rows, last ``fraction`` of rows), as Keras's ``validation_split`` cuts."""
    cut = n - round(n * fraction)
    return np.arange(cut, dtype=_index_dtype(n)), np.arange(cut, n, dtype=_index_dtype(n))


def _index_dtype(n: int) -> str:
    """int32 row indices where they fit (half the memory of int64 for a large table)."""
    return "int32" if n < 2**31 - 1 else "int64"


def class_balance(labels: np.ndarray, class_names: list[str], limit: int = 10) -> str:
    """'name 48.0 %, name 52.0 %' for the most frequent classes of integer ``labels``."""
    if len(labels) == 0:
        return "no rows"
    counts = np.bincount(labels.astype(np.int64), minlength=len(class_names))
    order = np.argsort(-counts, kind="stable")[:limit]
    text = ", ".join(f"{class_names[i]} {100 * counts[i] / len(labels):.1f} %" for i in order)
    if len(class_names) > limit:
        text += f", … ({len(class_names) - limit} more)"
    return text


def release_free_memory(collect: bool = True) -> None:
    """Hand freed memory back to the OS (glibc keeps freed heap otherwise).

    Loaders that build and drop large temporaries (the IMDB/Reuters loaders' lists of Python
    ints, a large CSV's columns once encoded) call this so the process does not keep them.
    """
    if collect:
        gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
