"""One's own arrays in a ``.npz`` file: x_train, y_train [, x_val, y_val] [, x_test, y_test].

Arrays are used as they are (float64 becomes float32). Labels: integers are classes (k = the
largest label + 1), floats are regression targets, a 2-D 0/1 array whose rows each hold a single
1 is one-hot classes, other 2-D 0/1 arrays are multilabel. ``task`` overrides the guess.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from engine.datasets.base import ArrayStore, Sample, tail_rows
from engine.datasets.build import assemble
from engine.datasets.labels import check_finite
from engine.errors import DatasetError

_PAIRS = (
    ("train", "x_train", "y_train"),
    ("validation", "x_val", "y_val"),
    ("test", "x_test", "y_test"),
)
_SAMPLE_COUNT = 8


def _read(path: Path) -> dict[str, np.ndarray]:
    if not path.exists():
        raise DatasetError(f"The file {path} does not exist.", field="path")
    if path.stat().st_size == 0:
        raise DatasetError(f"The file {path} is empty.", field="path")
    if not zipfile.is_zipfile(path):
        raise DatasetError(
            f"The file {path} is not a readable .npz file (it is not a zip archive of arrays).",
            field="path",
            fix="Save it with numpy.savez or numpy.savez_compressed.",
        )
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except ValueError as error:
        if "allow_pickle" in str(error):
            raise DatasetError(
                f"The file {path} holds an object array (Python objects, not numbers), which "
                "LayerLab does not unpickle.",
                field="path",
                fix="Save plain numeric arrays (e.g. pad ragged sequences first).",
            ) from error
        raise DatasetError(
            f"The file {path} is not a readable .npz file ({error}).", field="path"
        ) from error
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        raise DatasetError(
            f"The file {path} is not a readable .npz file ({error}).",
            field="path",
            fix="Save it with numpy.savez or numpy.savez_compressed.",
        ) from error


def _canonical_labels(
    y: np.ndarray, requested: str, path: Path
) -> tuple[np.ndarray, str, int | None]:
    """(canonical labels of all parts stacked, task, num_classes)."""
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim == 2:
        binary = np.isin(y, (0, 1)).all()
        one_hot = binary and (y.sum(axis=1) == 1).all()
        if requested in ("binary", "multiclass") or (requested == "auto" and one_hot):
            if not one_hot:
                raise DatasetError(
                    f"The labels in {path} are a 2-D array but not one-hot (one 1 per row).",
                    field="task",
                    fix="Use multilabel or regression for several targets per example.",
                )
            k = y.shape[1]
            task = requested if requested != "auto" else "binary" if k == 2 else "multiclass"
            return y.argmax(axis=1).astype("int64"), task, k
        if requested == "multilabel" or (requested == "auto" and binary):
            return y.astype("float32"), "multilabel", y.shape[1]
        return y.astype("float32"), "regression", None
    if y.ndim != 1:
        raise DatasetError(f"The labels in {path} must be 1-D or 2-D; they have shape {y.shape}.")
    integral = y.dtype.kind in "iub" or (
        y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all()
    )
    if requested == "regression" or (requested == "auto" and y.dtype.kind not in "iub"):
        return y.astype("float32"), "regression", None
    if requested == "multilabel":
        raise DatasetError("Multilabel needs 2-D labels (one 0/1 column per label).", field="task")
    if not integral:
        raise DatasetError(
            f"The labels in {path} are not whole numbers, so they cannot be classes.",
            field="task",
            fix="Set the task to regression, or store class numbers 0 … k-1.",
        )
    labels = y.astype("int64")
    k = int(labels.max()) + 1 if len(labels) else 0
    task = requested if requested != "auto" else "binary" if k == 2 else "multiclass"
    return labels, task, k


def load(block: dict, loss, validation_split: float, progress):
    path = Path(block["path"]).expanduser()
    arrays = _read(path)
    for _, x_name, y_name in _PAIRS:
        if (x_name in arrays) != (y_name in arrays):
            present, absent = (x_name, y_name) if x_name in arrays else (y_name, x_name)
            raise DatasetError(f"The file {path} has {present} but no {absent}.", field="path")
    if "x_train" not in arrays:
        raise DatasetError(
            f"The file {path} has no x_train/y_train arrays (it has: "
            f"{', '.join(arrays) or 'nothing'}).",
            field="path",
            fix="Save the arrays with numpy.savez(path, x_train=..., y_train=..., x_test=..., "
            "y_test=...).",
        )
    xs, ys = {}, {}
    for part, x_name, y_name in _PAIRS:
        if x_name not in arrays:
            continue
        x, y = arrays[x_name], arrays[y_name]
        if len(x) != len(y):
            raise DatasetError(
                f"In {path}, {x_name} has {len(x)} rows but {y_name} has {len(y)}.", field="path"
            )
        if x.dtype.kind not in "iubf":
            raise DatasetError(
                f"In the file {path}, {x_name} must hold numbers, not {x.dtype}.", field="path"
            )
        if x.dtype.kind == "f":
            x = x.astype("float32")
        check_finite(x, f"In the file {path}, {x_name}")
        if y.dtype.kind == "f":
            check_finite(y, f"In the file {path}, {y_name}")
        if len(x) == 0:
            raise DatasetError(f"In the file {path}, {x_name} has no rows.", field="path")
        xs[part], ys[part] = x, y
    shapes = {x.shape[1:] for x in xs.values()}
    if len(shapes) > 1:
        raise DatasetError(
            f"The x arrays in {path} have different shapes per example: "
            + ", ".join(f"{p} {x.shape[1:]}" for p, x in xs.items())
            + ".",
            field="path",
        )
    order = list(ys)
    stacked = np.concatenate([ys[p] for p in order])
    labels, task, k = _canonical_labels(stacked, block["task"], path)
    cut = np.cumsum([len(ys[p]) for p in order])[:-1]
    labels_by_part = dict(zip(order, np.split(labels, cut), strict=True))
    if "validation" not in xs:
        keep, val = tail_rows(len(xs["train"]), validation_split)
        xs["validation"], labels_by_part["validation"] = (
            xs["train"][val],
            labels_by_part["train"][val],
        )
        xs["train"], labels_by_part["train"] = xs["train"][keep], labels_by_part["train"][keep]
    parts = {
        p: (ArrayStore(xs[p]), labels_by_part[p])
        for p in ("train", "validation", "test")
        if p in xs
    }
    class_names = [str(i) for i in range(k)] if task in ("binary", "multiclass") else None
    x_train = xs["train"]

    def show(row: np.ndarray, label: str) -> Sample:
        if row.ndim == 3 and row.shape[-1] in (1, 3):
            image = row.astype("float64")
            if image.max(initial=0) <= 1.0:
                image = image * 255.0
            return Sample("image", np.clip(image, 0, 255).astype("uint8"), label)
        if row.ndim == 2:
            return Sample("image", np.clip(row, 0, 255).astype("uint8")[..., None], label)
        return Sample("vector", row.reshape(-1), label)

    def label_text(value) -> str:
        if class_names is not None:
            return class_names[int(value)]
        return np.array2string(np.asarray(value), precision=4)

    samples = [
        show(x_train[i], label_text(labels_by_part["train"][i]))
        for i in range(min(_SAMPLE_COUNT, len(x_train)))
    ]
    return assemble(
        block,
        title=path.name,
        task=task,
        parts=parts,
        loss=loss,
        input_shape=x_train.shape[1:],
        dtype=str(x_train.dtype),
        input_note="arrays as stored",
        class_names=class_names,
        num_classes=k,
        samples=samples,
        describer=lambda row: show(np.asarray(row), ""),
    )
