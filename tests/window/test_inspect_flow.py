"""Looking inside runs from the Runs panel (app.inspect_flow): layer outputs and explanations
of the digits MLP and a small digits CNN, from the gallery, a confusion-matrix cell and the
Predict input; TensorFlow Lite export from the Export menu with its agreement shown."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel

from app import run_exports
from app.runs_panel import RunsPanel
from engine import runs, training
from engine.project import demo_project, load_project, save_project
from widgets.activation_view import Bars


def _cnn_model_config() -> dict:
    import keras

    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Reshape((8, 8, 1)),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="last_conv"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    return model.get_config()


@pytest.fixture(scope="module")
def inspected_project(tmp_path_factory) -> Path:
    """Run 1: the digits MLP (demo); Run 2: a small CNN on the same digits."""
    folder = tmp_path_factory.mktemp("inspect")
    path = folder / "inspect.llproj"
    project = demo_project()
    project["fit"]["epochs"] = 4
    project["fit"]["seed"] = 2
    settings = copy.deepcopy(project)
    result = training.run(settings, workdir=folder)
    assert result.status == "completed", result.message
    project, _ = runs.record_run(project, result, path)
    cnn = copy.deepcopy(project)
    cnn["model"] = _cnn_model_config()
    result = training.run(copy.deepcopy(cnn), workdir=folder)
    assert result.status == "completed", result.message
    cnn, _ = runs.record_run(cnn, result, path)
    save_project(cnn, path)
    return path


@pytest.fixture
def panel(qtbot, inspected_project):
    widget = RunsPanel()
    qtbot.addWidget(widget)
    widget.set_project(load_project(inspected_project), inspected_project)
    widget.resize(1000, 700)
    widget.show()
    yield widget
    widget.shutdown()
    if widget.inspect_flow.window is not None:
        widget.inspect_flow.window.close()


def _evaluate(qtbot, panel, name: str):
    run = next(r for r in panel.runs() if r["name"] == name)
    panel.table.select_runs([run["id"]])
    with qtbot.waitSignal(panel.taskFinished, timeout=120_000):
        panel.evaluate_selected()
    return panel.evaluation.result


def _inspect(qtbot, panel, payload):
    with qtbot.waitSignal(panel.taskFinished, timeout=120_000) as blocker:
        panel.evaluation.inspectRequested.emit(payload)
    assert blocker.args == ["inspect"]
    return panel.inspect_flow.window


def test_layer_outputs_and_gradcam_of_the_cnn(qtbot, panel, tmp_path):
    result = _evaluate(qtbot, panel, "Run 2")
    row = result.gallery[0].index
    window = _inspect(qtbot, panel, {"what": "activations", "rows": [row]})
    assert window.isVisible()
    headers = window.activations.header_texts()
    assert [h.split("</b>")[0].removeprefix("<b>") for h in headers] == [
        "reshape",
        "conv2d",
        "last_conv",
        "max_pooling2d",
        "flatten",
        "dense",
    ]
    assert "→ 8×8×8" in headers[1]
    assert len(window.activations.body.findChildren(Bars)) == 2  # flatten and dense
    assert window.activations.body.findChild(QLabel, "activationSample") is not None
    assert window.activations.title.text().startswith("Run 2 · test sample ")

    window = _inspect(qtbot, panel, {"what": "explain", "rows": [row]})
    cards = window.explanations.cards
    assert len(cards) == 1, window.explanations.title.text()
    header = cards[0].findChild(QLabel, "explanationHeader").text()
    assert "Grad-CAM over last_conv" in header
    assert f"test sample {row}: true {result.gallery[0].true_label}" in header
    assert cards[0].findChild(QLabel, "explanationOverlay") is not None
    qtbot.wait(50)  # children added to a shown layout appear on the next event loop turn
    assert cards[0].isVisible()
    shot = tmp_path / "inspect_cnn.png"
    window.grab().save(str(shot))
    if os.environ.get("LAYERLAB_SHOTS"):
        window.grab().save(os.path.join(os.environ["LAYERLAB_SHOTS"], "inspect_cnn_why.png"))
        window.tabs.setCurrentIndex(0)
        qtbot.wait(50)
        window.grab().save(os.path.join(os.environ["LAYERLAB_SHOTS"], "inspect_cnn_layers.png"))


def test_confusion_cell_explains_its_mistakes_with_the_chosen_class(qtbot, panel):
    result = _evaluate(qtbot, panel, "Run 1")
    matrix = result.confusion.copy()
    for i in range(len(matrix)):
        matrix[i, i] = 0
    true, predicted = divmod(int(matrix.argmax()), len(matrix))
    assert matrix[true, predicted] > 0, "the 4-epoch MLP makes mistakes"
    window = _inspect(qtbot, panel, {"what": "explain", "cell": (true, predicted)})
    names = result.class_names
    assert window.explanations.title.text().startswith(
        f"Run 1 · {int(matrix[true, predicted])} test samples of true {names[true]} "
        f"predicted as {names[predicted]} (mistakes)"
    )
    cards = window.explanations.cards
    assert len(cards) == min(12, int(matrix[true, predicted]))
    header = cards[0].findChild(QLabel, "explanationHeader").text()
    assert f"why <b>{names[predicted]}</b>" in header
    assert "gradient × input per feature" in header
    # The MLP reads 64 pixels: the saliency is drawn over the 8×8 digit.
    assert cards[0].findChild(QLabel, "explanationOverlay") is not None
    if os.environ.get("LAYERLAB_SHOTS"):
        qtbot.wait(50)
        window.grab().save(os.path.join(os.environ["LAYERLAB_SHOTS"], "inspect_mlp_cell.png"))
    # Choosing another class explains that class for the same cell.
    with qtbot.waitSignal(panel.taskFinished, timeout=120_000):
        window.class_combo.setCurrentIndex(window.class_combo.findText(names[true]))
    header = window.explanations.cards[0].findChild(QLabel, "explanationHeader").text()
    assert f"why <b>{names[true]}</b>" in header


def test_predict_input_layer_outputs_and_a_plain_error(qtbot, panel):
    _evaluate(qtbot, panel, "Run 1")
    window = _inspect(qtbot, panel, {"what": "activations", "raw": [0.5] * 64})
    assert window.activations.title.text() == "Run 1 · your input"
    assert len(window.activations.header_texts()) == 3  # dense, dropout, dense_1
    window = _inspect(qtbot, panel, {"what": "explain", "raw": [1.0, 2.0]})
    assert window.explanations.title.text() == (
        "The input has 2 values; this dataset's inputs have 64. "
        "Type an input like the dataset's samples."
    )


def test_tflite_export_from_the_menu_shows_the_agreement(qtbot, panel, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(run_exports, "show_agreement", lambda _panel, text: shown.append(text))
    assert panel.export_actions["tflite-int8"].text().startswith("TensorFlow Lite, int8")
    _evaluate(qtbot, panel, "Run 1")
    assert panel.export_actions["tflite"].isEnabled()
    target = tmp_path / "digits.tflite"
    with qtbot.waitSignal(panel.taskFinished, timeout=120_000):
        panel.export_to("tflite-int8", target)
    assert target.is_file()
    agreement = panel.last_export_agreement
    assert agreement.samples == 359 and agreement.max_abs_diff < 0.05
    assert abs(agreement.exported_accuracy - agreement.keras_accuracy) <= 0.01
    assert len(shown) == 1 and "accuracy Keras" in shown[0]


def test_onnx_item_says_why_when_tf2onnx_is_missing(qtbot, monkeypatch):
    monkeypatch.setattr(run_exports, "onnx_reason", lambda: "ONNX export needs the tf2onnx …")
    widget = RunsPanel()
    qtbot.addWidget(widget)
    action = widget.export_actions["onnx"]
    assert action.text() == "ONNX (.onnx) — needs tf2onnx and onnxruntime…"
    assert action.toolTip() == "ONNX export needs the tf2onnx …"


def test_real_double_click_on_a_confusion_cell_and_gallery_menu(qtbot, panel):
    from PySide6.QtCore import QPointF, Qt
    from PySide6.QtTest import QTest

    result = _evaluate(qtbot, panel, "Run 1")
    view = panel.evaluation
    view.tabs.setCurrentWidget(view.confusion_plot)
    qtbot.wait(50)
    asked = []
    view.inspectRequested.disconnect(panel.inspect_flow.request)
    view.inspectRequested.connect(asked.append)
    plot = view.confusion_plot
    scene_point = plot.getPlotItem().vb.mapViewToScene(QPointF(2.5, 7.5))  # predicted 2, true 7
    # What a real double click delivers: press, release, double-click press, release
    # (pyqtgraph reports the double click on the last release).
    at = plot.mapFromScene(scene_point)
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    QTest.mouseClick(plot.viewport(), left, none, at)
    assert asked == []  # a single click asks nothing
    QTest.mouseDClick(plot.viewport(), left, none, at)
    QTest.mouseRelease(plot.viewport(), left, none, at)
    assert asked == [{"what": "explain", "cell": (7, 2)}]

    view.tabs.setCurrentWidget(view.gallery)
    view.gallery.selectRow(1)
    menu = view.gallery_menu()
    assert [a.text() for a in menu.actions()] == [
        "Layer outputs for this sample",
        "Why this prediction?",
    ]
    menu.actions()[1].trigger()
    assert asked[-1] == {"what": "explain", "rows": [result.gallery[1].index]}
    menu.actions()[0].trigger()
    assert asked[-1] == {"what": "activations", "rows": [result.gallery[1].index]}
