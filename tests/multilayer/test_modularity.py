import networkx as nx
import numpy as np
import pytest
from sklearn.metrics import normalized_mutual_info_score

from brainctrl.datasets import make_temporal_sbm
from brainctrl.exceptions import DataError, InvalidParameterError
from brainctrl.graph import relabel_ordinal_partition
from brainctrl.multilayer import (
    multilayer_modularity,
    multilayer_modularity_matrix,
    multilayer_quality,
)


def dense_b_from_definition(layers, gamma, omega, coupling, negative="asymmetric"):
    """B and 2μ written element by element from Mucha et al. 2010 (signed layers as documented)."""
    n_layers, n, _ = layers.shape
    gammas = np.broadcast_to(gamma, (n_layers,))
    matrix = np.zeros((n * n_layers, n * n_layers))
    two_mu = 0.0
    for s in range(n_layers):
        positive = np.maximum(layers[s], 0)
        negative_part = np.maximum(-layers[s], 0)
        k_pos, k_neg = positive.sum(1), negative_part.sum(1)
        v_pos, v_neg = positive.sum(), negative_part.sum()
        if negative == "ignore" or v_neg == 0:
            weight = 0.0
        elif negative == "symmetric":  # Gómez et al. 2009: B⁺ − B⁻ over v⁺ + v⁻
            weight = 1.0
        elif negative == "simple":
            weight = v_pos / v_neg
        else:
            weight = v_pos / (v_pos + v_neg)
        for i in range(n):
            for j in range(n):
                value = positive[i, j]
                if v_pos > 0:
                    value -= gammas[s] * k_pos[i] * k_pos[j] / v_pos
                if weight:
                    value -= weight * (
                        negative_part[i, j] - gammas[s] * k_neg[i] * k_neg[j] / v_neg
                    )
                matrix[s * n + i, s * n + j] = value
        two_mu += v_pos + v_neg if negative == "symmetric" else v_pos
    for s in range(n_layers):
        for r in range(n_layers):
            coupled = abs(s - r) == 1 if coupling == "ordinal" else s != r
            if coupled:
                for i in range(n):
                    matrix[s * n + i, r * n + i] = omega
                    two_mu += omega
    return matrix, two_mu


def quality_from_dense(matrix, two_mu, partition):
    labels = np.asarray(partition).T.ravel()  # node i of layer s at s*n + i
    return matrix[labels[:, None] == labels[None, :]].sum() / two_mu


def test_two_layer_two_node_by_hand():
    edge = np.array([[0.0, 1.0], [1.0, 0.0]])
    layers = np.stack([edge, edge])
    # per layer B = A - k kᵀ/2 = [[-1/2, 1/2], [1/2, -1/2]], 2μ = 2 + 2 + 4·(1/2) = 6
    assert multilayer_quality(layers, [[0, 0], [0, 0]], omega=0.5) == pytest.approx(2 / 6)
    # layer 2 split: layer sums 0 and -1, coupling kept by node 0 only: 2·0.5 -> Q = 0
    assert multilayer_quality(layers, [[0, 0], [0, 1]], omega=0.5) == pytest.approx(0.0)
    # all split in both layers, labels persistent: -1 - 1 + 4·0.5 = 0
    assert multilayer_quality(layers, [[0, 0], [1, 1]], omega=0.5) == pytest.approx(0.0)
    # categorical equals ordinal for two layers
    assert multilayer_quality(
        layers, [[0, 0], [0, 0]], omega=0.5, coupling="categorical"
    ) == pytest.approx(2 / 6)


@pytest.mark.parametrize("coupling", ["ordinal", "categorical"])
@pytest.mark.parametrize("negative", ["asymmetric", "symmetric", "simple", "ignore"])
def test_matrix_and_quality_match_definition(rng, coupling, negative):
    n_layers, n = 4, 6
    layers = rng.normal(size=(n_layers, n, n))
    layers = layers + layers.transpose(0, 2, 1)
    gamma = np.array([0.8, 1.0, 1.3, 0.5])
    expected, two_mu_expected = dense_b_from_definition(layers, gamma, 0.7, coupling, negative)
    matrix, two_mu = multilayer_modularity_matrix(
        layers, gamma=gamma, omega=0.7, coupling=coupling, negative=negative
    )
    assert two_mu == pytest.approx(two_mu_expected)
    assert np.allclose(matrix.toarray(), expected, atol=1e-12)
    for _ in range(5):
        partition = rng.integers(0, 3, (n, n_layers))
        value = multilayer_quality(
            layers, partition, gamma=gamma, omega=0.7, coupling=coupling, negative=negative
        )
        assert value == pytest.approx(quality_from_dense(expected, two_mu_expected, partition))


def test_zero_omega_is_weighted_mean_of_layer_modularities(rng):
    layers, _ = make_temporal_sbm(3, 12, n_communities=3, random_state=3)
    partition = rng.integers(0, 3, (12, 3))
    weights = layers.sum(axis=(1, 2))
    per_layer = [
        nx.community.modularity(
            nx.from_numpy_array(layers[s]),
            [
                set(np.flatnonzero(partition[:, s] == c).tolist())
                for c in np.unique(partition[:, s])
            ],
        )
        for s in range(3)
    ]
    expected = np.dot(weights, per_layer) / weights.sum()  # networkx 3.6.1
    assert multilayer_quality(layers, partition, omega=0.0) == pytest.approx(expected)


def test_result_quality_is_independent_q_of_partition():
    layers, _ = make_temporal_sbm(6, 16, random_state=1)
    result = multilayer_modularity(layers, omega=0.5, n_runs=3, random_state=0)
    matrix, two_mu = dense_b_from_definition(layers, 1.0, 0.5, "ordinal")
    assert result.quality == pytest.approx(quality_from_dense(matrix, two_mu, result.partition))
    for partition, quality in zip(result.partitions, result.qualities):
        assert quality == pytest.approx(quality_from_dense(matrix, two_mu, partition))
    assert result.quality == pytest.approx(result.qualities.max())
    assert result.partition.shape == (16, 6)


def leiden_temporal_partition(layers, gamma, omega, seed):
    """leidenalg 0.10+ temporal optimisation of the same quality (RBConfiguration + interslice)."""
    import igraph
    import leidenalg

    n_layers, n, _ = layers.shape
    slices = []
    for s in range(n_layers):
        rows, cols = np.nonzero(np.triu(layers[s], 1))
        graph = igraph.Graph(n=n, edges=list(zip(rows.tolist(), cols.tolist())))
        graph.es["weight"] = layers[s][rows, cols].tolist()
        graph.vs["id"] = list(range(n))
        slices.append(graph)
    layer_graphs, interslice, full = leidenalg.time_slices_to_layers(
        slices, interslice_weight=omega
    )
    partitions = [
        leidenalg.RBConfigurationVertexPartition(
            graph, weights="weight", resolution_parameter=gamma
        )
        for graph in layer_graphs
    ]
    partitions.append(
        leidenalg.CPMVertexPartition(
            interslice, resolution_parameter=0, node_sizes="node_size", weights="weight"
        )
    )
    optimiser = leidenalg.Optimiser()
    optimiser.set_rng_seed(seed)
    optimiser.optimise_partition_multiplex(partitions, n_iterations=-1)
    out = np.empty((n, n_layers), dtype=int)
    out[np.array(full.vs["id"]), np.array(full.vs["slice"])] = partitions[0].membership
    return out


def test_planted_10_layers_40_nodes_against_leiden_and_truth():
    layers, truth = make_temporal_sbm(10, 40, p_in=0.5, random_state=7)
    result = multilayer_modularity(layers, n_runs=4, random_state=0)
    leiden = leiden_temporal_partition(layers, 1.0, 1.0, seed=0)
    assert result.quality >= 0.995 * multilayer_quality(layers, leiden)
    assert result.quality >= multilayer_quality(layers, truth) - 1e-3
    assert normalized_mutual_info_score(truth.ravel(), result.partition.ravel()) > 0.9


@pytest.mark.slow
def test_planted_20_layers_60_nodes_against_leiden_and_truth():
    layers, truth = make_temporal_sbm(20, 60, random_state=2)
    result = multilayer_modularity(layers, n_runs=20, random_state=0)
    leiden = leiden_temporal_partition(layers, 1.0, 1.0, seed=0)
    leiden_quality = multilayer_quality(layers, leiden)
    truth_quality = multilayer_quality(layers, truth)
    assert result.quality >= 0.995 * leiden_quality
    assert result.quality >= truth_quality - 1e-3
    nmi = normalized_mutual_info_score(truth.ravel(), result.partition.ravel())
    assert nmi > 0.9


def test_same_seed_same_result_any_n_jobs():
    layers, _ = make_temporal_sbm(5, 20, random_state=4)
    first = multilayer_modularity(layers, n_runs=3, random_state=9)
    second = multilayer_modularity(layers, n_runs=3, random_state=9, move="random_weighted")
    assert np.array_equal(first.partitions, second.partitions)
    assert np.array_equal(first.qualities, second.qualities)


@pytest.mark.slow
def test_parallel_runs_equal_serial():
    layers, _ = make_temporal_sbm(5, 20, random_state=4)
    serial = multilayer_modularity(layers, n_runs=3, random_state=9)
    parallel = multilayer_modularity(layers, n_runs=3, random_state=9, n_jobs=2)
    assert np.array_equal(serial.partitions, parallel.partitions)


def test_ordinal_result_has_no_spurious_switches():
    layers, _ = make_temporal_sbm(8, 20, random_state=5)
    result = multilayer_modularity(layers, omega=0.3, n_runs=2, random_state=1)
    for partition in result.partitions:
        relabelled = relabel_ordinal_partition(partition)
        kept = (partition[:, 1:] == partition[:, :-1]).sum()
        assert kept == (relabelled[:, 1:] == relabelled[:, :-1]).sum()


def test_identical_layers_and_strong_coupling_give_constant_partition():
    block = np.kron(np.eye(3), np.ones((4, 4)) - np.eye(4))
    layers = np.stack([block] * 5)
    result = multilayer_modularity(layers, omega=1.0, n_runs=2, random_state=0)
    assert (result.partition == result.partition[:, :1]).all()
    assert result.partition[:, 0].tolist() == [0] * 4 + [1] * 4 + [2] * 4


def test_categorical_and_max_move(rng):
    layers, truth = make_temporal_sbm(4, 24, n_changes=0, random_state=6)
    result = multilayer_modularity(
        layers, coupling="categorical", move="max", n_runs=3, random_state=0
    )
    matrix, two_mu = dense_b_from_definition(layers, 1.0, 1.0, "categorical")
    assert result.quality == pytest.approx(quality_from_dense(matrix, two_mu, result.partition))
    assert result.quality >= quality_from_dense(matrix, two_mu, truth) - 1e-12


def test_directed_and_signed_layers(rng):
    layers = rng.normal(size=(3, 8, 8))
    symmetric = (layers + layers.transpose(0, 2, 1)) / 2
    partition = rng.integers(0, 2, (8, 3))
    assert multilayer_quality(layers, partition) == pytest.approx(
        multilayer_quality(symmetric, partition)
    )
    result = multilayer_modularity(layers, n_runs=2, random_state=0, negative="symmetric")
    matrix, two_mu = dense_b_from_definition(symmetric, 1.0, 1.0, "ordinal", "symmetric")
    assert result.quality == pytest.approx(quality_from_dense(matrix, two_mu, result.partition))


def dense_directed_b_from_definition(layers, gamma, omega, coupling, negative="asymmetric"):
    """B and 2μ for directed layers, element by element: per layer and sign part the
    Leicht & Newman (2008) term A_ij - γ k_out,i k_in,j / v, symmetrised (B + Bᵀ)/2,
    parts combined as in the undirected case; coupling as in Mucha et al. 2010."""
    n_layers, n, _ = layers.shape
    gammas = np.broadcast_to(gamma, (n_layers,))
    matrix = np.zeros((n * n_layers, n * n_layers))
    two_mu = 0.0
    for s in range(n_layers):
        parts = []
        for weights in (np.maximum(layers[s], 0), np.maximum(-layers[s], 0)):
            out_strength, in_strength = weights.sum(1), weights.sum(0)
            total = weights.sum()
            block = np.zeros((n, n))
            for i in range(n):
                for j in range(n):
                    if total > 0:
                        forward = (
                            weights[i, j] - gammas[s] * out_strength[i] * in_strength[j] / total
                        )
                        backward = (
                            weights[j, i] - gammas[s] * out_strength[j] * in_strength[i] / total
                        )
                        block[i, j] = (forward + backward) / 2
            parts.append((block, total))
        (b_pos, v_pos), (b_neg, v_neg) = parts
        if negative == "ignore" or v_neg == 0:
            weight = 0.0
        elif negative == "symmetric":
            weight = 1.0
        elif negative == "simple":
            weight = v_pos / v_neg
        else:
            weight = v_pos / (v_pos + v_neg)
        matrix[s * n : (s + 1) * n, s * n : (s + 1) * n] = b_pos - weight * b_neg
        two_mu += v_pos + v_neg if negative == "symmetric" else v_pos
    for s in range(n_layers):
        for r in range(n_layers):
            coupled = abs(s - r) == 1 if coupling == "ordinal" else s != r
            if coupled:
                for i in range(n):
                    matrix[s * n + i, r * n + i] = omega
                    two_mu += omega
    return matrix, two_mu


def directed_layers(rng, n_layers, n, signed=False):
    layers = rng.uniform(-0.6 if signed else 0.0, 1.0, (n_layers, n, n))
    layers *= rng.random((n_layers, n, n)) < 0.6
    layers[:, np.arange(n), np.arange(n)] = 0.0
    return layers


@pytest.mark.parametrize("coupling", ["ordinal", "categorical"])
@pytest.mark.parametrize("negative", ["asymmetric", "symmetric", "simple", "ignore"])
def test_directed_matrix_and_quality_match_definition(rng, coupling, negative):
    layers = directed_layers(rng, 4, 6, signed=True)
    gamma = np.array([0.8, 1.0, 1.3, 0.5])
    expected, two_mu_expected = dense_directed_b_from_definition(
        layers, gamma, 0.7, coupling, negative
    )
    kwargs = {"gamma": gamma, "omega": 0.7, "coupling": coupling, "negative": negative}
    matrix, two_mu = multilayer_modularity_matrix(layers, directed=True, **kwargs)
    assert two_mu == pytest.approx(two_mu_expected, rel=1e-14)
    np.testing.assert_allclose(matrix.toarray(), expected, rtol=0, atol=1e-14)
    for _ in range(5):
        partition = rng.integers(0, 3, (6, 4))
        value = multilayer_quality(layers, partition, directed=True, **kwargs)
        assert value == pytest.approx(
            quality_from_dense(expected, two_mu_expected, partition), abs=1e-14
        )
    # the default symmetrises instead; its matrix differs on these layers
    undirected, _ = multilayer_modularity_matrix(layers, **kwargs)
    assert np.abs(undirected.toarray() - expected).max() > 1e-3


def test_directed_zero_omega_is_weighted_mean_of_bctpy_modularity_dir(rng):
    # bctpy 0.6.1 modularity_dir per layer (Leicht-Newman), weighted by m_s
    bct = pytest.importorskip("bct")
    layers = directed_layers(rng, 3, 10)
    partition = rng.integers(0, 3, (10, 3))
    per_layer = [bct.modularity_dir(layers[s], kci=partition[:, s])[1] for s in range(3)]
    weights = layers.sum(axis=(1, 2))
    expected = np.dot(weights, per_layer) / weights.sum()
    got = multilayer_quality(layers, partition, omega=0.0, directed=True)
    assert got == pytest.approx(expected, abs=1e-14)


def test_directed_option_leaves_symmetric_layers_unchanged(rng):
    layers, _ = make_temporal_sbm(4, 12, random_state=3)
    layers[1] -= 0.3 * layers[2]  # some negative weights
    undirected, two_mu = multilayer_modularity_matrix(layers, omega=0.4)
    directed, two_mu_directed = multilayer_modularity_matrix(layers, omega=0.4, directed=True)
    assert two_mu_directed == two_mu
    assert (directed != undirected).nnz == 0
    first = multilayer_modularity(layers, omega=0.4, n_runs=2, random_state=1)
    second = multilayer_modularity(layers, omega=0.4, n_runs=2, random_state=1, directed=True)
    assert np.array_equal(first.partitions, second.partitions)
    assert np.array_equal(first.qualities, second.qualities)


def set_partitions(n):
    out = [[0]]
    for _ in range(1, n):
        out = [p + [k] for p in out for k in range(max(p) + 2)]
    return np.array(out)


@pytest.mark.parametrize(
    ("signed", "negative", "coupling"),
    [
        (False, "asymmetric", "ordinal"),
        (True, "asymmetric", "ordinal"),
        (True, "symmetric", "categorical"),
        (True, "simple", "ordinal"),
    ],
)
def test_directed_optimiser_reaches_enumerated_optimum(rng, signed, negative, coupling):
    # 2 layers x 4 nodes = 8 node-layers, 4140 partitions; signed directed layers give
    # four null factors per node-layer, so every node is swept in the local moves
    partitions = set_partitions(8)
    same = partitions[:, :, None] == partitions[:, None, :]
    for _ in range(2):
        layers = directed_layers(rng, 2, 4, signed=signed)
        matrix, two_mu = dense_directed_b_from_definition(layers, 1.0, 0.3, coupling, negative)
        best = (same * matrix).sum(axis=(1, 2)).max() / two_mu
        result = multilayer_modularity(
            layers,
            omega=0.3,
            coupling=coupling,
            negative=negative,
            n_runs=8,
            random_state=0,
            directed=True,
        )
        assert result.quality == pytest.approx(best, abs=1e-12)
        assert result.quality == pytest.approx(
            quality_from_dense(matrix, two_mu, result.partition), abs=1e-14
        )


def test_signed_directed_local_moves_sweep_to_a_single_move_optimum(rng):
    # with four factors per node the improvable nodes are not searched at once
    # (_improvable gives None); the phase must still end where no single move helps
    from brainctrl.graph._louvain import _improvable, _local_moves
    from brainctrl.multilayer._modularity import _build

    layers = directed_layers(rng, 3, 8, signed=True)
    problem = _build(layers, 1.0, 0.2, "ordinal", "asymmetric", directed=True)[0]
    assert np.diff(problem.factors.indptr).max() == 4
    labels = np.arange(problem.n_nodes)
    assert _improvable(problem, labels, problem.tolerance()) is None
    dense = problem.dense()
    expected, _ = dense_directed_b_from_definition(layers, 1.0, 0.2, "ordinal")
    np.testing.assert_allclose(dense, expected, rtol=0, atol=1e-14)
    for seed in range(3):
        labels = np.arange(problem.n_nodes)
        _local_moves(problem, labels, np.random.default_rng(seed), "max", problem.tolerance())
        base = dense[labels[:, None] == labels[None, :]].sum()
        for node in range(problem.n_nodes):
            for target in range(problem.n_nodes + 1):
                moved = labels.copy()
                moved[node] = target
                assert dense[moved[:, None] == moved[None, :]].sum() <= base + 1e-9


def test_directed_planted_temporal_partition_recovered(rng):
    # planted partition of make_temporal_sbm; arcs i→j drawn independently per layer
    _, truth = make_temporal_sbm(6, 40, n_communities=4, random_state=11)
    same = truth[:, None, :] == truth[None, :, :]  # (n, n, n_layers)
    probability = np.where(same, 0.4, 0.04).transpose(2, 0, 1)
    layers = (rng.random(probability.shape) < probability) * rng.uniform(
        0.5, 1.5, probability.shape
    )
    layers[:, np.arange(40), np.arange(40)] = 0.0
    assert np.abs(layers - layers.transpose(0, 2, 1)).max() > 0.5
    result = multilayer_modularity(layers, n_runs=4, random_state=0, directed=True)
    assert normalized_mutual_info_score(truth.ravel(), result.partition.ravel()) > 0.9
    truth_quality = multilayer_quality(layers, truth, directed=True)
    assert result.quality >= truth_quality - 1e-3
    matrix, two_mu = dense_directed_b_from_definition(layers, 1.0, 1.0, "ordinal")
    assert result.quality == pytest.approx(
        quality_from_dense(matrix, two_mu, result.partition), abs=1e-13
    )


def test_errors():
    layers = np.stack([np.ones((3, 3))] * 2)
    with pytest.raises(InvalidParameterError, match="'coupling' must be one of"):
        multilayer_modularity(layers, coupling="multiplex")
    with pytest.raises(InvalidParameterError, match="'negative' must be one of"):
        multilayer_quality(layers, np.zeros((3, 2), int), negative="abs")
    with pytest.raises(InvalidParameterError, match="'omega' must be >= 0"):
        multilayer_modularity(layers, omega=-1.0)
    with pytest.raises(InvalidParameterError, match="'move' must be one of"):
        multilayer_modularity(layers, move="greedy")
    with pytest.raises(InvalidParameterError, match="'n_runs' must be > 0"):
        multilayer_modularity(layers, n_runs=0)
    with pytest.raises(
        DataError, match=r"gamma must be a number >= 0 or an array of shape \(2,\)"
    ):
        multilayer_modularity(layers, gamma=[1.0, 1.0, 1.0])
    with pytest.raises(DataError, match="layers of one shape"):
        multilayer_modularity([np.ones((3, 3)), np.ones((4, 4))])
    with pytest.raises(DataError, match="must be 3-dimensional"):
        multilayer_modularity(np.ones((3, 3)))
    with pytest.raises(DataError, match=r"shape \(n_layers, n_regions, n_regions\)"):
        multilayer_modularity(np.ones((2, 3, 4)))
    with pytest.raises(DataError, match="non-finite"):
        multilayer_modularity(np.full((2, 3, 3), np.nan))
    with pytest.raises(DataError, match=r"partition must be integer labels of shape"):
        multilayer_quality(layers, np.zeros((2, 3), int))
    with pytest.raises(DataError, match="modularity is undefined"):
        multilayer_modularity(np.zeros((2, 3, 3)), omega=0.0)
    with pytest.raises(InvalidParameterError, match="'directed' must be True or False; got 'no'"):
        multilayer_modularity(layers, directed="no")
    with pytest.raises(InvalidParameterError, match="'directed' must be True or False; got 0"):
        multilayer_modularity_matrix(layers, directed=0)
    with pytest.raises(InvalidParameterError, match="'directed' must be True or False; got None"):
        multilayer_quality(layers, np.zeros((3, 2), int), directed=None)


def test_empty_layer_and_isolated_nodes(rng):
    layers, _ = make_temporal_sbm(4, 12, random_state=8)
    layers[2] = 0.0  # a layer without edges contributes only its coupling
    layers[:, 5, :] = layers[:, :, 5] = 0.0  # node 5 isolated in every layer
    matrix, two_mu = dense_b_from_definition(layers, 1.0, 0.5, "ordinal")
    partition = rng.integers(0, 3, (12, 4))
    empty = r"1 of 4 layers have no positive weights \(layers \[2\]\)"
    with pytest.warns(UserWarning, match=empty):
        quality = multilayer_quality(layers, partition, omega=0.5)
    assert quality == pytest.approx(quality_from_dense(matrix, two_mu, partition))
    with pytest.warns(UserWarning, match=empty):
        result = multilayer_modularity(layers, omega=0.5, n_runs=2, random_state=0)
    assert result.quality == pytest.approx(quality_from_dense(matrix, two_mu, result.partition))
    # the isolated node is held only by its couplings: it keeps one label across layers
    assert np.unique(result.partition[5]).size == 1


def test_layers_without_positive_weights():
    from brainctrl.exceptions import DataError

    layers = np.abs(np.random.default_rng(0).standard_normal((3, 6, 6)))
    layers = layers + np.swapaxes(layers, 1, 2)
    layers[:, np.arange(6), np.arange(6)] = 0.0
    for bad in (-layers, np.zeros_like(layers)):
        with pytest.raises(DataError, match="no positive weights in any layer"):
            multilayer_modularity(bad, n_runs=1)
    mixed = layers.copy()
    mixed[1] = 0.0
    with pytest.warns(
        UserWarning, match=r"1 of 3 layers have no positive weights \(layers \[1\]\)"
    ):
        multilayer_modularity(mixed, n_runs=1, random_state=0)


def test_an_empty_modularity_matrix_has_an_empty_partition():
    from brainctrl.graph._louvain import louvain_partition

    partition, quality = louvain_partition(np.zeros((0, 0)))
    assert partition.shape == (0,) and quality == 0.0
