"""A small synthetic dataset and config shared by the pipeline tests."""

import numpy as np
import pytest
import yaml

from brainctrl.datasets import make_cohort, write_demo_dataset
from brainctrl.pipeline._demo import demo_config

SMALL = {
    "clean": {"detrend": True, "standardize": True},
    "connectivity": {"window_length": 30, "step": 10},
    "states": {"n_states": 2, "n_activity_states": 3},
    "graph": {"n_runs": 2},
    "multilayer": {"n_runs": 1},
    "stats": {
        "group": "group",
        "covariates": ["age"],
        "scores": ["score"],
        "cca_scores": [],
        "n_permutations": 20,
        "cca": False,
        "prediction": False,
    },
    "executor": {"kind": "serial"},
}


def _small_config(manifest, **sections):
    settings = demo_config()
    for key, value in SMALL.items():
        settings[key] = {**settings.get(key, {}), **value} if isinstance(value, dict) else value
    for key, value in sections.items():
        settings[key] = {**settings.get(key, {}), **value} if isinstance(value, dict) else value
    settings["manifest"] = str(manifest)
    return settings


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory):
    """Six subjects, 24 regions, 150 frames: a few seconds per pipeline run."""
    root = tmp_path_factory.mktemp("small_dataset")
    cohort = make_cohort(n_subjects=6, n_regions=24, n_timepoints=150, random_state=1)
    manifest = write_demo_dataset(root, cohort=cohort)
    return manifest


@pytest.fixture
def write_config(tmp_path):
    def write(manifest, **sections):
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(_small_config(manifest, **sections)))
        return path

    return write


def _read_unit_tables(out_dir, suffix):
    """All per-run tables of one kind, sorted so executors can be compared."""
    import pandas as pd

    files = sorted(out_dir.glob(f"sub-*/*_{suffix}.parquet"))
    table = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    keys = [
        c
        for c in (
            "subject",
            "session",
            "run",
            "region",
            "measure",
            "network",
            "from_state",
            "to_state",
        )
        if c in table.columns
    ]
    return table.sort_values(keys, kind="stable").reset_index(drop=True)


def _assert_same_results(a, b):
    import pandas as pd

    for suffix in ("measures", "globals", "energy"):
        pd.testing.assert_frame_equal(_read_unit_tables(a, suffix), _read_unit_tables(b, suffix))
    for file in sorted(a.glob("sub-*/*_matrices.npz")):
        other = b / file.relative_to(a)
        with np.load(file) as x, np.load(other) as y:
            assert sorted(x.files) == sorted(y.files)
            for key in x.files:
                np.testing.assert_array_equal(x[key], y[key])


@pytest.fixture(scope="session")
def small_config():
    """``small_config(manifest, **sections)`` -> config dict for the small dataset."""
    return _small_config


@pytest.fixture(scope="session")
def read_unit_tables():
    return _read_unit_tables


@pytest.fixture(scope="session")
def assert_same_results():
    """Compare every per-run table and matrix of two output folders exactly."""
    return _assert_same_results
