"""Reading a CSV file strictly: every problem is named by file, line and column.

pandas alone fills short rows with NaN and guesses past encoding errors; the file is scanned
with the ``csv`` module first so that an empty file, a header without rows, a ragged row or a
non-UTF-8 byte is reported with its line number before pandas parses it.

Memory stays bounded on large files (issue 10: a 1 GB CSV once peaked at 13.4 GB): the check
pass streams the file in pieces, pandas parses it in chunks into one preallocated array per
column (float32/int32 above ``COMPACT_ABOVE_BYTES``, on private memory maps whose rows the
loader hands back as it encodes them, see ``CsvTable.release_rows``), and ``progress`` hears
of every piece. ``bench/bench_large_csv.py`` measures it.
"""

from __future__ import annotations

import csv
import io
import mmap
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import DatasetError


@dataclass
class CsvTable:
    """A parsed CSV file and the file line number of each data row."""

    path: Path
    frame: pd.DataFrame
    lines: np.ndarray | None  # None: data row i is on line i + 2 (no blank or multi-line rows)
    buffers: dict = dataclass_field(default_factory=dict, repr=False)

    def line_of(self, row: int) -> int:
        return row + 2 if self.lines is None else int(self.lines[row])

    def release_rows(self, names: list[str], stop: int) -> None:
        """Rows ``0 … stop-1`` of these columns are no longer needed: hand their memory back.

        Only columns of a large file (held on their own memory maps) are released; their
        released values read as 0 afterwards. The loader calls this as it encodes the table
        block by block, so the table shrinks while the float32 inputs grow.
        """
        for name in names:
            held = self.buffers.get(name)
            if held is None:
                continue
            buffer, itemsize, rows = held
            page = mmap.PAGESIZE
            end = len(buffer) if stop >= rows else stop * itemsize // page * page
            if end > 0:
                try:
                    buffer.madvise(mmap.MADV_DONTNEED, 0, end)
                except (AttributeError, OSError, ValueError):  # not on every platform
                    return

    def require_columns(self, names: list[str], field: str) -> None:
        missing = [n for n in names if n not in self.frame.columns]
        if missing:
            available = ", ".join(map(str, self.frame.columns))
            raise DatasetError(
                f"The file {self.path} has no column {', '.join(map(repr, missing))}.",
                field=field,
                fix=f"Its columns are: {available}.",
            )


# The file is read in pieces of about this many bytes (never whole), and parsed by pandas in
# chunks of about this many bytes of text.
_READ_BLOCK_BYTES = 2 << 20
_PARSE_CHUNK_BYTES = 8 << 20
# Above this file size numeric columns are held as float32 (ints as int32 when they fit): a
# 1 GB file must not become 2-3 GB of float64. Smaller files keep float64/int64 exactly.
COMPACT_ABOVE_BYTES = 64 << 20

Progress = Callable[[str, float | None], None] | None


def read_csv(
    path: str,
    delimiter: str,
    encoding: str,
    field: str = "path",
    progress: Progress = None,
) -> CsvTable:
    """Read ``path`` strictly, in bounded memory: a checking pass, then a chunked parse.

    The first pass streams the file through the ``csv`` module (decode errors, the header,
    ragged rows, the row count and line numbers); the second parses it with pandas in chunks
    into preallocated column arrays. ``progress(message, fraction)`` is called for every piece
    read (fraction from bytes and rows), which is also where a cancelled load stops.
    """
    file = Path(path).expanduser()
    if not file.exists():
        raise DatasetError(f"The file {file} does not exist.", field=field)
    if file.is_dir():
        raise DatasetError(f"The path {file} is a folder, not a CSV file.", field=field)
    _refuse_empty(file, field)
    try:
        ascii_lines = "\n".encode(encoding) == b"\n"
    except LookupError as error:
        raise DatasetError(
            f"Unknown text encoding {encoding!r}.", field="encoding", fix="Try utf-8 or latin-1."
        ) from error
    if len(delimiter) != 1:
        raise DatasetError(
            f"The delimiter {delimiter!r} must be a single character.", field="delimiter"
        )
    size = max(1, file.stat().st_size)
    names, count, lines = _scan(file, delimiter, encoding, field, progress, size, ascii_lines)
    frame, buffers = _parse(file, delimiter, encoding, field, progress, size, names, count)
    return CsvTable(file, frame, lines, buffers)


def _refuse_empty(file: Path, field: str) -> None:
    with open(file, "rb") as stream:
        while True:
            block = stream.read(1 << 20)
            if not block:
                raise DatasetError(
                    f"The file {file} is empty.",
                    field=field,
                    fix="Choose a CSV file whose first line names the columns.",
                )
            if block.strip():
                return


def _pieces(file: Path, encoding: str, progress: Progress, size: int, ascii_lines: bool):
    """The file's text in pieces that end at a line break (whole when the encoding's line
    break is not the byte 0x0a, e.g. UTF-16); decode errors name their line."""
    label = f"Reading {file.name}"
    lines_before = 0
    done = 0

    def decode(data: bytes) -> str:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as error:
            line = lines_before + data[: error.start].count(b"\n") + 1
            raise DatasetError(
                f"The file {file} is not {encoding} text: byte 0x{data[error.start]:02x} on "
                f"line {line} cannot be decoded.",
                field="encoding",
                fix="Save the file as UTF-8, or set 'encoding' to the file's encoding "
                "(e.g. latin-1).",
            ) from error

    first = True
    with open(file, "rb") as stream:
        if not ascii_lines:
            yield decode(stream.read()).removeprefix("\ufeff")
            return
        carry = b""
        while True:
            block = stream.read(_READ_BLOCK_BYTES)
            done += len(block)
            if progress is not None:
                progress(label, 0.5 * min(1.0, done / size))
            if not block:
                break
            data = carry + block
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            piece, carry = data[:cut], data[cut:]
            text = decode(piece)
            if first:
                text, first = text.removeprefix("\ufeff"), False
            lines_before += piece.count(b"\n")
            yield text
        if carry:
            text = decode(carry)
            yield text.removeprefix("\ufeff") if first else text


def _scan(file, delimiter, encoding, field, progress, size, ascii_lines):
    """(stripped header names, data row count, line numbers or None when row i is line i+2)."""

    def lines():
        for text in _pieces(file, encoding, progress, size, ascii_lines):
            yield from io.StringIO(text, newline="")

    reader = csv.reader(lines(), delimiter=delimiter)
    header = next(reader, [])
    names = [h.strip() for h in header]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DatasetError(
            f"The file {file} has more than one column named {', '.join(map(repr, duplicates))}.",
            field=field,
            fix="Give every column a different name in the first line.",
        )
    width = len(header)
    count = 0
    numbers: array | None = None  # kept only once a row is not on line row + 2
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != width:
            raise DatasetError(
                f"Line {reader.line_num} of {file} has {len(row)} fields, but the header line "
                f"has {width}.",
                field=field,
                fix=(
                    "Fix that line (a missing or extra delimiter, or an unquoted "
                    f"{delimiter!r} inside a value)."
                ),
            )
        if numbers is None:
            if reader.line_num != count + 2:
                numbers = array("q", range(2, count + 2))
                numbers.append(reader.line_num)
        else:
            numbers.append(reader.line_num)
        count += 1
    if not count:
        raise DatasetError(
            f"The file {file} has a header line but no data rows.",
            field=field,
            fix="Add the data rows below the column names.",
        )
    return names, count, None if numbers is None else np.frombuffer(numbers, dtype="int64")


def _private_map(size: int) -> mmap.mmap | None:
    """Private anonymous memory whose pages ``madvise(MADV_DONTNEED)`` really frees (a shared
    map would keep them); None where the platform has no such map."""
    try:
        return mmap.mmap(
            -1,
            max(1, size),
            flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
            prot=mmap.PROT_READ | mmap.PROT_WRITE,
        )
    except (AttributeError, TypeError, OSError, ValueError):
        return None


class _ColumnBuilder:
    """One column filled chunk by chunk: a preallocated numeric array while every chunk is
    numeric, else the chunks themselves (text, booleans, mixed), joined at the end."""

    def __init__(self, rows: int, compact: bool):
        self.rows = rows
        self.compact = compact
        self.array: np.ndarray | None = None
        self.buffer: mmap.mmap | None = None
        self.chunks: list[pd.Series] | None = None
        self.filled = 0

    def _allocate(self, dtype, copy_from: np.ndarray | None = None) -> None:
        """The column's array: on its own anonymous memory map for a large file (so that its
        pages can be handed back early, see ``CsvTable.release_rows``)."""
        dtype = np.dtype(dtype)
        self.buffer = _private_map(self.rows * dtype.itemsize) if self.compact else None
        if self.buffer is not None:
            array = np.frombuffer(self.buffer, dtype=dtype, count=self.rows)
        else:
            array = np.empty(self.rows, dtype=dtype)
        if copy_from is not None:
            array[: self.filled] = copy_from[: self.filled]
        self.array = array

    def add(self, series: pd.Series) -> None:
        n = len(series)
        kind = series.dtype.kind if isinstance(series.dtype, np.dtype) else "O"
        if self.chunks is None and kind in "iuf":
            values = series.to_numpy()
            if self.array is None:
                self._allocate(self._dtype_for(values))
            elif kind == "f" and self.array.dtype.kind == "i":
                self._allocate(self._float(), copy_from=self.array)
            elif self.array.dtype.kind == "i" and not self._fits(values, self.array.dtype):
                self._allocate("int64", copy_from=self.array)
            self.array[self.filled : self.filled + n] = values
            self.filled += n
            return
        if self.chunks is None:
            self.chunks = []
            if self.array is not None and self.filled:
                self.chunks.append(pd.Series(self.array[: self.filled]))
            self.array = self.buffer = None
        self.chunks.append(series.reset_index(drop=True))
        self.filled += n

    def _float(self) -> str:
        return "float32" if self.compact else "float64"

    def _dtype_for(self, values: np.ndarray) -> str:
        if values.dtype.kind == "f":
            return self._float()
        if self.compact and self._fits(values, np.dtype("int32")):
            return "int32"
        return "int64"

    @staticmethod
    def _fits(values: np.ndarray, dtype: np.dtype) -> bool:
        if not len(values) or values.dtype.kind == "f":
            return True
        info = np.iinfo(dtype)
        return bool(values.min() >= info.min and values.max() <= info.max)

    def result(self) -> pd.Series:
        if self.chunks is None:
            array = self.array if self.array is not None else np.empty(0, self._float())
            return pd.Series(array[: self.filled], copy=False)
        if len(self.chunks) == 1:
            return self.chunks[0]
        return pd.concat(self.chunks, ignore_index=True)


def _parse(file, delimiter, encoding, field, progress, size, names, count):
    """(the table, {column: (memory map, item size, rows)} for mapped columns)."""
    compact = size > COMPACT_ABOVE_BYTES
    chunk_rows = max(10_000, int(count * _PARSE_CHUNK_BYTES / size) + 1)
    builders = [_ColumnBuilder(count, compact) for _ in names]
    label = f"Reading {file.name}"
    parsed = 0
    try:
        with pd.read_csv(
            file,
            sep=delimiter,
            encoding=encoding,
            skip_blank_lines=True,
            chunksize=chunk_rows,
        ) as chunks:
            for chunk in chunks:
                if parsed + len(chunk) > count or chunk.shape[1] != len(names):
                    parsed += len(chunk)
                    break
                for j, builder in enumerate(builders):
                    builder.add(chunk.iloc[:, j])
                parsed += len(chunk)
                del chunk
                if progress is not None:
                    progress(label, 0.5 + 0.5 * min(1.0, parsed / count))
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DatasetError(
            f"The file {file} could not be parsed as CSV ({error}).", field=field
        ) from error
    if parsed != count:
        raise DatasetError(
            f"The file {file} could not be read consistently ({parsed} rows parsed, {count} "
            "lines found).",
            field=field,
            fix="Check the file for stray quote characters.",
        )
    columns = {name: builder.result() for name, builder in zip(names, builders, strict=True)}
    buffers = {
        name: (builder.buffer, builder.array.dtype.itemsize, count)
        for name, builder in zip(names, builders, strict=True)
        if builder.buffer is not None and builder.array is not None
    }
    return pd.DataFrame(columns, copy=False), buffers


def numeric_column(table: CsvTable, name: str, rows: np.ndarray | None = None) -> pd.Series:
    """A column as floats; a text value among numbers is refused, naming its line.

    Empty cells stay NaN (the caller decides about missing values).
    """
    column = table.frame[name]
    if rows is not None:
        column = column.iloc[rows]
    if column.dtype == bool:
        return column.astype("float64")
    if pd.api.types.is_numeric_dtype(column):
        return column.astype("float64")
    parsed = pd.to_numeric(column, errors="coerce")
    bad = parsed.isna() & column.notna()
    if bad.any():
        position = int(np.argmax(bad.to_numpy()))
        row = position if rows is None else int(rows[position])
        raise DatasetError(
            f"Column {name!r} of {table.path} holds numbers, but line {table.line_of(row)} has "
            f"the text {column.iloc[position]!r}.",
            field="features",
            fix="Correct that value, or leave it empty and choose how to treat missing values.",
        )
    return parsed.astype("float64")


def looks_numeric(column: pd.Series) -> bool:
    """True for numeric columns and for text columns whose values are mostly numbers."""
    if column.dtype == bool or pd.api.types.is_numeric_dtype(column):
        return True
    present = column.dropna()
    if present.empty:
        return True
    parsed = pd.to_numeric(present, errors="coerce")
    return parsed.notna().mean() >= 0.8
