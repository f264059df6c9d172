"""The runs table: one row per recorded run, sortable, the name editable in place.

``RunTableModel`` shows plain run records (``engine.runs`` dicts) and the "changes" lines
the owner computed; it never edits them — renaming emits ``renameRequested(run_id, name)``
and the owner changes the project (through an undo command). ``RunTableView`` (objectName
``runTable``) sorts through a proxy on each column's natural value (numbers as numbers).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QAction, QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QStyle, QTableView, QWidget

from engine import overfitting
from engine.identity_memo import IdentityMemo
from engine.run_columns import RunTable, run_columns, run_metric, shared_metric

__all__ = ["RUN_ID_ROLE", "SORT_ROLE", "RunTableModel", "RunTableView", "run_metric"]

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 2
COLUMN_KEY_ROLE = Qt.ItemDataRole.UserRole + 3  # header: the column's key (best:val_loss)
HINT_COLOR = QColor(200, 120, 0)
FAILED_COLOR = QColor(190, 40, 40)
CHANGES_MIN_WIDTH = 160  # px: the Changes column fills the table's visible width, at least this
CHANGES_MAX_WIDTH = 600  # px: and at most this (its whole text is in the tooltip)
COLUMN_WIDTH = 200  # px: any other column's width at most
FIT_ROWS = 200  # rows measured when every column is fitted again (Qt's default is 1,000)


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    if len(values) < 2:
        return mean, 0.0
    return mean, math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def summarize(runs: list[dict]) -> dict:
    """Members' best values and per-epoch curves as mean/std/n (sample std, as
    ``engine.groups.summarize``, which the widgets may not import: it reaches the worker)."""
    best: dict[str, dict] = {}
    for metric in sorted({key for run in runs for key in (run.get("best") or {})}):
        values = [
            float(run["best"][metric]["value"])
            for run in runs
            if isinstance((run.get("best") or {}).get(metric), dict)
            and isinstance(run["best"][metric].get("value"), int | float)
        ]
        if values:
            mean, std = _mean_std(values)
            best[metric] = {"mean": mean, "std": std, "n": len(values)}
    curves: dict[str, dict] = {}
    for name in sorted({key for run in runs for key in (run.get("history") or {})}):
        series = [list((run.get("history") or {}).get(name) or []) for run in runs]
        means, stds = [], []
        for epoch in range(max((len(s) for s in series), default=0)):
            values = [
                float(s[epoch])
                for s in series
                if epoch < len(s) and isinstance(s[epoch], int | float) and math.isfinite(s[epoch])
            ]
            mean, std = _mean_std(values) if values else (None, None)
            means.append(mean)
            stds.append(std)
        curves[name] = {"mean": means, "std": stds}
    return {"best": best, "curves": curves}


def collapse_groups(
    runs: list[dict], changes: dict[str, list[str]]
) -> tuple[list[dict], dict[str, list[str]], dict[str, list[str]]]:
    """``runs`` with each group's members (runs sharing ``run["group"]``) as ONE row where
    its first member was: a group record whose best values are the members' mean ± std
    (as ``engine.groups.summarize``). Returns (rows, changes, {group row id: member ids})."""
    by_group: dict[str, list[dict]] = {}
    for run in runs:
        if isinstance(run.get("group"), str):
            by_group.setdefault(run["group"], []).append(run)
    rows, members, changes = [], {}, dict(changes)
    for run in runs:
        gid = run.get("group")
        if not isinstance(gid, str) or len(by_group[gid]) < 2:
            rows.append(run)
            continue
        row_id = f"group:{gid}"
        if row_id in members:
            continue
        group = by_group[gid]
        summary = summarize(group)
        first = group[0]
        means = {k: v["mean"] for k, v in summary["curves"].items()}
        # the hint on the members' mean curves (one noisy member is not the group's trend)
        hint = overfitting.detect(means)
        label = str(first.get("name", "group")).split(": ", 1)[0]
        rows.append(
            {
                "id": row_id,
                "name": f"{label} (group of {len(group)})",
                "status": "group",
                "epochs_completed": max(int(r.get("epochs_completed") or 0) for r in group),
                "seconds": sum(float(r.get("seconds") or 0) for r in group),
                "best": {k: {"value": v["mean"], **v} for k, v in summary["best"].items()},
                "history": means,
                "overfitting": hint.to_dict() if hint is not None else None,
                "group_std": {k: v["std"] for k, v in summary["curves"].items()},
                "parameter_count": first.get("parameter_count"),
                "snapshot": first.get("snapshot"),
                "started_at": first.get("started_at"),
                "test_metrics": None,
            }
        )
        members[row_id] = [r.get("id") for r in group]
        changes[row_id] = changes.get(first.get("id"), [])
    return rows, changes, members


def status_text(run: dict) -> str:
    status = str(run.get("status", ""))
    if status == "early_stopped":
        return f"early-stopped at epoch {run.get('epochs_completed', 0)}"
    return status


class RunTableModel(QAbstractTableModel):
    """Rows: runs in recorded order. Columns: ``engine.run_columns.run_columns``'s.

    The metric columns show each run's own main metric: when every run logged the same one
    (``metric``) the headers name it ("Best val_accuracy") and the cells hold numbers; when
    runs differ (a classification run, then a regression one) the headers say "Best metric"
    and each cell names its metric ("val_mae 0.31 (ep 4)"). Never "—" for a metric a run
    did record. Each column sorts on its value (numbers as numbers, runs without one first
    in ascending order)."""

    renameRequested = Signal(object, object)  # run id, new name

    def __init__(self, parent=None):
        super().__init__(parent)
        self._runs: list[dict] = []
        self._changes: dict[str, list[str]] = {}
        self._metric: str | None = None
        self._table = RunTable()
        self._row_memo = IdentityMemo()  # rows of runs shown before (engine.run_columns)
        self.group_rows = True  # a group's members as one mean ± std row
        self._members: dict[str, list[str]] = {}

    # -- contents ----------------------------------------------------------------------------

    def set_runs(
        self,
        runs: list[dict],
        changes: dict[str, list[str]],
        metric: str | None = None,
        params: Callable[[dict], int | None] | None = None,
    ) -> None:
        """Show ``runs`` with their ``changes`` lines; ``metric`` names the metric columns
        when no run logged one; ``params(run)`` gives a run's parameter count (without it:
        the count stored with the run, if any).

        When the columns stay and the rows shown so far stay in front (a search adds runs
        at the end), the new rows are inserted and changed cells reported, and views keep
        their selection, scroll position and column widths; otherwise the model is reset.
        Returns True when it was reset."""
        members: dict[str, list[str]] = {}
        if self.group_rows:
            runs, changes, members = collapse_groups(list(runs), dict(changes))
        runs, changes = list(runs), dict(changes)
        table = run_columns(runs, changes, metric, params, self._row_memo)
        old = self._table
        kept = len(old.run_ids)
        if table.columns != old.columns or table.run_ids[:kept] != old.run_ids:
            self.beginResetModel()
            self._runs, self._changes, self._metric = runs, changes, metric
            self._members, self._table = members, table
            self.endResetModel()
            return True
        changed = [row for row in range(kept) if table.rows[row] != old.rows[row]]
        if len(table.run_ids) > kept:
            self.beginInsertRows(QModelIndex(), kept, len(table.run_ids) - 1)
        self._runs, self._changes, self._metric = runs, changes, metric
        self._members, self._table = members, table
        if len(table.run_ids) > kept:
            self.endInsertRows()
        last = self.columnCount() - 1
        for row in changed:
            self.dataChanged.emit(self.index(row, 0), self.index(row, last))
        return False

    def runs(self) -> list[dict]:
        return list(self._runs)

    def run_at(self, row: int) -> dict:
        return self._runs[row]

    def row_of(self, run_id: str) -> int:
        """The row showing ``run_id`` (a group member: its group's row when collapsed)."""
        for row, run in enumerate(self._runs):
            if run.get("id") == run_id or run_id in self._members.get(run.get("id"), ()):
                return row
        return -1

    def member_ids(self, row: int) -> list[str]:
        """The run ids a row stands for: a group row's members, else the one run."""
        run_id = self._runs[row].get("id")
        return list(self._members.get(run_id, [run_id]))

    def group_members(self) -> dict[str, list[str]]:
        return {key: list(value) for key, value in self._members.items()}

    def table(self) -> RunTable:
        """The plain table shown (columns, cells, run ids)."""
        return self._table

    def shared_metric(self) -> str | None:
        """The metric every run (that logged one) shares, else None; the headers name it."""
        return shared_metric(self._runs, self._metric)

    def columns(self) -> list[str]:
        return self._table.headers()

    def column_of(self, key: str) -> int:
        """The column of key ``key`` (``changes``, ``best:val_loss`` …), or -1."""
        keys = self._table.column_keys()
        return keys.index(key) if key in keys else -1

    # -- Qt model interface ------------------------------------------------------------------

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._runs)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._table.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return str(section + 1) if role == Qt.ItemDataRole.DisplayRole else None
        columns = self._table.columns
        if not 0 <= section < len(columns):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return columns[section].header
        if role == Qt.ItemDataRole.ToolTipRole:
            return columns[section].tooltip or None
        if role == COLUMN_KEY_ROLE:
            return columns[section].key
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0 and self._runs[index.row()].get("id") not in self._members:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._runs):
            return None
        if not 0 <= index.column() < len(self._table.columns):
            return None
        run = self._runs[index.row()]
        column = self._table.columns[index.column()]
        cell = self._table.rows[index.row()][index.column()]
        if role == RUN_ID_ROLE:
            return run.get("id")
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return cell.text
        if role == SORT_ROLE:
            return cell.sort
        if role == Qt.ItemDataRole.ToolTipRole:
            return cell.tooltip or None
        if role == Qt.ItemDataRole.ForegroundRole:
            if column.key == "hint" and run.get("overfitting"):
                return QBrush(HINT_COLOR)
            if column.key == "status" and run.get("status") == "failed":
                return QBrush(FAILED_COLOR)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        if not index.isValid() or index.column() != 0 or role != Qt.ItemDataRole.EditRole:
            return False
        name = str(value).strip()
        run = self._runs[index.row()]
        if not name or name == run.get("name"):
            return False
        self.renameRequested.emit(run.get("id"), name)
        return True


class _SortProxy(QSortFilterProxyModel):
    def lessThan(self, left, right) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        if a is None or b is None:
            return a is None and b is not None
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)


class RunTableView(QTableView):
    """The runs table (objectName ``runTable``); ``selectionChangedRuns(list_of_ids)``."""

    selectionChangedRuns = Signal(object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("runTable")
        self._quiet = False
        self.run_model = RunTableModel(self)
        self.proxy = _SortProxy(self)
        self.proxy.setSourceModel(self.run_model)
        self.setModel(self.proxy)
        self.setSortingEnabled(True)
        self.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
        )
        self.setAlternatingRowColors(True)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self._fitting = False
        self._changes_sized_by_user = False
        # what the columns were last fitted to: their keys, each run id's cell texts, and
        # the Changes column's widest cell (None: measure it again)
        self._fitted_keys: tuple = ()
        self._fitted: dict[str, tuple] = {}
        self._changes_wanted: int | None = None
        self._fit_pending = False
        header.setResizeContentsPrecision(FIT_ROWS)
        header.sectionResized.connect(self._on_section_resized)
        self.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.run_model.modelReset.connect(self._fit_columns)
        self.run_model.rowsInserted.connect(lambda *_: self._fit_columns())
        self.run_model.dataChanged.connect(lambda *_: self._fit_columns())
        self._last: tuple | None = None
        self.group_rows_action = QAction("Show groups as one row (mean ± std)", self)
        self.group_rows_action.setObjectName("groupRowsAction")
        self.group_rows_action.setCheckable(True)
        self.group_rows_action.setChecked(True)
        self.group_rows_action.toggled.connect(
            lambda on: on != self.run_model.group_rows and self.set_group_rows(on)
        )
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        header.addAction(self.group_rows_action)

    def set_group_rows(self, collapsed: bool) -> None:
        """Show each group as one mean ± std row (True) or all its members (False)."""
        self.run_model.group_rows = bool(collapsed)
        self.group_rows_action.setChecked(bool(collapsed))
        if self._last is not None:
            self.set_runs(*self._last)

    def set_runs(self, runs, changes, metric=None, params=None) -> None:
        self._last = (runs, changes, metric, params)
        selected = self.selected_run_ids()
        if self.run_model.set_runs(runs, changes, metric, params):
            self.select_runs(selected)  # (rows added or changed in place keep theirs)

    def selected_run_ids(self) -> list[str]:
        rows = sorted(
            {self.proxy.mapToSource(index).row() for index in self.selectionModel().selectedRows()}
        )
        ids: list[str] = []
        for row in rows:
            ids += [i for i in self.run_model.member_ids(row) if i not in ids]
        return ids  # a group row stands for its members

    def select_runs(self, run_ids: list[str]) -> None:
        """Select exactly these runs (one ``selectionChangedRuns``)."""
        selection = QItemSelection()
        current = None
        for run_id in run_ids:
            row = self.run_model.row_of(run_id)
            if row < 0:
                continue
            if run_id not in self.run_model.member_ids(row):
                continue  # a member of a collapsed group: only all of them select its row
            members = self.run_model.member_ids(row)
            if len(members) > 1 and not set(members) <= set(run_ids):
                continue
            index = self.proxy.mapFromSource(self.run_model.index(row, 0))
            selection.select(index, index)
            current = index
        model = self.selectionModel()
        flags = QItemSelectionModel.SelectionFlag
        self._quiet = True
        try:
            if current is not None:
                model.setCurrentIndex(current, flags.NoUpdate)
            model.select(selection, flags.ClearAndSelect | flags.Rows)
        finally:
            self._quiet = False
        self._on_selection_changed()

    def _fit_columns(self) -> None:
        """Fit the columns to their contents. When the columns are the ones fitted last,
        only rows that are new or changed are measured and may widen them (a search adds a
        row at a time: measuring every cell again cost 120 ms at 100 runs, on the GUI
        thread); otherwise (other columns, or mostly other rows) every column is fitted again."""
        if not self.isVisible():
            self._fit_pending = True  # measured when shown (a hidden tab's table)
            return
        self._fit_pending = False
        table = self.run_model.table()
        keys = tuple(table.column_keys())
        texts = {
            run_id: tuple(cell.text for cell in row)
            for run_id, row in zip(table.run_ids, table.rows, strict=False)
        }
        changed = [
            row
            for row, run_id in enumerate(table.run_ids)
            if self._fitted.get(run_id) != texts[run_id]
        ]
        self._fitting = True
        try:
            if keys != self._fitted_keys or len(changed) > len(texts) // 2:
                self.resizeColumnsToContents()
                for column in range(self.run_model.columnCount()):
                    if self.columnWidth(column) > COLUMN_WIDTH:
                        self.setColumnWidth(column, COLUMN_WIDTH)  # the whole text: the tooltip
                self._changes_wanted = None
            elif changed:
                self._widen_for(changed)
        finally:
            self._fitting = False
        self._fitted_keys, self._fitted = keys, texts
        self._fit_changes()

    def _widen_for(self, rows: list[int]) -> None:
        """Widen columns (up to ``COLUMN_WIDTH``) to fit the cells of these source rows.

        The cells are plain text: their width is the text's advance plus the item margins
        the style adds (as the delegate's size hint, a 30th of its cost)."""
        changes = self.run_model.column_of("changes")
        metrics = self.fontMetrics()
        style = self.style()
        margin = 2 * (style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, self) + 1)
        extra = margin + 1 + (1 if self.showGrid() else 0)  # (+1: fractional advances)
        table = self.run_model.table()
        for column in range(self.run_model.columnCount()):
            wanted = max(metrics.horizontalAdvance(table.rows[row][column].text) for row in rows)
            wanted += extra
            if column == changes:
                self._changes_wanted = max(self._changes_wanted or 0, wanted)
            elif wanted > self.columnWidth(column):
                self.setColumnWidth(column, min(wanted, COLUMN_WIDTH))

    def _fit_changes(self) -> None:
        """Give the Changes column the rest of the visible width (so it is on screen without
        scrolling), as much as its text needs, at least ``CHANGES_MIN_WIDTH`` — unless the
        user has sized it by hand."""
        column = self.run_model.column_of("changes")
        if column < 0 or self._changes_sized_by_user:
            return
        header = self.horizontalHeader()
        available = self.viewport().width() - header.sectionPosition(column)
        if self._changes_wanted is None:
            self._changes_wanted = self.sizeHintForColumn(column)
        wanted = max(self._changes_wanted, header.sectionSizeHint(column))
        width = min(wanted, max(available, CHANGES_MIN_WIDTH), CHANGES_MAX_WIDTH)
        self._fitting = True
        try:
            self.setColumnWidth(column, max(width, header.sectionSizeHint(column)))
        finally:
            self._fitting = False

    def _on_section_resized(self, column: int, _old: int, _new: int) -> None:
        if not self._fitting and column == self.run_model.column_of("changes"):
            self._changes_sized_by_user = True

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._fit_pending:
            self._fit_columns()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._fit_changes()

    def _on_selection_changed(self, *_args) -> None:
        if self._quiet:
            return
        self.selectionChangedRuns.emit(self.selected_run_ids())
