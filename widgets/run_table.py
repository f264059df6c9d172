"""The runs table: one row per recorded run, sortable, the name editable in place.

``RunTableModel`` shows plain run records (``engine.runs`` dicts) and the "changes" lines
the owner computed; it never edits them — renaming emits ``renameRequested(run_id, name)``
and the owner changes the project (through an undo command). ``RunTableView`` (objectName
``runTable``) sorts through a proxy on each column's natural value (numbers as numbers).
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView, QWidget

from engine.textfmt import elapsed_text

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 2
HINT_COLOR = QColor(200, 120, 0)
FAILED_COLOR = QColor(190, 40, 40)
_NOT_METRICS = frozenset({"loss", "learning_rate", "lr"})
_LOWER_IS_BETTER = ("loss", "error", "mae", "mse", "mape", "msle", "hinge", "crossentropy")


def _best_text(entry) -> tuple[str, float | None]:
    if not isinstance(entry, dict) or entry.get("value") is None:
        return "—", None
    value = float(entry["value"])
    return f"{value:.4g} (ep {int(entry.get('epoch', 0)) + 1})", value


def run_metric(run: dict) -> str | None:
    """The run's own main metric besides the loss: the first other metric it logged (or,
    for a run without history, the first of its test metrics or best values)."""
    keys = [
        *(run.get("history") or {}),
        *(run.get("test_metrics") or {}),
        *(key.removeprefix("val_") for key in run.get("best") or {}),
    ]
    for key in keys:
        if key.startswith("val_") or key in _NOT_METRICS:
            continue
        return key
    return None


def status_text(run: dict) -> str:
    status = str(run.get("status", ""))
    if status == "early_stopped":
        return f"early-stopped at epoch {run.get('epochs_completed', 0)}"
    return status


class RunTableModel(QAbstractTableModel):
    """Rows: runs in recorded order. Columns: see :meth:`columns`.

    The metric columns show each run's own main metric: when every run logged the same one
    (``metric``) the headers name it ("Best val_accuracy") and the cells hold numbers; when
    runs differ (a classification run, then a regression one) the headers say "Best metric"
    and each cell names its metric ("val_mae 0.31 (ep 4)"). Never "—" for a metric a run
    did record."""

    renameRequested = Signal(object, object)  # run id, new name

    def __init__(self, parent=None):
        super().__init__(parent)
        self._runs: list[dict] = []
        self._changes: dict[str, list[str]] = {}
        self._metric: str | None = None

    # -- contents ----------------------------------------------------------------------------

    def set_runs(
        self, runs: list[dict], changes: dict[str, list[str]], metric: str | None = None
    ) -> None:
        self.beginResetModel()
        self._runs = list(runs)
        self._changes = dict(changes)
        self._metric = metric
        self.endResetModel()

    def runs(self) -> list[dict]:
        return list(self._runs)

    def run_at(self, row: int) -> dict:
        return self._runs[row]

    def row_of(self, run_id: str) -> int:
        for row, run in enumerate(self._runs):
            if run.get("id") == run_id:
                return row
        return -1

    def shared_metric(self) -> str | None:
        """The metric every run (that logged one) shares, else None; the headers name it."""
        metrics = {run_metric(run) for run in self._runs} - {None}
        if len(metrics) > 1:
            return None
        if metrics:
            return metrics.pop()
        return self._metric

    def columns(self) -> list[str]:
        names = ["Name", "Status", "Epochs", "Best val_loss"]
        shared = self.shared_metric()
        if shared:
            names += [f"Best val_{shared}", f"Test {shared}"]
        elif any(run_metric(run) for run in self._runs):
            names += ["Best metric", "Test metric"]
        else:
            names.append("Test loss")
        # what differs and what went wrong before the bookkeeping: a narrow table shows them
        return [*names, "Changes", "Hint", "Time", "Started"]

    # -- Qt model interface ------------------------------------------------------------------

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._runs)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns())

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            columns = self.columns()
            return columns[section] if 0 <= section < len(columns) else None
        return str(section + 1)

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == 0:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._runs):
            return None
        run = self._runs[index.row()]
        column = self.columns()[index.column()]
        if role == RUN_ID_ROLE:
            return run.get("id")
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            return self._cell(run, column)[0]
        if role == SORT_ROLE:
            return self._cell(run, column)[1]
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(run, column)
        if role == Qt.ItemDataRole.ForegroundRole:
            if column == "Hint" and run.get("overfitting"):
                return QBrush(HINT_COLOR)
            if column == "Status" and run.get("status") == "failed":
                return QBrush(FAILED_COLOR)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in ("Epochs", "Time"):
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

    # -- cells -------------------------------------------------------------------------------

    def _cell(self, run: dict, column: str):
        """(text shown, value sorted on)."""
        best = run.get("best") or {}
        if column == "Name":
            name = str(run.get("name", ""))
            return name, name.lower()
        if column == "Status":
            text = status_text(run)
            return text, text
        if column == "Epochs":
            epochs = int(run.get("epochs_completed") or 0)
            return str(epochs), epochs
        if column == "Best val_loss":
            return _best_text(best.get("val_loss"))
        if column.startswith("Best "):
            return self._best_metric_cell(run, column.removeprefix("Best "))
        if column.startswith("Test "):
            return self._test_cell(run, column.removeprefix("Test "))
        if column == "Time":
            seconds = float(run.get("seconds") or 0.0)
            return elapsed_text(seconds), seconds
        if column == "Started":
            started = str(run.get("started_at") or "")
            return started.replace("T", " ")[:19], started
        if column == "Changes":
            text = "; ".join(self._changes.get(run.get("id"), [])) or "—"
            return text, text
        if column == "Hint":
            hint = run.get("overfitting")
            if not isinstance(hint, dict):
                return "", ""
            text = f"⚠ overfitting after epoch {int(hint.get('epoch', 0)) + 1}"
            return text, int(hint.get("epoch", 0))
        return "", ""

    def _best_metric_cell(self, run: dict, header: str):
        """``header`` is ``val_<metric>`` (the shared metric) or ``metric`` (runs differ)."""
        best = run.get("best") or {}
        if header != "metric" and best.get(header) is not None:
            return _best_text(best.get(header))
        own = run_metric(run)
        if own is None:
            return "—", None
        for key in (f"val_{own}", own):
            if isinstance(best.get(key), dict) and best[key].get("value") is not None:
                text, value = _best_text(best[key])
                return f"{key} {text}", value
        return "—", None

    def _test_cell(self, run: dict, header: str):
        """``header`` is the shared metric, ``loss``, or ``metric`` (runs differ: each cell
        names the run's own metric, or its test loss when it has no metric)."""
        tests = run.get("test_metrics") or {}
        if header != "metric":
            value = tests.get(header)
            return ("—", None) if value is None else (f"{float(value):.4g}", float(value))
        for key in (run_metric(run), "loss"):
            if key and tests.get(key) is not None:
                value = float(tests[key])
                return f"{key} {value:.4g}", value
        return "—", None

    def _tooltip(self, run: dict, column: str) -> str | None:
        if column == "Hint" and isinstance(run.get("overfitting"), dict):
            return run["overfitting"].get("message")
        if column == "Status":
            return run.get("message") or None
        if column == "Changes":
            return "\n".join(self._changes.get(run.get("id"), [])) or None
        if column == "Name":
            return f"{run.get('name')} — {run.get('device', '')}, id {run.get('id')}"
        return None


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
        self.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.run_model.modelReset.connect(self._on_model_reset)

    def set_runs(self, runs, changes, metric=None) -> None:
        selected = self.selected_run_ids()
        self.run_model.set_runs(runs, changes, metric)
        self.select_runs(selected)

    def selected_run_ids(self) -> list[str]:
        rows = sorted(
            {self.proxy.mapToSource(index).row() for index in self.selectionModel().selectedRows()}
        )
        return [self.run_model.run_at(row).get("id") for row in rows]

    def select_runs(self, run_ids: list[str]) -> None:
        """Select exactly these runs (one ``selectionChangedRuns``)."""
        selection = QItemSelection()
        current = None
        for run_id in run_ids:
            row = self.run_model.row_of(run_id)
            if row < 0:
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

    def _on_model_reset(self) -> None:
        self.resizeColumnsToContents()
        for column in range(self.run_model.columnCount()):
            if self.columnWidth(column) > 260:
                self.setColumnWidth(column, 260)  # the whole text is in the tooltip

    def _on_selection_changed(self, *_args) -> None:
        if self._quiet:
            return
        self.selectionChangedRuns.emit(self.selected_run_ids())
