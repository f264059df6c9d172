"""Small real datasets that ship inside scikit-learn, so LayerLab trains offline on first launch."""

from __future__ import annotations

import numpy as np
from sklearn import datasets as sk_datasets

from engine.datasets.base import ArrayStore, Sample, split_rows, tail_rows
from engine.datasets.build import Standardizer, assemble
from engine.errors import DatasetError

_LOADERS = {
    "digits": (sk_datasets.load_digits, "Handwritten digits (8×8)"),
    "iris": (sk_datasets.load_iris, "Iris flowers"),
    "wine": (sk_datasets.load_wine, "Wine cultivars"),
    "breast_cancer": (sk_datasets.load_breast_cancer, "Breast cancer diagnosis"),
    "diabetes": (sk_datasets.load_diabetes, "Diabetes progression"),
}
_SAMPLE_COUNT = 8


def load(block: dict, loss, validation_split: float, progress):
    name = block["name"]
    loader, title = _LOADERS[name]
    bunch = loader()
    x = np.asarray(bunch.data, dtype="float64")
    y = np.asarray(bunch.target)
    columns = [str(c) for c in bunch.feature_names]
    regression = name == "diabetes"
    if regression:
        task, class_names = "regression", None
    else:
        class_names = [str(c) for c in bunch.target_names]
        task = "binary" if len(class_names) == 2 else "multiclass"
        y = y.astype("int64")
    keep, test = split_rows(len(x), block["test_split"], block["seed"])
    keep = np.random.default_rng(block["seed"]).permutation(keep)
    first, val = tail_rows(len(keep), validation_split)
    rows = {"train": keep[first], "validation": keep[val], "test": test}
    normalize = block["normalize"]
    if name == "digits":
        # Pixel intensities 0..16: scaling keeps them images (and comparable to MNIST's [0, 1]).
        scale = 16.0 if normalize else 1.0

        def to_inputs(values):
            return (np.asarray(values, dtype="float64") / scale).astype("float32")

        def from_inputs(values):
            return np.asarray(values, dtype="float64") * scale

        note = "8×8 images as 64 pixel values" + (" scaled to [0, 1]" if normalize else "")
    else:
        scaler = Standardizer(x[rows["train"]], enabled=normalize)
        to_inputs, from_inputs = scaler.apply, scaler.invert
        note = f"{len(columns)} measurements" + (" z-scored" if normalize else "")
    parts = {part: (ArrayStore(to_inputs(x[r])), y[r]) for part, r in rows.items()}

    def label_of(value) -> str:
        return f"{float(value):.4g}" if class_names is None else class_names[int(value)]

    def display(raw_row: np.ndarray, label: str) -> Sample:
        if name == "digits":
            pixels = np.clip(np.round(raw_row * 255.0 / 16.0), 0, 255).astype("uint8")
            return Sample("image", pixels.reshape(8, 8, 1), label)
        return Sample("row", dict(zip(columns, (float(v) for v in raw_row), strict=True)), label)

    def describe(x_row) -> Sample:
        return display(from_inputs(np.asarray(x_row).reshape(-1)), "")

    def encode(raw) -> np.ndarray:
        if isinstance(raw, dict):
            missing = [c for c in columns if c not in raw]
            if missing:
                raise DatasetError(f"The new row lacks the columns {', '.join(missing)}.")
            raw = [float(raw[c]) for c in columns]
        values = np.asarray(raw, dtype="float64").reshape(-1, len(columns))
        return to_inputs(values)

    samples = [display(x[i], label_of(y[i])) for i in rows["train"][:_SAMPLE_COUNT]]
    return assemble(
        block,
        title=f"{title} (scikit-learn sample)",
        task=task,
        parts=parts,
        loss=loss,
        input_shape=(len(columns),),
        dtype="float32",
        input_note=note,
        class_names=class_names,
        samples=samples,
        describer=describe,
        encoder=encode,
    )
