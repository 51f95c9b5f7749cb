"""Cross-validated prediction of behaviour from brain features.

:func:`predict_behaviour` and :func:`compare_feature_sets` share one private
pipeline, :func:`_run_pipeline`, that takes precomputed outer splits and inner
seeds, so that feature sets (and permutations) are evaluated on identical splits.
"""

import logging
import warnings
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import stats

from brainctrl._utils.permutation import permutation_pvalue
from brainctrl._utils.validation import (
    check_array,
    check_finite,
    check_option,
    check_positive,
    check_random_state,
)
from brainctrl.exceptions import DataError, InvalidParameterError, UndefinedScoreWarning
from brainctrl.stats._common import check_int as _check_int
from brainctrl.stats._common import n_workers as _n_workers
from brainctrl.stats._ttest import corrected_resampled_ttest

__all__ = [
    "FeatureSetComparison",
    "PredictionResult",
    "compare_feature_sets",
    "predict_behaviour",
]

logger = logging.getLogger(__name__)

_MODELS = ("ridge", "kernel_ridge", "cpm")
_KERNELS = ("cosine", "linear")
_METRICS = ("r", "r2", "mae")
_DEFAULT_ALPHAS = tuple(10.0 ** np.arange(-3, 6))


# ---------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------
def _as_matrix(name, values, n_samples=None):
    names = None
    if isinstance(values, pd.DataFrame):
        names = [str(c) for c in values.columns]
    out = check_array(name, values)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2:
        raise DataError(f"{name} must be 2-dimensional (n_samples, n_features); got {out.shape}.")
    check_finite(name, out)
    if n_samples is not None and out.shape[0] != n_samples:
        raise DataError(
            f"{name} must have one row per subject ({n_samples}); got shape {out.shape}."
        )
    return out, names


def _as_target(target):
    out = check_array("target", target)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim != 1:
        raise DataError(f"target must be 1-dimensional (n_samples,); got shape {out.shape}.")
    check_finite("target", out)
    if out.size < 4:
        raise DataError(f"target needs at least 4 subjects; got {out.size}.")
    if np.ptp(out) == 0:
        raise DataError("target is constant; there is nothing to predict.")
    return out


def _check_alphas(alphas):
    values = np.atleast_1d(np.asarray(_DEFAULT_ALPHAS if alphas is None else alphas, float))
    if (
        values.ndim != 1
        or values.size == 0
        or not np.all(np.isfinite(values))
        or (values <= 0).any()
    ):
        raise InvalidParameterError(
            f"'alphas' must be a non-empty 1-D sequence of positive numbers; got {alphas!r}."
        )
    return values


# ---------------------------------------------------------------------------
# splits
# ---------------------------------------------------------------------------
def _kfold(n_samples, n_folds, rng, groups=None):
    """Shuffled k-fold; with ``groups`` every group stays within one fold."""
    if groups is None:
        folds = np.array_split(rng.permutation(n_samples), n_folds)
    else:
        labels, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
        if labels.size < n_folds:
            raise InvalidParameterError(
                f"'cv' ({n_folds} folds) must not exceed the number of groups ({labels.size})."
            )
        order = rng.permutation(labels.size)
        order = order[np.argsort(-counts[order], kind="stable")]
        load = np.zeros(n_folds)
        assignment = np.empty(labels.size, dtype=int)
        for group in order:
            fold = int(np.argmin(load))
            assignment[group] = fold
            load[fold] += counts[group]
        folds = [np.flatnonzero(assignment[inverse] == fold) for fold in range(n_folds)]
    out = []
    for index, test in enumerate(folds):
        train = np.concatenate([f for j, f in enumerate(folds) if j != index])
        out.append((np.sort(train), np.sort(test)))
    return out


def _outer_splits(n_samples, cv, n_repeats, groups, rng, features, target):
    """List of ``(repeat, fold, train, test)``."""
    if hasattr(cv, "split"):
        if n_repeats != 1:
            raise InvalidParameterError(
                "'n_repeats' must be 1 when 'cv' is a splitter object (use a repeated "
                f"splitter instead); got n_repeats={n_repeats}."
            )
        splits = cv.split(features, target, groups)
        return [
            (0, fold, np.asarray(train), np.asarray(test))
            for fold, (train, test) in enumerate(splits)
        ]
    n_folds = _check_int("cv", cv, minimum=2)
    if n_folds > n_samples:
        raise InvalidParameterError(
            f"'cv' must be at most the number of subjects ({n_samples}); got {n_folds}."
        )
    out = []
    for repeat in range(n_repeats):
        for fold, (train, test) in enumerate(_kfold(n_samples, n_folds, rng, groups)):
            out.append((repeat, fold, train, test))
    return out


# ---------------------------------------------------------------------------
# in-fold preprocessing and models
# ---------------------------------------------------------------------------
def _residualize(train, test, confounds_train, confounds_test):
    """Remove confounds with betas fitted on the training rows only."""
    design_train = np.column_stack([np.ones(len(confounds_train)), confounds_train])
    design_test = np.column_stack([np.ones(len(confounds_test)), confounds_test])
    betas = np.linalg.lstsq(design_train, train, rcond=None)[0]
    return train - design_train @ betas, test - design_test @ betas


def _preprocess(X_train, X_test, y_train, y_test, C_train, C_test, standardize):
    if C_train is not None:
        X_train, X_test = _residualize(X_train, X_test, C_train, C_test)
        y_train, y_test = _residualize(y_train, y_test, C_train, C_test)
    if standardize:
        mean = X_train.mean(axis=0)
        scale = X_train.std(axis=0, ddof=1)
        scale[scale == 0] = 1.0
        X_train = (X_train - mean) / scale
        X_test = (X_test - mean) / scale
    return X_train, X_test, y_train, y_test


def _kernels(X_train, X_test, kernel):
    if kernel == "cosine":
        norm_train = np.linalg.norm(X_train, axis=1)
        norm_test = np.linalg.norm(X_test, axis=1)
        norm_train[norm_train == 0] = 1.0
        norm_test[norm_test == 0] = 1.0
        X_train = X_train / norm_train[:, None]
        X_test = X_test / norm_test[:, None]
    return X_train @ X_train.T, X_test @ X_train.T


def _kernel_ridge_predictions(K_train, K_test, y_train, alphas):
    """Predictions ``(n_test, n_alphas)`` of kernel ridge with an intercept (mean of y)."""
    offset = y_train.mean()
    eigenvalues, eigenvectors = np.linalg.eigh(K_train)
    eigenvalues = np.maximum(eigenvalues, 0.0)
    projected = eigenvectors.T @ (y_train - offset)
    coefficients = projected[:, None] / (eigenvalues[:, None] + alphas[None, :])
    return offset + (K_test @ eigenvectors) @ coefficients


def _cpm_predict(X_train, X_test, y_train, threshold, networks):
    """Connectome-based predictive modelling (Shen et al. 2017) on one split."""
    n = X_train.shape[0]
    Xc = X_train - X_train.mean(axis=0)
    yc = y_train - y_train.mean()
    denominator = np.sqrt((Xc * Xc).sum(axis=0) * (yc @ yc))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(denominator > 0, (Xc.T @ yc) / np.where(denominator > 0, denominator, 1), 0)
    r = np.clip(r, -1.0, 1.0)
    with np.errstate(divide="ignore"):
        t = r * np.sqrt((n - 2) / np.maximum(1 - r * r, 1e-300))
    p = 2 * stats.t.sf(np.abs(t), n - 2)
    columns_train, columns_test = [], []
    if networks in ("both", "positive"):
        positive = (r > 0) & (p < threshold)
        if positive.any():
            columns_train.append(X_train[:, positive].sum(axis=1))
            columns_test.append(X_test[:, positive].sum(axis=1))
    if networks in ("both", "negative"):
        negative = (r < 0) & (p < threshold)
        if negative.any():
            columns_train.append(X_train[:, negative].sum(axis=1))
            columns_test.append(X_test[:, negative].sum(axis=1))
    design_train = np.column_stack([np.ones(n)] + columns_train)
    design_test = np.column_stack([np.ones(X_test.shape[0])] + columns_test)
    betas = np.linalg.lstsq(design_train, y_train, rcond=None)[0]
    return design_test @ betas


def _select_alpha(X, y, C, inner_splits, kernel, alphas, standardize):
    errors = np.zeros(alphas.size)
    for train, test in inner_splits:
        X_train, X_test, y_train, y_test = _preprocess(
            X[train],
            X[test],
            y[train],
            y[test],
            None if C is None else C[train],
            None if C is None else C[test],
            standardize,
        )
        K_train, K_test = _kernels(X_train, X_test, kernel)
        predictions = _kernel_ridge_predictions(K_train, K_test, y_train, alphas)
        errors += ((predictions - y_test[:, None]) ** 2).sum(axis=0)
    return float(alphas[int(np.argmin(errors))])


def _is_constant(values):
    """True when values differ only by rounding (e.g. a prediction of one mean)."""
    return bool(np.ptp(values) <= 1e-12 * np.abs(values).max())


def _correlation(a, b):
    # undefined (not zero) when either side is constant, e.g. a fold where a
    # heavily penalised model predicts the training mean for every subject
    if _is_constant(a) or _is_constant(b):
        return float("nan")
    a = a - a.mean()
    b = b - b.mean()
    return float((a @ b) / np.sqrt((a @ a) * (b @ b)))


def _fold_scores(prediction, truth):
    residual = truth - prediction
    total = ((truth - truth.mean()) ** 2).sum()
    return {
        "r": _correlation(prediction, truth),
        "r2": float(1 - (residual @ residual) / total) if total > 0 else float("nan"),
        "mae": float(np.abs(residual).mean()),
    }


def _run_pipeline(X, y, C, splits, inner_seeds, settings, groups):
    """Run the whole pipeline over ``splits``; return per-fold rows and predictions."""
    model = settings["model"]
    n_repeats = max(s[0] for s in splits) + 1
    predictions = np.full((n_repeats, y.size), np.nan)
    truths = np.full((n_repeats, y.size), np.nan)
    rows = []
    for (repeat, fold, train, test), seed in zip(splits, inner_seeds):
        C_train = None if C is None else C[train]
        C_test = None if C is None else C[test]
        alpha = np.nan
        if model == "cpm":
            X_train, X_test, y_train, y_test = _preprocess(
                X[train], X[test], y[train], y[test], C_train, C_test, standardize=False
            )
            prediction = _cpm_predict(
                X_train, X_test, y_train, settings["threshold"], settings["cpm_networks"]
            )
        else:
            kernel = "linear" if model == "ridge" else settings["kernel"]
            alphas = settings["alphas"]
            if alphas.size > 1:
                inner_groups = None if groups is None else groups[train]
                n_inner = min(settings["inner_cv"], train.size)
                if inner_groups is not None:
                    n_inner = min(n_inner, np.unique(inner_groups).size)
                inner = _kfold(train.size, n_inner, np.random.default_rng(seed), inner_groups)
                alpha = _select_alpha(
                    X[train], y[train], C_train, inner, kernel, alphas, standardize=True
                )
            else:
                alpha = float(alphas[0])
            X_train, X_test, y_train, y_test = _preprocess(
                X[train], X[test], y[train], y[test], C_train, C_test, standardize=True
            )
            K_train, K_test = _kernels(X_train, X_test, kernel)
            prediction = _kernel_ridge_predictions(K_train, K_test, y_train, np.array([alpha]))[
                :, 0
            ]
        predictions[repeat, test] = prediction
        truths[repeat, test] = y_test
        row = {
            "repeat": repeat,
            "fold": fold,
            "n_train": int(train.size),
            "n_test": int(test.size),
        }
        row.update(_fold_scores(prediction, y_test))
        row["alpha"] = alpha
        rows.append(row)
    return pd.DataFrame(rows), predictions, truths


def _settings(model, kernel, alphas, inner_cv, threshold, cpm_networks):
    check_option("model", model, _MODELS)
    check_option("kernel", kernel, _KERNELS)
    check_option("cpm_networks", cpm_networks, ("both", "positive", "negative"))
    check_positive("threshold", threshold)
    if threshold >= 1:
        raise InvalidParameterError(f"'threshold' must be in (0, 1); got {threshold!r}.")
    return {
        "model": model,
        "kernel": kernel,
        "alphas": _check_alphas(alphas),
        "inner_cv": _check_int("inner_cv", inner_cv, minimum=2),
        "threshold": float(threshold),
        "cpm_networks": cpm_networks,
    }


def _prepare(features, target, confounds, groups):
    y = _as_target(target)
    X, names = _as_matrix("features", features, y.size)
    C = None if confounds is None else _as_matrix("confounds", confounds, y.size)[0]
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (y.size,):
            raise DataError(
                f"groups must have shape (n_samples,) = ({y.size},); got {groups.shape}."
            )
    return X, y, C, groups, names


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------
@dataclass
class PredictionResult:
    """Result of :func:`predict_behaviour`.

    Attributes
    ----------
    scores : pandas.DataFrame
        One row per outer fold: ``repeat``, ``fold``, ``n_train``, ``n_test``,
        ``r`` (Pearson correlation of predicted and observed; NaN where it is
        undefined because the predictions or the test targets are constant), ``r2``
        (``1 − SS_res/SS_tot`` around the test-fold mean), ``mae``, ``alpha``
        (chosen ridge penalty; NaN for CPM).
    predictions : ndarray of shape (n_repeats, n_samples)
        Out-of-fold predictions per repeat (NaN where a splitter left a subject out).
    observed : ndarray of shape (n_repeats, n_samples)
        The test-fold targets they are scored against (confound-residualised with
        training betas when confounds are given).
    p_value : float or None
        Permutation p-value of :attr:`statistic` (None without permutations).
    null_distribution : ndarray of shape (n_permutations,) or None
        The statistic for each permutation of the target.
    statistic : float
        Mean Pearson correlation over the folds and repeats where it is defined
        (NaN when it is defined in none).
    model : str
        The model used.
    """

    scores: pd.DataFrame
    predictions: np.ndarray
    observed: np.ndarray
    p_value: float | None
    null_distribution: np.ndarray | None
    statistic: float
    model: str

    @property
    def mean_r(self):
        """Mean of the per-fold correlations where they are defined."""
        return float(self.scores["r"].mean())

    @property
    def pooled_r(self):
        """Correlation of all out-of-fold predictions with the observed values.

        Computed per repeat over every subject's out-of-fold prediction, then
        averaged over repeats: the statistic of leave-one-out designs (as in
        the CPM protocol), where a single-subject test fold has no correlation.
        """
        values = []
        for predicted, observed in zip(self.predictions, self.observed):
            keep = np.isfinite(predicted) & np.isfinite(observed)
            values.append(_correlation(predicted[keep], observed[keep]))
        return float(np.mean(values))

    @property
    def mean_r2(self):
        """Mean of the per-fold R²."""
        return float(self.scores["r2"].mean())

    @property
    def mean_mae(self):
        """Mean of the per-fold mean absolute errors."""
        return float(self.scores["mae"].mean())


def _warn_undefined(values, where, metric="r", single_subject=False):
    """Warn when some folds' scores are undefined (e.g. r of constant predictions)."""
    undefined = int(np.count_nonzero(np.isnan(np.asarray(values, dtype=float))))
    if undefined:
        reason = (
            "single-subject test folds, e.g. leave-one-out: use pooled_r"
            if single_subject
            else "constant predictions or a constant test target"
        )
        warnings.warn(
            f"{where}: {metric} is undefined in {undefined} of {len(values)} fold(s) "
            f"({reason}); those folds are NaN and left out of the mean and of the "
            "comparison.",
            UndefinedScoreWarning,
            stacklevel=3,
        )


def _permutation_chunk(X, y, C, splits, inner_seeds, settings, groups, orders):
    return [
        float(np.nanmean(r) if np.isfinite(r).any() else np.nan)
        for r in (
            _run_pipeline(X, y[order], C, splits, inner_seeds, settings, groups)[0]["r"].to_numpy()
            for order in orders
        )
    ]


def predict_behaviour(
    features,
    target,
    *,
    model="ridge",
    cv=10,
    n_repeats=1,
    confounds=None,
    groups=None,
    alphas=None,
    inner_cv=5,
    kernel="cosine",
    threshold=0.01,
    cpm_networks="both",
    n_permutations=0,
    random_state=None,
    n_jobs=1,
):
    """Predict a behavioural score from brain features with nested cross-validation.

    Parameters
    ----------
    features : array-like or DataFrame of shape (n_samples, n_features)
        One row per subject (e.g. regional controllability, graph measures or
        connectivity edges).
    target : array-like of shape (n_samples,)
        The score to predict.
    model : {"ridge", "kernel_ridge", "cpm"}, default="ridge"
        ``"ridge"``: linear ridge regression on z-scored features.
        ``"kernel_ridge"``: kernel ridge regression with ``kernel``.
        ``"cpm"``: connectome-based predictive modelling (Shen et al. 2017).
    cv : int or splitter, default=10
        Outer folds: an int (shuffled k-fold, group-aware with ``groups``) or an
        object with ``split(X, y, groups)`` (then ``n_repeats`` must be 1).
    n_repeats : int, default=1
        Repeats of the outer k-fold with new shuffles.
    confounds : array-like of shape (n_samples,) or (n_samples, n_confounds), optional
        Nuisance variables (age, sex, motion) regressed out of the features and
        the target inside each training fold; the training betas are applied to
        the test fold.
    groups : array-like of shape (n_samples,), optional
        Family (or site) labels; members of a group never straddle training and
        test folds, in the outer and the inner loop.
    alphas : sequence of float, optional
        Ridge penalties tried by the inner loop (default ``10**-3 … 10**5``). One
        value skips the inner loop.
    inner_cv : int, default=5
        Folds of the inner k-fold that chooses ``alpha`` by mean squared error.
    kernel : {"cosine", "linear"}, default="cosine"
        Kernel of ``model="kernel_ridge"`` (cosine similarity of the z-scored
        feature vectors, as in Deng et al. 2022).
    threshold : float, default=0.01
        CPM edge-selection p-value threshold.
    cpm_networks : {"both", "positive", "negative"}, default="both"
        Which CPM network strengths enter the linear model.
    n_permutations : int, default=0
        Permutations of the target for a p-value of the whole pipeline.
    random_state : None, int or numpy Generator
        Seed for splits and permutations.
    n_jobs : int, default=1
        Parallel workers over permutations.

    Returns
    -------
    PredictionResult
        Per-fold scores, out-of-fold predictions and the permutation p-value.

    Notes
    -----
    Every step that learns from data runs inside the training fold only:
    confound regression (betas fitted on training subjects), z-scoring, edge
    selection for CPM, and the choice of the ridge penalty, which uses an inner
    k-fold on the training subjects with the same in-fold confound regression.
    The closed-form leave-one-out shortcut (scikit-learn's ``RidgeCV``) is not
    used: after confound regression on all training subjects the held-out
    subject is no longer independent of the rest and LOO picks too small a
    penalty.

    Ridge and kernel ridge share one solver: with training kernel
    ``K = V diag(λ) Vᵀ`` the predictions for every candidate α are
    ``ȳ + K_test V diag(1/(λ + α)) Vᵀ (y − ȳ)``. With the linear kernel on
    z-scored features this equals scikit-learn's ``Ridge(alpha)`` with an
    intercept; with the cosine kernel it equals ``KernelRidge(alpha,
    kernel="precomputed")`` fitted to the centred target.

    CPM: each feature is correlated with the target over training subjects;
    features with p < ``threshold`` form a positive and a negative set, their
    sums per subject enter a linear model ``y ~ 1 + pos + neg`` fitted on the
    training fold and applied to the test fold.

    The permutation p-value is ``(1 + #{r̄* ≥ r̄}) / (B + 1)`` with ``r̄`` the mean
    per-fold correlation, rerunning the full pipeline on permuted targets with
    the same splits (permutations with an undefined ``r̄*`` are left out of
    ``B``; ties up to rounding count). Permutations are free across subjects;
    with family structure this ignores exchangeability blocks.

    References
    ----------
    .. [1] Shen, X., Finn, E. S., Scheinost, D., et al. (2017). Using
       connectome-based predictive modeling to predict individual behavior from
       brain connectivity. Nature Protocols, 12(3), 506-518.
    .. [2] Varoquaux, G., et al. (2017). Assessing and tuning brain decoders:
       cross-validation, caveats, and guidelines. NeuroImage, 145, 166-179.
    .. [3] Snoek, L., Miletić, S., & Scholte, H. S. (2019). How to control for
       confounds in decoding analyses of neuroimaging data. NeuroImage, 184,
       741-760.
    .. [4] Deng, S., Li, J., Thomas Yeo, B. T., & Gu, S. (2022). Control theory
       illustrates the energy efficiency in the dynamic reconfiguration of
       functional connectivity. Communications Biology, 5, 295.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> features = rng.standard_normal((80, 5))
    >>> target = features @ [1.0, -1.0, 0.5, 0.0, 0.0] + 0.1 * rng.standard_normal(80)
    >>> result = predict_behaviour(features, target, cv=5, random_state=0)
    >>> result.mean_r > 0.99
    True
    """
    X, y, C, groups, _ = _prepare(features, target, confounds, groups)
    settings = _settings(model, kernel, alphas, inner_cv, threshold, cpm_networks)
    n_repeats = _check_int("n_repeats", n_repeats)
    n_permutations = _check_int("n_permutations", n_permutations, minimum=0)
    rng = check_random_state(random_state)
    splits = _outer_splits(y.size, cv, n_repeats, groups, rng, X, y)
    inner_seeds = rng.integers(0, 2**63 - 1, len(splits))
    scores, predictions, observed = _run_pipeline(X, y, C, splits, inner_seeds, settings, groups)
    _warn_undefined(
        scores["r"], "predict_behaviour", single_subject=bool((scores["n_test"] < 2).all())
    )
    statistic = float(scores["r"].mean())
    p_value = null = None
    if n_permutations:
        orders = [rng.permutation(y.size) for _ in range(n_permutations)]
        workers = _n_workers(n_jobs)
        chunks = np.array_split(np.arange(n_permutations), max(1, min(workers, n_permutations)))
        results = Parallel(n_jobs=workers)(
            delayed(_permutation_chunk)(
                X, y, C, splits, inner_seeds, settings, groups, [orders[i] for i in chunk]
            )
            for chunk in chunks
        )
        null = np.concatenate([np.asarray(r, dtype=float) for r in results])
        # permutations whose mean r is undefined (NaN) are left out of the count
        p_value = (
            permutation_pvalue(statistic, null, alternative="greater")
            if np.isfinite(statistic)
            else float("nan")
        )
    logger.info("predict_behaviour (%s): mean r = %.3f", model, statistic)
    return PredictionResult(
        scores=scores,
        predictions=predictions,
        observed=observed,
        p_value=p_value,
        null_distribution=null,
        statistic=statistic,
        model=model,
    )


@dataclass
class FeatureSetComparison:
    """Result of :func:`compare_feature_sets`.

    Attributes
    ----------
    scores : pandas.DataFrame
        One row per feature set and outer fold: ``feature_set``, ``repeat``,
        ``fold``, ``n_train``, ``n_test``, ``r``, ``r2``, ``mae``, ``alpha``.
    pairs : pandas.DataFrame
        One row per pair of feature sets: ``feature_set_a``, ``feature_set_b``,
        ``metric``, ``mean_a``, ``mean_b``, ``mean_difference`` (a − b), ``t`` and
        ``p`` of the corrected resampled t-test, ``naive_t`` and ``naive_p`` of
        the (anti-conservative) paired t-test, ``n_splits`` (the splits where both
        scores are defined; NaN t and p with fewer than two).
    metric : str
        The score compared.
    """

    scores: pd.DataFrame
    pairs: pd.DataFrame
    metric: str

    def summary(self):
        """Return mean and standard deviation of each score per feature set."""
        return (
            self.scores.groupby("feature_set", sort=False)[list(_METRICS)]
            .agg(["mean", "std"])
            .reset_index()
        )


def compare_feature_sets(
    feature_sets,
    target,
    *,
    model="ridge",
    cv=10,
    n_repeats=10,
    confounds=None,
    groups=None,
    alphas=None,
    inner_cv=5,
    kernel="cosine",
    threshold=0.01,
    cpm_networks="both",
    metric="r",
    random_state=None,
    n_jobs=1,
):
    """Compare feature sets for predicting one score, on identical splits.

    Parameters
    ----------
    feature_sets : dict of str to array-like or DataFrame of shape (n_samples, n_features)
        Named feature sets (e.g. ``{"graph": ..., "control": ..., "combined": ...}``),
        rows in the same subject order as ``target``.
    target : array-like of shape (n_samples,)
        The score to predict.
    model, cv, confounds, groups, alphas, inner_cv, kernel, threshold, cpm_networks
        As in :func:`predict_behaviour`.
    n_repeats : int, default=10
        Repeats of the outer k-fold.
    metric : {"r", "r2", "mae"}, default="r"
        Per-split score whose differences are tested.
    random_state : None, int or numpy Generator
        Seed for the splits.
    n_jobs : int, default=1
        Parallel workers over feature sets.

    Returns
    -------
    FeatureSetComparison
        Per-split scores and a table of pairwise tests.

    Notes
    -----
    Every feature set is evaluated on the same outer splits, the same inner
    splits and the same grid of candidate penalties, so the per-split
    differences ``d`` are paired and no set gets more chances to fit the noise.
    Each pair is tested with the corrected resampled t-test of Nadeau & Bengio
    (2003), :func:`corrected_resampled_ttest`, using the mean training and test
    sizes of the splits; the naive paired t-test is reported alongside for
    reference only: it ignores the overlap of training sets and is
    anti-conservative. Picking the best of many sets on the same data without
    such a test overstates its advantage.

    References
    ----------
    .. [1] Nadeau, C., & Bengio, Y. (2003). Inference for the generalization
       error. Machine Learning, 52(3), 239-281.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.standard_normal((60, 3))
    >>> noise = rng.standard_normal((60, 3))
    >>> target = signal.sum(axis=1) + rng.standard_normal(60)
    >>> comparison = compare_feature_sets({"signal": signal, "noise": noise}, target,
    ...                                   cv=5, n_repeats=2, random_state=0)
    >>> row = comparison.pairs.iloc[0]
    >>> row["feature_set_a"], row["feature_set_b"], bool(row["p"] < 0.05)
    ('signal', 'noise', True)
    """
    if not isinstance(feature_sets, dict) or len(feature_sets) < 2:
        what = (
            f"a dict with {len(feature_sets)} entries"
            if isinstance(feature_sets, dict)
            else type(feature_sets).__name__
        )
        raise InvalidParameterError(
            f"'feature_sets' must be a dict of at least two named feature arrays; got {what}."
        )
    check_option("metric", metric, _METRICS)
    y = _as_target(target)
    prepared = {}
    for name, values in feature_sets.items():
        X, _, C, groups_checked, _ = _prepare(values, y, confounds, groups)
        prepared[str(name)] = X
    settings = _settings(model, kernel, alphas, inner_cv, threshold, cpm_networks)
    n_repeats = _check_int("n_repeats", n_repeats)
    rng = check_random_state(random_state)
    first = next(iter(prepared.values()))
    splits = _outer_splits(y.size, cv, n_repeats, groups_checked, rng, first, y)
    inner_seeds = rng.integers(0, 2**63 - 1, len(splits))
    workers = _n_workers(n_jobs)
    outcomes = Parallel(n_jobs=min(workers, len(prepared)))(
        delayed(_run_pipeline)(X, y, C, splits, inner_seeds, settings, groups_checked)
        for X in prepared.values()
    )
    frames = []
    for name, (scores, _, _) in zip(prepared, outcomes):
        frames.append(scores.assign(feature_set=name))
    scores = pd.concat(frames, ignore_index=True)
    scores = scores[["feature_set"] + [c for c in scores.columns if c != "feature_set"]]
    n_train = float(np.mean([s[2].size for s in splits]))
    n_test = float(np.mean([s[3].size for s in splits]))
    rows = []
    for name_a, name_b in combinations(prepared, 2):
        a = scores.loc[scores["feature_set"] == name_a, metric].to_numpy()
        b = scores.loc[scores["feature_set"] == name_b, metric].to_numpy()
        # splits where either score is undefined (e.g. NaN r) are left out of the test
        defined = np.isfinite(a) & np.isfinite(b)
        if not defined.all():
            _warn_undefined(
                np.where(defined, 0.0, np.nan),
                f"compare_feature_sets ({name_a} vs {name_b})",
                metric,
            )
        a, b = a[defined], b[defined]
        differences = a - b
        t = p = naive_t = naive_p = mean_a = mean_b = float("nan")
        if differences.size >= 2:
            t, p = corrected_resampled_ttest(differences, n_train, n_test)
            naive_t, naive_p = t, p
            mean_a, mean_b = float(a.mean()), float(b.mean())
            if differences.std() > 0:
                naive = stats.ttest_rel(a, b)
                naive_t, naive_p = float(naive.statistic), float(naive.pvalue)
        rows.append(
            {
                "feature_set_a": name_a,
                "feature_set_b": name_b,
                "metric": metric,
                "mean_a": mean_a,
                "mean_b": mean_b,
                "mean_difference": mean_a - mean_b,
                "t": t,
                "p": p,
                "naive_t": naive_t,
                "naive_p": naive_p,
                "n_splits": int(differences.size),
            }
        )
    return FeatureSetComparison(scores=scores, pairs=pd.DataFrame(rows), metric=metric)
