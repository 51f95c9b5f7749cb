"""One p-value from a null distribution, with one meaning of each alternative.

Every permutation, surrogate and null-model test of brainctrl (control nulls,
multilayer nulls, the GLM, the network-based statistic, sparse CCA, prediction,
spatial nulls) counts its null values with :func:`permutation_pvalue`.
"""

import numpy as np

from brainctrl._utils.validation import check_option

__all__ = ["ALTERNATIVES", "permutation_counts", "permutation_pvalue"]

#: Values of ``alternative`` everywhere in brainctrl.
ALTERNATIVES = ("two-sided", "greater", "less")

#: Null values within this relative distance of the observed one count as ties
#: (at least as extreme): a null equal to the data up to rounding, such as the
#: identity permutation, must count.
TIE_TOLERANCE = 1e-12


def permutation_pvalue(observed, null, *, alternative="two-sided", center=None, axis=0):
    r"""p-value of observed statistics against null draws: ``(1 + k) / (1 + n)``.

    Parameters
    ----------
    observed : float or ndarray
        The statistic(s) on the data.
    null : ndarray
        Null draws along ``axis``; the other axes match ``observed``. NaN
        draws are left out (and not counted in ``n``).
    alternative : {"two-sided", "greater", "less"}, default="two-sided"
        ``"greater"``: draws at least as large as ``observed``; ``"less"``: at
        least as small; ``"two-sided"``: at least as far from ``center`` on
        either side.
    center : float or ndarray, optional
        Centre of the two-sided test. ``None``: the mean of the null draws (for
        statistics without a natural zero, e.g. a network measure against
        rewired networks); pass ``0.0`` for statistics that are symmetric
        about zero under the null hypothesis (t values, correlations).
    axis : int, default=0
        Axis of ``null`` holding the draws.

    Returns
    -------
    p : float or ndarray
        ``(1 + k) / (1 + n)`` with ``k`` the draws at least as extreme as the
        data (ties within a relative ``1e-12`` count) and ``n`` the draws, so
        ``p >= 1 / (n + 1)`` (Phipson & Smyth 2010).

    References
    ----------
    .. [1] Phipson B., Smyth G. K. (2010). Permutation p-values should never be
       zero. Statistical Applications in Genetics and Molecular Biology 9, 39.

    Examples
    --------
    >>> permutation_pvalue(2.0, np.array([0.0, 1.0, 2.0, 3.0]), alternative="greater")
    0.6
    >>> permutation_pvalue(-2.0, np.array([0.5, -1.0, 2.5, -3.0]), center=0.0)
    0.6
    """
    extreme, draws = permutation_counts(
        observed, null, alternative=alternative, center=center, axis=axis
    )
    p = (1.0 + extreme) / (1.0 + draws)
    return float(p) if np.ndim(p) == 0 else p


def permutation_counts(observed, null, *, alternative="two-sided", center=None, axis=0):
    """Null draws at least as extreme as ``observed``, and the draws counted.

    The counting of :func:`permutation_pvalue`, for nulls drawn in chunks:
    summing ``extreme`` and ``draws`` over the chunks and taking
    ``(1 + extreme) / (1 + draws)`` gives the p-value of all the draws at
    once, provided ``center`` is fixed (not ``None``, which is each chunk's
    own mean) for a two-sided test.

    Parameters
    ----------
    observed, null, alternative, center, axis
        As in :func:`permutation_pvalue`.

    Returns
    -------
    extreme : int or ndarray of int
        Draws at least as extreme as ``observed`` (ties within a relative
        ``1e-12`` count).
    draws : int or ndarray of int
        Draws that are not NaN.

    Examples
    --------
    >>> permutation_counts(2.0, np.array([0.0, 1.0, np.nan, 2.0, 3.0]), alternative="greater")
    (2, 4)
    """
    check_option("alternative", alternative, ALTERNATIVES)
    null = np.moveaxis(np.asarray(null, dtype=float), axis, 0)
    observed = np.asarray(observed, dtype=float)
    valid = ~np.isnan(null)
    if alternative == "two-sided":
        if center is None:
            center = np.nanmean(null, axis=0)
        null = np.abs(null - center)
        observed = np.abs(observed - center)
    elif alternative == "less":
        null, observed = -null, -observed
    slack = TIE_TOLERANCE * np.maximum(1.0, np.abs(observed))
    extreme = (valid & (null >= observed - slack)).sum(axis=0)
    draws = np.broadcast_to(valid.sum(axis=0), extreme.shape)
    if np.ndim(extreme) == 0:
        return int(extreme), int(draws)
    return extreme, draws.copy()
