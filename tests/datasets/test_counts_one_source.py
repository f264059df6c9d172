"""Part counts come from one place, the Dataset (issue 9 item 6: previews that disagreed)."""

from __future__ import annotations

import numpy as np

from engine.datasets import load_dataset


def _csv(tmp_path, n=600):
    path = tmp_path / "rows.csv"
    path.write_text("a,b,y\n" + "".join(f"{i * 0.1:.1f},{i % 5},{i % 3}\n" for i in range(n)))
    return path


def test_counts_text_fields_and_description_agree(tmp_path):
    dataset = load_dataset(
        {"source": "csv", "path": str(_csv(tmp_path)), "target": "y", "test_split": 0.2},
        validation_split=0.2,
    )
    assert dataset.sizes() == {"train": 384, "validation": 96, "test": 120}
    assert (dataset.train_size, dataset.val_size, dataset.test_size) == (384, 96, 120)
    assert dataset.sizes_text() == "384 train · 96 validation · 120 test"
    assert dataset.description.splitlines()[0] == f"rows.csv: {dataset.sizes_text()}."


def test_a_time_series_says_its_counts_are_windows_and_from_which_rows(tmp_path):
    path = tmp_path / "series.csv"
    t = np.arange(600)
    path.write_text("t,u\n" + "".join(f"{np.sin(i / 9):.4f},{i}\n" for i in t))
    dataset = load_dataset(
        {
            "source": "timeseries",
            "path": str(path),
            "target": "t",
            "lookback": 30,
            "step": 3,
            "delay": 6,
            "split": [0.64, 0.16, 0.2],
        }
    )
    sizes = dataset.sizes()
    assert sizes["train"] == 384 - 33 and sizes["validation"] == 96 - 33
    text = dataset.sizes_text()
    assert text == (
        f"{sizes['train']} train · {sizes['validation']} validation · {sizes['test']} test "
        "(windows from 384 / 96 / 120 rows)"
    )
    assert text in dataset.description.splitlines()[0]
    assert dataset.train_size == sizes["train"]
