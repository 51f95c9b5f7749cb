"""The interpreted kernels brainctrl used before its compiled ones (baselines).

The benchmarks time brainctrl's compiled kernels against these, run in the
same process on the same inputs: Louvain node moves written with NumPy one
node at a time, local efficiency with SciPy's Floyd–Warshall and Dijkstra per
neighbourhood, all-pairs distances with SciPy and betweenness with vectorised
NumPy. ``patched()`` swaps them into brainctrl for the duration of a block.
"""

import contextlib
from collections import deque

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import shortest_path

from brainctrl.graph._measures import _TIE_RTOL, _local_efficiency_dijkstra, _neighbourhoods


def _improvable(problem, labels, tolerance):
    """Nodes that have a single move raising the quality, for all nodes at once.

    Returns a boolean mask, or None when the problem's null factors have more
    than two entries per node (then every node is treated as improvable).
    """
    n = problem.n_nodes
    factors = problem.factors
    per_row = np.diff(factors.indptr)
    if per_row.size and per_row.max() > 2:
        return None
    membership = sparse.csr_matrix((np.ones(n), (np.arange(n), labels)), shape=(n, n))
    summed = (problem.weights @ membership).tocoo()  # weight of node i to community c
    rows, communities, values = summed.row, summed.col, summed.data.copy()
    own_weight = np.zeros(n)
    is_own = communities == labels[rows]
    own_weight[rows[is_own]] = values[is_own]
    own_gain = own_weight
    if factors.nnz and problem.scales.size:
        community_factors = np.zeros((problem.scales.size, n))
        coo = factors.tocoo()
        np.add.at(community_factors, (coo.col, labels[coo.row]), coo.data)
        own_gain = own_gain.copy()
        for k in range(int(per_row.max())):
            has = per_row > k
            column = np.zeros(n, dtype=np.int64)
            value = np.zeros(n)
            column[has] = factors.indices[factors.indptr[:-1][has] + k]
            value[has] = factors.data[factors.indptr[:-1][has] + k]
            weighted = value * problem.scales[column]
            values -= weighted[rows] * community_factors[column[rows], communities]
            own_gain -= weighted * (community_factors[column, labels] - value)
    sizes = np.bincount(labels, minlength=n)
    improvable = (sizes[labels] > 1) & (-own_gain > tolerance)
    better = (~is_own) & (values - own_gain[rows] > tolerance)
    improvable[rows[better]] = True
    return improvable


def _visit_order(problem, labels, rng, tolerance, *, every_node):
    """Nodes to visit, in random order: every node, or those with an improving move.

    Every node also when the improving moves cannot be found at once (see
    :func:`_improvable`).
    """
    order = rng.permutation(problem.n_nodes)
    improvable = None if every_node else _improvable(problem, labels, tolerance)
    return order if improvable is None else order[improvable[order]]


def _local_moves(problem, labels, rng, move, tolerance, start_all=True):
    """Move single nodes between communities until no move improves the quality.

    Nodes are visited from a queue that starts with all nodes in random order
    (with ``start_all=False``, only those that have an improving move, found
    for all nodes at once); when a node moves, its neighbours that are not
    queued are queued again. A move also changes the null-model term of every
    node of its layer, not only of its neighbours, so when the queue is empty
    all nodes are checked at once and those with an improving move are queued
    again, until none is left (as GenLouvain sweeps until a pass moves nothing).
    ``labels`` (values in ``0..n-1``) is changed in place. Returns True when
    at least one node moved.
    """
    n = problem.n_nodes
    indptr = problem.weights.indptr.tolist()
    indices = problem.weights.indices
    data = problem.weights.data
    f_indptr = problem.factors.indptr.tolist()
    f_indices = problem.factors.indices
    f_data = problem.factors.data
    scales = problem.scales
    has_null = scales.size > 0 and problem.factors.nnz > 0
    # community sums of the factors, stored (r, n) so that a row gather is cheap
    community_factors = np.zeros((max(scales.size, 1), n))
    if has_null:
        coo = problem.factors.tocoo()
        np.add.at(community_factors, (coo.col, labels[coo.row]), coo.data)
    sizes = np.bincount(labels, minlength=n).tolist()
    empty = [int(label) for label in np.flatnonzero(np.asarray(sizes) == 0)[::-1]]
    accumulator = np.zeros(n)
    stamp = np.zeros(n, dtype=np.int64)
    positions_all = np.arange(max(np.diff(problem.weights.indptr).max(initial=0), 1))
    order = _visit_order(problem, labels, rng, tolerance, every_node=start_all)
    in_queue = np.zeros(n, dtype=bool)
    in_queue[order] = True
    queue = deque(order.tolist())
    random_weighted = move == "random_weighted"
    add_at = np.add.at
    moved_any = False
    moved_in_pass = False
    while True:
        if not queue:
            if not moved_in_pass:
                break
            moved_in_pass = False
            order = _visit_order(problem, labels, rng, tolerance, every_node=False)
            if not order.size:
                break
            in_queue[order] = True
            queue.extend(order.tolist())
        node = queue.popleft()
        in_queue[node] = False
        start, stop = indptr[node], indptr[node + 1]
        own = int(labels[node])
        neighbours = indices[start:stop]
        neighbour_labels = labels[neighbours]
        # summed weights to each neighbouring community, one entry per neighbour
        add_at(accumulator, neighbour_labels, data[start:stop])
        gains = accumulator[neighbour_labels]
        own_gain = float(accumulator[own])
        accumulator[neighbour_labels] = 0.0
        if has_null:
            f_start, f_stop = f_indptr[node], f_indptr[node + 1]
            if f_stop - f_start == 1:
                column = f_indices[f_start]
                node_factor = f_data[f_start]
                row = community_factors[column]
                row[own] -= node_factor
                weighted = node_factor * scales[column]
                gains -= weighted * row[neighbour_labels]
                own_gain -= weighted * row[own]
            elif f_stop > f_start:
                columns = f_indices[f_start:f_stop]
                node_factors = f_data[f_start:f_stop]
                community_factors[columns, own] -= node_factors
                weighted = node_factors * scales[columns]
                gains -= weighted @ community_factors[columns[:, None], neighbour_labels]
                own_gain -= float(weighted @ community_factors[columns, own])
        # leaving for a new, empty community gains 0 - own_gain
        alone = -own_gain if sizes[own] > 1 else 0.0
        target = own
        best = int(gains.argmax()) if gains.size else -1
        improvement = float(gains[best]) - own_gain if gains.size else -np.inf
        if improvement > tolerance or alone > tolerance:
            if random_weighted:
                # one entry per distinct community, then a gain-weighted draw
                positions = positions_all[: stop - start]
                stamp[neighbour_labels] = positions
                first = stamp[neighbour_labels] == positions
                gains = gains[first] - own_gain
                options = neighbour_labels[first]
                positive = gains > tolerance
                options = options[positive]
                weights = gains[positive]
                if alone > tolerance:
                    options = np.append(options, -1)
                    weights = np.append(weights, alone)
                cumulative = np.cumsum(weights)
                choice = int(np.searchsorted(cumulative, rng.random() * cumulative[-1]))
                target = int(options[min(choice, options.size - 1)])
            elif improvement > tolerance and improvement >= alone:
                target = int(neighbour_labels[best])
            else:
                target = -1
        if target == -1:
            target = empty.pop()
        if has_null:
            if f_stop - f_start == 1:
                row[target] += node_factor
            elif f_stop > f_start:
                community_factors[columns, target] += node_factors
        if target != own:
            sizes[own] -= 1
            sizes[target] += 1
            if sizes[own] == 0:
                empty.append(own)
            labels[node] = target
            moved_any = moved_in_pass = True
            requeue = neighbours[~in_queue[neighbours]]
            if requeue.size:
                in_queue[requeue] = True
                queue.extend(requeue.tolist())
    return moved_any


def _lengths(weights):
    """Return lengths ``1 / w`` (inf where no connection, 0 on the diagonal)."""
    positive = weights > 0
    lengths = np.where(positive, 1.0 / np.where(positive, weights, 1.0), np.inf)
    diagonal = np.arange(weights.shape[-1])
    lengths[..., diagonal, diagonal] = 0.0
    return lengths


def _distances(weights):
    """All-pairs shortest-path lengths on ``1 / w`` for each matrix of the stack."""
    out = np.empty(weights.shape)
    for index, matrix in enumerate(weights):
        graph = np.where(matrix > 0, 1.0 / np.where(matrix > 0, matrix, 1.0), 0.0)
        density = np.count_nonzero(graph) / max(graph.size - len(graph), 1)
        method = "FW" if density > 0.25 else "D"
        out[index] = shortest_path(graph, method=method, directed=False)
    return out


#: Neighbourhoods larger than this, with over a quarter of their pairs linked,
#: are solved one by one with Floyd–Warshall in local efficiency.
_DENSE_NEIGHBOURHOOD = 64


def _local_efficiency(weights, variant, max_block=384):
    """Weighted local efficiency (BCT efficiency_wei, local=2 or local=1).

    The neighbourhood subgraphs of many regions are put on the diagonal of one
    sparse block-diagonal graph (at most ``max_block`` nodes) and solved by a
    single compiled Dijkstra call; the weighted sums are one matrix-vector
    product per block.
    """
    n_matrices, n_regions, _ = weights.shape
    out = np.zeros((n_matrices, n_regions))
    for index, matrix in enumerate(weights):
        connected, cube_root, lengths, degree, links = _neighbourhoods(matrix, variant)
        nodes = np.flatnonzero(degree >= 2)
        # Large, dense neighbourhoods (typical of functional networks): Floyd–Warshall
        # on each is about twice as fast as Dijkstra; the others are batched below.
        pairs = degree * (degree - 1.0) / 2
        dense = (degree > _DENSE_NEIGHBOURHOOD) & (links > 0.25 * pairs)
        dense_nodes = nodes[dense[nodes]]
        nodes = nodes[~dense[nodes]]
        for node in dense_nodes:
            out[index, node] = _local_efficiency_dense(
                node, connected, lengths, cube_root, degree, variant
            )
        out[index, nodes] = _local_efficiency_dijkstra(
            nodes, connected, lengths, cube_root, degree, variant, max_block
        )
    return out


def _local_efficiency_dense(node, connected, lengths, cube_root, degree, variant):
    """Local efficiency of one node with a large neighbourhood (dense Floyd–Warshall)."""
    neighbours = np.flatnonzero(connected[node])
    subgraph = lengths[np.ix_(neighbours, neighbours)]
    distances = shortest_path(subgraph, method="FW", directed=False)
    finite = np.isfinite(distances) & (distances > 0)
    inverse = np.zeros_like(distances)
    np.divide(1.0, distances, out=inverse, where=finite)
    if variant == "original":
        np.cbrt(inverse, out=inverse)
    weight = cube_root[node, neighbours]
    return float(weight @ inverse @ weight) / (degree[node] * (degree[node] - 1.0))


def _betweenness(weights, distances):
    """Betweenness of every matrix of the stack on lengths ``1 / w``.

    Shortest paths are first tested for ties over the edges: for every source
    ``s`` and edge ``(v, t)``, ``v`` precedes ``t`` when ``d_sv + l_vt = d_st``
    (relative tolerance 1e-10). Without ties (the rule for continuous
    weights) the shortest paths from each source form a tree and betweenness
    is the number of descendants in the trees, accumulated for all sources at
    once in ``O(n^2)``; with ties the Brandes recursion is used.
    """
    n_matrices, n_regions, _ = weights.shape
    out = np.zeros((n_matrices, n_regions))
    sources = np.arange(n_regions)
    for index in range(n_matrices):
        lengths = _lengths(weights[index])
        lengths[sources, sources] = np.inf
        distance = distances[index]
        tail, head = np.nonzero(weights[index] > 0)
        if tail.size == 0:
            continue
        edge_length = lengths[tail, head]
        predecessor = np.full((n_regions, n_regions), -1)
        tied = False
        chunk = max(1, 4_000_000 // tail.size)
        with np.errstate(invalid="ignore"):
            for first in range(0, n_regions, chunk):
                rows = sources[first : first + chunk]
                block = distance[first : first + chunk]
                reach = np.take(block, head, axis=1)
                gap = np.take(block, tail, axis=1)
                gap += edge_length
                gap -= reach
                np.abs(gap, out=gap)
                reach *= _TIE_RTOL
                row, edge = np.nonzero(gap <= reach)
                counts = np.bincount(row * n_regions + head[edge], minlength=rows.size * n_regions)
                if counts.max(initial=0) > 1:
                    tied = True
                    break
                predecessor[rows[row], head[edge]] = tail[edge]
        if tied:
            out[index] = _betweenness_with_ties(lengths, distance)
            continue
        order = np.argsort(distance, axis=1, kind="stable")
        delta = np.zeros((n_regions, n_regions))
        for step in range(n_regions - 1, 0, -1):
            target = order[:, step]
            parent = predecessor[sources, target]
            valid = parent >= 0
            delta[sources[valid], parent[valid]] += 1.0 + delta[sources[valid], target[valid]]
        delta[sources, sources] = 0.0
        out[index] = delta.sum(axis=0)
    if n_regions > 2:
        out /= (n_regions - 1) * (n_regions - 2)
    return out


def _betweenness_with_ties(lengths, distance):
    """Brandes betweenness of one matrix (raw counts over ordered pairs).

    ``lengths`` has ``inf`` on the diagonal and where there is no edge. Each
    step of the sweep handles, for every source at once, the next region
    ``t`` in order of distance: its predecessors are the regions ``v`` with
    ``d_sv + l_vt = d_st``. Shortest paths whose lengths agree to a relative
    tolerance of 1e-10 count as ties (each receives its share
    ``sigma_sv / sigma_st``). Cost ``O(n^3)`` in array operations.
    """
    n_regions = len(distance)
    sources = np.arange(n_regions)
    order = np.argsort(distance, axis=1, kind="stable")
    sigma = np.zeros((n_regions, n_regions))
    sigma[sources, sources] = 1.0
    masks = [None] * n_regions
    gap = np.empty((n_regions, n_regions))
    with np.errstate(invalid="ignore"):
        for step in range(1, n_regions):
            target = order[:, step]
            target_distance = distance[sources, target][:, None]
            # lengths is symmetric: row ``t`` holds l_vt for all v
            np.add(distance, lengths[target], out=gap)
            gap -= target_distance
            np.abs(gap, out=gap)
            mask = gap <= _TIE_RTOL * target_distance
            masks[step] = mask
            sigma[sources, target] = np.einsum("ij,ij->i", mask, sigma)
    delta = np.zeros((n_regions, n_regions))
    for step in range(n_regions - 1, 0, -1):
        target = order[:, step]
        paths = sigma[sources, target]
        coefficient = np.where(paths > 0, 1.0 + delta[sources, target], 0.0)
        coefficient /= np.where(paths > 0, paths, 1.0)
        delta += masks[step] * sigma * coefficient[:, None]
    delta[sources, sources] = 0.0
    return delta.sum(axis=0)


@contextlib.contextmanager
def patched(louvain=True, graph=True):
    """Use the interpreted kernels inside the block."""
    from brainctrl.graph import _louvain, _measures

    saved = {}
    swaps = []
    if louvain:
        swaps.append((_louvain, "_local_moves", _local_moves))
    if graph:
        swaps += [
            (_measures, "_local_efficiency", _local_efficiency),
            (_measures, "_distances", _distances),
            (_measures, "_betweenness", _betweenness),
        ]
    for module, name, function in swaps:
        saved[(module, name)] = getattr(module, name)
        setattr(module, name, function)
    try:
        yield
    finally:
        for (module, name), function in saved.items():
            setattr(module, name, function)
