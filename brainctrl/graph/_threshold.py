"""Small graph-side helpers: thresholding, binarising, weights to lengths.

All functions accept a matrix ``(n_regions, n_regions)`` or a stack
``(..., n_regions, n_regions)`` and never modify their input.
"""

import numpy as np

from brainctrl._utils.validation import check_square
from brainctrl.connectivity.threshold import absolute_cut, proportional
from brainctrl.exceptions import DataError

__all__ = [
    "binarize",
    "threshold_absolute",
    "threshold_proportional",
    "weight_to_length",
]


def threshold_proportional(adjacency, density, *, absolute=False):
    """Keep the strongest ``density`` fraction of the connections of each matrix.

    Parameters
    ----------
    adjacency : array-like of shape (..., n_regions, n_regions)
        Symmetric weighted matrices (the diagonal is ignored and set to 0).
    density : float in [0, 1]
        Fraction of the ``n_regions * (n_regions - 1) / 2`` undirected
        connections to keep, rounded to the nearest integer count.
    absolute : bool, default=False
        Rank connections by ``|w|`` (keeping strong negative weights with
        their sign) instead of by signed weight.

    Returns
    -------
    thresholded : ndarray of shape (..., n_regions, n_regions)
        Copy of ``adjacency`` with every other connection set to 0.

    Notes
    -----
    As the Brain Connectivity Toolbox's ``threshold_proportional``, the number
    of kept connections is ``round(density * n (n - 1) / 2)``; ties at the
    cut are broken by position (stable sort), so exactly that many remain.

    Examples
    --------
    >>> w = np.array([[0, 3, 1], [3, 0, 2], [1, 2, 0]], dtype=float)
    >>> threshold_proportional(w, 1 / 3)
    array([[0., 3., 0.],
           [3., 0., 0.],
           [0., 0., 0.]])
    """
    return proportional(adjacency, density, absolute=absolute)


def threshold_absolute(adjacency, threshold, *, absolute=False):
    """Set connections weaker than ``threshold`` to 0.

    Parameters
    ----------
    adjacency : array-like of shape (..., n_regions, n_regions)
        Weighted matrices.
    threshold : float
        Connections with ``w < threshold`` (or ``|w| < threshold`` when
        ``absolute``) become 0.
    absolute : bool, default=False
        Compare ``|w|`` with the threshold, keeping strong negative weights.

    Returns
    -------
    thresholded : ndarray of shape (..., n_regions, n_regions)
        Copy with the diagonal set to 0.

    Examples
    --------
    >>> threshold_absolute([[0, 0.5], [0.5, 0]], 0.6)
    array([[0., 0.],
           [0., 0.]])
    """
    return absolute_cut(adjacency, threshold, absolute=absolute)


def binarize(adjacency):
    """Turn every nonzero off-diagonal connection into 1.

    Parameters
    ----------
    adjacency : array-like of shape (..., n_regions, n_regions)
        Weighted matrices.

    Returns
    -------
    binary : ndarray of shape (..., n_regions, n_regions)
        Float array of 0 and 1, diagonal 0.

    Examples
    --------
    >>> binarize([[0.2, -0.4], [-0.4, 0.0]])
    array([[0., 1.],
           [1., 0.]])
    """
    matrices = check_square("adjacency", adjacency)
    out = (matrices != 0).astype(float)
    diagonal = np.arange(matrices.shape[-1])
    out[..., diagonal, diagonal] = 0.0
    return out


def weight_to_length(adjacency):
    """Convert connection weights into lengths ``1 / w``.

    Parameters
    ----------
    adjacency : array-like of shape (..., n_regions, n_regions)
        Non-negative weighted matrices.

    Returns
    -------
    lengths : ndarray of shape (..., n_regions, n_regions)
        ``1 / w`` where ``w > 0``, ``inf`` where there is no connection, and
        0 on the diagonal. Strong connections are short, as in path-based
        measures of the Brain Connectivity Toolbox (there absent connections
        are coded 0; here ``inf`` so the array can be used directly).

    Raises
    ------
    DataError
        If a weight is negative.

    Examples
    --------
    >>> weight_to_length([[0, 0.5], [0.5, 0]])
    array([[0., 2.],
           [2., 0.]])
    """
    matrices = check_square("adjacency", adjacency)
    if (matrices < 0).any():
        where = tuple(int(i) for i in np.argwhere(matrices < 0)[0])
        raise DataError(
            "adjacency must be non-negative to convert weights to lengths; got "
            f"{int((matrices < 0).sum())} negative weight(s), the first at index {where} "
            f"({matrices[where]:.6g}). Use the positive part or |w| first."
        )
    lengths = np.where(matrices > 0, 1.0 / np.where(matrices > 0, matrices, 1.0), np.inf)
    diagonal = np.arange(matrices.shape[-1])
    lengths[..., diagonal, diagonal] = 0.0
    return lengths
