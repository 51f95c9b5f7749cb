"""System matrices from connectivity, and control sets."""

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from brainctrl.control import (
    average_controllability,
    control_set,
    fc_pvalues,
    fc_to_system,
    normalize_adjacency,
)
from brainctrl.exceptions import DataError, DiagonalWarning, InvalidParameterError


def test_normalize_two_node_by_hand():
    weights = np.array([[0.0, 2.0], [2.0, 0.0]])  # spectral radius 2
    np.testing.assert_allclose(
        normalize_adjacency(weights, system="discrete"), weights / 3, rtol=1e-15
    )
    np.testing.assert_allclose(
        normalize_adjacency(weights, system="continuous", c=0.5),
        weights / 2.5 - np.eye(2),
        rtol=1e-15,
    )


@pytest.mark.filterwarnings(
    "ignore::brainctrl.exceptions.DiagonalWarning"
)  # self-loops on purpose
def test_normalize_directed_spectral_versus_singular():
    # upper triangular: spectral radius = max |diagonal| = 1, largest singular value > 1
    weights = np.array([[1.0, 3.0], [0.0, 0.5]])
    sigma = np.linalg.svd(weights, compute_uv=False)[0]
    np.testing.assert_allclose(
        normalize_adjacency(weights, system="discrete"), weights / 2.0, rtol=1e-15
    )
    np.testing.assert_allclose(
        normalize_adjacency(weights, system="discrete", method="singular"),
        weights / (1 + sigma),
        rtol=1e-15,
    )


@pytest.mark.filterwarnings(
    "ignore::brainctrl.exceptions.DiagonalWarning"
)  # self-loops on purpose
def test_normalize_batch_uses_each_matrix_radius(rng):
    stack = rng.random((3, 5, 5))
    stack = stack + np.swapaxes(stack, -1, -2)
    out = normalize_adjacency(stack, system="discrete")
    for index in range(3):
        radius = np.max(np.abs(np.linalg.eigvalsh(stack[index])))
        np.testing.assert_allclose(out[index], stack[index] / (1 + radius), rtol=1e-14)


@pytest.mark.filterwarnings(
    "ignore::brainctrl.exceptions.DiagonalWarning"
)  # self-loops on purpose
def test_normalize_against_nctpy(rng):
    # reference: nctpy 1.2.0 (nctpy.utils.matrix_normalization)
    utils = pytest.importorskip("nctpy.utils")
    weights = rng.random((12, 12))
    for system in ("continuous", "discrete"):
        np.testing.assert_allclose(
            normalize_adjacency(weights, system=system),
            utils.matrix_normalization(weights, system=system),
            rtol=1e-13,
            atol=1e-15,
        )


@pytest.mark.filterwarnings(
    "ignore::brainctrl.exceptions.DiagonalWarning"
)  # self-loops on purpose
def test_cached_decomposition_gives_the_same_metrics(rng):
    weights = rng.random((15, 15))
    weights = weights + weights.T
    A = normalize_adjacency(weights, system="discrete")
    reused = average_controllability(A, system="discrete")
    fresh = average_controllability(A.copy() + 0.0 * np.eye(15), system="discrete")  # same values
    np.testing.assert_allclose(reused, fresh, rtol=1e-13)
    changed = A.copy()
    changed[0, 1] = changed[1, 0] = 0.0
    assert not np.allclose(average_controllability(changed, system="discrete"), reused)


def test_signed_laplacian_by_hand():
    fc = np.array([[1.0, 0.5, -0.25], [0.5, 1.0, 0.0], [-0.25, 0.0, 1.0]])
    # L = D_|w| - W with zero diagonal in W
    laplacian = np.array([[0.75, -0.5, 0.25], [-0.5, 0.5, 0.0], [0.25, 0.0, 0.25]])
    largest = np.max(np.linalg.eigvalsh(laplacian))
    A = fc_to_system(fc, kind="signed_laplacian")
    np.testing.assert_allclose(A, -laplacian / largest, rtol=1e-14)
    eigenvalues = np.linalg.eigvalsh(A)
    assert eigenvalues.min() == pytest.approx(-1.0, rel=1e-14)
    assert eigenvalues.max() <= 1e-15


def test_fc_significance_threshold(rng):
    timeseries = rng.standard_normal((40, 6))
    timeseries[:, 1] += timeseries[:, 0]
    fc = np.corrcoef(timeseries, rowvar=False)
    expected = np.ones((6, 6))
    for i in range(6):
        for j in range(6):
            if i != j:
                expected[i, j] = scipy.stats.pearsonr(timeseries[:, i], timeseries[:, j]).pvalue
    np.testing.assert_allclose(
        fc_pvalues(fc, 40)[~np.eye(6, dtype=bool)], expected[~np.eye(6, dtype=bool)], rtol=1e-8
    )
    kept = fc.copy()
    kept[expected > 0.05] = 0.0
    np.fill_diagonal(kept, 0.0)
    np.testing.assert_allclose(
        fc_to_system(fc, kind="normalize", n_samples=40, system="discrete"),
        normalize_adjacency(kept, system="discrete"),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        fc_to_system(fc, pvalues=expected, kind="signed_laplacian"),
        fc_to_system(kept, kind="signed_laplacian"),
        rtol=1e-12,
    )


def test_control_set():
    regions = pd.DataFrame(
        {"name": ["v1", "d1", "d2", "s1"], "network": ["Vis", "Default", "Default", "SomMot"]}
    )
    np.testing.assert_array_equal(control_set(regions), [False, True, True, False])
    np.testing.assert_array_equal(control_set(regions, ["Vis", "s1"]), [True, False, False, True])
    np.testing.assert_array_equal(control_set(regions, [0, -1]), [True, False, False, True])
    np.testing.assert_array_equal(control_set(n_regions=3, network=1), [False, True, False])


def test_errors():
    with pytest.raises(InvalidParameterError, match=r"'method' must be one of .*got 'svd'"):
        normalize_adjacency(np.eye(2), method="svd", system="continuous")
    with pytest.raises(InvalidParameterError, match=r"'c' must be >= 0; got -1"):
        normalize_adjacency(np.eye(2), c=-1, system="continuous")
    with pytest.raises(InvalidParameterError, match="all-zero adjacency"):
        normalize_adjacency(np.zeros((2, 2)), c=0.0, system="continuous")
    with pytest.raises(DataError, match="adjacency contains 2 non-finite"):
        normalize_adjacency(np.array([[0.0, np.nan], [np.nan, 0.0]]), system="continuous")
    with pytest.raises(DataError, match="fc must be symmetric"):
        fc_to_system(np.array([[1.0, 0.2], [0.5, 1.0]]), system="continuous")
    with pytest.raises(DataError, match=r"pvalues must have the shape of fc"):
        fc_to_system(np.eye(2), pvalues=np.ones((3, 3)), system="continuous")
    with pytest.raises(DataError, match="no non-zero edge left"):
        fc_to_system(np.eye(3), kind="signed_laplacian")
    with pytest.raises(InvalidParameterError, match=r"'kind' must be one of"):
        fc_to_system(np.eye(2), kind="laplacian", system="continuous")
    with pytest.raises(InvalidParameterError, match=r"'n_samples' must be > 2; got 2"):
        fc_pvalues(np.eye(2), 2)
    regions = pd.DataFrame({"name": ["a"], "network": ["Vis"]})
    with pytest.raises(InvalidParameterError, match="neither a network label"):
        control_set(regions, "Default")
    with pytest.raises(DataError, match="missing \\['network'\\]"):
        control_set(pd.DataFrame({"name": ["a"]}))
    with pytest.raises(InvalidParameterError, match="must be a pandas DataFrame"):
        control_set([["a", "Vis"]])
    with pytest.raises(InvalidParameterError, match="'n_regions' is required"):
        control_set(network=[0])
    with pytest.raises(InvalidParameterError, match="need a 'regions' table"):
        control_set(n_regions=2, network="Default")
    with pytest.raises(InvalidParameterError, match="index 5 is out of range for 1 regions"):
        control_set(regions, [5])
    with pytest.raises(InvalidParameterError, match="selects nothing"):
        control_set(regions, [])
    with pytest.raises(InvalidParameterError, match="entries must be str or int; got 1.5"):
        control_set(regions, [1.5])
    with pytest.raises(DataError, match="regions has 1 rows but 'n_regions' is 3"):
        control_set(regions, "Vis", n_regions=3)


def test_normalize_warns_about_a_unit_diagonal_and_keeps_it(rng):
    fc = np.corrcoef(rng.standard_normal((50, 6)), rowvar=False)
    with pytest.warns(DiagonalWarning, match="all ones, as functional connectivity has"):
        kept = normalize_adjacency(fc, system="discrete")
    zeroed = fc - np.eye(6)
    radius = np.max(np.abs(np.linalg.eigvalsh(fc)))
    np.testing.assert_allclose(kept, fc / (1 + radius))
    # zero diagonal: no warning, and the eigenvalues of FC minus I
    radius = np.max(np.abs(np.linalg.eigvalsh(zeroed)))
    np.testing.assert_allclose(
        normalize_adjacency(zeroed, system="discrete"), zeroed / (1 + radius)
    )


@pytest.mark.parametrize(
    ("function", "old_default"),
    [
        ("average_controllability", "discrete"),
        ("controllability_gramian", "continuous"),
        ("normalize_adjacency", "continuous"),
        ("minimum_energy", "continuous"),
    ],
)
def test_calling_a_control_function_without_system_warns_and_keeps_its_old_default(
    function, old_default
):
    import brainctrl.control as control

    A = np.array([[0.0, 0.4], [0.4, 0.0]])
    if old_default == "continuous" and function != "normalize_adjacency":
        A = A - np.eye(2)
    call = {
        "average_controllability": lambda **kw: control.average_controllability(A, **kw),
        "controllability_gramian": lambda **kw: control.controllability_gramian(A, **kw),
        "normalize_adjacency": lambda **kw: control.normalize_adjacency(A, **kw),
        "minimum_energy": lambda **kw: (
            control.minimum_energy(A, np.zeros(2), np.ones(2), **kw).energy
        ),
    }[function]
    with pytest.warns(FutureWarning, match=f"pass system='{old_default}'"):
        old = call()
    np.testing.assert_array_equal(old, call(system=old_default))


def test_negative_control_indices_mean_what_numpy_means_everywhere(rng):
    from brainctrl.control import control_set, minimum_energy

    n = 6
    weights = rng.random((n, n))
    A = normalize_adjacency(
        weights + weights.T - 2 * np.diag(np.diag(weights)), system="continuous"
    )
    x0, xf = np.zeros(n), rng.normal(size=n)
    last = minimum_energy(A, x0, xf, B=[-1, -2, 0, 1], system="continuous")
    same = minimum_energy(A, x0, xf, B=[n - 1, n - 2, 0, 1], system="continuous")
    assert last.energy == same.energy
    np.testing.assert_array_equal(
        control_set(network=[-1, 0], n_regions=n), control_set(network=[n - 1, 0], n_regions=n)
    )
    with pytest.raises(ValueError, match=r"indices must lie in \[-6, 6\)"):
        minimum_energy(A, x0, xf, B=[-7, 0], system="continuous")


def test_modal_controllability_of_a_continuous_system_says_what_to_pass(rng):
    from brainctrl.control import modal_controllability

    weights = rng.random((8, 8))
    weights = weights + weights.T
    np.fill_diagonal(weights, 0.0)
    A = normalize_adjacency(weights, system="continuous")
    with pytest.raises(ValueError, match="normalize_adjacency\\(W, system='discrete'\\)"):
        modal_controllability(A)
    # the discrete system: 1 - sum_k A_ik^2 (Gu et al. 2015), all positive
    values = modal_controllability(normalize_adjacency(weights, system="discrete"))
    assert np.all(values > 0)
