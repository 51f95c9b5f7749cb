"""Structural connectomes: group consensus and weight scaling.

Tractography gives one weighted, symmetric, non-negative matrix per subject.
:func:`consensus_structural` builds one group-representative matrix from a
stack of them that keeps the group's edge-length distribution, and
:func:`scale_structural` applies the usual rescalings of structural weights.
"""

import numpy as np

from brainctrl._utils.validation import (
    check_array,
    check_nonnegative,
    check_option,
    check_positive,
    check_square,
    check_symmetric,
)
from brainctrl.exceptions import DataError, InvalidParameterError

__all__ = ["consensus_structural", "scale_structural"]

_SCALINGS = ("log", "strength", "max")


def _check_symmetric_nonnegative(name, matrices, *, what="matrix"):
    """Raise unless every matrix of ``matrices`` is symmetric and non-negative."""
    check_nonnegative(name, matrices)
    check_symmetric(name, matrices, what=f"an undirected {what}")


def _check_hemisphere(hemisphere, n_regions):
    labels = np.asarray(hemisphere)
    if labels.ndim == 2 and 1 in labels.shape:
        labels = labels.ravel()
    if labels.ndim != 1 or labels.size != n_regions:
        raise DataError(
            f"hemisphere must hold one label per region, shape ({n_regions},); got shape "
            f"{labels.shape}."
        )
    values = np.unique(labels)
    if values.size != 2:
        shown = ", ".join(repr(v) for v in values[:5].tolist())
        raise DataError(
            "hemisphere must hold exactly two distinct labels (e.g. 0 and 1, or 'L' and "
            f"'R'); got {values.size}: {shown}{' ...' if values.size > 5 else ''}."
        )
    return labels == values[0]


def _check_distance(distance, n_regions):
    dist = check_square("distance", distance, batch=False)
    if dist.shape[0] != n_regions:
        raise DataError(
            f"distance must have shape ({n_regions}, {n_regions}) to match the "
            f"connectivity matrices; got shape {dist.shape}."
        )
    _check_symmetric_nonnegative("distance", dist, what="distance matrix")
    off = ~np.eye(n_regions, dtype=bool)
    if (dist[off] <= 0).any():
        i, j = (int(k) for k in np.argwhere((dist <= 0) & off)[0])
        raise DataError(
            "distance must be > 0 between distinct regions (two regions at distance 0 "
            f"cannot be binned); got distance[{i}, {j}] = {dist[i, j]:.6g}."
        )
    return dist


def consensus_structural(
    matrices, distance, hemisphere, *, n_bins=None, weighted=True, average="nonzero"
):
    """Group-consensus structural connectome preserving the edge-length distribution.

    Consistency thresholding (keep the edges present in most subjects) favours
    short connections, which tractography finds most reliably. The
    distance-dependent consensus of Betzel et al. (2019) instead keeps, within
    each range of edge lengths, the edges most consistently present across
    subjects, in the number that the subjects' own edge-length distribution
    asks for. Edges within and between the hemispheres are treated separately,
    so their proportions are also kept.

    Parameters
    ----------
    matrices : array-like of shape (n_subjects, n_regions, n_regions)
        Symmetric, non-negative subject connectomes (an edge is present where
        its weight is > 0; the diagonal is ignored).
    distance : array-like of shape (n_regions, n_regions)
        Symmetric distances between regions (e.g. Euclidean distances of the
        centroids), > 0 off the diagonal.
    hemisphere : array-like of shape (n_regions,)
        Hemisphere of each region: exactly two distinct labels (e.g. 0/1 or
        ``"L"``/``"R"``).
    n_bins : int or None, default=None
        None: one length bin per consensus edge (Betzel's
        ``fcn_distance_dependent_threshold``, as netneurotools'
        ``struct_consensus``). An int: that many equal-width length bins
        (Betzel's ``fcn_group_bins``; 40 bins are common).
    weighted : bool, default=True
        Give the kept edges a group weight (see ``average``); False returns
        the binary consensus.
    average : {"nonzero", "all"}, default="nonzero"
        Group weight of a kept edge: the mean over the subjects that have the
        edge (``"nonzero"``), or the mean over all subjects, zeros included
        (``"all"``, what ``struct_consensus(..., weighted=True)`` returns).

    Returns
    -------
    consensus : ndarray of shape (n_regions, n_regions)
        Symmetric consensus matrix with a zero diagonal: 0/1 when not
        ``weighted``.

    Raises
    ------
    DataError
        If ``matrices`` is not a stack of symmetric non-negative matrices, if
        ``distance`` does not match it or is not positive off the diagonal, or
        if ``hemisphere`` does not hold two labels for the regions.

    Notes
    -----
    For each connection type (within, between hemispheres), let ``c_ij`` be
    the number of subjects with edge ``(i, j)`` and ``m = Σ c_ij / S`` the
    subjects' mean number of edges of that type.

    With ``n_bins=None``, the empirical distribution function ``F`` of the
    lengths of the subjects' edges (each edge counted once per subject) is
    cut into ``m`` bins: the lengths ``d`` with ``round(m F(d)) = k - 1``
    form bin ``k`` (``k = 1 .. floor(m)``; ``F(d)`` counts the lengths
    ``<= d``, and the shortest length also opens bin 1), so the longest
    lengths, where ``round(m F)`` reaches ``round(m)``, fall in no bin. In each bin, the
    edge with the largest ``c_ij`` among all edges of that type whose length
    lies in the bin's range is kept, ties going to the larger mean weight and
    then to the first edge in row-major order. A bin with no length is
    skipped and an edge kept by two bins counts once, so the consensus can
    have a few edges fewer than ``m``; many fewer when lengths are heavily
    tied (e.g. rounded to whole millimetres), since tied lengths share a bin.

    With ``n_bins`` an int, the lengths from the shortest to the longest
    inter-regional distance are cut into ``n_bins`` equal-width bins (the
    last one closed), and bin ``b`` keeps its ``round(D_b / S)`` most
    consistent edges, ``D_b`` being the number of subject edges with a
    length in the bin (ties: larger mean weight, then row-major order).

    ``round`` rounds halves to even, as NumPy does.

    References
    ----------
    .. [1] Betzel, R. F., Griffa, A., Hagmann, P. & Mišić, B. (2019).
       Distance-dependent consensus thresholds for generating
       group-representative structural brain networks. Network Neuroscience
       3(2), 475-496. https://doi.org/10.1162/netn_a_00075
    .. [2] Markello, R. D. et al. netneurotools,
       ``netneurotools.networks.struct_consensus`` (version 0.3.0).

    Examples
    --------
    Ten subjects, 60 regions, connection probability falling with distance:

    >>> rng = np.random.default_rng(0)
    >>> xyz = rng.normal(size=(60, 3))
    >>> hemisphere = xyz[:, 0] > 0
    >>> distance = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1)
    >>> a = rng.lognormal(size=(10, 60, 60)) * (rng.random((10, 60, 60)) < np.exp(-distance))
    >>> a = np.triu(a, 1) + np.triu(a, 1).transpose(0, 2, 1)
    >>> group = consensus_structural(a, distance, hemisphere, weighted=False)
    >>> int(group.sum()) // 2, float((a > 0).sum() / 2 / 10)  # edges: group, mean subject
    (266, 269.1)
    >>> round(float(distance[group > 0].mean()), 2), round(float(distance[a[0] > 0].mean()), 2)
    (1.51, 1.52)
    """
    stack = check_array("matrices", matrices, ndim=3)
    if stack.shape[-1] != stack.shape[-2] or stack.shape[0] < 1:
        raise DataError(
            "matrices must be a stack of square matrices of shape (n_subjects, n_regions, "
            f"n_regions); got shape {stack.shape}."
        )
    stack = check_square("matrices", stack)
    _check_symmetric_nonnegative("matrices", stack, what="connectome per subject")
    n_subjects, n_regions = stack.shape[0], stack.shape[-1]
    dist = _check_distance(distance, n_regions)
    first = _check_hemisphere(hemisphere, n_regions)
    if n_bins is not None:
        check_positive("n_bins", n_bins, integer=True)
    if not isinstance(weighted, (bool, np.bool_)):
        raise InvalidParameterError(f"'weighted' must be True or False; got {weighted!r}.")
    check_option("average", average, ("nonzero", "all"))

    present = stack > 0
    count = present.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_nonzero = stack.sum(axis=0) / count
    rows, cols = np.triu_indices(n_regions, 1)
    same = first[rows] == first[cols]
    length_range = (dist[rows, cols].min(), dist[rows, cols].max()) if rows.size else (0.0, 0.0)
    keep = np.zeros(rows.size, dtype=bool)
    for edges in (np.flatnonzero(~same), np.flatnonzero(same)):
        if edges.size == 0:
            continue
        chosen = _select_edges(
            dist[rows[edges], cols[edges]],
            count[rows[edges], cols[edges]],
            mean_nonzero[rows[edges], cols[edges]],
            n_subjects,
            n_bins,
            length_range,
        )
        keep[edges[chosen]] = True

    if weighted:
        group = (
            np.where(count > 0, mean_nonzero, 0.0) if average == "nonzero" else stack.mean(axis=0)
        )
        values = np.where(keep, group[rows, cols], 0.0)
    else:
        values = keep.astype(float)
    consensus = np.zeros((n_regions, n_regions))
    consensus[rows, cols] = values
    consensus[cols, rows] = values
    return consensus


def _select_edges(length, count, weight, n_subjects, n_bins, length_range):
    """Indices (into the given edges, ordered row-major) of the consensus edges."""
    order = np.lexsort((np.arange(length.size), length))  # by length, then position
    sorted_length = length[order]
    # rank of each edge inside a length range: most consistent, heavier, earlier first
    rank = np.lexsort((np.arange(length.size), -np.nan_to_num(weight, nan=-np.inf), -count))
    priority = np.empty(length.size, dtype=np.int64)
    priority[rank] = np.arange(length.size)
    total = int(count.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    chosen = []
    if n_bins is None:
        target = total / n_subjects
        # each subject edge counts once: the counts of a length are the summed c_ij
        quantiles, inverse = np.unique(length[count > 0], return_inverse=True)
        counts = np.bincount(inverse, weights=count[count > 0]).astype(np.int64)
        probability = np.cumsum(counts).astype(float) / total
        probability = np.append([0.0], probability)
        quantiles = np.append(quantiles[0], quantiles)
        bin_of = np.round(probability * target).astype(int)
        for k in range(1, int(target) + 1):
            in_bin = quantiles[bin_of == k - 1]
            if in_bin.size == 0:
                continue
            start = np.searchsorted(sorted_length, in_bin.min(), side="left")
            stop = np.searchsorted(sorted_length, in_bin.max(), side="right")
            candidates = order[start:stop]
            chosen.append(candidates[np.argmin(priority[candidates])])
        return np.unique(np.asarray(chosen, dtype=np.int64))
    edges = np.linspace(*length_range, n_bins + 1)
    bin_index = np.clip(np.searchsorted(edges, length, side="right") - 1, 0, n_bins - 1)
    for b in range(n_bins):
        members = np.flatnonzero(bin_index == b)
        n_keep = int(np.round(count[members].sum() / n_subjects))
        if n_keep == 0:
            continue
        best = members[np.argsort(priority[members], kind="stable")[:n_keep]]
        chosen.extend(best.tolist())
    return np.sort(np.asarray(chosen, dtype=np.int64))


def scale_structural(adjacency, method="log"):
    """Rescale structural connection weights.

    Parameters
    ----------
    adjacency : array-like of shape (..., n_regions, n_regions)
        Non-negative connectomes (streamline counts, densities, FA, ...).
        The diagonal is ignored.
    method : {"log", "strength", "max"}, default="log"
        - ``"log"``: ``log(1 + w)``, natural logarithm (divide the result
          by ``log(b)`` for base ``b``); compresses the heavy tail of
          streamline counts and keeps absent edges at 0.
        - ``"strength"``: ``D^-1/2 W D^-1/2``, each weight divided by the
          geometric mean of its two regions' strengths ``s_i = Σ_j w_ij``,
          the normalisation of weighted communicability (Crofts & Higham
          2009); regions without connections keep zero rows.
        - ``"max"``: ``W / max(W)``, weights in [0, 1] (a matrix without
          connections stays 0).

    Returns
    -------
    scaled : ndarray of shape (..., n_regions, n_regions)
        The rescaled matrices, each with a zero diagonal. Batch axes are
        scaled independently.

    Raises
    ------
    DataError
        If a weight is negative or not finite.

    References
    ----------
    .. [1] Crofts, J. J. & Higham, D. J. (2009). A weighted communicability
       measure applied to complex brain networks. Journal of the Royal
       Society Interface 6(33), 411-414. https://doi.org/10.1098/rsif.2008.0484
    .. [2] Fornito, A., Zalesky, A. & Bullmore, E. T. (2016). Fundamentals of
       Brain Network Analysis, chapter 3. Academic Press.

    Examples
    --------
    >>> w = np.array([[0.0, 1.0, 3.0], [1.0, 0.0, 0.0], [3.0, 0.0, 0.0]])
    >>> scale_structural(w, "max")
    array([[0.        , 0.33333333, 1.        ],
           [0.33333333, 0.        , 0.        ],
           [1.        , 0.        , 0.        ]])
    >>> scale_structural(w, "strength")[0, 1]  # 1 / sqrt(4 * 1)
    np.float64(0.5)
    """
    check_option("method", method, _SCALINGS)
    matrices = check_square("adjacency", adjacency)
    if (matrices < 0).any():
        where = tuple(int(i) for i in np.argwhere(matrices < 0)[0])
        raise DataError(
            f"adjacency must be non-negative to be scaled with method={method!r}; got "
            f"{int((matrices < 0).sum())} negative weight(s), the first at index {where} "
            f"({matrices[where]:.6g})."
        )
    out = matrices.copy()
    diagonal = np.arange(out.shape[-1])
    out[..., diagonal, diagonal] = 0.0
    if method == "log":
        return np.log1p(out)
    if method == "max":
        peak = out.max(axis=(-2, -1), keepdims=True)
        return out / np.where(peak > 0, peak, 1.0)
    strength = out.sum(axis=-1)
    inverse_root = np.where(
        strength > 0, 1.0 / np.sqrt(np.where(strength > 0, strength, 1.0)), 0.0
    )
    return out * inverse_root[..., :, None] * inverse_root[..., None, :]
