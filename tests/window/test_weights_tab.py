"""Weights over time from the window: tick "Record weight histograms", train the demo, select
the run, and the Weights tab shows its distributions and norms (the record survives a save)."""

from __future__ import annotations

import json


def test_stack_totals_give_the_demos_multiply_adds(window):
    # Dense 64→64 and 64→10 on the digits demo: 4,096 + 640 multiply-adds per sample
    assert window.stack_view.totalsLabel.text().endswith("4.7 K MACs per sample")


def test_record_weights_through_the_window(qtbot, window, tmp_path):
    window.training_panel.record_weights.setChecked(True)
    project = window.document.project
    assert project["fit"]["record_weights"] is True
    window.document.set_training(project["compile"], {**project["fit"], "epochs": 2})
    with qtbot.waitSignal(window.controller.finished, timeout=120_000) as finished:
        window.train_button().click()
    assert finished.args[0].status == "completed", finished.args[0].message
    qtbot.waitUntil(lambda: len(window.document.project["runs"]) == 1, timeout=30_000)
    run = window.document.project["runs"][0]
    history = run["weights_history"]
    assert history["epochs"] == [0, 1]
    assert [layer["name"] for layer in history["layers"]] == ["dense", "dense_1"]
    json.dumps(run)  # plain JSON, saved with the project

    window.runs_panel.table.select_runs([run["id"]])
    window.tabs.setCurrentWidget(window.weights_page)
    page = window.weights_page
    assert page.history == history
    assert page.picker.itemText(0) == "dense — kernel (64×64)"
    assert page.current_image.shape[0] == 2
    assert page.splitter.isVisible()
