"""Tests of sparse CCA (penalized matrix decomposition) and its inference helpers."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.exceptions import NotFittedError
from threadpoolctl import threadpool_limits

from brainctrl.exceptions import ConvergenceWarning, DataError, InvalidParameterError
from brainctrl.stats import (
    SparseCCA,
    bootstrap_stability,
    select_penalties,
    sparse_cca_permutation_test,
)
from brainctrl.stats._cca_inference import _align, _covariate_projection
from brainctrl.stats._cca_solver import _exact_threshold, _pma_binary_search


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # small matrices: BLAS threads only add contention on a shared machine
    with threadpool_limits(limits=1, user_api="blas"):
        yield


# ---------------------------------------------------------------------------
# An independent, loop-based transcription of the R package PMA 1.2 (CCA.R and
# PMD.R: soft, l2n, BinarySearch, CheckVs, SparseCCA, CCAAlgorithm, CCA), kept
# literal: rows appended for deflation, u-update from (z v)ᵀ x, bisection.
# ---------------------------------------------------------------------------
def r_soft(x, d):
    return np.array([np.sign(xi) * max(0.0, abs(xi) - d) for xi in x])


def r_l2n(vec):
    a = np.sqrt(sum(v * v for v in vec))
    return 0.05 if a == 0 else a


def r_binary_search(argu, sumabs):
    if r_l2n(argu) == 0 or sum(abs(a / r_l2n(argu)) for a in argu) <= sumabs:
        return 0.0
    lam1 = 0.0
    lam2 = max(abs(a) for a in argu) - 1e-5
    it = 1
    while it < 150:
        su = r_soft(argu, (lam1 + lam2) / 2)
        if sum(abs(s / r_l2n(su)) for s in su) < sumabs:
            lam2 = (lam1 + lam2) / 2
        else:
            lam1 = (lam1 + lam2) / 2
        if (lam2 - lam1) < 1e-6:
            return (lam1 + lam2) / 2
        it += 1
    return (lam1 + lam2) / 2


def r_sparse_cca(x, y, v, penaltyx, penaltyz, niter, rng):
    vold = rng.standard_normal(len(v))
    u = rng.standard_normal(x.shape[1])
    for _ in range(niter):
        if np.sum(np.abs(vold - v)) > 1e-6:
            argu = (y @ v) @ x
            lamu = r_binary_search(argu, penaltyx * np.sqrt(x.shape[1]))
            su = r_soft(argu, lamu)
            u = su / r_l2n(su)
            vold = v
            argv = (x @ u) @ y
            lamv = r_binary_search(argv, penaltyz * np.sqrt(y.shape[1]))
            sv = r_soft(argv, lamv)
            v = sv / r_l2n(sv)
    d = np.sum((x @ u) * (y @ v))
    return u, v, d


def r_cca(x, z, penaltyx, penaltyz, K=1, niter=15, seed=0):
    rng = np.random.default_rng(seed)
    # scale(x, TRUE, apply(x, 2, sd)): sd with denominator n - 1
    x = (x - x.mean(axis=0)) / x.std(axis=0, ddof=1)
    z = (z - z.mean(axis=0)) / z.std(axis=0, ddof=1)
    v_init = np.linalg.svd(x.T @ z)[2].T[:, :K]  # svd(t(x) %*% z)$v[, 1:K]
    xres, zres = x.copy(), z.copy()
    us, vs, ds = [], [], []
    for k in range(K):
        u, v, d = r_sparse_cca(xres, zres, v_init[:, k], penaltyx, penaltyz, niter, rng)
        ds.append(d)
        xres = np.vstack([xres, np.sqrt(d) * u[None, :]])
        zres = np.vstack([zres, -np.sqrt(d) * v[None, :]])
        us.append(u)
        vs.append(v)
    U, V = np.array(us).T, np.array(vs).T
    cors = [np.corrcoef(x @ U[:, k], z @ V[:, k])[0, 1] for k in range(K)]
    return U, V, np.array(ds), np.array(cors)


def same_up_to_sign(a, b):
    """Flip ``b`` column-wise to match ``a``; return the flipped copy."""
    signs = np.sign(np.sum(a * b, axis=0))
    signs[signs == 0] = 1
    return b * signs


def planted(rng, n=250, p=400, q=30, kx=20, ky=5, rho=0.6):
    """Rows with a latent z loading on the first kx x- and ky y-features.

    With k loadings λ on unit-noise features, the best combination correlates
    with z at ρ_k with ρ_k² = kλ²/(kλ² + 1); choosing ρ_x = ρ_y = √ρ makes the
    population canonical correlation ρ.
    """
    z = rng.standard_normal(n)
    load = rho / (1 - rho)  # k λ² for ρ_k² = ρ
    X = rng.standard_normal((n, p))
    Y = rng.standard_normal((n, q))
    X[:, :kx] += np.sqrt(load / kx) * z[:, None]
    Y[:, :ky] += np.sqrt(load / ky) * z[:, None]
    return X, Y


def standardized(a):
    return (a - a.mean(axis=0)) / a.std(axis=0, ddof=1)


# ---------------------------------------------------------------------------
# soft threshold
# ---------------------------------------------------------------------------
def test_exact_threshold_meets_bound_and_matches_fine_bisection(rng):
    for dim, bound in [(2, 1.2), (5, 1.5), (30, 2.0), (400, 4.47), (400, 15.0)]:
        a = rng.standard_normal(dim)
        delta, single = _exact_threshold(a, bound)
        assert not single
        s = np.sign(a) * np.maximum(np.abs(a) - delta, 0)
        assert np.abs(s).sum() / np.linalg.norm(s) == pytest.approx(bound, rel=1e-12)
        # independent reference: bisection to machine precision
        low, high = 0.0, np.abs(a).max()
        for _ in range(200):
            mid = (low + high) / 2
            t = np.sign(a) * np.maximum(np.abs(a) - mid, 0)
            if np.abs(t).sum() / np.linalg.norm(t) < bound:
                high = mid
            else:
                low = mid
        assert delta == pytest.approx((low + high) / 2, abs=1e-12)


def test_exact_threshold_hand_case():
    # |a| = (3, 1), both kept (Δ < 1): (4 − 2Δ)² = 1.44 ((3 − Δ)² + (1 − Δ)²)
    # ⇔ 1.12 Δ² − 4.48 Δ + 1.6 = 0 ⇔ Δ = 2 − sqrt(4 − 1.6/1.12) ≈ 0.39643
    delta, _ = _exact_threshold(np.array([3.0, -1.0]), 1.2)
    by_hand = 2 - np.sqrt(4 - 1.6 / 1.12)
    assert 0.3964 < by_hand < 0.3965
    assert delta == pytest.approx(by_hand, abs=1e-14)


def test_exact_threshold_loose_and_impossible_bounds():
    a = np.array([0.5, -2.0, 1.0])
    assert _exact_threshold(a, 10.0) == (0.0, False)  # bound already met
    delta, single = _exact_threshold(a, 0.5)  # no unit vector has ‖·‖₁ < 1
    assert single and delta == 2.0


def test_pma_binary_search_matches_r_transcription(rng):
    for bound in (1.3, 2.5, 4.0):
        a = rng.standard_normal(40) * 30
        assert _pma_binary_search(a, bound) == r_binary_search(a, bound)


# ---------------------------------------------------------------------------
# estimator: closed forms
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("compat", [None, "pma"])
def test_loosest_penalty_gives_leading_singular_pairs(rng, compat):
    X = rng.standard_normal((60, 8))
    Y = rng.standard_normal((60, 5)) + 0.5 * X[:, :5]
    cca = SparseCCA(1.0, 1.0, n_components=2, compat=compat, max_iter=5000, tol=1e-13).fit(X, Y)
    U, d, Vt = np.linalg.svd(standardized(X).T @ standardized(Y))
    for k in range(2):
        sign = np.sign(U[:, k] @ cca.x_weights_[:, k])
        assert np.allclose(cca.x_weights_[:, k], sign * U[:, k], atol=1e-6)
        assert np.allclose(cca.y_weights_[:, k], sign * Vt[k], atol=1e-6)
        assert cca.singular_values_[k] == pytest.approx(d[k], rel=1e-9)


def test_without_standardize_columns_are_only_centred(rng):
    X = rng.standard_normal((50, 6)) * [1, 2, 3, 4, 5, 6] + 10.0
    Y = rng.standard_normal((50, 4)) + 0.3 * X[:, :4]
    cca = SparseCCA(1.0, 1.0, standardize=False, tol=1e-13).fit(X, Y)
    U, d, Vt = np.linalg.svd((X - X.mean(0)).T @ (Y - Y.mean(0)))
    sign = np.sign(U[:, 0] @ cca.x_weights_[:, 0])
    assert np.allclose(cca.x_weights_[:, 0], sign * U[:, 0], atol=1e-6)
    assert cca.singular_values_[0] == pytest.approx(d[0], rel=1e-9)
    assert np.array_equal(cca.x_scale_, np.ones(6))


def test_pma_compat_matches_r_transcription(rng):
    X = rng.standard_normal((50, 40))
    Y = rng.standard_normal((50, 8))
    X[:, :6] += Y[:, :1]
    X[:, 6:9] += Y[:, 1:2]
    U, V, d, cors = r_cca(X, Y, 0.3, 0.5, K=2)
    cca = SparseCCA(0.3, 0.5, n_components=2, compat="pma").fit(X, Y)
    assert np.allclose(cca.x_weights_, same_up_to_sign(cca.x_weights_, U), atol=1e-8)
    flips = np.sign(np.sum(cca.x_weights_ * U, axis=0))
    assert np.allclose(cca.y_weights_, V * flips, atol=1e-8)
    assert np.allclose(cca.singular_values_, d, rtol=1e-9)
    assert np.allclose(cca.canonical_correlations_, cors, atol=1e-9)
    assert cca.n_iter_.max() <= 15


def test_pma_compat_stops_after_15_iterations_and_reports_it(rng):
    X = rng.standard_normal((40, 30))
    Y = rng.standard_normal((40, 10))
    cca = SparseCCA(0.5, 0.6, compat="pma").fit(X, Y)  # null data: slow to converge
    U, V, _, _ = r_cca(X, Y, 0.5, 0.6)
    assert cca.n_iter_[0] == 15
    assert not cca.converged_[0]
    assert SparseCCA(0.5, 0.6).fit(X, Y).n_iter_[0] > 15  # the converged solver needs more
    assert np.allclose(cca.x_weights_, same_up_to_sign(cca.x_weights_, U), atol=1e-8)


def test_exact_and_converged_pma_agree(rng):
    X, Y = planted(rng, n=120, p=60, q=10, kx=8, ky=3)
    exact = SparseCCA(0.3, 0.5).fit(X, Y)
    pma = SparseCCA(0.3, 0.5, compat="pma", max_iter=2000, tol=1e-8).fit(X, Y)
    assert exact.converged_.all() and pma.converged_.all()
    assert pma.n_iter_[0] > 15  # PMA's default 15 iterations would stop short
    # the bisection stops at a bracket of 1e-6 on a scale of |XᵀYv| ~ 100
    assert np.allclose(exact.x_weights_, pma.x_weights_, atol=1e-7)
    assert np.allclose(exact.y_weights_, pma.y_weights_, atol=1e-7)


def test_weights_satisfy_constraints_and_fixed_point(rng):
    X, Y = planted(rng, n=100, p=50, q=12, kx=6, ky=3)
    cca = SparseCCA(0.25, 0.4, n_components=2).fit(X, Y)
    C = standardized(X).T @ standardized(Y)
    for k in range(2):
        u, v = cca.x_weights_[:, k], cca.y_weights_[:, k]
        assert np.linalg.norm(u) == pytest.approx(1.0)
        assert np.abs(u).sum() <= 0.25 * np.sqrt(50) + 1e-9
        assert np.abs(v).sum() <= 0.4 * np.sqrt(12) + 1e-9
        # sign convention: largest-|weight| x entry positive
        assert u[np.argmax(np.abs(u))] > 0
        # fixed point: v ∝ S(Cᵀu) has the same support and direction as v
        a = C.T @ u
        assert np.all(np.sign(v[v != 0]) == np.sign(a[v != 0]))
        C = C - cca.singular_values_[k] * np.outer(u, v)


def test_invariances(rng):
    X, Y = planted(rng, n=100, p=40, q=10, kx=5, ky=3)
    reference = SparseCCA(0.3, 0.5).fit(X, Y)
    order = rng.permutation(100)
    permuted = SparseCCA(0.3, 0.5).fit(X[order], Y[order])
    assert np.allclose(permuted.x_weights_, reference.x_weights_, atol=1e-9)
    scaled = SparseCCA(0.3, 0.5).fit(X * rng.uniform(0.5, 5, 40) + 3.0, Y)
    assert np.allclose(scaled.x_weights_, reference.x_weights_, atol=1e-9)
    flipped = SparseCCA(0.3, 0.5).fit(-X, Y)  # sign convention keeps u's largest entry positive
    assert np.allclose(flipped.x_weights_, reference.x_weights_, atol=1e-9)
    assert np.allclose(flipped.y_weights_, -reference.y_weights_, atol=1e-9)


def test_transform_and_correlations(rng):
    X, Y = planted(rng, n=80, p=30, q=6, kx=4, ky=2)
    cca = SparseCCA(0.4, 0.6, n_components=2).fit(X, Y)
    x_scores, y_scores = cca.transform(X, Y)
    assert np.allclose(x_scores, standardized(X) @ cca.x_weights_)
    for k in range(2):
        r = np.corrcoef(x_scores[:, k], y_scores[:, k])[0, 1]
        assert cca.canonical_correlations_[k] == pytest.approx(r)
    assert np.allclose(cca.fit_transform(X, Y)[0], x_scores)


def test_planted_support_recovery_and_held_out_r():
    rng = np.random.default_rng(7)
    precision, recall, held_out = [], [], []
    for _ in range(3):
        X, Y = planted(rng)
        X_test, Y_test = planted(rng)
        # L1 bounds near √k for k equal true weights (x: 0.18·√400 = 3.6 < √20
        # because estimated weights are unequal, y: exactly √5)
        cca = SparseCCA(0.18, np.sqrt(5 / 30)).fit(X, Y)
        support = np.flatnonzero(cca.x_weights_[:, 0])
        precision.append(np.mean(support < 20))
        recall.append(np.sum(support < 20) / 20)
        y_support = np.flatnonzero(cca.y_weights_[:, 0])
        assert set(range(5)) <= set(y_support.tolist())
        a, b = cca.transform(X_test, Y_test)
        held_out.append(np.corrcoef(a[:, 0], b[:, 0])[0, 1])
    assert np.mean(precision) > 0.5  # observed 0.48-0.95 per data set at n = 250
    assert np.mean(recall) > 0.6  # observed 0.6-0.9
    assert 0.4 < np.mean(held_out) < 0.7  # planted canonical correlation 0.6


def test_convergence_warning(rng):
    X = rng.standard_normal((40, 30))
    Y = rng.standard_normal((40, 10))
    with pytest.warns(ConvergenceWarning, match=r"did not converge for component\(s\) \[0\]"):
        SparseCCA(0.3, 0.3, max_iter=2).fit(X, Y)


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------
def test_estimator_errors(rng):
    X = rng.standard_normal((20, 5))
    Y = rng.standard_normal((20, 3))
    with pytest.raises(InvalidParameterError, match=r"'penalty_x' must be in \(0, 1\]; got 1.5"):
        SparseCCA(1.5).fit(X, Y)
    with pytest.raises(InvalidParameterError, match="'penalty_y' must be a number"):
        SparseCCA(0.5, "high").fit(X, Y)
    with pytest.raises(InvalidParameterError, match=r"'compat' must be one of \(None, 'pma'\)"):
        SparseCCA(compat="PMA").fit(X, Y)
    with pytest.raises(InvalidParameterError, match="'n_components' must be at most"):
        SparseCCA(n_components=4).fit(X, Y)
    with pytest.raises(InvalidParameterError, match="'n_components' must be an integer"):
        SparseCCA(n_components=0).fit(X, Y)
    with pytest.raises(DataError, match="same number of rows"):
        SparseCCA().fit(X, Y[:10])
    with pytest.raises(DataError, match="at least 3 rows"):
        SparseCCA().fit(X[:2], Y[:2])
    constant = X.copy()
    constant[:, 2] = 1.0
    with pytest.raises(DataError, match=r"X has 1 constant column\(s\) \(2\)"):
        SparseCCA().fit(constant, Y)
    nan = X.copy()
    nan[0, 0] = np.nan
    with pytest.raises(DataError, match="non-finite"):
        SparseCCA().fit(nan, Y)
    with pytest.raises(InvalidParameterError, match="not fitted yet"):
        SparseCCA().transform(X)
    cca = SparseCCA(0.6, 0.8).fit(X, Y)
    with pytest.raises(DataError, match="X must have 5 columns as in fit; got shape"):
        cca.transform(X[:, :4])
    with pytest.raises(DataError, match="Y must have 3 columns as in fit"):
        cca.transform(X, Y[:, :2])


# ---------------------------------------------------------------------------
# permutation test
# ---------------------------------------------------------------------------
def test_permutation_test_planted_and_null(rng):
    X, Y = planted(rng, n=100, p=40, q=8, kx=6, ky=3, rho=0.7)
    result = sparse_cca_permutation_test(
        SparseCCA(0.4, 0.6), X, Y, n_permutations=19, random_state=0
    )
    assert result.p_value == pytest.approx(1 / 20)
    assert result.kind == "held_out" and result.fold_correlations.shape == (5,)
    assert result.statistic == pytest.approx(result.fold_correlations.mean())
    assert result.statistic > result.null_distribution.max()
    null = sparse_cca_permutation_test(
        SparseCCA(0.4, 0.6),
        X,
        rng.standard_normal((100, 8)),
        n_permutations=19,
        random_state=0,
    )
    assert null.p_value > 0.1
    assert abs(null.statistic) < 0.3


@pytest.mark.slow
def test_permutation_test_in_sample_and_parallel_reproducible(rng):
    X, Y = planted(rng, n=60, p=20, q=5, kx=4, ky=2)
    serial = sparse_cca_permutation_test(
        SparseCCA(0.5, 0.7),
        X,
        Y,
        n_permutations=9,
        statistic="in_sample",
        random_state=3,
    )
    parallel = sparse_cca_permutation_test(
        SparseCCA(0.5, 0.7),
        X,
        Y,
        n_permutations=9,
        statistic="in_sample",
        random_state=3,
        n_jobs=2,
    )
    assert np.array_equal(serial.null_distribution, parallel.null_distribution)
    fitted = SparseCCA(0.5, 0.7).fit(X, Y)
    assert serial.statistic == pytest.approx(fitted.canonical_correlations_[0])
    assert serial.fold_correlations is None


def test_huh_jhun_projection_is_orthonormal_complement(rng):
    covariates = rng.standard_normal((30, 2))
    basis = _covariate_projection(covariates, 30)
    design = np.column_stack([np.ones(30), covariates])
    assert basis.shape == (30, 27)
    assert np.allclose(basis.T @ basis, np.eye(27), atol=1e-12)
    assert np.allclose(basis.T @ design, 0, atol=1e-12)


def test_covariates_remove_confounded_association(rng):
    n = 120
    confound = rng.standard_normal(n)
    X = rng.standard_normal((n, 20)) + 1.5 * confound[:, None]
    Y = rng.standard_normal((n, 5)) + 1.5 * confound[:, None]
    kwargs = {"n_permutations": 19, "random_state": 1}
    confounded = sparse_cca_permutation_test(SparseCCA(0.5, 0.7), X, Y, **kwargs)
    assert confounded.p_value == pytest.approx(1 / 20)
    adjusted = sparse_cca_permutation_test(
        SparseCCA(0.5, 0.7), X, Y, covariates=confound, **kwargs
    )
    assert adjusted.p_value > 0.05


def test_permutation_test_errors(rng):
    X = rng.standard_normal((20, 5))
    Y = rng.standard_normal((20, 3))
    with pytest.raises(InvalidParameterError, match="'statistic' must be one of"):
        sparse_cca_permutation_test(SparseCCA(), X, Y, statistic="insample")
    with pytest.raises(InvalidParameterError, match="'n_permutations' must be an integer >= 1"):
        sparse_cca_permutation_test(SparseCCA(), X, Y, n_permutations=0)
    with pytest.raises(DataError, match=r"covariates must have shape \(n_samples=20"):
        sparse_cca_permutation_test(SparseCCA(), X, Y, covariates=np.ones((19, 1)))
    with pytest.raises(DataError, match="too few degrees of freedom"):
        sparse_cca_permutation_test(SparseCCA(), X, Y, covariates=rng.standard_normal((20, 17)))
    with pytest.raises(InvalidParameterError, match="'cv' must be at most the number"):
        sparse_cca_permutation_test(SparseCCA(), X, Y, cv=25, n_permutations=2)


@pytest.mark.slow
def test_null_false_positive_rate():
    rng = np.random.default_rng(11)
    n_datasets, alpha = 40, 0.05
    rejections = 0
    rejections_adjusted = 0
    for index in range(n_datasets):
        X = rng.standard_normal((50, 15))
        Y = rng.standard_normal((50, 4))
        result = sparse_cca_permutation_test(
            SparseCCA(0.5, 0.7), X, Y, n_permutations=19, cv=4, random_state=index
        )
        rejections += result.p_value <= alpha
        # confounded null: covariate drives both sides, no direct link
        confound = rng.standard_normal(50)
        Xc = X + confound[:, None]
        Yc = Y + confound[:, None]
        adjusted = sparse_cca_permutation_test(
            SparseCCA(0.5, 0.7),
            Xc,
            Yc,
            n_permutations=39,
            cv=4,
            covariates=confound,
            random_state=index,
        )
        rejections_adjusted += adjusted.p_value <= alpha
    # binomial(40, 0.05): P(X >= 7) ≈ 0.003, so 6 rejections is the upper bound we allow
    assert rejections <= 6
    assert rejections_adjusted <= 6


# ---------------------------------------------------------------------------
# penalty selection and stability
# ---------------------------------------------------------------------------
def test_select_penalties_cv_prefers_sparse_on_planted(rng):
    X, Y = planted(rng, n=150, p=300, q=10, kx=5, ky=3, rho=0.7)
    choice = select_penalties(
        SparseCCA(), X, Y, penalties_x=[0.15, 1.0], penalties_y=[0.5, 1.0], random_state=0
    )
    table = choice.table
    assert len(table) == 4
    best = table.loc[table["held_out_r"].idxmax()]
    assert (choice.penalty_x, choice.penalty_y) == (best["penalty_x"], best["penalty_y"])
    assert choice.penalty_x == 0.15  # the sparse solution generalises better
    # in-sample correlation always prefers the loosest penalty
    loose = SparseCCA(1.0, 1.0).fit(X, Y).canonical_correlations_[0]
    sparse = SparseCCA(0.15, 0.5).fit(X, Y).canonical_correlations_[0]
    assert loose > sparse
    assert table["held_out_r"].max() > table.loc[table["penalty_x"] == 1.0, "held_out_r"].max()


def test_select_penalties_permute_z_statistic(rng):
    X, Y = planted(rng, n=80, p=30, q=6, kx=4, ky=2, rho=0.7)
    choice = select_penalties(
        SparseCCA(compat="pma"),
        X,
        Y,
        penalties_x=[0.3, 0.5, 0.9],
        penalties_y=[0.5, 0.7, 0.9],
        method="permute",
        n_permutations=10,
        random_state=0,
    )
    null = choice.null_correlations
    assert null.shape == (3, 10)
    observed = choice.table["r"].to_numpy()
    f = lambda r: np.log((1 + r) / (1 - r))  # noqa: E731  (PMA's ftrans)
    z = (f(observed) - f(null).mean(axis=1)) / (f(null).std(axis=1, ddof=1) + 0.05)
    assert np.allclose(choice.table["z"], z)
    assert choice.penalty_x == choice.table["penalty_x"][np.argmax(z)]
    assert np.allclose(choice.table["p_value"], (null >= observed[:, None]).mean(axis=1))
    # the observed fit starts from the unpermuted data's v and runs PMA's 3 iterations
    first = SparseCCA(0.3, 0.5, compat="pma", max_iter=3).fit(X, Y)
    assert observed[0] == pytest.approx(first.canonical_correlations_[0])


def test_select_penalties_errors(rng):
    X = rng.standard_normal((20, 5))
    Y = rng.standard_normal((20, 3))
    with pytest.raises(InvalidParameterError, match="'method' must be one of"):
        select_penalties(SparseCCA(), X, Y, method="bic")
    with pytest.raises(InvalidParameterError, match="got lengths 2 and 3"):
        select_penalties(
            SparseCCA(),
            X,
            Y,
            penalties_x=[0.3, 0.5],
            penalties_y=[0.3, 0.5, 0.7],
            method="permute",
        )
    with pytest.raises(InvalidParameterError, match=r"'penalties_x' must be in \(0, 1\]"):
        select_penalties(SparseCCA(), X, Y, penalties_x=[0.0, 0.5])


def test_align_recovers_order_and_sign(rng):
    reference_x = np.linalg.qr(rng.standard_normal((10, 3)))[0]
    reference_y = np.linalg.qr(rng.standard_normal((6, 3)))[0]
    order = [2, 0, 1]
    flips = np.array([-1.0, 1.0, -1.0])
    aligned_x, aligned_y = _align(
        reference_x, reference_y, reference_x[:, order] * flips, reference_y[:, order] * flips
    )
    assert np.allclose(aligned_x, reference_x)
    assert np.allclose(aligned_y, reference_y)


def test_bootstrap_stability_planted(rng):
    X, Y = planted(rng, n=150, p=60, q=8, kx=5, ky=2, rho=0.7)
    result = bootstrap_stability(
        SparseCCA(np.sqrt(5 / 60), np.sqrt(2 / 8)),
        X,
        Y,
        n_bootstraps=20,
        random_state=0,
    )
    assert result.x_frequency.shape == (60, 1)
    assert result.x_frequency[:5, 0].mean() > 0.9
    assert result.x_frequency[5:, 0].mean() < 0.2
    assert np.all(result.y_frequency[:2, 0] == 1.0)
    # aligned signs agree with the reference fit on the true support
    assert np.all(result.x_sign_consistency[:5, 0] > 0.9)
    assert np.all(
        np.sign(result.x_weights_mean[:5, 0]) == np.sign(result.reference.x_weights_[:5, 0])
    )


def test_bootstrap_stability_errors(rng):
    X = rng.standard_normal((20, 5))
    Y = rng.standard_normal((20, 3))
    with pytest.raises(InvalidParameterError, match="'n_bootstraps' must be an integer >= 1"):
        bootstrap_stability(SparseCCA(), X, Y, n_bootstraps=0)


# ---------------------------------------------------------------------------
# scikit-learn estimator contracts
# ---------------------------------------------------------------------------
PARAMS = {
    "penalty_x": 0.4,
    "penalty_y": 0.6,
    "n_components": 2,
    "compat": "pma",
    "max_iter": 30,
    "tol": 1e-7,
    "standardize": False,
}


def test_sparse_cca_params_clone_round_trip(rng):
    cca = SparseCCA(**PARAMS)
    assert isinstance(cca, BaseEstimator) and isinstance(cca, TransformerMixin)
    # __init__ stores its arguments under their own names and nothing else
    assert vars(cca) == PARAMS
    assert cca.get_params() == PARAMS
    assert SparseCCA().set_params(**PARAMS).get_params() == PARAMS
    assert SparseCCA(0.4, 0.6).get_params() == SparseCCA(penalty_x=0.4, penalty_y=0.6).get_params()
    assert repr(SparseCCA(0.4, compat="pma")) == "SparseCCA(compat='pma', penalty_x=0.4)"
    X, Y = rng.standard_normal((30, 6)), rng.standard_normal((30, 3))
    cca.fit(X, Y)
    copy = clone(cca)
    assert copy.get_params() == PARAMS
    assert not [name for name in vars(copy) if name.endswith("_")]
    # the clone refits to the same numbers
    np.testing.assert_array_equal(copy.fit(X, Y).x_weights_, cca.x_weights_)


def test_sparse_cca_checks_parameters_in_fit_not_init(rng):
    cca = SparseCCA(penalty_x=7.0, compat="R", n_components=-1)  # no error yet
    with pytest.raises(InvalidParameterError, match="'compat' must be one of"):
        cca.fit(rng.standard_normal((20, 5)), rng.standard_normal((20, 3)))
    assert not hasattr(cca, "x_weights_")


def test_sparse_cca_not_fitted_error(rng):
    with pytest.raises(NotFittedError, match="SparseCCA instance is not fitted yet; call 'fit'"):
        SparseCCA().transform(rng.standard_normal((10, 5)))
    # the error is also brainctrl's InvalidParameterError, raised here before 0.2
    with pytest.raises(InvalidParameterError):
        SparseCCA().transform(rng.standard_normal((10, 5)))


def test_fit_transform_is_fit_then_transform(rng):
    X, Y = rng.standard_normal((40, 6)), rng.standard_normal((40, 3))
    x_scores, y_scores = SparseCCA(0.5, 0.8).fit_transform(X, Y)
    fitted = SparseCCA(0.5, 0.8).fit(X, Y)
    np.testing.assert_array_equal(x_scores, fitted.transform(X))
    np.testing.assert_array_equal(y_scores, fitted.transform(X, Y)[1])


# ---------------------------------------------------------------------------
# inference functions take an estimator
# ---------------------------------------------------------------------------
def test_inference_uses_an_unchanged_clone_of_the_estimator(rng):
    X, Y = planted(rng, n=60, p=12, q=4, kx=3, ky=2)
    fitted = SparseCCA(0.5, 0.7).fit(X, Y)
    weights = fitted.x_weights_
    unfitted = SparseCCA(0.5, 0.7)
    by_fitted = sparse_cca_permutation_test(fitted, X, Y, n_permutations=5, random_state=0)
    by_unfitted = sparse_cca_permutation_test(unfitted, X, Y, n_permutations=5, random_state=0)
    np.testing.assert_array_equal(by_fitted.null_distribution, by_unfitted.null_distribution)
    stability = bootstrap_stability(unfitted, X, Y, n_bootstraps=3, random_state=0)
    select_penalties(unfitted, X, Y, penalties_x=[0.5], penalties_y=[0.7], random_state=0)
    assert fitted.x_weights_ is weights
    assert not hasattr(unfitted, "x_weights_")
    assert stability.reference is not unfitted
    assert stability.reference.get_params() == unfitted.get_params()


def test_inference_follows_the_estimator_parameters(rng):
    X, Y = planted(rng, n=60, p=12, q=4, kx=3, ky=2)
    Y[:, 0] *= 50.0  # unstandardised, this column dominates Y's weights
    for estimator in (SparseCCA(0.5, 0.7, standardize=False), SparseCCA(0.5, 0.7, compat="pma")):
        result = sparse_cca_permutation_test(
            estimator, X, Y, statistic="in_sample", n_permutations=3, random_state=0
        )
        fit = clone(estimator).fit(X, Y)
        assert result.statistic == fit.canonical_correlations_[0]
    stability = bootstrap_stability(
        SparseCCA(0.5, 0.7, n_components=2, standardize=False), X, Y, n_bootstraps=3
    )
    assert stability.x_frequency.shape == (12, 2)
    assert not stability.reference.standardize


def test_permutation_p_value_counts_null_at_least_as_large(rng):
    X, Y = rng.standard_normal((40, 6)), rng.standard_normal((40, 3))
    result = sparse_cca_permutation_test(SparseCCA(0.6, 0.8), X, Y, n_permutations=29)
    k = np.count_nonzero(result.null_distribution >= result.statistic)
    assert 0 < k < 29  # a null data set: neither extreme
    assert result.p_value == (1 + k) / 30


def test_old_keyword_forms_warn_and_give_the_same_numbers(rng):
    X, Y = planted(rng, n=60, p=12, q=4, kx=3, ky=2)
    with pytest.warns(
        FutureWarning,
        match=r"sparse_cca_permutation_test\(X, Y, \.\.\.\) without an estimator .* removed "
        r"in 0\.4; .* sparse_cca_permutation_test\(SparseCCA\(penalty_x=0\.5, "
        r"penalty_y=0\.7\), X, Y, \.\.\.\)",
    ):
        old = sparse_cca_permutation_test(
            X, Y, penalty_x=0.5, penalty_y=0.7, n_permutations=5, random_state=0
        )
    new = sparse_cca_permutation_test(SparseCCA(0.5, 0.7), X, Y, n_permutations=5, random_state=0)
    np.testing.assert_array_equal(old.null_distribution, new.null_distribution)
    assert (old.statistic, old.p_value) == (new.statistic, new.p_value)

    with pytest.warns(FutureWarning, match=r"select_penalties\(SparseCCA\(compat='pma'\), X"):
        old = select_penalties(
            X, Y, penalties_x=[0.4, 0.8], penalties_y=[0.7], compat="pma", random_state=0
        )
    new = select_penalties(
        SparseCCA(compat="pma"), X, Y, penalties_x=[0.4, 0.8], penalties_y=[0.7], random_state=0
    )
    assert old.table.equals(new.table)

    with pytest.warns(FutureWarning, match=r"bootstrap_stability\(SparseCCA\(n_components=2"):
        old = bootstrap_stability(X, Y, n_components=2, n_bootstraps=4, random_state=0)
    new = bootstrap_stability(SparseCCA(n_components=2), X, Y, n_bootstraps=4, random_state=0)
    np.testing.assert_array_equal(old.x_weights_mean, new.x_weights_mean)

    # X and Y given by name, with no solver keyword: still the old form
    with pytest.warns(FutureWarning, match=r"sparse_cca_permutation_test\(SparseCCA\(\), X"):
        sparse_cca_permutation_test(X=X, Y=Y, n_permutations=2, random_state=0)


def test_inference_estimator_errors(rng):
    X, Y = rng.standard_normal((20, 5)), rng.standard_normal((20, 3))
    with pytest.raises(TypeError, match=r"got an estimator and 'penalty_x'; set them on the"):
        sparse_cca_permutation_test(SparseCCA(), X, Y, penalty_x=0.5)
    with pytest.raises(TypeError, match="takes a SparseCCA as 'estimator'; got BaseEstimator"):
        bootstrap_stability(BaseEstimator(), X, Y)
    with pytest.raises(InvalidParameterError, match=r"'penalty_y' must be in \(0, 1\]"):
        sparse_cca_permutation_test(SparseCCA(0.5, 2.0), X, Y)
    with pytest.raises(InvalidParameterError, match="'compat' must be one of"):
        select_penalties(SparseCCA(compat="R"), X, Y)
