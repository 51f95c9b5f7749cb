"""A temporal stochastic block model: layers whose communities change at known layers."""

import numpy as np

from brainctrl._utils.validation import check_positive, check_random_state
from brainctrl.exceptions import InvalidParameterError

__all__ = ["make_temporal_sbm"]


def make_temporal_sbm(
    n_layers,
    n_regions,
    *,
    n_communities=4,
    n_changes=2,
    p_in=0.3,
    p_out=0.05,
    moving_fraction=0.25,
    random_state=None,
):
    """Weighted networks over layers (time windows) with planted community changes.

    Every layer is a weighted stochastic block model: an edge exists with
    probability ``p_in`` inside a community and ``p_out`` between communities,
    with a weight drawn uniformly from [0.5, 1.5]. The partition is held over
    runs of layers; at ``n_changes`` evenly spaced layers a random
    ``moving_fraction`` of the regions moves to another community. Use it to
    check multilayer community detection, flexibility and allegiance against
    a known answer.

    Parameters
    ----------
    n_layers : int
        Number of layers (windows).
    n_regions : int
        Number of nodes per layer; must be at least ``n_communities``.
    n_communities : int, default=4
        Communities of the first layer: equal blocks of consecutive regions.
    n_changes : int, default=2
        Number of layers at which the partition changes.
    p_in, p_out : float in [0, 1], default=0.3, 0.05
        Edge probabilities inside and between communities.
    moving_fraction : float in [0, 1], default=0.25
        Share of regions that change community at each change.
    random_state : None, int or numpy Generator
        Seed.

    Returns
    -------
    layers : ndarray of shape (n_layers, n_regions, n_regions)
        Symmetric, non-negative weighted adjacency matrices with zero diagonals.
    communities : ndarray of int of shape (n_regions, n_layers)
        The planted community of every region in every layer.

    Examples
    --------
    >>> layers, communities = make_temporal_sbm(6, 12, n_communities=3, random_state=0)
    >>> layers.shape, communities.shape
    ((6, 12, 12), (12, 6))
    >>> communities[:, 0].tolist()
    [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]
    """
    check_positive("n_layers", n_layers, integer=True)
    check_positive("n_regions", n_regions, integer=True)
    check_positive("n_communities", n_communities, integer=True)
    check_positive("n_changes", n_changes, integer=True, strict=False)
    if n_communities > n_regions:
        raise InvalidParameterError(
            f"'n_communities' ({n_communities}) must not exceed 'n_regions' ({n_regions})."
        )
    for name, value in (("p_in", p_in), ("p_out", p_out), ("moving_fraction", moving_fraction)):
        if not 0 <= value <= 1:
            raise InvalidParameterError(f"'{name}' must be in [0, 1]; got {value!r}.")
    rng = check_random_state(random_state)
    labels = np.arange(n_regions) * n_communities // n_regions
    change_at = set(np.linspace(0, n_layers, n_changes + 2)[1:-1].astype(int).tolist())
    n_movers = int(n_regions * moving_fraction)
    communities = np.empty((n_regions, n_layers), dtype=int)
    layers = np.empty((n_layers, n_regions, n_regions))
    for layer in range(n_layers):
        if layer in change_at and n_communities > 1:
            labels = labels.copy()
            movers = rng.choice(n_regions, n_movers, replace=False)
            shift = rng.integers(1, n_communities, movers.size)
            labels[movers] = (labels[movers] + shift) % n_communities
        communities[:, layer] = labels
        probability = np.where(labels[:, None] == labels[None, :], p_in, p_out)
        upper = np.triu(rng.random((n_regions, n_regions)) < probability, 1)
        upper = upper * rng.uniform(0.5, 1.5, (n_regions, n_regions))
        layers[layer] = upper + upper.T
    return layers, communities
