"""Datasets: Keras's built-in sets, scikit-learn samples, CSV, time series, folders, .npz.

``load_dataset(block, loss=..., validation_split=...)`` turns a project's ``"dataset"`` block
into a ``Dataset`` with train/validation/test parts whose labels follow the loss, plus what the
GUI shows (description, samples) and what prediction needs (``encode_inputs``). Every user
mistake is a ``DatasetError`` naming the file, column or row and the fix; nothing is returned
half-loaded. ``source_options`` describes each source's fields for the form.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.datasets.options import (
    SOURCES,
    OptionInfo,
    dataset_names,
    resolve_block,
    source_options,
)
from engine.errors import DatasetError

if TYPE_CHECKING:
    from engine.datasets.base import Dataset, Sample
    from engine.datasets.fetch import cache_dir
    from engine.datasets.head import HeadSuggestion, suggest_head

# Imported on first use: they import Keras, and ``engine.datasets.options`` / ``.probe`` must
# stay usable (by the window, before TensorFlow is loaded) without it.
_LAZY = {
    "Dataset": "engine.datasets.base",
    "Sample": "engine.datasets.base",
    "cache_dir": "engine.datasets.fetch",
    "HeadSuggestion": "engine.datasets.head",
    "suggest_head": "engine.datasets.head",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'engine.datasets' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "SOURCES",
    "Dataset",
    "DatasetError",
    "HeadSuggestion",
    "OptionInfo",
    "Sample",
    "cache_dir",
    "dataset_names",
    "load_dataset",
    "source_options",
    "suggest_head",
]


def _loader(source: str):
    from engine.datasets import (
        image_folder,
        keras_builtin,
        npz,
        samples,
        tabular,
        text_folder,
        timeseries,
    )

    return {
        "keras": keras_builtin.load,
        "sample": samples.load,
        "csv": tabular.load,
        "timeseries": timeseries.load,
        "text_folder": text_folder.load,
        "image_folder": image_folder.load,
        "npz": npz.load,
    }[source]


def load_dataset(
    block: dict,
    *,
    loss: str | None = None,
    validation_split: float = 0.0,
    progress: Callable[[str, float | None], None] | None = None,
    cancel=None,
) -> Dataset:
    """Load the dataset a block describes; labels follow ``loss``.

    The validation part is the source's own (time-series split, a validation/ folder, x_val in
    an .npz) or else the last ``validation_split`` of the training part, as Keras's
    ``validation_split`` would cut it (done here because Keras cannot split a PyDataset).
    ``progress(message, fraction or None)`` reports downloads and long reads. ``cancel``: a
    ``threading.Event``; once set, the load stops at its next progress report with
    ``engine.datasets.cancel.LoadCancelled``. Running out of memory while reading is a
    DatasetError that says what to make smaller.
    """
    from engine.datasets.cancel import cancellable, check

    if isinstance(validation_split, bool) or not 0.0 <= float(validation_split) < 1.0:
        raise DatasetError(
            f"The validation split {validation_split!r} must be a fraction from 0 up to (not "
            "including) 1.",
            field="validation_split",
        )
    resolved = resolve_block(block)
    check(cancel)
    try:
        dataset = _loader(resolved["source"])(
            resolved, loss, float(validation_split), cancellable(progress, cancel)
        )
    except MemoryError as error:  # numpy's _ArrayMemoryError too
        raise _out_of_memory(resolved) from error
    check(cancel)
    dataset.block = dict(block)
    return dataset


_SMALLER = {
    "csv": "use a file with fewer rows, or fewer feature columns",
    "timeseries": "use a file with fewer rows or columns, or a shorter window",
    "image_folder": "use a smaller image_size, grayscale, or fewer images",
    "text_folder": "use fewer texts, or a smaller max_tokens",
    "keras": "use a smaller num_words (text sets) or another set",
    "npz": "use a smaller file (fewer rows)",
    "sample": "use a smaller set",
}


def _out_of_memory(block: dict) -> DatasetError:
    source = block.get("source")
    what = block.get("path") or block.get("name") or "the dataset"
    return DatasetError(
        f"There is not enough memory to load {what}: the data is too large for this "
        "computer's memory (the batch size does not matter here).",
        field="path" if block.get("path") else None,
        fix=f"To load it, {_SMALLER.get(source, 'use a smaller dataset')}.",
    )
