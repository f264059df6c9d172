"""Fixtures for the training tests."""

from __future__ import annotations

import pytest

from tests.training.support import Recorder


@pytest.fixture
def recorder():
    return Recorder()
