"""Putting a loaded source together: label checks, loss adaptation and the description."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from engine.datasets.base import ArrayStore, Dataset, Part, Sample, Store, class_balance
from engine.datasets.labels import adapt_labels, check_class_labels, check_several_classes

# Float32 inputs up to this size are held as one array (fastest for fit); larger image sets stay
# uint8 and are scaled per batch.
MATERIALISE_LIMIT_BYTES = 400 * 1024 * 1024


def image_store(images: np.ndarray, rescale: bool):
    """An ArrayStore for uint8 images: float32 in memory when small, else scaled per batch."""
    if not rescale:
        return ArrayStore(images.astype("float32"))
    if images.size * 4 <= MATERIALISE_LIMIT_BYTES:
        return ArrayStore(images.astype("float32") / np.float32(255.0))
    return ArrayStore(images, scale=1.0 / 255.0)


def assemble(
    block: dict,
    *,
    title: str,
    task: str,
    parts: dict[str, tuple[Store, np.ndarray]],
    loss,
    input_shape: tuple,
    dtype: str,
    input_note: str,
    class_names: list[str] | None = None,
    samples: list[Sample] | None = None,
    vocabulary: list[str] | None = None,
    baseline_mae: float | None = None,
    describer: Callable[[Any], Sample] | None = None,
    encoder: Callable[[Any], np.ndarray] | None = None,
    notes: tuple[str, ...] = (),
    num_classes: int | None = None,
    count_unit: str = "",
) -> Dataset:
    """A Dataset from parts holding canonical labels (see ``labels``); checks, then adapts."""
    if task in ("binary", "multiclass"):
        num_classes = num_classes or len(class_names or [])
        for name, (_, labels) in parts.items():
            check_class_labels(labels, num_classes, f"the {name} part")
        check_several_classes(parts["train"][1], "The training part")
    elif task == "multilabel":
        num_classes = int(parts["train"][1].shape[1])
    else:
        num_classes = None
    adapted: dict[str, Part] = {}
    encoding = "float"
    for name, (store, labels) in parts.items():
        y, encoding = adapt_labels(labels, task, num_classes, loss, class_names)
        adapted[name] = Part(store, y)
    sizes = {
        name: len(adapted[name]) if name in adapted else 0
        for name in ("train", "validation", "test")
    }
    lines = [
        "",  # the counts: filled in from the Dataset itself below (one source)
        f"Inputs: {input_note}, shape {tuple(input_shape)}, {dtype}.",
    ]
    if task in ("binary", "multiclass") and class_names:
        lines.append(
            f"{task.capitalize()}, {num_classes} classes: "
            f"{class_balance(parts['train'][1], class_names)} (training part)."
        )
    elif task == "multilabel":
        lines.append(f"Multilabel: {num_classes} 0/1 targets per example.")
    else:
        train_y = parts["train"][1].astype("float64")
        lines.append(
            f"Regression target: mean {train_y.mean():.4g}, std {train_y.std():.4g} "
            "(training part)."
        )
    lines.append(f"Labels: {_encoding_note(encoding)}.")
    lines.extend(notes)
    dataset = Dataset(
        block=dict(block),
        input_shape=tuple(int(d) for d in input_shape),
        dtype=dtype,
        task=task,
        num_classes=num_classes,
        class_names=list(class_names) if class_names else None,
        label_encoding=encoding,
        train_size=sizes["train"],
        val_size=sizes["validation"],
        test_size=sizes["test"],
        description="\n".join(lines),
        samples=samples or [],
        vocabulary=vocabulary,
        baseline_mae=baseline_mae,
        parts=adapted,
        describer=describer,
        encoder=encoder,
        count_unit=count_unit,
    )
    lines[0] = f"{title}: {dataset.sizes_text()}."
    dataset.description = "\n".join(lines)
    return dataset


def _encoding_note(encoding: str) -> str:
    return {
        "int": "class indices (integers)",
        "one_hot": "one-hot vectors",
        "binary": "0/1 floats",
        "float": "numbers",
    }[encoding]


def class_name_of(class_names: list[str] | None, label) -> str:
    """A display name for a canonical label."""
    if class_names is None:
        value = np.asarray(label)
        return f"{float(value):.4g}" if value.ndim == 0 else np.array2string(value, precision=3)
    return class_names[int(label)]


class Standardizer:
    """Feature-wise z-scoring with statistics from the training rows (std 0 counts as 1)."""

    def __init__(self, train: np.ndarray, enabled: bool = True):
        columns = train.shape[1:] if train.ndim > 1 else ()
        if enabled and len(train):
            self.mean = train.mean(axis=0).astype("float64")
            std = train.std(axis=0).astype("float64")
            self.std = np.where(std > 0, std, 1.0)
        else:
            self.mean = np.zeros(columns)
            self.std = np.ones(columns)

    def apply(self, values: np.ndarray) -> np.ndarray:
        return ((np.asarray(values, dtype="float64") - self.mean) / self.std).astype("float32")

    def invert(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype="float64") * self.std + self.mean
