"""Groups: k-fold splits, mean ± std summaries, and a 3-fold group trained in workers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.errors import ProjectError
from engine.groups import GroupError, fold_rows, member_jobs, run_group, summarize
from engine.project import load_project
from engine.worker_protocol import JobFinished, TrainBegin
from tests.search.support import read, tiny_project, write_project


def test_stratified_folds_cover_every_row_once_and_keep_the_class_mix():
    labels = np.array([0] * 30 + [1] * 60 + [2] * 90)
    seen = []
    for index in range(3):
        train, validation = fold_rows(labels, 3, index, seed=0, stratify=True)
        assert not set(train) & set(validation)
        assert len(train) + len(validation) == len(labels)
        assert np.bincount(labels[validation]).tolist() == [10, 20, 30]
        seen += list(validation)
    assert sorted(seen) == list(range(len(labels)))
    one_hot = np.eye(3)[labels]
    assert (
        fold_rows(one_hot, 3, 1, 0, True)[1].tolist()
        == fold_rows(labels, 3, 1, 0, True)[1].tolist()
    )
    regression = fold_rows(np.linspace(0, 1, 10), 5, 0, 0, False)
    assert len(regression[1]) == 2
    with pytest.raises(GroupError, match="k from 2"):
        fold_rows(labels, 1, 0, 0, True)


def test_summarize_mean_std_and_curves():
    runs = [
        {"best": {"val_loss": {"value": 1.0, "epoch": 0}}, "history": {"val_loss": [2.0, 1.0]}},
        {
            "best": {"val_loss": {"value": 3.0, "epoch": 2}},
            "history": {"val_loss": [4.0, 5.0, 3.0]},
        },
    ]
    summary = summarize(runs)
    assert summary["best"]["val_loss"] == {"mean": 2.0, "std": math.sqrt(2.0), "n": 2}
    curve = summary["curves"]["val_loss"]
    assert curve["mean"] == [3.0, 3.0, 3.0]
    assert curve["std"] == [math.sqrt(2.0), math.sqrt(8.0), 0.0]
    assert curve["n"] == [2, 2, 1]


def test_member_jobs_seeds_and_folds(tmp_path):
    project = tiny_project()
    seeds = member_jobs(project, "repeat", 3, seed=5, group_id="g", out=tmp_path)
    assert [job.project["fit"]["seed"] for job in seeds] == [5, 6, 7]
    assert [job.fold for job in seeds] == [None, None, None]
    folds = member_jobs(project, "kfold", 2, group_id="g", out=tmp_path)
    assert [job.fold for job in folds] == [
        {"k": 2, "index": 0, "seed": 0},
        {"k": 2, "index": 1, "seed": 0},
    ]
    for kind, size in (("kfold", 1), ("repeat", 0), ("other", 2)):
        with pytest.raises(GroupError):
            member_jobs(project, kind, size, group_id="g", out=tmp_path)


def test_k_fold_3_records_three_member_runs_and_the_group(tmp_path, pool):
    path = write_project(tmp_path, epochs=1)
    begins = []

    def sink(job_id, event):
        if isinstance(event, TrainBegin):
            begins.append(event)
        assert not isinstance(event, JobFinished) or event.status == "completed", event

    group = run_group(path, "kfold", 3, sink=sink, pool=pool)
    data = read(path)
    members = [run for run in data["runs"] if run.get("group") == group["id"]]
    assert len(members) == 3 and group["runs"] == [run["id"] for run in members]
    assert [run["fold"]["index"] for run in members] == [0, 1, 2]
    assert [run["name"] for run in members] == [f"3-fold: fold {i} of 3" for i in (1, 2, 3)]
    # every fold trains on two thirds of the 1,437 training and validation examples
    sizes = {(b.samples,) for b in begins}
    assert len(begins) == 3 and all(955 <= b.samples <= 960 for b in begins), sizes
    best = [run["best"]["val_loss"]["value"] for run in members]
    entry = group["best"]["val_loss"]
    assert entry["n"] == 3 and entry["mean"] == pytest.approx(np.mean(best))
    assert entry["std"] == pytest.approx(np.std(best, ddof=1))
    assert len(group["curves"]["val_loss"]["mean"]) == 1
    assert data["groups"] == [group]
    assert load_project(path)["groups"][0]["id"] == group["id"]  # the file validates


def test_bad_groups_are_project_errors():
    project = tiny_project()
    for groups, words in (
        ({}, "must be a list"),
        ([{"id": "a", "kind": "x", "runs": []}], "kind 'x'"),
        ([{"id": "a", "kind": "repeat", "runs": [1]}], "list of run ids"),
        ([{"id": "a", "kind": "repeat", "runs": []}] * 2, "unique"),
    ):
        with pytest.raises(ProjectError, match=words):
            load = dict(project, groups=groups)
            from engine.project import validate_project

            validate_project(load)


def test_the_group_command_prints_each_member_and_the_mean_and_std(tmp_path, capsys, monkeypatch):
    """Repeat with seeds from the command line (workers: the fake worker, which dies on a
    job id ending in -0: one member fails, the others are recorded as the group)."""
    import sys
    from pathlib import Path

    import main
    from engine import worker

    fake = [sys.executable, str(Path(__file__).with_name("fake_worker.py"))]
    real_init = worker.WorkerPool.__init__

    def with_fake(self, *args, **kwargs):
        kwargs["command"] = fake
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(worker.WorkerPool, "__init__", with_fake)
    path = write_project(tmp_path, epochs=1)
    code = main.main(["group", str(path), "--seeds", "3", "--workers", "1", "--name", "three"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0, out
    assert out[0].startswith("Member 1: failed: The worker process for seed 0 ")
    assert out[1:3] == [
        "Member 2: completed; best val_loss 0.8 (epoch 2)",
        "Member 3: completed; best val_loss 0.8 (epoch 2)",
    ]
    assert out[3] == "Group 'three': 2 of 3 members recorded."
    assert out[4] == "  best val_loss: 0.8 ± 0 (n=2)"
    (group,) = read(path)["groups"]
    assert group["name"] == "three" and len(group["runs"]) == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (["--seeds", "0"], "For a repeat group the number of seeds must be from 1 to"),
        (["--kfold", "1"], "For a kfold group k must be from 2 to"),
        (["--seeds", "2", "--epochs", "0"], "--epochs must be at least 1, got 0."),
    ],
)
def test_the_group_command_refuses_bad_input_with_exit_2(tmp_path, capsys, args, message):
    import main

    path = write_project(tmp_path, epochs=1)
    assert main.main(["group", str(path), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("layerlab group: ") and message in err
    assert "groups" not in read(path)
