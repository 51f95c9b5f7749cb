"""Reconfiguration measures of multilayer partitions.

A multilayer partition is an integer array ``(n_regions, n_layers)``: region
``i`` belongs to community ``g[i, t]`` in layer ``t`` (a time window, a
training snapshot), with labels shared across layers so that the same label
means the same community. A stack ``(n_runs, n_regions, n_layers)`` holds
several optimiser runs or several scans; per-region measures keep the run
axis, :func:`module_allegiance` averages over it.
"""

import logging
import numbers
import warnings

import numpy as np
import pandas as pd
from scipy import sparse

from brainctrl._utils.validation import check_array, check_option, check_positive, check_square
from brainctrl.exceptions import DataError, InvalidParameterError, OrientationWarning

__all__ = [
    "cohesion",
    "cohesion_matrix",
    "disjointedness",
    "flexibility",
    "integration",
    "module_allegiance",
    "module_size_entropy",
    "network_summary",
    "persistence",
    "promiscuity",
    "reconfiguration_measures",
    "recruitment",
    "system_interaction",
]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- input


def _check_partition(partition, *, min_layers=1, n_regions=None):
    """Return the partition as an int array ``(n_runs, n_regions, n_layers)`` and its ndim.

    With ``n_regions`` the rows must be that many; without it, a partition with
    more columns than rows, and 20 columns or more, warns that it may be
    transposed (e.g. 8 windows of 400 regions given as (8, 400)).
    """
    labels = check_array("partition", partition, dtype=None)
    if labels.dtype.kind == "f":
        if not (np.all(np.isfinite(labels)) and np.all(labels % 1 == 0)):
            raise DataError(
                "partition must hold integer community labels; got non-integer values "
                f"(dtype {labels.dtype})."
            )
        labels = labels.astype(np.int64)
    elif labels.dtype.kind not in "iub":
        raise DataError(f"partition must hold integer community labels; got dtype {labels.dtype}.")
    if labels.ndim not in (2, 3):
        raise DataError(
            "partition must have shape (n_regions, n_layers) or (n_runs, n_regions, n_layers); "
            f"got shape {labels.shape}."
        )
    if labels.shape[-1] < min_layers or labels.shape[-2] < 1:
        raise DataError(
            f"partition must have at least {min_layers} layer(s) (last axis) and one region; "
            f"got shape {labels.shape}."
        )
    rows, columns = labels.shape[-2:]
    if n_regions is not None:
        check_positive("n_regions", n_regions, integer=True)
        if rows != n_regions:
            hint = " It looks transposed: pass partition.T." if columns == n_regions else ""
            raise DataError(
                f"partition must have one row per region, shape (n_regions, n_layers) = "
                f"({n_regions}, n_layers); got shape {labels.shape}.{hint}"
            )
    elif columns > rows and columns >= 20:
        warnings.warn(
            f"partition has {rows} rows and {columns} columns; brainctrl reads rows as "
            "regions and columns as layers, (n_regions, n_layers). If the rows are layers, "
            f"pass partition.T; pass n_regions={rows} to confirm this orientation (and "
            "silence this warning).",
            OrientationWarning,
            stacklevel=3,
        )
    ndim = labels.ndim
    return np.asarray(labels, dtype=np.int64).reshape(-1, *labels.shape[-2:]), ndim


def _unstack(values, ndim):
    """Drop the run axis again for a single partition."""
    return values[0] if ndim == 2 else values


def _systems(systems, n_regions):
    """Return system labels (n_regions,) as an array of names."""
    if isinstance(systems, pd.DataFrame):
        if "network" not in systems.columns:
            raise DataError(
                "systems must be labels or a regions DataFrame with a 'network' column; got "
                f"columns {list(systems.columns)}."
            )
        labels = systems["network"].to_numpy()
    else:
        labels = np.asarray(systems)
    if labels.ndim != 1 or labels.size != n_regions:
        raise DataError(
            f"systems must give one label per region ({n_regions}); got shape {labels.shape}."
        )
    if pd.isna(labels).any():
        raise DataError(
            f"systems has {int(pd.isna(labels).sum())} missing label(s); every region needs one."
        )
    return labels


def _group_ids(keys):
    """Integer ids of the distinct rows of ``keys`` (n_items, n_keys)."""
    return np.unique(keys, axis=0, return_inverse=True)[1].reshape(-1)


# --------------------------------------------------------------------------- per region


def flexibility(partition, *, n_regions=None):
    """Fraction of consecutive layers in which each region changes community.

    Parameters
    ----------
    partition : array-like of int, shape (n_regions, n_layers) or (n_runs, n_regions, n_layers)
        Multilayer community labels (ordinal layers, at least 2).
    n_regions : int, optional
        Number of regions. Given, a partition without that many rows is an
        error (e.g. a transposed one, ``(n_layers, n_regions)``); left out, a
        partition with more columns than rows, and 20 columns or more, warns
        (:class:`~brainctrl.exceptions.OrientationWarning`).

    Returns
    -------
    flexibility : ndarray of shape (n_regions,) or (n_runs, n_regions)
        Values in [0, 1].

    See Also
    --------
    promiscuity : Fraction of all communities a region visits.
    module_allegiance : How often two regions share a community.
    persistence : Fraction of consecutive layers a region keeps its community.

    Notes
    -----
    Bassett et al. (2011): ``f_i = (1 / (T - 1)) sum_{t=1}^{T-1}
    [g_{i,t+1} != g_{i,t}]`` for ``T`` layers.

    References
    ----------
    Bassett DS et al. (2011) Dynamic reconfiguration of human brain networks
    during learning. PNAS 108:7641-7646.

    Examples
    --------
    >>> flexibility([[1, 1, 2, 2, 1], [1, 1, 1, 1, 1]])
    array([0.5, 0. ])
    """
    labels, ndim = _check_partition(partition, min_layers=2, n_regions=n_regions)
    changes = labels[..., 1:] != labels[..., :-1]
    return _unstack(changes.mean(axis=-1), ndim)


def persistence(partition, *, n_regions=None):
    """Fraction of consecutive layers in which each region keeps its community.

    Parameters
    ----------
    partition : array-like of int, shape (n_regions, n_layers) or (n_runs, n_regions, n_layers)
        Multilayer community labels (ordinal layers, at least 2).
    n_regions : int, optional
        Number of regions. Given, a partition without that many rows is an
        error (e.g. a transposed one, ``(n_layers, n_regions)``); left out, a
        partition with more columns than rows, and 20 columns or more, warns
        (:class:`~brainctrl.exceptions.OrientationWarning`).

    Returns
    -------
    persistence : ndarray of shape (n_regions,) or (n_runs, n_regions)
        ``1 - flexibility``; its mean over regions is the persistence of the
        whole partition, ``1 - mean_i f_i``, i.e. Bazzi et al.'s (2016)
        persistence divided by ``n_regions (T - 1)``.

    References
    ----------
    Bazzi M et al. (2016) Community detection in temporal multilayer networks,
    with an application to correlation networks. Multiscale Model Simul
    14:1-41.

    Examples
    --------
    >>> persistence([[1, 1, 2, 2, 1], [1, 1, 1, 1, 1]])
    array([0.5, 1. ])
    """
    return 1.0 - flexibility(partition, n_regions=n_regions)


def promiscuity(partition, *, definition="papadopoulos", n_regions=None):
    """Fraction of all communities that each region takes part in.

    Parameters
    ----------
    partition : array-like of int, shape (n_regions, n_layers) or (n_runs, n_regions, n_layers)
        Multilayer community labels.
    definition : {"papadopoulos", "teneto"}, default="papadopoulos"
        ``"papadopoulos"``: ``psi_i = n_i / K``; ``"teneto"``:
        ``(n_i - 1) / (K - 1)`` (0 when ``K = 1``).
    n_regions : int, optional
        Number of regions. Given, a partition without that many rows is an
        error (e.g. a transposed one, ``(n_layers, n_regions)``); left out, a
        partition with more columns than rows, and 20 columns or more, warns
        (:class:`~brainctrl.exceptions.OrientationWarning`).

    Returns
    -------
    promiscuity : ndarray of shape (n_regions,) or (n_runs, n_regions)

    See Also
    --------
    flexibility : How often a region changes community.
    module_allegiance : How often two regions share a community.

    Notes
    -----
    ``n_i`` is the number of distinct communities region ``i`` belongs to in
    at least one layer and ``K`` the number of distinct communities in the
    whole partition (each run counted separately), as in Papadopoulos et al.
    (2016). The teneto variant maps a region that never leaves its community
    to 0 and one that visits all communities to 1.

    References
    ----------
    Papadopoulos L, Puckett JG, Daniels KE, Bassett DS (2016) Evolution of
    network architecture in a granular material under compression. Phys Rev E
    94:032908.

    Examples
    --------
    >>> promiscuity([[1, 2, 3], [1, 1, 1]])
    array([1.        , 0.33333333])
    """
    check_option("definition", definition, ("papadopoulos", "teneto"))
    labels, ndim = _check_partition(partition, n_regions=n_regions)
    n_runs, n_regions, n_layers = labels.shape
    out = np.empty((n_runs, n_regions))
    for run, run_labels in enumerate(labels):
        n_communities = np.unique(run_labels).size
        per_region = np.sort(run_labels, axis=1)
        n_joined = 1 + np.count_nonzero(np.diff(per_region, axis=1), axis=1)
        if definition == "papadopoulos":
            out[run] = n_joined / n_communities
        elif n_communities > 1:
            out[run] = (n_joined - 1) / (n_communities - 1)
        else:
            out[run] = 0.0
    return _unstack(out, ndim)


def _changes(labels):
    """Per run: community changes (region, step, from, to) and their group sizes."""
    n_regions, n_layers = labels.shape
    before, after = labels[:, :-1], labels[:, 1:]
    region, step = np.nonzero(before != after)
    keys = np.stack([step, before[region, step], after[region, step]], axis=1)
    if region.size == 0:
        return region, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    groups = _group_ids(keys)
    sizes = np.bincount(groups)
    return region, groups, sizes[groups]


def _change_rate(partition, *, mutual, n_regions=None):
    """Mutual (``mutual=True``) or independent changes of each region, divided by ``T - 1``."""
    labels, ndim = _check_partition(partition, min_layers=2, n_regions=n_regions)
    out = np.zeros(labels.shape[:2])
    for run, run_labels in enumerate(labels):
        region, _, size = _changes(run_labels)
        chosen = size > 1 if mutual else size == 1
        np.add.at(out[run], region[chosen], 1.0)
    return _unstack(out / (labels.shape[-1] - 1), ndim)


def cohesion(partition, *, n_regions=None):
    """Fraction of steps in which a region changes community together with another.

    Parameters
    ----------
    partition : array-like of int, shape (n_regions, n_layers) or (n_runs, n_regions, n_layers)
        Multilayer community labels with labels shared across layers.
    n_regions : int, optional
        Number of regions. Given, a partition without that many rows is an
        error (e.g. a transposed one, ``(n_layers, n_regions)``); left out, a
        partition with more columns than rows, and 20 columns or more, warns
        (:class:`~brainctrl.exceptions.OrientationWarning`).

    Returns
    -------
    cohesion : ndarray of shape (n_regions,) or (n_runs, n_regions)
        Number of mutual changes divided by ``T - 1``.

    Notes
    -----
    Telesford et al. (2017): a change of region ``i`` from community ``a`` at
    layer ``t`` to ``b`` at ``t + 1`` is *mutual* if at least one other region
    makes the same change ``a -> b`` at the same step, otherwise
    *independent*. Changes are matched as integer triples ``(t, a, b)``, so
    any number and range of labels works. ``cohesion + disjointedness =
    flexibility``.

    References
    ----------
    Telesford QK et al. (2017) Cohesive network reconfiguration accompanies
    extended training. Hum Brain Mapp 38:4744-4759.

    Examples
    --------
    >>> cohesion([[1, 2, 2], [1, 2, 1], [1, 1, 1]])
    array([0.5, 0.5, 0. ])
    """
    return _change_rate(partition, mutual=True, n_regions=n_regions)


def disjointedness(partition, *, n_regions=None):
    """Fraction of steps in which a region changes community on its own.

    Parameters
    ----------
    partition : array-like of int, shape (n_regions, n_layers) or (n_runs, n_regions, n_layers)
        Multilayer community labels with labels shared across layers.
    n_regions : int, optional
        Number of regions. Given, a partition without that many rows is an
        error (e.g. a transposed one, ``(n_layers, n_regions)``); left out, a
        partition with more columns than rows, and 20 columns or more, warns
        (:class:`~brainctrl.exceptions.OrientationWarning`).

    Returns
    -------
    disjointedness : ndarray of shape (n_regions,) or (n_runs, n_regions)
        Number of independent changes divided by ``T - 1`` (see
        :func:`cohesion` for the definition).

    References
    ----------
    Telesford QK et al. (2017) Cohesive network reconfiguration accompanies
    extended training. Hum Brain Mapp 38:4744-4759.

    Examples
    --------
    >>> disjointedness([[1, 2, 2], [1, 2, 1], [1, 1, 1]])
    array([0. , 0.5, 0. ])
    """
    return _change_rate(partition, mutual=False, n_regions=n_regions)


def cohesion_matrix(partition, *, n_regions=None):
    """Count the steps in which two regions make the same community change.

    Parameters
    ----------
    partition : array-like of int, shape (n_regions, n_layers) or (n_runs, n_regions, n_layers)
        Multilayer community labels with labels shared across layers.
    n_regions : int, optional
        Number of regions. Given, a partition without that many rows is an
        error (e.g. a transposed one, ``(n_layers, n_regions)``); left out, a
        partition with more columns than rows, and 20 columns or more, warns
        (:class:`~brainctrl.exceptions.OrientationWarning`).

    Returns
    -------
    counts : ndarray of shape (n_regions, n_regions) or (n_runs, n_regions, n_regions)
        ``C_ij`` = number of steps ``t`` at which ``i`` and ``j`` both move
        from the same community to the same community; zero diagonal. Row
        sums are Telesford et al.'s (2017) cohesion strength.

    Examples
    --------
    >>> cohesion_matrix([[1, 2, 2], [1, 2, 1], [1, 1, 1]])
    array([[0., 1., 0.],
           [1., 0., 0.],
           [0., 0., 0.]])
    """
    labels, ndim = _check_partition(partition, min_layers=2, n_regions=n_regions)
    n_runs, n_regions, _ = labels.shape
    out = np.zeros((n_runs, n_regions, n_regions))
    for run, run_labels in enumerate(labels):
        region, groups, _ = _changes(run_labels)
        if region.size == 0:
            continue
        membership = sparse.csr_matrix(
            (np.ones(region.size), (region, groups)), shape=(n_regions, int(groups.max()) + 1)
        )
        counts = (membership @ membership.T).toarray()
        np.fill_diagonal(counts, 0.0)
        out[run] = counts
    return _unstack(out, ndim)


# --------------------------------------------------------------------------- allegiance


def module_allegiance(partition, *, n_regions=None):
    """Fraction of layers (and runs) in which two regions share a community.

    Parameters
    ----------
    partition : array-like of int, shape (n_regions, n_layers) or (n_runs, n_regions, n_layers)
        Multilayer community labels. Labels are compared within a layer
        only, so they need not be shared across layers.
    n_regions : int, optional
        Number of regions. Given, a partition without that many rows is an
        error (e.g. a transposed one, ``(n_layers, n_regions)``); left out, a
        partition with more columns than rows, and 20 columns or more, warns
        (:class:`~brainctrl.exceptions.OrientationWarning`).

    Returns
    -------
    allegiance : ndarray of shape (n_regions, n_regions)
        ``P_ij`` in [0, 1], averaged over all layers of all runs; diagonal 1.

    See Also
    --------
    flexibility, promiscuity : Per-region reconfiguration measures.
    recruitment, integration : System-level summaries of the allegiance.

    Notes
    -----
    With ``G_l`` the one-hot membership matrix ``(n_regions, K_l)`` of layer
    (or run-layer) ``l`` of ``L``, ``P = (1 / L) sum_l G_l G_l^T``, computed
    as one sparse product over the stacked memberships (Bassett et al. 2015).

    References
    ----------
    Bassett DS, Yang M, Wymbs NF, Grafton ST (2015) Learning-induced autonomy
    of sensorimotor systems. Nat Neurosci 18:744-751.

    Examples
    --------
    >>> module_allegiance([[1, 1], [1, 2], [2, 2]])
    array([[1. , 0.5, 0. ],
           [0.5, 1. , 0.5],
           [0. , 0.5, 1. ]])
    """
    labels, _ = _check_partition(partition, n_regions=n_regions)
    n_runs, n_regions, n_layers = labels.shape
    columns = labels.transpose(1, 0, 2).reshape(n_regions, n_runs * n_layers)
    layer = np.broadcast_to(np.arange(n_runs * n_layers), columns.shape)
    keys = np.stack([layer.reshape(-1), columns.reshape(-1)], axis=1)
    groups = _group_ids(keys)
    regions = np.repeat(np.arange(n_regions), n_runs * n_layers)
    membership = sparse.csr_matrix(
        (np.ones(groups.size), (regions, groups)), shape=(n_regions, int(groups.max()) + 1)
    )
    return (membership @ membership.T).toarray() / (n_runs * n_layers)


def _check_allegiance(allegiance):
    matrix = check_square("allegiance", allegiance, batch=False)
    if matrix.size and (matrix.min() < 0 or matrix.max() > 1):
        raise DataError(
            "allegiance must hold fractions in [0, 1]; got values in "
            f"[{matrix.min():.6g}, {matrix.max():.6g}]."
        )
    return matrix


def _pair_means(allegiance, codes, n_systems, include_diagonal):
    """Sum allegiance over the region pairs of every system pair, with pair counts."""
    one_hot = np.zeros((codes.size, n_systems))
    one_hot[np.arange(codes.size), codes] = 1.0
    matrix = allegiance.copy()
    if not include_diagonal:
        np.fill_diagonal(matrix, 0.0)
    sums = one_hot.T @ matrix @ one_hot
    sizes = one_hot.sum(axis=0)
    counts = np.outer(sizes, sizes)
    if not include_diagonal:
        counts -= np.diag(sizes)
    return sums, counts, one_hot


def system_interaction(allegiance, systems, *, normalize=False, include_diagonal=False):
    """Mean allegiance between and within systems (Mattar et al. 2015).

    Parameters
    ----------
    allegiance : array-like of shape (n_regions, n_regions)
        Module allegiance matrix (:func:`module_allegiance`).
    systems : array-like of shape (n_regions,) or DataFrame with a ``network`` column
        System (e.g. Yeo network) of each region.
    normalize : bool, default=False
        Divide ``I_kl`` by ``sqrt(I_kk I_ll)``.
    include_diagonal : bool, default=False
        Count the self-allegiance ``P_ii = 1`` in the within-system means.

    Returns
    -------
    interaction : DataFrame of shape (n_systems, n_systems)
        ``I_kl = (1 / (n_k n_l)) sum_{i in k, j in l} P_ij``; on the diagonal
        ``I_kk`` (the recruitment of system k) averages over the
        ``n_k (n_k - 1)`` pairs ``i != j`` unless ``include_diagonal``.
        Systems are sorted by name. NaN where a system has one region and
        the diagonal is excluded.

    References
    ----------
    Mattar MG, Cole MW, Thompson-Schill SL, Bassett DS (2015) A functional
    cartography of cognitive systems. PLoS Comput Biol 11:e1004533.

    Examples
    --------
    >>> p = [[1, 1, 0], [1, 1, 0.5], [0, 0.5, 1]]
    >>> system_interaction(p, ["a", "a", "b"])
          a     b
    a  1.00  0.25
    b  0.25   NaN
    """
    matrix = _check_allegiance(allegiance)
    labels = _systems(systems, len(matrix))
    names, codes = np.unique(labels, return_inverse=True)
    sums, counts, _ = _pair_means(matrix, codes, names.size, include_diagonal)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = np.where(counts > 0, sums / np.where(counts > 0, counts, 1), np.nan)
        if normalize:
            within = np.diag(means)
            means = means / np.sqrt(np.outer(within, within))
    return pd.DataFrame(means, index=pd.Index(names), columns=pd.Index(names))


def _region_or_system(allegiance, systems, per, include_diagonal, within):
    check_option("per", per, ("region", "system"))
    matrix = _check_allegiance(allegiance)
    labels = _systems(systems, len(matrix))
    names, codes = np.unique(labels, return_inverse=True)
    if per == "system":
        table = system_interaction(matrix, labels, include_diagonal=include_diagonal).to_numpy()
        if within:
            values = np.diag(table)
        else:
            off = table.copy()
            np.fill_diagonal(off, np.nan)
            with np.errstate(invalid="ignore"):
                values = np.nanmean(off, axis=1) if names.size > 1 else np.full(names.size, np.nan)
        return pd.Series(values, index=pd.Index(names, name="network"))
    same = codes[:, None] == codes[None, :]
    if within:
        mask = same.copy()
        if not include_diagonal:
            np.fill_diagonal(mask, False)
    else:
        mask = ~same
    counts = mask.sum(axis=1)
    sums = np.where(mask, matrix, 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.where(counts > 0, counts, 1), np.nan)


def recruitment(allegiance, systems, *, per="region", include_diagonal=False):
    """Allegiance of regions to their own system (Mattar et al. 2015).

    Parameters
    ----------
    allegiance : array-like of shape (n_regions, n_regions)
        Module allegiance matrix (:func:`module_allegiance`).
    systems : array-like of shape (n_regions,) or DataFrame with a ``network`` column
        System (e.g. Yeo network) of each region.
    per : {"region", "system"}, default="region"
        ``"region"``: ``R_i = mean_{j in S(i), j != i} P_ij``; ``"system"``:
        ``R_k = I_kk``, the mean over pairs of distinct regions of system k
        (see :func:`system_interaction`).
    include_diagonal : bool, default=False
        Count ``P_ii = 1`` (``j = i``) in the means.

    Returns
    -------
    recruitment : ndarray of shape (n_regions,) or Series indexed by network
        NaN for a region alone in its system (diagonal excluded).

    References
    ----------
    Mattar MG, Cole MW, Thompson-Schill SL, Bassett DS (2015) A functional
    cartography of cognitive systems. PLoS Comput Biol 11:e1004533.

    Examples
    --------
    >>> p = [[1, 1, 0], [1, 1, 0.5], [0, 0.5, 1]]
    >>> recruitment(p, ["a", "a", "b"])
    array([ 1.,  1., nan])
    """
    return _region_or_system(allegiance, systems, per, include_diagonal, within=True)


def integration(allegiance, systems, *, per="region", include_diagonal=False):
    """Allegiance of regions to other systems (Mattar et al. 2015).

    Parameters
    ----------
    allegiance : array-like of shape (n_regions, n_regions)
        Module allegiance matrix (:func:`module_allegiance`).
    systems : array-like of shape (n_regions,) or DataFrame with a ``network`` column
        System (e.g. Yeo network) of each region.
    per : {"region", "system"}, default="region"
        ``"region"``: ``I_i = mean_{j not in S(i)} P_ij``; ``"system"``:
        ``I_k = mean_{l != k} I_kl``, the mean interaction of system k with
        each other system (:func:`system_interaction`).
    include_diagonal : bool, default=False
        Only used with ``per="system"`` and kept for symmetry with
        :func:`recruitment` (between-system means never contain ``P_ii``).

    Returns
    -------
    integration : ndarray of shape (n_regions,) or Series indexed by network
        NaN when there is a single system.

    References
    ----------
    Mattar MG, Cole MW, Thompson-Schill SL, Bassett DS (2015) A functional
    cartography of cognitive systems. PLoS Comput Biol 11:e1004533.

    Examples
    --------
    >>> p = [[1, 1, 0], [1, 1, 0.5], [0, 0.5, 1]]
    >>> integration(p, ["a", "a", "b"])
    array([0.  , 0.5 , 0.25])
    """
    return _region_or_system(allegiance, systems, per, include_diagonal, within=False)


# --------------------------------------------------------------------------- per layer


def module_size_entropy(partition, *, base=2.0, normalize=False, n_regions=None):
    """Shannon entropy of the distribution of regions over communities, per layer.

    Parameters
    ----------
    partition : array-like of int, shape (n_regions, n_layers) or (n_runs, n_regions, n_layers)
        Community labels.
    base : float, default=2.0
        Base of the logarithm (2: bits, ``numpy.e``: nats).
    normalize : bool, default=False
        Divide by ``log(n_regions)``, the entropy when every region is its own
        community, so values lie in [0, 1] whatever the base.
    n_regions : int, optional
        Number of regions. Given, a partition without that many rows is an
        error (e.g. a transposed one, ``(n_layers, n_regions)``); left out, a
        partition with more columns than rows, and 20 columns or more, warns
        (:class:`~brainctrl.exceptions.OrientationWarning`).

    Returns
    -------
    entropy : ndarray of shape (n_layers,) or (n_runs, n_layers)

    Notes
    -----
    ``H_t = - sum_c p_c log p_c`` with ``p_c = n_c / n_regions`` the share of
    regions in community ``c`` at layer ``t``. One community gives 0; ``K``
    equal communities give ``log K``.

    Examples
    --------
    >>> module_size_entropy([[1, 1], [1, 2], [2, 3], [2, 4]])
    array([1., 2.])
    """
    if (
        isinstance(base, bool)
        or not isinstance(base, numbers.Real)
        or not np.isfinite(base)
        or base <= 0
        or base == 1
    ):
        raise InvalidParameterError(
            f"'base' must be a positive number other than 1; got {base!r}."
        )
    labels, ndim = _check_partition(partition, n_regions=n_regions)
    n_runs, n_regions, n_layers = labels.shape
    columns = labels.transpose(0, 2, 1).reshape(-1, n_regions)
    sorted_labels = np.sort(columns, axis=1)
    out = np.zeros(columns.shape[0])
    for index, row in enumerate(sorted_labels):
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        shares = np.diff(np.r_[starts, n_regions]) / n_regions
        out[index] = -np.sum(shares * np.log(shares))
    if normalize:
        out = out / np.log(n_regions) if n_regions > 1 else np.zeros_like(out)
    else:
        out = out / np.log(base)
    return _unstack(out.reshape(n_runs, n_layers), ndim)


# --------------------------------------------------------------------------- tables


def network_summary(values, regions, *, measure="value", statistic="mean"):
    """Average (or another statistic of) per-region values within each network.

    Parameters
    ----------
    values : array-like of shape (n_regions,) or (n_runs, n_regions)
        Per-region values, e.g. :func:`flexibility`.
    regions : DataFrame with a ``network`` column, or array-like of shape (n_regions,)
        Network (system) of each region, in the order of ``values``.
    measure : str, default="value"
        Name written in the ``measure`` column.
    statistic : {"mean", "median", "std"}, default="mean"
        Summary taken over the regions of each network (``std`` with ``n - 1``).

    Returns
    -------
    table : DataFrame
        Tidy: columns ``run`` (only for 2-D ``values``), ``network``,
        ``measure``, ``value``, ``n_regions``.

    Examples
    --------
    >>> network_summary([0.2, 0.4, 1.0], ["Default", "Default", "Visual"], measure="flexibility")
       network      measure  value  n_regions
    0  Default  flexibility    0.3          2
    1   Visual  flexibility    1.0          1
    """
    check_option("statistic", statistic, ("mean", "median", "std"))
    data = check_array("values", values)
    if data.ndim not in (1, 2):
        raise DataError(
            f"values must have shape (n_regions,) or (n_runs, n_regions); got shape {data.shape}."
        )
    labels = _systems(regions, data.shape[-1])
    rows = np.atleast_2d(data)
    frames = []
    for run, row in enumerate(rows):
        grouped = pd.Series(row).groupby(labels, sort=True)
        table = pd.DataFrame(
            {
                "network": grouped.size().index,
                "measure": measure,
                "value": getattr(grouped, statistic)().to_numpy(),
                "n_regions": grouped.size().to_numpy(),
            }
        )
        if data.ndim == 2:
            table.insert(0, "run", run)
        frames.append(table)
    return pd.concat(frames, ignore_index=True)


def reconfiguration_measures(partition, *, regions=None):
    """Per-region reconfiguration measures of a multilayer partition as a tidy table.

    Parameters
    ----------
    partition : array-like of int, shape (n_regions, n_layers) or (n_runs, n_regions, n_layers)
        Multilayer community labels (at least 2 layers).
    regions : DataFrame with ``name`` (and optionally ``network``) columns, optional
        Region table in the row order of ``partition``. With a ``network``
        column, recruitment and integration (from each run's allegiance) are
        added.

    Returns
    -------
    table : DataFrame
        Columns ``run`` (stacks only), ``region``, ``network`` (when known),
        ``measure``, ``value`` with measures ``flexibility``, ``promiscuity``,
        ``cohesion``, ``disjointedness`` and, with networks, ``recruitment``
        and ``integration``.

    Examples
    --------
    >>> table = reconfiguration_measures([[1, 1, 2], [1, 2, 2]])
    >>> table.pivot(index="region", columns="measure", values="value")["flexibility"].tolist()
    [0.5, 0.5]
    """
    # a region table of the partition's length confirms its orientation (any other
    # length is reported below, as the table's problem)
    rows = np.shape(partition)[-2] if np.ndim(partition) >= 2 else None
    confirmed = regions is not None and hasattr(regions, "__len__") and len(regions) == rows
    if regions is not None and not confirmed and np.shape(partition)[-1:] == (len(regions),):
        raise DataError(
            f"partition has shape {np.shape(partition)}: one column per region of the "
            f"{len(regions)}-row region table, but brainctrl reads rows as regions, "
            "(n_regions, n_layers). It looks transposed: pass partition.T."
        )
    labels, ndim = _check_partition(partition, min_layers=2, n_regions=rows if confirmed else None)
    n_runs, n_regions, _ = labels.shape
    if regions is None:
        names = np.arange(n_regions)
        networks = None
    elif isinstance(regions, pd.DataFrame) and "name" in regions.columns:
        if len(regions) != n_regions:
            raise DataError(
                f"regions must have one row per region ({n_regions}); got {len(regions)} rows."
            )
        names = regions["name"].to_numpy()
        networks = regions["network"].to_numpy() if "network" in regions.columns else None
    else:
        raise DataError(
            "regions must be a DataFrame with a 'name' column (and optionally 'network'); got "
            f"{type(regions).__name__}."
        )
    values = {
        "flexibility": flexibility(labels),
        "promiscuity": promiscuity(labels),
        "cohesion": cohesion(labels),
        "disjointedness": disjointedness(labels),
    }
    if networks is not None:
        allegiances = [module_allegiance(run_labels) for run_labels in labels]
        values["recruitment"] = np.stack([recruitment(p, networks) for p in allegiances])
        values["integration"] = np.stack([integration(p, networks) for p in allegiances])
    frames = []
    for name, per_run in values.items():
        for run in range(n_runs):
            table = pd.DataFrame({"region": names, "measure": name, "value": per_run[run]})
            if networks is not None:
                table.insert(1, "network", networks)
            if ndim == 3:
                table.insert(0, "run", run)
            frames.append(table)
    return pd.concat(frames, ignore_index=True)
