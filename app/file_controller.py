"""Files of the open document: New, Open, Save, Save As, recent files, templates, model files,
autosave and crash recovery.

``FileController`` is the only code that puts another project into the ``ProjectDocument``
(``document.set_project``); the document's ``reset`` signal then clears every view in one
place (``MainWindow._on_document_reset``). It asks before replacing unsaved work or a
running training run, and it never leaves the document pointing at a file it refused: a
project that fails validation (too new, corrupt) is not kept under its path, so Save can
never overwrite it.

Model files (``.h5``, ``.hdf5``, ``.keras``) load on a ``BackgroundTask``
(``engine.model_import.open_model_spec``: a linear functional model becomes a Sequential
stack); a model that cannot be edited as a stack (a branched functional model) is reported
and the current project stays as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QStandardPaths, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from app.file_menus import DEMO_PATH, FileMenus, template_title
from app.loader import BackgroundTask
from app.model_file_open import ModelFileOpener
from app.model_jobs import ask_to_stop
from app.project_guard import ProjectGuard
from app.recovery import RecoveryStore
from engine.errors import LayerLabError
from engine.project import PROJECT_SUFFIX, load_project, new_project, save_project

MODEL_SUFFIXES = (".h5", ".hdf5", ".keras")
OPENABLE_SUFFIXES = (PROJECT_SUFFIX, *MODEL_SUFFIXES)
UNTITLED = "untitled"


def default_recovery_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".layerlab") / "recovery"


class FileController(QObject):
    """New/Open/Save for ``window.document``. ``titleChanged`` fires when the display name
    (file name, template title or "Untitled") changes."""

    titleChanged = Signal()

    def __init__(self, window: Any, recovery_dir: Path):
        super().__init__(window)
        self.window = window
        self.document = window.document
        self.settings = window.settings
        self.recovery = RecoveryStore(recovery_dir)
        self.imported_name: str | None = None  # a template's or model file's name (unsaved)
        self.suggested_stem = UNTITLED
        self.pending_path: Path | None = None  # opened once Keras is loaded
        self._pending_template = False
        self._recovered_original: Path | None = None
        self._tasks: set[BackgroundTask] = set()
        # The open file's lock (no two LayerLabs edit it unawares) and watch (runs that a
        # CLI `train` records into it are merged, not wiped by our next save).
        self.guard = ProjectGuard(self)
        self.menus = FileMenus(self)
        self.model_files = ModelFileOpener(self)
        self.guard.changedOnDisk.connect(self._on_changed_on_disk)
        # This window's jobs that write the file (a search, a group): while one runs, the
        # file is not read back on each write (its runs arrive through its events).
        self.writers: list[Callable[[], bool]] = []

    @property
    def parent_widget(self) -> QWidget:
        return self.window

    def _status(self, text: str, ms: int = 4000) -> None:
        self.window.statusBar().showMessage(text, ms)

    # ------------------------------------------------------------------ naming
    def display_name(self) -> str:
        if self.document.path is not None:
            return self.document.path.name
        return f"{self.imported_name} (unsaved)" if self.imported_name else "Untitled"

    def _put(self, project: dict, path: Path | None, *, name: str | None, stem: str) -> None:
        """The one place another project enters the document. A project with a ``path``
        must already be guarded (``_guard``); any other releases the previous file."""
        if path is None or self.guard.path != path:
            self.guard.close()
        self.imported_name = name
        self.suggested_stem = stem
        self.document.set_project(project, path)
        self.titleChanged.emit()

    # ------------------------------------------------------------------ asking first
    def may_replace_project(self) -> bool:
        """Before New/Open: stop a running training run (asking first) and ask about unsaved
        changes; True when the current project may be replaced."""
        controller = self.window.controller
        if controller.is_running():
            question = "A training run is going. Stop it and open another project?"
            if not ask_to_stop(self.parent_widget, "Training is running", question):
                return False
            controller.shutdown()
        for flow in (getattr(self.window, "search", None), getattr(self.window, "groups", None)):
            if flow is not None and not flow.may_stop():  # a search or group: ask, stop
                return False
        return self.maybe_save()

    def maybe_save(self) -> bool:
        """Ask about unsaved changes; True when it is fine to continue."""
        if self.document.undo_stack.isClean():
            return True
        answer = ask_unsaved_changes(self.parent_widget, self.display_name())
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # ------------------------------------------------------------------ new / open
    def new_project(self) -> None:
        if not self.may_replace_project():
            return
        self._put(new_project(), None, name=None, stem=UNTITLED)
        self.window.select_layer(-1)

    def open_dialog(self) -> None:
        if not self.may_replace_project():
            return
        path, _filter = QFileDialog.getOpenFileName(
            self.parent_widget,
            "Open project or model",
            self.settings.last_folder(),
            "Projects and models (*.llproj *.h5 *.hdf5 *.keras);;LayerLab projects (*.llproj);;"
            "Keras models (*.h5 *.hdf5 *.keras);;All files (*)",
        )
        if path:
            self.open_path(Path(path), ask=False)

    def open_path(self, path: str | Path, *, ask: bool = True, as_template: bool = False) -> None:
        """Open a project, template or model file (model files load in the background)."""
        path = Path(path)
        if ask and not self.may_replace_project():
            return
        if not self.document.ready:
            self.pending_path = path
            self._pending_template = as_template
            self._preview_project(path, as_template)
            return
        if path.suffix.lower() in MODEL_SUFFIXES:
            self.model_files.open(path)
            return
        as_template = as_template or self._pending_template
        self._pending_template = False
        try:
            project = load_project(path)
        except LayerLabError as error:
            self._refused(path, str(error))
            return
        if path == self.recovery.project_file:
            original = self._recovered_original
            if original is not None and not self._guard(original, project):
                original = None  # another LayerLab has it open: recovered as unsaved work
            self._put(project, original, name=None if original else "recovered work", stem=UNTITLED)
            self.document.undo_stack.resetClean()
            self.titleChanged.emit()
        elif as_template:
            self._put(project, None, name=template_title(path), stem=path.stem)
        else:
            if not self._guard(path, project):
                return
            self._put(project, path, name=None, stem=path.stem)
            self.settings.add_recent_file(path)
            self.settings.set_last_folder(path.parent)
        self.window.select_layer(0 if self.document.layer_count() else -1)
        self._status(f"Opened {path.name}")

    def _guard(self, path: Path, project: dict) -> bool:
        """Lock and watch ``path`` before it is opened. When another LayerLab holds it, ask;
        read-only means Save goes to Save As. False: keep the current project."""
        previous = self.document.path
        if self.guard.open(path, project):
            return True
        answer = QMessageBox.question(
            self.parent_widget,
            "Project open elsewhere",
            self.guard.message(),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.guard.open_read_only(path, project)
            return True
        if previous is not None:  # the current project stays open, and guarded
            self.guard.open(previous, self.document.project)
        return False

    def _on_changed_on_disk(self, path: Path) -> None:
        """Another program (a CLI `train`) rewrote the open file: take in its new runs.

        Not while this window's own search or group writes it after each run: those runs
        come with its events, and the file is read once when it ends (reading it back on
        every trial held the GUI thread and said "changed on disk" of our own writes)."""
        if any(writing() for writing in self.writers):
            return
        runs = self.guard.merged_runs(self.document.project)
        if runs is None or runs == self.document.project.get("runs"):
            return
        added = len(runs) - len(self.document.project.get("runs") or [])
        self.document.replace_runs(runs, saved=True)
        self._status(
            f"{path.name} changed on disk: {added} new run(s) taken in."
            if added > 0
            else f"{path.name} changed on disk; its runs were taken in.",
            8000,
        )

    def _refused(self, path: Path, message: str) -> None:
        """A file that could not be opened: say why; a preview shown for it while Keras
        loaded is dropped, so nothing is ever saved over the refused file."""
        if self.document.path == path or self.imported_name == f"{path.name} (opening…)":
            self._put(new_project(), None, name=None, stem=UNTITLED)
        QMessageBox.warning(self.parent_widget, "Cannot open", message)

    def _preview_project(self, path: Path, as_template: bool = False) -> None:
        """Before Keras is loaded: show the file's layers from its JSON, without editing.

        The preview is not attached to the file (no path): until the real, validated open
        follows, Save cannot write over it."""
        self._status(f"Loading TensorFlow… then opening {path.name}", 0)
        if path.suffix.lower() != PROJECT_SUFFIX:
            return
        from engine.project import preview_project

        try:
            data = preview_project(path)
            layers = data["model"]["layers"]
        except (LayerLabError, KeyError, TypeError):
            return  # the validated open, once Keras is loaded, says what is wrong
        if isinstance(layers, list):
            preview = new_project()
            preview.update(
                {key: data[key] for key in ("model", "dataset", "compile", "fit") if key in data}
            )
            name = template_title(path) if as_template else f"{path.name} (opening…)"
            self._put(preview, None, name=name, stem=path.stem)

    def open_pending(self) -> None:
        """Keras is ready: open the file that was asked for while it loaded."""
        pending, self.pending_path = self.pending_path, None
        if pending is not None:
            self.open_path(pending, ask=False)

    # ------------------------------------------------------------------ save
    def save(self) -> bool:
        if self.document.path is None or self.guard.read_only:
            return self.save_as()
        return self.save_to(self.document.path)

    def save_as(self) -> bool:
        stem = self.document.path.stem if self.document.path else self.suggested_stem
        suggested = str(Path(self.settings.last_folder()) / f"{stem}{PROJECT_SUFFIX}")
        path, _filter = QFileDialog.getSaveFileName(
            self.parent_widget, "Save project", suggested, f"LayerLab projects (*{PROJECT_SUFFIX})"
        )
        if not path:
            return False
        path = Path(path)
        if path.suffix.lower() != PROJECT_SUFFIX:
            path = path.with_name(path.name + PROJECT_SUFFIX)
        return self.save_to(path)

    def save_to(self, path: Path) -> bool:
        from engine.runs import place_run_files

        problem = self.guard.prepare_save(path)
        if problem:
            QMessageBox.warning(self.parent_widget, "Cannot save", problem)
            return False
        merged = self.guard.merged_runs(self.document.project) if path == self.guard.path else None
        if merged is not None:
            self.document.replace_runs(merged)  # runs a CLI recorded meanwhile stay
        try:
            project = self.document.project
            if project.get("runs") or project.get("weights"):
                # the runs' weights and the project's initial weights go beside it
                project = place_run_files(project, path, self.document.path)
            if project.get("embeddings"):
                from engine.embeddings import embeddings_for_save

                # word-vector files are stored relative to where the project now is
                project = embeddings_for_save(project, path, self.document.path)
            save_project(project, path)
            self.document.project["runs"] = project.get("runs", [])
            for key in ("weights", "embeddings"):
                if project.get(key):
                    self.document.project[key] = project[key]
            self.guard.saved(path, self.document.project)
        except (LayerLabError, OSError) as error:
            QMessageBox.warning(self.parent_widget, "Cannot save", _save_message(path, error))
            return False
        self.imported_name = None
        self.document.set_path(path)
        self.document.undo_stack.setClean()
        self.settings.add_recent_file(path)
        self.settings.set_last_folder(path.parent)
        self.recovery.clear()
        self.titleChanged.emit()
        self._status(f"Saved {path}")
        return True

    # ------------------------------------------------------------------ start-up
    def open_first(self, path: str | Path | None) -> None:
        """At launch: ``path``, else recovered work, the last file, or the demo."""
        target = Path(path) if path else None
        if target is None and not self.offer_recovery():
            recent = self.settings.recent_files()
            if self.settings.first_launch() or not recent:
                self.open_path(DEMO_PATH, as_template=True)
            else:
                target = Path(recent[0])
        self.settings.mark_launched()
        if target is not None:
            self.open_path(target)

    # ------------------------------------------------------------------ autosave / recovery
    def autosave(self) -> bool:
        """Write unsaved work to the recovery file (True when something was written)."""
        if self.document.undo_stack.isClean():
            return False
        try:
            self.recovery.write(self.document.project, self.document.path)
        except (OSError, LayerLabError) as error:
            self._status(f"Autosave failed: {error}", 8000)
            return False
        return True

    def offer_recovery(self) -> bool:
        """Offer the autosave left by a crash; True when it was restored."""
        if not self.recovery.exists():
            return False
        original = self.recovery.original_path()
        answer = QMessageBox.question(
            self.parent_widget,
            "Recover unsaved work?",
            "LayerLab did not close normally last time. Restore the unsaved changes"
            + (f" to {original.name}" if original else "")
            + "?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer != QMessageBox.StandardButton.Yes:
            self.recovery.clear()
            return False
        self.pending_path = self.recovery.project_file
        self._recovered_original = original
        self._preview_project(self.recovery.project_file)
        return True

    # ------------------------------------------------------------------ background tasks
    def start_task(self, task: BackgroundTask) -> None:
        self._tasks.add(task)
        task.start()

    def forget_task(self, task) -> None:
        self._tasks.discard(task)
        if task is not None:
            task.deleteLater()

    def shutdown(self) -> None:
        """Wait for file tasks; the window is closing normally, so drop the autosave and
        release the open file."""
        for task in list(self._tasks):
            task.wait()
        self.recovery.clear()
        self.guard.close()


def ask_unsaved_changes(parent: QWidget, name: str) -> QMessageBox.StandardButton:
    """Ask whether to save ``name`` first: Save, Discard or Cancel. The buttons carry
    mnemonics (Alt+S saves, Alt+D discards; Esc cancels), and Save is the default."""
    box = QMessageBox(
        QMessageBox.Icon.Question,
        "Unsaved changes",
        f"Save the changes to {name} before closing it?",
        QMessageBox.StandardButton.Save
        | QMessageBox.StandardButton.Discard
        | QMessageBox.StandardButton.Cancel,
        parent,
    )
    box.setObjectName("unsavedChangesDialog")
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    box.setEscapeButton(QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Save).setText("&Save")
    box.button(QMessageBox.StandardButton.Discard).setText("&Discard")
    box.button(QMessageBox.StandardButton.Cancel).setText("Cancel")
    return QMessageBox.StandardButton(box.exec())


def _save_message(path: Path, error: Exception) -> str:
    """A save failure in words that name the user's file, never a temp path or a class."""
    if isinstance(error, LayerLabError):
        text = str(error)
        return text if path.name in text else f"Cannot save {path.name}: {text}"
    reason = getattr(error, "strerror", None) or str(error)
    return (
        f"Cannot save {path.name} in {path.parent}: {reason.rstrip('.')}. "
        "Choose another folder with Save As, or free some space."
    )
