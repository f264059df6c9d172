"""Reading a CSV file strictly: every problem is named by file, line and column.

pandas alone fills short rows with NaN and guesses past encoding errors; the file is scanned
with the ``csv`` module first so that an empty file, a header without rows, a ragged row or a
non-UTF-8 byte is reported with its line number before pandas parses it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import DatasetError


@dataclass
class CsvTable:
    """A parsed CSV file and the file line number of each data row."""

    path: Path
    frame: pd.DataFrame
    lines: np.ndarray

    def line_of(self, row: int) -> int:
        return int(self.lines[row])

    def require_columns(self, names: list[str], field: str) -> None:
        missing = [n for n in names if n not in self.frame.columns]
        if missing:
            available = ", ".join(map(str, self.frame.columns))
            raise DatasetError(
                f"{self.path} has no column {', '.join(map(repr, missing))}.",
                field=field,
                fix=f"Its columns are: {available}.",
            )


def read_csv(path: str, delimiter: str, encoding: str, field: str = "path") -> CsvTable:
    file = Path(path).expanduser()
    if not file.exists():
        raise DatasetError(f"The file {file} does not exist.", field=field)
    if file.is_dir():
        raise DatasetError(f"{file} is a folder, not a CSV file.", field=field)
    data = file.read_bytes()
    if not data.strip():
        raise DatasetError(
            f"The file {file} is empty.",
            field=field,
            fix="Choose a CSV file whose first line names the columns.",
        )
    try:
        text = data.decode(encoding)
    except LookupError as error:
        raise DatasetError(
            f"Unknown text encoding {encoding!r}.", field="encoding", fix="Try utf-8 or latin-1."
        ) from error
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise DatasetError(
            f"{file} is not {encoding} text: byte 0x{data[error.start]:02x} on line {line} "
            "cannot be decoded.",
            field="encoding",
            fix="Save the file as UTF-8, or set 'encoding' to the file's encoding (e.g. latin-1).",
        ) from error
    if len(delimiter) != 1:
        raise DatasetError(
            f"The delimiter {delimiter!r} must be a single character.", field="delimiter"
        )
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, [])
    names = [h.strip() for h in header]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise DatasetError(
            f"{file} has more than one column named {', '.join(map(repr, duplicates))}.",
            field=field,
            fix="Give every column a different name in the first line.",
        )
    lines = []
    for row in reader:
        if not row or (len(row) == 1 and not row[0].strip()):
            continue
        if len(row) != len(header):
            raise DatasetError(
                f"Line {reader.line_num} of {file} has {len(row)} fields, but the header line "
                f"has {len(header)}.",
                field=field,
                fix=(
                    "Fix that line (a missing or extra delimiter, or an unquoted "
                    f"{delimiter!r} inside a value)."
                ),
            )
        lines.append(reader.line_num)
    if not lines:
        raise DatasetError(
            f"{file} has a header line but no data rows.",
            field=field,
            fix="Add the data rows below the column names.",
        )
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, skip_blank_lines=True)
    except (ValueError, pd.errors.ParserError) as error:
        raise DatasetError(f"{file} could not be parsed as CSV ({error}).", field=field) from error
    frame.columns = names
    if len(frame) != len(lines):
        raise DatasetError(
            f"{file} could not be read consistently ({len(frame)} rows parsed, {len(lines)} "
            "lines found).",
            field=field,
            fix="Check the file for stray quote characters.",
        )
    return CsvTable(file, frame, np.asarray(lines, dtype="int64"))


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
