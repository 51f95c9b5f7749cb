"""Tests of the reconfiguration measures on hand-written multilayer partitions.

Every expected value is derived by hand from the partition below (comments
show the counting).
"""

import math

import numpy as np
import pandas as pd
import pytest

from brainctrl.exceptions import DataError, InvalidParameterError
from brainctrl.multilayer import (
    cohesion,
    cohesion_matrix,
    disjointedness,
    flexibility,
    integration,
    module_allegiance,
    module_size_entropy,
    network_summary,
    persistence,
    promiscuity,
    reconfiguration_measures,
    recruitment,
    system_interaction,
)

# 5 regions x 4 layers. Changes (step: region a->b):
#   step 0: r1 1->2, r2 1->2 (mutual) | step 1: r3 2->3 | step 2: r1 2->1, r2 2->3
PARTITION = np.array(
    [
        [1, 1, 1, 1],
        [1, 2, 2, 1],
        [1, 2, 2, 3],
        [2, 2, 3, 3],
        [2, 2, 2, 2],
    ]
)
# layers: L0 {0,1,2}{3,4}; L1 {0}{1,2,3,4}; L2 {0}{1,2,4}{3}; L3 {0,1}{2,3}{4}
ALLEGIANCE = np.array(
    [
        [1.0, 0.50, 0.25, 0.00, 0.0],
        [0.50, 1.0, 0.75, 0.25, 0.5],
        [0.25, 0.75, 1.0, 0.50, 0.5],
        [0.00, 0.25, 0.50, 1.0, 0.5],
        [0.0, 0.5, 0.5, 0.5, 1.0],
    ]
)
SYSTEMS = ["A", "A", "A", "B", "B"]


def test_flexibility_and_persistence():
    np.testing.assert_allclose(flexibility(PARTITION), [0, 2 / 3, 2 / 3, 1 / 3, 0])
    np.testing.assert_allclose(persistence(PARTITION), [1, 1 / 3, 1 / 3, 2 / 3, 1])
    # network persistence = 1 - mean flexibility = 1 - (5/3)/5
    assert persistence(PARTITION).mean() == pytest.approx(2 / 3)


def test_promiscuity_both_definitions():
    # K = 3 communities; regions visit {1}, {1,2}, {1,2,3}, {2,3}, {2}
    np.testing.assert_allclose(promiscuity(PARTITION), [1 / 3, 2 / 3, 1, 2 / 3, 1 / 3])
    np.testing.assert_allclose(promiscuity(PARTITION, definition="teneto"), [0, 0.5, 1, 0.5, 0])
    np.testing.assert_allclose(promiscuity(np.ones((3, 4), dtype=int), definition="teneto"), 0)


def test_cohesion_disjointedness():
    np.testing.assert_allclose(cohesion(PARTITION), [0, 1 / 3, 1 / 3, 0, 0])
    np.testing.assert_allclose(disjointedness(PARTITION), [0, 1 / 3, 1 / 3, 1 / 3, 0])
    np.testing.assert_allclose(
        cohesion(PARTITION) + disjointedness(PARTITION), flexibility(PARTITION)
    )
    expected = np.zeros((5, 5))
    expected[1, 2] = expected[2, 1] = 1
    np.testing.assert_array_equal(cohesion_matrix(PARTITION), expected)


def test_cohesion_with_many_labels():
    # 25 regions, region i moves i+1 -> i+2: all changes differ, all independent,
    # labels up to 51 (a power-of-ten encoding of changes collides from ~20 labels).
    n = 25
    partition = np.stack([np.arange(n) + 1, np.arange(n) + 2], axis=1)
    # regions 0 and 1 make opposite moves 50 -> 51 and 51 -> 50: not the same change
    partition[0] = [50, 51]
    partition[1] = [51, 50]
    # regions 2 and 3 make the same move 40 -> 41: mutual
    partition[2] = partition[3] = [40, 41]
    expected_mutual = np.zeros(n)
    expected_mutual[[2, 3]] = 1
    np.testing.assert_array_equal(cohesion(partition), expected_mutual)
    np.testing.assert_array_equal(disjointedness(partition), 1 - expected_mutual)
    assert cohesion_matrix(partition).sum() == 2


def test_module_allegiance_hand_values():
    np.testing.assert_allclose(module_allegiance(PARTITION), ALLEGIANCE)


def test_module_allegiance_over_runs():
    # a second run where everything is one community: allegiance is the mean of
    # the run-level matrices (both runs have 4 layers)
    other = np.ones_like(PARTITION)
    stacked = module_allegiance(np.stack([PARTITION, other]))
    np.testing.assert_allclose(stacked, (ALLEGIANCE + 1) / 2)
    # labels need not agree across layers for allegiance
    relabelled = PARTITION + 10 * np.arange(4)
    np.testing.assert_allclose(module_allegiance(relabelled), ALLEGIANCE)


def test_stacks_keep_the_run_axis():
    stack = np.stack([PARTITION, PARTITION[::-1]])
    np.testing.assert_allclose(flexibility(stack)[1], flexibility(PARTITION)[::-1])
    np.testing.assert_allclose(cohesion(stack)[1], cohesion(PARTITION)[::-1])
    np.testing.assert_allclose(promiscuity(stack)[0], promiscuity(PARTITION))
    assert cohesion_matrix(stack).shape == (2, 5, 5)
    np.testing.assert_allclose(cohesion_matrix(stack)[1, 3, 2], 1)


def test_recruitment_and_integration_per_region():
    # A = {0,1,2}, B = {3,4}
    # recruitment: r0 (P01+P02)/2, r1 (P01+P12)/2, r2 (P02+P12)/2, r3 P34, r4 P34
    np.testing.assert_allclose(recruitment(ALLEGIANCE, SYSTEMS), [0.375, 0.625, 0.5, 0.5, 0.5])
    # integration: r0 (0+0)/2, r1 (0.25+0.5)/2, r2 (0.5+0.5)/2, r3 (0+.25+.5)/3, r4 (0+.5+.5)/3
    np.testing.assert_allclose(integration(ALLEGIANCE, SYSTEMS), [0, 0.375, 0.5, 0.25, 1 / 3])
    # with the diagonal: r0 (1 + 0.5 + 0.25) / 3
    assert recruitment(ALLEGIANCE, SYSTEMS, include_diagonal=True)[0] == pytest.approx(1.75 / 3)


def test_system_interaction_and_system_level():
    regions = pd.DataFrame({"name": list("abcde"), "network": SYSTEMS})
    table = system_interaction(ALLEGIANCE, regions)
    # I_AA = (0.5 + 0.25 + 0.75) / 3 ; I_BB = 0.5 ; I_AB = (0+0+.25+.5+.5+.5) / 6
    expected = np.array([[0.5, 1.75 / 6], [1.75 / 6, 0.5]])
    np.testing.assert_allclose(table.to_numpy(), expected)
    assert list(table.index) == ["A", "B"]
    normalised = system_interaction(ALLEGIANCE, SYSTEMS, normalize=True)
    assert normalised.loc["A", "B"] == pytest.approx((1.75 / 6) / 0.5)
    assert normalised.loc["A", "A"] == pytest.approx(1.0)
    with_diagonal = system_interaction(ALLEGIANCE, SYSTEMS, include_diagonal=True)
    # I_AA = (3 + 2 * 1.5) / 9 ; I_BB = (2 + 2 * 0.5) / 4
    np.testing.assert_allclose(np.diag(with_diagonal), [6 / 9, 0.75])
    per_system = recruitment(ALLEGIANCE, SYSTEMS, per="system")
    np.testing.assert_allclose(per_system.loc[["A", "B"]], [0.5, 0.5])
    np.testing.assert_allclose(integration(ALLEGIANCE, SYSTEMS, per="system"), 1.75 / 6)


def test_module_size_entropy():
    # layer sizes: (3, 2), (1, 4), (1, 3, 1), (2, 2, 1) out of 5
    def entropy(sizes, log):
        return -sum(s / 5 * log(s / 5) for s in sizes)

    layers = [(3, 2), (1, 4), (1, 3, 1), (2, 2, 1)]
    np.testing.assert_allclose(
        module_size_entropy(PARTITION), [entropy(s, math.log2) for s in layers]
    )
    np.testing.assert_allclose(
        module_size_entropy(PARTITION, base=math.e), [entropy(s, math.log) for s in layers]
    )
    np.testing.assert_allclose(
        module_size_entropy(PARTITION, normalize=True),
        [entropy(s, math.log) / math.log(5) for s in layers],
    )
    # one community -> 0 ; all singletons normalised -> 1
    assert module_size_entropy(np.ones((4, 1), dtype=int))[0] == 0
    singletons = np.arange(6)[:, None]
    assert module_size_entropy(singletons, normalize=True)[0] == pytest.approx(1.0)
    assert module_size_entropy(np.stack([PARTITION] * 2)).shape == (2, 4)


def test_network_summary_and_tidy_table():
    regions = pd.DataFrame({"name": list("abcde"), "network": SYSTEMS})
    table = network_summary(flexibility(PARTITION), regions, measure="flexibility")
    # A: (0 + 2/3 + 2/3) / 3 ; B: (1/3 + 0) / 2
    assert list(table.columns) == ["network", "measure", "value", "n_regions"]
    np.testing.assert_allclose(table["value"], [4 / 9, 1 / 6])
    np.testing.assert_array_equal(table["n_regions"], [3, 2])
    runs = network_summary(np.stack([flexibility(PARTITION)] * 2), SYSTEMS, statistic="median")
    assert list(runs["run"]) == [0, 0, 1, 1]
    np.testing.assert_allclose(runs["value"], [2 / 3, 1 / 6] * 2)

    tidy = reconfiguration_measures(PARTITION, regions=regions)
    assert set(tidy["measure"]) == {
        "flexibility",
        "promiscuity",
        "cohesion",
        "disjointedness",
        "recruitment",
        "integration",
    }
    wide = tidy.pivot(index="region", columns="measure", values="value")
    np.testing.assert_allclose(wide.loc[list("abcde"), "flexibility"], flexibility(PARTITION))
    # recruitment from the run's own allegiance equals the hand values above
    np.testing.assert_allclose(
        wide.loc[list("abcde"), "recruitment"], [0.375, 0.625, 0.5, 0.5, 0.5]
    )
    stacked = reconfiguration_measures(np.stack([PARTITION, PARTITION]))
    assert list(stacked.columns) == ["run", "region", "measure", "value"]
    assert len(stacked) == 2 * 4 * 5


def test_errors():
    with pytest.raises(DataError, match=r"partition must have shape .*got shape \(5,\)"):
        flexibility(np.arange(5))
    with pytest.raises(DataError, match=r"at least 2 layer\(s\).*got shape \(5, 1\)"):
        flexibility(np.ones((5, 1), dtype=int))
    with pytest.raises(DataError, match="integer community labels; got non-integer"):
        promiscuity([[0.5, 1.0]])
    with pytest.raises(DataError, match="integer community labels; got dtype"):
        module_allegiance([["a", "b"]])
    with pytest.raises(InvalidParameterError, match=r"'definition' must be one of .*'bassett'"):
        promiscuity(PARTITION, definition="bassett")
    with pytest.raises(DataError, match=r"allegiance must hold fractions in \[0, 1\]"):
        recruitment(ALLEGIANCE * 2, SYSTEMS)
    with pytest.raises(DataError, match="must be square"):
        integration(np.ones((2, 3)), ["A", "B"])
    with pytest.raises(DataError, match=r"one label per region \(5\); got shape \(4,\)"):
        recruitment(ALLEGIANCE, SYSTEMS[:4])
    with pytest.raises(DataError, match="'network' column"):
        system_interaction(ALLEGIANCE, pd.DataFrame({"name": list("abcde")}))
    with pytest.raises(DataError, match="1 missing label"):
        recruitment(ALLEGIANCE, ["A", "A", None, "B", "B"])
    with pytest.raises(InvalidParameterError, match=r"'per' must be one of .*got 'node'"):
        integration(ALLEGIANCE, SYSTEMS, per="node")
    with pytest.raises(InvalidParameterError, match="'base' must be a positive number other"):
        module_size_entropy(PARTITION, base=1)
    with pytest.raises(InvalidParameterError, match="'base' must be a positive number other"):
        module_size_entropy(PARTITION, base="e")
    with pytest.raises(InvalidParameterError, match=r"'statistic' must be one of"):
        network_summary([1.0, 2.0], ["A", "B"], statistic="max")
    with pytest.raises(DataError, match=r"values must have shape .*got shape \(1, 1, 2\)"):
        network_summary(np.ones((1, 1, 2)), ["A", "B"])
    with pytest.raises(DataError, match="DataFrame with a 'name' column"):
        reconfiguration_measures(PARTITION, regions=SYSTEMS)
    with pytest.raises(DataError, match=r"one row per region \(5\); got 2 rows"):
        reconfiguration_measures(PARTITION, regions=pd.DataFrame({"name": ["a", "b"]}))


def test_a_transposed_partition_is_named():
    from brainctrl.exceptions import DataError, OrientationWarning

    partition = np.random.default_rng(0).integers(0, 3, size=(100, 20))
    with pytest.raises(DataError, match=r"It looks transposed: pass partition.T"):
        flexibility(partition.T, n_regions=100)
    with pytest.warns(OrientationWarning, match="pass partition.T"):
        flexibility(partition.T)
    np.testing.assert_array_equal(flexibility(partition, n_regions=100), flexibility(partition))
    assert flexibility(partition).shape == (100,)
