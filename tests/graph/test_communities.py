import sys

import networkx as nx
import numpy as np
import pytest

from brainctrl.exceptions import ConvergenceWarning, DataError, InvalidParameterError
from brainctrl.graph import agreement, consensus_partition, modularity, modularity_communities


def set_partitions(n):
    out = [[0]]
    for _ in range(1, n):
        out = [p + [k] for p in out for k in range(max(p) + 2)]
    return np.array(out)


def networkx_modularity(adjacency, labels, gamma=1.0):
    """Newman modularity by networkx (3.6.1), self-loops excluded from the input."""
    graph = nx.from_numpy_array(adjacency)
    communities = [set(np.flatnonzero(labels == c).tolist()) for c in np.unique(labels)]
    return nx.community.modularity(graph, communities, weight="weight", resolution=gamma)


def signed_modularity_by_definition(adjacency, labels, gamma, negative):
    """Signed modularity (Rubinov & Sporns 2011; Gómez et al. 2009) from networkx Q+ and Q-."""
    positive = np.maximum(adjacency, 0)
    negative_part = np.maximum(-adjacency, 0)
    q_positive = networkx_modularity(positive, labels, gamma)
    if negative_part.sum() == 0 or negative == "ignore":
        return q_positive
    q_negative = networkx_modularity(negative_part, labels, gamma)
    v_pos, v_neg = positive.sum(), negative_part.sum()
    if negative == "simple":
        return q_positive - q_negative
    if negative == "symmetric":  # Gómez et al. 2009
        return (v_pos * q_positive - v_neg * q_negative) / (v_pos + v_neg)
    return q_positive - v_neg / (v_pos + v_neg) * q_negative


def signed_matrix(adjacency, gamma, negative):
    """Dense B with Q = Σ B δ, written from Rubinov & Sporns 2011 (eqs. for Q+, Q-)."""

    def part(weights):
        strength = weights.sum(axis=1)
        total = weights.sum()
        return (weights - gamma * np.outer(strength, strength) / total) / total

    positive, negative_part = np.maximum(adjacency, 0), np.maximum(-adjacency, 0)
    matrix = part(positive)
    if negative != "ignore" and negative_part.sum() > 0:
        v_pos, v_neg = positive.sum(), negative_part.sum()
        if negative == "symmetric":
            return (v_pos * matrix - v_neg * part(negative_part)) / (v_pos + v_neg)
        weight = 1.0 if negative == "simple" else v_neg / (v_pos + v_neg)
        matrix = matrix - weight * part(negative_part)
    return matrix


def best_by_enumeration(adjacency, gamma, negative):
    matrix = signed_matrix(adjacency, gamma, negative)
    partitions = set_partitions(adjacency.shape[0])
    same = partitions[:, :, None] == partitions[:, None, :]
    return (same * matrix).sum(axis=(1, 2)).max()


def random_signed(rng, size, n_groups=3):
    labels = rng.integers(0, n_groups, size)
    same = labels[:, None] == labels[None, :]
    weights = np.where(
        same, rng.uniform(0.2, 1.0, (size, size)), rng.uniform(-0.8, 0.3, (size, size))
    )
    weights = np.triu(weights, 1)
    return weights + weights.T


def test_two_disjoint_triangles_closed_form():
    triangle = np.ones((3, 3)) - np.eye(3)
    adjacency = np.kron(np.eye(2), triangle)
    # Q = Σ_c [L_c/m - (d_c/2m)²] = 2 (3/6 - (6/12)²) = 1/2
    assert modularity(adjacency, [0, 0, 0, 1, 1, 1]) == pytest.approx(0.5, abs=1e-14)
    # one community: L/m - 1 = 0
    assert modularity(adjacency, [0] * 6) == pytest.approx(0.0, abs=1e-14)
    # γ = 2: 2 (3/6 - 2 (1/2)²) = 0
    assert modularity(adjacency, [0, 0, 0, 1, 1, 1], gamma=2.0) == pytest.approx(0.0, abs=1e-14)


def test_networkx_barbell_example():
    # networkx documentation: modularity(barbell_graph(3, 0), [{0,1,2},{3,4,5}]) = 0.35714...
    adjacency = nx.to_numpy_array(nx.barbell_graph(3, 0))
    assert modularity(adjacency, [0, 0, 0, 1, 1, 1]) == pytest.approx(0.35714285714285715)


@pytest.mark.parametrize("negative", ["asymmetric", "symmetric", "simple", "ignore"])
@pytest.mark.parametrize("gamma", [0.5, 1.0, 1.7])
def test_signed_modularity_matches_definition(rng, negative, gamma):
    adjacency = random_signed(rng, 12)
    matrix = signed_matrix(adjacency, gamma, negative)
    for _ in range(4):
        labels = rng.integers(0, 3, 12)
        expected = signed_modularity_by_definition(adjacency, labels, gamma, negative)
        assert modularity(adjacency, labels, gamma=gamma, negative=negative) == pytest.approx(
            expected, abs=1e-12
        )
        # the dense B used for enumeration gives the same value
        same = labels[:, None] == labels[None, :]
        assert matrix[same].sum() == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("negative", "bct_type"), [("asymmetric", "sta"), ("symmetric", "gja")])
def test_signed_modularity_matches_bctpy(rng, negative, bct_type):
    # Reference: bctpy 0.6.1. community_louvain returns the Q of its own partition
    # (B="negative_asym" / "negative_sym"); modularity_louvain_und_sign names the same
    # objectives "sta" / "gja" (its "smp" is our "simple").
    bct = pytest.importorskip("bct")
    adjacency = random_signed(rng, 14)
    b_type = {"asymmetric": "negative_asym", "symmetric": "negative_sym"}[negative]
    labels, q = bct.community_louvain(adjacency, B=b_type, seed=1)
    assert modularity(adjacency, labels, negative=negative) == pytest.approx(q, abs=1e-12)
    labels, q = bct.modularity_louvain_und_sign(adjacency, qtype=bct_type, seed=1)
    assert modularity(adjacency, labels, negative=negative) == pytest.approx(q, abs=1e-12)
    labels, q = bct.modularity_louvain_und_sign(adjacency, qtype="smp", seed=1)
    assert modularity(adjacency, labels, negative="simple") == pytest.approx(q, abs=1e-12)


def test_directed_adjacency_is_symmetrised(rng):
    adjacency = rng.uniform(0, 1, (6, 6))
    labels = np.array([0, 0, 1, 1, 2, 2])
    symmetric = (adjacency + adjacency.T) / 2
    assert modularity(adjacency, labels) == pytest.approx(modularity(symmetric, labels))


@pytest.mark.parametrize("negative", ["asymmetric", "symmetric", "simple", "ignore"])
def test_communities_reach_enumerated_optimum(rng, negative):
    adjacency = random_signed(rng, 8)
    best = best_by_enumeration(adjacency, 1.0, negative)
    result = modularity_communities(adjacency, negative=negative, n_runs=10, random_state=0)
    assert result.quality == pytest.approx(best, abs=1e-10)
    assert result.quality == pytest.approx(
        signed_modularity_by_definition(adjacency, result.partition, 1.0, negative), abs=1e-12
    )
    assert result.partitions.shape == (10, 8)
    assert result.quality == pytest.approx(result.qualities.max())


def test_negative_handling_changes_the_partition():
    # two positive groups {0,1,2}, {3,4,5}; node 6 has slightly more positive weight to
    # group 0 (0.35 vs 0.3) but is anti-correlated with node 2 of group 0
    adjacency = np.zeros((7, 7))
    for group in ([0, 1, 2], [3, 4, 5]):
        for i in group:
            for j in group:
                if i != j:
                    adjacency[i, j] = 1.0
    adjacency[6, 0] = adjacency[0, 6] = 0.35
    adjacency[6, 3] = adjacency[3, 6] = 0.3
    adjacency[6, 2] = adjacency[2, 6] = -1.0
    adjacency[0, 3] = adjacency[3, 0] = -1.0
    results = {
        negative: modularity_communities(adjacency, negative=negative, n_runs=5, random_state=0)
        for negative in ("asymmetric", "ignore")
    }
    ignore, asymmetric = results["ignore"].partition, results["asymmetric"].partition
    # positive weights only: node 6 joins the group it has most positive weight to
    assert ignore[6] == ignore[0]
    # with the negative tie to node 2 counted, node 6 goes to the other group
    assert asymmetric[6] == asymmetric[3]
    for negative, result in results.items():
        best = best_by_enumeration(adjacency, 1.0, negative)
        assert result.quality == pytest.approx(best, abs=1e-10)


def test_leiden_agrees_on_clear_structure(rng):
    labels = np.repeat(np.arange(4), 10)
    probability = np.where(labels[:, None] == labels[None, :], 0.7, 0.05)
    upper = np.triu(rng.random((40, 40)) < probability, 1).astype(float)
    adjacency = upper + upper.T
    louvain = modularity_communities(adjacency, n_runs=3, random_state=1)
    leiden = modularity_communities(adjacency, method="leiden", n_runs=3, random_state=1)
    assert leiden.quality == pytest.approx(louvain.quality, abs=1e-10)
    assert leiden.quality == pytest.approx(
        networkx_modularity(adjacency, leiden.partition), abs=1e-12
    )
    same_louvain = louvain.partition[:, None] == louvain.partition[None, :]
    same_leiden = leiden.partition[:, None] == leiden.partition[None, :]
    assert np.array_equal(same_louvain, same_leiden)


@pytest.mark.parametrize("negative", ["asymmetric", "symmetric", "simple"])
def test_leiden_signed_quality_is_checked_independently(rng, negative):
    pytest.importorskip("leidenalg")
    adjacency = random_signed(rng, 20)
    result = modularity_communities(
        adjacency, method="leiden", negative=negative, n_runs=2, random_state=0
    )
    louvain = modularity_communities(adjacency, negative=negative, n_runs=5, random_state=0)
    expected = signed_modularity_by_definition(adjacency, result.partition, 1.0, negative)
    assert result.quality == pytest.approx(expected, abs=1e-12)
    assert result.quality >= louvain.quality - 0.02


def random_directed(rng, size, n_groups=3, signed=False):
    """Directed weighted graph with planted groups; A_ij and A_ji drawn independently."""
    labels = rng.integers(0, n_groups, size)
    same = labels[:, None] == labels[None, :]
    low_between = -0.8 if signed else 0.0
    weights = np.where(
        same, rng.uniform(0.2, 1.0, (size, size)), rng.uniform(low_between, 0.3, (size, size))
    )
    weights *= rng.random((size, size)) < 0.6  # missing arcs, so in- and out-strengths differ
    np.fill_diagonal(weights, 0.0)
    return weights


def directed_matrix(adjacency, gamma, negative):
    """Dense B with Q = Σ B δ: Leicht & Newman 2008 per sign part, combined as in
    Rubinov & Sporns 2011 / Gómez et al. 2009, written out element by element."""

    def part(weights):
        n = weights.shape[0]
        total = weights.sum()
        out_strength = [sum(weights[i, j] for j in range(n)) for i in range(n)]
        in_strength = [sum(weights[i, j] for i in range(n)) for j in range(n)]
        matrix = np.empty((n, n))
        for i in range(n):
            for j in range(n):
                matrix[i, j] = weights[i, j] - gamma * out_strength[i] * in_strength[j] / total
        return matrix / total

    positive, negative_part = np.maximum(adjacency, 0), np.maximum(-adjacency, 0)
    matrix = part(positive)
    if negative != "ignore" and negative_part.sum() > 0:
        v_pos, v_neg = positive.sum(), negative_part.sum()
        if negative == "symmetric":
            return (v_pos * matrix - v_neg * part(negative_part)) / (v_pos + v_neg)
        weight = 1.0 if negative == "simple" else v_neg / (v_pos + v_neg)
        matrix = matrix - weight * part(negative_part)
    return matrix


def test_directed_modularity_four_nodes_by_hand():
    # arcs 0→1 (2), 1→0 (1), 1→2 (1), 2→3 (3), 3→2 (1), 0→3 (1); m = 9
    adjacency = np.zeros((4, 4))
    adjacency[0, 1], adjacency[1, 0], adjacency[1, 2] = 2.0, 1.0, 1.0
    adjacency[2, 3], adjacency[3, 2], adjacency[0, 3] = 3.0, 1.0, 1.0
    # k_out = (3, 2, 3, 1), k_in = (1, 2, 2, 4)
    # partition {0, 1}, {2, 3}:
    #   {0, 1}: A_01 + A_10 = 3, null (3 + 2)(1 + 2)/9 = 15/9
    #   {2, 3}: A_23 + A_32 = 4, null (3 + 1)(2 + 4)/9 = 24/9
    #   Q = (1/9) (3 - 15/9 + 4 - 24/9) = 24/81 = 8/27
    partition = [0, 0, 1, 1]
    assert modularity(adjacency, partition, directed=True) == pytest.approx(8 / 27, abs=1e-15)
    # γ = 1/2: (1/9) (7 - (15 + 24)/18) = 29/54
    assert modularity(adjacency, partition, gamma=0.5, directed=True) == pytest.approx(
        29 / 54, abs=1e-15
    )
    # undirected, (A + Aᵀ)/2: k = (2, 2, 5/2, 5/2), 2m = 9
    #   Q = (1/9) (3 - 16/9 + 4 - 25/9) = 22/81; the difference is (1/9) Σ_c D_c² / 36
    #   with D_c = Σ_(i in c) (k_in - k_out) = -2 and 2: 8/324 = 2/81
    assert modularity(adjacency, partition) == pytest.approx(22 / 81, abs=1e-15)
    # one community: Σ A = m and Σ k_out Σ k_in / m = m, so Q = 0
    assert modularity(adjacency, [0] * 4, directed=True) == pytest.approx(0.0, abs=1e-15)
    # singletons: no self-loops, -(1/81) Σ_i k_out,i k_in,i = -(3 + 4 + 6 + 4)/81
    assert modularity(adjacency, [0, 1, 2, 3], directed=True) == pytest.approx(-17 / 81, abs=1e-15)


@pytest.mark.parametrize("gamma", [0.5, 1.0, 1.7])
def test_directed_modularity_matches_bctpy_modularity_dir(rng, gamma):
    # Reference: bctpy 0.6.1 modularity_dir(A, gamma, kci) returns
    # Σ δ (b + bᵀ) / 2m with b = A - γ k_out k_inᵀ / m (Leicht & Newman 2008).
    bct = pytest.importorskip("bct")
    adjacency = random_directed(rng, 14)
    for _ in range(4):
        labels = rng.integers(0, 4, 14)
        _, expected = bct.modularity_dir(adjacency, gamma=gamma, kci=labels)
        assert modularity(adjacency, labels, gamma=gamma, directed=True) == pytest.approx(
            expected, abs=1e-14
        )
    # the undirected default differs on this graph
    assert abs(modularity(adjacency, labels, gamma=gamma) - expected) > 1e-4


@pytest.mark.parametrize("negative", ["asymmetric", "symmetric", "simple", "ignore"])
def test_signed_directed_modularity_from_bctpy_parts(rng, negative):
    # Q± of each sign part by bctpy 0.6.1 modularity_dir, combined by the definitions
    bct = pytest.importorskip("bct")
    adjacency = random_directed(rng, 12, signed=True)
    positive, negative_part = np.maximum(adjacency, 0), np.maximum(-adjacency, 0)
    v_pos, v_neg = positive.sum(), negative_part.sum()
    matrix = directed_matrix(adjacency, 1.3, negative)
    for _ in range(4):
        labels = rng.integers(0, 3, 12)
        q_pos = bct.modularity_dir(positive, gamma=1.3, kci=labels)[1]
        q_neg = bct.modularity_dir(negative_part, gamma=1.3, kci=labels)[1]
        expected = {
            "asymmetric": q_pos - v_neg / (v_pos + v_neg) * q_neg,
            "symmetric": (v_pos * q_pos - v_neg * q_neg) / (v_pos + v_neg),
            "simple": q_pos - q_neg,
            "ignore": q_pos,
        }[negative]
        got = modularity(adjacency, labels, gamma=1.3, negative=negative, directed=True)
        assert got == pytest.approx(expected, abs=1e-13)
        assert matrix[labels[:, None] == labels[None, :]].sum() == pytest.approx(
            expected, abs=1e-13
        )


def test_directed_modularity_matches_leidenalg_quality(rng):
    # Reference: leidenalg 0.12.0 RBConfigurationVertexPartition on a directed igraph
    # graph, Σ_ij (A_ij - γ k_out,i k_in,j / m) δ; self-loops counted once.
    igraph = pytest.importorskip("igraph")
    leidenalg = pytest.importorskip("leidenalg")
    adjacency = random_directed(rng, 15)
    adjacency[4, 4] = 0.6
    rows, cols = np.nonzero(adjacency)
    graph = igraph.Graph(n=15, edges=list(zip(rows.tolist(), cols.tolist())), directed=True)
    graph.es["weight"] = adjacency[rows, cols].tolist()
    for _ in range(3):
        labels = rng.integers(0, 4, 15)
        partition = leidenalg.RBConfigurationVertexPartition(
            graph, initial_membership=labels.tolist(), weights="weight", resolution_parameter=0.8
        )
        expected = partition.quality() / adjacency.sum()
        got = modularity(adjacency, labels, gamma=0.8, directed=True)
        assert got == pytest.approx(expected, abs=1e-13)


def test_directed_option_leaves_symmetric_input_unchanged(rng):
    adjacency = random_signed(rng, 20)
    labels = rng.integers(0, 3, 20)
    for negative in ("asymmetric", "symmetric", "simple", "ignore"):
        assert modularity(adjacency, labels, negative=negative, directed=True) == modularity(
            adjacency, labels, negative=negative
        )
    directed = modularity_communities(adjacency, n_runs=3, random_state=2, directed=True)
    undirected = modularity_communities(adjacency, n_runs=3, random_state=2)
    assert np.array_equal(directed.partitions, undirected.partitions)
    assert np.array_equal(directed.qualities, undirected.qualities)


@pytest.mark.parametrize(
    ("signed", "negative"),
    [
        (False, "asymmetric"),  # without negative weights every option is the same
        (True, "asymmetric"),
        (True, "symmetric"),
        (True, "simple"),
        (True, "ignore"),
    ],
)
def test_directed_communities_reach_enumerated_optimum(rng, signed, negative):
    # signed directed graphs give the engine four null factors per node (no vectorised
    # search for improvable nodes: every node is swept); unsigned give two
    for _ in range(2):
        adjacency = random_directed(rng, 8, signed=signed)
        matrix = directed_matrix(adjacency, 1.0, negative)
        partitions = set_partitions(8)
        same = partitions[:, :, None] == partitions[:, None, :]
        best = (same * matrix).sum(axis=(1, 2)).max()
        result = modularity_communities(
            adjacency, negative=negative, n_runs=10, random_state=0, directed=True
        )
        assert result.quality == pytest.approx(best, abs=1e-10)
        labels = result.partition
        assert result.quality == pytest.approx(
            matrix[labels[:, None] == labels[None, :]].sum(), abs=1e-12
        )


def planted_directed(rng, sizes=(20, 20, 20), p_in=0.35, p_out=0.05):
    """Directed SBM: each arc i→j present independently, weight U(0.5, 1.5)."""
    truth = np.repeat(np.arange(len(sizes)), sizes)
    n = truth.size
    probability = np.where(truth[:, None] == truth[None, :], p_in, p_out)
    adjacency = (rng.random((n, n)) < probability) * rng.uniform(0.5, 1.5, (n, n))
    np.fill_diagonal(adjacency, 0.0)
    return adjacency, truth


def test_directed_planted_partition_recovered_by_louvain_and_leiden(rng):
    from sklearn.metrics import normalized_mutual_info_score

    bct = pytest.importorskip("bct")
    adjacency, truth = planted_directed(rng)
    assert np.abs(adjacency - adjacency.T).max() > 0.5
    louvain = modularity_communities(adjacency, n_runs=4, random_state=0, directed=True)
    assert normalized_mutual_info_score(truth, louvain.partition) > 0.9
    truth_quality = bct.modularity_dir(adjacency, kci=truth)[1]  # bctpy 0.6.1
    assert louvain.quality >= truth_quality - 1e-12
    assert louvain.quality == pytest.approx(
        bct.modularity_dir(adjacency, kci=louvain.partition)[1], abs=1e-13
    )
    pytest.importorskip("leidenalg")
    leiden = modularity_communities(
        adjacency, method="leiden", n_runs=2, random_state=0, directed=True
    )
    assert normalized_mutual_info_score(truth, leiden.partition) > 0.9
    assert leiden.quality == pytest.approx(
        bct.modularity_dir(adjacency, kci=leiden.partition)[1], abs=1e-13
    )
    assert leiden.quality >= louvain.quality - 1e-3


def test_leiden_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "leidenalg", None)
    with pytest.raises(ImportError, match=r"brainctrl\[leiden\]"):
        modularity_communities(np.ones((3, 3)), method="leiden", n_runs=1)


def test_same_seed_same_partitions(rng):
    adjacency = random_signed(rng, 30)
    first = modularity_communities(adjacency, n_runs=4, random_state=5)
    second = modularity_communities(adjacency, n_runs=4, random_state=5)
    assert np.array_equal(first.partitions, second.partitions)


def test_agreement_hand_computed_and_by_loop(rng):
    partitions = np.array([[0, 0, 1, 1], [0, 1, 1, 1], [2, 2, 2, 5]])
    expected = (
        np.array(
            [
                [3, 2, 1, 0],
                [2, 3, 2, 1],
                [1, 2, 3, 2],
                [0, 1, 2, 3],
            ]
        )
        / 3
    )
    assert np.allclose(agreement(partitions), expected)
    many = rng.integers(0, 5, (7, 15))
    loop = np.zeros((15, 15))
    for row in many:
        for i in range(15):
            for j in range(15):
                loop[i, j] += row[i] == row[j]
    assert np.allclose(agreement(many), loop / 7)
    assert np.allclose(agreement(many[0]), loop_single(many[0]))


def loop_single(labels):
    return (labels[:, None] == labels[None, :]).astype(float)


def test_consensus_recovers_majority():
    truth = np.repeat([0, 1, 2], 6)
    partitions = np.tile(truth, (10, 1))
    partitions[0, [0, 1]] = 2  # occasional errors
    partitions[3, 7] = 0
    partitions[5, 12] = 1
    consensus = consensus_partition(partitions, random_state=0)
    assert np.array_equal(
        consensus[:, None] == consensus[None, :], truth[:, None] == truth[None, :]
    )


def test_consensus_without_agreement_gives_singletons():
    partitions = np.array([[0, 1, 2, 3], [0, 0, 1, 1], [1, 0, 0, 1]])
    assert consensus_partition(partitions, threshold=0.7, random_state=0).tolist() == [0, 1, 2, 3]


def test_consensus_warns_when_runs_disagree():
    # a ring of agreements: every run settles on some rotation of adjacent pairs
    size = 12
    pairs_a = np.arange(size) // 2
    pairs_b = ((np.arange(size) + 1) % size) // 2
    partitions = np.stack([pairs_a, pairs_b])
    with pytest.warns(ConvergenceWarning, match="still disagree after max_iter=1"):
        labels = consensus_partition(partitions, threshold=0.0, max_iter=1, random_state=0)
    assert labels.shape == (size,)


def test_errors():
    adjacency = np.ones((3, 3))
    with pytest.raises(InvalidParameterError, match="'method' must be one of"):
        modularity_communities(adjacency, method="infomap")
    with pytest.raises(InvalidParameterError, match="'negative' must be one of"):
        modularity_communities(adjacency, negative="abs")
    with pytest.raises(InvalidParameterError, match="'negative' must be one of"):
        modularity(adjacency, [0, 0, 0], negative="abs")
    with pytest.raises(InvalidParameterError, match="'gamma' must be >= 0"):
        modularity_communities(adjacency, gamma=-1.0)
    with pytest.raises(InvalidParameterError, match="'n_runs' must be > 0"):
        modularity_communities(adjacency, n_runs=0)
    with pytest.raises(DataError, match="adjacency must be square"):
        modularity_communities(np.ones((3, 4)))
    with pytest.raises(DataError, match="no positive weights"):
        modularity_communities(-np.ones((3, 3)))
    with pytest.raises(DataError, match="no positive weights"):
        modularity(np.zeros((3, 3)), [0, 0, 0])
    with pytest.raises(DataError, match=r"partition must be integer labels of shape \(3,\)"):
        modularity(adjacency, [0, 1])
    with pytest.raises(DataError, match="partitions must be integer labels"):
        agreement(np.array([[0.5, 1.0]]))
    with pytest.raises(InvalidParameterError, match=r"'threshold' must be in \[0, 1\]"):
        consensus_partition([[0, 1]], threshold=1.5)
    with pytest.raises(InvalidParameterError, match="'max_iter' must be > 0"):
        consensus_partition([[0, 1]], max_iter=0)
    with pytest.raises(InvalidParameterError, match="'directed' must be True or False; got 'yes'"):
        modularity(adjacency, [0, 0, 0], directed="yes")
    with pytest.raises(InvalidParameterError, match="'directed' must be True or False; got 1"):
        modularity_communities(adjacency, directed=1)
    with pytest.raises(InvalidParameterError, match="'directed' must be True or False; got None"):
        modularity_communities(adjacency, method="leiden", directed=None)
