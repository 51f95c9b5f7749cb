"""Speed of CIFTI-2 parcellation at HCP size, as ratios measured in the same run.

Usage::

    python benchmarks/bench_io.py [--quick] [--frames N] [--repeats K]

Writes an HCP-sized dense time series (91,282 grayordinates: 29,696 + 29,716 cortex
vertices + 31,870 subcortical voxels) and a 400-parcel cortex-only label file to a
temporary folder, then times (best of K):

1. loading the time series with nibabel and reading its whole data array (the I/O
   floor), and separately parsing both files' headers into nibabel axes (a fixed
   cost of one to two seconds at this size),
2. ``load_cifti_timeseries`` (match by structure and index, sparse block averaging),
3. a plain per-parcel loop over boolean masks on the array already in memory
   (what a script would do once it trusted the grayordinate order),

and checks that (2) and (3) agree. Ratios are printed against (1).
"""

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from nibabel import cifti2

from brainctrl.io import load_cifti_timeseries


def _best(function, repeats):
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def _write(folder, n_frames, rng):
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    left = np.sort(rng.choice(32492, 29696, replace=False))
    right = np.sort(rng.choice(32492, 29716, replace=False))
    mask = np.zeros((91, 109, 91), dtype=bool)
    mask.ravel()[np.sort(rng.choice(mask.size, 31870, replace=False))] = True
    cortex = cifti2.BrainModelAxis.from_surface(left, 32492, "cortex_left") + (
        cifti2.BrainModelAxis.from_surface(right, 32492, "cortex_right")
    )
    axis = cortex + cifti2.BrainModelAxis.from_mask(mask, "thalamus_left", affine=affine)
    data = rng.normal(size=(n_frames, axis.size)).astype(np.float32)
    series = cifti2.SeriesAxis(0.0, 0.72, n_frames)
    cifti2.Cifti2Image(data, header=(series, axis)).to_filename(folder / "run.dtseries.nii")
    keys = rng.integers(0, 401, size=cortex.size)
    table = {0: ("???", (0.0, 0.0, 0.0, 0.0))}
    table.update(
        {k: (f"7Networks_LH_Default_PFC_{k}", (1.0, 0.0, 0.0, 1.0)) for k in range(1, 401)}
    )
    labels = cifti2.LabelAxis(["parcellation"], [table])
    cifti2.Cifti2Image(keys[np.newaxis].astype(np.float32), header=(labels, cortex)).to_filename(
        folder / "atlas.dlabel.nii"
    )
    return keys


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100 frames, 1 repeat")
    parser.add_argument("--frames", type=int, default=1200, help="frames (default 1200)")
    parser.add_argument("--repeats", type=int, default=3, help="best of K (default 3)")
    args = parser.parse_args()
    n_frames = 100 if args.quick else args.frames
    repeats = 1 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        keys = _write(folder, n_frames, rng)
        dtseries, dlabel = folder / "run.dtseries.nii", folder / "atlas.dlabel.nii"

        def read_all():
            image = cifti2.load(dtseries)
            return np.asarray(image.dataobj)

        def headers():
            series = cifti2.load(dtseries)
            labels = cifti2.load(dlabel)
            return series.header.get_axis(1), labels.header.get_axis(1)

        header_time, _ = _best(headers, repeats)
        read_time, data = _best(read_all, repeats)
        ours_time, run_data = _best(lambda: load_cifti_timeseries(dtseries, dlabel), repeats)

        def loop():
            cortex = data[:, : keys.size].astype(np.float64)
            return np.stack([cortex[:, keys == k].mean(axis=1) for k in range(1, 401)], axis=1)

        loop_time, expected = _best(loop, repeats)
    error = np.max(np.abs(run_data.timeseries - expected))
    print(f"HCP-size CIFTI-2: 91,282 grayordinates x {n_frames} frames, 400 parcels")
    print(f"  nibabel read of the data array   {read_time:8.3f} s   (1.00)")
    print(
        f"  nibabel headers + axes, 2 files  {header_time:8.3f} s   "
        f"({header_time / read_time:.2f} x read)"
    )
    print(
        f"  load_cifti_timeseries            {ours_time:8.3f} s   "
        f"({ours_time / read_time:.2f} x read; headers + read alone: "
        f"{(header_time + read_time) / read_time:.2f} x read)"
    )
    print(
        f"  per-parcel mask loop (in memory) {loop_time:8.3f} s   "
        f"({loop_time / read_time:.2f} x read; needs the data already read and in file order)"
    )
    print(f"  max |difference| vs loop: {error:.2e}")


if __name__ == "__main__":
    main()
