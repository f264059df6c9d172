"""A project's initial weights: ``"weights": "<stem>.weights.h5"`` beside the project.

The file is Keras's own weights format (what ``model.save_weights`` writes: one group per
layer under ``layers/``, each remembering the layer's name). ``load_initial_weights`` loads
it **by layer name** into a model built from the project as it is now, so the weights still
load after the user inserts a Dropout, reorders nothing, freezes layers or renames none: a
layer whose shapes changed (units 16 → 32) or that is new stays freshly initialised and is
named in the ``WeightsReport``. A mismatch never raises; a missing or unreadable file is a
``ModelFileError`` that names the file and the fix.

While a project is unsaved, its ``weights`` is an absolute path in a private temporary
folder (like unsaved runs' weights, see ``engine.runs``); ``place_project_weights`` (called
by ``engine.runs.place_run_files`` on Save / Save As) moves it beside the project.
``fit["start_from"]`` is ``"weights"`` (the default when the project has weights) or
``"fresh"``.
"""

from __future__ import annotations

import functools
import io
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ModelFileError, ProjectError

WEIGHTS_SUFFIX = ".weights.h5"
START_FROM = ("weights", "fresh")
FRESH_FIX = (
    "Restore the file beside the project, or choose fresh initialisation (start from fresh "
    "weights)."
)
# A layer's stored arrays may not hold more than this many times its own parameters
# (and this many elements besides): anything bigger is not that layer's weights.
_MAX_STORED_FACTOR = 4
_MAX_STORED_SLACK = 1_000_000

_pending_folder: Path | None = None


@dataclass
class WeightsReport:
    """What ``load_initial_weights`` did: the layers loaded from the file, the layers left
    freshly initialised with why, and the file's layers the model no longer has."""

    file_name: str
    loaded: list[str] = field(default_factory=list)
    fresh: list[tuple[str, str]] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not self.fresh

    def message(self) -> str:
        """One plain line for the log."""
        count = len(self.loaded)
        text = f"Initial weights from {self.file_name}: {count} layer{'s' if count != 1 else ''}"
        text += " loaded" if count else " loaded (none matched)"
        if self.fresh:
            names = "; ".join(f"{name} ({why})" for name, why in self.fresh)
            text += f"; freshly initialised: {names}"
        if self.unused:
            text += f"; not in the model any more: {', '.join(self.unused)}"
        return text + "."


# --- where the file is --------------------------------------------------------------------


def weights_file_name(project_path: str | os.PathLike) -> str:
    """``model.llproj`` → ``model.weights.h5`` (the file beside the project)."""
    return Path(project_path).stem + WEIGHTS_SUFFIX


def project_weights_path(
    project: dict, project_path: str | os.PathLike | None = None
) -> Path | None:
    """Where the project's initial weights are (absolute), or None when it has none (or
    they are relative and the project has no path)."""
    weights = project.get("weights") if isinstance(project, dict) else None
    if not isinstance(weights, str) or not weights:
        return None
    path = Path(weights)
    if path.is_absolute():
        return path
    if project_path is None:
        return None
    return Path(project_path).parent / path


def start_from(project: dict) -> str:
    """``"weights"`` or ``"fresh"``: what a run starts from (``"fresh"`` without weights)."""
    if not isinstance(project, dict) or not project.get("weights"):
        return "fresh"
    fit = project.get("fit") if isinstance(project.get("fit"), dict) else {}
    return "fresh" if fit.get("start_from") == "fresh" else "weights"


def check_weights_setting(value: Any) -> str | None:
    """``validate_project``'s check of the top-level ``weights`` key (None or the message)."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        return (
            "The initial weights (weights) must name a .weights.h5 file beside the project, "
            "or be null."
        )
    if not value.endswith(WEIGHTS_SUFFIX):
        return f"The initial weights (weights) must name a {WEIGHTS_SUFFIX} file, got {value!r}."
    path = Path(value)
    if path.is_absolute():
        # Only an unsaved project's weights, in LayerLab's private temporary folder.
        temporary = Path(tempfile.gettempdir()).resolve()
        if path.resolve().is_relative_to(temporary) and ".." not in path.parts:
            return None
        return (
            f"The initial weights (weights) must be a file inside the project's folder, "
            f"got {value!r}."
        )
    if ".." in path.parts or value.startswith(("/", "\\")):
        return (
            f"The initial weights (weights) must be a file inside the project's folder, "
            f"got {value!r}."
        )
    return None


# --- saving -------------------------------------------------------------------------------


def weights_bytes(model) -> bytes:
    """The model's weights as a Keras ``.weights.h5`` file's bytes (built in memory; the
    optimizer's variables are left out: a run compiles its own)."""
    from keras.src.saving import saving_lib

    buffer = io.BytesIO()
    store = saving_lib.H5IOStore(buffer, mode="w")
    skip = {id(model.optimizer)} if getattr(model, "optimizer", None) is not None else set()
    try:
        with warnings.catch_warnings():  # numpy 2's __array__ deprecations, per variable
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            saving_lib._save_state(
                model,
                weights_store=store,
                assets_store=None,
                inner_path="",
                visited_saveables=skip,
            )
    finally:
        store.close()
    return buffer.getvalue()


def save_initial_weights(model, path: str | os.PathLike) -> None:
    """Write ``model``'s weights to ``path`` (a ``.weights.h5``) atomically and verified."""
    from engine.files import FileSaveError, atomic_write_with

    target = Path(path)
    try:
        data = weights_bytes(model)
    except Exception as error:
        raise ModelFileError(
            f"Cannot save {target.name}: Keras could not write the weights ({_one_line(error)})."
        ) from error

    def verify(saved: Path) -> None:
        if not stored_layers(saved):
            raise ModelFileError(f"Cannot save {target.name}: the written file holds no layers.")

    try:
        atomic_write_with(
            target,
            lambda handle: handle.write(data),
            suffix=".tmp" + WEIGHTS_SUFFIX,
            verify=verify,
            say_kept=True,
        )
    except FileSaveError as error:
        raise ModelFileError(str(error)) from error


def pending_dir() -> Path:
    """The private temporary folder for an unsaved project's weights."""
    global _pending_folder
    if _pending_folder is None or not _pending_folder.is_dir():
        _pending_folder = Path(tempfile.mkdtemp(prefix="layerlab-unsaved-weights-"))
    return _pending_folder


def set_project_weights(
    project: dict, model, project_path: str | os.PathLike | None, *, stem: str | None = None
) -> dict:
    """A new project whose initial weights are ``model``'s, written to
    ``<project stem>.weights.h5`` beside ``project_path`` (or, unsaved, into the private
    temporary folder as ``<stem>.weights.h5``); ``fit.start_from`` becomes ``"weights"``."""
    if project_path is not None:
        name = weights_file_name(project_path)
        save_initial_weights(model, Path(project_path).parent / name)
        value = name
    else:
        folder = Path(tempfile.mkdtemp(prefix="w-", dir=pending_dir()))
        target = folder / f"{stem or 'model'}{WEIGHTS_SUFFIX}"
        save_initial_weights(model, target)
        value = str(target)
    fit = dict(project.get("fit") or {})
    fit["start_from"] = "weights"
    return {**project, "weights": value, "fit": fit}


def place_project_weights(
    project: dict,
    project_path: str | os.PathLike,
    old_project_path: str | os.PathLike | None = None,
) -> dict:
    """Put the project's initial weights beside ``project_path`` as
    ``<project stem>.weights.h5`` (call on Save / Save As; ``engine.runs.place_run_files``
    does). An unsaved project's file is moved out of the temporary folder; with
    ``old_project_path`` (Save As elsewhere) the old file is copied. The copy is atomic
    (a temporary sibling renamed onto the target). Returns the project with a relative
    ``weights``; a missing source leaves the project unchanged (the next run says so).
    """
    weights = project.get("weights") if isinstance(project, dict) else None
    if not isinstance(weights, str) or not weights:
        return project
    source = Path(weights)
    if not source.is_absolute():
        if old_project_path is None:
            return project
        source = Path(old_project_path).parent / source
    name = weights_file_name(project_path)
    target = Path(project_path).parent / name
    if not source.is_file():
        return project
    if source.resolve() != target.resolve():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".part", delete=False) as part:
            partial = Path(part.name)
        try:
            shutil.copy2(source, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        if _pending_folder is not None and source.resolve().is_relative_to(
            _pending_folder.resolve()
        ):
            source.unlink(missing_ok=True)
    return {**project, "weights": name}


# --- loading ------------------------------------------------------------------------------


def stored_layers(path: str | os.PathLike) -> dict[str, str]:
    """{layer name: group path} of the layers a ``.weights.h5`` file holds (h5py only)."""
    import h5py

    with h5py.File(path, "r") as h5:
        return stored_layers_of(h5)


def stored_layers_of(h5) -> dict[str, str]:
    """``stored_layers`` of an open h5py file."""
    import h5py

    found: dict[str, str] = {}
    layers = h5.get("layers")
    if not isinstance(layers, h5py.Group):
        return found
    for key in layers:
        group = layers.get(key)
        if not isinstance(group, h5py.Group):
            continue
        vars_group = group.get("vars")
        name = vars_group.attrs.get("name") if isinstance(vars_group, h5py.Group) else None
        if isinstance(name, bytes):
            name = name.decode("utf-8", errors="replace")
        found[str(name) if isinstance(name, str) else key] = f"layers/{key}"
    return found


def _stored_shapes(h5, group_path: str) -> list[tuple[int, ...]]:
    import h5py

    shapes: list[tuple[int, ...]] = []

    def visit(_name, item):
        if isinstance(item, h5py.Dataset):
            shapes.append(tuple(int(d) for d in item.shape))

    h5[group_path].visititems(visit)
    return shapes


def _open_error(shown: str, detail: str) -> ModelFileError:
    return ModelFileError(
        f"The initial weights file {shown} cannot be read ({detail}).", fix=FRESH_FIX
    )


def check_weights_file(path: str | os.PathLike, shown_name: str | None = None) -> Path:
    """The weights file as a checked ``Path``: a regular HDF5 file with no links out.
    Raises ``ModelFileError`` naming it and the fix (fresh initialisation)."""
    import h5py

    target = Path(path)
    shown = shown_name or target.name
    if not target.exists():
        raise ModelFileError(f"The initial weights file {shown} is missing.", fix=FRESH_FIX)
    from engine.modelfile import HDF5_SIGNATURE, _refuse_h5_links, check_regular_file

    try:
        check_regular_file(target)
        with open(target, "rb") as handle:
            head = handle.read(len(HDF5_SIGNATURE))
    except ModelFileError as error:
        raise _open_error(shown, _detail(error.message)) from error
    except OSError as error:
        raise _open_error(shown, error.strerror or str(error)) from error
    if head != HDF5_SIGNATURE:
        raise _open_error(shown, "it is not a Keras weights file")
    try:
        with h5py.File(target, "r") as h5:
            _refuse_h5_links(h5, shown)
    except ModelFileError as error:
        raise _open_error(shown, _detail(error.message)) from error
    except Exception as error:
        raise _open_error(shown, f"it is damaged: {_one_line(error)}") from error
    return target


def load_initial_weights(
    model, path: str | os.PathLike, *, shown_name: str | None = None
) -> WeightsReport:
    """Load the weights file at ``path`` into ``model`` (built) by layer name.

    Layers with weights whose name is in the file and whose stored shapes match are loaded;
    the others keep their fresh initialisation and are named in the report with the reason
    (a new layer, or shapes that changed). Layers whose loading fails are put back as they
    were. Raises ``ModelFileError`` only when the file itself is missing or unreadable.
    """
    import h5py
    from keras.src.saving import saving_lib

    target = check_weights_file(path, shown_name)
    shown = shown_name or target.name
    report = WeightsReport(file_name=shown)
    try:
        stored = stored_layers(target)
    except Exception as error:
        raise _open_error(shown, f"it is damaged: {_one_line(error)}") from error
    if not stored:
        raise _open_error(shown, "it holds no layers")
    layers = list(getattr(model, "layers", []))
    wanted = {layer.name for layer in layers}
    report.unused = [name for name in stored if name not in wanted]
    with h5py.File(target, "r") as h5:
        shapes = {}
        for name, group_path in stored.items():
            try:
                shapes[name] = _stored_shapes(h5, group_path)
            except Exception:
                shapes[name] = None
    store = saving_lib.H5IOStore(target, mode="r")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            for layer in layers:
                variables = list(layer.weights)
                if not variables:
                    continue
                if layer.name not in stored:
                    report.fresh.append((layer.name, "not in the weights file"))
                    continue
                why = _shape_problem(variables, shapes.get(layer.name))
                if why:
                    report.fresh.append((layer.name, why))
                    continue
                before = [variable.numpy() for variable in variables]
                failed: set = set()
                errors: dict = {}
                try:
                    saving_lib._load_state(
                        layer,
                        weights_store=store,
                        assets_store=None,
                        inner_path=stored[layer.name],
                        skip_mismatch=True,
                        visited_saveables=set(),
                        failed_saveables=failed,
                        error_msgs=errors,
                    )
                except Exception as error:
                    errors[id(layer)] = (layer, error)
                if failed or errors:
                    for variable, value in zip(variables, before, strict=True):
                        variable.assign(value)
                    report.fresh.append((layer.name, "its stored weights do not fit it"))
                else:
                    report.loaded.append(layer.name)
    finally:
        store.close()
    return report


def _shape_problem(variables: list, stored: list[tuple[int, ...]] | None) -> str | None:
    """Why the stored arrays cannot be this layer's weights, or None when they fit."""
    if stored is None:
        return "its stored weights cannot be read"
    wanted = sorted(tuple(int(d) for d in variable.shape) for variable in variables)
    have = sorted(stored)
    if wanted == have:
        return None
    own = sum(_size(shape) for shape in wanted)
    if sum(_size(shape) for shape in have) > _MAX_STORED_FACTOR * own + _MAX_STORED_SLACK:
        return "its stored weights are far bigger than the layer"
    if len(wanted) != len(have):
        return f"it has {len(wanted)} weight arrays, the file {len(have)}"
    changed = [
        f"{_shape_text(old)} → {_shape_text(new)}"
        for old, new in zip(have, wanted, strict=True)
        if old != new
    ]
    return "shapes changed: " + ", ".join(changed[:2])


def _size(shape: tuple[int, ...]) -> int:
    total = 1
    for dim in shape:
        total *= dim
    return total


def _shape_text(shape: tuple[int, ...]) -> str:
    return str(tuple(shape))


def weights_for_run(
    model, project: dict, project_path: str | os.PathLike | None, workdir: Path | None = None
) -> WeightsReport | None:
    """Load the project's initial weights into a freshly built ``model`` when the project
    has weights and ``fit.start_from`` is ``"weights"``; None when it starts fresh.

    A relative ``weights`` is found beside ``project_path`` (else in ``workdir``). Raises
    ``ModelFileError`` (the file is missing or unreadable: name and fix) and
    ``ProjectError`` when the model is not built yet (no input shape).
    """
    if start_from(project) != "weights":
        return None
    path = project_weights_path(project, project_path)
    if path is None and workdir is not None:
        path = Path(workdir) / str(project["weights"])
    if path is None:
        raise ModelFileError(
            f"The initial weights file {project['weights']} cannot be found: the project "
            "has not been saved.",
            fix=FRESH_FIX,
        )
    if not getattr(model, "built", False):
        raise ProjectError(
            "The initial weights cannot be loaded before the model has an input shape.",
            fix="Set the input shape (an Input layer first in the stack), or choose fresh "
            "initialisation.",
        )
    shown = Path(str(project["weights"])).name
    return load_initial_weights(model, path, shown_name=shown)


def _one_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _detail(message: str) -> str:
    """'Cannot open x.weights.h5: it is a folder.' → 'it is a folder'."""
    text = message.rstrip(".")
    if text.startswith("Cannot open ") and ": " in text:
        text = text.split(": ", 1)[1]
    return text


# --- what will not fit (shown while editing) -----------------------------------------------


def stored_parameter_counts(path: str | os.PathLike) -> dict[str, int]:
    """{layer name: number of stored values} in a ``.weights.h5`` file, read from the
    datasets' shapes only (h5py metadata: nothing is loaded); {} when it cannot be read.
    Cached by the file's path, size and modification time."""
    try:
        stat = os.stat(path)
    except OSError:
        return {}
    return dict(_stored_counts(str(path), stat.st_size, stat.st_mtime_ns))


@functools.lru_cache(maxsize=8)
def _stored_counts(path: str, _size_bytes: int, _mtime: int) -> tuple[tuple[str, int], ...]:
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            return tuple(
                (name, sum(_size(shape) for shape in _stored_shapes(h5, group)))
                for name, group in stored_layers_of(h5).items()
            )
    except (OSError, ValueError, KeyError):
        return ()


def misfit_layers(
    project: dict, project_path: str | os.PathLike | None, layer_params: dict[str, int]
) -> list[tuple[str, int, int]]:
    """The layers whose trained weights will not load into the model as it is now edited:
    ``(name, parameters now, parameters stored)`` for each layer with weights in both
    whose counts differ (an edited layer, or a dataset whose samples have another shape
    than the model was trained on). [] when the project starts fresh or has no weights."""
    if start_from(project) != "weights":
        return []
    path = project_weights_path(project, project_path)
    if path is None:
        return []
    stored = stored_parameter_counts(path)
    return [
        (name, int(now), stored[name])
        for name, now in layer_params.items()
        if name in stored and now and stored[name] and int(now) != stored[name]
    ]
