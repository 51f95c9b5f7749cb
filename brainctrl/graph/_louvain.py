"""Generalised Louvain optimisation of a modularity matrix.

The engine maximises ``Σ_ij B_ij δ(g_i, g_j)`` for a symmetric modularity
matrix ``B``, in the style of GenLouvain (Jutla, Jeub, Weir & Mucha): repeated
passes of single-node moves in random order, then aggregation of each
community into one node, until no node moves; optionally iterated from its own
output until the quality stops improving.

``B`` is held in a "sparse plus low rank" form,

    B = W + diag(w_self) − U diag(d) Uᵀ,

with ``W`` a sparse symmetric matrix with zero diagonal, ``U`` an
``(n, r)`` sparse factor matrix and ``d`` an ``(r,)`` vector of scales. The
null terms of (multilayer) modularity are of this form (one column of ``U``
per layer holding the strengths, ``d_s = γ/2m_s``), so a multilayer problem
with dense layers never needs a dense ``(N·T, N·T)`` matrix, and the form is
kept by aggregation (``W ← SᵀWS``, ``U ← SᵀU``).
"""

import functools
import logging
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment

from brainctrl._utils.validation import check_option, check_random_state
from brainctrl.exceptions import DataError

__all__ = ["louvain_partition", "relabel_ordinal_partition"]

logger = logging.getLogger(__name__)

_MOVES = ("max", "random_weighted")


@dataclass
class _Problem:
    """Modularity matrix ``B = W + diag(self_weights) − U diag(scales) Uᵀ``."""

    weights: sparse.csr_matrix  # (n, n) symmetric, zero diagonal
    self_weights: np.ndarray  # (n,)
    factors: sparse.csr_matrix  # (n, r)
    scales: np.ndarray  # (r,)

    @functools.cached_property
    def kernel_arrays(self):
        """The CSR arrays of ``W`` and ``U``, and ``d``, in the compiled kernels' dtypes.

        Computed once per problem (a level of the optimisation), not per pass.
        """
        weights, factors = self.weights, self.factors
        return (
            np.ascontiguousarray(weights.indptr, dtype=np.int64),
            np.ascontiguousarray(weights.indices, dtype=np.int64),
            np.ascontiguousarray(weights.data, dtype=float),
            np.ascontiguousarray(factors.indptr, dtype=np.int64),
            np.ascontiguousarray(factors.indices, dtype=np.int64),
            np.ascontiguousarray(factors.data, dtype=float),
            np.ascontiguousarray(self.scales, dtype=float),
        )

    @property
    def n_nodes(self):
        return self.weights.shape[0]

    def dense(self):
        """Return the dense ``(n, n)`` matrix ``B`` (for small problems and tests)."""
        factors = self.factors.toarray()
        out = self.weights.toarray() + np.diag(self.self_weights)
        return out - (factors * self.scales) @ factors.T

    def tolerance(self):
        """Smallest gain counted as an improvement, relative to the matrix's scale."""
        scale = 0.0
        if self.weights.nnz:
            scale = max(scale, float(np.abs(self.weights.data).max()))
        if self.factors.nnz and self.scales.size:
            scale = max(
                scale,
                float(np.abs(self.factors.data).max() ** 2 * np.abs(self.scales).max()),
            )
        return 1e-10 * max(scale, 1e-300)


def _problem_from_matrix(modularity_matrix):
    """Build a problem from a dense array or a scipy sparse matrix ``B``."""
    if sparse.issparse(modularity_matrix):
        matrix = sparse.csr_matrix(modularity_matrix, dtype=float)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise DataError(
                f"modularity_matrix must be square with shape (n, n); got shape {matrix.shape}."
            )
        if matrix.nnz and not np.all(np.isfinite(matrix.data)):
            raise DataError("modularity_matrix contains non-finite value(s) (NaN or inf).")
        asymmetry = abs(matrix - matrix.T)
        scale = abs(matrix).max() if matrix.nnz else 0.0
        if asymmetry.nnz and asymmetry.max() > 1e-10 * max(scale, 1.0):
            raise DataError(
                "modularity_matrix must be symmetric; the largest |B - Bᵀ| is "
                f"{asymmetry.max():.3g}."
            )
    else:
        dense = np.asarray(modularity_matrix, dtype=float)
        if dense.ndim != 2 or dense.shape[0] != dense.shape[1]:
            raise DataError(
                f"modularity_matrix must be square with shape (n, n); got shape {dense.shape}."
            )
        if not np.all(np.isfinite(dense)):
            raise DataError("modularity_matrix contains non-finite value(s) (NaN or inf).")
        difference = np.abs(dense - dense.T).max() if dense.size else 0.0
        if difference > 1e-10 * max(np.abs(dense).max(initial=0.0), 1.0):
            raise DataError(
                f"modularity_matrix must be symmetric; the largest |B - Bᵀ| is {difference:.3g}."
            )
        matrix = sparse.csr_matrix(dense)
    n = matrix.shape[0]
    self_weights = np.asarray(matrix.diagonal(), dtype=float)
    weights = (matrix - sparse.diags(self_weights)).tocsr()
    weights.eliminate_zeros()
    weights = ((weights + weights.T) * 0.5).tocsr()
    factors = sparse.csr_matrix((n, 0))
    return _Problem(weights, self_weights, factors, np.zeros(0))


def _quality(problem, labels):
    """``Σ_ij B_ij δ(g_i, g_j)`` for integer labels."""
    weights = problem.weights.tocoo()
    same = labels[weights.row] == labels[weights.col]
    total = float(problem.self_weights.sum() + weights.data[same].sum())
    if problem.scales.size:
        _, compact = np.unique(labels, return_inverse=True)
        membership = sparse.csr_matrix(
            (np.ones(labels.size), (compact, np.arange(labels.size))),
            shape=(compact.max() + 1, labels.size),
        )
        summed = (membership @ problem.factors).toarray()  # (n_communities, r)
        total -= float(np.sum(summed**2 * problem.scales))
    return total


def _aggregate(problem, labels):
    """Collapse each community (labels ``0..C-1``) into one node."""
    n = problem.n_nodes
    n_communities = int(labels.max()) + 1
    membership = sparse.csr_matrix((np.ones(n), (np.arange(n), labels)), shape=(n, n_communities))
    full = problem.weights + sparse.diags(problem.self_weights)
    collapsed = (membership.T @ full @ membership).tocsr()
    self_weights = np.asarray(collapsed.diagonal(), dtype=float)
    weights = (collapsed - sparse.diags(self_weights)).tocsr()
    weights.eliminate_zeros()
    factors = (membership.T @ problem.factors).tocsr()
    factors.eliminate_zeros()
    return _Problem(weights, self_weights, factors, problem.scales)


def _improvable(problem, labels, tolerance, community_factors=None, sizes=None):
    """Nodes that have a single move raising the quality (compiled, all nodes).

    ``community_factors`` and ``sizes`` are the node-move state for
    ``labels`` (see :func:`_move_state`; computed when not given). Returns a
    boolean mask, or None when the problem's null factors have more than two
    entries per node (then every node is treated as improvable).
    """
    # the kernels (and numba) load on first use, not with ``import brainctrl``
    from brainctrl.graph._kernels import improvable

    per_row = np.diff(problem.factors.indptr)
    if per_row.size and per_row.max() > 2:
        return None
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    if community_factors is None or sizes is None:
        community_factors, sizes = _move_state(problem, labels)
    return improvable(*problem.kernel_arrays, community_factors, labels, sizes, float(tolerance))


def _move_state(problem, labels):
    """Summed null factors ``(r, n)`` and size of each community of ``labels``.

    Stored ``(r, n)`` so that a factor's row is contiguous; pages that no
    community touches are never written.
    """
    n = problem.n_nodes
    community_factors = np.zeros((max(problem.scales.size, 1), n))
    if problem.scales.size and problem.factors.nnz:
        coo = problem.factors.tocoo()
        np.add.at(community_factors, (coo.col, labels[coo.row]), coo.data)
    return community_factors, np.bincount(labels, minlength=n).astype(np.int64)


def _visit_order(problem, labels, rng, tolerance, state, *, every_node):
    """Nodes to visit, in random order: every node, or those with an improving move.

    Every node also when the improving moves cannot be found at once (see
    :func:`_improvable`). ``state`` is ``(community_factors, sizes)``.
    """
    order = rng.permutation(problem.n_nodes)
    improvable = None if every_node else _improvable(problem, labels, tolerance, *state)
    return order if improvable is None else order[improvable[order]]


def _local_moves(problem, labels, rng, move, tolerance, start_all=True):
    """Move single nodes between communities until no move improves the quality.

    Nodes are visited from a queue that starts with all nodes in random order
    (with ``start_all=False``, only those that have an improving move, found
    for all nodes at once); when a node moves, its neighbours that are not
    queued are queued again (the compiled :func:`._kernels.move_nodes`).
    A move also changes the null-model term of every node of its layer, not
    only of its neighbours, so when the queue is empty all nodes are checked at
    once and those with an improving move are queued again, until none is left
    (as GenLouvain sweeps until a pass moves nothing). ``labels`` (values in
    ``0..n-1``) is changed in place. Returns True when at least one node moved.
    """
    from brainctrl.graph._kernels import move_nodes

    n = problem.n_nodes
    work = np.ascontiguousarray(labels, dtype=np.int64)
    community_factors, sizes = _move_state(problem, work)
    empty = np.zeros(n, dtype=np.int64)
    unused = np.flatnonzero(sizes == 0)[::-1]
    empty[: unused.size] = unused
    n_empty = unused.size
    state = (community_factors, sizes)
    order = _visit_order(problem, work, rng, tolerance, state, every_node=start_all)
    moved_any = False
    while order.size:
        moved, n_empty = move_nodes(
            *problem.kernel_arrays,
            community_factors,
            work,
            sizes,
            empty,
            n_empty,
            order.astype(np.int64),
            float(tolerance),
            move == "random_weighted",
            rng,
        )
        if not moved:
            break
        moved_any = True
        order = _visit_order(problem, work, rng, tolerance, state, every_node=False)
    labels[:] = work
    return moved_any


def _compact(labels):
    """Relabel to ``0..C-1`` in order of first appearance."""
    _, first, inverse = np.unique(labels, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inverse]


def _louvain_once(problem, rng, move, initial=None):
    """One GenLouvain run: local moves and aggregation until nothing merges."""
    tolerance = problem.tolerance()
    labels = np.arange(problem.n_nodes) if initial is None else _compact(initial)
    partition = None  # community of each original node
    level_problem = problem
    while True:
        _local_moves(
            level_problem,
            labels,
            rng,
            move,
            tolerance,
            start_all=partition is None and initial is None,
        )
        labels = _compact(labels)
        partition = labels if partition is None else labels[partition]
        n_communities = int(labels.max()) + 1
        if n_communities in (level_problem.n_nodes, 1):
            break
        level_problem = _aggregate(level_problem, labels)
        labels = np.arange(level_problem.n_nodes)
    return partition


def _iterated_louvain(problem, rng, move, *, initial=None, postprocess=None, max_iter=100):
    """Rerun Louvain from its own output until the quality stops improving."""
    tolerance = problem.tolerance() * max(problem.n_nodes, 1)
    labels = _louvain_once(problem, rng, move, initial=initial)
    if postprocess is not None:
        labels = postprocess(labels)
    quality = _quality(problem, labels)
    for _ in range(max_iter):
        candidate = _louvain_once(problem, rng, move, initial=labels)
        if postprocess is not None:
            candidate = postprocess(candidate)
        candidate_quality = _quality(problem, candidate)
        if candidate_quality >= quality:
            improved = candidate_quality > quality + tolerance
            labels, quality = candidate, candidate_quality
            if improved:
                continue
        break
    return _compact(labels), quality


def relabel_ordinal_partition(partition):
    """Relabel communities between adjacent layers to maximise persistence.

    Each layer keeps its own grouping of nodes; only the community labels
    change. Going from the first layer to the last, the communities of layer
    ``s + 1`` are matched one-to-one to those of layer ``s`` so that the
    number of nodes keeping their label is largest (Hungarian algorithm on
    the overlap table); unmatched communities get labels not used in layer
    ``s``. With ordinal coupling this never lowers the multilayer quality,
    since the within-layer terms are unchanged and the coupling term counts
    exactly these kept labels.

    Parameters
    ----------
    partition : array-like of int, shape (n_regions, n_layers)
        Community labels per node and layer.

    Returns
    -------
    ndarray of int, shape (n_regions, n_layers)
        Relabelled partition, labels ``0..K-1``.

    Examples
    --------
    >>> relabel_ordinal_partition([[0, 5], [0, 5], [1, 7]]).tolist()
    [[0, 0], [0, 0], [1, 1]]
    """
    partition = np.asarray(partition)
    if partition.ndim != 2 or not np.issubdtype(partition.dtype, np.integer):
        raise DataError(
            "partition must be an integer array of shape (n_regions, n_layers); "
            f"got shape {partition.shape} and dtype {partition.dtype}."
        )
    out = np.empty_like(partition, dtype=np.int64)
    out[:, 0] = _compact(partition[:, 0])
    next_label = int(out[:, 0].max()) + 1
    for layer in range(1, partition.shape[1]):
        previous = out[:, layer - 1]
        previous_ids, previous_index = np.unique(previous, return_inverse=True)
        current_ids, current_index = np.unique(partition[:, layer], return_inverse=True)
        overlap = np.zeros((current_ids.size, previous_ids.size))
        np.add.at(overlap, (current_index, previous_index), 1.0)
        rows, cols = linear_sum_assignment(overlap, maximize=True)
        mapping = np.full(current_ids.size, -1, dtype=np.int64)
        keep = overlap[rows, cols] > 0
        mapping[rows[keep]] = previous_ids[cols[keep]]
        unmatched = np.flatnonzero(mapping < 0)
        mapping[unmatched] = next_label + np.arange(unmatched.size)
        next_label += unmatched.size
        out[:, layer] = mapping[current_index]
    _, flat = np.unique(out, return_inverse=True)
    return flat.reshape(out.shape)


def louvain_partition(
    modularity_matrix,
    *,
    move="max",
    iterate=True,
    initial_partition=None,
    random_state=None,
):
    """Maximise ``Σ_ij B_ij δ(g_i, g_j)`` over partitions with generalised Louvain.

    Parameters
    ----------
    modularity_matrix : ndarray or scipy sparse matrix of shape (n_nodes, n_nodes)
        Symmetric quality matrix ``B`` (e.g. ``A − γ k kᵀ/2m``). Entries not
        stored in a sparse matrix are zero.
    move : {"max", "random_weighted"}, default="max"
        Single-node move rule: ``"max"`` moves a node to the community with
        the largest gain; ``"random_weighted"`` picks one of the communities
        with a positive gain at random with probability proportional to the
        gain (GenLouvain's ``moverandw``).
    iterate : bool, default=True
        Rerun the optimisation from its own output until the quality stops
        improving (GenLouvain's ``iterated_genlouvain``).
    initial_partition : array-like of int, shape (n_nodes,), optional
        Start the first level from this partition instead of singletons.
    random_state : int, numpy Generator or None, default=None
        Seed of the random node order (and random moves).

    Returns
    -------
    partition : ndarray of int, shape (n_nodes,)
        Community labels ``0..K-1``.
    quality : float
        ``Σ_ij B_ij δ(g_i, g_j)`` of the partition (not normalised).

    Notes
    -----
    Each level visits the nodes in a random order and moves each to the
    neighbouring community that increases ``Σ B δ`` (a node may also leave
    for a new community of its own); passes repeat until no node moves. The
    communities then become the nodes of an aggregated problem
    ``B' = Sᵀ B S`` and the same is done again, until no node moves. With a
    sparse ``B`` only communities linked to a node by a stored entry are
    candidates. The node moves run in a compiled kernel (numba), loaded from
    numba's cache after the first use on a machine.

    References
    ----------
    .. [1] Blondel, V. D., Guillaume, J.-L., Lambiotte, R. & Lefebvre, E. (2008).
       Fast unfolding of communities in large networks. J. Stat. Mech. P10008.
    .. [2] Jutla, I. S., Jeub, L. G. S. & Mucha, P. J. (2011–2019). A generalized
       Louvain method for community detection implemented in MATLAB (GenLouvain).
    .. [3] Mucha, P. J., Richardson, T., Macon, K., Porter, M. A. & Onnela, J.-P.
       (2010). Community structure in time-dependent, multiscale, and multiplex
       networks. Science 328, 876–878.

    Examples
    --------
    >>> import numpy as np
    >>> B = np.array([[0., 1, -1, -1], [1, 0, -1, -1], [-1, -1, 0, 1], [-1, -1, 1, 0]])
    >>> partition, quality = louvain_partition(B, random_state=0)
    >>> partition.tolist(), quality
    ([0, 0, 1, 1], 4.0)
    """
    check_option("move", move, _MOVES)
    problem = _problem_from_matrix(modularity_matrix)
    rng = check_random_state(random_state)
    if initial_partition is not None:
        initial = np.asarray(initial_partition)
        if initial.shape != (problem.n_nodes,) or not np.issubdtype(initial.dtype, np.integer):
            raise DataError(
                f"initial_partition must be integer labels of shape ({problem.n_nodes},); "
                f"got shape {initial.shape} and dtype {initial.dtype}."
            )
    else:
        initial = None
    return _run(problem, rng, move, iterate=iterate, initial=initial)


def _run(problem, rng, move, *, iterate=True, initial=None, postprocess=None, max_iter=100):
    """Optimise ``problem`` once (``iterate=False``) or to a fixed point."""
    if problem.n_nodes == 0:
        return np.zeros(0, dtype=np.int64), 0.0
    if iterate:
        return _iterated_louvain(
            problem, rng, move, initial=initial, postprocess=postprocess, max_iter=max_iter
        )
    labels = _louvain_once(problem, rng, move, initial=initial)
    if postprocess is not None:
        labels = postprocess(labels)
    return _compact(labels), _quality(problem, labels)
