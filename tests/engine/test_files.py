import os

import pytest

from engine.files import atomic_write_text, atomic_write_with, temporary_sibling


def test_atomic_write_replaces_and_keeps_backup(tmp_path):
    target = tmp_path / "a.llproj"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two", backup=True)
    assert target.read_text() == "two"
    assert (tmp_path / "a.llproj~").read_text() == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.llproj", "a.llproj~"]


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "a.json"
    atomic_write_text(target, "kept")

    def explode(handle):
        handle.write(b"partial")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write_with(target, explode)
    assert target.read_text() == "kept"
    assert os.listdir(tmp_path) == ["a.json"]


def test_temporary_sibling_is_removed_when_not_renamed(tmp_path):
    with temporary_sibling(tmp_path / "m.h5") as temporary:
        temporary.write_bytes(b"x")
        assert temporary.parent == tmp_path
        assert temporary.name.endswith(".tmp.h5")
    assert list(tmp_path.iterdir()) == []
