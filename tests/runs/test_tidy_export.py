"""The tidy export: one row per run, epoch and metric, with each run's hyperparameters as
columns, as CSV and as JSON with the same contents."""

from __future__ import annotations

import csv
import io
import json
import math

import pandas as pd

from engine.export import TIDY_COLUMNS, tidy_csv, tidy_json, tidy_rows

ADAM = {"class_name": "Adam", "config": {"learning_rate": 0.0010000000474974513}}
MODEL = {
    "layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 4]}},
        {"class_name": "Dense", "config": {"units": 8}},
        {"class_name": "Dense", "config": {"units": 1}},
    ]
}
FIRST = {
    "id": "r1",
    "name": 'Run "1", baseline\nsecond line',
    "status": "completed",
    "seconds": 3.5,
    "history": {"loss": [0.9, 0.5], "val_loss": [0.8, None]},
    "test_metrics": {"loss": 0.55},
    "snapshot": {
        "model": MODEL,
        "compile": {"optimizer": ADAM, "loss": "mse"},
        "fit": {"epochs": 2, "batch_size": 32, "validation_split": 0.2},
        "dataset": {"source": "keras", "name": "boston_housing"},
    },
    "tags": ["baseline", "mlp"],
}
TRIAL = {
    "id": "r2",
    "name": "Trial 0",
    "status": "completed",
    "history": {"loss": [float("nan"), 0.4, 0.3]},
    "snapshot": {"compile": {"optimizer": "sgd", "loss": "mse"}, "fit": {"batch_size": 64}},
    "params": {"units": 16},
    "parameter_count": 97,
}
IMPORTED = {"id": "r3", "name": "model.h5", "status": "imported", "snapshot": {"model": MODEL}}


def test_rows_columns_and_hyperparameters():
    header, rows = tidy_rows([FIRST, TRIAL, IMPORTED], params=lambda run: {"r1": 49}.get(run["id"]))
    assert header[:5] == list(TIDY_COLUMNS)
    for column in ("optimizer", "learning_rate", "batch_size", "epochs", "loss", "layers"):
        assert column in header
    assert "params" in header and "search.units" in header
    table = [dict(zip(header, row, strict=True)) for row in rows]
    assert len(table) == 2 + 2 + 1 + 3  # loss, val_loss, the test loss; the trial's 3 losses
    first = table[0]
    assert (first["run_id"], first["epoch"], first["metric"], first["value"]) == (
        "r1",
        1,
        "loss",
        0.9,
    )
    assert first["optimizer"] == "Adam" and first["learning_rate"] == 0.001
    assert (first["batch_size"], first["epochs"], first["loss"]) == (32, 2, "mse")
    assert (first["layers"], first["params"], first["tags"]) == (2, 49, "baseline mlp")
    assert first["dataset"] == "boston_housing" and first["search.units"] is None
    assert table[3]["value"] is None  # val_loss of epoch 2 was not finite
    assert (table[4]["epoch"], table[4]["metric"], table[4]["value"]) == (None, "test_loss", 0.55)
    trial = table[5]
    assert trial["value"] is None and trial["optimizer"] == "sgd"
    assert trial["search.units"] == 16 and trial["layers"] is None
    assert not [row for row in table if row["run_id"] == "r3"]  # imported: no values to list


def test_csv_and_json_hold_the_same_table():
    runs = [FIRST, TRIAL, IMPORTED]
    text = tidy_csv(runs)
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[1][0] == FIRST["name"]  # commas, quotes and newlines survive
    assert parsed[1][4] == "0.9"
    records = json.loads(tidy_json(runs))
    assert len(records) == len(parsed) - 1
    assert records[0]["run"] == FIRST["name"] and records[0]["learning_rate"] == 0.001
    frame_csv = pd.read_csv(io.StringIO(text))
    frame_json = pd.DataFrame(records)
    assert list(frame_csv.columns) == list(frame_json.columns)
    assert frame_csv["value"].tolist()[:3] == frame_json["value"].tolist()[:3]
    assert math.isnan(frame_csv["value"][3]) and records[3]["value"] is None


def test_no_runs_is_a_header_only():
    assert tidy_csv([]).strip() == ",".join(TIDY_COLUMNS)
    assert json.loads(tidy_json([])) == []
