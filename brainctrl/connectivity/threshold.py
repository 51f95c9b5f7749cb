"""Thresholds for connectivity matrices: absolute, proportional and significance.

Every function takes a symmetric matrix or a stack of them ``(..., n_regions,
n_regions)``, acts on the off-diagonal entries only (the diagonal is returned
unchanged) and returns a new array with the removed edges set to 0. The
decision is made on the upper triangle and mirrored, so the result stays
symmetric.
"""

import logging

import numpy as np
from scipy import special

from brainctrl._utils.multiple import step_up_adjusted
from brainctrl._utils.validation import check_positive, check_square
from brainctrl.exceptions import InvalidParameterError

__all__ = [
    "correlation_pvalues",
    "fdr_bh",
    "threshold_absolute",
    "threshold_proportional",
    "threshold_significance",
]

logger = logging.getLogger(__name__)


def _upper_indices(n_regions):
    return np.triu_indices(n_regions, k=1)


def _apply_upper_mask(matrix, keep_upper):
    """Zero the off-diagonal entries whose upper-triangle flag is False (mirrored)."""
    n_regions = matrix.shape[-1]
    rows, cols = _upper_indices(n_regions)
    out = matrix.copy()
    drop = ~keep_upper
    values = out[..., rows, cols]
    values[drop] = 0
    out[..., rows, cols] = values
    out[..., cols, rows] = values
    return out


def threshold_absolute(matrix, cutoff):
    """Set off-diagonal entries with ``|w| < cutoff`` to zero.

    Parameters
    ----------
    matrix : array-like of shape (..., n_regions, n_regions)
        Symmetric connectivity matrix or a stack of them.
    cutoff : float
        Entries whose absolute value is below ``cutoff`` are removed; entries
        with ``|w| >= cutoff`` are kept with their sign.

    Returns
    -------
    thresholded : ndarray of shape (..., n_regions, n_regions)
        Copy of ``matrix`` with the removed edges set to 0; diagonal unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> threshold_absolute(np.array([[1.0, 0.2], [0.2, 1.0]]), 0.3)
    array([[1., 0.],
           [0., 1.]])
    """
    matrix = check_square("matrix", matrix, finite=False)
    check_positive("cutoff", cutoff, strict=False)
    rows, cols = _upper_indices(matrix.shape[-1])
    keep = np.abs(matrix[..., rows, cols]) >= cutoff
    return _apply_upper_mask(matrix, keep)


def threshold_proportional(matrix, density):
    """Keep the strongest fraction ``density`` of edges by absolute weight.

    Parameters
    ----------
    matrix : array-like of shape (..., n_regions, n_regions)
        Symmetric connectivity matrix or a stack of them.
    density : float in [0, 1]
        Fraction of the ``n_regions (n_regions - 1) / 2`` off-diagonal pairs to
        keep, rounded to the nearest integer number of edges.

    Returns
    -------
    thresholded : ndarray of shape (..., n_regions, n_regions)
        Copy of ``matrix`` where only the ``round(density * n_pairs)`` entries
        of largest ``|w|`` in the upper triangle (and their mirror images) are
        kept; diagonal unchanged.

    Notes
    -----
    Edges are ranked by ``|w|`` in the upper triangle, read row by row; ties
    at the cut-off are broken in favour of the earlier pair (a stable sort), so
    exactly ``round(density * n_pairs)`` edges survive. Signs are kept.

    Examples
    --------
    >>> import numpy as np
    >>> w = np.array([[0, 0.5, -0.9], [0.5, 0, 0.1], [-0.9, 0.1, 0]])
    >>> threshold_proportional(w, 1 / 3)
    array([[ 0. ,  0. , -0.9],
           [ 0. ,  0. ,  0. ],
           [-0.9,  0. ,  0. ]])
    """
    matrix = check_square("matrix", matrix, finite=False)
    check_positive("density", density, strict=False)
    if density > 1:
        raise InvalidParameterError(f"'density' must be in [0, 1]; got {density!r}.")
    rows, cols = _upper_indices(matrix.shape[-1])
    values = np.abs(matrix[..., rows, cols])
    n_pairs = values.shape[-1]
    n_keep = int(np.round(density * n_pairs))
    order = np.argsort(-values, axis=-1, kind="stable")
    keep = np.zeros(values.shape, dtype=bool)
    np.put_along_axis(keep, order[..., :n_keep], True, axis=-1)
    return _apply_upper_mask(matrix, keep)


def correlation_pvalues(correlation, n_samples, *, n_controlled=0):
    """Two-sided p-values of (partial) correlation coefficients.

    Parameters
    ----------
    correlation : array-like
        Pearson (or partial) correlation coefficients, any shape.
    n_samples : int
        Number of samples (frames) each coefficient was computed from.
    n_controlled : int, default=0
        Number of variables partialled out (``n_regions - 2`` for a full
        partial-correlation matrix).

    Returns
    -------
    pvalues : ndarray
        Same shape as ``correlation``; 0 where ``|r| = 1``.

    Notes
    -----
    With ``df = n_samples - 2 - n_controlled``, ``t = r sqrt(df / (1 - r^2))``
    follows Student's t with ``df`` degrees of freedom under the null of no
    (partial) correlation in Gaussian data, and ``p = 2 P(T > |t|)``, computed
    as the regularised incomplete beta function ``I_{1 - r^2}(df / 2, 1 / 2)``.
    This is the test of :func:`scipy.stats.pearsonr`.

    Examples
    --------
    >>> round(float(correlation_pvalues(0.5, 20)), 4)
    0.0248
    """
    check_positive("n_samples", n_samples, integer=True)
    check_positive("n_controlled", n_controlled, strict=False, integer=True)
    df = n_samples - 2 - n_controlled
    if df < 1:
        raise InvalidParameterError(
            f"'n_samples' must exceed n_controlled + 2 = {n_controlled + 2} to test "
            f"correlations; got {n_samples!r}."
        )
    r = np.clip(np.asarray(correlation, dtype=np.float64), -1.0, 1.0)
    # 2 P(T > |t|) = I_x(df / 2, 1 / 2) with x = df / (df + t^2) = 1 - r^2, which
    # stays exact at |r| = 1 (p = 0) without forming t.
    return special.betainc(0.5 * df, 0.5, 1.0 - r * r)


def fdr_bh(pvalues, alpha=0.05):
    """Benjamini-Hochberg false-discovery-rate decisions along the last axis.

    Parameters
    ----------
    pvalues : array-like of shape (..., n_tests)
        p-values; each row along the last axis is one family of tests.
    alpha : float, default=0.05
        False discovery rate.

    Returns
    -------
    reject : ndarray of bool, shape (..., n_tests)
        True where the null hypothesis is rejected.

    Notes
    -----
    Sort the ``m`` p-values, find the largest ``k`` with ``p_(k) <= k alpha / m``
    and reject the ``k`` smallest (Benjamini & Hochberg 1995). This is the same
    as ``p_adjusted <= alpha`` with the Benjamini-Hochberg adjusted p-values
    (one computation serves both), so for finite p-values it agrees exactly
    with ``brainctrl.stats.fdr_correction(p) <= alpha``. NaN entries are never
    rejected but count in ``m``.

    References
    ----------
    .. [1] Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate:
       a practical and powerful approach to multiple testing. J R Stat Soc B 57:289-300.

    Examples
    --------
    >>> fdr_bh([0.01, 0.02, 0.03, 0.5], alpha=0.05)
    array([ True,  True,  True, False])
    """
    check_positive("alpha", alpha)
    return step_up_adjusted(pvalues) <= alpha


def threshold_significance(correlation, n_samples, *, alpha=0.05, fdr=False, n_controlled=0):
    """Zero the correlations that are not significantly different from 0.

    Parameters
    ----------
    correlation : array-like of shape (..., n_regions, n_regions)
        Symmetric Pearson (or partial) correlation matrix or a stack of them,
        e.g. one matrix per sliding window (then ``n_samples`` is the window
        length).
    n_samples : int
        Number of frames each correlation was computed from.
    alpha : float, default=0.05
        Significance level.
    fdr : bool, default=False
        If True, control the false discovery rate at ``alpha`` with
        Benjamini-Hochberg over the ``n_regions (n_regions - 1) / 2`` pairs of
        each matrix; if False, keep entries with uncorrected ``p <= alpha``.
    n_controlled : int, default=0
        Variables partialled out (``n_regions - 2`` for partial correlations).

    Returns
    -------
    thresholded : ndarray of shape (..., n_regions, n_regions)
        Copy of ``correlation`` with non-significant off-diagonal entries set to
        0; diagonal unchanged.

    Notes
    -----
    p-values come from :func:`correlation_pvalues`. ``fdr=False`` with
    ``alpha=0.05`` is the rule of Deng et al. (2022), who set entries with
    uncorrected ``p > 0.05`` to zero before turning functional connectivity into
    a control system.

    References
    ----------
    .. [1] Deng S, Li J, Thomas Yeo BT, Gu S (2022). Control theory illustrates
       the energy efficiency in the dynamic reconfiguration of functional
       connectivity. Commun Biol 5:295.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.array([[1.0, 0.6, 0.1], [0.6, 1.0, 0.2], [0.1, 0.2, 1.0]])
    >>> threshold_significance(r, 30)
    array([[1. , 0.6, 0. ],
           [0.6, 1. , 0. ],
           [0. , 0. , 1. ]])
    """
    correlation = check_square("correlation", correlation, finite=False)
    check_positive("alpha", alpha)
    if alpha >= 1:
        raise InvalidParameterError(f"'alpha' must be in (0, 1); got {alpha!r}.")
    rows, cols = _upper_indices(correlation.shape[-1])
    pvalues = correlation_pvalues(
        correlation[..., rows, cols], n_samples, n_controlled=n_controlled
    )
    keep = fdr_bh(pvalues, alpha) if fdr else pvalues <= alpha
    return _apply_upper_mask(correlation, keep)
