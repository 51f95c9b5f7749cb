"""Spatial null models for region maps: spin permutations, variogram surrogates, map comparison."""

import dataclasses
import warnings

import numpy as np
from scipy import optimize, spatial, stats

from brainctrl._utils.permutation import ALTERNATIVES, permutation_pvalue
from brainctrl._utils.validation import (
    check_array,
    check_finite,
    check_option,
    check_positive,
    check_random_state,
    check_square,
)
from brainctrl.exceptions import (
    DataError,
    InvalidParameterError,
    NumericalAccuracyWarning,
    UndefinedScoreWarning,
)

__all__ = [
    "MapComparisonResult",
    "compare_maps",
    "spin_permutations",
    "variogram_surrogates",
]

_SPIN_METHODS = ("original", "vasa", "hungarian")
_KERNELS = ("exp", "gaussian", "invdist", "uniform")
_LEFT_LABELS = ("l", "lh", "left")
_RIGHT_LABELS = ("r", "rh", "right")
# reflection across the y-z plane: turns a left-hemisphere rotation into its mirror image
_MIRROR = np.array([-1.0, 1.0, 1.0])
# elements of the (chunk, m, m) distance stacks and (chunk, n_pairs) variogram stacks
_CHUNK_ELEMENTS = 4_000_000
# variogram_surrogates warns when the map's variogram lies outside the central 95 % of
# the surrogates' variograms at more than this fraction of the distances (about 5 %
# when the surrogates match; the map's own variogram is noisy with few regions, so a
# fixed tolerance on the mean would warn on white noise; 30 % of the distances separates
# white noise (1 warning in 20 maps) from maps too smooth for the surrogates, measured
# at 100-400 regions)
_VARIOGRAM_OUTSIDE_WARNING = 0.3
# Gaussian weights of the smoothed variogram: exp(-(2.68 |u - h| / b)^2 / 2), Burt et al. 2020
_VARIOGRAM_KERNEL_SCALE = 2.68


# ----------------------------------------------------------------------------------------
# spin permutations
# ----------------------------------------------------------------------------------------


def _hemisphere_masks(hemisphere, n_regions):
    """Boolean masks of the left and right regions from 'L'/'R'-like or 0/1 labels."""
    labels = np.asarray(hemisphere)
    if labels.ndim != 1 or labels.shape[0] != n_regions:
        raise DataError(
            f"hemisphere must hold one label per region, shape ({n_regions},); "
            f"got shape {labels.shape}."
        )
    if labels.dtype.kind in "iub":
        values = labels.astype(np.int64)
        left, right = values == 0, values == 1
    elif labels.dtype.kind in "UO":
        lowered = np.array([str(label).strip().lower() for label in labels])
        left = np.isin(lowered, _LEFT_LABELS)
        right = np.isin(lowered, _RIGHT_LABELS)
    else:
        raise DataError(
            "hemisphere must hold labels 'L'/'R' (or 'lh'/'rh', 'left'/'right') or 0/1; "
            f"got dtype {labels.dtype}."
        )
    unknown = ~(left | right)
    if unknown.any():
        shown = sorted({str(v) for v in labels[unknown]})[:5]
        raise DataError(
            "hemisphere must hold labels 'L'/'R' (or 'lh'/'rh', 'left'/'right') or 0 (left)/"
            f"1 (right); got {shown} at {int(unknown.sum())} region(s), the first at index "
            f"{int(np.flatnonzero(unknown)[0])}."
        )
    return left, right


def _unit_sphere(points, center, label):
    """Centre (optionally) and project one hemisphere's points onto the unit sphere."""
    if center:
        points = points - points.mean(axis=0)
    norms = np.linalg.norm(points, axis=1)
    scale = max(float(norms.max()), 1.0)
    if np.any(norms <= 1e-12 * scale):
        first = int(np.flatnonzero(norms <= 1e-12 * scale)[0])
        raise DataError(
            f"coords of the {label} hemisphere must lie away from the sphere's centre; "
            f"its region {first} (counted within the hemisphere) is at the origin, so it "
            "cannot be projected onto the sphere."
        )
    return points / norms[:, None]


def _random_rotations(n_rotations, rng):
    """Rotations drawn uniformly (Haar measure) from SO(3).

    QR decomposition of a standard Gaussian matrix; multiplying Q's columns by the
    signs of R's diagonal makes Q Haar-distributed on O(3) (Mezzadri 2007), and
    negating the first column of the improper ones moves them onto SO(3).
    """
    q, r = np.linalg.qr(rng.standard_normal((n_rotations, 3, 3)))
    q = q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]
    improper = np.linalg.det(q) < 0
    q[improper, :, 0] *= -1.0
    return q


def _check_rotations(rotations):
    rot = check_array("rotations", rotations)
    if rot.ndim != 3 or rot.shape[1:] != (3, 3) or rot.shape[0] < 1:
        raise DataError(
            f"rotations must have shape (n_permutations, 3, 3) (one rotation R as "
            f"R[None]); got shape {rot.shape}."
        )
    check_finite("rotations", rot)
    gram = np.einsum("kji,kjl->kil", rot, rot)
    orthogonal = np.all(np.abs(gram - np.eye(3)) <= 1e-8, axis=(1, 2))
    proper = np.abs(np.linalg.det(rot) - 1.0) <= 1e-8
    bad = ~(orthogonal & proper)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise DataError(
            "rotations must be rotation matrices (orthogonal, determinant +1); "
            f"{int(bad.sum())} are not, the first at index {first} (determinant "
            f"{np.linalg.det(rot[first]):.6g})."
        )
    return rot


def _distance_stack(points, rotated):
    """Euclidean distances ``out[b, i, j] = |points[i] - rotated[b, j]|``.

    Computed from coordinate differences (not from dot products, which lose
    precision for close points), a few rotations at a time so that the
    temporaries stay in cache.
    """
    n_batch, m = rotated.shape[0], points.shape[0]
    out = np.empty((n_batch, m, m))
    step = max(1, 65_536 // (m * m))
    scratch = np.empty((step, m, m))
    point_axes = [np.ascontiguousarray(points[:, axis])[None, :, None] for axis in range(3)]
    rotated_axes = [np.ascontiguousarray(rotated[:, :, axis])[:, None, :] for axis in range(3)]
    for start in range(0, n_batch, step):
        stop = min(start + step, n_batch)
        block, tmp = out[start:stop], scratch[: stop - start]
        np.subtract(point_axes[0], rotated_axes[0][start:stop], out=block)
        np.multiply(block, block, out=block)
        for axis in (1, 2):
            np.subtract(point_axes[axis], rotated_axes[axis][start:stop], out=tmp)
            np.multiply(tmp, tmp, out=tmp)
            np.add(block, tmp, out=block)
        np.sqrt(block, out=block)
    return out


def _match_vasa(dist):
    """Greedy one-to-one matching of Váša et al. (2018) for a stack of distance matrices.

    At each step the unassigned region whose nearest free rotated region is farthest
    away is assigned that rotated region. Row minima are kept and only refreshed for
    the rows whose nearest rotated region was just taken. ``dist`` is overwritten.
    """
    n_batch, m, _ = dist.shape
    batch = np.arange(n_batch)
    assignment = np.empty((n_batch, m), dtype=np.intp)
    nearest = dist.argmin(axis=2)
    row_min = np.take_along_axis(dist, nearest[..., None], axis=2)[..., 0]
    for _ in range(m):
        row = row_min.argmax(axis=1)
        col = nearest[batch, row]
        assignment[batch, row] = col
        row_min[batch, row] = -np.inf
        dist[batch, :, col] = np.inf
        stale_batch, stale_row = np.nonzero((nearest == col[:, None]) & (row_min > -np.inf))
        if stale_batch.size:
            rows = dist[stale_batch, stale_row]
            refreshed = rows.argmin(axis=1)
            nearest[stale_batch, stale_row] = refreshed
            row_min[stale_batch, stale_row] = rows[np.arange(rows.shape[0]), refreshed]
    return assignment


def _match(points, rotations, method):
    """Index of the rotated region each region takes its value from, shape (n_rot, m)."""
    m = points.shape[0]
    out = np.empty((rotations.shape[0], m), dtype=np.intp)
    chunk = max(1, _CHUNK_ELEMENTS // (m * m))
    for start in range(0, rotations.shape[0], chunk):
        stop = min(start + chunk, rotations.shape[0])
        rotated = np.matmul(points, rotations[start:stop])
        if method == "original":  # nearest neighbours only: no full distance matrix
            for k in range(stop - start):
                out[start + k] = spatial.cKDTree(rotated[k]).query(points)[1]
            continue
        dist = _distance_stack(points, rotated)
        if method == "vasa":
            out[start:stop] = _match_vasa(dist)
        else:
            for k in range(stop - start):
                _, col = optimize.linear_sum_assignment(dist[k])
                out[start + k] = col
    return out


def spin_permutations(
    coords,
    hemisphere,
    n_permutations=1000,
    *,
    method="vasa",
    center=False,
    rotations=None,
    random_state=None,
):
    r"""Spin permutations of region centroids on the sphere (the "spin test").

    Each permutation rotates the sphere at random and gives every region the value
    of the region whose rotated position lands closest to it, so a permuted map
    keeps the spatial autocorrelation of the original (Alexander-Bloch et al.,
    2018). Left and right hemispheres are rotated separately, the right one by the
    mirror image of the left rotation, so values never cross hemispheres.

    Parameters
    ----------
    coords : array-like of shape (n_regions, 3)
        Region centroids on each hemisphere's sphere (e.g. the FreeSurfer
        ``?h.sphere`` surface, both spheres centred on the origin). Each
        hemisphere's points are projected onto the unit sphere (divided by their
        norm); with ``center=True`` each hemisphere's mean position is subtracted
        first.
    hemisphere : array-like of shape (n_regions,)
        Hemisphere of each region: ``'L'``/``'R'`` (also ``'lh'``/``'rh'``,
        ``'left'``/``'right'``, any case) or ``0`` (left) / ``1`` (right). All
        regions may belong to one hemisphere.
    n_permutations : int, default=1000
        Number of spins. Ignored when ``rotations`` is given.
    method : {"vasa", "original", "hungarian"}, default="vasa"
        How regions are matched to rotated regions:

        - ``"original"``: each region takes the value of its nearest rotated
          region (Alexander-Bloch et al., 2018); regions may repeat and others
          drop out, so a row is not always a permutation.
        - ``"vasa"``: greedy one-to-one matching (Váša et al., 2018): the region
          whose nearest free rotated region is farthest away is matched first.
          Each row is a permutation.
        - ``"hungarian"``: the one-to-one matching with the smallest total
          distance (:func:`scipy.optimize.linear_sum_assignment`). Each row is a
          permutation; slower.
    center : bool, default=False
        Subtract each hemisphere's mean coordinate before projecting onto the unit
        sphere, for centroids that do not lie on a sphere centred on the origin
        (an approximation; centroids on the inflated or spherical surface are
        preferable).
    rotations : array-like of shape (n_rotations, 3, 3), optional
        Rotation matrices to use for the left hemisphere instead of random ones
        (the right hemisphere gets their mirror images); the number of spins is
        then ``n_rotations``. A point ``v`` (a row vector) of the left hemisphere
        moves to ``v @ rotations[k]``.
    random_state : None, int or numpy.random.Generator, default=None
        Seed of the random rotations.

    Returns
    -------
    spins : ndarray of int of shape (n_permutations, n_regions)
        Region indices: ``brain_map[spins]`` is the stack of spun maps,
        ``brain_map[spins[k]]`` the ``k``-th.

    Notes
    -----
    Rotations :math:`R` are drawn uniformly from SO(3) by the QR decomposition of
    a 3 x 3 standard Gaussian matrix with the signs of the columns of :math:`Q`
    fixed by the diagonal of the triangular factor, and the first column negated
    when :math:`\det Q = -1`. The right hemisphere is rotated by :math:`F R F`
    with :math:`F = \mathrm{diag}(-1, 1, 1)`, the reflection across the
    midsagittal plane.

    With unit vectors :math:`v_i` of one hemisphere, let
    :math:`d_{ij} = \lVert v_i - v_j R \rVert`. ``"original"`` sets
    ``spins[k, i]`` to :math:`\arg\min_j d_{ij}`; ``"vasa"`` and ``"hungarian"``
    choose a one-to-one matching of :math:`i` to :math:`j` as described above.
    Only centroids are rotated: regions that rotate into the medial wall take the
    value of the nearest region that exists. With a medial wall the test runs
    slightly liberal: on 200 pairs of independent smooth maps of 386 parcels
    (``benchmarks/bench_spatial_nulls.py``) it rejected 6.0-6.5 % at
    ``alpha = 0.05`` (the naive test 15-30 %); on a whole sphere, 4.2 %.

    References
    ----------
    .. [1] Alexander-Bloch, A. F., Shou, H., Liu, S., Satterthwaite, T. D.,
       Glahn, D. C., Shinohara, R. T., Vandekar, S. N., & Raznahan, A. (2018).
       On testing for spatial correspondence between maps of human brain
       structure and function. NeuroImage, 178, 540-551.
    .. [2] Váša, F., Seidlitz, J., Romero-Garcia, R., Whitaker, K. J.,
       Rosenthal, G., Vértes, P. E., et al. (2018). Adolescent tuning of
       association cortex in human structural brain networks. Cerebral Cortex,
       28(1), 281-294.
    .. [3] Markello, R. D., & Misic, B. (2021). Comparing spatial null models for
       brain maps. NeuroImage, 236, 118052.
    .. [4] Mezzadri, F. (2007). How to generate random matrices from the classical
       compact groups. Notices of the AMS, 54(5), 592-604.

    Examples
    --------
    >>> import numpy as np
    >>> coords = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, -1, 0],
    ...                    [-1, 0, 0], [0, 1, 0], [0, 0, 1], [0, -1, 0]])
    >>> hemisphere = ["L"] * 4 + ["R"] * 4
    >>> spins = spin_permutations(coords, hemisphere, 100, random_state=0)
    >>> spins.shape
    (100, 8)
    >>> bool(np.all(np.sort(spins[:, :4], axis=1) == np.arange(4)))
    True
    >>> spin_permutations(coords, hemisphere, rotations=np.eye(3)[None])
    array([[0, 1, 2, 3, 4, 5, 6, 7]])
    """
    xyz = check_array("coords", coords, ndim=2)
    if xyz.shape[1] != 3 or xyz.shape[0] < 1:
        raise DataError(f"coords must have shape (n_regions, 3); got shape {xyz.shape}.")
    check_finite("coords", xyz)
    left, right = _hemisphere_masks(hemisphere, xyz.shape[0])
    check_option("method", method, _SPIN_METHODS)
    if not isinstance(center, (bool, np.bool_)):
        raise InvalidParameterError(f"'center' must be True or False; got {center!r}.")
    if rotations is None:
        check_positive("n_permutations", n_permutations, integer=True)
        rotations = _random_rotations(int(n_permutations), check_random_state(random_state))
    else:
        rotations = _check_rotations(rotations)
    spins = np.empty((rotations.shape[0], xyz.shape[0]), dtype=np.intp)
    for mask, label, rot in (
        (left, "left", rotations),
        (right, "right", rotations * np.outer(_MIRROR, _MIRROR)),
    ):
        index = np.flatnonzero(mask)
        if index.size == 0:
            continue
        points = _unit_sphere(xyz[index], center, label)
        spins[:, index] = index[_match(points, rot, method)]
    return spins


# ----------------------------------------------------------------------------------------
# variogram-matching surrogates
# ----------------------------------------------------------------------------------------


def _kernel_weights(kernel, dist):
    """Smoothing weights of each row's k nearest neighbours, each row summing to one."""
    if kernel == "exp":
        weights = np.exp(-dist / dist.max(axis=1, keepdims=True))
    elif kernel == "gaussian":
        weights = np.exp(-1.25 * np.square(dist / dist.max(axis=1, keepdims=True)))
    elif kernel == "invdist":
        weights = 1.0 / dist
    else:
        weights = np.ones_like(dist)
    return weights / weights.sum(axis=1, keepdims=True)


class _Variogram:
    """Smoothed variogram on the pairs closer than a percentile of all distances."""

    def __init__(self, distance, pv, nh):
        i, j = np.triu_indices(distance.shape[0], k=1)
        u = distance[i, j]
        keep = u < np.percentile(u, pv)
        if keep.sum() < 2:
            raise DataError(
                f"fewer than 2 pairs of regions are closer than the {pv}th percentile of "
                "the distances; increase 'pv' or check 'distance'."
            )
        self.i, self.j, self.u = i[keep], j[keep], u[keep]
        self.h = np.linspace(self.u.min(), self.u.max(), nh)
        self.bandwidth = 3.0 * (self.h[1] - self.h[0])
        if not self.bandwidth > 0:
            raise DataError(
                f"the distances below the {pv}th percentile are all equal "
                f"({self.u[0]!r}); a variogram needs distinct distances."
            )
        scaled = _VARIOGRAM_KERNEL_SCALE * np.abs(self.u[None, :] - self.h[:, None])
        weights = np.exp(-0.5 * np.square(scaled / self.bandwidth))
        self.weights_t = (weights / weights.sum(axis=1, keepdims=True)).T  # (n_pairs, nh)

    def __call__(self, maps):
        """Smoothed variograms of maps ``(n_maps, n_regions)``, shape ``(n_maps, nh)``."""
        diff = maps[:, self.i] - maps[:, self.j]
        return (0.5 * diff * diff) @ self.weights_t


def _regress(x, y):
    """Least squares of ``y ≈ alpha + beta x`` for each row of ``x``: alpha, beta, SSE."""
    xc = x - x.mean(axis=1, keepdims=True)
    yc = y - y.mean()
    denominator = np.einsum("ij,ij->i", xc, xc)
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = (xc @ yc) / denominator
    alpha = y.mean() - beta * x.mean(axis=1)
    residual = yc[None, :] - beta[:, None] * xc
    sse = np.einsum("ij,ij->i", residual, residual)
    sse[~(denominator > 0)] = np.inf  # a flat variogram cannot be rescaled to fit
    return alpha, beta, sse


def _check_deltas(deltas, n_regions):
    values = check_array("deltas", deltas, ndim=1)
    if values.size == 0:
        raise InvalidParameterError("'deltas' must hold at least one proportion; got none.")
    if not np.all((values > 0) & (values <= 1)):
        raise InvalidParameterError(
            f"'deltas' must hold proportions in (0, 1]; got {values.tolist()}."
        )
    ks = np.array([min(int(delta * n_regions), n_regions - 1) for delta in values])
    if np.any(ks < 1):
        raise InvalidParameterError(
            f"'deltas' must give at least one neighbour (delta * n_regions >= 1 with "
            f"n_regions = {n_regions}); got {values.tolist()}."
        )
    return ks


def _smoothing_matrices(distance, ks, kernel):
    """Dense ``(n, n)`` smoothing operators, one per neighbourhood size ``k``."""
    n = distance.shape[0]
    masked = distance.copy()
    np.fill_diagonal(masked, np.inf)  # a region is not its own neighbour
    order = np.argsort(masked, axis=1, kind="stable")
    rows = np.arange(n)[:, None]
    operators = []
    for k in ks:
        neighbours = order[:, :k]
        dist = distance[rows, neighbours]
        if kernel == "invdist" and np.any(dist <= 0):
            raise DataError(
                "kernel='invdist' needs positive distances between distinct regions; "
                "distance has zeros off the diagonal."
            )
        operator = np.zeros((n, n))
        operator[rows, neighbours] = _kernel_weights(kernel, dist)
        operators.append(operator)
    return operators


def variogram_surrogates(
    brain_map,
    distance,
    n_surrogates=1000,
    *,
    deltas=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
    kernel="exp",
    pv=25,
    nh=25,
    resample=False,
    random_state=None,
):
    r"""Surrogate maps that match a map's spatial autocorrelation (variogram).

    Each surrogate is a random permutation of the map's values, smoothed over
    nearby regions to bring spatial autocorrelation back, then rescaled and added
    to Gaussian noise so that its variogram fits the map's (Burt et al., 2020).

    Parameters
    ----------
    brain_map : array-like of shape (n_regions,)
        The map. NaN is refused: drop such regions (e.g. the medial wall) from the
        map and from ``distance``.
    distance : array-like of shape (n_regions, n_regions)
        Symmetric distances between regions (e.g. geodesic distances on the
        cortical surface), zero on the diagonal.
    n_surrogates : int, default=1000
        Number of surrogate maps.
    deltas : sequence of float in (0, 1], default=(0.1, 0.2, ..., 0.9)
        Neighbourhood sizes tried for the smoothing, as proportions of the
        regions: ``delta`` smooths over the ``int(delta * n_regions)`` nearest
        other regions (at most ``n_regions - 1``).
    kernel : {"exp", "gaussian", "invdist", "uniform"}, default="exp"
        Smoothing weights as a function of the distance :math:`d` to a neighbour,
        with :math:`d_{max}` the distance to the farthest neighbour of the region:
        :math:`e^{-d/d_{max}}`, :math:`e^{-1.25 (d/d_{max})^2}`, :math:`1/d`, or
        equal weights.
    pv : float in (0, 100], default=25
        Only pairs of regions closer than this percentile of all pairwise
        distances enter the variograms (short-range autocorrelation).
    nh : int, default=25
        Number of evenly spaced distances at which the variogram is evaluated.
    resample : bool, default=False
        Give each surrogate exactly the values of ``brain_map``, in the rank order
        of the surrogate. Otherwise surrogates are shifted to the mean of
        ``brain_map``; their distribution is close to Gaussian.
    random_state : None, int or numpy.random.Generator, default=None
        Seed of the permutations and of the noise.

    Returns
    -------
    surrogates : ndarray of shape (n_surrogates, n_regions)
        The surrogate maps, one per row.

    Warns
    -----
    NumericalAccuracyWarning
        If the map's smoothed variogram lies outside the central 95 % of the
        surrogates' variograms at more than 30 % of the distances (with at
        least 20 surrogates): the surrogates do not reproduce its
        autocorrelation.

    Notes
    -----
    The empirical variogram :math:`\gamma(u_{ij}) = \frac12 (x_i - x_j)^2` of all
    pairs closer than the ``pv``-th percentile of distances is smoothed at
    ``nh`` distances :math:`h` spanning those pairs,

    .. math::

        \hat\gamma(h) = \frac{\sum_{ij} w_{ij}(h)\, \gamma(u_{ij})}{\sum_{ij} w_{ij}(h)},
        \qquad w_{ij}(h) = \exp\left(-\frac{(2.68\, |u_{ij} - h|)^2}{2 b^2}\right),

    with bandwidth :math:`b` three times the spacing of the :math:`h`. For each
    surrogate, the values are permuted at random, giving :math:`x'`; for every
    ``delta`` the permuted map is smoothed, :math:`x'_\delta = S_\delta x'`, where
    row :math:`i` of :math:`S_\delta` holds the normalised kernel weights of the
    :math:`k_\delta` nearest other regions of :math:`i`. The smoothed variogram of
    :math:`x'_\delta` is regressed on the map's by least squares,
    :math:`\hat\gamma \approx \alpha + \beta\,\hat\gamma_\delta`, and the
    ``delta`` with the smallest residual sum of squares is kept. The surrogate is

    .. math::

        y = |\beta|^{1/2}\, x'_\delta + |\alpha|^{1/2}\, z,
        \qquad z \sim \mathcal N(0, I),

    whose variogram is :math:`\beta\,\hat\gamma_\delta + |\alpha|`, close to the
    map's. With ``resample=True`` the sorted values of the map replace those of
    :math:`y` rank for rank, which keeps the distribution exactly and the
    variogram approximately.

    If the map is smoother than any of the neighbourhoods can make a permuted
    map, the fitted :math:`\alpha` is negative, the noise makes the surrogates
    rougher than the map and a :class:`~brainctrl.exceptions.NumericalAccuracyWarning`
    says by how much their mean variogram misses the map's.

    The cost grows with ``n_regions ** 2``; for dense vertex-level maps the
    memory-mapped, sampled algorithm of Burt et al. is more suitable.

    References
    ----------
    .. [1] Burt, J. B., Helmer, M., Shinn, M., Anticevic, A., & Murray, J. D.
       (2020). Generative modeling of brain maps with spatial autocorrelation.
       NeuroImage, 220, 117038.
    .. [2] Markello, R. D., & Misic, B. (2021). Comparing spatial null models for
       brain maps. NeuroImage, 236, 118052.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> grid = np.stack(np.meshgrid(np.arange(12.0), np.arange(12.0)), -1).reshape(-1, 2)
    >>> distance = np.linalg.norm(grid[:, None] - grid[None], axis=-1)
    >>> brain_map = (np.sin(grid[:, 0] / 3) + np.cos(grid[:, 1] / 3)
    ...              + rng.normal(0, 0.5, 144))
    >>> surrogates = variogram_surrogates(brain_map, distance, 100, resample=True,
    ...                                   random_state=0)
    >>> surrogates.shape
    (100, 144)
    >>> bool(np.allclose(np.sort(surrogates, axis=1), np.sort(brain_map)))
    True
    """
    x = check_array("brain_map", brain_map, ndim=1)
    check_finite("brain_map", x)
    n = x.size
    if n < 3:
        raise DataError(f"brain_map must hold at least 3 regions; got {n}.")
    dist = check_square("distance", distance, batch=False)
    if dist.shape != (n, n):
        raise DataError(
            f"distance must have shape (n_regions, n_regions) = ({n}, {n}) to match "
            f"brain_map; got shape {dist.shape}."
        )
    if np.any(dist < 0):
        raise DataError(f"distance must be non-negative; its smallest entry is {dist.min()!r}.")
    scale = max(float(dist.max()), 1e-300)
    asymmetry = float(np.max(np.abs(dist - dist.T)))
    if asymmetry > 1e-8 * scale:
        raise DataError(
            f"distance must be symmetric; the largest |distance - distance.T| is {asymmetry:.3g}."
        )
    check_positive("n_surrogates", n_surrogates, integer=True)
    ks = _check_deltas(deltas, n)
    check_option("kernel", kernel, _KERNELS)
    check_positive("pv", pv)
    if pv > 100:
        raise InvalidParameterError(f"'pv' must be a percentile in (0, 100]; got {pv!r}.")
    check_positive("nh", nh, integer=True)
    if nh < 2:
        raise InvalidParameterError(f"'nh' must be at least 2; got {nh!r}.")
    if not isinstance(resample, (bool, np.bool_)):
        raise InvalidParameterError(f"'resample' must be True or False; got {resample!r}.")
    rng = check_random_state(random_state)

    variogram = _Variogram(dist, pv, int(nh))
    target = variogram(x[None, :])[0]
    operators_t = [operator.T for operator in _smoothing_matrices(dist, ks, kernel)]
    sorted_values = np.sort(x)
    n_surrogates = int(n_surrogates)
    surrogates = np.empty((n_surrogates, n))
    variograms = np.empty((n_surrogates, int(nh)))
    chunk = max(1, _CHUNK_ELEMENTS // max(variogram.i.size, n))
    for start in range(0, n_surrogates, chunk):
        size = min(chunk, n_surrogates - start)
        permuted = rng.permuted(np.broadcast_to(x, (size, n)), axis=1)
        best_sse = np.full(size, np.inf)
        best_alpha, best_beta = np.zeros(size), np.zeros(size)
        best_smooth = np.zeros((size, n))
        for operator_t in operators_t:
            smooth = permuted @ operator_t
            alpha, beta, sse = _regress(variogram(smooth), target)
            better = sse < best_sse
            best_sse[better] = sse[better]
            best_alpha[better], best_beta[better] = alpha[better], beta[better]
            best_smooth[better] = smooth[better]
        noise = rng.standard_normal((size, n))
        surrogate = (
            np.sqrt(np.abs(best_beta))[:, None] * best_smooth
            + np.sqrt(np.abs(best_alpha))[:, None] * noise
        )
        if resample:
            ranks = np.argsort(np.argsort(surrogate, axis=1, kind="stable"), axis=1)
            surrogate = sorted_values[ranks]
        else:
            surrogate += x.mean() - surrogate.mean(axis=1, keepdims=True)
        surrogates[start : start + size] = surrogate
        variograms[start : start + size] = variogram(surrogate)
    low, high = np.percentile(variograms, [2.5, 97.5], axis=0)
    outside = (target < low) | (target > high)
    if n_surrogates >= 20 and outside.mean() > _VARIOGRAM_OUTSIDE_WARNING:
        mean = variograms.mean(axis=0)
        worst = int(np.argmax(np.abs(mean - target)))
        warnings.warn(
            "the surrogates' variograms miss the map's: it lies outside their central "
            f"95 % at {outside.sum()} of {outside.size} distances (e.g. at "
            f"{variogram.h[worst]:.4g}: surrogates' mean {mean[worst]:.4g}, map "
            f"{target[worst]:.4g}). The map is probably smoother than the largest "
            "neighbourhood in 'deltas' can make a permuted map; try a smaller 'pv' or "
            "spin permutations.",
            NumericalAccuracyWarning,
            stacklevel=2,
        )
    return surrogates


# ----------------------------------------------------------------------------------------
# comparing maps
# ----------------------------------------------------------------------------------------


@dataclasses.dataclass
class MapComparisonResult:
    """Correlation between two region maps and its p-value, from :func:`compare_maps`.

    Attributes
    ----------
    r : float
        Pearson or Spearman correlation of the two maps.
    p : float
        p-value: from the null distribution when nulls were given, otherwise
        parametric (which ignores spatial autocorrelation).
    null : ndarray of shape (n_nulls,) or None
        Correlation of ``map_b`` with each null map of ``map_a``; None for the
        parametric test.
    n_nulls : int
        Number of null maps behind ``p`` (0 for the parametric test).
    method : str
        ``"pearson"`` or ``"spearman"``.
    alternative : str
        ``"two-sided"``, ``"greater"`` or ``"less"``.
    null_model : str
        ``"permutation"`` (index arrays such as spins), ``"surrogate"`` (surrogate
        maps) or ``"parametric"``.
    """

    r: float
    p: float
    null: np.ndarray | None = dataclasses.field(repr=False)  # n_nulls values
    n_nulls: int
    method: str
    alternative: str
    null_model: str


def _standardise_rows(values):
    """Rows centred and scaled to unit norm; constant rows become NaN."""
    centred = values - values.mean(axis=-1, keepdims=True)
    norm = np.sqrt(np.einsum("...i,...i->...", centred, centred))[..., None]
    scale = np.max(np.abs(values), axis=-1, keepdims=True)
    constant = norm <= 1e-12 * np.maximum(scale, 1e-300) * np.sqrt(values.shape[-1])
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(constant, np.nan, centred / np.where(constant, 1.0, norm))


def _check_map(name, values, n_regions=None):
    out = check_array(name, values, ndim=1)
    if n_regions is not None and out.size != n_regions:
        raise DataError(
            f"{name} must have one value per region of map_a, shape ({n_regions},); "
            f"got shape {out.shape}."
        )
    bad = np.isnan(out)
    if bad.any():
        raise DataError(
            f"{name} contains {int(bad.sum())} NaN value(s), the first at index "
            f"{int(np.flatnonzero(bad)[0])}; drop those regions (e.g. the medial wall) from "
            "both maps, and from the coordinates or distances used to make the nulls."
        )
    check_finite(name, out)
    return out


def _null_maps(nulls, map_a):
    """The null maps ``(n_nulls, n_regions)`` and the kind of null model."""
    n = map_a.size
    raw = np.asarray(nulls)
    if raw.dtype.kind == "b":
        raise DataError(
            "nulls must be integer region indices (e.g. from spin_permutations) or float "
            "surrogate maps; got a boolean array."
        )
    if raw.ndim != 2 or raw.shape[1] != n:
        hint = ""
        if raw.ndim == 2 and raw.shape[0] == n:
            hint = " Nulls stored as (n_regions, n_nulls) must be transposed (nulls.T)."
        raise DataError(
            f"nulls must have shape (n_nulls, {n}) (one row per null map of the {n} "
            f"regions); got shape {raw.shape}.{hint}"
        )
    if raw.shape[0] < 1:
        raise DataError(f"nulls must hold at least one null; got shape {raw.shape}.")
    if raw.dtype.kind in "iu":
        outside = (raw < 0) | (raw >= n)
        if outside.any():
            first = tuple(int(i) for i in np.argwhere(outside)[0])
            raise DataError(
                f"nulls holds region indices outside [0, {n - 1}]: {int(outside.sum())} "
                f"value(s), the first {int(raw[first])} at index {first}."
            )
        return map_a[raw], "permutation"
    surrogates = check_array("nulls", raw)
    bad = ~np.isfinite(surrogates)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"nulls (surrogate maps) contains {int(bad.sum())} NaN or infinite value(s), "
            f"the first at index {first}."
        )
    return surrogates, "surrogate"


def _parametric_p(r, n, alternative):
    """p-value of the t test of zero correlation with ``n - 2`` degrees of freedom."""
    df = n - 2
    if 1.0 - r * r <= 0.0:
        t = np.copysign(np.inf, r)
    else:
        t = r * np.sqrt(df / (1.0 - r * r))
    if alternative == "two-sided":
        return float(2.0 * stats.t.sf(abs(t), df))
    if alternative == "greater":
        return float(stats.t.sf(t, df))
    return float(stats.t.cdf(t, df))


def compare_maps(map_a, map_b, *, nulls=None, method="pearson", alternative="two-sided"):
    r"""Correlate two region maps, with a p-value from spatial null models.

    Parameters
    ----------
    map_a, map_b : array-like of shape (n_regions,)
        The two maps, regions in the same order. NaN is refused: drop regions
        without a value (e.g. the medial wall) from both maps, and from the
        coordinates or distances used to make ``nulls``.
    nulls : ndarray of shape (n_nulls, n_regions), optional
        Null versions of ``map_a``, either

        - integer region indices, such as the output of
          :func:`spin_permutations`: null ``k`` is ``map_a[nulls[k]]``; or
        - float surrogate maps, such as the output of
          :func:`variogram_surrogates` applied to ``map_a``.

        The dtype tells the two apart. If None, the p-value is parametric.
    method : {"pearson", "spearman"}, default="pearson"
        Correlation coefficient. Spearman ranks each null map anew.
    alternative : {"two-sided", "greater", "less"}, default="two-sided"
        Alternative hypothesis.

    Returns
    -------
    MapComparisonResult
        ``r``, ``p``, the ``null`` correlations, ``n_nulls``, ``method``,
        ``alternative`` and ``null_model``.

    Warns
    -----
    UndefinedScoreWarning
        If some null maps are constant (possible with ``"original"`` spins of
        very few regions); their correlation is undefined and they are left out.

    Notes
    -----
    With :math:`r_k` the correlation of ``map_b`` with null ``k`` of ``map_a``
    and :math:`N` the number of nulls,

    .. math::

        p_{two-sided} = \frac{1 + \#\{k : |r_k| \ge |r|\}}{1 + N},\quad
        p_{greater} = \frac{1 + \#\{k : r_k \ge r\}}{1 + N},\quad
        p_{less} = \frac{1 + \#\{k : r_k \le r\}}{1 + N},

    counting ties within a relative :math:`10^{-12}` as at least as extreme.

    Without ``nulls`` the p-value comes from the t distribution with
    ``n_regions - 2`` degrees of freedom, which assumes independent regions.
    Brain maps are spatially autocorrelated, so this p-value is far too small for
    smooth maps; use it only as a reference. Spin permutations or variogram
    surrogates keep the autocorrelation in the null maps.

    References
    ----------
    .. [1] Alexander-Bloch, A. F., Shou, H., Liu, S., Satterthwaite, T. D.,
       Glahn, D. C., Shinohara, R. T., Vandekar, S. N., & Raznahan, A. (2018).
       On testing for spatial correspondence between maps of human brain
       structure and function. NeuroImage, 178, 540-551.
    .. [2] Burt, J. B., Helmer, M., Shinn, M., Anticevic, A., & Murray, J. D.
       (2020). Generative modeling of brain maps with spatial autocorrelation.
       NeuroImage, 220, 117038.
    .. [3] Phipson, B., & Smyth, G. K. (2010). Permutation p-values should never
       be zero. Statistical Applications in Genetics and Molecular Biology, 9(1).

    Examples
    --------
    >>> import numpy as np
    >>> map_a = np.array([1.0, 2.0, 3.0, 4.0])
    >>> nulls = np.array([[0, 1, 2, 3], [3, 2, 1, 0], [1, 0, 3, 2]])
    >>> result = compare_maps(map_a, 2 * map_a, nulls=nulls)
    >>> round(result.r, 6), result.n_nulls, round(result.p, 6)
    (1.0, 3, 0.75)
    """
    a = _check_map("map_a", map_a)
    if a.size < 3:
        raise DataError(f"map_a must hold at least 3 regions; got {a.size}.")
    b = _check_map("map_b", map_b, n_regions=a.size)
    check_option("method", method, ("pearson", "spearman"))
    check_option("alternative", alternative, ALTERNATIVES)
    if method == "spearman":
        a_ranked, b_ranked = stats.rankdata(a), stats.rankdata(b)
    else:
        a_ranked, b_ranked = a, b
    za, zb = _standardise_rows(a_ranked), _standardise_rows(b_ranked)
    for name, z in (("map_a", za), ("map_b", zb)):
        if np.isnan(z).any():
            raise DataError(f"{name} is constant; its correlation is undefined.")
    r = float(np.clip(za @ zb, -1.0, 1.0))
    if nulls is None:
        return MapComparisonResult(
            r=r,
            p=_parametric_p(r, a.size, alternative),
            null=None,
            n_nulls=0,
            method=method,
            alternative=alternative,
            null_model="parametric",
        )
    null_maps, null_model = _null_maps(nulls, a)
    if method == "spearman":
        null_maps = stats.rankdata(null_maps, axis=1)
    null_r = np.clip(_standardise_rows(null_maps) @ zb, -1.0, 1.0)
    undefined = np.isnan(null_r)
    if undefined.any():
        warnings.warn(
            f"{int(undefined.sum())} of {null_r.size} null maps are constant; their "
            "correlation is undefined and they are left out of the p-value.",
            UndefinedScoreWarning,
            stacklevel=2,
        )
        null_r = null_r[~undefined]
    n_nulls = int(null_r.size)
    if n_nulls == 0:
        raise DataError("nulls holds no null map with a defined correlation.")
    return MapComparisonResult(
        r=r,
        # correlations are symmetric about 0 under the null hypothesis
        p=permutation_pvalue(r, null_r, alternative=alternative, center=0.0),
        null=null_r,
        n_nulls=n_nulls,
        method=method,
        alternative=alternative,
        null_model=null_model,
    )
