"""Write the reference outputs of netneurotools, nctpy and bctpy for structural tools.

Run with netneurotools 0.3.0, nctpy 1.2.0 (``null_models.geomsurr``) and bctpy
0.6.1 installed (no brainctrl needed)::

    python tests/data/structural_reference/make_reference.py tests/data/structural_reference

The inputs are not stored: :func:`synthetic_cohort` draws them again from a
seed, and the tests call the same function.
"""

import sys
from pathlib import Path

import numpy as np

# (name, n_subjects, n_regions, seed, rounded): rounded cases put lengths on a
# 2 mm grid and weights on 0.5 steps, so bins and ties are exercised.
COHORTS = (
    ("sc20x100", 20, 100, 2019, False),
    ("sc30x150", 30, 150, 475, False),
    ("sc20x100_ties", 20, 100, 7, True),
)
GEOMSURR_SEEDS = (0, 1, 123)
NULL_SEEDS = (0, 1, 2)


def synthetic_cohort(n_subjects, n_regions, seed, rounded=False):
    """Synthetic structural connectomes of two hemispheres on an ellipsoid.

    Returns ``(matrices, distance, hemisphere)``: ``(n_subjects, n, n)``
    symmetric log-normal weights with a zero diagonal, edges more likely
    between close regions (fewer between hemispheres), Euclidean distances in
    mm and 0/1 hemisphere labels.
    """
    rng = np.random.default_rng(seed)
    half = n_regions // 2
    direction = rng.normal(size=(n_regions, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    direction[:, 0] = np.abs(direction[:, 0])
    direction[:half, 0] *= -1
    coordinates = direction * np.array([70.0, 100.0, 80.0])
    coordinates[:, 0] += np.where(np.arange(n_regions) < half, -4.0, 4.0)
    hemisphere = (np.arange(n_regions) >= half).astype(int)
    distance = np.linalg.norm(coordinates[:, None] - coordinates[None], axis=-1)
    if rounded:
        distance = np.maximum(2.0 * np.round(distance / 2.0), 2.0)
    np.fill_diagonal(distance, 0.0)
    between = hemisphere[:, None] != hemisphere[None, :]
    probability = 0.95 * np.exp(-distance / 60.0) * np.where(between, 0.4, 1.0)
    edge_level = rng.normal(size=(n_regions, n_regions))
    edge_level = (edge_level + edge_level.T) / np.sqrt(2)
    log_mean = 1.5 - distance / 40.0 + 0.6 * edge_level
    upper = np.triu(np.ones((n_regions, n_regions), dtype=bool), 1)
    matrices = np.zeros((n_subjects, n_regions, n_regions))
    for s in range(n_subjects):
        present = (rng.random((n_regions, n_regions)) < probability) & upper
        weights = np.exp(log_mean + 0.4 * rng.normal(size=(n_regions, n_regions)))
        if rounded:
            weights = np.maximum(0.5 * np.round(weights / 0.5), 0.5)
        subject = np.where(present, weights, 0.0)
        matrices[s] = subject + subject.T
    return matrices, distance, hemisphere


def main(folder):
    import bct
    from netneurotools.networks import strength_preserving_rand_sa, struct_consensus
    from null_models.geomsurr import geomsurr

    folder = Path(folder)
    consensus = {}
    surrogates = {}
    nulls = {}
    for name, n_subjects, n_regions, seed, rounded in COHORTS:
        matrices, distance, hemisphere = synthetic_cohort(n_subjects, n_regions, seed, rounded)
        stack = np.moveaxis(matrices, 0, -1)  # netneurotools wants (N, N, S)
        rows, cols = np.triu_indices(n_regions, 1)
        binary = struct_consensus(stack, distance, hemisphere.reshape(-1, 1))
        weighted = struct_consensus(stack, distance, hemisphere.reshape(-1, 1), weighted=True)
        consensus[f"{name}__binary_edges"] = np.flatnonzero(binary[rows, cols]).astype(np.int32)
        consensus[f"{name}__weighted_upper"] = weighted[rows, cols]

    # geometry-preserving surrogates and nulls of one subject of the first cohort
    matrices, distance, _ = synthetic_cohort(20, 100, 2019)
    subject = matrices[0]
    for seed in GEOMSURR_SEEDS:
        wwp, wsp, wssp = geomsurr(subject, distance, seed=seed)
        lower = np.nonzero(np.tril(subject))
        surrogates[f"seed{seed}__Wwp"] = wwp[lower]
        surrogates[f"seed{seed}__Wsp"] = wsp[lower]
        surrogates[f"seed{seed}__Wssp"] = wssp[lower]

    group = struct_consensus(
        np.moveaxis(matrices, 0, -1), distance, np.repeat([0, 1], 50).reshape(-1, 1), weighted=True
    )
    strength = group.sum(axis=0)
    for seed in NULL_SEEDS:
        sa, energy = strength_preserving_rand_sa(group, seed=seed)
        rs, _ = bct.null_model_und_sign(group, seed=seed)
        for label, null in (("netneurotools_sa", sa), ("bct_null_model_und_sign", rs)):
            s = null.sum(axis=0)
            nulls[f"{label}__seed{seed}__strength_r"] = np.corrcoef(strength, s)[0, 1]
            nulls[f"{label}__seed{seed}__strength_mape"] = np.mean(np.abs(s - strength) / strength)
            nulls[f"{label}__seed{seed}__sse"] = np.sum((s - strength) ** 2)

    np.savez_compressed(folder / "netneurotools_consensus.npz", **consensus)
    np.savez_compressed(folder / "nctpy_geomsurr.npz", **surrogates)
    np.savez_compressed(folder / "null_strength_errors.npz", **nulls)
    for key, value in nulls.items():
        print(f"{key}: {float(value):.6g}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent)
