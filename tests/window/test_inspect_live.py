"""Layer outputs from a dataset preview sample (the selected run's weights), and layer outputs
that follow a run's epochs while it trains (``engine.live_activations``)."""

from __future__ import annotations

import numpy as np

from engine.events import EpochEnd, LayerOutputs
from widgets.activation_view import Bars

DEMO_LAYERS = ["dense", "dropout", "dense_1"]


def _names(window) -> list[str]:
    headers = window.activations.header_texts()
    return [h.split("</b>")[0].removeprefix("<b>") for h in headers]


def _drawn_output(window) -> np.ndarray:
    """The values the last layer's bars draw."""
    bars = window.activations.body.findChildren(Bars)
    return np.array(bars[-1].values)


def _train(qtbot, window, epochs: int):
    project = window.document.project
    window.document.set_training(project["compile"], {**project["fit"], "epochs": epochs})
    before = len(window.document.project["runs"])
    with qtbot.waitSignal(window.controller.finished, timeout=120_000) as finished:
        window.train()
    assert finished.args[0].status == "completed", finished.args[0].message
    qtbot.waitUntil(lambda: len(window.document.project["runs"]) == before + 1, timeout=30_000)
    return finished.args[0]


def _preview(qtbot, window):
    panel = window.dataset_panel
    with qtbot.waitSignal(window.dataset_flow.controller.loaded, timeout=60_000):
        window.dataset_flow.preview()
    assert panel.image_list.count() > 3
    return panel


def _inspect_preview_sample(qtbot, window, row: int):
    """Select the only run, pick preview sample ``row``, ask for its layer outputs."""
    runs = window.runs_panel
    runs.table.select_runs([runs.runs()[-1]["id"]])
    panel = window.dataset_panel
    panel.image_list.setCurrentRow(row)
    menu = panel.sample_menu()
    assert [a.text() for a in menu.actions()] == ["Layer outputs for this sample"]
    with qtbot.waitSignal(runs.taskFinished, timeout=120_000) as blocker:
        menu.actions()[0].trigger()
    assert blocker.args == ["inspect"]
    return runs.inspect_flow.window


def test_preview_sample_shows_each_layer_output_with_the_selected_run(qtbot, window):
    panel = _preview(qtbot, window)
    # No trained run yet: a plain sentence, no window.
    panel.image_list.setCurrentRow(1)
    panel.sample_menu().actions()[0].trigger()
    assert "Select a trained run" in window.statusBar().currentMessage()
    assert window.runs_panel.inspect_flow.window is None

    # A right click on a sample selects it and opens its menu.
    shown_menus = []

    class Menu:  # a real QMenu.exec would wait for a user
        def exec(self, *args):
            shown_menus.append(args)

    panel.sample_menu = Menu
    rect = panel.image_list.visualItemRect(panel.image_list.item(4))
    panel.image_list.customContextMenuRequested.emit(rect.center())
    assert panel.image_list.currentRow() == 4 and len(shown_menus) == 1
    assert panel.current_sample()[0] == 4
    del panel.sample_menu

    _train(qtbot, window, 1)
    inspect = _inspect_preview_sample(qtbot, window, 2)
    assert inspect.isVisible()
    assert _names(inspect) == DEMO_LAYERS
    assert inspect.activations.title.text().startswith("Run 1 · preview sample 3 (")
    # The sample drawn is the preview's third sample: the training part's third row.
    shown = window.runs_panel.inspect_flow._shown[0]
    dataset = window.runs_panel._loaded[2]
    assert np.allclose(shown, dataset.parts["train"].x.take(np.asarray([2]))[0])
    last = window.runs_panel._loaded[1].predict(shown[None, ...], verbose=0)[0]
    from engine import inspect_model

    layers = inspect_model.activations(window.runs_panel._loaded[1], shown)
    assert np.allclose(layers[-1].values.reshape(-1), last, atol=1e-5)


def test_a_preview_sample_the_run_cannot_read_is_a_plain_sentence():
    from app.inspect_flow import preview_row
    from engine.datasets import load_dataset
    from engine.errors import LayerLabError
    from engine.project import demo_project

    dataset = load_dataset(demo_project()["dataset"])
    row = preview_row(dataset, 1, dataset.samples[1].value)
    assert np.allclose(row, dataset.parts["train"].x.take(np.asarray([1]))[0])
    try:
        preview_row(dataset, 1, "a sentence, not pixels")
    except LayerLabError as error:
        assert str(error).startswith("This preview sample is not in the selected run's dataset.")
    else:
        raise AssertionError("no error")


def test_layer_outputs_follow_the_epochs_while_training(qtbot, window):
    _preview(qtbot, window)
    _train(qtbot, window, 1)
    inspect = _inspect_preview_sample(qtbot, window, 0)
    flow = window.runs_panel.inspect_flow
    first = _drawn_output(inspect)
    assert flow.live_updates == 0

    events = []
    window.controller.event.connect(
        lambda e: events.append(e) if isinstance(e, EpochEnd | LayerOutputs) else None
    )
    _train(qtbot, window, 3)
    outputs = [e for e in events if isinstance(e, LayerOutputs)]
    assert [e.epoch for e in outputs] == [0, 1, 2]
    assert flow.live_updates == 3
    assert inspect.activations.title.text().startswith("epoch 3 (training) · preview sample 1")
    assert _names(inspect) == DEMO_LAYERS
    # Drawn: the last epoch's outputs, which differ from the finished 1-epoch run's.
    assert np.allclose(_drawn_output(inspect), outputs[-1].layers[-1].values.reshape(-1))
    assert not np.allclose(_drawn_output(inspect), first, atol=1e-4)
    assert flow.live is None  # the run ended: nothing asks any more

    # Closing the window mid-run: the run goes on, nothing is drawn or computed any more.
    events.clear()

    def close_on_first_epoch(event):
        if isinstance(event, EpochEnd) and inspect.isVisible():
            inspect.close()

    window.controller.event.connect(close_on_first_epoch)
    _train(qtbot, window, 3)
    window.controller.event.disconnect(close_on_first_epoch)
    assert not inspect.isVisible()
    assert flow.live_updates == 3
    assert len([e for e in events if isinstance(e, LayerOutputs)]) <= 1
    assert len([e for e in events if isinstance(e, EpochEnd)]) == 3
