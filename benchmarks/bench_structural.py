"""Speed of the structural-connectome tools at 400 regions, against their references.

Usage::

    python benchmarks/bench_structural.py [--quick] [--regions 400] [--subjects 20]

Workload: ``--subjects`` synthetic connectomes of ``--regions`` regions on two
hemispheres (distance-dependent edges, log-normal weights, about 14 % dense;
the generator of ``tests/data/structural_reference/make_reference.py``).

- consensus: :func:`brainctrl.connectivity.consensus_structural` against
  netneurotools' ``struct_consensus`` (when importable);
- strength-preserving null: :func:`brainctrl.graph.randomize_strength_preserving`
  (annealing, and Rubinov–Sporns) against netneurotools'
  ``strength_preserving_rand_sa`` (when importable) and bctpy's
  ``null_model_und_sign``;
- geometry-preserving surrogate:
  :func:`brainctrl.graph.geometry_preserving_surrogate` against nctpy's
  ``geomsurr``.

Each line prints seconds of CPU time of this process (single-threaded through
threadpoolctl) for brainctrl and the reference, their ratio, and a check of
what the method promises (edges kept, strength correlation). The first call
of a compiled kernel is made before timing.
"""

import argparse
import importlib.util
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from brainctrl.connectivity import consensus_structural
from brainctrl.graph import geometry_preserving_surrogate, randomize_strength_preserving

GENERATOR = Path(__file__).parents[1] / "tests" / "data" / "structural_reference"


def _generator():
    spec = importlib.util.spec_from_file_location(
        "make_reference", GENERATOR / "make_reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _timed(function, *args, **kwargs):
    start = time.process_time()
    result = function(*args, **kwargs)
    return result, time.process_time() - start


def _strength_r(a, b):
    return float(np.corrcoef(a.sum(axis=0), b.sum(axis=0))[0, 1])


def _line(name, ours, reference, check):
    ratio = f"{reference / ours:9.1f}x" if reference is not None and ours > 0 else "         -"
    ref = f"{reference:11.3f}" if reference is not None else "          -"
    print(f"{name:<32}{ours:11.3f}{ref}{ratio}   {check}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 regions, 10 subjects")
    parser.add_argument("--regions", type=int, default=400)
    parser.add_argument("--subjects", type=int, default=20)
    args = parser.parse_args()
    n_regions, n_subjects = (100, 10) if args.quick else (args.regions, args.subjects)
    matrices, distance, hemisphere = _generator().synthetic_cohort(n_subjects, n_regions, 2019)
    group = matrices.mean(axis=0)
    subject = matrices[0]
    print(
        f"{n_subjects} connectomes of {n_regions} regions, "
        f"{np.count_nonzero(subject) / (n_regions * (n_regions - 1)):.1%} dense; CPU seconds"
    )
    print(f"{'':<32}{'brainctrl':>11}{'reference':>11}{'ratio':>10}   check")
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # compiled kernels: first call outside the timing
        randomize_strength_preserving(subject[:20, :20], random_state=0, n_stages=2)
        randomize_strength_preserving(subject[:20, :20], random_state=0, method="rubinov_sporns")

        ours, seconds = _timed(consensus_structural, matrices, distance, hemisphere)
        reference = None
        if importlib.util.find_spec("netneurotools"):
            from netneurotools.networks import struct_consensus

            theirs, reference = _timed(
                struct_consensus, np.moveaxis(matrices, 0, -1), distance, hemisphere[:, None]
            )
            check = f"same edges: {bool(np.array_equal(ours > 0, theirs > 0))}"
        else:
            check = f"{np.count_nonzero(ours) // 2} edges (netneurotools not installed)"
        _line("consensus", seconds, reference, check)

        null, seconds = _timed(randomize_strength_preserving, subject, random_state=0)
        reference = None
        check = f"strength r {_strength_r(subject, null):.5f}"
        if importlib.util.find_spec("netneurotools"):
            from netneurotools.networks import strength_preserving_rand_sa

            (theirs, _), reference = _timed(strength_preserving_rand_sa, subject, seed=0)
            check += f" (netneurotools {_strength_r(subject, theirs):.5f})"
        _line("strength null, annealing", seconds, reference, check)

        import bct

        null, seconds = _timed(
            randomize_strength_preserving, subject, random_state=0, method="rubinov_sporns"
        )
        theirs, reference = _timed(bct.null_model_und_sign, subject, seed=0)
        check = (
            f"strength r {_strength_r(subject, null):.3f} "
            f"(bctpy {_strength_r(subject, theirs[0]):.3f})"
        )
        _line("strength null, Rubinov-Sporns", seconds, reference, check)

        surrogate, seconds = _timed(
            geometry_preserving_surrogate, subject, distance, random_state=0
        )
        from nctpy.null_models.geomsurr import geomsurr

        _, reference = _timed(geomsurr, subject, distance, seed=0)
        check = f"edges kept: {bool(np.array_equal(surrogate > 0, subject > 0))}"
        _line("geometry-preserving surrogate", seconds, reference, check)
    print(f"(group mean connectome: {np.count_nonzero(group) // 2} edges)")


if __name__ == "__main__":
    main()
