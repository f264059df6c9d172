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


def _label_range(dataset) -> tuple[int, int] | None:
    """(smallest, largest) class index over every part's integer labels, or None."""
    low, high = None, None
    for part in getattr(dataset, "parts", {}).values():
        y = np.asarray(part.y)
        if y.size == 0 or y.ndim != 1:
            continue
        part_low, part_high = float(y.min()), float(y.max())
        low = part_low if low is None else min(low, part_low)
        high = part_high if high is None else max(high, part_high)
    if low is None or high is None:
        return None
    return int(low), int(high)


def _label_width(dataset) -> int | None:
    """The width of 2-D labels (one-hot, multilabel, several targets); 1 for 1-D labels."""
    for part in getattr(dataset, "parts", {}).values():
        y = np.asarray(part.y)
        if y.ndim == 1:
            return 1
        if y.ndim == 2:
            return int(y.shape[1])
    return None


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def check_labels_fit_output(dataset, output_units, loss) -> None:
    """Refuse, before ``fit``, labels that the model's last layer cannot produce.

    ``output_units`` is the size of the model's last axis (``model.output_shape[-1]``);
    ``loss`` the compile block's loss. Keras would otherwise fail mid-epoch with
    ``indices[0] = 7 is not in [0, 5)`` or, for a regression target, silently broadcast.
    Raises a ``TrainingError`` that names the labels, the class count and the change to make.
    Custom or unknown losses are not checked.
    """
    from engine.errors import TrainingError

    if output_units is None:
        return
    units = int(output_units)
    name = canonical_loss(loss)
    if name is None:
        return
    fix_suffix = ", or use Suggest (output layer, loss and metrics)."

    def refuse(message: str, fix: str) -> TrainingError:
        return TrainingError(message, field="model", fix=fix)

    if name in _SPARSE_LOSSES:
        span = _label_range(dataset)
        if span is None:
            return
        _low, high = span
        if high >= units:
            classes = high + 1
            raise refuse(
                f"The labels go up to {high} ({classes} classes) but the output layer has "
                f"{_plural(units, 'unit')} (it can only predict classes 0 … {units - 1}).",
                f"Set the last Dense to {classes} units with softmax{fix_suffix}",
            )
        return
    if name in _ONE_HOT_LOSSES:
        width = _label_width(dataset)
        if width is None:
            return
        if width == 1:
            span = _label_range(dataset)
            top = f"go up to {span[1]}" if span else "are class numbers"
            raise refuse(
                f"The loss {name} needs one-hot labels, but the labels {top} (one class "
                "number per example).",
                f"Pick sparse_categorical_crossentropy for class numbers{fix_suffix}",
            )
        if width != units:
            raise refuse(
                f"The labels are one-hot vectors of width {width} ({width} classes) but the "
                f"output layer has {_plural(units, 'unit')}.",
                f"Set the last Dense to {width} units with softmax{fix_suffix}",
            )
        return
    if name in _BINARY_LOSSES:
        width = _label_width(dataset)
        if width is None:
            return
        if width == 1:
            span = _label_range(dataset)
            if span is not None and (span[0] < 0 or span[1] > 1):
                classes = span[1] + 1
                raise refuse(
                    f"The labels go up to {span[1]} ({classes} classes) but {name} with a "
                    f"{_plural(units, 'unit')} output expects labels 0 and 1.",
                    f"Use sparse_categorical_crossentropy and set the last Dense to {classes} "
                    f"units with softmax{fix_suffix}",
                )
            if units != 1:
                raise refuse(
                    f"The labels are one 0/1 value per example (two classes) but the output "
                    f"layer has {units} units.",
                    f"Set the last Dense to 1 unit with sigmoid{fix_suffix}",
                )
        elif width != units:
            raise refuse(
                f"The labels are {width} 0/1 targets per example but the output layer has "
                f"{_plural(units, 'unit')}.",
                f"Set the last Dense to {width} units with sigmoid{fix_suffix}",
            )
        return
    if name in _REGRESSION_LOSSES:
        width = _label_width(dataset)
        if width is not None and width != units and getattr(dataset, "task", "") == "regression":
            targets = "one number" if width == 1 else f"{width} numbers"
            raise refuse(
                f"The target is {targets} per example but the output layer has "
                f"{_plural(units, 'unit')}.",
                f"Set the last Dense to {_plural(width, 'unit')}{fix_suffix}",
            )
