"""Weights over time: a small Keras callback that records, at each epoch end, a histogram of
every weight tensor and the norms of each layer's weights and of its last update.

Turned on by the project's ``fit["record_weights"]`` (off by default); ``engine.training``
adds ``WeightRecorder`` to the callbacks and stores ``recorder.history()`` in the run record
(``run["weights_history"]``, see ``engine.runs``). The history is plain JSON::

    {"format": 1, "bins": 30,
     "epochs": [0, 1, 2, ...],                 # 0-based epochs recorded (see thinning below)
     "layers": [{"name": "dense", "class_name": "Dense",
                 "initial_norm": 3.1,          # before the first epoch
                 "norm": [...],                # L2 norm of all the layer's weights, per epoch
                 "update_norm": [...],         # L2 norm of (weights - the previous epoch's)
                 "tensors": [{"name": "kernel", "shape": [64, 32],
                              "range": [[lo, hi], ...],     # per epoch: the bins' range
                              "counts": [[c0, ..., c29], ...],
                              "nonfinite": [0, ...]}]}],    # NaN/inf values, per epoch
     "dead_relu": [{"layer": "dense_2", "zero_fraction": 0.83, "dead_units": 0.5,
                    "samples": 256}],
     "warnings": ["dense_2: 83 % of ReLU outputs are zero on the validation sample ..."],
     "note": "..."}                            # what was left out, when anything was

**Bins.** Each epoch's histogram has ``bins`` equal bins from that epoch's smallest to its
largest finite value (TensorBoard does the same): no value falls outside, and a layer whose
weights spread out keeps its resolution. The counts of an epoch add up to the tensor's size
minus its non-finite values. A view that lines epochs up on one axis re-bins them
(``widgets.weight_histograms`` spreads each bin's count over the common bins it overlaps).

**Size.** At most ``max_epochs`` epochs are kept: when one more would exceed it, every
second recorded epoch is dropped and from then on only every second epoch is recorded (then
every fourth, ...), so a long run keeps its whole span at an even spacing. At most
``max_tensors`` tensors get histograms (layers beyond that keep their norms only). The
defaults (30 bins, 50 epochs, 32 tensors) bound a history to 48,000 counts. The update norm
needs the previous epoch's weights: the recorder keeps one copy of the model's weights.

**Checks.** After each epoch, a layer whose weights' norm has grown past ten times its
initial norm (and past 1), or turned non-finite, is flagged once ("exploding"). At the end
of training, every layer whose output passes through a ReLU gets a dead-unit check on a
validation sample (at most 256 rows): above ``dead_threshold`` (50 %) of zero outputs, a
warning. Flags go to the sink as ``LogLine`` warnings and into ``history()["warnings"]``.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any

import keras
import numpy as np

from engine.events import LogLine

FORMAT = 1
SAMPLE_LIMIT = 256
EXPLODING_FACTOR = 10.0


def _numpy(variable) -> np.ndarray:
    """The variable's value as a float32 copy (a copy: Keras may reuse its buffer)."""
    value = variable.numpy() if hasattr(variable, "numpy") else variable
    return np.array(value, dtype=np.float32)


def _tensor_name(variable, layer_name: str) -> str:
    path = str(getattr(variable, "path", "") or getattr(variable, "name", ""))
    prefix = f"{layer_name}/"
    return path[len(prefix) :] if path.startswith(prefix) else path.rsplit("/", 1)[-1]


def histogram(values: np.ndarray, bins: int) -> tuple[list[float], list[int], int]:
    """([lo, hi], counts, non-finite count) of ``values`` over ``bins`` equal bins spanning
    their finite range (a constant tensor gets the range value ± 0.5)."""
    flat = np.asarray(values)
    flat = flat.reshape(-1) if flat.dtype.kind == "f" else flat.reshape(-1).astype(np.float64)
    finite_mask = np.isfinite(flat)
    finite = flat if finite_mask.all() else flat[finite_mask]
    nonfinite = int(flat.size - finite.size)
    if finite.size == 0:
        return [0.0, 0.0], [0] * bins, nonfinite
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    # Binned by hand on halved values: np.histogram refuses ranges whose width overflows
    # (a diverged layer's ±1e308) or that are too narrow for its edges.
    width = hi * 0.5 - lo * 0.5
    if width > 0 and math.isfinite(width):
        with np.errstate(over="ignore", invalid="ignore"):
            scaled = (finite * 0.5 - lo * 0.5) * (bins / width)
        index = np.nan_to_num(scaled, nan=0.0, posinf=bins - 1, neginf=0.0).astype(np.int64)
        np.clip(index, 0, bins - 1, out=index)
    else:
        index = np.zeros(finite.size, dtype=np.int64)
    counts = np.bincount(index, minlength=bins)
    return [lo, hi], [int(c) for c in counts], nonfinite


def _norm(arrays: list[np.ndarray]) -> float:
    """L2 norm of all the arrays together."""
    total = 0.0
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged layer: inf, said so
        for a in arrays:
            flat = a.reshape(-1)
            total += float(np.dot(flat, flat))
    return math.sqrt(total) if math.isfinite(total) else float("inf")


def is_relu(layer) -> bool:
    """Whether the layer's output passes through a plain ReLU."""
    config = {}
    with contextlib.suppress(Exception):
        config = layer.get_config()
    activation = config.get("activation")
    if isinstance(activation, dict):
        activation = activation.get("config", {}).get("name") or activation.get("class_name")
    if isinstance(activation, str) and activation.lower() == "relu":
        return True
    if type(layer).__name__ == "ReLU":
        return not config.get("negative_slope") and not config.get("threshold")
    return False


def validation_sample(dataset: Any, limit: int = SAMPLE_LIMIT):
    """Up to ``limit`` model inputs from the dataset's validation part (else its training
    part), or None when the dataset cannot give rows."""
    parts = getattr(dataset, "parts", None) or {}
    for key in ("validation", "train"):
        part = parts.get(key)
        try:
            if part is None or not len(part):
                continue
            rows = np.arange(min(int(limit), len(part)))
            return part.x.take(rows)
        except Exception:
            continue
    return None


class WeightRecorder(keras.callbacks.Callback):
    """Histograms and norms of the weights at each epoch end; checks at the end (see the
    module docstring). ``sink`` receives ``LogLine`` warnings; ``sample`` is the validation
    sample for the dead-ReLU check (None: no check)."""

    def __init__(
        self,
        sink=None,
        sample=None,
        *,
        bins: int = 30,
        max_epochs: int = 50,
        max_tensors: int = 32,
        dead_threshold: float = 0.5,
    ):
        super().__init__()
        self.sink = sink
        self.sample = sample
        self.bins = int(bins)
        self.max_epochs = max(2, int(max_epochs))
        self.max_tensors = int(max_tensors)
        self.dead_threshold = float(dead_threshold)
        self.stride = 1
        self._epochs: list[int] = []
        self._layers: list[dict] = []
        self._previous: list[list[np.ndarray]] = []
        self._flagged: set[str] = set()
        self._warnings: list[str] = []
        self._dead: list[dict] = []
        self._note = ""

    # --- Keras hooks -------------------------------------------------------------------------

    def on_train_begin(self, logs=None) -> None:
        self._epochs, self._layers, self._previous = [], [], []
        self._flagged, self._warnings, self._dead = set(), [], []
        self.stride = 1
        with_histograms = 0
        for layer in self._weighted_layers():
            arrays = [_numpy(v) for v in layer.weights]
            tensors = []
            for variable, array in zip(layer.weights, arrays, strict=True):
                if with_histograms >= self.max_tensors:
                    self._note = (
                        f"Histograms were kept for the first {self.max_tensors} weight tensors "
                        "only; later layers have their norms."
                    )
                    break
                with_histograms += 1
                tensors.append(
                    {
                        "name": _tensor_name(variable, layer.name),
                        "shape": [int(d) for d in array.shape],
                        "range": [],
                        "counts": [],
                        "nonfinite": [],
                    }
                )
            self._layers.append(
                {
                    "name": layer.name,
                    "class_name": type(layer).__name__,
                    "initial_norm": _norm(arrays),
                    "norm": [],
                    "update_norm": [],
                    "tensors": tensors,
                }
            )
            self._previous.append(arrays)

    def on_epoch_end(self, epoch, logs=None) -> None:
        layers = self._weighted_layers()
        if len(layers) != len(self._layers):
            return  # the model changed under us: nothing sensible to add
        record = epoch % self.stride == 0
        for entry, layer, previous in zip(self._layers, layers, self._previous, strict=True):
            arrays = [_numpy(v) for v in layer.weights]
            norm = _norm(arrays)
            with np.errstate(over="ignore", invalid="ignore"):
                update = _norm([a - p for a, p in zip(arrays, previous, strict=True)])
            self._check_exploding(entry, norm)
            if record:
                entry["norm"].append(_finite(norm))
                entry["update_norm"].append(_finite(update))
                for tensor, array in zip(entry["tensors"], arrays, strict=False):
                    span, counts, nonfinite = histogram(array, self.bins)
                    tensor["range"].append(span)
                    tensor["counts"].append(counts)
                    tensor["nonfinite"].append(nonfinite)
            previous[:] = arrays
        if record:
            self._epochs.append(int(epoch))
            if len(self._epochs) > self.max_epochs:
                self._thin()

    def on_train_end(self, logs=None) -> None:
        if self.sample is None:
            return
        try:
            self._dead = dead_relu_fractions(self.model, self.sample)
        except Exception as error:  # a check must never fail the run
            self._warn(f"The dead-unit check could not run: {error}", level="info")
            return
        for item in self._dead:
            if item["zero_fraction"] > self.dead_threshold:
                self._warn(
                    f"{item['layer']}: {item['zero_fraction'] * 100:.0f} % of ReLU outputs are "
                    f"zero on the validation sample ({item['dead_units'] * 100:.0f} % of its "
                    "units never fire): those units may be dead; try a lower learning rate, "
                    "LeakyReLU or a different initialisation."
                )

    # --- results -----------------------------------------------------------------------------

    def history(self) -> dict:
        """The recorded history (plain JSON, see the module docstring)."""
        result = {
            "format": FORMAT,
            "bins": self.bins,
            "epochs": list(self._epochs),
            "layers": [
                {**entry, "tensors": [dict(t) for t in entry["tensors"]]} for entry in self._layers
            ],
            "dead_relu": list(self._dead),
            "warnings": list(self._warnings),
        }
        if self._note:
            result["note"] = self._note
        return result

    # --- helpers -----------------------------------------------------------------------------

    def _weighted_layers(self) -> list:
        return [layer for layer in self.model.layers if layer.weights]

    def _thin(self) -> None:
        """Keep every second recorded epoch; record every second one from now on."""
        keep = slice(0, None, 2)
        self._epochs = self._epochs[keep]
        for entry in self._layers:
            entry["norm"] = entry["norm"][keep]
            entry["update_norm"] = entry["update_norm"][keep]
            for tensor in entry["tensors"]:
                for key in ("range", "counts", "nonfinite"):
                    tensor[key] = tensor[key][keep]
        self.stride *= 2

    def _check_exploding(self, entry: dict, norm: float) -> None:
        name = entry["name"]
        if name in self._flagged:
            return
        start = entry["initial_norm"]
        if not math.isfinite(norm):
            text = f"{name}: its weights are no longer finite numbers (NaN or infinity)."
        elif norm > 1.0 and norm > EXPLODING_FACTOR * max(start, 1e-12):
            text = (
                f"{name}: the norm of its weights grew {norm / max(start, 1e-12):.0f}× during "
                f"training ({start:.3g} → {norm:.3g}): the layer may be exploding; try a lower "
                "learning rate or gradient clipping."
            )
        else:
            return
        self._flagged.add(name)
        self._warn(text)

    def _warn(self, text: str, level: str = "warning") -> None:
        if level == "warning":
            self._warnings.append(text)
        if self.sink is not None:
            self.sink(LogLine(text, level=level))


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def dead_relu_fractions(model, sample) -> list[dict]:
    """Per ReLU layer of ``model``: the fraction of zero outputs on ``sample`` and the
    fraction of units (last axis) that are zero for every row. Sequential models are run
    layer by layer; other models through one ``keras.Model`` with the ReLU layers' outputs."""
    layers = [layer for layer in model.layers if is_relu(layer)]
    if not layers:
        return []
    outputs: dict[str, np.ndarray] = {}
    if isinstance(model, keras.Sequential):
        x = sample
        for layer in model.layers:
            x = layer(x, training=False)
            if layer in layers:
                outputs[layer.name] = np.asarray(x)
    else:
        inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
        probe = keras.Model(inputs, [layer.output for layer in layers])
        values = probe(sample, training=False)
        values = values if isinstance(values, list | tuple) else [values]
        for layer, value in zip(layers, values, strict=True):
            outputs[layer.name] = np.asarray(value)
    result = []
    for layer in layers:
        out = np.asarray(outputs[layer.name])
        if out.size == 0:
            continue
        zero = out == 0
        units = zero.reshape(-1, out.shape[-1]).all(axis=0) if out.ndim > 1 else zero
        result.append(
            {
                "layer": layer.name,
                "zero_fraction": float(zero.mean()),
                "dead_units": float(np.mean(units)),
                "samples": int(out.shape[0]) if out.ndim else 1,
            }
        )
    return result
