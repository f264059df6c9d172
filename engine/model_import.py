"""A model file's model as the project's model: a Sequential spec, a functional config, or a
plain refusal.

``project_spec(model, file_name)`` turns a loaded Keras model into the config a project
holds: a Sequential model as it is; a functional model whose layers form one chain
(input → layer → layer → output, each layer used once) rewritten as the same Sequential stack;
any other functional model (branches, several inputs or outputs, shared layers, models inside
the model) as its own ``get_config()``, validated (``engine.spec.is_functional``: shown
read-only, see ``engine.functional``); a model without such a config is refused with a
``ModelFileError``. It never returns None: a project whose model is ``null`` would not reopen.

``open_model_spec(path)`` loads the file (``engine.modelfile.load_model_file``: allowlist,
size and safety checks) and returns ``project_spec`` of it.

``import_model_file(path)`` opens a file for a project and keeps what the user cares about
(an ``ImportedModel``: the model with its trained weights, the file's compile settings
translated, notes); ``write_import`` writes it as an editable project with its initial
weights (``<stem>.weights.h5``) and the model as an "imported" run (``python main.py
import``); ``imported_project`` builds the same project without writing it (the window).
"""

from __future__ import annotations

import contextlib
import copy
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine import catalog as cat
from engine import spec as S
from engine.dataset_guess import guess_dataset
from engine.errors import LayerLabError, ModelFileError

_MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})


def open_model_spec(path: str | os.PathLike) -> dict:
    """The project model (a Sequential spec) of the model file at ``path``."""
    from engine.modelfile import load_model_file

    loaded = load_model_file(path)
    return project_spec(loaded.model, Path(path).name)


def project_spec(model: Any, file_name: str) -> dict:
    """The project model of a loaded Keras model: a Sequential spec for a Sequential model or
    a functional chain; the functional config itself (``engine.spec.is_functional``, shown
    read-only) for a model with branches or with models inside it; ModelFileError for
    anything else."""
    import keras

    if isinstance(model, keras.Sequential) and any(
        isinstance(layer, keras.Model) for layer in model.layers
    ):
        # models inside a stack (a Teachable Machine export: MobileNet in a Sequential):
        # shown read-only as the functional model with the same layers
        wrapped = keras.Model(model.inputs, model.outputs, name=model.name)
        spec = cat.to_json(wrapped.get_config())
    elif isinstance(model, keras.Sequential):
        spec = cat.to_json(model.get_config())
    else:
        try:
            config = cat.to_json(model.get_config())
        except Exception as error:
            raise ModelFileError(
                f"The model in {file_name} ({type(model).__name__}) has no config LayerLab can "
                "read; LayerLab edits Sequential models.",
                fix="Save the model as a keras.Sequential stack.",
            ) from error
        chain = _chain(config)
        if isinstance(chain, str) and S.is_functional(config):
            # Branches, merges, several inputs/outputs, shared layers, nested models: the
            # project holds the functional config itself, shown read-only (engine.functional).
            chain = None
            spec = config
        elif isinstance(chain, str):
            raise ModelFileError(
                f"{_file(file_name)} is a functional model with branches ({chain}); LayerLab "
                f"edits Sequential models. Its summary: {_summary(model)}.",
                fix=(
                    f"Rebuild it as one stack of layers, or see it with `python main.py summary "
                    f"{file_name}`."
                ),
            )
        if chain is not None:
            spec = _sequential(config, chain)
    try:
        S.validate_spec(spec)
    except LayerLabError as error:
        verb = "opened" if S.is_functional(spec) else "edited"
        raise ModelFileError(
            f"The model in {file_name} cannot be {verb}: {error.message}", field=error.field
        ) from error
    if S.is_functional(spec):
        # Work out its shapes now (a second for a ResNet50), off the GUI thread when the
        # window opens a file: the window's own analysis then finds them in the cache.
        S.analyse(spec)
    return spec


def _file(file_name: str) -> str:
    return f"The file {file_name}"


def _summary(model: Any) -> str:
    layers = [
        layer for layer in getattr(model, "layers", []) if type(layer).__name__ != "InputLayer"
    ]
    try:
        params = f"{int(model.count_params()):,} parameters"
    except Exception:
        params = "parameters not counted (not built)"
    names = ", ".join(f"{type(layer).__name__} '{layer.name}'" for layer in layers[:6])
    more = f", … ({len(layers) - 6} more)" if len(layers) > 6 else ""
    return f"{len(layers)} layers ({names}{more}), {params}"


def _refs(value: Any) -> list[str]:
    """Layer names of a functional config's ``input_layers``/``output_layers``."""
    if not isinstance(value, list) or not value:
        return []
    if isinstance(value[0], str):  # one tensor: [name, node, index]
        return [value[0]]
    return [ref[0] for ref in value if isinstance(ref, list) and ref and isinstance(ref[0], str)]


def _tensors(node: Any) -> list[dict]:
    """Every Keras tensor reference in a node's args/kwargs (nested lists and dicts)."""
    found: list[dict] = []
    if isinstance(node, dict):
        if node.get("class_name") == "__keras_tensor__":
            return [node]
        for value in node.values():
            found.extend(_tensors(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_tensors(value))
    return found


def _source(tensor: dict) -> str | None:
    history = tensor.get("config", {}).get("keras_history")
    return history[0] if isinstance(history, list) and history else None


def _chain(config: dict) -> list[dict] | str:
    """The layer entries from input to output when the model is one chain, else the reason."""
    layers = config.get("layers")
    if not isinstance(layers, list) or not layers:
        return "no layers found in its config"
    inputs, outputs = _refs(config.get("input_layers")), _refs(config.get("output_layers"))
    if len(inputs) != 1:
        return f"it has {len(inputs)} inputs"
    if len(outputs) != 1:
        return f"it has {len(outputs)} outputs"
    by_name = {entry.get("name"): entry for entry in layers if isinstance(entry, dict)}
    feeds: dict[str, list[str]] = {}
    for entry in layers:
        name = entry.get("name")
        if entry.get("class_name") == "InputLayer":
            continue
        if entry.get("class_name") in _MODEL_CLASSES:
            return f"layer {name} is a whole model inside the model"
        nodes = entry.get("inbound_nodes") or []
        if len(nodes) != 1:
            return f"layer {name} is used {len(nodes)} times"
        sources = [_source(t) for t in _tensors(nodes[0])]
        if len(sources) != 1:
            return f"layer {name} takes {len(sources)} inputs"
        feeds.setdefault(sources[0], []).append(name)
    for source, targets in feeds.items():
        if len(targets) > 1:
            return (
                f"the output of layer {source} goes to {len(targets)} layers: {', '.join(targets)}"
            )
    chain, current = [], inputs[0]
    if by_name.get(current, {}).get("class_name") != "InputLayer":
        return f"its input {current} is not an input layer"
    chain.append(by_name[current])
    while current in feeds:
        current = feeds[current][0]
        chain.append(by_name[current])
    if current != outputs[0]:
        return f"its output {outputs[0]} is not at the end of one chain of layers"
    if len(chain) != len(by_name):
        unused = [name for name in by_name if name not in {e.get("name") for e in chain}]
        return f"layer {unused[0]} is not on the path from the input to the output"
    return chain


def _sequential(config: dict, chain: list[dict]) -> dict:
    """A Sequential config (as ``keras.Sequential.get_config()`` writes it) of ``chain``."""
    entries = []
    for entry in chain:
        entries.append({k: v for k, v in entry.items() if k not in ("name", "inbound_nodes")})
    spec = S.new_spec(name=str(config.get("name") or "sequential"))
    spec["layers"] = entries
    batch_shape = entries[0].get("config", {}).get("batch_shape")
    if isinstance(batch_shape, list):
        spec["build_input_shape"] = batch_shape
    if "trainable" in config:
        spec["trainable"] = config["trainable"]
    return spec


# --- importing a model file as a project ---------------------------------------------------


@dataclass
class ImportedModel:
    """A model file opened for a project (``import_model_file``).

    ``spec``: the project's model (a Sequential config, or a functional config shown
    read-only: ``functional``). ``compile``: the file's compile settings translated into a
    compile block (``engine.compiling.compile_from_training_config``), or None when the file
    has none or they cannot be used (``compile_note`` says which; ``compile_for`` then
    suggests one). ``model``: the loaded Keras model with the file's weights.
    ``weights_loaded``: whether it carries the file's trained weights. ``note``: plain lines
    for the log (legacy rewrites applied, weights, where the compile settings come from).
    """

    file_name: str
    spec: dict
    compile: dict | None
    compile_note: str
    model: Any
    weights_loaded: bool
    note: list[str] = field(default_factory=list)
    functional: bool = False


def import_model_file(path: str | os.PathLike) -> ImportedModel:
    """Open the model file at ``path`` (``engine.modelfile.load_model_file``: every safety
    check, Keras 2 rewrites) for a project. Raises ``ModelFileError`` (a plain sentence
    naming the file) when it cannot be opened or used as a project's model."""
    from engine.compiling import compile_from_training_config
    from engine.modelfile import load_model_file

    name = Path(path).name
    loaded = load_model_file(path)
    spec = project_spec(loaded.model, name)
    weights_loaded = bool(getattr(loaded, "weights_loaded", True))
    block, compile_note = compile_from_training_config(getattr(loaded, "training_config", None))
    notes = [str(line) for line in (getattr(loaded, "rewrites", None) or [])]
    version = getattr(loaded, "keras_version", None)
    if notes and version:
        notes.insert(0, f"{name} was written by Keras {version}; translated for Keras 3:")
    try:
        params = f"{int(loaded.model.count_params()):,} parameters"
    except Exception:
        params = "parameters not counted"
    if weights_loaded:
        notes.append(f"Weights: the file's trained weights ({params}).")
    else:
        notes.append(f"Weights: {name} holds none; the layers start freshly initialised.")
    functional = S.is_functional(spec) if hasattr(S, "is_functional") else "input_layers" in spec
    if functional:
        notes.append(
            f"{name} is a functional model: it is shown read-only (summary, evaluation, "
            "predictions and export work; editing branches is not available yet)."
        )
    imported = ImportedModel(
        file_name=name,
        spec=spec,
        compile=block,
        compile_note=compile_note,
        model=loaded.model,
        weights_loaded=weights_loaded,
        note=notes,
        functional=functional,
    )
    if block is None:  # say what Suggest picks without a dataset (the window says its own)
        compile_note = compile_for(imported)[1]
    notes.insert(len(notes) - (1 if functional else 0), compile_note)
    return imported


def compile_for(imported: ImportedModel, dataset: Any = None) -> tuple[dict, str]:
    """The compile block for an imported model and the note saying where it came from: the
    file's own settings, else Suggest's from ``dataset`` (a loaded ``engine.datasets``
    Dataset) or, without one, from the model's output layer."""
    from engine.compiling import suggest_compile

    if imported.compile is not None:
        return copy.deepcopy(imported.compile), imported.compile_note
    block, note = suggest_compile(imported.model, dataset)
    suggested = note.replace("The file has no compile settings: ", "")
    return block, f"{imported.compile_note} {suggested}"


def import_notes(imported: ImportedModel, dataset: Any = None) -> list[str]:
    """The lines to log for ``imported`` when its project is made with ``dataset`` (a
    loaded Dataset): ``imported.note`` with the compile line saying what Suggest chose for
    that dataset when the file had no usable compile settings."""
    if imported.compile is not None or dataset is None or isinstance(dataset, dict):
        return list(imported.note)
    without = compile_for(imported)[1]
    with_dataset = compile_for(imported, dataset)[1]
    return [with_dataset if line == without else line for line in imported.note]


def dataset_note(imported: ImportedModel) -> str:
    """The log line saying which dataset an opened model's project starts with and why."""
    block, why = guess_dataset(imported.spec)
    if block is None:
        return (
            f"Dataset: the sample digits set ({why}); choose the dataset {imported.file_name} "
            "was trained on in the Dataset panel, or its first layers' trained weights will "
            "not fit."
        )
    return f"Dataset: guessed from the model, {why}; change it in the Dataset panel if needed."


def imported_project(
    imported: ImportedModel,
    project_path: str | os.PathLike | None,
    *,
    dataset: Any = None,
) -> dict:
    """The project for ``imported`` (not written): its model, compile settings (see
    ``compile_for``), the dataset (a dataset block, or a loaded Dataset whose ``block`` is
    used; default: the sample digits), the file's weights as the project's initial weights
    (``<stem>.weights.h5`` beside ``project_path``, or in a temporary folder when None) and
    the model as an imported run. Writes the two weights files; raises ``LayerLabError``."""
    from engine.project import new_project, validate_project
    from engine.project_weights import set_project_weights
    from engine.runs import imported_run

    project = new_project()
    project["model"] = copy.deepcopy(imported.spec)
    block = dataset if isinstance(dataset, dict) else getattr(dataset, "block", None)
    if dataset is None:
        block, _why = guess_dataset(imported.spec)
    if isinstance(block, dict):
        project["dataset"] = copy.deepcopy(block)
    loaded_dataset = None if isinstance(dataset, dict) else dataset
    project["compile"], _note = compile_for(imported, loaded_dataset)
    if imported.weights_loaded:
        project = set_project_weights(
            project, imported.model, project_path, stem=Path(imported.file_name).stem
        )
    project, _run = imported_run(project, imported.model, imported.file_name, project_path)
    return validate_project(project)


def write_import(
    imported: ImportedModel, project_path: str | os.PathLike, *, dataset: Any = None
) -> dict:
    """Write the editable project for ``imported`` to ``project_path`` (atomically), its
    initial weights as ``<stem>.weights.h5`` beside it and the imported run's model in
    ``runs/``; returns the project. Files written before a failure are removed again.
    Raises ``LayerLabError`` (disk problems name the file)."""
    from engine.project import save_project
    from engine.project_weights import project_weights_path
    from engine.runs import weights_path

    target = Path(project_path)
    written: list[Path] = []
    try:
        project = imported_project(imported, target, dataset=dataset)
        weights = project_weights_path(project, target)
        written += [weights] if weights is not None else []
        written += [
            path for run in project.get("runs") or [] if (path := weights_path(target, run))
        ]
        save_project(project, target)
    except BaseException:
        for path in written:
            with contextlib.suppress(OSError):
                path.unlink()
        raise
    return project
