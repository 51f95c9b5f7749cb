import numpy as np
import pytest

from brainctrl.datasets import make_temporal_sbm
from brainctrl.exceptions import InvalidParameterError


def test_layers_are_weighted_symmetric_networks():
    layers, communities = make_temporal_sbm(5, 20, random_state=0)
    assert layers.shape == (5, 20, 20) and communities.shape == (20, 5)
    np.testing.assert_array_equal(layers, np.swapaxes(layers, 1, 2))
    assert not np.diagonal(layers, axis1=1, axis2=2).any()
    weights = layers[layers > 0]
    assert weights.min() >= 0.5 and weights.max() <= 1.5


def test_planted_changes_and_movers():
    layers, communities = make_temporal_sbm(12, 40, n_changes=3, random_state=1)
    # changes at the evenly spaced layers 3, 6 and 9 (linspace(0, 12, 5)[1:-1])
    changed = [t for t in range(1, 12) if (communities[:, t] != communities[:, t - 1]).any()]
    assert changed == [3, 6, 9]
    for t in changed:
        assert (communities[:, t] != communities[:, t - 1]).sum() == 10  # a quarter of 40
    np.testing.assert_array_equal(communities[:, 0], np.repeat(np.arange(4), 10))


def test_edge_densities_follow_the_block_probabilities():
    layers, communities = make_temporal_sbm(
        30, 60, p_in=0.4, p_out=0.1, n_changes=0, random_state=2
    )
    same = communities[:, 0][:, None] == communities[:, 0][None, :]
    upper = np.triu(np.ones((60, 60), dtype=bool), 1)
    edges = layers > 0
    inside = edges[:, same & upper].mean()
    between = edges[:, ~same & upper].mean()
    # 30 layers x 420 (inside) or 1350 (between) pairs: standard errors < 0.005
    assert inside == pytest.approx(0.4, abs=0.02)
    assert between == pytest.approx(0.1, abs=0.02)


def test_same_seed_same_network():
    a = make_temporal_sbm(4, 12, random_state=3)
    b = make_temporal_sbm(4, 12, random_state=3)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_errors():
    with pytest.raises(InvalidParameterError, match=r"'n_communities' \(5\) must not exceed"):
        make_temporal_sbm(3, 4, n_communities=5)
    with pytest.raises(InvalidParameterError, match=r"'p_in' must be in \[0, 1\]; got 1.5"):
        make_temporal_sbm(3, 8, p_in=1.5)
    with pytest.raises(InvalidParameterError, match="'n_layers' must be an integer"):
        make_temporal_sbm(2.5, 8)
