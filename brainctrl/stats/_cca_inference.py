"""Inference for sparse CCA: permutation test, penalty selection, bootstrap stability.

Each function takes a :class:`~brainctrl.stats.SparseCCA` (fitted or not; only
its parameters are used) and reruns the solver of
:mod:`brainctrl.stats._cca_solver` on resampled or permuted data.
"""

import functools
import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.optimize import linear_sum_assignment
from sklearn.base import clone

from brainctrl._utils.deprecation import warn_deprecated
from brainctrl._utils.permutation import permutation_pvalue
from brainctrl._utils.validation import (
    check_array,
    check_finite,
    check_option,
    check_positive,
    check_random_state,
)
from brainctrl.exceptions import ConvergenceWarning, DataError, InvalidParameterError
from brainctrl.stats._cca import SparseCCA
from brainctrl.stats._cca_solver import (
    _COMPAT_OPTIONS,
    _check_pair,
    _check_penalty,
    _correlation_columns,
    _fit_arrays,
    _fit_cross_product,
    _in_sample_correlation,
    _leading_right_vector,
    _pma_z_statistics,
    _resolve_iterations,
    _single_blas_thread,
    _standardize_fit,
)
from brainctrl.stats._common import check_int as _check_int
from brainctrl.stats._common import n_workers as _n_workers

__all__ = [
    "PenaltySelection",
    "SparseCCAPermutationResult",
    "StabilityResult",
    "bootstrap_stability",
    "select_penalties",
    "sparse_cca_permutation_test",
]

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# the estimator argument
# ---------------------------------------------------------------------------
def _takes_estimator(*solver_keywords):
    """Let ``function(estimator, X, Y, ...)`` also be called the pre-0.2 way, warning.

    Before 0.2 these functions took ``(X, Y, ...)`` and repeated
    :class:`SparseCCA`'s keywords (``solver_keywords``). Such a call still
    works: the estimator is built from those keywords (its defaults are the old
    defaults) and a :class:`FutureWarning` shows the call to write instead.
    """

    def decorate(function):
        name = function.__name__

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            given = {key: kwargs.pop(key) for key in solver_keywords if key in kwargs}
            if "estimator" in kwargs or (args and hasattr(args[0], "get_params")):
                if given:
                    raise TypeError(
                        f"{name}() got an estimator and {', '.join(map(repr, given))}; set "
                        f"them on the estimator instead, e.g. SparseCCA("
                        f"{', '.join(f'{key}={value!r}' for key, value in given.items())})."
                    )
                return function(*args, **kwargs)
            if not args and "X" not in kwargs:
                return function(*args, **kwargs)  # Python reports the missing arguments
            estimator = SparseCCA(**given)
            warn_deprecated(
                f"calling {name}(X, Y, ...) without an estimator (with "
                f"{', '.join(solver_keywords)} as keywords)",
                f"build a SparseCCA from those keywords and pass it first: "
                f"{name}({estimator!r}, X, Y, ...)",
            )
            return function(estimator, *args, **kwargs)

        return wrapper

    return decorate


def _check_estimator(function_name, estimator):
    """An unfitted copy of ``estimator``, which must be a :class:`SparseCCA`."""
    if not isinstance(estimator, SparseCCA):
        raise TypeError(
            f"{function_name}() takes a SparseCCA as 'estimator'; got {type(estimator).__name__}."
        )
    return clone(estimator)


def _solver_settings(estimator, *, permute=False):
    """``compat``, ``max_iter``, ``tol`` and ``standardize`` of ``estimator``, checked."""
    check_option("compat", estimator.compat, _COMPAT_OPTIONS)
    max_iter, tol = _resolve_iterations(
        estimator.compat, estimator.max_iter, estimator.tol, permute=permute
    )
    _check_int("max_iter", max_iter)
    check_positive("tol", tol)
    solver = {"compat": estimator.compat, "max_iter": max_iter, "tol": tol}
    return solver, bool(estimator.standardize)


# ---------------------------------------------------------------------------
# cross-validation helpers
# ---------------------------------------------------------------------------
def _kfold_splits(n_samples, cv, rng):
    if hasattr(cv, "split"):
        return [
            (np.asarray(train), np.asarray(test)) for train, test in cv.split(np.zeros(n_samples))
        ]
    n_folds = _check_int("cv", cv, minimum=2)
    if n_folds > n_samples:
        raise InvalidParameterError(
            f"'cv' must be at most the number of samples ({n_samples}); got {n_folds}."
        )
    order = rng.permutation(n_samples)
    folds = np.array_split(order, n_folds)
    splits = []
    for index, test in enumerate(folds):
        train = np.concatenate([fold for j, fold in enumerate(folds) if j != index])
        splits.append((np.sort(train), np.sort(test)))
    return splits


def _prepare_folds(X, Y, splits, standardize=True):
    """Standardise each training fold and keep what every penalty pair reuses."""
    folds = []
    for train, test in splits:
        mean_x, scale_x = _standardize_fit(X[train], standardize, "X")
        mean_y, scale_y = _standardize_fit(Y[train], standardize, "Y")
        cross = ((X[train] - mean_x) / scale_x).T @ ((Y[train] - mean_y) / scale_y)
        folds.append(
            {
                "cross": cross,
                "x_test": (X[test] - mean_x) / scale_x,
                "y_test": (Y[test] - mean_y) / scale_y,
                "v_exact": _leading_right_vector(cross)[:, None],
                "v_pma": np.linalg.svd(cross, full_matrices=False)[2][:1].T,
            }
        )
    return folds


def _fold_correlations(folds, penalty_x, penalty_y, *, compat, max_iter, tol):
    """Held-out correlation of the first component in each prepared fold."""
    out = np.zeros(len(folds))
    for index, fold in enumerate(folds):
        p, q = fold["cross"].shape
        weights_x, weights_y, *_ = _fit_cross_product(
            fold["cross"],
            (penalty_x * np.sqrt(p), penalty_y * np.sqrt(q)),
            1,
            compat=compat,
            max_iter=max_iter,
            tol=tol,
            v_start=fold["v_pma"] if compat == "pma" else fold["v_exact"],
        )
        out[index] = _correlation_columns(fold["x_test"] @ weights_x, fold["y_test"] @ weights_y)[
            0
        ]
    return out


def _held_out_correlations(
    X, Y, splits, penalty_x, penalty_y, *, compat, max_iter, tol, standardize=True
):
    """Held-out correlation of the first component in each fold."""
    return _fold_correlations(
        _prepare_folds(X, Y, splits, standardize),
        penalty_x,
        penalty_y,
        compat=compat,
        max_iter=max_iter,
        tol=tol,
    )


def _covariate_projection(covariates, n_samples):
    """Orthonormal basis of the complement of ``[1, covariates]`` (Huh & Jhun 2001)."""
    design = check_array("covariates", covariates)
    if design.ndim == 1:
        design = design[:, None]
    if design.ndim != 2 or design.shape[0] != n_samples:
        raise DataError(
            f"covariates must have shape (n_samples={n_samples}, n_covariates); "
            f"got {design.shape}."
        )
    check_finite("covariates", design)
    design = np.column_stack([np.ones(n_samples), design])
    rank = np.linalg.matrix_rank(design)
    if rank >= n_samples - 3:
        raise DataError(
            f"covariates leave too few degrees of freedom: rank {rank} with {n_samples} samples."
        )
    q_full, _ = np.linalg.qr(design, mode="complete")
    # columns beyond the design's rank span its orthogonal complement; a rank-
    # deficient design is handled by an SVD instead
    if rank < design.shape[1]:
        left = np.linalg.svd(design, full_matrices=True)[0]
        return left[:, rank:]
    return q_full[:, rank:]


@dataclass
class SparseCCAPermutationResult:
    """Result of :func:`sparse_cca_permutation_test`.

    Attributes
    ----------
    statistic : float
        Observed statistic: the mean held-out canonical correlation over folds,
        or the in-sample canonical correlation.
    null_distribution : ndarray of shape (n_permutations,)
        The statistic for each permutation of the rows of ``Y``.
    p_value : float
        ``(1 + #{null ≥ statistic}) / (n_permutations + 1)``; null values equal
        to the statistic up to rounding (a relative 1e-12) count.
    fold_correlations : ndarray of shape (n_folds,) or None
        Observed held-out correlation per fold (``statistic="held_out"`` only).
    kind : str
        ``"held_out"`` or ``"in_sample"``.
    """

    statistic: float
    null_distribution: np.ndarray
    p_value: float
    fold_correlations: np.ndarray | None
    kind: str


def _statistic(X, Y, kind, splits, penalty_x, penalty_y, solver, standardize):
    if kind == "held_out":
        folds = _held_out_correlations(
            X, Y, splits, penalty_x, penalty_y, **solver, standardize=standardize
        )
        return float(folds.mean()), folds
    return (
        _in_sample_correlation(X, Y, penalty_x, penalty_y, **solver, standardize=standardize),
        None,
    )


def _null_chunk(X, Y, permutations, kind, splits, penalty_x, penalty_y, solver, standardize):
    with warnings.catch_warnings(), _single_blas_thread():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return [
            _statistic(X, Y[order], kind, splits, penalty_x, penalty_y, solver, standardize)[0]
            for order in permutations
        ]


def _chunks(items, n_chunks):
    n_chunks = max(1, min(n_chunks, len(items)))
    return [list(chunk) for chunk in np.array_split(np.arange(len(items)), n_chunks)]


@_takes_estimator("penalty_x", "penalty_y", "compat", "max_iter", "tol")
def sparse_cca_permutation_test(
    estimator,
    X,
    Y,
    *,
    n_permutations=1000,
    statistic="held_out",
    cv=5,
    covariates=None,
    random_state=None,
    n_jobs=1,
):
    """Permutation test of the first sparse canonical correlation.

    Parameters
    ----------
    estimator : SparseCCA
        The model whose first component is tested: its penalties, solver
        (``compat``, ``max_iter``, ``tol``) and ``standardize`` are used for the
        observed and every permuted data set. Fitted or not; it is not changed
        (a clone is fitted). Calling with ``X, Y`` first and ``penalty_x``,
        ``penalty_y``, ``compat``, ``max_iter``, ``tol`` as keywords is
        deprecated (removed in 0.4).
    X : array-like of shape (n_samples, n_features_x)
        First data set, one row per subject.
    Y : array-like of shape (n_samples, n_features_y)
        Second data set, same subjects and order.
    n_permutations : int, default=1000
        Number of permutations of the rows of ``Y``.
    statistic : {"held_out", "in_sample"}, default="held_out"
        ``"held_out"``: mean over the ``cv`` folds of the correlation between test
        scores ``X_test u`` and ``Y_test v`` of weights fitted on the training
        folds (standardised with training statistics). ``"in_sample"``: the
        correlation of the fit to all rows.
    cv : int or splitter, default=5
        Folds for ``statistic="held_out"``: an int (shuffled k-fold drawn from
        ``random_state``) or an object with a ``split(X)`` method. The same
        folds are used for the observed and every permuted data set.
    covariates : array-like of shape (n_samples,) or (n_samples, n_covariates), optional
        Nuisance variables (e.g. age, sex, motion). See Notes.
    random_state : None, int or numpy Generator
        Seed for folds and permutations.
    n_jobs : int, default=1
        Parallel workers (joblib) over permutations. Results do not depend on it.

    Returns
    -------
    SparseCCAPermutationResult
        Observed statistic, null distribution and p-value.

    Notes
    -----
    Under the null hypothesis of no association the rows of ``Y`` are
    exchangeable with respect to ``X``; each permutation reruns the whole
    procedure (all folds) with the penalties fixed. The held-out statistic does
    not grow with model flexibility, so it is the default.

    With covariates, both ``X`` and ``Y`` are projected onto the orthogonal
    complement of ``[1, covariates]`` with the semi-orthogonal ``Q`` of
    Huh & Jhun (2001), ``X̃ = QᵀX``, ``Ỹ = QᵀY`` (``n − r`` rows, ``r`` the rank
    of the design), and the rows of ``Ỹ`` are permuted. This removes the
    covariates from both sides, as recommended for CCA by Winkler et al. (2020),
    and unlike permuting plain residuals (whose covariance is ``I − H``) keeps
    the rows exactly exchangeable under the null, so error rates stay at α.
    Folds are then drawn over the ``n − r`` projected rows.

    References
    ----------
    .. [1] Winkler, A. M., Renaud, O., Smith, S. M., & Nichols, T. E. (2020).
       Permutation inference for canonical correlation analysis. NeuroImage,
       220, 117065.
    .. [2] Huh, M.-H., & Jhun, M. (2001). Random permutation testing in multiple
       linear regression. Communications in Statistics - Theory and Methods,
       30(10), 2023-2032.
    .. [3] Witten, D. M., Tibshirani, R., & Hastie, T. (2009). Biostatistics,
       10(3), 515-534.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> latent = rng.standard_normal((60, 1))
    >>> X = latent + rng.standard_normal((60, 6))
    >>> Y = latent + rng.standard_normal((60, 4))
    >>> result = sparse_cca_permutation_test(
    ...     SparseCCA(0.6, 0.6), X, Y, n_permutations=19, random_state=0)
    >>> float(result.p_value)
    0.05
    """
    estimator = _check_estimator("sparse_cca_permutation_test", estimator)
    Xa, Ya = _check_pair(X, Y)
    check_option("statistic", statistic, ("held_out", "in_sample"))
    penalty_x, penalty_y, _, max_iter, tol = estimator._check_params(Xa.shape[1], Ya.shape[1])
    solver = {"compat": estimator.compat, "max_iter": max_iter, "tol": tol}
    standardize = bool(estimator.standardize)
    n_permutations = _check_int("n_permutations", n_permutations)
    rng = check_random_state(random_state)
    if covariates is not None:
        basis = _covariate_projection(covariates, Xa.shape[0])
        Xa = basis.T @ Xa
        Ya = basis.T @ Ya
    n_samples = Xa.shape[0]
    splits = _kfold_splits(n_samples, cv, rng) if statistic == "held_out" else None
    permutations = [rng.permutation(n_samples) for _ in range(n_permutations)]
    with warnings.catch_warnings(), _single_blas_thread():
        warnings.simplefilter("ignore", ConvergenceWarning)
        observed, folds = _statistic(
            Xa, Ya, statistic, splits, penalty_x, penalty_y, solver, standardize
        )
    workers = _n_workers(n_jobs)
    chunks = _chunks(permutations, workers)
    results = Parallel(n_jobs=workers)(
        delayed(_null_chunk)(
            Xa,
            Ya,
            [permutations[i] for i in chunk],
            statistic,
            splits,
            penalty_x,
            penalty_y,
            solver,
            standardize,
        )
        for chunk in chunks
    )
    null = np.concatenate([np.asarray(r, dtype=float) for r in results])
    p_value = permutation_pvalue(observed, null, alternative="greater")
    logger.info("sparse CCA permutation test: statistic %.4f, p = %.4g", observed, p_value)
    return SparseCCAPermutationResult(
        statistic=observed,
        null_distribution=null,
        p_value=float(p_value),
        fold_correlations=folds,
        kind=statistic,
    )


# ---------------------------------------------------------------------------
# penalty selection
# ---------------------------------------------------------------------------
@dataclass
class PenaltySelection:
    """Result of :func:`select_penalties`.

    Attributes
    ----------
    penalty_x, penalty_y : float
        The chosen penalties.
    table : pandas.DataFrame
        One row per candidate. ``method="cv"``: ``penalty_x``, ``penalty_y``,
        ``held_out_r`` (mean over folds), ``held_out_r_sd``. ``method="permute"``:
        ``penalty_x``, ``penalty_y``, ``r`` (in-sample), ``mean_r_permuted``,
        ``z``, ``p_value`` (PMA's: the fraction of permuted ``r`` at least as
        large as ``r``).
    method : str
        ``"cv"`` or ``"permute"``.
    null_correlations : ndarray of shape (n_candidates, n_permutations) or None
        In-sample correlations on permuted data (``method="permute"`` only).
    """

    penalty_x: float
    penalty_y: float
    table: pd.DataFrame
    method: str
    null_correlations: np.ndarray | None = None


@_takes_estimator("compat", "max_iter", "tol")
def select_penalties(
    estimator,
    X,
    Y,
    *,
    penalties_x=None,
    penalties_y=None,
    method="cv",
    cv=5,
    n_permutations=25,
    random_state=None,
    n_jobs=1,
):
    """Choose the sparse-CCA penalties.

    Parameters
    ----------
    estimator : SparseCCA
        The model whose penalties are chosen: its solver (``compat``,
        ``max_iter``, ``tol``) and ``standardize`` are used for every
        candidate; its own ``penalty_x``, ``penalty_y`` and ``n_components``
        are not (candidates are scored on the first component). Fitted or not;
        it is not changed. Calling with ``X, Y`` first and ``compat``,
        ``max_iter``, ``tol`` as keywords is deprecated (removed in 0.4).
    X : array-like of shape (n_samples, n_features_x)
        First data set.
    Y : array-like of shape (n_samples, n_features_y)
        Second data set.
    penalties_x, penalties_y : sequence of float in (0, 1], optional
        Candidates. Default ``np.linspace(0.1, 0.7, 10)`` for both (PMA's grid).
    method : {"cv", "permute"}, default="cv"
        ``"cv"``: every pair of the grid ``penalties_x × penalties_y`` is scored
        by the mean held-out canonical correlation over ``cv`` folds; the best
        pair wins. ``"permute"``: PMA's ``CCA.permute``: candidates are paired
        element-wise (``penalties_x[i]`` with ``penalties_y[i]``; one of length 1
        is broadcast), each scored by ``z = (F(r) − mean F(r*)) / (sd F(r*) + 0.05)``
        over ``n_permutations`` row permutations of ``Y``, with ``F(r) =
        log((1 + r)/(1 − r))`` as in PMA; the largest z wins.
    cv : int or splitter, default=5
        Folds for ``method="cv"``.
    n_permutations : int, default=25
        Permutations for ``method="permute"`` (PMA's default). With
        ``compat="pma"`` and ``max_iter`` not set, the fits run PMA's 3
        iterations from the starting vector of the unpermuted data, as
        ``CCA.permute`` does.
    random_state : None, int or numpy Generator
        Seed for folds and permutations.
    n_jobs : int, default=1
        Parallel workers over candidates.

    Returns
    -------
    PenaltySelection
        Chosen penalties and the table of all candidates.

    Notes
    -----
    In-sample canonical correlation always rises as the penalties loosen, so it
    cannot choose them; the held-out correlation peaks at the sparsity that
    generalises. PMA's permutation criterion instead rewards separation from
    the permutation null. PMA permutes the rows of both data sets; here only
    ``Y`` is permuted, which gives the same null distribution.

    References
    ----------
    .. [1] Witten, D. M., Tibshirani, R., & Hastie, T. (2009). Biostatistics,
       10(3), 515-534.
    .. [2] Witten, D. M., & Tibshirani, R. (2020). PMA: Penalized Multivariate
       Analysis. R package version 1.2 (``CCA.permute``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> latent = rng.standard_normal((80, 1))
    >>> X = np.hstack([latent + 0.5 * rng.standard_normal((80, 2)),
    ...                rng.standard_normal((80, 8))])
    >>> Y = latent + rng.standard_normal((80, 3))
    >>> choice = select_penalties(SparseCCA(), X, Y, penalties_x=[0.35, 1.0],
    ...                           penalties_y=[1.0], random_state=0)
    >>> choice.penalty_x
    0.35
    """
    estimator = _check_estimator("select_penalties", estimator)
    Xa, Ya = _check_pair(X, Y)
    check_option("method", method, ("cv", "permute"))
    solver, standardize = _solver_settings(estimator, permute=method == "permute")
    compat = solver["compat"]
    default = np.linspace(0.1, 0.7, 10)
    grid_x = [
        _check_penalty("penalties_x", float(v), Xa.shape[1])
        for v in np.atleast_1d(default if penalties_x is None else penalties_x)
    ]
    grid_y = [
        _check_penalty("penalties_y", float(v), Ya.shape[1])
        for v in np.atleast_1d(default if penalties_y is None else penalties_y)
    ]
    rng = check_random_state(random_state)
    workers = _n_workers(n_jobs)
    if method == "cv":
        splits = _kfold_splits(Xa.shape[0], cv, rng)
        pairs = [(px, py) for px in grid_x for py in grid_y]
        with _single_blas_thread():
            prepared = _prepare_folds(Xa, Ya, splits, standardize)

        def score(chunk):
            with warnings.catch_warnings(), _single_blas_thread():
                warnings.simplefilter("ignore", ConvergenceWarning)
                return [_fold_correlations(prepared, *pairs[i], **solver) for i in chunk]

        chunked = Parallel(n_jobs=workers)(
            delayed(score)(chunk) for chunk in _chunks(pairs, workers)
        )
        folds = [f for chunk in chunked for f in chunk]
        table = pd.DataFrame(
            {
                "penalty_x": [p[0] for p in pairs],
                "penalty_y": [p[1] for p in pairs],
                "held_out_r": [float(f.mean()) for f in folds],
                "held_out_r_sd": [float(f.std(ddof=1)) if f.size > 1 else 0.0 for f in folds],
            }
        )
        best = int(np.argmax(table["held_out_r"].to_numpy()))
    else:
        if len(grid_x) != len(grid_y) and 1 not in (len(grid_x), len(grid_y)):
            raise InvalidParameterError(
                "With method='permute' penalties are paired: 'penalties_x' and "
                "'penalties_y' must have the same length or one must have length 1; "
                f"got lengths {len(grid_x)} and {len(grid_y)}."
            )
        n_pairs = max(len(grid_x), len(grid_y))
        grid_x = grid_x * n_pairs if len(grid_x) == 1 else grid_x
        grid_y = grid_y * n_pairs if len(grid_y) == 1 else grid_y
        n_permutations = _check_int("n_permutations", n_permutations, minimum=2)
        v_start = None
        if compat == "pma":
            mean_x, scale_x = _standardize_fit(Xa, standardize, "X")
            mean_y, scale_y = _standardize_fit(Ya, standardize, "Y")
            cross = ((Xa - mean_x) / scale_x).T @ ((Ya - mean_y) / scale_y)
            v_start = np.linalg.svd(cross, full_matrices=False)[2][:1].T
        permutations = [rng.permutation(Xa.shape[0]) for _ in range(n_permutations)]

        def permute_scores(pair):
            with warnings.catch_warnings(), _single_blas_thread():
                warnings.simplefilter("ignore", ConvergenceWarning)
                observed = _in_sample_correlation(
                    Xa, Ya, *pair, **solver, v_start=v_start, standardize=standardize
                )
                null = [
                    _in_sample_correlation(
                        Xa, Ya[order], *pair, **solver, v_start=v_start, standardize=standardize
                    )
                    for order in permutations
                ]
            return observed, np.asarray(null)

        pairs = list(zip(grid_x, grid_y))
        outcomes = Parallel(n_jobs=workers)(delayed(permute_scores)(pair) for pair in pairs)
        observed = np.array([o[0] for o in outcomes])
        null = np.vstack([o[1] for o in outcomes])
        z = _pma_z_statistics(observed, null)
        table = pd.DataFrame(
            {
                "penalty_x": grid_x,
                "penalty_y": grid_y,
                "r": observed,
                "mean_r_permuted": null.mean(axis=1),
                "z": z,
                "p_value": (null >= observed[:, None]).mean(axis=1),
            }
        )
        best = int(np.argmax(z))
    return PenaltySelection(
        penalty_x=float(table["penalty_x"].iloc[best]),
        penalty_y=float(table["penalty_y"].iloc[best]),
        table=table,
        method=method,
        null_correlations=null if method == "permute" else None,
    )


# ---------------------------------------------------------------------------
# bootstrap stability
# ---------------------------------------------------------------------------
@dataclass
class StabilityResult:
    """Result of :func:`bootstrap_stability`.

    Attributes
    ----------
    x_frequency : ndarray of shape (n_features_x, n_components)
        Fraction of bootstrap fits in which each x weight is non-zero.
    y_frequency : ndarray of shape (n_features_y, n_components)
        Same for the y weights.
    x_weights_mean, y_weights_mean : ndarray
        Mean of the aligned bootstrap weights.
    x_sign_consistency, y_sign_consistency : ndarray
        Fraction of fits in which a non-zero weight has the sign of the
        reference fit (NaN where the reference weight is zero).
    reference : SparseCCA
        The fit on all rows (a fitted clone of the estimator given) that
        bootstrap components are aligned to.
    """

    x_frequency: np.ndarray
    y_frequency: np.ndarray
    x_weights_mean: np.ndarray
    y_weights_mean: np.ndarray
    x_sign_consistency: np.ndarray
    y_sign_consistency: np.ndarray
    reference: SparseCCA


def _align(reference_x, reference_y, weights_x, weights_y):
    """Reorder and flip components to best match the reference (Hungarian)."""
    similarity = reference_x.T @ weights_x + reference_y.T @ weights_y
    rows, columns = linear_sum_assignment(-np.abs(similarity))
    order = np.empty(reference_x.shape[1], dtype=int)
    order[rows] = columns
    signs = np.sign(similarity[rows, columns])
    signs[signs == 0] = 1.0
    flip = np.empty(reference_x.shape[1])
    flip[rows] = signs
    return weights_x[:, order] * flip, weights_y[:, order] * flip


def _bootstrap_chunk(X, Y, samples, estimator_params, reference_x, reference_y):
    out = []
    with warnings.catch_warnings(), _single_blas_thread():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for rows in samples:
            fitted = _fit_arrays(X[rows], Y[rows], **estimator_params)
            out.append(_align(reference_x, reference_y, fitted["x_weights"], fitted["y_weights"]))
    return out


@_takes_estimator("penalty_x", "penalty_y", "n_components", "compat", "max_iter", "tol")
def bootstrap_stability(
    estimator,
    X,
    Y,
    *,
    n_bootstraps=100,
    random_state=None,
    n_jobs=1,
):
    """Estimate how often each sparse-CCA weight is selected over bootstrap resamples.

    Parameters
    ----------
    estimator : SparseCCA
        The model refitted to each resample, with all its parameters. Fitted
        or not; it is not changed (clones are fitted). Calling with ``X, Y``
        first and ``penalty_x``, ``penalty_y``, ``n_components``, ``compat``,
        ``max_iter``, ``tol`` as keywords is deprecated (removed in 0.4).
    X : array-like of shape (n_samples, n_features_x)
        First data set.
    Y : array-like of shape (n_samples, n_features_y)
        Second data set.
    n_bootstraps : int, default=100
        Number of resamples of rows with replacement.
    random_state : None, int or numpy Generator
        Seed for the resamples.
    n_jobs : int, default=1
        Parallel workers over resamples.

    Returns
    -------
    StabilityResult
        Selection frequencies, mean aligned weights and sign consistency.

    Notes
    -----
    Components of different resamples can come out in another order or with
    the opposite sign. Each resample's components are matched to those of the
    fit on all rows by the Hungarian algorithm on
    ``|u_refᵀ u_b + v_refᵀ v_b|`` and flipped so that this similarity is
    positive, before frequencies and means are taken.

    References
    ----------
    .. [1] Meinshausen, N., & Bühlmann, P. (2010). Stability selection. Journal
       of the Royal Statistical Society B, 72(4), 417-473.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)
    >>> latent = rng.standard_normal((100, 1))
    >>> X = np.hstack([latent + 0.5 * rng.standard_normal((100, 2)),
    ...                rng.standard_normal((100, 8))])
    >>> Y = np.hstack([latent + 0.5 * rng.standard_normal((100, 2)),
    ...                rng.standard_normal((100, 2))])
    >>> stability = bootstrap_stability(SparseCCA(0.35, 0.6), X, Y,
    ...                                 n_bootstraps=20, random_state=0)
    >>> stability.x_frequency[:2, 0].tolist()
    [1.0, 1.0]
    """
    reference = _check_estimator("bootstrap_stability", estimator)
    Xa, Ya = _check_pair(X, Y)
    n_bootstraps = _check_int("n_bootstraps", n_bootstraps)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reference.fit(Xa, Ya)
    penalty_x, penalty_y, n_components, max_iter, tol = reference._check_params(
        Xa.shape[1], Ya.shape[1]
    )
    params = {
        "penalty_x": penalty_x,
        "penalty_y": penalty_y,
        "n_components": n_components,
        "compat": reference.compat,
        "max_iter": max_iter,
        "tol": tol,
        "standardize": bool(reference.standardize),
    }
    rng = check_random_state(random_state)
    n_samples = Xa.shape[0]
    samples = [rng.integers(0, n_samples, n_samples) for _ in range(n_bootstraps)]
    workers = _n_workers(n_jobs)
    chunks = _chunks(samples, workers)
    results = Parallel(n_jobs=workers)(
        delayed(_bootstrap_chunk)(
            Xa,
            Ya,
            [samples[i] for i in chunk],
            params,
            reference.x_weights_,
            reference.y_weights_,
        )
        for chunk in chunks
    )
    aligned = [pair for chunk in results for pair in chunk]
    stack_x = np.stack([a[0] for a in aligned])
    stack_y = np.stack([a[1] for a in aligned])

    def sign_consistency(stack, reference_weights):
        reference_sign = np.sign(reference_weights)
        agree = (np.sign(stack) == reference_sign) & (stack != 0)
        out = agree.mean(axis=0)
        return np.where(reference_sign == 0, np.nan, out)

    return StabilityResult(
        x_frequency=(stack_x != 0).mean(axis=0),
        y_frequency=(stack_y != 0).mean(axis=0),
        x_weights_mean=stack_x.mean(axis=0),
        y_weights_mean=stack_y.mean(axis=0),
        x_sign_consistency=sign_consistency(stack_x, reference.x_weights_),
        y_sign_consistency=sign_consistency(stack_y, reference.y_weights_),
        reference=reference,
    )
