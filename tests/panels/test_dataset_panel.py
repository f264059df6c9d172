"""DatasetPanel: block round trips, one blockEdited per edit, preview states and samples."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from engine.datasets import DatasetError, dataset_names, resolve_block, source_options
from widgets.dataset_panel import DatasetPanel, image_from_array, read_csv_header


@pytest.fixture
def panel(qtbot):
    widget = DatasetPanel()
    qtbot.addWidget(widget)
    widget.set_option_provider(source_options, dataset_names)
    return widget


def edit(qtbot, panel, action) -> dict:
    """Run ``action``; assert exactly one blockEdited; return the new block."""
    seen = []
    panel.blockEdited.connect(seen.append)
    action()
    panel.blockEdited.disconnect()
    assert len(seen) == 1, seen
    try:  # every edited block is one the engine accepts, once its required fields are set
        resolve_block(seen[0])
    except DatasetError as error:
        assert error.field in ("path", "target"), error
    return seen[0]


def choose(combo, data):
    def action():
        combo.setCurrentIndex(combo.findData(data))
        combo.activated.emit(combo.currentIndex())

    return action


@pytest.mark.parametrize(
    "block",
    [
        {"source": "sample", "name": "digits"},
        {"source": "keras", "name": "imdb", "num_words": 5000, "encoding": "sequences"},
        {"source": "keras", "name": "cifar100", "label_mode": "coarse"},
        {"source": "timeseries", "path": "jena.csv", "target": "T (degC)", "lookback": 720},
        {"source": "image_folder", "path": "/data/pets", "image_size": [64, 48]},
        {"source": "npz", "path": "arrays.npz"},
    ],
)
def test_set_block_shows_without_emitting(qtbot, panel, block):
    with qtbot.assertNotEmitted(panel.blockEdited):
        panel.set_block(block)
    assert panel.block() == block
    assert panel.source_combo.currentData() == block["source"]
    values = panel.form.values()
    for key, value in block.items():
        if key != "source":
            assert values[key] == value, key


def test_edits_emit_one_block_each(qtbot, panel):
    panel.set_block({"source": "keras", "name": "imdb"})
    form = panel.form
    block = edit(qtbot, panel, lambda: form.editor("num_words").setValue(5000))
    assert block == {"source": "keras", "name": "imdb", "num_words": 5000}
    block = edit(qtbot, panel, choose(form.editor("encoding"), "sequences"))
    assert block["encoding"] == "sequences"
    block = edit(qtbot, panel, lambda: form.editor("maxlen").setValue(200))
    assert block["maxlen"] == 200
    block = edit(qtbot, panel, lambda: form.editor("maxlen").setValue(-1))
    assert "maxlen" not in block  # back to "none": the key goes
    # a different Keras set keeps only the fields it takes
    block = edit(qtbot, panel, choose(form.editor("name"), "mnist"))
    assert block == {"source": "keras", "name": "mnist"}
    assert [o.name for o in form.options()] == ["name", "rescale", "flatten"]
    block = edit(qtbot, panel, form.editor("flatten").click)
    assert block["flatten"] is True
    # another source starts from that source's defaults
    block = edit(qtbot, panel, choose(panel.source_combo, "sample"))
    assert block == {"source": "sample", "name": "digits"}
    block = edit(qtbot, panel, choose(panel.source_combo, "image_folder"))
    assert block == {"source": "image_folder"}
    pair = form.editor("image_size").findChildren(type(form.editor("seed")))
    block = edit(qtbot, panel, lambda: pair[1].setValue(96))
    assert block["image_size"] == [180, 96]


def test_path_and_csv_column_pickers(qtbot, panel, tmp_path):
    csv_path = tmp_path / "houses.csv"
    csv_path.write_text("rooms,area,city,price\n3,80,Oslo,300\n")
    assert read_csv_header(str(csv_path)) == ["rooms", "area", "city", "price"]
    panel.set_block({"source": "csv"})
    panel.show()
    edit_box = panel.form.editor("path").findChild(type(panel.form.editor("delimiter")))
    edit_box.setFocus()

    def type_path():
        qtbot.keyClicks(edit_box, str(csv_path))
        qtbot.keyClick(edit_box, Qt.Key.Key_Return)

    block = edit(qtbot, panel, type_path)
    assert block == {"source": "csv", "path": str(csv_path)}
    target = panel.form.editor("target")
    actions = [a for a in target.menu().actions() if a.isCheckable()]
    assert [a.text() for a in actions] == ["rooms", "area", "city", "price"]
    block = edit(qtbot, panel, actions[3].trigger)
    assert block["target"] == "price"
    features = panel.form.editor("features")
    feature_actions = [a for a in features.menu().actions() if a.isCheckable()]
    edit(qtbot, panel, feature_actions[0].trigger)
    block = edit(qtbot, panel, feature_actions[1].trigger)
    assert block["features"] == ["rooms", "area"]
    assert features.text() == "rooms, area"


def test_show_dataset_images_text_rows_series(qtbot, panel):
    panel.set_block({"source": "keras", "name": "mnist"})
    panel.resize(420, 700)
    panel.show()
    digits = np.arange(28 * 28, dtype=np.uint8).reshape(28, 28, 1)
    panel.show_dataset(
        {
            "task": "multiclass",
            "input_shape": (28, 28, 1),
            "num_classes": 10,
            "class_names": [str(i) for i in range(10)],
            "train_size": 48000,
            "val_size": 12000,
            "test_size": 10000,
            "description": "MNIST digits",
            "samples": [{"kind": "image", "value": digits, "label": "5"}] * 3,
        }
    )
    assert panel.samples.currentWidget() is panel.image_list
    assert panel.image_list.count() == 3 and panel.image_list.item(0).text() == "5"
    assert not panel.image_list.item(0).icon().isNull()
    assert panel._summary_values["input_shape"].text() == "(28, 28, 1)"
    assert "48,000 train" in panel._summary_values["sizes"].text()
    image = image_from_array(np.array([[0, 255]], dtype=np.uint8))
    assert (image.width(), image.height()) == (2, 1) and image.pixelColor(1, 0).red() == 255
    rgb = image_from_array(np.zeros((4, 5, 3), dtype=np.uint8))
    assert (rgb.width(), rgb.height()) == (5, 4)

    panel.show_dataset(
        {
            "task": "binary",
            "input_shape": (500,),
            "num_classes": 2,
            "class_names": ["negative", "positive"],
            "samples": [{"kind": "text", "value": "a wonderful film " * 80, "label": "positive"}],
        }
    )
    assert panel.samples.currentWidget() is panel.text_list
    assert panel.text_list.item(0).text().startswith("[positive]  a wonderful film")
    assert panel.text_list.item(0).text().endswith("…")

    rows = [{"kind": "row", "value": {"rooms": 3, "city": "Oslo"}, "label": "300.5"}] * 4
    panel.show_dataset({"task": "regression", "input_shape": (2,), "samples": rows})
    assert panel.samples.currentWidget() is panel.table
    headers = [panel.table.horizontalHeaderItem(i).text() for i in range(3)]
    assert headers == ["rooms", "city", "label"] and panel.table.rowCount() == 4
    assert panel.table.item(0, 1).text() == "Oslo"
    assert panel._summary_values["classes"].text() == "— (regression)"

    series = [{"kind": "series", "value": np.sin(np.arange(240.0))[:, None], "label": "0.12"}]
    panel.show_dataset(
        {"task": "regression", "input_shape": (240, 1), "samples": series, "baseline_mae": 0.29}
    )
    assert panel.samples.currentWidget() is panel.image_list
    assert panel.image_list.count() == 1
    assert "baseline MAE: 0.29" in panel._summary_values["description"].text()
    grabbed = panel.grab()
    assert not grabbed.isNull()


def test_preview_states_and_buttons(qtbot, panel):
    panel.set_block({"source": "sample", "name": "iris"})
    assert panel.load_button.objectName() == "loadPreviewButton"
    assert panel.suggest_button.objectName() == "suggestHeadButton"
    with qtbot.waitSignal(panel.previewRequested, timeout=1000):
        panel.load_button.click()
    panel.show_loading("Downloading mnist.npz", 0.25)
    assert panel.progress_bar.isVisibleTo(panel) and panel.progress_bar.value() == 250
    panel.show_loading("Reading")
    assert panel.progress_bar.maximum() == 0  # busy
    panel.show_error("The csv dataset needs 'path'.")
    assert panel.status_label.text() == "The csv dataset needs 'path'."
    assert not panel.progress_bar.isVisibleTo(panel)
    with qtbot.waitSignal(panel.suggestHeadRequested, timeout=1000):
        panel.suggest_button.click()
    panel.show_dataset({"task": "multiclass", "input_shape": (4,), "num_classes": 3})
    assert panel.summary.isVisibleTo(panel)
    # an edit marks the preview as out of date
    edit(qtbot, panel, lambda: panel.form.editor("seed").setValue(1))
    assert "changed" in panel.status_label.text()


def test_loaded_preview_scrolls_into_view_in_a_short_panel(qtbot, panel):
    """Issue 9, defect 7: at 1280x800 the dock is short and the preview sat below the fold,
    one line of it showing."""
    panel.set_block({"source": "sample", "name": "iris"})
    panel.resize(400, 260)
    panel.show()
    qtbot.waitExposed(panel)
    bar = panel.scroll.verticalScrollBar()
    assert bar.value() == 0 and bar.maximum() > 0
    rows = [{"kind": "row", "value": {"a": 1.0, "b": 2.0}, "label": "x"}] * 5
    panel.show_dataset(
        {"task": "multiclass", "input_shape": (2,), "num_classes": 3, "samples": rows}
    )
    qtbot.waitUntil(lambda: bar.value() > 0, timeout=2_000)
    viewport = panel.scroll.viewport()
    top = panel.preview_box.mapTo(viewport, panel.preview_box.rect().topLeft()).y()
    assert -2 <= top <= 2 or bar.value() == bar.maximum()
    assert panel.status_label.mapTo(viewport, panel.status_label.rect().topLeft()).y() >= 0
