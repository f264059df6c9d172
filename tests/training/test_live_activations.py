"""``engine.live_activations``: layer outputs at epoch ends, only while asked."""

from __future__ import annotations

import copy

import numpy as np

from engine import training
from engine.events import EpochEnd, LayerOutputs
from engine.live_activations import LiveRequest, request_of
from engine.project import demo_project


def _demo(epochs: int) -> dict:
    project = demo_project()
    project["fit"]["epochs"] = epochs
    project["fit"]["seed"] = 3
    return copy.deepcopy(project)


def test_asked_sample_gets_layer_outputs_each_epoch_and_nothing_otherwise(tmp_path):
    control = training.TrainControl()
    live = request_of(control)
    assert request_of(control) is live and isinstance(live, LiveRequest)
    live.ask(np.full(64, 0.5, dtype="float32"), "my sample")
    events = []

    def sink(event):
        events.append(event)
        if isinstance(event, LayerOutputs) and event.epoch == 1:
            live.cancel()  # nobody looks any more: the third epoch computes nothing

    result = training.run(_demo(3), sink=sink, control=control, workdir=tmp_path)
    assert result.status == "completed", result.message
    outputs = [e for e in events if isinstance(e, LayerOutputs)]
    assert [e.epoch for e in outputs] == [0, 1]
    assert all(e.title == "my sample" and not e.message for e in outputs)
    assert [layer.name for layer in outputs[0].layers] == ["dense", "dropout", "dense_1"]
    assert not np.allclose(outputs[0].layers[-1].values, outputs[1].layers[-1].values)
    # Each LayerOutputs follows its epoch's EpochEnd.
    kinds = [type(e).__name__ for e in events if isinstance(e, EpochEnd | LayerOutputs)]
    assert kinds == ["EpochEnd", "LayerOutputs", "EpochEnd", "LayerOutputs", "EpochEnd"]


def test_a_sample_that_does_not_fit_is_a_message_and_training_goes_on(tmp_path):
    control = training.TrainControl()
    request_of(control).ask(np.zeros(5, dtype="float32"), "wrong")
    events = []
    result = training.run(_demo(1), sink=events.append, control=control, workdir=tmp_path)
    assert result.status == "completed", result.message
    (output,) = [e for e in events if isinstance(e, LayerOutputs)]
    assert output.layers == ()
    assert output.message.startswith("The layer outputs could not be computed this epoch: ")
