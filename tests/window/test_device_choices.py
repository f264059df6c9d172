"""Issue 13: the training panel's Devices row lists this machine's choices once Keras is
loaded; impossible ones (no GPU here) are disabled with the reason."""

from __future__ import annotations

from PySide6.QtCore import Qt


def test_devices_row_offers_this_machines_choices_with_reasons(window):
    combo = window.training_panel.devices_combo
    values = [combo.itemData(i) for i in range(combo.count())]
    assert "cpu" in values and "all" in values
    model = combo.model()
    for i, value in enumerate(values):
        item = model.item(i)
        if value in ("gpu:0", "all") and not item.isEnabled():
            assert item.data(Qt.ItemDataRole.ToolTipRole), "a disabled choice says why"
    assert combo.itemData(combo.currentIndex()) in (None, "cpu")
