"""Sparse CCA solver: penalised power iterations on the cross product ``XᵀY``.

The kernel :func:`_fit_arrays` standardises ``X`` and ``Y`` and runs the
penalised matrix decomposition (Witten, Tibshirani & Hastie 2009) on
``XᵀY``, with the exact soft threshold or, with ``compat="pma"``, the steps of
the R package PMA 1.2. :class:`~brainctrl.stats.SparseCCA` and the inference
functions of :mod:`brainctrl.stats._cca_inference` both call it.
"""

import numbers

import numpy as np
from threadpoolctl import ThreadpoolController

from brainctrl._utils.validation import check_array, check_finite
from brainctrl.exceptions import DataError, InvalidParameterError

__all__ = []

_COMPAT_OPTIONS = (None, "pma")
# R package PMA 1.2: CCA() runs niter = 15 iterations, CCA.permute() niter = 3,
# both stop early once sum(|v_old - v|) <= 1e-6.
_PMA_N_ITER = 15
_PMA_PERMUTE_N_ITER = 3
_PMA_TOL = 1e-6


_CONTROLLER = []


def _single_blas_thread():
    """Context limiting BLAS to one thread: the p × q problems here gain nothing from threads.

    On a loaded machine, multithreaded BLAS on such small matrices can be 100x
    slower than one thread. The controller is created once (scanning the loaded
    libraries takes milliseconds).
    """
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


# ---------------------------------------------------------------------------
# soft-thresholding
# ---------------------------------------------------------------------------
def _soft_threshold(values, delta):
    return np.sign(values) * np.maximum(np.abs(values) - delta, 0.0)


def _exact_threshold(values, bound):
    """Smallest Δ ≥ 0 with ``‖S(a,Δ)‖₁ ≤ bound·‖S(a,Δ)‖₂``, found exactly.

    Returns ``(delta, keep_max_only)``. ``keep_max_only`` is True when
    ``bound < 1`` (or the bound can only be met in the limit Δ → max|a|), in which
    case the solution is the limit vector supported on the largest entries.

    With ``s`` the magnitudes sorted in decreasing order, ``A_k = Σ_{i≤k} s_i`` and
    ``Q_k = Σ_{i≤k} s_i²``, the ratio ``‖S‖₁/‖S‖₂`` is non-increasing in Δ; on the
    interval ``s_{k+1} ≤ Δ ≤ s_k`` (support of size k) it equals ``bound`` where
    ``k(k − c²)Δ² − 2A_k(k − c²)Δ + A_k² − c²Q_k = 0``, whose root below
    ``A_k/k`` is ``Δ = (A_k − c·sqrt((kQ_k − A_k²)/(k − c²)))/k``.
    """
    magnitudes = np.abs(values)
    total_l1 = magnitudes.sum()
    total_l2 = np.sqrt(np.dot(magnitudes, magnitudes))
    if total_l2 == 0.0 or total_l1 <= bound * total_l2:
        return 0.0, False
    if bound <= 1.0:
        return float(magnitudes.max()), True
    s = np.sort(magnitudes)[::-1]
    cum_l1 = np.cumsum(s)
    cum_l2 = np.cumsum(s * s)
    k = np.arange(1, s.size + 1, dtype=float)
    following = np.empty_like(s)
    following[:-1] = s[1:]
    following[-1] = 0.0
    # ratio at the breakpoint Δ = s_{k+1} (support = top k entries)
    l1_at = cum_l1 - k * following
    l2sq_at = np.maximum(cum_l2 - 2.0 * following * cum_l1 + k * following**2, 0.0)
    reaches = l1_at * l1_at >= bound * bound * l2sq_at
    index = int(np.argmax(reaches))  # the last entry is always True here
    size = k[index]
    a_k = cum_l1[index]
    q_k = cum_l2[index]
    excess = size - bound * bound
    if excess <= 0.0:
        return float(following[index]), False
    spread = max(size * q_k - a_k * a_k, 0.0)
    delta = (a_k - bound * np.sqrt(spread / excess)) / size
    delta = min(max(delta, following[index]), s[index])
    return float(delta), False


def _sparse_unit_vector(values, bound):
    """Return ``S(a,Δ)/‖S(a,Δ)‖₂`` with the exact L1-bound threshold."""
    delta, keep_max_only = _exact_threshold(values, bound)
    if keep_max_only:
        magnitudes = np.abs(values)
        out = np.where(magnitudes == magnitudes.max(), np.sign(values), 0.0)
    else:
        out = _soft_threshold(values, delta)
    norm = np.sqrt(np.dot(out, out))
    return out / norm if norm > 0 else out


def _pma_norm(values):
    # PMA's l2n(): the Euclidean norm, replaced by 0.05 when it is zero.
    norm = np.sqrt(np.dot(values, values))
    return norm if norm != 0 else 0.05


def _pma_binary_search(values, bound):
    """PMA 1.2 ``BinarySearch``: bisection for the soft threshold, up to 149 halvings."""
    if _pma_norm(values) == 0 or np.abs(values / _pma_norm(values)).sum() <= bound:
        return 0.0
    low = 0.0
    high = np.abs(values).max() - 1e-5
    iteration = 1
    while iteration < 150:
        middle = (low + high) / 2.0
        thresholded = _soft_threshold(values, middle)
        if np.abs(thresholded / _pma_norm(thresholded)).sum() < bound:
            high = middle
        else:
            low = middle
        if high - low < 1e-6:
            return (low + high) / 2.0
        iteration += 1
    return (low + high) / 2.0


def _pma_unit_vector(values, bound):
    thresholded = _soft_threshold(values, _pma_binary_search(values, bound))
    return thresholded / _pma_norm(thresholded)


# ---------------------------------------------------------------------------
# kernel
# ---------------------------------------------------------------------------
def _standardize_fit(data, standardize, name):
    mean = data.mean(axis=0)
    if standardize:
        if data.shape[0] < 2:
            raise DataError(f"{name} needs at least 2 rows to standardise; got {data.shape[0]}.")
        scale = data.std(axis=0, ddof=1)
        constant = np.flatnonzero(scale == 0)
        if constant.size:
            shown = ", ".join(str(int(i)) for i in constant[:10])
            raise DataError(
                f"{name} has {constant.size} constant column(s) ({shown}); they cannot be "
                "standardised. Remove them."
            )
    else:
        scale = np.ones(data.shape[1])
    return mean, scale


def _leading_right_vector(matrix):
    """Leading right singular vector from the eigendecomposition of the smaller Gram matrix."""
    p, q = matrix.shape
    if q <= p:
        return np.linalg.eigh(matrix.T @ matrix)[1][:, -1]
    left = np.linalg.eigh(matrix @ matrix.T)[1][:, -1]
    right = matrix.T @ left
    norm = np.linalg.norm(right)
    return right / norm if norm > 0 else right


def _fit_cross_product(cross, bounds, n_components, *, compat, max_iter, tol, v_start=None):
    """Penalized matrix decomposition of ``cross = XᵀY`` (standardised data).

    Returns ``(U, V, d, n_iter, converged)``; ``U`` is ``(p, K)``, ``V`` is ``(q, K)``.
    """
    bound_x, bound_y = bounds
    p, q = cross.shape
    weights_x = np.zeros((p, n_components))
    weights_y = np.zeros((q, n_components))
    singular = np.zeros(n_components)
    n_iter = np.zeros(n_components, dtype=int)
    converged = np.zeros(n_components, dtype=bool)
    residual = cross.copy()
    if compat == "pma":
        if v_start is None:
            # PMA CheckVs(): the first K right singular vectors of the original XᵀZ
            v_start = np.linalg.svd(cross, full_matrices=False)[2][:n_components].T
        for component in range(n_components):
            v = v_start[:, component].copy()
            u = np.zeros(p)
            change = np.inf
            for _ in range(max_iter):
                if change <= tol:
                    break
                u = _pma_unit_vector(residual @ v, bound_x)
                v_old = v
                v = _pma_unit_vector(residual.T @ u, bound_y)
                change = np.abs(v_old - v).sum()
                n_iter[component] += 1
            converged[component] = change <= tol
            singular[component] = u @ residual @ v
            residual = residual - singular[component] * np.outer(u, v)
            weights_x[:, component] = u
            weights_y[:, component] = v
        return weights_x, weights_y, singular, n_iter, converged

    for component in range(n_components):
        if v_start is not None:
            v = v_start[:, component].copy()
        else:
            v = _leading_right_vector(residual)
        u = np.zeros(p)
        for _ in range(max_iter):
            u_new = _sparse_unit_vector(residual @ v, bound_x)
            v_new = _sparse_unit_vector(residual.T @ u_new, bound_y)
            change = np.abs(u_new - u).sum() + np.abs(v_new - v).sum()
            u, v = u_new, v_new
            n_iter[component] += 1
            if change < tol:
                converged[component] = True
                break
        singular[component] = u @ residual @ v
        residual = residual - singular[component] * np.outer(u, v)
        weights_x[:, component] = u
        weights_y[:, component] = v
    return weights_x, weights_y, singular, n_iter, converged


def _orient(weights_x, weights_y):
    """Flip each component so its largest-magnitude x weight is positive."""
    for component in range(weights_x.shape[1]):
        column = weights_x[:, component]
        if not column.any():
            column = weights_y[:, component]
        if column.any() and column[np.argmax(np.abs(column))] < 0:
            weights_x[:, component] *= -1
            weights_y[:, component] *= -1
    # adding 0.0 turns negative zeros into zeros
    return weights_x + 0.0, weights_y + 0.0


def _correlation_columns(a, b):
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    numerator = (a * b).sum(axis=0)
    denominator = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(denominator > 0, numerator / np.where(denominator > 0, denominator, 1), 0)
    return out


def _resolve_iterations(compat, max_iter, tol, *, permute=False):
    if max_iter is None:
        if compat == "pma":
            max_iter = _PMA_PERMUTE_N_ITER if permute else _PMA_N_ITER
        else:
            max_iter = 1000
    if tol is None:
        tol = _PMA_TOL if compat == "pma" else 1e-10
    return max_iter, tol


def _fit_arrays(
    X, Y, penalty_x, penalty_y, n_components, *, compat, max_iter, tol, standardize, v_start=None
):
    mean_x, scale_x = _standardize_fit(X, standardize, "X")
    mean_y, scale_y = _standardize_fit(Y, standardize, "Y")
    Xs = (X - mean_x) / scale_x
    Ys = (Y - mean_y) / scale_y
    cross = Xs.T @ Ys
    bounds = (penalty_x * np.sqrt(X.shape[1]), penalty_y * np.sqrt(Y.shape[1]))
    weights_x, weights_y, singular, n_iter, converged = _fit_cross_product(
        cross, bounds, n_components, compat=compat, max_iter=max_iter, tol=tol, v_start=v_start
    )
    weights_x, weights_y = _orient(weights_x, weights_y)
    correlations = _correlation_columns(Xs @ weights_x, Ys @ weights_y)
    return {
        "mean_x": mean_x,
        "scale_x": scale_x,
        "mean_y": mean_y,
        "scale_y": scale_y,
        "x_weights": weights_x,
        "y_weights": weights_y,
        "singular_values": singular,
        "n_iter": n_iter,
        "converged": converged,
        "correlations": correlations,
    }


def _check_penalty(name, value, n_features):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidParameterError(
            f"'{name}' must be a number in (0, 1]; got {value!r} of type {type(value).__name__}."
        )
    if not 0 < value <= 1:
        raise InvalidParameterError(f"'{name}' must be in (0, 1]; got {value!r}.")
    return float(value)


def _check_pair(X, Y):
    Xa = check_array("X", X, ndim=2)
    Ya = check_array("Y", Y, ndim=2)
    check_finite("X", Xa)
    check_finite("Y", Ya)
    if Xa.shape[0] != Ya.shape[0]:
        raise DataError(
            f"X and Y must have the same number of rows (subjects); got X {Xa.shape} "
            f"and Y {Ya.shape}."
        )
    if Xa.shape[0] < 3:
        raise DataError(f"X and Y need at least 3 rows (subjects); got {Xa.shape[0]}.")
    return Xa, Ya


def _in_sample_correlation(
    X, Y, penalty_x, penalty_y, *, compat, max_iter, tol, v_start=None, standardize=True
):
    """In-sample canonical correlation of the first component."""
    fitted = _fit_arrays(
        X,
        Y,
        penalty_x,
        penalty_y,
        1,
        compat=compat,
        max_iter=max_iter,
        tol=tol,
        standardize=standardize,
        v_start=v_start,
    )
    return float(fitted["correlations"][0])


# ---------------------------------------------------------------------------
# PMA's permutation criterion (CCA.permute)
# ---------------------------------------------------------------------------
def _pma_ftrans(r):
    # PMA 1.2's ftrans(): log((1 + r) / (1 - r)), i.e. twice Fisher's z
    r = np.clip(r, -1 + 1e-15, 1 - 1e-15)
    return np.log((1 + r) / (1 - r))


def _pma_z_statistics(observed, null):
    """PMA's ``CCA.permute`` score of each candidate (row of ``null``)."""
    transformed = _pma_ftrans(null)
    # 0.05 in the denominator as in PMA, against an infinite z when the null is constant
    return (_pma_ftrans(observed) - transformed.mean(axis=1)) / (
        transformed.std(axis=1, ddof=1) + 0.05
    )
