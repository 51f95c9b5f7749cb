"""Controllability Gramians and controllability metrics of every node.

All nodes come from one decomposition of ``A``: an eigendecomposition for
symmetric (undirected) systems, Lyapunov solves or Van Loan's block
exponential for directed ones.
"""

import numpy as np
import scipy.linalg

from brainctrl._utils.deprecation import require_system
from brainctrl._utils.validation import check_option, check_square
from brainctrl.control import _linalg
from brainctrl.control._linalg import SYSTEMS, check_horizon, decompose, is_symmetric
from brainctrl.control.systems import _input_matrix

__all__ = [
    "average_controllability",
    "average_energy",
    "controllability_gramian",
    "gramian_conditioning",
    "modal_controllability",
]


def controllability_gramian(A, B=None, *, horizon=1.0, system=None):
    r"""Compute the controllability Gramian over a finite or infinite horizon, computed exactly.

    Parameters
    ----------
    A : ndarray of shape (..., n_regions, n_regions)
        System matrix (see :func:`normalize_adjacency`); leading axes are a batch.
    B : ndarray of shape (n_regions, n_inputs), boolean mask or index list, optional
        Input matrix; ``None`` controls every region (``B = I``).
    horizon : float, default=1.0
        Time horizon ``T``; ``np.inf`` for the infinite-horizon Gramian of a
        stable system. In discrete time, a whole number of steps.
    system : {"continuous", "discrete"}
        Time system of ``A``.
        Required: calling without it is deprecated (it meant ``"continuous"``).

    Returns
    -------
    gramian : ndarray of shape (..., n_regions, n_regions)
        Symmetric positive semidefinite Gramian ``W_T``.

    Raises
    ------
    DataError
        If ``horizon`` is infinite and ``A`` is not stable.

    See Also
    --------
    average_controllability : Its trace with input at one node.
    gramian_conditioning : Its condition number over horizons and input weights.
    minimum_energy : Transition energies from it.

    Notes
    -----
    Continuous time: :math:`W_T = \int_0^T e^{At} B B^T e^{A^T t} dt`; discrete
    time: :math:`W_T = \sum_{k=0}^{T-1} A^k B B^T (A^T)^k` (the T-step
    reachability Gramian; nctpy's ``gramian`` sums ``k = 0..T``).

    For symmetric ``A = V \mathrm{diag}(\lambda) V^T``:
    :math:`W_T = V [(V^T B B^T V) \circ \Phi] V^T` with
    :math:`\Phi_{ij} = (e^{(\lambda_i + \lambda_j) T} - 1)/(\lambda_i + \lambda_j)`
    (``T`` when the sum is zero, computed with ``exprel`` so zero eigenvalues are
    exact) or :math:`\sum_{k<T} (\lambda_i \lambda_j)^k` in discrete time.
    For a general ``A``, Van Loan's block exponential
    :math:`\exp([[-A, BB^T], [0, A^T]] T)` (continuous), doubling of the sum
    (discrete) or a Lyapunov solve (infinite horizon).

    References
    ----------
    .. [1] Van Loan C. F. (1978). Computing integrals involving the matrix
       exponential. IEEE Transactions on Automatic Control 23, 395-404.

    Examples
    --------
    >>> import numpy as np
    >>> W = controllability_gramian(np.array([[-1.0]]), horizon=np.inf, system="continuous")
    >>> float(W[0, 0])
    0.5
    """
    system = require_system("controllability_gramian", system, "continuous")
    check_option("system", system, SYSTEMS)
    A = check_square("A", A)
    horizon = check_horizon(horizon, system)
    B = _input_matrix(B, A.shape[-1])
    eigenpairs = decompose(A)
    if eigenpairs is not None:
        eigenvalues, eigenvectors = eigenpairs
        return _linalg.gramian_symmetric(eigenvalues, eigenvectors, B, horizon, system)
    input_gram = np.eye(A.shape[-1]) if B is None else B @ B.T
    gram, _ = _linalg.general_gramian(A, input_gram, horizon, system)
    return gram


def average_energy(A, B=None, *, horizon=1.0, system=None):
    r"""Average minimum energy to reach the unit targets: ``trace(W_T^{-1})``.

    Parameters
    ----------
    A : ndarray of shape (..., n_regions, n_regions)
        System matrix (e.g. from :func:`normalize_adjacency`); leading axes are
        a batch.
    B : ndarray, boolean mask, index list or weights, optional
        Inputs, as in :func:`controllability_gramian`; ``None`` controls every
        region.
    horizon : float, default=1.0
        Control horizon (time steps in discrete time); ``np.inf`` for a stable
        system gives the infinite-horizon value (the Gramian solves a Lyapunov
        equation).
    system : {"continuous", "discrete"}
        Time system of ``A``.
        Required: calling without it is deprecated (it meant ``"continuous"``).

    Returns
    -------
    ndarray of shape (...)
        ``trace(W_T^{-1})``: the sum over the unit vectors ``e_i`` of the
        minimum energy to move from 0 to ``e_i`` in time ``T`` (``n`` times
        the mean over targets drawn uniformly on the unit sphere). ``inf``
        when the Gramian is numerically singular (an eigenvalue below
        ``n · eps`` times the largest, the rank cut of :func:`minimum_energy`):
        some direction cannot be reached.

    Notes
    -----
    Computed from the eigenvalues ``mu`` of the Gramian as ``sum(1 / mu)``,
    so its accuracy is that of the smallest eigenvalue (see
    :func:`gramian_conditioning`).

    References
    ----------
    .. [1] Pasqualetti F., Zampieri S., Bullo F. (2014). Controllability metrics,
       limitations and algorithms for complex networks. IEEE Transactions on
       Control of Network Systems 1, 40-52.
    .. [2] Karrer T. M. et al. (2020). A practical guide to methodological
       considerations in the controllability of structural brain networks.
       Journal of Neural Engineering 17, 026031.

    Examples
    --------
    >>> import numpy as np
    >>> float(average_energy(np.array([[-1.0]]), horizon=np.inf, system="continuous"))  # W = 1/2
    2.0
    """
    system = require_system("average_energy", system, "continuous")
    gram = controllability_gramian(A, B, horizon=horizon, system=system)
    eigenvalues = np.linalg.eigvalsh(0.5 * (gram + np.swapaxes(gram, -1, -2)))
    cut = gram.shape[-1] * np.finfo(float).eps * np.max(eigenvalues, axis=-1, keepdims=True)
    reachable = np.all(eigenvalues > np.maximum(cut, 0.0), axis=-1)
    with np.errstate(divide="ignore"):
        total = np.sum(1.0 / eigenvalues, axis=-1)
    return np.where(reachable, total, np.inf)


def average_controllability(A, *, system=None, horizon=None):
    r"""Average controllability of every node: the Gramian trace with input at that node alone.

    Parameters
    ----------
    A : ndarray of shape (..., n_regions, n_regions)
        System matrix normalised for ``system``; leading axes are a batch.
    system : {"continuous", "discrete"}
        Time system of ``A``.
        Required: calling without it is deprecated (it meant ``"discrete"``).
    horizon : float, optional
        Default: infinite in discrete time (Gu et al. 2015), ``1.0`` in
        continuous time (as nctpy). ``np.inf`` needs a stable ``A``.

    Returns
    -------
    average : ndarray of shape (..., n_regions)
        :math:`\mathrm{tr}\, W_T(B = e_i)` for each node ``i``.

    See Also
    --------
    modal_controllability : Controllability of the hard-to-reach modes.
    normalize_adjacency : Build ``A`` for the same ``system``.
    controllability_gramian : The Gramian whose trace this is.

    Notes
    -----
    ``tr W(e_i) = sum_k ||A^k e_i||^2`` (discrete) or
    ``int_0^T ||e^{At} e_i||^2 dt`` (continuous), i.e. the diagonal of the
    Gramian of ``A^T`` with ``B = I``. Symmetric ``A = V diag(lam) V^T``:
    :math:`\sum_j V_{ij}^2/(1-\lambda_j^2)` (discrete, infinite horizon),
    :math:`\sum_j V_{ij}^2 (1 - \lambda_j^{2T})/(1-\lambda_j^2)` (``T`` steps),
    :math:`\sum_j V_{ij}^2 (e^{2\lambda_j T} - 1)/(2\lambda_j)` (continuous).
    For symmetric ``A`` over an infinite discrete horizon this is
    ``diag((I - A^2)^{-1})``, computed by a Cholesky factorisation unless the
    eigendecomposition of ``A`` is already known (e.g. from
    :func:`normalize_adjacency`).
    Directed ``A``: ``diag(solve_discrete_lyapunov(A^T, I))``, the continuous
    Lyapunov equation, or Van Loan's block exponential for a finite horizon.

    References
    ----------
    .. [1] Gu S. et al. (2015). Controllability of structural brain networks.
       Nature Communications 6, 8414.

    Examples
    --------
    >>> import numpy as np
    >>> average_controllability(np.diag([0.5, 0.0]), system="discrete")
    array([1.33333333, 1.        ])
    """
    system = require_system("average_controllability", system, "discrete")
    check_option("system", system, SYSTEMS)
    A = check_square("A", A)
    if horizon is None:
        horizon = np.inf if system == "discrete" else 1.0
    horizon = check_horizon(horizon, system)
    cached = _linalg.EIG_CACHE.get(A)
    if cached is None and system == "discrete" and np.isinf(horizon) and is_symmetric(A):
        return _diagonal_of_inverse_resolvent(A)
    eigenpairs = cached if cached is not None else decompose(A)
    if eigenpairs is not None:
        eigenvalues, eigenvectors = eigenpairs
        if np.isinf(horizon):
            _linalg.check_stable(eigenvalues, system)
        if system == "continuous":
            weights = _linalg.phi_continuous(2.0 * eigenvalues, horizon)
        else:
            weights = _linalg.psi_discrete(eigenvalues * eigenvalues, horizon)
        return ((eigenvectors * eigenvectors) @ weights[..., None])[..., 0]
    transposed = np.swapaxes(A, -1, -2)
    gram, _ = _linalg.general_gramian(transposed, np.eye(A.shape[-1]), horizon, system)
    return np.diagonal(gram, axis1=-2, axis2=-1).copy()


def modal_controllability(A, *, schur="real"):
    r"""Modal controllability of every node of a discrete-time system.

    Parameters
    ----------
    A : ndarray of shape (..., n_regions, n_regions)
        System matrix normalised for discrete time; leading axes are a batch.
    schur : {"real", "complex"}, default="real"
        Schur form used for a directed (non-symmetric) ``A``; ignored for a
        symmetric one, where both equal the eigendecomposition. ``"real"`` is
        what the code of Gu et al. (2015) and nctpy use.

    Returns
    -------
    modal : ndarray of shape (..., n_regions)
        :math:`\phi_i = \sum_j |U_{ij}|^2 (1 - |t_j|^2)`.

    See Also
    --------
    average_controllability : Gramian trace with input at each node.
    normalize_adjacency : Build a discrete-time ``A``.

    Notes
    -----
    Symmetric ``A``: ``U`` and ``t`` are the eigenvectors and eigenvalues (Gu
    et al. 2015); then :math:`\phi_i = (I - A^2)_{ii} = 1 - \sum_k A_{ik}^2`,
    which is computed directly, without a decomposition. Directed ``A``: ``U``
    is the orthogonal (unitary) factor and ``t`` the diagonal of the real
    (complex) Schur form ``A = U T U^H`` as LAPACK orders it. With
    ``schur="real"`` (as Gu et al.'s MATLAB code and nctpy's ``modal_control``)
    a pair of complex eigenvalues sits in a 2 x 2 block whose diagonal entries
    are not eigenvalues; ``schur="complex"`` uses the eigenvalue moduli, and
    for a normal ``A`` gives the eigendecomposition. Both agree when every
    eigenvalue is real and LAPACK orders them alike. The value of a non-normal
    ``A`` depends on the Schur ordering (and so on node order), as does every
    Schur-based definition; prefer symmetric systems for modal controllability.

    References
    ----------
    .. [1] Gu S. et al. (2015). Controllability of structural brain networks.
       Nature Communications 6, 8414.
    .. [2] Pasqualetti F., Zampieri S., Bullo F. (2014). Controllability
       metrics, limitations and algorithms for complex networks. IEEE
       Transactions on Control of Network Systems 1, 40-52.

    Examples
    --------
    >>> import numpy as np
    >>> modal_controllability(np.diag([0.5, 0.0]))
    array([0.75, 1.  ])
    """
    check_option("schur", schur, ("real", "complex"))
    A = check_square("A", A)
    if is_symmetric(A):
        # sum_j V_ij^2 (1 - lam_j^2) = (I - A^2)_ii = 1 - sum_k A_ik^2
        values = 1.0 - np.sum(A * A, axis=-1)
        if np.any(values <= 0):
            # a row of norm >= 1 means a spectral radius >= 1: not a stable discrete
            # system (e.g. one normalised for continuous time); say what to pass
            n = A.shape[-1]
            bad = A.reshape(-1, n, n)[np.flatnonzero(np.any(values.reshape(-1, n) <= 0, -1))[0]]
            _linalg.check_stable(np.linalg.eigvalsh(bad), "discrete")
        return values
    n = A.shape[-1]
    stack = A.reshape(-1, n, n)
    out = np.empty(stack.shape[:-1])
    for index in range(stack.shape[0]):  # one Schur form per batch element
        triangular, unitary = scipy.linalg.schur(stack[index], output=schur)
        out[index] = (np.abs(unitary) ** 2) @ (1.0 - np.abs(np.diag(triangular)) ** 2)
    return out.reshape(A.shape[:-1])


def _diagonal_of_inverse_resolvent(A):
    """``diag((I - A^2)^-1)`` of symmetric stable ``A`` by Cholesky (no eigendecomposition).

    For symmetric ``A = V diag(lam) V^T``, ``(I - A^2)^-1 = V diag(1/(1 - lam^2)) V^T``,
    whose diagonal is the discrete average controllability.
    """
    n = A.shape[-1]
    stack = A.reshape(-1, n, n)
    out = np.empty(stack.shape[:-1])
    identity = np.eye(n)
    for index in range(stack.shape[0]):  # one factorisation per batch element
        resolvent = identity - stack[index] @ stack[index]
        try:
            factor = scipy.linalg.cholesky(resolvent, lower=True, check_finite=False)
        except np.linalg.LinAlgError:
            eigenvalues, eigenvectors = np.linalg.eigh(stack[index])
            _linalg.check_stable(eigenvalues, "discrete")
            # stable but (I - A^2) lost definiteness to rounding: use the eigen form
            out[index] = (eigenvectors * eigenvectors) @ (1.0 / (1.0 - eigenvalues**2))
            continue
        inverse, _ = scipy.linalg.lapack.dtrtri(factor, lower=1)
        out[index] = np.sum(inverse * inverse, axis=0)
    return out.reshape(A.shape[:-1])


def gramian_conditioning(A, control=None, *, horizons=(1.0,), epsilons=(0.0,), system=None):
    """Condition number and rank of the Gramian over a grid of horizons and input weights.

    The tool to pick a horizon and a mixed control set's ``epsilon`` by the
    conditioning they give, before computing any energy: a condition number
    above ~1e10 leaves energies with few correct digits, and ``inf`` (an
    eigenvalue zero or negative) means part of most targets cannot be reached.

    Parameters
    ----------
    A : ndarray of shape (..., n_regions, n_regions)
        System matrix; with leading axes (e.g. several runs), the worst
        (largest) condition number and the smallest rank over them are given.
    control : ndarray of bool, shape (n_regions,), optional
        The chosen regions (full weight); None controls every region.
    horizons : sequence of float, default=(1.0,)
        Horizons ``T`` to try.
    epsilons : sequence of float, default=(0.0,)
        Weights of the other regions' inputs (``0``: the chosen regions alone;
        see :func:`mixed_control_set`).
    system : {"continuous", "discrete"}
        Required: calling without it is deprecated (it meant ``"continuous"``).

    Returns
    -------
    pandas.DataFrame
        One row per horizon and epsilon: ``horizon``, ``epsilon``,
        ``condition_number`` (largest over smallest eigenvalue, ``inf`` when
        one is zero or negative, as :class:`EnergyResult` reports it) and
        ``rank`` (eigenvalues above ``n_regions * eps * largest``).

    Examples
    --------
    >>> import numpy as np
    >>> A = -np.eye(2) + 0.5 * np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> table = gramian_conditioning(
    ...     A, np.array([True, False]), epsilons=[0.0, 1.0], system="continuous"
    ... )
    >>> table["rank"].tolist()
    [2, 2]
    """
    system = require_system("gramian_conditioning", system, "continuous")
    import pandas as pd

    from brainctrl._utils.validation import check_positive
    from brainctrl.exceptions import InvalidParameterError

    A = check_square("A", A)
    n = A.shape[-1]
    mask = np.ones(n, dtype=bool) if control is None else np.asarray(control)
    if mask.dtype != bool:
        raise InvalidParameterError(
            "'control' must be a boolean mask of the chosen regions (the weights of the "
            f"others come from 'epsilons'); got dtype {mask.dtype}."
        )
    if mask.shape != (n,):
        raise InvalidParameterError(
            f"'control' must be a boolean mask of shape ({n},); got shape {mask.shape}."
        )
    rows = []
    for horizon in horizons:
        check_positive("horizon", horizon)
        for epsilon in epsilons:
            if not 0 <= epsilon <= 1:
                raise InvalidParameterError(f"'epsilons' must lie in [0, 1]; got {epsilon!r}.")
            weights = np.where(mask, 1.0, float(epsilon))
            gram = controllability_gramian(A, weights, horizon=horizon, system=system)
            eigenvalues = np.linalg.eigvalsh(gram)
            largest, smallest = eigenvalues[..., -1], eigenvalues[..., 0]
            with np.errstate(divide="ignore", invalid="ignore"):
                condition = np.where(smallest > 0, largest / smallest, np.inf)
            rank = (eigenvalues > n * np.finfo(float).eps * largest[..., None]).sum(axis=-1)
            rows.append(
                {
                    "horizon": float(horizon),
                    "epsilon": float(epsilon),
                    "condition_number": float(np.max(condition)),
                    "rank": int(np.min(rank)),
                }
            )
    return pd.DataFrame(rows)
