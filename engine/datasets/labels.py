"""Labels that follow the chosen loss, checked before any training starts.

Every source hands over labels in one canonical form: class indices (int64, 1-D) for binary and
multiclass tasks, a 0/1 matrix for multilabel, float targets for regression. ``adapt_labels``
turns them into what the loss expects (one-hot for ``categorical_crossentropy``, integers for
``sparse_categorical_crossentropy``, 0/1 floats for ``binary_crossentropy``) or raises a
DatasetError that names the loss to pick instead.
"""

from __future__ import annotations

import re

import numpy as np

from engine.errors import DatasetError

TASKS = ("binary", "multiclass", "multilabel", "regression")

_ONE_HOT_LOSSES = {
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_hinge",
    "kl_divergence",
}
_SPARSE_LOSSES = {"sparse_categorical_crossentropy"}
_BINARY_LOSSES = {"binary_crossentropy", "binary_focal_crossentropy", "hinge", "squared_hinge"}
_REGRESSION_LOSSES = {
    "mean_squared_error",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error",
    "huber",
    "log_cosh",
    "poisson",
    "cosine_similarity",
}
_ALIASES = {
    "mse": "mean_squared_error",
    "mae": "mean_absolute_error",
    "mape": "mean_absolute_percentage_error",
    "msle": "mean_squared_logarithmic_error",
    "kld": "kl_divergence",
    "kullback_leibler_divergence": "kl_divergence",
    "k_l_divergence": "kl_divergence",
    "logcosh": "log_cosh",
    "huber_loss": "huber",
}


def canonical_loss(loss) -> str | None:
    """A Keras loss name, class name or serialised loss dict as a snake_case function name."""
    if loss is None:
        return None
    if isinstance(loss, dict):
        config = loss.get("config")
        name = config.get("name") if isinstance(config, dict) else None
        loss = name or loss.get("class_name")
        if loss is None:
            return None
    name = str(loss).strip()
    if not name:
        return None
    snake = re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()
    return _ALIASES.get(snake, snake)


def _describe_classes(num_classes: int, class_names: list[str] | None) -> str:
    if class_names and len(class_names) <= 6:
        return f"{num_classes} classes ({', '.join(class_names)})"
    return f"{num_classes} classes"


def adapt_labels(
    labels: np.ndarray,
    task: str,
    num_classes: int | None,
    loss,
    class_names: list[str] | None = None,
) -> tuple[np.ndarray, str]:
    """(labels in the form ``loss`` expects, label encoding name).

    Encodings: "int" (class indices), "one_hot", "binary" (0/1 floats), "float" (targets).
    Unknown or custom losses keep the canonical form.
    """
    name = canonical_loss(loss)
    classification = task in ("binary", "multiclass")
    if name in _ONE_HOT_LOSSES:
        if not classification:
            raise _wrong_loss(name, task, num_classes, class_names)
        return _one_hot(labels, num_classes), "one_hot"
    if name in _SPARSE_LOSSES:
        if not classification:
            raise _wrong_loss(name, task, num_classes, class_names)
        return labels.astype("int32"), "int"
    if name in _BINARY_LOSSES:
        if task == "multilabel":
            return labels.astype("float32"), "binary"
        if task == "binary":
            return labels.astype("float32"), "binary"
        raise _wrong_loss(name, task, num_classes, class_names)
    if name in _REGRESSION_LOSSES:
        if task != "regression":
            raise _wrong_loss(name, task, num_classes, class_names)
        return labels.astype("float32"), "float"
    if classification:
        return labels.astype("int32"), "int"
    if task == "multilabel":
        return labels.astype("float32"), "binary"
    return labels.astype("float32"), "float"


def _one_hot(labels: np.ndarray, num_classes: int | None) -> np.ndarray:
    k = int(num_classes or (int(labels.max()) + 1 if len(labels) else 0))
    out = np.zeros((len(labels), k), dtype="float32")
    out[np.arange(len(labels)), labels.astype(np.int64)] = 1.0
    return out


def _wrong_loss(name: str, task: str, num_classes, class_names) -> DatasetError:
    if task == "regression":
        return DatasetError(
            f"The loss {name} is for class labels, but this dataset's target is a number "
            "(regression).",
            field="loss",
            fix="Pick mean_squared_error or mean_absolute_error, with a Dense(1) output layer.",
        )
    if task == "multilabel":
        return DatasetError(
            f"The loss {name} expects one class per example, but this dataset has several 0/1 "
            f"targets per example (multilabel, {num_classes} columns).",
            field="loss",
            fix="Pick binary_crossentropy, with a Dense(k, sigmoid) output layer.",
        )
    classes = _describe_classes(int(num_classes or 0), class_names)
    if name in _BINARY_LOSSES:
        return DatasetError(
            f"The loss {name} needs two classes (labels 0 and 1), but this dataset has {classes}.",
            field="loss",
            fix=(
                "Pick sparse_categorical_crossentropy (integer labels) or "
                "categorical_crossentropy (one-hot labels), with a Dense(k, softmax) output layer."
            ),
        )
    return DatasetError(
        f"The loss {name} is for numeric targets, but this dataset has {classes}.",
        field="loss",
        fix=(
            "Pick sparse_categorical_crossentropy (or binary_crossentropy for two classes), "
            "or choose a numeric target column."
        ),
    )


def check_class_labels(labels: np.ndarray, num_classes: int, where: str) -> None:
    """Refuse class indices that are not whole numbers in [0, num_classes); name the row."""
    if len(labels) == 0:
        return
    values = np.asarray(labels)
    if values.dtype.kind == "f":
        bad = ~np.isfinite(values) | (values != np.round(values))
        if bad.any():
            row = int(np.argmax(bad))
            raise DatasetError(
                f"The label in {where} row {row} is {values[row].item()!r}, not a class number.",
                fix="Class labels must be whole numbers 0 … k-1 (or set the task to regression).",
            )
    outside = (values < 0) | (values >= num_classes)
    if outside.any():
        row = int(np.argmax(outside))
        raise DatasetError(
            f"The label in {where} row {row} is {values[row].item()!r}, outside the class range "
            f"0 … {num_classes - 1}.",
            fix="Fix that label, or declare the right number of classes.",
        )


def check_several_classes(labels: np.ndarray, where: str) -> None:
    """A classifier needs at least two classes in its training data."""
    present = np.unique(labels)
    if len(present) < 2:
        only = present[0] if len(present) else "none"
        raise DatasetError(
            f"{where} has a single class ({only}): there is nothing to tell apart.",
            fix="Use data with at least two classes, or treat the target as a number (regression).",
        )


def check_finite(values: np.ndarray, where: str) -> None:
    """Refuse NaN or infinity in numeric arrays, naming the first row that has one."""
    if values.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad.reshape(len(values), -1).any(axis=1)))
        raise DatasetError(
            f"{where} row {row} contains NaN or infinity.",
            fix="Remove or fill those values before training.",
        )
