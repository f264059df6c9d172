"""The property editor (``propertyEditor``): a form generated from the selected layer's catalog.

``ParamForm`` lays out one editor per ``ParamInfo`` (from ``widgets.param_editors``), the
less-used ones inside a collapsed "Advanced" group. ``LayerEditor`` edits a nested layer
(Bidirectional / TimeDistributed) with a class combo and a nested ``ParamForm``.
``PropertyEditor`` shows the form for one stack layer and emits
``paramEdited(index, name, value, mergeable)``; the app applies it as an undo command and
calls ``show_layer`` again, which only refreshes values when the layer is the same, so focus
and the caret stay where the user is typing.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QLabel,
    QMenu,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)
from superqt import QCollapsible

from widgets.option_form import retire_widget
from widgets.param_editors import EDITORS, ParamEditor, ShapeEditor, create_editor


def _label_text(name: str) -> str:
    return name.replace("_", " ")


SEARCH_KINDS = {
    "int": "int",
    "float": "float",
    "bool": "bool",
    "choice": "choice",
    "activation": "choice",
}


def search_hint(param: Any, value: Any) -> dict | None:
    """What a search entry needs to know of a layer parameter (None: not searchable)."""
    kind = SEARCH_KINDS.get(getattr(param, "kind", None))
    if kind is None:
        return None
    return {
        "label": _label_text(param.name),
        "kind": kind,
        "value": value,
        "choices": list(param.choices or []),
        "minimum": param.minimum,
        "maximum": param.maximum,
    }


def add_search_menu(widget: QWidget, request) -> None:
    """A "Search this setting…" context menu on ``widget`` calling ``request()``."""
    widget.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)

    def show(position) -> None:
        menu = QMenu(widget)
        menu.addAction("Search this setting…", request).setObjectName("searchSettingAction")
        menu.exec(widget.mapToGlobal(position))

    widget.customContextMenuRequested.connect(show)


class ParamForm(QWidget):
    """Editors for a layer's params; ``paramEdited(name, value, mergeable)``."""

    paramEdited = Signal(str, object, bool)
    searchRequested = Signal(str, object)  # param name, search hint (see search_hint)

    def __init__(self, params, codec: Any, parent: QWidget | None = None):
        super().__init__(parent)
        self.editors: dict[str, ParamEditor] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        basic = QFormLayout()
        basic.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        layout.addLayout(basic)
        advanced_params = [param for param in params if param.advanced]
        self.advanced: QCollapsible | None = None
        advanced_form = None
        if advanced_params:
            self.advanced = QCollapsible("Advanced", self)
            self.advanced.setObjectName("advancedGroup")
            self.advanced.setCollapsedIcon("▶")
            self.advanced.setExpandedIcon("▼")
            holder = QWidget()
            advanced_form = QFormLayout(holder)
            advanced_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            advanced_form.setContentsMargins(0, 0, 0, 0)
            self.advanced.addWidget(holder)
            self.advanced.collapse(animate=False)
        for param in params:
            editor = create_editor(param, codec, self)
            editor.valueEdited.connect(
                lambda value, mergeable, name=param.name: self.paramEdited.emit(
                    name, value, mergeable
                )
            )
            label = QLabel(_label_text(param.name), self)
            label.setToolTip(param.help or "")
            label.setBuddy(editor)
            form = advanced_form if param.advanced and advanced_form is not None else basic
            form.addRow(label, editor)
            self.editors[param.name] = editor
            if SEARCH_KINDS.get(param.kind):
                label.setObjectName(f"label_{param.name}")
                add_search_menu(label, lambda p=param: self._request_search(p))

        if self.advanced is not None:
            layout.addWidget(self.advanced)

    def _request_search(self, param: Any) -> None:
        hint = search_hint(param, self.editors[param.name].value())
        if hint is not None:
            self.searchRequested.emit(param.name, hint)

    def set_values(self, config: dict, defaults: dict[str, Any]) -> None:
        for name, editor in self.editors.items():
            editor.set_value(config.get(name, defaults.get(name)))


class LayerEditor(ParamEditor):
    """A nested layer: a class combo and that class's form; the value is the layer dict."""

    def __init__(self, param, codec=None, parent=None):
        super().__init__(param, codec, parent)
        self._layout.setDirection(QVBoxLayout.Direction.TopToBottom)
        self.combo = QComboBox(self)
        self.combo.setObjectName(f"{param.name}_class")
        for choice in param.choices or ():
            self.combo.addItem(str(choice), choice)
        self.frame = QFrame(self)
        self.frame.setFrameShape(QFrame.Shape.StyledPanel)
        self.frame_layout = QVBoxLayout(self.frame)
        self.frame_layout.setContentsMargins(6, 6, 6, 6)
        self._layout.addWidget(self.combo)
        self._layout.addWidget(self.frame)
        self.form: ParamForm | None = None
        self._value: dict | None = None
        self.combo.activated.connect(self._on_class)
        self.setFocusProxy(self.combo)

    def _on_class(self, _row: int) -> None:
        class_name = self.combo.currentData()
        if self._value and self._value.get("class_name") == class_name:
            return
        self._value = self.codec.default_layer_entry(class_name)
        self._rebuild()
        self._emit()

    def _on_nested(self, name: str, value: Any, mergeable: bool) -> None:
        if self._value is None:
            return
        entry = dict(self._value)
        entry["config"] = {**entry.get("config", {}), name: value}
        self._value = entry
        self._emit(mergeable)

    def _rebuild(self) -> None:
        if self.form is not None:
            self.frame_layout.removeWidget(self.form)
            retire_widget(self.form)  # never deleted inside a signal of one of its editors
            self.form = None
        if not self._value:
            return
        info = self.codec.layer_info(self._value["class_name"])
        self.form = ParamForm(info.params, self.codec, self.frame)
        self.form.paramEdited.connect(self._on_nested)
        self.frame_layout.addWidget(self.form)
        self.form.set_values(
            self._value.get("config", {}), {param.name: param.default for param in info.params}
        )

    def set_value(self, value):
        previous = self._value
        self._value = value
        class_name = value.get("class_name") if isinstance(value, dict) else None
        self.combo.blockSignals(True)
        row = self.combo.findData(class_name)
        if row < 0 and class_name:
            self.combo.addItem(class_name, class_name)
            row = self.combo.count() - 1
        self.combo.setCurrentIndex(row)
        self.combo.blockSignals(False)
        same_class = previous and class_name and previous.get("class_name") == class_name
        if same_class and self.form is not None:
            info = self.codec.layer_info(class_name)
            self.form.set_values(
                value.get("config", {}), {param.name: param.default for param in info.params}
            )
        else:
            self._rebuild()

    def value(self):
        return self._value


EDITORS["layer"] = LayerEditor


class PropertyEditor(QWidget):
    """The selected layer's form, with its title and description above it."""

    paramEdited = Signal(int, str, object, bool)
    inputShapeEdited = Signal(object)
    # layer index, param name ("" for the layer itself: on/off), search hint: a
    # "Search this setting…" context menu on a numeric or choice parameter's label or title
    searchRequested = Signal(int, str, object)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("propertyEditor")
        self.codec: Any = None
        self.title = QLabel(self)
        self.title.setObjectName("propertyTitle")
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.15)
        self.title.setFont(font)
        add_search_menu(self.title, self._request_layer_search)
        self.description = QLabel(self)
        self.description.setObjectName("propertyDescription")
        self.description.setWordWrap(True)
        self.description.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setMinimumWidth(240)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.title)
        layout.addWidget(self.description)
        layout.addWidget(self.scroll, 1)
        self.form: ParamForm | None = None
        self._index = -1
        self._class_name: str | None = None
        self.show_message("Select a layer to edit its parameters.")

    def set_codec(self, codec: Any) -> None:
        """The value codec and catalog access (``engine.catalog``), given once Keras is loaded."""
        self.codec = codec

    @property
    def layer_index(self) -> int:
        return self._index

    def show_message(self, text: str, title: str = "") -> None:
        self._clear_form()
        self._index, self._class_name = -1, None
        self.title.setText(title)
        self.title.setVisible(bool(title))
        self.description.setText(text)
        self.description.show()

    def show_input(self, shape: tuple | None, note: str) -> None:
        """Edit the stack's input shape (``inputShapeEdited(list)`` on Enter)."""
        self._clear_form()
        self._index, self._class_name = -1, "InputLayer"
        self.title.setText("Input")
        self.title.show()
        self.description.setText(note)
        self.description.show()
        holder = QWidget()
        form = QFormLayout(holder)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        param = _InputShapeParam()
        self.input_editor = ShapeEditor(param, None, holder)
        self.input_editor.setObjectName("inputShapeEditor")
        self.input_editor.set_value(list(shape) if shape is not None else None)
        self.input_editor.valueEdited.connect(self._on_input_edited)
        label = QLabel("shape", holder)
        label.setBuddy(self.input_editor)
        form.addRow(label, self.input_editor)
        self.scroll.setWidget(holder)

    def _on_input_edited(self, value: Any, _mergeable: bool) -> None:
        self.inputShapeEdited.emit(value)

    def show_layer(self, index: int, info: Any, entry: dict) -> None:
        """Edit body layer ``index`` (its catalog ``info`` and layer dict ``entry``)."""
        config = entry.get("config", {})
        defaults = {param.name: param.default for param in info.params}
        if self.form is not None and index == self._index and info.class_name == self._class_name:
            self.form.set_values(config, defaults)
            self.title.setText(f"{info.class_name} — {config.get('name', '')}")
            return
        self._clear_form()
        self._index, self._class_name = index, info.class_name
        self.title.setText(f"{info.class_name} — {config.get('name', '')}")
        self.title.show()
        self.description.setText(info.description or "")
        self.description.setVisible(bool(info.description))
        self.form = ParamForm(info.params, self.codec, self)
        self.form.set_values(config, defaults)
        self.form.paramEdited.connect(self._on_param_edited)
        self.form.searchRequested.connect(
            lambda name, hint: self.searchRequested.emit(self._index, name, hint)
        )
        holder = QWidget()
        holder_layout = QVBoxLayout(holder)
        holder_layout.setContentsMargins(0, 0, 0, 0)
        holder_layout.addWidget(self.form)
        holder_layout.addStretch(1)
        self.scroll.setWidget(holder)

    def editor(self, name: str) -> ParamEditor | None:
        return self.form.editors.get(name) if self.form else None

    def _request_layer_search(self) -> None:
        if self._index >= 0 and self.form is not None:
            hint = {"label": f"{self._class_name} layer on/off", "kind": "layer"}
            self.searchRequested.emit(self._index, "", hint)

    def _on_param_edited(self, name: str, value: Any, mergeable: bool) -> None:
        self.paramEdited.emit(self._index, name, value, mergeable)

    def _clear_form(self) -> None:
        self.form = None
        self.input_editor: ShapeEditor | None = None
        old = self.scroll.takeWidget()
        if old is not None:
            retire_widget(old)


class _InputShapeParam:
    """The ParamInfo-like description of the input shape field."""

    name = "input_shape"
    kind = "shape"
    default = None
    choices = None
    minimum = 1
    maximum = None
    help = "Sample shape without the batch dimension, e.g. 28, 28, 1"
    advanced = False
    optional = True
