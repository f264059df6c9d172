"""The overfitting hint: validation loss rising for several epochs while training loss falls.

"If val_loss rises while loss falls, the model overfits" — but real validation curves are
noisy, and a flat noisy curve always has *some* epochs above its minimum. So a hint is
given only when all of these hold after the epoch of lowest (smoothed) validation loss:

- at least ``patience`` epochs have passed since that minimum;
- validation loss trends upwards there (Theil–Sen slope > 0 and a one-sided
  Mann–Kendall test at the 5 % level, or a strictly rising run when too few points for it);
- the rise is large against the curve's own epoch-to-epoch noise (estimated from second
  differences, so a steady trend is not mistaken for noise) and at least 1 % of the minimum;
- training loss fell over the same epochs.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

DEFAULT_PATIENCE = 4
_NOISE_FACTOR = 4.0  # rise must exceed this many noise standard deviations
_RELATIVE_RISE = 0.01  # ... and this fraction of the lowest validation loss
_MANN_KENDALL_Z = 2.326  # one-sided 1 %


@dataclass(frozen=True)
class Hint:
    """``epoch`` (0-based) is where validation loss was lowest: it rose after it."""

    epoch: int
    epochs_rising: int
    best_val_loss: float
    last_val_loss: float
    message: str

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Hint:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__})


def detect(history: dict[str, list[float]], patience: int = DEFAULT_PATIENCE) -> Hint | None:
    """The overfitting hint for a run's per-epoch ``history`` (Keras names), or ``None``.

    Needs ``loss`` and ``val_loss``; returns ``None`` when either is missing or too short,
    or when the curves do not show overfitting by the rules in the module docstring.
    """
    patience = max(1, int(patience))
    val = _finite(history.get("val_loss"))
    train = _finite(history.get("loss"))
    if val is None or train is None:
        return None
    n = min(len(val), len(train))
    if n < patience + 2:
        return None
    val, train = val[:n], train[:n]
    smooth = _smooth(val)
    best = _lowest_epoch(val, smooth)
    after = n - 1 - best
    if after < patience:
        return None
    segment = val[best:]
    if not _rising(segment):
        return None
    rise = float(np.median(val[-min(3, after) :]) - smooth[best])
    noise = max(_noise_sigma(val), _residual_sigma(segment[1:]))
    if rise <= _NOISE_FACTOR * noise or rise <= _RELATIVE_RISE * abs(float(val[best])):
        return None
    if not _falling(train[best:]):
        return None
    epoch_shown = best + 1
    message = (
        f"Overfitting: val_loss has risen for {after} epochs since epoch {epoch_shown} "
        f"({val[best]:.4g} → {val[-1]:.4g}) while training loss kept falling. "
        f"Try EarlyStopping(monitor='val_loss', patience={patience}, "
        "restore_best_weights=True), more Dropout, or L2 regularisation."
    )
    return Hint(
        epoch=best,
        epochs_rising=after,
        best_val_loss=float(val[best]),
        last_val_loss=float(val[-1]),
        message=message,
    )


def _finite(values) -> np.ndarray | None:
    if not values:
        return None
    array = np.asarray([math.nan if v is None else float(v) for v in values], dtype=np.float64)
    if not np.all(np.isfinite(array)):
        return None
    return array


def _smooth(values: np.ndarray) -> np.ndarray:
    """A centred 3-point median then 3-point mean: removes single-epoch spikes."""
    if len(values) < 3:
        return values.copy()
    padded = np.concatenate([values[:1], values, values[-1:]])
    median = np.median(np.stack([padded[:-2], padded[1:-1], padded[2:]]), axis=0)
    padded = np.concatenate([median[:1], median, median[-1:]])
    return (padded[:-2] + padded[1:-1] + padded[2:]) / 3.0


def _lowest_epoch(raw: np.ndarray, smooth: np.ndarray) -> int:
    """The epoch of the smoothed minimum, refined to the raw minimum next to it."""
    centre = int(np.argmin(smooth))
    low, high = max(0, centre - 1), min(len(raw), centre + 2)
    return low + int(np.argmin(raw[low:high]))


def _theil_sen_slope(values: np.ndarray) -> float:
    x = np.arange(len(values))
    i, j = np.triu_indices(len(values), k=1)
    return float(np.median((values[j] - values[i]) / (x[j] - x[i])))


def _mann_kendall_z(values: np.ndarray) -> float:
    n = len(values)
    i, j = np.triu_indices(n, k=1)
    s = float(np.sign(values[j] - values[i]).sum())
    variance = n * (n - 1) * (2 * n + 5) / 18.0
    if s > 0:
        return (s - 1) / math.sqrt(variance)
    if s < 0:
        return (s + 1) / math.sqrt(variance)
    return 0.0


def _rising(segment: np.ndarray) -> bool:
    """Segment starts at the minimum. Trend upwards, judged on the points after it."""
    tail = segment[1:]
    if _theil_sen_slope(segment) <= 0:
        return False
    if len(tail) >= 6:
        return _mann_kendall_z(tail) > _MANN_KENDALL_Z
    return bool(np.all(np.diff(segment) > 0))


def _falling(segment: np.ndarray) -> bool:
    return _theil_sen_slope(segment) < 0 and segment[-1] < segment[0]


def _residual_sigma(values: np.ndarray) -> float:
    """Robust std of ``values`` around their Theil–Sen line (0 for fewer than 4 points)."""
    if len(values) < 4:
        return 0.0
    x = np.arange(len(values))
    slope = _theil_sen_slope(values)
    residuals = values - slope * x
    residuals = residuals - np.median(residuals)
    return 1.4826 * float(np.median(np.abs(residuals)))


def _noise_sigma(values: np.ndarray) -> float:
    """Epoch-to-epoch noise: robust std of second differences (var = 6 σ² for white noise)."""
    if len(values) < 4:
        return 0.0
    second = np.diff(values, n=2)
    mad = float(np.median(np.abs(second - np.median(second))))
    return 1.4826 * mad / math.sqrt(6.0)
