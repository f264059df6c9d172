import errno
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from engine.errors import LayerLabError
from engine.files import (
    MAX_JSON_DEPTH,
    FileSaveError,
    atomic_write_text,
    atomic_write_with,
    json_depth,
    loads_json,
    read_json,
    temporary_sibling,
)


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


# --- backups are atomic too ------------------------------------------------------------


def _no_hard_links(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", refuse)


def test_backup_keeps_the_old_content_after_the_save(tmp_path):
    target = tmp_path / "a.llproj"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two", backup=True)
    atomic_write_text(target, "three", backup=True)
    assert target.read_text() == "three"
    assert (tmp_path / "a.llproj~").read_text() == "two"
    assert sorted(os.listdir(tmp_path)) == ["a.llproj", "a.llproj~"]


@pytest.mark.parametrize("links", [True, False], ids=["hard-link", "copy"])
def test_a_full_disk_during_the_backup_keeps_the_previous_backup(tmp_path, monkeypatch, links):
    target = tmp_path / "p.llproj"
    atomic_write_text(target, "first " * 1000)
    atomic_write_text(target, "second " * 1000, backup=True)
    if not links:
        _no_hard_links(monkeypatch)

    def full_disk(source, destination, *args, **kwargs):
        with open(source, "rb") as reading, open(destination, "wb") as writing:
            writing.write(reading.read(100))  # what a full disk leaves: a truncated copy
        raise OSError(errno.ENOSPC, "No space left on device", str(destination))

    def no_room_for_a_name(source, destination, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(destination))

    monkeypatch.setattr(shutil, "copyfile", full_disk)
    monkeypatch.setattr(shutil, "copy2", full_disk)  # what the old code used
    if links:
        monkeypatch.setattr(os, "link", no_room_for_a_name)
    with pytest.raises(FileSaveError) as caught:
        atomic_write_text(target, "third", backup=True)
    assert (tmp_path / "p.llproj~").read_text() == "first " * 1000
    assert target.read_text() == "second " * 1000
    assert sorted(os.listdir(tmp_path)) == ["p.llproj", "p.llproj~"]
    assert str(caught.value) == (
        f"Cannot save p.llproj: the disk holding {tmp_path} is full. "
        "Free some space, or save it in another folder."
    )
    assert caught.value.errno == errno.ENOSPC and isinstance(caught.value, OSError)


def test_backup_by_copy_where_hard_links_are_refused(tmp_path, monkeypatch):
    _no_hard_links(monkeypatch)
    target = tmp_path / "p.llproj"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two", backup=True)
    assert (tmp_path / "p.llproj~").read_text() == "one"
    assert sorted(os.listdir(tmp_path)) == ["p.llproj", "p.llproj~"]


def test_a_save_killed_before_the_rename_leaves_both_files_whole(tmp_path, monkeypatch):
    target = tmp_path / "p.llproj"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second", backup=True)
    real_replace = os.replace

    def killed(source, destination):
        if Path(destination) == target:
            raise KeyboardInterrupt  # stands for kill -9 between the backup and the save
        real_replace(source, destination)

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "third", backup=True)
    assert target.read_text() == "second"
    assert (tmp_path / "p.llproj~").read_text() == "second"


def test_stale_temporaries_of_killed_saves_are_removed_by_the_next_save(tmp_path):
    target = tmp_path / "p.llproj"
    atomic_write_text(target, "one")
    old = time.time() - 3600
    stale = [
        tmp_path / ".p.llproj.8y4h8fhv.tmp.llproj",
        tmp_path / ".p.llproj~.abcd_123.tmp.llproj~",
    ]
    fresh = tmp_path / ".p.llproj.zzzzzzzz.tmp.llproj"  # a save still writing
    others = [
        tmp_path / ".q.llproj.8y4h8fhv.tmp.llproj",  # another file's
        tmp_path / ".p.llproj.notes",  # not a temporary name of ours
    ]
    for path in [*stale, fresh, *others]:
        path.write_text("x" * 100)
    for path in [*stale, *others]:
        os.utime(path, (old, old))
    atomic_write_text(target, "two", backup=True)
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["p.llproj", "p.llproj~", fresh.name] + [path.name for path in others]
    )


# --- messages name the user's file -----------------------------------------------------


def test_a_read_only_folder_is_named_not_the_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "p.llproj"

    def denied(*args, **kwargs):
        raise PermissionError(
            errno.EACCES, "Permission denied", str(tmp_path / ".p.llproj.8y4h8fhv.tmp.llproj")
        )

    monkeypatch.setattr(tempfile, "mkstemp", denied)
    with pytest.raises(OSError) as caught:
        atomic_write_text(target, "x")
    message = str(caught.value)
    assert message == (
        f"Cannot save p.llproj: permission denied for the folder {tmp_path}. "
        "Save it in another folder, or make this one writable."
    )
    assert isinstance(caught.value, LayerLabError)
    assert ".tmp" not in message and "PermissionError" not in message
    assert "Errno" not in message


def test_a_refused_rename_names_the_users_file(tmp_path, monkeypatch):
    target = tmp_path / "p.llproj"
    atomic_write_text(target, "kept")

    def denied(source, destination):
        raise PermissionError(errno.EPERM, "Operation not permitted", str(source))

    monkeypatch.setattr(os, "replace", denied)
    with pytest.raises(FileSaveError, match=r"^Cannot save p\.llproj: permission denied"):
        atomic_write_text(target, "new")
    assert target.read_text() == "kept"
    assert sorted(os.listdir(tmp_path)) == ["p.llproj"]


def test_other_disk_errors_read_as_a_sentence(tmp_path, monkeypatch):
    def failing(handle):
        raise OSError(errno.EIO, "Input/output error")

    with pytest.raises(FileSaveError) as caught:
        atomic_write_with(tmp_path / "p.llproj", failing)
    assert str(caught.value) == "Cannot save p.llproj: input/output error."


# --- reading JSON safely ----------------------------------------------------------------


@pytest.mark.parametrize("depth", [100_000, 500])
def test_deeply_nested_json_is_refused_plainly(tmp_path, depth):
    path = tmp_path / "x.llproj"
    path.write_text("[" * depth + "]" * depth)
    with pytest.raises(LayerLabError) as caught:
        read_json(path)
    assert str(caught.value) == (
        f"Cannot open x.llproj: its JSON nests more than {MAX_JSON_DEPTH} levels deep, "
        "which no LayerLab file does."
    )


def test_reasonable_nesting_and_depth_counting():
    assert loads_json("[" * 100 + "]" * 100, "a.json") == json.loads("[" * 100 + "]" * 100)
    assert json_depth(1) == 0
    assert json_depth({"a": [1, {"b": []}]}) == 4
    assert json_depth([[[[]]]], limit=2) == 3  # stops as soon as it is too deep


def test_only_regular_files_are_read(tmp_path):
    fifo = tmp_path / "x.llproj"
    os.mkfifo(fifo)  # opening it for reading would block forever
    with pytest.raises(LayerLabError, match=r"^Cannot open x\.llproj: it is not a regular file"):
        read_json(fifo)
    zero = tmp_path / "zero.llproj"
    zero.symlink_to("/dev/zero")
    with pytest.raises(LayerLabError, match="not a regular file"):
        read_json(zero)


def test_read_json_refusals_use_the_callers_error_class(tmp_path):
    class MyError(LayerLabError):
        pass

    (tmp_path / "b.json").write_bytes(b"\xff\xfe")
    with pytest.raises(MyError, match=r"^Cannot open b\.json: it is not a text file"):
        read_json(tmp_path / "b.json", error=MyError)
    (tmp_path / "big.json").write_text("[1]")
    with pytest.raises(MyError, match="more than"):
        read_json(tmp_path / "big.json", error=MyError, max_bytes=2)
