"""Tests of brainctrl.graph's connectome null models."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from scipy.sparse.csgraph import connected_components

from brainctrl.connectivity import consensus_structural
from brainctrl.exceptions import DataError, InvalidParameterError
from brainctrl.graph import _nulls, geometry_preserving_surrogate, randomize_strength_preserving

REFERENCE = Path(__file__).parents[1] / "data" / "structural_reference"


def _load_generator():
    spec = importlib.util.spec_from_file_location(
        "make_reference", REFERENCE / "make_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _load_generator()


@pytest.fixture(scope="module")
def cohort():
    return GENERATOR.synthetic_cohort(20, 100, 2019)


@pytest.fixture(scope="module")
def group(cohort):
    """The 100-region group consensus used for the reference null statistics."""
    matrices, distance, hemisphere = cohort
    return consensus_structural(matrices, distance, hemisphere, average="all")


@pytest.fixture(scope="module")
def nulls(group):
    return {
        (method, seed): randomize_strength_preserving(group, method=method, random_state=seed)
        for method in ("annealing", "rubinov_sporns")
        for seed in GENERATOR.NULL_SEEDS
    }


def _strength_r(a, b):
    return np.corrcoef(a.sum(axis=0), b.sum(axis=0))[0, 1]


# ------------------------------------------------------------------ strength-preserving


@pytest.mark.parametrize("method", ["annealing", "rubinov_sporns"])
def test_randomization_keeps_degrees_and_weights(group, nulls, method):
    for seed in GENERATOR.NULL_SEEDS:
        null = nulls[method, seed]
        np.testing.assert_array_equal(null, null.T)
        assert (np.diag(null) == 0).all()
        np.testing.assert_array_equal((null > 0).sum(axis=0), (group > 0).sum(axis=0))
        np.testing.assert_array_equal(np.sort(null[null > 0]), np.sort(group[group > 0]))
        # rewired: most edges moved (density 14 %)
        overlap = ((null > 0) & (group > 0)).sum() / (group > 0).sum()
        assert overlap < 0.3
        # the input is connected, so is the null
        assert connected_components(null > 0)[0] == 1


def test_annealing_strengths_as_close_as_netneurotools(group, nulls):
    # netneurotools 0.3.0 strength_preserving_rand_sa, defaults, seeds 0-2, same input:
    # strength r 1.000000, 0.999429, 1.000000; mean |error| / strength 5.4e-5, 4.3e-3, 4.3e-5
    reference = np.load(REFERENCE / "null_strength_errors.npz")
    strength = group.sum(axis=0)
    ours, theirs = [], []
    for seed in GENERATOR.NULL_SEEDS:
        null = nulls["annealing", seed]
        assert _strength_r(group, null) > 0.9999
        ours.append(np.mean(np.abs(null.sum(axis=0) - strength) / strength))
        theirs.append(float(reference[f"netneurotools_sa__seed{seed}__strength_mape"]))
    assert np.median(ours) < 3 * np.median(theirs)
    assert max(ours) < 1e-2


def test_rubinov_sporns_strengths_as_close_as_bctpy(group, nulls):
    # bctpy 0.6.1 null_model_und_sign (bin_swaps=5, wei_freq=0.1), seeds 0-2, same
    # input: strength r 0.938, 0.956, 0.940
    reference = np.load(REFERENCE / "null_strength_errors.npz")
    ours = [_strength_r(group, nulls["rubinov_sporns", seed]) for seed in GENERATOR.NULL_SEEDS]
    theirs = [
        float(reference[f"bct_null_model_und_sign__seed{seed}__strength_r"])
        for seed in GENERATOR.NULL_SEEDS
    ]
    assert np.mean(ours) > np.mean(theirs) - 0.05
    assert min(ours) > 0.85


def test_randomization_is_reproducible(group, nulls):
    again = randomize_strength_preserving(group, random_state=0)
    np.testing.assert_array_equal(again, nulls["annealing", 0])
    assert not np.array_equal(nulls["annealing", 0], nulls["annealing", 1])
    generator = randomize_strength_preserving(group, random_state=np.random.default_rng(0))
    np.testing.assert_array_equal(generator, again)


def test_randomization_keeps_a_sparse_ring_connected():
    # ring + a few chords: unconstrained swaps split it easily
    n = 40
    w = np.zeros((n, n))
    ring = np.arange(n)
    w[ring, (ring + 1) % n] = 1.0 + ring / n
    w[[0, 10, 20], [25, 35, 5]] = 2.0
    w = w + w.T
    split = 0
    for seed in range(5):
        kept = randomize_strength_preserving(w, random_state=seed, n_stages=5, n_iterations=500)
        assert connected_components(kept > 0)[0] == 1
        free = randomize_strength_preserving(
            w, random_state=seed, keep_connected=False, n_stages=5, n_iterations=500
        )
        split += connected_components(free > 0)[0] > 1
    assert split > 0  # the constraint was needed


def test_complete_network_is_only_reweighted():
    rng = np.random.default_rng(3)
    w = np.triu(rng.random((8, 8)) + 0.1, 1)
    w = w + w.T
    null = randomize_strength_preserving(w, random_state=0, n_stages=20, n_iterations=2000)
    assert ((null > 0) == (w > 0)).all()
    np.testing.assert_array_equal(np.sort(null[null > 0]), np.sort(w[w > 0]))


def test_randomization_errors(group):
    with pytest.raises(DataError, match="adjacency must be non-negative"):
        randomize_strength_preserving(-group)
    with pytest.raises(DataError, match="adjacency must be symmetric"):
        randomize_strength_preserving(np.triu(group))
    with pytest.raises(DataError, match="adjacency must be square"):
        randomize_strength_preserving(group[:, :-1])
    with pytest.raises(InvalidParameterError, match="'method' must be one of"):
        randomize_strength_preserving(group, method="maslov")
    with pytest.raises(InvalidParameterError, match="'n_swaps' must be >= 0"):
        randomize_strength_preserving(group, n_swaps=-1)
    with pytest.raises(InvalidParameterError, match=r"'cooling' must be in \(0, 1\]"):
        randomize_strength_preserving(group, cooling=2.0)
    with pytest.raises(InvalidParameterError, match="'weight_frequency' must be > 0"):
        randomize_strength_preserving(group, weight_frequency=0)
    with pytest.raises(InvalidParameterError, match="'keep_connected' must be True, False"):
        randomize_strength_preserving(group, keep_connected="yes")
    with pytest.raises(InvalidParameterError, match="'random_state' must be None"):
        randomize_strength_preserving(group, random_state="seed")


# ------------------------------------------------------------------ geometry-preserving


@pytest.mark.parametrize("seed", GENERATOR.GEOMSURR_SEEDS)
def test_surrogate_matches_nctpy_geomsurr(cohort, monkeypatch, seed):
    # nctpy 1.2.0 geomsurr(W, D, nmean=3, nstd=2, seed=seed) draws its shuffle from
    # np.random.RandomState(seed); give the same generator to compare the outputs
    matrices, distance, _ = cohort
    subject = matrices[0]
    reference = np.load(REFERENCE / "nctpy_geomsurr.npz")
    lower = np.nonzero(np.tril(subject))
    monkeypatch.setattr(_nulls, "check_random_state", lambda _: np.random.RandomState(seed))
    for key, mode in (("Wwp", False), ("Wssp", True), ("Wsp", "distribution")):
        surrogate = geometry_preserving_surrogate(subject, distance, strength_correct=mode)
        np.testing.assert_allclose(
            surrogate[lower], reference[f"seed{seed}__{key}"], rtol=1e-12, atol=0
        )
        np.testing.assert_array_equal(surrogate, surrogate.T)


@pytest.mark.parametrize("method", ["trend", "bins"])
def test_surrogate_keeps_edges_and_weights(cohort, method):
    matrices, distance, _ = cohort
    subject = matrices[1]
    surrogate = geometry_preserving_surrogate(
        subject, distance, method=method, strength_correct=False, random_state=0
    )
    np.testing.assert_array_equal(surrogate, surrogate.T)
    np.testing.assert_array_equal(surrogate > 0, subject > 0)
    np.testing.assert_array_equal(np.sort(surrogate[surrogate > 0]), np.sort(subject[subject > 0]))
    assert np.corrcoef(surrogate[subject > 0], subject[subject > 0])[0, 1] < 0.9
    # weight still falls with length as much as in the original
    edges = np.triu(subject > 0, 1)
    slope = np.polyfit(distance[edges], np.log(subject[edges]), 1)[0]
    surrogate_slope = np.polyfit(distance[edges], np.log(surrogate[edges]), 1)[0]
    np.testing.assert_allclose(surrogate_slope, slope, rtol=0.15)


def test_bin_surrogate_keeps_each_bins_weights(cohort):
    matrices, distance, _ = cohort
    subject = matrices[2]
    surrogate = geometry_preserving_surrogate(
        subject, distance, method="bins", n_bins=8, strength_correct=False, random_state=1
    )
    rows, cols = np.nonzero(np.tril(subject))
    order = np.argsort(distance[rows, cols], kind="stable")
    for members in np.array_split(order, 8):
        original = subject[rows[members], cols[members]]
        shuffled = surrogate[rows[members], cols[members]]
        np.testing.assert_array_equal(np.sort(shuffled), np.sort(original))
        assert shuffled.mean() == pytest.approx(original.mean(), rel=1e-14)


def test_surrogate_strength_correction(cohort):
    matrices, distance, _ = cohort
    subject = matrices[3]
    surrogate = geometry_preserving_surrogate(subject, distance, random_state=4)
    np.testing.assert_array_equal(surrogate > 0, subject > 0)
    np.testing.assert_allclose(surrogate, surrogate.T, rtol=0, atol=0)
    np.testing.assert_allclose(surrogate.sum(axis=0), subject.sum(axis=0), rtol=2e-2)
    again = geometry_preserving_surrogate(subject, distance, random_state=4)
    np.testing.assert_array_equal(again, surrogate)


def test_surrogate_errors(cohort):
    matrices, distance, _ = cohort
    subject = matrices[0]
    with pytest.raises(
        DataError, match=r"distance must have the shape of adjacency, \(100, 100\)"
    ):
        geometry_preserving_surrogate(subject, distance[:5, :5])
    with pytest.raises(InvalidParameterError, match="'method' must be one of"):
        geometry_preserving_surrogate(subject, distance, method="spin")
    with pytest.raises(InvalidParameterError, match="'strength_correct' must be True, False"):
        geometry_preserving_surrogate(subject, distance, strength_correct="yes")
    with pytest.raises(InvalidParameterError, match="'n_bins' must be > 0"):
        geometry_preserving_surrogate(subject, distance, method="bins", n_bins=0)
    with pytest.raises(DataError, match="adjacency has 1 edge"):
        geometry_preserving_surrogate([[0, 1, 0], [1, 0, 0], [0, 0, 0]], np.ones((3, 3)))
    with pytest.raises(DataError, match="adjacency must be symmetric"):
        geometry_preserving_surrogate(np.triu(subject), distance)
