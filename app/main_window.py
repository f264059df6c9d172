"""The builder window: palette, stack, property editor, summary, docks, menus and files.

The window composes widgets and connects them to one ``ProjectDocument`` (project dict +
QUndoStack). TensorFlow work never runs in the GUI thread: Keras is imported by
``KerasLoader``; opening ``.h5``/``.keras`` files, the summary and model export run as
``BackgroundTask``s; training runs in ``TrainingController``'s thread.
"""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QStyle,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.loader import BackgroundTask, KerasLoader, LoadedCatalog
from app.model_controller import ProjectDocument, format_shape
from app.recovery import RecoveryStore
from app.settings import AppSettings
from engine import overfitting
from engine.errors import LayerLabError
from engine.events import TrainEnd
from engine.project import (
    PROJECT_SUFFIX,
    load_project,
    new_project,
    resources_dir,
    save_project,
)
from widgets.layer_palette import LayerPalette
from widgets.property_editor import PropertyEditor
from widgets.stack_model import StackModel
from widgets.stack_view import StackView
from widgets.summary_view import SummaryView

ICON_DIR = resources_dir() / "icons"
TEMPLATE_DIR = resources_dir() / "templates"
MODEL_SUFFIXES = (".h5", ".keras")
OPENABLE_SUFFIXES = (PROJECT_SUFFIX, *MODEL_SUFFIXES)
AUTOSAVE_MS = 120_000
OVERLAY_COLORS = ("#8e44ad", "#16a085", "#d35400", "#2c3e50", "#c0392b", "#7f8c8d")

_icon_cache: dict[str, QIcon] = {}


def category_icon(category: str) -> QIcon:
    """The icon for a catalog category (``resources/icons/<category>.svg``, else generic)."""
    key = (category or "layer").lower()
    if key not in _icon_cache:
        path = ICON_DIR / f"{key}.svg"
        _icon_cache[key] = QIcon(str(path if path.exists() else ICON_DIR / "layer.svg"))
    return _icon_cache[key]


def default_recovery_dir() -> Path:
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".layerlab") / "recovery"


def template_title(path: Path) -> str:
    """A template's menu title: its ``title`` key if it has one, else its file name."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    title = data.get("title") or data.get("name") if isinstance(data, dict) else None
    return str(title) if title else path.stem.replace("_", " ").replace("-", " ").title()


def template_description(path: Path) -> str:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    description = data.get("description") if isinstance(data, dict) else None
    return str(description) if description else ""


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
        self.setObjectName("mainWindow")
        self.settings = settings or AppSettings()
        self.recovery_dir = Path(recovery_dir) if recovery_dir else default_recovery_dir()
        self.recovery = RecoveryStore(self.recovery_dir)
        self.document = ProjectDocument(self)
        self.loader = KerasLoader(self)
        self.catalog: LoadedCatalog | None = None
        self.catalog_module: Any = None
        self.launch_seconds: float | None = None
        self.last_result: Any = None
        self._pending_path: Path | None = None
        self._imported_name: str | None = None
        self._suggested_stem = "untitled"
        self._tasks: set[BackgroundTask] = set()
        self._summary_dirty = True
        self._closing_confirmed = False
        self._pending_template = False
        self._recovered_original: Path | None = None

        self.setWindowIcon(QIcon(str(ICON_DIR / "layerlab.svg")))
        self.setAcceptDrops(True)
        self.setDockNestingEnabled(True)
        self._build_builder()
        self._build_summary()
        self._build_docks(controller)
        self._build_actions()
        self._build_menus()
        self._build_status_bar()
        self._connect_document()
        self.resize(1280, 800)
        self._restore_layout()

        self.autosave_timer = QTimer(self)
        self.autosave_timer.setInterval(autosave_ms)
        self.autosave_timer.timeout.connect(self.autosave)
        self.autosave_timer.start()
        self._update_title()

    # ------------------------------------------------------------------ layout
    def _build_builder(self) -> None:
        self.palette = LayerPalette(self)
        self.palette.setMinimumWidth(170)
        self.stack_model = StackModel(self)
        self.stack_model.set_icon_provider(category_icon)
        self.stack_view = StackView(self.stack_model, self)
        self.property_editor = PropertyEditor(self)

        stack_panel = QWidget(self)
        stack_layout = QVBoxLayout(stack_panel)
        stack_layout.setContentsMargins(4, 4, 4, 4)
        heading = QLabel(
            "<b>Model</b> — drag layers here; Ctrl+↑/↓ move, Del removes, Ctrl+D duplicates"
        )
        heading.setObjectName("stackHeading")
        heading.setWordWrap(True)
        stack_layout.addWidget(heading)
        stack_layout.addWidget(self.stack_view, 1)

        self.builder_splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.builder_splitter.setObjectName("builderSplitter")
        self.builder_splitter.addWidget(self.palette)
        self.builder_splitter.addWidget(stack_panel)
        self.builder_splitter.addWidget(self.property_editor)
        self.builder_splitter.setStretchFactor(0, 0)
        self.builder_splitter.setStretchFactor(1, 1)
        self.builder_splitter.setStretchFactor(2, 0)
        self.builder_splitter.setSizes([190, 390, 300])
        self.builder_splitter.setChildrenCollapsible(False)

        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("centralTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.builder_splitter, "Builder")
        self.setCentralWidget(self.tabs)

        self.palette.layerActivated.connect(self.append_layer)
        self.stack_model.insertRequested.connect(self._on_insert_requested)
        self.stack_model.moveRequested.connect(self._on_move_requested)
        self.stack_view.moveRequested.connect(self._on_move_requested)
        self.stack_view.removeRequested.connect(self._on_remove_requested)
        self.stack_view.duplicateRequested.connect(self._on_duplicate_requested)
        self.stack_view.currentLayerChanged.connect(self._show_properties)
        self.property_editor.paramEdited.connect(self._on_param_edited)
        self.property_editor.inputShapeEdited.connect(self._on_input_shape_edited)

    def _build_summary(self) -> None:
        self.summary_page = SummaryView(self)
        self.summary_text = self.summary_page.summary_text
        self.config_text = self.summary_page.config_text
        self.tabs.addTab(self.summary_page, "Summary")
        self.tabs.currentChanged.connect(self._on_tab_changed)

    def _add_dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        self.docks[name] = dock
        return dock

    def _build_docks(self, controller: Any) -> None:
        from app.training_controller import TrainingController
        from widgets.dataset_panel import DatasetPanel
        from widgets.live_curves import LiveCurves
        from widgets.log_view import LogView
        from widgets.train_progress import TrainProgress

        self.docks: dict[str, QDockWidget] = {}
        self.controller = controller or TrainingController(self)
        right = Qt.DockWidgetArea.RightDockWidgetArea
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea

        from app.dataset_controller import DatasetController

        self.dataset_controller = DatasetController(self)
        self.dataset_controller.progress.connect(self._on_dataset_progress)
        self.dataset_controller.loaded.connect(self._on_dataset_loaded)
        self.dataset_controller.failed.connect(self._on_dataset_failed)
        self.dataset_controller.headSuggested.connect(self._on_head_suggested)
        self.dataset_panel = DatasetPanel(self)
        self.dataset_panel.blockEdited.connect(self._on_dataset_edited)
        self.dataset_panel.suggestHeadRequested.connect(self._on_suggest_head)
        self.dataset_panel.previewRequested.connect(self._on_preview_requested)
        dataset_dock = self._add_dock("Dataset", "datasetDock", self.dataset_panel, right)

        self.progress = TrainProgress(self)
        progress_dock = self._add_dock("Progress", "progressDock", self.progress, right)
        self.splitDockWidget(dataset_dock, progress_dock, Qt.Orientation.Vertical)
        self.training_panel = self._make_training_panel()
        training_dock = self._add_dock("Training", "trainingDock", self.training_panel, right)
        self.tabifyDockWidget(dataset_dock, training_dock)
        training_dock.raise_()

        self.curves = LiveCurves(self)
        curves_dock = self._add_dock("Curves", "curvesDock", self.curves, bottom)
        self.log_view = LogView(self)
        log_dock = self._add_dock("Log", "logDock", self.log_view, bottom)
        self.tabifyDockWidget(curves_dock, log_dock)
        self.runs_panel = self._make_runs_panel()
        runs_dock = self._add_dock("Runs", "runsDock", self.runs_panel, bottom)
        self.tabifyDockWidget(curves_dock, runs_dock)
        curves_dock.raise_()

        self.controller.event.connect(self._on_train_event)
        self.controller.finished.connect(self._on_train_finished)
        self.controller.errored.connect(self._on_train_errored)
        self.controller.runningChanged.connect(self._on_running_changed)
        self.controller.pausedChanged.connect(self._on_paused_changed)

    def _make_training_panel(self) -> QWidget:
        from widgets.training_panel import TrainingPanel

        panel = TrainingPanel(self)
        panel.settingsEdited.connect(self._on_training_edited)
        panel.trainRequested.connect(self.train)
        panel.pauseRequested.connect(self.controller.pause)
        panel.resumeRequested.connect(self.controller.resume)
        panel.stopRequested.connect(self.stop_training)
        return panel

    def _make_runs_panel(self) -> QWidget:
        from app.runs_panel import RunsPanel

        panel = RunsPanel(self)
        panel.set_curves_widget(self.curves)
        panel.projectEdited.connect(self._on_runs_edited)
        panel.restoreRequested.connect(self.restore_run)
        panel.rerunRequested.connect(self._on_rerun_requested)
        panel.overlayRequested.connect(self._on_overlays_requested)
        panel.statusMessage.connect(self._show_problem)
        return panel

    def _build_actions(self) -> None:
        style = self.style()
        undo_stack = self.document.undo_stack

        def action(text, slot=None, shortcut=None, name=None, icon=None) -> QAction:
            item = QAction(text, self)
            if shortcut is not None:
                item.setShortcut(QKeySequence(shortcut))
            if slot is not None:
                item.triggered.connect(slot)
            if name:
                item.setObjectName(name)
            if icon is not None:
                item.setIcon(style.standardIcon(icon))
            return item

        pixmap = style.StandardPixmap
        self.new_action = action(
            "&New", self.new_project, QKeySequence.StandardKey.New, "newAction", pixmap.SP_FileIcon
        )
        self.open_action = action(
            "&Open…",
            self.open_dialog,
            QKeySequence.StandardKey.Open,
            "openAction",
            pixmap.SP_DialogOpenButton,
        )
        self.save_action = action(
            "&Save",
            self.save,
            QKeySequence.StandardKey.Save,
            "saveAction",
            pixmap.SP_DialogSaveButton,
        )
        self.save_as_action = action(
            "Save &As…", self.save_as, QKeySequence.StandardKey.SaveAs, "saveAsAction"
        )
        self.export_action = action(
            "&Export Trained Model…", self.export_model, "Ctrl+E", "exportAction"
        )
        self.export_action.setEnabled(False)
        self.quit_action = action("&Quit", self.close, QKeySequence.StandardKey.Quit, "quitAction")
        self.undo_action = undo_stack.createUndoAction(self, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.undo_action.setObjectName("undoAction")
        self.redo_action = undo_stack.createRedoAction(self, "&Redo")
        self.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        self.redo_action.setObjectName("redoAction")
        self.train_action = action(
            "&Train", self.train, "Ctrl+Return", "trainAction", pixmap.SP_MediaPlay
        )
        self.pause_action = action(
            "&Pause", self.toggle_pause, None, "pauseAction", pixmap.SP_MediaPause
        )
        self.stop_action = action(
            "&Stop", self.stop_training, None, "stopAction", pixmap.SP_MediaStop
        )
        self.pause_action.setEnabled(False)
        self.stop_action.setEnabled(False)
        self.find_layer_action = action(
            "&Find Layer…",
            self._focus_palette_search,
            QKeySequence.StandardKey.Find,
            "findLayerAction",
        )

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([self.new_action, self.open_action])
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.setObjectName("recentMenu")
        self.recent_menu.aboutToShow.connect(self._fill_recent_menu)
        file_menu.addSeparator()
        file_menu.addActions([self.save_action, self.save_as_action, self.export_action])
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([self.undo_action, self.redo_action])
        edit_menu.addSeparator()
        edit_menu.addActions(self.stack_view.list.actions())
        edit_menu.addSeparator()
        edit_menu.addAction(self.find_layer_action)

        self.templates_menu = bar.addMenu("&Templates")
        self.templates_menu.setToolTipsVisible(True)
        self.templates_menu.setObjectName("templatesMenu")
        self._fill_templates_menu()

        train_menu = bar.addMenu("T&raining")
        train_menu.addActions([self.train_action, self.pause_action, self.stop_action])

        view_menu = bar.addMenu("&View")
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction("Show &Builder", lambda: self.tabs.setCurrentIndex(0), "Ctrl+1")
        view_menu.addAction("Show &Summary", lambda: self.tabs.setCurrentIndex(1), "Ctrl+2")

        help_menu = bar.addMenu("&Help")
        help_menu.addAction("&About LayerLab", self._about)

        toolbar = self.addToolBar("Main")
        toolbar.setObjectName("mainToolBar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addActions([self.new_action, self.open_action, self.save_action])
        toolbar.addSeparator()
        for item, icon in (
            (self.undo_action, QStyle.StandardPixmap.SP_ArrowBack),
            (self.redo_action, QStyle.StandardPixmap.SP_ArrowForward),
        ):
            item.setIcon(self.style().standardIcon(icon))
            button = QToolButton(toolbar)
            button.setDefaultAction(item)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            button.setAutoRaise(True)
            toolbar.addWidget(button)
        toolbar.addSeparator()
        toolbar.addActions([self.train_action, self.pause_action, self.stop_action])

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        status.setObjectName("statusBar")
        self.analysis_label = QLabel(self)
        self.analysis_label.setObjectName("analysisLabel")
        self.device_label = QLabel("Device: …", self)
        self.device_label.setObjectName("deviceLabel")
        status.addPermanentWidget(self.analysis_label)
        status.addPermanentWidget(self.device_label)
        status.showMessage("Loading TensorFlow…")

    def _connect_document(self) -> None:
        self.document.changed.connect(self._on_document_changed)
        self.document.selectRequested.connect(self._select_layer)
        self.document.problem.connect(self._show_problem)
        self.document.pathChanged.connect(self._on_path_changed)
        self.document.undo_stack.cleanChanged.connect(self._on_clean_changed)

    def _default_dock_sizes(self) -> None:
        """Sizes for a first launch: a wide builder, curves below, settings at the right."""
        self.resizeDocks([self.docks["curvesDock"]], [330], Qt.Orientation.Vertical)
        self.resizeDocks([self.docks["datasetDock"]], [410], Qt.Orientation.Horizontal)
        self.resizeDocks(
            [self.docks["trainingDock"], self.docks["progressDock"]],
            [520, 70],
            Qt.Orientation.Vertical,
        )
        width = self.builder_splitter.width() or 880
        self.builder_splitter.setSizes([215, width - 215 - 290, 290])

    def _restore_layout(self) -> None:
        geometry = self.settings.window_geometry()
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = self.settings.window_state()
        splitter = self.settings.splitter_state("builder")
        if splitter is not None:
            self.builder_splitter.restoreState(splitter)
        if state is not None:
            self.restoreState(state)
        else:
            QTimer.singleShot(0, self._default_dock_sizes)

    # ------------------------------------------------------------------ start-up
    def start(self, path: str | Path | None = None) -> None:
        """Open ``path`` (or recovered work, the last file, or the demo) and load Keras."""
        target = Path(path) if path else None
        if target is None and not self._offer_recovery():
            recent = self.settings.recent_files()
            if self.settings.first_launch() or not recent:
                self.open_path(resources_dir() / f"demo{PROJECT_SUFFIX}", as_template=True)
            else:
                target = Path(recent[0])
        self.settings.mark_launched()
        if target is not None:
            self.open_path(target)
        self.loader.ready.connect(self._on_keras_ready)
        self.loader.failed.connect(self._on_keras_failed)
        self._set_train_enabled(False)
        QTimer.singleShot(0, self.loader.start)

    def _on_keras_ready(self, result: LoadedCatalog) -> None:
        from engine import catalog as catalog_module

        self.catalog = result
        self.catalog_module = catalog_module
        offered = {name: info for name, info in result.layers.items() if name != "InputLayer"}
        self.palette.set_catalog(offered, result.categories, category_icon)
        self.property_editor.set_codec(catalog_module)
        self.document.set_catalog(catalog_module)
        self.device_label.setText(f"Device: {result.device}")
        from engine.datasets import SOURCES, dataset_names, source_options

        self.dataset_panel.set_option_provider(source_options, dataset_names)
        self.dataset_panel.set_sources(SOURCES)
        self.dataset_panel.set_block(copy.deepcopy(self.document.project["dataset"]))
        training = result.extra.get("training")
        if training:
            self.training_panel.set_choices(
                training["optimizers"],
                training["losses"],
                training["metrics"],
                self._offered_callbacks(),
            )
            self.training_panel.set_settings(
                copy.deepcopy(self.document.project["compile"]),
                copy.deepcopy(self.document.project["fit"]),
            )
            self.curves.set_expected_metrics(
                list(self.document.project["compile"].get("metrics") or [])
            )
        self.statusBar().showMessage(f"Ready — TensorFlow loaded in {result.seconds:.1f} s", 5000)
        pending, self._pending_path = self._pending_path, None
        if pending is not None:
            self.open_path(pending, ask=False)
        self._show_properties(self.stack_view.current_layer())
        self._set_train_enabled(True)
        self.catalogReady.emit(result)

    @staticmethod
    def _offered_callbacks() -> dict[str, dict]:
        """The callbacks a project may hold (engine.project's allowlist) with Keras's own
        defaults read from their signatures. TerminateOnNaN is always on, so not offered."""
        import inspect

        import keras

        from engine.project import ALLOWED_CALLBACKS

        offered = {}
        for name in ALLOWED_CALLBACKS:
            if name == "TerminateOnNaN":
                continue
            parameters = inspect.signature(getattr(keras.callbacks, name).__init__).parameters
            offered[name] = {
                key: parameter.default
                for key, parameter in parameters.items()
                if key != "self" and parameter.default is not inspect.Parameter.empty
            }
        return offered

    def _on_keras_failed(self, message: str) -> None:
        self.palette.set_loading(message)
        self.statusBar().showMessage(message)
        QMessageBox.critical(self, "LayerLab", message)

    def report_launch_and_quit(self, *_args) -> None:
        """For ``--quit-after-ready``: print launch timings and close."""
        shown = self.launch_seconds or 0.0
        from app.application import LAUNCH_TIME

        ready = time.perf_counter() - LAUNCH_TIME
        print(f"window_shown_s={shown:.3f}")
        print(f"keras_ready_s={ready:.3f}")
        print(f"shown_at_epoch={time.time() - (ready - shown):.3f}")
        print(f"ready_at_epoch={time.time():.3f}", flush=True)
        self.document.undo_stack.setClean()
        self._closing_confirmed = True
        QTimer.singleShot(0, self.close)

    # ------------------------------------------------------------------ document → views
    def _on_document_changed(self, sections) -> None:
        if "model" in sections:
            self._refresh_stack()
            self._summary_dirty = True
            if self.tabs.currentWidget() is self.summary_page:
                self._refresh_summary()
        if "dataset" in sections:
            self.dataset_panel.set_block(copy.deepcopy(self.document.project["dataset"]))
        if "runs" in sections:
            self.runs_panel.set_project(self.document.project, self.document.path)
        if {"compile", "fit"} & set(sections):
            self.training_panel.set_settings(
                copy.deepcopy(self.document.project["compile"]),
                copy.deepcopy(self.document.project["fit"]),
            )
            self.curves.set_expected_metrics(
                list(self.document.project["compile"].get("metrics") or [])
            )

    def _refresh_stack(self) -> None:
        current = self.stack_view.current_layer()
        self.stack_model.set_rows(self.document.stack_rows())
        total, trainable = self.document.totals()
        self.stack_view.set_totals(total, trainable)
        self.stack_view.set_error(self.document.stack_error())
        if self.document.ready:
            self.analysis_label.setText(f"shapes in {self.document.analysis_ms:.0f} ms")
        if current == self.stack_view.current_layer():
            self._show_properties(current)

    def _select_layer(self, index: int) -> None:
        self.stack_view.select_layer(index)
        self._show_properties(self.stack_view.current_layer())

    def _show_properties(self, index: int) -> None:
        if not self.document.ready:
            self.property_editor.show_message("Layer parameters appear once TensorFlow is loaded.")
            return
        if index < 0 and self.stack_view.list.currentIndex().row() == 0:
            shape = self.document.input_shape()
            source = "the model" if self.document.spec_input_shape() else "the dataset"
            note = (
                f"The stack's input: {format_shape(shape)}, from {source}. Loading a dataset "
                "preview or “Suggest output layer…” sets it; you can also type it here."
                if shape
                else "Type the sample shape (without the batch size), or load a dataset preview."
            )
            self.property_editor.show_input(shape, note)
            return
        if index < 0 or index >= self.document.layer_count():
            self.property_editor.show_message("Select a layer to edit its parameters.")
            return
        entry = self.document.layer_entry(index)
        try:
            info = self.catalog_module.layer_info(entry.get("class_name"))
        except LayerLabError as error:
            self.property_editor.show_message(str(error), entry.get("class_name", ""))
            return
        self.property_editor.show_layer(index, info, entry)

    def _show_problem(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    # ------------------------------------------------------------------ edits
    def append_layer(self, class_name: str) -> None:
        """Insert ``class_name`` after the selected layer (at the end if none is selected)."""
        current = self.stack_view.current_layer()
        row = self.stack_view.list.currentIndex().row()
        if current >= 0:
            index = current + 1
        elif row == 0:
            index = 0
        else:
            index = self.document.layer_count()
        self.document.insert_layer(index, class_name, current)

    def _focus_palette_search(self) -> None:
        self.tabs.setCurrentIndex(0)
        self.palette.search.setFocus()
        self.palette.search.selectAll()

    def _on_insert_requested(self, index: int, class_name: str) -> None:
        self.document.insert_layer(index, class_name, self.stack_view.current_layer())

    def _on_move_requested(self, source: int, destination: int) -> None:
        self.document.move_layer(source, destination)

    def _on_remove_requested(self, index: int) -> None:
        self.document.remove_layer(index)

    def _on_duplicate_requested(self, index: int) -> None:
        self.document.duplicate_layer(index)

    def _on_param_edited(self, index: int, name: str, value: Any, mergeable: bool) -> None:
        if not self.document.set_param(index, name, value, mergeable):
            self._show_properties(index)

    def _on_input_shape_edited(self, shape: Any) -> None:
        self.document.set_input_shape(list(shape) if shape else None)

    def _on_dataset_edited(self, block: dict) -> None:
        from engine.runs import edited_block

        self.document.set_dataset(edited_block(self.document.project["dataset"], block))

    def _on_training_edited(self, compile_block: dict, fit_block: dict) -> None:
        self.document.set_training(compile_block, fit_block)

    def _dataset_request(self) -> tuple[dict, Any, float]:
        project = self.document.project
        return (
            copy.deepcopy(project["dataset"]),
            project["compile"].get("loss"),
            float(project["fit"].get("validation_split") or 0.0),
        )

    def _on_preview_requested(self) -> None:
        if not self.document.ready:
            self._show_problem("TensorFlow is still loading; the preview follows.")
            return
        block, loss, split = self._dataset_request()
        self.dataset_panel.show_loading("Loading the dataset…")
        self.dataset_controller.load(block, loss=loss, validation_split=split)

    def _on_suggest_head(self) -> None:
        if not self.document.ready:
            self._show_problem("TensorFlow is still loading; try again in a moment.")
            return
        self.dataset_panel.show_loading("Loading the dataset to see its task…")
        self.dataset_controller.request_head(copy.deepcopy(self.document.project["dataset"]))

    def _on_dataset_progress(self, text: str, fraction: Any) -> None:
        self.dataset_panel.show_loading(text, fraction)

    def _on_dataset_loaded(self, dataset: Any) -> None:
        from app.dataset_controller import dataset_info

        info = dataset_info(dataset)
        self._keep_learned_vocabulary(dataset)
        self.dataset_panel.show_dataset(info)
        self.training_panel.set_class_names(info.get("class_names") or [])
        shape = tuple(info["input_shape"])
        self.document.set_dataset_input_shape(shape)
        spec_shape = self.document.spec_input_shape()
        if spec_shape is not None and spec_shape != shape:
            self.document.set_input_shape(list(shape), text="Input shape from the dataset")
        self._show_properties(self.stack_view.current_layer())

    def _keep_learned_vocabulary(self, dataset: Any) -> None:
        """A text folder's vocabulary, learned from the project's current dataset settings,
        goes into its dataset block: derived data, not an edit (no undo step, and a preview
        alone does not mark the project modified); it is saved with the project. Editing
        the dataset settings drops it (``_on_dataset_edited``)."""
        from engine.runs import learned_block

        block = learned_block(self.document.project.get("dataset"), dataset)
        if block is not None:
            self.document.project["dataset"] = block

    def _on_dataset_failed(self, message: str) -> None:
        self.dataset_panel.show_error(message)
        self._show_problem(message)

    def _on_head_suggested(self, suggestion: Any) -> None:
        """Fit the stack's head, input shape, loss and metrics to the dataset (one undo step)."""
        if self.dataset_controller.dataset is not None:
            self._on_dataset_loaded(self.dataset_controller.dataset)
        if self.document.suggest_head(suggestion):
            self.statusBar().showMessage(
                f"Output layer, loss ({suggestion.loss}) and metrics set for this dataset.", 6000
            )

    # ------------------------------------------------------------------ title
    def _display_name(self) -> str:
        if self.document.path is not None:
            return self.document.path.name
        return f"{self._imported_name} (unsaved)" if self._imported_name else "Untitled"

    def _update_title(self) -> None:
        self.setWindowTitle(f"{self._display_name()}[*] — LayerLab")
        self.setWindowModified(not self.document.undo_stack.isClean())

    def _on_clean_changed(self, _clean: bool) -> None:
        self._update_title()

    def _on_path_changed(self, _path) -> None:
        self._update_title()
        self.runs_panel.set_project(self.document.project, self.document.path)

    # ------------------------------------------------------------------ files
    def may_replace_project(self) -> bool:
        """Before New/Open: stop a running training run (asking first) and ask about unsaved
        changes; True when the current project may be replaced."""
        if self.controller.is_running():
            answer = QMessageBox.question(
                self,
                "Training is running",
                "A training run is going. Stop it and open another project?",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
            self.controller.shutdown()
        return self.maybe_save()

    def maybe_save(self) -> bool:
        """Ask about unsaved changes; True when it is fine to continue."""
        if self.document.undo_stack.isClean():
            return True
        answer = QMessageBox.question(
            self,
            "Unsaved changes",
            f"Save the changes to {self._display_name()} before closing it?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    def new_project(self) -> None:
        if not self.may_replace_project():
            return
        self._imported_name = None
        self.last_result = None
        self.export_action.setEnabled(False)
        self.document.set_project(new_project(), None)
        self._select_layer(-1)

    def open_dialog(self) -> None:
        if not self.may_replace_project():
            return
        path, _filter = QFileDialog.getOpenFileName(
            self,
            "Open project or model",
            self.settings.last_folder(),
            "Projects and models (*.llproj *.h5 *.keras);;LayerLab projects (*.llproj);;"
            "Keras models (*.h5 *.keras);;All files (*)",
        )
        if path:
            self.open_path(Path(path), ask=False)

    def open_path(self, path: str | Path, *, ask: bool = True, as_template: bool = False) -> None:
        """Open a project, template or model file (model files load in the background)."""
        path = Path(path)
        if ask and not self.may_replace_project():
            return
        if not self.document.ready:
            self._pending_path = path
            self._pending_template = as_template
            self._preview_project(path, as_template)
            return
        if path.suffix.lower() in MODEL_SUFFIXES:
            self._open_model_file(path)
            return
        try:
            project = load_project(path)
        except LayerLabError as error:
            QMessageBox.warning(self, "Cannot open", str(error))
            return
        self._imported_name = None
        self.last_result = None
        self.export_action.setEnabled(False)
        as_template = as_template or self._pending_template
        self._pending_template = False
        if path == self.recovery.project_file:
            self.document.set_project(project, self._recovered_original)
            self._imported_name = None if self._recovered_original else "recovered work"
            self.document.undo_stack.resetClean()
            self._update_title()
        elif as_template:
            self._imported_name = template_title(path)
            self._suggested_stem = path.stem
            self.document.set_project(project, None)
        else:
            self.document.set_project(project, path)
            self.settings.add_recent_file(path)
            self.settings.set_last_folder(path.parent)
        self._select_layer(0 if self.document.layer_count() else -1)
        self.statusBar().showMessage(f"Opened {path.name}", 4000)

    def _preview_project(self, path: Path, as_template: bool = False) -> None:
        """Before Keras is loaded: show the file's layers from its JSON, without editing."""
        self.statusBar().showMessage(f"Loading TensorFlow… then opening {path.name}")
        if path.suffix.lower() != PROJECT_SUFFIX:
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            layers = data["model"]["layers"]
        except (OSError, ValueError, KeyError, TypeError):
            return
        if isinstance(layers, list):
            preview = new_project()
            preview.update(
                {key: data[key] for key in ("model", "dataset", "compile", "fit") if key in data}
            )
            if as_template:
                self._imported_name = template_title(path)
            self.document.set_project(preview, None if as_template else path)

    def _open_model_file(self, path: Path) -> None:
        from engine.modelfile import load_model_file

        self.statusBar().showMessage(f"Opening {path.name}…")
        task = BackgroundTask(lambda: load_model_file(path), self)
        task.done.connect(self._on_model_file_loaded)
        task.failed.connect(self._on_model_file_failed)
        task.path = path
        self._start_task(task)

    def _on_model_file_loaded(self, loaded: Any) -> None:
        task = self.sender()
        path = getattr(task, "path", Path("model.h5"))
        self._forget_task(task)
        project = new_project()
        project["model"] = copy.deepcopy(loaded.spec)
        self._imported_name = path.name
        self._suggested_stem = path.stem
        self.last_result = None
        self.export_action.setEnabled(False)
        self.document.set_project(project, None)
        self.settings.add_recent_file(path)
        self._select_layer(0 if self.document.layer_count() else -1)
        note = getattr(loaded, "note", "") or ""
        self.statusBar().showMessage(f"Opened {path.name}. {note}".strip(), 8000)
        if not getattr(loaded, "editable", True):
            QMessageBox.information(
                self, "Model opened read-only", note or "This model cannot be edited as a stack."
            )

    def _on_model_file_failed(self, message: str) -> None:
        self._forget_task(self.sender())
        self.statusBar().clearMessage()
        QMessageBox.warning(self, "Cannot open model", message)

    def save(self) -> bool:
        if self.document.path is None:
            return self.save_as()
        return self._save_to(self.document.path)

    def save_as(self) -> bool:
        stem = self.document.path.stem if self.document.path else self._suggested_stem
        suggested = str(Path(self.settings.last_folder()) / f"{stem}{PROJECT_SUFFIX}")
        path, _filter = QFileDialog.getSaveFileName(
            self, "Save project", suggested, f"LayerLab projects (*{PROJECT_SUFFIX})"
        )
        if not path:
            return False
        path = Path(path)
        if path.suffix.lower() != PROJECT_SUFFIX:
            path = path.with_name(path.name + PROJECT_SUFFIX)
        return self._save_to(path)

    def _save_to(self, path: Path) -> bool:
        from engine.runs import place_run_files

        try:
            project = self.document.project
            if project.get("runs"):
                project = place_run_files(project, path, self.document.path)
            save_project(project, path)
            self.document.project["runs"] = project.get("runs", [])
        except (LayerLabError, OSError) as error:
            QMessageBox.warning(self, "Cannot save", f"Cannot save {path.name}: {error}")
            return False
        self._imported_name = None
        self.document.set_path(path)
        self.document.undo_stack.setClean()
        self.settings.add_recent_file(path)
        self.settings.set_last_folder(path.parent)
        self._clear_recovery()
        self.statusBar().showMessage(f"Saved {path}", 4000)
        return True

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.recent_files()
        for path in recent:
            action = self.recent_menu.addAction(Path(path).name)
            action.setToolTip(path)
            action.setData(path)
            action.triggered.connect(self._open_recent)
        if not recent:
            self.recent_menu.addAction("No recent files").setEnabled(False)
        else:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list", self.settings.clear_recent_files)

    def _open_recent(self) -> None:
        path = self.sender().data()
        if path:
            self.open_path(Path(path))

    def _fill_templates_menu(self) -> None:
        self.templates_menu.clear()
        templates = sorted(TEMPLATE_DIR.glob(f"*{PROJECT_SUFFIX}")) if TEMPLATE_DIR.exists() else []
        for path in templates:
            action = self.templates_menu.addAction(template_title(path))
            action.setData(str(path))
            description = template_description(path)
            action.setToolTip(description)
            action.setStatusTip(description)
            action.triggered.connect(self._open_template)
        demo = resources_dir() / f"demo{PROJECT_SUFFIX}"
        if templates:
            self.templates_menu.addSeparator()
        action = self.templates_menu.addAction("Demo: digits MLP")
        action.setData(str(demo))
        action.triggered.connect(self._open_template)

    def _open_template(self) -> None:
        path = self.sender().data()
        if path:
            self.open_path(Path(path), as_template=True)

    def export_model(self) -> None:
        model = getattr(self.last_result, "model", None)
        if model is None:
            QMessageBox.information(
                self,
                "Export model",
                "Train the model first; then its trained weights can be exported.",
            )
            return
        path, _filter = QFileDialog.getSaveFileName(
            self,
            "Export trained model",
            str(Path(self.settings.last_folder()) / "model.h5"),
            "Keras HDF5 (*.h5);;Keras v3 (*.keras)",
        )
        if not path:
            return
        target = Path(path)
        if target.suffix.lower() not in MODEL_SUFFIXES:
            target = target.with_name(target.name + ".h5")
        from engine.modelfile import save_model

        task = BackgroundTask(lambda: save_model(model, target), self)
        task.done.connect(self._on_export_done)
        task.failed.connect(self._on_export_failed)
        task.path = target
        self.statusBar().showMessage(f"Exporting {target.name}…")
        self._start_task(task)

    def _on_export_done(self, _result) -> None:
        task = self.sender()
        self._forget_task(task)
        self.statusBar().showMessage(f"Exported {getattr(task, 'path', '')}", 6000)

    def _on_export_failed(self, message: str) -> None:
        self._forget_task(self.sender())
        QMessageBox.warning(self, "Cannot export", message)

    def _start_task(self, task: BackgroundTask) -> None:
        self._tasks.add(task)
        task.start()

    def _forget_task(self, task) -> None:
        self._tasks.discard(task)
        if task is not None:
            task.deleteLater()

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
        QTimer.singleShot(0, lambda: self.open_path(path))

    # ------------------------------------------------------------------ summary tab
    def _on_tab_changed(self, _index: int) -> None:
        if self.tabs.currentWidget() is self.summary_page and self._summary_dirty:
            self._refresh_summary()

    def _refresh_summary(self) -> None:
        self._summary_dirty = False
        model = copy.deepcopy(self.document.project["model"])
        self.config_text.setPlainText(
            json.dumps({"class_name": "Sequential", "config": model}, indent=2)
        )
        if not self.document.ready:
            self.summary_text.setPlainText("The summary appears once TensorFlow is loaded.")
            return
        if self.document.stack_error():
            self.summary_text.setPlainText(
                f"The model does not build:\n{self.document.stack_error()}"
            )
            return
        shape = None
        if self.document.input_shape() is not None:
            shape = self.document.input_shape()
        self.summary_text.setPlainText("Building the model…")
        task = BackgroundTask(lambda: _summary_of(model, shape), self)
        task.done.connect(self._on_summary_done)
        task.failed.connect(self._on_summary_failed)
        self._start_task(task)

    def _on_summary_done(self, result: tuple[str, str]) -> None:
        self._forget_task(self.sender())
        summary, config_json = result
        self.summary_text.setPlainText(summary)
        self.config_text.setPlainText(config_json)

    def _on_summary_failed(self, message: str) -> None:
        self._forget_task(self.sender())
        self.summary_text.setPlainText(message)

    # ------------------------------------------------------------------ training
    def train(self) -> None:
        if self.controller.is_running():
            return
        if not self.document.ready:
            QMessageBox.information(
                self, "Train", "TensorFlow is still loading; try again in a moment."
            )
            return
        error = self.document.stack_error()
        if error:
            QMessageBox.warning(self, "The model does not build", error)
            return
        if not self.document.layer_count():
            QMessageBox.information(self, "Train", "Add layers to the model first.")
            return
        self.curves.clear()
        self.progress.reset()
        block, loss, split = self._dataset_request()
        dataset = self.dataset_controller.cached(block, loss, split)
        self._run_generation = self.document.generation
        self.controller.start(copy.deepcopy(self.document.project), dataset=dataset)

    def _set_train_enabled(self, enabled: bool) -> None:
        """Train needs Keras: off while it loads (and while a run is going)."""
        enabled = enabled and not self.controller.is_running()
        self.train_action.setEnabled(enabled)
        self.training_panel.train_button.setEnabled(enabled)

    def train_button(self):
        """The Train control a user presses: the training panel's button, else the toolbar's."""
        return self.training_panel.train_button

    def toggle_pause(self) -> None:
        if self.controller.is_paused():
            self.controller.resume()
        else:
            self.controller.pause()

    def stop_training(self) -> None:
        self.controller.stop()

    def _on_train_event(self, event: Any) -> None:
        self.curves.on_event(event)
        self.progress.on_event(event)
        self.log_view.on_event(event)
        if isinstance(event, TrainEnd) and event.history:
            self._mark_overfitting(event.history)
        device = getattr(event, "device", None)
        if device:
            self.device_label.setText(f"Device: {device}")

    def _on_train_finished(self, result: Any) -> None:
        if result is None:
            return
        self.last_result = result
        self.export_action.setEnabled(getattr(result, "model", None) is not None)
        message = getattr(result, "message", "") or "Training finished."
        self.statusBar().showMessage(message, 8000)
        if getattr(result, "status", None) == "failed":
            self._show_run_failure(message)
        if getattr(self, "_run_generation", None) == self.document.generation:
            self._keep_learned_vocabulary(getattr(result, "dataset", None))
        self._record_run(result)

    def _show_run_failure(self, message: str) -> None:
        """Say why a run failed (e.g. a dataset that is offline) without blocking the loop."""
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Training failed",
            message,
            QMessageBox.StandardButton.Ok,
            self,
        )
        box.setObjectName("runFailedDialog")
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def _on_train_errored(self, message: str) -> None:
        QMessageBox.critical(self, "Training failed", message)

    def _on_running_changed(self, running: bool) -> None:
        self.train_action.setEnabled(not running)
        self.pause_action.setEnabled(running)
        self.stop_action.setEnabled(running)
        self.training_panel.set_running(running, self.controller.is_paused())
        self.statusBar().showMessage(
            "Training…" if running else "Training ended", 0 if running else 5000
        )

    def _on_paused_changed(self, paused: bool) -> None:
        self.pause_action.setText("&Resume" if paused else "&Pause")
        self.progress.set_paused(paused)
        self.training_panel.set_running(self.controller.is_running(), paused)

    # ------------------------------------------------------------------ runs
    def _record_run(self, result: Any) -> None:
        """Record a finished run in the project; its weights are written in the background."""
        from engine.runs import record_run

        if getattr(self, "_run_generation", None) != self.document.generation:
            return  # another project was opened meanwhile: the run belongs to the old one
        project = copy.deepcopy(self.document.project)
        path = self.document.path
        task = BackgroundTask(lambda: record_run(project, result, path), self)
        task.generation = self.document.generation
        task.done.connect(self._on_run_recorded)
        task.failed.connect(self._on_run_record_failed)
        self._start_task(task)

    def _on_run_recorded(self, recorded: tuple[dict, dict]) -> None:
        task = self.sender()
        self._forget_task(task)
        if getattr(task, "generation", None) != self.document.generation:
            return
        _project, run = recorded
        self.document.replace_runs([*self.document.project.get("runs", []), run])
        self.runs_panel.table.select_runs([run["id"]])

    def _on_run_record_failed(self, message: str) -> None:
        self._forget_task(self.sender())
        QMessageBox.warning(self, "Run not recorded", message)

    def _on_runs_edited(self, project: dict) -> None:
        self.document.replace_runs(project.get("runs", []))

    def restore_run(self, run: dict) -> bool:
        """Make the run's model, dataset and training settings the current ones (undoable)."""
        snapshot = run.get("snapshot") or {}
        sections = {
            key: copy.deepcopy(snapshot[key])
            for key in ("model", "dataset", "compile", "fit")
            if key in snapshot
        }
        if not sections:
            return False
        self.document.edit(f"Restore {run.get('name', 'run')}", sections, select_after=0)
        return True

    def _on_rerun_requested(self, run: dict) -> None:
        self.restore_run(run)
        self.train()

    def _mark_overfitting(self, history: dict) -> None:
        """Mark the finished run's overfitting epoch on the curves and warn in the log."""
        from widgets.live_curves import LIVE_MARK

        hint = overfitting.detect(history)
        if hint is None:
            return
        self.curves.mark_epoch(
            LIVE_MARK, hint.epoch + 1, f"overfitting after epoch {hint.epoch + 1}"
        )
        self.log_view.append_line(hint.message, "warning")

    def _on_overlays_requested(self, overlays: list) -> None:
        self.curves.clear_overlays()
        hints = {run.get("id"): run.get("overfitting") for run in self.runs_panel.runs()}
        for number, (key, label, history) in enumerate(overlays):
            color = OVERLAY_COLORS[number % len(OVERLAY_COLORS)]
            self.curves.add_overlay(key, label, history, color)
            hint = hints.get(key)
            if isinstance(hint, dict) and "epoch" in hint:
                epoch = int(hint["epoch"]) + 1
                self.curves.mark_epoch(key, epoch, f"{label}: overfitting after epoch {epoch}")

    # ------------------------------------------------------------------ autosave / recovery
    def autosave(self) -> bool:
        """Write unsaved work to the recovery file (True when something was written)."""
        if self.document.undo_stack.isClean():
            return False
        try:
            self.recovery.write(self.document.project, self.document.path)
        except (OSError, LayerLabError) as error:
            self.statusBar().showMessage(f"Autosave failed: {error}", 8000)
            return False
        return True

    def _clear_recovery(self) -> None:
        self.recovery.clear()

    def _offer_recovery(self) -> bool:
        """Offer the autosave left by a crash; True when it was restored."""
        if not self.recovery.exists():
            return False
        original = self.recovery.original_path()
        answer = QMessageBox.question(
            self,
            "Recover unsaved work?",
            "LayerLab did not close normally last time. Restore the unsaved changes"
            + (f" to {original.name}" if original else "")
            + "?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.Yes,
        )
        if answer != QMessageBox.StandardButton.Yes:
            self._clear_recovery()
            return False
        self._pending_path = self.recovery.project_file
        self._recovered_original = original
        self._preview_project(self.recovery.project_file)
        return True

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._closing_confirmed and not self.maybe_save():
            event.ignore()
            return
        if self.controller.is_running():
            self.statusBar().showMessage("Stopping the training run…")
            QApplication.processEvents()
        self.controller.shutdown()
        self.runs_panel.shutdown()
        self.dataset_controller.shutdown()
        for task in list(self._tasks):
            task.wait()
        self.loader.wait()
        self.settings.save_window_layout(self.saveGeometry(), self.saveState())
        self.settings.save_splitter_state("builder", self.builder_splitter.saveState())
        self.settings.sync()
        self._clear_recovery()
        self.autosave_timer.stop()
        event.accept()

    def _about(self) -> None:
        QMessageBox.about(
            self,
            "About LayerLab",
            "<b>LayerLab</b><br>Design, train and compare Keras Sequential networks.<br>"
            "Keras is the source of truth: a project holds exactly "
            "<tt>Sequential.get_config()</tt>.",
        )


def _summary_of(model_config: dict, input_shape: tuple | None) -> tuple[str, str]:
    """(model.summary() text, model.to_json()) — runs in a background thread."""
    from engine.modelfile import summary_text
    from engine.spec import build_model

    model = (
        build_model(model_config, input_shape=input_shape)
        if input_shape
        else build_model(model_config)
    )
    return summary_text(model), json.dumps(json.loads(model.to_json()), indent=2)
