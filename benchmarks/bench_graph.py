"""Speed of graph measures on a window stack, against a bctpy per-window loop, in one run.

Usage::

    python benchmarks/bench_graph.py [--quick] [--windows 100] [--regions 400]
                                     [--density 0.1] [--bct-windows 3]

Workload: ``--windows`` sliding-window correlation matrices of ``--regions``
regions (synthetic time series with 7 planted networks, window 60 frames),
positive part, proportional threshold at ``--density``; 7 fixed communities.
Measures: strength, clustering, local efficiency (Wang et al. variant),
betweenness, participation, within-module z-score, global efficiency and
characteristic path length.

brainctrl computes them for the whole stack in one call. The baseline is a
per-window loop over bctpy (``strengths_und``, ``clustering_coef_wu``,
``efficiency_wei(local=True)``, ``betweenness_wei``, ``participation_coef``,
``module_degree_zscore``, ``efficiency_wei``, ``charpath(distance_wei)``).
bctpy's pure-Python Dijkstra takes tens of seconds per 400-region window, so
it runs on the first ``--bct-windows`` windows only; its time for the full
stack is that per-window time times ``--windows`` (stated as an
extrapolation in the output). Both sides run single-threaded (threadpoolctl)
and are timed in CPU seconds of this process (``time.process_time``), which a
busy shared machine disturbs less than wall time.
The numbers of both are compared on the windows bctpy ran.
"""

import argparse
import time
import warnings
from importlib.metadata import version

import bct
import numpy as np
from _legacy import patched  # beside this script, in benchmarks/
from threadpoolctl import threadpool_limits

from brainctrl.graph import graph_measures, threshold_proportional

BCT_MEASURES = (
    "strength",
    "clustering",
    "local_efficiency",
    "betweenness",
    "participation",
    "within_module_z",
    "global",
)


def make_windows(n_windows, n_regions, density, seed=0, window=60, n_networks=7):
    rng = np.random.default_rng(seed)
    labels = np.arange(n_regions) % n_networks
    n_frames = window + n_windows - 1
    latent = rng.standard_normal((n_frames, n_networks))
    timeseries = 0.6 * latent[:, labels] + rng.standard_normal((n_frames, n_regions))
    stack = np.empty((n_windows, n_regions, n_regions))
    for k in range(n_windows):
        stack[k] = np.corrcoef(timeseries[k : k + window].T)
    stack = np.clip(stack, 0, None)
    return threshold_proportional(stack, density), labels + 1


def bct_window(weights, communities):
    out = {}
    timings = {}

    def timed(name, func):
        start = time.process_time()
        result = func()
        timings[name] = time.process_time() - start
        return result

    out["strength"] = timed("strength", lambda: bct.strengths_und(weights))
    out["clustering"] = timed("clustering", lambda: bct.clustering_coef_wu(weights))
    out["local_efficiency"] = timed(
        "local_efficiency", lambda: bct.efficiency_wei(weights, local=True)
    )
    lengths = bct.weight_conversion(weights, "lengths")
    out["betweenness"] = timed("betweenness", lambda: bct.betweenness_wei(lengths))
    out["participation"] = timed(
        "participation", lambda: bct.participation_coef(weights, communities)
    )
    out["within_module_z"] = timed(
        "within_module_z", lambda: bct.module_degree_zscore(weights, communities)
    )

    def global_measures():
        efficiency = bct.efficiency_wei(weights)
        path_length = bct.charpath(bct.distance_wei(lengths)[0])[0]
        return efficiency, path_length

    out["global"] = timed("global", global_measures)
    return out, timings


def _largest_difference(frame, other):
    return float(np.max(np.abs(frame.to_numpy(float) - other.to_numpy(float))))


def best_of(func, repeats):
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.process_time()
        result = func()
        best = min(best, time.process_time() - start)
    return best, result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="20 windows x 200 regions, 1 bct window"
    )
    parser.add_argument("--windows", type=int, default=100)
    parser.add_argument("--regions", type=int, default=400)
    parser.add_argument("--density", type=float, default=0.1)
    parser.add_argument("--bct-windows", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2, help="best-of-k for brainctrl")
    args = parser.parse_args()
    if args.quick:
        args.windows, args.regions, args.bct_windows, args.repeats = 20, 200, 1, 1

    stack, communities = make_windows(args.windows, args.regions, args.density)
    print(
        f"workload: {args.windows} windows x {args.regions} regions, density {args.density}, "
        f"7 communities; bctpy {version('bctpy')}, "
        f"numpy {np.__version__}; single-threaded"
    )
    with threadpool_limits(1):
        # the compiled kernels are loaded from numba's cache (or compiled) on first use
        start = time.perf_counter()
        graph_measures(stack[:1], communities)
        print(f"first call (kernels loaded or compiled): {time.perf_counter() - start:.2f} s")
        per_measure = {}
        for name in ("strength", "clustering", "local_efficiency", "betweenness"):
            per_measure[name], _ = best_of(
                lambda name=name: graph_measures(stack, measures=name), args.repeats
            )
        per_measure["participation+within_module_z"], _ = best_of(
            lambda: graph_measures(
                stack, communities, measures=["participation", "within_module_z"]
            ),
            args.repeats,
        )
        total, frame = best_of(lambda: graph_measures(stack, communities), args.repeats)

        bct_outputs, bct_timings = [], []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            for window in range(args.bct_windows):
                outputs, timings = bct_window(stack[window], communities)
                bct_outputs.append(outputs)
                bct_timings.append(timings)

        # the interpreted kernels of earlier releases, same inputs, same process
        with patched(louvain=False):
            legacy = {
                name: best_of(lambda name=name: graph_measures(stack, measures=name), 1)[0]
                for name in ("local_efficiency", "betweenness")
            }
            legacy_total, legacy_frame = best_of(lambda: graph_measures(stack, communities), 1)
        # one static FC of the same regions: all positive correlations, no threshold
        dense = make_windows(1, args.regions, 1.0, window=1200)[0]
        dense_timing = {}
        for name in ("local_efficiency", "betweenness"):
            compiled_s, compiled = best_of(
                lambda name=name: graph_measures(dense, measures=name), 1
            )
            with patched(louvain=False):
                legacy_s, previous = best_of(
                    lambda name=name: graph_measures(dense, measures=name), 1
                )
            dense_timing[name] = (compiled_s, legacy_s, compiled[name], previous[name])

    print(
        f"\nagainst the interpreted kernels of earlier releases (per window, same stack): "
        f"all measures {legacy_total / args.windows * 1e3:.1f} -> "
        f"{total / args.windows * 1e3:.1f} ms/window ({legacy_total / total:.1f}x)"
    )
    for name, seconds in legacy.items():
        print(f"  {name:32s} {seconds / per_measure[name]:10.1f}x")
    print(
        f"  largest |difference| of all measures: {_largest_difference(frame, legacy_frame):.2e}"
    )
    print(f"one static FC, {args.regions} regions, positive part unthresholded:")
    for name, (compiled_s, legacy_s, compiled, previous) in dense_timing.items():
        difference = float(np.max(np.abs(compiled.to_numpy() - previous.to_numpy())))
        print(
            f"  {name:32s} {legacy_s:7.3f} s -> {compiled_s:7.3f} s "
            f"({legacy_s / compiled_s:.1f}x), largest |difference| {difference:.1e}"
        )

    bct_per_window = {name: np.mean([t[name] for t in bct_timings]) for name in BCT_MEASURES}
    bct_total = sum(bct_per_window.values())
    ours_per_window = total / args.windows
    print(
        f"\nbrainctrl, all {args.windows} windows, all measures (best of {args.repeats}): "
        f"{total:.2f} s = {ours_per_window * 1e3:.1f} ms/window"
    )
    for name, seconds in per_measure.items():
        print(f"  {name:32s} {seconds:8.3f} s  ({seconds / args.windows * 1e3:8.2f} ms/window)")
    print(f"\nbctpy loop, mean of {args.bct_windows} window(s):")
    for name, seconds in bct_per_window.items():
        print(f"  {name:32s} {seconds * 1e3:10.1f} ms/window")
    print(
        f"  total {bct_total:.2f} s/window -> {bct_total * args.windows:.1f} s for "
        f"{args.windows} windows (extrapolated from {args.bct_windows})"
    )
    print(
        f"\nratio bctpy / brainctrl per window, all measures: {bct_total / ours_per_window:.1f}x"
    )
    for name in ("local_efficiency", "betweenness", "clustering"):
        ratio = bct_per_window[name] / (per_measure[name] / args.windows)
        print(f"  {name:32s} {ratio:10.1f}x")

    print("\nlargest |brainctrl - bctpy| on the bctpy windows:")
    n = args.regions
    sizes = np.bincount(communities)[communities]
    worst = {}
    for window, outputs in enumerate(bct_outputs):
        ours = frame.loc[window]
        pairs = {
            "strength": (ours["strength"], outputs["strength"]),
            "clustering": (ours["clustering"], outputs["clustering"]),
            "local_efficiency": (ours["local_efficiency"], outputs["local_efficiency"]),
            "betweenness (x (n-1)(n-2))": (
                ours["betweenness"] * (n - 1) * (n - 2),
                outputs["betweenness"],
            ),
            "participation": (ours["participation"], outputs["participation"]),
            "within_module_z (x sqrt(n/(n-1)))": (
                ours["within_module_z"] * np.sqrt(sizes / (sizes - 1)),
                outputs["within_module_z"],
            ),
            "global_efficiency": (
                frame.attrs["global"]["global_efficiency"][window],
                outputs["global"][0],
            ),
            "characteristic_path_length": (
                frame.attrs["global"]["characteristic_path_length"][window],
                outputs["global"][1],
            ),
        }
        for name, (a, b) in pairs.items():
            diff = float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
            worst[name] = max(worst.get(name, 0.0), diff)
    for name, diff in worst.items():
        print(f"  {name:36s} {diff:.2e}")
    if max(worst.values()) > 1e-8:
        raise SystemExit("brainctrl and bctpy disagree beyond 1e-8")


if __name__ == "__main__":
    main()
