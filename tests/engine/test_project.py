"""Project files: round trip, Keras configs as the model, and refusals naming the field."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import keras
import pytest

from engine.errors import ProjectError
from engine.project import (
    EMPTY_SEQUENTIAL_CONFIG,
    PROJECT_FORMAT,
    PROJECT_VERSION,
    ProjectTooNewError,
    demo_project,
    dumps_project,
    load_project,
    may_overwrite,
    merge_runs,
    new_project,
    preview_project,
    resources_dir,
    run_ids,
    runs_on_disk,
    save_project,
    validate_project,
)

THE, SETTING = r"^The setting ", r"^Setting "  # how project messages start


def plain_json(value):
    return json.loads(json.dumps(value))


def project_with(model_config: dict, **sections) -> dict:
    project = new_project()
    project["model"] = plain_json(model_config)
    project.update(sections)
    return project


def write(path, data) -> None:
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")


def refused(data, match: str) -> ProjectError:
    with pytest.raises(ProjectError, match=match) as caught:
        validate_project(data)
    return caught.value


def test_new_project_holds_exactly_keras_empty_sequential_config():
    assert plain_json(keras.Sequential(name="sequential").get_config()) == EMPTY_SEQUENTIAL_CONFIG
    project = new_project()
    assert project["format"] == PROJECT_FORMAT and project["version"] == PROJECT_VERSION
    assert validate_project(project) == project


def test_demo_project_is_a_small_mlp_on_the_sample_digits():
    assert (resources_dir() / "demo.llproj").is_file()
    project = demo_project()
    assert project["dataset"] == {"source": "sample", "name": "digits"}
    assert project["compile"]["loss"] == "sparse_categorical_crossentropy"
    assert project["compile"]["optimizer"]["class_name"] == "Adam"
    assert project["fit"]["epochs"] == 15 and project["fit"]["seed"] == 7
    model = keras.Sequential.from_config(project["model"])
    assert model.input_shape == (None, 64)
    assert model.output_shape == (None, 10)
    assert model.count_params() == 64 * 64 + 64 + 64 * 10 + 10
    optimizer = keras.optimizers.deserialize(copy.deepcopy(project["compile"]["optimizer"]))
    assert float(optimizer.learning_rate) == pytest.approx(0.001)


def test_save_and_load_round_trip_keeps_unknown_keys_and_order(tmp_path):
    project = demo_project()
    project["notes"] = {"author": "ada", "tags": ["mlp"]}
    project["dataset"]["test_split"] = 0.25
    project["compile"]["jit_compile"] = False
    project["fit"]["verbose_note"] = "kept"
    project["runs"] = [{"id": "run-1", "history": {"loss": [1.0, 0.5]}}]
    path = tmp_path / "round.llproj"
    save_project(project, path)
    loaded = load_project(path)
    assert loaded == project
    assert list(json.loads(path.read_text()))[:7] == [
        "format",
        "version",
        "model",
        "dataset",
        "compile",
        "fit",
        "runs",
    ]
    assert path.read_text(encoding="utf-8") == dumps_project(loaded)  # stable


def test_save_is_atomic_and_keeps_the_previous_file_as_backup(tmp_path):
    path = tmp_path / "mine.llproj"
    first = new_project()
    save_project(first, path)
    assert not (tmp_path / "mine.llproj~").exists()
    second = demo_project()
    save_project(second, path)
    assert load_project(tmp_path / "mine.llproj~") == validate_project(first)
    assert load_project(path) == second
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.llproj", "mine.llproj~"]


def test_dumps_turns_numpy_values_into_plain_json():
    import numpy as np

    project = new_project()
    project["runs"] = [
        {
            "history": {
                "loss": np.array([0.5, 0.25], dtype="float32"),
                "acc": [np.float32(0.5), np.float64(0.75)],
            }
        }
    ]
    project["fit"]["epochs"] = np.int64(3)
    text = dumps_project(project)
    assert '"loss": [0.5, 0.25]' in text and '"acc": [0.5, 0.75]' in text
    data = json.loads(text)
    assert data["runs"][0]["history"]["loss"] == [0.5, 0.25]
    assert data["fit"]["epochs"] == 3
    assert '"metrics": ["accuracy"]' in text


@pytest.mark.parametrize("with_input", [True, False], ids=["built", "unbuilt"])
def test_any_keras_sequential_get_config_loads(tmp_path, with_input):
    layers = [
        keras.layers.Conv2D(8, 3, activation="relu"),
        keras.layers.MaxPooling2D(),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(10, activation="softmax"),
    ]
    if with_input:
        layers.insert(0, keras.Input((28, 28, 1)))
    model = keras.Sequential(layers)
    project = project_with(model.get_config())
    write(tmp_path / "from-keras.llproj", project)
    loaded = load_project(tmp_path / "from-keras.llproj")
    assert loaded["model"] == plain_json(model.get_config())
    assert ("build_input_shape" in loaded["model"]) is with_input


def test_a_model_to_json_wrapper_is_unwrapped():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    project = project_with(json.loads(model.to_json()))
    assert validate_project(project)["model"] == plain_json(model.get_config())


def test_loss_aliases_become_full_keras_names_and_input_is_not_changed():
    project = new_project()
    project["compile"]["loss"] = "mse"
    original = copy.deepcopy(project)
    assert validate_project(project)["compile"]["loss"] == "mean_squared_error"
    assert project == original
    for alias, full in [("mae", "mean_absolute_error"), ("bce", "binary_crossentropy")]:
        project["compile"]["loss"] = alias
        assert validate_project(project)["compile"]["loss"] == full


def test_missing_fit_settings_get_defaults():
    project = new_project()
    project["fit"] = {"epochs": 3}
    fit = validate_project(project)["fit"]
    assert fit["epochs"] == 3
    assert fit["batch_size"] == 32 and fit["shuffle"] is True and fit["callbacks"] == []


def test_newer_version_is_refused_with_update_advice(tmp_path):
    project = new_project()
    project["version"] = 2
    write(tmp_path / "future.llproj", project)
    with pytest.raises(ProjectError) as caught:
        load_project(tmp_path / "future.llproj")
    assert str(caught.value) == (
        "Cannot open future.llproj: the project was written by a newer LayerLab (version 2); "
        "this one reads version 1: update LayerLab."
    )
    assert caught.value.field == "version"


def test_unreadable_files_are_refused_plainly(tmp_path):
    write(tmp_path / "broken.llproj", '{\n  "format": "layerlab-project",\n  "version": 1,,\n}')
    with pytest.raises(ProjectError, match=r"not valid JSON \(Expecting .* line 3, column 16\)"):
        load_project(tmp_path / "broken.llproj")
    write(tmp_path / "list.llproj", "[1, 2]")
    with pytest.raises(ProjectError, match="expected a JSON object, found a list"):
        load_project(tmp_path / "list.llproj")
    write(tmp_path / "empty.llproj", "  \n")
    with pytest.raises(ProjectError, match="the file is empty"):
        load_project(tmp_path / "empty.llproj")
    (tmp_path / "binary.llproj").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ProjectError, match="not a text file"):
        load_project(tmp_path / "binary.llproj")
    with pytest.raises(ProjectError, match="there is no such file"):
        load_project(tmp_path / "missing.llproj")
    with pytest.raises(ProjectError, match="it is a folder"):
        load_project(tmp_path)


def test_other_json_is_not_a_project(tmp_path):
    refused({"format": "something-else", "version": 1}, r"not a LayerLab project \(format is")
    keras_config = plain_json(keras.Sequential([keras.layers.Dense(1)]).get_config())
    refused(keras_config, r"a Keras model config, not a LayerLab project: put it under \"model\"")


@pytest.mark.parametrize("section", ["model", "dataset", "compile", "fit"])
def test_missing_sections_are_named(section):
    project = new_project()
    del project[section]
    error = refused(project, f'no "{section}" section')
    assert error.field == section


def test_unknown_layer_class_is_refused_naming_the_layer():
    project = demo_project()
    project["model"]["layers"][2]["class_name"] = "FancyLayer"
    error = refused(project, SETTING + r"model\.layers\[2\]: unknown layer type 'FancyLayer'")
    assert error.field.startswith("model.layers[2]")


def test_a_misspelt_layer_class_gets_suggestions():
    project = demo_project()
    project["model"]["layers"][1]["class_name"] = "Dens"
    refused(
        project, SETTING + r"model\.layers\[1\]: unknown layer type 'Dens'.* Did you mean Dense"
    )


def test_code_carrying_layers_in_a_project_are_refused():
    project = demo_project()
    project["model"]["layers"][2]["class_name"] = "Lambda"
    refused(
        project, SETTING + r"model\.layers\[2\]: the model contains a Lambda layer .*arbitrary code"
    )


def test_bad_layer_value_is_refused_naming_the_field():
    project = demo_project()
    project["model"]["layers"][1]["config"]["units"] = -3
    error = refused(project, THE + r"model\.layers\[1\] \(Dense 'dense'\): units .*-3")
    assert error.field.startswith("model.layers[1]")


@pytest.mark.parametrize(
    ("section", "key", "value", "message"),
    [
        ("fit", "epochs", 0, THE + r"fit\.epochs must be a positive integer, got 0\.$"),
        ("fit", "epochs", 2.5, THE + r"fit\.epochs must be a positive integer, got 2\.5\.$"),
        ("fit", "batch_size", "32", THE + r"fit\.batch_size must be a positive integer, got '32'"),
        ("fit", "validation_split", 1.0, THE + r"fit\.validation_split must be a number from 0"),
        ("fit", "shuffle", "yes", THE + r"fit\.shuffle must be true or false"),
        ("fit", "seed", -1, THE + r"fit\.seed must be a non-negative integer or null"),
        (
            "fit",
            "class_weight",
            {"cat": 1.0},
            SETTING + r"fit\.class_weight: class 'cat' must be a class",
        ),
        (
            "fit",
            "class_weight",
            {"0": -1},
            THE + r"fit\.class_weight\['0'\] must be a non-negative",
        ),
        (
            "fit",
            "callbacks",
            [{"class_name": "LambdaCallback"}],
            r"callback 'LambdaCallback' is not",
        ),
        (
            "fit",
            "callbacks",
            [{"class_name": "EarlyStopping", "config": {"patients": 3}}],
            THE + r"fit\.callbacks\[0\] \(EarlyStopping\): unknown setting 'patients'",
        ),
        ("compile", "loss", "mean_squared_eror", SETTING + r"compile\.loss: unknown loss"),
        ("compile", "loss", 3, THE + r"compile\.loss must be a Keras loss name"),
        (
            "compile",
            "optimizer",
            "adamm",
            SETTING + r"compile\.optimizer: unknown optimizer 'adamm'",
        ),
        (
            "compile",
            "optimizer",
            {"class_name": "Adam", "config": {"learning_rate": -0.1}},
            THE + r"compile\.optimizer\.config\.learning_rate must be a positive number",
        ),
        (
            "compile",
            "optimizer",
            {"module": "evil", "class_name": "Adam", "config": {}},
            r"module 'evil' is not part of Keras",
        ),
        (
            "compile",
            "metrics",
            ["accuracy", "acurracy"],
            SETTING + r"compile\.metrics\[1\]: unknown",
        ),
        ("dataset", "source", "", THE + r"dataset\.source must name where the data comes from"),
    ],
)
def test_bad_settings_are_refused_naming_the_field(section, key, value, message):
    project = new_project()
    project[section][key] = value
    error = refused(project, message)
    assert error.field.startswith(f"{section}.")


def test_valid_settings_pass():
    project = new_project()
    project["compile"]["optimizer"] = plain_json(
        keras.optimizers.serialize(
            keras.optimizers.SGD(
                learning_rate=keras.optimizers.schedules.ExponentialDecay(0.1, 100, 0.9)
            )
        )
    )
    project["compile"]["metrics"] = ["acc", "mae", "auc"]
    project["fit"]["class_weight"] = {"0": 1.0, "1": 3}
    project["fit"]["callbacks"] = [
        {"class_name": "EarlyStopping", "config": {"monitor": "val_loss", "patience": 2}},
        {"class_name": "ReduceLROnPlateau", "config": {"factor": 0.5}},
    ]
    assert validate_project(project) == project
    project["fit"]["class_weight"] = "balanced"
    assert validate_project(project)["fit"]["class_weight"] == "balanced"


def test_runs_must_be_a_list():
    project = new_project()
    project["runs"] = {"a": 1}
    assert refused(project, THE + r"runs must be a list").field == "runs"
    del project["runs"]
    assert validate_project(project)["runs"] == []


def test_project_module_loads_without_keras(tmp_path):
    """The window reads and writes projects before TensorFlow is loaded."""
    script = (
        "import sys, engine.project as p\n"
        f"p.save_project(p.new_project(), {str(tmp_path / 'x.llproj')!r})\n"
        "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=60,
    )
    assert result.stdout.strip() == "[]", result.stderr


# --- hostile files, refused files and concurrent writers ------------------------------


def test_deeply_nested_json_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "x.llproj"
    path.write_text("[" * 100_000)
    for reader in (load_project, preview_project):
        with pytest.raises(ProjectError) as caught:
            reader(path)
        assert str(caught.value).startswith("Cannot open x.llproj: its JSON nests more than")


def test_summary_of_deeply_nested_json_is_a_plain_message(tmp_path):
    path = tmp_path / "x.llproj"
    path.write_text("[" * 100_000)
    result = subprocess.run(
        [sys.executable, "main.py", "summary", str(path)],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "RecursionError" not in result.stderr
    assert "Cannot open x.llproj: its JSON nests more than" in result.stderr


def future_project(tmp_path, name="future.llproj", **extra):
    project = new_project()
    project["version"] = PROJECT_VERSION + 1
    project.update(extra)
    path = tmp_path / name
    write(path, project)
    return path


def test_a_newer_project_raises_its_own_error_class(tmp_path):
    path = future_project(tmp_path)
    for reader in (load_project, preview_project):
        with pytest.raises(ProjectTooNewError, match="written by a newer LayerLab"):
            reader(path)


def test_a_newer_project_is_never_saved_over(tmp_path):
    path = future_project(tmp_path, hologram={"new": "content"})
    before = path.read_bytes()
    reason = may_overwrite(path)
    assert reason == (
        "Cannot save future.llproj: it was written by a newer LayerLab (project version "
        f"{PROJECT_VERSION + 1}) and saving would replace it with version {PROJECT_VERSION}, "
        "losing what this LayerLab does not know. Save under another name, or update LayerLab."
    )
    with pytest.raises(ProjectTooNewError) as caught:
        save_project(new_project(), path)
    assert str(caught.value) == reason
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["future.llproj"]
    save_project(new_project(), path, force=True)  # the user's explicit choice
    assert load_project(path)["version"] == PROJECT_VERSION


def test_may_overwrite_reads_any_layout_and_allows_what_it_may(tmp_path):
    shuffled = tmp_path / "shuffled.llproj"  # version first, as another tool might write
    shuffled.write_text(json.dumps({"version": 7, "format": PROJECT_FORMAT, "model": {}}))
    assert "project version 7" in may_overwrite(shuffled)
    current = tmp_path / "current.llproj"
    save_project(new_project(), current)
    assert may_overwrite(current) is None
    assert may_overwrite(tmp_path / "missing.llproj") is None
    (tmp_path / "garbage.llproj").write_text("not json")
    assert may_overwrite(tmp_path / "garbage.llproj") is None
    (tmp_path / "deep.llproj").write_text("[" * 100_000)
    assert may_overwrite(tmp_path / "deep.llproj") is None


def test_preview_checks_without_keras_what_it_can(tmp_path):
    path = tmp_path / "p.llproj"
    save_project(demo_project(), path)
    assert preview_project(path)["model"]["layers"]
    write(path, {"format": PROJECT_FORMAT, "version": 1, "model": [], "dataset": {}})
    with pytest.raises(ProjectError, match=r'^Cannot open p\.llproj: the project has no "model"'):
        preview_project(path)


def run(run_id: str, name: str = "Run") -> dict:
    return {"id": run_id, "name": name, "status": "completed"}


def test_merge_runs_adds_runs_recorded_on_disk_and_keeps_ours():
    ours = new_project()
    ours["runs"] = [run("a", "Renamed A"), run("c")]
    on_disk = new_project()
    on_disk["runs"] = [run("a", "Run 1"), run("b", "Run 2 from the CLI"), run("d"), "junk"]
    merged = merge_runs(ours, on_disk)
    assert [(r["id"], r["name"]) for r in merged] == [
        ("a", "Renamed A"),
        ("c", "Run"),
        ("b", "Run 2 from the CLI"),
        ("d", "Run"),
    ]
    assert merged[2] is not on_disk["runs"][1]  # a copy: ours never aliases the disk's
    assert ours["runs"] == [run("a", "Renamed A"), run("c")]  # inputs unchanged


def test_merge_runs_does_not_bring_back_runs_we_deleted():
    loaded = new_project()
    loaded["runs"] = [run("a"), run("b")]
    ours = copy.deepcopy(loaded)
    ours["runs"] = [run("a")]  # the user deleted b in the window
    on_disk = copy.deepcopy(loaded)
    on_disk["runs"].append(run("new"))  # and a CLI train recorded "new"
    merged = merge_runs(ours, on_disk, known_ids=run_ids(loaded))
    assert [r["id"] for r in merged] == ["a", "new"]
    assert merge_runs(new_project(), {"runs": "nonsense"}) == []


def test_a_cli_run_survives_the_windows_next_save(tmp_path):
    """The scenario from the issue, at engine level: the window loads, a CLI train records
    a run, the window merges before saving and the run is kept."""
    path = tmp_path / "p.llproj"
    save_project(new_project(), path)
    window_project = load_project(path)
    known = run_ids(window_project)
    cli_project = load_project(path)
    cli_project["runs"].append(run("cli-run"))
    save_project(cli_project, path)
    window_project["runs"] = merge_runs(window_project, load_project(path), known_ids=known)
    save_project(window_project, path)
    assert [r["id"] for r in load_project(path)["runs"]] == ["cli-run"]


def test_runs_on_disk_reads_the_runs_without_validating(tmp_path):
    path = tmp_path / "p.llproj"
    project = new_project()
    project["runs"] = [run("a"), 3]
    project["model"] = {"layers": "not checked here"}
    write(path, project)
    assert runs_on_disk(path) == [run("a")]
    ours = new_project()
    assert merge_runs(ours, runs_on_disk(path)) == [run("a")]
    write(path, "[" * 100_000)
    assert runs_on_disk(path) == []
    assert runs_on_disk(tmp_path / "missing.llproj") == []
