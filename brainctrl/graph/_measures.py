"""Nodal and global graph measures of weighted undirected networks.

The definitions follow the Brain Connectivity Toolbox (BCT, Rubinov & Sporns
2010), with the differences stated in each docstring. Every kernel works on a
stack ``(n_matrices, n_regions, n_regions)``; measures that reduce to matrix
products (strength, clustering, participation, within-module z-score,
modularity) are computed for the whole stack at once, path-based measures call
a compiled all-pairs shortest-path routine once per matrix (and, for local
efficiency, once per neighbourhood).
"""

import logging

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import shortest_path

from brainctrl._utils.validation import (
    check_array,
    check_negative,
    check_option,
    check_square,
    check_symmetric,
)
from brainctrl.exceptions import DataError, InvalidParameterError
from brainctrl.graph._threshold import weight_to_length

__all__ = [
    "GLOBAL_MEASURES",
    "NODE_MEASURES",
    "global_graph_measures",
    "graph_measures",
    "rich_club",
]

logger = logging.getLogger(__name__)

NODE_MEASURES = (
    "strength",
    "degree",
    "clustering",
    "local_efficiency",
    "betweenness",
    "participation",
    "within_module_z",
)
GLOBAL_MEASURES = ("global_efficiency", "characteristic_path_length", "modularity")
_LOCAL_VARIANTS = ("modified", "original")
_TIE_RTOL = 1e-10


# --------------------------------------------------------------------------- input


def _prepare(adjacency, negative):
    """Validate and split a (stack of) matrix into the weights the measures use.

    Returns the stack ``(n_matrices, n, n)`` of signed weights, of non-negative
    weights used by the measures, of negative magnitudes (or None), and the
    batch shape.
    """
    matrices = check_square("adjacency", adjacency)
    n_regions = matrices.shape[-1]
    if n_regions < 2:
        raise DataError(f"adjacency must have at least 2 regions; got shape {matrices.shape}.")
    batch_shape = matrices.shape[:-2]
    signed = matrices.reshape(-1, n_regions, n_regions).copy()
    diagonal = np.arange(n_regions)
    signed[:, diagonal, diagonal] = 0.0
    check_symmetric("adjacency", signed.reshape(*batch_shape, n_regions, n_regions))
    for matrix in signed:
        matrix += matrix.T
        matrix /= 2
    if negative == "absolute":
        weights = np.abs(signed)
        negatives = None
    else:
        weights = np.clip(signed, 0.0, None)
        has_negative = bool((signed < 0).any())
        negatives = np.clip(-signed, 0.0, None) if negative != "ignore" and has_negative else None
    return signed, weights, negatives, batch_shape


def _community_codes(communities, n_matrices, n_regions):
    """Map labels to codes 0..K-1 per matrix; returns one-hot (n_matrices, n, K)."""
    labels = check_array("communities", communities, dtype=None)
    if labels.dtype.kind not in "iub":
        if labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels % 1 == 0):
            labels = labels.astype(np.int64)
        else:
            raise DataError(f"communities must hold integer labels; got dtype {labels.dtype}.")
    if labels.shape[-1:] != (n_regions,) or labels.ndim not in (1, 2):
        raise DataError(
            f"communities must have shape ({n_regions},) or ({n_matrices}, {n_regions}) to "
            f"match adjacency; got shape {labels.shape}."
        )
    if labels.ndim == 2 and labels.shape[0] != n_matrices:
        raise DataError(
            f"communities must have shape ({n_regions},) or ({n_matrices}, {n_regions}) to "
            f"match adjacency; got shape {labels.shape}."
        )
    labels = np.broadcast_to(labels, (n_matrices, n_regions))
    codes = np.empty((n_matrices, n_regions), dtype=np.int64)
    for index, row in enumerate(labels):
        codes[index] = np.unique(row, return_inverse=True)[1]
    n_communities = int(codes.max()) + 1
    one_hot = np.zeros((n_matrices, n_regions, n_communities))
    np.put_along_axis(one_hot, codes[..., None], 1.0, axis=-1)
    return codes, one_hot


def _region_index(regions, n_regions):
    if regions is None:
        return pd.RangeIndex(n_regions, name="region")
    if isinstance(regions, pd.DataFrame):
        if "name" not in regions.columns:
            raise DataError(
                "regions must be a list of names or a DataFrame with a 'name' column; got "
                f"columns {list(regions.columns)}."
            )
        names = regions["name"].to_numpy()
    else:
        names = np.asarray(regions)
    if names.ndim != 1 or names.size != n_regions:
        raise DataError(
            f"regions must name the {n_regions} regions of adjacency; got {names.size} name(s)."
        )
    return pd.Index(names, name="region")


# --------------------------------------------------------------------------- kernels


def _csr_lengths(matrix, *, by_length=False):
    """CSR arrays of the graph ``matrix > 0`` with edge lengths ``1 / w``.

    With ``by_length``, each row's entries are sorted by length.
    """
    graph = sparse.csr_matrix(np.where(matrix > 0, matrix, 0.0))
    lengths = 1.0 / graph.data
    indices = graph.indices.astype(np.int64)
    if by_length:
        rows = np.repeat(np.arange(matrix.shape[0]), np.diff(graph.indptr))
        order = np.lexsort((lengths, rows))
        indices, lengths = indices[order], lengths[order]
    return graph.indptr.astype(np.int64), indices, lengths


def _distances(weights):
    """All-pairs shortest-path lengths on ``1 / w`` for each matrix of the stack.

    Compiled Floyd–Warshall (``n³`` steps) where it is faster than Dijkstra
    from every region (about ``n · edges · log n``): for density above about
    ``0.4 / log2(n)``, 4 % of the pairs at 400 regions.
    """
    from brainctrl.graph._kernels import dijkstra, floyd_warshall

    out = np.empty(weights.shape)
    n_regions = weights.shape[-1]
    dense_above = 0.4 / np.log2(max(n_regions, 2))
    for index, matrix in enumerate(weights):
        linked = matrix > 0
        density = np.count_nonzero(linked) / max(matrix.size - len(matrix), 1)
        if density > dense_above:
            out[index] = weight_to_length(matrix)
            floyd_warshall(out[index])
        else:
            out[index] = dijkstra(*_csr_lengths(matrix))
    return out


def _clustering(weights, degree):
    """Onnela weighted clustering as BCT clustering_coef_wu, whole stack at once."""
    cube_root = np.cbrt(weights)
    cycles = np.einsum("bij,bji->bi", cube_root, cube_root @ cube_root)
    pairs = degree * (degree - 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((pairs > 0) & (cycles != 0), cycles / np.where(pairs > 0, pairs, 1), 0.0)
    return out


#: Neighbourhoods larger than this, with at most a quarter of their pairs
#: linked, are solved by Dijkstra in local efficiency; the others by the
#: compiled Floyd–Warshall kernel.
_SPARSE_NEIGHBOURHOOD = 64


def _neighbourhoods(matrix, variant):
    """What local efficiency needs of one matrix.

    Returns the edge mask, ``w^(1/3)``, the edge lengths (``1/w``, or its cube
    root for the modified variant; 0 where no edge), the degrees and the
    number of edges among each region's neighbours (``(C³)_ii / 2``) for the
    regions with more than ``_SPARSE_NEIGHBOURHOOD`` neighbours (0 for the
    others, which the choice of solver does not look at).
    """
    connected = matrix > 0
    cube_root = np.cbrt(matrix)
    lengths = np.where(connected, 1.0 / np.where(connected, matrix, 1.0), 0.0)
    if variant == "modified":
        lengths = np.cbrt(lengths)
    degree = connected.sum(axis=1)
    links = np.zeros(len(matrix))
    large = degree > _SPARSE_NEIGHBOURHOOD
    if large.any():
        binary = connected.astype(float)
        rows = binary[large]
        links[large] = np.einsum("ij,ji->i", rows, binary @ rows.T) / 2
    return connected, cube_root, lengths, degree, links


def _local_efficiency(weights, variant, max_block=384):
    """Weighted local efficiency (BCT efficiency_wei, local=2 or local=1).

    Neighbourhoods are solved by the compiled Floyd–Warshall kernel
    (:func:`._kernels.local_efficiency`), except large sparse ones: their
    subgraphs are put on the diagonal of one sparse block-diagonal graph (at
    most ``max_block`` nodes) and solved by a single compiled Dijkstra call,
    the weighted sums being one matrix-vector product per block.
    """
    from brainctrl.graph._kernels import local_efficiency

    n_matrices, n_regions, _ = weights.shape
    out = np.zeros((n_matrices, n_regions))
    for index, matrix in enumerate(weights):
        connected, cube_root, lengths, degree, links = _neighbourhoods(matrix, variant)
        nodes = np.flatnonzero(degree >= 2)
        pairs = degree * (degree - 1.0) / 2
        sparse_ = (degree > _SPARSE_NEIGHBOURHOOD) & (links <= 0.25 * pairs)
        dense_nodes = nodes[~sparse_[nodes]]
        nodes = nodes[sparse_[nodes]]
        out[index, dense_nodes] = local_efficiency(
            lengths, connected, cube_root, dense_nodes.astype(np.int64), variant == "original"
        )
        out[index, nodes] = _local_efficiency_dijkstra(
            nodes, connected, lengths, cube_root, degree, variant, max_block
        )
    return out


def _local_efficiency_dijkstra(nodes, connected, lengths, cube_root, degree, variant, max_block):
    """Local efficiency of ``nodes`` by Dijkstra on block-diagonal neighbourhood graphs.

    ``lengths`` holds 0 where there is no edge (SciPy's convention).
    """
    out = np.zeros(nodes.size)
    start = 0
    while start < nodes.size:
        stop = start + 1
        total = degree[nodes[start]]
        while stop < nodes.size and total + degree[nodes[stop]] <= max_block:
            total += degree[nodes[stop]]
            stop += 1
        chunk = nodes[start:stop]
        rows, cols, values, centre_weights, block_of = [], [], [], [], []
        offset = 0
        for position, node in enumerate(chunk):
            neighbours = np.flatnonzero(connected[node])
            sub_row, sub_col = np.nonzero(connected[np.ix_(neighbours, neighbours)])
            rows.append(sub_row + offset)
            cols.append(sub_col + offset)
            values.append(lengths[neighbours[sub_row], neighbours[sub_col]])
            centre_weights.append(cube_root[node, neighbours])
            block_of.append(np.full(neighbours.size, position))
            offset += neighbours.size
        graph = sparse.csr_matrix(
            (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))),
            shape=(offset, offset),
        )
        distances = shortest_path(graph, method="D", directed=False)
        finite = np.isfinite(distances) & (distances > 0)
        inverse = np.zeros_like(distances)
        np.divide(1.0, distances, out=inverse, where=finite)
        if variant == "original":
            np.cbrt(inverse, out=inverse)
        weight = np.concatenate(centre_weights)
        sums = np.bincount(
            np.concatenate(block_of), weights=weight * (inverse @ weight), minlength=chunk.size
        )
        out[start:stop] = sums / (degree[chunk] * (degree[chunk] - 1.0))
        start = stop
    return out


def _betweenness(weights, distances):
    """Betweenness of every matrix of the stack on lengths ``1 / w``.

    Brandes' accumulation over the shortest paths from each region (the
    compiled :func:`._kernels.betweenness`), with paths whose lengths agree to
    a relative tolerance of 1e-10 counted as ties, each with its share.
    Returns the fraction of the ordered pairs of other regions.
    """
    from brainctrl.graph._kernels import betweenness

    n_matrices, n_regions, _ = weights.shape
    out = np.zeros((n_matrices, n_regions))
    for index in range(n_matrices):
        out[index] = betweenness(
            *_csr_lengths(weights[index], by_length=True), distances[index], _TIE_RTOL
        )
    if n_regions > 2:
        out /= (n_regions - 1) * (n_regions - 2)
    return out


def _participation(weights, one_hot):
    """BCT participation_coef: 1 - sum_m (k_im / k_i)^2, zero for isolated nodes."""
    strength = weights.sum(axis=-1)
    per_module = weights @ one_hot
    with np.errstate(divide="ignore", invalid="ignore"):
        share = per_module / strength[..., None]
        out = 1.0 - np.sum(share**2, axis=-1)
    return np.where(strength > 0, out, 0.0)


def _within_module_z(weights, codes, one_hot):
    """Within-module degree z-score with the sample standard deviation (n - 1)."""
    per_module = weights @ one_hot
    within = np.take_along_axis(per_module, codes[..., None], axis=-1)[..., 0]
    sizes = one_hot.sum(axis=1)
    sums = np.einsum("bi,bik->bk", within, one_hot)
    with np.errstate(divide="ignore", invalid="ignore"):
        means = sums / sizes
        node_mean = np.take_along_axis(means, codes, axis=-1)
        squares = np.einsum("bi,bik->bk", (within - node_mean) ** 2, one_hot)
        sd = np.sqrt(squares / (sizes - 1.0))
        node_sd = np.take_along_axis(sd, codes, axis=-1)
        z = (within - node_mean) / node_sd
    return np.where(np.isfinite(z), z, 0.0)


def _global_modularity(signed, weights, negatives, one_hot, communities_codes, negative):
    """The ``modularity`` global of :func:`graph_measures` under rule ``negative``."""
    if negatives is None or negative == "asymmetric":
        return _signed_modularity(weights, negatives, one_hot)
    from brainctrl.graph._communities import modularity

    return np.array(
        [modularity(m, c, negative=negative) for m, c in zip(signed, communities_codes)]
    )


def _signed_modularity(weights, negatives, one_hot):
    """Modularity of signed weights, BCT's default ("asymmetric", Rubinov & Sporns 2011).

    ``Q = Q+ - v- / (v+ + v-) Q-`` with ``Q±`` the Newman modularity of the
    positive weights and of the negative weights' magnitudes, ``v±`` their
    totals: the same number as ``modularity(..., negative="asymmetric")``.
    Without negative weights (``negatives`` None) it is Newman's ``Q``.
    """
    q = _modularity(weights, one_hot)
    if negatives is None:
        return q
    positive, negative = weights.sum(axis=(-2, -1)), negatives.sum(axis=(-2, -1))
    q_negative = np.nan_to_num(_modularity(negatives, one_hot))
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(positive + negative > 0, negative / (positive + negative), 0.0)
    return q - share * q_negative


def _modularity(weights, one_hot, gamma=1.0):
    """Newman modularity Q = (1/2m) sum_ij (w_ij - gamma k_i k_j / 2m) d(c_i, c_j)."""
    strength = weights.sum(axis=-1)
    two_m = strength.sum(axis=-1)
    within = np.einsum("bik,bij,bjk->b", one_hot, weights, one_hot)
    module_strength = np.einsum("bi,bik->bk", strength, one_hot)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = (within - gamma * np.sum(module_strength**2, axis=-1) / two_m) / two_m
    return np.where(two_m > 0, q, np.nan)


def _global_from_distances(distances):
    """Global efficiency and characteristic path length over ordered pairs."""
    n_regions = distances.shape[-1]
    pairs = max(n_regions * (n_regions - 1), 1)
    with np.errstate(divide="ignore"):
        inverse = 1.0 / distances  # unreachable: 0; the diagonal: inf, set to 0
    diagonal = np.arange(n_regions)
    inverse[:, diagonal, diagonal] = 0.0
    efficiency = inverse.sum(axis=(-2, -1)) / pairs
    path_length = distances.sum(axis=(-2, -1)) / pairs  # the diagonal is 0
    return efficiency, path_length


# --------------------------------------------------------------------------- public


def _check_measures(measures, allowed, name="measures"):
    if measures is None:
        return tuple(allowed)
    if isinstance(measures, str):
        measures = (measures,)
    measures = tuple(measures)
    unknown = [m for m in measures if m not in allowed]
    if unknown or not measures:
        raise InvalidParameterError(
            f"'{name}' must be a non-empty selection of {tuple(allowed)}; got {measures!r}."
        )
    return measures


def _batch_index(batch_shape, batch_names, inner):
    if batch_names is None:
        batch_names = (
            ("window",)
            if len(batch_shape) == 1
            else tuple(f"batch_{axis}" for axis in range(len(batch_shape)))
        )
    batch_names = tuple(batch_names)
    if len(batch_names) != len(batch_shape):
        raise InvalidParameterError(
            f"'batch_names' must name the {len(batch_shape)} leading axes of adjacency "
            f"(shape {batch_shape}); got {batch_names!r}."
        )
    levels = [range(size) for size in batch_shape]
    if inner is None:
        return pd.MultiIndex.from_product(levels, names=batch_names)
    return pd.MultiIndex.from_product([*levels, inner], names=[*batch_names, inner.name])


def graph_measures(
    adjacency,
    communities=None,
    *,
    regions=None,
    measures=None,
    negative="asymmetric",
    local_efficiency="modified",
    batch_names=None,
):
    """Nodal graph measures of weighted undirected networks, one row per region.

    Parameters
    ----------
    adjacency : array-like of shape (n_regions, n_regions) or (..., n_regions, n_regions)
        Symmetric weighted matrices (functional connectivity, thresholded or
        not). The diagonal is ignored. Leading axes (windows, subjects) are
        a batch.
    communities : array-like of int, shape (n_regions,) or (n_matrices, n_regions), optional
        Community labels, shared by all matrices or one row per matrix
        (``n_matrices`` = product of the batch axes). Needed for
        ``participation``, ``within_module_z`` and ``modularity``.
    regions : list of str or DataFrame with a ``name`` column, optional
        Region names for the index; default ``0 .. n_regions - 1``.
    measures : sequence of str, optional
        Subset of :data:`NODE_MEASURES` to compute; default all (the
        community measures only when ``communities`` is given).
    negative : {"asymmetric", "symmetric", "simple", "ignore", "absolute"}, default="asymmetric"
        Treatment of negative weights, as in :func:`~brainctrl.graph.modularity`.
        ``"asymmetric"``, ``"symmetric"``, ``"simple"``: all topological
        measures use the positive weights; for signed input, extra columns
        ``strength_positive``, ``strength_negative`` (magnitude),
        ``clustering_negative`` and ``participation_negative`` (the same
        formulas on the negative weights' magnitudes, as BCT's
        ``clustering_coef_wu_sign`` default and ``participation_coef_sign``,
        Rubinov & Sporns 2011) are added, and ``strength`` is the net sum of
        signed weights; the three differ only in the modularity (see
        :func:`~brainctrl.graph.modularity`). ``"ignore"``: negative weights
        are set to 0. ``"absolute"``: ``|w|`` is used. (``"separate"``, the
        former spelling of ``"asymmetric"``, still works with a FutureWarning.)
    local_efficiency : {"modified", "original"}, default="modified"
        ``"modified"``: Wang et al. (2017) as BCT ``efficiency_wei(W, 2)`` and
        bctpy's ``local=True``; ``"original"``: Rubinov & Sporns (2010),
        BCT ``efficiency_wei(W, 1)``.
    batch_names : sequence of str, optional
        Index level names of the batch axes; default ``("window",)`` for one
        axis, ``("batch_0", "batch_1", ...)`` otherwise.

    Returns
    -------
    measures : DataFrame
        One row per region, indexed by ``region``; for a batch, a
        ``MultiIndex`` ``(*batch_names, region)`` (turn it into a long table
        with ``frame.stack()`` or ``frame.melt(ignore_index=False)``).
        ``measures.attrs["global"]`` holds ``global_efficiency`` and
        ``characteristic_path_length`` (when all measures or ``betweenness``
        are computed) and, with communities, ``modularity``
        (a float for one matrix, a list over the flattened batch otherwise);
        :func:`global_graph_measures` returns them as a table.

    Raises
    ------
    DataError
        If ``adjacency`` is not square, symmetric and finite, or
        ``communities`` does not match it.
    InvalidParameterError
        For unknown ``measures``, ``negative`` or ``local_efficiency``.

    Notes
    -----
    With ``w`` the weights in use, ``k_i`` the number of connections and
    ``s_i = sum_j w_ij`` the strength:

    - clustering (Onnela et al. 2005, BCT ``clustering_coef_wu``):
      ``C_i = [(W^{1/3})^3]_ii / (k_i (k_i - 1))``; weights are assumed to lie
      in [0, 1] (they are not rescaled);
    - local efficiency (modified): ``E_i = sum_{j != h} (w_ij w_ih)^{1/3} /
      d^{(i)}_jh / (k_i (k_i - 1))`` with ``d^{(i)}`` the shortest paths within
      the neighbours of ``i`` on lengths ``(1 / w)^{1/3}``; original:
      ``(w_ij w_ih / d^{(i)}_jh)^{1/3}`` with ``d^{(i)}`` on lengths ``1 / w``;
    - betweenness: fraction of shortest paths (lengths ``1 / w``) through
      ``i``, summed over ordered pairs and divided by ``(n - 1)(n - 2)`` so
      that it lies in [0, 1] (BCT ``betweenness_wei`` divided by that
      number; equal-length paths within a relative 1e-10 are ties);
    - participation (Guimerà & Amaral 2005): ``P_i = 1 - sum_m (s_im / s_i)^2``;
    - within-module z (Guimerà & Amaral 2005): ``z_i = (s_i,c_i - mean) / sd``
      over the members of ``i``'s module, with the sample standard deviation
      (``n - 1``) as in BCT's MATLAB ``module_degree_zscore`` (bctpy 0.6.1
      divides by ``n``, so its values are larger by ``sqrt(n / (n - 1))``); 0
      for modules of one region or constant within-module strength;
    - global efficiency ``= mean_{i != j} 1 / d_ij``, characteristic path
      length ``= mean_{i != j} d_ij`` (infinite when the graph is
      disconnected, as BCT ``charpath`` by default), on lengths ``1 / w``;
    - modularity ``Q = (1 / 2m) sum_ij (w_ij - s_i s_j / 2m) delta(c_i, c_j)``
      (Newman) of the weights used; with negative weights kept apart, the
      signed modularity of the same rule as :func:`~brainctrl.graph.modularity`
      and :func:`~brainctrl.graph.modularity_communities` (``"asymmetric"``:
      ``Q = Q+ - v- / (v+ + v-) Q-``, Rubinov & Sporns 2011, BCT's default), so
      the three agree.

    References
    ----------
    Rubinov M, Sporns O (2010) Complex network measures of brain connectivity:
    uses and interpretations. NeuroImage 52:1059-1069.
    Rubinov M, Sporns O (2011) Weight-conserving characterization of complex
    functional brain networks. NeuroImage 56:2068-2079.
    Onnela JP et al. (2005) Intensity and coherence of motifs in weighted
    complex networks. Phys Rev E 71:065103.
    Wang Y, Ghumare E, Vandenberghe R, Dupont P (2017) Comparison of different
    generalizations of clustering coefficient and local efficiency for
    weighted undirected graphs. Neural Comput 29:313-331.
    Guimerà R, Amaral LAN (2005) Functional cartography of complex metabolic
    networks. Nature 433:895-900.
    Brandes U (2001) A faster algorithm for betweenness centrality. J Math
    Sociol 25:163-177.

    Examples
    --------
    >>> triangle = np.ones((3, 3)) - np.eye(3)
    >>> frame = graph_measures(triangle, measures=["strength", "clustering"])
    >>> frame  # doctest: +NORMALIZE_WHITESPACE
            strength  clustering
    region
    0            2.0         1.0
    1            2.0         1.0
    2            2.0         1.0
    """
    check_option("local_efficiency", local_efficiency, _LOCAL_VARIANTS)
    community_measures = ("participation", "within_module_z")
    if measures is None:
        selected = tuple(
            m for m in NODE_MEASURES if communities is not None or m not in community_measures
        )
    else:
        selected = _check_measures(measures, NODE_MEASURES)
        missing = [m for m in selected if m in community_measures]
        if missing and communities is None:
            raise InvalidParameterError(
                f"measures {missing} need 'communities'; got communities=None."
            )
    negative = check_negative(negative, function="graph_measures")
    signed, weights, negatives, batch_shape = _prepare(adjacency, negative)
    n_matrices, n_regions, _ = weights.shape
    region_index = _region_index(regions, n_regions)
    codes = one_hot = None
    if communities is not None:
        codes, one_hot = _community_codes(communities, n_matrices, n_regions)

    columns = {}
    if "strength" in selected:
        if negatives is not None:
            columns["strength"] = signed.sum(axis=-1)
            columns["strength_positive"] = weights.sum(axis=-1)
            columns["strength_negative"] = negatives.sum(axis=-1)
        else:
            columns["strength"] = weights.sum(axis=-1)
    degree = np.count_nonzero(weights, axis=-1).astype(float)
    if "degree" in selected:
        source = signed if negatives is not None else weights
        columns["degree"] = np.count_nonzero(source, axis=-1).astype(float)
    if "clustering" in selected:
        columns["clustering"] = _clustering(weights, degree)
        if negatives is not None:
            negative_degree = np.count_nonzero(negatives, axis=-1).astype(float)
            columns["clustering_negative"] = _clustering(negatives, negative_degree)
    if "local_efficiency" in selected:
        columns["local_efficiency"] = _local_efficiency(weights, local_efficiency)
    distances = None
    if measures is None or "betweenness" in selected:
        distances = _distances(weights)
    if "betweenness" in selected:
        columns["betweenness"] = _betweenness(weights, distances)
    if "participation" in selected:
        columns["participation"] = _participation(weights, one_hot)
        if negatives is not None:
            columns["participation_negative"] = _participation(negatives, one_hot)
    if "within_module_z" in selected:
        columns["within_module_z"] = _within_module_z(weights, codes, one_hot)

    global_values = {}
    if distances is not None:
        efficiency, path_length = _global_from_distances(distances)
        global_values["global_efficiency"] = efficiency
        global_values["characteristic_path_length"] = path_length
    if one_hot is not None:
        global_values["modularity"] = _global_modularity(
            signed, weights, negatives, one_hot, codes, negative
        )

    data = {name: values.reshape(-1) for name, values in columns.items()}
    if batch_shape:
        index = _batch_index(batch_shape, batch_names, region_index)
        attrs = {name: [float(v) for v in values] for name, values in global_values.items()}
    else:
        index = region_index
        attrs = {name: float(values[0]) for name, values in global_values.items()}
    frame = pd.DataFrame(data, index=index)
    frame.attrs["global"] = attrs
    return frame


def global_graph_measures(
    adjacency, communities=None, *, measures=None, negative="asymmetric", batch_names=None
):
    """Whole-network measures, one row per matrix.

    Parameters
    ----------
    adjacency : array-like of shape (n_regions, n_regions) or (..., n_regions, n_regions)
        Symmetric weighted matrices; leading axes are a batch.
    communities : array-like of int, shape (n_regions,) or (n_matrices, n_regions), optional
        Community labels, needed for ``modularity``.
    measures : sequence of str, optional
        Subset of :data:`GLOBAL_MEASURES`; default all that the inputs allow.
    negative : {"asymmetric", "symmetric", "simple", "ignore", "absolute"}, default="asymmetric"
        As in :func:`graph_measures`: the path measures use the positive
        weights (``|w|`` with ``"absolute"``), and the modularity follows
        :func:`~brainctrl.graph.modularity`'s rule.
    batch_names : sequence of str, optional
        Index level names of the batch axes.

    Returns
    -------
    table : DataFrame
        Columns ``global_efficiency``, ``characteristic_path_length`` (on
        lengths ``1 / w``, infinite if the graph is disconnected) and
        ``modularity`` (Newman Q, ``gamma = 1``); one row (index 0) for one
        matrix, one row per matrix indexed by the batch axes otherwise.

    See Also
    --------
    graph_measures : nodal measures and the same global values.

    Examples
    --------
    >>> path = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=float)
    >>> global_graph_measures(path)
       global_efficiency  characteristic_path_length
    0           0.833333                    1.333333
    """
    if measures is None:
        selected = GLOBAL_MEASURES if communities is not None else GLOBAL_MEASURES[:2]
    else:
        selected = _check_measures(measures, GLOBAL_MEASURES)
        if "modularity" in selected and communities is None:
            raise InvalidParameterError(
                "measure 'modularity' needs 'communities'; got communities=None."
            )
    negative = check_negative(negative, function="global_graph_measures")
    signed, weights, negatives, batch_shape = _prepare(adjacency, negative)
    n_matrices, n_regions, _ = weights.shape
    data = {}
    if "global_efficiency" in selected or "characteristic_path_length" in selected:
        efficiency, path_length = _global_from_distances(_distances(weights))
        if "global_efficiency" in selected:
            data["global_efficiency"] = efficiency
        if "characteristic_path_length" in selected:
            data["characteristic_path_length"] = path_length
    if "modularity" in selected:
        codes, one_hot = _community_codes(communities, n_matrices, n_regions)
        data["modularity"] = _global_modularity(
            signed, weights, negatives, one_hot, codes, negative
        )
    index = _batch_index(batch_shape, batch_names, None) if batch_shape else None
    return pd.DataFrame(data, index=index)


def rich_club(adjacency, *, max_level=None, negative="asymmetric", definition="opsahl"):
    """Weighted rich-club coefficient as a function of the degree level.

    Parameters
    ----------
    adjacency : array-like of shape (n_regions, n_regions) or (..., n_regions, n_regions)
        Symmetric weighted matrices; leading axes are a batch.
    max_level : int, optional
        Largest degree level ``k``; default the largest degree in the stack
        minus one.
    negative : {"asymmetric", "symmetric", "simple", "ignore", "absolute"}, default="asymmetric"
        ``"absolute"`` uses ``|w|``; every other rule the positive weights.
    definition : {"opsahl", "bct"}, default="opsahl"
        ``"opsahl"``: level ``k`` keeps the regions of degree ``> k``.
        ``"bct"``: as BCT's ``rich_club_wu``, level ``k`` keeps the regions of
        degree ``>= k``, the default ``max_level`` is the largest degree, and
        levels that remove no region are NaN.

    Returns
    -------
    coefficients : ndarray of shape (..., max_level)
        Entry ``k - 1`` is ``phi_w(k)`` for ``k = 1 .. max_level``; NaN where
        fewer than two regions are kept.

    Notes
    -----
    Opsahl et al. (2008): with ``R_k`` the regions of degree ``> k``,
    ``W_{>k}`` the total weight and ``E_{>k}`` the number of connections
    among them, ``phi_w(k) = W_{>k} / sum_{l=1}^{E_{>k}} w_l^{rank}``, where
    ``w^{rank}`` are all weights of the network in decreasing order. BCT's
    ``rich_club_wu`` keeps regions of degree ``>= k`` (so its level ``k + 1``
    equals level ``k`` here) and returns NaN at levels where no region is
    removed, where this function returns the coefficient (1);
    ``definition="bct"`` reproduces it.

    References
    ----------
    Opsahl T, Colizza V, Panzarasa P, Ramasco JJ (2008) Prominence and
    control: the weighted rich-club effect. Phys Rev Lett 101:168702.

    Examples
    --------
    >>> star = np.zeros((4, 4)); star[0, 1:] = star[1:, 0] = [3.0, 2.0, 1.0]
    >>> rich_club(star)
    array([nan, nan])
    """
    check_option("definition", definition, ("opsahl", "bct"))
    negative = check_negative(negative, function="rich_club")
    _, weights, _, batch_shape = _prepare(adjacency, negative)
    n_matrices, n_regions, _ = weights.shape
    degree = np.count_nonzero(weights, axis=-1)
    # "opsahl" keeps degree > k, "bct" degree >= k, i.e. degree > k - 1
    shift = 1 if definition == "bct" else 0
    if max_level is None:
        max_level = max(int(degree.max()) - 1 + shift, 1)
    elif isinstance(max_level, bool) or not isinstance(max_level, (int, np.integer)):
        raise InvalidParameterError(f"'max_level' must be a positive integer; got {max_level!r}.")
    elif max_level < 1:
        raise InvalidParameterError(f"'max_level' must be a positive integer; got {max_level!r}.")
    ranked = -np.sort(-weights.reshape(n_matrices, -1), axis=-1)
    cumulative = np.concatenate([np.zeros((n_matrices, 1)), np.cumsum(ranked, axis=-1)], axis=-1)
    out = np.full((n_matrices, max_level), np.nan)
    rows = np.arange(n_matrices)
    for level in range(1, max_level + 1):
        rich = (degree > level - shift).astype(float)
        if not (rich.sum(axis=-1) >= 2).any():
            continue
        sub = weights * rich[:, :, None] * rich[:, None, :]
        total = sub.sum(axis=(-2, -1))
        n_entries = np.count_nonzero(sub.reshape(n_matrices, -1), axis=-1)
        denominator = cumulative[rows, n_entries]
        valid = (rich.sum(axis=-1) >= 2) & (denominator > 0)
        if definition == "bct":
            valid &= rich.sum(axis=-1) < n_regions
        out[valid, level - 1] = total[valid] / denominator[valid]
    return out.reshape(*batch_shape, max_level)
