"""The Runs panel's widgets and layout (``app.runs_panel.RunsPanel`` builds itself with
``build``): the runs table, the "Compare with" base, the run buttons and the Export menu,
and the evaluation view beside (or under) the table."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPushButton,
    QToolButton,
    QVBoxLayout,
)

from app import run_exports
from app.run_exports import EXPORT_KINDS
from widgets.adaptive_splitter import AdaptiveSplitter
from widgets.evaluation_view import EvaluationView
from widgets.run_table import RunTableView


def build(panel: Any) -> None:
    """Make ``panel``'s widgets (its attributes) and connect them to its slots."""
    panel.table = RunTableView(panel)
    panel.table.run_model.renameRequested.connect(panel._on_rename_requested)
    panel.table.selectionChangedRuns.connect(panel._on_selection_changed)
    panel.table.doubleClicked.connect(panel._on_double_clicked)

    panel.base_combo = QComboBox()
    panel.base_combo.setObjectName("compareBase")
    panel.base_combo.setToolTip("What the Changes column compares each run with")
    # Room for "the previous run" (it was cut to "the previ" at 1280×800).
    panel.base_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
    panel.base_combo.setMinimumContentsLength(16)
    panel.base_combo.currentIndexChanged.connect(panel._on_base_chosen)

    def button(text, name, slot, tip):
        widget = QPushButton(text)
        widget.setObjectName(name)
        widget.setToolTip(tip)
        widget.clicked.connect(slot)
        return widget

    panel.evaluate_button = button(
        "Evaluate", "evaluateButton", panel.evaluate_selected, "Evaluate on the test part"
    )
    panel.restore_button = button(
        "Edit a copy",
        "restoreRunButton",
        panel._on_restore,
        "Load this run's model, data and training settings into the editor",
    )
    panel.rerun_button = button(
        "Re-run", "rerunButton", panel._on_rerun, "Train again with this run's settings"
    )
    panel.delete_button = button(
        "Delete…", "deleteRunButton", panel.delete_selected, "Delete the run and its weights"
    )
    panel.export_button = QToolButton()
    panel.export_button.setObjectName("exportButton")
    panel.export_button.setText("Export")
    panel.export_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    menu = QMenu(panel.export_button)
    panel.export_actions: dict[str, QAction] = {}
    for kind, (text, _, _) in EXPORT_KINDS.items():
        action = menu.addAction(text)
        action.setObjectName(f"export_{kind}")
        action.triggered.connect(lambda _checked=False, k=kind: panel.export_dialog(k))
        panel.export_actions[kind] = action
    panel.export_button.setMenu(menu)
    menu.setToolTipsVisible(True)
    run_exports.mark_unavailable(panel.export_actions)

    panel.delete_action = QAction("Delete run", panel.table)
    panel.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
    panel.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
    panel.delete_action.triggered.connect(panel.delete_selected)
    panel.table.addAction(panel.delete_action)

    bar = QHBoxLayout()
    bar.addWidget(QLabel("Compare with:"))
    bar.addWidget(panel.base_combo)
    bar.addStretch(1)
    for widget in (
        panel.evaluate_button,
        panel.restore_button,
        panel.rerun_button,
        panel.delete_button,
        panel.export_button,
    ):
        bar.addWidget(widget)

    panel.evaluation = EvaluationView(panel)
    panel.evaluation.predictRequested.connect(panel.predict)
    from app.inspect_flow import InspectFlow  # layer outputs and explanations

    panel.inspect_flow = InspectFlow(panel)
    # The table gets most of the width: its best values and Changes column are what users
    # compare (at 1280×800 the Changes column was off-screen with a 60 % share).
    panel.splitter = AdaptiveSplitter(first_share=0.7)
    panel.splitter.addWidget(panel.table)
    panel.splitter.addWidget(panel.evaluation)
    panel.splitter.setStretchFactor(0, 7)
    panel.splitter.setStretchFactor(1, 3)
    panel.splitter.setSizes([490, 210])
    layout = QVBoxLayout(panel)
    layout.addLayout(bar)
    layout.addWidget(panel.splitter, 1)
    panel._update_buttons()
