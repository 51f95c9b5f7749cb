import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from brainctrl._utils.multiple import step_up_adjusted
from brainctrl.connectivity import fdr_bh
from brainctrl.stats import fdr_correction


def test_adjusted_matches_statsmodels_bh_and_by(rng):
    # Reference: statsmodels 0.14 multipletests(method="fdr_bh" / "fdr_by").
    p = np.concatenate([rng.uniform(0, 0.02, 10), rng.uniform(0, 1, 40)])
    rng.shuffle(p)
    np.testing.assert_allclose(step_up_adjusted(p), multipletests(p, method="fdr_bh")[1])
    np.testing.assert_allclose(
        step_up_adjusted(p, yekutieli=True), multipletests(p, method="fdr_by")[1]
    )


def test_rows_are_separate_families_and_nan_counts_as_a_test(rng):
    p = rng.uniform(0, 0.1, (3, 8))
    stacked = step_up_adjusted(p)
    for row in range(3):
        np.testing.assert_array_equal(stacked[row], step_up_adjusted(p[row]))
    # by hand: m = 3 (the NaN counts), q = min(3 * 0.01 / 1, 3 * 0.04 / 2) = 0.03
    out = step_up_adjusted([0.04, np.nan, 0.01])
    np.testing.assert_allclose(out[[0, 2]], [0.06, 0.03])
    assert np.isnan(out[1])
    assert step_up_adjusted(np.zeros((2, 0))).shape == (2, 0)


@pytest.mark.filterwarnings("ignore:brainctrl.connectivity.fdr_bh is deprecated:FutureWarning")
def test_threshold_decisions_and_adjusted_values_agree_at_the_boundary():
    # alpha = 0.25, m = 4: the BH thresholds k alpha / m are exact binary fractions,
    # and p_(3) = 0.1875 = 3 * 0.25 / 4 sits on one; hand: the 3 smallest are rejected.
    p = np.array([0.1875, 0.0625, 0.9, 0.1875])
    np.testing.assert_array_equal(fdr_bh(p, 0.25), [True, True, False, True])
    np.testing.assert_array_equal(fdr_correction(p) <= 0.25, fdr_bh(p, 0.25))
    grid = np.arange(1, 41) * 0.05 / 40  # every p on its own threshold k alpha / m
    for alpha in (0.01, 0.05, 0.1):
        np.testing.assert_array_equal(fdr_bh(grid, alpha), fdr_correction(grid) <= alpha)
