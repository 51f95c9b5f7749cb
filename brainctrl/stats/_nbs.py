"""Network-based statistic (Zalesky et al. 2010) with covariates."""

import dataclasses
import numbers

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse import csgraph

from brainctrl._utils.deprecation import replace_parameter
from brainctrl._utils.permutation import ALTERNATIVES, permutation_pvalue
from brainctrl._utils.validation import (
    check_array,
    check_finite,
    check_option,
    check_positive,
    check_random_state,
)
from brainctrl.exceptions import DataError, InvalidParameterError
from brainctrl.stats._glm import (
    _OLS,
    _build_design,
    _check_blocks,
    _chunk_size,
    _FreedmanLane,
    _permutation_indices,
    _run_chunks,
)

__all__ = ["NetworkBasedStatisticResult", "network_based_statistic"]


@dataclasses.dataclass
class NetworkBasedStatisticResult:
    """Components found by :func:`network_based_statistic`.

    Attributes
    ----------
    t : ndarray of shape (n_edges,)
        Edge-wise t statistic of the contrast, in the order of ``edge_index``.
    edge_index : ndarray of shape (n_edges, 2)
        Node pair ``(i, j)``, ``i < j``, of each edge (``numpy.triu_indices(n_nodes, 1)``).
    components : list of ndarray
        For each component, the positions (into ``edge_index``) of its edges, sorted by
        decreasing size.
    component_signs : ndarray of shape (n_components,)
        +1 for components of edges with ``t > threshold``, -1 for ``-t > threshold``.
    component_sizes : ndarray of shape (n_components,)
        Extent (number of edges) or intensity (sum of ``|t| - threshold``).
    p_fwe : ndarray of shape (n_components,)
        Family-wise error corrected p-value of each component.
    null_distribution : ndarray of shape (n_permutations,)
        Largest component size in each permutation (0 when none).
    threshold : float
        The primary (edge-wise) t threshold.
    statistic : str
        ``"extent"`` or ``"intensity"``.
    n_nodes : int
        Number of nodes.
    alternative : str
        ``"greater"``, ``"less"`` or ``"two-sided"``: the signs of the components.
    """

    t: np.ndarray
    edge_index: np.ndarray
    components: list
    component_signs: np.ndarray
    component_sizes: np.ndarray
    p_fwe: np.ndarray
    null_distribution: np.ndarray
    threshold: float
    statistic: str
    n_nodes: int
    alternative: str = "greater"

    def to_frame(self):
        """Tabulate the components, one row each.

        Columns: ``component``, ``sign``, ``n_edges``, ``n_nodes``, ``size``, ``p_fwe``.

        Returns
        -------
        table : pandas.DataFrame of shape (n_components, 6)
        """
        rows = []
        for k, members in enumerate(self.components):
            nodes = np.unique(self.edge_index[members])
            rows.append(
                {
                    "component": k,
                    "sign": int(self.component_signs[k]),
                    "n_edges": int(members.size),
                    "n_nodes": int(nodes.size),
                    "size": float(self.component_sizes[k]),
                    "p_fwe": float(self.p_fwe[k]),
                }
            )
        columns = ["component", "sign", "n_edges", "n_nodes", "size", "p_fwe"]
        return pd.DataFrame(rows, columns=columns)

    def component_matrix(self, *, alpha=None):
        """Label matrix: entry ``(i, j)`` is ``k + 1`` for an edge of component ``k``, else 0.

        Parameters
        ----------
        alpha : float, optional
            Keep only components with ``p_fwe <= alpha``.

        Returns
        -------
        labels : ndarray of shape (n_nodes, n_nodes)
            Symmetric integer matrix.
        """
        labels = np.zeros((self.n_nodes, self.n_nodes), dtype=int)
        for k, members in enumerate(self.components):
            if alpha is not None and self.p_fwe[k] > alpha:
                continue
            i, j = self.edge_index[members].T
            labels[i, j] = labels[j, i] = k + 1
        return labels


def _edge_matrix(edges):
    array = check_array("edges", edges)
    if array.ndim == 3:
        n_subjects, n_nodes, other = array.shape
        if n_nodes != other:
            raise DataError(
                f"edges must have shape (n_subjects, n_nodes, n_nodes) or (n_subjects, n_edges); "
                f"got shape {array.shape}."
            )
        check_finite("edges", array)
        rows, cols = np.triu_indices(n_nodes, 1)
        asymmetry = np.max(np.abs(array - array.transpose(0, 2, 1))) if array.size else 0.0
        if asymmetry > 1e-8 * max(1.0, np.max(np.abs(array))):
            raise DataError(
                "edges matrices must be symmetric (undirected); largest |W - W'| is "
                f"{asymmetry:.3g}."
            )
        return array[:, rows, cols], n_nodes
    if array.ndim == 2:
        n_edges = array.shape[1]
        n_nodes = int(round((1 + np.sqrt(1 + 8 * n_edges)) / 2))
        if n_nodes * (n_nodes - 1) // 2 != n_edges or n_edges == 0:
            raise DataError(
                f"edges of shape (n_subjects, n_edges) need n_edges = N(N-1)/2 (upper triangle, "
                f"numpy.triu_indices(N, 1) order); got n_edges = {n_edges}."
            )
        check_finite("edges", array)
        return array, n_nodes
    raise DataError(
        "edges must have shape (n_subjects, n_nodes, n_nodes) or (n_subjects, n_edges); "
        f"got shape {array.shape}."
    )


_SIGNS = {"greater": (1,), "less": (-1,), "two-sided": (1, -1)}

# the former ``tail`` values and the ``alternative`` each one is
_TAILS = {"right": "greater", "left": "less", "both": "two-sided"}


def _components(t, edge_index, n_nodes, threshold, *, alternative, statistic):
    """Find the connected components of suprathreshold edges.

    Returns a list of (edge positions, sign) and their sizes.
    """
    signs = _SIGNS[alternative]
    found, sizes = [], []
    for sign in signs:
        values = sign * t
        supra = np.flatnonzero(values > threshold)
        if supra.size == 0:
            continue
        i, j = edge_index[supra].T
        graph = sparse.coo_matrix((np.ones(supra.size), (i, j)), shape=(n_nodes, n_nodes))
        _, labels = csgraph.connected_components(graph, directed=False)
        edge_labels = labels[i]
        order = np.argsort(edge_labels, kind="stable")
        boundaries = np.flatnonzero(np.diff(edge_labels[order])) + 1
        for group in np.split(order, boundaries):
            members = supra[group]
            if statistic == "extent":
                size = float(members.size)
            else:
                size = float(np.sum(values[members] - threshold))
            found.append((np.sort(members), sign))
            sizes.append(size)
    return found, np.asarray(sizes, dtype=float)


def _max_component_sizes(tstar, edge_index, n_nodes, threshold, *, alternative, statistic):
    out = np.zeros(tstar.shape[0])
    for b, row in enumerate(tstar):
        _, sizes = _components(
            row, edge_index, n_nodes, threshold, alternative=alternative, statistic=statistic
        )
        if sizes.size:
            out[b] = sizes.max()
    return out


def network_based_statistic(
    edges,
    phenotype=None,
    *,
    formula=None,
    design=None,
    contrast="group",
    group=None,
    covariates=(),
    threshold=3.0,
    n_permutations=1000,
    statistic="extent",
    alternative=None,
    exchangeability_blocks=None,
    whole_blocks=False,
    random_state=None,
    n_jobs=1,
    **deprecated,
):
    """Network-based statistic for edge-wise group comparisons with covariates.

    Fits the GLM of :func:`group_comparison` to every edge, keeps edges whose t
    exceeds ``threshold``, and tests the size of each connected component of those
    edges against the permutation distribution of the largest component
    (Freedman–Lane permutations), which controls the family-wise error over
    components.

    Parameters
    ----------
    edges : array-like of shape (n_subjects, n_nodes, n_nodes) or (n_subjects, n_edges)
        Symmetric connectivity matrices, or their upper triangles in
        ``numpy.triu_indices(n_nodes, 1)`` order; rows in the order of ``phenotype``.
    phenotype : pandas.DataFrame of shape (n_subjects, n_columns), optional
        One row per subject, in the row order of ``edges`` (its index is not used
        for matching). Needed unless ``design`` is given.
    formula, design, contrast, group, covariates
        The design and the tested effect, as in :func:`group_comparison`; a design
        DataFrame is taken in the row order of ``edges``.
    threshold : float, default=3.0
        Primary threshold on the edge-wise t statistic.
    n_permutations : int, default=1000
        Number of Freedman–Lane permutations.
    statistic : {"extent", "intensity"}, default="extent"
        Component size: number of edges, or sum of ``|t| - threshold`` over them.
    alternative : {"greater", "less", "two-sided"}, default="greater"
        Test ``contrast > 0`` (edges with ``t > threshold``), ``< 0`` (``-t >
        threshold``), or both, with positive and negative components formed
        separately and the null taken as the largest of either sign. (The
        former ``tail="right"``, ``"left"`` and ``"both"`` still work, with a
        FutureWarning.)
    exchangeability_blocks : str or array-like of shape (n_subjects,), optional
        Phenotype column or one block label per subject; permutations stay within
        blocks (or move whole blocks with ``whole_blocks=True``).
    whole_blocks : bool, default=False
        Permute whole blocks instead of within blocks.
    random_state : None, int or numpy.random.Generator, default=None
        Seed of the permutations.
    n_jobs : int, default=1
        Threads over chunks of permutations.

    Returns
    -------
    result : NetworkBasedStatisticResult
        Edge t statistics, components (largest first), their sizes and FWE p-values,
        and the null distribution of the largest component.

    Notes
    -----
    A component's FWE p-value is ``(1 + #{S*_max >= S}) / (B + 1)``, with ``S*_max`` the
    largest component size in each of the ``B`` permutations (ties up to rounding
    count). Without covariates
    (intercept and group only) Freedman–Lane permutation of the residuals is the
    same as permuting group labels. The inference is on components, not on single
    edges: an edge in a significant component is not itself significant.

    References
    ----------
    .. [1] Zalesky A, Fornito A, Bullmore ET (2010). Network-based statistic:
       identifying differences in brain networks. NeuroImage 53:1197-1207.
    .. [2] Freedman D, Lane D (1983). A nonstochastic interpretation of reported
       significance levels. J Bus Econ Stat 1:292-298.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> group = np.repeat([0.0, 1.0], 15)
    >>> edges = rng.normal(size=(30, 45))  # 10 nodes
    >>> edges[:, :3] += 2.0 * group[:, None]  # edges (0,1), (0,2), (0,3)
    >>> res = network_based_statistic(edges, pd.DataFrame({"group": group}),
    ...                               threshold=3.0, n_permutations=99, random_state=0)
    >>> res.to_frame().loc[0, ["n_edges", "n_nodes"]].tolist(), bool(res.p_fwe[0] < 0.05)
    ([3, 4], True)
    """
    Y, n_nodes = _edge_matrix(edges)
    n_subjects = Y.shape[0]
    check_positive("threshold", threshold, strict=False)
    check_positive("n_permutations", n_permutations, strict=False, integer=True)
    check_option("statistic", statistic, ("extent", "intensity"))
    alternative = replace_parameter(
        "network_based_statistic",
        "tail",
        "alternative",
        alternative,
        deprecated,
        _TAILS,
        default="greater",
    )
    if deprecated:
        raise TypeError(
            f"network_based_statistic() got unexpected keyword(s) {sorted(deprecated)}."
        )
    check_option("alternative", alternative, ALTERNATIVES)
    if not isinstance(n_jobs, numbers.Integral) or n_jobs == 0:
        raise InvalidParameterError(f"'n_jobs' must be a non-zero integer; got {n_jobs!r}.")
    if isinstance(covariates, str):
        covariates = (covariates,)
    index = pd.Index([str(i) for i in range(n_subjects)], name="subject")
    if phenotype is None:
        if design is None:
            raise InvalidParameterError("give a 'phenotype' (with a formula/group) or a 'design'.")
        table = pd.DataFrame(index=index)
    else:
        if not isinstance(phenotype, pd.DataFrame):
            raise InvalidParameterError(
                f"'phenotype' must be a pandas DataFrame; got {type(phenotype).__name__}."
            )
        if len(phenotype) != n_subjects:
            raise DataError(
                f"phenotype has {len(phenotype)} rows but edges has {n_subjects} subjects; "
                "they must be in the same order."
            )
        table = phenotype.reset_index(drop=True).set_axis(index)
    if isinstance(design, pd.DataFrame):
        if len(design) != n_subjects:
            raise DataError(f"design has {len(design)} rows but edges has {n_subjects} subjects.")
        design = design.set_axis(index)
    built = _build_design(
        table,
        formula=formula,
        design=design,
        contrast=contrast,
        group=group,
        covariates=covariates,
    )
    keep = index.get_indexer(built.subjects)
    Y = Y[keep]
    blocks = _check_blocks(exchangeability_blocks, table, built.subjects)
    edge_index = np.column_stack(np.triu_indices(n_nodes, 1))

    ols = _OLS(built.matrix, built.contrast)
    _, _, _, t = ols.fit(Y)
    if not np.all(np.isfinite(t)):
        bad = np.flatnonzero(~np.isfinite(t))
        raise DataError(
            f"{bad.size} edge(s) have zero residual variance (e.g. constant), first "
            f"{tuple(int(v) for v in edge_index[bad[0]])}; remove them (e.g. the diagonal) "
            "or add noise."
        )
    found, sizes = _components(
        t, edge_index, n_nodes, threshold, alternative=alternative, statistic=statistic
    )
    order = np.argsort(-sizes, kind="stable")
    components = [found[k][0] for k in order]
    signs = np.array([found[k][1] for k in order], dtype=int)
    sizes = sizes[order]

    null = np.zeros(0)
    p_fwe = np.full(sizes.shape, np.nan)
    if n_permutations:
        rng = check_random_state(random_state)
        perms = _permutation_indices(
            len(built.subjects),
            n_permutations,
            rng,
            exchangeability_blocks=blocks,
            whole_blocks=whole_blocks,
        )
        engine = _FreedmanLane(ols, built.matrix, Y)

        def chunk_maxima(chunk):
            return _max_component_sizes(
                engine.tstats(chunk),
                edge_index,
                n_nodes,
                threshold,
                alternative=alternative,
                statistic=statistic,
            )

        chunk = _chunk_size(Y.shape[0], Y.shape[1], ols.k, False)
        null = np.concatenate(_run_chunks(chunk_maxima, perms, chunk, n_jobs))
        # every component against the largest of each permutation: larger is more extreme
        p_fwe = permutation_pvalue(sizes, null[:, None], alternative="greater")
    return NetworkBasedStatisticResult(
        t=t,
        edge_index=edge_index,
        components=components,
        component_signs=signs,
        component_sizes=sizes,
        p_fwe=p_fwe,
        null_distribution=null,
        threshold=float(threshold),
        statistic=statistic,
        n_nodes=n_nodes,
        alternative=alternative,
    )
