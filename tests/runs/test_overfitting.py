"""The overfitting hint on synthetic curves: flagged where it should be, nowhere else."""

from __future__ import annotations

import numpy as np
import pytest

from engine.overfitting import Hint, detect


def falling(n, rng, noise=0.005):
    epochs = np.arange(n)
    return list(1.0 / (1.0 + 0.3 * epochs) + rng.normal(0, noise, n))


@pytest.mark.parametrize("turn", [4, 9, 15])
def test_rising_validation_with_falling_training_is_flagged_at_the_turn(turn):
    rng = np.random.default_rng(turn)
    epochs = np.arange(30)
    val = 0.3 + np.where(epochs < turn, 0.03 * (turn - epochs), 0.02 * (epochs - turn))
    val = val + rng.normal(0, 0.004, 30)
    hint = detect({"loss": falling(30, rng), "val_loss": list(val)})
    assert isinstance(hint, Hint)
    assert hint.epoch == turn
    assert hint.epochs_rising == 29 - turn
    assert f"since epoch {turn + 1}" in hint.message
    assert "EarlyStopping" in hint.message and "Dropout" in hint.message
    assert Hint.from_dict(hint.to_dict()) == hint


def test_imdb_like_curve_is_flagged_at_its_minimum():
    val = [0.386, 0.305, 0.285, 0.279, 0.292, 0.306, 0.33, 0.36, 0.39, 0.42, 0.45, 0.49]
    hint = detect({"loss": list(np.linspace(0.5, 0.05, len(val))), "val_loss": val})
    assert hint is not None and hint.epoch == 3


def test_noisy_flat_validation_is_not_flagged():
    """Pure noise around a flat level, 300 curves of 8-40 epochs. A short noise series can,
    rarely, rise as convincingly as a real trend (seed 47: eight epochs climbing 0.40 →
    0.53 with one dip); at most that one may be flagged."""
    flagged = 0
    for seed in range(300):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(8, 40))
        noise = float(rng.choice([0.005, 0.02, 0.05]))
        val = list(0.5 + rng.normal(0, noise, n))
        flagged += detect({"loss": falling(n, rng), "val_loss": val}) is not None
    assert flagged <= 1


def test_both_falling_is_not_flagged():
    for seed in range(100):
        rng = np.random.default_rng(seed)
        n = int(rng.integers(8, 40))
        epochs = np.arange(n)
        val = list(0.6 / (1 + 0.2 * epochs) + 0.2 + rng.normal(0, 0.005, n))
        assert detect({"loss": falling(n, rng), "val_loss": val}) is None


def test_rising_training_loss_too_is_not_overfitting():
    epochs = np.arange(20)
    rising = list(0.3 + 0.02 * np.maximum(epochs - 5, 0))
    assert detect({"loss": rising, "val_loss": rising}) is None


def test_too_short_missing_or_nan_histories_give_no_hint():
    assert detect({"loss": [1.0, 0.5], "val_loss": [0.5, 0.6]}) is None
    assert detect({"loss": [1.0, 0.5, 0.4, 0.3, 0.2, 0.1]}) is None
    rising = [0.3, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]
    assert (
        detect({"loss": [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, float("nan")], "val_loss": rising}) is None
    )
    # a short strictly rising stretch: flagged only once it lasts `patience` epochs
    train = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3]
    assert detect({"loss": train, "val_loss": rising}, patience=4) is not None
    assert detect({"loss": train[:5], "val_loss": rising[:5]}, patience=4) is None
