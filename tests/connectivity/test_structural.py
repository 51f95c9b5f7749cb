"""Tests of brainctrl.connectivity.structural (group consensus, weight scaling)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from brainctrl.connectivity import consensus_structural, scale_structural
from brainctrl.exceptions import DataError, InvalidParameterError

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


# ------------------------------------------------------------------ consensus


@pytest.mark.parametrize("case", GENERATOR.COHORTS, ids=[c[0] for c in GENERATOR.COHORTS])
def test_consensus_matches_netneurotools(case):
    # netneurotools 0.3.0 struct_consensus outputs, see structural_reference/README.md
    name, n_subjects, n_regions, seed, rounded = case
    matrices, distance, hemisphere = GENERATOR.synthetic_cohort(
        n_subjects, n_regions, seed, rounded
    )
    reference = np.load(REFERENCE / "netneurotools_consensus.npz")
    rows, cols = np.triu_indices(n_regions, 1)
    binary = consensus_structural(matrices, distance, hemisphere, weighted=False)
    np.testing.assert_array_equal(
        np.flatnonzero(binary[rows, cols]), reference[f"{name}__binary_edges"]
    )
    weighted = consensus_structural(matrices, distance, hemisphere, average="all")
    np.testing.assert_allclose(
        weighted[rows, cols], reference[f"{name}__weighted_upper"], rtol=1e-12, atol=0
    )


def test_consensus_weights_are_mean_over_subjects_with_the_edge(cohort):
    matrices, distance, hemisphere = cohort
    binary = consensus_structural(matrices, distance, hemisphere, weighted=False)
    weighted = consensus_structural(matrices, distance, hemisphere)
    present = np.where(matrices > 0, matrices, np.nan)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning, match="Mean of empty"):
        expected = np.nanmean(present, axis=0)
    kept = binary > 0
    np.testing.assert_allclose(weighted[kept], expected[kept], rtol=1e-14)
    assert (weighted[~kept] == 0).all()


def test_consensus_keeps_density_and_length_distribution(cohort):
    matrices, distance, hemisphere = cohort
    consensus = consensus_structural(matrices, distance, hemisphere, weighted=False)
    np.testing.assert_array_equal(consensus, consensus.T)
    assert (np.diag(consensus) == 0).all()
    upper = np.triu(np.ones_like(distance, dtype=bool), 1)
    between = hemisphere[:, None] != hemisphere[None, :]
    for mask in (upper & between, upper & ~between):
        subject_edges = (matrices > 0) & mask
        mean_count = subject_edges.sum() / len(matrices)
        kept = (consensus > 0) & mask
        # one bin per edge: at most m edges, a few fewer when bins collide
        assert mean_count - 10 <= kept.sum() <= mean_count
        subject_lengths = np.broadcast_to(distance, matrices.shape)[subject_edges]
        kept_lengths = distance[kept]
        # same length distribution: quartiles within 3 mm (lengths span 4-200 mm)
        np.testing.assert_allclose(
            np.percentile(kept_lengths, [25, 50, 75]),
            np.percentile(subject_lengths, [25, 50, 75]),
            atol=3.0,
        )
    # consistency thresholding at the same density would keep shorter edges
    assert (
        distance[consensus > 0].mean()
        > 0.95 * np.broadcast_to(distance, matrices.shape)[matrices > 0].mean()
    )


def test_consensus_tiny_case_by_hand():
    # 5 regions on a line, hemispheres {0, 1, 2} and {3, 4}; 2 subjects.
    # within-hemisphere subject edges: (0,1) x2, (1,2) x2, (0,2) x1 -> m = 2.5;
    # lengths 1, 1, 1, 1, 2: F(1) = 0.8, round(0.8 * 2.5) = 2, so length 1 is in
    # bin 3 and length 2 in bin round(2.5) + 1 = 3: neither visited (k <= 2);
    # the shortest length opens bin 1, bin 2 is empty -> one edge, of length 1
    a = np.zeros((2, 5, 5))
    a[:, 0, 1] = [1.0, 1.0]
    a[:, 1, 2] = [2.0, 2.0]  # as consistent as (0,1), heavier: wins the tie
    a[0, 0, 2] = 5.0
    a[:, 2, 3] = [1.0, 1.0]  # the only between-hemisphere edge: m = 2, one bin
    a = a + a.transpose(0, 2, 1)
    x = np.arange(5.0)
    distance = np.abs(x[:, None] - x[None, :])
    consensus = consensus_structural(a, distance, ["L", "L", "L", "R", "R"], weighted=False)
    expected = np.zeros((5, 5))
    expected[1, 2] = expected[2, 1] = 1.0
    expected[2, 3] = expected[3, 2] = 1.0
    np.testing.assert_array_equal(consensus, expected)


def test_consensus_hemisphere_labels_and_node_order(cohort):
    matrices, distance, hemisphere = cohort
    reference = consensus_structural(matrices, distance, hemisphere)
    labels = np.where(hemisphere == 0, "right", "left")
    np.testing.assert_array_equal(consensus_structural(matrices, distance, labels), reference)
    np.testing.assert_array_equal(
        consensus_structural(matrices, distance, hemisphere.reshape(-1, 1)), reference
    )
    # no ties in these lengths and weights: relabelling the regions permutes the result
    order = np.random.default_rng(0).permutation(len(hemisphere))
    permuted = consensus_structural(
        matrices[:, order][:, :, order], distance[np.ix_(order, order)], hemisphere[order]
    )
    np.testing.assert_array_equal(permuted > 0, reference[np.ix_(order, order)] > 0)
    np.testing.assert_allclose(permuted, reference[np.ix_(order, order)], rtol=1e-14)


def test_consensus_fixed_bins_keep_the_rounded_count_per_bin(cohort):
    matrices, distance, hemisphere = cohort
    n_bins = 40
    consensus = consensus_structural(matrices, distance, hemisphere, n_bins=n_bins, weighted=False)
    np.testing.assert_array_equal(consensus, consensus.T)
    upper = np.triu(np.ones_like(distance, dtype=bool), 1)
    edges = np.linspace(distance[upper].min(), distance[upper].max(), n_bins + 1)
    edges[-1] += 1.0
    between = hemisphere[:, None] != hemisphere[None, :]
    count = (matrices > 0).sum(axis=0)
    for mask in (upper & between, upper & ~between):
        for low, high in zip(edges[:-1], edges[1:]):
            in_bin = mask & (distance >= low) & (distance < high)
            target = int(np.round(count[in_bin].sum() / len(matrices)))
            kept = (consensus > 0) & in_bin
            assert kept.sum() == target
            if target:  # the kept edges are the most consistent of the bin
                assert count[kept].min() >= np.sort(count[in_bin])[::-1][target - 1]


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        (lambda m, d, h: (m[0], d, h), DataError, "matrices must be 3-dimensional"),
        (lambda m, d, h: (m[:, :, :-1], d, h), DataError, r"matrices must be a stack of square"),
        (
            lambda m, d, h: (m + np.triu(np.ones_like(d), 1), d, h),
            DataError,
            "matrices must be symmetric",
        ),
        (lambda m, d, h: (-m, d, h), DataError, "matrices must be non-negative"),
        (lambda m, d, h: (m, d[:-1, :-1], h), DataError, r"distance must have shape \(100, 100\)"),
        (lambda m, d, h: (m, d * 0, h), DataError, "distance must be > 0 between distinct"),
        (lambda m, d, h: (m, np.triu(d), h), DataError, "distance must be symmetric"),
        (lambda m, d, h: (m, d, h[:-1]), DataError, r"hemisphere must hold one label per region"),
        (lambda m, d, h: (m, d, np.arange(100) % 3), DataError, "exactly two distinct labels"),
        (
            lambda m, d, h: (m, d, np.zeros(100)),
            DataError,
            r"exactly two distinct labels \(.*\); got 1: 0.0",
        ),
    ],
)
def test_consensus_rejects_bad_input(cohort, change, error, match):
    with pytest.raises(error, match=match):
        consensus_structural(*change(*cohort))


def test_consensus_rejects_bad_parameters(cohort):
    with pytest.raises(InvalidParameterError, match="'n_bins' must be > 0"):
        consensus_structural(*cohort, n_bins=0)
    with pytest.raises(InvalidParameterError, match="'weighted' must be True or False"):
        consensus_structural(*cohort, weighted="yes")
    with pytest.raises(InvalidParameterError, match="'average' must be one of"):
        consensus_structural(*cohort, average="median")


# ------------------------------------------------------------------ scaling


def test_scale_structural_closed_forms():
    w = np.array([[5.0, 1.0, 3.0, 0.0], [1.0, 0.0, 0.0, 0.0], [3.0, 0.0, 0.0, 0.0], [0, 0, 0, 0]])
    # strengths without the diagonal: 4, 1, 3, 0 (region 3 has no connections)
    strength = scale_structural(w, "strength")
    np.testing.assert_allclose(strength[0, 1], 1.0 / np.sqrt(4.0 * 1.0), rtol=1e-15)
    np.testing.assert_allclose(strength[0, 2], 3.0 / np.sqrt(4.0 * 3.0), rtol=1e-15)
    assert (strength[3] == 0).all() and (np.diag(strength) == 0).all()
    np.testing.assert_allclose(scale_structural(w, "log")[0, 2], np.log(4.0), rtol=1e-15)
    assert scale_structural(w, "log")[0, 0] == 0.0
    np.testing.assert_allclose(scale_structural(w, "max")[0, 1], 1.0 / 3.0, rtol=1e-15)


def test_scale_structural_strength_is_the_matrix_formula(cohort):
    matrices = cohort[0][:3]
    scaled = scale_structural(matrices, method="strength")
    for matrix, result in zip(matrices, scaled):
        root = np.diag(1.0 / np.sqrt(matrix.sum(axis=1)))
        np.testing.assert_allclose(result, root @ matrix @ root, rtol=1e-13, atol=1e-300)
    # D^-1/2 W D^-1/2 has spectral radius 1 for a connected network
    np.testing.assert_allclose(np.abs(np.linalg.eigvalsh(scaled)).max(axis=-1), 1.0, rtol=1e-12)


def test_scale_structural_batch_axes_are_independent(cohort):
    matrices = cohort[0][:4].reshape(2, 2, 100, 100) * np.array([1.0, 10.0]).reshape(1, 2, 1, 1)
    scaled = scale_structural(matrices, method="max")
    np.testing.assert_allclose(scaled.max(axis=(-2, -1)), 1.0)
    np.testing.assert_allclose(scaled[0, 1], scale_structural(matrices[0, 1], method="max"))
    assert (scale_structural(np.zeros((3, 3)), method="max") == 0).all()


def test_scale_structural_errors():
    with pytest.raises(InvalidParameterError, match="'method' must be one of"):
        scale_structural(np.eye(2), method="sqrt")
    with pytest.raises(DataError, match="adjacency must be non-negative"):
        scale_structural([[0, -1], [-1, 0]])
    with pytest.raises(DataError, match="adjacency must be square"):
        scale_structural(np.zeros((2, 3)))
