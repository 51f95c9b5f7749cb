"""Shared pytest fixtures."""

from pathlib import Path

import numpy as np
import pytest

DATA_DIR = Path(__file__).parent / "data"

# the scripts that wrote the stored reference values need the reference packages,
# which the tests do not install: they are records, not tests
collect_ignore_glob = ["data/*"]


@pytest.fixture
def rng():
    """A seeded random generator; every test gets the same stream."""
    return np.random.default_rng(20150101)


@pytest.fixture
def sample_dir():
    """Folder of the real resting-state sample (Schaefer-100, TR 2 s, 150 frames)."""
    return DATA_DIR / "brainfc-rest01"


def pytest_configure(config):
    """One BLAS thread per test process.

    Tests run in parallel processes (pytest-xdist); multithreaded BLAS on top of
    that oversubscribes the cores and makes small linear algebra 10-100x slower.
    """
    from threadpoolctl import threadpool_limits

    config._brainctrl_blas_limits = threadpool_limits(limits=1)
