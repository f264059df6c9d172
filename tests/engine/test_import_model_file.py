"""Importing a model file: the project keeps the file's weights (initial weights and an
"imported" run that evaluates like plain Keras) and its compile settings; ``python main.py
import`` exits 0 or 2 with one plain line."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

import main
from engine import runs as records
from engine.datasets import load_dataset
from engine.evaluation import evaluate
from engine.model_import import import_model_file, imported_project, write_import
from engine.project import load_project
from engine.project_weights import load_initial_weights, project_weights_path

DIGITS = {"source": "sample", "name": "digits"}

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # Keras's .h5 save


@pytest.fixture(scope="module")
def digits_file(tmp_path_factory) -> tuple[Path, keras.Model]:
    """A small MLP trained a little on the sample digits, saved by Keras as .h5 (compiled:
    the file stores its training_config)."""
    folder = tmp_path_factory.mktemp("import")
    keras.utils.set_random_seed(1)
    dataset = load_dataset(DIGITS)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.RMSprop(0.005),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(**dataset.fit_arguments(64, True, 1), epochs=3, verbose=0)
    path = folder / "digits_mlp.h5"
    model.save(path)
    return path, model


def test_import_keeps_weights_and_compile_settings(digits_file, tmp_path):
    path, model = digits_file
    imported = import_model_file(path)
    assert imported.weights_loaded and not imported.functional
    assert imported.compile["optimizer"]["class_name"] == "RMSprop"
    assert imported.compile["optimizer"]["config"]["learning_rate"] == 0.005
    assert imported.compile["loss"] == "sparse_categorical_crossentropy"
    assert any("trained weights (1,210 parameters)" in line for line in imported.note)
    assert any(line.startswith("Compile settings from the file") for line in imported.note)
    for ours, theirs in zip(imported.model.get_weights(), model.get_weights(), strict=True):
        assert np.array_equal(ours, theirs)


def test_imported_run_evaluates_like_plain_keras_with_those_weights(digits_file, tmp_path):
    path, model = digits_file
    project_path = tmp_path / "digits.llproj"
    write_import(import_model_file(path), project_path, dataset=DIGITS)
    project = load_project(project_path)
    run = project["runs"][-1]
    assert run["status"] == "imported" and run["message"] == "Imported from digits_mlp.h5"
    assert run["history"] == {} and run["epochs_completed"] == 0
    dataset = records.run_dataset(run)
    result = evaluate(records.run_model(project_path, run), dataset, 32)
    x_test, y_test = dataset.test_arrays()
    plain = model.evaluate(x_test, y_test, batch_size=32, verbose=0, return_dict=True)
    assert result.metrics["accuracy"] == pytest.approx(plain["accuracy"], abs=1e-7)
    assert result.metrics["loss"] == pytest.approx(plain["loss"], rel=1e-5)
    assert plain["accuracy"] > 0.5  # trained weights, not a fresh initialisation


def test_written_project_has_initial_weights_that_load_into_the_edited_model(digits_file, tmp_path):
    from engine.spec import build_model, insert_layer

    path, model = digits_file
    project_path = tmp_path / "edit.llproj"
    write_import(import_model_file(path), project_path)
    project = load_project(project_path)
    assert project["weights"] == "edit.weights.h5"
    assert project["fit"]["start_from"] == "weights"
    assert (tmp_path / "edit.weights.h5").is_file()
    edited = build_model(insert_layer(project["model"], 1, "Dropout"))
    report = load_initial_weights(edited, project_weights_path(project, project_path))
    assert report.loaded == ["hidden", "out"] and report.complete
    for name in ("hidden", "out"):
        for ours, theirs in zip(
            edited.get_layer(name).get_weights(),
            model.get_layer(name).get_weights(),
            strict=True,
        ):
            assert np.array_equal(ours, theirs)


def test_runs_listing_and_names_accept_an_imported_run(digits_file, tmp_path):
    from engine.cli.runs import runs_table

    path, _model = digits_file
    project = imported_project(import_model_file(path), None)
    run = project["runs"][0]
    assert Path(run["weights"]).is_absolute()  # unsaved: the temporary folder
    assert records.status_text(run) == "imported from digits_mlp.h5"
    assert records.main_metric(run) is None and records.best_metrics(run["history"]) == {}
    assert records._next_name(project["runs"]) == "Run 1"
    table = runs_table(project, width=120)
    row = next(line for line in table.splitlines() if line.startswith("Imported digits_mlp"))
    assert " imported " in row
    assert records.compared_changes(project["runs"]) == {run["id"]: []}
    # Saving moves the run's model and the initial weights beside the project.
    saved = records.place_run_files(project, tmp_path / "later.llproj")
    assert saved["weights"] == "later.weights.h5"
    assert saved["runs"][0]["weights"].startswith("runs/")
    assert (tmp_path / saved["runs"][0]["weights"]).is_file()


def test_file_without_compile_settings_gets_suggested_ones(tmp_path):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, activation="sigmoid")])
    path = tmp_path / "plain.h5"
    model.save(path)  # not compiled: no training_config
    with h5py.File(path) as h5:
        assert "training_config" not in h5.attrs
    imported = import_model_file(path)
    assert imported.compile is None
    project = write_import(imported, tmp_path / "plain.llproj")
    assert project["compile"]["loss"] == "binary_crossentropy"
    assert any("Suggest chose adam, binary_crossentropy" in line for line in imported.note)


def test_keras2_training_config_in_the_file_is_used(tmp_path):
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, activation="sigmoid")])
    path = tmp_path / "k2.h5"
    model.save(path)
    keras2 = {
        "optimizer_config": {"class_name": "RMSprop", "config": {"lr": 0.0005, "decay": 0.0}},
        "loss": "binary_crossentropy",
        "metrics": ["acc"],
        "sample_weight_mode": None,
        "loss_weights": None,
    }
    with h5py.File(path, "a") as h5:
        h5.attrs["training_config"] = json.dumps(keras2).encode()
    imported = import_model_file(path)
    assert imported.compile == {
        "optimizer": {"class_name": "RMSprop", "config": {"learning_rate": 0.0005}},
        "loss": "binary_crossentropy",
        "metrics": ["accuracy"],
    }


def test_cli_import_exit_codes(digits_file, tmp_path, capsys):
    path, _model = digits_file
    source = tmp_path / path.name
    source.write_bytes(path.read_bytes())
    assert main.main(["import", str(source)]) == 0
    out = capsys.readouterr().out
    assert "Total params: 1,210" in out
    assert "Compile settings from the file: RMSprop" in out
    assert "Wrote digits_mlp.llproj, digits_mlp.weights.h5, runs/" in out
    assert (tmp_path / "digits_mlp.llproj").is_file()
    assert (tmp_path / "digits_mlp.weights.h5").is_file()

    # An existing project is not replaced without --force.
    assert main.main(["import", str(source)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "already exists" in err and "--force" in err
    assert main.main(["import", str(source), "--force"]) == 0
    capsys.readouterr()

    # A named project; a file that is not a model: exit 2, one plain line naming it.
    assert main.main(["import", str(source), str(tmp_path / "named")]) == 0
    assert (tmp_path / "named.llproj").is_file() and (tmp_path / "named.weights.h5").is_file()
    capsys.readouterr()
    broken = tmp_path / "broken.h5"
    broken.write_bytes(b"this is not HDF5")
    assert main.main(["import", str(broken)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("layerlab import: ") and "broken.h5" in err and "\n" not in err
    assert not (tmp_path / "broken.llproj").exists()
    assert main.main(["import", str(tmp_path / "missing.h5")]) == 2
    assert "missing.h5" in capsys.readouterr().err


def test_functional_model_imports_read_only(tmp_path):
    inputs = keras.Input((6,))
    left = keras.layers.Dense(4, name="left")(inputs)
    right = keras.layers.Dense(4, name="right")(inputs)
    merged = keras.layers.Concatenate(name="merge")([left, right])
    outputs = keras.layers.Dense(1, activation="sigmoid", name="out")(merged)
    model = keras.Model(inputs, outputs)
    path = tmp_path / "branches.h5"
    model.save(path)
    imported = import_model_file(path)
    assert imported.functional
    assert any("read-only" in line for line in imported.note)
    project = write_import(imported, tmp_path / "branches.llproj")
    assert "input_layers" in project["model"]
    reopened = load_project(tmp_path / "branches.llproj")
    run_model = records.run_model(tmp_path / "branches.llproj", reopened["runs"][-1])
    x = np.random.default_rng(0).normal(size=(3, 6)).astype("float32")
    assert np.allclose(run_model.predict(x, verbose=0), model.predict(x, verbose=0))


def test_import_notes_name_the_dataset_when_suggest_uses_it(tmp_path):
    from engine.model_import import import_notes

    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
    path = tmp_path / "bare.h5"
    model.save(path)
    imported = import_model_file(path)
    dataset = load_dataset(DIGITS)
    notes = import_notes(imported, dataset)
    assert any("for the dataset's multiclass task" in line for line in notes)
    assert not any("from its output layer" in line for line in notes)
    assert import_notes(imported) == imported.note
    project = imported_project(imported, None, dataset=dataset)
    assert project["dataset"]["name"] == "digits"
    assert project["compile"]["loss"] == "sparse_categorical_crossentropy"


def test_cli_import_on_a_full_disk_exits_2_and_leaves_nothing(
    digits_file, tmp_path, capsys, monkeypatch
):
    import errno

    import engine.project

    path, _model = digits_file
    source = tmp_path / path.name
    source.write_bytes(path.read_bytes())

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(engine.project, "atomic_write_text", full)
    assert main.main(["import", str(source)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "layerlab import: Cannot write digits_mlp.llproj: No space left on device. Nothing "
        "was kept; free some space or choose another folder, then import again."
    )
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["digits_mlp.h5"]
    assert not any((tmp_path / "runs").glob("*.h5"))
