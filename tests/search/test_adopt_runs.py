"""Recording a search's trials into the project file: a file this process wrote last is not
parsed again for the next trial (it held the GIL while the window's GUI thread waited), but
whatever another program saved in between is read and kept."""

from __future__ import annotations

import json
import os
import time

import engine.files
from engine.project import load_project, save_project
from engine.worker import adopt_runs
from engine.worker_protocol import JobResult
from tests.search.support import write_project


def _result(run_id: str, tmp_path) -> JobResult:
    record = {"id": run_id, "status": "completed", "history": {"loss": [1.0, 0.5]}}
    return JobResult("completed", "Trained.", str(tmp_path), record)


def _count_reads(monkeypatch) -> list[str]:
    reads: list[str] = []
    real = engine.files.read_json

    def counting(path, *args, **kwargs):
        reads.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(engine.files, "read_json", counting)
    return reads


def _ids(path) -> list[str]:
    return [run["id"] for run in json.loads(path.read_text())["runs"]]


def test_a_file_it_wrote_last_is_not_read_again(tmp_path, monkeypatch):
    path = write_project(tmp_path)
    reads = _count_reads(monkeypatch)
    for number in range(4):
        (run,) = adopt_runs(path, [(_result(f"r{number}", tmp_path), {"name": f"Trial {number}"})])
        assert run["id"] == f"r{number}"
    assert len(reads) == 1  # only before the first trial
    assert _ids(path) == ["r0", "r1", "r2", "r3"]
    assert load_project(path)["runs"][3]["name"] == "Trial 3"  # still a valid project


def test_runs_another_program_saved_in_between_are_read_and_kept(tmp_path, monkeypatch):
    path = write_project(tmp_path)
    adopt_runs(path, [(_result("r0", tmp_path), {})])
    reads = _count_reads(monkeypatch)

    # the window (or a CLI train) saves the project with a run of its own: a new file
    data = json.loads(path.read_text())
    data["runs"].append({"id": "theirs", "status": "completed", "name": "Run 9"})
    save_project(data, path)
    adopt_runs(path, [(_result("r1", tmp_path), {})])
    assert len(reads) == 1
    assert _ids(path) == ["r0", "theirs", "r1"]

    # an editor rewriting the same file in place (same inode): read again too
    text = path.read_text().replace('"Run 9"', '"Mine"')
    time.sleep(0.01)
    with open(path, "r+", encoding="utf-8") as handle:
        handle.write(text)
        handle.truncate()
    os.utime(path)
    adopt_runs(path, [(_result("r2", tmp_path), {})])
    assert len(reads) == 2
    runs = json.loads(path.read_text())["runs"]
    assert [r["id"] for r in runs] == ["r0", "theirs", "r1", "r2"]
    assert runs[1]["name"] == "Mine"
