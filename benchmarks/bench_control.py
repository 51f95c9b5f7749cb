"""Benchmark of brainctrl.control against nctpy 1.2.0, single thread.

Usage: python benchmarks/bench_control.py [--quick] [--sizes 100 200 400 1000]

Every timing is the best of k runs (the machine is shared; best-of-k is the least noisy
estimate), with BLAS limited to one thread through threadpoolctl. brainctrl keeps the
eigendecomposition of a normalised matrix for the metrics that follow; the cache is
cleared before every timed run, so each figure starts from the raw adjacency matrix.
nctpy's own result cache (_last_call) is cleared the same way.

Targets (issue 4, at N=400): discrete average controllability >= 8x nctpy.ave_control;
modal >= 2.5x; continuous average >= 500x; minimum_energy for 100 state pairs >= 300x
minimum_energy_fast; all control metrics of one window <= 0.03 s; time_varying_energy
over 100 windows <= 5 s. Discrete optimal control (optimal_control, system="discrete") at
N=400, T=100 steps <= 3 s; against nctpy's get_control_inputs only at N <= 200, T = 20
(nctpy assembles a dense ((2T-1) N)^2 matrix: 51 GB at N=400, T=100).
"""

# The timed lambdas run inside the loop iteration that defines them.
# ruff: noqa: B023

import argparse
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from brainctrl.control import (
    average_controllability,
    minimum_energy,
    modal_controllability,
    normalize_adjacency,
    optimal_control,
    time_varying_energy,
)
from brainctrl.control._linalg import EIG_CACHE

try:
    import nctpy  # noqa: F401
    import nctpy.energies as nctpy_energies
    import nctpy.metrics as nctpy_metrics
    import nctpy.utils as nctpy_utils
except ImportError:  # pragma: no cover
    nctpy_metrics = None

TARGETS = {
    "ave discrete": 8.0,
    "modal": 2.5,
    "ave continuous": 500.0,
    "energy 100 pairs": 300.0,
}


class Timing(float):
    """Best wall-clock seconds, with the best CPU seconds of this process as ``.cpu``."""

    cpu = 0.0


def best_of(function, repeats, setup=None):
    walls, cpus = [], []
    for _ in range(repeats):
        if setup is not None:
            setup()
        start, start_cpu = time.perf_counter(), time.process_time()
        function()
        cpus.append(time.process_time() - start_cpu)
        walls.append(time.perf_counter() - start)
    out = Timing(min(walls))
    out.cpu = min(cpus)
    return out


def fresh():
    EIG_CACHE.clear()


def fresh_nctpy():
    fresh()
    for name in ("_minimum_energy_system", "_continuous_system", "_discrete_system"):
        cached = getattr(nctpy_energies, name, None)
        if cached is not None and hasattr(cached, "_entry"):
            cached._entry = None


def structural_like(n, rng):
    weights = rng.random((n, n)) * (rng.random((n, n)) < 0.3)
    weights = weights + weights.T
    np.fill_diagonal(weights, 0.0)
    return weights


def window_metrics(weights, x0, xf):
    A_discrete = normalize_adjacency(weights, system="discrete")
    A_continuous = normalize_adjacency(weights, system="continuous")
    average_controllability(A_discrete, system="discrete")
    average_controllability(A_continuous, system="continuous")
    modal_controllability(A_discrete)
    minimum_energy(A_continuous, x0, xf, system="continuous")


def run(sizes, quick, rng):
    rows = []
    for n in sizes:
        weights = structural_like(n, rng)
        A_discrete = normalize_adjacency(weights, system="discrete")
        A_continuous = normalize_adjacency(weights, system="continuous")
        x0, xf = rng.standard_normal((2, 100, n))
        big = n >= 1000
        k = 1 if (big or quick) else 3
        ours = {
            "ave discrete": best_of(
                lambda: average_controllability(A_discrete, system="discrete"), k + 2, fresh
            ),
            "modal": best_of(lambda: modal_controllability(A_discrete), k + 2, fresh),
            "ave continuous": best_of(
                lambda: average_controllability(A_continuous, system="continuous"), k + 2, fresh
            ),
            "energy 100 pairs": best_of(
                lambda: minimum_energy(A_continuous, x0, xf, system="continuous"), k + 2, fresh
            ),
            "one window": best_of(lambda: window_metrics(weights, x0, xf), k + 2, fresh),
        }
        theirs = {}
        if nctpy_metrics is not None:
            theirs["ave discrete"] = best_of(
                lambda: nctpy_metrics.ave_control(A_discrete, system="discrete"), k, fresh_nctpy
            )
            theirs["modal"] = best_of(
                lambda: nctpy_metrics.modal_control(A_discrete), k, fresh_nctpy
            )
            if n <= 400:  # nctpy stores an (n, n, 1001) array: 8 GB at n = 1000
                theirs["ave continuous"] = best_of(
                    lambda: nctpy_metrics.ave_control(A_continuous, system="continuous"),
                    1,
                    fresh_nctpy,
                )
            if n <= 400 or not quick:
                theirs["energy 100 pairs"] = best_of(
                    lambda: nctpy_energies.minimum_energy_fast(
                        A_continuous, 1.0, np.eye(n), x0.T, xf.T
                    ),
                    1,
                    fresh_nctpy,
                )
            theirs["one window"] = None
            check = np.max(
                np.abs(
                    average_controllability(A_discrete, system="discrete")
                    - nctpy_metrics.ave_control(A_discrete, system="discrete")
                )
                / nctpy_metrics.ave_control(A_discrete, system="discrete")
            )
            normal = np.max(
                np.abs(A_discrete - nctpy_utils.matrix_normalization(weights, "discrete"))
            )
        else:
            check = normal = np.nan
        for name, value in ours.items():
            reference = theirs.get(name)
            ratio = reference / value if reference else None
            rows.append((n, name, value, reference, ratio))
        rows.append(
            (
                n,
                f"(check: max rel diff ave vs nctpy {check:.1e}; A {normal:.1e})",
                None,
                None,
                None,
            )
        )
    return rows


def run_time_varying(sizes, window_counts, quick, rng):
    rows = []
    for n in sizes:
        for n_windows in window_counts:
            stack = np.stack([structural_like(n, rng) for _ in range(n_windows)])
            A_sequence = normalize_adjacency(stack, system="continuous")
            x0, xf = rng.standard_normal((2, 100, n))
            repeats = 1 if (quick or n * n_windows >= 400 * 100) else 2
            seconds = best_of(
                lambda: time_varying_energy(A_sequence, 1.0 / n_windows, x0, xf), repeats, fresh
            )
            rows.append((n, n_windows, seconds))
    return rows


def run_optimal_discrete(quick, rng):
    """Discrete optimal control: ours vs nctpy on small problems, ours alone at N=400, T=100."""
    rows = []
    compared = [(100, 20)] if quick else [(100, 20), (200, 20)]
    for n, steps in compared:
        A = normalize_adjacency(structural_like(n, rng), system="discrete")
        x0, xf = rng.standard_normal((2, n))
        mask = np.zeros(n, dtype=bool)
        mask[::2] = True

        def ours():
            return optimal_control(A, x0, xf, mask, horizon=steps, system="discrete")

        seconds = best_of(ours, 1 if quick else 3, fresh)
        theirs, difference = None, np.nan
        if nctpy_metrics is not None:

            def reference():
                return nctpy_energies.get_control_inputs(
                    A, steps, np.eye(n)[:, mask], x0, xf, system="discrete"
                )

            theirs = best_of(reference, 1, fresh_nctpy)
            difference = np.max(np.abs(ours().inputs - reference()[1]))
        rows.append((n, steps, "50% mask, S = I", seconds, theirs, difference))
    n, steps = 400, 100
    A = normalize_adjacency(structural_like(n, rng), system="discrete")
    x0, xf = rng.standard_normal((2, n))
    mask = np.zeros(n, dtype=bool)
    mask[::2] = True
    penalty = np.diag((np.arange(n) % 2).astype(float))
    cases = [
        ("B = I, S = I", {}),
        ("B = I, S = half", {"S": penalty}),
        ("50% mask, S = I", {"B": mask}),
    ]
    for label, options in cases:
        seconds = best_of(
            lambda: optimal_control(A, x0, xf, horizon=steps, system="discrete", **options),
            1 if quick else 2,
            fresh,
        )
        rows.append((n, steps, label, seconds, None, np.nan))
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 100, 400 only; fewer repeats")
    parser.add_argument("--sizes", type=int, nargs="+", default=None)
    args = parser.parse_args()
    sizes = args.sizes or ([100, 400] if args.quick else [100, 200, 400, 1000])
    rng = np.random.default_rng(0)
    warnings.simplefilter("ignore")  # benchmark inputs are well conditioned (B = I)
    with threadpool_limits(limits=1):
        rows = run(sizes, args.quick, rng)
        tv_sizes = [100, 400] if args.quick else [100, 200, 400]
        tv_windows = [10, 100] if args.quick else [10, 50, 100]
        tv_rows = run_time_varying(tv_sizes, tv_windows, args.quick, rng)
        optimal_rows = run_optimal_discrete(args.quick, rng)

    print("brainctrl.control vs nctpy 1.2.0 (single thread, best of k, seconds)")
    print("wall = elapsed time; cpu = CPU time of this process (less affected by other load)")
    header = (
        f"{'N':>5}  {'task':<18}{'ours wall':>10}{'ours cpu':>10}{'nctpy wall':>11}"
        f"{'nctpy cpu':>10}{'x wall':>8}{'x cpu':>8}  target (on cpu)"
    )
    print(header)
    for n, name, ours, theirs, _ in rows:
        if ours is None:
            print(f"{n:>5}  {name}")
            continue
        ratio_wall = theirs / ours if theirs else None
        ratio_cpu = theirs.cpu / ours.cpu if theirs and ours.cpu > 0 else None
        target = ""
        if n == 400 and name in TARGETS:
            ok = ratio_cpu is not None and ratio_cpu >= TARGETS[name]
            target = f">= {TARGETS[name]:g}x {'ok' if ok else 'MISSED'}"
        if n == 400 and name == "one window":
            target = f"<= 0.03 s {'ok' if ours.cpu <= 0.03 else 'MISSED'}"
        theirs_text = f"{theirs:11.4f}{theirs.cpu:10.4f}" if theirs else f"{'-':>11}{'-':>10}"
        ratio_text = (
            f"{ratio_wall:7.1f}x{ratio_cpu:7.1f}x"
            if ratio_wall and ratio_cpu
            else f"{'-':>8}{'-':>8}"
        )
        print(f"{n:>5}  {name:<18}{ours:10.5f}{ours.cpu:10.5f}{theirs_text}{ratio_text}  {target}")
    print()
    print("time_varying_energy, 100 state pairs, B = I (seconds)")
    print(f"{'N':>5}{'windows':>9}{'wall':>9}{'cpu':>9}{'cpu/window':>12}  target (on cpu)")
    for n, n_windows, seconds in tv_rows:
        target = ""
        if n == 400 and n_windows == 100:
            target = f"<= 5 s {'ok' if seconds.cpu <= 5 else 'MISSED'}"
        print(
            f"{n:>5}{n_windows:>9}{seconds:9.3f}{seconds.cpu:9.3f}"
            f"{seconds.cpu / n_windows:12.4f}  {target}"
        )
    print()
    print(
        "Cost grows as O(N^3) per matrix (one eigh; Van Loan/Schur for directed A) and "
        "linearly with the number of windows. Multi-core: batched eigh does not use more "
        "cores usefully on CPU; run one process per core with joblib, e.g. "
        "Parallel(n_jobs=-1)(delayed(average_controllability)(A, system='discrete') "
        "for A in stack)."
    )
    print()
    print("optimal_control(system='discrete') vs nctpy get_control_inputs (seconds)")
    print(
        f"{'N':>5}{'T':>5}  {'case':<18}{'ours wall':>10}{'ours cpu':>10}{'nctpy cpu':>10}"
        f"{'x cpu':>8}{'max |du|':>10}  target (on cpu)"
    )
    for n, steps, label, ours, theirs, difference in optimal_rows:
        target = ""
        if n == 400:
            target = f"<= 3 s {'ok' if ours.cpu <= 3 else 'MISSED'}"
        if theirs:
            theirs_text = f"{theirs.cpu:10.3f}{theirs.cpu / ours.cpu:7.1f}x{difference:10.1e}"
        else:
            theirs_text = f"{'-':>10}{'-':>8}{'-':>10}"
        print(f"{n:>5}{steps:>5}  {label:<18}{ours:10.3f}{ours.cpu:10.3f}{theirs_text}  {target}")


if __name__ == "__main__":
    main()
