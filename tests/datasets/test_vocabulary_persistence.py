"""A text folder's vocabulary is stored with the project: a recorded run reads new text the
way it was trained after the project is reopened, even when the folder's files changed."""

from __future__ import annotations

import shutil
from pathlib import Path

import keras
import numpy as np

import main
from engine.datasets import load_dataset
from engine.evaluation import predict_one
from engine.project import demo_project, load_project, save_project
from engine.runs import run_dataset, run_model

NEW_TEXT = "a great story, but the acting was dull and slow"


def _write(root: Path, texts: dict[str, list[str]]) -> None:
    for label, items in texts.items():
        folder = root / "train" / label
        folder.mkdir(parents=True, exist_ok=True)
        for number, text in enumerate(items):
            (folder / f"{number}.txt").write_text(text)


def _project(tmp_path: Path) -> tuple[Path, dict]:
    reviews = tmp_path / "reviews"
    _write(
        reviews,
        {
            "pos": ["great story great acting", "a great film", "loved the story", "great fun"],
            "neg": ["dull acting dull story", "a slow dull film", "bad and slow", "dull"],
        },
    )
    block = {
        "source": "text_folder",
        "path": str(reviews),
        "output_mode": "int",
        "max_tokens": 40,
        "sequence_length": 12,
        "test_split": 0.25,
    }
    model = keras.Sequential(
        [
            keras.Input((12,), dtype="int32"),
            keras.layers.Embedding(40, 4),
            keras.layers.GlobalAveragePooling1D(),
            keras.layers.Dense(2, activation="softmax"),
        ]
    )
    project = demo_project()
    project.update(model=model.get_config(), dataset=block)
    project["fit"].update(callbacks=[], validation_split=0.0, batch_size=4)
    path = tmp_path / "reviews.llproj"
    save_project(project, path)
    return path, block


def test_recorded_run_reads_new_text_as_trained_after_the_folder_changed(tmp_path, capsys):
    path, block = _project(tmp_path)
    learned = load_dataset(block)
    expected = learned.encode_inputs(NEW_TEXT)
    assert main.main(["train", str(path), "--epochs", "1"]) == 0
    capsys.readouterr()

    project = load_project(path)  # reopened
    run = project["runs"][-1]
    assert project["dataset"] == {**block, "vocabulary": learned.vocabulary}
    assert run["snapshot"]["dataset"] == project["dataset"]
    model = run_model(path, run)
    before = predict_one(model, run_dataset(run), NEW_TEXT)

    # The folder changes: new words, more frequent ones, files gone.
    reviews = Path(block["path"])
    shutil.rmtree(reviews / "train" / "neg")
    _write(
        reviews,
        {
            "neg": ["but the acting was slow", "the the the was was but", "but was the worst"],
            "pos": ["the best story", "was the best"],
        },
    )
    relearned = load_dataset(block).encode_inputs(NEW_TEXT)
    assert relearned.tolist() != expected.tolist()  # learning again would read it otherwise

    dataset = run_dataset(run)
    np.testing.assert_array_equal(dataset.encode_inputs(NEW_TEXT), expected)
    np.testing.assert_array_equal(
        load_dataset(project["dataset"]).encode_inputs(NEW_TEXT), expected
    )
    after = predict_one(model, dataset, NEW_TEXT)
    assert after.labels == before.labels

    # Training again on the changed folder uses the stored vocabulary, not a new one.
    assert main.main(["train", str(path), "--epochs", "1"]) == 0
    again = load_project(path)
    assert again["dataset"]["vocabulary"] == learned.vocabulary
    assert again["runs"][-1]["snapshot"]["dataset"]["vocabulary"] == learned.vocabulary
