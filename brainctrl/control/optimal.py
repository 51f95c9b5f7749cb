"""Optimal control with a penalty on the state trajectory (the nctpy protocol)."""

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.integrate
import scipy.linalg

from brainctrl._utils.validation import check_array, check_option, check_positive, check_square
from brainctrl.control._linalg import check_horizon
from brainctrl.control.energy import _states, _to_pairs
from brainctrl.control.systems import _input_matrix
from brainctrl.exceptions import DataError, NumericalAccuracyWarning

__all__ = ["OptimalControlResult", "optimal_control"]

#: Relative error above which the solution is flagged.
ERROR_TOLERANCE = 1e-8


@dataclass(eq=False)
class OptimalControlResult:
    """Inputs, trajectory and cost of an optimal transition.

    Attributes
    ----------
    time : ndarray of shape (n_steps + 1,)
        Time points ``0, T / n_steps, ..., T``.
    inputs : ndarray of shape (..., n_steps + 1, n_inputs)
        Optimal inputs ``u(t)``.
    trajectory : ndarray of shape (..., n_steps + 1, n_regions)
        State ``x(t)``; ``trajectory[..., 0, :] == x0``.
    energy : ndarray of shape (...)
        Input energy ``integral ||u||^2 dt`` (Simpson's rule on the time grid).
    state_cost : ndarray of shape (...)
        ``integral (x - x_r)^T S (x - x_r) dt``.
    inversion_error : ndarray of shape (...)
        Relative residual of the solve for the initial costate (the boundary
        condition ``x(T) = x_f`` as a linear system).
    terminal_error : ndarray of shape (...)
        ``||x(T) - x_f||`` of the integrated trajectory, relative to
        ``max(||x0||, ||xf||)``.
    """

    time: np.ndarray
    inputs: np.ndarray
    trajectory: np.ndarray
    energy: np.ndarray
    state_cost: np.ndarray
    inversion_error: np.ndarray
    terminal_error: np.ndarray


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
    n_steps=1000,
    system="continuous",
    on_error="warn",
):
    r"""Find the inputs that reach ``xf`` while penalising input energy and the state trajectory.

    Parameters
    ----------
    A : ndarray of shape (..., n_regions, n_regions)
        Continuous-time system matrix; leading axes are a batch.
    x0, xf : ndarray of shape (..., n_regions)
        Initial and target states (broadcast as in :func:`minimum_energy`).
    B : ndarray of shape (n_regions, n_inputs), boolean mask or index list, optional
        Input matrix; ``None`` controls every region.
    horizon : float, default=1.0
        Time horizon ``T``.
    rho : float, default=1.0
        Weight of the input energy relative to the state penalty (``> 0``).
    S : ndarray of shape (n_regions, n_regions) or float, optional
        State penalty matrix (a float ``s`` means ``s * I``). Default: the
        identity, as in nctpy; ``S=0`` gives minimum-energy control.
    reference : ndarray of shape (n_regions,), optional
        Reference state ``x_r`` of the penalty; default 0.
    n_steps : int, default=1000
        Number of time steps of the returned trajectory.
    system : {"continuous"}, default="continuous"
        Only continuous time is implemented.
    on_error : {"warn", "raise", "ignore"}, default="warn"
        What to do when an error term exceeds ``1e-8``: a
        :class:`~brainctrl.exceptions.NumericalAccuracyWarning`, a
        ``FloatingPointError``, or nothing.

    Returns
    -------
    result : OptimalControlResult
        Time grid, inputs, trajectory, energy, state cost and both error terms.

    Notes
    -----
    Minimises :math:`\int_0^T (x - x_r)^T S (x - x_r) + \rho u^T u \, dt` subject to
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

    References
    ----------
    .. [1] Karrer T. M. et al. (2020). A practical guide to methodological
       considerations in the controllability of structural brain networks.
       Journal of Neural Engineering 17, 026031.
    .. [2] Parkes L. et al. (2024). A network control theory pipeline for
       studying the dynamics of the structural connectome. Nature Protocols.

    Examples
    --------
    >>> import numpy as np
    >>> result = optimal_control(np.array([[0.0]]), np.array([0.0]), np.array([1.0]), S=0.0)
    >>> round(float(result.energy), 10)
    1.0
    """
    check_option("system", system, ("continuous",))
    check_option("on_error", on_error, ("warn", "raise", "ignore"))
    check_positive("rho", rho)
    check_positive("n_steps", n_steps, integer=True)
    A = check_square("A", A)
    n = A.shape[-1]
    horizon = check_horizon(horizon, system, allow_inf=False)
    B = _input_matrix(B, n)
    B_full = np.eye(n) if B is None else B
    if S is None:
        S = np.eye(n)
    elif np.ndim(S) == 0:
        S = float(check_array("S", S)) * np.eye(n)
    else:
        S = check_square("S", S, batch=False)
        if S.shape[0] != n:
            raise DataError(f"S must have shape ({n}, {n}); got {S.shape}.")
    reference = np.zeros(n) if reference is None else _states("reference", reference, n)
    if reference.shape != (n,):
        raise DataError(f"reference must have shape ({n},); got {reference.shape}.")
    x0 = _states("x0", x0, n)
    xf = _states("xf", xf, n)
    x0_pairs, xf_pairs, restore = _to_pairs(A.shape[:-2], x0, xf, n)

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
    scale = np.maximum(np.linalg.norm(x0_pairs, axis=-1), np.linalg.norm(xf_pairs, axis=-1))
    inversion_error = _relative(np.linalg.norm(residual, axis=-1), scale)

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
    energy = scipy.integrate.simpson(np.sum(inputs**2, axis=-1), x=time, axis=0)
    deviation = trajectory - reference
    state_cost = scipy.integrate.simpson(
        np.einsum("...i,ij,...j->...", deviation, S, deviation), x=time, axis=0
    )
    terminal_error = _relative(np.linalg.norm(trajectory[-1] - xf_pairs, axis=-1), scale)

    worst = float(max(np.max(inversion_error), np.max(terminal_error)))
    if worst > ERROR_TOLERANCE and on_error != "ignore":
        message = (
            f"optimal control is numerically inaccurate: inversion error up to "
            f"{float(np.max(inversion_error)):.3g}, terminal error up to "
            f"{float(np.max(terminal_error)):.3g} (tolerance {ERROR_TOLERANCE:.0e}; horizon "
            f"{horizon:g}). Shorten the horizon or enlarge the control set."
        )
        if on_error == "raise":
            raise FloatingPointError(message)
        warnings.warn(message, NumericalAccuracyWarning, stacklevel=2)

    def along_time(values):
        # (n_steps + 1, *batch, P, k) -> (*lead, *batch, n_steps + 1, k)
        moved = np.moveaxis(values, 0, -2)  # (*batch, P, n_steps + 1, k)
        return restore(moved, trailing=2)

    return OptimalControlResult(
        time=time,
        inputs=along_time(inputs),
        trajectory=along_time(trajectory),
        energy=restore(energy),
        state_cost=restore(state_cost),
        inversion_error=restore(inversion_error),
        terminal_error=restore(terminal_error),
    )
