import numpy as np
import pytest

from brainctrl._utils.permutation import permutation_counts, permutation_pvalue


def test_each_alternative_counts_by_hand():
    null = np.array([-3.0, -1.0, 0.0, 1.0, 2.0, 4.0])
    # greater: 2, 4 >= 2; less: -3, -1, 0, 1, 2 <= 2; two-sided about 0: |.| >= 2: -3, 2, 4
    assert permutation_pvalue(2.0, null, alternative="greater") == pytest.approx(3 / 7)
    assert permutation_pvalue(2.0, null, alternative="less") == pytest.approx(6 / 7)
    assert permutation_pvalue(2.0, null, center=0.0) == pytest.approx(4 / 7)
    # about the null's mean (0.5): |x - 0.5| >= 1.5: -3, -1, 2, 4
    assert permutation_pvalue(2.0, null) == pytest.approx(5 / 7)


def test_ties_up_to_rounding_count_and_nan_draws_are_left_out():
    null = np.array([0.1 + 0.2, np.nan, 0.0])
    assert permutation_pvalue(0.3, null, alternative="greater") == pytest.approx(2 / 3)


def test_axis_and_shapes():
    rng = np.random.default_rng(0)
    null = rng.normal(size=(4, 99))
    observed = np.array([3.0, -3.0, 0.0, 10.0])
    p = permutation_pvalue(observed, null, alternative="greater", axis=1)
    expected = [(1 + np.sum(row >= value)) / 100 for row, value in zip(null, observed)]
    np.testing.assert_allclose(p, expected)


def test_unknown_alternative_is_named():
    with pytest.raises(ValueError, match="'alternative' must be one of"):
        permutation_pvalue(1.0, np.zeros(3), alternative="two_sided")


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_counts_of_chunks_add_up_to_the_p_value_of_all_draws(alternative):
    rng = np.random.default_rng(1)
    null = rng.normal(size=(50, 3))
    null[7, 1] = np.nan
    observed = np.array([1.5, -0.5, 0.0])
    extreme, draws = np.zeros(3, dtype=int), np.zeros(3, dtype=int)
    for chunk in np.array_split(null, 4):
        k, n = permutation_counts(observed, chunk, alternative=alternative, center=0.0)
        extreme, draws = extreme + k, draws + n
    np.testing.assert_array_equal(draws, [50, 49, 50])
    np.testing.assert_array_equal(
        (1 + extreme) / (1 + draws),
        permutation_pvalue(observed, null, alternative=alternative, center=0.0),
    )
    assert permutation_counts(0.5, np.array([0.0, 1.0, np.nan]), alternative="greater") == (1, 2)
