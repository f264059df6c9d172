"""A tiny project file on the sample digits for the search, worker and group tests."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from engine.project import dumps_project, resources_dir

SPACE = [
    {"path": "model.layers[1].config.units", "type": "int", "low": 4, "high": 16, "log": True},
    {
        "path": "compile.optimizer.config.learning_rate",
        "type": "float",
        "low": 1e-3,
        "high": 1e-2,
        "log": True,
    },
    {"path": "fit.batch_size", "type": "categorical", "choices": [64, 128]},
    {"path": "model.layers[2]", "type": "layer_on_off"},
]


def tiny_project(epochs: int = 2, search: dict | None = None) -> dict:
    """The demo MLP (Input, Dense, Dropout, Dense) made small: 8 units, 2 epochs, seed 0."""
    project = json.loads((resources_dir() / "demo.llproj").read_text())
    project["model"]["layers"][1]["config"]["units"] = 8
    project["fit"].update(epochs=epochs, batch_size=64, callbacks=[], seed=0)
    project["runs"] = []
    if search is not None:
        project["search"] = copy.deepcopy(search)
    return project


def write_project(folder: Path, name: str = "tiny", **options) -> Path:
    path = folder / f"{name}.llproj"
    path.write_text(dumps_project(tiny_project(**options)))
    return path


def read(path: Path) -> dict:
    return json.loads(path.read_text())
