"""Benchmark: calibration and speed of the spatial null models of brainctrl.stats.

Usage::

    python benchmarks/bench_spatial_nulls.py [--quick] [--pairs N] [--sigma S]

Maps: independent Gaussian random fields (squared-exponential covariance of chordal
distance, length ``--sigma`` on the unit sphere) on ~400 jittered-Fibonacci centroids,
two hemispheres of ~200 with no centroids on a medial cap (x > 0.8 towards the
midline). Reports:

1. false-positive rate at alpha = 0.05 over independent pairs of the naive parametric
   p-value, the spin test (vasa spins, shared by all pairs) and variogram surrogates
   (generated for map_a of each pair, each hemisphere separately);
2. time of 1,000 spins (three methods) and of 1,000 variogram surrogates of a
   400-region map, against neuromaps ``gen_spinsamples`` and brainsmash ``Base`` in the
   same process when those packages are importable (run with their environment's
   Python and brainctrl on ``PYTHONPATH``).
"""

import argparse
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from brainctrl.exceptions import NumericalAccuracyWarning
from brainctrl.stats import compare_maps, spin_permutations, variogram_surrogates


def centroids(n_points, rng, medial_sign):
    k = np.arange(n_points) + 0.5
    polar = np.arccos(1 - 2 * k / n_points)
    azimuth = np.pi * (1 + 5**0.5) * k
    xyz = np.column_stack(
        [np.cos(azimuth) * np.sin(polar), np.sin(azimuth) * np.sin(polar), np.cos(polar)]
    )
    xyz += 0.02 * rng.standard_normal(xyz.shape)
    xyz /= np.linalg.norm(xyz, axis=1, keepdims=True)
    return xyz[medial_sign * xyz[:, 0] < 0.8]


def geodesic(xyz, radius=100.0):
    distance = radius * np.arccos(np.clip(xyz @ xyz.T, -1.0, 1.0))
    np.fill_diagonal(distance, 0.0)
    return distance


def fields(xyz, rng, sigma, n_maps):
    chord2 = np.sum((xyz[:, None, :] - xyz[None, :, :]) ** 2, axis=-1)
    values, vectors = np.linalg.eigh(np.exp(-chord2 / (2 * sigma**2)))
    root = vectors * np.sqrt(np.clip(values, 0, None))
    return (root @ rng.standard_normal((len(xyz), n_maps))).T


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def binomial_interval(count, n):
    from scipy import stats

    low, high = stats.binomtest(count, n).proportion_ci(0.95)
    return f"{count / n:.3f} [{low:.3f}, {high:.3f}]"


def calibration(args):
    rng = np.random.default_rng(args.seed)
    left, right = centroids(215, rng, 1), centroids(215, rng, -1)
    coords = np.vstack([left, right])
    hemisphere = np.repeat(["L", "R"], [len(left), len(right)])
    n_left = len(left)
    maps = np.hstack(
        [
            fields(left, rng, args.sigma, 2 * args.pairs),
            fields(right, rng, args.sigma, 2 * args.pairs),
        ]
    )
    distances = [geodesic(left), geodesic(right)]
    spins = spin_permutations(coords, hemisphere, args.spins, method="vasa", random_state=0)
    rejections = {"naive": 0, "spin": 0, "variogram": 0}
    warned = 0
    start = time.perf_counter()
    for k, (a, b) in enumerate(zip(maps[: args.pairs], maps[args.pairs :])):
        rejections["naive"] += compare_maps(a, b).p < 0.05
        rejections["spin"] += compare_maps(a, b, nulls=spins).p < 0.05
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", NumericalAccuracyWarning)
            surrogates = np.hstack(
                [
                    variogram_surrogates(
                        part, distance, args.surrogates, random_state=1000 * k + h
                    )
                    for h, (part, distance) in enumerate(zip((a[:n_left], a[n_left:]), distances))
                ]
            )
        warned += bool(caught)
        rejections["variogram"] += compare_maps(a, b, nulls=surrogates).p < 0.05
    elapsed = time.perf_counter() - start
    print(
        f"calibration: {args.pairs} independent pairs, {len(coords)} regions "
        f"({n_left} + {len(right)}), field length {args.sigma}, {args.spins} spins, "
        f"{args.surrogates} surrogates per hemisphere ({elapsed:.0f} s)"
    )
    for name, count in rejections.items():
        print(f"  FPR at 0.05, {name:9s}: {binomial_interval(int(count), args.pairs)}")
    print(f"  pairs whose surrogates warned about their variogram fit: {warned}")


def speed(args):
    rng = np.random.default_rng(1)
    left, right = centroids(215, rng, 1), centroids(215, rng, -1)
    coords = np.vstack([left, right])
    hemiid = np.repeat([0, 1], [len(left), len(right)])
    print(f"speed: {len(coords)} regions (two hemispheres), 1000 spins")
    try:
        from neuromaps.nulls.spins import gen_spinsamples
    except ImportError:
        gen_spinsamples = None
    for method in ("original", "vasa", "hungarian"):
        ours, _ = timed(lambda m=method: spin_permutations(coords, hemiid, 1000, method=m))
        line = f"  {method:9s} brainctrl {ours:6.2f} s"
        if gen_spinsamples is not None:
            n_ref = 1000 if args.full_reference else 200
            ref, _ = timed(
                lambda m=method, n=n_ref: gen_spinsamples(
                    coords, hemiid, n, method=m, seed=0, check_duplicates=False
                )
            )
            ref *= 1000 / n_ref
            line += f" | neuromaps {ref:6.2f} s (x{ref / ours:.1f})"
            if n_ref < 1000:
                line += f" [from {n_ref} spins]"
        print(line)

    sphere = centroids(450, rng, 1)[:400]
    distance = geodesic(sphere)
    brain_map = fields(sphere, rng, 0.2, 1)[0] + 0.1 * rng.standard_normal(len(sphere))
    print(f"speed: variogram surrogates, {len(sphere)} regions, 1000 surrogates")
    try:
        from brainsmash.mapgen.base import Base
    except ImportError:
        Base = None
    for resample in (False, True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NumericalAccuracyWarning)
            ours, _ = timed(
                lambda r=resample: variogram_surrogates(
                    brain_map, distance, 1000, resample=r, random_state=0
                )
            )
        line = f"  resample={resample!s:5s} brainctrl {ours:6.2f} s"
        if Base is not None:
            ref, _ = timed(
                lambda r=resample: Base(brain_map, distance, resample=r, seed=0)(
                    1000, batch_size=100
                )
            )
            line += f" | brainsmash Base(batch_size=100) {ref:6.2f} s (x{ref / ours:.1f})"
        print(line)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="50 pairs, fewer nulls")
    parser.add_argument("--pairs", type=int, default=300)
    parser.add_argument("--sigma", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--full-reference", action="store_true", help="time all 1000 spins")
    args = parser.parse_args()
    args.spins, args.surrogates = (500, 200) if args.quick else (1000, 500)
    if args.quick:
        args.pairs = min(args.pairs, 50)
    with threadpool_limits(limits=1):
        speed(args)
        calibration(args)


if __name__ == "__main__":
    main()
