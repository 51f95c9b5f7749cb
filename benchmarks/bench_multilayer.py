"""Multilayer modularity: brainctrl's generalised Louvain against leidenalg.

Planted temporal benchmarks (weighted stochastic block layers, 4 communities,
a quarter of the nodes switching community at a few layers), ordinal
coupling, gamma = omega = 1. For each size: CPU time per run, the best
multilayer Q over the runs, Q of the planted partition and NMI to it, and
leidenalg's temporal optimisation (RBConfigurationVertexPartition per slice
plus the interslice coupling, which maximises the same quality) timed in the
same process. All Q values are computed by ``multilayer_quality`` from the
partitions, whichever tool produced them.

    python benchmarks/bench_multilayer.py            # full (about 5-10 min)
    python benchmarks/bench_multilayer.py --quick    # smaller sizes
"""

import argparse
import time

import numpy as np
from _legacy import patched  # beside this script, in benchmarks/
from sklearn.metrics import normalized_mutual_info_score

from brainctrl.datasets import make_temporal_sbm
from brainctrl.multilayer import multilayer_modularity, multilayer_quality


def leiden_temporal(layers, *, gamma=1.0, omega=1.0, seed=0):
    import igraph
    import leidenalg

    n_layers, n, _ = layers.shape
    slices = []
    for s in range(n_layers):
        rows, cols = np.nonzero(np.triu(layers[s], 1))
        graph = igraph.Graph(n=n, edges=list(zip(rows.tolist(), cols.tolist())))
        graph.es["weight"] = layers[s][rows, cols].tolist()
        graph.vs["id"] = list(range(n))
        slices.append(graph)
    layer_graphs, interslice, full = leidenalg.time_slices_to_layers(
        slices, interslice_weight=omega
    )
    partitions = [
        leidenalg.RBConfigurationVertexPartition(g, weights="weight", resolution_parameter=gamma)
        for g in layer_graphs
    ]
    partitions.append(
        leidenalg.CPMVertexPartition(
            interslice, resolution_parameter=0, node_sizes="node_size", weights="weight"
        )
    )
    optimiser = leidenalg.Optimiser()
    optimiser.set_rng_seed(seed)
    optimiser.optimise_partition_multiplex(partitions, n_iterations=-1)
    out = np.empty((n, n_layers), dtype=int)
    out[np.array(full.vs["id"]), np.array(full.vs["slice"])] = partitions[0].membership
    return out


def nmi(truth, partition):
    return normalized_mutual_info_score(truth.ravel(), partition.ravel())


def ours(layers, n_runs, seed=0):
    """Best result over n_runs, timing each run separately (CPU seconds)."""
    times, results = [], []
    seeds = np.random.default_rng(seed).integers(0, 2**31, n_runs)
    for run_seed in seeds:
        start = time.process_time()
        result = multilayer_modularity(layers, n_runs=1, random_state=int(run_seed))
        times.append(time.process_time() - start)
        results.append(result)
    best = max(results, key=lambda r: r.quality)
    return best, np.array(times)


def compare(n_layers, n_regions, n_runs, n_leiden, n_legacy=2):
    layers, truth = make_temporal_sbm(n_layers, n_regions, n_changes=3, random_state=0)
    multilayer_modularity(layers[:2, :10, :10], n_runs=1)  # load the compiled kernel
    best, times = ours(layers, n_runs)
    # the interpreted node moves of earlier releases: same seeds, same partitions
    first, first_times = ours(layers, n_legacy)
    with patched(graph=False):
        previous, legacy_times = ours(layers, n_legacy)
    same = np.array_equal(first.partition, previous.partition)
    leiden_q, leiden_times, leiden_best = -np.inf, [], None
    for seed in range(n_leiden):
        start = time.process_time()
        partition = leiden_temporal(layers, seed=seed)
        leiden_times.append(time.process_time() - start)
        quality = multilayer_quality(layers, partition)
        if quality > leiden_q:
            leiden_q, leiden_best = quality, partition
    truth_q = multilayer_quality(layers, truth)
    print(f"\n{n_layers} layers x {n_regions} nodes  ({n_runs} brainctrl runs, {n_leiden} leiden)")
    print(
        f"  brainctrl : {np.median(times):7.2f} CPU-s/run (min {times.min():.2f})  "
        f"best Q {best.quality:.6f}  NMI {nmi(truth, best.partition):.4f}"
    )
    print(
        f"  leidenalg : {np.median(leiden_times):7.2f} CPU-s/run  "
        f"best Q {leiden_q:.6f}  NMI {nmi(truth, leiden_best):.4f}"
    )
    print(f"  planted   :                      Q {truth_q:.6f}")
    print(
        f"  interpreted node moves of earlier releases: {np.median(legacy_times):.2f} CPU-s/run, "
        f"{np.median(legacy_times) / np.median(first_times):.1f}x the compiled kernel's time "
        f"(same partitions: {same})"
    )
    print(
        f"  Q ratio brainctrl/leiden {best.quality / leiden_q:.5f}   "
        f"brainctrl/planted {best.quality / truth_q:.5f}   "
        f"speed-up (median CPU per run) {np.median(leiden_times) / np.median(times):.1f}x"
    )


def scaling(sizes, n_runs):
    print("\nscaling (median CPU-s per run, brainctrl)")
    for n_layers, n_regions in sizes:
        layers, _ = make_temporal_sbm(n_layers, n_regions, n_changes=3, random_state=1)
        _, times = ours(layers, n_runs, seed=1)
        print(f"  {n_layers:4d} layers x {n_regions:4d} nodes: {np.median(times):7.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer runs")
    args = parser.parse_args()
    if args.quick:
        compare(20, 60, n_runs=20, n_leiden=3)
        compare(50, 100, n_runs=5, n_leiden=1)
        scaling([(25, 100), (50, 100), (50, 50), (50, 200)], n_runs=2)
        return
    compare(20, 60, n_runs=20, n_leiden=5)
    compare(50, 100, n_runs=20, n_leiden=2)
    compare(100, 200, n_runs=5, n_leiden=1)
    scaling(
        [(25, 100), (50, 100), (100, 100), (200, 100), (50, 50), (50, 200), (50, 400)],
        n_runs=3,
    )


if __name__ == "__main__":
    main()
