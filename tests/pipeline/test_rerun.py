"""Reruns reuse a finished result only while what it was computed from is unchanged."""

import os

import numpy as np
import pandas as pd
import pytest
from scipy.signal import detrend

from brainctrl.pipeline import PipelineConfig, run_pipeline

pytestmark = pytest.mark.filterwarnings(
    "ignore::brainctrl.exceptions.UnreachableTargetWarning",
    "ignore::brainctrl.exceptions.IllConditionedWarning",
)


@pytest.fixture
def run(small_config):
    def run(manifest, out_dir, **sections):
        config = PipelineConfig.from_dict(small_config(manifest, **sections))
        return run_pipeline(config, out_dir=out_dir, verbose=False)

    return run


def _mtimes(out):
    files = list(out.glob("sub-*/*")) + [out / "report.html", out / "group" / "summary.json"]
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in files}


def _changed(before, out):
    after = _mtimes(out)
    return sorted(name for name in before if after.get(name) != before[name])


def _subject_files(changed, subject):
    return [name for name in changed if name.startswith(f"sub-{subject}/")]


def test_unchanged_inputs_are_reused_and_a_touched_file_too(dataset, tmp_path, run):
    out = tmp_path / "out"
    run(dataset, out)
    before = _mtimes(out)
    run(dataset, out)
    assert _changed(before, out) == []  # nothing redone, the group stage included
    # a new modification time with the same bytes: hashed again, found equal
    file = sorted(dataset.parent.glob("sub-*/*_timeseries.tsv"))[0]
    os.utime(file, ns=(file.stat().st_atime_ns, file.stat().st_mtime_ns + 10**9))
    run(dataset, out)
    assert _changed(before, out) == []


def test_editing_one_input_redoes_that_run_and_the_group_stage(dataset, tmp_path, run):
    out = tmp_path / "out"
    run(dataset, out)
    before = _mtimes(out)
    file = sorted(dataset.parent.glob("sub-002/*_timeseries.tsv"))[0]
    stat = file.stat()
    old = pd.read_csv(file, sep="\t").to_numpy(float)
    # change one digit of one cell: same size, and the old modification time put back
    lines = file.read_text().split("\n")
    cells = lines[11].split("\t")
    digit = cells[4][1]
    cells[4] = cells[4][0] + str((int(digit) + 1) % 10) + cells[4][2:]
    lines[11] = "\t".join(cells)
    file.write_text("\n".join(lines))
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert (file.stat().st_size, file.stat().st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    new = pd.read_csv(file, sep="\t").to_numpy(float)
    assert np.count_nonzero(new != old) == 1
    status = run(dataset, out)
    changed = _changed(before, out)
    assert set(_subject_files(changed, "002")) >= {
        "sub-002/sub-002_run-1_matrices.npz",
        "sub-002/sub-002_run-1_measures.parquet",
        "sub-002/sub-002_run-1_globals.parquet",
    }
    for subject in ("001", "003", "004", "005", "006"):
        # other runs keep their per-run results; their energies follow the new states
        assert set(_subject_files(changed, subject)) <= {
            f"sub-{subject}/sub-{subject}_run-1_energy.parquet"
        }
    assert "report.html" in changed and "group/summary.json" in changed
    record = status[(status["stage"] == "run") & (status["subject"] == "002")].iloc[0]
    assert record["status"] == "done"
    with np.load(out / "sub-002" / "sub-002_run-1_matrices.npz") as data:
        stored = data["timeseries"].astype(float)
    # the stored series is the edited file's, cleaned (linear detrend, z-score)
    for values, expected_match in ((new, True), (old, False)):
        cleaned = detrend(values, axis=0)
        cleaned = cleaned / cleaned.std(axis=0, ddof=1)
        assert np.allclose(stored, cleaned, atol=1e-5) == expected_match


def test_a_missing_or_unreadable_output_is_recomputed(dataset, tmp_path, run):
    out = tmp_path / "out"
    run(dataset, out)
    before = _mtimes(out)
    (out / "sub-003" / "sub-003_run-1_measures.parquet").unlink()
    truncated = out / "sub-004" / "sub-004_run-1_matrices.npz"
    truncated.write_bytes(truncated.read_bytes()[:200])
    energy = out / "sub-005" / "sub-005_run-1_energy.parquet"
    energy.write_bytes(b"not parquet")
    run(dataset, out)
    changed = _changed(before, out)
    for subject in ("003", "004"):
        assert f"sub-{subject}/sub-{subject}_run-1_matrices.npz" in changed
    assert "sub-005/sub-005_run-1_energy.parquet" in changed
    assert not _subject_files(changed, "001")  # untouched, and its results unchanged
    pd.read_parquet(out / "sub-003" / "sub-003_run-1_measures.parquet")
    pd.read_parquet(energy)
    with np.load(truncated) as data:
        assert data["static_fc"].shape == (24, 24)


def test_each_config_change_redoes_what_depends_on_it(dataset, tmp_path, run):
    out = tmp_path / "out"
    run(dataset, out)

    def kinds(changed):
        return sorted({name.rsplit("_", 1)[-1] for name in changed if name.startswith("sub-")})

    before = _mtimes(out)
    run(dataset, out, control={"control_set": "all"})
    assert kinds(_changed(before, out)) == ["energy.parquet"]

    before = _mtimes(out)
    run(dataset, out, control={"control_set": "all"}, stats={"n_permutations": 10})
    changed = _changed(before, out)
    assert kinds(changed) == [] and "report.html" in changed

    # the horizon also enters the per-run continuous-time average controllability
    before = _mtimes(out)
    run(dataset, out, control={"control_set": "all", "horizon": 2.0})
    assert kinds(_changed(before, out)) == [
        "energy.parquet",
        "globals.parquet",
        "matrices.npz",
        "measures.parquet",
    ]


def test_swapping_the_dataset_recomputes_everything(dataset, tmp_path, run):
    from brainctrl.datasets import make_cohort, write_demo_dataset

    out = tmp_path / "out"
    run(dataset, out)
    before = _mtimes(out)
    # another cohort with the same subject and run names, written elsewhere
    cohort = make_cohort(n_subjects=6, n_regions=24, n_timepoints=150, random_state=7)
    other = write_demo_dataset(tmp_path / "other", cohort=cohort)
    run(other, out)
    changed = _changed(before, out)
    assert all(name in changed for name in before if name.endswith("_matrices.npz"))
    with np.load(out / "sub-001" / "sub-001_run-1_matrices.npz") as data:
        stored = data["timeseries"].astype(float)
    series = pd.read_csv(next((other.parent / "sub-001").glob("*_timeseries.tsv")), sep="\t")
    cleaned = detrend(series.to_numpy(float), axis=0)
    np.testing.assert_allclose(stored, cleaned / cleaned.std(axis=0, ddof=1), atol=1e-5)


def test_a_group_job_leaves_out_runs_whose_inputs_changed(dataset, tmp_path, small_config, caplog):
    out = tmp_path / "out"
    config = PipelineConfig.from_dict(small_config(dataset))
    run_pipeline(config, out_dir=out, participant_labels=["001", "002", "003"], verbose=False)
    run_pipeline(config, out_dir=out, participant_labels=["004", "005", "006"], verbose=False)
    file = sorted(dataset.parent.glob("sub-006/*_timeseries.tsv"))[0]
    file.write_text(file.read_text().replace("\t1", "\t2", 1))
    with caplog.at_level("WARNING", logger="brainctrl"):
        run_pipeline(config, out_dir=out, group_only=True, verbose=False)
    assert any(
        "sub-006_run-1: left out of the cohort stages (input changed: timeseries" in message
        for message in caplog.messages
    )
    results = pd.read_parquet(out / "group" / "group_comparison.parquet")
    assert (results["n"] == 5).all()
