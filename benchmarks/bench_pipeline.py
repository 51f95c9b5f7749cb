"""Throughput of the per-run stage at HCP size, and extrapolation to a cohort.

    python benchmarks/bench_pipeline.py [--quick] [--steps 5 10] [--baseline]

One HCP-like run (1200 frames, 400 regions, TR 0.72 s) goes through the
per-run stage with the default config (clean, static and sliding-window FC,
controllability, graph measures and communities of the static network,
multilayer communities over the windows) and then the transition energies
(static and time-varying network, the mixed Default control set and its
controls: the set alone, all regions, random sets, horizon and window
sweeps), single-threaded, in a
fresh process so its peak memory is its own. Times are also printed as a
ratio to a reference computation run in the same process (one symmetric
eigendecomposition of a 400 x 400 matrix) because this machine is shared and
noisy. ``--baseline`` also runs the per-run stage with the interpreted kernels
of earlier releases (``_legacy.py``) for the speed-up; the last line gives the
cost of the compiled kernels' first use, from numba's cache and compiling.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time, warnings
    import numpy as np
    from threadpoolctl import threadpool_limits
    from brainctrl.datasets import make_regions
    from brainctrl.io import RunData
    from brainctrl.pipeline import PipelineConfig
    from brainctrl.pipeline._stages import process_run, transition_energies
    from brainctrl.control import (
        control_set, fc_to_system, gramian_conditioning, random_control_sets)
    from brainctrl.pipeline._group import EPSILON_GRID, EPSILON_TARGET_CONDITION

    n_frames, n_regions, step, multilayer_runs, legacy = (int(a) for a in sys.argv[1:6])
    sys.path.insert(0, sys.argv[6])
    from _legacy import patched
    import contextlib
    kernels = patched() if legacy else contextlib.nullcontext()
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(0)
    regions = make_regions(n_regions, random_state=0)
    # AR(1) signals with a shared component: realistic correlations, raw scale
    shared = rng.standard_normal((n_frames, 8)) @ rng.standard_normal((8, n_regions))
    ts = np.empty((n_frames, n_regions))
    ts[0] = rng.standard_normal(n_regions)
    noise = rng.standard_normal((n_frames, n_regions))
    for t in range(1, n_frames):
        ts[t] = 0.6 * ts[t - 1] + noise[t]
    ts = 1e4 + 100 * (ts + 0.5 * shared)
    run = RunData(ts, 0.72, regions=regions, subject="bench", run="1")
    config = PipelineConfig.from_dict({
        "manifest": "none",
        "connectivity": {"step": step},
        "multilayer": {"n_runs": multilayer_runs},
    })
    small = RunData(ts[:300, :40], 0.72, regions=regions.iloc[:40], subject="small", run="1")
    # imports apart, the first use loads the compiled kernels from numba's cache
    # (or compiles them when it is empty)
    import numba, brainctrl.connectivity, brainctrl.control, brainctrl.graph
    import brainctrl.multilayer
    with threadpool_limits(1), kernels:
        t0 = time.perf_counter()
        process_run(small, config, 0)
        t_first = time.perf_counter() - t0
        a = rng.standard_normal((n_regions, n_regions)); a = a + a.T
        ref = []
        for _ in range(5):
            t0 = time.perf_counter(); np.linalg.eigh(a); ref.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        tables, arrays = process_run(run, config, 0)
        t_run = time.perf_counter() - t0
        states = rng.standard_normal((4, n_regions))
        mask = np.asarray(control_set(regions, network="Default"))
        fc = arrays["static_fc"].astype(float)
        t0 = time.perf_counter()
        # the energy stage's design: epsilon chosen by conditioning, random sets
        grid = gramian_conditioning(fc_to_system(fc), mask, epsilons=EPSILON_GRID)
        epsilon = float(grid.loc[grid["condition_number"] <= EPSILON_TARGET_CONDITION,
                                 "epsilon"].min())
        design = {"mask": mask, "epsilon": epsilon, "random_sets": random_control_sets(
            n_regions, int(mask.sum()), n_sets=config.control.n_random_sets, exclude=mask,
            random_state=0)}
        table = transition_energies(arrays["timeseries"].astype(float), fc, states, design,
                                    config)
        t_energy = time.perf_counter() - t0
        primary = table[table["analysis"] == "primary"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"run_stage_s": t_run, "first_call_s": t_first, "energy_s": t_energy,
                      "eigh_ref_s": min(ref),
                      "peak_mib": peak, "n_windows": int(arrays["dynamic_fc"].shape[0]),
                      "epsilon": epsilon, "well_posed": float(primary["well_posed"].mean()),
                      "max_condition": float(primary["condition_number"].max())}))
    """
)


def measure(n_frames, n_regions, step, multilayer_runs, *, legacy=False, cache_dir=None):
    env = dict(os.environ)
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(n_frames),
            str(n_regions),
            str(step),
            str(multilayer_runs),
            str(int(legacy)),
            str(Path(__file__).parent),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N=100, 600 frames")
    parser.add_argument("--steps", type=int, nargs="+", default=[5, 10])
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also time the per-run stage with the interpreted kernels of earlier releases",
    )
    parser.add_argument(
        "--multilayer-runs",
        type=int,
        default=None,
        help="override multilayer.n_runs (default: the config default)",
    )
    args = parser.parse_args()
    from brainctrl.pipeline import PipelineConfig

    default_runs = PipelineConfig.from_dict({"manifest": "x"}).multilayer.n_runs
    runs = args.multilayer_runs or default_runs
    n_frames, n_regions = (600, 100) if args.quick else (1200, 400)
    print(
        f"per-run stage, {n_frames} frames x {n_regions} regions, window 60, one thread, "
        f"multilayer n_runs={runs}"
    )
    header = (
        f"{'step':>4} {'windows':>7} {'run (s)':>8} {'energy (s)':>10} {'total (s)':>9} "
        f"{'x eigh':>8} {'peak MiB':>9} {'runs/core-h':>11} {'1000x4 on 2 cores (h)':>22} "
        f"{'on 100 cores (h)':>17}"
    )
    print(header)
    for step in args.steps:
        r = measure(n_frames, n_regions, step, runs)
        total = r["run_stage_s"] + r["energy_s"]
        per_hour = 3600 / total
        print(
            f"{step:>4} {r['n_windows']:>7} {r['run_stage_s']:>8.1f} {r['energy_s']:>10.2f} "
            f"{total:>9.1f} {total / r['eigh_ref_s']:>8.0f} {r['peak_mib']:>9.0f} "
            f"{per_hour:>11.0f} {4000 / per_hour / 2:>22.1f} {4000 / per_hour / 100:>17.2f}"
        )
        print(
            f"     energy stage: epsilon {r['epsilon']:g} (auto), primary transitions well "
            f"posed {r['well_posed']:.0%}, largest condition number {r['max_condition']:.3g}"
        )
        if args.baseline:
            old = measure(n_frames, n_regions, step, runs, legacy=True)
            print(
                f"     per-run stage with the interpreted kernels of earlier releases: "
                f"{old['run_stage_s']:.1f} s, {old['run_stage_s'] / r['run_stage_s']:.1f}x "
                f"this run's ({old['run_stage_s'] / old['eigh_ref_s']:.0f} x eigh against "
                f"{r['run_stage_s'] / r['eigh_ref_s']:.0f})"
            )
    with tempfile.TemporaryDirectory() as empty:
        cold = measure(600, 100, 10, runs, cache_dir=empty)
    print(
        f"compiled kernels: first call {r['first_call_s']:.2f} s with numba's cache, "
        f"{cold['first_call_s']:.1f} s with an empty cache (compiling, once per installation)"
    )


if __name__ == "__main__":
    main()
