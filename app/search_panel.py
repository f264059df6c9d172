"""The Search tab (objectName ``searchPanel``): the space, objective, trials and workers,
Start/Stop and progress on the left; the trials' views on the right (parallel coordinates,
parameter importance, the Pareto front of two objectives) with "Apply best to the model".

A plain view: it shows what ``SearchFlow`` gives it and emits what the user asks for.
"""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from widgets.parallel_coordinates import ImportanceBars, ParallelCoordinates, ParetoPlot
from widgets.search_space_editor import SearchSpaceList

OBJECTIVE_METRICS = ("val_loss", "val_accuracy", "loss", "accuracy")
# The search block's "sampler" and "pruner" values (engine.search.SAMPLERS / PRUNERS)
SAMPLER_CHOICES = (
    ("tpe", "TPE (learns from finished trials)"),
    ("random", "Random"),
)
PRUNER_CHOICES = (
    ("median", "Stop trials behind the median"),
    ("none", "Never stop a trial early"),
)


def default_workers() -> int:
    """One worker per two cores (at least one)."""
    return max(1, (os.cpu_count() or 2) // 2)


class SearchPanel(QWidget):
    startRequested = Signal()
    stopRequested = Signal()
    applyBestRequested = Signal()
    objectiveEdited = Signal(object)  # the block's new "objective" value
    engineEdited = Signal(object)  # {"sampler", "pruner", "storage"}: the block's new values

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("searchPanel")
        self._updating = False
        self._engine_shown: tuple = (None, None, None)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setObjectName("searchSplitter")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        # Start/Stop first: the tab is short at 1280×800 with the docks open
        buttons = QHBoxLayout()
        style = self.style()
        self.start_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Start &search"
        )
        self.start_button.setObjectName("searchStartButton")
        self.stop_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Sto&p"
        )
        self.stop_button.setObjectName("searchStopButton")
        self.stop_button.setEnabled(False)
        self.start_button.clicked.connect(self.startRequested)
        self.stop_button.clicked.connect(self.stopRequested)
        buttons.addWidget(self.start_button, 2)
        buttons.addWidget(self.stop_button, 1)
        left_layout.addLayout(buttons)
        self.status_label = QLabel("")
        self.status_label.setObjectName("searchStatus")
        self.status_label.setWordWrap(True)
        left_layout.addWidget(self.status_label)
        space_box = QGroupBox("Settings to search")
        space_layout = QVBoxLayout(space_box)
        self.space_list = SearchSpaceList()
        space_layout.addWidget(self.space_list)
        left_layout.addWidget(space_box, 1)

        run_box = QGroupBox("Search")
        form = QFormLayout(run_box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.metric_combo = QComboBox()
        self.metric_combo.setObjectName("searchMetric")
        self.metric_combo.setEditable(True)
        self.metric_combo.addItems(OBJECTIVE_METRICS)
        self.metric_combo.setToolTip("The metric whose best epoch scores a trial")
        self.direction_combo = QComboBox()
        self.direction_combo.setObjectName("searchDirection")
        self.direction_combo.addItem("minimize", "minimize")
        self.direction_combo.addItem("maximize", "maximize")
        self.size_check = QCheckBox("Also keep the model small (parameter count)")
        self.size_check.setObjectName("searchSizeObjective")
        self.size_check.setToolTip(
            "Two objectives: the metric and the parameter count; the Pareto front shows the "
            "smallest models for each score"
        )
        self.trials_spin = QSpinBox()
        self.trials_spin.setObjectName("searchTrials")
        self.trials_spin.setRange(1, 10_000)
        self.trials_spin.setValue(20)
        self.workers_spin = QSpinBox()
        self.workers_spin.setObjectName("searchWorkers")
        self.workers_spin.setRange(1, max(64, os.cpu_count() or 1))
        self.workers_spin.setValue(default_workers())
        self.workers_spin.setToolTip("Trials trained at once, each in its own process")
        self.epochs_spin = QSpinBox()
        self.epochs_spin.setObjectName("searchEpochs")
        self.epochs_spin.setRange(0, 100_000)
        self.epochs_spin.setSpecialValueText("the project's")
        self.epochs_spin.setToolTip("Epochs per trial (the project's by default)")
        form.addRow("&Metric:", self.metric_combo)
        form.addRow("&Direction:", self.direction_combo)
        form.addRow("", self.size_check)
        form.addRow("T&rials:", self.trials_spin)
        form.addRow("&Workers:", self.workers_spin)
        form.addRow("&Epochs per trial:", self.epochs_spin)
        self.sampler_combo = QComboBox()
        self.sampler_combo.setObjectName("searchSampler")
        for value, text in SAMPLER_CHOICES:
            self.sampler_combo.addItem(text, value)
        self.sampler_combo.setToolTip("How Optuna picks the next trial's values")
        self.pruner_combo = QComboBox()
        self.pruner_combo.setObjectName("searchPruner")
        for value, text in PRUNER_CHOICES:
            self.pruner_combo.addItem(text, value)
        self.pruner_combo.setToolTip(
            "Stop a trial whose validation metric lags the median of earlier trials at the "
            "same epoch (not with two objectives)"
        )
        self.storage_edit = QLineEdit()
        self.storage_edit.setObjectName("searchStorage")
        self.storage_edit.setClearButtonEnabled(True)
        self.storage_edit.setPlaceholderText("beside the project (PROJECT.optuna.db)")
        self.storage_edit.setToolTip(
            "Where the study is kept, so a search can be resumed: empty for an SQLite file "
            "beside the project, or a database URL (e.g. postgresql://host/db) that several "
            "machines share"
        )
        self.engine_section = QCollapsible(
            "Optuna: sampler, pruning, storage", expandedIcon="▼", collapsedIcon="▶"
        )
        self.engine_section.setObjectName("searchEngineSection")
        engine_box = QWidget()
        engine_form = QFormLayout(engine_box)
        engine_form.setContentsMargins(0, 0, 0, 0)
        engine_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        engine_form.addRow("Sa&mpler:", self.sampler_combo)
        engine_form.addRow("Pr&uning:", self.pruner_combo)
        engine_form.addRow("Stu&dy storage:", self.storage_edit)
        self.engine_section.addWidget(engine_box)
        self.engine_section.layout().setContentsMargins(0, 0, 0, 0)
        form.addRow(self.engine_section)
        left_layout.addWidget(run_box)

        splitter.addWidget(left)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        self.views = QTabWidget()
        self.views.setObjectName("searchViews")
        self.parallel = ParallelCoordinates()
        self.importance = ImportanceBars()
        self.pareto = ParetoPlot()
        self.views.addTab(self.parallel, "Parallel coordinates")
        self.views.addTab(self.importance, "Importance")
        self.views.addTab(self.pareto, "Pareto front")
        right_layout.addWidget(self.views, 1)
        best_row = QHBoxLayout()
        self.best_label = QLabel("")
        self.best_label.setObjectName("searchBest")
        self.best_label.setWordWrap(True)
        self.apply_button = QPushButton("&Apply best to the model")
        self.apply_button.setObjectName("searchApplyBest")
        self.apply_button.setEnabled(False)
        self.apply_button.clicked.connect(self.applyBestRequested)
        best_row.addWidget(self.best_label, 1)
        best_row.addWidget(self.apply_button)
        right_layout.addLayout(best_row)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([330, 700])
        left.setMinimumWidth(260)

        self.metric_combo.activated.connect(self._on_objective)
        self.metric_combo.lineEdit().editingFinished.connect(self._on_objective)
        self.direction_combo.activated.connect(self._on_objective)
        self.size_check.toggled.connect(self._on_objective)
        self.sampler_combo.activated.connect(self._on_engine)
        self.pruner_combo.activated.connect(self._on_engine)
        self.storage_edit.editingFinished.connect(self._on_engine)

    # ------------------------------------------------------------------ showing
    def set_objective(self, goals: list[dict]) -> None:
        """Show the block's objectives (``engine.search.objectives``). Emits nothing."""
        self._updating = True
        try:
            first = goals[0] if goals else {"metric": "val_loss", "direction": "minimize"}
            self.metric_combo.setCurrentText(first["metric"])
            self.direction_combo.setCurrentIndex(
                self.direction_combo.findData(first.get("direction", "minimize"))
            )
            self.size_check.setChecked(
                len(goals) > 1 and goals[1].get("metric") == "parameter_count"
            )
        finally:
            self._updating = False

    def set_engine(self, block: dict) -> None:
        """Show the block's sampler, pruner and storage (defaults when unset). Emits
        nothing."""
        self._updating = True
        try:
            for combo, key, default in (
                (self.sampler_combo, "sampler", "tpe"),
                (self.pruner_combo, "pruner", "median"),
            ):
                index = combo.findData(block.get(key) or default)
                combo.setCurrentIndex(max(0, index))
            storage = block.get("storage") or ""
            if self.storage_edit.text() != storage:
                self.storage_edit.setText(storage)
            values = tuple(block.get(key) for key in ("sampler", "pruner", "storage"))
            if values != self._engine_shown and any(values):
                self.engine_section.expand(animate=False)  # what is not the default shows
            self._engine_shown = values
            self.pruner_combo.setEnabled(not self.size_check.isChecked() and self._idle())
        finally:
            self._updating = False

    def engine(self) -> dict:
        return {
            "sampler": self.sampler_combo.currentData(),
            "pruner": self.pruner_combo.currentData(),
            "storage": self.storage_edit.text().strip() or None,
        }

    def _on_engine(self, *_args) -> None:
        if not self._updating:
            self.engineEdited.emit(self.engine())

    def _idle(self) -> bool:
        return not self.stop_button.isEnabled()

    def objective(self) -> dict | list[dict]:
        metric = self.metric_combo.currentText().strip() or "val_loss"
        first = {"metric": metric, "direction": self.direction_combo.currentData()}
        if self.size_check.isChecked():
            return [first, {"metric": "parameter_count", "direction": "minimize"}]
        return first

    def _on_objective(self, *_args) -> None:
        if not self._updating:
            self.objectiveEdited.emit(self.objective())

    def set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.stop_button.setEnabled(running)
        for widget in (
            self.space_list,
            self.trials_spin,
            self.workers_spin,
            self.epochs_spin,
            self.sampler_combo,
            self.storage_edit,
        ):
            widget.setEnabled(not running)
        self.pruner_combo.setEnabled(not running and not self.size_check.isChecked())

    def set_status(self, text: str) -> None:
        self.status_label.setText(text)
