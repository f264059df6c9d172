"""The builder window: it assembles widgets, docks, menus and the status bar, and delegates.

Who owns what:

- ``ProjectDocument`` (``app.document``): the project, the dataset's input signature, the
  undo stack; views redraw from its ``changed(sections)`` and clear on its ``reset``.
- ``FileController``: New/Open/Save/recent/templates/model files/autosave/recovery.
- ``DatasetFlow``: dataset panel edits, previews, "Suggest output layer…".
- ``TrainingFlow``: Train/Pause/Stop, live events, recording runs, the Runs panel, export.
- ``SummaryTab``: Keras's summary of the current model.
- ``GraphTab``: the current model's layer graph (a functional model is shown there).
- ``WeightsTab``: the selected run's weights over time (``fit.record_weights``).

The window itself only builds the widgets, routes document notifications to views
(``_on_document_changed``, ``_on_document_reset`` — the one place every view is reset when
another project is opened) and handles the stack's editing gestures. TensorFlow never runs
in the GUI thread: Keras is imported by ``KerasLoader``.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import QMainWindow, QMessageBox

from app.dataset_flow import DatasetFlow
from app.document import ProjectDocument
from app.file_controller import OPENABLE_SUFFIXES, FileController, default_recovery_dir
from app.graph_tab import GraphTab
from app.group_flow import GroupFlow
from app.loader import KerasLoader, LoadedCatalog
from app.search_flow import SearchFlow
from app.settings import AppSettings
from app.stack_rows import FUNCTIONAL_NOTICE, cost_total, format_shape
from app.summary_tab import SummaryTab
from app.training_flow import TrainingFlow
from app.weights_tab import WeightsTab
from app.window_layout import ICON_DIR, WindowLayout, category_icon
from engine.errors import LayerLabError

AUTOSAVE_MS = 120_000


class MainWindow(QMainWindow):
    """LayerLab's one window. ``start(path)`` opens the first project and loads Keras;
    ``catalogReady`` fires once the palette is filled and layer edits work."""

    catalogReady = Signal(object)

    def __init__(
        self,
        settings: AppSettings | None = None,
        *,
        recovery_dir: Path | None = None,
        autosave_ms: int = AUTOSAVE_MS,
        controller: Any = None,
    ):
        super().__init__()
        from PySide6.QtWidgets import QApplication

        from app import gc_guard

        gc_guard.install(QApplication.instance())  # worker threads never collect Qt objects
        from app.training_controller import TrainingController

        self.setObjectName("mainWindow")
        self.settings = settings or AppSettings()
        self.document = ProjectDocument(self)
        self.loader = KerasLoader(self)
        self.controller = controller or TrainingController(self)
        self.catalog: LoadedCatalog | None = None
        self.catalog_module: Any = None
        self.launch_seconds: float | None = None
        self.launch_clock: float | None = None  # perf_counter() at process start, if known
        self._closing_confirmed = False

        self.setWindowIcon(QIcon(str(ICON_DIR / "layerlab.svg")))
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self.layout_builder = WindowLayout(self)
        self.layout_builder.build_widgets()
        self.files = FileController(self, Path(recovery_dir or default_recovery_dir()))
        self.dataset_flow = DatasetFlow(self)
        self.dataset_controller = self.dataset_flow.controller
        self.layout_builder.build_actions()
        self.training = TrainingFlow(self)
        self.search = SearchFlow(self)  # the Search tab, Training › Search Hyperparameters…
        self.groups = GroupFlow(self)  # Training › Repeat with N Seeds… / K-fold…
        self.summary = SummaryTab(self)
        self.graph = GraphTab(self)  # the Graph tab follows the document itself
        self.weights = WeightsTab(self)  # the selected run's weights over time
        self.layout_builder.build_menus()
        self._connect()
        self.layout_builder.fit_to_screen(1280, 800)
        self.layout_builder.restore()

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(autosave_ms)
        self.autosave_timer.timeout.connect(self.files.autosave)
        self.autosave_timer.start()
        self._update_title()

    def _connect(self) -> None:
        document = self.document
        document.reset.connect(self._on_document_reset)
        document.changed.connect(self._on_document_changed)
        document.selectRequested.connect(self.select_layer)
        document.problem.connect(self.show_problem)
        document.pathChanged.connect(self._on_path_changed)
        document.undo_stack.cleanChanged.connect(self._update_title)
        self.files.titleChanged.connect(self._update_title)

        self.palette.layerActivated.connect(self.append_layer)
        self.palette.layerAddedByKeyboard.connect(self._focus_stack)
        self.stack_model.insertRequested.connect(self._on_insert_requested)
        self.stack_model.moveRequested.connect(document.move_layer)
        self.stack_model.trainableToggled.connect(
            lambda index, trainable: document.set_param(index, "trainable", trainable)
        )
        self.stack_view.moveRequested.connect(document.move_layer)
        self.stack_view.removeRequested.connect(document.remove_layer)
        self.stack_view.duplicateRequested.connect(document.duplicate_layer)
        self.stack_view.currentLayerChanged.connect(self._show_properties)
        self.property_editor.paramEdited.connect(self._on_param_edited)
        self.property_editor.inputShapeEdited.connect(self._on_input_shape_edited)
        # Queued: the edit may come from inside the compare table's own signals.
        self.compare.projectEdited.connect(
            lambda project: document.replace_runs(project.get("runs", [])),
            Qt.ConnectionType.QueuedConnection,
        )
        self.compare.statusMessage.connect(self.show_problem)
        self.compare.maximiseToggled.connect(self._set_compare_maximised)

    # ------------------------------------------------------------------ start-up
    def start(self, path: str | Path | None = None) -> None:
        """Open ``path`` (or recovered work, the last file, or the demo) and load Keras.
        Train is disabled first: the recovery question may be asked before Keras loads."""
        self.training.set_train_enabled(False)
        self.loader.cached.connect(self._on_catalog_cached)
        self.loader.ready.connect(self._on_keras_ready)
        self.loader.failed.connect(self._on_keras_failed)
        self.files.open_first(path)
        QTimer.singleShot(0, self.loader.start)

    def _on_catalog_cached(self, result: LoadedCatalog) -> None:
        """The catalog read from disk before Keras loaded: the palette fills at once; layer
        edits, shapes and Train still wait for ``_on_keras_ready``."""
        if self.catalog is None:
            offered = {name: info for name, info in result.layers.items() if name != "InputLayer"}
            self.palette.set_catalog(offered, result.categories, category_icon)

    def _on_keras_ready(self, result: LoadedCatalog) -> None:
        from engine import catalog as catalog_module
        from engine.datasets import SOURCES, dataset_names, source_options

        self.catalog = result
        self.catalog_module = catalog_module
        offered = {name: info for name, info in result.layers.items() if name != "InputLayer"}
        self.palette.set_catalog(offered, result.categories, category_icon)
        self.property_editor.set_codec(catalog_module)
        self.dataset_panel.set_option_provider(source_options, dataset_names)
        self.dataset_panel.set_sources(SOURCES)
        training = result.extra.get("training")
        if training:
            self.training_panel.set_choices(
                training["optimizers"],
                training["losses"],
                training["metrics"],
                self.layout_builder.offered_callbacks(),
            )
        if result.extra.get("devices"):
            self.training_panel.set_device_choices(result.extra["devices"])
        self.document.set_catalog(catalog_module)
        self._on_document_changed(frozenset({"dataset", "compile", "fit"}))
        self.device_label.setText(f"Device: {result.device}")
        self.statusBar().showMessage(f"Ready — TensorFlow loaded in {result.seconds:.1f} s", 5000)
        self.files.open_pending()
        self._show_properties(self.stack_view.current_layer())
        self.training.set_train_enabled(True)
        self.catalogReady.emit(result)

    def _on_keras_failed(self, message: str) -> None:
        self.palette.set_loading(message)
        self.statusBar().showMessage(message)
        QMessageBox.critical(self, "LayerLab", message)

    def report_launch_and_quit(self, *_args) -> None:
        """For ``--quit-after-ready``: print launch timings and close."""
        shown = self.launch_seconds or 0.0
        started = self.launch_clock if self.launch_clock is not None else time.perf_counter()
        ready = time.perf_counter() - started
        print(f"window_shown_s={shown:.3f}")
        print(f"keras_ready_s={ready:.3f}")
        print(f"shown_at_epoch={time.time() - (ready - shown):.3f}")
        print(f"ready_at_epoch={time.time():.3f}", flush=True)
        self.document.undo_stack.setClean()
        self._closing_confirmed = True
        QTimer.singleShot(0, self.close)

    # ------------------------------------------------------------------ document → views
    def _on_document_reset(self) -> None:
        """Another project is open: every view forgets what it showed of the previous one.
        The one place; ``_on_document_changed`` then redraws what the new one holds."""
        self.training.reset()
        self.dataset_flow.reset()
        self.curves.clear()
        self.curves.clear_overlays()
        self.progress.reset()
        self.log_view.clear()
        self.dataset_panel.clear_preview()
        self.training_panel.set_class_names([])
        self.runs_panel.reset()
        self.compare.reset()
        self.summary.model_changed()
        self.device_label.setText(f"Device: {self.catalog.device}" if self.catalog else "Device: …")

    def _on_document_changed(self, sections) -> None:
        project = self.document.project
        if {"model", "signature"} & set(sections):
            self._refresh_stack()
            self.summary.model_changed()
        elif {"fit", "weights"} & set(sections):  # whether the trained weights are used
            self.stack_view.set_error(self.document.stack_error())
        if "dataset" in sections:
            self.dataset_panel.set_block(copy.deepcopy(project["dataset"]))
        if "runs" in sections:
            self.runs_panel.set_project(project, self.document.path)
            self.compare.set_project(project)
            self.export_action.setEnabled(self.training.can_export())
        if {"compile", "fit", "weights"} & set(sections):
            weights = project.get("weights")
            self.training_panel.set_initial_weights(Path(weights).name if weights else None)
            self.training_panel.set_settings(
                copy.deepcopy(project["compile"]), copy.deepcopy(project["fit"])
            )
            compile_block = project["compile"]
            self.curves.set_metric_names(
                compile_block.get("loss"), list(compile_block.get("metrics") or [])
            )
            self.runs_panel.set_project(project, self.document.path)

    def _set_compare_maximised(self, maximised: bool) -> None:
        """The Compare workspace takes the whole window (the docks hide), or gives it back
        (the docks that were open come back)."""
        if maximised:
            self.tabs.setCurrentWidget(self.compare_page)
            self._docks_before_compare = [d for d in self.docks.values() if d.isVisible()]
            # of tabbed docks, the ones on top (their contents shown) come back on top
            self._docks_on_top = [
                d for d in self._docks_before_compare if not d.visibleRegion().isEmpty()
            ]
            for dock in self._docks_before_compare:
                dock.hide()
        else:
            for dock in getattr(self, "_docks_before_compare", []):
                dock.show()
            for dock in getattr(self, "_docks_on_top", []):
                dock.raise_()
            self._docks_before_compare = self._docks_on_top = []

    def _refresh_stack(self) -> None:
        current = self.stack_view.current_layer()
        self.stack_model.set_rows(self.document.stack_rows())
        total, trainable = self.document.totals()
        self.stack_view.set_totals(total, trainable, cost_total(self.document))
        self.stack_view.set_error(self.document.stack_error())
        if self.document.ready:
            self.analysis_label.setText(f"shapes in {self.document.analysis_ms:.0f} ms")
        if current == self.stack_view.current_layer():
            self._show_properties(current)

    def select_layer(self, index: int) -> None:
        self.stack_view.select_layer(index)
        self._show_properties(self.stack_view.current_layer())

    def show_properties(self) -> None:
        self._show_properties(self.stack_view.current_layer())

    def _show_properties(self, index: int) -> None:
        document = self.document
        if not document.ready:
            self.property_editor.show_message("Layer parameters appear once TensorFlow is loaded.")
            return
        if document.is_functional:
            self.property_editor.show_message(FUNCTIONAL_NOTICE)
            return
        if index < 0 and self.stack_view.list.currentIndex().row() == 0:
            shape = document.input_shape()
            if document.input_signature is not None:
                note = (
                    f"The stack's input: {format_shape(shape)}, from the dataset. It follows "
                    "the dataset: pick another dataset (or change its options) to change it."
                )
            elif shape:
                note = f"The stack's input: {format_shape(shape)}, set in the model."
            else:
                note = (
                    "The dataset gives the input shape once it is loaded; you can also type the "
                    "sample shape (without the batch size)."
                )
            self.property_editor.show_input(shape, note)
            return
        if index < 0 or index >= document.layer_count():
            self.property_editor.show_message("Select a layer to edit its parameters.")
            return
        entry = document.layer_entry(index)
        try:
            info = self.catalog_module.layer_info(entry.get("class_name"))
        except LayerLabError as error:
            self.property_editor.show_message(str(error), entry.get("class_name", ""))
            return
        self.property_editor.show_layer(index, info, entry)

    def show_problem(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    # ------------------------------------------------------------------ edits
    def append_layer(self, class_name: str) -> None:
        """Insert ``class_name`` after the selected layer (at the end if none is selected);
        after Enter in the palette the stack takes the keyboard focus (``_connect``), so
        Ctrl+↑/↓, Ctrl+D and Delete act on the new layer."""
        current = self.stack_view.current_layer()
        row = self.stack_view.list.currentIndex().row()
        if current >= 0:
            index = current + 1
        elif row == 0:
            index = 0
        else:
            index = self.document.layer_count()
        self.document.insert_layer(index, class_name, current)

    def _focus_stack(self, _class_name: str = "") -> None:
        self.stack_view.focus_list()

    def focus_palette_search(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.palette.search.setFocus()
        self.palette.search.selectAll()

    def _on_insert_requested(self, index: int, class_name: str) -> None:
        self.document.insert_layer(index, class_name, self.stack_view.current_layer())

    def _on_param_edited(self, index: int, name: str, value: Any, mergeable: bool) -> None:
        if not self.document.set_param(index, name, value, mergeable):
            self._show_properties(index)

    def _on_input_shape_edited(self, shape: Any) -> None:
        self.document.set_input_shape(list(shape) if shape else None)

    # ------------------------------------------------------------------ title
    def _update_title(self, *_args) -> None:
        self.setWindowTitle(f"{self.files.display_name()}[*] — LayerLab")
        self.setWindowModified(not self.document.undo_stack.isClean())

    def _on_path_changed(self, _path) -> None:
        self._update_title()
        self.runs_panel.set_project(self.document.project, self.document.path)

    # ------------------------------------------------------------------ delegated actions
    def new_project(self) -> None:
        self.files.new_project()

    def open_path(self, path: str | Path, *, ask: bool = True, as_template: bool = False) -> None:
        self.files.open_path(path, ask=ask, as_template=as_template)

    def save(self) -> bool:
        return self.files.save()

    def _save_to(self, path: Path) -> bool:
        return self.files.save_to(Path(path))

    def train(self) -> None:
        self.training.train()

    def toggle_pause(self) -> None:
        self.training.toggle_pause()

    def stop_training(self) -> None:
        self.training.stop()

    def export_model(self) -> None:
        self.training.export_model()

    def train_button(self):
        """The Train control a user presses: the training panel's button."""
        return self.training_panel.train_button

    def autosave(self) -> bool:
        return self.files.autosave()

    @property
    def recovery_dir(self) -> Path:
        return self.files.recovery.folder

    @property
    def last_result(self) -> Any:
        return self.training.last_result

    # ------------------------------------------------------------------ drag files
    @staticmethod
    def _dropped_file(event) -> Path | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in OPENABLE_SUFFIXES:
                return path
        return None

    def dragEnterEvent(self, event) -> None:
        if self._dropped_file(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        path = self._dropped_file(event)
        if path is None:
            event.ignore()
            return
        event.acceptProposedAction()
        QTimer.singleShot(0, lambda: self.files.open_path(path))

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing_confirmed and not self.files.maybe_save():
            event.ignore()
            return
        self.training.shutdown()
        self.search.shutdown()
        self.groups.shutdown()
        self.runs_panel.shutdown()
        self.dataset_flow.shutdown()
        self.summary.shutdown()
        self.graph.shutdown()
        self.files.shutdown()
        self.loader.wait()
        self.layout_builder.save()
        self.autosave_timer.stop()
        event.accept()
