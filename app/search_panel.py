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
    QPushButton,
    QSpinBox,
    QSplitter,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from widgets.parallel_coordinates import ImportanceBars, ParallelCoordinates, ParetoPlot
from widgets.search_space_editor import SearchSpaceList

OBJECTIVE_METRICS = ("val_loss", "val_accuracy", "loss", "accuracy")


def default_workers() -> int:
    """One worker per two cores (at least one)."""
    return max(1, (os.cpu_count() or 2) // 2)


class SearchPanel(QWidget):
    startRequested = Signal()
    stopRequested = Signal()
    applyBestRequested = Signal()
    objectiveEdited = Signal(object)  # the block's new "objective" value

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("searchPanel")
        self._updating = False
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.setObjectName("searchSplitter")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(splitter)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
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
        left_layout.addWidget(run_box)

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
        for widget in (self.space_list, self.trials_spin, self.workers_spin, self.epochs_spin):
            widget.setEnabled(not running)

    def set_status(self, text: str) -> None:
        self.status_label.setText(text)
