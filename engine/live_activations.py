"""Layer outputs of a sample during training, refreshed at each epoch end.

The window asks through a ``LiveRequest`` attached to the run's ``TrainControl``
(``request_of(control).ask(x_row, title)``; ``cancel()`` when nobody looks any more). The
``LiveActivations`` callback, in the thread that trains, reads it at ``on_epoch_end`` and,
only when asked, computes ``engine.inspect_model.activations(model, x_row)`` with the model's
current weights and sends one ``engine.events.LayerOutputs`` to the run's sink. Nothing is
computed when nobody asked, so runs without a watcher (CLI, search workers) pay nothing.
"""

from __future__ import annotations

import threading
from typing import Any

import keras
import numpy as np

from engine.events import LayerOutputs

_attach_lock = threading.Lock()


class LiveRequest:
    """The sample whose layer outputs are wanted at epoch ends (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sample: np.ndarray | None = None
        self._title = ""

    def ask(self, x_row: Any, title: str = "") -> None:
        """Refresh the layer outputs of ``x_row`` (one encoded model input) at epoch ends."""
        with self._lock:
            self._sample = np.array(x_row, copy=True)
            self._title = str(title)

    def cancel(self) -> None:
        with self._lock:
            self._sample, self._title = None, ""

    def current(self) -> tuple[np.ndarray, str] | None:
        with self._lock:
            if self._sample is None:
                return None
            return self._sample, self._title


def request_of(control: Any) -> LiveRequest:
    """The ``LiveRequest`` of ``control`` (a run's ``TrainControl``), made on first use."""
    with _attach_lock:
        live = getattr(control, "live_activations", None)
        if not isinstance(live, LiveRequest):
            live = LiveRequest()
            control.live_activations = live
        return live


class LiveActivations(keras.callbacks.Callback):
    """Sends ``LayerOutputs`` at each epoch end while ``control``'s request asks for them."""

    def __init__(self, sink, control: Any) -> None:
        super().__init__()
        self.sink = sink
        self.control = control
        self.computed = 0

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        live = getattr(self.control, "live_activations", None)
        asked = live.current() if isinstance(live, LiveRequest) else None
        if asked is None:
            return
        from engine import inspect_model

        x_row, title = asked
        try:
            layers = tuple(inspect_model.activations(self.model, x_row))
            message = ""
        except Exception as error:  # shown in the window; training goes on
            layers = ()
            message = f"The layer outputs could not be computed this epoch: {_line(error)}"
        self.computed += 1
        self.sink(LayerOutputs(epoch=int(epoch), layers=layers, title=title, message=message))

    def on_train_end(self, logs=None) -> None:
        if self.computed:
            from engine import inspect_model

            inspect_model.forget(self.model)


def _line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[-1][:300] if text else type(error).__name__
