"""Optimal control with a penalty on the state trajectory (the nctpy protocol)."""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.integrate
import scipy.linalg

from brainctrl._utils.deprecation import require_system
from brainctrl._utils.validation import check_array, check_option, check_positive, check_square
from brainctrl.control._linalg import SYSTEMS, check_horizon, decompose
from brainctrl.control.energy import _states, _to_pairs
from brainctrl.control.systems import _input_matrix
from brainctrl.exceptions import DataError, InvalidParameterError, NumericalAccuracyWarning

__all__ = ["OptimalControlResult", "optimal_control"]

#: Relative error above which the solution is flagged.
ERROR_TOLERANCE = 1e-8
#: Default number of time steps of a continuous-time trajectory.
DEFAULT_STEPS = 1000


@dataclass(eq=False)
class OptimalControlResult:
    """Inputs, trajectory and cost of an optimal transition.

    Attributes
    ----------
    time : ndarray of shape (n_time,)
        Continuous time: the grid ``0, T / n_steps, ..., T`` (``n_time =
        n_steps + 1``). Discrete time: the step indices ``0, 1, ..., T``
        (``n_time = T + 1``).
    inputs : ndarray of shape (..., n_time, n_inputs) or (..., T, n_inputs)
        Optimal inputs: ``u(t)`` on the time grid (continuous), or
        ``u_0, ..., u_{T-1}`` (discrete; there is no input at step ``T``).
    trajectory : ndarray of shape (..., n_time, n_regions)
        State ``x(t)`` or ``x_0, ..., x_T``; ``trajectory[..., 0, :] == x0``.
    energy : ndarray of shape (...)
        Input energy: ``integral ||u||^2 dt`` (Simpson's rule on the time
        grid) or ``sum_{t=0}^{T-1} ||u_t||^2``. No factor 1/2 and no ``rho``.
    state_cost : ndarray of shape (...)
        ``integral (x - x_r)^T S (x - x_r) dt`` (Simpson's rule) or
        ``sum_{t=0}^{T-1} (x_t - x_r)^T S (x_t - x_r)``.
    inversion_error : ndarray of shape (...)
        Relative residual of the linear solve that imposes ``x(T) = x_f``
        (for the initial costate in continuous time, for the multiplier of the
        terminal constraint in discrete time).
    terminal_error : ndarray of shape (...)
        ``||x(T) - x_f||`` of the returned trajectory, relative to
        ``max(||x0||, ||xf||)``.
    condition_number : ndarray of shape (batch of A) or float
        Condition number of the matrix of that solve (2-norm): ``e^{HT}[:n, n:]``
        in continuous time, the closed-loop Gramian ``G`` in discrete time
        (``inf`` if singular). One per system matrix.
    """

    time: np.ndarray
    inputs: np.ndarray
    trajectory: np.ndarray
    energy: np.ndarray
    state_cost: np.ndarray
    inversion_error: np.ndarray
    terminal_error: np.ndarray
    condition_number: np.ndarray


def _relative(norm, scale):
    scale = np.where(scale > 0, scale, 1.0)
    return norm / scale


def optimal_control(
    A,
    x0,
    xf,
    B=None,
    *,
    horizon=1.0,
    rho=1.0,
    S=None,
    reference=None,
    n_steps=None,
    system=None,
    on_error="warn",
):
    r"""Find the inputs that reach ``xf`` while penalising input energy and the state trajectory.

    Parameters
    ----------
    A : ndarray of shape (..., n_regions, n_regions)
        System matrix (see :func:`normalize_adjacency`, normalised for the same
        ``system``); leading axes are a batch.
    x0, xf : ndarray of shape (..., n_regions)
        Initial and target states (broadcast as in :func:`minimum_energy`).
    B : ndarray of shape (n_regions, n_inputs), boolean mask or index list, optional
        Input matrix; ``None`` controls every region.
    horizon : float or int, default=1.0
        Time horizon ``T``. In discrete time, a positive whole number of steps.
    rho : float, default=1.0
        Weight of the input energy relative to the state penalty (``> 0``).
    S : ndarray of shape (n_regions, n_regions) or float, optional
        State penalty matrix (a float ``s`` means ``s * I``). Default: the
        identity, as in nctpy; ``S=0`` gives minimum-energy control. Only its
        symmetric part ``(S + S^T) / 2`` enters the cost, and that is what is
        used. In discrete time it must be positive semidefinite.
    reference : ndarray of shape (n_regions,), optional
        Reference state ``x_r`` of the penalty; default 0.
    n_steps : int, optional
        Continuous time only: number of time steps of the returned trajectory
        (default 1000). A discrete-time trajectory has one step per unit of
        ``horizon``, so ``n_steps`` must be left out there.
    system : {"continuous", "discrete"}
        Time system of ``A``: ``dx/dt = A x + B u`` or
        ``x_{t+1} = A x_t + B u_t``.
        Required: calling without it is deprecated (it meant ``"continuous"``).
    on_error : {"warn", "raise", "ignore"}, default="warn"
        What to do when an error term exceeds ``1e-8``: a
        :class:`~brainctrl.exceptions.NumericalAccuracyWarning`, a
        ``FloatingPointError``, or nothing.

    Returns
    -------
    result : OptimalControlResult
        Time grid, inputs, trajectory, energy, state cost, both error terms
        and the condition number of the boundary-value solve.

    Warns
    -----
    NumericalAccuracyWarning
        If the inversion error or the terminal error exceeds ``1e-8``.

    Notes
    -----
    **Continuous time.** Minimises
    :math:`\int_0^T (x - x_r)^T S (x - x_r) + \rho u^T u \, dt` subject to
    :math:`\dot x = Ax + Bu`, :math:`x(0) = x_0`, :math:`x(T) = x_f`. Pontryagin's
    principle gives :math:`u = -B^T p / (2\rho)` and the joint dynamics
    :math:`[\dot x; \dot p] = H [x; p] + [0; 2 S x_r]` with
    :math:`H = [[A, -BB^T/(2\rho)], [-2S, -A^T]]`. The initial costate solves
    :math:`E_{12} p_0 = x_f - E_{11} x_0` (plus reference terms) with
    :math:`E = e^{HT}`; the trajectory is then propagated with :math:`e^{H \Delta t}`.
    The energy is integrated with the true step :math:`\Delta t = T/n` (nctpy's
    ``integrate_u`` uses unit spacing, i.e. ``n_steps`` times larger). With
    ``S = 0`` the energy equals :func:`minimum_energy`. Long horizons make
    :math:`E_{12}` ill-conditioned; the error terms then exceed ``1e-8`` and
    the result is flagged.

    **Discrete time.** Minimises

    .. math:: \sum_{t=0}^{T-1} (x_t - x_r)^T S (x_t - x_r) + \rho\, u_t^T u_t

    subject to :math:`x_{t+1} = A x_t + B u_t`, :math:`x_0` given and
    :math:`x_T = x_f`. Each input :math:`u_t` is paired with the state
    :math:`x_t` it acts on. Since :math:`x_0` and :math:`x_T` are fixed,
    penalising :math:`x_1, \dots, x_{T-1}` only, as nctpy 1.2.0's discrete
    equations do (its costate equations run over :math:`t = 1, \dots, T-1`),
    changes ``state_cost`` by a constant and gives the same inputs and
    trajectory. The solution is exact: a backward Riccati recursion for the
    problem with terminal cost :math:`2 \nu^T x_T`,

    .. math::

        M_t = \rho I + B^T P_{t+1} B, \quad
        P_t = S + A^T P_{t+1} A - A^T P_{t+1} B M_t^{-1} B^T P_{t+1} A,
        \quad P_T = 0,

    :math:`u_t = -M_t^{-1}(B^T P_{t+1} A x_t + B^T q_{t+1})` with
    :math:`q_t = -S x_r + (A - B K_t)^T q_{t+1}`, :math:`q_T = \nu` and
    :math:`K_t = M_t^{-1} B^T P_{t+1} A`. Writing :math:`q_t = c_t + D_t \nu`,
    the terminal state is affine in :math:`\nu`, and :math:`x_T = x_f` is the
    linear system :math:`G \nu = D_0^T x_0 - e - x_f` with the closed-loop
    Gramian :math:`G = \sum_t D_{t+1}^T B M_t^{-1} B^T D_{t+1}` and
    :math:`e = \sum_t D_{t+1}^T B M_t^{-1} B^T c_{t+1}`. :math:`M_t \succeq \rho I`
    is always invertible; :math:`G` is singular exactly when the
    controllability Gramian :math:`W_T` is (feedback does not change the states
    reachable in ``T`` steps), and with ``S = 0`` it is :math:`W_T / \rho`, so
    the inputs and energy equal :func:`minimum_energy` with ``system="discrete"``.
    Cost: :math:`O(T n^3)` time and :math:`O(T n^2)` memory per system matrix;
    with a symmetric ``A``, ``B = I`` and :math:`S = sI` every matrix is
    diagonal in the eigenbasis of ``A`` and the cost is one eigendecomposition
    plus :math:`O(T n)`. Unlike nctpy, ``T = 1`` is allowed.

    References
    ----------
    .. [1] Karrer T. M. et al. (2020). A practical guide to methodological
       considerations in the controllability of structural brain networks.
       Journal of Neural Engineering 17, 026031.
    .. [2] Parkes L. et al. (2024). A network control theory pipeline for
       studying the dynamics of the structural connectome. Nature Protocols.
    .. [3] Lewis F. L., Vrabie D. L., Syrmos V. L. (2012). Optimal Control,
       3rd ed., Wiley, chapter 2 (discrete-time LQ control with a fixed final
       state).

    Examples
    --------
    >>> import numpy as np
    >>> result = optimal_control(
    ...     np.array([[0.0]]), np.array([0.0]), np.array([1.0]), S=0.0, system="continuous"
    ... )
    >>> round(float(result.energy), 10)
    1.0

    In discrete time with ``x_{t+1} = x_t + u_t``, two equal steps of 0.5 are
    cheapest:

    >>> result = optimal_control(
    ...     np.array([[1.0]]), np.array([0.0]), np.array([1.0]), S=0.0, horizon=2,
    ...     system="discrete",
    ... )
    >>> result.inputs[:, 0].round(12), float(result.energy)
    (array([0.5, 0.5]), 0.5)
    """
    system = require_system("optimal_control", system, "continuous")
    check_option("system", system, SYSTEMS)
    check_option("on_error", on_error, ("warn", "raise", "ignore"))
    check_positive("rho", rho)
    if system == "discrete":
        if n_steps is not None:
            raise InvalidParameterError(
                "'n_steps' applies to system='continuous' only (a discrete-time trajectory "
                f"has one step per unit of horizon); got n_steps={n_steps!r}."
            )
    else:
        n_steps = DEFAULT_STEPS if n_steps is None else n_steps
        check_positive("n_steps", n_steps, integer=True)
    A = check_square("A", A)
    n = A.shape[-1]
    horizon = check_horizon(horizon, system, allow_inf=False)
    B = _input_matrix(B, n)
    S = _penalty(S, n, system)
    reference = np.zeros(n) if reference is None else _states("reference", reference, n)
    if reference.shape != (n,):
        raise DataError(f"reference must have shape ({n},); got {reference.shape}.")
    x0 = _states("x0", x0, n)
    xf = _states("xf", xf, n)
    x0_pairs, xf_pairs, restore = _to_pairs(A.shape[:-2], x0, xf, n)

    if system == "discrete":
        solution = _discrete(A, B, S, reference, rho, int(horizon), x0_pairs, xf_pairs)
    else:
        solution = _continuous(A, B, S, reference, rho, horizon, n_steps, x0_pairs, xf_pairs)
    time, inputs, trajectory, inversion_error, condition_number = solution

    if system == "discrete":
        energy = np.sum(inputs**2, axis=(0, -1))
        deviation = trajectory[:-1] - reference
        state_cost = np.sum(np.einsum("...i,ij,...j->...", deviation, S, deviation), axis=0)
    else:
        energy = scipy.integrate.simpson(np.sum(inputs**2, axis=-1), x=time, axis=0)
        deviation = trajectory - reference
        state_cost = scipy.integrate.simpson(
            np.einsum("...i,ij,...j->...", deviation, S, deviation), x=time, axis=0
        )
    scale = np.maximum(np.linalg.norm(x0_pairs, axis=-1), np.linalg.norm(xf_pairs, axis=-1))
    terminal_error = _relative(np.linalg.norm(trajectory[-1] - xf_pairs, axis=-1), scale)
    inversion_error = _relative(inversion_error, scale)

    worst = float(max(np.max(inversion_error), np.max(terminal_error)))
    if worst > ERROR_TOLERANCE and on_error != "ignore":
        message = (
            f"optimal control is numerically inaccurate: inversion error up to "
            f"{float(np.max(inversion_error)):.3g}, terminal error up to "
            f"{float(np.max(terminal_error)):.3g} (tolerance {ERROR_TOLERANCE:.0e}; condition "
            f"number up to {float(np.max(condition_number)):.3g}; {system} time, horizon "
            f"{horizon:g}). Shorten the horizon or enlarge the control set."
        )
        if on_error == "raise":
            raise FloatingPointError(message)
        warnings.warn(message, NumericalAccuracyWarning, stacklevel=2)

    def along_time(values):
        # (n_time, *batch, P, k) -> (*lead, *batch, n_time, k)
        moved = np.moveaxis(values, 0, -2)  # (*batch, P, n_time, k)
        return restore(moved, trailing=2)

    return OptimalControlResult(
        time=time,
        inputs=along_time(inputs),
        trajectory=along_time(trajectory),
        energy=restore(energy),
        state_cost=restore(state_cost),
        inversion_error=restore(inversion_error),
        terminal_error=restore(terminal_error),
        condition_number=condition_number,
    )


def _condition(matrix):
    """2-norm condition numbers of a stack of matrices (``inf`` if singular or not finite)."""
    finite = np.all(np.isfinite(matrix), axis=(-2, -1))
    singular_values = np.linalg.svd(
        np.where(finite[..., None, None], matrix, 0.0), compute_uv=False
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = singular_values[..., 0] / singular_values[..., -1]
    return np.where(finite & (singular_values[..., -1] > 0), ratio, np.inf)


def _penalty(S, n, system):
    """The state penalty as a symmetric ``(n, n)`` matrix (PSD in discrete time)."""
    if S is None:
        return np.eye(n)
    if np.ndim(S) == 0:
        S = float(check_array("S", S)) * np.eye(n)
    else:
        S = check_square("S", S, batch=False)
        if S.shape[0] != n:
            raise DataError(f"S must have shape ({n}, {n}); got {S.shape}.")
    S = 0.5 * (S + S.T)
    if system == "discrete":
        eigenvalues = np.linalg.eigvalsh(S)
        if eigenvalues[0] < -1e-12 * max(1.0, float(np.max(np.abs(eigenvalues)))):
            raise DataError(
                "S must be positive semidefinite for system='discrete' (the cost is not "
                f"bounded below otherwise); the smallest eigenvalue of (S + S^T) / 2 is "
                f"{eigenvalues[0]:.3g}."
            )
    return S


def _continuous(A, B, S, reference, rho, horizon, n_steps, x0_pairs, xf_pairs):
    """Hamiltonian boundary-value solution on a grid of ``n_steps`` steps."""
    n = A.shape[-1]
    B_full = np.eye(n) if B is None else B
    batch = A.shape[:-2]
    hamiltonian = np.zeros((*batch, 2 * n, 2 * n))
    hamiltonian[..., :n, :n] = A
    hamiltonian[..., :n, n:] = -(B_full @ B_full.T) / (2.0 * rho)
    hamiltonian[..., n:, :n] = -2.0 * S
    hamiltonian[..., n:, n:] = -np.swapaxes(A, -1, -2)

    forcing = np.concatenate([np.zeros(n), 2.0 * S @ reference])
    if np.any(forcing):
        try:
            offset = -np.linalg.solve(hamiltonian, np.broadcast_to(forcing, (*batch, 2 * n)))
        except np.linalg.LinAlgError:
            raise DataError(
                "the Hamiltonian is singular, so the reference state has no constant "
                "particular solution; use reference=None."
            ) from None
    else:
        offset = np.zeros((*batch, 2 * n))
    offset = offset[..., None, :]  # (*batch, 1, 2n)
    offset_x = offset[..., :n]

    exponential = scipy.linalg.expm(hamiltonian * horizon)
    e11 = exponential[..., :n, :n]
    e12 = exponential[..., :n, n:]
    rhs = xf_pairs - offset_x - (x0_pairs - offset_x) @ np.swapaxes(e11, -1, -2)
    try:
        costate = np.linalg.solve(e12[..., None, :, :], rhs[..., None])[..., 0]
    except np.linalg.LinAlgError:
        raise DataError(
            "the boundary-value problem is singular (e^{HT}[:n, n:] is not invertible): "
            "the control set cannot reach arbitrary targets in this horizon."
        ) from None
    residual = costate @ np.swapaxes(e12, -1, -2) - rhs
    condition_number = _condition(e12)

    dt = horizon / n_steps
    step = np.swapaxes(scipy.linalg.expm(hamiltonian * dt), -1, -2)[..., None, :, :]
    state = np.concatenate([x0_pairs - offset_x, costate], axis=-1)
    path = np.empty((n_steps + 1, *state.shape))
    path[0] = state
    for index in range(1, n_steps + 1):  # loop over time steps
        state = (state[..., None, :] @ step)[..., 0, :]
        path[index] = state
    path = path + offset[None]
    trajectory = path[..., :n]
    inputs = -(path[..., n:] @ B_full) / (2.0 * rho)
    time = np.linspace(0.0, horizon, n_steps + 1)
    return time, inputs, trajectory, np.linalg.norm(residual, axis=-1), condition_number


# ---------------------------------------------------------------------------
# Discrete time
# ---------------------------------------------------------------------------


def _discrete(A, B, S, reference, rho, steps, x0_pairs, xf_pairs):
    """Exact discrete-time solution; see the Notes of :func:`optimal_control`."""
    n = A.shape[-1]
    eigenpairs = None
    if B is None and np.array_equal(S, S[0, 0] * np.eye(n)):
        eigenpairs = decompose(A)
    if eigenpairs is not None:
        return _discrete_diagonal(
            *eigenpairs, float(S[0, 0]), reference, rho, steps, x0_pairs, xf_pairs
        )
    return _discrete_dense(A, B, S, reference, rho, steps, x0_pairs, xf_pairs)


def _discrete_diagonal(eigenvalues, eigenvectors, s, reference, rho, steps, x0, xf):
    """Symmetric ``A = V diag(lam) V^T``, ``B = I``, ``S = s I``: one scalar problem per mode.

    In the coordinates ``V^T x`` and ``V^T u`` the problem has ``A = diag(lam)``,
    ``B = I`` and ``S = s I``, so ``P_t``, ``M_t``, ``D_t`` and ``G`` are diagonal.
    """
    lam = eigenvalues  # (*batch, n)
    V = eigenvectors
    x0_modes = x0 @ V  # (*batch, P, n): V^T x0 for every pair
    xf_modes = xf @ V
    reference_modes = reference @ V  # (*batch, n)
    p = np.zeros_like(lam)
    d = np.ones_like(lam)
    c = np.zeros_like(lam)
    gramian = np.zeros_like(lam)
    e = np.zeros_like(lam)
    ms, ps = [None] * steps, [None] * steps
    for t in reversed(range(steps)):  # loop over time steps
        m = rho + p
        gramian += d * d / m
        e += d * c / m
        ms[t], ps[t] = m, p
        p = s + rho * lam**2 * p / m
        d = rho * lam * d / m
        c = -s * reference_modes + rho * lam * c / m
    rhs = x0_modes * d[..., None, :] - e[..., None, :] - xf_modes
    nu = rhs / gramian[..., None, :]  # gramian >= 1 / rho > 0
    residual = np.linalg.norm(nu * gramian[..., None, :] - rhs, axis=-1)
    condition_number = np.max(gramian, axis=-1) / np.min(gramian, axis=-1)

    q = [None] * (steps + 1)
    q[steps] = nu
    for t in range(steps - 1, 0, -1):  # loop over time steps
        q[t] = -s * reference_modes[..., None, :] + rho * (lam / ms[t])[..., None, :] * q[t + 1]
    state = x0_modes
    trajectory = np.empty((steps + 1, *x0.shape))
    inputs = np.empty((steps, *x0.shape))
    trajectory[0] = state
    for t in range(steps):  # loop over time steps
        u = -(ps[t][..., None, :] * lam[..., None, :] * state + q[t + 1]) / ms[t][..., None, :]
        state = lam[..., None, :] * state + u
        inputs[t] = u
        trajectory[t + 1] = state
    back = np.swapaxes(V, -1, -2)
    trajectory = trajectory @ back
    trajectory[0] = x0
    return np.arange(steps + 1), inputs @ back, trajectory, residual, condition_number


class _InputMap:
    """Products with ``B`` and ``B^T``; row selections when ``B`` is columns of the identity."""

    def __init__(self, B):
        self.B = B
        self.regions = None
        ones = B == 1.0
        if np.all(ones | (B == 0.0)) and np.all(ones.sum(axis=0) == 1):
            regions = np.argmax(ones, axis=0)
            if np.unique(regions).size == regions.size:
                self.regions = regions

    def transpose(self, X):
        """``B^T X`` for ``X`` of shape ``(..., n, k)``."""
        if self.regions is None:
            return self.B.T @ X
        return X[..., self.regions, :]

    def sandwich(self, P):
        """``B^T P B`` for ``P`` of shape ``(..., n, n)``."""
        if self.regions is None:
            return self.B.T @ P @ self.B
        return P[..., self.regions[:, None], self.regions]

    def apply(self, U):
        """``B U`` for ``U`` of shape ``(..., m, k)``."""
        if self.regions is None:
            return self.B @ U
        out = np.zeros((*U.shape[:-2], self.B.shape[0], U.shape[-1]))
        out[..., self.regions, :] = U
        return out


def _lower_solve(L, b, *, transposed=False):
    """``L^-1 b`` (or ``L^-T b``) for stacks of lower-triangular ``L``."""
    return scipy.linalg.solve_triangular(
        L, b, lower=True, trans="T" if transposed else "N", check_finite=False
    )


def _discrete_dense(A, B, S, reference, rho, steps, x0, xf):
    """Backward Riccati recursion with the sensitivity ``D_t`` of ``q_t`` to ``nu``.

    Works on columns: states are ``(*batch, n, P)``. With ``B = I`` it uses
    ``K_t = A - rho M_t^-1 A`` (``A - B K_t = rho M_t^-1 A``), which needs only
    the Cholesky factor ``L_t`` of ``M_t``.
    """
    n = A.shape[-1]
    batch = A.shape[:-2]
    m = n if B is None else B.shape[1]
    At = np.swapaxes(A, -1, -2)
    inputs_map = None if B is None else _InputMap(B)
    S_reference = S @ reference
    with_reference = bool(np.any(S_reference))
    eye_m = np.eye(m)
    P = np.zeros((*batch, n, n))
    D = np.broadcast_to(np.eye(n), (*batch, n, n))
    gramian = np.zeros((*batch, n, n))
    c = np.zeros((*batch, n, 1))
    e = np.zeros((*batch, n, 1))
    AtA = At @ A if B is None else None
    factors, gains = [None] * steps, [None] * steps
    for t in reversed(range(steps)):  # loop over time steps
        if B is None:
            M = rho * eye_m + P
        else:
            M = rho * eye_m + inputs_map.sandwich(P)
        try:
            L = np.linalg.cholesky(M)
        except np.linalg.LinAlgError:  # pragma: no cover (M >= rho I for S >= 0)
            raise DataError(
                f"rho I + B^T P B is not positive definite at step {t}; check S."
            ) from None
        V = _lower_solve(L, D if B is None else inputs_map.transpose(D))
        gramian += np.swapaxes(V, -1, -2) @ V
        if B is None:
            Z = _lower_solve(L, A)  # L^-1 A
            Zt = np.swapaxes(Z, -1, -2)
            if with_reference:
                vc = _lower_solve(L, c)
                e += np.swapaxes(V, -1, -2) @ vc
                c = -S_reference[:, None] + rho * Zt @ vc
            P = S + rho * (AtA - rho * Zt @ Z)
            D = rho * Zt @ V
        else:
            PA = P @ A
            W = _lower_solve(L, inputs_map.transpose(PA))  # L^-1 B^T P A
            Wt = np.swapaxes(W, -1, -2)
            if with_reference:
                vc = _lower_solve(L, inputs_map.transpose(c))
                e += np.swapaxes(V, -1, -2) @ vc
                c = -S_reference[:, None] + At @ c - Wt @ vc
            P = S + At @ PA - Wt @ W
            D = At @ D - Wt @ V
            gains[t] = W
        P = 0.5 * (P + np.swapaxes(P, -1, -2))
        factors[t] = L

    X0 = np.swapaxes(x0, -1, -2)  # (*batch, n, P)
    Xf = np.swapaxes(xf, -1, -2)
    rhs = np.swapaxes(D, -1, -2) @ X0 - e - Xf
    try:
        nu = np.linalg.solve(gramian, rhs)
    except np.linalg.LinAlgError:
        raise DataError(
            "the boundary-value problem is singular (the closed-loop Gramian G is not "
            f"invertible): the control set cannot reach arbitrary targets in {steps} steps."
        ) from None
    residual = np.linalg.norm(gramian @ nu - rhs, axis=-2)
    eigenvalues = np.linalg.eigvalsh(gramian)
    with np.errstate(divide="ignore", invalid="ignore"):
        condition_number = np.where(
            eigenvalues[..., 0] > 0, eigenvalues[..., -1] / eigenvalues[..., 0], np.inf
        )

    q = [None] * (steps + 1)
    q[steps] = nu
    for t in range(steps - 1, 0, -1):  # loop over time steps
        L = factors[t]
        if B is None:
            closed_loop = rho * At @ _lower_solve(L, _lower_solve(L, q[t + 1]), transposed=True)
        else:
            closed_loop = At @ q[t + 1] - np.swapaxes(gains[t], -1, -2) @ _lower_solve(
                L, inputs_map.transpose(q[t + 1])
            )
        q[t] = closed_loop - S_reference[:, None]
    state = X0
    trajectory = np.empty((steps + 1, *X0.shape))
    inputs = np.empty((steps, *batch, m, X0.shape[-1]))
    trajectory[0] = state
    for t in range(steps):  # loop over time steps
        L = factors[t]
        free = A @ state
        if B is None:
            target = _lower_solve(L, _lower_solve(L, rho * free - q[t + 1]), transposed=True)
            u = target - free
            state = free + u
        else:
            u = -_lower_solve(
                L,
                gains[t] @ state + _lower_solve(L, inputs_map.transpose(q[t + 1])),
                transposed=True,
            )
            state = free + inputs_map.apply(u)
        inputs[t] = u
        trajectory[t + 1] = state
    trajectory = np.swapaxes(trajectory, -1, -2)
    inputs = np.swapaxes(inputs, -1, -2)
    return np.arange(steps + 1), inputs, trajectory, residual, condition_number
