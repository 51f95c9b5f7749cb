"""Minimum control energy of state transitions, for static and time-varying systems.

The minimum energy to steer ``x(0) = x0`` to ``x(T) = xf`` is
``E = integral ||u(t)||^2 dt = d^T W_T^-1 d`` with ``d = xf - e^{AT} x0`` and
``W_T`` the controllability Gramian. There is **no factor 1/2** (some papers
use one; ``compat="deng2022"`` restores it). Every energy comes with the
Gramian's condition number, its numerical rank and the relative error of
reaching ``xf``.
"""

import functools
import logging
import warnings
from dataclasses import dataclass, field

import numpy as np

from brainctrl._utils.deprecation import require_system
from brainctrl._utils.validation import check_array, check_option, check_positive, check_square
from brainctrl.control import _linalg
from brainctrl.control._linalg import (
    SYSTEMS,
    check_horizon,
    decompose,
    is_symmetric,
    symmetric_eigh,
)
from brainctrl.control.systems import _input_matrix
from brainctrl.exceptions import (
    DataError,
    IllConditionedWarning,
    UnreachableTargetWarning,
)

__all__ = [
    "EnergyResult",
    "minimum_energy",
    "time_varying_energy",
    "transition_energy_matrix",
]

logger = logging.getLogger(__name__)

#: Condition number above which an energy warns (about 6 of 16 digits left).
CONDITION_WARNING = 1e10
#: Relative terminal error above which a target counts as not reached.
TERMINAL_WARNING = 1e-6
COMPAT_MODES = (None, "deng2022")
# elements of a temporary (pairs x regions x inputs) array computed at once
_CHUNK_ELEMENTS = 2**24


@dataclass(eq=False)
class EnergyResult:
    """Minimum energies of many transitions with their numerical health.

    Attributes
    ----------
    energy : ndarray of shape (...)
        ``d^T W_T^{-1} d`` for each transition whose target is reached (its
        unreached fraction at most ``tolerance``), ``inf`` for the others: no
        input of this control set reaches them, and the energy of the part
        that can be reached is not the energy of the transition. With
        ``compat="deng2022"``, ``1/2 d^T pinv(W) d`` for every transition, as
        the original code computes it.
    reachable_energy : ndarray of shape (...)
        ``d_r^T W_T^+ d_r`` with ``d_r`` the projection of ``d`` onto the range
        of the Gramian (its eigenvectors kept in the pseudo-inverse): the
        energy of reaching the reachable part of the target. Equal to
        ``energy`` where the target is reached. Where the Gramian is
        numerically singular (``condition_number`` inf or near ``1/eps``) it
        is set by the smallest eigenvalues kept, at the rounding level, and is
        no more than a number of the order of ``1/eps``.
    condition_number : ndarray of shape (...) or float
        ``lambda_max / lambda_min`` of each Gramian, ``inf`` only when an
        eigenvalue is zero or negative (numerically singular); one per system
        matrix, so its shape is the batch shape of ``A``. The same number is
        used in warnings, tables and figures.
    rank : ndarray of int, shape like ``condition_number``
        Number of Gramian eigenvalues kept in the pseudo-inverse.
    terminal_error : ndarray of shape (...)
        ``||d - d_r|| / ||d||``: the unreached fraction of the target, i.e. the
        relative error with which the optimal input reaches ``xf`` (0 when
        ``d = 0``). Above ``tolerance`` the target is not reachable with this
        control set (numerically). Also available as ``unreachable_fraction``.
    tolerance : float
        Unreached fraction above which ``energy`` is ``inf``.
    node_energy : ndarray of shape (..., n_regions) or (..., n_inputs)
        ``integral u_k(t)^2 dt`` for each input ``k``. One entry per region
        when ``B`` is ``None``, a boolean mask or an index list (0 where a
        region is not controlled); one per column of ``B`` when ``B`` is a
        matrix. It sums to ``energy`` over the last axis (to
        ``reachable_energy`` where the target is not reached). Computed when
        first read.
    """

    energy: np.ndarray
    condition_number: np.ndarray
    rank: np.ndarray
    terminal_error: np.ndarray
    reachable_energy: np.ndarray = None
    tolerance: float = None
    _node_energy: object = field(repr=False, default=None)

    @functools.cached_property
    def node_energy(self):  # noqa: D102 (documented in the class)
        return self._node_energy()

    @property
    def unreachable_fraction(self):
        """The unreached fraction of each target (``terminal_error``)."""
        return self.terminal_error

    def __getstate__(self):
        # the lazy computation is a closure: evaluate it so the result pickles (joblib, dask)
        state = dict(self.__dict__)
        state["node_energy"] = self.node_energy
        state["_node_energy"] = None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)


# ---------------------------------------------------------------------------
# Kernels
# ---------------------------------------------------------------------------


class _Factor:
    """Eigendecomposition of a stack of Gramians, ``W = V diag(w) V^T``, and its pseudo-inverse."""

    def __init__(self, eigenvalues, eigenvectors, gramian=None, *, rcond=None, compat=None):
        self.w = eigenvalues
        self.V = eigenvectors
        self.gramian = gramian
        n = eigenvalues.shape[-1]
        largest = np.max(eigenvalues, axis=-1, keepdims=True)
        smallest = np.min(eigenvalues, axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            self.condition_number = np.where(smallest > 0, largest[..., 0] / smallest, np.inf)
        if compat == "deng2022":
            # MATLAB pinv: singular values above max(size) * eps(norm(W, 2))
            magnitude = np.max(np.abs(eigenvalues), axis=-1, keepdims=True)
            tolerance = n * np.spacing(magnitude)
            self.keep = np.abs(eigenvalues) > tolerance
        else:
            rcond = n * np.finfo(float).eps if rcond is None else rcond
            self.keep = eigenvalues > rcond * np.maximum(largest, 0.0)
        with np.errstate(divide="ignore"):
            self.inverse = np.where(self.keep, 1.0 / np.where(self.keep, eigenvalues, 1.0), 0.0)
        self.rank = self.keep.sum(axis=-1)
        self.scale = 0.5 if compat == "deng2022" else 1.0

    @classmethod
    def from_gramian(cls, gramian, **kwargs):
        eigenvalues, eigenvectors = np.linalg.eigh(gramian)
        return cls(eigenvalues, eigenvectors, gramian, **kwargs)

    def solve(self, d):
        """Energies, ``y = W^+ d`` and terminal errors for ``d`` of shape ``(*batch, P, n)``."""
        coefficients = d @ self.V  # (…, P, n): V^T d for every pair
        energy, weighted, terminal = self.solve_in_eigenbasis(coefficients)
        return energy, weighted @ np.swapaxes(self.V, -1, -2), terminal

    def solve_in_eigenbasis(self, coefficients):
        """As :meth:`solve`, for ``coefficients = d @ V``.

        The unreached fraction is the norm of ``d``'s components along the
        eigenvectors left out of the pseudo-inverse over the norm of ``d``:
        ``||d - d_r|| / ||d||`` exactly, not the rounding error of
        ``W W^+ d - d`` (about ``cond * eps``, which would call a reachable
        target of a well-resolved but ill-conditioned Gramian unreached).
        """
        weighted = coefficients * self.inverse[..., None, :]
        energy = self.scale * np.sum(coefficients * weighted, axis=-1)
        norm_d = np.linalg.norm(coefficients, axis=-1)  # V is orthogonal
        norm_r = np.linalg.norm(coefficients * (1.0 - self.keep[..., None, :]), axis=-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            terminal = np.where(norm_d > 0, norm_r / np.where(norm_d > 0, norm_d, 1.0), 0.0)
        return energy, weighted, terminal


class _Dynamics:
    """One (stack of) system matrix with what the energy computations need of it."""

    def __init__(self, A, horizon, system, eigenpairs=None):
        self.A = A
        self.horizon = horizon
        self.system = system
        if eigenpairs is None:
            eigenpairs = decompose(A)
        self.symmetric = eigenpairs is not None
        if self.symmetric:
            self.eigenvalues, self.eigenvectors = eigenpairs

    def growth(self):
        """Eigenvalues of the transition matrix ``e^{AT}`` (or ``A^T``), symmetric A only."""
        if np.isinf(self.horizon):  # a stable system forgets its initial state
            return np.zeros_like(self.eigenvalues)
        if self.system == "continuous":
            return np.exp(self.eigenvalues * self.horizon)
        return self.eigenvalues ** int(self.horizon)

    def free(self, x0):
        """Free evolution ``e^{AT} x0`` of row states ``(*batch, P, n)``."""
        if self.symmetric:
            V = self.eigenvectors
            return ((x0 @ V) * self.growth()[..., None, :]) @ np.swapaxes(V, -1, -2)
        if self.transition is None:  # infinite horizon
            return np.zeros_like(x0)
        return x0 @ np.swapaxes(self.transition, -1, -2)

    def gramian_factor(self, B, *, rcond, compat):
        """Factor of ``W_T`` (for a general A, also keeps ``e^{AT}``)."""
        horizon, system = self.horizon, self.system
        if self.symmetric:
            if B is None:  # W = V diag(phi(2 lam)) V^T: already diagonal
                if system == "continuous":
                    w = _linalg.phi_continuous(2.0 * self.eigenvalues, horizon)
                else:
                    w = _linalg.psi_discrete(self.eigenvalues**2, horizon)
                return _Factor(w, self.eigenvectors, rcond=rcond, compat=compat)
            gram = _linalg.gramian_symmetric(
                self.eigenvalues, self.eigenvectors, B, horizon, system
            )
        else:
            input_gram = np.eye(self.A.shape[-1]) if B is None else B @ B.T
            gram, self.transition = _linalg.general_gramian(self.A, input_gram, horizon, system)
        return _Factor.from_gramian(gram, rcond=rcond, compat=compat)

    def node_energy(self, B, y):
        """``integral_0^T (b_k^T e^{A^T s} y)^2 ds`` for ``y`` of shape ``(*batch, P, n)``."""
        n = self.A.shape[-1]
        n_inputs = n if B is None else B.shape[-1]
        if self.system == "discrete" and not np.isinf(self.horizon):
            z = y
            total = np.zeros((*y.shape[:-1], n_inputs))
            for _ in range(int(self.horizon)):  # loop over time steps
                inputs = z if B is None else z @ B
                total += inputs**2
                z = z @ self.A
            return total
        batch_size = int(np.prod(y.shape[:-2], dtype=int))
        per_pair = max(1, batch_size * n * max(n_inputs, n))
        chunk = max(1, _CHUNK_ELEMENTS // per_pair)
        pieces = []
        for start in range(0, y.shape[-2], chunk):
            piece = y[..., start : start + chunk, :]
            if self.symmetric:
                pieces.append(self._node_energy_symmetric(B, piece))
            else:
                pieces.append(self._node_energy_general(B, piece))
        return np.concatenate(pieces, axis=-2)

    def _node_energy_symmetric(self, B, y):
        V = self.eigenvectors
        projected = np.swapaxes(V, -1, -2) if B is None else np.swapaxes(V, -1, -2) @ B
        weights = _linalg.eigen_weights(self.eigenvalues, self.horizon, self.system)
        g = y @ V  # (…, P, n)
        scaled = g[..., :, :, None] * projected[..., None, :, :]  # (…, P, n, m)
        return np.sum(scaled * (weights[..., None, :, :] @ scaled), axis=-2)

    def _node_energy_general(self, B, y):
        outer = y[..., :, :, None] * y[..., :, None, :]
        transposed = np.swapaxes(self.A, -1, -2)[..., None, :, :]
        if np.isinf(self.horizon):
            gram = _linalg.lyapunov(transposed, outer, self.system)
        else:
            gram, _ = _linalg.continuous_gramian(transposed, outer, self.horizon)
        if B is None:
            return np.diagonal(gram, axis1=-2, axis2=-1).copy()
        return np.sum(B * (gram @ B), axis=-2)


def condition_text(value):
    """A Gramian's condition number as warnings, tables and figures print it."""
    return "inf" if not np.isfinite(value) else f"{value:.3g}"


def _warn_health(factor, terminal_error, n_regions, tolerance, compat):
    condition = np.asarray(factor.condition_number)
    bad = ~(condition <= CONDITION_WARNING)
    if bad.any():
        worst = float(np.max(condition))
        lost = worst * np.finfo(float).eps
        accuracy = (
            "energies may have no correct digit"
            if lost >= 1
            else f"energies may be wrong by about {lost:.0e} relative"
        )
        warnings.warn(
            f"{int(bad.sum())} of {bad.size} controllability Gramian(s) are ill-conditioned: "
            f"condition number up to {condition_text(worst)} (largest over smallest "
            f"eigenvalue; inf when one is zero or negative; threshold "
            f"{CONDITION_WARNING:.0e}; rank down to {int(np.min(factor.rank))} of {n_regions}); "
            f"{accuracy}. See the result's condition_number and terminal_error.",
            IllConditionedWarning,
            stacklevel=3,
        )
    terminal_error = np.asarray(terminal_error)
    missed = terminal_error > tolerance
    if missed.any():
        consequence = (
            "Their energies are those of the reachable part of each transition (compat mode)."
            if compat == "deng2022"
            else "Their energy is inf; reachable_energy holds the energy of the part of the "
            "target that can be reached."
        )
        warnings.warn(
            f"{int(missed.sum())} of {missed.size} target state(s) cannot be reached with this "
            f"control set: unreached fraction up to {float(np.max(terminal_error)):.3g} "
            f"(tolerance {tolerance:.0e}; Gramian rank down to {int(np.min(factor.rank))} of "
            f"{n_regions}). {consequence} A mixed control set (mixed_control_set) or a "
            "longer horizon makes the system controllable.",
            UnreachableTargetWarning,
            stacklevel=3,
        )


def _result(factor, energy, terminal, restore, node_energy, tolerance, compat, n_regions):
    """An EnergyResult: ``energy`` is inf where the target is not reached (not in compat)."""
    _warn_health(factor, terminal, n_regions, tolerance, compat)
    reachable = restore(energy)
    terminal = restore(terminal)
    exact = (
        reachable if compat == "deng2022" else np.where(terminal <= tolerance, reachable, np.inf)
    )
    return EnergyResult(
        energy=exact,
        condition_number=factor.condition_number,
        rank=factor.rank,
        terminal_error=terminal,
        reachable_energy=reachable,
        tolerance=tolerance,
        _node_energy=node_energy,
    )


def _states(name, value, n):
    states = check_array(name, value, min_ndim=1)
    if states.shape[-1] != n:
        raise DataError(
            f"{name} must have {n} entries (one per region) on its last axis; got shape "
            f"{states.shape}."
        )
    _finite(name, states)
    return states


def _finite(name, array):
    if not np.all(np.isfinite(array)):
        raise DataError(f"{name} contains NaN or infinite values.")


def _to_pairs(batch_shape, x0, xf, n):
    """Lay out states as ``(*batch, P, n)``; return a function that restores the shape."""
    try:
        out_shape = np.broadcast_shapes(batch_shape, x0.shape[:-1], xf.shape[:-1])
    except ValueError:
        raise DataError(
            f"x0 {x0.shape}, xf {xf.shape} and the batch axes of A {batch_shape} do not "
            "broadcast together."
        ) from None
    n_lead = len(out_shape) - len(batch_shape)
    lead, batch = out_shape[:n_lead], out_shape[n_lead:]
    n_pairs = int(np.prod(lead, dtype=int))

    def arrange(states):
        states = np.broadcast_to(states, (*out_shape, n)).reshape(n_pairs, *batch, n)
        return np.moveaxis(states, 0, -2)

    def restore(values, trailing=0):
        moved = np.moveaxis(values, -1 - trailing, 0)
        return moved.reshape((*lead, *batch, *values.shape[values.ndim - trailing :]))

    return arrange(x0), arrange(xf), restore


def _system_inputs(A, B, horizon, system, compat, rcond, tolerance):
    check_option("system", system, SYSTEMS)
    check_option("compat", compat, COMPAT_MODES)
    check_positive("tolerance", tolerance)
    if rcond is not None:
        check_positive("rcond", rcond)
    A = check_square("A", A)
    horizon = check_horizon(horizon, system)
    if np.isinf(horizon):
        pairs = decompose(A)
        _linalg.check_stable(np.linalg.eigvals(A) if pairs is None else pairs[0], system)
    matrix = _input_matrix(B, A.shape[-1])
    return A, matrix, horizon, _controlled_regions(B, A.shape[-1])


def _controlled_regions(control, n_regions):
    """Columns of ``B`` as region indices when ``control`` is a mask or an index list, else None.

    Weights (a float vector) give one column per region, so they need no spreading.

    Valid input is assumed (checked by ``_input_matrix``, which orders the columns the
    same way).
    """
    if control is None:
        return None
    array = np.asarray(control)
    if array.ndim != 1 or np.issubdtype(array.dtype, np.floating):
        return None  # a matrix, or weights: one column per region already
    if array.dtype == bool:
        return np.flatnonzero(array)
    return np.unique(array.astype(int) % n_regions)


def _per_region(values, regions, n_regions):
    """Spread per-input values ``(..., n_inputs)`` over the regions (0 where not controlled)."""
    if regions is None:
        return values
    out = np.zeros((*values.shape[:-1], n_regions))
    out[..., regions] = values
    return out


def _energy_from_pairs(
    dynamics, B, x0, xf, restore, *, rcond, compat, tolerance, n_regions, regions=None
):
    factor = dynamics.gramian_factor(B, rcond=rcond, compat=compat)
    if factor.gramian is None:  # symmetric A, B = I: everything in the eigenbasis of A
        V = dynamics.eigenvectors
        coefficients = xf @ V - (x0 @ V) * dynamics.growth()[..., None, :]
        energy, weighted, terminal = factor.solve_in_eigenbasis(coefficients)

        def solution():
            return weighted @ np.swapaxes(V, -1, -2)
    else:
        energy, y, terminal = factor.solve(xf - dynamics.free(x0))

        def solution():
            return y

    def node_energy():
        values = factor.scale * dynamics.node_energy(B, solution())
        return restore(_per_region(values, regions, n_regions), trailing=1)

    return _result(factor, energy, terminal, restore, node_energy, tolerance, compat, n_regions)


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------


def minimum_energy(
    A,
    x0,
    xf,
    B=None,
    *,
    horizon=1.0,
    system=None,
    rcond=None,
    compat=None,
    tolerance=TERMINAL_WARNING,
):
    r"""Minimum control energy of many state transitions at once.

    Parameters
    ----------
    A : ndarray of shape (..., n_regions, n_regions)
        System matrix (see :func:`normalize_adjacency`); leading axes are a batch.
    x0, xf : ndarray of shape (..., n_regions)
        Initial and target states. Their leading axes broadcast with each
        other and with the batch axes of ``A`` (numpy rules, aligned from the
        right), so ``A`` of shape ``(n, n)`` with ``x0`` of shape ``(100, n)``
        gives 100 transitions of one system.
    B : ndarray of shape (n_regions, n_inputs), boolean mask, index list or weights, optional
        Input matrix; ``None`` controls every region; a float vector of shape
        ``(n_regions,)`` is one input per region with that weight (``B =
        diag(weights)``, e.g. :func:`mixed_control_set`).
    horizon : float, default=1.0
        Time horizon ``T`` (a whole number of steps in discrete time);
        ``np.inf`` for a stable ``A``: the energy to reach ``xf`` with all the
        time needed (the free evolution of ``x0`` has died out), from the
        infinite-horizon Gramian (a Lyapunov solve).
    system : {"continuous", "discrete"}
        Time system of ``A``.
        Required: calling without it is deprecated (it meant ``"continuous"``).
    rcond : float, optional
        Gramian eigenvalues at or below ``rcond * lambda_max`` count as zero
        (pseudo-inverse). Default ``n_regions * eps``.
    compat : {None, "deng2022"}, default=None
        ``"deng2022"`` reproduces Deng et al. (2022): energy ``1/2 d^T pinv(W) d``
        with MATLAB's default pinv tolerance ``max(size) * eps(||W||_2)``.
    tolerance : float, default=1e-6
        Unreached fraction of a target (``terminal_error``) above which its
        ``energy`` is ``inf``; ``reachable_energy`` keeps the energy of the
        reachable part. Not applied with ``compat="deng2022"``.

    Returns
    -------
    result : EnergyResult
        ``energy`` of shape ``(...)`` (the broadcast shape), ``node_energy``
        ``(..., n_regions)`` (``(..., n_inputs)`` for a matrix ``B``, see
        :class:`EnergyResult`), ``terminal_error`` ``(...)``, and
        ``condition_number`` and ``rank`` per Gramian.

    Warns
    -----
    IllConditionedWarning
        If a Gramian's condition number exceeds ``1e10`` (or is ``inf``), so
        energies lose digits.
    UnreachableTargetWarning
        If a target is missed by more than ``tolerance`` (relative); its
        energy is then ``inf``.

    See Also
    --------
    transition_energy_matrix : Energies between every pair of states.
    time_varying_energy : Energy along a sequence of systems.
    optimal_control : Inputs that also penalise the trajectory.
    mixed_control_set : A control set that makes the system controllable.

    Notes
    -----
    :math:`E = \int_0^T \|u(t)\|^2 dt = d^T W_T^{-1} d`, :math:`d = x_f - e^{AT} x_0`,
    reached by :math:`u(t) = B^T e^{A^T (T - t)} W_T^{-1} d` (discrete time:
    :math:`d = x_f - A^T x_0`, :math:`E = \sum_t \|u_t\|^2`). There is no
    factor 1/2. ``W_T`` is computed exactly (see
    :func:`controllability_gramian`) and inverted through its
    eigendecomposition, which also gives the condition number, the rank and
    the pseudo-inverse for unreachable directions. The energy of input
    ``k`` is :math:`\int u_k^2 dt = y^T W^{(k)} y` with :math:`y = W_T^+ d` and
    :math:`W^{(k)}` the Gramian of column ``b_k``, so the node energies are true
    energies that sum to ``E`` (unlike ``(W^+ d) \circ d``, which can be
    negative for a sparse ``B``).

    References
    ----------
    .. [1] Kim J. Z., Bassett D. S. (2020). Linear dynamics and control of
       brain networks. In Neural Engineering, Springer.
    .. [2] Deng S., Li J., Thomas Yeo B. T., Gu S. (2022). Control theory
       illustrates the energy efficiency in the dynamic reconfiguration of
       functional connectivity. Communications Biology 5, 295.

    Examples
    --------
    >>> import numpy as np
    >>> result = minimum_energy(
    ...     np.array([[0.0]]), np.array([0.0]), np.array([1.0]), system="continuous"
    ... )
    >>> float(result.energy)
    1.0
    """
    system = require_system("minimum_energy", system, "continuous")
    A, B, horizon, regions = _system_inputs(A, B, horizon, system, compat, rcond, tolerance)
    n = A.shape[-1]
    x0 = _states("x0", x0, n)
    xf = _states("xf", xf, n)
    x0_pairs, xf_pairs, restore = _to_pairs(A.shape[:-2], x0, xf, n)
    dynamics = _Dynamics(A, horizon, system)
    return _energy_from_pairs(
        dynamics,
        B,
        x0_pairs,
        xf_pairs,
        restore,
        rcond=rcond,
        compat=compat,
        tolerance=tolerance,
        n_regions=n,
        regions=regions,
    )


def transition_energy_matrix(
    A,
    states,
    B=None,
    *,
    horizon=1.0,
    system=None,
    rcond=None,
    compat=None,
    tolerance=TERMINAL_WARNING,
):
    """Minimum energies between every pair of brain states.

    Parameters
    ----------
    A : ndarray of shape (..., n_regions, n_regions)
        System matrix; leading axes are a batch.
    states : ndarray of shape (..., n_states, n_regions)
        Brain states (e.g. cluster centroids); leading axes broadcast with
        those of ``A``.
    B : ndarray of shape (n_regions, n_inputs), boolean mask, index list or weights, optional
        Input matrix; ``None`` controls every region; a float vector of shape
        ``(n_regions,)`` is one input per region with that weight (``B =
        diag(weights)``, e.g. :func:`mixed_control_set`).
    horizon : float, default=1.0
        Time horizon.
    system : {"continuous", "discrete"}
        Time system of ``A``.
        Required: calling without it is deprecated (it meant ``"continuous"``).
    rcond : float, optional
        See :func:`minimum_energy`.
    compat : {None, "deng2022"}, default=None
        See :func:`minimum_energy`.
    tolerance : float, default=1e-6
        See :func:`minimum_energy`.

    Returns
    -------
    result : EnergyResult
        ``energy[..., i, j]`` is the energy from state ``i`` to state ``j``;
        ``node_energy`` has shape ``(..., n_states, n_states, n_regions)``
        (``n_inputs`` on the last axis for a matrix ``B``).

    See Also
    --------
    minimum_energy : Energies of arbitrary transitions.
    time_varying_energy : Energy along a sequence of systems.

    Notes
    -----
    One Gramian factorisation serves all ``n_states**2`` transitions. See
    :func:`minimum_energy` for the definitions (no factor 1/2).

    Examples
    --------
    >>> import numpy as np
    >>> result = transition_energy_matrix(
    ...     np.array([[0.0]]), np.array([[0.0], [2.0]]), system="continuous"
    ... )
    >>> result.energy
    array([[0., 4.],
           [4., 0.]])
    """
    system = require_system("transition_energy_matrix", system, "continuous")
    A, B, horizon, regions = _system_inputs(A, B, horizon, system, compat, rcond, tolerance)
    n = A.shape[-1]
    states = _states("states", states, n)
    if states.ndim < 2:
        raise DataError(
            f"states must have shape (..., n_states, n_regions); got shape {states.shape}."
        )
    n_states = states.shape[-2]
    try:
        batch = np.broadcast_shapes(A.shape[:-2], states.shape[:-2])
    except ValueError:
        raise DataError(
            f"the batch axes of states {states.shape[:-2]} and of A {A.shape[:-2]} do not "
            "broadcast together."
        ) from None
    full = np.broadcast_to(states, (*batch, n_states, n))
    pair_shape = (*batch, n_states, n_states, n)
    x0_pairs = np.broadcast_to(full[..., :, None, :], pair_shape)
    xf_pairs = np.broadcast_to(full[..., None, :, :], pair_shape)
    x0_pairs = x0_pairs.reshape(*batch, n_states * n_states, n)
    xf_pairs = xf_pairs.reshape(*batch, n_states * n_states, n)

    def restore(values, trailing=0):
        head = values.shape[: values.ndim - 1 - trailing]
        tail = values.shape[values.ndim - trailing :]
        return values.reshape(*head, n_states, n_states, *tail)

    dynamics = _Dynamics(A, horizon, system)
    return _energy_from_pairs(
        dynamics,
        B,
        x0_pairs,
        xf_pairs,
        restore,
        rcond=rcond,
        compat=compat,
        tolerance=tolerance,
        n_regions=n,
        regions=regions,
    )


def time_varying_energy(
    A_sequence, dt, x0, xf, B=None, *, rcond=None, compat=None, tolerance=TERMINAL_WARNING
):
    r"""Minimum energy for a piecewise-constant (time-varying) continuous-time system.

    Parameters
    ----------
    A_sequence : ndarray of shape (..., n_windows, n_regions, n_regions)
        One system matrix per window (e.g. per sliding-window FC), applied in
        order; leading axes are a batch.
    dt : float
        Duration each matrix is held; the horizon is ``n_windows * dt``.
    x0, xf : ndarray of shape (..., n_regions)
        Initial and target states; leading axes broadcast with the batch
        axes of ``A_sequence`` (see :func:`minimum_energy`).
    B : ndarray of shape (n_regions, n_inputs), boolean mask, index list or weights, optional
        Input matrix; ``None`` controls every region; a float vector of shape
        ``(n_regions,)`` is one input per region with that weight (``B =
        diag(weights)``, e.g. :func:`mixed_control_set`).
    rcond : float, optional
        See :func:`minimum_energy`.
    compat : {None, "deng2022"}, default=None
        See :func:`minimum_energy`.
    tolerance : float, default=1e-6
        See :func:`minimum_energy`.

    Returns
    -------
    result : EnergyResult
        As for :func:`minimum_energy`, with the Gramian of the whole sequence.

    See Also
    --------
    minimum_energy : Energy of one constant system.
    transition_energy_matrix : Energies between every pair of states.

    Notes
    -----
    With :math:`\Phi_k = e^{A_k \Delta t}` and :math:`W_k(\Delta t)` the Gramian of
    window ``k`` alone, the Gramian of the sequence is composed window by
    window from :math:`W = 0`: :math:`W \leftarrow \Phi_k W \Phi_k^T + W_k(\Delta t)`,
    and the free evolution of the initial state :math:`x \leftarrow \Phi_k x`.
    Then :math:`E = d^T W^{-1} d` with :math:`d = x_f - \Phi_{K-1}\cdots\Phi_0 x_0`.
    This is exact and needs O(n_regions^2) memory per step (never the block
    matrix of all windows). Symmetric windows use their eigendecompositions
    (one batched ``eigh``); directed ones Van Loan's block exponential.

    References
    ----------
    .. [1] Deng S., Li J., Thomas Yeo B. T., Gu S. (2022). Control theory
       illustrates the energy efficiency in the dynamic reconfiguration of
       functional connectivity. Communications Biology 5, 295.

    Examples
    --------
    >>> import numpy as np
    >>> A_sequence = np.zeros((4, 1, 1))
    >>> float(time_varying_energy(A_sequence, 0.25, np.array([0.0]), np.array([1.0])).energy)
    1.0
    """
    check_option("compat", compat, COMPAT_MODES)
    if rcond is not None:
        check_positive("rcond", rcond)
    check_positive("dt", dt)
    check_positive("tolerance", tolerance)
    A_sequence = check_square("A_sequence", A_sequence)
    if A_sequence.ndim < 3:
        raise DataError(
            "A_sequence must have shape (..., n_windows, n_regions, n_regions); got shape "
            f"{A_sequence.shape}."
        )
    n = A_sequence.shape[-1]
    n_windows = A_sequence.shape[-3]
    regions = _controlled_regions(B, n)
    B = _input_matrix(B, n)
    x0 = _states("x0", x0, n)
    xf = _states("xf", xf, n)
    batch_shape = A_sequence.shape[:-3]
    x0_pairs, xf_pairs, restore = _to_pairs(batch_shape, x0, xf, n)
    input_gram = np.eye(n) if B is None else B @ B.T

    symmetric = is_symmetric(A_sequence)
    transitions = []
    if symmetric:
        gram, free = _compose_symmetric(A_sequence, dt, B, x0_pairs)
    else:
        gram = np.zeros((*batch_shape, n, n))
        free = x0_pairs  # (*batch, P, n) rows: x^T
        for window in range(n_windows):  # loop over windows, not nodes
            window_gram, transition = _linalg.van_loan(
                A_sequence[..., window, :, :], input_gram, dt
            )
            gram = transition @ gram @ np.swapaxes(transition, -1, -2) + window_gram
            gram = 0.5 * (gram + np.swapaxes(gram, -1, -2))
            free = free @ np.swapaxes(transition, -1, -2)
            transitions.append(transition)

    factor = _Factor.from_gramian(gram, rcond=rcond, compat=compat)
    energy, y, terminal = factor.solve(xf_pairs - free)

    def node_energy():
        # in window k the input is B^T e^{A_k^T s} z_k, z_k = Phi_{k+1}^T ... Phi_{K-1}^T y
        z = y
        total = 0.0
        stack = symmetric_eigh(A_sequence) if symmetric else None  # cached by the composition
        for window in reversed(range(n_windows)):
            pairs = None
            if symmetric:
                pairs = (stack[0][..., window, :], stack[1][..., window, :, :])
            dynamics = _Dynamics(A_sequence[..., window, :, :], dt, "continuous", pairs)
            total = total + dynamics.node_energy(B, z)
            if symmetric:
                V = dynamics.eigenvectors
                growth = np.exp(dynamics.eigenvalues * dt)
                z = ((z @ V) * growth[..., None, :]) @ np.swapaxes(V, -1, -2)
            else:
                z = z @ transitions[window]
        return restore(_per_region(factor.scale * total, regions, n), trailing=1)

    return _result(factor, energy, terminal, restore, node_energy, tolerance, compat, n)


def _compose_symmetric(A_sequence, dt, B, x0):
    """Compose the Gramian of symmetric windows, kept in the eigenbasis of the current window.

    With ``A_k = V_k diag(lam_k) V_k^T``, ``G = V_k^T W V_k`` is updated as
    ``G <- R^T G R`` with ``R = V_{k-1}^T V_k`` (change of basis), then
    ``G <- e^{lam dt} G e^{lam dt} + (V_k^T B B^T V_k) * Phi(dt)``: three
    matrix products per window.
    """
    n = A_sequence.shape[-1]
    n_windows = A_sequence.shape[-3]
    eigenvalues, eigenvectors = symmetric_eigh(A_sequence)
    inner = np.zeros((*A_sequence.shape[:-3], n, n))
    # B = diag(b) (a mask's or weights' input): V^T B B^T V = (V^T * b^2) V, one product
    squared = None
    if B is not None and B.shape == (n, n) and not np.any(B - np.diag(np.diagonal(B))):
        squared = np.diagonal(B) ** 2
    free = x0  # coordinates in the current basis (the identity at first)
    previous = None
    diagonal = np.arange(n)
    for window in range(n_windows):  # loop over windows, not nodes
        lam = eigenvalues[..., window, :]
        V = eigenvectors[..., window, :, :]
        if previous is None:
            free = free @ V
        else:
            change = np.swapaxes(previous, -1, -2) @ V
            inner = np.swapaxes(change, -1, -2) @ inner @ change
            free = free @ change
        growth = np.exp(lam * dt)
        inner *= growth[..., :, None] * growth[..., None, :]
        free = free * growth[..., None, :]
        if B is None:
            inner[..., diagonal, diagonal] += _linalg.phi_continuous(2.0 * lam, dt)
        else:
            weights = _linalg.eigen_weights(lam, dt, "continuous")
            if squared is not None:
                inner += ((np.swapaxes(V, -1, -2) * squared) @ V) * weights
            else:
                projected = np.swapaxes(V, -1, -2) @ B
                inner += (projected @ np.swapaxes(projected, -1, -2)) * weights
        inner = 0.5 * (inner + np.swapaxes(inner, -1, -2))
        previous = V
    gram = previous @ inner @ np.swapaxes(previous, -1, -2)
    return 0.5 * (gram + np.swapaxes(gram, -1, -2)), free @ np.swapaxes(previous, -1, -2)
