"""Average and modal controllability against the MATLAB functions of Gu et al. (2015).

The values in ``tests/data/gu_reference`` were computed by the Bassett-lab
functions ``ave_control.m`` and ``modal_control.m`` (``A./(1 + svds(A, 1))``,
real Schur form) and by the copies of Deng et al. (2022), which add the identity
instead of normalising, run in GNU Octave 7.3.0 (see the README there for
repositories, commits and calls). ``*_ave_exact`` is ``diag((I - A^2)^-1)`` in
40-digit arithmetic (mpmath 1.4.1) for the matrix the original code used.

Tolerances: modal controllability ``1 - sum_k A_ik^2`` is well conditioned (1e-13).
Average controllability ``sum_j V_ij^2 / (1 - lambda_j^2)`` has relative condition
number about ``kappa = 1 / (1 - lambda_max^2)`` with respect to rounding in ``A``;
the original code's own error is up to ``10 eps kappa`` (2.6e-11 for the wide-range
case, kappa = 1.2e4), so the two codes are compared at ``max(1e-12, 1e-14 kappa)``
and brainctrl with the 40-digit values at ``max(1e-12, 1e-15 kappa)``.
"""

from pathlib import Path

import numpy as np
import pytest

from brainctrl.control import average_controllability, modal_controllability, normalize_adjacency
from brainctrl.control._linalg import EIG_CACHE

REFERENCE = Path(__file__).parents[1] / "data" / "gu_reference" / "reference.npz"
STRUCTURAL = (
    "dense_uniform_n20",
    "sparse_lognormal_n50",
    "dense_gamma_n100",
    "wide_range_n68",
    "ring_lattice_n30",
)


@pytest.fixture(scope="module")
def reference():
    with np.load(REFERENCE) as archive:
        return {key: archive[key] for key in archive.files}


def _weights(reference, case):
    upper = reference[f"{case}__weights_upper"].astype(np.float64)
    n = int(round((1 + np.sqrt(1 + 8 * upper.size)) / 2))
    weights = np.zeros((n, n))
    weights[np.triu_indices(n, 1)] = upper
    return weights + weights.T


def _kappa(sigma):
    # lambda_max of W / (1 + sigma) is sigma / (1 + sigma) for symmetric non-negative W
    largest = sigma / (1.0 + sigma)
    return 1.0 / (1.0 - largest**2)


def _average_rtol(sigma):
    return max(1e-12, 1e-14 * _kappa(sigma))


@pytest.mark.parametrize("method", ["spectral", "singular"])
@pytest.mark.parametrize("case", STRUCTURAL)
def test_normalised_pipeline_matches_gu_code(reference, case, method):
    weights = _weights(reference, case)
    A = normalize_adjacency(weights, system="discrete", method=method)
    rtol = _average_rtol(float(reference[f"{case}__svds"]))
    np.testing.assert_allclose(
        average_controllability(A, system="discrete"), reference[f"{case}__ave"], rtol=rtol
    )
    np.testing.assert_allclose(modal_controllability(A), reference[f"{case}__modal"], rtol=1e-13)


@pytest.mark.parametrize("case", STRUCTURAL)
def test_same_system_matrix_matches_gu_code_and_exact_values(reference, case):
    # the exact matrix the original code builds: W ./ (1 + svds(W, 1))
    A = _weights(reference, case) / (1.0 + float(reference[f"{case}__svds"]))
    EIG_CACHE.clear()  # no cached eigenpairs: the Cholesky route diag((I - A^2)^-1)
    average = average_controllability(A, system="discrete")
    rtol = _average_rtol(float(reference[f"{case}__svds"]))
    np.testing.assert_allclose(average, reference[f"{case}__ave"], rtol=rtol)
    # brainctrl's Cholesky route is within 4e-13 of the 40-digit values in every case
    # (the original code: up to 2.6e-11); allow 1e-15 kappa for other LAPACK builds
    exact_rtol = max(1e-12, 1e-15 * _kappa(float(reference[f"{case}__svds"])))
    np.testing.assert_allclose(average, reference[f"{case}__ave_exact"], rtol=exact_rtol)
    np.testing.assert_allclose(modal_controllability(A), reference[f"{case}__modal"], rtol=1e-13)


def test_ring_lattice_values_are_equal_across_nodes(reference):
    # vertex-transitive graph with a degenerate spectrum: every node has the same value,
    # whatever basis the Schur form picks inside repeated eigenvalues
    ave = reference["ring_lattice_n30__ave"]
    modal = reference["ring_lattice_n30__modal"]
    np.testing.assert_allclose(ave, ave[0], rtol=1e-13)
    np.testing.assert_allclose(modal, modal[0], rtol=1e-13)
    A = normalize_adjacency(_weights(reference, "ring_lattice_n30"), system="discrete")
    np.testing.assert_allclose(average_controllability(A, system="discrete"), ave, rtol=1e-13)


def test_functional_variant_on_signed_laplacian_system(reference):
    # Deng et al. (2022) copies compute the metrics of A + I for A = -L / max|lambda(L)|
    A = reference["fc_signed_laplacian_n30__A"]
    shifted = A + np.eye(A.shape[0])
    EIG_CACHE.clear()
    average = average_controllability(shifted, system="discrete")
    np.testing.assert_allclose(average, reference["fc_signed_laplacian_n30__ave"], rtol=1e-13)
    exact = reference["fc_signed_laplacian_n30__ave_exact"]
    np.testing.assert_allclose(average, exact, rtol=1e-13)
    np.testing.assert_allclose(
        modal_controllability(shifted), reference["fc_signed_laplacian_n30__modal"], rtol=1e-13
    )


def test_functional_variant_on_continuous_normalisation(reference):
    # Octave: A = W./(1 + svds(W, 1)) - eye(N), then the copy adds eye(N) back
    weights = _weights(reference, "sparse_lognormal_n50")
    sigma = float(reference["continuous_sparse_lognormal_n50__svds"])
    identity = np.eye(weights.shape[0])
    rtol = _average_rtol(sigma)
    for A in (
        weights / (1.0 + sigma) - identity,
        normalize_adjacency(weights, system="continuous"),
    ):
        shifted = A + identity
        np.testing.assert_allclose(
            average_controllability(shifted, system="discrete"),
            reference["continuous_sparse_lognormal_n50__ave"],
            rtol=rtol,
        )
        np.testing.assert_allclose(
            modal_controllability(shifted),
            reference["continuous_sparse_lognormal_n50__modal"],
            rtol=1e-13,
        )
