import os

import pytest

from brainctrl.exceptions import InvalidParameterError
from brainctrl.stats._common import check_int, n_workers


def test_n_workers_follows_joblib_convention():
    cpus = os.cpu_count() or 1
    assert n_workers(None) == 1
    assert n_workers(3) == 3
    assert n_workers(-1) == cpus
    assert n_workers(-cpus - 5) == 1


def test_check_int():
    assert check_int("cv", 5, minimum=2) == 5
    for bad in (True, 1.5, 1):
        with pytest.raises(InvalidParameterError, match=r"'cv' must be an integer >= 2; got"):
            check_int("cv", bad, minimum=2)
