"""Region table of the synthetic cohort: Yeo-7 networks in Schaefer-100 proportions."""

import numpy as np
import pandas as pd

from brainctrl._utils.validation import check_positive, check_random_state
from brainctrl.exceptions import InvalidParameterError

__all__ = ["NETWORKS", "make_regions"]

#: The seven Yeo et al. (2011) resting-state networks, in Schaefer order.
NETWORKS = ("Vis", "SomMot", "DorsAttn", "SalVentAttn", "Limbic", "Cont", "Default")

# Regions per (hemisphere, network) in the Schaefer 2018 100-parcel, 7-network atlas.
_SCHAEFER100_COUNTS = {
    "LH": (9, 6, 8, 7, 3, 4, 13),
    "RH": (8, 8, 7, 5, 2, 9, 11),
}

# Approximate left-hemisphere MNI centres (mm) of each network's main clusters;
# the right hemisphere mirrors x. Only meant to make brain-map plots look plausible.
_ANCHORS = {
    "Vis": ((-12, -90, 0), (-25, -78, -10), (-22, -62, 8), (-30, -82, 15)),
    "SomMot": ((-42, -19, 50), (-55, -10, 25), (-35, -28, 62), (-50, -20, 10)),
    "DorsAttn": ((-33, -49, 45), (-27, -3, 59), (-48, 6, 28), (-45, -65, 0)),
    "SalVentAttn": ((-40, 5, 0), (-7, -4, 47), (-59, -38, 30), (-30, 44, 30)),
    "Limbic": ((-14, 32, -20), (-45, -16, -28)),
    "Cont": ((-37, -54, 46), (-43, 33, 20), (-10, -73, 37), (-4, -26, 33)),
    "Default": ((-8, 50, 10), (-57, -18, -11), (-52, -57, 24), (-9, -54, 23), (-25, 30, 40)),
}


def _allocate(n_regions):
    """Regions per (hemisphere, network) cell, Schaefer-100 proportions, at least one each."""
    base = np.array(_SCHAEFER100_COUNTS["LH"] + _SCHAEFER100_COUNTS["RH"], dtype=float)
    target = base * n_regions / base.sum()
    counts = np.maximum(np.floor(target).astype(int), 1)
    # Largest remainder: add to (or take from) the cells furthest from their target.
    while counts.sum() < n_regions:
        counts[np.argmax(target - counts)] += 1
    while counts.sum() > n_regions:
        shrinkable = np.flatnonzero(counts > 1)
        counts[shrinkable[np.argmax((counts - target)[shrinkable])]] -= 1
    return counts.reshape(2, len(NETWORKS))


def make_regions(n_regions=100, *, random_state=None):
    """Region table with Yeo-7 networks, hemispheres and MNI-like coordinates.

    Parameters
    ----------
    n_regions : int, default=100
        Number of regions, at least 14 (one per network and hemisphere). They are
        shared among networks in the proportions of the Schaefer 100-parcel,
        7-network atlas (exactly those counts for 100).
    random_state : int, numpy.random.Generator or None
        Seeds the jitter of the coordinates around each network's clusters.

    Returns
    -------
    regions : pandas.DataFrame of shape (n_regions, 7)
        Columns ``label`` (1 … n_regions), ``name`` (``"LH_Default_3"``),
        ``network``, ``hemisphere`` (``"LH"``/``"RH"``) and ``x``, ``y``, ``z``
        (mm, MNI-like). Left hemisphere first, networks in Schaefer order.

    Examples
    --------
    >>> regions = make_regions(100, random_state=0)
    >>> int((regions["network"] == "Default").sum())
    24
    >>> regions["name"].iloc[0]
    'LH_Vis_1'
    """
    check_positive("n_regions", n_regions, integer=True)
    if n_regions < 2 * len(NETWORKS):
        raise InvalidParameterError(
            f"'n_regions' must be >= {2 * len(NETWORKS)} (one region per network and "
            f"hemisphere); got {n_regions}."
        )
    rng = check_random_state(random_state)
    counts = _allocate(int(n_regions))
    rows = []
    for h, hemisphere in enumerate(("LH", "RH")):
        for k, network in enumerate(NETWORKS):
            anchors = _ANCHORS[network]
            for j in range(counts[h, k]):
                x, y, z = anchors[j % len(anchors)]
                rows.append((f"{hemisphere}_{network}_{j + 1}", network, hemisphere, x, y, z))
    regions = pd.DataFrame(rows, columns=["name", "network", "hemisphere", "x", "y", "z"])
    jitter = rng.normal(scale=5.0, size=(len(regions), 3))
    coords = regions[["x", "y", "z"]].to_numpy(dtype=float) + jitter
    # Keep every region in its own hemisphere and inside a brain-sized box.
    signs = np.where(regions["hemisphere"].to_numpy() == "LH", -1.0, 1.0)
    coords[:, 0] = signs * np.clip(np.abs(coords[:, 0]), 2.0, 70.0)
    coords[:, 1] = np.clip(coords[:, 1], -105.0, 70.0)
    coords[:, 2] = np.clip(coords[:, 2], -45.0, 78.0)
    regions[["x", "y", "z"]] = np.round(coords, 1)
    regions.insert(0, "label", np.arange(1, len(regions) + 1))
    return regions
