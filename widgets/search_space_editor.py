"""Editing a search space (``project["search"]["space"]``, see ``engine.search``) from plain data.

- ``default_entry(path, hint)``: a first space entry for a setting, from a *hint* the
  editors give: ``{"label", "kind": "int" | "float" | "choice" | "layer", "value",
  "choices", "minimum", "maximum"}`` (a number's range spans its value ÷4…×4, log scaled;
  a choice setting offers its choices; a layer is switched on and off).
- ``SearchEntryDialog``: a small dialog editing one entry: low/high and log/linear for a
  range, or a list of values (checkable when the hint knows the choices, else typed, comma
  separated). ``entry()`` is the result; ``problem()`` says what is wrong, or None.
- ``SearchSpaceList``: the space as a list with Edit… and Remove; ``spaceEdited(list)``
  fires with the whole new space (the owner stores it as one undo step).
"""

from __future__ import annotations

import contextlib
import copy
import math
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)


def short_path(path: str) -> str:
    """``model.layers[1].config.units`` → ``layers[1].units``; ``fit.batch_size`` →
    ``batch_size``; ``compile.optimizer.config.learning_rate`` → ``learning_rate``."""
    text = path.replace(".config.", ".")
    for prefix in ("model.", "compile.", "fit."):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if text.startswith("optimizer.") and text != "optimizer.class_name":
        text = text[len("optimizer.") :]
    if text == "optimizer.class_name":
        text = "optimizer"
    return text


def describe(entry: dict) -> str:
    """One line for an entry: ``layers[1].units: 4 … 16 (log)``."""
    name = short_path(str(entry.get("path", "")))
    kind = entry.get("type")
    if kind in ("int", "float"):
        scale = "log" if entry.get("log") else "linear"
        return f"{name}: {entry.get('low')} … {entry.get('high')} ({scale})"
    if kind == "categorical":
        return f"{name}: one of {', '.join(str(c) for c in entry.get('choices') or [])}"
    if kind == "layer_on_off":
        return f"{name}: layer on / off"
    return name


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def default_entry(path: str, hint: dict) -> dict:
    """A first search entry for the setting at ``path`` (see the module docstring)."""
    kind = hint.get("kind")
    value = hint.get("value")
    low_limit, high_limit = hint.get("minimum"), hint.get("maximum")
    if kind == "layer":
        return {"path": path, "type": "layer_on_off"}
    if kind in ("int", "float") and _is_number(value):
        if kind == "int":
            value = int(value)
            low, high = max(1, value // 4), max(value * 4, 2)
            if _is_number(low_limit):
                low = max(low, math.ceil(low_limit))
            if _is_number(high_limit):
                high = min(high, int(high_limit))
            if high <= low:
                high = low + 1
            return {"path": path, "type": "int", "low": low, "high": high, "log": low > 0}
        if value > 0 and not (_is_number(high_limit) and high_limit <= 1):
            low, high = value / 10, value * 10
            return {
                "path": path,
                "type": "float",
                "low": _round(low),
                "high": _round(high),
                "log": True,
            }
        low = float(low_limit) if _is_number(low_limit) else 0.0
        high = float(high_limit) if _is_number(high_limit) else max(1.0, value * 2)
        if _is_number(high_limit) and high_limit <= 1:
            high = min(high, max(0.5, value * 2 if value else 0.5))
        return {"path": path, "type": "float", "low": low, "high": high, "log": False}
    choices = [c for c in hint.get("choices") or [] if c is not None]
    if value is not None and value not in choices:
        choices.insert(0, value)
    if kind == "bool" or isinstance(value, bool):
        choices = [True, False]
    return {"path": path, "type": "categorical", "choices": choices[:3] or [value]}


def _round(value: float) -> float:
    return float(f"{value:.3g}")


def parse_value(text: str) -> Any:
    """A typed choice: a number when it reads as one, true/false/null, else the text."""
    text = text.strip()
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered in ("null", "none"):
        return None
    with contextlib.suppress(ValueError):  # not an integer: perhaps a float, else text
        return int(text)
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else text


class SearchEntryDialog(QDialog):
    """Edit one search entry (objectName ``searchEntryDialog``)."""

    def __init__(
        self,
        path: str,
        hint: dict,
        entry: dict | None = None,
        parent: QWidget | None = None,
    ):
        super().__init__(parent)
        self.setObjectName("searchEntryDialog")
        self.setWindowTitle("Search this setting")
        self.path = path
        self.hint = dict(hint)
        start = copy.deepcopy(entry) if entry else default_entry(path, hint)
        numeric = self.hint.get("kind") in ("int", "float") or start.get("type") in (
            "int",
            "float",
        )
        layout = QVBoxLayout(self)
        title = QLabel(f"<b>{self.hint.get('label') or short_path(path)}</b> <tt>{path}</tt>")
        title.setWordWrap(True)
        layout.addWidget(title)
        self.layer_note = QLabel("Each trial trains the model with this layer, or without it.")
        self.layer_note.setWordWrap(True)
        layout.addWidget(self.layer_note)

        self.range_radio = QRadioButton("A &range")
        self.range_radio.setObjectName("searchRangeRadio")
        self.values_radio = QRadioButton("A list of &values")
        self.values_radio.setObjectName("searchValuesRadio")
        group = QButtonGroup(self)
        group.addButton(self.range_radio)
        group.addButton(self.values_radio)
        kinds = QHBoxLayout()
        kinds.addWidget(self.range_radio)
        kinds.addWidget(self.values_radio)
        kinds.addStretch(1)
        layout.addLayout(kinds)

        self.range_box = QWidget()
        form = QFormLayout(self.range_box)
        form.setContentsMargins(0, 0, 0, 0)
        self.low_edit = QLineEdit()
        self.low_edit.setObjectName("searchLow")
        self.high_edit = QLineEdit()
        self.high_edit.setObjectName("searchHigh")
        self.log_check = QCheckBox("&Log scale (each decade as likely)")
        self.log_check.setObjectName("searchLog")
        form.addRow("&Low:", self.low_edit)
        form.addRow("&High:", self.high_edit)
        form.addRow("", self.log_check)
        layout.addWidget(self.range_box)

        self.values_box = QWidget()
        values_layout = QVBoxLayout(self.values_box)
        values_layout.setContentsMargins(0, 0, 0, 0)
        self.choice_list = QListWidget()
        self.choice_list.setObjectName("searchChoices")
        self.values_edit = QLineEdit()
        self.values_edit.setObjectName("searchValues")
        self.values_edit.setPlaceholderText("Values, comma separated: 16, 32, 64")
        values_layout.addWidget(self.choice_list)
        values_layout.addWidget(self.values_edit)
        layout.addWidget(self.values_box)

        self.problem_label = QLabel("")
        self.problem_label.setObjectName("searchEntryProblem")
        self.problem_label.setStyleSheet("color: #b03030;")
        self.problem_label.setWordWrap(True)
        layout.addWidget(self.problem_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

        layer = start.get("type") == "layer_on_off"
        self._start_type = start.get("type")
        self.layer_note.setVisible(layer)
        self._numeric = numeric and not layer
        for widget in (self.range_radio, self.values_radio):
            widget.setVisible(self._numeric)
        self._fill(start)
        self.range_radio.toggled.connect(self._show_kind)
        self._show_kind()

    def _fill(self, entry: dict) -> None:
        kind = entry.get("type")
        numeric_default = entry if kind in ("int", "float") else default_entry(self.path, self.hint)
        if numeric_default.get("type") in ("int", "float"):
            self.low_edit.setText(str(numeric_default.get("low")))
            self.high_edit.setText(str(numeric_default.get("high")))
            self.log_check.setChecked(bool(numeric_default.get("log")))
        known = [c for c in self.hint.get("choices") or [] if c is not None]
        chosen = list(entry.get("choices") or []) if kind == "categorical" else []
        if known:
            for choice in [*known, *(c for c in chosen if c not in known)]:
                item = QListWidgetItem(str(choice))
                item.setData(Qt.ItemDataRole.UserRole, choice)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                item.setCheckState(
                    Qt.CheckState.Checked if choice in chosen else Qt.CheckState.Unchecked
                )
                self.choice_list.addItem(item)
            self.values_edit.hide()
        else:
            self.choice_list.hide()
            if not chosen and self.hint.get("kind") in ("int", "float"):
                value = self.hint.get("value")
                if _is_number(value):
                    chosen = sorted(
                        {value, value * 2, max(1, value // 2)}
                        if isinstance(value, int)
                        else {value, value * 10, value / 10}
                    )
            self.values_edit.setText(", ".join(str(c) for c in chosen))
        (self.values_radio if kind == "categorical" else self.range_radio).setChecked(True)
        self._layer = kind == "layer_on_off"

    def _show_kind(self, *_args) -> None:
        if self._layer:
            self.range_box.hide()
            self.values_box.hide()
            return
        ranged = self._numeric and self.range_radio.isChecked()
        self.range_box.setVisible(ranged)
        self.values_box.setVisible(not ranged)

    def entry(self) -> dict | None:
        """The edited entry, or None while it is not valid (``problem()`` says why)."""
        return self._read()[0]

    def problem(self) -> str | None:
        return self._read()[1]

    def _read(self) -> tuple[dict | None, str | None]:
        if self._layer:
            return {"path": self.path, "type": "layer_on_off"}, None
        if self._numeric and self.range_radio.isChecked():
            integer = self.hint.get("kind") == "int" or (
                self.hint.get("kind") is None and self._start_type == "int"
            )
            try:
                low = (int if integer else float)(self.low_edit.text().strip())
                high = (int if integer else float)(self.high_edit.text().strip())
            except ValueError:
                what = "whole numbers" if integer else "numbers"
                return None, f"Low and high must be {what}."
            if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
                return None, "Low must be below high."
            log = self.log_check.isChecked()
            if log and low <= 0:
                return None, "A log scale needs low above 0; untick Log scale or raise low."
            kind = "int" if integer else "float"
            return {"path": self.path, "type": kind, "low": low, "high": high, "log": log}, None
        if self.choice_list.count():
            choices = [
                self.choice_list.item(i).data(Qt.ItemDataRole.UserRole)
                for i in range(self.choice_list.count())
                if self.choice_list.item(i).checkState() == Qt.CheckState.Checked
            ]
        else:
            choices = [parse_value(t) for t in self.values_edit.text().split(",") if t.strip()]
        unique = []
        for choice in choices:
            if choice not in unique:
                unique.append(choice)
        if len(unique) < 2:
            return None, "Choose at least two values to search among."
        return {"path": self.path, "type": "categorical", "choices": unique}, None

    def accept(self) -> None:
        problem = self.problem()
        if problem:
            self.problem_label.setText(problem)
            return
        super().accept()


class SearchSpaceList(QWidget):
    """The search space as a list (objectName ``searchSpaceList``); Edit… / Remove."""

    spaceEdited = Signal(object)  # the whole new space (list of entries)
    editRequested = Signal(int)  # the row's entry: the owner opens a SearchEntryDialog

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("searchSpaceList")
        self._space: list[dict] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget(self)
        self.list.setObjectName("searchSpaceItems")
        self.list.itemDoubleClicked.connect(lambda _item: self._edit())
        self.list.currentRowChanged.connect(self._update_buttons)
        layout.addWidget(self.list, 1)
        row = QHBoxLayout()
        self.edit_button = QPushButton("&Edit…")
        self.edit_button.setObjectName("searchEditButton")
        self.remove_button = QPushButton("Re&move")
        self.remove_button.setObjectName("searchRemoveButton")
        self.edit_button.clicked.connect(self._edit)
        self.remove_button.clicked.connect(self._remove)
        row.addWidget(self.edit_button)
        row.addWidget(self.remove_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.empty_hint = QLabel(
            "Right-click a setting in the layer properties or the Training panel and choose "
            "“Search this setting…”."
        )
        self.empty_hint.setWordWrap(True)
        self.empty_hint.setObjectName("searchSpaceHint")
        layout.addWidget(self.empty_hint)
        self._update_buttons()

    def set_space(self, space: list[dict]) -> None:
        row = self.list.currentRow()
        self._space = copy.deepcopy(list(space))
        self.list.clear()
        for entry in self._space:
            item = QListWidgetItem(describe(entry))
            item.setToolTip(str(entry.get("path")))
            self.list.addItem(item)
        if 0 <= row < self.list.count():
            self.list.setCurrentRow(row)
        self.empty_hint.setVisible(not self._space)
        self._update_buttons()

    def space(self) -> list[dict]:
        return copy.deepcopy(self._space)

    def _update_buttons(self, *_args) -> None:
        selected = 0 <= self.list.currentRow() < len(self._space)
        self.edit_button.setEnabled(selected)
        self.remove_button.setEnabled(selected)

    def _edit(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self._space):
            self.editRequested.emit(row)

    def _remove(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self._space):
            space = self.space()
            del space[row]
            self.spaceEdited.emit(space)
