"""A functional model (branches, merges) opens read-only in the window (issue 11): the Graph
tab draws it, the stack and the property editor say plainly that it cannot be edited, and no
gesture changes it or breaks the undo stack."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox

from app.stack_rows import FUNCTIONAL_NOTICE
from engine.modelfile import save_model

L = keras.layers


def branched() -> keras.Model:
    inputs = keras.Input((8,), name="features")
    a = L.Dense(4, name="left")(inputs)
    b = L.Dense(4, name="right")(inputs)
    merged = L.Add(name="add_1")([a, b])
    return keras.Model(inputs, L.Dense(3, activation="softmax", name="out")(merged))


def open_model(qtbot, window, path):
    window.open_path(path, ask=False)
    qtbot.waitUntil(lambda: window.files.display_name().startswith(path.name), timeout=60_000)


def show_graph(qtbot, window):
    window.tabs.setCurrentWidget(window.graph_page)
    view = window.graph_page.view
    qtbot.waitUntil(lambda: bool(view.node_names()), timeout=60_000)
    return view


@pytest.mark.parametrize("suffix", [".h5", ".hdf5"])
def test_functional_h5_opens_read_only_with_its_graph(qtbot, window, tmp_path, suffix):
    model = branched()
    path = tmp_path / f"branched{suffix}"
    save_model(model, path)
    open_model(qtbot, window, path)
    document = window.document
    assert document.is_functional and document.layer_count() == 0

    # The stack: one read-only row, the notice above it, the model's totals below.
    rows = window.stack_model.rows()
    assert len(rows) == 1 and rows[0].title == "Functional model · 4 layers"
    assert rows[0].tooltip == FUNCTIONAL_NOTICE
    heading = window.findChild(QLabel, "stackHeading")
    assert FUNCTIONAL_NOTICE in heading.text()
    assert document.totals() == (model.count_params(), model.count_params())
    assert f"{model.count_params():,}" in window.stack_view.totalsLabel.text()
    # A new project's default dataset gives 64 features: said plainly, the model is kept.
    assert window.stack_view.errorLabel.text().startswith("The dataset gives samples of shape")

    # The property editor says the same, whichever row is current.
    window.select_layer(-1)
    window.show_properties()
    assert FUNCTIONAL_NOTICE in " ".join(
        label.text() for label in window.property_editor.findChildren(QLabel)
    )

    # The Graph tab draws every layer top to bottom.
    view = show_graph(qtbot, window)
    assert sorted(view.node_names()) == ["add_1", "features", "left", "out", "right"]
    rect = view.node_rect
    assert rect("features").top() < rect("left").top() < rect("add_1").top() < rect("out").top()
    assert "Functional model: 4 layers" in window.graph_page.message.text()
    image = view.viewport().grab()
    assert not image.isNull()
    qtbot.mouseClick(
        view.viewport(), Qt.MouseButton.LeftButton, pos=view.mapFromScene(rect("add_1").center())
    )
    assert view.current_node() == "add_1"


def test_no_gesture_changes_a_functional_model(qtbot, window, tmp_path):
    path = tmp_path / "branched.h5"
    save_model(branched(), path)
    open_model(qtbot, window, path)
    document = window.document
    before = json.dumps(document.project["model"], sort_keys=True)
    problems: list[str] = []
    document.problem.connect(problems.append)

    window.tabs.setCurrentIndex(0)
    stack = window.stack_view.list
    stack.setFocus()
    window.select_layer(-1)
    for key, modifier in (
        (Qt.Key.Key_Delete, Qt.KeyboardModifier.NoModifier),
        (Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier),
        (Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier),
        (Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier),
    ):
        qtbot.keyClick(stack, key, modifier)
    window.append_layer("Dense")  # the palette's Enter / double click
    window.stack_model.insertRequested.emit(0, "Dropout")  # a palette drop
    document.move_layer(0, 1)
    document.remove_layer(0)
    document.set_param(0, "units", 5)
    document.set_input_shape([9])
    window.undo_action.trigger()
    window.redo_action.trigger()

    assert json.dumps(document.project["model"], sort_keys=True) == before
    assert document.undo_stack.count() == 0 and document.undo_stack.isClean()
    assert problems and all("not available yet" in p for p in problems)
    assert len(window.stack_model.rows()) == 1

    # Another project: the stack's usual heading and rows come back.
    from engine.project import new_project

    document.set_project(new_project(), None)
    heading = window.findChild(QLabel, "stackHeading")
    assert FUNCTIONAL_NOTICE not in heading.text() and "drag layers" in heading.text()
    assert not document.is_functional and document.insert_layer(0, "Dense")


def test_a_dataset_that_does_not_fit_is_said_and_the_input_is_kept(qtbot, window, tmp_path):
    path = tmp_path / "branched.h5"
    save_model(branched(), path)
    open_model(qtbot, window, path)
    document = window.document
    before = json.dumps(document.project["model"], sort_keys=True)
    data = tmp_path / "wide.npz"
    rng = np.random.default_rng(0)
    np.savez(data, x=rng.normal(size=(40, 5)).astype("float32"), y=np.arange(40) % 3)
    document.set_dataset({"source": "npz", "path": str(data)})
    document.set_dataset_input_shape((5,), document.project["dataset"])
    assert json.dumps(document.project["model"], sort_keys=True) == before
    error = document.stack_error()
    assert error.startswith("The dataset gives samples of shape (5,)")
    assert "input 'features' takes (8,)" in error
    assert window.stack_view.errorLabel.text() == error
    document.set_dataset_input_shape((8,), document.project["dataset"])
    assert document.stack_error() is None


def test_summary_tab_builds_a_functional_model(qtbot, window, tmp_path):
    path = tmp_path / "branched.h5"
    save_model(branched(), path)
    open_model(qtbot, window, path)
    window.tabs.setCurrentWidget(window.summary_page)
    text = window.summary_page.summary_text
    qtbot.waitUntil(lambda: "Total params" in text.toPlainText(), timeout=60_000)
    assert "add_1" in text.toPlainText()


def test_a_sequential_graph_follows_edits_and_selects_layers(qtbot, window):
    document = window.document
    view = show_graph(qtbot, window)
    count = document.layer_count()
    assert len(view.node_names()) == count + 1  # the input and each layer
    document.insert_layer(count, "Dropout")
    qtbot.waitUntil(lambda: len(view.node_names()) == count + 2, timeout=30_000)
    last = view.node_names()[-1]
    assert last == document.layer_entry(count)["config"]["name"]
    view.nodeActivated.emit(last)
    assert window.stack_view.current_layer() == count
    document.undo_stack.undo()
    qtbot.waitUntil(lambda: len(view.node_names()) == count + 1, timeout=30_000)


def test_model_file_dialog_offers_hdf5(window, monkeypatch):
    offered = {}

    def dialog(parent, caption, folder, filters, *args, **kwargs):
        offered["filters"] = filters
        return "", ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(dialog))
    monkeypatch.setattr(QMessageBox, "question", staticmethod(lambda *a, **k: None))
    window.document.undo_stack.setClean()
    window.files.open_dialog()
    assert "*.hdf5" in offered["filters"] and "*.h5" in offered["filters"]


def test_export_dialogs_accept_hdf5():
    from app.run_exports import EXPORT_KINDS
    from app.training_flow import EXPORT_SUFFIXES

    assert ".hdf5" in EXPORT_SUFFIXES  # model.hdf5 is not renamed model.hdf5.h5
    assert "*.hdf5" in EXPORT_KINDS["h5"][1]


def test_a_functional_model_trains_on_a_dataset_that_fits(qtbot, window, tmp_path):
    """A new project's default dataset gives 64 features and 10 classes: a branched model
    with that input and head trains through the Train control."""
    inputs = keras.Input((64,), name="pixels")
    a = L.Dense(8, activation="relu", name="left")(inputs)
    b = L.Dense(8, activation="relu", name="right")(inputs)
    outputs = L.Dense(10, activation="softmax", name="digit")(L.Concatenate()([a, b]))
    model = keras.Model(inputs, outputs)
    path = tmp_path / "digits.h5"
    save_model(model, path)
    open_model(qtbot, window, path)
    document = window.document
    assert document.is_functional and document.stack_error() is None
    project = document.project
    document.set_training(
        {**project["compile"], "loss": "sparse_categorical_crossentropy", "metrics": []},
        {**project["fit"], "epochs": 1},
    )
    with qtbot.waitSignal(window.controller.finished, timeout=120_000) as finished:
        window.train_button().click()
    result = finished.args[0]
    assert result is not None and result.status == "completed", getattr(result, "message", "")
    assert result.model.count_params() == model.count_params()
