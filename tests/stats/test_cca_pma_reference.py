"""Sparse CCA with ``compat="pma"`` against values computed by the R package PMA.

The reference files in ``tests/data/pma_reference`` hold the inputs and the
outputs of PMA 1.2-2's ``CCA()`` and ``CCA.permute()`` code run in R 4.2.2 (see
the README there). Weights are compared up to the common sign of a component,
which PMA leaves to its starting vector.
"""

from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from brainctrl.stats import SparseCCA
from brainctrl.stats._cca import _in_sample_correlation, _pma_z_statistics

REFERENCE = Path(__file__).parents[1] / "data" / "pma_reference"


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def load(name):
    with np.load(REFERENCE / f"{name}.npz") as archive:
        return {key: archive[key] for key in archive.files}


@pytest.mark.parametrize("case", ["tall", "wide", "brain", "null"])
def test_cca_matches_pma(case):
    ref = load(f"cca_{case}")
    cca = SparseCCA(
        float(ref["penaltyx"]),
        float(ref["penaltyz"]),
        n_components=int(ref["K"]),
        compat="pma",
    ).fit(ref["x"], ref["z"])
    assert int(ref["niter"]) == 15  # PMA's default, which compat="pma" uses
    for k in range(int(ref["K"])):
        u, v = ref["u"][:, k], ref["v"][:, k]
        sign = np.sign(u @ cca.x_weights_[:, k])
        np.testing.assert_allclose(cca.x_weights_[:, k], sign * u, rtol=0, atol=1e-9)
        np.testing.assert_allclose(cca.y_weights_[:, k], sign * v, rtol=0, atol=1e-9)
        # the same regions are selected, not merely similar weights
        np.testing.assert_array_equal(cca.x_weights_[:, k] != 0, u != 0)
        np.testing.assert_array_equal(cca.y_weights_[:, k] != 0, v != 0)
    np.testing.assert_allclose(cca.singular_values_, ref["d"], rtol=1e-10)
    np.testing.assert_allclose(cca.canonical_correlations_, ref["cors"], rtol=0, atol=1e-10)


def test_null_case_is_not_converged_in_15_iterations():
    # PMA stops after 15 iterations whatever the change; on this null data the
    # second component even has the larger d, a sign of the early stop.
    ref = load("cca_null")
    cca = SparseCCA(0.25, 0.5, n_components=2, compat="pma").fit(ref["x"], ref["z"])
    assert ref["d"][1] > ref["d"][0]
    assert not cca.converged_.all()
    assert (cca.n_iter_ == 15).any()


def test_cca_permute_matches_pma():
    ref = load("cca_permute")
    X, Y = ref["x"], ref["z"]
    standardized = [(a - a.mean(axis=0)) / a.std(axis=0, ddof=1) for a in (X, Y)]
    # CCA.permute starts every fit from the leading right singular vector of the
    # unpermuted, standardised XᵀZ and runs 3 iterations
    v_start = np.linalg.svd(standardized[0].T @ standardized[1])[2][:1].T
    # PMA pairs row sampx[i] of x with row sampz[i] of z (1-based indices);
    # the same pairs are x against z[order]
    orders = [sampz[np.argsort(sampx)] - 1 for sampz, sampx in zip(ref["sampz"], ref["sampx"])]
    observed, null = [], []
    for penalty in ref["penalties"]:

        def fit(Y_rows, penalty=penalty):
            return _in_sample_correlation(
                X, Y_rows, penalty, penalty, compat="pma", max_iter=3, tol=1e-6, v_start=v_start
            )

        observed.append(fit(Y))
        null.append([fit(Y[order]) for order in orders])
    observed, null = np.array(observed), np.array(null)
    np.testing.assert_allclose(observed, ref["cors"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(null, ref["corperms"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(_pma_z_statistics(observed, null), ref["zstats"], rtol=1e-8)
    np.testing.assert_array_equal((null >= observed[:, None]).mean(axis=1), ref["pvals"])
