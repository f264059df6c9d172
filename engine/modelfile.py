"""Model files: save and load ``.h5`` (legacy HDF5) and ``.keras``, safely.

Loading an untrusted file never runs its code: ``inspect_model_file`` reads the stored
config with h5py/zipfile only (refusing HDF5 soft/external links and external datasets),
``check_allowlist`` refuses any class that is not one of Keras's own layers from the
catalog (Lambda, TFSMLayer, custom or registered classes, modules outside ``keras``), and
only then does Keras load the file with ``compile=False, safe_mode=True``. Every problem is
a ``ModelFileError`` with one plain sentence naming it.

Saving writes to a temporary sibling, reloads it to verify, then renames it onto the
target, so a failed save never leaves a broken file where the user's file was. ``.h5``
files are saved without the optimizer (Keras 3 cannot restore it from ``.h5``): compile
from the project after loading.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from engine.errors import ModelFileError
from engine.files import temporary_sibling
from engine.quiet import import_keras

keras = import_keras()

H5_SUFFIXES = (".h5", ".hdf5")
KERAS_SUFFIX = ".keras"
MODEL_SUFFIXES = (*H5_SUFFIXES, KERAS_SUFFIX)

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
ZIP_SIGNATURE = b"PK\x03\x04"
MAX_CONFIG_BYTES = 64 * 1024 * 1024

FUNCTIONAL_NOTE = (
    "a functional model: summary, evaluation and export work; it cannot be edited as a stack"
)

# Layers that execute code stored in (or named by) the file, and why.
CODE_RUNNING_LAYERS = {
    "Lambda": "runs arbitrary code",
    "TFSMLayer": "loads and runs a TensorFlow SavedModel",
}

# Model containers and the markers Keras writes inside configs.
MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model", "InputLayer"})
SERIALISATION_MARKERS = frozenset({"__keras_tensor__", "__tuple__", "__numpy__", "__tensor__"})

# Keys Keras never deserialises when loading with compile=False (as LayerLab always does):
# a model trained with a custom loss or metric still opens.
IGNORED_WITHOUT_COMPILE = frozenset({"compile_config"})


@dataclass
class LoadedModel:
    """A model read from a file. ``spec`` is its Sequential config when ``editable``."""

    model: Any
    spec: dict | None
    editable: bool
    note: str


# --- saving ----------------------------------------------------------------------------


def save_model(model, path: str | os.PathLike) -> None:
    """Save ``model`` as ``.h5`` (no optimizer) or ``.keras``, atomically and verified."""
    target = Path(path)
    suffix = _model_suffix(target)
    # Keras recognises only lower-case suffixes: MODEL.H5 is written as .tmp.h5, then renamed.
    with temporary_sibling(target, suffix=".tmp" + suffix) as temporary:
        try:
            with _quiet_keras_saving():
                if suffix in H5_SUFFIXES:
                    model.save(temporary, include_optimizer=False)
                else:
                    model.save(temporary)
        except OSError as error:
            raise ModelFileError(
                f"Cannot save {target.name}: {error.strerror or _one_line(error)}."
            ) from error
        except Exception as error:
            raise ModelFileError(
                f"Cannot save {target.name}: Keras could not write the model ({_one_line(error)})."
            ) from error
        _verify_saved(model, temporary, target.name)
        os.replace(temporary, target)


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


def inspect_model_file(path: str | os.PathLike) -> dict:
    """The model config stored in ``path`` (``{"class_name": ..., "config": ...}``).

    Reads with h5py or zipfile only; Keras deserialises nothing. Raises ``ModelFileError``
    for a missing, empty, truncated, damaged or non-Keras file, an unknown extension, and
    HDF5 soft links, external links or external/virtual datasets.
    """
    target = Path(path)
    suffix = _model_suffix(target)
    if not target.exists():
        raise ModelFileError(f"Cannot open {target}: there is no such file.")
    if target.is_dir():
        raise ModelFileError(
            f"Cannot open {target.name}: it is a folder (a TensorFlow SavedModel?); "
            "LayerLab opens .h5 and .keras model files."
        )
    try:
        with open(target, "rb") as handle:
            head = handle.read(8)
    except OSError as error:
        raise ModelFileError(f"Cannot open {target.name}: {error.strerror or error}.") from error
    if not head:
        raise ModelFileError(f"Cannot open {target.name}: the file is empty (0 bytes).")
    config = _inspect_h5(target) if suffix in H5_SUFFIXES else _inspect_keras_zip(target)
    if not isinstance(config, dict) or not isinstance(config.get("class_name"), str):
        raise ModelFileError(
            f"Cannot open {target.name}: its model config is not a Keras model description."
        )
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


def _inspect_h5(target: Path) -> dict:
    name = target.name
    with open(target, "rb") as handle:
        head = handle.read(len(HDF5_SIGNATURE))
    if head != HDF5_SIGNATURE and not h5py.is_hdf5(str(target)):
        hint = " (it is a zip archive: rename it to .keras?)" if head[:4] == ZIP_SIGNATURE else ""
        raise ModelFileError(f"Cannot open {name}: it is not an HDF5 (.h5) file{hint}.")
    try:
        with h5py.File(target, "r") as h5:
            _refuse_h5_links(h5, name)
            raw = h5.attrs.get("model_config")
            if raw is None:
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
    except ModelFileError:
        raise
    except Exception as error:
        raise ModelFileError(_damaged_h5_message(name, error)) from error
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", errors="replace")
    return _parse_config_json(str(raw), name)


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


def _inspect_keras_zip(target: Path) -> dict:
    name = target.name
    with open(target, "rb") as handle:
        head = handle.read(len(ZIP_SIGNATURE))
    if not zipfile.is_zipfile(target):
        if head == ZIP_SIGNATURE:
            raise ModelFileError(
                f"Cannot open {name}: the file is truncated or damaged (its zip directory "
                "is missing); it was probably not copied or downloaded completely."
            )
        hint = " (it is an HDF5 file: rename it to .h5?)" if head == HDF5_SIGNATURE[:4] else ""
        raise ModelFileError(
            f"Cannot open {name}: it is not a .keras file (a .keras file is a zip archive){hint}."
        )
    try:
        with zipfile.ZipFile(target) as archive:
            members = set(archive.namelist())
            if "config.json" not in members:
                raise ModelFileError(
                    f"Cannot open {name}: it is a zip archive but not a Keras model "
                    "(it has no config.json)."
                )
            info = archive.getinfo("config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise ModelFileError(f"Cannot open {name}: its config.json is implausibly large.")
            text = archive.read("config.json").decode("utf-8", errors="replace")
            if "model.weights.h5" in members:
                with archive.open("model.weights.h5") as weights, h5py.File(weights, "r") as h5:
                    _refuse_h5_links(h5, name)
    except ModelFileError:
        raise
    except Exception as error:
        raise ModelFileError(
            f"Cannot open {name}: the .keras archive is damaged ({_one_line(error)})."
        ) from error
    return _parse_config_json(text, name)


def _parse_config_json(text: str, name: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise ModelFileError(
            f"Cannot open {name}: its stored model config is damaged ({error.msg} at "
            f"line {error.lineno}, column {error.colno})."
        ) from None


# --- the allowlist ---------------------------------------------------------------------


@functools.cache
def allowed_class_names() -> frozenset[str]:
    """Every class name a model file may contain: the catalog's layers, merge layers (for
    functional models), Keras's initializers, regularizers, constraints and dtype policies.
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
    names |= merge_layers
    names |= classes(keras.initializers, keras.initializers.Initializer)
    names |= classes(keras.regularizers, keras.regularizers.Regularizer)
    names |= classes(keras.constraints, keras.constraints.Constraint)
    names |= {"DTypePolicy", "FloatDTypePolicy"}
    return frozenset(names - set(CODE_RUNNING_LAYERS))


def check_allowlist(config: dict) -> None:
    """Refuse a model config holding anything but Keras's own, catalog-listed classes.

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
    if class_name == "function":
        function = node.get("config")
        if isinstance(module, str) and module.startswith("keras.") and isinstance(function, str):
            return
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
    if module is not None and not (module == "keras" or str(module).startswith("keras.")):
        raise ModelFileError(
            f"the model uses {class_name!r}{label} from module {module!r}, which is not part "
            "of Keras; LayerLab does not load it.",
            field=field,
        )
    if class_name not in allowed:
        raise ModelFileError(
            f"the model uses the class {class_name!r}{label}, which is not among the Keras "
            "layers LayerLab knows; LayerLab does not load it.",
            field=field,
        )


def _label(node: dict) -> str:
    config = node.get("config")
    name = config.get("name") if isinstance(config, dict) else None
    return f" ({name!r})" if isinstance(name, str) else ""


# --- loading ---------------------------------------------------------------------------


def load_model_file(path: str | os.PathLike) -> LoadedModel:
    """Load a ``.h5``/``.keras`` model after the config and allowlist checks.

    A Sequential model comes back with its config as an editable ``spec``; a functional
    model loads for summary, evaluation and export, with ``editable`` False and a note.
    The model is not compiled: compile it from the project.
    """
    target = Path(path)
    config = inspect_model_file(target)
    try:
        check_allowlist(config)
    except ModelFileError as error:
        where = f" (at {error.field})" if error.field else ""
        raise ModelFileError(
            f"Cannot open {target.name}: {error.message[:-1]}{where}.", field=error.field
        ) from error
    try:
        with _quiet_keras_saving(), _keras_readable(target) as readable:
            model = keras.saving.load_model(readable, compile=False, safe_mode=True)
    except Exception as error:
        raise ModelFileError(
            f"Cannot open {target.name}: Keras could not load the model ({_one_line(error)})."
        ) from error
    if isinstance(model, keras.Sequential):
        return LoadedModel(model=model, spec=model.get_config(), editable=True, note="")
    return LoadedModel(model=model, spec=None, editable=False, note=FUNCTIONAL_NOTE)


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


def _one_line(error: BaseException) -> str:
    """An exception's text as one line: ANSI codes and traceback lines removed."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
