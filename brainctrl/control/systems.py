"""System matrices and input matrices for network control.

Turn a structural or functional connectivity matrix into the system matrix
``A`` of the linear dynamics ``dx/dt = A x + B u`` (continuous time) or
``x[t+1] = A x[t] + B u[t]`` (discrete time), and choose the controlled
regions (the input matrix ``B``).
"""

import numbers
import warnings

import numpy as np
import pandas as pd

from brainctrl._utils.deprecation import require_system
from brainctrl._utils.validation import check_array, check_option, check_positive, check_square
from brainctrl.connectivity.threshold import correlation_pvalues
from brainctrl.control._linalg import EIG_CACHE, SYSTEMS, decompose, is_symmetric, symmetric_eigh
from brainctrl.exceptions import DataError, DiagonalWarning, InvalidParameterError

__all__ = [
    "control_set",
    "fc_to_system",
    "fc_pvalues",
    "mixed_control_set",
    "normalize_adjacency",
    "random_control_sets",
]


def normalize_adjacency(adjacency, *, system=None, c=1.0, method="spectral", radius=None):
    r"""Scale an adjacency matrix into a stable system matrix.

    Parameters
    ----------
    adjacency : ndarray of shape (..., n_regions, n_regions)
        Connectivity (structural or functional); ``adjacency[..., i, j]`` is the
        influence of region ``j`` on region ``i``. Leading axes are a batch
        (subjects, windows); every matrix is scaled by its own radius.
    system : {"continuous", "discrete"}
        Time system the result is meant for.
        Required: calling without it is deprecated (it meant ``"continuous"``).
    c : float, default=1.0
        Normalisation constant, ``c >= 0``. With ``c > 0`` the result is
        stable (spectral method).
    method : {"spectral", "singular"}, default="spectral"
        ``rho`` is the spectral radius (largest absolute eigenvalue, as in
        nctpy) or the largest singular value (as in the MATLAB code of Gu et al.
        2015). Both agree for symmetric matrices.
    radius : None, float or "shared", default=None
        ``rho`` to use instead of each matrix's own: a number (e.g. the
        largest radius of a cohort, computed once), or ``"shared"`` for the
        largest radius of the matrices given. A constant shared by all
        subjects keeps their scale comparable (the system of a strongly
        connected subject is then not shrunk more than the others').

    Returns
    -------
    system_matrix : ndarray of shape (..., n_regions, n_regions)
        ``adjacency / (c + rho)`` (discrete) or ``adjacency / (c + rho) - I``
        (continuous).

    Warns
    -----
    DiagonalWarning
        If ``adjacency`` has a non-zero diagonal: it is kept, as self-loops
        (nctpy does the same), but functional connectivity's unit diagonal is
        rarely meant as one.

    See Also
    --------
    fc_to_system : A system matrix from functional connectivity.
    average_controllability, modal_controllability : Metrics of the result.
    minimum_energy : Transition energies of the result.

    Notes
    -----
    Discrete time: :math:`A = W / (c + \rho)`, so every eigenvalue of ``A`` has
    modulus below 1 when ``c > 0``. Continuous time:
    :math:`A = W / (c + \rho) - I`, so every eigenvalue has a negative real part.
    For symmetric input the eigendecomposition is kept (in a small cache keyed by
    content), so the controllability metrics of the result reuse it.

    References
    ----------
    .. [1] Gu S. et al. (2015). Controllability of structural brain networks.
       Nature Communications 6, 8414.
    .. [2] Karrer T. M. et al. (2020). A practical guide to methodological
       considerations in the controllability of structural brain networks.
       Journal of Neural Engineering 17, 026031.

    Examples
    --------
    >>> import numpy as np
    >>> normalize_adjacency(np.array([[0.0, 1.0], [1.0, 0.0]]), system="discrete")
    array([[0. , 0.5],
           [0.5, 0. ]])
    """
    system = require_system("normalize_adjacency", system, "continuous")
    check_option("system", system, SYSTEMS)
    check_option("method", method, ("spectral", "singular"))
    check_positive("c", c, strict=False)
    radius_given = radius
    adjacency = check_square("adjacency", adjacency)
    n = adjacency.shape[-1]
    diagonal = np.abs(np.diagonal(adjacency, axis1=-2, axis2=-1))
    # rounding (e.g. FC - I leaves 1e-16) is not a self-loop
    if diagonal.size and diagonal.max() > 1e-12 * np.abs(adjacency).max():
        unit = bool(np.allclose(diagonal, 1.0))
        warnings.warn(
            f"adjacency has a non-zero diagonal (largest |value| {diagonal.max():.3g}"
            + ("; all ones, as functional connectivity has" if unit else "")
            + "): normalize_adjacency keeps it as self-connections. Zero it first "
            "(np.fill_diagonal(W, 0), or W - np.diag(np.diag(W))) unless self-loops "
            "are meant.",
            DiagonalWarning,
            stacklevel=2,
        )
    eigenpairs = decompose(adjacency)
    if eigenpairs is not None:
        radius = np.max(np.abs(eigenpairs[0]), axis=-1)
    elif method == "spectral":
        radius = np.max(np.abs(np.linalg.eigvals(adjacency)), axis=-1)
    else:
        radius = np.linalg.norm(adjacency, ord=2, axis=(-2, -1))
    if isinstance(radius_given, str):
        if radius_given != "shared":
            raise InvalidParameterError(
                f"'radius' must be None, a number or 'shared'; got {radius_given!r}."
            )
        radius = np.full(radius.shape, float(np.max(radius, initial=0.0)))
    elif radius_given is not None:
        largest = float(np.max(radius, initial=0.0))
        radius = np.full(radius.shape, float(check_positive("radius", radius_given)))
        if radius.size and float(radius.flat[0]) < largest * (1 - 1e-12):
            warnings.warn(
                f"radius={float(radius.flat[0]):.6g} is below the largest radius of the "
                f"matrices given ({largest:.6g}): with c={c!r} the result may be unstable.",
                UserWarning,
                stacklevel=2,
            )
    with np.errstate(divide="ignore"):
        scale = 1.0 / (c + radius)
    if not np.all(np.isfinite(scale)):
        raise InvalidParameterError(
            "'c' + radius must be > 0; got c=0 with an all-zero adjacency matrix."
        )
    out = adjacency * scale[..., None, None]
    shift = 1.0 if system == "continuous" else 0.0
    if shift:
        out = out - np.eye(n)
    if eigenpairs is not None:
        # A = V diag(lam / (c + rho) - shift) V^T
        EIG_CACHE.put(out, eigenpairs[0] * scale[..., None] - shift, eigenpairs[1])
    return out


def fc_pvalues(correlation, n_samples):
    """Two-sided p-values of Pearson correlations (t test with ``n - 2`` dof).

    Parameters
    ----------
    correlation : ndarray of shape (..., n_regions, n_regions)
        Pearson correlation coefficients.
    n_samples : int
        Number of time points each correlation was computed from (``> 2``).

    Returns
    -------
    pvalues : ndarray of shape (..., n_regions, n_regions)
        ``2 * sf(|t|, n - 2)`` with ``t = r sqrt((n - 2) / (1 - r^2))``, as
        :func:`brainctrl.connectivity.correlation_pvalues` computes it.

    Examples
    --------
    >>> float(fc_pvalues(np.array(0.0), 10))
    1.0
    """
    check_positive("n_samples", n_samples, integer=True)
    if n_samples <= 2:
        raise InvalidParameterError(f"'n_samples' must be > 2; got {n_samples!r}.")
    return correlation_pvalues(check_array("correlation", correlation), n_samples)


def fc_to_system(
    fc,
    *,
    kind="normalize",
    system=None,
    c=1.0,
    pvalues=None,
    n_samples=None,
    alpha=0.05,
):
    r"""Build a system matrix from functional connectivity.

    Parameters
    ----------
    fc : ndarray of shape (..., n_regions, n_regions)
        Symmetric functional connectivity (Pearson r, no Fisher z).
    kind : {"normalize", "signed_laplacian"}, default="normalize"
        ``"signed_laplacian"``: ``A = -L / max|lambda(L)|`` with the signed
        Laplacian ``L = D_|w| - W`` (Deng et al. 2022; continuous time only).
        ``"normalize"``: :func:`normalize_adjacency` of the (thresholded) FC.
    system : {"continuous", "discrete"}
        Time system (``kind="normalize"`` only).
        Required with ``kind="normalize"``: calling without it is deprecated (it
        meant ``"continuous"``).
    c : float, default=1.0
        Normalisation constant (``kind="normalize"`` only).
    pvalues : ndarray of shape (..., n_regions, n_regions), optional
        p-value of each entry; entries with ``p > alpha`` are set to 0.
    n_samples : int, optional
        If given (and ``pvalues`` is not), p-values come from
        :func:`fc_pvalues` with this many time points.
    alpha : float, default=0.05
        Significance level (uncorrected) of the edge threshold.

    Returns
    -------
    system_matrix : ndarray of shape (..., n_regions, n_regions)
        For the signed Laplacian, a symmetric matrix with eigenvalues in
        ``[-1, 0]``.

    Notes
    -----
    The diagonal of the FC is set to zero before anything else. The signed
    Laplacian uses absolute degrees, :math:`L = \mathrm{diag}(\sum_j |W_{ij}|) - W`,
    which is diagonally dominant, hence positive semidefinite; dividing by its
    largest eigenvalue puts the eigenvalues of ``A = -L / \lambda_{max}`` in
    ``[-1, 0]``. A zero eigenvalue makes ``A`` only marginally stable, so use a
    finite horizon with this construction.

    References
    ----------
    .. [1] Deng S., Li J., Thomas Yeo B. T., Gu S. (2022). Control theory
       illustrates the energy efficiency in the dynamic reconfiguration of
       functional connectivity. Communications Biology 5, 295.

    Examples
    --------
    >>> fc_to_system(np.array([[1.0, 0.5], [0.5, 1.0]]), kind="signed_laplacian")
    array([[-0.5,  0.5],
           [ 0.5, -0.5]])
    """
    check_option("kind", kind, ("normalize", "signed_laplacian"))
    if kind == "signed_laplacian" and system is None:
        system = "continuous"  # the only system of the Laplacian route
    system = require_system("fc_to_system", system, "continuous")
    fc = check_square("fc", fc)
    if not is_symmetric(fc, tol=1e-10):
        raise DataError("fc must be symmetric; got an asymmetric matrix.")
    check_positive("alpha", alpha)
    weights = np.array(fc, dtype=float, copy=True)
    if pvalues is None and n_samples is not None:
        pvalues = fc_pvalues(weights, n_samples)
    if pvalues is not None:
        pvalues = check_array("pvalues", pvalues)
        if pvalues.shape != weights.shape:
            raise DataError(
                f"pvalues must have the shape of fc {weights.shape}; got {pvalues.shape}."
            )
        weights[pvalues > alpha] = 0.0
    n = weights.shape[-1]
    diagonal = np.arange(n)
    weights[..., diagonal, diagonal] = 0.0
    if kind == "normalize":
        return normalize_adjacency(weights, system=system, c=c)
    laplacian = -weights
    laplacian[..., diagonal, diagonal] = np.abs(weights).sum(axis=-1)
    eigenvalues, eigenvectors = symmetric_eigh(laplacian)
    largest = np.max(np.abs(eigenvalues), axis=-1)
    if np.any(largest == 0):
        raise DataError("fc has no non-zero edge left after thresholding; A is undefined.")
    out = -laplacian / largest[..., None, None]
    EIG_CACHE.put(out, -eigenvalues / largest[..., None], eigenvectors)
    return out


def _input_matrix(control, n_regions, *, name="B"):
    """Turn ``None``, a matrix, a boolean mask or an index list into ``(n_regions, n_inputs)``.

    Returns ``None`` for ``control=None`` and for every other way of saying
    ``B = I`` (the identity matrix, an all-True mask, every index, unit
    weights): all regions controlled, which the kernels treat without forming
    the identity (the fast path).
    """
    if control is None:
        return None
    array = np.asarray(control)
    if array.ndim == 2:
        matrix = check_array(name, array)
        if matrix.shape[0] != n_regions:
            raise DataError(
                f"{name} must have {n_regions} rows (one per region); got shape {matrix.shape}."
            )
        if matrix.shape[1] == 0:
            raise DataError(f"{name} has no input column; got shape {matrix.shape}.")
        if matrix.shape == (n_regions, n_regions) and np.array_equal(matrix, np.eye(n_regions)):
            return None
        return matrix
    if array.ndim != 1:
        raise DataError(
            f"{name} must be an (n_regions, n_inputs) matrix, a boolean mask or a list of "
            f"indices; got shape {array.shape}."
        )
    if np.issubdtype(array.dtype, np.floating):
        # one input per region with that weight (e.g. a mixed control set)
        weights = check_array(name, array)
        if weights.shape[0] != n_regions:
            raise DataError(
                f"{name} as input weights must have {n_regions} entries (one per region); got "
                f"{weights.shape[0]}."
            )
        if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not np.any(weights > 0):
            raise DataError(
                f"{name} as input weights must be finite, >= 0 and not all 0; got "
                f"min {float(weights.min())!r}, max {float(weights.max())!r}."
            )
        return None if np.all(weights == 1.0) else np.diag(weights)
    if array.dtype == bool:
        if array.shape[0] != n_regions:
            raise DataError(
                f"{name} as a boolean mask must have {n_regions} entries; got {array.shape[0]}."
            )
        indices = np.flatnonzero(array)
    elif array.size == 0 or np.issubdtype(array.dtype, np.integer):
        indices = array.astype(int)
        bad = (indices < -n_regions) | (indices >= n_regions)
        if bad.any():
            raise DataError(
                f"{name} indices must lie in [-{n_regions}, {n_regions}) (negative ones count "
                f"from the end, as in numpy); got {indices[bad].tolist()}."
            )
        indices = np.unique(indices % n_regions)
    else:
        raise DataError(
            f"{name} as a 1-D array must be a boolean mask, integer indices or float weights; "
            f"got dtype {array.dtype}."
        )
    if indices.size == 0:
        raise DataError(f"{name} selects no region; at least one region must be controlled.")
    if indices.size == n_regions:  # unique and in range: every region
        return None
    matrix = np.zeros((n_regions, indices.size))
    matrix[indices, np.arange(indices.size)] = 1.0
    return matrix


def control_set(regions=None, network="Default", *, n_regions=None):
    """Boolean mask of controlled regions, from a region table, names or indices.

    Parameters
    ----------
    regions : pandas.DataFrame, optional
        Region table with columns ``name`` and ``network`` (e.g. Yeo-7 labels
        ``"Default"``, ``"Vis"``), in the column order of the time series.
    network : str, sequence of str, or sequence of int, default="Default"
        What to control: a network label (all its regions); a list whose
        entries are network labels or region names (matched exactly, network
        labels first); or integer region indices. Matching is case-sensitive.
    n_regions : int, optional
        Number of regions when ``regions`` is not given (indices only).

    Returns
    -------
    mask : ndarray of bool, shape (n_regions,)
        True for controlled regions. Every control function accepts it as
        ``B`` (it becomes the columns of the identity for those regions); use
        ``np.eye(n)[:, mask]`` for the explicit ``(n_regions, n_inputs)`` matrix.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"name": ["a", "b", "c"], "network": ["Vis", "Default", "Default"]})
    >>> control_set(table, "Default")
    array([False,  True,  True])
    >>> control_set(n_regions=4, network=[0, 3])
    array([ True, False, False,  True])
    """
    if regions is None:
        if n_regions is None:
            raise InvalidParameterError(
                "'n_regions' is required when 'regions' is not given; got None."
            )
        check_positive("n_regions", n_regions, integer=True)
        names = networks = None
        total = int(n_regions)
    else:
        if not isinstance(regions, pd.DataFrame):
            raise InvalidParameterError(
                f"'regions' must be a pandas DataFrame; got {type(regions).__name__}."
            )
        missing = [column for column in ("name", "network") if column not in regions.columns]
        if missing:
            raise DataError(
                f"regions must have columns 'name' and 'network'; missing {missing} "
                f"(columns: {list(regions.columns)})."
            )
        names = regions["name"].astype(str).to_numpy()
        networks = regions["network"].astype(str).to_numpy()
        total = len(regions)
        if n_regions is not None and n_regions != total:
            raise DataError(f"regions has {total} rows but 'n_regions' is {n_regions!r}.")
    mask = np.zeros(total, dtype=bool)
    items = [network] if isinstance(network, (str, numbers.Integral)) else list(network)
    if not items:
        raise InvalidParameterError("'network' selects nothing; got an empty sequence.")
    for item in items:
        if isinstance(item, (numbers.Integral, np.integer)) and not isinstance(item, bool):
            if not -total <= item < total:
                raise InvalidParameterError(
                    f"'network' index {item!r} is out of range for {total} regions (indices "
                    f"lie in [-{total}, {total}); negative ones count from the end, as in "
                    "numpy)."
                )
            mask[item] = True
        elif isinstance(item, str):
            if networks is None:
                raise InvalidParameterError(
                    f"'network' names ({item!r}) need a 'regions' table; got regions=None."
                )
            hit = networks == item
            if not hit.any():
                hit = names == item
            if not hit.any():
                known = sorted(set(networks.tolist()))
                raise InvalidParameterError(
                    f"'network' entry {item!r} is neither a network label {known} nor a region "
                    "name in the regions table."
                )
            mask |= hit
        else:
            raise InvalidParameterError(
                f"'network' entries must be str or int; got {item!r} of type "
                f"{type(item).__name__}."
            )
    return mask


def mixed_control_set(regions=None, network="Default", *, epsilon, n_regions=None):
    """Input weights: full on the chosen regions, a small ``epsilon`` on all others.

    A control set of a few regions (e.g. the Default network, ~20 % of a
    parcellation) leaves the controllability Gramian numerically singular:
    part of most targets cannot be reached and energies are artefacts of
    rounding. Giving every other region a small input makes the system
    controllable, the practice network-control tutorials recommend [1]_ [2]_.
    The weak inputs can still carry most of the energy (the chosen regions
    had 1-10 % of it on functional networks of 100 regions with
    ``epsilon`` ~1e-4), and energies scale roughly as ``1/epsilon**2`` with
    them: read ``result.node_energy`` (one entry per region) for the split,
    and check that a conclusion holds over several ``epsilon``.

    Parameters
    ----------
    regions, network, n_regions
        As for :func:`control_set`; ``network`` may also be a boolean mask of
        shape ``(n_regions,)`` (e.g. a row of :func:`random_control_sets`).
    epsilon : float
        Weight of the other regions' inputs, in (0, 1]. Pick it by the
        conditioning it gives (:func:`gramian_conditioning`).

    Returns
    -------
    weights : ndarray of float, shape (n_regions,)
        1 on the chosen regions, ``epsilon`` elsewhere; every energy function
        accepts it as ``B`` (``B = diag(weights)``).

    See Also
    --------
    control_set : The chosen regions alone.
    gramian_conditioning : Pick ``epsilon`` by the conditioning it gives.
    random_control_sets : Baseline sets of the same size.

    References
    ----------
    .. [1] Karrer T. M., Kim J. Z., Stiso J., et al. (2020). A practical guide to
       methodological considerations in the controllability of structural
       brain networks. J Neural Eng 17, 026031.
    .. [2] Parkes L., Kim J. Z., Stiso J., et al. (2024). A network control theory
       pipeline for studying the dynamics of the structural connectome.
       Nature Protocols 19, 3721-3749.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"name": ["a", "b", "c"], "network": ["Vis", "Default", "Default"]})
    >>> mixed_control_set(table, "Default", epsilon=0.01)
    array([0.01, 1.  , 1.  ])
    """
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not 0 < epsilon <= 1:
        raise InvalidParameterError(f"'epsilon' must be a number in (0, 1]; got {epsilon!r}.")
    if isinstance(network, np.ndarray) and network.dtype == bool:
        mask = network
        total = len(regions) if regions is not None else n_regions
        if total is not None and mask.shape != (total,):
            raise DataError(
                f"'network' as a boolean mask must have shape ({total},); got {mask.shape}."
            )
    else:
        mask = control_set(regions, network, n_regions=n_regions)
    return np.where(mask, 1.0, float(epsilon))


def random_control_sets(n_regions, size, *, n_sets, exclude=None, random_state=None):
    """Random control sets of a given size: the baseline a chosen set is compared with.

    Parameters
    ----------
    n_regions : int
        Number of regions.
    size : int
        Regions per set (e.g. the size of the chosen network).
    n_sets : int
        Number of sets.
    exclude : ndarray of bool, shape (n_regions,), optional
        Regions never drawn (e.g. the chosen network itself).
    random_state : None, int or numpy.random.Generator
        Seed.

    Returns
    -------
    masks : ndarray of bool, shape (n_sets, n_regions)
        One control set per row, each with ``size`` regions drawn uniformly
        without replacement.

    Examples
    --------
    >>> random_control_sets(6, 2, n_sets=3, random_state=0).sum(axis=1)
    array([2, 2, 2])
    """
    from brainctrl._utils.validation import check_random_state

    check_positive("n_regions", n_regions, integer=True)
    check_positive("size", size, integer=True)
    check_positive("n_sets", n_sets, integer=True)
    allowed = np.ones(n_regions, dtype=bool)
    if exclude is not None:
        exclude = np.asarray(exclude, dtype=bool)
        if exclude.shape != (n_regions,):
            raise DataError(
                f"exclude must be a boolean mask of shape ({n_regions},); got {exclude.shape}."
            )
        allowed &= ~exclude
    candidates = np.flatnonzero(allowed)
    if size > candidates.size:
        raise InvalidParameterError(
            f"'size' is {size}, more than the {candidates.size} regions that may be drawn."
        )
    rng = check_random_state(random_state)
    masks = np.zeros((n_sets, n_regions), dtype=bool)
    for row in masks:
        row[rng.choice(candidates, size, replace=False)] = True
    return masks
