"""Single-layer modularity communities, agreement and consensus partitions."""

import logging
import warnings
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from brainctrl._utils.validation import (
    NEGATIVE_RULES,
    check_array,
    check_option,
    check_positive,
    check_random_state,
    check_square,
)
from brainctrl.exceptions import ConvergenceWarning, DataError, InvalidParameterError
from brainctrl.graph._louvain import _compact, _Problem, _quality, _run

__all__ = [
    "CommunityResult",
    "agreement",
    "consensus_partition",
    "modularity",
    "modularity_communities",
]

logger = logging.getLogger(__name__)

_NEGATIVE = NEGATIVE_RULES
_METHODS = ("louvain", "leiden")


@dataclass
class CommunityResult:
    """Best partition found by :func:`modularity_communities`, with all runs.

    Attributes
    ----------
    partition : ndarray of int, shape (n_regions,)
        Labels ``0..K-1`` of the run with the highest quality.
    quality : float
        Its modularity ``Q``.
    partitions : ndarray of int, shape (n_runs, n_regions)
        The partition of every run.
    qualities : ndarray of float, shape (n_runs,)
        The modularity of every run.
    """

    partition: np.ndarray
    quality: float
    partitions: np.ndarray
    qualities: np.ndarray


def _check_directed(directed):
    if not isinstance(directed, (bool, np.bool_)):
        raise InvalidParameterError(f"'directed' must be True or False; got {directed!r}.")
    return bool(directed)


def _orient(adjacency, name, directed=False):
    """Prepare a stack ``(..., n, n)`` for modularity.

    Returns ``(adjacency, directed)``. A stack that is symmetric up to rounding
    (largest ``|A − Aᵀ|`` at most ``1e-12`` of the largest ``|A|``) is returned
    as given with ``directed=False``, whatever was asked, so that both null
    models give the same result on it. Otherwise, with ``directed=False`` it
    is replaced by ``(A + Aᵀ)/2`` (logged); with ``directed=True`` it is kept
    as given for the Leicht–Newman null model.
    """
    transposed = np.swapaxes(adjacency, -1, -2)
    difference = scale = 0.0
    # matrix by matrix: no temporary the size of the whole stack
    for matrix in adjacency.reshape(-1, *adjacency.shape[-2:]) if adjacency.size else ():
        difference = max(difference, float(np.abs(matrix - matrix.T).max()))
        scale = max(scale, float(np.abs(matrix).max()))
    if difference <= 1e-12 * max(scale, 1.0):
        return adjacency, False
    if directed:
        logger.debug(
            "%s is directed (largest |A - Aᵀ| = %.3g); using the Leicht-Newman null model.",
            name,
            difference,
        )
        return adjacency, True
    logger.info(
        "%s is not symmetric (largest |A - Aᵀ| = %.3g); using (A + Aᵀ)/2.", name, difference
    )
    return 0.5 * (adjacency + transposed), False


def _layer_terms(adjacency, gamma, negative, directed=False):
    """Modularity terms of a stack of layers ``(n_layers, n, n)``.

    Layer ``s`` has the matrix ``B_s = W_s − F_s diag(d_s) F_sᵀ`` in edge-weight
    units, with ``W_s = A⁺ − λ_s A⁻``, factors ``F_s = [k⁺, k⁻]`` and scales
    ``d_s = [γ/v⁺, −λ_s γ/v⁻]``; its modularity is ``Σ B_s δ / total_s`` (see
    :func:`modularity`). With ``directed=True`` the layers are taken as given
    (not symmetric): ``W_s`` is built from the symmetric parts
    ``(A± + A±ᵀ)/2``, ``k± = (k±_out + k±_in)/2``, and two more factors
    ``b± = (k±_out − k±_in)/2`` with scales ``[−γ/v⁺, λ_s γ/v⁻]`` give the
    symmetrised Leicht–Newman null terms
    ``γ (k_out k_inᵀ + k_in k_outᵀ)/2v = γ (k kᵀ − b bᵀ)/v``.

    Returns
    -------
    weights : ndarray, shape (n_layers, n, n)
    factors : ndarray, shape (n_layers, n, 2), or (n_layers, n, 4) if directed
    scales : ndarray, shape (n_layers, 2), or (n_layers, 4) if directed
    total : ndarray, shape (n_layers,)
        The normaliser of each layer: ``v⁺_s``, or ``v⁺_s + v⁻_s`` for
        ``negative="symmetric"``.
    """
    n_layers, n_regions, _ = adjacency.shape
    gamma = np.broadcast_to(np.asarray(gamma, dtype=float), (n_layers,))
    n_factors = 4 if directed else 2
    weights = np.empty(adjacency.shape)
    factors = np.empty((n_layers, n_regions, n_factors))
    scales = np.zeros((n_layers, n_factors))
    normaliser = np.empty(n_layers)
    # one layer at a time: no temporary the size of the whole stack
    for s, layer in enumerate(adjacency):
        if negative == "absolute":
            layer = np.abs(layer)
        positive = np.maximum(layer, 0.0)
        negative_part = np.maximum(-layer, 0.0)
        if directed:
            out_positive, in_positive = positive.sum(axis=-1), positive.sum(axis=-2)
            out_negative, in_negative = negative_part.sum(axis=-1), negative_part.sum(axis=-2)
            positive = 0.5 * (positive + positive.T)
            negative_part = 0.5 * (negative_part + negative_part.T)
            strength_positive = 0.5 * (out_positive + in_positive)
            strength_negative = 0.5 * (out_negative + in_negative)
            total_positive = out_positive.sum(axis=-1)
            total_negative = out_negative.sum(axis=-1)
            factors[s, :, 2] = 0.5 * (out_positive - in_positive)
            factors[s, :, 3] = 0.5 * (out_negative - in_negative)
        else:
            strength_positive = positive.sum(axis=-1)
            strength_negative = negative_part.sum(axis=-1)
            total_positive = strength_positive.sum(axis=-1)
            total_negative = strength_negative.sum(axis=-1)
        factors[s, :, 0] = strength_positive
        factors[s, :, 1] = strength_negative
        both = total_positive + total_negative
        normaliser[s] = total_positive
        if negative == "ignore":
            weight = 0.0
        elif negative == "symmetric":
            # Gómez et al. 2009: (B⁺ − B⁻)/(v⁺ + v⁻), i.e. lambda = 1 and total v⁺ + v⁻
            weight = 1.0 if total_negative > 0 else 0.0
            normaliser[s] = both
        elif negative == "simple":
            weight = total_positive / total_negative if total_negative > 0 else 0.0
        else:
            weight = total_positive / both if both > 0 else 0.0
        np.subtract(positive, weight * negative_part, out=weights[s])
        if total_positive > 0:
            scales[s, 0] = gamma[s] / total_positive
        if total_negative > 0:
            scales[s, 1] = -weight * gamma[s] / total_negative
        if directed:
            scales[s, 2:] = -scales[s, :2]
    return weights, factors, scales, normaliser


def _stacked_problem(weights, factors, scales, coupling=None):
    """Engine problem of block-diagonal layers plus an optional sparse coupling.

    The CSR arrays are assembled layer by layer (columns sorted in each row),
    so no index array the size of the whole stack is ever held three times.
    """
    n_layers, n, _ = weights.shape
    self_weights = np.zeros(n_layers * n)
    indptr = np.zeros(n_layers * n + 1, dtype=np.int64)
    indices, data = [], []
    diagonal = np.arange(n)
    stored = 0
    for s, layer in enumerate(weights):
        self_weights[s * n : (s + 1) * n] = layer[diagonal, diagonal]
        linked = layer != 0
        linked[diagonal, diagonal] = False
        rows, cols = np.nonzero(linked)
        indptr[s * n + 1 : (s + 1) * n + 1] = stored + np.cumsum(np.bincount(rows, minlength=n))
        stored += rows.size
        indices.append((cols + s * n).astype(np.int64))
        data.append(layer[rows, cols])
    matrix = sparse.csr_matrix(
        (np.concatenate(data), np.concatenate(indices), indptr),
        shape=(n_layers * n, n_layers * n),
    )
    if coupling is not None:
        matrix = (matrix + coupling).tocsr()
    n_factors = factors.shape[-1]
    factor_rows = np.repeat(np.arange(n_layers * n), n_factors)
    factor_cols = (np.arange(n_layers)[:, None, None] * n_factors + np.arange(n_factors)).repeat(
        n, axis=1
    )
    factor_matrix = sparse.csr_matrix(
        (factors.ravel(), (factor_rows, factor_cols.ravel())),
        shape=(n_layers * n, n_layers * n_factors),
    )
    factor_matrix.eliminate_zeros()
    return _Problem(matrix, self_weights, factor_matrix, scales.ravel().astype(float))


def _check_adjacency(adjacency, directed=False):
    """Square adjacency and whether the directed null model applies to it."""
    directed = _check_directed(directed)
    adjacency = check_square("adjacency", adjacency, batch=False)
    return _orient(adjacency, "adjacency", directed)


def _check_gamma(gamma):
    return float(check_positive("gamma", gamma, strict=False))


def modularity(adjacency, partition, *, gamma=1.0, negative="asymmetric", directed=False):
    """Modularity ``Q`` of a partition of a (signed) weighted network.

    Parameters
    ----------
    adjacency : array-like of shape (n_regions, n_regions)
        Weighted adjacency; negative weights are handled as ``negative`` says.
        ``A_ij`` is the weight of the edge from ``i`` to ``j`` when
        ``directed=True``; otherwise a non-symmetric matrix is replaced by
        ``(A + Aᵀ)/2``. The diagonal is used as given (zero it for correlation
        matrices).
    partition : array-like of int, shape (n_regions,)
        Community labels.
    gamma : float, default=1.0
        Resolution parameter ``γ``.
    negative : {"asymmetric", "symmetric", "simple", "ignore", "absolute"}, default="asymmetric"
        Treatment of negative weights (see Notes).
    directed : bool, default=False
        Use the Leicht–Newman null model of directed networks (see Notes)
        instead of symmetrising a non-symmetric ``adjacency``. A symmetric
        ``adjacency`` gives the same ``Q`` either way.

    Returns
    -------
    float
        The modularity ``Q``.

    See Also
    --------
    modularity_communities : Partitions that maximise it.

    Notes
    -----
    With ``A⁺ = max(A, 0)``, ``A⁻ = max(−A, 0)``, strengths ``k±`` and totals
    ``v± = Σ_ij A±_ij``, and ``Q± = (1/v±) Σ_ij (A±_ij − γ k±_i k±_j / v±) δ(g_i, g_j)``:

    - ``"asymmetric"`` (Rubinov & Sporns 2011): ``Q = Q⁺ − v⁻/(v⁺ + v⁻) Q⁻``
      (BCT ``community_louvain(..., B="negative_asym")``);
    - ``"symmetric"`` (Gómez et al. 2009):
      ``Q = v⁺/(v⁺ + v⁻) Q⁺ − v⁻/(v⁺ + v⁻) Q⁻`` (BCT ``B="negative_sym"``);
    - ``"simple"``: ``Q = Q⁺ − Q⁻`` (BCT ``modularity_louvain_und_sign``
      with ``qtype="smp"``);
    - ``"ignore"``: ``Q = Q⁺``, negative weights are dropped;
    - ``"absolute"``: Newman's ``Q`` of ``|A|``.

    For a network without negative weights all of them equal Newman's
    modularity ``(1/2m) Σ_ij (A_ij − γ k_i k_j / 2m) δ(g_i, g_j)``.

    With ``directed=True`` each part uses the Leicht–Newman null model
    instead: with out- and in-strengths ``k±_out,i = Σ_j A±_ij``,
    ``k±_in,j = Σ_i A±_ij``,

    ``Q± = (1/v±) Σ_ij (A±_ij − γ k±_out,i k±_in,j / v±) δ(g_i, g_j)``,

    combined as above (BCT ``modularity_dir`` and GenLouvain's ``multiord``
    for ``A ≥ 0``, where ``v⁺`` is the total weight ``m``). Since ``δ`` is
    symmetric this is ``Σ_ij B̃_ij δ(g_i, g_j)`` with the symmetric
    ``B̃ = (A + Aᵀ)/2 − γ (k_out k_inᵀ + k_in k_outᵀ)/2m``, which is the
    undirected ``B`` of ``(A + Aᵀ)/2`` plus ``γ d dᵀ/4m``,
    ``d = k_in − k_out``; both are equal when every node's in- and
    out-strengths are equal.

    References
    ----------
    .. [1] Newman, M. E. J. (2006). Modularity and community structure in
       networks. PNAS 103, 8577–8582.
    .. [2] Rubinov, M. & Sporns, O. (2011). Weight-conserving characterization
       of complex functional brain networks. NeuroImage 56, 2068–2079.
    .. [3] Gómez, S., Jensen, P. & Arenas, A. (2009). Analysis of community
       structure in networks of correlated data. Physical Review E 80, 016114.
    .. [4] Leicht, E. A. & Newman, M. E. J. (2008). Community structure in
       directed networks. Physical Review Letters 100, 118703.

    Examples
    --------
    >>> import numpy as np
    >>> triangle = np.ones((3, 3)) - np.eye(3)
    >>> adjacency = np.kron(np.eye(2), triangle)  # two disjoint triangles
    >>> round(modularity(adjacency, [0, 0, 0, 1, 1, 1]), 12)
    0.5
    >>> arcs = np.array([[0.0, 1, 1], [1, 0, 0], [0, 0, 0]])  # 0 ⇄ 1, 0 → 2
    >>> round(modularity(arcs, [0, 1, 1], directed=True), 12)  # -(2/3 + 2/3) / 3
    -0.444444444444
    >>> round(modularity(arcs, [0, 1, 1]), 12)  # (A + Aᵀ)/2: -(3/4 + 3/4) / 3
    -0.5
    """
    check_option("negative", negative, _NEGATIVE)
    gamma = _check_gamma(gamma)
    adjacency, directed = _check_adjacency(adjacency, directed)
    labels = _check_partition(partition, adjacency.shape[0])
    weights, factors, scales, total = _layer_terms(adjacency[None], gamma, negative, directed)
    if total[0] <= 0:
        raise DataError("adjacency has no positive weights; its modularity is undefined.")
    problem = _stacked_problem(weights, factors, scales)
    return float(_quality(problem, labels) / total[0])


def _check_partition(partition, n_regions, name="partition"):
    labels = np.asarray(partition)
    if labels.shape != (n_regions,) or not (
        np.issubdtype(labels.dtype, np.integer) or labels.size == 0
    ):
        raise DataError(
            f"{name} must be integer labels of shape ({n_regions},); got shape "
            f"{labels.shape} and dtype {labels.dtype}."
        )
    return labels.astype(np.int64)


def _run_seeds(random_state, n_runs):
    rng = check_random_state(random_state)
    return rng.integers(0, 2**63 - 1, size=n_runs)


def _leiden_partition(adjacency, gamma, negative, seed, directed=False):
    try:
        import igraph
        import leidenalg
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "method='leiden' needs the optional packages leidenalg and igraph; install "
            "them with `pip install brainctrl[leiden]`."
        ) from exc
    if negative == "absolute":
        adjacency = np.abs(adjacency)
    positive = np.maximum(adjacency, 0.0)
    negative_part = np.maximum(-adjacency, 0.0)
    total_positive = positive.sum()
    total_negative = negative_part.sum()
    graphs, layer_weights = [], []

    def _graph(matrix):
        if directed:
            # leidenalg's RBConfiguration uses the Leicht-Newman null model on directed graphs
            rows, cols = np.nonzero(matrix)
            values = matrix[rows, cols]
        else:
            rows, cols = np.nonzero(np.triu(matrix))
            values = matrix[rows, cols]
            values = np.where(rows == cols, values / 2.0, values)  # igraph counts loops twice
        graph = igraph.Graph(
            n=matrix.shape[0], edges=list(zip(rows.tolist(), cols.tolist())), directed=directed
        )
        graph.es["weight"] = values.tolist()
        return graph

    graphs.append(_graph(positive))
    layer_weights.append(1.0)
    if negative != "ignore" and total_negative > 0:
        if negative == "symmetric":
            weight = 1.0
        elif negative == "simple":
            weight = total_positive / total_negative
        else:
            weight = total_positive / (total_positive + total_negative)
        graphs.append(_graph(negative_part))
        layer_weights.append(-weight)
    partitions = [
        leidenalg.RBConfigurationVertexPartition(
            graph, weights="weight", resolution_parameter=gamma
        )
        for graph in graphs
    ]
    optimiser = leidenalg.Optimiser()
    optimiser.set_rng_seed(int(seed % (2**31 - 1)))
    optimiser.optimise_partition_multiplex(
        partitions, layer_weights=layer_weights, n_iterations=-1
    )
    return np.asarray(partitions[0].membership, dtype=np.int64)


def modularity_communities(
    adjacency,
    *,
    gamma=1.0,
    method="louvain",
    negative="asymmetric",
    n_runs=10,
    random_state=None,
    directed=False,
):
    """Communities of a (signed) weighted network by modularity maximisation.

    Parameters
    ----------
    adjacency : array-like of shape (n_regions, n_regions)
        Weighted adjacency, e.g. functional connectivity with its diagonal set
        to zero. ``A_ij`` is the weight of the edge from ``i`` to ``j`` when
        ``directed=True``; otherwise a non-symmetric matrix is replaced by
        ``(A + Aᵀ)/2``.
    gamma : float, default=1.0
        Resolution parameter ``γ``: larger values give more, smaller communities.
    method : {"louvain", "leiden"}, default="louvain"
        ``"louvain"``: brainctrl's generalised Louvain, iterated to a fixed point.
        ``"leiden"``: the Leiden algorithm of the optional package ``leidenalg``
        (``pip install brainctrl[leiden]``).
    negative : {"asymmetric", "symmetric", "simple", "ignore", "absolute"}, default="asymmetric"
        Treatment of negative weights, as in :func:`modularity`. The choice
        changes the communities of networks with anti-correlated systems.
    n_runs : int, default=10
        Number of independent runs; the best one is returned.
    random_state : int, numpy Generator or None, default=None
        Seed; the same seed gives the same partitions.
    directed : bool, default=False
        Maximise the directed modularity of Leicht & Newman (2008) (see
        :func:`modularity`) instead of that of ``(A + Aᵀ)/2``. A symmetric
        ``adjacency`` gives the same result either way.

    Returns
    -------
    CommunityResult
        ``.partition`` (n_regions,) and ``.quality`` of the best run,
        ``.partitions`` (n_runs, n_regions) and ``.qualities`` (n_runs,).

    See Also
    --------
    modularity : ``Q`` of a given partition.
    consensus_partition : One partition from many.
    brainctrl.multilayer.multilayer_modularity : Communities across layers.

    Notes
    -----
    The quality maximised is the modularity ``Q`` of :func:`modularity`. Each
    Louvain run visits nodes in a random order, moves each node to the
    community with the largest gain, aggregates, and reruns from its output
    until ``Q`` stops increasing. Different runs can end in different local
    maxima; use :func:`consensus_partition` on ``.partitions`` for a
    representative partition.

    With ``directed=True`` the directed quality
    ``(1/m) Σ_ij (A_ij − γ k_out,i k_in,j / m) δ(g_i, g_j)`` equals
    ``(1/m) Σ_ij B̃_ij δ(g_i, g_j)`` with the symmetric
    ``B̃ = (A + Aᵀ)/2 − γ (k_out k_inᵀ + k_in k_outᵀ)/2m``, which is what
    Louvain optimises (as GenLouvain and BCT's ``community_louvain`` do);
    ``"leiden"`` gives leidenalg the directed graph, whose
    ``RBConfigurationVertexPartition`` uses the same null model.

    References
    ----------
    .. [1] Blondel, V. D. et al. (2008). Fast unfolding of communities in large
       networks. J. Stat. Mech. P10008.
    .. [2] Rubinov, M. & Sporns, O. (2011). Weight-conserving characterization
       of complex functional brain networks. NeuroImage 56, 2068–2079.
    .. [3] Traag, V. A., Waltman, L. & van Eck, N. J. (2019). From Louvain to
       Leiden: guaranteeing well-connected communities. Sci. Rep. 9, 5233.
    .. [4] Leicht, E. A. & Newman, M. E. J. (2008). Community structure in
       directed networks. Physical Review Letters 100, 118703.

    Examples
    --------
    >>> import numpy as np
    >>> triangle = np.ones((3, 3)) - np.eye(3)
    >>> adjacency = np.kron(np.eye(2), triangle)
    >>> adjacency[2, 3] = adjacency[3, 2] = 0.1
    >>> result = modularity_communities(adjacency, n_runs=2, random_state=0)
    >>> result.partition.tolist()
    [0, 0, 0, 1, 1, 1]
    """
    check_option("method", method, _METHODS)
    check_option("negative", negative, _NEGATIVE)
    gamma = _check_gamma(gamma)
    n_runs = check_positive("n_runs", n_runs, integer=True)
    adjacency, directed = _check_adjacency(adjacency, directed)
    n_regions = adjacency.shape[0]
    weights, factors, scales, total = _layer_terms(adjacency[None], gamma, negative, directed)
    if total[0] <= 0:
        raise DataError("adjacency has no positive weights; its modularity is undefined.")
    problem = _stacked_problem(weights, factors, scales)
    partitions = np.empty((n_runs, n_regions), dtype=np.int64)
    qualities = np.empty(n_runs)
    for run, seed in enumerate(_run_seeds(random_state, n_runs)):
        if method == "louvain":
            labels, _ = _run(problem, np.random.default_rng(seed), "max")
        else:
            labels = _compact(_leiden_partition(adjacency, gamma, negative, seed, directed))
        partitions[run] = labels
        qualities[run] = _quality(problem, labels) / total[0]
    best = int(np.argmax(qualities))
    return CommunityResult(partitions[best].copy(), float(qualities[best]), partitions, qualities)


def _check_partitions(partitions):
    partitions = check_array("partitions", partitions, dtype=None)
    if partitions.ndim == 1:
        partitions = partitions[None]
    if (
        partitions.ndim != 2
        or partitions.size == 0
        or not np.issubdtype(partitions.dtype, np.integer)
    ):
        raise DataError(
            "partitions must be integer labels of shape (n_partitions, n_regions); got "
            f"shape {partitions.shape} and dtype {partitions.dtype}."
        )
    return partitions


def _one_hot(partitions):
    """Sparse ``(n_regions, Σ_p K_p)`` membership matrix of all partitions side by side."""
    n_partitions, n_regions = partitions.shape
    _, compact = np.unique(partitions, axis=None, return_inverse=True)
    compact = compact.reshape(partitions.shape)
    offsets = np.arange(n_partitions)[:, None] * (int(compact.max()) + 1)
    columns = (offsets + compact).ravel()
    rows = np.tile(np.arange(n_regions), n_partitions)
    _, columns = np.unique(columns, return_inverse=True)
    return sparse.csr_matrix(
        (np.ones(rows.size), (rows, columns)), shape=(n_regions, columns.max() + 1)
    )


def agreement(partitions):
    """Fraction of partitions in which each pair of regions shares a community.

    Parameters
    ----------
    partitions : array-like of int, shape (n_partitions, n_regions)
        One partition per row (e.g. ``CommunityResult.partitions``). Labels
        are only compared within a row.

    Returns
    -------
    ndarray of float, shape (n_regions, n_regions)
        ``D_ij = (1/M) Σ_p δ(g_pi, g_pj)``; the diagonal is 1.

    Notes
    -----
    Computed as ``G Gᵀ / M`` with ``G`` the one-hot membership matrix of all
    ``M`` partitions side by side.

    Examples
    --------
    >>> agreement([[0, 0, 1], [0, 1, 1]]).tolist()
    [[1.0, 0.5, 0.0], [0.5, 1.0, 0.5], [0.0, 0.5, 1.0]]
    """
    partitions = _check_partitions(partitions)
    membership = _one_hot(partitions)
    return (membership @ membership.T).toarray() / partitions.shape[0]


def consensus_partition(
    partitions,
    *,
    threshold=0.5,
    gamma=1.0,
    n_runs=10,
    max_iter=20,
    random_state=None,
):
    """Consensus of several partitions by thresholded agreement re-clustering.

    Parameters
    ----------
    partitions : array-like of int, shape (n_partitions, n_regions)
        Partitions of the same regions, one per row.
    threshold : float, default=0.5
        ``τ`` in [0, 1]: agreement values below it are set to zero.
    gamma : float, default=1.0
        Resolution used to cluster the agreement matrix.
    n_runs : int, default=10
        Louvain runs on each agreement matrix.
    max_iter : int, default=20
        Maximum number of agreement / re-clustering rounds.
    random_state : int, numpy Generator or None, default=None
        Seed of the Louvain runs.

    Returns
    -------
    ndarray of int, shape (n_regions,)
        Consensus labels ``0..K-1``.

    Warns
    -----
    ConvergenceWarning
        If the runs still disagree after ``max_iter`` rounds; the partition
        with the highest modularity on the last agreement matrix is returned.

    Notes
    -----
    Lancichinetti & Fortunato (2012): compute the agreement matrix ``D``
    (:func:`agreement`), set ``D_ij < τ`` and the diagonal to zero, cluster
    ``D`` ``n_runs`` times by modularity maximisation, and repeat with the new
    partitions until all runs give the same partition. If no pair reaches
    ``τ``, every region is its own community.

    References
    ----------
    .. [1] Lancichinetti, A. & Fortunato, S. (2012). Consensus clustering in
       complex networks. Sci. Rep. 2, 336.

    Examples
    --------
    >>> consensus_partition([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 1, 1],
    ...                      [0, 0, 0, 1, 1, 1]], random_state=0).tolist()
    [0, 0, 0, 1, 1, 1]
    """
    partitions = _check_partitions(partitions)
    threshold = float(check_positive("threshold", threshold, strict=False))
    if threshold > 1:
        raise InvalidParameterError(f"'threshold' must be in [0, 1]; got {threshold!r}.")
    gamma = _check_gamma(gamma)
    n_runs = check_positive("n_runs", n_runs, integer=True)
    max_iter = check_positive("max_iter", max_iter, integer=True)
    rng = check_random_state(random_state)
    n_regions = partitions.shape[1]
    current = partitions
    for _ in range(max_iter):
        matrix = agreement(current)
        matrix[matrix < threshold] = 0.0
        np.fill_diagonal(matrix, 0.0)
        if not matrix.any():
            return np.arange(n_regions)
        weights, factors, scales, total = _layer_terms(matrix[None], gamma, "ignore")
        problem = _stacked_problem(weights, factors, scales)
        runs = np.empty((n_runs, n_regions), dtype=np.int64)
        qualities = np.empty(n_runs)
        for run, seed in enumerate(rng.integers(0, 2**63 - 1, size=n_runs)):
            runs[run], qualities[run] = _run(problem, np.random.default_rng(seed), "max")
        runs = np.array([_compact(labels) for labels in runs])
        if np.all(runs == runs[0]):
            return runs[0]
        current = runs
    warnings.warn(
        f"consensus_partition: the {n_runs} runs still disagree after max_iter={max_iter} "
        "rounds; returning the run with the highest modularity on the last agreement matrix.",
        ConvergenceWarning,
        stacklevel=2,
    )
    return runs[int(np.argmax(qualities))]
