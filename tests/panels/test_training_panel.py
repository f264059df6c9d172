"""TrainingPanel: settings round trip, one signal per edit, callbacks, class weights, buttons."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractSpinBox

from widgets.training_panel import TrainingPanel

COMPILE = {"optimizer": "rmsprop", "loss": "binary_crossentropy", "metrics": ["accuracy"]}
FIT = {
    "epochs": 20,
    "batch_size": 512,
    "validation_split": 0.4,
    "shuffle": True,
    "seed": 7,
    "class_weight": None,
    "callbacks": [
        {
            "class_name": "EarlyStopping",
            "config": {"monitor": "val_loss", "patience": 3, "verbose": 1},
        }
    ],
    "custom_key": "kept",
}


def make_panel(qtbot, keras_choices) -> TrainingPanel:
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.set_choices(*keras_choices)
    with qtbot.assertNotEmitted(panel.settingsEdited):
        panel.set_settings(COMPILE, FIT)
    return panel


def edit(qtbot, panel, action):
    """Run ``action``; assert exactly one settingsEdited; return its (compile, fit)."""
    seen = []
    panel.settingsEdited.connect(lambda c, f: seen.append((c, f)))
    action()
    assert len(seen) == 1, seen
    panel.settingsEdited.disconnect()
    return seen[0]


def test_set_settings_shows_blocks_and_round_trips(qtbot, keras_choices):
    panel = make_panel(qtbot, keras_choices)
    assert panel.objectName() == "trainingPanel"
    assert panel.optimizer_combo.currentText() == "RMSprop"
    assert abs(panel.learning_rate.value() - 0.001) < 1e-9
    assert panel.loss_combo.currentData() == "binary_crossentropy"
    assert panel.epochs.value() == 20 and panel.batch_size.value() == 512
    assert panel.seed.value() == 7 and panel.shuffle.isChecked()
    box, form = panel._callback_rows["EarlyStopping"]
    assert box.isChecked() and form.value("patience") == 3
    assert panel.settings() == (COMPILE, FIT)


def test_fit_edits_emit_once_and_keep_unknown_keys(qtbot, keras_choices):
    panel = make_panel(qtbot, keras_choices)
    compile_block, fit = edit(qtbot, panel, lambda: panel.epochs.setValue(5))
    assert fit["epochs"] == 5 and fit["custom_key"] == "kept"
    assert compile_block == COMPILE  # an untouched optimizer name stays a name
    _c, fit = edit(qtbot, panel, lambda: panel.seed.setValue(-1))
    assert fit["seed"] is None and panel.seed.text() == "random"
    _c, fit = edit(qtbot, panel, lambda: panel.shuffle.setChecked(False))
    assert fit["shuffle"] is False
    # keyboard: typing into a spin box emits once, on Enter, not per keystroke
    panel.show()
    panel.batch_size.setFocus()
    panel.batch_size.selectAll()

    def type_value():
        qtbot.keyClicks(panel.batch_size, "128")
        qtbot.keyClick(panel.batch_size, Qt.Key.Key_Return)

    _c, fit = edit(qtbot, panel, type_value)
    assert fit["batch_size"] == 128


def test_optimizer_edits_serialize_like_keras(qtbot, keras_choices):
    from engine.quiet import import_keras

    keras = import_keras()
    panel = make_panel(qtbot, keras_choices)
    index = panel.optimizer_combo.findData("SGD")

    def choose_sgd():
        panel.optimizer_combo.setCurrentIndex(index)
        panel.optimizer_combo.activated.emit(index)

    compile_block, _f = edit(qtbot, panel, choose_sgd)
    optimizer = compile_block["optimizer"]
    assert optimizer["class_name"] == "SGD" and optimizer["module"] == "keras.optimizers"
    assert set(panel.optimizer_form.options()[i].name for i in range(2)) == {"momentum", "nesterov"}
    compile_block, _f = edit(
        qtbot, panel, lambda: panel.optimizer_form.editor("momentum").setValue(0.9)
    )
    compile_block, _f = edit(qtbot, panel, lambda: panel.optimizer_form.editor("nesterov").click())
    compile_block, _f = edit(qtbot, panel, lambda: panel.learning_rate.stepBy(1))
    config = compile_block["optimizer"]["config"]
    assert config["momentum"] == 0.9 and config["nesterov"] is True
    assert config["learning_rate"] == 0.02  # 1-2-5 ladder up from SGD's 0.01
    rebuilt = keras.optimizers.deserialize(compile_block["optimizer"])
    assert rebuilt.nesterov and abs(float(rebuilt.momentum) - 0.9) < 1e-6
    # AdamW's weight decay differs from the other optimizers' default: shown directly
    panel.set_settings({**COMPILE, "optimizer": "AdamW"}, FIT)
    assert "weight_decay" in [o.name for o in panel.optimizer_form.options()]
    assert "clipnorm" in [o.name for o in panel.optimizer_advanced_form.options()]


def test_loss_metrics_and_class_weights(qtbot, keras_choices):
    panel = make_panel(qtbot, keras_choices)
    index = panel.loss_combo.findData("mean_squared_error")

    def choose_loss():
        panel.loss_combo.setCurrentIndex(index)
        panel.loss_combo.activated.emit(index)

    compile_block, _f = edit(qtbot, panel, choose_loss)
    assert compile_block["loss"] == "mean_squared_error"
    auc = panel.metrics_list.findItems("auc", Qt.MatchFlag.MatchExactly)[0]
    compile_block, _f = edit(qtbot, panel, lambda: auc.setCheckState(Qt.CheckState.Checked))
    assert compile_block["metrics"] == ["accuracy", "auc"]
    # monitors follow the chosen metrics
    _box, form = panel._callback_rows["EarlyStopping"]
    assert "val_auc" in form.options()[0].choices

    panel.set_class_names(["negative", "positive"])
    combo = panel.class_weight_combo

    def choose(mode):
        def action():
            combo.setCurrentIndex(combo.findData(mode))
            combo.activated.emit(combo.currentIndex())

        return action

    _c, fit = edit(qtbot, panel, choose("balanced"))
    assert fit["class_weight"] == "balanced"
    _c, fit = edit(qtbot, panel, choose("explicit"))
    assert fit["class_weight"] == {"0": 1.0, "1": 1.0}
    assert panel.class_weight_table.isVisibleTo(panel)
    cell = panel.class_weight_table.item(1, 1)
    _c, fit = edit(qtbot, panel, lambda: cell.setData(Qt.ItemDataRole.EditRole, 3.5))
    assert fit["class_weight"] == {"0": 1.0, "1": 3.5}
    assert panel.class_weight_table.item(1, 0).text() == "1 — positive"
    _c, fit = edit(qtbot, panel, choose(None))
    assert fit["class_weight"] is None


def test_callbacks_toggle_and_options(qtbot, keras_choices):
    panel = make_panel(qtbot, keras_choices)
    box, form = panel._callback_rows["ReduceLROnPlateau"]
    assert not form.isEnabled()
    _c, fit = edit(qtbot, panel, box.click)
    names = [c["class_name"] for c in fit["callbacks"]]
    assert names == ["EarlyStopping", "ReduceLROnPlateau"]
    reduce_config = fit["callbacks"][1]["config"]
    assert reduce_config == {"monitor": "val_loss", "factor": 0.1, "patience": 10, "min_lr": 0.0}
    assert form.isEnabled()
    _c, fit = edit(qtbot, panel, lambda: form.editor("factor").setValue(0.5))
    assert fit["callbacks"][1]["config"]["factor"] == 0.5
    early_box, early_form = panel._callback_rows["EarlyStopping"]
    _c, fit = edit(qtbot, panel, lambda: early_form.editor("restore_best_weights").click())
    assert fit["callbacks"][0]["config"] == {
        "monitor": "val_loss",
        "patience": 3,
        "verbose": 1,
        "restore_best_weights": True,
    }
    # switching a callback off and on again restores its settings (unknown keys too)
    _c, fit = edit(qtbot, panel, early_box.click)
    assert [c["class_name"] for c in fit["callbacks"]] == ["ReduceLROnPlateau"]
    _c, fit = edit(qtbot, panel, early_box.click)
    assert fit["callbacks"][0]["class_name"] == "EarlyStopping"
    assert fit["callbacks"][0]["config"]["verbose"] == 1
    assert fit["callbacks"][0]["config"]["restore_best_weights"] is True
    assert "(2 on)" in panel.callbacks_box.text()
    # only the callbacks the window offers are listed (plus any the project uses)
    optimizers, losses, metrics, callbacks = keras_choices
    panel.set_choices(optimizers, losses, metrics, {"EarlyStopping": callbacks["EarlyStopping"]})
    assert list(panel._callback_rows) == ["EarlyStopping", "ReduceLROnPlateau"]


def test_buttons_follow_running_state(qtbot, keras_choices):
    panel = make_panel(qtbot, keras_choices)
    train, pause, stop = panel.train_button, panel.pause_button, panel.stop_button
    assert (train.objectName(), pause.objectName(), stop.objectName()) == (
        "trainButton",
        "pauseButton",
        "stopButton",
    )
    assert train.isEnabled() and not pause.isEnabled() and not stop.isEnabled()
    with qtbot.waitSignal(panel.trainRequested, timeout=1000):
        train.click()
    panel.set_running(True, False)
    assert not train.isEnabled() and pause.isEnabled() and stop.isEnabled()
    assert pause.text() == "&Pause"
    with qtbot.waitSignal(panel.pauseRequested, timeout=1000):
        pause.click()
    panel.set_running(True, True)
    assert pause.text() == "&Resume"
    with (
        qtbot.assertNotEmitted(panel.pauseRequested),
        qtbot.waitSignal(panel.resumeRequested, timeout=1000),
    ):
        pause.click()
    with qtbot.waitSignal(panel.stopRequested, timeout=1000):
        stop.click()
    panel.set_running(False, False)
    assert train.isEnabled() and not pause.isEnabled() and not stop.isEnabled()


def test_keyboard_access(qtbot, keras_choices):
    panel = make_panel(qtbot, keras_choices)
    spin_boxes = panel.findChildren(QAbstractSpinBox)
    assert spin_boxes and all(not box.keyboardTracking() for box in spin_boxes)
    for button in (panel.train_button, panel.pause_button, panel.stop_button):
        assert "&" in button.text()
    assert panel.epochs.focusPolicy() & Qt.FocusPolicy.TabFocus


def test_edited_settings_are_a_valid_project_and_build_keras_objects(
    qtbot, keras_choices, tmp_path
):
    from datetime import datetime

    from engine.compiling import make_optimizer
    from engine.project import new_project, validate_project
    from engine.training import make_callbacks

    panel = make_panel(qtbot, keras_choices)
    for box, _form in panel._callback_rows.values():
        if not box.isChecked():
            edit(qtbot, panel, box.click)
    index = panel.optimizer_combo.findData("AdamW")
    panel.optimizer_combo.setCurrentIndex(index)
    panel.optimizer_combo.activated.emit(index)
    panel.class_weight_combo.setCurrentIndex(panel.class_weight_combo.findData("explicit"))
    panel.class_weight_combo.activated.emit(panel.class_weight_combo.currentIndex())
    compile_block, fit = panel.settings()
    assert len(fit["callbacks"]) == 5
    project = validate_project({**new_project(), "compile": compile_block, "fit": fit})
    assert make_optimizer(project["compile"]["optimizer"]).__class__.__name__ == "AdamW"
    built = make_callbacks(project["fit"]["callbacks"], tmp_path, datetime.now())
    assert [type(c).__name__ for c in built] == [
        "EarlyStopping",
        "ModelCheckpoint",
        "ReduceLROnPlateau",
        "TensorBoard",
        "CSVLogger",
    ]
