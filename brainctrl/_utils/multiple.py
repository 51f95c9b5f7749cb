"""False-discovery-rate adjustment shared by the thresholds and the group statistics."""

import numpy as np

__all__ = ["step_up_adjusted"]


def step_up_adjusted(pvalues, *, yekutieli=False):
    r"""Benjamini–Hochberg (or –Yekutieli) adjusted p-values along the last axis.

    Parameters
    ----------
    pvalues : array-like of shape (..., n_tests)
        p-values; each row along the last axis is one family. NaN entries sort
        last, count as tests and stay NaN.
    yekutieli : bool, default=False
        Multiply by ``c(m) = sum_{k=1}^m 1/k`` (Benjamini & Yekutieli 2001).

    Returns
    -------
    adjusted : ndarray of shape (..., n_tests)
        :math:`q_{(i)} = \min(1, \min_{j \ge i} m\, p_{(j)} / j)`; rejecting
        ``q <= alpha`` is the step-up procedure at level ``alpha``.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    n_tests = p.shape[-1]
    if n_tests == 0:
        return p.copy()
    order = np.argsort(p, axis=-1, kind="stable")
    ranks = np.arange(1, n_tests + 1)
    factor = n_tests / ranks
    if yekutieli:
        factor = factor * np.sum(1.0 / ranks)
    stepped = np.take_along_axis(p, order, axis=-1) * factor
    # running minimum from the largest p-value down (step-up); fmin skips the NaN tail
    stepped = np.fmin.accumulate(stepped[..., ::-1], axis=-1)[..., ::-1]
    adjusted = np.empty_like(stepped)
    np.put_along_axis(adjusted, order, np.minimum(stepped, 1.0), axis=-1)
    return adjusted
