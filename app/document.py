"""The open document: the project, the dataset's input signature, the undo stack.

``ProjectDocument`` is the window's one source of truth. It owns the project dict, a
``QUndoStack``, the dataset's *input signature* (the sample shape the dataset gives the
model) and the latest shape analysis. Views keep no copies: they redraw from the document
when it notifies them.

Notifications:

- ``reset()`` — another project was put in place (New, Open, a template, a model file, a
  recovery). Every view that shows something of the previous document clears itself on
  this one signal; ``changed`` with every section follows.
- ``changed(sections)`` — a frozenset of section names (``model``, ``dataset``, ``compile``,
  ``fit``, ``runs``) whose content changed, plus ``signature`` when the dataset's input
  signature changed (the stack's shapes and counts then change too). A dataset change
  re-probes the input signature at once (``engine.datasets.probe``: header columns, options,
  known shapes; no loading), so the stack's input row and parameter counts follow the
  dataset without a preview.

The input signature wins over the model's own ``InputLayer``, exactly as in training
(``engine.training`` builds the model with the dataset's shape), so the counts on screen are
the counts that will train. Every edit goes through ``edit`` as a ``ProjectEdit`` command;
commands call back ``apply_sections``. The layer-stack edits (insert, remove, move, set a
parameter, …) are ``app.layer_edits.LayerEditing``, mixed in. Model edits use ``engine.spec``
(imported lazily: it needs Keras, which loads in the background); until ``set_catalog`` is
called, layer edits are refused and rows show class names only.

A functional model (``is_functional``: the project's model is ``keras.Model.get_config()``
of a model with branches) is read-only: it has no stack (``layer_count()`` is 0), every edit
is refused with ``engine.spec``'s plain message (nothing is pushed on the undo stack), and
a dataset never rewrites its input layer; a dataset whose samples do not fit its input is
the analysis error (``stack_error``).
"""

from __future__ import annotations

import contextlib
import copy
import time
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoStack

from app.commands import ProjectEdit
from app.layer_edits import LayerEditing
from app.stack_rows import stack_error, stack_rows, stack_totals
from engine.errors import LayerLabError
from widgets.stack_model import StackRow


class ProjectDocument(LayerEditing, QObject):
    """The project being edited. ``changed`` carries the set of section names that changed."""

    reset = Signal()
    changed = Signal(object)
    selectRequested = Signal(int)
    problem = Signal(str)
    pathChanged = Signal(object)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        from engine.project import new_project

        self.project: dict = new_project()
        self.path: Path | None = None
        self.undo_stack = QUndoStack(self)
        self.undo_stack.setUndoLimit(500)
        self.analysis: Any = None
        self.analysis_ms = 0.0
        self.input_signature: tuple | None = None
        self.target_shape: tuple | None = None  # one example's label shape, when known
        self._probed_target: tuple | None = None
        self.signature_note = ""  # where the signature came from, or why it is unknown
        self.generation = 0  # increases each time another project is opened
        self._catalog: Any = None
        self._spec: Any = None

    # Set-up -----------------------------------------------------------------------
    def set_catalog(self, catalog_module: Any) -> None:
        """Keras is loaded: enable layer edits and shape analysis."""
        from engine import spec

        self._catalog = catalog_module
        self._spec = spec
        self._probe_signature()
        self._analyse()
        self.changed.emit(frozenset({"model", "signature"}))

    @property
    def ready(self) -> bool:
        return self._spec is not None

    @property
    def is_functional(self) -> bool:
        """The model is a functional config (read-only; drawn in the Graph tab)."""
        model = self.project.get("model")
        return isinstance(model, dict) and "input_layers" in model

    def set_project(self, project: dict, path: Path | None) -> None:
        """Open ``project`` (already validated); the undo history starts afresh."""
        self.project = copy.deepcopy(project)
        self.path = Path(path) if path is not None else None
        self.generation += 1
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self._probe_signature()
        self._analyse()
        self.reset.emit()
        self.pathChanged.emit(self.path)
        self.changed.emit(frozenset({"model", "signature", "dataset", "compile", "fit", "runs"}))

    def set_path(self, path: Path) -> None:
        self.path = Path(path)
        self.pathChanged.emit(self.path)

    @property
    def dataset_input_shape(self) -> tuple | None:
        """The dataset's sample shape (without batch), or None while it is unknown."""
        return self.input_signature

    def set_dataset_input_shape(self, shape: tuple | None, block: dict | None = None) -> None:
        """A loaded dataset's sample shape (without batch); the input row follows it.

        ``block`` is the dataset block it was loaded from: a result for a block that is no
        longer the project's (the user changed the dataset meanwhile) is ignored."""
        if block is not None and block != self.project.get("dataset"):
            return
        shape = tuple(shape) if shape is not None else None
        if shape == self.input_signature:
            return
        self.input_signature = shape
        self.signature_note = "from the loaded dataset"
        self._analyse()
        self.changed.emit(frozenset({"signature"}))

    # Commands ----------------------------------------------------------------------
    def apply_sections(self, sections: dict[str, Any], select: int | None) -> None:
        """Called by undo commands: put ``sections`` into the project."""
        self.project.update(sections)
        changed = set(sections)
        if "dataset" in sections:
            before = self.input_signature
            self._probe_signature()
            if self.input_signature != before:
                changed.add("signature")
        if {"model", "signature"} & changed:
            self._analyse()
        self.changed.emit(frozenset(changed))
        if select is not None:
            self.selectRequested.emit(select)

    def edit(
        self,
        text: str,
        after: dict[str, Any],
        *,
        merge_key: Hashable | None = None,
        select_before: int | None = None,
        select_after: int | None = None,
    ) -> None:
        """Push one undoable edit replacing the given sections."""
        before = {key: copy.deepcopy(self.project.get(key)) for key in after}
        if before == after:
            return
        self.undo_stack.push(
            ProjectEdit(
                self,
                text,
                before,
                after,
                merge_key=merge_key,
                select_before=select_before,
                select_after=select_after,
            )
        )

    # Other sections --------------------------------------------------------------------
    def set_dataset(self, block: dict) -> None:
        """Change the dataset; a model that fixes its own input shape follows the new
        dataset's signature in the same undo step (its InputLayer is dropped when the new
        signature is unknown until loading, so no old shape stays on screen)."""
        if block == self.project.get("dataset"):
            return
        after: dict[str, Any] = {"dataset": copy.deepcopy(block)}
        shape = self._probe(block)
        model = self.project.get("model")
        if (
            self.ready
            and not self.is_functional  # its input is never rewritten (analysis says a misfit)
            and self.spec_input_shape() not in (None, shape)
        ):
            # The model's own input belonged to the old dataset: it takes the new one's
            # shape, or is dropped while the new shape cannot be known before loading.
            with contextlib.suppress(LayerLabError):
                after["model"] = self._spec.set_input_shape(
                    model, list(shape) if shape is not None else None
                )
        self.edit("Change dataset", after, merge_key=None)

    def set_training(self, compile_block: dict, fit_block: dict) -> None:
        """Replace the compile and fit blocks; successive edits of the same settings (a
        spin box stepping the learning rate) merge into one undo step."""
        changed = sorted(
            f"{section}.{key}"
            for section, new in (("compile", compile_block), ("fit", fit_block))
            for key in set(new) | set(self.project.get(section, {}))
            if new.get(key) != self.project.get(section, {}).get(key)
        )
        label = changed[0].split(".", 1)[1].replace("_", " ") if len(changed) == 1 else "training"
        self.edit(
            f"Change {label} settings" if label == "training" else f"Change {label}",
            {"compile": copy.deepcopy(compile_block), "fit": copy.deepcopy(fit_block)},
            merge_key=("training", *changed),
        )

    def replace_runs(self, runs: list[dict], *, saved: bool = False) -> None:
        """Runs recorded, renamed or deleted: not an undo step (their files already changed),
        but the project is modified until saved. ``saved``: the runs were merged from the
        project file (a search, a group or a CLI ``train`` wrote them there): a document that
        matched its file still does (Start search asked to save again after every search).

        Runs that are already the document's own (the same objects, as ``merge_runs`` keeps
        them) are kept as they are; only the others are copied, so a search adding one run
        to a hundred copies one."""
        own = {id(run) for run in self.project.get("runs") or []}
        self.project["runs"] = [run if id(run) in own else copy.deepcopy(run) for run in runs]
        if not (saved and self.undo_stack.isClean()):
            self.undo_stack.resetClean()
        self.changed.emit(frozenset({"runs"}))

    # Display ----------------------------------------------------------------------------
    def stack_rows(self) -> list[StackRow]:
        """The input row and one row per body layer, from the latest analysis."""
        return stack_rows(self)

    def stack_error(self) -> str | None:
        """The line under the stack: why the model does not build, or which trained
        layers no longer fit (``app.stack_rows.stack_error``)."""
        return stack_error(self)

    def totals(self) -> tuple[int | None, int | None]:
        """(total, trainable) parameters, or Nones while unknown."""
        return stack_totals(self)

    def spec_input_shape(self) -> tuple | None:
        """The shape the model itself fixes (its InputLayer), or None."""
        if self._spec is None:
            return None
        shape = self._spec.input_shape(self.project["model"])
        return tuple(shape) if shape is not None else None

    def input_shape(self) -> tuple | None:
        """The shape the model trains with: the dataset's signature when it is known (as in
        ``engine.training``), else the model's own InputLayer. A functional model's input is
        never rewritten: its own shape (a dataset that does not fit it is ``stack_error``)."""
        if self.is_functional:
            return self.spec_input_shape()
        if self.input_signature is not None:
            return self.input_signature
        return self.spec_input_shape()

    # Internals ---------------------------------------------------------------------------
    @property
    def catalog(self) -> Any:
        """``engine.catalog`` once Keras is loaded, else None."""
        return self._catalog

    def body(self) -> list[dict]:
        """The model's layers without the InputLayer."""
        return self._body()

    def _body(self) -> list[dict]:
        if self.is_functional:
            return []  # no stack: the layers are a graph
        layers = self.project.get("model", {}).get("layers", [])
        if layers and layers[0].get("class_name") == "InputLayer":
            return layers[1:]
        return layers

    def _class_at(self, index: int) -> str:
        body = self._body()
        return body[index].get("class_name", "layer") if 0 <= index < len(body) else "layer"

    def _analyse(self) -> None:
        if self._spec is None:
            self.analysis = None
            return
        started = time.perf_counter()
        shape = self.input_signature  # None: the model's own InputLayer, as in training
        if shape is None and self.spec_input_shape() is None and not self.is_functional:
            # Not an error: the dataset gives the shape when it loads (training does that),
            # so until then there are no shapes or counts to show.
            self.analysis = None
            self.analysis_ms = 0.0
            return
        try:
            self.analysis = self._spec.analyse(
                self.project["model"], input_shape=shape, target_shape=self.target_shape
            )
        except LayerLabError as error:
            self.analysis = None
            self.problem.emit(str(error))
        self.analysis_ms = (time.perf_counter() - started) * 1000

    def _probe_signature(self) -> None:
        """Read the dataset's input signature from its metadata (no loading; needs Keras's
        import to be done because ``engine.datasets`` imports it)."""
        if self._spec is None:
            self.input_signature, self.signature_note, self.target_shape = None, "", None
            return
        self.input_signature = self._probe(self.project.get("dataset"))
        self.target_shape = self._probed_target if self.input_signature is not None else None

    def _probe(self, block: Any) -> tuple | None:
        """The input shape ``block`` gives (None when unknown; ``signature_note`` says why)."""
        if self._spec is None:
            return None
        from engine.datasets.probe import input_signature

        validation_split = (self.project.get("fit") or {}).get("validation_split") or 0.0
        probe = input_signature(copy.deepcopy(block or {}), validation_split)
        shape = probe.input_shape
        self._probed_target = probe.target_shape
        self.signature_note = probe.reason or ("" if shape is None else "from the dataset")
        return tuple(shape) if shape is not None else None
