"""A project with two real recorded digits runs (trained once per session)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from engine import runs, training
from engine.project import demo_project, save_project


@pytest.fixture(scope="session")
def recorded_project(tmp_path_factory) -> Path:
    """``runs.llproj``: demo digits MLP, Run 1 (2 epochs) and Run 2 (batch size 64)."""
    folder = tmp_path_factory.mktemp("recorded")
    path = folder / "runs.llproj"
    project = demo_project()
    project["fit"]["epochs"] = 2
    project["fit"]["seed"] = 3
    for batch_size in (32, 64):
        settings = copy.deepcopy(project)
        settings["fit"]["batch_size"] = batch_size
        result = training.run(settings, workdir=folder)
        assert result.status == "completed", result.message
        project, _ = runs.record_run(project, result, path)
    save_project(project, path)
    return path
