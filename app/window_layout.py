"""What the window is made of: widgets, docks, actions, menus, toolbar, status bar, and the
saved layout. ``WindowLayout(window)`` sets each widget and action as an attribute of the
window (``window.palette``, ``window.curves``, ``window.train_action`` …) with a stable
``objectName``; it wires nothing but menus and actions to the window's delegating methods.
"""

from __future__ import annotations

import inspect
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QLabel,
    QMessageBox,
    QScrollArea,
    QSplitter,
    QStyle,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from engine.project import resources_dir

ICON_DIR = resources_dir() / "icons"
_icon_cache: dict[str, QIcon] = {}


def category_icon(category: str) -> QIcon:
    """The icon for a catalog category (``resources/icons/<category>.svg``, else generic)."""
    key = (category or "layer").lower()
    if key not in _icon_cache:
        path = ICON_DIR / f"{key}.svg"
        _icon_cache[key] = QIcon(str(path if path.exists() else ICON_DIR / "layer.svg"))
    return _icon_cache[key]


def scrolled_page(page: QWidget, name: str) -> QScrollArea:
    """``page`` in a frameless scroll area, so a central tab never makes the window taller
    or wider than the screen (the central tabs' minimum is their largest page's): a small
    window scrolls the page instead."""
    scroll = QScrollArea()
    scroll.setObjectName(name)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QScrollArea.Shape.NoFrame)
    scroll.setWidget(page)
    scroll.setMinimumSize(200, 150)
    return scroll


class WindowLayout:
    def __init__(self, window: Any):
        self.window = window

    # ------------------------------------------------------------------ widgets
    def build_widgets(self) -> None:
        from PySide6.QtWidgets import QApplication

        from widgets.wheel_guard import install_wheel_guard

        install_wheel_guard(QApplication.instance())  # the wheel scrolls forms, not values
        self._build_builder()
        self._build_summary()
        self._build_compare()
        self._build_docks()
        self._build_status_bar()

    def _build_builder(self) -> None:
        from widgets.layer_palette import LayerPalette
        from widgets.property_editor import PropertyEditor
        from widgets.stack_model import StackModel
        from widgets.stack_view import StackView

        w = self.window
        w.palette = LayerPalette(w)
        w.palette.setMinimumWidth(170)
        w.stack_model = StackModel(w)
        w.stack_model.set_icon_provider(category_icon)
        w.stack_view = StackView(w.stack_model, w)
        w.property_editor = PropertyEditor(w)

        stack_panel = QWidget(w)
        stack_layout = QVBoxLayout(stack_panel)
        stack_layout.setContentsMargins(4, 4, 4, 4)
        heading = QLabel(
            "<b>Model</b> — drag layers here; Ctrl+↑/↓ move, Del removes, Ctrl+D duplicates"
        )
        heading.setObjectName("stackHeading")
        heading.setWordWrap(True)
        stack_layout.addWidget(heading)
        stack_layout.addWidget(w.stack_view, 1)

        w.builder_splitter = QSplitter(Qt.Orientation.Horizontal, w)
        w.builder_splitter.setObjectName("builderSplitter")
        w.builder_splitter.addWidget(w.palette)
        w.builder_splitter.addWidget(stack_panel)
        w.builder_splitter.addWidget(w.property_editor)
        w.builder_splitter.setStretchFactor(0, 0)
        w.builder_splitter.setStretchFactor(1, 1)
        w.builder_splitter.setStretchFactor(2, 0)
        w.builder_splitter.setSizes([190, 390, 300])
        w.builder_splitter.setChildrenCollapsible(False)

        w.tabs = QTabWidget(w)
        w.tabs.setObjectName("centralTabs")
        w.tabs.setDocumentMode(True)
        w.tabs.addTab(w.builder_splitter, "Builder")
        w.setCentralWidget(w.tabs)

    def _build_summary(self) -> None:
        from widgets.summary_view import SummaryView

        w = self.window
        w.summary_page = SummaryView(w)
        w.summary_text = w.summary_page.summary_text
        w.config_text = w.summary_page.config_text
        w.tabs.addTab(w.summary_page, "Summary")

    def _build_compare(self) -> None:
        from app.compare_workspace import CompareWorkspace

        w = self.window
        w.compare = CompareWorkspace(w)
        w.compare_page = scrolled_page(w.compare, "comparePage")
        w.tabs.addTab(w.compare_page, "Compare")

    def _add_dock(self, title: str, name: str, widget: QWidget, area) -> QDockWidget:
        w = self.window
        dock = QDockWidget(title, w)
        dock.setObjectName(name)
        dock.setWidget(widget)
        dock.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        w.addDockWidget(area, dock)
        w.docks[name] = dock
        return dock

    def _build_docks(self) -> None:
        from app.runs_panel import RunsPanel
        from widgets.dataset_panel import DatasetPanel
        from widgets.live_curves import LiveCurves
        from widgets.log_view import LogView
        from widgets.train_progress import TrainProgress
        from widgets.training_panel import TrainingPanel

        w = self.window
        w.docks = {}
        right = Qt.DockWidgetArea.RightDockWidgetArea
        # The settings docks at the right take the full height; curves span the rest.
        w.setCorner(Qt.Corner.BottomRightCorner, right)
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea

        w.dataset_panel = DatasetPanel(w)
        dataset_dock = self._add_dock("Dataset", "datasetDock", w.dataset_panel, right)
        w.progress = TrainProgress(w)
        progress_dock = self._add_dock("Progress", "progressDock", w.progress, right)
        w.splitDockWidget(dataset_dock, progress_dock, Qt.Orientation.Vertical)
        w.training_panel = TrainingPanel(w)
        training_dock = self._add_dock("Training", "trainingDock", w.training_panel, right)
        w.tabifyDockWidget(dataset_dock, training_dock)
        training_dock.raise_()

        w.curves = LiveCurves(w)
        curves_dock = self._add_dock("Curves", "curvesDock", w.curves, bottom)
        w.log_view = LogView(w)
        log_dock = self._add_dock("Log", "logDock", w.log_view, bottom)
        w.tabifyDockWidget(curves_dock, log_dock)
        w.runs_panel = RunsPanel(w)
        w.runs_panel.set_curves_widget(w.curves)
        runs_dock = self._add_dock("Runs", "runsDock", w.runs_panel, bottom)
        w.tabifyDockWidget(curves_dock, runs_dock)
        curves_dock.raise_()

    def _build_status_bar(self) -> None:
        w = self.window
        status = w.statusBar()
        status.setObjectName("statusBar")
        w.analysis_label = QLabel(w)
        w.analysis_label.setObjectName("analysisLabel")
        w.device_label = QLabel("Device: …", w)
        w.device_label.setObjectName("deviceLabel")
        status.addPermanentWidget(w.analysis_label)
        status.addPermanentWidget(w.device_label)
        status.showMessage("Loading TensorFlow…")

    # ------------------------------------------------------------------ actions and menus
    def build_actions(self) -> None:
        w = self.window
        style = w.style()
        undo_stack = w.document.undo_stack
        pixmap = style.StandardPixmap

        def action(text, slot=None, shortcut=None, name=None, icon=None) -> QAction:
            item = QAction(text, w)
            if shortcut is not None:
                item.setShortcut(QKeySequence(shortcut))
            if slot is not None:
                item.triggered.connect(slot)
            if name:
                item.setObjectName(name)
            if icon is not None:
                item.setIcon(style.standardIcon(icon))
            return item

        keys = QKeySequence.StandardKey
        w.new_action = action("&New", w.new_project, keys.New, "newAction", pixmap.SP_FileIcon)
        w.open_action = action(
            "&Open…", w.files.open_dialog, keys.Open, "openAction", pixmap.SP_DialogOpenButton
        )
        w.save_action = action("&Save", w.save, keys.Save, "saveAction", pixmap.SP_DialogSaveButton)
        w.save_as_action = action("Save &As…", w.files.save_as, keys.SaveAs, "saveAsAction")
        w.export_action = action("&Export Trained Model…", w.export_model, "Ctrl+E", "exportAction")
        w.export_action.setEnabled(False)
        w.quit_action = action("&Quit", w.close, keys.Quit, "quitAction")
        w.undo_action = undo_stack.createUndoAction(w, "&Undo")
        w.undo_action.setShortcut(keys.Undo)
        w.undo_action.setObjectName("undoAction")
        w.redo_action = undo_stack.createRedoAction(w, "&Redo")
        w.redo_action.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        w.redo_action.setObjectName("redoAction")
        w.train_action = action(
            "&Train", w.train, "Ctrl+Return", "trainAction", pixmap.SP_MediaPlay
        )
        w.pause_action = action("&Pause", w.toggle_pause, None, "pauseAction", pixmap.SP_MediaPause)
        w.stop_action = action("&Stop", w.stop_training, None, "stopAction", pixmap.SP_MediaStop)
        w.pause_action.setEnabled(False)
        w.stop_action.setEnabled(False)
        w.find_layer_action = action(
            "&Find Layer…", w.focus_palette_search, keys.Find, "findLayerAction"
        )

    def build_menus(self) -> None:
        w = self.window
        bar = w.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addActions([w.new_action, w.open_action])
        w.recent_menu = file_menu.addMenu("Open &Recent")
        w.recent_menu.setObjectName("recentMenu")
        w.recent_menu.aboutToShow.connect(lambda: w.files.menus.fill_recent_menu(w.recent_menu))
        file_menu.addSeparator()
        file_menu.addActions([w.save_action, w.save_as_action, w.export_action])
        file_menu.addSeparator()
        file_menu.addAction(w.quit_action)

        edit_menu = bar.addMenu("&Edit")
        edit_menu.addActions([w.undo_action, w.redo_action])
        edit_menu.addSeparator()
        edit_menu.addActions(w.stack_view.list.actions())
        edit_menu.addSeparator()
        edit_menu.addAction(w.find_layer_action)

        from app.embedding_flow import EmbeddingFlow

        w.embedding_flow = EmbeddingFlow(w)
        model_menu = bar.addMenu("&Model")
        model_menu.setObjectName("modelMenu")
        model_menu.setToolTipsVisible(True)  # a disabled item's tooltip says why
        model_menu.addAction(w.embedding_flow.action)

        w.templates_menu = bar.addMenu("&Templates")
        w.templates_menu.setToolTipsVisible(True)
        w.templates_menu.setObjectName("templatesMenu")
        w.files.menus.fill_templates_menu(w.templates_menu)

        train_menu = bar.addMenu("T&raining")
        train_menu.addActions([w.train_action, w.pause_action, w.stop_action])
        train_menu.addSeparator()
        for name in ("search_action", "repeat_action", "kfold_action"):
            if hasattr(w, name):
                train_menu.addAction(getattr(w, name))

        view_menu = bar.addMenu("&View")
        for dock in w.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        view_menu.addAction("Show &Builder", lambda: w.tabs.setCurrentIndex(0), "Ctrl+1")
        view_menu.addAction("Show &Summary", lambda: w.tabs.setCurrentIndex(1), "Ctrl+2")
        view_menu.addAction("Show &Graph", lambda: w.tabs.setCurrentWidget(w.graph_page), "Ctrl+3")
        view_menu.addAction(
            "Show &Compare", lambda: w.tabs.setCurrentWidget(w.compare_page), "Ctrl+4"
        ).setObjectName("showCompareAction")

        help_menu = bar.addMenu("&Help")
        help_menu.addAction("&About LayerLab", self._about)

        toolbar = w.addToolBar("Main")
        toolbar.setObjectName("mainToolBar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toolbar.addActions([w.new_action, w.open_action, w.save_action])
        toolbar.addSeparator()
        for item, icon in (
            (w.undo_action, QStyle.StandardPixmap.SP_ArrowBack),
            (w.redo_action, QStyle.StandardPixmap.SP_ArrowForward),
        ):
            item.setIcon(w.style().standardIcon(icon))
            button = QToolButton(toolbar)
            button.setDefaultAction(item)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            button.setAutoRaise(True)
            toolbar.addWidget(button)
        toolbar.addSeparator()
        toolbar.addActions([w.train_action, w.pause_action, w.stop_action])

    def _about(self) -> None:
        QMessageBox.about(
            self.window,
            "About LayerLab",
            "<b>LayerLab</b><br>Design, train and compare Keras Sequential networks.<br>"
            "Keras is the source of truth: a project holds exactly "
            "<tt>Sequential.get_config()</tt>.",
        )

    # ------------------------------------------------------------------ saved layout
    def default_dock_sizes(self) -> None:
        """Sizes for a first launch: a wide builder, curves below, settings at the right."""
        w = self.window
        w.resizeDocks([w.docks["curvesDock"]], [300], Qt.Orientation.Vertical)
        w.resizeDocks([w.docks["datasetDock"]], [410], Qt.Orientation.Horizontal)
        w.resizeDocks(
            [w.docks["trainingDock"], w.docks["progressDock"]],
            [520, 70],
            Qt.Orientation.Vertical,
        )
        width = w.builder_splitter.width() or 880
        w.builder_splitter.setSizes([215, width - 215 - 290, 290])

    def fit_to_screen(self, width: int, height: int) -> None:
        """A first size of ``width`` × ``height``, but never larger than the screen's
        available area (a 1024×700 screen showed a 1280×800 window cut off)."""
        w = self.window
        screen = w.screen() or QGuiApplication.primaryScreen()
        if screen is not None:
            room = screen.availableGeometry()
            frame = 40  # title bar and borders the window manager adds
            width = min(width, room.width())
            height = min(height, room.height() - frame)
        w.resize(width, height)

    def restore(self) -> None:
        w = self.window
        geometry = w.settings.window_geometry()
        if geometry is not None:
            w.restoreGeometry(geometry)
        state = w.settings.window_state()
        splitter = w.settings.splitter_state("builder")
        if splitter is not None:
            w.builder_splitter.restoreState(splitter)
        if state is not None:
            w.restoreState(state)
        else:
            QTimer.singleShot(0, self.default_dock_sizes)

    def save(self) -> None:
        w = self.window
        w.settings.save_window_layout(w.saveGeometry(), w.saveState())
        w.settings.save_splitter_state("builder", w.builder_splitter.saveState())
        w.settings.sync()

    # ------------------------------------------------------------------ Keras-derived choices
    @staticmethod
    def offered_callbacks() -> dict[str, dict]:
        """The callbacks a project may hold (engine.project's allowlist) with Keras's own
        defaults read from their signatures. TerminateOnNaN is always on, so not offered."""
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
