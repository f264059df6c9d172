"""Model files: .h5/.keras save → load keeps weights; every bad file gets a plain message."""

from __future__ import annotations

import json
import os
import warnings
import zipfile

import h5py
import keras
import numpy as np
import pytest

from engine import modelfile
from engine.errors import ModelFileError
from engine.modelfile import (
    FUNCTIONAL_NOTE,
    check_allowlist,
    inspect_model_file,
    load_model_file,
    save_model,
    summary_text,
)


def tiny_sequential(loss: str = "mean_squared_error") -> keras.Sequential:
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(5, activation="relu", kernel_regularizer=keras.regularizers.L2()),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.1),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


def plain_json(value):
    """Tuples → lists, as in a file: compare configs the way they are stored."""
    return json.loads(json.dumps(value))


def assert_same_weights(a: keras.Model, b: keras.Model) -> None:
    ours, theirs = a.get_weights(), b.get_weights()
    assert len(ours) == len(theirs) > 0
    for x, y in zip(ours, theirs, strict=True):
        assert x.dtype == y.dtype
        assert np.array_equal(x, y)


def keras_must_not_load(monkeypatch) -> None:
    """Fail the test if Keras is asked to deserialise the file."""

    def refuse(*args, **kwargs):
        raise AssertionError("keras.saving.load_model was called on a refused file")

    monkeypatch.setattr(keras.saving, "load_model", refuse)


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
def test_save_then_load_keeps_weights_and_config(tmp_path, suffix):
    model = tiny_sequential()
    # Non-trivial BatchNormalization statistics (non-trainable weights) must survive too.
    model.layers[1].moving_mean.assign(np.arange(5, dtype="float32"))
    path = tmp_path / f"model{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the .h5 save's numpy deprecations are suppressed
        save_model(model, path)
    loaded = load_model_file(path)
    assert loaded.editable is True
    assert loaded.note == ""
    assert plain_json(loaded.spec) == plain_json(model.get_config())
    assert_same_weights(model, loaded.model)
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no temporary left


def test_upper_case_suffixes_work(tmp_path):
    model = tiny_sequential()
    save_model(model, tmp_path / "MODEL.H5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["MODEL.H5"]
    assert_same_weights(model, load_model_file(tmp_path / "MODEL.H5").model)


def test_model_compiled_with_mse_alias_saved_as_h5_reloads(tmp_path):
    model = tiny_sequential(loss="mse")
    save_model(model, tmp_path / "alias.h5")
    assert_same_weights(model, load_model_file(tmp_path / "alias.h5").model)


def test_h5_written_by_a_plain_keras_script_opens_as_an_editable_spec(tmp_path):
    model = tiny_sequential(loss="mse")
    model.fit(np.zeros((4, 6)), np.zeros((4, 3)), epochs=1, verbose=0)  # optimizer state too
    path = tmp_path / "script.h5"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(path)  # what a tutorial script does: optimizer included, alias loss
    loaded = load_model_file(path)
    assert loaded.editable
    assert loaded.spec["layers"][0]["class_name"] == "InputLayer"
    assert [layer["class_name"] for layer in loaded.spec["layers"][1:]] == [
        "Dense",
        "BatchNormalization",
        "Dropout",
        "Dense",
    ]
    rebuilt = keras.Sequential.from_config(plain_json(loaded.spec))
    assert rebuilt.count_params() == model.count_params()
    assert_same_weights(model, loaded.model)


def test_functional_model_loads_but_is_not_editable(tmp_path):
    inputs = keras.Input((8,))
    left = keras.layers.Dense(4)(inputs)
    right = keras.layers.Dense(4, activation="tanh")(inputs)
    outputs = keras.layers.Dense(1)(keras.layers.Concatenate()([left, right]))
    model = keras.Model(inputs, outputs)
    for suffix in (".h5", ".keras"):
        save_model(model, tmp_path / f"functional{suffix}")
        loaded = load_model_file(tmp_path / f"functional{suffix}")
        assert loaded.editable is False
        assert loaded.spec is None
        assert loaded.note == FUNCTIONAL_NOTE
        assert_same_weights(model, loaded.model)
        assert "Total params: 81" in summary_text(loaded.model)


def test_summary_text_is_exactly_what_keras_prints():
    model = tiny_sequential()
    printed: list[str] = []
    model.summary(print_fn=lambda text, line_break=True: printed.append(text))
    text = summary_text(model)
    assert text.rstrip("\n") == "".join(printed).rstrip("\n")
    last = text.rstrip("\n").splitlines()[-3:]
    assert last[0].startswith(" Total params: 73 ")
    assert last[1].startswith(" Trainable params: 63 ")
    assert last[2].startswith(" Non-trainable params: 10 ")


def test_failed_save_leaves_the_previous_file_untouched(tmp_path, monkeypatch):
    target = tmp_path / "kept.h5"
    model = tiny_sequential()
    save_model(model, target)
    before = target.read_bytes()

    # The file is built in memory, then written: garbage bytes fail the reload check...
    monkeypatch.setattr(
        modelfile, "_serialise", lambda *args: b"\x89HDF\r\n\x1a\n" + os.urandom(64)
    )
    with pytest.raises(ModelFileError, match="did not load back"):
        save_model(model, target)
    monkeypatch.undo()

    # ... and Keras failing to build it is one plain line.
    class Crashes(keras.Sequential):
        def get_config(self):
            raise RuntimeError("disk full\nTraceback (most recent call last): ...")

    crashes = Crashes([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(ModelFileError, match=r"Cannot save kept\.h5: .*\(disk full\)\.$"):
        save_model(crashes, target)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.h5"]


def test_saving_to_an_unknown_extension_is_refused(tmp_path):
    with pytest.raises(ModelFileError, match=r"\.h5 and \.keras .*\"\.pb\""):
        save_model(tiny_sequential(), tmp_path / "model.pb")


# --- bad files -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good_files(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("good")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3), keras.layers.Dense(2)])
    files = {}
    for suffix in (".h5", ".keras"):
        files[suffix] = folder / f"good{suffix}"
        save_model(model, files[suffix])
    return files


def lambda_model() -> keras.Sequential:
    return keras.Sequential(
        [keras.Input((4,)), keras.layers.Dense(3), keras.layers.Lambda(lambda x: x * 2)]
    )


@keras.saving.register_keras_serializable(package="thirdparty")
class ThirdPartyDense(keras.layers.Dense):
    """A registered custom class, as a plug-in library would define it."""


def custom_model() -> keras.Sequential:
    return keras.Sequential([keras.Input((4,)), ThirdPartyDense(2)])


def custom_function_model() -> keras.Sequential:
    def swish_ish(x):
        return x * keras.ops.sigmoid(x)

    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation=swish_ish)])


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda_model, r"a Lambda layer \('lambda(_\d+)?'\), which runs arbitrary code"),
        (custom_model, r"custom class 'thirdparty>ThirdPartyDense'"),
        (custom_function_model, r"custom function 'swish_ish'"),
    ],
    ids=["lambda", "registered-custom-class", "custom-activation"],
)
def test_code_carrying_models_are_refused_before_keras_loads_them(
    tmp_path, monkeypatch, suffix, make, message
):
    path = tmp_path / f"evil{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        make().save(path)
    keras_must_not_load(monkeypatch)
    with pytest.raises(ModelFileError, match=message) as caught:
        load_model_file(path)
    assert str(caught.value).startswith(f"Cannot open evil{suffix}: ")
    assert caught.value.field.startswith("layers[")


def rewrite_keras_config(source, target, edit) -> None:
    """Copy a .keras archive with its config.json changed by ``edit(config)``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            new.writestr(item, data)


def test_module_outside_keras_and_tfsmlayer_are_refused(tmp_path, good_files, monkeypatch):
    def foreign_module(config):
        config["config"]["layers"][1]["module"] = "evil.layers"

    def tfsm_layer(config):
        config["config"]["layers"][2]["class_name"] = "TFSMLayer"

    def unknown_class(config):
        config["config"]["layers"][2]["class_name"] = "MultiHeadAttention"

    keras_must_not_load(monkeypatch)
    cases = [
        (
            foreign_module,
            r"'Dense' \('dense(_\d+)?'\) from module 'evil\.layers', which is not part",
        ),
        (tfsm_layer, r"TFSMLayer layer .* loads and runs a TensorFlow SavedModel"),
        (unknown_class, r"class 'MultiHeadAttention' .* not among the Keras layers LayerLab"),
    ]
    for edit, message in cases:
        target = tmp_path / f"{edit.__name__}.keras"
        rewrite_keras_config(good_files[".keras"], target, edit)
        with pytest.raises(ModelFileError, match=message):
            load_model_file(target)


def test_hdf5_links_and_external_data_are_refused(tmp_path, good_files, monkeypatch):
    outside = tmp_path / "outside.bin"
    outside.write_bytes(bytes(64))
    edits = {
        "external-link": lambda h5: h5.__setitem__("x", h5py.ExternalLink(str(outside), "/")),
        "soft-link": lambda h5: h5.__setitem__("model_weights/alias", h5py.SoftLink("/")),
        "external-dataset": lambda h5: h5.create_dataset(
            "model_weights/raw", shape=(4,), dtype="f4", external=[(str(outside), 0, 16)]
        ),
    }
    messages = {
        "external-link": r"an external link \('x'\) that points into another file",
        "soft-link": r"a soft link \('model_weights/alias'\)",
        "external-dataset": r"dataset 'model_weights/raw' reads its data from another file",
    }
    keras_must_not_load(monkeypatch)
    for case, edit in edits.items():
        target = tmp_path / f"{case}.h5"
        target.write_bytes(good_files[".h5"].read_bytes())
        with h5py.File(target, "a") as h5:
            edit(h5)
        with pytest.raises(ModelFileError, match=messages[case]):
            load_model_file(target)


def test_damaged_and_foreign_files_each_get_their_own_message(tmp_path, good_files):
    h5_bytes = good_files[".h5"].read_bytes()
    keras_bytes = good_files[".keras"].read_bytes()
    random_bytes = np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    with h5py.File(tmp_path / "plain-data.h5", "w") as h5:
        h5["x"] = np.arange(10)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model.save_weights(tmp_path / "weights-only.weights.h5")
    with zipfile.ZipFile(tmp_path / "not-a-model.keras", "w") as archive:
        archive.writestr("readme.txt", "hello")
    files = {
        "empty.h5": b"",
        "empty.keras": b"",
        "truncated.h5": h5_bytes[: len(h5_bytes) // 2],
        "truncated.keras": keras_bytes[: len(keras_bytes) // 2],
        "random.h5": random_bytes,
        "random.keras": random_bytes,
        "swapped.h5": keras_bytes,
        "swapped.keras": h5_bytes,
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    bad_config = tmp_path / "bad-config.keras"
    rewrite_keras_config(good_files[".keras"], bad_config, lambda config: None)
    # A second, damaged config.json: zipfile reads the last one.
    with zipfile.ZipFile(bad_config, "a") as archive, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        archive.writestr("config.json", "{not json")

    expected = {
        "missing.h5": r"there is no such file\.$",
        "empty.h5": r"the file is empty \(0 bytes\)\.$",
        "empty.keras": r"the file is empty \(0 bytes\)\.$",
        "truncated.h5": r"the file is truncated \(\d+ of \d+ bytes\); it was probably not",
        "truncated.keras": r"the file is truncated or damaged \(its zip directory is missing\)",
        "random.h5": r"it is not an HDF5 \(\.h5\) file\.$",
        "random.keras": r"it is not a \.keras file \(a \.keras file is a zip archive\)\.$",
        "swapped.h5": r"not an HDF5 \(\.h5\) file \(it is a zip archive: rename it to \.keras\?\)",
        "swapped.keras": r"not a \.keras file .*\(it is an HDF5 file: rename it to \.h5\?\)",
        "plain-data.h5": r"it is an HDF5 file but holds no Keras model\.$",
        "weights-only.weights.h5": r"holds no Keras model \(only weights, as save_weights",
        "not-a-model.keras": r"a zip archive but not a Keras model \(it has no config\.json\)",
        "bad-config.keras": r"its stored model config is damaged \(Expecting property name",
        "model.pt": r"LayerLab reads and writes \.h5 and \.keras model files, .*\"\.pt\"",
        "noextension": r"and this has no extension\.$",
    }
    for name, message in expected.items():
        with pytest.raises(ModelFileError, match=message) as caught:
            load_model_file(tmp_path / name)
        text = str(caught.value)
        assert "\n" not in text and "Traceback" not in text, name
    folder = tmp_path / "saved.keras"
    folder.mkdir()
    with pytest.raises(ModelFileError, match=r"it is a folder \(a TensorFlow SavedModel\?\)"):
        inspect_model_file(folder)


def test_keras_failures_after_the_checks_become_plain_messages(tmp_path, good_files):
    """A file whose config passes but whose weights do not fit it: Keras's error, one line."""
    target = tmp_path / "mismatch.keras"

    def widen(config):
        config["config"]["layers"][2]["config"]["units"] = 7

    rewrite_keras_config(good_files[".keras"], target, widen)
    with pytest.raises(ModelFileError, match=r"^Cannot open mismatch\.keras: Keras could not"):
        load_model_file(target)


def test_allowlist_accepts_keras_classes_and_names_the_place_it_refuses():
    model = keras.Sequential(
        [
            keras.Input((10, 3)),
            keras.layers.Bidirectional(keras.layers.LSTM(4, kernel_constraint="max_norm")),
            keras.layers.Dense(2, kernel_initializer="he_normal", bias_regularizer="l1"),
        ]
    )
    config = model.get_config()
    check_allowlist(config)
    config["layers"][1]["config"]["layer"]["class_name"] = "Lambda"
    with pytest.raises(ModelFileError, match="Lambda") as caught:
        check_allowlist(config)
    assert caught.value.field == "layers[1].layer"
    assert "Lambda" not in modelfile.allowed_class_names()
    assert "TFSMLayer" not in modelfile.allowed_class_names()
