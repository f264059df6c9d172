"""Fixtures for the bridge tests: a tiny .npz dataset and a controller that is always joined."""

from __future__ import annotations

import pytest

from app.training_controller import TrainingController
from tests.bridge.support import write_npz


@pytest.fixture
def npz(tmp_path):
    return write_npz(tmp_path)


@pytest.fixture
def controller(qtbot):
    controller = TrainingController()
    yield controller
    assert controller.shutdown(10_000), "the training thread did not end"
