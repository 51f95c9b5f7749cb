"""Shared pytest fixtures."""

from pathlib import Path

import numpy as np
import pytest

DATA_DIR = Path(__file__).parent / "data"


@pytest.fixture
def rng():
    """A seeded random generator; every test gets the same stream."""
    return np.random.default_rng(20150101)


@pytest.fixture
def sample_dir():
    """Folder of the real resting-state sample (Schaefer-100, TR 2 s, 150 frames)."""
    return DATA_DIR / "brainfc-rest01"
