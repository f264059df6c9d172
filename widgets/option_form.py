"""A form generated from option descriptions, one editor per option kind.

An *option* is any object with the attributes ``name, kind, default, choices, help,
minimum, maximum`` (``engine.datasets.OptionInfo`` has them; so does :class:`Option`).
Kinds and their editors:

=========  ==========================================================  ===================
kind       editor                                                      value
=========  ==========================================================  ===================
int        spin box (a ``default`` of None adds a "none" step)          int | None
float      spin box, decimals from the default (same None rule)         float | None
bool       check box                                                    bool
choice     combo box over ``choices``                                   one of ``choices``
str        line edit                                                    str | None
path       line edit + "Browse…" (open file)                            str | None
dir        line edit + "Browse…" (choose folder)                        str | None
columns    a button listing checkable column names                      see below
int_pair   two spin boxes                                               [int, int]
split      three fraction spin boxes (train / validation / test)        [f, f, f]
=========  ==========================================================  ===================

``columns`` values: None when nothing is picked ("all other columns" / "none"), a plain
string for an option named ``target`` with exactly one column picked, otherwise a list.
Column names come from :meth:`OptionForm.set_columns`.

The form never holds the values it is not shown: :meth:`set_values` displays values
(missing names show the option's default) without emitting; a user edit emits
``valueEdited(name, value)`` exactly once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QValidator
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QSizePolicy,
    QSpinBox,
    QToolButton,
    QWidget,
)

INT_LIMIT = 2_000_000_000
# Words that read better spelled out or in capitals in a label (use_ema → "Use EMA").
LABEL_WORDS = {
    "ema": "EMA",
    "lr": "learning rate",
    "clipnorm": "clip norm",
    "clipvalue": "clip value",
    "amsgrad": "AMSGrad",
    "freq": "frequency",
    "maxlen": "max length",
    "num": "number of",
}
FLOAT_LIMIT = 1e12


@dataclass(frozen=True)
class Option:
    """A plain option description with the same attributes as ``engine.datasets.OptionInfo``."""

    name: str
    kind: str
    default: Any = None
    choices: tuple = ()
    help: str = ""
    minimum: float | None = None
    maximum: float | None = None
    label: str | None = None


def option_label(option: Any) -> str:
    """The label shown beside an option: its ``label`` if it has one, else a readable name."""
    label = getattr(option, "label", None)
    if label:
        return label
    words = [LABEL_WORDS.get(word, word) for word in option.name.split("_")]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def decimals_for(*values: Any) -> int:
    """Enough decimals to show each of ``values`` exactly (at least 2, at most 8)."""
    decimals = 2
    for value in values:
        if isinstance(value, float) and value and math.isfinite(value):
            digits = max(0, -math.floor(math.log10(abs(value)))) + 2
            decimals = max(decimals, min(8, digits))
    return decimals


class ScientificSpinBox(QDoubleSpinBox):
    """A float spin box for small positive rates: shows ``1e-05`` style text and steps on a
    1-2-5 ladder (0.001 → 0.002 → 0.005 → 0.01), as learning rates are usually tuned."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setDecimals(12)
        self.setRange(1e-12, 1e3)
        self.setKeyboardTracking(False)

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def valueFromText(self, text: str) -> float:
        return float(text)

    def validate(self, text: str, pos: int):
        stripped = text.strip()
        try:
            float(stripped)
        except ValueError:
            partial = stripped in {"", ".", "-"} or stripped.lower().endswith(("e", "e-", "e+"))
            state = QValidator.State.Intermediate if partial else QValidator.State.Invalid
            return state, text, pos
        return QValidator.State.Acceptable, text, pos

    def stepBy(self, steps: int) -> None:
        value = self.value()
        for _ in range(abs(steps)):
            value = ladder_step(value, up=steps > 0)
        self.setValue(min(max(value, self.minimum()), self.maximum()))


def ladder_step(value: float, *, up: bool) -> float:
    """The next value on the 1-2-5 ladder above (or below) ``value``."""
    exponent = math.floor(math.log10(value))
    candidates = [m * 10.0**e for e in (exponent - 1, exponent, exponent + 1) for m in (1, 2, 5)]
    if up:
        return min(c for c in candidates if c > value * (1 + 1e-6))
    return max(c for c in candidates if c < value * (1 - 1e-6))


class _ColumnsButton(QToolButton):
    """A button whose menu lists column names as check boxes."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._menu = QMenu(self)
        self.setMenu(self._menu)
        self._columns: list[str] = []
        self._picked: list[str] = []
        self._placeholder = "all"
        self._rebuild()

    def set_placeholder(self, text: str) -> None:
        self._placeholder = text
        self._update_text()

    def set_columns(self, columns: Sequence[str]) -> None:
        self._columns = list(columns)
        self._rebuild()

    def picked(self) -> list[str]:
        return list(self._picked)

    def set_picked(self, picked: Iterable[str]) -> None:
        self._picked = list(picked)
        self._rebuild()

    def _rebuild(self) -> None:
        names = self._columns + [c for c in self._picked if c not in self._columns]
        actions = [a for a in self._menu.actions() if a.isCheckable()]
        if [a.text() for a in actions] != names or (not names and not self._menu.actions()):
            self._menu.clear()
            if not names:
                action = self._menu.addAction("Choose a file first to list its columns")
                action.setEnabled(False)
            for name in names:
                action = self._menu.addAction(name)
                action.setCheckable(True)
                action.toggled.connect(self._on_toggled)
            actions = [a for a in self._menu.actions() if a.isCheckable()]
        for action in actions:
            action.blockSignals(True)
            action.setChecked(action.text() in self._picked)
            action.blockSignals(False)
        self._update_text()

    def _on_toggled(self) -> None:
        checked = {a.text() for a in self._menu.actions() if a.isCheckable() and a.isChecked()}
        order = self._columns + [c for c in self._picked if c not in self._columns]
        self._picked = [name for name in order if name in checked]
        self._update_text()
        self.changed.emit()

    def _update_text(self) -> None:
        text = ", ".join(self._picked) if self._picked else self._placeholder
        self.setText(self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, 260))
        self.setToolTip(", ".join(self._picked) if self._picked else "")


class OptionForm(QWidget):
    """A ``QFormLayout`` of editors built from option descriptions.

    ``valueEdited(name, value)`` is emitted once per user edit (spin boxes emit on Enter,
    focus-out or an arrow step, not on every keystroke) and never by :meth:`set_values`.
    ``pathChosen(name, path)`` follows ``valueEdited`` for ``path``/``dir`` options, so a
    panel can refresh column lists.
    """

    valueEdited = Signal(str, object)
    pathChosen = Signal(str, str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._layout = QFormLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # In a narrow dock a field goes under its label rather than off the right edge.
        self._layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self._options: dict[str, Any] = {}
        self._editors: dict[str, Any] = {}
        self._setters: dict[str, Any] = {}
        self._getters: dict[str, Any] = {}
        self._updating = False
        self._columns: list[str] = []
        self._fixed_rows = 0

    # ------------------------------------------------------------------ building
    def add_fixed_row(self, label: QWidget | str, field: QWidget) -> None:
        """A row kept above the generated editors (e.g. a source picker), so that its label
        column lines up with theirs. Call before :meth:`set_options`."""
        self._layout.insertRow(self._fixed_rows, label, field)
        self._fixed_rows += 1

    def set_options(self, options: Iterable[Any]) -> None:
        """Replace the form with editors for ``options``, each showing its default.

        Safe to call from inside a signal of one of the form's own editors (a Name combo whose
        ``activated`` changes the option list): an editor whose option is unchanged is kept,
        and the editors that go are detached, silenced and hidden now but deleted only later
        (``deleteLater``), never while Qt is still delivering their signal."""
        options = list(options)
        old_rows = self._take_rows()
        self._options = {o.name: o for o in options}
        self._editors.clear()
        old_setters, old_getters = dict(self._setters), dict(self._getters)
        self._setters.clear()
        self._getters.clear()
        for option in self._options.values():
            kept = old_rows.pop(option.name, None)
            if kept is not None and kept[0] == option_key(option):
                _key, label, editor = kept
                self._setters[option.name] = old_setters[option.name]
                self._getters[option.name] = old_getters[option.name]
            else:
                if kept is not None:
                    old_rows[option.name] = kept
                label, editor = self._make_row(option)
            self._layout.addRow(label, editor)
            self._editors[option.name] = editor
        for _key, label, editor in old_rows.values():
            for widget in (label, editor):
                retire_widget(widget)
        self.set_values({})

    def _take_rows(self) -> dict[str, tuple[tuple, QWidget, QWidget]]:
        """Detach the generated rows from the layout without deleting anything."""
        rows: dict[str, tuple[tuple, QWidget, QWidget]] = {}
        names = list(self._options)
        index = 0
        while self._layout.rowCount() > self._fixed_rows:
            taken = self._layout.takeRow(self._fixed_rows)
            label = taken.labelItem.widget() if taken.labelItem is not None else None
            field = taken.fieldItem.widget() if taken.fieldItem is not None else None
            name = names[index] if index < len(names) else None
            index += 1
            if name is not None and self._editors.get(name) is field and label is not None:
                rows[name] = (option_key(self._options[name]), label, field)
            else:
                for widget in (label, field):
                    if widget is not None:
                        retire_widget(widget)
        return rows

    def _make_row(self, option: Any) -> tuple[QLabel, QWidget]:
        editor = self._make_editor(option)
        editor.setObjectName(f"option_{option.name}")
        if option.help:
            editor.setToolTip(option.help)
        label = QLabel(option_label(option) + ":")
        label.setBuddy(editor.focusProxy() or editor)
        if option.help:
            label.setToolTip(option.help)
        return label, editor

    def options(self) -> list[Any]:
        return list(self._options.values())

    def editor(self, name: str) -> QWidget:
        """The editor widget of option ``name`` (tests and focus handling)."""
        return self._editors[name]

    def set_columns(self, columns: Sequence[str]) -> None:
        """Column names offered by every ``columns`` editor (e.g. a CSV file's header)."""
        self._columns = list(columns)
        for name, option in self._options.items():
            if option.kind == "columns":
                self._editors[name].set_columns(self._columns)

    # ------------------------------------------------------------------ values
    def set_values(self, values: dict[str, Any]) -> None:
        """Show ``values``; options missing from it show their default. Emits nothing."""
        self._updating = True
        try:
            for name, option in self._options.items():
                self._setters[name](values.get(name, option.default))
        finally:
            self._updating = False

    def value(self, name: str) -> Any:
        return self._getters[name]()

    def values(self) -> dict[str, Any]:
        return {name: getter() for name, getter in self._getters.items()}

    def _emit(self, name: str) -> None:
        if not self._updating:
            self.valueEdited.emit(name, self._getters[name]())

    # ------------------------------------------------------------------ editors
    def _make_editor(self, option: Any) -> QWidget:
        maker = {
            "int": self._int_editor,
            "float": self._float_editor,
            "bool": self._bool_editor,
            "choice": self._choice_editor,
            "path": self._path_editor,
            "dir": self._path_editor,
            "columns": self._columns_editor,
            "int_pair": self._pair_editor,
            "split": self._split_editor,
        }.get(option.kind, self._str_editor)
        return maker(option)

    def _int_editor(self, option: Any) -> QWidget:
        box = QSpinBox()
        compact_spin_box(box)
        box.setKeyboardTracking(False)
        low = int(option.minimum) if option.minimum is not None else -INT_LIMIT
        high = int(option.maximum) if option.maximum is not None else INT_LIMIT
        optional = option.default is None
        if optional:
            low -= 1
            box.setSpecialValueText("none")
        box.setRange(low, high)
        box.setAccelerated(True)

        def set_value(value: Any) -> None:
            box.setValue(low if value is None else int(value))

        def get_value() -> int | None:
            return None if optional and box.value() == low else box.value()

        box.valueChanged.connect(lambda _v: self._emit(option.name))
        self._setters[option.name], self._getters[option.name] = set_value, get_value
        return box

    def _float_editor(self, option: Any) -> QWidget:
        default = option.default
        if isinstance(default, float) and 0 < abs(default) < 1e-3:
            return self._rate_editor(option)
        box = QDoubleSpinBox()
        compact_spin_box(box)
        box.setKeyboardTracking(False)
        decimals = decimals_for(option.default, option.minimum, option.maximum)
        box.setDecimals(decimals)
        low = float(option.minimum) if option.minimum is not None else -FLOAT_LIMIT
        high = float(option.maximum) if option.maximum is not None else FLOAT_LIMIT
        if high - low <= 1.0:
            box.setSingleStep(0.05)
        elif high - low <= 10.0:
            box.setSingleStep(0.1)
        optional = option.default is None
        if optional:
            low -= 10.0**-decimals
            box.setSpecialValueText("none")
        box.setRange(low, high)

        def set_value(value: Any) -> None:
            box.setValue(low if value is None else float(value))

        def get_value() -> float | None:
            return None if optional and box.value() == box.minimum() else box.value()

        box.valueChanged.connect(lambda _v: self._emit(option.name))
        self._setters[option.name], self._getters[option.name] = set_value, get_value
        return box

    def _rate_editor(self, option: Any) -> QWidget:
        """Tiny positive floats (epsilon 1e-07, learning rates) in scientific notation."""
        box = ScientificSpinBox()
        compact_spin_box(box)
        if option.maximum is not None:
            box.setMaximum(float(option.maximum))
        box.setValue(float(option.default))
        self._setters[option.name] = lambda value: box.setValue(
            float(option.default if value is None else value)
        )
        self._getters[option.name] = box.value
        box.valueChanged.connect(lambda _v: self._emit(option.name))
        return box

    def _bool_editor(self, option: Any) -> QWidget:
        box = QCheckBox()
        self._setters[option.name] = lambda value: box.setChecked(bool(value))
        self._getters[option.name] = box.isChecked
        box.toggled.connect(lambda _v: self._emit(option.name))
        return box

    def _choice_editor(self, option: Any) -> QWidget:
        box = QComboBox()
        choices = list(option.choices or ())
        for choice in choices:
            box.addItem("none" if choice is None else str(choice), choice)

        def set_value(value: Any) -> None:
            index = box.findData(value)
            if index < 0 and value is not None:
                box.addItem(str(value), value)
                index = box.count() - 1
            box.setCurrentIndex(max(index, 0))

        self._setters[option.name] = set_value
        self._getters[option.name] = box.currentData
        box.activated.connect(lambda _i: self._emit(option.name))
        return box

    def _str_editor(self, option: Any) -> QWidget:
        edit = QLineEdit()
        edit.setClearButtonEnabled(True)
        last = {"text": None}

        def set_value(value: Any) -> None:
            edit.setText("" if value is None else str(value))
            last["text"] = edit.text()

        def get_value() -> str | None:
            return edit.text().strip() or None

        def finished() -> None:
            if edit.text() != last["text"]:
                last["text"] = edit.text()
                self._emit(option.name)

        edit.editingFinished.connect(finished)
        self._setters[option.name], self._getters[option.name] = set_value, get_value
        return edit

    def _path_editor(self, option: Any) -> QWidget:
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        edit = QLineEdit()
        edit.setObjectName(f"option_{option.name}_edit")
        is_dir = option.kind == "dir"
        edit.setPlaceholderText("Choose a folder…" if is_dir else "Choose a file…")
        button = QToolButton()
        button.setText("Browse…")
        button.setObjectName(f"option_{option.name}_browse")
        button.setToolTip("Choose a folder" if is_dir else "Choose a file")
        row.addWidget(edit, 1)
        row.addWidget(button)
        holder.setFocusProxy(edit)
        last = {"text": None}

        def set_value(value: Any) -> None:
            edit.setText("" if value is None else str(value))
            last["text"] = edit.text()

        def get_value() -> str | None:
            return edit.text().strip() or None

        def commit() -> None:
            if edit.text() == last["text"]:
                return
            last["text"] = edit.text()
            self._emit(option.name)
            if not self._updating:
                self.pathChosen.emit(option.name, edit.text().strip())

        def browse() -> None:
            start = edit.text().strip()
            if is_dir:
                chosen = QFileDialog.getExistingDirectory(self, option_label(option), start)
            else:
                chosen, _filter = QFileDialog.getOpenFileName(
                    self, option_label(option), start, file_filter(option)
                )
            if chosen:
                edit.setText(chosen)
                commit()

        edit.editingFinished.connect(commit)
        button.clicked.connect(browse)
        self._setters[option.name], self._getters[option.name] = set_value, get_value
        return holder

    def _columns_editor(self, option: Any) -> QWidget:
        button = _ColumnsButton()
        single = option.name == "target"
        button.set_placeholder("choose…" if single else "all other columns")
        button.set_columns(self._columns)

        def set_value(value: Any) -> None:
            if value is None:
                button.set_picked([])
            elif isinstance(value, str):
                button.set_picked([value])
            else:
                button.set_picked([str(v) for v in value])

        def get_value() -> Any:
            picked = button.picked()
            if not picked:
                return None
            return picked[0] if single and len(picked) == 1 else picked

        button.changed.connect(lambda: self._emit(option.name))
        self._setters[option.name], self._getters[option.name] = set_value, get_value
        return button

    def _pair_editor(self, option: Any) -> QWidget:
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        low = int(option.minimum) if option.minimum is not None else 1
        high = int(option.maximum) if option.maximum is not None else 100_000
        boxes = []
        for index in range(2):
            box = QSpinBox()
            box.setKeyboardTracking(False)
            box.setRange(low, high)
            box.setObjectName(f"option_{option.name}_{index}")
            box.valueChanged.connect(lambda _v: self._emit(option.name))
            boxes.append(box)
        row.addWidget(boxes[0], 1)
        row.addWidget(QLabel("×"))
        row.addWidget(boxes[1], 1)
        holder.setFocusProxy(boxes[0])

        def set_value(value: Any) -> None:
            pair = list(value) if value is not None else [low, low]
            for box, item in zip(boxes, pair, strict=False):
                box.setValue(int(item))

        self._setters[option.name] = set_value
        self._getters[option.name] = lambda: [boxes[0].value(), boxes[1].value()]
        return holder

    def _split_editor(self, option: Any) -> QWidget:
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        boxes = []
        for index, part in enumerate(("train", "val", "test")):
            box = QDoubleSpinBox()
            box.setKeyboardTracking(False)
            box.setRange(0.0, 1.0)
            box.setDecimals(2)
            box.setSingleStep(0.05)
            box.setPrefix(f"{part} ")
            box.setObjectName(f"option_{option.name}_{index}")
            box.valueChanged.connect(lambda _v: self._emit(option.name))
            boxes.append(box)
            row.addWidget(box, 1)
        holder.setFocusProxy(boxes[0])

        def set_value(value: Any) -> None:
            parts = list(value) if value is not None else [0.5, 0.25, 0.25]
            for box, item in zip(boxes, parts, strict=False):
                box.setValue(float(item))

        self._setters[option.name] = set_value
        self._getters[option.name] = lambda: [round(b.value(), 4) for b in boxes]
        return holder


def compact_spin_box(box: QWidget) -> None:
    """A spin box whose minimum width fits ordinary values, not its ±1e12 range: the range's
    widest text made every row of a narrow dock's form wrap under its label."""
    box.setMinimumWidth(box.fontMetrics().horizontalAdvance("0.000000") + 36)


def option_key(option: Any) -> tuple:
    """What an editor is built from: two options with equal keys can share one editor."""
    attributes = ("name", "kind", "default", "choices", "help", "minimum", "maximum")
    return (*(repr(getattr(option, a, None)) for a in attributes), option_label(option))


def retire_widget(widget: QWidget) -> None:
    """Take ``widget`` out of use now and delete it later, from the event loop.

    Deleting a widget synchronously while one of its signals is being delivered (the form
    rebuilt from a combo's ``activated``) frees it under Qt's feet: a segfault in QtCore.
    So: silence it and its children (a hidden line edit would still say editingFinished),
    hide it, and ``deleteLater``."""
    for item in (widget, *widget.findChildren(QObject)):
        item.blockSignals(True)
    widget.hide()
    widget.deleteLater()


def file_filter(option: Any) -> str:
    """A file-dialog filter guessed from the option's help text (CSV, NPZ, or anything)."""
    text = f"{option.name} {option.help}".lower()
    if "npz" in text:
        return "NumPy archives (*.npz);;All files (*)"
    if "csv" in text:
        return "CSV files (*.csv *.tsv *.txt);;All files (*)"
    return "All files (*)"
