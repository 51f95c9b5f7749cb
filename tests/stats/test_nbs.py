"""Tests of brainctrl.stats.network_based_statistic.

Components are checked against networkx; edge statistics against scipy 1.17 and
statsmodels 0.15.0.
"""

import networkx as nx
import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from brainctrl.exceptions import DataError, InvalidParameterError
from brainctrl.stats import network_based_statistic
from brainctrl.stats._nbs import _components


def _planted(rng, *, n=40, n_nodes=20, effect=1.5, nodes=range(6), covariate=True):
    group = (np.arange(n) % 2).astype(float)
    age = rng.normal(size=n) + 0.7 * group
    rows, cols = np.triu_indices(n_nodes, 1)
    edges = rng.normal(size=(n, rows.size)) + (0.8 * age[:, None] if covariate else 0.0)
    nodes = set(nodes)
    planted = np.array([r in nodes and c in nodes for r, c in zip(rows, cols)])
    edges[:, planted] += effect * group[:, None]
    return edges, pd.DataFrame({"group": group, "age": age}), planted


def test_components_match_networkx():
    n_nodes = 9
    rows, cols = np.triu_indices(n_nodes, 1)
    index = np.column_stack([rows, cols])
    t = np.zeros(rows.size)
    chosen = {(0, 1): 4.0, (1, 2): 3.5, (0, 2): 5.0, (4, 5): 3.2, (6, 7): -4.0, (7, 8): -3.1}
    for (i, j), value in chosen.items():
        t[np.flatnonzero((rows == i) & (cols == j))[0]] = value
    t[np.flatnonzero((rows == 3) & (cols == 8))[0]] = 2.9  # below threshold

    found, sizes = _components(t, index, n_nodes, 3.0, alternative="two-sided", statistic="extent")
    graph_pos = nx.Graph([e for e, v in chosen.items() if v > 3])
    graph_neg = nx.Graph([e for e, v in chosen.items() if v < -3])
    expected = {
        (frozenset(graph.subgraph(c).edges()), sign)
        for graph, sign in ((graph_pos, 1), (graph_neg, -1))
        for c in nx.connected_components(graph)
    }
    got = {
        (frozenset(tuple(int(v) for v in index[k]) for k in members), sign)
        for members, sign in found
    }
    assert got == expected
    assert sorted(sizes) == [1.0, 2.0, 3.0]

    found, sizes = _components(
        t, index, n_nodes, 3.0, alternative="greater", statistic="intensity"
    )
    by_nodes = {frozenset(index[m].ravel().tolist()): s for (m, _), s in zip(found, sizes)}
    # intensity: sum of (t - threshold) = 1 + 0.5 + 2 and 0.2
    assert by_nodes == pytest.approx({frozenset({0, 1, 2}): 3.5, frozenset({4, 5}): 0.2})
    found, sizes = _components(t, index, n_nodes, 3.0, alternative="less", statistic="extent")
    assert len(found) == 1 and found[0][1] == -1 and sizes.tolist() == [2.0]


def test_edge_t_matches_ttest_and_statsmodels(rng):
    edges, phenotype, _ = _planted(rng, n=30, n_nodes=6)
    plain = network_based_statistic(edges, phenotype, contrast="group", n_permutations=0)
    group = phenotype["group"].to_numpy() == 1
    expected = stats.ttest_ind(edges[group], edges[~group]).statistic
    np.testing.assert_allclose(plain.t, expected, rtol=1e-10)
    adjusted = network_based_statistic(edges, phenotype, formula="group + age", n_permutations=0)
    for k in (0, 7, 14):
        fit = smf.ols("y ~ group + age", phenotype.assign(y=edges[:, k])).fit()
        np.testing.assert_allclose(adjusted.t[k], fit.tvalues["group"], rtol=1e-10)


def test_planted_subnetwork_detected_with_covariate(rng):
    edges, phenotype, planted = _planted(rng)
    result = network_based_statistic(
        edges, phenotype, formula="group + age", threshold=3.0, n_permutations=200, random_state=0
    )
    assert result.p_fwe[0] < 0.05
    found = np.zeros(planted.size, dtype=bool)
    found[result.components[0]] = True
    precision = (found & planted).sum() / found.sum()
    recall = (found & planted).sum() / planted.sum()
    assert precision >= 0.8 and recall >= 0.6, (precision, recall)
    table = result.to_frame()
    assert table.loc[0, "sign"] == 1 and table.loc[0, "n_edges"] == found.sum()
    labels = result.component_matrix(alpha=0.05)
    np.testing.assert_array_equal(labels, labels.T)
    assert set(np.unique(labels[labels > 0])) == {1}
    # each component's p-value is the exceedance fraction of the reported null maxima
    null = result.null_distribution
    np.testing.assert_allclose(
        result.p_fwe, [(1 + (null >= s).sum()) / (null.size + 1) for s in result.component_sizes]
    )


def test_negative_effect_needs_less_or_two_sided(rng):
    edges, phenotype, planted = _planted(rng, effect=-1.8, covariate=False)
    right = network_based_statistic(edges, phenotype, n_permutations=100, random_state=1)
    left = network_based_statistic(
        edges, phenotype, n_permutations=100, alternative="less", random_state=1
    )
    both = network_based_statistic(
        edges, phenotype, n_permutations=100, alternative="two-sided", random_state=1
    )
    assert right.p_fwe.size == 0 or right.p_fwe.min() > 0.05
    assert right.alternative == "greater" and both.alternative == "two-sided"
    for result in (left, both):
        assert result.p_fwe[0] < 0.05 and result.component_signs[0] == -1
        assert planted[result.components[0]].mean() >= 0.8
    # "less" is "greater" of the negated contrast (a group coded the other way round)
    flipped = network_based_statistic(
        edges, phenotype.assign(group=1 - phenotype["group"]), n_permutations=100, random_state=1
    )
    np.testing.assert_allclose(flipped.t, -left.t, rtol=1e-12)
    np.testing.assert_array_equal(flipped.component_sizes, left.component_sizes)
    np.testing.assert_array_equal(flipped.p_fwe, left.p_fwe)


@pytest.mark.parametrize(
    ("tail", "alternative"), [("right", "greater"), ("left", "less"), ("both", "two-sided")]
)
def test_deprecated_tail_warns_and_equals_alternative(rng, tail, alternative):
    edges, phenotype, _ = _planted(rng, n=24, n_nodes=8, effect=-1.5, covariate=False)
    common = {"threshold": 2.0, "n_permutations": 30, "random_state": 0}
    with pytest.warns(FutureWarning, match=rf"tail='{tail}'.*alternative='{alternative}'"):
        old = network_based_statistic(edges, phenotype, tail=tail, **common)
    new = network_based_statistic(edges, phenotype, alternative=alternative, **common)
    assert old.alternative == alternative
    np.testing.assert_array_equal(old.component_sizes, new.component_sizes)
    np.testing.assert_array_equal(old.p_fwe, new.p_fwe)
    np.testing.assert_array_equal(old.null_distribution, new.null_distribution)
    assert [c.tolist() for c in old.components] == [c.tolist() for c in new.components]


def test_matrix_and_upper_triangle_inputs_agree(rng):
    edges, phenotype, _ = _planted(rng, n=24, n_nodes=8)
    n_nodes = 8
    rows, cols = np.triu_indices(n_nodes, 1)
    full = np.zeros((24, n_nodes, n_nodes))
    full[:, rows, cols] = edges
    full[:, cols, rows] = edges
    a = network_based_statistic(full, phenotype, n_permutations=30, random_state=2, threshold=2.0)
    b = network_based_statistic(edges, phenotype, n_permutations=30, random_state=2, threshold=2.0)
    np.testing.assert_array_equal(a.t, b.t)
    np.testing.assert_array_equal(a.null_distribution, b.null_distribution)


@pytest.mark.slow
def test_null_familywise_error_rate():
    rng = np.random.default_rng(11)
    n_sims, hits = 60, 0
    for sim in range(n_sims):
        edges, phenotype, _ = _planted(rng, n=20, n_nodes=10, effect=0.0)
        result = network_based_statistic(
            edges,
            phenotype,
            formula="group + age",
            threshold=2.0,
            n_permutations=99,
            random_state=sim,
        )
        hits += bool(result.p_fwe.size and result.p_fwe.min() <= 0.05)
    # binomial(60, 0.05): mean 3, P(X > 9) < 0.002
    assert hits <= 9, hits


def test_null_data_single_run_not_significant(rng):
    edges, phenotype, _ = _planted(rng, effect=0.0)
    result = network_based_statistic(
        edges, phenotype, formula="group + age", n_permutations=200, threshold=2.5, random_state=5
    )
    assert result.p_fwe.size == 0 or result.p_fwe.min() > 0.05


def test_error_paths(rng):
    edges, phenotype, _ = _planted(rng, n=20, n_nodes=6)
    with pytest.raises(DataError, match=r"n_edges = N\(N-1\)/2.*got n_edges = 14"):
        network_based_statistic(edges[:, :14], phenotype)
    matrices = rng.normal(size=(20, 5, 5))
    with pytest.raises(DataError, match="must be symmetric"):
        network_based_statistic(matrices, phenotype)
    with pytest.raises(DataError, match=r"got shape \(20, 5, 4\)"):
        network_based_statistic(matrices[:, :, :4], phenotype)
    with pytest.raises(DataError, match="phenotype has 19 rows but edges has 20"):
        network_based_statistic(edges, phenotype.iloc[:19])
    with pytest.raises(InvalidParameterError, match="'statistic' must be one of"):
        network_based_statistic(edges, phenotype, statistic="mass")
    with pytest.raises(InvalidParameterError, match=r"'tail' must be one of .*got 'two'"):
        network_based_statistic(edges, phenotype, tail="two")
    with pytest.raises(InvalidParameterError, match="'alternative' must be one of"):
        network_based_statistic(edges, phenotype, alternative="both")
    with pytest.raises(TypeError, match=r"got both 'tail' \(deprecated\) and 'alternative'"):
        network_based_statistic(edges, phenotype, tail="left", alternative="less")
    with pytest.raises(TypeError, match=r"unexpected keyword\(s\) \['two_sided'\]"):
        network_based_statistic(edges, phenotype, two_sided=True)
    with pytest.raises(InvalidParameterError, match="give a 'phenotype'"):
        network_based_statistic(edges)
    with pytest.raises(InvalidParameterError, match="'threshold' must be >= 0"):
        network_based_statistic(edges, phenotype, threshold=-1.0)
    constant = edges.copy()
    constant[:, 3] = 1.0
    with pytest.raises(DataError, match=r"zero residual variance .* first \(0, 4\)"):
        network_based_statistic(constant, phenotype)
    with pytest.raises(InvalidParameterError, match="unknown contrast 'sex'"):
        network_based_statistic(edges, phenotype, formula="group + age", contrast="sex")


@pytest.mark.slow
def test_matches_bctpy_nbs_on_two_groups():
    # bctpy 0.6.1 nbs_bct (Zalesky et al.'s algorithm; pooled-variance two-sample
    # t, components of > 1 node, size in edges). Same data: components must be
    # identical; p-values differ only by their independent permutations.
    import contextlib
    import io

    import bct

    rng = np.random.default_rng(5)
    n = 14
    upper = np.triu_indices(n, 1)

    def matrices(count, planted):
        values = rng.standard_normal((count, upper[0].size))
        out = np.zeros((count, n, n))
        out[:, upper[0], upper[1]] = values
        out = out + out.transpose(0, 2, 1)
        if planted:
            for a, b in [(0, 1), (1, 2), (2, 3), (0, 3), (3, 4), (7, 8)]:
                out[:, a, b] += 1.6
                out[:, b, a] += 1.6
        return out

    x, y = matrices(14, True), matrices(12, False)
    k = 1000
    with contextlib.redirect_stdout(io.StringIO()):  # bctpy prints its progress
        p_bct, labelled, _ = bct.nbs_bct(
            x.transpose(1, 2, 0), y.transpose(1, 2, 0), thresh=2.5, k=k, tail="right", seed=0
        )
    group = np.r_[np.ones(14), np.zeros(12)]
    result = network_based_statistic(
        np.concatenate([x, y]),
        pd.DataFrame({"group": group}),
        threshold=2.5,
        n_permutations=k,
        random_state=0,
    )
    reference = []
    for label in np.unique(labelled[labelled > 0]):
        rows, cols = np.nonzero(np.triu(labelled == label, 1))
        reference.append(sorted(zip(rows.tolist(), cols.tolist())))
    ours = [sorted(map(tuple, result.edge_index[c].tolist())) for c in result.components]
    assert ours == reference  # both largest first here: 5 edges, then 2
    np.testing.assert_array_equal(result.component_sizes, [len(c) for c in reference])
    # bctpy: #{null >= size} / k; ours: (1 + #{null >= size}) / (k + 1); the two
    # null samples are independent, so allow 4 standard errors of the difference
    se = np.sqrt(2 * p_bct * (1 - p_bct) / k) + 1 / k
    assert np.all(np.abs(result.p_fwe - p_bct) < 4 * se + 1 / k)
