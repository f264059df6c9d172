"""Issue 11: training offers "start from the project's weights" (the default for an opened
model) or a fresh initialisation; without weights the choice is off and says why."""

from __future__ import annotations

from widgets.training_panel import TrainingPanel

COMPILE = {"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["accuracy"]}
FIT = {"epochs": 3, "batch_size": 32, "validation_split": 0.2}


def test_without_weights_the_choice_is_fresh_and_disabled(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.set_initial_weights(None)
    panel.set_settings(COMPILE, FIT)
    combo = panel.start_from_combo
    assert combo.currentData() == "fresh"
    assert not combo.isEnabled()
    assert "no weights" in combo.toolTip()


def test_with_weights_they_are_the_default_and_fresh_can_be_chosen(qtbot):
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.set_initial_weights("imdb.weights.h5")
    panel.set_settings(COMPILE, FIT)
    combo = panel.start_from_combo
    assert combo.isEnabled()
    assert combo.currentData() == "weights"
    assert "imdb.weights.h5" in combo.currentText()
    with qtbot.waitSignal(panel.settingsEdited) as blocker:
        combo.setCurrentIndex(combo.findData("fresh"))
        combo.activated.emit(combo.currentIndex())
    assert blocker.args[1]["start_from"] == "fresh"
    panel.set_settings(COMPILE, {**FIT, "start_from": "fresh"})
    assert combo.currentData() == "fresh"
