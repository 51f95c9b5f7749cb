"""Tests of brainctrl.stats group_comparison and fdr_correction.

Reference values come from statsmodels 0.15.0 and scipy 1.17 (versions in this venv),
from hand formulas, or from a plain per-permutation loop written in the test.
"""

import logging

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.multitest import multipletests

from brainctrl.exceptions import DataError, InvalidParameterError
from brainctrl.stats import fdr_correction, group_comparison
from brainctrl.stats._glm import _permutation_indices, _pivot_tidy


def _cohort(rng, n=40, n_features=5, *, effect=0.0, planted=(0,)):
    subjects = [f"{i:03d}" for i in range(n)]
    group = np.array(["control", "patient"])[np.arange(n) % 2]
    age = rng.normal(30, 6, n) + 3.0 * (group == "patient")  # correlated with group
    sex = rng.choice(["F", "M"], n)
    motion = rng.gamma(2.0, 0.1, n)
    phenotype = pd.DataFrame(
        {"group": group, "age": age, "sex": sex, "motion": motion}, index=pd.Index(subjects)
    )
    values = rng.normal(size=(n, n_features)) + 0.05 * age[:, None] + 2.0 * motion[:, None]
    for j in planted:
        values[:, j] += effect * (group == "patient")
    features = pd.DataFrame(
        values, index=phenotype.index, columns=[f"f{j}" for j in range(n_features)]
    )
    return features, phenotype


# ----------------------------------------------------------------------------------------
# agreement with statsmodels
# ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("robust", [False, True])
def test_matches_statsmodels_ols(rng, robust):
    features, phenotype = _cohort(rng, effect=0.8)
    result = group_comparison(
        features, phenotype, formula="group + age + sex + motion", robust=robust
    )
    for j, name in enumerate(features.columns):
        data = phenotype.assign(y=features[name])
        model = smf.ols("y ~ group + age + sex + motion", data)
        fit = model.fit(cov_type="HC3", use_t=True) if robust else model.fit()
        key = "group[T.patient]"
        row = result.iloc[j]
        assert row["contrast"] == key
        assert row["df"] == fit.df_resid
        np.testing.assert_allclose(row["beta"], fit.params[key], rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(row["se"], fit.bse[key], rtol=1e-10)
        np.testing.assert_allclose(row["t"], fit.tvalues[key], rtol=1e-10)
        np.testing.assert_allclose(row["p"], fit.pvalues[key], rtol=1e-9, atol=1e-14)


def test_contrast_vector_matches_statsmodels_t_test(rng):
    features, phenotype = _cohort(rng)
    columns = ["Intercept", "group[T.patient]", "age", "motion"]
    contrast = np.array([0.0, 0.0, 1.0, -2.0])  # age slope minus twice the motion slope
    result = group_comparison(
        features, phenotype, formula="group + age + motion", contrast=contrast
    )
    assert result.attrs["design_columns"] == columns
    for j, name in enumerate(features.columns):
        fit = smf.ols("y ~ group + age + motion", phenotype.assign(y=features[name])).fit()
        test = fit.t_test(contrast)
        np.testing.assert_allclose(result["beta"].iloc[j], test.effect[0], rtol=1e-10)
        np.testing.assert_allclose(result["se"].iloc[j], test.sd[0, 0], rtol=1e-10)
        np.testing.assert_allclose(result["t"].iloc[j], test.tvalue[0, 0], rtol=1e-10)
        np.testing.assert_allclose(result["p"].iloc[j], test.pvalue, rtol=1e-9)


def test_one_sided_p_is_upper_tail(rng):
    features, phenotype = _cohort(rng, effect=0.8)
    two = group_comparison(features, phenotype, covariates=["age"], contrast="group")
    one = group_comparison(
        features, phenotype, covariates=["age"], contrast="group", alternative="greater"
    )
    np.testing.assert_allclose(one["p"], stats.t.sf(two["t"], two["df"]), rtol=1e-12)
    positive = two["t"] > 0
    np.testing.assert_allclose(one["p"][positive], two["p"][positive] / 2, rtol=1e-10)
    less = group_comparison(
        features, phenotype, covariates=["age"], contrast="group", alternative="less"
    )
    np.testing.assert_allclose(less["p"], stats.t.cdf(two["t"], two["df"]), rtol=1e-12)
    assert less.attrs["alternative"] == "less" and two.attrs["alternative"] == "two-sided"


@pytest.mark.parametrize(("two_sided", "alternative"), [(True, "two-sided"), (False, "greater")])
def test_deprecated_two_sided_warns_and_equals_alternative(rng, two_sided, alternative):
    features, phenotype = _cohort(rng, n=20, n_features=6, effect=0.8)
    common = {"formula": "group + age", "n_permutations": 49, "random_state": 0}
    with pytest.warns(FutureWarning, match=rf"two_sided={two_sided}.*alternative='{alternative}'"):
        old = group_comparison(features, phenotype, two_sided=two_sided, **common)
    new = group_comparison(features, phenotype, alternative=alternative, **common)
    pd.testing.assert_frame_equal(old, new)
    assert old.attrs == new.attrs and new.attrs["two_sided"] is two_sided


def test_both_two_sided_and_alternative_is_an_error(rng):
    features, phenotype = _cohort(rng, n=20)
    with pytest.raises(TypeError, match="got both 'two_sided' \\(deprecated\\) and 'alternative'"):
        group_comparison(features, phenotype, two_sided=True, alternative="two-sided")
    with pytest.raises(InvalidParameterError, match=r"'two_sided' must be one of \(True, False\)"):
        group_comparison(features, phenotype, two_sided="yes")
    with pytest.raises(InvalidParameterError, match="'alternative' must be one of"):
        group_comparison(features, phenotype, alternative="two_sided")
    with pytest.raises(TypeError, match=r"unexpected keyword\(s\) \['tail'\]"):
        group_comparison(features, phenotype, tail="right")


def test_design_matrix_and_default_formula_agree(rng):
    features, phenotype = _cohort(rng, effect=0.5)
    by_formula = group_comparison(features, phenotype, formula="group + age")
    by_default = group_comparison(features, phenotype, group="group", covariates=["age"])
    design = pd.DataFrame(
        {
            "const": 1.0,
            "patient": (phenotype["group"] == "patient").astype(float),
            "age": phenotype["age"],
        }
    )
    by_design = group_comparison(
        features, phenotype, design=design, contrast="patient", group="group"
    )
    for other in (by_default, by_design):
        np.testing.assert_allclose(other["t"], by_formula["t"], rtol=1e-10)
        np.testing.assert_allclose(other["cohen_d"], by_formula["cohen_d"], rtol=1e-12)


# ----------------------------------------------------------------------------------------
# effect sizes
# ----------------------------------------------------------------------------------------


def test_effect_sizes_against_hand_formulas(rng):
    features, phenotype = _cohort(rng, n=31, effect=1.0)
    result = group_comparison(features, phenotype, formula="group")
    patient = (phenotype["group"] == "patient").to_numpy()
    n1, n2 = int((~patient).sum()), int(patient.sum())
    for j, name in enumerate(features.columns):
        y = features[name].to_numpy()
        a, b = y[~patient], y[patient]
        pooled = np.sqrt(((n1 - 1) * a.var(ddof=1) + (n2 - 1) * b.var(ddof=1)) / (n1 + n2 - 2))
        d = (b.mean() - a.mean()) / pooled
        g = d * (1 - 3 / (4 * (n1 + n2) - 9))
        row = result.iloc[j]
        np.testing.assert_allclose(row["cohen_d"], d, rtol=1e-12)
        np.testing.assert_allclose(row["hedges_g"], g, rtol=1e-12)
        # without covariates the GLM t is Student's two-sample t ...
        ttest = stats.ttest_ind(b, a)
        np.testing.assert_allclose(row["t"], ttest.statistic, rtol=1e-10)
        np.testing.assert_allclose(row["p"], ttest.pvalue, rtol=1e-9)
        # ... and d = t sqrt(1/n1 + 1/n2)
        np.testing.assert_allclose(row["cohen_d_adjusted"], d, rtol=1e-10)
    assert result.attrs["group_levels"] == ["control", "patient"]
    by_column = group_comparison(features, phenotype, formula="group", contrast="group[T.patient]")
    np.testing.assert_array_equal(by_column["cohen_d"], result["cohen_d"])


def test_partial_eta_squared_matches_anova(rng):
    features, phenotype = _cohort(rng, effect=0.7)
    result = group_comparison(features, phenotype, formula="group + age + motion")
    for j, name in enumerate(features.columns):
        fit = smf.ols("y ~ group + age + motion", phenotype.assign(y=features[name])).fit()
        table = sm.stats.anova_lm(fit, typ=2)
        ss_effect, ss_resid = table.loc["group", "sum_sq"], table.loc["Residual", "sum_sq"]
        np.testing.assert_allclose(
            result["partial_eta2"].iloc[j], ss_effect / (ss_effect + ss_resid), rtol=1e-10
        )


def test_continuous_contrast_has_no_group_effect_sizes(rng):
    features, phenotype = _cohort(rng)
    result = group_comparison(features, phenotype, formula="group + age", contrast="age")
    assert result["cohen_d"].isna().all() and result["hedges_g"].isna().all()
    assert np.isfinite(result["partial_eta2"]).all()


# ----------------------------------------------------------------------------------------
# Freedman–Lane permutations
# ----------------------------------------------------------------------------------------


def _reference_freedman_lane(y, full, nuisance, column, perms, robust=False):
    """Plain loop over permutations (METHODS.md 'Stats'), t of one design column."""

    def tstat(response):
        if robust:
            fit = sm.OLS(response, full).fit(cov_type="HC3")
        else:
            fit = sm.OLS(response, full).fit()
        return fit.tvalues[column]

    gamma = np.linalg.lstsq(nuisance, y, rcond=None)[0]
    fitted = nuisance @ gamma
    resid = y - fitted
    observed = tstat(y)
    null = np.array([tstat(fitted + resid[p]) for p in perms])
    return observed, null


@pytest.mark.parametrize(
    ("robust", "blocked", "whole"),
    [(False, False, False), (True, False, False), (False, True, False), (False, True, True)],
)
def test_freedman_lane_matches_plain_loop(rng, robust, blocked, whole):
    n, n_features, n_perm, seed = 18, 4, 60, 7
    features, phenotype = _cohort(rng, n=n, n_features=n_features, effect=0.6)
    blocks = np.repeat(np.arange(n // 3), 3) if blocked else None
    result = group_comparison(
        features,
        phenotype,
        formula="group + age + motion",
        n_permutations=n_perm,
        exchangeability_blocks=blocks,
        whole_blocks=whole,
        family="all",
        robust=robust,
        random_state=seed,
    )
    perms = _permutation_indices(
        n, n_perm, np.random.default_rng(seed), exchangeability_blocks=blocks, whole_blocks=whole
    )
    patient = (phenotype["group"] == "patient").to_numpy(float)
    full = np.column_stack([np.ones(n), patient, phenotype["age"], phenotype["motion"]])
    nuisance = full[:, [0, 2, 3]]
    observed, nulls = [], []
    for name in features.columns:
        t, null = _reference_freedman_lane(
            features[name].to_numpy(), full, nuisance, 1, perms, robust
        )
        observed.append(t)
        nulls.append(null)
    observed, nulls = np.array(observed), np.array(nulls)  # (m,), (m, B)
    np.testing.assert_allclose(result["t"], observed, rtol=1e-10)
    tol = 1e-9
    p_unc = (1 + (np.abs(nulls) >= np.abs(observed)[:, None] - tol).sum(axis=1)) / (n_perm + 1)
    max_null = np.abs(nulls).max(axis=0)
    p_fwe = (1 + (max_null[None, :] >= np.abs(observed)[:, None] - tol).sum(axis=1)) / (n_perm + 1)
    np.testing.assert_array_equal(result["p_perm"], p_unc)
    np.testing.assert_array_equal(result["p_fwe"], p_fwe)


@pytest.mark.parametrize("alternative", ["greater", "less"])
def test_one_sided_permutation_p_match_plain_loop(rng, alternative):
    n, n_features, n_perm, seed = 18, 5, 60, 11
    features, phenotype = _cohort(rng, n=n, n_features=n_features, effect=0.6)
    features["f1"] -= 1.2 * (phenotype["group"] == "patient")  # a negative effect as well
    result = group_comparison(
        features,
        phenotype,
        formula="group + age",
        n_permutations=n_perm,
        family="all",
        alternative=alternative,
        random_state=seed,
    )
    perms = _permutation_indices(n, n_perm, np.random.default_rng(seed))
    patient = (phenotype["group"] == "patient").to_numpy(float)
    full = np.column_stack([np.ones(n), patient, phenotype["age"]])
    pairs = [
        _reference_freedman_lane(features[name].to_numpy(), full, full[:, [0, 2]], 1, perms)
        for name in features.columns
    ]
    observed = np.array([t for t, _ in pairs])
    nulls = np.array([null for _, null in pairs])  # (m, B)
    sign = 1.0 if alternative == "greater" else -1.0  # "less" counts t* <= t
    tol = 1e-9
    p_unc = (1 + (sign * nulls >= sign * observed[:, None] - tol).sum(axis=1)) / (n_perm + 1)
    max_null = (sign * nulls).max(axis=0)
    p_fwe = (1 + (max_null[None, :] >= sign * observed[:, None] - tol).sum(axis=1)) / (n_perm + 1)
    np.testing.assert_array_equal(result["p_perm"], p_unc)
    np.testing.assert_array_equal(result["p_fwe"], p_fwe)


def test_less_equals_greater_of_the_negated_contrast(rng):
    features, phenotype = _cohort(rng, n=24, n_features=12, effect=-2.5, planted=(0, 1, 2))
    common = {"formula": "group + age", "n_permutations": 99, "random_state": 5}
    less = group_comparison(features, phenotype, alternative="less", **common)
    greater = group_comparison(
        features, phenotype, contrast=[0.0, -1.0, 0.0], alternative="greater", **common
    )
    np.testing.assert_array_equal(less["t"], -greater["t"])
    for column in ("p", "p_perm", "p_fwe", "p_fdr"):
        np.testing.assert_allclose(less[column], greater[column], rtol=1e-12)
    assert (less["p_fwe"].iloc[:3] < 0.05).all()


def test_contrast_scale_and_n_jobs_do_not_change_p(rng):
    features, phenotype = _cohort(rng, n=24, n_features=30, effect=0.5)
    common = {"formula": "group + age", "n_permutations": 99, "random_state": 3}
    base = group_comparison(features, phenotype, **common)
    scaled = group_comparison(features, phenotype, contrast=[0.0, 2.5, 0.0], **common)
    threaded = group_comparison(features, phenotype, n_jobs=2, **common)
    for other in (scaled, threaded):
        np.testing.assert_array_equal(other["p_perm"], base["p_perm"])
        np.testing.assert_array_equal(other["p_fwe"], base["p_fwe"])


def _null_cohort(rng, n, n_features):
    group = np.arange(n) % 2
    age = rng.normal(size=n) + 0.8 * group  # nuisance correlated with the group
    motion = rng.exponential(size=n)
    phenotype = pd.DataFrame({"group": group.astype(float), "age": age, "motion": motion})
    # skewed errors and real covariate effects, no group effect
    values = rng.exponential(size=(n, n_features)) + 1.5 * age[:, None] - motion[:, None]
    return pd.DataFrame(values), phenotype


def test_freedman_lane_uncorrected_p_uniform_under_null(rng):
    features, phenotype = _null_cohort(rng, n=24, n_features=400)
    result = group_comparison(
        features, phenotype, formula="group + age + motion", n_permutations=199, random_state=1
    )
    p = result["p_perm"].to_numpy()
    rate = np.mean(p <= 0.05)
    # binomial(400, 0.05): sd 0.011; allow about 3 sd
    assert 0.05 - 0.033 <= rate <= 0.05 + 0.033, rate
    assert stats.kstest(p, "uniform").pvalue > 0.001


@pytest.mark.slow
def test_freedman_lane_fwe_controls_familywise_rate():
    rng = np.random.default_rng(2024)
    n_sims, hits = 200, 0
    for sim in range(n_sims):
        features, phenotype = _null_cohort(rng, n=16, n_features=8)
        result = group_comparison(
            features,
            phenotype,
            formula="group + age + motion",
            n_permutations=99,
            family="all",
            random_state=sim,
        )
        hits += bool((result["p_fwe"] <= 0.05).any())
    # binomial(200, 0.05): mean 10; P(X > 20) < 0.002 and P(X < 3) < 0.003
    assert 3 <= hits <= 20, hits


def test_planted_effect_detected_after_correction(rng):
    planted = list(range(5))
    features, phenotype = _cohort(rng, n=60, n_features=50, effect=1.6, planted=planted)
    result = group_comparison(
        features, phenotype, formula="group + age + motion", n_permutations=499, random_state=0
    )
    assert (result["p_fwe"].iloc[planted] < 0.05).all()
    assert (result["p_fdr"].iloc[planted] < 0.05).all()
    others = result.drop(index=planted)
    assert (others["p_fwe"] < 0.05).sum() <= 1
    assert (result["p_fwe"] >= result["p_perm"]).all()


# ----------------------------------------------------------------------------------------
# exchangeability blocks
# ----------------------------------------------------------------------------------------


def test_within_block_permutations_never_cross_blocks():
    blocks = np.array(list("aabbbcccc") + ["d"])
    perms = _permutation_indices(10, 500, np.random.default_rng(0), exchangeability_blocks=blocks)
    assert perms.shape == (500, 10)
    assert all(np.array_equal(np.sort(p), np.arange(10)) for p in perms)
    np.testing.assert_array_equal(blocks[perms], np.broadcast_to(blocks, perms.shape))
    # rows of the 4-member block take every position of the block over 500 draws
    assert set(perms[:, 5]) == {5, 6, 7, 8}


def test_whole_block_permutations_move_blocks_as_units():
    blocks = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    perms = _permutation_indices(
        8, 300, np.random.default_rng(0), exchangeability_blocks=blocks, whole_blocks=True
    )
    for p in perms:
        pairs = p.reshape(4, 2)
        # each block position receives one whole original block, in its original order
        np.testing.assert_array_equal(pairs[:, 1] - pairs[:, 0], 1)
        assert np.all(pairs[:, 0] % 2 == 0)
    assert len({tuple(p) for p in perms}) == 24  # all 4! block orders appear


def test_blocks_from_phenotype_column(rng):
    features, phenotype = _cohort(rng, n=20, n_features=3, effect=0.5)
    phenotype["family_id"] = np.repeat(np.arange(10), 2)
    by_name = group_comparison(
        features,
        phenotype,
        formula="group + age",
        n_permutations=50,
        exchangeability_blocks="family_id",
        random_state=4,
    )
    by_array = group_comparison(
        features,
        phenotype,
        formula="group + age",
        n_permutations=50,
        exchangeability_blocks=phenotype["family_id"].to_numpy(),
        random_state=4,
    )
    np.testing.assert_array_equal(by_name["p_perm"], by_array["p_perm"])


# ----------------------------------------------------------------------------------------
# FDR
# ----------------------------------------------------------------------------------------


def test_fdr_hand_example():
    # sorted 0.01, 0.03, 0.04, 0.5 -> 4p/i = 0.04, 0.06, 0.0533.., 0.5 -> step-up minimum
    np.testing.assert_allclose(
        fdr_correction([0.01, 0.04, 0.03, 0.5]), [0.04, 0.16 / 3, 0.16 / 3, 0.5], rtol=1e-12
    )


@pytest.mark.parametrize(("method", "reference"), [("bh", "fdr_bh"), ("by", "fdr_by")])
def test_fdr_matches_statsmodels(rng, method, reference):
    p = np.concatenate([rng.uniform(size=200), rng.uniform(0, 0.01, size=30), [0.02, 0.02, 1.0]])
    expected = multipletests(p, method=reference)[1]
    np.testing.assert_allclose(fdr_correction(p, method=method), expected, rtol=1e-12)


def test_fdr_ignores_nan():
    p = np.array([0.01, np.nan, 0.04, 0.03])
    out = fdr_correction(p)
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2, 3]], multipletests(p[[0, 2, 3]], method="fdr_bh")[1])


def test_fdr_errors():
    with pytest.raises(DataError, match=r"p_values must lie in \[0, 1\]"):
        fdr_correction([0.2, 1.5])
    with pytest.raises(InvalidParameterError, match="'method' must be one of"):
        fdr_correction([0.2], method="holm")


# ----------------------------------------------------------------------------------------
# tidy input and families
# ----------------------------------------------------------------------------------------


def test_tidy_average_rule_by_hand():
    rows = [
        # subject 1: ses-1 run-1 windows 1, 3 -> 2; ses-1 run-2 -> 5; ses-1 = 3.5; ses-2 -> 10
        ("1", "1", "1", 0, 1.0),
        ("1", "1", "1", 1, 3.0),
        ("1", "1", "2", 0, 5.0),
        ("1", "2", "1", 0, 10.0),
        ("2", "1", "1", 0, 4.0),
    ]
    tidy = pd.DataFrame(rows, columns=["subject", "session", "run", "window", "value"])
    tidy["measure"] = "flexibility"
    tidy["region"] = "PCC"
    tidy["network"] = "Default"
    wide, info = _pivot_tidy(tidy)
    # hierarchical: (3.5 + 10) / 2 = 6.75, not the flat mean 4.75
    np.testing.assert_allclose(wide.loc["1"].to_numpy(), [6.75])
    np.testing.assert_allclose(wide.loc["2"].to_numpy(), [4.0])
    assert info.loc[0, ["feature", "measure", "region", "network"]].tolist() == [
        "flexibility[PCC]",
        "flexibility",
        "PCC",
        "Default",
    ]


def test_tidy_input_families_and_fdr(rng):
    features, phenotype = _cohort(rng, n=30, n_features=6, effect=1.0, planted=(0, 1))
    regions = ["A", "B", "C"]
    tidy = []
    for j, column in enumerate(features.columns):
        measure = "strength" if j < 3 else "controllability"
        for subject, value in features[column].items():
            tidy.append(
                {
                    "subject": f"sub-{subject}",
                    "measure": measure,
                    "region": regions[j % 3],
                    "session": "1",
                    "value": value,
                }
            )
    tidy = pd.DataFrame(tidy)
    result = group_comparison(tidy, phenotype.reset_index(names="subject"), formula="group + age")
    wide = group_comparison(features, phenotype, formula="group + age")
    for measure in ("strength", "controllability"):
        part = result[result["measure"] == measure]
        np.testing.assert_allclose(part["p_fdr"], multipletests(part["p"], method="fdr_bh")[1])
        assert (part["family"] == measure).all()
    order = {f: i for i, f in enumerate(result["feature"])}
    names = [f"strength[{r}]" for r in regions] + [f"controllability[{r}]" for r in regions]
    np.testing.assert_allclose(
        result["t"].to_numpy()[[order[n] for n in names]], wide["t"], rtol=1e-12
    )
    # a global measure (no region) becomes one feature named by the measure
    glob = pd.DataFrame({"subject": phenotype.index, "measure": "modularity", "region": None})
    glob["value"] = features["f0"].to_numpy()
    mixed = group_comparison(pd.concat([tidy, glob]), phenotype, formula="group + age")
    row = mixed[mixed["feature"] == "modularity"].iloc[0]
    assert pd.isna(row["region"]) and row["family"] == "modularity"
    np.testing.assert_allclose(row["t"], wide["t"].iloc[0], rtol=1e-12)
    one = group_comparison(tidy, phenotype, formula="group + age", family="all")
    np.testing.assert_allclose(one["p_fdr"], multipletests(one["p"], method="fdr_bh")[1])


# ----------------------------------------------------------------------------------------
# subjects and missing values
# ----------------------------------------------------------------------------------------


def test_missing_phenotype_values_drop_subjects_with_warning(rng, caplog):
    features, phenotype = _cohort(rng, n=30)
    phenotype.loc["004", "age"] = np.nan
    phenotype.loc["011", "sex"] = None
    with caplog.at_level(logging.WARNING, logger="brainctrl.stats._glm"):
        result = group_comparison(features, phenotype, formula="group + age + sex")
    assert "'004'" in caplog.text and "'011'" in caplog.text
    assert (result["n"] == 28).all()
    assert "004" not in result.attrs["subjects"]


def test_unmatched_subjects_warn_and_are_left_out(rng, caplog):
    features, phenotype = _cohort(rng, n=30)
    extra = phenotype.iloc[:2].set_axis(["900", "901"])
    with caplog.at_level(logging.WARNING, logger="brainctrl.stats._glm"):
        result = group_comparison(
            features.iloc[2:], pd.concat([phenotype, extra]), formula="group"
        )
    assert "'000'" in caplog.text and "'900'" in caplog.text
    assert (result["n"] == 28).all()


def test_integer_phenotype_ids_match_string_feature_ids(rng):
    features, phenotype = _cohort(rng, n=20)
    phenotype.index = [int(s) + 100 for s in phenotype.index]
    features.index = [f"sub-{int(s) + 100}" for s in features.index]
    result = group_comparison(features, phenotype, formula="group")
    assert (result["n"] == 20).all()


# ----------------------------------------------------------------------------------------
# error paths
# ----------------------------------------------------------------------------------------


def test_error_paths(rng):
    features, phenotype = _cohort(rng, n=20)
    with pytest.raises(InvalidParameterError, match="unknown contrast 'grp'"):
        group_comparison(features, phenotype, formula="group + age", contrast="grp")
    phenotype["site"] = np.array(["a", "b", "c", "d"])[np.arange(20) % 4]
    with pytest.raises(InvalidParameterError, match="contrast term 'site' has 3 design columns"):
        group_comparison(features, phenotype, formula="site + age", contrast="site")
    with pytest.raises(InvalidParameterError, match="one weight per design column"):
        group_comparison(features, phenotype, formula="group + age", contrast=[0, 1])
    with pytest.raises(InvalidParameterError, match="finite and non-zero"):
        group_comparison(features, phenotype, formula="group + age", contrast=[0, 0, 0])
    phenotype["age2"] = 2 * phenotype["age"]
    with pytest.raises(DataError, match="rank-deficient: rank 3 with 4 columns"):
        group_comparison(features, phenotype, formula="group + age + age2")
    with pytest.raises(InvalidParameterError, match="either 'formula' or 'design'"):
        group_comparison(features, phenotype, formula="group", design=np.ones((20, 1)))
    with pytest.raises(InvalidParameterError, match="right-hand side only"):
        group_comparison(features, phenotype, formula="y ~ group")
    with pytest.raises(InvalidParameterError, match="could not build the design"):
        group_comparison(features, phenotype, formula="group + nonexistent")
    with pytest.raises(DataError, match=r"phenotype has no column\(s\) \['diagnosis'\]"):
        group_comparison(features, phenotype, group="diagnosis")
    with pytest.raises(InvalidParameterError, match="'features' must be a pandas DataFrame"):
        group_comparison(features.to_numpy(), phenotype, formula="group")
    with pytest.raises(InvalidParameterError, match="'phenotype' must be a pandas DataFrame"):
        group_comparison(features, phenotype.to_numpy(), formula="group")
    with pytest.raises(DataError, match="share no subject IDs"):
        group_comparison(
            features.set_axis([f"x{i}" for i in range(20)]), phenotype, formula="group"
        )
    with pytest.raises(DataError, match="duplicated subject IDs"):
        group_comparison(features, pd.concat([phenotype, phenotype.iloc[:1]]), formula="group")
    bad = features.copy()
    bad.iloc[3, 1] = np.nan
    with pytest.raises(DataError, match="missing or non-finite value.*'003', feature 'f1'"):
        group_comparison(bad, phenotype, formula="group")
    with pytest.raises(InvalidParameterError, match="'family' must name feature columns"):
        group_comparison(features, phenotype, formula="group", family="network")
    with pytest.raises(InvalidParameterError, match="'n_permutations' must be >= 0"):
        group_comparison(features, phenotype, formula="group", n_permutations=-1)
    with pytest.raises(InvalidParameterError, match="'n_jobs' must be a non-zero integer"):
        group_comparison(features, phenotype, formula="group", n_jobs=0)
    with pytest.raises(DataError, match="'group' column 'site' must have exactly two levels"):
        group_comparison(features, phenotype, formula="group + age", group="site")
    with pytest.raises(DataError, match="'exchangeability_blocks' column 'family'"):
        group_comparison(
            features, phenotype, formula="group", n_permutations=5, exchangeability_blocks="family"
        )
    with pytest.raises(DataError, match="whole-block permutation needs blocks of equal size"):
        group_comparison(
            features,
            phenotype,
            formula="group",
            n_permutations=5,
            exchangeability_blocks=[0] * 8 + [1] * 12,
            whole_blocks=True,
        )
    with pytest.raises(DataError, match="3 subjects for 4 columns"):
        group_comparison(features.iloc[:3], phenotype, formula="group + age + motion")
    with pytest.raises(DataError, match=r"design must have shape \(n_subjects, n_columns\)"):
        group_comparison(features, phenotype, design=np.ones((5, 2)))


def test_hc3_with_leverage_one_raises(rng):
    features, phenotype = _cohort(rng, n=12)
    phenotype["single"] = 0.0
    phenotype.loc["000", "single"] = 1.0  # a dummy for one subject fits it exactly
    with pytest.raises(DataError, match="HC3 standard errors are undefined.*leverage 1"):
        group_comparison(features, phenotype, formula="group + single", robust=True)


def test_constant_feature_gives_nan_and_leaves_others_unchanged(rng, caplog):
    features, phenotype = _cohort(rng, n=20, n_features=4, effect=1.0)
    with_constant = features.assign(flat=3.0)
    common = {"formula": "group + age", "n_permutations": 50, "random_state": 0, "family": "all"}
    with caplog.at_level(logging.WARNING, logger="brainctrl.stats._glm"):
        result = group_comparison(with_constant, phenotype, **common)
    assert "zero residual variance" in caplog.text and "'flat'" in caplog.text
    assert result.iloc[-1][["t", "p", "p_perm", "p_fwe", "p_fdr"]].isna().all()
    reference = group_comparison(features, phenotype, **common)
    np.testing.assert_array_equal(result["p_fwe"].iloc[:4], reference["p_fwe"])
    np.testing.assert_allclose(result["p_fdr"].iloc[:4], reference["p_fdr"])
