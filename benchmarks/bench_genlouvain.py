"""Multilayer modularity: brainctrl against GenLouvain 2.2.0 (MATLAB code + MEX, in Octave).

    python benchmarks/bench_genlouvain.py --genlouvain PATH [--runs 20]

``PATH`` is a GenLouvain 2.2.0 folder whose MEX files were built with its own
``MEX_SRC/compile_mex.m`` in GNU Octave (``octave-cli`` on the PATH; see
``tests/data/genlouvain_reference/README.md`` for the exact files). For each
case, the same modularity matrix ``B`` (brainctrl's
``multilayer_modularity_matrix``, equal to GenLouvain's ``multiord`` /
``multicat`` to 2e-16) goes to both optimisers:

- GenLouvain: ``iterated_genlouvain(B, 10000, 0, 1, 'moverandw', [], PP)`` with
  ``postprocess_ordinal_multilayer`` for ordinal coupling, each run timed by
  ``tic``/``toc`` inside Octave (the matrix is already built);
- brainctrl: ``multilayer_modularity(layers, n_runs=1, move="random_weighted")``
  from the layers, so its time includes building ``B``.

Both run single-threaded in the same invocation of this script, one after the
other. Printed: median wall time per run and its ratio, the best and median Q
of each, and brainctrl's best Q as a fraction of GenLouvain's best.

Cases: the optimiser cases of ``tests/data/genlouvain_reference`` (ordinal
coupling ω = 1 and 0.1, 10 layers × 50 nodes; categorical, 6 × 40; signed
correlation layers, 8 × 30) and two planted temporal networks at the sizes of
fMRI windows (50 × 100 and 100 × 200).
"""

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.io
from threadpoolctl import threadpool_limits

from brainctrl.datasets import make_temporal_sbm
from brainctrl.multilayer import (
    multilayer_modularity,
    multilayer_modularity_matrix,
    multilayer_quality,
)

REFERENCE = Path(__file__).parents[1] / "tests" / "data" / "genlouvain_reference" / "inputs.npz"

OCTAVE = """
addpath('{path}'); addpath('{path}/HelperFunctions'); addpath('{path}/Assignment');
data = load('{mat}');
B = data.B; T = double(data.n_layers); ordinal = data.ordinal;
rand('twister', 1);
Q = zeros(1, {runs}); seconds = zeros(1, {runs});
for r = 1:{runs}
  rand('twister', r);
  tic;
  if ordinal
    [S, q] = iterated_genlouvain(B, 10000, 0, 1, 'moverandw', [], ...
                                 @(S) postprocess_ordinal_multilayer(S, T));
  else
    [S, q] = iterated_genlouvain(B, 10000, 0, 1, 'moverandw');
  end
  seconds(r) = toc;
  Q(r) = q;
end
save('-v7', '{out}', 'Q', 'seconds');
"""


def cases():
    stored = np.load(REFERENCE)
    yield "opt_ord ω=1 (10 × 50)", stored["opt_ord_layers"], {"omega": 1.0}
    yield "opt_ord ω=0.1 (10 × 50)", stored["opt_ord_layers"], {"omega": 0.1}
    yield "opt_cat (6 × 40)", stored["opt_cat_layers"], {"omega": 0.5, "coupling": "categorical"}
    yield "opt_sgn (8 × 30)", stored["opt_sgn_layers"], {"omega": 0.5, "negative": "asymmetric"}
    for n_layers, n_regions in ((50, 100), (100, 200)):
        layers, _ = make_temporal_sbm(n_layers, n_regions, n_changes=3, random_state=0)
        yield f"temporal SBM ({n_layers} × {n_regions})", layers, {"omega": 1.0}


def genlouvain(path, layers, options, runs, workdir):
    """Q (normalised by 2μ) and seconds of each GenLouvain run on brainctrl's B."""
    B, two_mu = multilayer_modularity_matrix(layers, **options)
    mat, out = Path(workdir) / "input.mat", Path(workdir) / "output.mat"
    scipy.io.savemat(
        mat,
        {
            "B": B.tocsc(),
            "n_layers": float(len(layers)),
            "ordinal": options.get("coupling", "ordinal") == "ordinal",
        },
    )
    script = OCTAVE.format(path=path, mat=mat, out=out, runs=runs)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    subprocess.run(
        ["octave-cli", "--no-gui", "--eval", script], check=True, env=env, capture_output=True
    )
    result = scipy.io.loadmat(out)
    return result["Q"].ravel() / two_mu, result["seconds"].ravel()


def ours(layers, options, runs):
    quality, seconds = [], []
    for seed in range(runs):
        start = time.perf_counter()
        result = multilayer_modularity(layers, n_runs=1, random_state=seed, **options)
        seconds.append(time.perf_counter() - start)
        quality.append(multilayer_quality(layers, result.partition, **options))
    return np.array(quality), np.array(seconds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genlouvain", required=True, help="GenLouvain 2.2.0 folder (MEX built)")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    path = str(Path(args.genlouvain).resolve())
    print(f"{args.runs} runs each, single-threaded; wall seconds per run (median)")
    print(
        f"{'case':28s} {'GenLouvain s':>12} {'brainctrl s':>11} {'ratio':>6} "
        f"{'GL best Q':>10} {'GL med Q':>9} {'bc best Q':>10} {'bc med Q':>9} {'best/best':>9}"
    )
    # the compiled kernels are loaded (or compiled) before timing
    warm, _ = make_temporal_sbm(2, 10, random_state=0)
    multilayer_modularity(warm, n_runs=1)
    with threadpool_limits(1), tempfile.TemporaryDirectory() as workdir:
        for name, layers, options in cases():
            gl_q, gl_s = genlouvain(path, layers, options, args.runs, workdir)
            bc_q, bc_s = ours(layers, options, args.runs)
            print(
                f"{name:28s} {np.median(gl_s):12.3f} {np.median(bc_s):11.3f} "
                f"{np.median(gl_s) / np.median(bc_s):5.1f}x {gl_q.max():10.6f} "
                f"{np.median(gl_q):9.6f} {bc_q.max():10.6f} {np.median(bc_q):9.6f} "
                f"{bc_q.max() / gl_q.max():9.5f}"
            )


if __name__ == "__main__":
    main()
