"""Multiple-comparison corrections: false discovery rate (Benjamini–Hochberg, –Yekutieli)."""

import numpy as np

from brainctrl._utils.multiple import step_up_adjusted
from brainctrl._utils.validation import check_array, check_option
from brainctrl.exceptions import DataError

__all__ = ["fdr_correction"]


def fdr_correction(p_values, *, method="bh"):
    r"""Adjust p-values for the false discovery rate.

    Parameters
    ----------
    p_values : array-like of shape (n_tests,) or any shape
        Uncorrected p-values in ``[0, 1]``. NaN entries are ignored (they stay NaN
        and do not count as tests). All entries form one family.
    method : {"bh", "by"}, default="bh"
        ``"bh"``: Benjamini & Hochberg (1995), valid for independent or positively
        dependent tests. ``"by"``: Benjamini & Yekutieli (2001), valid under any
        dependence (more conservative).

    Returns
    -------
    p_adjusted : ndarray of the same shape as ``p_values``
        Adjusted p-values ("q-values"); reject at level ``alpha`` where
        ``p_adjusted <= alpha``.

    Notes
    -----
    With the ``m`` finite p-values sorted as ``p_(1) <= ... <= p_(m)``, the
    Benjamini–Hochberg adjusted value of the ``i``-th is

    .. math:: q_{(i)} = \min\left(1, \min_{j \ge i} \frac{m\, p_{(j)}}{j}\right),

    and Benjamini–Yekutieli multiplies ``m / j`` by ``c(m) = \sum_{k=1}^m 1/k``.
    Rejecting ``q <= alpha`` is the step-up procedure at level ``alpha``.

    References
    ----------
    .. [1] Benjamini Y, Hochberg Y (1995). Controlling the false discovery rate: a
       practical and powerful approach to multiple testing. J R Stat Soc B 57:289-300.
    .. [2] Benjamini Y, Yekutieli D (2001). The control of the false discovery rate
       in multiple testing under dependency. Ann Stat 29:1165-1188.

    Examples
    --------
    >>> fdr_correction([0.01, 0.04, 0.03, 0.5])
    array([0.04      , 0.05333333, 0.05333333, 0.5       ])
    """
    check_option("method", method, ("bh", "by"))
    p = check_array("p_values", p_values)
    finite = np.isfinite(p)
    if np.any((p[finite] < 0) | (p[finite] > 1)):
        bad = p[finite][(p[finite] < 0) | (p[finite] > 1)]
        raise DataError(
            f"p_values must lie in [0, 1]; got {bad.size} value(s) outside, e.g. {bad[0]!r}."
        )
    if np.isinf(p).any():
        raise DataError("p_values must be finite or NaN; got an infinite value.")
    out = np.full(p.shape, np.nan)
    values = p[finite]
    if values.size == 0:
        return out
    adjusted = step_up_adjusted(values, yekutieli=method == "by")
    out[finite] = adjusted
    return out
