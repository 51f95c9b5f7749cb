"""Tests of the synthetic cohort: structure, determinism and that every planted effect is real.

Each planted effect is checked with a small independent analysis written here
(numpy/scipy/scikit-learn/statsmodels), not with brainctrl's own analysis code.
"""

import json

import numpy as np
import pandas as pd
import pytest
import yaml
from scipy.stats import pearsonr, ttest_ind
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from statsmodels.stats.multitest import multipletests

from brainctrl.datasets import (
    CONFOUND_COLUMNS,
    NETWORKS,
    make_cohort,
    make_regions,
    read_truth,
    write_demo_dataset,
)
from brainctrl.exceptions import InvalidParameterError, MissingDataError


@pytest.fixture(scope="module")
def cohort():
    """The default cohort (40 subjects, 100 regions, 600 frames)."""
    return make_cohort(random_state=7)


@pytest.fixture(scope="module")
def small():
    return make_cohort(6, 30, 200, n_runs=2, random_state=3)


def _fc(cohort):
    fc = np.array([np.corrcoef(run.timeseries.T) for run in cohort.runs])
    fc[:, np.arange(fc.shape[1]), np.arange(fc.shape[1])] = 0.0
    return fc


# ---- structure --------------------------------------------------------------------------


def test_regions_follow_schaefer100_counts(sample_dir):
    # Independent reference: the real Schaefer-100 7-network table shipped with the tests.
    real = pd.read_csv(sample_dir / "rois.tsv", sep="\t")
    real_hemisphere = real["name"].str.split("_").str[1]
    expected = real.groupby([real_hemisphere, real["network"]]).size()
    regions = make_regions(100, random_state=0)
    ours = regions.groupby(["hemisphere", "network"]).size()
    pd.testing.assert_series_equal(
        ours.sort_index(), expected.sort_index(), check_names=False, check_index_type=False
    )
    assert regions["name"].is_unique
    assert list(regions["label"]) == list(range(1, 101))
    left = regions["hemisphere"] == "LH"
    assert (regions.loc[left, "x"] < 0).all() and (regions.loc[~left, "x"] > 0).all()
    prefixes = regions["hemisphere"] + "_" + regions["network"] + "_"
    assert all(n.startswith(p) for n, p in zip(regions["name"], prefixes))


@pytest.mark.parametrize("n_regions", [14, 37, 100, 400])
def test_regions_any_size_has_every_network(n_regions):
    regions = make_regions(n_regions, random_state=1)
    assert len(regions) == n_regions
    cells = regions.groupby(["hemisphere", "network"]).size()
    assert len(cells) == 14 and cells.min() >= 1
    # Proportions track Schaefer-100: Default holds 24 % of regions there.
    share = (regions["network"] == "Default").mean()
    assert abs(share - 0.24) <= 1.5 / n_regions + 0.02


def test_metadata_is_consistent(small):
    assert small.subjects == [f"{i:03d}" for i in range(1, 7)]
    assert small.run_ids == ["1", "2"]
    assert len(small.runs) == 12
    run = small.run("004", "2")
    assert (run.subject, run.run, run.t_r) == ("004", "2", 0.72)
    assert run.timeseries.shape == (200, 30)
    assert list(run.regions["name"]) == list(small.regions["name"])
    assert list(run.confounds.columns) == list(CONFOUND_COLUMNS)
    assert small.timeseries.shape == (6, 2, 200, 30)
    np.testing.assert_array_equal(small.timeseries[3, 1], run.timeseries)
    assert small.phenotype["group"].value_counts().to_dict() == {"control": 3, "patient": 3}
    expected_columns = ["subject", "group", "age", "sex", "motion", "score"]
    assert list(small.phenotype.columns) == expected_columns + [
        f"symptom_{j}" for j in range(1, 7)
    ]
    assert set(small.truth.state_sequences) == {(s, r) for s in small.subjects for r in "12"}
    assert small.phenotype["age"].between(22, 36).all()
    assert set(small.phenotype["sex"]) <= {"F", "M"}


def test_framewise_displacement_and_motion_covariate(small):
    # Power et al. 2012: FD = sum |Δ translations| + 50 mm * sum |Δ rotations|.
    for run in small.runs:
        params = run.confounds[list(CONFOUND_COLUMNS[:6])].to_numpy()
        diffs = np.abs(np.diff(params, axis=0))
        fd = diffs[:, :3].sum(axis=1) + 50.0 * diffs[:, 3:].sum(axis=1)
        np.testing.assert_allclose(run.confounds["framewise_displacement"].iloc[1:], fd)
        assert run.confounds["framewise_displacement"].iloc[0] == 0.0
    for subject, motion in zip(small.subjects, small.phenotype["motion"]):
        fds = [small.run(subject, r).confounds["framewise_displacement"].mean() for r in "12"]
        assert motion == pytest.approx(np.mean(fds))


def test_deterministic_with_random_state():
    first = make_cohort(5, 20, 120, random_state=11)
    second = make_cohort(5, 20, 120, random_state=np.random.default_rng(11))
    other = make_cohort(5, 20, 120, random_state=12)
    for a, b in zip(first.runs, second.runs):
        np.testing.assert_array_equal(a.timeseries, b.timeseries)
        pd.testing.assert_frame_equal(a.confounds, b.confounds)
    pd.testing.assert_frame_equal(first.phenotype, second.phenotype)
    pd.testing.assert_frame_equal(first.regions, second.regions)
    assert first.truth.group_regions == second.truth.group_regions
    assert not np.allclose(first.runs[0].timeseries, other.runs[0].timeseries)


def test_scales(small):
    raw = np.stack([run.timeseries for run in small.runs])
    means = raw.mean(axis=1)
    assert 5e3 < means.min() and means.max() < 2e4
    # About 1 % signal change around each region's mean.
    percent = 100 * raw.std(axis=1) / means
    assert 0.5 < np.median(percent) < 2.0
    standard = make_cohort(6, 30, 200, n_runs=2, scale="standardized", random_state=3)
    data = np.stack([run.timeseries for run in standard.runs])
    np.testing.assert_allclose(data.mean(axis=1), 0.0, atol=1e-10)
    np.testing.assert_allclose(data.std(axis=1), 1.0)
    # Standardising is the only difference: same correlations as the raw cohort.
    np.testing.assert_allclose(np.corrcoef(data[0].T), np.corrcoef(raw[0].T), atol=1e-6)


# ---- the generative model ------------------------------------------------------------------


def test_couplings_are_stable_and_match_their_structure(cohort):
    truth = cohort.truth
    radii = []
    for subject in truth.subjects:
        couplings = truth.subject_couplings(subject)
        np.testing.assert_allclose(couplings, np.swapaxes(couplings, 1, 2), atol=1e-14)
        radii.append(np.abs(np.linalg.eigvals(couplings)).max())
    assert max(radii) < 1.0
    assert np.abs(np.linalg.eigvals(truth.state_couplings)).max() < 1.0
    # Network modes are orthonormal and supported on their own network.
    loadings = truth.mode_loadings[0]
    np.testing.assert_allclose(loadings.T @ loadings, np.eye(len(NETWORKS)), atol=1e-12)
    member = cohort.regions["network"].to_numpy()[:, None] == np.array(NETWORKS)[None]
    assert np.all(loadings[~member] == 0)
    # Without the region jitter, A maps each mode through M and everything else by alpha.
    couplings = truth.subject_couplings(truth.subjects[0]) - truth.region_jitter[0]
    for state in range(truth.n_states):
        np.testing.assert_allclose(
            couplings[state] @ loadings, loadings @ truth.mode_couplings[0, state], atol=1e-12
        )
    outside = np.linalg.svd(np.eye(len(loadings)) - loadings @ loadings.T)[0][:, :5]
    np.testing.assert_allclose(couplings[0] @ outside, truth.self_coupling * outside, atol=1e-12)


@pytest.mark.parametrize(("n_subjects", "n_regions"), [(60, 30), (12, 400)])
def test_couplings_stable_at_other_sizes(n_subjects, n_regions):
    cohort = make_cohort(n_subjects, n_regions, 20, n_symptom_regions=4, random_state=2)
    couplings = np.stack([cohort.truth.subject_couplings(s) for s in cohort.subjects])
    assert np.abs(np.linalg.eigvalsh(couplings)).max() < 0.99


@pytest.mark.parametrize("n_states", [1, 2, 3, 7])
def test_states_partition_the_networks(n_states):
    truth = make_cohort(4, 30, 150, n_states=n_states, random_state=0).truth
    assert len(truth.state_networks) == n_states
    flat = [name for names in truth.state_networks for name in names]
    assert sorted(flat) == sorted(NETWORKS)
    for sequence in truth.state_sequences.values():
        assert sequence.min() >= 0 and sequence.max() < n_states
    if n_states > 1:
        for state, names in enumerate(truth.state_networks):
            strengthened = np.isin(NETWORKS, names)
            high = truth.mode_eigenvalues[state, strengthened]
            low = truth.mode_eigenvalues[state, ~strengthened]
            assert high.min() > low.max()
    else:
        assert np.ptp(truth.mode_eigenvalues) == 0


def test_state_sequences_respect_dwell_times(small):
    truth = small.truth
    min_frames = round(truth.min_dwell / truth.t_r)
    for sequence in truth.state_sequences.values():
        assert set(np.unique(sequence)) <= set(range(truth.n_states))
        change = np.flatnonzero(np.diff(sequence)) + 1
        inner = np.diff(change)  # complete dwells (not cut by the run's edges)
        assert np.all(inner >= min_frames)
    transition = truth.transition_matrix
    np.testing.assert_allclose(transition.sum(axis=1), 1.0)
    np.testing.assert_allclose(np.diag(transition), 0.0)


def test_window_states_by_hand(small):
    truth = small.truth
    key = ("001", "1")
    saved = truth.state_sequences[key]
    truth.state_sequences[key] = np.array([0, 0, 1, 1, 1, 2, 2])
    try:
        labels, purity = truth.window_states("001", "1", 3, step=2, delay=0.0)
        # Windows [0, 0, 1], [1, 1, 1], [1, 2, 2].
        np.testing.assert_array_equal(labels, [0, 1, 2])
        np.testing.assert_allclose(purity, [2 / 3, 1.0, 2 / 3])
        # A one-frame delay gives [0, 0, 0, 1, 1, 1, 2]: windows [0, 0, 0], [0, 1, 1], [1, 1, 2].
        labels, _ = truth.window_states("001", "1", 3, step=2, delay=truth.t_r)
        np.testing.assert_array_equal(labels, [0, 1, 1])
    finally:
        truth.state_sequences[key] = saved


def test_latent_states_recovered_by_windowed_fc_kmeans():
    cohort = make_cohort(12, random_state=5)
    truth = cohort.truth
    upper = np.triu_indices(100, 1)
    features, labels, purity = [], [], []
    window, step = 60, 5
    for run in cohort.runs:
        x = run.timeseries
        for start in range(0, x.shape[0] - window + 1, step):
            features.append(np.corrcoef(x[start : start + window].T)[upper])
        lab, pur = truth.window_states(run.subject, run.run, window, step)
        labels.append(lab)
        purity.append(pur)
    labels, purity = np.concatenate(labels), np.concatenate(purity)
    found = KMeans(truth.n_states, n_init=5, random_state=0).fit_predict(np.array(features))
    assert adjusted_rand_score(labels, found) > 0.5
    pure = purity == 1.0
    assert adjusted_rand_score(labels[pure], found[pure]) > 0.8


def test_states_strengthen_their_networks(small):
    # Within-network correlation of frames in a state is highest for the networks it strengthens.
    truth = small.truth
    networks = small.regions["network"].to_numpy()
    delay = round(truth.hemodynamic_delay / truth.t_r)
    for state, strengthened in enumerate(truth.state_networks):
        frames = []
        for run in small.runs:
            sequence = truth.state_sequences[(run.subject, run.run)]
            mask = np.roll(sequence == state, delay)
            mask[:delay] = False
            if mask.sum() < 10:
                continue
            x = run.timeseries[mask]
            frames.append((x - x.mean(0)) / x.std(0))
        fc = np.corrcoef(np.vstack(frames).T)
        within = {}
        for name in NETWORKS:
            idx = np.flatnonzero(networks == name)
            if idx.size > 1:
                block = fc[np.ix_(idx, idx)]
                within[name] = block[np.triu_indices(idx.size, 1)].mean()
        top = sorted(within, key=within.get, reverse=True)[: len(strengthened)]
        assert set(top) == {str(n) for n in strengthened if n in within}


def test_group_regions_recovered_by_strength_ttest_fdr(cohort):
    fc = _fc(cohort)
    strength = np.abs(fc).sum(axis=-1)
    patient = (cohort.phenotype["group"] == cohort.truth.groups[1]).to_numpy()
    _, p = ttest_ind(strength[~patient], strength[patient])
    rejected = multipletests(p, alpha=0.05, method="fdr_bh")[0]
    planted = cohort.regions["name"].isin(cohort.truth.group_regions).to_numpy()
    assert planted.sum() == 8
    assert rejected[planted].sum() >= 6
    # Few others: regions coupled to the planted ones (e.g. Limbic, coupled to Default)
    # can show a genuine secondary difference.
    assert rejected[~planted].sum() <= 3
    defaults = cohort.regions.set_index("name").loc[cohort.truth.group_regions, "network"]
    assert (defaults == "Default").sum() == 4
    # Planted regions decouple in patients: lower strength, never higher.
    assert np.all(strength[patient][:, planted].mean(0) < strength[~patient][:, planted].mean(0))


def test_group_regions_recovered_by_average_controllability(cohort):
    # Discrete average controllability of the FC-derived system (Gu et al. 2015):
    # A = FC / (1 + max|eig|), ac_i = sum_j V_ij^2 / (1 - lambda_j^2).
    fc = _fc(cohort)
    eigenvalues, vectors = np.linalg.eigh(fc)
    scaled = eigenvalues / (1.0 + np.abs(eigenvalues).max(axis=-1, keepdims=True))
    controllability = np.einsum("sij,sj->si", vectors**2, 1.0 / (1.0 - scaled**2))
    patient = (cohort.phenotype["group"] == cohort.truth.groups[1]).to_numpy()
    t, p = ttest_ind(controllability[~patient], controllability[patient])
    rejected = multipletests(p, alpha=0.05, method="fdr_bh")[0]
    planted = cohort.regions["name"].isin(cohort.truth.group_regions).to_numpy()
    assert rejected[planted].sum() >= 4
    assert rejected[~planted].sum() <= 2
    assert np.all(t[planted] > 0)  # lower controllability in patients


def test_behaviour_score_and_its_visibility(cohort):
    truth = cohort.truth
    phenotype = cohort.phenotype
    factors = truth.subject_factors.loc[phenotype["subject"]]
    # The score is explained by the weighted factors with population R² = behaviour_r2.
    design = np.column_stack([np.ones(len(phenotype)), factors[list(truth.behaviour_weights)]])
    beta, *_ = np.linalg.lstsq(design, phenotype["score"], rcond=None)
    residual = phenotype["score"] - design @ beta
    r2 = 1 - residual.var() / phenotype["score"].var()
    assert abs(r2 - truth.behaviour_r2) < 0.12
    assert beta[1] > 0 and beta[2] > 0
    assert beta[1] / beta[2] == pytest.approx(2.0, rel=0.5)  # weights Default 1.0, Cont 0.5
    # The Default factor shows up in the Default network's within-network FC ...
    fc = _fc(cohort)
    default = np.flatnonzero(cohort.regions["network"] == "Default")
    within = fc[:, default][:, :, default].sum(axis=(1, 2)) / (default.size * (default.size - 1))
    r, p = pearsonr(within, factors["Default"])
    assert r > 0.3 and p < 0.05
    # ... and unrelated factors do not.
    assert abs(pearsonr(within, factors["Vis"])[0]) < r


def test_symptom_association_visible_in_region_strength(cohort):
    truth = cohort.truth
    phenotype = cohort.phenotype
    strength = np.abs(_fc(cohort)).sum(axis=-1)
    planted = cohort.regions["name"].isin(truth.symptom_regions).to_numpy()
    assert planted.sum() == 10
    assert not set(truth.symptom_regions) & set(truth.group_regions)
    h = truth.subject_factors.loc[phenotype["subject"], "symptom_factor"].to_numpy()
    per_region = np.array([pearsonr(strength[:, i], h)[0] for i in np.flatnonzero(planted)])
    assert np.mean(per_region) > 0.3 and (per_region > 0).sum() >= 9
    loaded = [k for k, v in truth.symptom_loadings.items() if v > 0]
    unloaded = [k for k, v in truth.symptom_loadings.items() if v == 0]
    assert len(loaded) == 3 and len(unloaded) == 3
    for name in loaded:
        assert pearsonr(phenotype[name], h)[0] > 0.4
    # A one-component CCA-like check: the planted regions' strength against the
    # loaded symptoms' sum, versus the same against the unloaded ones.
    brain = strength[:, planted].mean(axis=1)

    def composite(names):
        values = phenotype[names].to_numpy()
        return ((values - values.mean(0)) / values.std(0)).sum(axis=1)

    r_loaded = pearsonr(brain, composite(loaded))[0]
    r_unloaded = pearsonr(brain, composite(unloaded))[0]
    assert r_loaded > 0.25 and r_loaded > abs(r_unloaded)


def test_motion_artefact_enters_the_signal():
    def coupling_to_fd(motion_effect):
        cohort = make_cohort(
            6, 30, 300, motion_effect=motion_effect, scale="standardized", random_state=4
        )
        return np.mean(
            [
                pearsonr(run.timeseries.mean(axis=1), run.confounds["framewise_displacement"])[0]
                for run in cohort.runs
            ]
        )

    # The FD artefact is global and positive: the mean signal follows FD.
    assert coupling_to_fd(0.3) > 0.4
    assert abs(coupling_to_fd(0.0)) < 0.1


# ---- the demo dataset on disk --------------------------------------------------------------


def test_write_demo_dataset_round_trip(tmp_path, small):
    manifest_path = write_demo_dataset(tmp_path / "demo", small)
    assert manifest_path == tmp_path / "demo" / "manifest.yaml"
    manifest = yaml.safe_load(manifest_path.read_text())
    assert manifest["layout"] == "timeseries"
    assert manifest["subjects"] == small.subjects  # strings, zero-padded
    assert manifest["runs"] == ["1", "2"]
    assert manifest["t_r"] == 0.72
    root = manifest_path.parent
    regions = pd.read_csv(root / manifest["parcellation"]["regions"], sep="\t")
    pd.testing.assert_frame_equal(regions, small.regions)
    phenotype = pd.read_csv(
        root / manifest["phenotype"]["path"], dtype={manifest["phenotype"]["id_column"]: str}
    )
    pd.testing.assert_frame_equal(phenotype, small.phenotype, rtol=1e-9)
    assert set(manifest["phenotype"]["covariates"]) <= set(phenotype.columns)
    for subject in manifest["subjects"]:
        for run_id in manifest["runs"]:
            fields = {"subject": subject, "run": run_id}
            table = pd.read_csv(root / manifest["timeseries"].format(**fields), sep="\t")
            run = small.run(subject, run_id)
            assert list(table.columns) == list(small.regions["name"])
            np.testing.assert_allclose(table.to_numpy(), run.timeseries, rtol=1e-9)
            confounds = pd.read_csv(
                root / manifest["confounds"]["path"].format(**fields), sep="\t"
            )
            np.testing.assert_allclose(confounds.to_numpy(), run.confounds.to_numpy(), atol=1e-9)
    truth = read_truth(manifest_path)
    assert truth.group_regions == small.truth.group_regions
    assert truth.symptom_loadings == small.truth.symptom_loadings
    assert truth.groups == small.truth.groups
    np.testing.assert_array_equal(truth.state_couplings, small.truth.state_couplings)
    for key, sequence in small.truth.state_sequences.items():
        np.testing.assert_array_equal(truth.state_sequences[key], sequence)
    pd.testing.assert_frame_equal(truth.subject_factors, small.truth.subject_factors)
    np.testing.assert_allclose(
        truth.subject_couplings("002"), small.truth.subject_couplings("002"), atol=0
    )
    assert json.loads((root / "truth.json").read_text())["t_r"] == 0.72


def test_write_demo_dataset_default_is_deterministic(tmp_path):
    kwargs = {"n_subjects": 4, "n_regions": 30, "n_timepoints": 60}
    first = write_demo_dataset(tmp_path / "a", **kwargs).parent
    second = write_demo_dataset(tmp_path / "b", **kwargs).parent
    path = "sub-001/sub-001_run-1_timeseries.tsv"
    assert (first / path).read_text() == (second / path).read_text()


# ---- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_subjects": 3}, r"'n_subjects' must be >= 4 .*got 3"),
        ({"n_subjects": 4.5}, r"'n_subjects' must be an integer"),
        ({"n_regions": 10}, r"'n_regions' must be >= 14 .*got 10"),
        ({"n_timepoints": 0}, r"'n_timepoints' must be > 0; got 0"),
        ({"t_r": -1.0}, r"'t_r' must be > 0; got -1.0"),
        ({"n_states": 8}, r"'n_states' must be between 1 and 7; got 8"),
        ({"n_runs": 0}, r"'n_runs' must be > 0; got 0"),
        ({"groups": ("a", "a")}, r"'groups' must be two different strings.*\('a', 'a'\)"),
        ({"groups": ("a",)}, r"'groups' must be two different strings"),
        ({"group_effect": 1.0}, r"'group_effect' must be in \[0, 1\); got 1.0"),
        ({"min_dwell": 100.0}, r"'min_dwell' must be <= 'mean_dwell' \(90.0\); got 100.0"),
        ({"behaviour_weights": {"Foo": 1.0}}, r"'behaviour_weights key' must be one of .*'Foo'"),
        ({"behaviour_weights": {}}, r"'behaviour_weights' must be a non-empty dict"),
        ({"behaviour_r2": 1.5}, r"'behaviour_r2' must be in \[0, 1\]; got 1.5"),
        ({"n_loaded_symptoms": 7}, r"'n_loaded_symptoms' must be <= 'n_symptoms' \(6\); got 7"),
        ({"scale": "zscore"}, r"'scale' must be one of \('raw', 'standardized'\); got 'zscore'"),
        ({"hemodynamic": "yes"}, r"'hemodynamic' must be True or False; got 'yes'"),
        (
            {"orthogonal_symptom_factor": 1},
            r"'orthogonal_symptom_factor' must be True or False; got 1",
        ),
        ({"n_regions": 14, "n_symptom_regions": 12}, r"need more regions than the 14"),
        ({"random_state": "seed"}, r"'random_state' must be None, an int"),
    ],
)
def test_make_cohort_rejects_bad_parameters(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        make_cohort(**{"n_subjects": 4, "n_regions": 30, "n_timepoints": 50, **kwargs})


def test_instability_is_caught(monkeypatch):
    # The model caps mode eigenvalues at 0.95, so no parameter reaches instability;
    # lift the cap to check that the safety net catches it.
    import brainctrl.datasets._cohort as cohort_module

    monkeypatch.setattr(cohort_module, "_MODE_MAX", 1.5)
    with pytest.raises(InvalidParameterError, match=r"spectral radius 1\.\d+ >= 0.999"):
        make_cohort(8, 30, 50, subject_variation=20.0, random_state=0)


def test_lookup_errors(small, tmp_path):
    with pytest.raises(InvalidParameterError, match=r"no run '3' of subject '001'"):
        small.run("001", "3")
    with pytest.raises(InvalidParameterError, match=r"'subject' must be one of .*got '999'"):
        small.truth.subject_couplings("999")
    with pytest.raises(InvalidParameterError, match=r"'window_length' must be <= the run length"):
        small.truth.window_states("001", "1", 500)
    with pytest.raises(InvalidParameterError, match=r"'step' must be > 0; got 0"):
        small.truth.window_states("001", "1", 10, step=0)
    with pytest.raises(InvalidParameterError, match=r"either 'cohort' or make_cohort.*n_subjects"):
        write_demo_dataset(tmp_path, small, n_subjects=4)
    with pytest.raises(InvalidParameterError, match=r"'cohort' must be a Cohort.*got dict"):
        write_demo_dataset(tmp_path, {})
    with pytest.raises(InvalidParameterError, match=r"'name' must be a non-empty string"):
        write_demo_dataset(tmp_path, small, name="")
    with pytest.raises(MissingDataError, match=r"truth.json': ground-truth file not found"):
        read_truth(tmp_path / "nothing")


def test_symptom_factor_orthogonal_to_network_factors_and_groups(cohort):
    # The symptom factor is the sample residual on the group indicators and the
    # seven network factors, rescaled: zero correlation with each factor, zero
    # mean within each group, unit sd (population formula).
    factors = cohort.truth.subject_factors
    h = factors["symptom_factor"].to_numpy()
    for network in NETWORKS:
        assert abs(np.corrcoef(h, factors[network])[0, 1]) < 1e-10
    groups = cohort.phenotype.set_index("subject").loc[factors.index, "group"].to_numpy()
    for label in np.unique(groups):
        assert abs(h[groups == label].mean()) < 1e-10
    assert h.std() == pytest.approx(1.0, abs=1e-12)


def test_symptom_factor_raw_when_not_orthogonal():
    # Same seed, option off: the raw draw, which differs and is not orthogonal.
    raw = make_cohort(
        12, 20, 30, hemodynamic=False, orthogonal_symptom_factor=False, random_state=5
    )
    orth = make_cohort(12, 20, 30, hemodynamic=False, random_state=5)
    h_raw = raw.truth.subject_factors["symptom_factor"].to_numpy()
    h_orth = orth.truth.subject_factors["symptom_factor"].to_numpy()
    factors = raw.truth.subject_factors[list(NETWORKS)].to_numpy()
    correlations = [np.corrcoef(h_raw, factors[:, k])[0, 1] for k in range(len(NETWORKS))]
    assert np.max(np.abs(correlations)) > 1e-3
    assert not np.allclose(h_raw, h_orth)
    # Everything drawn after the factor is unchanged (the option draws nothing).
    np.testing.assert_array_equal(raw.phenotype["score"], orth.phenotype["score"])


def test_symptom_factor_kept_raw_with_few_subjects():
    # With 4 subjects the 2 group means and 7 factors leave no residual: the
    # factor is then the raw draw, still centred within each group.
    cohort = make_cohort(4, 20, 30, hemodynamic=False, random_state=0)
    factors = cohort.truth.subject_factors
    h = factors["symptom_factor"].to_numpy()
    assert np.all(np.isfinite(h)) and np.ptp(h) > 0
    groups = cohort.phenotype.set_index("subject").loc[factors.index, "group"].to_numpy()
    for label in np.unique(groups):
        assert abs(h[groups == label].mean()) < 1e-12
