"""Tests of cross-validated behaviour prediction and feature-set comparison."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.kernel_ridge import KernelRidge
from sklearn.linear_model import Ridge
from sklearn.metrics.pairwise import cosine_similarity
from sklearn.model_selection import KFold
from threadpoolctl import threadpool_limits

from brainctrl.exceptions import DataError, InvalidParameterError
from brainctrl.stats import compare_feature_sets, predict_behaviour
from brainctrl.stats._predict import (
    _cpm_predict,
    _kernel_ridge_predictions,
    _kernels,
    _kfold,
    _outer_splits,
    _preprocess,
)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    # small matrices: BLAS threads only add contention on a shared machine
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def zscore_train(train, test):
    mean, sd = train.mean(axis=0), train.std(axis=0, ddof=1)
    return (train - mean) / sd, (test - mean) / sd


# ---------------------------------------------------------------------------
# the solver against scikit-learn (1.9.1)
# ---------------------------------------------------------------------------
def test_linear_kernel_solver_equals_sklearn_ridge(rng):
    X = rng.standard_normal((40, 12))
    y = X[:, 0] + rng.standard_normal(40)
    X_train, X_test = zscore_train(X[:30], X[30:])
    alphas = np.array([0.1, 3.0, 100.0])
    K_train, K_test = _kernels(X_train, X_test, "linear")
    ours = _kernel_ridge_predictions(K_train, K_test, y[:30], alphas)
    for j, alpha in enumerate(alphas):
        reference = Ridge(alpha=alpha).fit(X_train, y[:30]).predict(X_test)
        assert np.allclose(ours[:, j], reference, atol=1e-10)


def test_cosine_kernel_solver_equals_sklearn_kernel_ridge(rng):
    X = rng.standard_normal((40, 12))
    y = X[:, 0] + rng.standard_normal(40)
    X_train, X_test = zscore_train(X[:30], X[30:])
    K_train, K_test = _kernels(X_train, X_test, "cosine")
    assert np.allclose(K_train, cosine_similarity(X_train))
    assert np.allclose(K_test, cosine_similarity(X_test, X_train))
    ours = _kernel_ridge_predictions(K_train, K_test, y[:30], np.array([0.5]))[:, 0]
    model = KernelRidge(alpha=0.5, kernel="precomputed").fit(K_train, y[:30] - y[:30].mean())
    assert np.allclose(ours, model.predict(K_test) + y[:30].mean(), atol=1e-10)


def test_in_fold_confound_regression_uses_training_betas_only(rng):
    C = rng.standard_normal((30, 2))
    X = rng.standard_normal((30, 4)) + C @ rng.standard_normal((2, 4))
    y = rng.standard_normal(30)
    X_train, X_test, _, _ = _preprocess(X[:20], X[20:], y[:20], y[20:], C[:20], C[20:], False)
    design = np.column_stack([np.ones(20), C[:20]])
    betas, *_ = np.linalg.lstsq(design, X[:20], rcond=None)
    assert np.allclose(X_train, X[:20] - design @ betas)
    assert np.allclose(X_test, X[20:] - np.column_stack([np.ones(10), C[20:]]) @ betas)
    # changing test rows never changes the training result
    X2 = X.copy()
    X2[20:] += 100.0
    again, *_ = _preprocess(X2[:20], X2[20:], y[:20], y[20:], C[:20], C[20:], False)
    assert np.array_equal(again, X_train)


def test_cpm_matches_edge_loop(rng):
    X = rng.standard_normal((100, 30))
    y = X[:, :3].sum(axis=1) - X[:, 3:5].sum(axis=1) + rng.standard_normal(100)
    X, y = X[:50], y[:50]
    ours = _cpm_predict(X[:40], X[40:], y[:40], 0.05, "both")
    # straightforward loop following Shen et al. (2017)
    positive, negative = [], []
    for edge in range(30):
        r, p = stats.pearsonr(X[:40, edge], y[:40])
        if p < 0.05:
            (positive if r > 0 else negative).append(edge)
    assert positive and negative
    design = np.column_stack(
        [np.ones(40), X[:40, positive].sum(axis=1), X[:40, negative].sum(axis=1)]
    )
    betas = np.linalg.lstsq(design, y[:40], rcond=None)[0]
    test_design = np.column_stack(
        [np.ones(10), X[40:, positive].sum(axis=1), X[40:, negative].sum(axis=1)]
    )
    assert np.allclose(ours, test_design @ betas)


# ---------------------------------------------------------------------------
# planted and null data
# ---------------------------------------------------------------------------
def test_planted_linear_signal_reaches_the_r2_ceiling(rng):
    n, p = 300, 10
    X = rng.standard_normal((n, p))
    beta = rng.standard_normal(p)
    beta *= 2.0 / np.linalg.norm(beta)  # var(Xβ) = 4
    y = X @ beta + rng.standard_normal(n)  # noise var 1: R² ceiling 4/5
    result = predict_behaviour(X, y, cv=5, n_repeats=2, random_state=0)
    assert len(result.scores) == 10
    assert 0.72 < result.mean_r2 < 0.85
    assert 0.85 < result.mean_r < 0.93
    assert 0.7 < result.mean_mae < 0.9  # E|N(0, 1)| = 0.798
    assert np.isfinite(result.predictions).all()
    kernel = predict_behaviour(X, y, model="kernel_ridge", kernel="linear", cv=5, random_state=0)
    assert kernel.mean_r2 > 0.7


def test_cpm_recovers_planted_edges(rng):
    X = rng.standard_normal((150, 200))
    # three positive, three negative edges; ceiling r = sqrt(6/7) = 0.93, and
    # ~1 false edge per network at p < 0.01 lowers it to about 6/sqrt(8·7) = 0.80
    y = X[:, :3].sum(axis=1) - X[:, 3:6].sum(axis=1) + rng.standard_normal(150)
    result = predict_behaviour(X, y, model="cpm", cv=5, random_state=0)
    assert 0.65 < result.mean_r < 0.93
    assert result.scores["alpha"].isna().all()


def test_null_target_gives_no_prediction(rng):
    X = rng.standard_normal((100, 20))
    y = rng.standard_normal(100)
    result = predict_behaviour(
        X, y, cv=5, n_permutations=19, random_state=0, alphas=[1.0, 100.0, 1e4]
    )
    assert abs(result.mean_r) < 0.2
    assert result.mean_r2 < 0.05
    assert result.p_value > 0.05
    assert result.null_distribution.shape == (19,)
    assert result.p_value == pytest.approx(
        (1 + np.sum(result.null_distribution >= result.statistic)) / 20
    )


def test_planted_signal_permutation_p_is_minimal(rng):
    X = rng.standard_normal((80, 5))
    y = X[:, 0] + 0.5 * rng.standard_normal(80)
    result = predict_behaviour(X, y, cv=4, n_permutations=9, random_state=0)
    assert result.p_value == pytest.approx(0.1)


def test_confounds_regressed_in_fold_remove_confound_driven_prediction(rng):
    n = 200
    confounds = rng.standard_normal((n, 2))
    # the target and the features share only the confounds
    target = confounds @ [1.0, -1.0] + 0.3 * rng.standard_normal(n)
    features = confounds @ rng.standard_normal((2, 15)) + rng.standard_normal((n, 15))
    naive = predict_behaviour(features, target, cv=5, random_state=0)
    assert naive.mean_r > 0.8
    adjusted = predict_behaviour(features, target, cv=5, confounds=confounds, random_state=0)
    assert abs(adjusted.mean_r) < 0.15
    assert adjusted.mean_r2 < 0.02
    # scored against the in-fold residualised target, which is pure noise here
    assert np.std(adjusted.observed) < 0.35


def test_family_aware_splits_keep_groups_together(rng):
    groups = np.repeat(np.arange(30), rng.integers(1, 5, 30))
    n = groups.size
    splits = _outer_splits(n, 5, 2, groups, rng, None, None)
    assert len(splits) == 10
    for _, _, train, test in splits:
        assert not set(groups[train]) & set(groups[test])
        assert np.array_equal(np.sort(np.concatenate([train, test])), np.arange(n))
    for train, test in _kfold(n, 4, rng, groups):
        assert not set(groups[train]) & set(groups[test])
    X = rng.standard_normal((n, 4))
    y = X[:, 0] + rng.standard_normal(n)
    result = predict_behaviour(X, y, cv=5, groups=groups, random_state=0)
    assert result.mean_r > 0.4


def test_splitter_object_and_dataframe_input(rng):
    X = pd.DataFrame(rng.standard_normal((60, 3)), columns=["a", "b", "c"])
    y = X["a"].to_numpy() + 0.3 * rng.standard_normal(60)
    result = predict_behaviour(X, y, cv=KFold(4), random_state=0)
    assert len(result.scores) == 4
    assert list(result.scores["fold"]) == [0, 1, 2, 3]
    assert result.mean_r > 0.9


# ---------------------------------------------------------------------------
# feature-set comparison
# ---------------------------------------------------------------------------
def test_compare_feature_sets_identical_splits_and_corrected_test(rng):
    n = 120
    signal = rng.standard_normal((n, 4))
    noise = rng.standard_normal((n, 4))
    target = signal.sum(axis=1) + 1.5 * rng.standard_normal(n)
    comparison = compare_feature_sets(
        {"signal": signal, "noise": noise, "copy": signal.copy()},
        target,
        cv=5,
        n_repeats=3,
        random_state=0,
    )
    scores = comparison.scores
    assert len(scores) == 3 * 15
    per_set = {name: frame.reset_index(drop=True) for name, frame in scores.groupby("feature_set")}
    for column in ("repeat", "fold", "n_train", "n_test"):
        assert per_set["signal"][column].equals(per_set["noise"][column])
    pairs = comparison.pairs.set_index(["feature_set_a", "feature_set_b"])
    signal_noise = pairs.loc[("signal", "noise")]
    assert signal_noise["p"] < 0.05
    assert abs(signal_noise["t"]) < abs(signal_noise["naive_t"])
    assert signal_noise["n_splits"] == 15
    # identical features on identical splits: every difference is zero
    same = pairs.loc[("signal", "copy")]
    assert (same["t"], same["p"], same["mean_difference"]) == (0.0, 1.0, 0.0)
    summary = comparison.summary()
    assert list(summary["feature_set"]) == ["signal", "noise", "copy"]


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------
def test_errors(rng):
    X = rng.standard_normal((20, 3))
    y = rng.standard_normal(20)
    with pytest.raises(InvalidParameterError, match="'model' must be one of"):
        predict_behaviour(X, y, model="lasso")
    with pytest.raises(InvalidParameterError, match="'kernel' must be one of"):
        predict_behaviour(X, y, model="kernel_ridge", kernel="rbf")
    with pytest.raises(InvalidParameterError, match="'alphas' must be a non-empty 1-D"):
        predict_behaviour(X, y, alphas=[1.0, -1.0])
    with pytest.raises(InvalidParameterError, match=r"'threshold' must be in \(0, 1\)"):
        predict_behaviour(X, y, model="cpm", threshold=1.5)
    with pytest.raises(InvalidParameterError, match="'cv' must be at most the number"):
        predict_behaviour(X, y, cv=30)
    with pytest.raises(InvalidParameterError, match="'cv' must be an integer >= 2"):
        predict_behaviour(X, y, cv=1)
    with pytest.raises(InvalidParameterError, match="'n_repeats' must be 1 when 'cv' is a"):
        predict_behaviour(X, y, cv=KFold(3), n_repeats=2)
    with pytest.raises(InvalidParameterError, match="must not exceed the number of groups"):
        predict_behaviour(X, y, cv=5, groups=np.repeat([0, 1, 2, 3], 5))
    with pytest.raises(DataError, match=r"features must have one row per subject \(20\)"):
        predict_behaviour(X[:10], y)
    with pytest.raises(DataError, match=r"confounds must have one row per subject"):
        predict_behaviour(X, y, confounds=np.ones((10, 1)))
    with pytest.raises(DataError, match=r"groups must have shape \(n_samples,\)"):
        predict_behaviour(X, y, groups=np.arange(5))
    with pytest.raises(DataError, match="target is constant"):
        predict_behaviour(X, np.ones(20))
    with pytest.raises(DataError, match="target must be 1-dimensional"):
        predict_behaviour(X, np.ones((20, 2)))
    with pytest.raises(
        InvalidParameterError, match="at least two named feature arrays; got a dict with 1"
    ):
        compare_feature_sets({"a": X}, y)
    with pytest.raises(InvalidParameterError, match="got list"):
        compare_feature_sets([X, X], y)
    with pytest.raises(InvalidParameterError, match="'metric' must be one of"):
        compare_feature_sets({"a": X, "b": X}, y, metric="auc")


@pytest.mark.slow
def test_null_permutation_p_values_are_roughly_uniform():
    rng = np.random.default_rng(5)
    p_values = []
    for index in range(40):
        X = rng.standard_normal((40, 5))
        y = rng.standard_normal(40)
        result = predict_behaviour(
            X, y, cv=4, alphas=[1.0, 100.0], n_permutations=19, random_state=index
        )
        p_values.append(result.p_value)
    p_values = np.array(p_values)
    # binomial(40, 0.05): P(X >= 7) ≈ 0.003
    assert np.sum(p_values <= 0.05) <= 6
    assert 0.35 < p_values.mean() < 0.65  # uniform on {0.05, ..., 1}: mean 0.525


def test_undefined_fold_correlation_is_nan_not_zero(rng):
    # all-zero features: every fold predicts its training mean, a constant, so
    # the correlation of prediction and target is undefined in every fold
    from brainctrl.exceptions import UndefinedScoreWarning

    y = rng.standard_normal(30)
    X = np.zeros((30, 4))
    with pytest.warns(UndefinedScoreWarning, match=r"r is undefined in 5 of 5 fold\(s\)"):
        result = predict_behaviour(X, y, cv=5, alphas=[1.0], n_permutations=5, random_state=0)
    assert result.scores["r"].isna().all()
    assert np.isnan(result.statistic) and np.isnan(result.mean_r)
    assert np.isnan(result.p_value)  # no p-value for an undefined statistic
    # each fold predicted its training mean: five distinct values in all
    assert len(np.unique(result.predictions[0].round(12))) == 5
    signal = rng.standard_normal((30, 3))
    with pytest.warns(UndefinedScoreWarning, match=r"signal\): r is undefined in 10 of 10"):
        comparison = compare_feature_sets(
            {"zero": X, "signal": signal}, y, cv=5, n_repeats=2, alphas=[1.0], random_state=0
        )
    pair = comparison.pairs.iloc[0]
    assert pair["n_splits"] == 0 and np.isnan(pair["t"]) and np.isnan(pair["p"])


def test_leave_one_out_has_a_pooled_correlation(rng):
    from sklearn.model_selection import LeaveOneOut

    from brainctrl.exceptions import UndefinedScoreWarning

    X = rng.standard_normal((25, 3))
    y = X @ np.array([1.0, -0.5, 0.2]) + 0.5 * rng.standard_normal(25)
    with pytest.warns(UndefinedScoreWarning, match="leave-one-out: use pooled_r"):
        result = predict_behaviour(X, y, cv=LeaveOneOut(), alphas=[1.0], random_state=0)
    assert np.isnan(result.statistic)
    expected = np.corrcoef(result.predictions[0], result.observed[0])[0, 1]
    assert result.pooled_r == pytest.approx(expected, rel=1e-12)
    assert result.pooled_r > 0.8
