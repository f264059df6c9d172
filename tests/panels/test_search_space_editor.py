"""The search space editor from plain data: first entries, the entry dialog, the space list,
and the "Search this setting…" context menus of the property editor and training panel."""

from __future__ import annotations

from types import SimpleNamespace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel

from engine.search import validate_search
from widgets.property_editor import ParamForm, search_hint
from widgets.search_space_editor import (
    SearchEntryDialog,
    SearchSpaceList,
    default_entry,
    describe,
    parse_value,
    short_path,
)
from widgets.training_panel import TrainingPanel


def _param(name, kind, default, choices=None, minimum=None, maximum=None):
    return SimpleNamespace(
        name=name,
        kind=kind,
        default=default,
        choices=choices,
        minimum=minimum,
        maximum=maximum,
        help="",
        advanced=False,
        optional=False,
    )


def test_first_entries_are_valid_search_entries():
    units = default_entry("model.layers[1].config.units", {"kind": "int", "value": 16})
    assert units == {
        "path": "model.layers[1].config.units",
        "type": "int",
        "low": 4,
        "high": 64,
        "log": True,
    }
    rate = default_entry(
        "model.layers[2].config.rate",
        {"kind": "float", "value": 0.5, "minimum": 0.0, "maximum": 1.0},
    )
    assert rate["type"] == "float" and not rate["log"] and 0 <= rate["low"] < rate["high"] <= 1
    lr = default_entry("compile.optimizer.config.learning_rate", {"kind": "float", "value": 1e-3})
    assert lr == {
        "path": "compile.optimizer.config.learning_rate",
        "type": "float",
        "low": 1e-4,
        "high": 1e-2,
        "log": True,
    }
    act = default_entry(
        "model.layers[1].config.activation",
        {"kind": "choice", "value": "relu", "choices": ["relu", "tanh", "elu", "selu"]},
    )
    assert act["type"] == "categorical" and act["choices"][0] == "relu"
    layer = default_entry("model.layers[2]", {"kind": "layer"})
    validate_search({"space": [units, rate, lr, act, layer]})
    assert describe(units) == "layers[1].units: 4 … 64 (log)"
    assert short_path("compile.optimizer") == "optimizer"
    assert [parse_value(t) for t in ("32", "0.5", "true", "adam")] == [32, 0.5, True, "adam"]


def test_the_dialog_edits_a_range_values_and_refuses_bad_ones(qtbot):
    hint = {"kind": "int", "value": 16, "label": "units"}
    dialog = SearchEntryDialog("model.layers[1].config.units", hint)
    qtbot.addWidget(dialog)
    dialog.low_edit.setText("8")
    dialog.high_edit.setText("4")
    assert dialog.entry() is None and dialog.problem() == "Low must be below high."
    dialog.accept()
    assert dialog.problem_label.text() == "Low must be below high."
    dialog.high_edit.setText("128")
    dialog.log_check.setChecked(False)
    assert dialog.entry() == {
        "path": "model.layers[1].config.units",
        "type": "int",
        "low": 8,
        "high": 128,
        "log": False,
    }
    dialog.values_radio.setChecked(True)
    dialog.values_edit.setText("16, 16")
    assert dialog.problem() == "Choose at least two values to search among."
    dialog.values_edit.setText("16, 32, 64")
    assert dialog.entry()["choices"] == [16, 32, 64]

    known = SearchEntryDialog(
        "model.layers[1].config.activation",
        {"kind": "choice", "value": "relu", "choices": ["relu", "tanh", "elu"]},
    )
    qtbot.addWidget(known)
    assert not known.range_radio.isVisibleTo(known)
    known.choice_list.item(2).setCheckState(Qt.CheckState.Unchecked)
    assert known.entry()["choices"] == ["relu", "tanh"]

    layer = SearchEntryDialog("model.layers[2]", {"kind": "layer"})
    qtbot.addWidget(layer)
    assert layer.entry() == {"path": "model.layers[2]", "type": "layer_on_off"}


def test_the_space_list_removes_an_entry(qtbot):
    box = SearchSpaceList()
    qtbot.addWidget(box)
    space = [
        {"path": "fit.batch_size", "type": "categorical", "choices": [32, 64]},
        {"path": "model.layers[2]", "type": "layer_on_off"},
    ]
    box.set_space(space)
    assert box.list.count() == 2 and not box.remove_button.isEnabled()
    box.list.setCurrentRow(1)
    with qtbot.waitSignal(box.spaceEdited) as edited:
        box.remove_button.click()
    assert edited.args[0] == space[:1]
    with qtbot.waitSignal(box.editRequested) as asked:
        box.list.setCurrentRow(0)
        box.edit_button.click()
    assert asked.args == [0]


def test_numeric_and_choice_params_offer_search_text_does_not(qtbot):
    params = [
        _param("units", "int", 32, minimum=1),
        _param("activation", "activation", "relu", choices=("relu", "tanh")),
        _param("name", "str", ""),
    ]
    form = ParamForm(params, None)
    qtbot.addWidget(form)
    form.set_values({"units": 16, "activation": "tanh"}, {})
    labels = {label.objectName() for label in form.findChildren(QLabel)}
    assert {"label_units", "label_activation"} <= labels and "label_name" not in labels
    with qtbot.waitSignal(form.searchRequested) as asked:
        form._request_search(params[0])
    assert asked.args[0] == "units" and asked.args[1]["value"] == 16
    assert search_hint(params[1], "tanh")["choices"] == ["relu", "tanh"]
    assert search_hint(params[2], "x") is None


def test_training_panel_hints(qtbot, keras_choices):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    optimizers, losses, metrics, callbacks = keras_choices
    panel.set_choices(optimizers, losses, metrics, callbacks)
    panel.set_settings(
        {"optimizer": "adam", "loss": "mse", "metrics": []}, {"epochs": 5, "batch_size": 32}
    )
    assert panel.search_hint("fit.batch_size")["value"] == 32
    optimizer = panel.search_hint("compile.optimizer")
    assert optimizer["value"] == "adam" and "sgd" in optimizer["choices"]
    rate = panel.search_hint("compile.optimizer.config.learning_rate")
    assert rate["kind"] == "float" and rate["value"] > 0
    searchable = [
        label
        for label in panel.findChildren(QLabel)
        if label.contextMenuPolicy() == Qt.ContextMenuPolicy.CustomContextMenu
    ]
    assert len(searchable) == 5
