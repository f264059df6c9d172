"""Large CSVs in bounded memory: pieces, chunks, float32 columns and progress (issue 10)."""

from __future__ import annotations

import numpy as np
import pytest

import engine.datasets.csvfile as csvfile
from engine.datasets import DatasetError, load_dataset


def _write(tmp_path, n=3000, name="big.csv", extra=""):
    rng = np.random.default_rng(1)
    lines = ["x1,x2,colour,label"]
    for i in range(n):
        lines.append(f"{rng.normal():.5f},{i * 3},{['red', 'green', 'blue'][i % 3]},{i % 4}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


@pytest.fixture
def tiny_pieces(monkeypatch):
    """Force many read pieces and parse chunks on a small file."""
    monkeypatch.setattr(csvfile, "_READ_BLOCK_BYTES", 1000)
    monkeypatch.setattr(csvfile, "_PARSE_CHUNK_BYTES", 1000)


def _block(path, **fields):
    return {"source": "csv", "path": str(path), "target": "label", "test_split": 0.2, **fields}


def test_chunked_reading_gives_the_same_dataset(tmp_path, monkeypatch):
    path = _write(tmp_path)
    whole = load_dataset(_block(path), validation_split=0.1)
    monkeypatch.setattr(csvfile, "_READ_BLOCK_BYTES", 1000)
    monkeypatch.setattr(csvfile, "_PARSE_CHUNK_BYTES", 1000)
    table = csvfile.read_csv(str(path), ",", "utf-8")
    assert len(table.frame) == 3000 and table.line_of(2999) == 3001
    chunked = load_dataset(_block(path), validation_split=0.1)
    for part in ("train", "validation", "test"):
        np.testing.assert_array_equal(whole.parts[part].x.array, chunked.parts[part].x.array)
        np.testing.assert_array_equal(whole.parts[part].y, chunked.parts[part].y)
    assert whole.description == chunked.description
    assert [s.value for s in whole.samples] == [s.value for s in chunked.samples]


def test_large_files_hold_numbers_as_float32_and_encode_the_same(tmp_path, monkeypatch):
    path = _write(tmp_path)
    exact = load_dataset(_block(path))
    monkeypatch.setattr(csvfile, "COMPACT_ABOVE_BYTES", 1000)
    table = csvfile.read_csv(str(path), ",", "utf-8")
    assert table.frame["x1"].dtype == np.float32
    assert table.frame["x2"].dtype == np.int32 and table.frame["label"].dtype == np.int32
    compact = load_dataset(_block(path))
    np.testing.assert_allclose(
        exact.parts["train"].x.array, compact.parts["train"].x.array, atol=1e-5
    )
    np.testing.assert_array_equal(exact.parts["train"].y, compact.parts["train"].y)
    assert compact.samples[0].label == exact.samples[0].label  # "3", not "3.0"
    assert [s.value for s in compact.samples] == [s.value for s in exact.samples]


def test_progress_reports_fractions_from_bytes_and_rows(tmp_path, tiny_pieces):
    path = _write(tmp_path)
    reports = []
    load_dataset(_block(path), progress=lambda text, fraction: reports.append((text, fraction)))
    fractions = [f for _, f in reports if f is not None]
    assert len(fractions) > 20
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert all("big.csv" in text for text, f in reports if f is not None)


def test_errors_in_later_pieces_name_their_line(tmp_path, tiny_pieces):
    ragged = _write(tmp_path, extra="1.0,2,red\n", name="ragged.csv")
    with pytest.raises(DatasetError, match=r"Line 3002 of .*ragged\.csv has 3 fields"):
        load_dataset(_block(ragged))
    bad = tmp_path / "latin.csv"
    bad.write_bytes(_write(tmp_path, name="ok.csv").read_bytes() + b"0.5,1,r\xe9d,1\n")
    with pytest.raises(DatasetError, match=r"byte 0xe9 on line 3002"):
        load_dataset(_block(bad))


def test_blank_lines_and_quoted_line_breaks_across_pieces(tmp_path, monkeypatch):
    rows = ["x1,note,label"]
    for i in range(400):
        note = '"two\nlines"' if i == 150 else "plain"
        rows.append(f"{i * 0.5},{note},{i % 2}")
        if i == 200:
            rows.append("")
    path = tmp_path / "quoted.csv"
    path.write_text("\n".join(rows) + "\n")
    whole = csvfile.read_csv(str(path), ",", "utf-8")
    monkeypatch.setattr(csvfile, "_READ_BLOCK_BYTES", 1000)
    monkeypatch.setattr(csvfile, "_PARSE_CHUNK_BYTES", 1000)
    table = csvfile.read_csv(str(path), ",", "utf-8")
    assert len(table.frame) == 400
    assert table.frame["note"].iloc[150] == "two\nlines"
    assert table.line_of(151) == 154  # after the 2-line field
    assert table.line_of(201) == 205  # after the blank line
    np.testing.assert_array_equal(table.lines, whole.lines)
    assert [table.line_of(i) for i in range(400)] == [whole.line_of(i) for i in range(400)]


def test_block_by_block_encoding_with_released_rows_gives_the_same_dataset(tmp_path, monkeypatch):
    import engine.datasets.tabular as tabular

    path = _write(tmp_path, n=5000)
    exact = load_dataset(_block(path), validation_split=0.2)
    monkeypatch.setattr(csvfile, "COMPACT_ABOVE_BYTES", 1000)
    monkeypatch.setattr(tabular, "_FILL_ROWS", 700)
    released = []
    real_release = csvfile.CsvTable.release_rows

    def spy(self, names, stop):
        released.append(stop)
        real_release(self, names, stop)

    monkeypatch.setattr(csvfile.CsvTable, "release_rows", spy)
    blocks = load_dataset(_block(path), validation_split=0.2)
    assert released == [*range(700, 5000, 700), 5000]
    for part in ("train", "validation", "test"):
        np.testing.assert_allclose(exact.parts[part].x.array, blocks.parts[part].x.array, atol=1e-5)
        np.testing.assert_array_equal(exact.parts[part].y, blocks.parts[part].y)
    assert [s.value for s in exact.samples] == [s.value for s in blocks.samples]


def test_released_rows_give_their_memory_back(tmp_path, monkeypatch):
    import mmap

    monkeypatch.setattr(csvfile, "COMPACT_ABOVE_BYTES", 1000)
    path = _write(tmp_path, n=5000)
    table = csvfile.read_csv(str(path), ",", "utf-8")
    assert set(table.buffers) == {"x1", "x2", "label"}  # numbers on their own memory maps
    before = table.frame["x2"].to_numpy().copy()
    per_page = mmap.PAGESIZE // 4
    table.release_rows(["x2"], per_page + 10)
    after = table.frame["x2"].to_numpy()
    assert not after[:per_page].any()  # handed back (reads as zero)
    np.testing.assert_array_equal(after[per_page:], before[per_page:])
