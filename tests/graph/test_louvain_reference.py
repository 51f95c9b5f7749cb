"""The compiled Louvain engine finds the partitions of the interpreted one.

``tests/data/louvain_reference/partitions.npz`` holds the partitions that
brainctrl's interpreted (NumPy) node moves found for the problems below, for
fixed seeds; the compiled kernel draws the same random numbers in the same
order and sums in the same order, so it must find the same partitions.
Regenerate with ``python tests/graph/test_louvain_reference.py OUT.npz``
(see the README beside the file).
"""

import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

REFERENCE = Path(__file__).parents[1] / "data" / "louvain_reference" / "partitions.npz"


def _fc(n_regions, n_frames, seed):
    """Correlations of time series driven by 7 overlapping latent networks."""
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((7, n_regions)) * (rng.random((7, n_regions)) < 0.3)
    ts = rng.standard_normal((n_frames, 7)) @ mixing + rng.standard_normal((n_frames, n_regions))
    fc = np.corrcoef(ts.T)
    np.fill_diagonal(fc, 0.0)
    return fc


def partitions():
    """Partitions of signed and unsigned, single-layer and multilayer problems."""
    from brainctrl.graph import modularity_communities
    from brainctrl.graph._louvain import louvain_partition
    from brainctrl.multilayer import multilayer_modularity

    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in (60, 200, 400):
            for seed in range(4):
                fc = _fc(n, 300, seed)
                for negative in ("asymmetric", "ignore"):
                    result = modularity_communities(
                        fc, negative=negative, n_runs=3, random_state=seed
                    )
                    out[f"single_{n}_{seed}_{negative}"] = np.asarray(result.partition)
                b = fc - np.outer(fc.sum(0), fc.sum(0)) / fc.sum()
                for move in ("max", "random_weighted"):
                    out[f"raw_{n}_{seed}_{move}"] = louvain_partition(
                        b, move=move, random_state=seed
                    )[0]
        for seed in range(3):
            rng = np.random.default_rng(seed)
            n, n_layers = 100, 20
            mixing = rng.standard_normal((7, n)) * (rng.random((7, n)) < 0.3)
            ts = rng.standard_normal((600, 7)) @ mixing + rng.standard_normal((600, n))
            layers = np.stack([np.corrcoef(ts[i * 30 : (i + 1) * 30].T) for i in range(n_layers)])
            layers[:, np.arange(n), np.arange(n)] = 0.0
            for move in ("random_weighted", "max"):
                result = multilayer_modularity(layers, n_runs=2, move=move, random_state=seed)
                out[f"ml_{seed}_{move}"] = np.asarray(result.partition)
                out[f"mlq_{seed}_{move}"] = np.asarray(result.quality)
    return out


@pytest.mark.slow
def test_compiled_moves_find_the_interpreted_engines_partitions():
    with np.load(REFERENCE) as stored:
        reference = {key: stored[key] for key in stored.files}
    ours = partitions()
    assert sorted(ours) == sorted(reference)
    differ = [key for key in reference if not np.array_equal(ours[key], reference[key])]
    assert differ == []


if __name__ == "__main__":
    np.savez_compressed(sys.argv[1], **partitions())
