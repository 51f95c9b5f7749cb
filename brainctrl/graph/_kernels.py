"""Compiled kernels of brainctrl.graph.

Compiled with numba on first use and cached on disk, so a later process loads
the machine code instead of compiling it again (see :func:`_cache_folder`).
Every kernel keeps its scratch arrays local and releases the GIL, so threads
may call them on separate inputs (a ``numpy.random.Generator`` must not be
shared between threads: numba draws from it without its lock).

- :func:`move_nodes`, :func:`improvable` (used by :mod:`._louvain`): one call
  of ``move_nodes`` empties a queue of nodes: each node in turn moves to the
  community that raises ``Σ_ij B_ij δ(g_i, g_j)`` the most (or to one drawn
  with probability proportional to the gain), and the neighbours of a node
  that moved are queued again; ``improvable`` finds the nodes that have such
  a move. The arithmetic is done in the order a plain NumPy version does it
  (sums over a node's neighbours in the order of its CSR row), and random
  draws come from the caller's generator, so a seed gives the same partition
  as an interpreted version of the same moves.
- :func:`local_efficiency` (used by :mod:`._measures`): all-pairs shortest
  paths in each region's neighbourhood by Floyd–Warshall (four rows per pass
  over the intermediate row, a loop the compiler vectorises) and the
  efficiency sum, for the regions it is given.
- :func:`floyd_warshall`, :func:`dijkstra`: all-pairs shortest-path lengths of
  dense and of sparse graphs; :func:`betweenness`: Brandes' accumulation over
  them.
"""

import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
from numba import njit


def _cache_folder():
    """Make sure numba has a folder to cache the kernels in; False when none.

    numba caches beside this file when its ``__pycache__`` is writable, else in
    the user's cache folder (``NUMBA_CACHE_DIR`` overrides both). When none of
    them can be written (a read-only installation and home folder, as in some
    containers and clusters), a folder in the temporary directory is used; when
    even that fails, the kernels are compiled in each process without a cache.
    """
    try:
        from numba.core import caching
    except ImportError:  # pragma: no cover - numba moved its caching module
        return True

    def probe():
        pass

    locators = (
        caching.UserProvidedCacheLocator,
        caching.InTreeCacheLocator,
        caching.UserWideCacheLocator,
    )
    if any(cls.from_function(probe, __file__) is not None for cls in locators):
        return True
    from numba import config

    folder = Path(tempfile.gettempdir()) / f"brainctrl-numba-cache-{os.getuid()}"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        probe_file = folder / f".probe-{os.getpid()}"
        probe_file.touch()
        probe_file.unlink()
    except OSError:
        warnings.warn(
            "brainctrl's compiled kernels cannot be cached (no writable folder: set "
            "NUMBA_CACHE_DIR); they are compiled again in each process (a few seconds).",
            RuntimeWarning,
            stacklevel=2,
        )
        return False
    config.CACHE_DIR = str(folder)
    return True


_CACHE = _cache_folder()


# One flat loop on purpose: the Louvain moves are the hot path of community search,
# compiled by numba, where splitting them into calls costs time (C901 is off here).
@njit(cache=_CACHE, nogil=True)
def move_nodes(  # noqa: C901
    indptr,
    indices,
    data,
    f_indptr,
    f_indices,
    f_data,
    scales,
    community_factors,
    labels,
    sizes,
    empty,
    n_empty,
    order,
    tolerance,
    random_weighted,
    rng,
):
    """Visit ``order`` (and the nodes queued by moves) until the queue is empty.

    Parameters
    ----------
    indptr, indices, data : ndarray
        CSR arrays of the symmetric interaction matrix ``W`` (zero diagonal).
    f_indptr, f_indices, f_data : ndarray
        CSR arrays of the ``(n, r)`` null-model factors ``U``.
    scales : ndarray of shape (r,)
        Scale ``d`` of each factor: ``B = W + diag(w_self) − U diag(d) Uᵀ``.
    community_factors : ndarray of shape (r, n)
        ``Σ_{i in c} U_ik`` for each factor ``k`` and community ``c``; updated.
    labels : ndarray of shape (n,), int64
        Community of each node (values ``0..n-1``); updated in place.
    sizes : ndarray of shape (n,), int64
        Number of nodes in each community; updated.
    empty : ndarray of shape (n,), int64
        Stack of the empty community labels, ``empty[:n_empty]``; updated.
    n_empty : int
        Height of that stack.
    order : ndarray of int64
        The nodes to visit first, in order (each at most once).
    tolerance : float
        Smallest gain counted as an improvement.
    random_weighted : bool
        Draw the target among the improving communities with probability
        proportional to the gain instead of taking the best one.
    rng : numpy.random.Generator
        Source of the draws of ``random_weighted``.

    Returns
    -------
    moved : bool
        True when at least one node changed community.
    n_empty : int
        New height of the stack of empty labels.
    """
    n = labels.size
    n_factors = scales.size
    has_null = n_factors > 0 and f_data.size > 0
    accumulator = np.zeros(n)
    stamp = np.zeros(n, dtype=np.int64)
    max_degree = 1
    for node in range(n):
        max_degree = max(max_degree, indptr[node + 1] - indptr[node])
    neighbour_labels = np.empty(max_degree, dtype=np.int64)
    gains = np.empty(max_degree)
    options = np.empty(max_degree + 1, dtype=np.int64)
    cumulative = np.empty(max_degree + 1)

    # FIFO queue in a ring buffer: a node is never queued twice at once
    queue = np.empty(n, dtype=np.int64)
    in_queue = np.zeros(n, dtype=np.bool_)
    head = 0
    length = 0
    for node in order:
        queue[(head + length) % n] = node
        length += 1
        in_queue[node] = True

    moved = False
    while length > 0:
        node = queue[head]
        head = (head + 1) % n
        length -= 1
        in_queue[node] = False
        start = indptr[node]
        degree = indptr[node + 1] - start
        own = labels[node]

        # summed weight to each neighbouring community, one entry per neighbour
        for j in range(degree):
            label = labels[indices[start + j]]
            neighbour_labels[j] = label
            accumulator[label] += data[start + j]
        for j in range(degree):
            gains[j] = accumulator[neighbour_labels[j]]
        own_gain = accumulator[own]
        for j in range(degree):
            accumulator[neighbour_labels[j]] = 0.0

        f_start = f_indptr[node]
        f_stop = f_indptr[node + 1]
        if has_null:
            # the node leaves its community: null terms against what remains
            for k in range(f_start, f_stop):
                community_factors[f_indices[k], own] -= f_data[k]
            if f_stop - f_start == 1:
                column = f_indices[f_start]
                weighted = f_data[f_start] * scales[column]
                for j in range(degree):
                    gains[j] -= weighted * community_factors[column, neighbour_labels[j]]
                own_gain -= weighted * community_factors[column, own]
            elif f_stop > f_start:
                for j in range(degree):
                    total = 0.0
                    for k in range(f_start, f_stop):
                        column = f_indices[k]
                        total += (
                            f_data[k]
                            * scales[column]
                            * community_factors[column, neighbour_labels[j]]
                        )
                    gains[j] -= total
                total = 0.0
                for k in range(f_start, f_stop):
                    column = f_indices[k]
                    total += f_data[k] * scales[column] * community_factors[column, own]
                own_gain -= total

        # leaving for a new, empty community gains 0 - own_gain
        alone = -own_gain if sizes[own] > 1 else 0.0
        target = own
        improvement = -np.inf
        best = -1
        for j in range(degree):
            if best < 0 or gains[j] > gains[best]:
                best = j
        if best >= 0:
            improvement = gains[best] - own_gain
        if improvement > tolerance or alone > tolerance:
            if random_weighted:
                # one option per distinct improving community, then a gain-weighted draw
                for j in range(degree):
                    stamp[neighbour_labels[j]] = j
                n_options = 0
                running = 0.0
                for j in range(degree):
                    if stamp[neighbour_labels[j]] != j:
                        continue
                    gain = gains[j] - own_gain
                    if gain > tolerance:
                        running += gain
                        options[n_options] = neighbour_labels[j]
                        cumulative[n_options] = running
                        n_options += 1
                if alone > tolerance:
                    running += alone
                    options[n_options] = -1
                    cumulative[n_options] = running
                    n_options += 1
                value = rng.random() * cumulative[n_options - 1]
                choice = 0
                while choice < n_options - 1 and cumulative[choice] < value:
                    choice += 1
                target = options[choice]
            elif improvement > tolerance and improvement >= alone:
                target = neighbour_labels[best]
            else:
                target = -1
        if target == -1:
            n_empty -= 1
            target = empty[n_empty]
        if has_null:
            for k in range(f_start, f_stop):
                community_factors[f_indices[k], target] += f_data[k]
        if target != own:
            sizes[own] -= 1
            sizes[target] += 1
            if sizes[own] == 0:
                empty[n_empty] = own
                n_empty += 1
            labels[node] = target
            moved = True
            for j in range(start, start + degree):
                neighbour = indices[j]
                if not in_queue[neighbour]:
                    in_queue[neighbour] = True
                    queue[(head + length) % n] = neighbour
                    length += 1
    return moved, n_empty


@njit(cache=_CACHE, nogil=True)
def floyd_warshall(distance):
    """Shortest-path lengths in place, from edge lengths (inf where no edge, 0 diagonal).

    Row ``m`` does not change while it is the intermediate region (its
    diagonal entry is 0), so it is read from a copy and four rows are updated
    per pass over it: a quarter of the loads, and a loop the compiler
    vectorises.
    """
    k = distance.shape[0]
    for m in range(k):
        row_m = distance[m].copy()
        i = 0
        while i + 3 < k:
            a0, a1, a2, a3 = (
                distance[i, m],
                distance[i + 1, m],
                distance[i + 2, m],
                distance[i + 3, m],
            )
            r0, r1, r2, r3 = distance[i], distance[i + 1], distance[i + 2], distance[i + 3]
            for j in range(k):
                v = row_m[j]
                x = a0 + v
                y = r0[j]
                r0[j] = x if x < y else y
                x = a1 + v
                y = r1[j]
                r1[j] = x if x < y else y
                x = a2 + v
                y = r2[j]
                r2[j] = x if x < y else y
                x = a3 + v
                y = r3[j]
                r3[j] = x if x < y else y
            i += 4
        while i < k:
            through = distance[i, m]
            row_i = distance[i]
            for j in range(k):
                x = through + row_m[j]
                y = row_i[j]
                row_i[j] = x if x < y else y
            i += 1


@njit(cache=_CACHE, nogil=True)
def local_efficiency(lengths, connected, cube_root, nodes, original):
    """Weighted local efficiency of ``nodes`` (BCT ``efficiency_wei``, local).

    Parameters
    ----------
    lengths : ndarray of shape (n, n)
        Edge lengths (``1 / w``, or its cube root for the modified variant).
    connected : ndarray of bool, shape (n, n)
        Where there is an edge.
    cube_root : ndarray of shape (n, n)
        ``w ** (1/3)``.
    nodes : ndarray of int64
        Regions to compute (each with at least two neighbours).
    original : bool
        Use ``(1 / d) ** (1/3)`` (Rubinov & Sporns 2010) instead of ``1 / d``
        (Wang et al. 2016) inside the sum.

    Returns
    -------
    ndarray of shape (nodes.size,)
    """
    n = lengths.shape[0]
    out = np.zeros(nodes.size)
    neighbours = np.empty(n, dtype=np.int64)
    largest = 0
    for position in range(nodes.size):
        degree = 0
        for j in range(n):
            if connected[nodes[position], j]:
                degree += 1
        largest = max(largest, degree)
    buffer = np.empty(largest * largest)
    for position in range(nodes.size):
        node = nodes[position]
        k = 0
        for j in range(n):
            if connected[node, j]:
                neighbours[k] = j
                k += 1
        distance = buffer[: k * k].reshape((k, k))  # C-contiguous: vectorised loops
        for a in range(k):
            u = neighbours[a]
            for b in range(k):
                v = neighbours[b]
                distance[a, b] = lengths[u, v] if connected[u, v] else np.inf
            distance[a, a] = 0.0
        floyd_warshall(distance)
        total = 0.0
        for a in range(k):
            inner = 0.0
            for b in range(k):
                d = distance[a, b]
                if b != a and d > 0.0 and d < np.inf:
                    inverse = 1.0 / d
                    if original:
                        inverse = np.cbrt(inverse)
                    inner += inverse * cube_root[node, neighbours[b]]
            total += cube_root[node, neighbours[a]] * inner
        out[position] = total / (k * (k - 1.0))
    return out


@njit(cache=_CACHE, nogil=True, inline="always")
def _heap_push(keys, values, size, key, value):
    """Push onto a binary min-heap held in ``keys[:size]``, ``values[:size]``."""
    position = size
    while position > 0:
        parent = (position - 1) >> 1
        if keys[parent] <= key:
            break
        keys[position] = keys[parent]
        values[position] = values[parent]
        position = parent
    keys[position] = key
    values[position] = value
    return size + 1


@njit(cache=_CACHE, nogil=True, inline="always")
def _heap_pop(keys, values, size):
    """Remove the root of the heap; returns the new size (root read by the caller)."""
    size -= 1
    key = keys[size]
    value = values[size]
    position = 0
    while True:
        child = 2 * position + 1
        if child >= size:
            break
        if child + 1 < size and keys[child + 1] < keys[child]:
            child += 1
        if keys[child] >= key:
            break
        keys[position] = keys[child]
        values[position] = values[child]
        position = child
    keys[position] = key
    values[position] = value
    return size


@njit(cache=_CACHE, nogil=True)
def dijkstra(indptr, indices, lengths):
    """Shortest-path lengths from every source of a graph in CSR form.

    ``lengths`` are the positive edge lengths of the CSR entries. Returns the
    ``(n, n)`` matrix of path lengths (inf where unreachable). For sparse
    graphs; :func:`floyd_warshall` is faster on dense ones.
    """
    n = indptr.size - 1
    distance = np.full((n, n), np.inf)
    keys = np.empty(indices.size + 1)
    values = np.empty(indices.size + 1, dtype=np.int64)
    settled = np.zeros(n, dtype=np.bool_)
    for source in range(n):
        d = distance[source]
        settled[:] = False
        d[source] = 0.0
        size = _heap_push(keys, values, 0, 0.0, source)
        while size > 0:
            key = keys[0]
            node = values[0]
            size = _heap_pop(keys, values, size)
            if settled[node]:
                continue
            settled[node] = True
            for j in range(indptr[node], indptr[node + 1]):
                neighbour = indices[j]
                candidate = key + lengths[j]
                if not settled[neighbour] and candidate < d[neighbour]:
                    d[neighbour] = candidate
                    size = _heap_push(keys, values, size, candidate, neighbour)
    return distance


@njit(cache=_CACHE, nogil=True)
def betweenness(indptr, indices, lengths, distance, tie_rtol):
    """Brandes' accumulation of shortest paths through each region.

    Parameters
    ----------
    indptr, indices, lengths : ndarray
        CSR arrays of a symmetric graph with positive edge lengths, each row
        sorted by length (the scan for predecessors stops at the first edge
        longer than the distance it must close).
    distance : ndarray of shape (n, n)
        Its shortest-path lengths.
    tie_rtol : float
        The edge ``(v, t)`` lies on a shortest path from ``s`` when
        ``|d_sv + l_vt − d_st| <= tie_rtol · d_st``: paths whose lengths agree
        to this relative tolerance are ties, each counted with its share.

    Returns
    -------
    ndarray of shape (n,)
        Shortest paths between ordered pairs of other regions through each
        region.
    """
    n = indptr.size - 1
    counts = np.zeros(n)
    through = np.zeros(n)
    sigma = np.zeros(n)
    delta = np.zeros(n)
    # the predecessors of each region on shortest paths from the source
    first = np.empty(n + 1, dtype=np.int64)
    predecessors = np.empty(indices.size, dtype=np.int64)
    for source in range(n):
        d = distance[source]
        tied = False
        stored = 0
        for node in range(n):
            first[node] = stored
            if node == source or d[node] == np.inf:
                continue
            tolerance = tie_rtol * d[node]
            for j in range(indptr[node], indptr[node + 1]):
                if lengths[j] > d[node] + tolerance:
                    break  # rows sorted by length: no longer edge ends a shortest path
                neighbour = indices[j]
                # a predecessor is strictly nearer the source (an edge shorter than
                # the tolerance must not make two regions each other's predecessor)
                # (the rarely true test first: it keeps the branch predictable)
                if (
                    abs(d[neighbour] + lengths[j] - d[node]) <= tolerance
                    and d[neighbour] < d[node]
                ):
                    predecessors[stored] = neighbour
                    stored += 1
            tied = tied or stored - first[node] > 1
        first[n] = stored
        if not tied:
            # one shortest path to each region (the rule for continuous weights):
            # a region lies on the paths to all its descendants in the tree
            through[:] = 0.0
            # climbing costs the summed depth of the tree; past 8 steps per region
            # on average (long chains), the sorted recursion below is cheaper
            budget = 8 * n
            for node in range(n):
                if first[node + 1] == first[node]:
                    continue
                parent = predecessors[first[node]]
                while parent != source and budget > 0:
                    through[parent] += 1.0
                    parent = predecessors[first[parent]]
                    budget -= 1
            if budget > 0:
                counts += through
                continue
        # ties (or deep trees): Brandes' recursion in order of distance
        order = np.argsort(d)
        reached = 0
        while reached < n and d[order[reached]] < np.inf:
            reached += 1
        sigma[source] = 1.0
        for position in range(1, reached):
            node = order[position]
            total = 0.0
            for k in range(first[node], first[node + 1]):
                total += sigma[predecessors[k]]
            sigma[node] = total
        for position in range(reached - 1, 0, -1):
            node = order[position]
            share = (1.0 + delta[node]) / sigma[node] if sigma[node] > 0 else 0.0
            for k in range(first[node], first[node + 1]):
                neighbour = predecessors[k]
                delta[neighbour] += sigma[neighbour] * share
            counts[node] += delta[node]
        for position in range(reached):
            sigma[order[position]] = 0.0
            delta[order[position]] = 0.0
    return counts


@njit(cache=_CACHE, nogil=True)
def improvable(
    indptr,
    indices,
    data,
    f_indptr,
    f_indices,
    f_data,
    scales,
    community_factors,
    labels,
    sizes,
    tolerance,
):
    """Nodes that have a single move raising ``Σ_ij B_ij δ(g_i, g_j)`` by more than ``tolerance``.

    The arrays are those of :func:`move_nodes` (``community_factors`` and
    ``sizes`` for ``labels``; not changed). A community counts as a candidate
    when the summed weight to it is not exactly zero (as the sparse product
    ``W @ membership`` stores it), and leaving for an empty community when the
    node is not alone.
    """
    n = labels.size
    accumulator = np.zeros(n)
    out = np.zeros(n, dtype=np.bool_)
    for node in range(n):
        own = labels[node]
        start, stop = indptr[node], indptr[node + 1]
        for j in range(start, stop):
            accumulator[labels[indices[j]]] += data[j]
        own_gain = accumulator[own]
        for k in range(f_indptr[node], f_indptr[node + 1]):
            column = f_indices[k]
            own_gain -= f_data[k] * scales[column] * (community_factors[column, own] - f_data[k])
        better = sizes[own] > 1 and -own_gain > tolerance
        for j in range(start, stop):
            community = labels[indices[j]]
            if better or community == own or accumulator[community] == 0.0:
                continue
            gain = accumulator[community]
            for k in range(f_indptr[node], f_indptr[node + 1]):
                column = f_indices[k]
                gain -= f_data[k] * scales[column] * community_factors[column, community]
            better = gain - own_gain > tolerance
        out[node] = better
        for j in range(start, stop):
            accumulator[labels[indices[j]]] = 0.0
    return out
