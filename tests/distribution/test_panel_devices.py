"""The training panel's Devices row: choices from engine.distribution, disabled ones with the
reason, fit["devices"] written on a choice, the per-replica batch beside the batch size."""

from __future__ import annotations

from PySide6.QtCore import Qt

from engine.distribution import NO_GPU, DeviceInfo, device_choices
from widgets.training_panel import TrainingPanel

COMPILE = {"optimizer": "adam", "loss": "sparse_categorical_crossentropy", "metrics": []}
FIT = {"epochs": 3, "batch_size": 64, "validation_split": 0.2}
CPU = DeviceInfo("cpu", 0, "CPU")
TWO_GPUS = [CPU, DeviceInfo("gpu", 0, "NVIDIA H200"), DeviceInfo("gpu", 1, "NVIDIA H200")]


def _panel(qtbot, devices, fit=FIT) -> TrainingPanel:
    panel = TrainingPanel()
    qtbot.addWidget(panel)
    panel.set_device_choices(device_choices(devices))
    panel.set_settings(COMPILE, fit)
    return panel


def _choose(qtbot, panel, value):
    combo = panel.devices_combo
    with qtbot.waitSignal(panel.settingsEdited) as blocker:
        combo.setCurrentIndex(combo.findData(value))
        combo.activated.emit(combo.currentIndex())
    return blocker.args[1]


def test_without_a_gpu_the_gpu_choices_are_off_with_the_reason(qtbot):
    panel = _panel(qtbot, [CPU])
    combo = panel.devices_combo
    assert combo.currentData() is None and combo.currentText() == "Default (CPU)"
    for value in ("gpu:0", "all"):
        index = combo.findData(value)
        assert not combo.model().item(index).isEnabled()
        assert combo.itemData(index, Qt.ItemDataRole.ToolTipRole) == NO_GPU
    assert combo.model().item(combo.findData("cpu")).isEnabled()
    assert _choose(qtbot, panel, "cpu")["devices"] == "cpu"
    assert not panel.per_replica_label.isVisibleTo(panel)


def test_all_gpus_shows_the_per_replica_batch(qtbot):
    panel = _panel(qtbot, TWO_GPUS)
    assert _choose(qtbot, panel, "all")["devices"] == "all"
    assert panel.per_replica_label.text() == "per replica: 32"
    assert panel.per_replica_label.isVisibleTo(panel)
    panel.set_settings(COMPILE, {**FIT, "batch_size": 33, "devices": "all"})
    assert panel.per_replica_label.text() == "per replica: 16–17"
    panel.set_settings(COMPILE, {**FIT, "devices": "gpu:1"})
    assert panel.devices_combo.currentText() == "GPU 1: NVIDIA H200"
    assert not panel.per_replica_label.isVisibleTo(panel)


def test_a_device_this_machine_lacks_is_shown_not_dropped(qtbot):
    panel = _panel(qtbot, [CPU], fit={**FIT, "devices": "gpu:3"})
    assert panel.devices_combo.currentText() == "gpu:3 (not on this machine)"
    assert panel.settings()[1]["devices"] == "gpu:3"


def test_choosing_the_default_when_unset_writes_nothing(qtbot):
    panel = _panel(qtbot, [CPU])
    combo = panel.devices_combo
    with qtbot.assertNotEmitted(panel.settingsEdited):
        combo.activated.emit(combo.findData(None))
    assert "devices" not in panel.settings()[1]
