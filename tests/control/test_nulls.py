"""Null models of control metrics."""

import functools

import numpy as np
import pytest

from brainctrl.control import (
    average_controllability,
    control_null_pvalues,
    normalize_adjacency,
    rewire_preserving_degree,
    spectrum_preserving_surrogate,
)
from brainctrl.exceptions import DataError, InvalidParameterError


def _sparse_weighted(rng, n, density=0.3):
    weights = rng.random((n, n)) * (rng.random((n, n)) < density)
    weights = np.triu(weights, 1)
    return weights + weights.T


def test_rewiring_preserves_degrees_and_weights(rng):
    adjacency = _sparse_weighted(rng, 20)
    rewired = rewire_preserving_degree(adjacency, random_state=3)
    np.testing.assert_array_equal((rewired > 0).sum(axis=0), (adjacency > 0).sum(axis=0))
    np.testing.assert_array_equal(
        np.sort(rewired[np.triu_indices(20, 1)]), np.sort(adjacency[np.triu_indices(20, 1)])
    )
    np.testing.assert_array_equal(rewired, rewired.T)
    assert not np.array_equal(rewired, adjacency)
    np.testing.assert_array_equal(rewired, rewire_preserving_degree(adjacency, random_state=3))


def test_spectrum_surrogate_keeps_eigenvalues(rng):
    A = normalize_adjacency(_sparse_weighted(rng, 15), system="discrete")
    surrogate = spectrum_preserving_surrogate(A, random_state=1)
    np.testing.assert_allclose(np.linalg.eigvalsh(surrogate), np.linalg.eigvalsh(A), atol=1e-14)
    # the sum over nodes of average controllability is trace((I - A^2)^-1): spectral
    assert average_controllability(surrogate, system="discrete").sum() == pytest.approx(
        average_controllability(A, system="discrete").sum(), rel=1e-12
    )
    assert not np.allclose(surrogate, A)


def test_pvalues_follow_the_counting_formula(rng):
    A = normalize_adjacency(_sparse_weighted(rng, 8), system="discrete")
    metric = functools.partial(average_controllability, system="discrete")
    result = control_null_pvalues(metric, A, n_null=49, random_state=7)
    count = np.sum(result.null_distribution >= result.observed, axis=0)
    np.testing.assert_allclose(result.pvalues, (1 + count) / 50)
    assert result.null_distribution.shape == (49, 8)
    again = control_null_pvalues(metric, A, n_null=49, random_state=7)
    np.testing.assert_array_equal(again.pvalues, result.pvalues)
    less = control_null_pvalues(metric, A, n_null=49, random_state=7, alternative="less")
    np.testing.assert_allclose(
        less.pvalues, (1 + np.sum(less.null_distribution <= less.observed, axis=0)) / 50
    )


def test_two_sided_is_about_the_null_mean_by_hand():
    # the metric's values in turn: on the data, then on each of the 4 surrogates
    values = [[5.0, 1.0, 0.5], [1.0, 1.0, 4.0], [2.0, 0.0, 5.0], [3.0, 2.0, 6.0], [6.0, 5.0, 5.0]]

    def run(**kwargs):
        rows = iter(values)
        return control_null_pvalues(lambda matrix: np.array(next(rows)), np.eye(3), **kwargs)

    # node 0: null mean 3, |null - 3| = 2, 1, 0, 3 against |5 - 3| = 2: 2 at least as far
    # node 1: null mean 2, |null - 2| = 1, 2, 0, 3 against |1 - 2| = 1: 3
    # node 2: null mean 5, |null - 5| = 1, 0, 1, 0 against |0.5 - 5| = 4.5: none (far below
    # the null; |null| >= |observed|, the rule before 0.2, gave p = 1 there)
    two_sided = run(n_null=4, alternative="two-sided")
    np.testing.assert_allclose(two_sided.pvalues, [3 / 5, 4 / 5, 1 / 5])
    # greater: null >= 5: one; >= 1: three; >= 0.5: all four
    np.testing.assert_allclose(run(n_null=4).pvalues, [2 / 5, 4 / 5, 5 / 5])


def test_degree_null_pvalues(rng):
    adjacency = _sparse_weighted(rng, 12)

    def strength(matrix):
        return matrix.sum(axis=0)

    result = control_null_pvalues(strength, adjacency, null="degree", n_null=9, random_state=0)
    assert np.all((result.pvalues > 0) & (result.pvalues <= 1))
    # the total weight is preserved by every rewiring
    np.testing.assert_allclose(result.null_distribution.sum(axis=1), adjacency.sum())


def test_errors(rng):
    with pytest.raises(DataError, match="must be symmetric"):
        spectrum_preserving_surrogate(np.array([[0.0, 1.0], [0.0, 0.0]]))
    with pytest.raises(DataError, match="cannot be rewired"):
        rewire_preserving_degree(np.ones((4, 4)) - np.eye(4))
    with pytest.raises(InvalidParameterError, match="'metric_fn' must be callable"):
        control_null_pvalues("average", np.eye(3))
    with pytest.raises(InvalidParameterError, match=r"'null' must be one of .*got 'random'"):
        control_null_pvalues(np.sum, np.eye(3), null="random")
    with pytest.raises(InvalidParameterError, match=r"'n_null' must be > 0"):
        control_null_pvalues(np.sum, np.eye(3), n_null=0)
    with pytest.raises(InvalidParameterError, match=r"'alternative' must be one of .*'two_sided'"):
        control_null_pvalues(np.sum, np.eye(3), alternative="two_sided")
