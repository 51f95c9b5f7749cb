"""A small synthetic dataset and config shared by the pipeline tests."""

import contextlib
import subprocess
import sys

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
def dataset(small_dataset, tmp_path):
    """A private copy of the small dataset, free to edit."""
    import shutil

    root = tmp_path / "data"
    shutil.copytree(small_dataset.parent, root)
    return root / small_dataset.name


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


def _assert_same_npz(file, other):
    with np.load(file) as x, np.load(other) as y:
        assert sorted(x.files) == sorted(y.files), (file, other)
        for key in x.files:
            np.testing.assert_array_equal(x[key], y[key], err_msg=f"{file.name}: {key}")


def _assert_same_results(a, b):
    import json

    import pandas as pd

    for suffix in ("measures", "globals", "energy"):
        pd.testing.assert_frame_equal(_read_unit_tables(a, suffix), _read_unit_tables(b, suffix))
    matrices = sorted(a.glob("sub-*/*_matrices.npz"))
    assert [f.relative_to(a) for f in matrices] == [
        f.relative_to(b) for f in sorted(b.glob("sub-*/*_matrices.npz"))
    ]
    for file in matrices:
        _assert_same_npz(file, b / file.relative_to(a))
    # cohort outputs: brain states, every group table and the summary
    _assert_same_npz(a / "group" / "states.npz", b / "group" / "states.npz")
    tables = sorted(f.name for f in (a / "group").glob("*.parquet"))
    assert tables and tables == sorted(f.name for f in (b / "group").glob("*.parquet"))
    for name in tables:
        pd.testing.assert_frame_equal(
            pd.read_parquet(a / "group" / name), pd.read_parquet(b / "group" / name), obj=name
        )
    summary = [json.loads((out / "group" / "summary.json").read_text()) for out in (a, b)]
    assert summary[0] == summary[1]


@pytest.fixture(scope="session")
def small_config():
    """``small_config(manifest, **sections)`` -> config dict for the small dataset."""
    return _small_config


@pytest.fixture(scope="session")
def read_unit_tables():
    return _read_unit_tables


@pytest.fixture(scope="session")
def assert_same_results():
    """Compare every per-run table and matrix, and the group outputs, of two folders exactly."""
    return _assert_same_results


# a second process holding an output folder's lock until its stdin closes
_HOLD = """
import sys
from brainctrl.pipeline._store import lock_output
out, method, subjects = sys.argv[1], sys.argv[2], sys.argv[3:]
lock = lock_output(out, subjects=subjects, use_flock=method == "flock")
print("held", flush=True)
sys.stdin.read()
lock.release()
"""


@contextlib.contextmanager
def _hold_output(out, method="flock", subjects=()):
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(out), method, *subjects],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline() == "held\n"
        yield process
    finally:
        if process.poll() is None:
            process.stdin.close()
        process.wait(timeout=60)
        process.stdout.close()


@pytest.fixture(scope="session")
def hold_output():
    """``with hold_output(out, method, subjects) as process``: another process holds ``out``.

    ``method`` is ``"flock"`` or ``"files"``; with ``subjects`` the lock is a
    per-subject run's (shared folder, exclusive subjects).
    """
    return _hold_output
