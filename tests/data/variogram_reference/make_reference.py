"""Write reference.npz: variograms of brainsmash 0.11.0 surrogates of a synthetic sphere map.

Run in an environment with brainsmash==0.11.0, not brainctrl's:

    python tests/data/variogram_reference/make_reference.py

Only numbers are written; see README.md.
"""

from pathlib import Path

import numpy as np
from brainsmash.mapgen.base import Base

N_SURROGATES = 1000
RADIUS = 100.0


def centroids(n_points, rng):
    """Jittered Fibonacci points on the unit sphere without a medial cap (x > 0.8)."""
    k = np.arange(n_points) + 0.5
    polar = np.arccos(1 - 2 * k / n_points)
    azimuth = np.pi * (1 + 5**0.5) * k
    xyz = np.column_stack(
        [np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)]
    )
    xyz += 0.02 * rng.standard_normal(xyz.shape)
    xyz /= np.linalg.norm(xyz, axis=1, keepdims=True)
    return xyz[xyz[:, 0] < 0.8]


def geodesic(xyz):
    """Great-circle distances on a sphere of radius 100, elementwise (no BLAS)."""
    dots = np.sum(xyz[:, None, :] * xyz[None, :, :], axis=-1)
    distance = RADIUS * np.arccos(np.clip(dots, -1.0, 1.0))
    np.fill_diagonal(distance, 0.0)
    return distance


def main():
    rng = np.random.default_rng(2020)
    xyz = centroids(230, rng)
    # smooth Gaussian random field: squared-exponential covariance of chordal distance
    chord2 = np.sum((xyz[:, None, :] - xyz[None, :, :]) ** 2, axis=-1)
    covariance = np.exp(-chord2 / (2 * 0.12**2))
    values, vectors = np.linalg.eigh(covariance)
    field = vectors @ (np.sqrt(np.clip(values, 0, None)) * rng.standard_normal(len(xyz)))
    brain_map = np.round(field + 0.05 * rng.standard_normal(len(xyz)), 6)
    distance = geodesic(xyz)

    out = {"coords": xyz, "brain_map": brain_map}
    for resample in (False, True):
        base = Base(brain_map, distance, resample=resample, seed=11 + resample)
        surrogates = base(n=N_SURROGATES, batch_size=100)
        variograms = np.array([base.compute_smooth_variogram(s) for s in surrogates])
        tag = "resample" if resample else "plain"
        out[f"{tag}__variogram_mean"] = variograms.mean(axis=0)
        out[f"{tag}__variogram_p05"] = np.percentile(variograms, 5, axis=0)
        out[f"{tag}__variogram_p95"] = np.percentile(variograms, 95, axis=0)
        out[f"{tag}__surrogate_sd_mean"] = surrogates.std(axis=1).mean()
    out["h"] = base.h
    out["empirical_variogram"] = base.compute_smooth_variogram(brain_map)
    np.savez_compressed(Path(__file__).with_name("reference.npz"), **out)
    for key, value in out.items():
        print(key, np.shape(value))


if __name__ == "__main__":
    main()
