import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from brainctrl.connectivity import (
    correlation_pvalues,
    fdr_bh,
    threshold_absolute,
    threshold_proportional,
    threshold_significance,
)
from brainctrl.exceptions import DataError, InvalidParameterError
from brainctrl.graph import threshold_absolute as graph_threshold_absolute
from brainctrl.graph import threshold_proportional as graph_threshold_proportional


def test_pvalues_match_scipy_pearsonr(rng):
    # Reference: scipy.stats.pearsonr (scipy 1.17) two-sided p-value.
    n = 25
    for _ in range(5):
        x, y = rng.standard_normal((2, n))
        y = y + rng.uniform(0, 1.5) * x
        result = stats.pearsonr(x, y)
        assert correlation_pvalues(result.statistic, n) == pytest.approx(result.pvalue, rel=1e-9)
    assert correlation_pvalues(1.0, 10) == 0.0
    assert correlation_pvalues(-1.0, 10) == 0.0
    assert correlation_pvalues(0.0, 10) == pytest.approx(1.0)


def test_pvalues_partial_degrees_of_freedom():
    r, n, k = 0.4, 40, 5
    df = n - 2 - k
    t = r * np.sqrt(df / (1 - r**2))
    expected = 2 * stats.t.sf(t, df)
    assert correlation_pvalues(r, n, n_controlled=k) == pytest.approx(expected, rel=1e-10)


@pytest.mark.filterwarnings("ignore:brainctrl.connectivity.fdr_bh is deprecated:FutureWarning")
def test_fdr_bh_matches_statsmodels(rng):
    # Reference: statsmodels 0.14 multipletests(method="fdr_bh").
    p = np.concatenate([rng.uniform(0, 0.01, 15), rng.uniform(0, 1, 60)])
    rng.shuffle(p)
    for alpha in (0.01, 0.05, 0.2):
        expected = multipletests(p, alpha=alpha, method="fdr_bh")[0]
        np.testing.assert_array_equal(fdr_bh(p, alpha), expected)
    stacked = np.stack([p, p[::-1]])
    np.testing.assert_array_equal(fdr_bh(stacked, 0.05)[1], fdr_bh(p[::-1], 0.05))
    assert not fdr_bh(np.full(4, 0.9)).any()


def test_threshold_absolute_hand_example():
    w = np.array([[1.0, 0.3, -0.5], [0.3, 1.0, 0.1], [-0.5, 0.1, 1.0]])
    expected = np.array([[1.0, 0.3, -0.5], [0.3, 1.0, 0.0], [-0.5, 0.0, 1.0]])
    # the former rule (|w|, diagonal kept) while 'absolute' is left out, with a warning
    with pytest.warns(FutureWarning, match="pass absolute=True to keep comparing"):
        np.testing.assert_array_equal(threshold_absolute(w, 0.3), expected)
    with pytest.warns(FutureWarning):
        stack = threshold_absolute(np.stack([w, -w]), 0.4)
    np.testing.assert_array_equal(stack[1], [[-1, 0, 0.5], [0, -1, 0], [0.5, 0, -1]])
    # the one rule (brainctrl.graph's, BCT's): diagonal 0, signed unless absolute=True
    off = expected - np.eye(3)
    np.testing.assert_array_equal(threshold_absolute(w, 0.3, absolute=True), off)
    np.testing.assert_array_equal(
        threshold_absolute(w, 0.3, absolute=False), [[0, 0.3, 0], [0.3, 0, 0], [0, 0, 0]]
    )
    np.testing.assert_array_equal(
        threshold_absolute(w, 0.3, absolute=False), graph_threshold_absolute(w, 0.3)
    )
    with pytest.warns(FutureWarning, match=r"threshold_absolute\(cutoff=...\)"):
        np.testing.assert_array_equal(threshold_absolute(w, cutoff=0.3, absolute=True), off)


def test_threshold_proportional_hand_example():
    w = np.array(
        [
            [0.0, 0.9, -0.2, 0.4],
            [0.9, 0.0, 0.1, -0.8],
            [-0.2, 0.1, 0.0, 0.3],
            [0.4, -0.8, 0.3, 0.0],
        ]
    )
    # 6 pairs; density 0.5 keeps the 3 largest |w|: 0.9, -0.8, 0.4.
    expected = np.array(
        [
            [0.0, 0.9, 0.0, 0.4],
            [0.9, 0.0, 0.0, -0.8],
            [0.0, 0.0, 0.0, 0.0],
            [0.4, -0.8, 0.0, 0.0],
        ]
    )
    with pytest.warns(FutureWarning, match="without 'absolute'"):
        np.testing.assert_array_equal(threshold_proportional(w, 0.5), expected)
    np.testing.assert_array_equal(threshold_proportional(w, 0.5, absolute=True), expected)
    # signed ranking, as BCT: 0.9, 0.4, 0.3 (the negative -0.8 is the weakest)
    signed = threshold_proportional(w, 0.5, absolute=False)
    np.testing.assert_array_equal(signed[[0, 0, 2], [1, 3, 3]], [0.9, 0.4, 0.3])
    assert np.count_nonzero(signed) == 6
    np.testing.assert_array_equal(signed, graph_threshold_proportional(w, 0.5))
    assert np.count_nonzero(threshold_proportional(w, 1.0, absolute=True)) == 12
    assert np.count_nonzero(threshold_proportional(w, 0.0, absolute=True)) == 0
    with pytest.warns(FutureWarning):
        both = threshold_proportional(np.stack([w, np.eye(4) + w * 0]), 0.5)
    np.testing.assert_array_equal(both[0], expected)
    np.testing.assert_array_equal(both[1], np.eye(4))  # diagonal untouched


def test_threshold_significance_critical_value():
    n, alpha = 30, 0.05
    t_crit = stats.t.isf(alpha / 2, n - 2)
    r_crit = t_crit / np.sqrt(n - 2 + t_crit**2)  # 0.3610 for n = 30
    above, below = r_crit + 1e-6, r_crit - 1e-6
    r = np.array([[1.0, above, below], [above, 1.0, -above], [below, -above, 1.0]])
    expected = np.array([[1.0, above, 0.0], [above, 1.0, -above], [0.0, -above, 1.0]])
    np.testing.assert_array_equal(threshold_significance(r, n, alpha=alpha), expected)


def test_threshold_significance_fdr_matches_statsmodels(rng):
    n, n_regions = 40, 8
    ts = rng.standard_normal((n, n_regions))
    ts[:, 1] += ts[:, 0]
    ts[:, 3] -= 0.6 * ts[:, 2]
    r = np.corrcoef(ts.T)
    rows, cols = np.triu_indices(n_regions, k=1)
    p = np.array([stats.pearsonr(ts[:, i], ts[:, j]).pvalue for i, j in zip(rows, cols)])
    keep = multipletests(p, alpha=0.05, method="fdr_bh")[0]
    got = threshold_significance(r, n, fdr=True)
    np.testing.assert_array_equal(got[rows, cols] != 0, keep)
    np.testing.assert_array_equal(got, got.T)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda: threshold_proportional(np.eye(3), 1.5),
            InvalidParameterError,
            r"'density' must be in \[0, 1\]; got 1.5",
        ),
        (
            lambda: threshold_absolute(np.eye(3), -0.1),
            InvalidParameterError,
            r"'threshold' must be >= 0; got -0.1",
        ),
        (
            lambda: threshold_absolute(np.ones((3, 4)), 0.1, absolute=True),
            DataError,
            r"must be square .*got shape \(3, 4\)",
        ),
        (
            lambda: threshold_significance(np.eye(3), 20, alpha=1.0),
            InvalidParameterError,
            r"'alpha' must be in \(0, 1\); got 1.0",
        ),
        (
            lambda: correlation_pvalues(0.5, 4, n_controlled=2),
            InvalidParameterError,
            r"'n_samples' must exceed n_controlled \+ 2 = 4 .*got 4",
        ),
        (
            lambda: correlation_pvalues(0.5, 10.5),
            InvalidParameterError,
            r"'n_samples' must be an integer; got 10.5",
        ),
    ],
)
def test_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_fdr_bh_is_deprecated_in_favour_of_fdr_correction():
    from brainctrl.stats import fdr_correction

    p = np.array([0.01, 0.02, 0.03, 0.5])
    with pytest.warns(FutureWarning, match=r"use brainctrl.stats.fdr_correction\(pvalues\)"):
        reject = fdr_bh(p, 0.05)
    np.testing.assert_array_equal(reject, fdr_correction(p) <= 0.05)
