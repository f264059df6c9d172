"""Model files: save and load ``.h5`` (legacy HDF5) and ``.keras``, safely.

Loading an untrusted file never runs its code: ``inspect_model_file`` reads the stored
config with h5py/zipfile only (refusing HDF5 soft/external links and external datasets),
``check_allowlist`` refuses any class that is not one of Keras's own layers from the
catalog (Lambda, TFSMLayer, custom or registered classes, modules outside ``keras``), and
only then does Keras load the file with ``compile=False, safe_mode=True``. Every problem is
a ``ModelFileError`` with one plain sentence naming it.

Hostile files are refused before anything big is read or allocated: only regular files are
opened (``check_regular_file``: no devices, pipes or folders, links resolved); zip members'
declared sizes and HDF5 datasets' shapes (metadata only) are compared with the memory this
machine has and with the parameter count the config implies (``engine.memory``), layer by
layer, so a zip bomb or a config declaring a huge kernel is refused with a message.

Keras 2 ``.h5`` files (and Keras 3 ``.h5`` files Keras cannot load) take another road after
the same checks: ``engine.keras2`` translates the checked config for Keras 3 (one named rewrite
per legacy feature, each noted in ``LoadedModel.rewrites``), Keras builds it in safe mode, and
the weights are read from the file's ``model_weights`` group by layer name, every stored shape
compared with the built variable's before any data is read. ``LoadedModel`` also carries the
file's raw compile settings (``training_config``) and the Keras version that wrote it.

Saving builds the whole file in memory (an in-memory HDF5 image, or a zip in a buffer), writes
the bytes to a temporary sibling, fsyncs it, reloads it to verify, then renames it onto the
target: a full disk is an ordinary ``OSError`` (h5py writing to a full disk can crash the
process), turned into a message naming the user's file, and a failed save never leaves a
broken file where the user's file was. ``.h5`` files are saved without the optimizer
(Keras 3 cannot restore it from ``.h5``): compile from the project after loading.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import functools
import gc
import io
import json
import logging
import os
import re
import shutil
import stat
import tempfile
import uuid
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from engine import keras2, memory
from engine.errors import ModelFileError
from engine.files import FileSaveError, atomic_write_with
from engine.quiet import import_keras

keras = import_keras()

H5_SUFFIXES = (".h5", ".hdf5")
KERAS_SUFFIX = ".keras"
MODEL_SUFFIXES = (*H5_SUFFIXES, KERAS_SUFFIX)

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
MAX_CONFIG_BYTES = 64 * 1024 * 1024
WEIGHTS_MEMBER = "model.weights.h5"

# Declared sizes: below these floors nothing is refused for its size (Keras's own checks and
# errors are cheap there); above them a zip member may not inflate more than MAX_EXPANSION
# times (Keras stores members uncompressed; deflated float weights shrink little), and a
# layer's stored weights must roughly match what its config implies.
SIZE_FLOOR_BYTES = 16 * 1024 * 1024
MAX_EXPANSION = 100
# Weights files may also hold optimizer variables (Adam: two per parameter) besides the
# model's own; more than this many times the config's parameter bytes is not a model.
MAX_STORED_PER_PARAMETER_BYTE = 4
MAX_SMALL_MEMBER_BYTES = 256 * 1024 * 1024

FUNCTIONAL_NOTE = (
    "a functional model: summary, evaluation and export work; it cannot be edited as a stack"
)

NESTED_NOTE = (
    "a Sequential model holding other models ({names}; a Teachable Machine export holds "
    "MobileNet): summary, evaluation and export work; it cannot be edited as a stack"
)

# Layers that execute code stored in (or named by) the file, and why.
CODE_RUNNING_LAYERS = {
    "Lambda": "runs arbitrary code",
    "TFSMLayer": "loads and runs a TensorFlow SavedModel",
}

# Preprocessing layers with a vocabulary: allowed when it is given inline (a list), refused
# when it names a file (a string), which Keras would open.
VOCABULARY_LAYERS = frozenset({"TextVectorization", "StringLookup", "IntegerLookup"})
VOCABULARY_ARGUMENTS = ("vocabulary",)

# Keras 2 layers that Keras 3 folded into its own (with weights in another layout).
KERAS2_GPU_LAYERS = {"CuDNNLSTM": "LSTM", "CuDNNGRU": "GRU"}

# Model containers and the markers Keras writes inside configs.
MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model", "InputLayer"})
SERIALISATION_MARKERS = frozenset({"__keras_tensor__", "__tuple__", "__numpy__", "__tensor__"})

# Keys Keras never deserialises when loading with compile=False (as LayerLab always does):
# a model trained with a custom loss or metric still opens.
IGNORED_WITHOUT_COMPILE = frozenset({"compile_config"})


@dataclass
class LoadedModel:
    """A model read from a file. ``spec`` is its Sequential config when ``editable``.

    ``weights_loaded``: the model carries the file's trained weights. ``training_config``:
    the file's raw compile settings (a Keras 2 ``.h5``'s ``training_config`` attribute
    parsed from JSON, or a ``.keras`` file's ``compile_config``), None when it has none.
    ``rewrites``: one plain note per legacy (Keras 2) translation applied to the config.
    ``keras_version``: the Keras version that wrote the file, when it says.
    """

    model: Any
    spec: dict | None
    editable: bool
    note: str
    weights_loaded: bool = False
    training_config: dict | None = None
    rewrites: list[str] = field(default_factory=list)
    keras_version: str | None = None


# --- saving ----------------------------------------------------------------------------


def save_model(model, path: str | os.PathLike) -> None:
    """Save ``model`` as ``.h5`` (no optimizer) or ``.keras``, atomically and verified.

    The file is built in memory first, then written to a temporary sibling, fsynced, reloaded
    and compared, and renamed onto ``path``. Every disk error (full disk, read-only folder,
    no permission) is a ``ModelFileError`` naming ``path``; the previous file stays intact.
    """
    target = Path(path)
    suffix = _model_suffix(target)
    data = _serialise(model, suffix, target.name)
    try:
        # Keras recognises only lower-case suffixes: MODEL.H5 is written as .tmp.h5.
        atomic_write_with(
            target,
            lambda handle: _write_bytes(handle, data),
            suffix=".tmp" + suffix,
            verify=lambda saved: _verify_saved(model, saved, target.name),
            say_kept=True,
        )
    except FileSaveError as error:
        raise ModelFileError(str(error)) from error


def _write_bytes(handle, data: bytes) -> None:
    """Write the model file's bytes (a seam for tests that simulate a failing disk)."""
    handle.write(data)


def _serialise(model, suffix: str, name: str) -> bytes:
    """The model file's bytes, built in memory (no disk involved)."""
    try:
        with _quiet_keras_saving():
            if suffix in H5_SUFFIXES:
                from keras.src.legacy.saving import legacy_h5_format

                image_name = f"layerlab-{uuid.uuid4().hex}.h5"  # never touches the disk
                with h5py.File(image_name, "w", driver="core", backing_store=False) as h5:
                    legacy_h5_format.save_model_to_hdf5(model, h5, include_optimizer=False)
                    h5.flush()
                    return bytes(h5.id.get_file_image())
            from keras.src.saving import saving_lib

            buffer = io.BytesIO()
            saving_lib.save_model(model, buffer)
            return buffer.getvalue()
    except Exception as error:
        raise ModelFileError(
            f"Cannot save {name}: Keras could not write the model ({_one_line(error)})."
        ) from error


def _verify_saved(model, saved: Path, name: str) -> None:
    """Reload the freshly written file and compare its weights with the model's."""
    try:
        inspect_model_file(saved)
        with _quiet_keras_saving():
            reloaded = keras.saving.load_model(saved, compile=False, safe_mode=True)
    except Exception as error:
        raise ModelFileError(
            f"Cannot save {name}: the written file did not load back ({_one_line(error)})."
        ) from error
    ours, theirs = model.get_weights(), reloaded.get_weights()
    if len(ours) != len(theirs) or not all(
        np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True)
    ):
        raise ModelFileError(
            f"Cannot save {name}: the written file's weights differ from the model's."
        )


@contextlib.contextmanager
def _quiet_keras_saving():
    """Hide the HDF5 'legacy format' log line and numpy's ``__array__`` deprecations."""
    absl_logger = logging.getLogger("absl")
    level = absl_logger.level
    absl_logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*HDF5 file.*legacy")
            yield
    finally:
        absl_logger.setLevel(level)


# --- reading the stored config without Keras --------------------------------------------


def check_regular_file(path: str | os.PathLike) -> Path:
    """Refuse anything but an existing regular file (after resolving links), before opening.

    A device (a link to ``/dev/zero``), a named pipe, a socket or a folder named like a model
    file would make a reader block or read forever. Returns ``path`` as a ``Path``; raises
    ``ModelFileError`` naming the file.
    """
    target = Path(path)
    try:
        info = os.stat(target)  # follows links
    except FileNotFoundError:
        if os.path.islink(target):
            raise ModelFileError(
                f"Cannot open {target.name}: it is a link to {os.readlink(target)}, which does "
                "not exist."
            ) from None
        raise ModelFileError(f"Cannot open {target}: there is no such file.") from None
    except OSError as error:
        raise _open_error(target, error) from error
    _refuse_irregular(target, info.st_mode)
    return target


def _refuse_irregular(target: Path, mode: int) -> None:
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        hint = (
            " (a TensorFlow SavedModel?); LayerLab opens .h5 and .keras model files"
            if target.suffix.lower() in MODEL_SUFFIXES
            else ""
        )
        raise ModelFileError(f"Cannot open {target.name}: it is a folder{hint}.")
    if stat.S_ISFIFO(mode):
        kind = "a named pipe (FIFO)"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    else:
        kind = "not a plain file"
    link = f"a link to {os.path.realpath(target)}, " if os.path.islink(target) else ""
    raise ModelFileError(
        f"Cannot open {target.name}: it is {link}{kind}, not a regular file; LayerLab reads "
        "only regular files. Copy the data into a file and open that."
    )


def _read_head(target: Path, count: int = 8) -> bytes:
    """The first bytes of a regular file, opened without blocking and checked again on the
    open descriptor (a file swapped for a pipe after ``check_regular_file`` is refused)."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        descriptor = os.open(target, flags)
    except OSError as error:
        raise _open_error(target, error) from error
    try:
        _refuse_irregular(target, os.fstat(descriptor).st_mode)
        return os.read(descriptor, count)
    except OSError as error:
        raise _open_error(target, error) from error
    finally:
        os.close(descriptor)


def _open_error(target: Path, error: OSError) -> ModelFileError:
    if error.errno in (errno.EACCES, errno.EPERM):
        return ModelFileError(
            f"Cannot open {target.name}: LayerLab may not read it (permission denied). Check "
            "the file's permissions."
        )
    reason = (error.strerror or _one_line(error)).rstrip(".")
    return ModelFileError(f"Cannot open {target.name}: {reason}.")


@dataclass
class _Expected:
    """What a model's config implies for its weights: per layer name, (class, params, bytes)."""

    layers: list[memory.LayerMemory]

    @property
    def total(self) -> int:
        return sum(row.bytes for row in self.layers)


# Called with the parsed config before any weights are opened: may refuse it (raises) and
# may return what it implies for the weights.
ConfigCheck = Callable[[dict], "_Expected | None"]


@dataclass
class _Stored:
    """HDF5 datasets' declared sizes (shapes × item sizes, read from metadata only)."""

    datasets: list[tuple[str, int]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(size for _, size in self.datasets)


def inspect_model_file(path: str | os.PathLike) -> dict:
    """The model config stored in ``path`` (``{"class_name": ..., "config": ...}``).

    Reads with h5py or zipfile only; Keras deserialises nothing. Raises ``ModelFileError``
    for a missing, empty, truncated, damaged or non-Keras file, an unknown extension, a
    device, pipe or folder, HDF5 soft links, external links or external/virtual datasets, and
    declared sizes (zip members, datasets) that do not fit in this machine's memory.
    """
    return _inspect(Path(path), None)


def _inspect(target: Path, check: ConfigCheck | None, meta: dict | None = None) -> dict:
    """The checked config; ``meta`` (when given) receives ``keras_version`` and the raw
    ``training_config`` before ``check`` runs."""
    suffix = _model_suffix(target)
    check_regular_file(target)
    head = _read_head(target)
    if not head:
        raise ModelFileError(f"Cannot open {target.name}: the file is empty (0 bytes).")
    meta = {} if meta is None else meta
    if suffix in H5_SUFFIXES:
        config = _inspect_h5(target, head, check, meta)
    else:
        config = _inspect_keras_zip(target, head, check, meta)
    return config


def _model_suffix(target: Path) -> str:
    suffix = target.suffix.lower()
    if suffix not in MODEL_SUFFIXES:
        found = f'"{target.suffix}"' if target.suffix else "no extension"
        raise ModelFileError(
            f"Cannot use {target.name}: LayerLab reads and writes .h5 and .keras model "
            f"files, and this has {found}."
        )
    return suffix


def _checked_config(config: Any, name: str) -> dict:
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ModelFileError(
            f"Cannot open {name}: its model config is not a Keras model description."
        )
    return config


def _inspect_h5(target: Path, head: bytes, check: ConfigCheck | None, meta: dict) -> dict:
    name = target.name
    if head != HDF5_SIGNATURE and not h5py.is_hdf5(str(target)):
        hint = " (it is a zip archive: rename it to .keras?)" if head[:4] == ZIP_SIGNATURE else ""
        raise ModelFileError(f"Cannot open {name}: it is not an HDF5 (.h5) file{hint}.")
    try:
        with h5py.File(target, "r") as h5:
            _refuse_h5_links(h5, name)
            if "model_config" not in h5.attrs:
                weights_only = "layer_names" in h5.attrs or any(
                    key in h5 for key in ("model_weights", "layers", "vars")
                )
                detail = (
                    " (only weights, as save_weights writes: load them into a model instead)"
                    if weights_only
                    else ""
                )
                raise ModelFileError(
                    f"Cannot open {name}: it is an HDF5 file but holds no Keras model{detail}."
                )
            size = h5py.h5a.open(h5.id, b"model_config").get_storage_size()
            if size > MAX_CONFIG_BYTES:
                raise ModelFileError(
                    f"Cannot open {name}: its model config declares "
                    f"{memory.format_bytes(size)}, far more than a model description needs."
                )
            raw = h5.attrs.get("model_config")
            if isinstance(raw, bytes):
                raw = raw.decode("utf-8", errors="replace")
            config = _checked_config(_parse_config_json(str(raw), name), name)
            meta["keras_version"] = _small_text_attr(h5, "keras_version")
            meta["training_config"] = _json_attr(h5, "training_config")
            stored = _stored_sizes(h5)
            _check_stored(name, stored, "model_weights", None)
            expected = check(config) if check else None
            if expected is not None:
                _check_stored(name, stored, "model_weights", expected)
    except ModelFileError:
        raise
    except Exception as error:
        raise ModelFileError(_damaged_h5_message(name, error)) from error
    return config


def _small_text_attr(h5: h5py.Group, key: str, limit: int = 1024) -> str | None:
    """A short text attribute (``keras_version``), or None when absent or not short text."""
    if key not in h5.attrs or h5py.h5a.open(h5.id, key.encode()).get_storage_size() > limit:
        return None
    value = h5.attrs.get(key)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None


def _json_attr(h5: h5py.Group, key: str) -> dict | None:
    """A JSON attribute parsed (``training_config``), None when absent, huge or not a dict."""
    text = _small_text_attr(h5, key, MAX_CONFIG_BYTES)
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _stored_sizes(h5: h5py.Group) -> _Stored:
    """Every dataset's declared size in bytes, from its shape and type (no data read)."""
    stored = _Stored()

    def visit(object_name: str, item) -> None:
        if isinstance(item, h5py.Dataset):
            count = 1
            for dimension in item.shape or ():
                count *= int(dimension)
            stored.datasets.append((object_name, count * max(item.dtype.itemsize, 1)))

    h5.visititems(visit)
    return stored


def _check_stored(name: str, stored: _Stored, prefix: str, expected: _Expected | None) -> None:
    """Refuse weights that do not fit in memory or do not match the config's layers.

    ``prefix`` is the group holding one subgroup per layer name (``model_weights`` in .h5,
    ``layers`` in a .keras archive's weights file).
    """
    if expected is None:
        total = stored.total
        available = memory.available_memory()
        if total > memory.ALWAYS_ALLOWED_BYTES and available and total * 2 > available:
            biggest, size = max(stored.datasets, key=lambda item: item[1])
            raise ModelFileError(
                f"Cannot open {name}: its weights declare {memory.format_bytes(total)} (the "
                f"dataset '{biggest}' alone {memory.format_bytes(size)}), and this machine "
                f"has {memory.format_bytes(available)} available; LayerLab does not load it."
            )
        return
    per_layer: dict[str, int] = {}
    for path, size in stored.datasets:
        parts = path.split("/")
        if len(parts) > 2 and parts[0] == prefix:
            per_layer[parts[1]] = per_layer.get(parts[1], 0) + size
    for row in expected.layers:
        have = per_layer.get(row.name, 0)
        problem = _size_mismatch(row.bytes, have)
        if problem:
            raise ModelFileError(
                f"Cannot open {name}: its config gives layer {row.name!r} ({row.class_name}) "
                f"{row.params:,} parameters ({memory.format_bytes(row.bytes)}), but the file "
                f"stores {memory.format_bytes(have)} of weights for it ({problem}); the file "
                "is damaged or was made to exhaust memory, so LayerLab does not load it."
            )
    limit = expected.total * MAX_STORED_PER_PARAMETER_BYTE + SIZE_FLOOR_BYTES
    if stored.total > limit:
        biggest, size = max(stored.datasets, key=lambda item: item[1])
        raise ModelFileError(
            f"Cannot open {name}: its weights declare {memory.format_bytes(stored.total)} "
            f"(the dataset '{biggest}' alone {memory.format_bytes(size)}), far more than the "
            f"{memory.format_bytes(expected.total)} its config needs; LayerLab does not load it."
        )


def _size_mismatch(wanted: int, have: int) -> str | None:
    """Why ``have`` stored bytes cannot be a layer's ``wanted`` bytes (small sizes pass:
    Keras's own error is cheap there)."""
    if max(wanted, have) <= SIZE_FLOOR_BYTES:
        return None
    if have * 2 < wanted:
        return "far fewer"
    if have > wanted * MAX_STORED_PER_PARAMETER_BYTE + SIZE_FLOOR_BYTES // 16:
        return "far more"
    return None


def _damaged_h5_message(name: str, error: BaseException) -> str:
    text = str(error)
    if "truncated" in text:
        match = re.search(r"eof = (\d+).*stored_eof = (\d+)", text)
        sizes = f" ({match[1]} of {match[2]} bytes)" if match else ""
        return (
            f"Cannot open {name}: the file is truncated{sizes}; it was probably not copied "
            "or downloaded completely."
        )
    return f"Cannot open {name}: the HDF5 file is damaged ({_one_line(error)})."


def _refuse_h5_links(h5: h5py.Group, name: str) -> None:
    """Refuse soft/external links and datasets whose data lives in other files.

    (h5py's visitors stop at the first callback result that is not None; an exception
    raised inside a callback would come out garbled, so the callbacks return messages.)
    """

    def visit_link(link_name: str, link) -> str | None:
        if isinstance(link, h5py.SoftLink):
            return (
                f"Cannot open {name}: it contains a soft link ('{link_name}'); Keras model "
                "files have none, so LayerLab does not open it."
            )
        if not isinstance(link, h5py.HardLink):
            return (
                f"Cannot open {name}: it contains an external link ('{link_name}') that "
                "points into another file; LayerLab does not follow it."
            )
        return None

    def visit_object(object_name: str, item) -> str | None:
        if isinstance(item, h5py.Dataset) and (item.external or item.is_virtual):
            return (
                f"Cannot open {name}: the dataset '{object_name}' reads its data from "
                "another file; LayerLab does not follow it."
            )
        return None

    problem = h5.visititems_links(visit_link) or h5.visititems(visit_object)
    if problem:
        raise ModelFileError(problem)


def _inspect_keras_zip(target: Path, head: bytes, check: ConfigCheck | None, meta: dict) -> dict:
    name = target.name
    if not zipfile.is_zipfile(target):
        if head[:4] == ZIP_SIGNATURE:
            raise ModelFileError(
                f"Cannot open {name}: the file is truncated or damaged (its zip directory "
                "is missing); it was probably not copied or downloaded completely."
            )
        hint = " (it is an HDF5 file: rename it to .h5?)" if head[:4] == HDF5_SIGNATURE[:4] else ""
        raise ModelFileError(
            f"Cannot open {name}: it is not a .keras file (a .keras file is a zip archive){hint}."
        )
    try:
        with zipfile.ZipFile(target) as archive:
            members = {info.filename: info for info in archive.infolist()}
            if "config.json" not in members:
                raise ModelFileError(
                    f"Cannot open {name}: it is a zip archive but not a Keras model "
                    "(it has no config.json)."
                )
            _check_members(name, archive)
            text = archive.read("config.json").decode("utf-8", errors="replace")
            config = _checked_config(_parse_config_json(text, name), name)
            meta["training_config"] = (
                config["compile_config"] if isinstance(config.get("compile_config"), dict) else None
            )
            if "metadata.json" in members and members["metadata.json"].file_size < 65536:
                meta["keras_version"] = _keras_zip_version(archive)
            expected = check(config) if check else None
            weights = archive.getinfo(WEIGHTS_MEMBER) if WEIGHTS_MEMBER in members else None
            if weights is not None:
                _check_weights_member(name, weights, expected)
                with archive.open(weights) as handle, h5py.File(handle, "r") as h5:
                    _refuse_h5_links(h5, name)
                    stored = _stored_sizes(h5)
                    _check_stored(name, stored, "layers", None)
                    if expected is not None:
                        _check_stored(name, stored, "layers", expected)
    except ModelFileError:
        raise
    except Exception as error:
        raise ModelFileError(
            f"Cannot open {name}: the .keras archive is damaged ({_one_line(error)})."
        ) from error
    return config


def _keras_zip_version(archive: zipfile.ZipFile) -> str | None:
    """The ``keras_version`` in a .keras archive's metadata.json (small, checked already)."""
    try:
        value = json.loads(archive.read("metadata.json")).get("keras_version")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _check_members(name: str, archive: zipfile.ZipFile) -> None:
    """Refuse zip bombs from the headers alone: members that inflate implausibly, configs
    too big to be configs, and archives that would not fit in memory."""
    total = 0
    for info in archive.infolist():
        declared = info.file_size
        total += declared
        if info.filename == "config.json" and declared > MAX_CONFIG_BYTES:
            raise ModelFileError(
                f"Cannot open {name}: its config.json declares {memory.format_bytes(declared)}, "
                "far more than a model description needs."
            )
        if info.filename != WEIGHTS_MEMBER and declared > MAX_SMALL_MEMBER_BYTES:
            raise ModelFileError(
                f"Cannot open {name}: its member '{info.filename}' declares "
                f"{memory.format_bytes(declared)}; LayerLab does not load it."
            )
        if declared > SIZE_FLOOR_BYTES and declared > MAX_EXPANSION * max(info.compress_size, 1):
            raise ModelFileError(
                f"Cannot open {name}: its member '{info.filename}' inflates from "
                f"{memory.format_bytes(info.compress_size)} to "
                f"{memory.format_bytes(declared)} (a zip bomb?); LayerLab does not load it."
            )
    available = memory.available_memory()
    if total > memory.ALWAYS_ALLOWED_BYTES and available and total * 2 > available:
        raise ModelFileError(
            f"Cannot open {name}: its contents declare {memory.format_bytes(total)}, and this "
            f"machine has {memory.format_bytes(available)} available; LayerLab does not load it."
        )


def _check_weights_member(name: str, info: zipfile.ZipInfo, expected: _Expected | None) -> None:
    """The weights member's declared size against what the config implies (headers only)."""
    if expected is None:
        return
    declared, wanted = info.file_size, expected.total
    too_big = declared > wanted * MAX_STORED_PER_PARAMETER_BYTE + SIZE_FLOOR_BYTES
    too_small = wanted > SIZE_FLOOR_BYTES and declared * 2 < wanted
    if not (too_big or too_small):
        return
    if too_small:
        biggest = max(expected.layers, key=lambda row: row.bytes)
        raise ModelFileError(
            f"Cannot open {name}: its config needs {memory.format_bytes(wanted)} of weights "
            f"(layer {biggest.name!r} ({biggest.class_name}) alone {biggest.params:,} "
            f"parameters), but its {WEIGHTS_MEMBER} holds only {memory.format_bytes(declared)}; "
            "the file is damaged or was made to exhaust memory, so LayerLab does not load it."
        )
    raise ModelFileError(
        f"Cannot open {name}: its {WEIGHTS_MEMBER} declares {memory.format_bytes(declared)}, "
        f"far more than the {memory.format_bytes(wanted)} its config needs; LayerLab does not "
        "load it."
    )


def _parse_config_json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelFileError(
            f"Cannot open {name}: its stored model config is damaged ({error.msg} at "
            f"line {error.lineno}, column {error.colno})."
        ) from None


# --- the allowlist ---------------------------------------------------------------------


# What a model file may name, by kind: the part of a Keras module path after ``keras.`` (or
# ``keras.src.``). ``engine`` and ``mixed_precision`` are where Keras 2 kept models and
# dtype policies. Utilities (``keras.utils``), saving, ops and backend code are not a model's.
ALLOWED_MODULE_KINDS = frozenset(
    {
        "layers",
        "initializers",
        "regularizers",
        "constraints",
        "activations",
        "optimizers",
        "losses",
        "metrics",
        "dtype_policies",
        "models",
        "engine",
        "mixed_precision",
    }
)
# Plain functions a config may name ({"class_name": "function", ...}), by module kind.
FUNCTION_KINDS = ("activations", "losses", "metrics")


def _module_kind(module: str) -> str | None:
    """``layers`` for ``keras.layers``/``keras.src.layers.core.dense``; ``keras`` for the
    top-level module; None for a module that is not Keras's."""
    parts = module.split(".")
    if parts[0] != "keras":
        return None
    rest = parts[2:] if len(parts) > 1 and parts[1] == "src" else parts[1:]
    return rest[0] if rest else "keras"


@functools.cache
def allowed_function_names() -> dict[str, frozenset[str]]:
    """Per kind (activations, losses, metrics): the public functions Keras exposes."""
    names = {}
    for kind in FUNCTION_KINDS:
        module = getattr(keras, kind)
        names[kind] = frozenset(
            name
            for name in dir(module)
            if not name.startswith("_")
            and callable(getattr(module, name))
            and not isinstance(getattr(module, name), type)
            and name not in {"get", "serialize", "deserialize"}
        )
    return names


@functools.cache
def allowed_class_names() -> frozenset[str]:
    """Every class name a model file may contain: the catalog's layers, merge layers (for
    functional models), Keras's initializers, regularizers, constraints, optimizers (and
    learning-rate schedules), losses, metrics and dtype policies.
    """
    from engine.catalog import allowed_class_names as catalog_layers

    def classes(module, base) -> set[str]:
        return {
            name
            for name in dir(module)
            if isinstance(cls := getattr(module, name), type)
            and issubclass(cls, base)
            and cls is not base
        }

    merge_layers = {
        name
        for name in dir(keras.layers)
        if isinstance(cls := getattr(keras.layers, name), type)
        and any(base.__name__ == "Merge" for base in cls.__mro__[1:])
    }

    names = set(catalog_layers()) | MODEL_CLASSES | SERIALISATION_MARKERS
    names |= merge_layers | VOCABULARY_LAYERS
    names |= classes(keras.initializers, keras.initializers.Initializer)
    names |= classes(keras.regularizers, keras.regularizers.Regularizer)
    names |= classes(keras.constraints, keras.constraints.Constraint)
    names |= classes(keras.optimizers, keras.optimizers.Optimizer)
    names |= classes(keras.optimizers.schedules, keras.optimizers.schedules.LearningRateSchedule)
    names |= classes(keras.losses, keras.losses.Loss)
    names |= classes(keras.metrics, keras.metrics.Metric)
    names |= classes(keras.dtype_policies, keras.dtype_policies.DTypePolicy)
    names |= {"DTypePolicy", "FloatDTypePolicy", "Policy"}
    return frozenset(names - set(CODE_RUNNING_LAYERS))


def check_allowlist(config: dict) -> None:
    """Refuse a model config holding anything a model does not need.

    Allowed: Keras's own, catalog-listed layers, and its initializers, regularizers,
    constraints, activations, optimizers, losses, metrics and dtype policies, from modules
    of those kinds; functions only from ``keras.activations``/``losses``/``metrics``.
    Walks every nested ``{"class_name", "module", "registered_name", ...}`` object except
    the ``compile_config`` (ignored by ``load_model(..., compile=False)``).
    Raises ``ModelFileError`` naming the class and why, with ``field`` the place in the
    config (e.g. ``layers[2]``).
    """
    allowed = allowed_class_names()
    _walk(config, (), allowed)


def _walk(node: Any, path: tuple[str, ...], allowed: frozenset[str]) -> None:
    if isinstance(node, dict):
        if "class_name" in node:
            _check_object(node, path, allowed)
        for key, value in node.items():
            if key in IGNORED_WITHOUT_COMPILE:
                continue
            _walk(value, path if key == "config" else (*path, f".{key}"), allowed)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _walk(value, (*path, f"[{index}]"), allowed)


def _check_object(node: dict, path: tuple[str, ...], allowed: frozenset[str]) -> None:
    class_name = node.get("class_name")
    module = node.get("module")
    registered = node.get("registered_name")
    field = "".join(path).lstrip(".") or None
    label = _label(node)
    if not isinstance(class_name, str):
        raise ModelFileError(
            f"the model config has an object whose class_name is {class_name!r}, which is "
            "not a class name; LayerLab does not load it.",
            field=field,
        )
    if class_name in CODE_RUNNING_LAYERS:
        raise ModelFileError(
            f"the model contains a {class_name} layer{label}, which "
            f"{CODE_RUNNING_LAYERS[class_name]}; LayerLab does not load it.",
            field=field,
        )
    if module is not None and not isinstance(module, str):
        raise ModelFileError(
            f"the model config names the module {module!r}, which is not a module name; "
            "LayerLab does not load it.",
            field=field,
        )
    kind = _module_kind(module) if module is not None else None
    if class_name == "function":
        function = node.get("config")
        if (
            kind in FUNCTION_KINDS
            and isinstance(function, str)
            and function in allowed_function_names()[kind]
        ):
            return
        if kind is not None:
            raise ModelFileError(
                f"the model names the Keras function {function!r} from module {module!r}, "
                "which is not an activation, loss or metric; a model does not need it, so "
                "LayerLab does not load it.",
                field=field,
            )
        raise ModelFileError(
            f"the model uses the custom function {function!r} (from module {module!r}), "
            "which only the code that saved it defines; LayerLab does not load it.",
            field=field,
        )
    if ">" in class_name or (registered is not None and registered != class_name):
        registration = registered if registered is not None else class_name
        raise ModelFileError(
            f"the model uses the custom class {registration!r}{label}, which only the code "
            "that saved it defines; LayerLab loads Keras's own layers only.",
            field=field,
        )
    if module is not None and kind is None:
        raise ModelFileError(
            f"the model uses {class_name!r}{label} from module {module!r}, which is not part "
            "of Keras; LayerLab does not load it.",
            field=field,
        )
    if module is not None and kind != "keras" and kind not in ALLOWED_MODULE_KINDS:
        raise ModelFileError(
            f"the model uses {class_name!r}{label} from module {module!r}, which holds no "
            "layers, initializers, regularizers, constraints, activations, optimizers, "
            "losses, metrics or dtype policies; a model does not need it, so LayerLab does "
            "not load it.",
            field=field,
        )
    if class_name in KERAS2_GPU_LAYERS:
        raise ModelFileError(
            f"the model uses {class_name}{label}, a Keras 2 layer for NVIDIA GPUs that "
            f"Keras 3 replaced by {KERAS2_GPU_LAYERS[class_name]}; LayerLab cannot convert its "
            f"weights. Re-save the model with {KERAS2_GPU_LAYERS[class_name]} layers.",
            field=field,
        )
    if class_name not in allowed:
        raise ModelFileError(
            f"the model uses the class {class_name!r}{label}, which is not among the Keras "
            "layers LayerLab knows; LayerLab does not load it.",
            field=field,
        )
    if class_name in VOCABULARY_LAYERS:
        _check_vocabulary(node, class_name, label, field)


def _check_vocabulary(node: dict, class_name: str, label: str, field: str | None) -> None:
    """A preprocessing layer's vocabulary (and TextVectorization's stop words) may be given
    inline; a string there names a file Keras would open, which a model file must not."""
    config = node.get("config")
    if not isinstance(config, dict):
        return
    for key in VOCABULARY_ARGUMENTS:
        value = config.get(key)
        if isinstance(value, str):
            raise ModelFileError(
                f"the {class_name} layer{label} takes its {key} from the file {value!r}; "
                "LayerLab does not open files a model names. Give the vocabulary as a list "
                "in the layer instead.",
                field=f"{field}.{key}" if field else key,
            )


def _label(node: dict) -> str:
    config = node.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    return f" ({name!r})" if isinstance(name, str) else ""


# --- loading ---------------------------------------------------------------------------


def load_model_file(path: str | os.PathLike) -> LoadedModel:
    """Load a ``.h5``/``.keras`` model after the file, size and allowlist checks.

    Refused before Keras reads anything: what is not a regular file, what is not a Keras
    model file, classes a model does not need, a model whose parameters would not fit in
    this machine's memory, and weights whose declared sizes do not match the config.
    A Sequential model comes back with its config as an editable ``spec``; a functional
    model loads for summary, evaluation and export, with ``editable`` False and a note.
    The model is not compiled: compile it from the project (``training_config`` holds the
    file's own compile settings).

    ``.h5`` files written by Keras 1/2 (and Keras 3 ``.h5`` files that Keras cannot load)
    go through ``engine.keras2``: the checked config is translated for Keras 3, the model
    is built from it, and the weights are read from the file's ``model_weights`` group.
    """
    target = Path(path)
    meta: dict = {}
    config = _inspect(target, _config_check(target.name, meta), meta)
    version = meta.get("keras_version")
    found = {"training_config": meta.get("training_config"), "keras_version": version}
    is_h5 = target.suffix.lower() in H5_SUFFIXES
    if is_h5 and keras2.is_keras2(version):
        try:
            return _load_legacy(target, config, meta, found)
        except ModelFileError as ours:
            try:
                model = _keras_load(target)
            except Exception:
                if keras2.keras_major(version) == 1:
                    raise ModelFileError(
                        f"Cannot open {target.name}: it was written by Keras {version}, whose "
                        "layer format LayerLab does not translate (it reads files from Keras "
                        "2.0 on). Re-save the model with a newer Keras."
                    ) from ours
                raise ours from None
            return _loaded(model, weights_loaded=True, **found)
    try:
        model = _keras_load(target)
    except Exception as error:
        keras_error = _keras_load_error(target.name, config, error)
        if not is_h5:
            raise keras_error from error
        try:
            return _load_legacy(target, config, meta, found)
        except ModelFileError:
            raise keras_error from error
    return _loaded(model, weights_loaded=True, **found)


def _keras_load(target: Path):
    with _quiet_keras_saving(), _keras_readable(target) as readable:
        return keras.saving.load_model(readable, compile=False, safe_mode=True)


def _loaded(model, **fields) -> LoadedModel:
    if isinstance(model, keras.Sequential):
        nested = [layer.name for layer in model.layers if isinstance(layer, keras.Model)]
        if not nested:
            spec = model.get_config()
            return LoadedModel(model=model, spec=spec, editable=True, note="", **fields)
        note = NESTED_NOTE.format(names=", ".join(repr(name) for name in nested))
        return LoadedModel(model=model, spec=None, editable=False, note=note, **fields)
    return LoadedModel(model=model, spec=None, editable=False, note=FUNCTIONAL_NOTE, **fields)


def _load_legacy(target: Path, config: dict, meta: dict, found: dict) -> LoadedModel:
    """Build the translated config with Keras (safe mode) and read the weights ourselves."""
    from keras.src.legacy.saving import saving_options, saving_utils
    from keras.src.saving import serialization_lib

    name = target.name
    translated, notes = meta.get("translated") or _translate(name, config)
    try:
        with (
            _quiet_keras_saving(),
            saving_options.keras_option_scope(use_legacy_config=True),
            serialization_lib.SafeModeScope(True),
        ):
            model = saving_utils.model_from_config(copy.deepcopy(translated))
    except ModelFileError:
        raise
    except Exception as error:
        raise _keras_load_error(name, translated, error) from error
    try:
        with h5py.File(target, "r") as h5:
            group = h5.get("model_weights")
            count = keras2.load_weights(model, group, name) if group is not None else 0
    except ModelFileError:
        raise
    except Exception as error:
        raise ModelFileError(
            f"Cannot open {name}: its weights could not be read ({_one_line(error)})."
        ) from error
    if count and keras2.is_keras2(found.get("keras_version")):
        notes = [*notes, *keras2.match_keras2_activations(model)]
    weights_loaded = count > 0 or not model.weights
    return _loaded(model, weights_loaded=weights_loaded, rewrites=notes, **found)


def _translate(name: str, config: dict) -> tuple[dict, list[str]]:
    try:
        return keras2.translate(config)
    except ModelFileError as error:
        raise ModelFileError(f"Cannot open {name}: {error.message}", field=error.field) from None
    except Exception as error:  # a config of a shape no Keras wrote
        raise ModelFileError(
            f"Cannot open {name}: its Keras 2 model config has a form LayerLab does not "
            f"recognise ({_one_line(error)})."
        ) from error


def _config_check(name: str, meta: dict | None = None) -> ConfigCheck:
    """The allowlist, then the memory the config's parameters need (Sequential models,
    whose parameters ``analyse`` counts without allocating; others are bounded by their
    stored sizes only). A Keras 2 config is translated first (``meta["translated"]``), so
    that its parameters can be counted as Keras 3 will build them."""

    def check(config: dict) -> _Expected | None:
        try:
            check_allowlist(config)
        except ModelFileError as error:
            where = f" (at {error.field})" if error.field else ""
            raise ModelFileError(
                f"Cannot open {name}: {error.message[:-1]}{where}.", field=error.field
            ) from error
        if meta is not None and "keras_version" in meta and keras2.is_keras2(meta["keras_version"]):
            meta["translated"] = _translate(name, config)
            config = meta["translated"][0]
        spec = config.get("config")
        if config.get("class_name") != "Sequential" or not isinstance(spec, dict):
            return None
        rows = memory.parameter_memory(_with_layer_modules(spec))
        if not rows:
            return None
        problem = memory.fit_problem(rows)
        if problem:
            raise ModelFileError(f"Cannot open {name}: {problem}")
        return _Expected(rows)

    return check


def _with_layer_modules(node: Any) -> Any:
    """A copy of a config whose layers all name their module: legacy ``.h5`` configs omit it,
    and ``keras.layers.deserialize`` (which ``analyse`` uses) then cannot find the class."""
    if isinstance(node, list):
        return [_with_layer_modules(value) for value in node]
    if not isinstance(node, dict):
        return node
    copied = {key: _with_layer_modules(value) for key, value in node.items()}
    if copied.get("module") is None and copied.get("class_name") in _layer_class_names():
        copied["module"] = "keras.layers"
    return copied


@functools.cache
def _layer_class_names() -> frozenset[str]:
    return frozenset(
        name
        for name in dir(keras.layers)
        if isinstance(cls := getattr(keras.layers, name), type)
        and issubclass(cls, keras.layers.Layer)
    )


# Arguments Keras 2 wrote that Keras 3's layers do not accept (seen in real files).
KERAS2_ARGUMENTS = frozenset(
    {"groups", "time_major", "input_length", "batch_input_shape", "input_dim", "implementation"}
)
_UNRECOGNISED = re.compile(r"Unrecognized keyword arguments passed to (\w+): \{(.*?)\}", re.S)


def _keras_load_error(name: str, config: dict, error: BaseException) -> ModelFileError:
    """Keras's loading error as one plain sentence naming the file, the layer, the argument
    and why: never Keras's config dump, and never its "register_keras_serializable" hint
    for one of Keras's own layers."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    layer_name = None
    failing_class = None
    wrapped = _DESERIALISING.search(text)
    if wrapped:
        failing_class = wrapped[1]
        named = re.search(r"'name':\s*'([^']*)'", wrapped[2])
        layer_name = named[1] if named else None
        text = wrapped[3]
    match = _UNRECOGNISED.search(text)
    if match:
        class_name = match[1]
        arguments = re.findall(r"'(\w+)'\s*:", match[2])
        if arguments:
            argument = arguments[0]
            layer, where = _find_layer_with(config, class_name, argument)
            who = f"layer {layer!r} ({class_name})" if layer else f"a {class_name} layer"
            if argument in KERAS2_ARGUMENTS:
                why = "a Keras 2 argument that Keras 3 does not accept"
            else:
                why = "an argument Keras 3 does not accept (from Keras 2, or added by hand?)"
            return ModelFileError(
                f"Cannot open {name}: {who} has the argument {argument!r}, {why}. Re-save the "
                "model with Keras 3, or remove the argument from the layer's config.",
                field=where,
            )
    missing = _UNLOCATED.search(text)
    if missing:
        class_name = missing[1]
        layer = layer_name or _first_layer_named(config, class_name)
        who = f"layer {layer!r} ({class_name})" if layer else f"a {class_name} layer"
        if class_name in _layer_class_names():
            return ModelFileError(
                f"Cannot open {name}: {who} is stored in a form Keras 3 cannot rebuild (an "
                "old Keras layout it does not recognise). Re-save the model with Keras 3."
            )
        return ModelFileError(
            f"Cannot open {name}: {who} is not one of Keras's own classes; LayerLab loads "
            "Keras's own layers only."
        )
    reason = _reason(text)
    if failing_class:
        who = f"layer {layer_name!r} ({failing_class})" if layer_name else f"a {failing_class}"
        return ModelFileError(f"Cannot open {name}: Keras could not rebuild {who}: {reason}.")
    return ModelFileError(f"Cannot open {name}: Keras could not load the model ({reason}).")


_DESERIALISING = re.compile(
    r"Error when deserializing class '(\w+)' using config=(\{.*?\})\.\s*\n\s*\n?"
    r"Exception encountered: (.*)",
    re.S,
)
_UNLOCATED = re.compile(r"Could not locate class '(\w+)'")
MAX_REASON_CHARS = 240


def _reason(text: str) -> str:
    """The line of a Keras error that says what is wrong: not Keras's "Exception
    encountered when calling ..." header, "Arguments received" details or config dumps."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        if line.startswith(("Exception encountered when calling", "Arguments received", "•")):
            continue
        line = re.split(r"\s*(?:using config=|Full object config|config=\{)", line)[0]
        line = line.replace(" with name 'None'", "")
        line = line.rstrip(". ")
        if len(line) > MAX_REASON_CHARS:
            line = line[: MAX_REASON_CHARS - 1].rstrip() + "…"
        return line
    return "no reason given"


def _first_layer_named(node: Any, class_name: str) -> str | None:
    """The name of the first layer of ``class_name`` in a config."""
    if isinstance(node, dict):
        config = node.get("config")
        if node.get("class_name") == class_name and isinstance(config, dict):
            name = config.get("name")
            if isinstance(name, str):
                return name
        for key, value in node.items():
            if key not in IGNORED_WITHOUT_COMPILE:
                found = _first_layer_named(value, class_name)
                if found:
                    return found
    elif isinstance(node, list):
        for value in node:
            found = _first_layer_named(value, class_name)
            if found:
                return found
    return None


def _find_layer_with(
    node: Any, class_name: str, argument: str, path: str = ""
) -> tuple[str | None, str | None]:
    """(name, place) of the first object of ``class_name`` whose config has ``argument``."""
    if isinstance(node, dict):
        config = node.get("config")
        if node.get("class_name") == class_name and isinstance(config, dict) and argument in config:
            layer = config.get("name")
            return (layer if isinstance(layer, str) else None), (path.lstrip(".") or None)
        for key, value in node.items():
            if key in IGNORED_WITHOUT_COMPILE:
                continue
            found = _find_layer_with(
                value, class_name, argument, path if key == "config" else f"{path}.{key}"
            )
            if found != (None, None):
                return found
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found = _find_layer_with(value, class_name, argument, f"{path}[{index}]")
            if found != (None, None):
                return found
    return None, None


@contextlib.contextmanager
def _keras_readable(target: Path):
    """``target``, or a link to it with a lower-case suffix (Keras refuses ``MODEL.H5``)."""
    suffix = target.suffix.lower()
    if target.suffix == suffix:
        yield target
        return
    with tempfile.TemporaryDirectory(prefix="layerlab-") as folder:
        alias = Path(folder) / f"model{suffix}"
        try:
            alias.symlink_to(target.resolve())
        except OSError:
            shutil.copyfile(target, alias)
        yield alias


# --- summary ---------------------------------------------------------------------------


def summary_text(model) -> str:
    """Exactly the text ``model.summary()`` prints, ending with Keras's three
    ``Total params`` / ``Trainable params`` / ``Non-trainable params`` lines."""
    parts: list[str] = []

    def collect(text: str, line_break: bool = True) -> None:
        parts.append(text if not line_break or text.endswith("\n") else text + "\n")

    model.summary(print_fn=collect)
    text = "".join(parts)
    return text if text.endswith("\n") else text + "\n"


def summary_for_config(model_config: dict, input_shape: tuple | None = None) -> tuple[str, str]:
    """(``model.summary()`` text, the model's JSON indented) for a Sequential spec.

    Safe to call from a background thread: a model too big for this machine's memory is
    refused (``engine.memory.ModelTooLargeError``) before anything is allocated, and the
    built model is released afterwards (no ``clear_session``: training may be running in
    another thread).
    """
    from engine.spec import build_model

    model = (
        build_model(model_config, input_shape=input_shape)
        if input_shape
        else build_model(model_config)
    )
    try:
        text = summary_text(model)
        config_json = json.dumps(json.loads(model.to_json()), indent=2)
    finally:
        del model
        gc.collect()
    return text, config_json


def _one_line(error: BaseException) -> str:
    """An exception's text as one line: ANSI codes and traceback lines removed."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
