"""Pre-trained word vectors (GloVe's text format) for an ``Embedding`` layer.

A vector file holds one word per line followed by its numbers, separated by spaces::

    the 0.418 0.24968 -0.41242 ...

optionally gzip'd (recognised by its first bytes, not its name), optionally opened by a
word2vec-text header line ``"400000 100"`` (read as a header and ignored: nothing is ever
allocated from what a header claims). fastText ``.vec`` files are this format too.

``read_vectors(path, vocabulary)`` streams the file a line at a time and keeps only the words
of the dataset's vocabulary (``Dataset.vocabulary``: a list whose index is the token id). The
result's ``matrix`` has one row per vocabulary entry (``len(vocabulary) x dim``, float32), so
row ``i`` is the vector of token ``i``. Rows of words the file lacks stay **zeros**, as in
Keras's "Using pre-trained word embeddings" guide: it is deterministic (the same file gives
the same matrix whatever the seed), a frozen layer then adds nothing for an unknown word
instead of fixed noise, and a trainable one learns those rows from zero like any other.
Row 0 (padding) and the reserved tokens (``RESERVED_TOKENS``: ``[UNK]``, ``<oov>`` …) are
never matched and stay zeros too. Memory is the matrix plus a word -> row index of the
vocabulary, never the file.

With ``lowercase`` (the default), words are compared ignoring case; when the file has several
casings of one word the first one wins (GloVe and fastText list the most frequent first).

Only the lines of words in the vocabulary are parsed as numbers (the others are checked for
their count of values only): a damaged line of an unused word does not stop the load.

A project records which file went into which layer as the top-level ``"embeddings"`` list
(see ``validate_embeddings``); ``apply_embeddings`` puts the vectors into the built model
before training, so a run is reproducible from its project.

Every refusal is a ``LayerLabError`` naming the file, the line and the fix. This module
imports no Keras (the window imports it before TensorFlow is loaded).
"""

from __future__ import annotations

import gzip
import os
import stat
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import LayerLabError, ProjectError

__all__ = [
    "RESERVED_TOKENS",
    "VECTOR_SUFFIXES",
    "VectorMatch",
    "VectorsCancelled",
    "apply_embeddings",
    "embedding_entries",
    "embeddings_for_save",
    "read_vectors",
    "stored_vector_path",
    "validate_embeddings",
    "vector_path",
]

# Vocabulary entries that are no words: padding, Keras's TextVectorization OOV token and the
# IMDB/Reuters word-index markers. They keep zero rows.
RESERVED_TOKENS = frozenset({"", "[UNK]", "<pad>", "<start>", "<oov>", "<unused>"})
VECTOR_SUFFIXES = (".txt", ".gz", ".vec")
MAX_LINE_BYTES = 1 << 20  # 1 MiB: a 4096-value line of long decimals is ~100 KB
MAX_DIM = 4096
MISSING_EXAMPLES = 8
_REPORT_EVERY = 4096  # lines between progress reports and cancel checks
_GZIP_MAGIC = b"\x1f\x8b"
_BOM = b"\xef\xbb\xbf"

Progress = Callable[[str, float | None], None]


class VectorsCancelled(Exception):
    """The read was cancelled (not a user mistake: whoever cancelled swallows it)."""


@dataclass(frozen=True)
class VectorMatch:
    """The vocabulary's vectors: ``matrix[i]`` is the vector of token ``i`` (zeros if not
    found). ``found`` of ``vocabulary_size`` matchable words were in ``file`` (reserved tokens
    and padding are not counted); ``missing_examples`` are the first vocabulary words (the
    most frequent, in a frequency-ordered vocabulary) that were not."""

    matrix: np.ndarray = field(repr=False)
    dim: int
    found: int
    vocabulary_size: int
    missing_examples: list[str]
    file: str
    lines: int = 0

    @property
    def coverage(self) -> float:
        """Found words as a fraction of the matchable vocabulary (0 when it is empty)."""
        return self.found / self.vocabulary_size if self.vocabulary_size else 0.0

    def summary(self) -> str:
        """'31,245 of 40,000 words found (78.1 %), vector size 100; e.g. missing: a, b'."""
        text = (
            f"{self.found:,} of {self.vocabulary_size:,} words found "
            f"({100 * self.coverage:.1f} %), vector size {self.dim}"
        )
        if self.missing_examples:
            text += "; e.g. missing: " + ", ".join(self.missing_examples)
        return text


# --------------------------------------------------------------------------- reading


def read_vectors(
    path: str | os.PathLike,
    vocabulary: Sequence[str],
    *,
    lowercase: bool = True,
    cancelled: Callable[[], bool] | None = None,
    progress: Progress | None = None,
) -> VectorMatch:
    """The vectors of ``vocabulary``'s words from the text file at ``path`` (see the module
    docstring). ``cancelled()`` is polled every few thousand lines (True raises
    ``VectorsCancelled``); ``progress(message, fraction)`` reports as the file is read."""
    path = Path(path)
    name = str(path)
    _check_file(path, name)
    if not vocabulary:
        raise LayerLabError(
            "The dataset has no vocabulary to match word vectors against.",
            fix="Choose a text dataset (IMDB, Reuters or a text folder) and load it first.",
        )
    index, duplicates = _vocabulary_index(vocabulary, lowercase)
    reader = _VectorReader(path, name, index, duplicates, len(vocabulary), lowercase)
    reader.read(cancelled, progress)
    matrix = reader.matrix
    if matrix is None:
        raise LayerLabError(
            f"The word-vector file {name} has no vectors (only a header or blank lines).",
            fix="Choose a text file with one word and its numbers per line, as GloVe's "
            "files have (e.g. 'the 0.418 0.24968 …').",
        )
    filled = reader.filled
    matchable = [
        i for i, word in enumerate(vocabulary) if i > 0 and str(word) not in RESERVED_TOKENS
    ]
    found = int(sum(1 for i in matchable if filled[i]))
    missing = []
    for i in matchable:
        if not filled[i]:
            missing.append(str(vocabulary[i]))
            if len(missing) == MISSING_EXAMPLES:
                break
    return VectorMatch(
        matrix=matrix,
        dim=int(matrix.shape[1]),
        found=found,
        vocabulary_size=len(matchable),
        missing_examples=missing,
        file=name,
        lines=reader.lines,
    )


def _check_file(path: Path, name: str) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        raise LayerLabError(
            f"The word-vector file {name} does not exist.",
            fix="Choose the file again (Model › Load Word Vectors into Embedding…), or put it "
            "back where the project expects it.",
        ) from None
    except OSError as error:
        raise LayerLabError(
            f"The word-vector file {name} cannot be read: {error.strerror or error}.",
            fix="Check that the file is readable.",
        ) from error
    if not stat.S_ISREG(info.st_mode):
        raise LayerLabError(
            f"{name} is not a regular file.",
            fix="Choose a word-vector text file (.txt, .vec or .gz).",
        )
    if info.st_size == 0:
        raise LayerLabError(
            f"The word-vector file {name} is empty.",
            fix="Choose a GloVe-format file: one word and its numbers per line.",
        )


def _vocabulary_index(
    vocabulary: Sequence[str], lowercase: bool
) -> tuple[dict[str, int], dict[int, list[int]]]:
    """word -> first row, and first row -> further rows with the same (lowercased) word."""
    index: dict[str, int] = {}
    duplicates: dict[int, list[int]] = {}
    for row, word in enumerate(vocabulary):
        word = str(word)
        if row == 0 or word in RESERVED_TOKENS:
            continue
        key = word.lower() if lowercase else word
        if key == word:
            key = word  # share the vocabulary's string instead of a lowercased copy
        first = index.setdefault(key, row)
        if first != row:
            duplicates.setdefault(first, []).append(row)
    return index, duplicates


class _VectorReader:
    """One pass over the file; ``matrix`` is allocated once the first line gives the size."""

    def __init__(self, path, name, index, duplicates, rows, lowercase):
        self.path = path
        self.name = name
        self.index = index
        self.duplicates = duplicates
        self.rows = rows
        self.lowercase = lowercase
        self.matrix: np.ndarray | None = None
        self.filled = np.zeros(rows, dtype=bool)
        self.dim: int | None = None
        self.lines = 0
        self.lineno = 0

    def read(self, cancelled, progress) -> None:
        with open(self.path, "rb") as raw:
            gzipped = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            size = max(1, os.fstat(raw.fileno()).st_size)
            stream: Any = gzip.GzipFile(fileobj=raw, mode="rb") if gzipped else raw
            try:
                self._lines(stream, raw, size, cancelled, progress)
            except (OSError, EOFError, zlib.error) as error:
                if gzipped:
                    raise LayerLabError(
                        f"The gzip file {self.name} is damaged or cut short "
                        f"(after line {self.lineno:,}).",
                        fix="Download or unpack the word-vector file again.",
                    ) from error
                raise LayerLabError(
                    f"The word-vector file {self.name} could not be read after line "
                    f"{self.lineno:,}: {getattr(error, 'strerror', None) or error}.",
                    fix="Check the file and the disk, then try again.",
                ) from error
            finally:
                if gzipped:
                    stream.close()

    def _lines(self, stream, raw, size, cancelled, progress) -> None:
        readline = stream.readline
        index = self.index
        lowercase = self.lowercase
        while True:
            line = readline(MAX_LINE_BYTES)
            if not line:
                return
            self.lineno += 1
            if self.lineno % _REPORT_EVERY == 0:
                if cancelled is not None and cancelled():
                    raise VectorsCancelled
                if progress is not None:
                    progress(
                        f"Reading {Path(self.name).name}: {self.lineno:,} lines",
                        min(1.0, raw.tell() / size),
                    )
            if len(line) >= MAX_LINE_BYTES and not line.endswith(b"\n"):
                raise self._error(
                    f"line {self.lineno:,} is longer than {MAX_LINE_BYTES // 1024:,} KiB",
                    "this is not a word-vector text file, or it has no line breaks",
                )
            if b"\0" in line:
                raise self._binary_error()
            if self.lineno == 1 and line.startswith(_BOM):
                line = line[len(_BOM) :]
            text = line.rstrip()
            if not text:
                continue
            if self.dim is None and self._first_line(text):
                continue
            dim = self.dim
            if text.count(b" ") == dim:  # the usual line: "word v1 ... vd", single spaces
                space = text.find(b" ")
                word_bytes, values = text[:space], None
            else:
                word_bytes, values = self._odd_line(text)
            self.lines += 1
            word = word_bytes.decode("utf-8", "replace")
            row = index.get(word.lower() if lowercase else word)
            if row is None or self.filled[row]:
                continue  # not in the vocabulary, or a later casing of a word already found
            if values is None:
                values = text[space + 1 :].split(b" ")
            vector = self._numbers(values)
            self.matrix[row] = vector
            self.filled[row] = True
            for other in self.duplicates.get(row, ()):
                self.matrix[other] = vector
                self.filled[other] = True

    def _first_line(self, text: bytes) -> bool:
        """Size the matrix from the first data line; True when the line is a header."""
        parts = text.split()
        if self.lineno == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
            return True  # word2vec text header "count dim": read, never trusted for sizes
        dim = len(parts) - 1
        if dim < 1:
            raise self._error(
                f"line {self.lineno:,} has a word but no numbers",
                "each line must be a word followed by its vector's numbers, separated by spaces",
            )
        if dim > MAX_DIM:
            raise self._error(
                f"line {self.lineno:,} has {dim:,} numbers, more than the {MAX_DIM:,} a word "
                "vector may have",
                "choose a word-vector file (GloVe vectors have 50 to 300 numbers)",
            )
        self.dim = dim
        self._numbers(parts[1:])  # the first line must be a vector (a text file is not)
        self.matrix = np.zeros((self.rows, dim), dtype=np.float32)
        return False

    def _odd_line(self, text: bytes) -> tuple[bytes, list[bytes]]:
        """A line whose spaces do not count ``dim`` values: tabs, double spaces, or a word
        with spaces in it (GloVe's 840B file has a few, e.g. '. . .')."""
        parts = text.split()
        dim = self.dim
        count = len(parts) - 1
        if count > dim and not _all_numbers(parts[1 : len(parts) - dim]):
            return b" ".join(parts[: len(parts) - dim]), parts[len(parts) - dim :]
        if count != dim:
            raise self._error(
                f"line {self.lineno:,} has {max(count, 0):,} numbers, but the first vector "
                f"has {dim:,}",
                "the file may be cut short or damaged: download it again, or choose a file "
                "whose vectors all have the same size",
            )
        return parts[0], parts[1:]

    def _numbers(self, values: list[bytes]) -> np.ndarray:
        try:
            vector = np.array(values, dtype=np.float32)
        except ValueError:
            bad = next((v for v in values if not _is_number(v)), b"?")
            shown = bad[:20].decode("utf-8", "replace")
            raise self._error(
                f"line {self.lineno:,} has {shown!r} where a number should be",
                "each line must be a word followed by numbers only; the file may be "
                "damaged, or it is not a word-vector file",
            ) from None
        if not np.isfinite(vector).all():
            raise self._error(
                f"line {self.lineno:,} has a value that is not a finite number (nan or inf)",
                "download the vectors again, or choose another file",
            )
        return vector

    def _binary_error(self) -> LayerLabError:
        return self._error(
            f"line {self.lineno:,} holds binary data",
            "choose a text file (GloVe .txt, fastText .vec, or either gzip'd). A word2vec "
            ".bin file must first be saved as text, e.g. with gensim's "
            "KeyedVectors.save_word2vec_format(..., binary=False)",
        )

    def _error(self, problem: str, fix: str) -> LayerLabError:
        return LayerLabError(
            f"The word-vector file {self.name}: {problem}.", fix=fix[0].upper() + fix[1:] + "."
        )


def _is_number(value: bytes) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _all_numbers(values: list[bytes]) -> bool:
    return all(_is_number(v) for v in values)


# --------------------------------------------------------------------------- project entries


def validate_embeddings(entries: Any) -> list[dict]:
    """The project's ``"embeddings"`` list, checked (a ``ProjectError`` names the entry).

    Each entry: ``{"layer": <Embedding layer name>, "file": <path of the vector file,
    relative to the project's folder or absolute>, "lowercase": bool (default True),
    "trainable": bool (default False)}``; other keys are kept. ``None`` is an empty list.
    """
    if entries is None:
        return []
    if not isinstance(entries, list):
        raise ProjectError(
            'The project\'s word vectors ("embeddings") must be a list of '
            '{"layer", "file", "lowercase", "trainable"} objects.',
            field="embeddings",
        )
    checked = []
    layers: set[str] = set()
    for number, entry in enumerate(entries):
        where = f"embeddings[{number}]"
        if not isinstance(entry, dict):
            raise ProjectError(
                f"Word-vector entry {where} must be an object with layer and file.", field=where
            )
        layer, file = entry.get("layer"), entry.get("file")
        if not isinstance(layer, str) or not layer.strip():
            raise ProjectError(
                f"Word-vector entry {where} names no layer.",
                field=f"{where}.layer",
                fix="Give the name of an Embedding layer, or remove the entry.",
            )
        if layer in layers:
            raise ProjectError(
                f"Two word-vector entries load into layer '{layer}'.",
                field=where,
                fix="Keep one of them.",
            )
        layers.add(layer)
        if not isinstance(file, str) or not file.strip() or "\0" in file:
            raise ProjectError(
                f"Word-vector entry {where} (layer '{layer}') names no vector file.",
                field=f"{where}.file",
                fix="Give the path of a GloVe-format .txt/.vec/.gz file.",
            )
        for key, default in (("lowercase", True), ("trainable", False)):
            value = entry.get(key, default)
            if not isinstance(value, bool):
                raise ProjectError(
                    f"Word-vector entry {where} (layer '{layer}'): {key} must be true or "
                    f"false, found {value!r}.",
                    field=f"{where}.{key}",
                )
        checked.append(
            {
                **entry,
                "lowercase": entry.get("lowercase", True),
                "trainable": entry.get("trainable", False),
            }
        )
    return checked


def embedding_entries(project: dict) -> list[dict]:
    """The project's word-vector entries (an empty list when it has none)."""
    entries = project.get("embeddings") if isinstance(project, dict) else None
    return list(entries) if isinstance(entries, list) else []


def vector_path(file: str, project_dir: str | os.PathLike | None) -> Path:
    """Where an entry's ``file`` is: absolute as it is, relative to ``project_dir``."""
    path = Path(file).expanduser()
    if path.is_absolute():
        return path
    if project_dir is None:
        raise LayerLabError(
            f"The word-vector file '{file}' is given relative to the project's folder, but "
            "the project has not been saved.",
            fix="Save the project, or choose the vector file again.",
        )
    return Path(project_dir) / path


def stored_vector_path(path: str | os.PathLike, project_path: str | os.PathLike | None) -> str:
    """How a project records the vector file at ``path``: relative to the project's folder
    when the file is inside it or beside it (under the same parent folder), so the project
    and its vectors can move together; absolute otherwise, and while the project is unsaved."""
    path = Path(path).expanduser().absolute()
    if project_path is None:
        return str(path)
    folder = Path(project_path).absolute().parent
    if path.is_relative_to(folder.parent) and folder.parent != folder:
        try:
            return Path(os.path.relpath(path, folder)).as_posix()
        except ValueError:  # another drive (Windows)
            pass
    return str(path)


def embeddings_for_save(
    project: dict,
    project_path: str | os.PathLike,
    old_project_path: str | os.PathLike | None = None,
) -> dict:
    """The project with each entry's ``file`` as it should be stored at ``project_path``
    (call on Save / Save As): paths relative to the old folder are re-based, absolute ones
    become relative when the file is inside or beside the new folder."""
    entries = embedding_entries(project)
    if not entries:
        return project
    old_dir = Path(old_project_path).parent if old_project_path is not None else None
    moved = []
    for entry in entries:
        file = entry.get("file")
        if isinstance(file, str) and file:
            path = Path(file).expanduser()
            if not path.is_absolute():
                if old_dir is None:
                    moved.append(entry)
                    continue
                path = old_dir / path
            entry = {**entry, "file": stored_vector_path(path, project_path)}
        moved.append(entry)
    return {**project, "embeddings": moved}


# --------------------------------------------------------------------------- training


def apply_embeddings(
    model: Any, project: dict, dataset: Any, project_dir: str | os.PathLike | None
) -> list[str]:
    """Put the project's word vectors into ``model``'s Embedding layers (built) and set each
    layer's ``trainable``; returns one log line per entry.

    An entry for a layer the model no longer has is skipped with a log line saying so (the
    layer was removed or renamed after the vectors were chosen). Raises ``LayerLabError`` when
    the dataset has no vocabulary, the layer is no Embedding, its ``output_dim`` is not the
    vector size or its ``input_dim`` is smaller than the vocabulary.
    """
    entries = embedding_entries(project)
    if not entries:
        return []
    vocabulary = getattr(dataset, "vocabulary", None)
    lines = []
    for entry in entries:
        name = entry.get("layer")
        layer = _layer_named(model, name)
        if layer is None:
            lines.append(
                f"Word vectors for layer '{name}' were not loaded: the model has no layer of "
                "that name (load them again from the Model menu)."
            )
            continue
        if type(layer).__name__ != "Embedding":
            raise LayerLabError(
                f"Word vectors can only go into an Embedding layer; '{name}' is a "
                f"{type(layer).__name__}.",
                fix="Load the vectors into an Embedding layer (Model menu), or remove them.",
            )
        if not vocabulary:
            raise LayerLabError(
                f"The project loads word vectors into '{name}', but the dataset has no "
                "vocabulary to match them against.",
                fix="Use a text dataset (IMDB, Reuters or a text folder with integer output), "
                "or remove the word vectors.",
            )
        if layer.input_dim < len(vocabulary):
            raise LayerLabError(
                f"Embedding '{name}' has input_dim {layer.input_dim:,}, but the dataset's "
                f"vocabulary has {len(vocabulary):,} words.",
                fix=f"Set input_dim of '{name}' to {len(vocabulary):,} or more.",
            )
        path = vector_path(entry["file"], project_dir)
        match = read_vectors(path, vocabulary, lowercase=bool(entry.get("lowercase", True)))
        if layer.output_dim != match.dim:
            raise LayerLabError(
                f"Embedding '{name}' has output_dim {layer.output_dim}, but the vectors in "
                f"{entry['file']} have {match.dim} numbers.",
                fix=f"Set output_dim of '{name}' to {match.dim} (loading the vectors again "
                "from the Model menu does it).",
            )
        if not getattr(layer, "built", False):
            raise LayerLabError(
                f"Embedding '{name}' is not built yet, so its weights cannot be set.",
                fix="Give the model an input shape (load the dataset first).",
            )
        weights = np.zeros((layer.input_dim, match.dim), dtype=np.float32)
        weights[: len(vocabulary)] = match.matrix
        layer.set_weights([weights])
        trainable = bool(entry.get("trainable", False))
        layer.trainable = trainable
        lines.append(
            f"Word vectors for '{name}' from {Path(entry['file']).name}: {match.summary()}; "
            + ("trainable." if trainable else "frozen.")
        )
    return lines


def _layer_named(model: Any, name: Any) -> Any:
    for layer in getattr(model, "layers", []):
        if layer.name == name:
            return layer
    return None
