"""The Compare workspace (objectName ``compareWorkspace``): find runs, select any number,
see their curves together, and write notes, tags and a colour on each.

Left: a filter (``compareFilter``: words, ``tag:NAME`` or ``/regex/``, see
``engine.run_notes.run_matches``), the runs table (``compareTable``, the same columns as the
Runs panel), and the details of the current run (colour, tags, notes). Right: the compare
plot (``widgets.compare_curves.CompareCurves``) of the selected runs. "Whole window"
(``maximiseButton``, F11-like ``Ctrl+Shift+M``) hides the docks so the workspace takes the
whole window, and brings them back.

The workspace keeps no copy of the runs: ``set_project`` is called with the document's
project after every change, and edits go out as ``projectEdited(new_project)`` (the window
puts the runs into the document, like a rename in the Runs panel).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QColorDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from engine import run_notes, smoothing
from engine import runs as records
from engine.errors import LayerLabError
from engine.identity_memo import IdentityMemo
from widgets.adaptive_splitter import AdaptiveSplitter
from widgets.compare_curves import CompareCurves, CompareSeries
from widgets.run_table import RunTableView


def compare_series(run: dict, color: str) -> CompareSeries:
    """A run record as the compare plot's plain data: history, best epochs and x values for
    the epoch, relative-time and wall-clock axes (``engine.smoothing.x_values``)."""
    history = {key: list(values) for key, values in (run.get("history") or {}).items() if values}
    best = {
        key: int(entry["epoch"])
        for key, entry in (run.get("best") or {}).items()
        if isinstance(entry, dict) and isinstance(entry.get("epoch"), int)
    }
    return CompareSeries(
        key=str(run.get("id")),
        label=str(run.get("name", run.get("id"))),
        color=color,
        history=history,
        x={axis: smoothing.x_values(run, axis) for axis in ("relative", "wall")},
        best_epoch=best,
    )


class CompareWorkspace(QWidget):
    projectEdited = Signal(object)
    maximiseToggled = Signal(bool)
    statusMessage = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("compareWorkspace")
        self.project: dict = {"runs": []}
        self._changes: dict[str, list[str]] = {}
        self._stale = False  # the project changed since the table was brought up to date
        self._changes_memo = IdentityMemo()
        self._shown_details: str | None = None

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("compareFilter")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setPlaceholderText("Filter runs: words, tag:NAME or /regex/")
        self.filter_edit.setAccessibleName("Filter runs")
        self.filter_edit.textChanged.connect(self._on_filter)
        self.filter_problem = QLabel()
        self.filter_problem.setObjectName("compareFilterProblem")
        self.filter_problem.setStyleSheet("color: #c81e2d;")
        self.filter_problem.hide()
        self.count_label = QLabel()
        self.count_label.setObjectName("compareCount")
        self.maximise_button = QPushButton("Whole window")
        self.maximise_button.setObjectName("maximiseButton")
        self.maximise_button.setCheckable(True)
        self.maximise_button.setShortcut(QKeySequence("Ctrl+Shift+M"))
        self.maximise_button.setToolTip(
            "Hide the other panels so the comparison takes the whole window (Ctrl+Shift+M)"
        )
        self.maximise_button.toggled.connect(self.maximiseToggled)
        self.export_button = QPushButton("Export selected…")
        self.export_button.setObjectName("compareExportButton")
        self.export_button.setToolTip(
            "Write the selected runs as one tidy table (run, epoch, metric, value and each "
            "run's hyperparameters): CSV or JSON"
        )
        self.export_button.clicked.connect(self.export_dialog)

        self._table = RunTableView(self)
        self._table.setObjectName("compareTable")
        self._table.selectionChangedRuns.connect(self._on_selection)
        self._table.run_model.renameRequested.connect(self._on_rename)

        self.details = QGroupBox("Run")
        self.details.setObjectName("compareDetails")
        self.color_button = QPushButton("Colour…")
        self.color_button.setObjectName("runColorButton")
        self.color_button.clicked.connect(self._choose_color)
        self.tags_edit = QLineEdit()
        self.tags_edit.setObjectName("runTagsEdit")
        self.tags_edit.setPlaceholderText("e.g. lstm, dropout")
        self.tags_edit.editingFinished.connect(self._commit_tags)
        self.notes_edit = QPlainTextEdit()
        self.notes_edit.setObjectName("runNotesEdit")
        self.notes_edit.setPlaceholderText("Notes on this run (saved with the project)")
        self.notes_edit.setTabChangesFocus(True)
        self.notes_edit.setMaximumHeight(90)
        self._notes_timer = QTimer(self)
        self._notes_timer.setSingleShot(True)
        self._notes_timer.setInterval(800)
        self._notes_timer.timeout.connect(self._commit_notes)
        self.notes_edit.textChanged.connect(self._notes_timer.start)
        form = QFormLayout(self.details)
        tags_label = QLabel("&Tags:")
        tags_label.setBuddy(self.tags_edit)
        notes_label = QLabel("&Notes:")
        notes_label.setBuddy(self.notes_edit)
        form.addRow("", self.color_button)
        form.addRow(tags_label, self.tags_edit)
        form.addRow(notes_label, self.notes_edit)

        self.curves = CompareCurves(self)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.filter_edit, 1)
        top.addWidget(self.count_label)
        left_layout.addLayout(top)
        left_layout.addWidget(self.filter_problem)
        left_layout.addWidget(self._table, 1)
        left_layout.addWidget(self.details)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(self.export_button)
        bar.addWidget(self.maximise_button)
        right_layout.addLayout(bar)
        right_layout.addWidget(self.curves, 1)
        # Side by side when the workspace is wide (the whole window), stacked otherwise.
        self.splitter = AdaptiveSplitter(0.45)
        self.splitter.setObjectName("compareSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        # The central tabs must not make the window wider than 1024 px with the docks open.
        self.setMinimumSize(320, 240)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.splitter)
        self._show_details(None)

    # ------------------------------------------------------------------ project
    def set_project(self, project: dict) -> None:
        """Show ``project``'s runs (the document's project; called after each change).

        While the workspace is hidden (another tab is on top) the table is brought up to
        date only when shown or asked for (``table``): a search adds a run a second."""
        self.project = project
        self._stale = True
        if self.isVisible():
            self._bring_up_to_date()

    @property
    def table(self) -> RunTableView:
        """The runs table (objectName ``compareTable``), up to date with the project."""
        self._bring_up_to_date()
        return self._table

    def _bring_up_to_date(self) -> None:
        if not self._stale:
            return
        self._stale = False
        self._changes = records.compared_changes(self.runs(), memo=self._changes_memo)
        self._refresh()

    def showEvent(self, event) -> None:
        self._bring_up_to_date()
        super().showEvent(event)

    def reset(self) -> None:
        """Another project is open: nothing selected, the filter kept."""
        self._notes_timer.stop()
        self._table.select_runs([])
        self.curves.set_series([])
        self._show_details(None)

    def runs(self) -> list[dict]:
        return list(self.project.get("runs") or [])

    def visible_runs(self) -> list[dict]:
        self._bring_up_to_date()
        query = self.filter_edit.text()
        return [
            run
            for run in self.runs()
            if run_notes.run_matches(run, query, "; ".join(self._changes.get(run.get("id"), [])))
        ]

    def _refresh(self) -> None:
        visible = self.visible_runs()
        metric = next((m for m in map(records.main_metric, reversed(visible)) if m), None)
        self._table.set_runs(visible, self._changes, metric)
        total = len(self.runs())
        self.count_label.setText(
            f"{len(visible)} of {total} runs"
            if len(visible) != total
            else f"{total} run{'s' if total != 1 else ''}"
        )
        self._on_selection(self._table.selected_run_ids())

    def _on_filter(self, text: str) -> None:
        problem = run_notes.query_problem(text)
        self.filter_problem.setText(problem or "")
        self.filter_problem.setVisible(bool(problem))
        self._stale = True
        self._bring_up_to_date()

    # ------------------------------------------------------------------ selection
    def selected_runs(self) -> list[dict]:
        chosen = set(self.table.selected_run_ids())
        return [run for run in self.runs() if run.get("id") in chosen]

    def _on_selection(self, run_ids: list[str]) -> None:
        positions = {run.get("id"): i for i, run in enumerate(self.runs())}
        chosen = [run for run in self.runs() if run.get("id") in set(run_ids)]
        # a selected group row (all its members chosen): one mean line with a ±1 std band
        model = self._table.run_model
        rows = {run.get("id"): run for run in model.runs()}
        series, covered = [], set()
        for row_id, members in model.group_members().items():
            if set(members) <= set(run_ids) and row_id in rows:
                first = next(r for r in chosen if r.get("id") == members[0])
                line = compare_series(
                    rows[row_id], run_notes.run_color(first, positions[first["id"]])
                )
                line.std = dict(rows[row_id].get("group_std") or {})
                series.append(line)
                covered |= set(members)
        series += [
            compare_series(run, run_notes.run_color(run, positions[run["id"]]))
            for run in chosen
            if run.get("id") not in covered
        ]
        self.curves.set_series(series)
        self._show_details(chosen[-1] if chosen else None)
        self.export_button.setEnabled(bool(chosen))

    def _show_details(self, run: dict | None) -> None:
        if self._notes_timer.isActive():
            self._commit_notes()
        self._shown_details = run.get("id") if run else None
        self.details.setEnabled(run is not None)
        self.details.setTitle(f"Run: {run.get('name')}" if run else "Run (select one)")
        position = next(
            (i for i, r in enumerate(self.runs()) if run and r.get("id") == run.get("id")), 0
        )
        color = run_notes.run_color(run, position) if run else "#808080"
        swatch = QPixmap(14, 14)
        swatch.fill(QColor(color))
        self.color_button.setIcon(QIcon(swatch))
        self.tags_edit.blockSignals(True)
        self.tags_edit.setText(", ".join(run.get("tags") or []) if run else "")
        self.tags_edit.blockSignals(False)
        self.notes_edit.blockSignals(True)
        self.notes_edit.setPlainText(str(run.get("notes") or "") if run else "")
        self.notes_edit.blockSignals(False)

    # ------------------------------------------------------------------ export
    def export_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export selected runs", "runs.csv", "CSV table (*.csv);;JSON (*.json)"
        )
        if path:
            if not Path(path).suffix:
                path += ".json" if "json" in chosen.lower() else ".csv"
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        """Write the selected runs' tidy table to ``path`` (``.json``: JSON, else CSV)."""
        from engine.export import tidy_csv, tidy_json
        from engine.files import atomic_write_text

        runs = self.selected_runs()
        text = tidy_json(runs) if path.suffix.lower() == ".json" else tidy_csv(runs)
        try:
            atomic_write_text(path, text)
        except OSError as error:
            self.statusMessage.emit(
                f"Could not write {path.name}: {error.strerror or error}. Choose another folder."
            )
            return
        self.statusMessage.emit(f"Wrote {len(runs)} runs to {path.name}.")

    # ------------------------------------------------------------------ edits
    def _annotate(self, **fields) -> None:
        run_id = self._shown_details
        if run_id is None:
            return
        try:
            edited = run_notes.annotate_run(self.project, run_id, **fields)
        except LayerLabError as error:
            self.statusMessage.emit(error.message)
            return
        if edited["runs"] != self.runs():
            self.projectEdited.emit(edited)

    def _commit_tags(self) -> None:
        self._annotate(tags=self.tags_edit.text())

    def _commit_notes(self) -> None:
        self._notes_timer.stop()
        self._annotate(notes=self.notes_edit.toPlainText())

    def _choose_color(self) -> None:
        run_id = self._shown_details
        run = next((r for r in self.runs() if r.get("id") == run_id), None)
        if run is None:
            return
        position = [r.get("id") for r in self.runs()].index(run_id)
        chosen = QColorDialog.getColor(
            QColor(run_notes.run_color(run, position)), self, f"Colour of {run.get('name')}"
        )
        if chosen.isValid():
            self._annotate(color=chosen.name())

    def _on_rename(self, run_id: str, name: str) -> None:
        try:
            edited = records.rename_run(self.project, run_id, name)
        except LayerLabError as error:
            self.statusMessage.emit(error.message)
            return
        self.projectEdited.emit(edited)
