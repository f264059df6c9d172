"""Hostile model files (issue 10): pipes and devices, declared sizes that would exhaust
memory, zip bombs, classes a model does not need, Keras 2 arguments, huge layers, and a full
disk while saving. Every file here is tiny on disk; refusals come from headers and metadata."""

from __future__ import annotations

import errno
import json
import os
import resource
import struct
import threading
import warnings
import zipfile
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest

import main
from engine import memory, modelfile
from engine.errors import ModelFileError
from engine.memory import ModelTooLargeError
from engine.modelfile import (
    check_allowlist,
    check_regular_file,
    load_model_file,
    save_model,
    summary_for_config,
)
from engine.project import new_project, save_project
from engine.spec import build_model


def keras_must_not_load(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("keras.saving.load_model was called on a refused file")

    monkeypatch.setattr(keras.saving, "load_model", refuse)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.fixture(scope="module")
def small_files(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("small")
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(3, name="dense"),
            keras.layers.Dense(2, name="dense_1"),
        ]
    )
    files = {}
    for suffix in (".h5", ".keras"):
        files[suffix] = folder / f"small{suffix}"
        save_model(model, files[suffix])
    return files


def rewrite_keras(source: Path, target: Path, edit_config=None, members=None) -> None:
    """Copy a .keras archive, editing config.json and replacing/adding members."""
    members = dict(members or {})
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            if item.filename in members:
                continue
            data = old.read(item)
            if item.filename == "config.json" and edit_config:
                config = json.loads(data)
                edit_config(config)
                data = json.dumps(config).encode()
            new.writestr(item, data)
        for name, (data, compression) in members.items():
            new.writestr(name, data, compress_type=compression)


def edit_h5_config(path: Path, edit) -> None:
    with h5py.File(path, "a") as h5:
        config = json.loads(h5.attrs["model_config"])
        edit(config)
        h5.attrs["model_config"] = json.dumps(config)


def run_with_timeout(function, seconds: float = 20.0):
    """Call ``function`` in a thread; fail (instead of hanging the suite) if it blocks."""
    outcome: dict = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as error:  # handed back to the test
            outcome["error"] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    return thread.is_alive(), outcome


# --- only regular files -----------------------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_fifo_named_like_a_model_file_is_refused_without_blocking(tmp_path, suffix):
    fifo = tmp_path / f"x{suffix}"
    os.mkfifo(fifo)
    blocked, outcome = run_with_timeout(lambda: load_model_file(fifo))
    if blocked:  # the bug: release the reader blocked in open() with a writer
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert not blocked, "load_model_file blocked on a FIFO"
    error = outcome.get("error")
    assert isinstance(error, ModelFileError), outcome
    assert str(error) == (
        f"Cannot open x{suffix}: it is a named pipe (FIFO), not a regular file; LayerLab "
        "reads only regular files. Copy the data into a file and open that."
    )


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", ["x.keras", "x.llproj"])
def test_summary_of_a_fifo_exits_2_with_one_plain_line(tmp_path, capsys, name):
    fifo = tmp_path / name
    os.mkfifo(fifo)
    blocked, outcome = run_with_timeout(lambda: main.main(["summary", str(fifo)]))
    if blocked:
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert not blocked, "summary blocked on a FIFO"
    assert outcome.get("value") == 2, outcome
    err = capsys.readouterr().err
    assert err.startswith(f"layerlab summary: Cannot open {name}: it is a named pipe (FIFO)")
    assert err.count("\n") == 1


def test_links_to_devices_and_folders_are_refused_before_opening(tmp_path, monkeypatch):
    keras_must_not_load(monkeypatch)
    zero = tmp_path / "zero.keras"
    zero.symlink_to("/dev/zero")
    with pytest.raises(ModelFileError, match=r"it is a link to /dev/zero, a device, not a"):
        check_regular_file(zero)
    null = tmp_path / "null.h5"
    null.symlink_to("/dev/null")
    with pytest.raises(ModelFileError, match=r"^Cannot open null\.h5: it is a link to /dev/null"):
        load_model_file(null)
    folder = tmp_path / "folder.keras"
    folder.mkdir()
    with pytest.raises(ModelFileError, match=r"it is a folder \(a TensorFlow SavedModel\?\)"):
        load_model_file(folder)
    dangling = tmp_path / "gone.h5"
    dangling.symlink_to(tmp_path / "nowhere.h5")
    with pytest.raises(ModelFileError, match=r"it is a link to .*nowhere\.h5, which does not"):
        load_model_file(dangling)


# --- declared sizes ---------------------------------------------------------------------


def huge_kernel(config) -> None:
    """Dense(3) → Dense(100,000,000): a 400M-float kernel on 4 inputs (2 GB)."""
    config["config"]["layers"][1]["config"]["units"] = 100_000_000
    config["config"]["layers"][2].pop("build_config", None)


def test_keras_file_declaring_a_huge_kernel_is_refused_from_its_headers(
    tmp_path, small_files, monkeypatch
):
    monkeypatch.setattr(memory, "available_memory", lambda: 64 * 10**9)
    target = tmp_path / "huge.keras"
    rewrite_keras(small_files[".keras"], target, huge_kernel)
    assert target.stat().st_size < 20_000
    keras_must_not_load(monkeypatch)
    opened = []
    monkeypatch.setattr(h5py, "File", lambda *a, **k: opened.append(a) or 1 / 0)
    before = peak_rss_mb()
    with pytest.raises(ModelFileError) as caught:
        load_model_file(target)
    assert str(caught.value).startswith(
        "Cannot open huge.keras: its config needs 2.8 GB of weights (layer 'dense' (Dense) "
        "alone 500,000,000 parameters), but its model.weights.h5 holds only "
    )
    assert "damaged or was made to exhaust memory" in str(caught.value)
    assert opened == []  # refused from the zip headers: the weights were never opened
    assert peak_rss_mb() - before < 200


def test_h5_file_declaring_a_huge_kernel_is_refused_naming_the_layer(
    tmp_path, small_files, monkeypatch
):
    monkeypatch.setattr(memory, "available_memory", lambda: 64 * 10**9)
    target = tmp_path / "huge.h5"
    target.write_bytes(small_files[".h5"].read_bytes())
    edit_h5_config(target, huge_kernel)
    keras_must_not_load(monkeypatch)
    before = peak_rss_mb()
    with pytest.raises(ModelFileError) as caught:
        load_model_file(target)
    assert str(caught.value) == (
        "Cannot open huge.h5: its config gives layer 'dense' (Dense) 500,000,000 parameters "
        "(2.0 GB), but the file stores 60 bytes of weights for it (far fewer); the file is "
        "damaged or was made to exhaust memory, so LayerLab does not load it."
    )
    assert peak_rss_mb() - before < 200


def set_declared_size(path: Path, member: str, size: int) -> None:
    """Rewrite a zip's headers so ``member`` declares ``size`` uncompressed bytes."""
    data = bytearray(path.read_bytes())
    encoded = member.encode()
    for signature, size_at, name_len_at, name_at in (
        (b"PK\x03\x04", 22, 26, 30),  # local header
        (b"PK\x01\x02", 24, 28, 46),  # central directory
    ):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            (name_len,) = struct.unpack_from("<H", data, start + name_len_at)
            if data[start + name_at : start + name_at + name_len] == encoded:
                struct.pack_into("<I", data, start + size_at, size)
            start += 4
    path.write_bytes(bytes(data))


def test_a_zip_bomb_weights_member_is_refused_from_the_headers(tmp_path, small_files, monkeypatch):
    # 64 MiB of zeros deflate to ~64 KB; the headers then claim 1 GiB: nothing is inflated.
    bomb = tmp_path / "bomb.keras"
    rewrite_keras(
        small_files[".keras"],
        bomb,
        members={"model.weights.h5": (bytes(64 * 2**20), zipfile.ZIP_DEFLATED)},
    )
    assert bomb.stat().st_size < 200_000
    claims = tmp_path / "claims.keras"
    claims.write_bytes(bomb.read_bytes())
    set_declared_size(claims, "model.weights.h5", 2**30)
    keras_must_not_load(monkeypatch)
    before = peak_rss_mb()
    for path, declared in ((bomb, "67.1 MB"), (claims, "1.1 GB")):
        with pytest.raises(ModelFileError) as caught:
            load_model_file(path)
        message = str(caught.value)
        assert message.startswith(
            f"Cannot open {path.name}: its member 'model.weights.h5' inflates from "
        ), message
        assert f"to {declared} (a zip bomb?); LayerLab does not load it." in message
    assert peak_rss_mb() - before < 100


def test_weights_member_far_bigger_than_the_config_needs_is_refused(
    tmp_path, small_files, monkeypatch
):
    """A stored (not compressed) member padded far beyond the config's needs; the floor is
    lowered so the file stays tiny."""
    monkeypatch.setattr(modelfile, "SIZE_FLOOR_BYTES", 1024)
    padded = tmp_path / "padded.keras"
    with zipfile.ZipFile(small_files[".keras"]) as archive:
        weights = archive.read("model.weights.h5")
    rewrite_keras(
        small_files[".keras"],
        padded,
        members={
            "model.weights.h5": (weights + os.urandom(40_000), zipfile.ZIP_STORED),
        },
    )
    keras_must_not_load(monkeypatch)
    with pytest.raises(ModelFileError) as caught:
        load_model_file(padded)
    assert str(caught.value).startswith("Cannot open padded.keras: its model.weights.h5 declares")
    assert str(caught.value).endswith(
        "far more than the 92 bytes its config needs; LayerLab does not load it."
    )


def replace_dataset(path: Path, name: str, shape: tuple) -> None:
    """Swap a dataset for one declaring ``shape`` but storing nothing (chunked, unwritten)."""
    with h5py.File(path, "a") as h5:
        del h5[name]
        h5.create_dataset(name, shape=shape, dtype="f4", chunks=(1024,))


def test_h5_dataset_declaring_more_than_its_layer_needs_is_refused(
    tmp_path, small_files, monkeypatch
):
    target = tmp_path / "declares.h5"
    target.write_bytes(small_files[".h5"].read_bytes())
    replace_dataset(target, "model_weights/dense/sequential/dense/kernel", (100_000_000,))
    assert target.stat().st_size < 100_000
    keras_must_not_load(monkeypatch)
    before = peak_rss_mb()
    with pytest.raises(ModelFileError) as caught:
        load_model_file(target)
    assert str(caught.value) == (
        "Cannot open declares.h5: its config gives layer 'dense' (Dense) 15 parameters "
        "(60 bytes), but the file stores 400 MB of weights for it (far more); the file is "
        "damaged or was made to exhaust memory, so LayerLab does not load it."
    )
    assert peak_rss_mb() - before < 100


def test_weights_that_do_not_fit_in_memory_are_refused_even_for_functional_models(
    tmp_path, monkeypatch
):
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(2, name="out")(keras.layers.Dense(3, name="hidden")(inputs))
    target = tmp_path / "functional.h5"
    save_model(keras.Model(inputs, outputs), target)
    with h5py.File(target, "r") as h5:
        kernel = next(
            name
            for name in _datasets(h5)
            if name.startswith("model_weights/hidden") and name.endswith("kernel")
        )
    replace_dataset(target, kernel, (1_000_000_000,))
    monkeypatch.setattr(memory, "available_memory", lambda: 6 * 10**9)
    keras_must_not_load(monkeypatch)
    with pytest.raises(ModelFileError) as caught:
        load_model_file(target)
    assert str(caught.value) == (
        f"Cannot open functional.h5: its weights declare 4.0 GB (the dataset '{kernel}' "
        "alone 4.0 GB), and this machine has 6.0 GB available; LayerLab does not load it."
    )


def _datasets(h5: h5py.File) -> list[str]:
    names: list[str] = []
    h5.visititems(lambda name, item: names.append(name) if isinstance(item, h5py.Dataset) else None)
    return names


# --- allowlist by what a model needs ------------------------------------------------------


def dense_spec_with(activation) -> dict:
    config = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).get_config()
    config = json.loads(json.dumps(config))
    config["layers"][1]["config"]["activation"] = activation
    return config


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            {"class_name": "function", "module": "keras.utils", "config": "get_file"},
            r"the Keras function 'get_file' from module 'keras\.utils', which is not an "
            r"activation, loss or metric",
        ),
        (
            {
                "class_name": "function",
                "module": "keras.src.saving.saving_lib",
                "config": "load_model",
            },
            r"the Keras function 'load_model' from module 'keras\.src\.saving\.saving_lib'",
        ),
        (
            {"class_name": "function", "module": "keras.activations", "config": "get_file"},
            r"the Keras function 'get_file' from module 'keras\.activations'",
        ),
        (
            {"class_name": "function", "module": "keras.ops", "config": "relu"},
            r"the Keras function 'relu' from module 'keras\.ops'",
        ),
        (
            {"class_name": "Dense", "module": "keras.src.saving", "config": {}},
            r"'Dense' from module 'keras\.src\.saving', which holds no layers",
        ),
        (
            {"class_name": "Dense", "module": "keras.utils", "config": {}},
            r"'Dense' from module 'keras\.utils', which holds no layers",
        ),
    ],
    ids=["get_file", "saving-load_model", "activations-get_file", "ops-relu", "saving", "utils"],
)
def test_allowlist_refuses_keras_objects_a_model_does_not_need(item, message):
    with pytest.raises(ModelFileError, match=message) as caught:
        check_allowlist(dense_spec_with(item))
    assert caught.value.field == "layers[1].activation"


def test_allowlist_accepts_what_models_need(tmp_path, small_files, monkeypatch):
    for item in (
        "relu",
        {"class_name": "function", "module": "keras.activations", "config": "gelu"},
        {"class_name": "function", "module": "keras.src.activations.activations", "config": "elu"},
        {"class_name": "function", "module": "keras.losses", "config": "mean_squared_error"},
    ):
        check_allowlist(dense_spec_with(item))
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(
                3,
                kernel_initializer="he_normal",
                kernel_regularizer="l2",
                kernel_constraint="max_norm",
                dtype="mixed_float16",
            ),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)),
        loss=keras.losses.Huber(),
        metrics=["mae", keras.metrics.AUC()],
    )
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(model)))
    check_allowlist(config)
    check_allowlist(config["compile_config"])  # optimizers, schedules, losses, metrics

    # The exact object from the issue, inside a real .keras file: refused before Keras.
    evil = tmp_path / "get_file.keras"

    def add_get_file(config):
        config["config"]["layers"][1]["config"]["activation"] = {
            "class_name": "function",
            "module": "keras.utils",
            "config": "get_file",
        }

    rewrite_keras(small_files[".keras"], evil, add_get_file)
    keras_must_not_load(monkeypatch)
    with pytest.raises(ModelFileError, match=r"^Cannot open get_file\.keras: the model names"):
        load_model_file(evil)


# --- Keras 2 arguments ------------------------------------------------------------------


def test_a_keras2_argument_is_named_with_its_layer(tmp_path):
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.DepthwiseConv2D(3, name="dw")])
    target = tmp_path / "keras2.h5"
    save_model(model, target)

    def add_groups(config):
        config["config"]["layers"][1]["config"]["groups"] = 1

    edit_h5_config(target, add_groups)
    # Keras 3 refuses groups=1; LayerLab's Keras 2 translation drops it (engine.keras2).
    loaded = load_model_file(target)
    assert loaded.rewrites == ["DepthwiseConv2D 'dw': dropped groups=1 (Keras 2)"]
    assert loaded.weights_loaded

    def add_unknown(config):
        config["config"]["layers"][1]["config"].pop("groups")
        config["config"]["layers"][1]["config"]["sharpness"] = 2

    edit_h5_config(target, add_unknown)
    with pytest.raises(ModelFileError) as caught:
        load_model_file(target)
    assert str(caught.value).startswith(
        "Cannot open keras2.h5: layer 'dw' (DepthwiseConv2D) has the argument 'sharpness', an "
        "argument Keras 3 does not accept"
    )
    assert "{" not in str(caught.value)


# --- huge layers --------------------------------------------------------------------------


def huge_dense_spec(units: int = 10**9, inputs: int = 100) -> dict:
    config = keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(3, name="dense")])
    config = config.get_config()
    config = json.loads(json.dumps(config))
    config["layers"][1]["config"]["units"] = units
    config["layers"][1].pop("build_config", None)
    return config


def test_a_model_too_big_for_memory_is_refused_naming_its_biggest_layer(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 10 * 10**9)
    with pytest.raises(ModelTooLargeError) as caught:
        build_model(huge_dense_spec(units=10**9, inputs=1))
    assert str(caught.value) == (
        "Layer dense (Dense) would need 8.0 GB for its 2,000,000,000 parameters; this machine "
        "has 10.0 GB available, and building it takes about 16.0 GB. Use fewer units in "
        "dense, or make its input smaller (pooling before Flatten, or a smaller layer before it)."
    )
    assert caught.value.field == "layers[1]"
    monkeypatch.setattr(memory, "available_memory", lambda: 17 * 10**9)
    assert memory.check_fits(huge_dense_spec(units=10**9, inputs=1)) is None


def test_summary_of_a_project_with_a_huge_dense_exits_2(tmp_path, capsys):
    project = new_project()
    project["model"] = huge_dense_spec()
    save_project(project, tmp_path / "huge.llproj")
    before = peak_rss_mb()
    assert main.main(["summary", str(tmp_path / "huge.llproj")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(
        "layerlab summary: Cannot summarise huge.llproj: Layer dense (Dense) would need 404 GB "
        "for its 101,000,000,000 parameters; this machine has "
    ), err
    assert "Use fewer units in dense" in err
    assert err.count("\n") == 1
    assert peak_rss_mb() - before < 200


def test_summary_for_config_refuses_huge_models_and_releases_what_it_builds(monkeypatch):
    with pytest.raises(ModelTooLargeError, match=r"^Layer dense \(Dense\) would need 404 GB"):
        summary_for_config(huge_dense_spec())
    spec = huge_dense_spec(units=2_000_000, inputs=16)  # 34M parameters, 136 MB
    text, config_json = summary_for_config(spec)
    assert "Total params: 34,000,000 (129.70 MB)" in text
    assert json.loads(config_json)["class_name"] == "Sequential"
    after_first = current_rss_mb()
    for _ in range(4):
        summary_for_config(spec)
    assert current_rss_mb() - after_first < 100  # 4 more builds: not 4 × 136 MB kept


def test_memory_estimate_uses_each_layers_variable_dtype():
    assert memory.dtype_bytes("float64") == 8
    assert memory.dtype_bytes({"class_name": "DTypePolicy", "config": {"name": "bfloat16"}}) == 2
    assert memory.dtype_bytes({"class_name": "DTypePolicy", "config": {"name": "mixed_float16"}})
    assert memory.dtype_bytes(None) == 4
    spec = huge_dense_spec(units=10, inputs=9)
    spec["layers"][1]["config"]["dtype"] = "float64"
    (row,) = memory.parameter_memory(spec)
    assert (row.name, row.class_name, row.params, row.bytes) == ("dense", "Dense", 100, 800)
    no_input = json.loads(json.dumps(keras.Sequential([keras.layers.Dense(2)]).get_config()))
    assert memory.parameter_memory(no_input) is None


# --- full disk ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".h5", ".keras"])
@pytest.mark.parametrize(
    ("code", "message"),
    [
        (errno.ENOSPC, r"the disk holding .* is full; {kept}\. Free some space, or save it in"),
        (errno.EROFS, r"is on a read-only disk; {kept}\. Save it in another folder\.$"),
        (errno.EACCES, r"permission denied for the folder .*; {kept}\. Save it in another"),
    ],
    ids=["ENOSPC", "EROFS", "EACCES"],
)
def test_a_disk_error_while_saving_keeps_the_old_file_and_says_so(
    tmp_path, monkeypatch, suffix, code, message
):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    old = tmp_path / f"old{suffix}"
    save_model(model, old)
    before = old.read_bytes()
    real_write_bytes = modelfile._write_bytes

    def fails_half_way(handle, data):
        real_write_bytes(handle, data[: len(data) // 2])
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(modelfile, "_write_bytes", fails_half_way)
    for target, kept in ((old, f"the previous old{suffix} is unchanged"), (None, None)):
        target = target or tmp_path / f"new{suffix}"
        kept = kept or "nothing was written"
        with pytest.raises(ModelFileError, match=message.format(kept=kept)) as caught:
            save_model(model, target)
        text = str(caught.value)
        assert text.startswith(f"Cannot save {target.name}: ")
        assert ".tmp" not in text and "OSError" not in text and "Errno" not in text
    assert old.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"old{suffix}"]


def test_saved_h5_is_built_in_memory_and_loads_back(tmp_path, monkeypatch):
    """h5py never writes to the user's disk itself (it crashed on a full disk)."""
    opened = []

    class Spy(h5py.File):
        def __init__(self, name, mode="r", *args, **kwargs):
            opened.append((str(name), mode, kwargs.get("driver"), kwargs.get("backing_store")))
            super().__init__(name, mode, *args, **kwargs)

    monkeypatch.setattr(h5py, "File", Spy)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        save_model(model, tmp_path / "m.h5")
    writes = [entry for entry in opened if entry[1] != "r"]
    assert writes and all(entry[2:] == ("core", False) for entry in writes), writes
    loaded = load_model_file(tmp_path / "m.h5").model
    assert all(
        np.array_equal(a, b) for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True)
    )
