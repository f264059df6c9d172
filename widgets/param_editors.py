"""One editor widget per catalog parameter kind, looked up in ``EDITORS``.

Every editor is a ``ParamEditor``: ``set_value(value)`` shows a value without emitting,
``value()`` reads it, and ``valueEdited(value, mergeable)`` fires when the user changes it.
``mergeable`` is True for spin-box steps, so that a run of them can become one undo step.

Values are exactly what the layer's Keras config holds. Kinds whose config form is a
serialised Keras object (initializer, regularizer) convert through a *codec* the app passes
in: any object with ``initializer_value(name)``, ``initializer_name(value)``,
``regularizer_value(kind, l1, l2)`` and ``regularizer_parts(value)`` (``engine.catalog``
is one); widgets never import Keras themselves.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from widgets.option_form import retire_widget

INT_LIMIT = 2_000_000_000
FLOAT_LIMIT = 1e12


class ParamEditor(QWidget):
    """Base class: a row widget editing one parameter value."""

    valueEdited = Signal(object, bool)

    def __init__(self, param: Any, codec: Any = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.param = param
        self.codec = codec
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(4)

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def value(self) -> Any:
        raise NotImplementedError

    def _emit(self, mergeable: bool = False) -> None:
        self.valueEdited.emit(self.value(), mergeable)


def _bounds(param: Any, low: float, high: float) -> tuple[float, float]:
    minimum = getattr(param, "minimum", None)
    maximum = getattr(param, "maximum", None)
    return (
        low if minimum is None else max(low, minimum),
        high if maximum is None else min(high, maximum),
    )


class CompactDoubleSpinBox(QDoubleSpinBox):
    """A double spin box that shows ``0.001`` rather than ``0.00100000``, and never changes
    a value (such as Keras's ``1/255``) just because its text was shown and left."""

    def textFromValue(self, value: float) -> str:
        short = f"{value:.10g}"
        return short if float(short) == value else repr(float(value))

    def stepBy(self, steps: int) -> None:
        """Arrow steps land on round numbers (0.15, not 0.15000000000000002)."""
        target = float(f"{self.value() + steps * self.singleStep():.10g}")
        self.setValue(min(max(target, self.minimum()), self.maximum()))

    def valueFromText(self, text: str) -> float:
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            return self.value()
        current = self.value()
        return current if text == self.textFromValue(current) else number

    def validate(self, text, position):
        from PySide6.QtGui import QValidator

        stripped = text.strip()
        if stripped in {"", "-", ".", "-.", "e", "-e"} or stripped.endswith(("e", "e-")):
            return QValidator.State.Intermediate, text, position
        try:
            value = float(stripped)
        except ValueError:
            return QValidator.State.Invalid, text, position
        if self.minimum() <= value <= self.maximum():
            return QValidator.State.Acceptable, text, position
        return QValidator.State.Intermediate, text, position


class IntEditor(ParamEditor):
    def __init__(self, param, codec=None, parent=None):
        super().__init__(param, codec, parent)
        self.spin = QSpinBox(self)
        self.spin.setMinimumWidth(70)
        low, high = _bounds(param, -INT_LIMIT, INT_LIMIT)
        self.spin.setRange(int(low), int(high))
        self.spin.setKeyboardTracking(False)
        self.spin.setAccelerated(True)
        self._layout.addWidget(self.spin)
        self.spin.valueChanged.connect(lambda _value: self._emit(True))
        self.setFocusProxy(self.spin)

    def set_value(self, value):
        self.spin.blockSignals(True)
        self.spin.setValue(int(value) if value is not None else self.spin.minimum())
        self.spin.blockSignals(False)

    def value(self):
        return self.spin.value()


class FloatEditor(ParamEditor):
    def __init__(self, param, codec=None, parent=None):
        super().__init__(param, codec, parent)
        self.spin = CompactDoubleSpinBox(self)
        self.spin.setMinimumWidth(70)
        low, high = _bounds(param, -FLOAT_LIMIT, FLOAT_LIMIT)
        self.spin.setDecimals(20)
        self.spin.setRange(low, high)
        self.spin.setSingleStep(0.05 if high <= 1.0 else 0.1)
        self.spin.setKeyboardTracking(False)
        self._layout.addWidget(self.spin)
        self.spin.valueChanged.connect(lambda _value: self._emit(True))
        self.setFocusProxy(self.spin)

    def set_value(self, value):
        self.spin.blockSignals(True)
        number = float(value) if value is not None else 0.0
        self.spin.setValue(number if math.isfinite(number) else 0.0)
        self.spin.blockSignals(False)

    def value(self):
        return float(self.spin.value())


class BoolEditor(ParamEditor):
    def __init__(self, param, codec=None, parent=None):
        super().__init__(param, codec, parent)
        self.check = QCheckBox(self)
        self._layout.addWidget(self.check)
        self._layout.addStretch(1)
        self.check.toggled.connect(lambda _checked: self._emit())
        self.setFocusProxy(self.check)

    def set_value(self, value):
        self.check.blockSignals(True)
        self.check.setChecked(bool(value))
        self.check.blockSignals(False)

    def value(self):
        return self.check.isChecked()


class ChoiceEditor(ParamEditor):
    """A combo over ``param.choices``; a value outside them is shown and kept."""

    def __init__(self, param, codec=None, parent=None):
        super().__init__(param, codec, parent)
        self.combo = QComboBox(self)
        self.combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.combo.setMinimumContentsLength(6)
        for choice in self._choices():
            self.combo.addItem(self._label(choice), choice)
        self._layout.addWidget(self.combo, 1)
        self.combo.activated.connect(lambda _row: self._emit())
        self.setFocusProxy(self.combo)

    def _choices(self) -> list:
        return list(getattr(self.param, "choices", None) or [])

    @staticmethod
    def _label(choice: Any) -> str:
        return "None" if choice is None else str(choice)

    def _shown(self, value: Any) -> Any:
        return value

    def _stored(self, shown: Any) -> Any:
        return shown

    def set_value(self, value):
        shown = self._shown(value)
        self.combo.blockSignals(True)
        row = next(
            (row for row in range(self.combo.count()) if self.combo.itemData(row) == shown), -1
        )
        if row < 0:
            self.combo.addItem(self._label(shown), shown)
            row = self.combo.count() - 1
        self.combo.setCurrentIndex(row)
        self.combo.blockSignals(False)

    def value(self):
        return self._stored(self.combo.currentData())


class InitializerEditor(ChoiceEditor):
    """Initializer names in a combo; the config holds the codec's serialised form."""

    def _shown(self, value):
        return self.codec.initializer_name(value) if self.codec else value

    def _stored(self, shown):
        return self.codec.initializer_value(shown) if self.codec else shown


class ConstraintEditor(ChoiceEditor):
    """Constraint names; serialised through the codec when it knows how."""

    def _shown(self, value):
        convert = getattr(self.codec, "constraint_name", None)
        return convert(value) if convert else value

    def _stored(self, shown):
        convert = getattr(self.codec, "constraint_value", None)
        return convert(shown) if convert else shown


class DtypeEditor(ChoiceEditor):
    """Dtype policy names; the config may hold a serialised policy (through the codec)."""

    def _shown(self, value):
        convert = getattr(self.codec, "dtype_name", None)
        return convert(value) if convert else value

    def _stored(self, shown):
        convert = getattr(self.codec, "dtype_value", None)
        if convert is None or shown is None or self.param.name != "dtype":
            return shown
        return convert(shown)


class StrEditor(ParamEditor):
    def __init__(self, param, codec=None, parent=None):
        super().__init__(param, codec, parent)
        self.line = QLineEdit(self)
        self._layout.addWidget(self.line)
        self.line.editingFinished.connect(self._on_finished)
        self._shown = ""
        self.setFocusProxy(self.line)

    def _on_finished(self):
        if self.line.text() != self._shown:
            self._shown = self.line.text()
            self._emit()

    def set_value(self, value):
        self._shown = "" if value is None else str(value)
        self.line.setText(self._shown)

    def value(self):
        return self.line.text()


def _flatten(value: Any) -> tuple[list, Any]:
    """Leaves of a (nested) list and its structure: ``[[1, 1], [2, 2]]`` → four leaves."""
    if isinstance(value, list | tuple):
        leaves: list = []
        shape = []
        for item in value:
            inner, inner_shape = _flatten(item)
            leaves += inner
            shape.append(inner_shape)
        return leaves, shape
    return [value], None


def _rebuild(leaves: list, shape: Any) -> Any:
    """Inverse of ``_flatten`` (consumes ``leaves`` from the front)."""
    if shape is None:
        return leaves.pop(0)
    return [_rebuild(leaves, inner) for inner in shape]


class IntTupleEditor(ParamEditor):
    """One spin box per number; the value keeps its form (an int, a list, nested lists such
    as a 2-D padding ``[[top, bottom], [left, right]]``)."""

    def __init__(self, param, codec=None, parent=None):
        super().__init__(param, codec, parent)
        self.spins: list[QSpinBox] = []
        self._shape: Any = None

    def _new_spin(self) -> QSpinBox:
        low, high = _bounds(self.param, -INT_LIMIT, INT_LIMIT)
        spin = QSpinBox(self)
        spin.setMinimumWidth(50)
        spin.setRange(int(low), int(high))
        return spin

    def _convert(self, item: Any) -> Any:
        return int(item) if item is not None else 0

    def _ensure(self, count: int) -> None:
        while len(self.spins) > count:
            spin = self.spins.pop()
            self._layout.removeWidget(spin)
            retire_widget(spin)
        while len(self.spins) < count:
            spin = self._new_spin()
            spin.setKeyboardTracking(False)
            spin.valueChanged.connect(lambda _value: self._emit(True))
            self._layout.addWidget(spin)
            self.spins.append(spin)
        if self.spins:
            self.setFocusProxy(self.spins[0])

    def set_value(self, value):
        items, self._shape = _flatten(value if value is not None else 1)
        self._ensure(len(items))
        for spin, item in zip(self.spins, items, strict=True):
            spin.blockSignals(True)
            spin.setValue(self._convert(item))
            spin.blockSignals(False)

    def value(self):
        return _rebuild([spin.value() for spin in self.spins], self._shape)


class FloatTupleEditor(IntTupleEditor):
    """One double spin box per element (e.g. a zoom or translation factor range)."""

    def _new_spin(self) -> QDoubleSpinBox:
        low, high = _bounds(self.param, -FLOAT_LIMIT, FLOAT_LIMIT)
        spin = CompactDoubleSpinBox(self)
        spin.setMinimumWidth(50)
        spin.setDecimals(20)
        spin.setRange(low, high)
        spin.setSingleStep(0.05)
        return spin

    def _convert(self, item: Any) -> Any:
        return float(item) if item is not None else 0.0


def parse_shape(text: str) -> list[int | None]:
    """``"None, 28, 28"`` → ``[None, 28, 28]``; raises ValueError on anything else."""
    items = [part.strip() for part in text.replace("(", "").replace(")", "").split(",")]
    items = [item for item in items if item]
    if not items:
        raise ValueError("empty shape")
    shape: list[int | None] = []
    for item in items:
        if item.lower() == "none":
            shape.append(None)
        else:
            shape.append(int(item))
    return shape


def format_shape(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join("None" if item is None else str(item) for item in value)
    return str(value)


class ShapeEditor(ParamEditor):
    """A comma-separated shape (``None`` allowed); invalid text turns the field red."""

    def __init__(self, param, codec=None, parent=None):
        super().__init__(param, codec, parent)
        self.line = QLineEdit(self)
        self.line.setPlaceholderText("e.g. 28, 28, 1")
        self._layout.addWidget(self.line)
        self._value: Any = None
        self.line.editingFinished.connect(self._on_finished)
        self.line.textEdited.connect(self._check)
        self.setFocusProxy(self.line)

    def _check(self, text: str) -> None:
        try:
            parse_shape(text)
        except ValueError:
            self.line.setStyleSheet("color: rgb(200, 30, 45);")
        else:
            self.line.setStyleSheet("")

    def _on_finished(self):
        try:
            shape = parse_shape(self.line.text())
        except ValueError:
            return
        if shape != (list(self._value) if isinstance(self._value, list | tuple) else None):
            self._value = shape
            self._emit()

    def set_value(self, value):
        self._value = value
        self.line.setText(format_shape(value))
        self.line.setStyleSheet("")

    def value(self):
        return self._value


class RegularizerEditor(ParamEditor):
    """none / l1 / l2 / l1_l2 with the factors that apply."""

    KINDS = (None, "l1", "l2", "l1_l2")

    def __init__(self, param, codec=None, parent=None):
        super().__init__(param, codec, parent)
        self.combo = QComboBox(self)
        for kind in self.KINDS:
            self.combo.addItem("none" if kind is None else kind, kind)
        self.l1 = self._factor("l1")
        self.l2 = self._factor("l2")
        self.l1_label = QLabel("l1", self)
        self.l2_label = QLabel("l2", self)
        self._layout.addWidget(self.combo)
        for widget in (self.l1_label, self.l1, self.l2_label, self.l2):
            self._layout.addWidget(widget)
        self._layout.addStretch(1)
        self.combo.activated.connect(self._on_kind)
        self.setFocusProxy(self.combo)
        self._sync_visibility()

    def _factor(self, name: str) -> QDoubleSpinBox:
        spin = CompactDoubleSpinBox(self)
        spin.setMinimumWidth(60)
        spin.setObjectName(f"{self.param.name}_{name}")
        spin.setDecimals(20)
        spin.setRange(0.0, 100.0)
        spin.setSingleStep(0.001)
        spin.setValue(0.01)
        spin.setKeyboardTracking(False)
        spin.valueChanged.connect(lambda _value: self._emit(True))
        return spin

    def _on_kind(self, _row: int) -> None:
        self._sync_visibility()
        self._emit()

    def _sync_visibility(self) -> None:
        kind = self.combo.currentData()
        self.l1.setVisible(kind in ("l1", "l1_l2"))
        self.l1_label.setVisible(kind in ("l1", "l1_l2"))
        self.l2.setVisible(kind in ("l2", "l1_l2"))
        self.l2_label.setVisible(kind in ("l2", "l1_l2"))

    def set_value(self, value):
        kind, l1, l2 = self.codec.regularizer_parts(value) if self.codec else (None, 0.0, 0.0)
        for widget in (self.combo, self.l1, self.l2):
            widget.blockSignals(True)
        self.combo.setCurrentIndex(max(self.combo.findData(kind), 0))
        if l1:
            self.l1.setValue(float(l1))
        if l2:
            self.l2.setValue(float(l2))
        for widget in (self.combo, self.l1, self.l2):
            widget.blockSignals(False)
        self._sync_visibility()

    def value(self):
        kind = self.combo.currentData()
        if kind is None:
            return None
        l1 = self.l1.value() if kind in ("l1", "l1_l2") else 0.0
        l2 = self.l2.value() if kind in ("l2", "l1_l2") else 0.0
        return self.codec.regularizer_value(kind, l1, l2) if self.codec else None


class OptionalEditor(ParamEditor):
    """A "set" checkbox in front of another editor: unchecked means ``None``."""

    FALLBACKS: ClassVar[dict[str, Any]] = {
        "int": 1,
        "float": 0.0,
        "int_tuple": 1,
        "float_tuple": [0.0, 0.0],
        "shape": [1],
        "str": "",
        "bool": False,
    }

    def __init__(self, param, inner: ParamEditor, parent=None):
        super().__init__(param, inner.codec, parent)
        self.inner = inner
        self.check = QCheckBox(self)
        self.check.setToolTip("Unchecked: None (Keras's default behaviour)")
        inner.setParent(self)
        self._layout.addWidget(self.check)
        self._layout.addWidget(inner, 1)
        self.check.toggled.connect(self._on_toggled)
        inner.valueEdited.connect(self._on_inner)
        self.setFocusProxy(self.check)

    def _fallback(self) -> Any:
        default = getattr(self.param, "default", None)
        return default if default is not None else self.FALLBACKS.get(self.param.kind)

    def _on_toggled(self, checked: bool) -> None:
        self.inner.setEnabled(checked)
        if checked and self.inner.value() is None:
            self.inner.set_value(self._fallback())
        self._emit()

    def _on_inner(self, _value, mergeable) -> None:
        if self.check.isChecked():
            self._emit(mergeable)

    def set_value(self, value):
        self.check.blockSignals(True)
        self.check.setChecked(value is not None)
        self.check.blockSignals(False)
        self.inner.setEnabled(value is not None)
        self.inner.set_value(value if value is not None else self._fallback())

    def value(self):
        return self.inner.value() if self.check.isChecked() else None


EditorFactory = Callable[[Any, Any, QWidget | None], ParamEditor]

EDITORS: dict[str, EditorFactory] = {
    "int": IntEditor,
    "float": FloatEditor,
    "bool": BoolEditor,
    "choice": ChoiceEditor,
    "activation": ChoiceEditor,
    "dtype": DtypeEditor,
    "initializer": InitializerEditor,
    "constraint": ConstraintEditor,
    "regularizer": RegularizerEditor,
    "str": StrEditor,
    "int_tuple": IntTupleEditor,
    "float_tuple": FloatTupleEditor,
    "shape": ShapeEditor,
}

# Kinds whose editor cannot show None itself get an OptionalEditor when the param is optional.
WRAP_WHEN_OPTIONAL = frozenset({"int", "float", "int_tuple", "float_tuple", "shape", "str", "bool"})


def create_editor(param: Any, codec: Any = None, parent: QWidget | None = None) -> ParamEditor:
    """The registered editor for ``param.kind`` (a ``StrEditor`` for unknown kinds)."""
    factory = EDITORS.get(param.kind, StrEditor)
    editor = factory(param, codec, parent)
    if getattr(param, "optional", False) and param.kind in WRAP_WHEN_OPTIONAL:
        editor = OptionalEditor(param, editor, parent)
    editor.setObjectName(f"param_{param.name}")
    editor.setToolTip(getattr(param, "help", "") or "")
    editor.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, False)
    return editor
