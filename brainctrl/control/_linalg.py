"""Private linear-algebra kernels shared by the control functions.

Everything here works on stacks of matrices ``(..., n, n)`` and never loops
over nodes. The symmetric kernels use one eigendecomposition
``A = V diag(lam) V^T`` and the closed forms of METHODS.md; the general
kernels use Van Loan's block exponential and Lyapunov solvers.
"""

import threading

import numpy as np
import scipy.linalg
from scipy.special import exprel

from brainctrl.exceptions import DataError, InvalidParameterError

__all__ = []

SYSTEMS = ("continuous", "discrete")

# ---------------------------------------------------------------------------
# Symmetry test and a small cache of eigendecompositions
# ---------------------------------------------------------------------------


def is_symmetric(matrix, *, tol=1e-12):
    """Return True if every matrix of the stack is symmetric up to ``tol`` (relative)."""
    scale = np.max(np.abs(matrix), initial=0.0)
    if scale == 0:
        return True
    return bool(np.max(np.abs(matrix - np.swapaxes(matrix, -1, -2))) <= tol * scale)


class _EigCache:
    """Remember the eigendecompositions of the last few symmetric matrices.

    A typical analysis normalises one adjacency matrix and then asks for
    several metrics of the result; each needs the same eigendecomposition.
    Entries are matched by content (``np.array_equal`` on a private copy), so a
    changed array is never served a stale decomposition.
    """

    max_entries = 6
    max_bytes = 64 * 2**20

    def __init__(self):
        self._entries = []
        self._lock = threading.Lock()

    def get(self, matrix):
        with self._lock:
            for index, (key, value) in enumerate(self._entries):
                if key.shape == matrix.shape and np.array_equal(key, matrix):
                    self._entries.insert(0, self._entries.pop(index))
                    return value
        return None

    def put(self, matrix, eigenvalues, eigenvectors):
        if 2 * matrix.nbytes > self.max_bytes:
            return
        key = np.array(matrix, copy=True)
        eigenvalues = np.array(eigenvalues, copy=True)
        eigenvectors = np.array(eigenvectors, copy=True)
        for array in (key, eigenvalues, eigenvectors):
            array.setflags(write=False)
        with self._lock:
            self._entries.insert(0, (key, (eigenvalues, eigenvectors)))
            total = 0
            kept = []
            for entry in self._entries:
                total += 2 * entry[0].nbytes
                if len(kept) < self.max_entries and total <= self.max_bytes:
                    kept.append(entry)
            self._entries = kept

    def clear(self):
        with self._lock:
            self._entries = []


EIG_CACHE = _EigCache()


def symmetric_eigh(matrix):
    """Eigenvalues ``(..., n)`` and eigenvectors ``(..., n, n)`` of a symmetric stack (cached)."""
    cached = EIG_CACHE.get(matrix)
    if cached is not None:
        return cached
    # LAPACK reads one triangle only: asymmetry below is_symmetric's tolerance is ignored
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    EIG_CACHE.put(matrix, eigenvalues, eigenvectors)
    return eigenvalues, eigenvectors


def decompose(matrix):
    """Eigenpairs of a symmetric stack (from the cache when possible), or None if asymmetric."""
    cached = EIG_CACHE.get(matrix)
    if cached is not None:
        return cached
    if not is_symmetric(matrix):
        return None
    return symmetric_eigh(matrix)


# ---------------------------------------------------------------------------
# Scalar kernels of the closed forms
# ---------------------------------------------------------------------------


def phi_continuous(s, horizon):
    """``(exp(s T) - 1) / s``, equal to ``T`` at ``s = 0`` (``np.inf`` horizon: ``-1/s``)."""
    if np.isinf(horizon):
        with np.errstate(divide="ignore"):
            return -1.0 / s
    return horizon * exprel(s * horizon)


def psi_discrete(q, horizon):
    """``sum_{k=0}^{T-1} q^k``, i.e. ``(1 - q^T) / (1 - q)`` (``np.inf``: ``1 / (1 - q)``)."""
    q = np.asarray(q, dtype=float)
    if np.isinf(horizon):
        with np.errstate(divide="ignore"):
            return 1.0 / (1.0 - q)
    out = np.empty_like(q)
    positive = q > 0
    qp = q[positive]
    # q^T - 1 = expm1(T log q); near q = 1 use log1p(q - 1) / (q - 1) -> 1.
    delta = qp - 1.0
    log_q = np.log1p(delta)
    ratio = np.ones_like(qp)
    nonzero = delta != 0
    ratio[nonzero] = log_q[nonzero] / delta[nonzero]
    out[positive] = horizon * exprel(horizon * log_q) * ratio
    qn = q[~positive]
    out[~positive] = (1.0 - qn**horizon) / (1.0 - qn)
    return out


# ---------------------------------------------------------------------------
# Gramians
# ---------------------------------------------------------------------------


def check_stable(eigenvalues, system, name="A"):
    """Raise if a system with these eigenvalues has no infinite-horizon Gramian.

    When ``A`` is stable as a system of the other time (as
    :func:`normalize_adjacency` makes it for that ``system``), the message says
    which ``system`` to pass.
    """
    largest_real = float(np.max(np.real(eigenvalues)))
    radius = float(np.max(np.abs(eigenvalues)))
    if system == "continuous":
        unstable = largest_real >= 0
        evidence = f"largest real part of an eigenvalue {largest_real:.6g} >= 0"
        other, stable_as_other = "discrete", radius < 1
        other_rule = "spectral radius below 1"
    else:
        unstable = radius >= 1
        evidence = f"spectral radius {radius:.6g} >= 1"
        other, stable_as_other = "continuous", largest_real < 0
        other_rule = "every eigenvalue with a negative real part"
    if not unstable:
        return
    hint = "Use a finite horizon or normalise A with normalize_adjacency."
    if stable_as_other:
        hint = (
            f"{name} is stable as a {other}-time system ({other_rule}, as "
            f"normalize_adjacency(W, system='{other}') makes it): pass system='{other}' "
            f"here, or normalise W with normalize_adjacency(W, system='{system}')."
        )
    raise DataError(
        f"{name} is not stable ({evidence}); an infinite-horizon Gramian exists only for "
        f"stable {system}-time systems. {hint}"
    )


def eigen_weights(eigenvalues, horizon, system):
    """Return the matrix ``Phi_ij`` of the symmetric closed form, shape ``(..., n, n)``."""
    li = eigenvalues[..., :, None]
    lj = eigenvalues[..., None, :]
    if system == "continuous":
        return phi_continuous(li + lj, horizon)
    return psi_discrete(li * lj, horizon)


def gramian_symmetric(eigenvalues, eigenvectors, input_matrix, horizon, system):
    """``W = V [(V^T B B^T V) * Phi] V^T`` for symmetric A; ``input_matrix=None`` means B = I."""
    if np.isinf(horizon):
        check_stable(eigenvalues, system)
    weights = eigen_weights(eigenvalues, horizon, system)
    if input_matrix is None:
        inner = np.diagonal(weights, axis1=-2, axis2=-1)[..., None, :] * eigenvectors
        gram = inner @ np.swapaxes(eigenvectors, -1, -2)
    else:
        projected = np.swapaxes(eigenvectors, -1, -2) @ input_matrix
        core = (projected @ np.swapaxes(projected, -1, -2)) * weights
        gram = eigenvectors @ core @ np.swapaxes(eigenvectors, -1, -2)
    return 0.5 * (gram + np.swapaxes(gram, -1, -2))


def van_loan(matrix, input_gram, horizon):
    """Continuous finite-horizon Gramian and ``e^{AT}`` by Van Loan's block exponential.

    ``M = [[-A, Q], [0, A^T]]``, ``E = expm(M T)``: ``e^{AT} = E22^T`` and
    ``W_T = E22^T E12``, with ``Q = B B^T`` (batch axes allowed).
    """
    n = matrix.shape[-1]
    batch = np.broadcast_shapes(matrix.shape[:-2], input_gram.shape[:-2])
    block = np.zeros((*batch, 2 * n, 2 * n))
    block[..., :n, :n] = -matrix
    block[..., :n, n:] = input_gram
    block[..., n:, n:] = np.swapaxes(matrix, -1, -2)
    exponential = scipy.linalg.expm(block * horizon)
    transition = np.swapaxes(exponential[..., n:, n:], -1, -2)
    gram = transition @ exponential[..., :n, n:]
    return 0.5 * (gram + np.swapaxes(gram, -1, -2)), transition


def _matrix_power_gramian(matrix, input_gram, steps):
    """Discrete ``sum_{k<T} A^k Q (A^k)^T`` and ``A^T`` by doubling (O(log T) products)."""
    n = matrix.shape[-1]
    batch = np.broadcast_shapes(matrix.shape[:-2], input_gram.shape[:-2])
    total = np.zeros((*batch, n, n))
    total_power = np.broadcast_to(np.eye(n), (*batch, n, n)).copy()
    block = np.broadcast_to(input_gram, (*batch, n, n)).copy()  # sum over 2^j steps
    block_power = np.broadcast_to(matrix, (*batch, n, n)).copy()  # A^(2^j)
    remaining = int(steps)
    while remaining:
        if remaining & 1:
            # append `block` after the steps already in `total`
            total = block + block_power @ total @ np.swapaxes(block_power, -1, -2)
            total_power = block_power @ total_power
        remaining >>= 1
        if remaining:
            block = block + block_power @ block @ np.swapaxes(block_power, -1, -2)
            block_power = block_power @ block_power
    return 0.5 * (total + np.swapaxes(total, -1, -2)), total_power


def lyapunov(matrix, input_gram, system):
    """Infinite-horizon Gramian of a stable system, one Lyapunov solve per batch element."""
    eigenvalues = np.linalg.eigvals(matrix)
    check_stable(eigenvalues, system)
    batch = np.broadcast_shapes(matrix.shape[:-2], input_gram.shape[:-2])
    n = matrix.shape[-1]
    matrices = np.broadcast_to(matrix, (*batch, n, n)).reshape(-1, n, n)
    grams = np.broadcast_to(input_gram, (*batch, n, n)).reshape(-1, n, n)
    out = np.empty_like(matrices)
    for index in range(matrices.shape[0]):  # loop over batch elements, not nodes
        if system == "continuous":
            out[index] = scipy.linalg.solve_continuous_lyapunov(matrices[index], -grams[index])
        else:
            out[index] = scipy.linalg.solve_discrete_lyapunov(matrices[index], grams[index])
    out = out.reshape(*batch, n, n)
    return 0.5 * (out + np.swapaxes(out, -1, -2))


def general_gramian(matrix, input_gram, horizon, system):
    """Gramian and transition matrix (None for an infinite horizon) of a general A."""
    if np.isinf(horizon):
        return lyapunov(matrix, input_gram, system), None
    if system == "continuous":
        return continuous_gramian(matrix, input_gram, horizon)
    return _matrix_power_gramian(matrix, input_gram, horizon)


#: Van Loan's block exponential holds e^{-AT}: past this decay ``|Re lambda| T``
#: (its error grows as e^{2 |Re lambda| T} eps) a stable system's Gramian is
#: taken as the difference of infinite-horizon Gramians instead.
_VAN_LOAN_SPREAD = 2.0


def continuous_gramian(matrix, input_gram, horizon):
    """Finite-horizon continuous Gramian and ``e^{AT}`` of a general (stack of) A.

    Van Loan's block exponential for short horizons; for a stable system whose
    fastest mode decays over more than ``_VAN_LOAN_SPREAD`` in ``T``,
    ``W_T = W_inf - e^{AT} W_inf e^{A^T T}`` (one Lyapunov solve), which keeps
    full accuracy where the block exponential loses it.
    """
    real = np.real(np.linalg.eigvals(matrix))
    if np.all(real < 0) and float(np.max(-real)) * horizon > _VAN_LOAN_SPREAD:
        infinite = lyapunov(matrix, input_gram, "continuous")
        transition = scipy.linalg.expm(matrix * horizon)
        gram = infinite - transition @ infinite @ np.swapaxes(transition, -1, -2)
        return 0.5 * (gram + np.swapaxes(gram, -1, -2)), transition
    return van_loan(matrix, input_gram, horizon)


def transition_symmetric(eigenvalues, eigenvectors, horizon, system):
    """``e^{AT}`` (continuous) or ``A^T`` (discrete) of a symmetric stack."""
    if system == "continuous":
        scale = np.exp(eigenvalues * horizon)
    else:
        scale = eigenvalues ** int(horizon)
    return (eigenvectors * scale[..., None, :]) @ np.swapaxes(eigenvectors, -1, -2)


def check_horizon(horizon, system, *, allow_inf=True):
    """Validate a horizon: positive; an integer number of steps in discrete time."""
    if isinstance(horizon, bool) or not isinstance(horizon, (int, float, np.integer, np.floating)):
        raise InvalidParameterError(
            f"'horizon' must be a positive number; got {horizon!r} of type "
            f"{type(horizon).__name__}."
        )
    horizon = float(horizon)
    if np.isnan(horizon) or horizon <= 0:
        raise InvalidParameterError(f"'horizon' must be > 0; got {horizon!r}.")
    if np.isinf(horizon):
        if not allow_inf:
            raise InvalidParameterError("'horizon' must be finite here; got inf.")
        return horizon
    if system == "discrete" and horizon != round(horizon):
        raise InvalidParameterError(
            "'horizon' must be a whole number of steps for a discrete-time system; "
            f"got {horizon!r}."
        )
    return horizon
