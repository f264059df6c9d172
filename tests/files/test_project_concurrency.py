"""Two LayerLabs (or a LayerLab and a CLI train) on one project: the lock, per-instance
recovery files, and noticing a change made on disk by someone else."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from app.project_guard import ProjectGuard
from app.project_lock import ProjectLock, lock_path
from app.project_watch import ProjectWatcher
from app.recovery import RecoveryStore
from engine.files import atomic_write_text
from engine.project import load_project, merge_runs, new_project, run_ids, save_project

ROOT = Path(__file__).resolve().parents[2]


def start_helper(code: str) -> subprocess.Popen:
    """A second process running ``code`` (with a QCoreApplication); returns once it
    printed "ready"."""
    script = "from PySide6.QtCore import QCoreApplication\napp = QCoreApplication([])\n"
    script += textwrap.dedent(code) + "\nprint('ready', flush=True)\nimport sys\nsys.stdin.read()\n"
    process = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    if line.strip() != "ready":
        process.kill()
        raise AssertionError(f"helper failed: {line}{process.stderr.read()}")
    return process


def kill_hard(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


# --- the lock ---------------------------------------------------------------------------


def test_a_project_open_in_another_process_is_reported_with_its_holder(qapp, tmp_path):
    path = tmp_path / "p.llproj"
    save_project(new_project(), path)
    other = start_helper(
        f"""
        from app.project_lock import ProjectLock
        lock = ProjectLock()
        assert lock.try_lock({str(path)!r})
        """
    )
    try:
        mine = ProjectLock()
        assert not mine.try_lock(path)
        pid, host, _program = mine.holder()
        assert pid == other.pid
        assert mine.message() == (
            f"p.llproj is open in another LayerLab (process {other.pid} on {host}). Saving "
            "here would overwrite the changes made there. Open it read-only?"
        )
        assert not mine.is_locked()
    finally:
        kill_hard(other)
    # The other LayerLab died without unlocking: its lock is stale and taken over.
    assert lock_path(path).exists()
    assert mine.try_lock(path) and mine.is_locked() and mine.holder() is None
    mine.unlock()
    assert not lock_path(path).exists()


def test_the_lock_holds_within_one_process_and_is_released(qapp, tmp_path):
    path = tmp_path / "p.llproj"
    first, second = ProjectLock(), ProjectLock()
    assert first.try_lock(path)
    assert lock_path(path) == tmp_path / ".p.llproj.lock"
    assert not second.try_lock(path)
    assert second.holder()[0] == os.getpid()
    first.unlock()
    assert second.try_lock(path)
    assert first.try_lock(tmp_path / "other.llproj")  # another file: its own lock
    second.unlock()
    first.unlock()


def test_a_folder_without_room_for_a_lock_does_not_block_opening(qapp, tmp_path):
    lock = ProjectLock()
    assert lock.try_lock(tmp_path / "missing-folder" / "p.llproj")
    assert not lock.is_locked() and lock.could_not_lock()


# --- per-instance recovery files --------------------------------------------------------


def test_one_instances_close_keeps_anothers_autosave(qapp, tmp_path):
    first, second = RecoveryStore(tmp_path), RecoveryStore(tmp_path)
    first.write(new_project(), tmp_path / "a.llproj")
    second.write(new_project(), None)
    assert first.project_file != second.project_file
    second.clear()  # the second window closed normally
    assert first.project_file.exists() and not second.project_file.exists()
    assert first.original_path() == tmp_path / "a.llproj"
    assert not RecoveryStore(tmp_path).exists()  # the first LayerLab is still running
    first.clear()
    assert sorted(os.listdir(tmp_path)) == []


def test_the_autosave_of_a_crashed_instance_is_offered_and_taken_once(qapp, tmp_path):
    project = new_project()
    project["fit"]["epochs"] = 7
    other = start_helper(
        f"""
        from pathlib import Path
        from app.recovery import RecoveryStore
        from engine.project import new_project
        project = new_project()
        project["fit"]["epochs"] = 7
        store = RecoveryStore({str(tmp_path)!r})
        store.write(project, Path("/projects/crashed.llproj"))
        """
    )
    running = RecoveryStore(tmp_path)
    assert not running.exists()  # its owner is alive: not an orphan
    kill_hard(other)
    starting, racing = RecoveryStore(tmp_path), RecoveryStore(tmp_path)
    assert starting.exists()
    assert load_project(starting.project_file)["fit"]["epochs"] == 7
    assert starting.original_path() == Path("/projects/crashed.llproj")
    assert not racing.exists()  # adopted once, not twice
    starting.clear()
    assert sorted(os.listdir(tmp_path)) == []


def test_recovery_files_from_before_slots_are_offered(qapp, tmp_path):
    atomic_write_text(tmp_path / "autosave.llproj", json.dumps(new_project()))
    (tmp_path / "autosave.json").write_text(json.dumps({"path": "/x/old.llproj"}))
    store = RecoveryStore(tmp_path)
    assert store.exists() and store.original_path() == Path("/x/old.llproj")
    assert not (tmp_path / "autosave.llproj").exists()
    store.clear()
    assert sorted(os.listdir(tmp_path)) == []


def test_the_newest_orphan_is_offered_first(qapp, tmp_path):
    for instance, when in (("1-old", 100.0), ("2-new", 200.0)):
        store = RecoveryStore(tmp_path, instance)
        store.write(new_project(), Path(f"/x/{instance}.llproj"))
        meta = json.loads(store.meta_file.read_text())
        store.meta_file.write_text(json.dumps(dict(meta, saved_at=when)))
        store.release()  # as if it crashed
    store = RecoveryStore(tmp_path)
    assert [p.parent.name for p in store.orphans()] == ["2-new", "1-old"]
    assert store.exists() and store.original_path() == Path("/x/2-new.llproj")


# --- watching the file ------------------------------------------------------------------


def test_a_change_on_disk_by_someone_else_is_signalled_every_time(qtbot, tmp_path):
    path = tmp_path / "p.llproj"
    save_project(new_project(), path)
    watcher = ProjectWatcher(settle_ms=50)
    watcher.watch(path)
    for number in range(2):  # twice: the watch survives an atomic replace (a new inode)
        project = load_project(path)
        project["runs"].append({"id": f"cli-{number}", "name": f"Run {number}"})
        with qtbot.waitSignal(watcher.changedOnDisk, timeout=5000) as blocker:
            save_project(project, path)  # as a CLI train records a run
        assert blocker.args == [path]
    watcher.watch(None)


def test_our_own_save_is_not_reported(qtbot, tmp_path):
    path = tmp_path / "p.llproj"
    save_project(new_project(), path)
    watcher = ProjectWatcher(settle_ms=50)
    watcher.watch(path)
    with qtbot.assertNotEmitted(watcher.changedOnDisk, wait=400):
        save_project(new_project(), path)
        watcher.note_saved()
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert watcher.check_now()  # and a change right before a save is found at once
    assert not watcher.check_now()


def test_window_flow_merges_a_cli_run_instead_of_clobbering_it(qtbot, tmp_path):
    """What the window does on changedOnDisk: merge the runs, then save."""
    path = tmp_path / "p.llproj"
    save_project(new_project(), path)
    ours = load_project(path)
    known = run_ids(ours)
    watcher = ProjectWatcher(settle_ms=50)
    merged: list[list] = []
    watcher.changedOnDisk.connect(
        lambda changed: merged.append(merge_runs(ours, load_project(changed), known_ids=known))
    )
    watcher.watch(path)
    on_disk = load_project(path)
    on_disk["runs"].append({"id": "cli", "name": "Run 1"})
    with qtbot.waitSignal(watcher.changedOnDisk, timeout=5000):
        save_project(on_disk, path)
    ours["runs"] = merged[-1]
    save_project(ours, path)
    watcher.note_saved()
    assert [run["id"] for run in load_project(path)["runs"]] == ["cli"]


# --- the guard the file controller holds -------------------------------------------------


def test_guard_merges_a_cli_run_before_the_next_save(qtbot, tmp_path):
    path = tmp_path / "p.llproj"
    save_project(new_project(), path)
    guard = ProjectGuard(settle_ms=50)
    ours = load_project(path)
    assert guard.open(path, ours)
    assert guard.prepare_save(path) is None and guard.merged_runs(ours) is None
    cli = load_project(path)
    cli["runs"].append({"id": "cli", "name": "Run 1"})
    with qtbot.waitSignal(guard.changedOnDisk, timeout=5000):
        save_project(cli, path)
    ours["runs"] = guard.merged_runs(ours)
    assert [run["id"] for run in ours["runs"]] == ["cli"]
    save_project(ours, path)
    guard.saved(path, ours)
    assert guard.merged_runs(ours) is None  # our own save is not news
    ours["runs"] = []  # the user deletes the CLI's run; another CLI run arrives unseen
    cli = load_project(path)
    cli["runs"].append({"id": "cli-2", "name": "Run 2"})
    save_project(cli, path)  # no event loop: found by the check before saving
    assert [run["id"] for run in guard.merged_runs(ours)] == ["cli-2"]
    guard.close()
    assert not lock_path(path).exists()


def test_guard_refuses_a_project_open_elsewhere_and_read_only_does_not_save(qapp, tmp_path):
    path = tmp_path / "p.llproj"
    save_project(new_project(), path)
    holder, guard = ProjectGuard(), ProjectGuard()
    assert holder.open(path, new_project())
    assert not guard.open(path, new_project())
    assert guard.message().startswith("p.llproj is open in another LayerLab (process ")
    guard.open_read_only(path, new_project())
    assert guard.prepare_save(path).startswith("p.llproj is open read-only")
    other = tmp_path / "copy.llproj"
    assert guard.prepare_save(other) is None  # Save As to a free file
    save_project(new_project(), other)
    guard.saved(other, new_project())
    assert guard.path == other and guard.lock.is_locked() and not guard.read_only
    refusal = holder.prepare_save(other)
    assert refusal.startswith(
        f"Cannot save over copy.llproj: it is open in another LayerLab (process {os.getpid()} on "
    )
    assert refusal.endswith("). Choose another name.")
    holder.close()
    guard.close()


def test_a_busy_folder_does_not_postpone_the_check(qtbot, tmp_path):
    path = tmp_path / "p.llproj"
    save_project(new_project(), path)
    watcher = ProjectWatcher(settle_ms=200)
    watcher.watch(path)
    changed: list[Path] = []
    watcher.changedOnDisk.connect(changed.append)
    cli = new_project()
    cli["runs"].append({"id": "cli", "name": "Run 1"})
    save_project(cli, path)
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline and not changed:  # a run writing files every 50 ms
        atomic_write_text(tmp_path / "history.csv", "epoch,loss\n")  # new entries
        qtbot.wait(50)
    assert changed == [path]


def test_lock_files_left_by_a_killed_instance_without_work_are_removed(qapp, tmp_path):
    other = start_helper(
        f"""
        from PySide6.QtCore import QLockFile
        lock = QLockFile({str(tmp_path / "999-dead.lock")!r})
        lock.setStaleLockTime(0)
        assert lock.tryLock(0)
        """
    )
    assert not RecoveryStore(tmp_path).exists()
    assert (tmp_path / "999-dead.lock").exists()  # its owner is alive
    kill_hard(other)
    assert not RecoveryStore(tmp_path).exists()
    assert sorted(os.listdir(tmp_path)) == []
