import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClusterMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import adjusted_rand_score

from brainctrl.connectivity import (
    BrainStates,
    dwell_times,
    fractional_occupancy,
    sliding_window_connectivity,
    transition_matrix,
)
from brainctrl.exceptions import DataError, InvalidParameterError

# -- summaries of a hand-written label sequence ---------------------------------

LABELS = np.array([0, 0, 0, 1, 1, 0, 2, 2, 2, 2, 0, 1])
# stays: 0 x3, 1 x2, 0 x1, 2 x4, 0 x1, 1 x1
# transitions (11): 0->0 x2, 0->1 x2, 1->1 x1, 1->0 x1, 0->2 x1, 2->2 x3, 2->0 x1


def test_fractional_occupancy_hand():
    np.testing.assert_allclose(fractional_occupancy(LABELS, 4), [5 / 12, 3 / 12, 4 / 12, 0])


def test_dwell_times_hand():
    got = dwell_times(LABELS, 4)
    np.testing.assert_allclose(got[:3], [(3 + 1 + 1) / 3, (2 + 1) / 2, 4.0])
    assert np.isnan(got[3])
    np.testing.assert_allclose(dwell_times(LABELS, 3, step_seconds=1.44), got[:3] * 1.44)


def test_transition_matrix_hand():
    got = transition_matrix(LABELS, 4)
    expected = np.array(
        [
            [2 / 5, 2 / 5, 1 / 5, 0],  # five steps leave state 0
            [1 / 2, 1 / 2, 0, 0],  # the final 1 has no next step
            [1 / 4, 0, 3 / 4, 0],
        ]
    )
    np.testing.assert_allclose(got[:3], expected)
    assert np.isnan(got[3]).all()
    np.testing.assert_allclose(got[:3].sum(axis=1), 1.0)


@pytest.mark.parametrize(
    "labels, match",
    [
        ([0, 3], r"labels must lie in \[0, n_states - 1\] = \[0, 2\]; got values from 0 to 3"),
        ([0.0, 1.0], r"labels must be integers; got dtype float64"),
        ([], r"non-empty 1-D sequence; got shape \(0,\)"),
    ],
)
def test_label_errors(labels, match):
    with pytest.raises(DataError, match=match):
        fractional_occupancy(labels, 3)


# -- planted connectivity states ---------------------------------------------------


def planted_connectivity_cohort(rng, n_subjects=4, n_segments=9, segment=40):
    """Frames from three covariance patterns, switching every ``segment`` frames."""
    n_regions = 8
    loadings = np.zeros((3, n_regions, 2))
    loadings[0, :4, 0] = 1.0  # state 0: regions 0-3 co-fluctuate
    loadings[1, 4:, 0] = 1.0  # state 1: regions 4-7 co-fluctuate
    loadings[2, :4, 0] = 1.0  # state 2: 0-3 anti-correlated with 4-7
    loadings[2, 4:, 0] = -1.0
    runs, truths = [], []
    for _ in range(n_subjects):
        order = np.resize(rng.permutation(3), n_segments)
        frames = []
        for state in order:
            factors = rng.standard_normal((segment, 2)) * 1.5
            frames.append(factors @ loadings[state].T + rng.standard_normal((segment, n_regions)))
        runs.append(np.concatenate(frames))
        truths.append(np.repeat(order, segment))
    return runs, truths


def window_truth(truth, window_length, step):
    """True state of each window, or -1 for windows that straddle a switch."""
    out = []
    for start in range(0, truth.size - window_length + 1, step):
        seg = truth[start : start + window_length]
        out.append(seg[0] if np.all(seg == seg[0]) else -1)
    return np.array(out)


@pytest.mark.parametrize("exemplars", [False, True])
def test_brain_states_recover_planted_connectivity_states(rng, exemplars):
    runs, truths = planted_connectivity_cohort(rng)
    window, step = 20, 2
    dynamic = [sliding_window_connectivity(run, window, step) for run in runs]
    states = BrainStates(3, exemplars=exemplars, n_init=5, random_state=0).fit(dynamic)
    labels = np.concatenate(states.labels_)
    truth = np.concatenate([window_truth(t, window, step) for t in truths])
    clean = truth >= 0
    assert adjusted_rand_score(truth[clean], labels[clean]) > 0.9
    assert states.centroids_.shape == (3, 8, 8)
    np.testing.assert_allclose(states.centroids_, states.centroids_.transpose(0, 2, 1))
    np.testing.assert_allclose(np.diagonal(states.centroids_, axis1=1, axis2=2), 1.0)
    # The anti-correlated state has a strongly negative 0-4 entry in its centroid.
    assert states.centroids_[:, 0, 4].min() < -0.5
    if exemplars:
        assert all(len(idx) > 0 for idx in states.exemplar_indices_)


def test_brain_states_ordering_reproducibility_and_summaries(rng):
    runs, _ = planted_connectivity_cohort(rng, n_subjects=3, n_segments=6)
    dynamic = [sliding_window_connectivity(run, 20, 2, vectorize=True) for run in runs]
    first = BrainStates(3, n_init=3, random_state=7).fit(dynamic)
    second = BrainStates(3, n_init=3, random_state=7).fit(dynamic)
    for a, b in zip(first.labels_, second.labels_):
        np.testing.assert_array_equal(a, b)
    counts = np.bincount(np.concatenate(first.labels_), minlength=3)
    assert np.all(np.diff(counts) <= 0)  # ordered by occupancy
    # Vectorised input: centroid diagonal is 0 by convention.
    np.testing.assert_array_equal(np.diagonal(first.centroids_, axis1=1, axis2=2), 0.0)
    # predict on the fitted data gives the fitted labels.
    for a, b in zip(first.predict(dynamic), first.labels_):
        np.testing.assert_array_equal(a, b)
    # float32 windows are clustered in float32 and give the same partition.
    single = BrainStates(3, n_init=3, random_state=7).fit([d.astype(np.float32) for d in dynamic])
    assert single.cluster_centers_.dtype == np.float32
    assert (
        adjusted_rand_score(np.concatenate(single.labels_), np.concatenate(first.labels_)) > 0.95
    )
    for a, b in zip(single.predict(dynamic), single.labels_):
        np.testing.assert_array_equal(a, b)
    occupancy = first.fractional_occupancy()
    assert occupancy.shape == (3, 3)
    for lab, occ, dwell, trans in zip(
        first.labels_, occupancy, first.dwell_times(step_seconds=2.0), first.transition_matrix()
    ):
        np.testing.assert_allclose(occ, fractional_occupancy(lab, 3))
        np.testing.assert_allclose(dwell, dwell_times(lab, 3) * 2.0)
        np.testing.assert_allclose(trans, transition_matrix(lab, 3))


def test_activity_states_recover_planted_patterns(rng):
    patterns = np.array(
        [
            [2, 2, 2, 0, 0, 0, 0, 0, -1, -1],
            [0, 0, 0, 2, 2, 2, 0, 0, 1, 1],
            [-2, -2, 0, 0, 0, 0, 2, 2, 0, 0],
        ],
        dtype=float,
    )
    runs, truths = [], []
    for _ in range(3):
        truth = rng.integers(0, 3, size=150)
        runs.append(patterns[truth] + 0.5 * rng.standard_normal((150, 10)))
        truths.append(truth)
    states = BrainStates(3, kind="activity", standardize=False, random_state=1).fit(runs)
    labels = np.concatenate(states.labels_)
    assert adjusted_rand_score(np.concatenate(truths), labels) > 0.95
    # Centroids match the planted patterns (up to the state order).
    for centroid in states.centroids_:
        distance = np.linalg.norm(patterns - centroid, axis=1).min()
        assert distance < 0.3
    zscored = BrainStates(3, kind="activity", random_state=1).fit(runs)
    assert adjusted_rand_score(np.concatenate(truths), np.concatenate(zscored.labels_)) > 0.95


def test_brain_states_errors(rng):
    dyn = sliding_window_connectivity(rng.standard_normal((40, 4)), 10, 5)
    with pytest.raises(InvalidParameterError, match=r"'kind' must be one of .*; got 'frames'"):
        BrainStates(2, kind="frames").fit([dyn])
    with pytest.raises(InvalidParameterError, match=r"'exemplars' applies to kind='connectivity'"):
        BrainStates(2, kind="activity", exemplars=True).fit([rng.standard_normal((10, 3))])
    with pytest.raises(InvalidParameterError, match=r"'n_states' must be > 0; got 0"):
        BrainStates(0).fit([dyn])
    with pytest.raises(
        DataError, match=r"there are 7 windows/frames in all, fewer than n_states=8"
    ):
        BrainStates(8).fit([dyn])
    with pytest.raises(DataError, match=r"data\[1\] has 3 regions but data\[0\] has 4"):
        BrainStates(2).fit([dyn, dyn[:, :3, :3]])
    with pytest.raises(DataError, match=r"has 4 columns, which is not n\(n-1\)/2"):
        BrainStates(2).fit([np.zeros((5, 4))])
    with pytest.raises(DataError, match=r"must have shape \(n_windows, n_regions, n_regions\)"):
        BrainStates(2).fit([np.zeros((5, 3, 4))])
    with pytest.raises(DataError, match="non-empty list of arrays"):
        BrainStates(2).fit([])
    with pytest.raises(InvalidParameterError, match="not fitted yet"):
        BrainStates(2).predict([dyn])
    fitted = BrainStates(2, random_state=0).fit([dyn])
    with pytest.raises(DataError, match="data has 3 regions but the states were fitted on 4"):
        fitted.predict([dyn[:, :3, :3]])
    nan = dyn.copy()
    nan[0, 0, 1] = np.nan
    with pytest.raises(DataError, match=r"data\[0\] contains 1 non-finite"):
        BrainStates(2).fit([nan])
    with pytest.raises(DataError, match=r"exemplar windows .* fewer than n_states=5"):
        BrainStates(5, exemplars=True).fit([dyn])


# -- scikit-learn estimator contracts ---------------------------------------------

STATES_PARAMS = {
    "n_states": 3,
    "kind": "activity",
    "n_init": 2,
    "max_iter": 50,
    "exemplars": False,
    "standardize": False,
    "random_state": 4,
}


def test_brain_states_params_clone_round_trip(rng):
    states = BrainStates(**STATES_PARAMS)
    assert isinstance(states, BaseEstimator) and isinstance(states, ClusterMixin)
    # __init__ stores its arguments under their own names and nothing else
    assert vars(states) == STATES_PARAMS
    assert states.get_params() == STATES_PARAMS
    assert BrainStates(2).set_params(**STATES_PARAMS).get_params() == STATES_PARAMS
    assert repr(BrainStates(2, kind="activity")) == "BrainStates(kind='activity', n_states=2)"
    frames = [rng.standard_normal((30, 4)) for _ in range(2)]
    states.fit(frames)
    copy = clone(states)
    assert copy.get_params() == STATES_PARAMS
    assert not [name for name in vars(copy) if name.endswith("_")]
    # the clone refits to the same states (same seed)
    for a, b in zip(copy.fit(frames).labels_, states.labels_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(copy.centroids_, states.centroids_)


def test_brain_states_checks_parameters_in_fit_not_init(rng):
    states = BrainStates(0, kind="frames", n_init=-1)  # no error yet
    with pytest.raises(InvalidParameterError, match="'n_states' must be > 0"):
        states.fit([rng.standard_normal((10, 3))])
    assert not hasattr(states, "labels_")


def test_brain_states_not_fitted_error(rng):
    frames = [rng.standard_normal((10, 3))]
    states = BrainStates(2, kind="activity")
    with pytest.raises(NotFittedError, match="not fitted yet; call 'fit' before 'predict'"):
        states.predict(frames)
    for method in ("fractional_occupancy", "dwell_times", "transition_matrix"):
        with pytest.raises(NotFittedError, match=f"before '{method}', or pass 'labels'"):
            getattr(states, method)()
    # the error is also brainctrl's InvalidParameterError, raised here before 0.2
    with pytest.raises(InvalidParameterError):
        states.predict(frames)
    # with labels given, the summaries need no fit
    np.testing.assert_array_equal(states.fractional_occupancy([[0, 1, 1, 1]]), [[0.25, 0.75]])


def test_brain_states_refit_without_exemplars_drops_them(rng):
    runs, _ = planted_connectivity_cohort(rng, n_subjects=2, n_segments=4)
    dynamic = [sliding_window_connectivity(run, 20, 2) for run in runs]
    states = BrainStates(2, exemplars=True, n_init=2, random_state=0).fit(dynamic)
    assert hasattr(states, "exemplar_indices_")
    states.set_params(exemplars=False).fit(dynamic)
    assert not hasattr(states, "exemplar_indices_")
