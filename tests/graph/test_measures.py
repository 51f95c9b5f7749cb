"""Tests of brainctrl.graph graph measures and thresholding helpers.

Reference implementations: bctpy 0.6.1 and networkx 3.6.1 (the versions in the
test environment); every other expected value is a closed form worked out by
hand in the comments.
"""

import math
from pathlib import Path

import bct
import networkx as nx
import numpy as np
import pandas as pd
import pytest

from brainctrl.exceptions import DataError, InvalidParameterError
from brainctrl.graph import (
    binarize,
    global_graph_measures,
    graph_measures,
    rich_club,
    threshold_absolute,
    threshold_proportional,
    weight_to_length,
)


def _random_weights(rng, n_regions, *, keep=1.0):
    weights = rng.random((n_regions, n_regions))
    weights = (weights + weights.T) / 2
    np.fill_diagonal(weights, 0.0)
    if keep < 1.0:
        cut = np.quantile(weights[np.triu_indices(n_regions, 1)], 1 - keep)
        weights[weights < cut] = 0.0
    return weights


def _path(n_regions):
    return nx.to_numpy_array(nx.path_graph(n_regions))


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("weight", [1.0, 0.3])
def test_complete_graph_closed_forms(weight):
    # K_5 with all weights w: C = w (cycles (w^1/3)^3 over k(k-1) pairs), local
    # efficiency = w in both variants, every shortest path is the direct edge
    n = 5
    adjacency = weight * (np.ones((n, n)) - np.eye(n))
    frame = graph_measures(adjacency)
    np.testing.assert_allclose(frame["strength"], (n - 1) * weight)
    np.testing.assert_allclose(frame["degree"], n - 1)
    np.testing.assert_allclose(frame["clustering"], weight)
    np.testing.assert_allclose(frame["local_efficiency"], weight)
    np.testing.assert_allclose(frame["betweenness"], 0.0, atol=1e-15)
    assert frame.attrs["global"]["global_efficiency"] == pytest.approx(weight)
    assert frame.attrs["global"]["characteristic_path_length"] == pytest.approx(1 / weight)
    original = graph_measures(adjacency, measures="local_efficiency", local_efficiency="original")
    np.testing.assert_allclose(original["local_efficiency"], weight)


def test_path_graph_efficiency_and_betweenness():
    # P4 0-1-2-3: distances 1 (x3), 2 (x2), 3 (x1)
    frame = graph_measures(_path(4))
    # E = (3 * 1 + 2 / 2 + 1 / 3) / 6 = 13 / 18 ; L = (3 + 4 + 3) / 6 = 5 / 3
    assert frame.attrs["global"]["global_efficiency"] == pytest.approx(13 / 18)
    assert frame.attrs["global"]["characteristic_path_length"] == pytest.approx(5 / 3)
    # node 1 lies on 0-2 and 0-3: 4 ordered pairs / ((n-1)(n-2) = 6)
    np.testing.assert_allclose(frame["betweenness"], [0, 2 / 3, 2 / 3, 0], atol=1e-15)
    # no neighbour pair is connected: clustering and local efficiency are 0
    np.testing.assert_allclose(frame["clustering"], 0.0)
    np.testing.assert_allclose(frame["local_efficiency"], 0.0)
    table = global_graph_measures(_path(3))
    assert table.loc[0, "global_efficiency"] == pytest.approx(5 / 6)
    assert table.loc[0, "characteristic_path_length"] == pytest.approx(4 / 3)


def test_star_betweenness_is_one_at_the_centre():
    n = 6
    star = nx.to_numpy_array(nx.star_graph(n - 1))
    frame = graph_measures(star, measures=["betweenness", "clustering"])
    np.testing.assert_allclose(frame["betweenness"], [1.0] + [0.0] * (n - 1), atol=1e-15)
    np.testing.assert_allclose(frame["clustering"], 0.0)


def test_cycle_betweenness_splits_ties():
    # C4: opposite nodes have two shortest paths, each middle node gets 1/2 per
    # ordered pair: (1/2) * 2 / ((n-1)(n-2) = 6) = 1/6
    frame = graph_measures(nx.to_numpy_array(nx.cycle_graph(4)), measures="betweenness")
    np.testing.assert_allclose(frame["betweenness"], 1 / 6)


@pytest.mark.parametrize("kind", ["chain", "lattice", "integer weights"])
def test_betweenness_of_deep_trees_and_ties_matches_bctpy(rng, kind):
    # a long chain (deep shortest-path trees), a ring lattice with random weights,
    # and integer weights (many tied paths) take the kernel's other branches
    n = 60
    if kind == "chain":
        weights = np.zeros((n, n))
        i = np.arange(n - 1)
        weights[i, i + 1] = weights[i + 1, i] = rng.uniform(0.5, 1.5, n - 1)
    else:
        ring = nx.to_numpy_array(nx.watts_strogatz_graph(n, 4, 0.1, seed=1))
        values = rng.uniform(0.2, 1.0, (n, n)) if kind == "lattice" else rng.integers(1, 3, (n, n))
        weights = ring * np.triu(values, 1)
        weights = weights + weights.T
    ours = graph_measures(weights, measures="betweenness")["betweenness"].to_numpy()
    reference = bct.betweenness_wei(bct.weight_conversion(weights, "lengths"))
    np.testing.assert_allclose(ours * (n - 1) * (n - 2), reference, rtol=1e-12, atol=1e-9)
    assert reference.max() > 100


def test_betweenness_with_tied_paths_equals_exact_rational_arithmetic():
    # integer weights: lengths 1, 1/2, 1/3 make many shortest paths of equal length,
    # which float sums may miss by one ulp (as bctpy's == does); networkx on
    # Fraction lengths counts them exactly
    from fractions import Fraction

    rng = np.random.default_rng(3)
    n = 40
    weights = np.triu(rng.integers(1, 4, (n, n)) * (rng.random((n, n)) < 0.15), 1).astype(float)
    weights = weights + weights.T
    graph = nx.from_numpy_array(weights)
    for _, _, data in graph.edges(data=True):
        data["length"] = Fraction(1, int(data["weight"]))
    exact = nx.betweenness_centrality(graph, weight="length", normalized=False)
    exact = 2 * np.array([float(exact[i]) for i in range(n)])  # ordered pairs
    ours = graph_measures(weights, measures="betweenness")["betweenness"].to_numpy()
    np.testing.assert_allclose(ours * (n - 1) * (n - 2), exact, rtol=1e-12, atol=1e-10)
    # the float == of bctpy misses some of these ties
    misses = bct.betweenness_wei(bct.weight_conversion(weights, "lengths"))
    assert np.abs(misses - exact).max() > 1


@pytest.mark.parametrize("short", [1e-6, 1e-12])
def test_betweenness_with_an_edge_near_the_tie_tolerance(short):
    # lengths 1e3, 1e3, `short`, 1, 1: the two middle regions are symmetric. Above the
    # tolerance (1e-10 of a path's length) the short edge lies on no shortest path,
    # as bctpy finds; below it, the paths through it count as ties (the documented
    # rule), symmetrically, and the short edge never makes each middle region the
    # other's predecessor (which gave asymmetric, inflated values).
    weights = np.zeros((4, 4))
    for i, j, length in ((0, 1, 1e3), (0, 2, 1e3), (1, 2, short), (1, 3, 1.0), (2, 3, 1.0)):
        weights[i, j] = weights[j, i] = 1 / length
    ours = graph_measures(weights, measures="betweenness")["betweenness"].to_numpy() * 6
    if short > 1e-10:
        reference = bct.betweenness_wei(bct.weight_conversion(weights, "lengths"))
        np.testing.assert_allclose(ours, reference, atol=1e-12)
        np.testing.assert_allclose(ours, [0, 1, 1, 0], atol=1e-12)
    else:
        np.testing.assert_allclose(ours, [0, 2, 2, 0], atol=1e-12)


def test_local_efficiency_variants_closed_form():
    # node 0 linked (weight a) to 1, 2, 3; neighbours form the path 1-2-3 (unit).
    # Neighbour distances 1, 1, 2 (on 1/w and on (1/w)^(1/3) alike).
    a = 0.8**3
    adjacency = np.zeros((4, 4))
    adjacency[0, 1:] = adjacency[1:, 0] = a
    adjacency[1, 2] = adjacency[2, 1] = adjacency[2, 3] = adjacency[3, 2] = 1.0
    modified = graph_measures(adjacency, measures="local_efficiency")["local_efficiency"]
    original = graph_measures(adjacency, measures="local_efficiency", local_efficiency="original")[
        "local_efficiency"
    ]
    # modified: a^(2/3) * 2 (1 + 1 + 1/2) / (3 * 2); original: 1/2 -> 2^(-1/3)
    assert modified[0] == pytest.approx(0.64 * 5 / 6)
    assert original[0] == pytest.approx(0.64 * 2 * (2 + 2 ** (-1 / 3)) / 6)


def test_participation_equal_split_is_one_minus_one_over_k():
    # node 0 (module 0) has weight 1 to one node in each of 3 modules -> 1 - 1/3
    adjacency = np.zeros((4, 4))
    adjacency[0, 1:] = adjacency[1:, 0] = 1.0
    communities = [0, 0, 1, 2]
    frame = graph_measures(adjacency, communities, measures="participation")
    assert frame["participation"][0] == pytest.approx(2 / 3)
    # leaves put all their weight in one module
    np.testing.assert_allclose(frame["participation"][1:], 0.0)
    # two modules with shares 4 + 4 (weights 2, 2 and 4) -> 1 - 1/2
    adjacency = np.zeros((4, 4))
    adjacency[0, 1:] = adjacency[1:, 0] = [2.0, 2.0, 4.0]
    frame = graph_measures(adjacency, [0, 1, 1, 2], measures="participation")
    assert frame["participation"][0] == pytest.approx(0.5)


def test_within_module_z_uses_sample_sd():
    # module {0, 1, 2} with edges 1-2 (2) and 0-2 (1): within strengths 1, 2, 3,
    # mean 2, sample sd 1 -> z = -1, 0, 1. Module {3, 4}: equal strengths -> 0.
    adjacency = np.zeros((5, 5))
    for i, j, w in [(1, 2, 2.0), (0, 2, 1.0), (3, 4, 1.0), (0, 3, 5.0)]:
        adjacency[i, j] = adjacency[j, i] = w
    frame = graph_measures(adjacency, [7, 7, 7, 9, 9], measures="within_module_z")
    np.testing.assert_allclose(frame["within_module_z"], [-1, 0, 1, 0, 0], atol=1e-12)


def test_within_module_z_relation_to_bctpy(rng):
    # bctpy 0.6.1 module_degree_zscore uses the population sd: larger by sqrt(n/(n-1))
    weights = _random_weights(rng, 24)
    communities = np.repeat([1, 2, 3], [5, 8, 11])
    ours = graph_measures(weights, communities, measures="within_module_z")["within_module_z"]
    sizes = np.bincount(communities)[communities]
    reference = bct.module_degree_zscore(weights, communities)
    np.testing.assert_allclose(ours * np.sqrt(sizes / (sizes - 1)), reference, atol=1e-12)


def test_modularity_two_triangles():
    # two triangles joined by one edge (m = 7): Q = 2 (3/7 - (7/14)^2) = 5/14
    adjacency = nx.to_numpy_array(nx.barbell_graph(3, 0))
    table = global_graph_measures(adjacency, [0, 0, 0, 1, 1, 1], measures="modularity")
    assert table.loc[0, "modularity"] == pytest.approx(5 / 14)
    # everything in one community: Q = 1 - 1 = 0
    frame = graph_measures(adjacency, np.zeros(6, dtype=int), measures="participation")
    assert frame.attrs["global"]["modularity"] == pytest.approx(0.0, abs=1e-15)


def test_modularity_matches_networkx(rng):
    weights = _random_weights(rng, 20, keep=0.4)
    communities = rng.integers(0, 4, 20)
    graph = nx.from_numpy_array(weights)
    sets = [set(np.flatnonzero(communities == c)) for c in np.unique(communities)]
    expected = nx.community.modularity(graph, sets, weight="weight")  # networkx 3.6.1
    table = global_graph_measures(weights, communities)
    assert table.loc[0, "modularity"] == pytest.approx(expected, rel=1e-12)


def test_rich_club_closed_form():
    # K4 on nodes 0-3 (edge 0-1 weight 1, the other five 0.5) and a pendant node 4
    # linked to 0 with weight 0.9. Degrees 4, 3, 3, 3, 1. Levels 1 and 2 keep
    # nodes 0-3: W = 3.5 over E = 6 edges; the 6 largest weights sum to
    # 1 + 0.9 + 4 * 0.5 = 3.9. Level 3 keeps node 0 alone -> NaN.
    adjacency = np.zeros((5, 5))
    for i in range(4):
        for j in range(i + 1, 4):
            adjacency[i, j] = adjacency[j, i] = 0.5
    adjacency[0, 1] = adjacency[1, 0] = 1.0
    adjacency[0, 4] = adjacency[4, 0] = 0.9
    np.testing.assert_allclose(rich_club(adjacency), [3.5 / 3.9, 3.5 / 3.9, np.nan])


def test_rich_club_matches_bctpy_shifted(rng):
    # bctpy 0.6.1 rich_club_wu keeps degree >= k at level k (our level k - 1)
    # and returns NaN where no node is removed (we return 1 there).
    weights = _random_weights(rng, 30, keep=0.3)
    ours = rich_club(weights)
    with np.errstate(invalid="ignore"):
        reference = bct.rich_club_wu(weights)
    compared = ~np.isnan(reference[1 : ours.size + 1])
    assert compared.sum() >= 5
    np.testing.assert_allclose(ours[compared], reference[1 : ours.size + 1][compared])
    degree = np.count_nonzero(weights, axis=1)
    # levels k < min degree keep every node: coefficient 1
    np.testing.assert_allclose(ours[: degree.min() - 1], 1.0)


def test_rich_club_bct_definition_equals_bctpy(rng):
    # Reference: bctpy 0.6.1 rich_club_wu (levels, NaN pattern and values).
    for keep in (0.2, 0.5):
        weights = _random_weights(rng, 25, keep=keep)
        with np.errstate(invalid="ignore"):
            reference = bct.rich_club_wu(weights)
        ours = rich_club(weights, definition="bct")
        np.testing.assert_allclose(ours, reference, rtol=1e-12)
    with pytest.raises(InvalidParameterError, match="'definition' must be one of"):
        rich_club(weights, definition="colizza")


def test_disconnected_graph():
    # triangle 0-1-2 and path 3-4-5-6: pairs across components are unreachable
    adjacency = np.zeros((7, 7))
    for i, j, w in [(0, 1, 0.5), (1, 2, 0.25), (0, 2, 1.0), (3, 4, 1.0), (4, 5, 0.5), (5, 6, 1.0)]:
        adjacency[i, j] = adjacency[j, i] = w
    frame = graph_measures(adjacency)
    assert math.isinf(frame.attrs["global"]["characteristic_path_length"])
    # lengths: triangle 0-1: 2, 1-2: 3 (direct 4), 0-2: 1 -> 1/2 + 1/3 + 1; path 3-4: 1,
    # 4-5: 2, 5-6: 1, 3-5: 3, 4-6: 3, 3-6: 4 -> 1 + 1/2 + 1 + 1/3 + 1/3 + 1/4;
    # both counted twice over 7 * 6 ordered pairs
    reachable = (1 / 2 + 1 / 3 + 1) + (1 + 1 / 2 + 1 + 1 / 3 + 1 / 3 + 1 / 4)
    assert frame.attrs["global"]["global_efficiency"] == pytest.approx(2 * reachable / 42)
    lengths = bct.weight_conversion(adjacency, "lengths")  # bctpy 0.6.1
    np.testing.assert_allclose(frame["betweenness"] * 30, bct.betweenness_wei(lengths))
    # node 0 lies on the 1-2 shortest path (2 ordered pairs); 4 on 3-5, 3-6; 5 on 4-6, 3-6
    np.testing.assert_allclose(frame["betweenness"] * 30, [2, 0, 0, 0, 4, 4, 0])


# --------------------------------------------------------------------------- references


@pytest.mark.parametrize(("keep", "n"), [(1.0, 16), (0.25, 28)])
def test_matches_bctpy_on_random_graphs(rng, keep, n):
    # bctpy 0.6.1: clustering_coef_wu, efficiency_wei (local=True is BCT's local=2,
    # 'original' is local=1), betweenness_wei (ordered pairs, unnormalised),
    # participation_coef, charpath(distance_wei(lengths))
    weights = _random_weights(rng, n, keep=keep)
    communities = rng.integers(1, 5, n)
    frame = graph_measures(weights, communities)
    np.testing.assert_allclose(frame["clustering"], bct.clustering_coef_wu(weights), atol=1e-14)
    np.testing.assert_allclose(
        frame["local_efficiency"], bct.efficiency_wei(weights, local=True), atol=1e-13
    )
    lengths = bct.weight_conversion(weights, "lengths")
    np.testing.assert_allclose(
        frame["betweenness"] * (n - 1) * (n - 2), bct.betweenness_wei(lengths), atol=1e-9
    )
    np.testing.assert_allclose(
        frame["participation"], bct.participation_coef(weights, communities), atol=1e-14
    )
    assert frame.attrs["global"]["global_efficiency"] == pytest.approx(
        bct.efficiency_wei(weights), rel=1e-12
    )
    path_length = bct.charpath(bct.distance_wei(lengths)[0])[0]
    assert frame.attrs["global"]["characteristic_path_length"] == pytest.approx(
        path_length, rel=1e-12
    )
    original = graph_measures(weights, measures="local_efficiency", local_efficiency="original")
    np.testing.assert_allclose(
        original["local_efficiency"], bct.efficiency_wei(weights, local="original"), atol=1e-13
    )


def test_matches_networkx_clustering_and_betweenness(rng):
    # networkx 3.6.1: clustering divides weights by the maximum weight (1 here);
    # betweenness on 'length' = 1/w, normalised by (n-1)(n-2)/2 unordered pairs
    weights = _random_weights(rng, 18, keep=0.4)
    weights /= weights.max()
    graph = nx.from_numpy_array(weights)
    for _, _, data in graph.edges(data=True):
        data["length"] = 1 / data["weight"]
    frame = graph_measures(weights, measures=["clustering", "betweenness"])
    clustering = nx.clustering(graph, weight="weight")
    betweenness = nx.betweenness_centrality(graph, weight="length", normalized=True)
    np.testing.assert_allclose(frame["clustering"], [clustering[i] for i in range(18)])
    np.testing.assert_allclose(frame["betweenness"], [betweenness[i] for i in range(18)])


def test_grid_betweenness_with_ties_matches_networkx():
    graph = nx.grid_2d_graph(4, 5)
    frame = graph_measures(nx.to_numpy_array(graph), measures="betweenness")
    expected = nx.betweenness_centrality(graph, normalized=True)  # networkx 3.6.1
    np.testing.assert_allclose(frame["betweenness"], list(expected.values()), atol=1e-14)


# --------------------------------------------------------------------------- signed weights


def test_signed_separate_columns():
    # 0-1: +0.6, 0-2: -0.4, 1-2: +0.2 ; communities {0, 1}, {2}
    adjacency = np.array([[0, 0.6, -0.4], [0.6, 0, 0.2], [-0.4, 0.2, 0]])
    frame = graph_measures(adjacency, [1, 1, 2], measures=["strength", "participation", "degree"])
    np.testing.assert_allclose(frame["strength"], [0.2, 0.8, -0.2])
    np.testing.assert_allclose(frame["strength_positive"], [0.6, 0.8, 0.2])
    np.testing.assert_allclose(frame["strength_negative"], [0.4, 0.0, 0.4])
    np.testing.assert_allclose(frame["degree"], [2, 2, 2])
    # positive part: node 1 has 0.6 in module 1 and 0.2 in module 2:
    # 1 - (0.75^2 + 0.25^2) = 0.375; node 0 all in module 1 -> 0
    np.testing.assert_allclose(frame["participation"], [0.0, 0.375, 0.0])
    # negative part: 0 and 2 each have one negative edge -> 0; node 1 none -> 0
    np.testing.assert_allclose(frame["participation_negative"], 0.0)


def test_signed_participation_and_clustering_match_bctpy(rng):
    n = 20
    signed = rng.standard_normal((n, n))
    signed = (signed + signed.T) / 2
    np.fill_diagonal(signed, 0.0)
    communities = rng.integers(1, 4, n)  # bctpy 0.6.1 ignores label 0 here: use 1..3
    frame = graph_measures(signed, communities, measures="participation")
    positive, negative = bct.participation_coef_sign(signed, communities)
    np.testing.assert_allclose(frame["participation"], positive, atol=1e-14)
    np.testing.assert_allclose(frame["participation_negative"], negative, atol=1e-14)
    clustering = graph_measures(signed, measures="clustering")
    positive, negative = bct.clustering_coef_wu_sign(signed.copy())
    np.testing.assert_allclose(clustering["clustering"], positive, atol=1e-14)
    np.testing.assert_allclose(clustering["clustering_negative"], negative, atol=1e-14)


def test_negative_ignore_and_absolute(rng):
    signed = rng.standard_normal((12, 12))
    signed = (signed + signed.T) / 2
    np.fill_diagonal(signed, 0.0)
    ignored = graph_measures(signed, negative="ignore", measures=["strength", "clustering"])
    positive = graph_measures(np.clip(signed, 0, None), measures=["strength", "clustering"])
    pd.testing.assert_frame_equal(ignored, positive)
    assert list(ignored.columns) == ["strength", "clustering"]
    absolute = graph_measures(signed, negative="absolute", measures=["strength", "clustering"])
    np.testing.assert_allclose(absolute["strength"], np.abs(signed).sum(axis=1))
    np.testing.assert_allclose(absolute["clustering"], bct.clustering_coef_wu(np.abs(signed)))


# --------------------------------------------------------------------------- batches


def test_batch_equals_single_matrices(rng):
    stack = np.stack([_random_weights(rng, 15, keep=0.5) for _ in range(3)])
    communities = rng.integers(0, 3, (3, 15))
    batch = graph_measures(stack, communities)
    assert batch.index.names == ["window", "region"]
    for window in range(3):
        single = graph_measures(stack[window], communities[window])
        pd.testing.assert_frame_equal(batch.loc[window], single, check_names=False)
        for name, value in single.attrs["global"].items():
            assert batch.attrs["global"][name][window] == pytest.approx(value)
    table = global_graph_measures(stack.reshape(1, 3, 15, 15), communities)
    assert table.index.names == ["batch_0", "batch_1"]
    np.testing.assert_allclose(table["modularity"], batch.attrs["global"]["modularity"])
    subjects = graph_measures(stack, measures="strength", batch_names=["subject"])
    assert subjects.index.names == ["subject", "region"]


def test_node_permutation_permutes_measures(rng):
    weights = _random_weights(rng, 16, keep=0.5)
    communities = rng.integers(0, 3, 16)
    order = rng.permutation(16)
    frame = graph_measures(weights, communities)
    permuted = graph_measures(weights[np.ix_(order, order)], communities[order])
    np.testing.assert_allclose(permuted.to_numpy(), frame.to_numpy()[order], atol=1e-12)


def test_region_names_from_table():
    regions = pd.DataFrame({"name": ["a", "b", "c"], "network": ["x", "x", "y"]})
    frame = graph_measures(_path(3), regions=regions, measures="degree")
    assert list(frame.index) == ["a", "b", "c"]
    np.testing.assert_allclose(frame.loc["b", "degree"], 2)


# --------------------------------------------------------------------------- thresholds


def test_threshold_proportional_keeps_strongest():
    weights = np.array(
        [[0, 0.9, 0.1, 0.5], [0.9, 0, 0.3, -0.8], [0.1, 0.3, 0, 0.2], [0.5, -0.8, 0.2, 0]]
    )
    kept = threshold_proportional(weights, 0.5)  # 3 of 6 connections: 0.9, 0.5, 0.3
    expected = np.zeros((4, 4))
    for i, j, w in [(0, 1, 0.9), (0, 3, 0.5), (1, 2, 0.3)]:
        expected[i, j] = expected[j, i] = w
    np.testing.assert_array_equal(kept, expected)
    kept_abs = threshold_proportional(weights, 1 / 3, absolute=True)  # 0.9 and -0.8
    assert np.count_nonzero(np.triu(kept_abs)) == 2
    assert kept_abs[1, 3] == -0.8
    stack = threshold_proportional(np.stack([weights, weights]), 0.5)
    np.testing.assert_array_equal(stack[1], expected)


def test_threshold_absolute_binarize_lengths():
    weights = np.array([[1.0, 0.5, -0.7], [0.5, 0, 0.2], [-0.7, 0.2, 0]])
    np.testing.assert_array_equal(
        threshold_absolute(weights, 0.4), [[0, 0.5, 0], [0.5, 0, 0], [0, 0, 0]]
    )
    np.testing.assert_array_equal(
        threshold_absolute(weights, 0.4, absolute=True),
        [[0, 0.5, -0.7], [0.5, 0, 0], [-0.7, 0, 0]],
    )
    np.testing.assert_array_equal(binarize(weights), [[0, 1, 1], [1, 0, 1], [1, 1, 0]])
    lengths = weight_to_length(np.abs(weights))
    np.testing.assert_allclose(lengths, [[0, 2, 1 / 0.7], [2, 0, 5], [1 / 0.7, 5, 0]])
    assert math.isinf(weight_to_length([[0, 0], [0, 0]])[0, 1])


# --------------------------------------------------------------------------- errors


def test_input_errors():
    with pytest.raises(DataError, match=r"adjacency must be square .*got shape \(3, 4\)"):
        graph_measures(np.zeros((3, 4)))
    with pytest.raises(DataError, match=r"must be symmetric .* at index \(0, 1\)"):
        graph_measures(np.array([[0, 1.0], [0.5, 0]]))
    stack = np.stack([_path(3), _path(3)])
    stack[1, 0, 2] = 0.5
    with pytest.raises(DataError, match=r"symmetric .* is 0.5 at index \(1, 0, 2\)"):
        graph_measures(stack)
    with pytest.raises(DataError, match="at least 2 regions"):
        graph_measures(np.zeros((1, 1)))
    with pytest.raises(DataError, match="non-finite"):
        graph_measures(np.array([[0, np.nan], [np.nan, 0]]))
    with pytest.raises(InvalidParameterError, match=r"'negative' must be one of .*got 'drop'"):
        graph_measures(_path(3), negative="drop")
    with pytest.raises(InvalidParameterError, match=r"'local_efficiency' must be one of"):
        graph_measures(_path(3), local_efficiency="wang")
    with pytest.raises(InvalidParameterError, match=r"'measures' must be .*got \('pagerank',\)"):
        graph_measures(_path(3), measures="pagerank")
    with pytest.raises(InvalidParameterError, match=r"need 'communities'"):
        graph_measures(_path(3), measures=["participation"])
    with pytest.raises(InvalidParameterError, match=r"'modularity' needs 'communities'"):
        global_graph_measures(_path(3), measures=["modularity"])
    with pytest.raises(InvalidParameterError, match=r"'measures' must be .*got \('strength',\)"):
        global_graph_measures(_path(3), measures="strength")
    with pytest.raises(DataError, match=r"communities must have shape \(3,\).*got shape \(4,\)"):
        graph_measures(_path(3), [0, 0, 1, 1])
    with pytest.raises(DataError, match=r"got shape \(3, 3\)"):
        graph_measures(np.stack([_path(3)] * 2), np.zeros((3, 3), dtype=int))
    with pytest.raises(DataError, match="integer labels; got dtype float64"):
        graph_measures(_path(3), [0.5, 0, 1])
    with pytest.raises(DataError, match="name the 3 regions.*got 2"):
        graph_measures(_path(3), regions=["a", "b"])
    with pytest.raises(DataError, match="'name' column"):
        graph_measures(_path(3), regions=pd.DataFrame({"label": list("abc")}))
    with pytest.raises(InvalidParameterError, match=r"'batch_names' must name the 1 leading"):
        graph_measures(np.stack([_path(3)] * 2), batch_names=("a", "b"))
    with pytest.raises(InvalidParameterError, match=r"'max_level' must be a positive integer"):
        rich_club(_path(3), max_level=0)
    with pytest.raises(InvalidParameterError, match=r"'max_level' must be a positive integer"):
        rich_club(_path(3), max_level=1.5)


def test_threshold_errors():
    with pytest.raises(InvalidParameterError, match=r"'density' must be in \[0, 1\]; got 1.5"):
        threshold_proportional(_path(3), 1.5)
    with pytest.raises(InvalidParameterError, match="'density' must be a number"):
        threshold_proportional(_path(3), "half")
    with pytest.raises(InvalidParameterError, match="'threshold' must be a finite number"):
        threshold_absolute(_path(3), np.nan)
    with pytest.raises(DataError, match=r"non-negative .* first at index \(0, 1\) \(-1\)"):
        weight_to_length([[0, -1.0], [-1.0, 0]])
    with pytest.raises(DataError, match="must be square"):
        binarize(np.zeros(3))


@pytest.mark.parametrize("variant", ["modified", "original"])
@pytest.mark.parametrize("keep", [0.15, 0.8])
def test_local_efficiency_both_paths_match_bctpy(rng, monkeypatch, variant, keep):
    # Neighbourhoods go to the compiled Floyd–Warshall kernel, except large sparse
    # ones (Dijkstra on a block-diagonal graph); lower the size threshold so that
    # small graphs exercise the Dijkstra path too, sparse and dense.
    from brainctrl.graph import _measures

    weights = _random_weights(rng, 40, keep=keep)
    reference = bct.efficiency_wei(weights, local=True if variant == "modified" else "original")
    compiled = graph_measures(weights, measures="local_efficiency", local_efficiency=variant)
    monkeypatch.setattr(_measures, "_SPARSE_NEIGHBOURHOOD", 2)
    dijkstra = graph_measures(weights, measures="local_efficiency", local_efficiency=variant)
    np.testing.assert_allclose(compiled["local_efficiency"], reference, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dijkstra["local_efficiency"], reference, rtol=1e-12, atol=1e-15)
    assert np.count_nonzero(reference) > 30


def test_one_modularity_for_signed_networks_agrees_with_bct():
    """graph_measures' modularity, modularity(negative='asymmetric') and the community
    search's quality are one number: BCT's signed Q for the same partition."""
    from brainctrl.graph import modularity, modularity_communities

    sample = Path(__file__).parents[1] / "data" / "brainfc-rest01" / "timeseries.tsv"
    fc = np.corrcoef(pd.read_csv(sample, sep="\t").to_numpy(float), rowvar=False)
    np.fill_diagonal(fc, 0.0)
    assert (fc < 0).any()
    found = modularity_communities(fc, n_runs=3, random_state=0)
    partition = np.asarray(found.partition)
    # bctpy starting from this partition moves no region (it is a local optimum of
    # the same quality) and reports its Q
    moved, q_bct = bct.community_louvain(fc, gamma=1, ci=partition + 1, B="negative_asym", seed=1)
    assert len(set(zip(moved, partition))) == len(set(partition))
    ours = graph_measures(fc, partition).attrs["global"]["modularity"]
    np.testing.assert_allclose(ours, q_bct, rtol=1e-12)
    np.testing.assert_allclose(modularity(fc, partition, negative="asymmetric"), q_bct, rtol=1e-12)
    np.testing.assert_allclose(found.quality, q_bct, rtol=1e-12)
    # without the negative weights: Newman's Q of the positive part, as bct.modularity_und
    positive = np.clip(fc, 0, None)
    _, q_positive = bct.modularity_und(positive, kci=partition + 1)
    ignored = graph_measures(fc, partition, negative="ignore").attrs["global"]["modularity"]
    np.testing.assert_allclose(ignored, q_positive, rtol=1e-12)


def test_one_negative_vocabulary_across_measures_and_modularity(rng):
    from brainctrl.graph import modularity, modularity_communities
    from brainctrl.multilayer import multilayer_quality

    weights = rng.normal(size=(12, 12))
    weights = (weights + weights.T) / 2
    np.fill_diagonal(weights, 0.0)
    partition = np.repeat([0, 1, 2], 4)
    for rule in ("asymmetric", "symmetric", "simple", "ignore", "absolute"):
        table = graph_measures(weights, partition, negative=rule)
        np.testing.assert_allclose(
            table.attrs["global"]["modularity"],
            modularity(weights, partition, negative=rule),
            rtol=1e-12,
        )
    # absolute: Newman's Q of |W| (bctpy)
    _, q_abs = bct.modularity_und(np.abs(weights), kci=partition + 1)
    np.testing.assert_allclose(modularity(weights, partition, negative="absolute"), q_abs)
    found = modularity_communities(weights, negative="absolute", n_runs=2, random_state=0)
    again = modularity_communities(np.abs(weights), n_runs=2, random_state=0)
    np.testing.assert_array_equal(found.partition, again.partition)
    # multilayer: the same rule per layer
    stack = np.stack([weights, -weights])
    labels = np.stack([partition, partition], axis=1)
    np.testing.assert_allclose(
        multilayer_quality(stack, labels, omega=0.0, negative="absolute"),
        multilayer_quality(np.abs(stack), labels, omega=0.0),
    )
    # the former spelling of graph_measures still works, with a warning
    with pytest.warns(FutureWarning, match="pass negative='asymmetric'"):
        old = graph_measures(weights, partition, negative="separate")
    pd.testing.assert_frame_equal(old, graph_measures(weights, partition))
    with pytest.raises(ValueError, match="'negative' must be one of"):
        modularity(weights, partition, negative="separate")
