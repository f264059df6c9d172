"""Text files in one sub-folder per class (the aclImdb layout), vectorised with TextVectorization.

The vocabulary is learned from the training texts only and returned in ``Dataset.vocabulary``;
when the block already carries one (``block["vocabulary"]``, stored with the project) it is used
as is, so predictions on new text after reopening a project encode words the same way. Texts
stay strings in memory and are vectorised per batch: a multi-hot 25,000 x 10,000 matrix is never
built.
"""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np

from engine.datasets.base import Sample, Store
from engine.datasets.build import assemble
from engine.datasets.folders import find_layout, list_files, part_indices
from engine.errors import DatasetError

TEXT_SUFFIXES = (".txt",)
_SAMPLE_COUNT = 8
_ADAPT_BATCH = 512


class TextStore(Store):
    """Raw texts; ``take`` runs the TextVectorization layer on the requested rows."""

    def __init__(self, texts: np.ndarray, vectorizer, dtype: str):
        self.texts = texts
        self.vectorizer = vectorizer
        self.dtype = dtype

    def __len__(self) -> int:
        return len(self.texts)

    def take(self, indices: np.ndarray) -> np.ndarray:
        return vectorize(self.vectorizer, self.texts[np.asarray(indices)].astype(str))

    def dataset(self, labels: np.ndarray, batch_size: int, shuffle: bool, seed):
        from engine.datasets.pipelines import text_dataset

        return text_dataset(
            self.texts, labels, self.vectorizer, self.dtype, batch_size, shuffle, seed
        )


def vectorize(vectorizer, texts: np.ndarray) -> np.ndarray:
    """int32 word indices (int mode) or float32 vectors (multi_hot, tf_idf)."""
    out = keras.ops.convert_to_numpy(vectorizer(texts))
    mode = vectorizer.get_config()["output_mode"]
    return out.astype("int32") if mode == "int" else out.astype("float32")


def _read_texts(paths: list[Path], progress=None) -> tuple[np.ndarray, int]:
    texts, not_utf8 = [], 0
    for count, path in enumerate(paths, 1):
        if progress is not None and count % 500 == 0:
            progress(f"Reading texts {count:,}/{len(paths):,}", count / len(paths))
        data = path.read_bytes()
        try:
            texts.append(data.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(data.decode("utf-8", errors="replace"))
            not_utf8 += 1
    return np.asarray(texts, dtype=object), not_utf8


def _make_vectorizer(block: dict, train_texts: np.ndarray):
    mode = block["output_mode"]
    kwargs = {"max_tokens": block["max_tokens"], "output_mode": mode}
    if mode == "int":
        kwargs["output_sequence_length"] = block["sequence_length"]
    stored = block.get("vocabulary")
    if stored:
        if not isinstance(stored, list) or not all(isinstance(w, str) for w in stored):
            raise DatasetError(
                "The stored vocabulary is not a list of words.",
                field="vocabulary",
                fix="Remove 'vocabulary' from the dataset settings to learn it again.",
            )
        if mode == "tf_idf":
            kwargs["idf_weights"] = _idf_weights(stored, train_texts)
        kwargs["max_tokens"] = None
        try:
            return keras.layers.TextVectorization(vocabulary=stored, **kwargs)
        except ValueError as error:
            raise DatasetError(
                f"The stored vocabulary cannot be used ({error}).",
                field="vocabulary",
                fix="Remove 'vocabulary' from the dataset settings to learn it again.",
            ) from error
    vectorizer = keras.layers.TextVectorization(**kwargs)
    vectorizer.adapt(train_texts.astype(str), batch_size=_ADAPT_BATCH)
    return vectorizer


def _idf_weights(vocabulary: list[str], texts: np.ndarray) -> np.ndarray:
    """TF-IDF weights as TextVectorization.adapt computes them: log(1 + n / (1 + df))."""
    counter = keras.layers.TextVectorization(vocabulary=vocabulary, output_mode="multi_hot")
    df = np.zeros(len(counter.get_vocabulary()), dtype="float64")
    for start in range(0, len(texts), _ADAPT_BATCH):
        df += vectorize(counter, texts[start : start + _ADAPT_BATCH].astype(str)).sum(axis=0)
    idf = np.log1p(len(texts) / (1.0 + df))
    offset = len(counter.get_vocabulary()) - len(vocabulary)
    weights = idf[offset:] if offset >= 0 else idf
    if vocabulary and vocabulary[0] == "[UNK]":
        weights[0] = weights[1:].mean() if len(weights) > 1 else 1.0
    return weights


def load(block: dict, loss, validation_split: float, progress):
    layout = find_layout(block["path"], "text files")
    files = {
        part: list_files(folder, layout.class_names, TEXT_SUFFIXES, "text")
        for part, folder in layout.roots.items()
    }
    if progress is not None:
        progress("Reading texts", None)
    texts: dict[str, np.ndarray] = {}
    not_utf8 = 0
    for part, (paths, _) in files.items():
        texts[part], bad = _read_texts(paths, progress)
        not_utf8 += bad
    indices = part_indices(
        layout,
        {part: len(paths) for part, (paths, _) in files.items()},
        block["test_split"],
        validation_split,
        block["seed"],
    )
    train_part, train_rows = indices["train"]
    if progress is not None:
        progress("Learning the vocabulary", None)
    vectorizer = _make_vectorizer(block, texts[train_part][train_rows])
    vocabulary = [str(w) for w in vectorizer.get_vocabulary()]
    dtype = "int32" if block["output_mode"] == "int" else "float32"
    parts = {
        part: (TextStore(texts[source][rows], vectorizer, dtype), files[source][1][rows])
        for part, (source, rows) in indices.items()
    }
    mode = block["output_mode"]

    def describe(x_row) -> Sample:
        row = np.asarray(x_row)
        if mode == "int":
            words = [vocabulary[t] for t in row.astype(int) if 0 < t < len(vocabulary)]
            return Sample("text", " ".join(words), "")
        present = np.flatnonzero(row > 0)
        return Sample("text", "Words present: " + " ".join(vocabulary[t] for t in present), "")

    def encode(raw) -> np.ndarray:
        items = [raw] if isinstance(raw, str) else [str(t) for t in raw]
        return vectorize(vectorizer, np.asarray(items, dtype=object).astype(str))

    train_labels = files[train_part][1]
    samples = [
        Sample("text", str(texts[train_part][i]), layout.class_names[int(train_labels[i])])
        for i in train_rows[:_SAMPLE_COUNT]
    ]
    if mode == "int":
        input_shape = (block["sequence_length"],)
        note = (
            f"word indices padded/cut to {block['sequence_length']} "
            f"(vocabulary {len(vocabulary):,})"
        )
    else:
        input_shape = (len(vocabulary),)
        note = f"{mode.replace('_', '-')} vectors over {len(vocabulary):,} words (built per batch)"
    notes = []
    if layout.ignored:
        notes.append(f"Left out (no matching test folder): {', '.join(layout.ignored)}.")
    if not_utf8:
        notes.append(f"{not_utf8} file(s) were not valid UTF-8; bad bytes were replaced.")
    return assemble(
        block,
        title=f"Texts in {Path(block['path']).name}",
        task="binary" if len(layout.class_names) == 2 else "multiclass",
        parts=parts,
        loss=loss,
        input_shape=input_shape,
        dtype=dtype,
        input_note=note,
        class_names=layout.class_names,
        samples=samples,
        vocabulary=vocabulary,
        describer=describe,
        encoder=encode,
        notes=tuple(notes),
    )
