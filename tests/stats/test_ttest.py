"""Tests of the corrected resampled t-test (Nadeau & Bengio 2003)."""

import numpy as np
import pytest
from scipy import stats

from brainctrl.exceptions import DataError, InvalidParameterError
from brainctrl.stats import corrected_resampled_ttest


def test_hand_computed_value():
    # d = (1, 2, 3, 6): mean 3, var(ddof=1) = (4 + 1 + 0 + 9)/3 = 14/3;
    # factor 1/4 + 2/8 = 1/2  ->  t = 3 / sqrt(7/3), df = 3
    t, p = corrected_resampled_ttest([1.0, 2.0, 3.0, 6.0], n_train=8, n_test=2)
    assert t == pytest.approx(3 / np.sqrt(7 / 3), rel=1e-14)
    assert t == pytest.approx(1.963961012123931, rel=1e-12)
    # two-sided Student-t tail, df = 3 (scipy 1.17 as reference for the t CDF)
    assert p == pytest.approx(2 * stats.t.sf(3 / np.sqrt(7 / 3), 3), rel=1e-12)


def test_reduces_to_paired_t_test_without_correction_and_is_smaller(rng):
    d = rng.normal(0.02, 0.05, size=50)
    naive = stats.ttest_1samp(d, 0.0)
    t0, p0 = corrected_resampled_ttest(d, n_train=1e12, n_test=1e-12)
    assert t0 == pytest.approx(naive.statistic, rel=1e-9)
    assert p0 == pytest.approx(naive.pvalue, rel=1e-9)
    t, p = corrected_resampled_ttest(d, n_train=90, n_test=10, n_folds=10, n_repeats=5)
    assert abs(t) < abs(naive.statistic)
    assert p > naive.pvalue
    # exact ratio of the two statistics
    ratio = np.sqrt((1 / 50) / (1 / 50 + 10 / 90))
    assert t == pytest.approx(naive.statistic * ratio, rel=1e-12)


def test_sign_and_degenerate_cases():
    t, _ = corrected_resampled_ttest([-0.1, -0.2, -0.15], n_train=20, n_test=5)
    assert t < 0
    assert corrected_resampled_ttest([0.0, 0.0, 0.0], n_train=20, n_test=5) == (0.0, 1.0)
    assert corrected_resampled_ttest([0.1, 0.1], n_train=20, n_test=5) == (np.inf, 0.0)
    assert corrected_resampled_ttest([-0.1, -0.1], n_train=20, n_test=5) == (-np.inf, 0.0)


def test_errors():
    with pytest.raises(DataError, match="differences must be 1-dimensional; got shape"):
        corrected_resampled_ttest(np.ones((2, 2)), 10, 2)
    with pytest.raises(DataError, match="at least 2 values"):
        corrected_resampled_ttest([0.1], 10, 2)
    with pytest.raises(DataError, match="non-finite"):
        corrected_resampled_ttest([0.1, np.nan], 10, 2)
    with pytest.raises(InvalidParameterError, match="'n_train' must be > 0; got 0"):
        corrected_resampled_ttest([0.1, 0.2], 0, 2)
    with pytest.raises(InvalidParameterError, match="'n_test' must be a number"):
        corrected_resampled_ttest([0.1, 0.2], 10, "2")
    with pytest.raises(InvalidParameterError, match="must be given together"):
        corrected_resampled_ttest([0.1, 0.2], 10, 2, n_folds=2)
    with pytest.raises(InvalidParameterError, match="'n_repeats' must be a positive integer"):
        corrected_resampled_ttest([0.1, 0.2], 10, 2, n_folds=2, n_repeats=0)
    with pytest.raises(DataError, match=r"n_folds \* n_repeats = 2 \* 2 = 4 values; got 3"):
        corrected_resampled_ttest([0.1, 0.2, 0.3], 10, 2, n_folds=2, n_repeats=2)
