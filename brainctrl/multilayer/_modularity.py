"""Multilayer (multislice) modularity of a sequence of networks (Mucha et al. 2010)."""

import logging
import warnings
from dataclasses import dataclass

import numpy as np
from joblib import Parallel, delayed
from scipy import sparse

from brainctrl._utils.validation import (
    NEGATIVE_RULES,
    check_array,
    check_finite,
    check_option,
    check_positive,
    check_random_state,
)
from brainctrl.exceptions import DataError
from brainctrl.graph._communities import (
    _check_directed,
    _layer_terms,
    _orient,
    _stacked_problem,
)
from brainctrl.graph._louvain import _MOVES, _quality, _run, relabel_ordinal_partition

__all__ = [
    "MultilayerResult",
    "multilayer_modularity",
    "multilayer_modularity_matrix",
    "multilayer_quality",
]

logger = logging.getLogger(__name__)

_COUPLINGS = ("ordinal", "categorical")
_NEGATIVE = NEGATIVE_RULES


@dataclass
class MultilayerResult:
    """Result of :func:`multilayer_modularity`.

    Attributes
    ----------
    partition : ndarray of int, shape (n_regions, n_layers)
        Community labels of the best run, ``0..K-1``, shared across layers.
    quality : float
        Its multilayer modularity ``Q`` (normalised by ``2μ``).
    partitions : ndarray of int, shape (n_runs, n_regions, n_layers)
        The partition of every run.
    qualities : ndarray of float, shape (n_runs,)
        ``Q`` of every run.
    gamma : ndarray of float, shape (n_layers,)
        Resolution of each layer.
    omega : float
        Inter-layer coupling.
    coupling : str
        ``"ordinal"`` or ``"categorical"``.
    """

    partition: np.ndarray
    quality: float
    partitions: np.ndarray
    qualities: np.ndarray
    gamma: np.ndarray
    omega: float
    coupling: str


def _check_stack(adjacency_sequence):
    """Validated ``(n_layers, n_regions, n_regions)`` stack, as given."""
    if isinstance(adjacency_sequence, (list, tuple)) and len(adjacency_sequence) > 0:
        shapes = {np.shape(layer) for layer in adjacency_sequence}
        if len(shapes) > 1:
            raise DataError(
                "adjacency_sequence must hold layers of one shape (n_regions, n_regions); "
                f"got shapes {sorted(shapes)}."
            )
    stack = check_array("adjacency_sequence", adjacency_sequence, ndim=3)
    if stack.shape[0] < 1 or stack.shape[1] != stack.shape[2] or stack.shape[1] < 1:
        raise DataError(
            "adjacency_sequence must have shape (n_layers, n_regions, n_regions); "
            f"got shape {stack.shape}."
        )
    check_finite("adjacency_sequence", stack)
    return stack


def _check_sequence(adjacency_sequence):
    """Validated stack, non-symmetric layers replaced by ``(A + Aᵀ)/2`` (logged)."""
    return _orient(_check_stack(adjacency_sequence), "adjacency_sequence")[0]


def _check_gamma(gamma, n_layers):
    values = np.asarray(gamma, dtype=float)
    if values.ndim == 0:
        check_positive("gamma", float(values), strict=False)
        return np.full(n_layers, float(values))
    if values.shape != (n_layers,) or not np.all(np.isfinite(values)) or np.any(values < 0):
        raise DataError(
            f"gamma must be a number >= 0 or an array of shape ({n_layers},) with values "
            f">= 0; got {np.array2string(values, threshold=6)}."
        )
    return values


def _coupling_matrix(n_regions, n_layers, omega, coupling):
    """Sparse ``(N·T, N·T)`` inter-layer coupling ``C`` (node-layer ``(i, s)`` at ``s·N + i``)."""
    size = n_regions * n_layers
    if omega == 0 or n_layers == 1:
        return sparse.csr_matrix((size, size))
    if coupling == "ordinal":
        first = np.arange((n_layers - 1) * n_regions)
        rows = np.concatenate([first, first + n_regions])
        cols = np.concatenate([first + n_regions, first])
    else:
        layer_a, layer_b = np.nonzero(~np.eye(n_layers, dtype=bool))
        rows = (layer_a[:, None] * n_regions + np.arange(n_regions)).ravel()
        cols = (layer_b[:, None] * n_regions + np.arange(n_regions)).ravel()
    return sparse.csr_matrix((np.full(rows.size, float(omega)), (rows, cols)), shape=(size, size))


def _build(adjacency_sequence, gamma, omega, coupling, negative, directed=False):
    check_option("coupling", coupling, _COUPLINGS)
    check_option("negative", negative, _NEGATIVE)
    omega = float(check_positive("omega", omega, strict=False))
    directed = _check_directed(directed)
    stack, directed = _orient(_check_stack(adjacency_sequence), "adjacency_sequence", directed)
    n_layers, n_regions, _ = stack.shape
    gamma = _check_gamma(gamma, n_layers)
    weights, factors, scales, total = _layer_terms(stack, gamma, negative, directed)
    # layer terms in edge-weight units: B_s = A⁺ − γ k⁺k⁺ᵀ/v⁺ − λ_s (A⁻ − γ k⁻k⁻ᵀ/v⁻)
    # (directed: the symmetric parts of A± and of the Leicht-Newman terms γ k_out k_inᵀ/v)
    scales = scales.reshape(n_layers, -1)
    empty = np.flatnonzero(total <= 0)
    if empty.size == n_layers:
        raise DataError(
            "adjacency_sequence has no positive weights in any layer (with negative="
            f"{negative!r}): only the coupling would count, so the multilayer modularity "
            "is undefined."
        )
    if empty.size:
        warnings.warn(
            f"{empty.size} of {n_layers} layers have no positive weights (layers "
            f"{empty[:10].tolist()}{' …' if empty.size > 10 else ''}); only the coupling "
            "places their nodes.",
            UserWarning,
            stacklevel=3,
        )
    coupling_matrix = _coupling_matrix(n_regions, n_layers, omega, coupling)
    problem = _stacked_problem(weights, factors, scales, coupling_matrix)
    two_mu = float(total.sum() + coupling_matrix.sum())
    if two_mu <= 0:
        raise DataError(
            "adjacency_sequence has no positive weights and omega is 0; the multilayer "
            "modularity is undefined."
        )
    return problem, two_mu, stack.shape, gamma, omega


def multilayer_modularity_matrix(
    adjacency_sequence,
    *,
    gamma=1.0,
    omega=1.0,
    coupling="ordinal",
    negative="asymmetric",
    directed=False,
):
    """Multilayer modularity matrix ``B`` and its normalisation ``2μ``.

    Parameters
    ----------
    adjacency_sequence : array-like of shape (n_layers, n_regions, n_regions)
        One network per layer (e.g. sliding-window connectivity or weight
        snapshots of a model). Non-symmetric layers are replaced by
        ``(A + Aᵀ)/2`` unless ``directed=True``.
    gamma : float or array-like of shape (n_layers,), default=1.0
        Resolution ``γ`` (per layer if an array).
    omega : float, default=1.0
        Inter-layer coupling ``ω >= 0``.
    coupling : {"ordinal", "categorical"}, default="ordinal"
        ``"ordinal"`` couples each node to itself in adjacent layers,
        ``"categorical"`` in all pairs of layers.
    negative : {"asymmetric", "symmetric", "simple", "ignore", "absolute"}, default="asymmetric"
        Treatment of negative weights, see :func:`multilayer_modularity`.
    directed : bool, default=False
        Leicht–Newman null model for directed layers, see
        :func:`multilayer_modularity`.

    Returns
    -------
    matrix : scipy.sparse.csr_matrix of shape (n_regions * n_layers, n_regions * n_layers)
        ``B``; node ``i`` of layer ``s`` is row ``s * n_regions + i``.
    two_mu : float
        ``2μ``, so that ``Q = Σ B_ij δ(g_i, g_j) / 2μ``.

    Notes
    -----
    Each diagonal block is dense; the matrix holds ``n_layers · n_regions²``
    entries plus the coupling. :func:`multilayer_modularity` never builds it.
    With ``directed=True`` the blocks are the symmetric
    ``(A_s + A_sᵀ)/2 − γ_s (k_out k_inᵀ + k_in k_outᵀ)/2m_s`` (GenLouvain's
    ``multiord`` / ``multicat`` for directed layers), so that
    ``Σ B δ`` is the directed quality.

    Examples
    --------
    >>> import numpy as np
    >>> layers = np.array([[[0., 1], [1, 0]], [[0, 1], [1, 0]]])
    >>> matrix, two_mu = multilayer_modularity_matrix(layers, omega=0.5)
    >>> two_mu
    6.0
    >>> matrix.toarray()
    array([[-0.5,  0.5,  0.5,  0. ],
           [ 0.5, -0.5,  0. ,  0.5],
           [ 0.5,  0. , -0.5,  0.5],
           [ 0. ,  0.5,  0.5, -0.5]])
    """
    problem, two_mu, _, _, _ = _build(
        adjacency_sequence, gamma, omega, coupling, negative, directed
    )
    factors = problem.factors
    null = (factors @ sparse.diags(problem.scales) @ factors.T).tocsr()
    matrix = problem.weights + sparse.diags(problem.self_weights) - null
    return sparse.csr_matrix(matrix), two_mu


def multilayer_quality(
    adjacency_sequence,
    partition,
    *,
    gamma=1.0,
    omega=1.0,
    coupling="ordinal",
    negative="asymmetric",
    directed=False,
):
    """Multilayer modularity ``Q`` of a given partition.

    Parameters
    ----------
    adjacency_sequence : array-like of shape (n_layers, n_regions, n_regions)
        One network per layer.
    partition : array-like of int, shape (n_regions, n_layers)
        Community labels; equal labels in different layers mean the same community.
    gamma, omega, coupling, negative, directed
        As in :func:`multilayer_modularity`.

    Returns
    -------
    float
        ``Q = Σ B_ij δ(g_i, g_j) / 2μ``.

    Examples
    --------
    >>> import numpy as np
    >>> layers = np.array([[[0., 1], [1, 0]], [[0, 1], [1, 0]]])
    >>> multilayer_quality(layers, [[0, 0], [0, 0]], omega=0.5)
    0.3333333333333333
    """
    problem, two_mu, shape, _, _ = _build(
        adjacency_sequence, gamma, omega, coupling, negative, directed
    )
    n_layers, n_regions, _ = shape
    labels = _check_multilayer_partition(partition, n_regions, n_layers)
    return _quality(problem, labels.T.ravel()) / two_mu


def _check_multilayer_partition(partition, n_regions, n_layers):
    labels = np.asarray(partition)
    if labels.shape != (n_regions, n_layers) or not np.issubdtype(labels.dtype, np.integer):
        raise DataError(
            f"partition must be integer labels of shape (n_regions, n_layers) = "
            f"({n_regions}, {n_layers}); got shape {labels.shape} and dtype {labels.dtype}."
        )
    return labels.astype(np.int64)


def _single_run(problem, seed, move, postprocess, max_iter):
    labels, quality = _run(
        problem, np.random.default_rng(seed), move, postprocess=postprocess, max_iter=max_iter
    )
    return labels, quality


def multilayer_modularity(
    adjacency_sequence,
    *,
    gamma=1.0,
    omega=1.0,
    coupling="ordinal",
    negative="asymmetric",
    n_runs=10,
    move="random_weighted",
    max_iter=100,
    random_state=None,
    n_jobs=1,
    directed=False,
):
    """Multilayer communities maximising multislice modularity (Mucha et al. 2010).

    Parameters
    ----------
    adjacency_sequence : array-like of shape (n_layers, n_regions, n_regions)
        One network per layer: sliding-window connectivity, snapshots of a
        model's weights during learning, etc. ``A_ijs`` is the weight of the
        edge from ``i`` to ``j`` in layer ``s`` when ``directed=True``;
        otherwise non-symmetric layers are replaced by ``(A + Aᵀ)/2``, which
        keeps ``Σ_ij A_ij δ(g_i, g_j)`` and uses the mean of in- and
        out-strength in the null model. Diagonals are used as given (zero
        them for correlation matrices).
    gamma : float or array-like of shape (n_layers,), default=1.0
        Structural resolution ``γ`` (per layer if an array).
    omega : float, default=1.0
        Inter-layer coupling ``ω >= 0``.
    coupling : {"ordinal", "categorical"}, default="ordinal"
        ``"ordinal"``: node i in layer s is coupled to node i in layers s ± 1
        (time-ordered layers); ``"categorical"``: to node i in every other layer.
    negative : {"asymmetric", "symmetric", "simple", "ignore", "absolute"}, default="asymmetric"
        Treatment of negative weights in each layer (see Notes).
    n_runs : int, default=10
        Independent runs; the best is returned.
    move : {"random_weighted", "max"}, default="random_weighted"
        Node move rule of the Louvain passes: random among positive-gain
        moves weighted by the gain (GenLouvain's ``moverandw``), or the
        largest gain. The random rule avoids the stalls of greedy moves at
        large ``ω`` described by Bazzi et al. (2016) and gives more varied
        runs; ``"max"`` is about twice as fast.
    max_iter : int, default=100
        Maximum reruns of Louvain from its own output within one run.
    random_state : int, numpy Generator or None, default=None
        Seed; the same seed gives the same result for any ``n_jobs``.
    n_jobs : int, default=1
        Runs executed in parallel (joblib processes).
    directed : bool, default=False
        Use the Leicht–Newman null model in each layer (see Notes) instead of
        symmetrising non-symmetric layers; the coupling is unchanged.
        Symmetric layers give the same result either way.

    Returns
    -------
    MultilayerResult
        ``.partition`` (n_regions, n_layers) and ``.quality`` of the best run;
        ``.partitions`` and ``.qualities`` of all runs.

    See Also
    --------
    flexibility, promiscuity, module_allegiance : Measures of the partition.
    brainctrl.graph.modularity_communities : Communities of one network.

    Notes
    -----
    The quality is

    ``Q = (1/2μ) Σ_{ijsr} [(A_ijs − γ_s k_is k_js / 2m_s) δ_sr + δ_ij C_jsr] δ(g_is, g_jr)``,

    ``C_jsr = ω`` for coupled layers, ``2μ = Σ_s 2m_s + Σ_jsr C_jsr``. For
    signed layers, with ``A⁺``/``A⁻`` the positive and negative parts,
    ``k±`` their strengths and ``v±`` their totals, layer ``s`` contributes

    ``A⁺ − γ k⁺k⁺ᵀ/v⁺ − λ_s (A⁻ − γ k⁻k⁻ᵀ/v⁻)``

    with ``λ_s = v⁺/(v⁺ + v⁻)`` (``"asymmetric"``, Rubinov & Sporns 2011),
    ``λ_s = 1`` (``"symmetric"``, Gómez et al. 2009), ``λ_s = v⁺/v⁻``
    (``"simple"``) or ``λ_s = 0`` (``"ignore"``; ``"absolute"`` takes
    ``|A_s|`` as ``A⁺`` and has no negative part), i.e. the single-layer signed
    modularity of :func:`brainctrl.graph.modularity` scaled by ``2m_s``, with
    ``2m_s = v⁺_s + v⁻_s`` for ``"symmetric"`` and ``2m_s = v⁺_s`` otherwise.
    Without negative weights this is exactly Mucha et al.'s quality, the one
    GenLouvain maximises.

    With ``directed=True`` each layer's null term is that of Leicht & Newman
    (2008), ``γ_s k_out,is k_in,js / m_s`` with out- and in-strengths
    ``k_out,is = Σ_j A_ijs``, ``k_in,js = Σ_i A_ijs`` and ``m_s = Σ_ij A_ijs``
    (for signed layers, separately for ``A⁺`` and ``A⁻`` with ``v±``), and
    ``2μ = Σ_s m_s + Σ_jsr C_jsr``. Because ``δ`` is symmetric the
    optimiser uses the symmetric part of each block,
    ``(A_s + A_sᵀ)/2 − γ_s (k_out k_inᵀ + k_in k_outᵀ)/2m_s``, as GenLouvain's
    ``multiord`` and ``multicat`` do for directed layers; it equals the
    undirected block of ``(A_s + A_sᵀ)/2`` plus ``γ_s d dᵀ/4m_s`` with
    ``d = k_in − k_out``. The engine holds it as two factors per layer,
    ``(k_out + k_in)/2`` and ``(k_out − k_in)/2`` (four for signed layers).

    Each run is a generalised Louvain (local moves, aggregation) rerun from
    its own output until ``Q`` stops increasing (GenLouvain's
    ``iterated_genlouvain``). For ordinal coupling every rerun is followed by
    relabelling communities between adjacent layers to maximise persistence
    without changing any layer's partition
    (:func:`brainctrl.graph.relabel_ordinal_partition`), which never lowers
    ``Q``. ``B`` is never formed densely: the engine keeps the layers'
    weights as a sparse matrix plus one null-model factor per layer (memory
    ``O(n_layers · n_regions²)`` for dense layers). On 100 layers × 200 nodes
    one run takes about 3 CPU-seconds (see ``benchmarks/bench_multilayer.py``).

    References
    ----------
    .. [1] Mucha, P. J., Richardson, T., Macon, K., Porter, M. A. & Onnela, J.-P.
       (2010). Community structure in time-dependent, multiscale, and multiplex
       networks. Science 328, 876–878.
    .. [2] Bassett, D. S. et al. (2011). Dynamic reconfiguration of human brain
       networks during learning. PNAS 108, 7641–7646.
    .. [3] Jutla, I. S., Jeub, L. G. S. & Mucha, P. J. GenLouvain: a generalized
       Louvain method for community detection implemented in MATLAB.
    .. [4] Rubinov, M. & Sporns, O. (2011). Weight-conserving characterization
       of complex functional brain networks. NeuroImage 56, 2068–2079.
    .. [5] Bazzi, M., Porter, M. A., Williams, S., McDonald, M., Fenn, D. J. &
       Howison, S. D. (2016). Community detection in temporal multilayer
       networks, with an application to correlation networks. Multiscale
       Model. Simul. 14, 1–41.
    .. [6] Leicht, E. A. & Newman, M. E. J. (2008). Community structure in
       directed networks. Physical Review Letters 100, 118703.

    Examples
    --------
    >>> import numpy as np
    >>> block = np.kron(np.eye(2), np.ones((3, 3)) - np.eye(3))
    >>> result = multilayer_modularity([block, block, block], n_runs=2, random_state=0)
    >>> result.partition[:, 0].tolist(), bool((result.partition == result.partition[:, :1]).all())
    ([0, 0, 0, 1, 1, 1], True)
    """
    check_option("move", move, _MOVES)
    n_runs = check_positive("n_runs", n_runs, integer=True)
    max_iter = check_positive("max_iter", max_iter, integer=True)
    n_jobs = int(check_positive("n_jobs", n_jobs, integer=True)) if n_jobs != -1 else -1
    problem, two_mu, shape, gamma, omega = _build(
        adjacency_sequence, gamma, omega, coupling, negative, directed
    )
    n_layers, n_regions, _ = shape

    def to_matrix(labels):
        return labels.reshape(n_layers, n_regions).T

    postprocess = None
    if coupling == "ordinal" and n_layers > 1:

        def postprocess(labels):
            return relabel_ordinal_partition(to_matrix(labels)).T.ravel()

    seeds = check_random_state(random_state).integers(0, 2**63 - 1, size=n_runs)
    if n_jobs == 1:
        outputs = [_single_run(problem, seed, move, postprocess, max_iter) for seed in seeds]
    else:
        outputs = Parallel(n_jobs=n_jobs)(
            delayed(_single_run)(problem, seed, move, postprocess, max_iter) for seed in seeds
        )
    partitions = np.stack([to_matrix(labels) for labels, _ in outputs])
    qualities = np.array([quality for _, quality in outputs]) / two_mu
    best = int(np.argmax(qualities))
    logger.info(
        "multilayer_modularity: best Q = %.6f over %d runs (min %.6f).",
        qualities[best],
        n_runs,
        qualities.min(),
    )
    return MultilayerResult(
        partition=partitions[best].copy(),
        quality=float(qualities[best]),
        partitions=partitions,
        qualities=qualities,
        gamma=gamma,
        omega=omega,
        coupling=coupling,
    )
