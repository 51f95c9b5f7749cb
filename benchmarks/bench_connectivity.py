"""Speed and memory of sliding-window connectivity, as ratios measured in the same run.

Usage::

    python benchmarks/bench_connectivity.py [--quick] [--teneto-python PATH]

Single-threaded throughout (BLAS/OpenMP limited to 1 thread with threadpoolctl).

1. brainctrl vs a per-window ``np.corrcoef`` loop at several N (1200 frames,
   window 60, step 1), float64 full output, plus the largest deviation from the
   loop; and a running-sum (cumulative sum) version at N=100 on raw-scale data
   to show its cancellation error.
2. teneto 0.5.3 ``derive_temporalnetwork`` (sliding window) at N=100, 660 frames
   (601 windows), run in its own virtual environment through a subprocess,
   since teneto imports only beside nilearn < 0.14 (``--teneto-python``).
3. A full HCP run: 1200 frames, N=400, window 60, step 1, float32 output, full
   and upper-triangle; time and peak memory (tracemalloc).
4. A 4-run HCP subject at N=400, float32 upper-triangle: peak memory while all
   four outputs are held.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from brainctrl.connectivity import sliding_window_connectivity

GIB = 2**30


def best_of(func, repeats):
    """Best CPU seconds (user + system of this process) over ``repeats`` calls.

    Single-threaded work on a shared machine: CPU time is what the code costs;
    wall time also counts waiting for other jobs. ``best_wall`` keeps the latter.
    """
    cpu, wall = [], []
    for _ in range(repeats):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        result = func()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
        del result
    best_wall.append(min(wall))
    return min(cpu)


best_wall = []


def corrcoef_loop(ts, window_length, step=1):
    starts = range(0, ts.shape[0] - window_length + 1, step)
    out = np.empty((len(starts), ts.shape[1], ts.shape[1]))
    for k, s in enumerate(starts):
        out[k] = np.corrcoef(ts[s : s + window_length].T)
    return out


def running_sum_pearson(ts, window_length):
    """O(T N^2) running sums of x, x^2 and x x^T (the approach not taken)."""
    n_timepoints, n_regions = ts.shape
    zero = np.zeros((1, n_regions))
    s1 = np.concatenate([zero, np.cumsum(ts, axis=0)])
    s2 = np.concatenate(
        [np.zeros((1, n_regions, n_regions)), np.cumsum(ts[:, :, None] * ts[:, None, :], axis=0)]
    )
    w = window_length
    sum_x = s1[w:] - s1[:-w]
    sum_xy = s2[w:] - s2[:-w]
    cov = sum_xy - sum_x[:, :, None] * sum_x[:, None, :] / w
    var = np.diagonal(cov, axis1=1, axis2=2)
    return cov / np.sqrt(var[:, :, None] * var[:, None, :])


def bold_like(rng, n_timepoints, n_regions):
    """Raw-scale BOLD-like signals: means ~1e4, fluctuations of ~1 %."""
    shared = rng.standard_normal((n_timepoints, 5)) @ rng.standard_normal((5, n_regions))
    return (
        1e4
        + 50 * rng.random(n_regions) * 10
        + 100 * (shared + rng.standard_normal((n_timepoints, n_regions))) / 3
    )


def part_loop(rng, sizes, repeats):
    print("\n## 1. brainctrl vs per-window np.corrcoef loop (T=1200, window 60, step 1, float64)")
    print("CPU seconds, best of repeats")
    print(f"{'N':>5} {'loop s':>9} {'brainctrl s':>12} {'speed-up':>9} {'max |diff|':>11}")
    for n_regions in sizes:
        ts = bold_like(rng, 1200, n_regions)
        t_loop = best_of(lambda ts=ts: corrcoef_loop(ts, 60), repeats)
        t_ours = best_of(lambda ts=ts: sliding_window_connectivity(ts, 60), repeats)
        diff = np.abs(corrcoef_loop(ts, 60) - sliding_window_connectivity(ts, 60)).max()
        print(
            f"{n_regions:>5} {t_loop:>9.3f} {t_ours:>12.3f} {t_loop / t_ours:>8.1f}x {diff:>11.1e}"
        )
    print("other shapes (T=1200): N, window, step")
    for n_regions, window, step in ((2, 10, 1), (400, 30, 30), (50, 300, 1), (200, 15, 5)):
        ts = bold_like(rng, 1200, n_regions)
        t_loop = best_of(lambda ts=ts, w=window, s=step: corrcoef_loop(ts, w, s), repeats)
        t_ours = best_of(
            lambda ts=ts, w=window, s=step: sliding_window_connectivity(ts, w, s), repeats
        )
        print(
            f"  N={n_regions:>3} window={window:>3} step={step:>2}: loop {t_loop:.4f} s, "
            f"brainctrl {t_ours:.4f} s, speed-up {t_loop / t_ours:.1f}x"
        )
    print("grid (T=1200, window 60): brainctrl's time / the loop's, never above 1")
    for n_regions in (100, 400):
        ts = bold_like(rng, 1200, n_regions)
        for step in (1, 5):
            t_loop = best_of(lambda ts=ts, s=step: corrcoef_loop(ts, 60, s), repeats)
            ratios = []
            for dtype in (np.float32, np.float64):
                t_ours = best_of(
                    lambda ts=ts, s=step, d=dtype: sliding_window_connectivity(ts, 60, s, dtype=d),
                    repeats,
                )
                ratios.append(f"{np.dtype(dtype).name} {t_ours / t_loop:.2f}")
            print(f"  N={n_regions:>3} step={step}: " + ", ".join(ratios))
    ts = bold_like(rng, 1200, 100)
    t_sum = best_of(lambda: running_sum_pearson(ts, 60), repeats)
    t_ours = best_of(lambda: sliding_window_connectivity(ts, 60), repeats)
    err = np.abs(running_sum_pearson(ts, 60) - corrcoef_loop(ts, 60)).max()
    print(
        f"running sums, N=100: {t_sum:.3f} s ({t_sum / t_ours:.1f}x brainctrl's time), "
        f"max |error| vs np.corrcoef on raw-scale data {err:.1e}"
    )


def part_teneto(rng, teneto_python, repeats):
    print("\n## 2. teneto 0.5.3 derive_temporalnetwork (N=100, 660 frames, window 60)")
    if teneto_python is None or not Path(teneto_python).exists():
        print(
            "teneto interpreter not found; not run. Reference figure: ~13 CPU-s for 100 "
            "regions x ~600 windows."
        )
        return
    ts = bold_like(rng, 660, 100)
    t_ours = best_of(lambda: sliding_window_connectivity(ts, 60), repeats)
    wall_ours = best_wall[-1]
    ours = sliding_window_connectivity(ts, 60)
    print(f"brainctrl (1 thread): {wall_ours:.4f} s wall, {t_ours:.4f} CPU-s")
    runner = Path(__file__).with_name("_teneto_runner.py")
    threads = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        data, result = Path(tmp) / "x.npy", Path(tmp) / "out.npy"
        np.save(data, ts)
        for label, env in (
            ("1 BLAS thread", dict(os.environ, **threads)),
            ("default BLAS threads", {k: v for k, v in os.environ.items() if k not in threads}),
        ):
            proc = subprocess.run(
                [teneto_python, str(runner), str(data), str(result), "60"],
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            if proc.returncode != 0:
                print(f"teneto failed: {proc.stderr.strip().splitlines()[-1:]}")
                return
            timing = json.loads(proc.stdout.strip().splitlines()[-1])
            theirs = np.moveaxis(np.load(result), -1, 0)
            print(
                f"teneto ({label}): {timing['wall']:.2f} s wall, {timing['cpu']:.2f} CPU-s, "
                f"{theirs.shape[0]} windows; brainctrl is {timing['wall'] / wall_ours:.0f}x "
                f"faster in wall time, {timing['cpu'] / t_ours:.0f}x in CPU time; max |diff| "
                f"{np.abs(theirs - ours).max():.1e}"
            )


def peak_memory(func):
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, peak


def part_hcp(rng, repeats):
    print("\n## 3. HCP run: 1200 frames, N=400, window 60, step 1, float32")
    ts = bold_like(rng, 1200, 400)
    t_loop = best_of(lambda: corrcoef_loop(ts, 60), 1)
    for vectorize in (False, True):
        seconds = best_of(
            lambda v=vectorize: sliding_window_connectivity(ts, 60, dtype=np.float32, vectorize=v),
            repeats,
        )
        result, peak = peak_memory(
            lambda v=vectorize: sliding_window_connectivity(ts, 60, dtype=np.float32, vectorize=v)
        )
        wall = best_wall[-1]
        label = "upper triangle" if vectorize else "full matrices "
        print(
            f"{label}: {seconds:.3f} CPU-s, {wall:.3f} s wall (target < 2 s; per-window "
            f"np.corrcoef loop, float64: {t_loop:.2f} CPU-s, {t_loop / seconds:.1f}x), "
            f"output {result.nbytes / GIB:.2f} GiB, peak traced "
            f"{peak / GIB:.2f} GiB"
        )
        del result


def part_subject(rng):
    print("\n## 4. 4-run HCP subject, N=400, float32 upper triangle, outputs held")
    runs = [bold_like(rng, 1200, 400) for _ in range(4)]

    def subject():
        return [
            sliding_window_connectivity(run, 60, dtype=np.float32, vectorize=True) for run in runs
        ]

    start = time.process_time()
    result, peak = peak_memory(subject)
    seconds = time.process_time() - start
    inputs = sum(run.nbytes for run in runs)
    outputs = sum(r.nbytes for r in result)
    print(
        f"{seconds:.2f} CPU-s (under tracemalloc); outputs {outputs / GIB:.2f} GiB, "
        f"inputs {inputs / GIB:.3f} GiB "
        f"(allocated before tracing), peak traced {peak / GIB:.2f} GiB (target < 2 GiB)"
    )
    try:
        import resource

        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        print(f"process peak RSS so far (whole benchmark): {rss / GIB:.2f} GiB")
    except ImportError:  # pragma: no cover - Windows
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    parser.add_argument(
        "--teneto-python",
        default="/tmp/teneto-venv/bin/python",
        help="python of a virtual environment with teneto 0.5.3 and nilearn<0.14",
    )
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    repeats = 2 if args.quick else 5
    sizes = (10, 100, 400) if args.quick else (10, 50, 100, 200, 400)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, single-threaded BLAS")
    with threadpool_limits(limits=1):
        part_loop(rng, sizes, repeats)
        part_teneto(rng, None if args.quick else args.teneto_python, repeats)
        part_hcp(rng, repeats)
        part_subject(rng)


if __name__ == "__main__":
    main()
