"""Write reference.npz: spins computed by neuromaps 0.0.7 on synthetic sphere centroids.

Run in an environment with neuromaps==0.0.7 (and its numpy/scipy), not brainctrl's:

    python tests/data/spin_reference/make_reference.py

Only numbers are written; see README.md.
"""

from pathlib import Path

import numpy as np
from neuromaps.nulls.spins import _gen_rotation, gen_spinsamples

N_ROTATE = 40
SEED = 2018
RADIUS = 100.0  # FreeSurfer ?h.sphere radius


def hemisphere_centroids(n_points, rng, medial_sign):
    """Jittered Fibonacci points on a sphere of radius 100, medial cap removed."""
    k = np.arange(n_points) + 0.5
    polar = np.arccos(1 - 2 * k / n_points)
    azimuth = np.pi * (1 + 5**0.5) * k
    xyz = np.column_stack(
        [np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)]
    )
    xyz += 0.02 * rng.standard_normal(xyz.shape)
    xyz /= np.linalg.norm(xyz, axis=1, keepdims=True)
    keep = medial_sign * xyz[:, 0] < 0.8  # no parcels on the medial wall
    return RADIUS * xyz[keep]


def main():
    rng = np.random.default_rng(7)
    left = hemisphere_centroids(230, rng, medial_sign=+1)  # left medial wall faces +x
    right = hemisphere_centroids(220, rng, medial_sign=-1)
    coords = np.vstack([left, right])
    hemiid = np.repeat([0, 1], [len(left), len(right)]).astype(np.int8)

    # the left rotations that gen_spinsamples draws: one _gen_rotation call per spin
    replay = np.random.RandomState(SEED)
    rotations = np.stack([_gen_rotation(seed=replay)[0] for _ in range(N_ROTATE)])

    out = {"coords": coords, "hemiid": hemiid, "rotations_left": rotations}
    for method in ("original", "vasa", "hungarian"):
        spins = gen_spinsamples(
            coords,
            hemiid,
            n_rotate=N_ROTATE,
            check_duplicates=False,
            method=method,
            seed=np.random.RandomState(SEED),
        )
        out[f"spins_{method}"] = spins.astype(np.int16)  # (n_regions, n_rotate)
    np.savez_compressed(Path(__file__).with_name("reference.npz"), **out)
    for key, value in out.items():
        print(key, value.shape, value.dtype)


if __name__ == "__main__":
    main()
