import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

import numpy as np
import pandas as pd
import pytest
import yaml

from brainctrl.cli import main
from brainctrl.pipeline import PipelineConfig, run_pipeline

pytestmark = pytest.mark.filterwarnings(
    # small synthetic systems with a Default-network control set are poorly
    # conditioned by design; the pipeline records those numbers per transition
    "ignore::brainctrl.exceptions.UnreachableTargetWarning",
    "ignore::brainctrl.exceptions.IllConditionedWarning",
)


@pytest.fixture(scope="module")
def run(small_config):
    def run(manifest, out_dir, **sections):
        config = PipelineConfig.from_dict(small_config(manifest, **sections))
        return run_pipeline(config, out_dir=out_dir, verbose=False)

    return run


@pytest.fixture(scope="module")
def reference_run(small_dataset, tmp_path_factory, run):
    out = tmp_path_factory.mktemp("reference")
    status = run(small_dataset, out)
    return out, status


def test_outputs_and_status(reference_run):
    out, status = reference_run
    assert sorted(status["stage"].unique()) == ["energy", "group", "run"]
    assert len(status[status["stage"] == "run"]) == 6
    # the config turns sparse CCA and prediction off: recorded as skipped, with why
    skipped = status[status["status"] == "skipped"].set_index("unit")["reason"].to_dict()
    assert skipped == {
        "sparse_cca": "stats.cca is false",
        "behaviour_prediction": "stats.prediction is false",
    }
    assert set(status.loc[status["status"] != "skipped", "status"]) == {"done"}
    group = status[status["stage"] == "group"].set_index("unit")["status"].to_dict()
    assert group == {
        "brain_states": "done",
        "connectivity_and_brain_states": "done",
        "controllability": "done",
        "transition_energy": "done",
        "multilayer_communities": "done",
        "state_switch_recovery": "done",
        "group_comparison": "done",
        "sparse_cca": "skipped",
        "behaviour_prediction": "skipped",
    }
    for name in (
        "dataset_description.json",
        "config.yaml",
        "status.parquet",
        "report.html",
        "group/states.npz",
        "group/group_comparison.parquet",
        "group/energy_static_vs_dynamic.parquet",
    ):
        assert (out / name).exists(), name
    description = json.loads((out / "dataset_description.json").read_text())
    assert description["GeneratedBy"][0]["Name"] == "brainctrl"
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["connectivity"]["window_length"] == 30
    report = (out / "report.html").read_text()
    assert "Transition energy" in report and "data:image/png;base64" in report
    # no temporary file is left behind
    assert not list(out.rglob("*.tmp"))
    # every file has the permissions the umask gives new files
    umask = os.umask(0o022)
    os.umask(umask)
    modes = {oct(stat.S_IMODE(f.stat().st_mode)) for f in out.rglob("*") if f.is_file()}
    assert modes == {oct(0o666 & ~umask)}


def test_stored_matrices_match_an_independent_computation(reference_run, read_unit_tables):
    out, _ = reference_run
    file = sorted(out.glob("sub-*/*_matrices.npz"))[0]
    with np.load(file) as data:
        ts = data["timeseries"].astype(float)
        fc = data["static_fc"].astype(float)
        dynamic = data["dynamic_fc"].astype(float)
    np.testing.assert_allclose(fc, np.corrcoef(ts, rowvar=False), atol=1e-6)
    n = ts.shape[1]
    iu = np.triu_indices(n, k=1)
    for k in (0, len(dynamic) - 1):
        window = ts[10 * k : 10 * k + 30]
        np.testing.assert_allclose(dynamic[k], np.corrcoef(window, rowvar=False)[iu], atol=1e-5)
    measures = read_unit_tables(out, "measures")
    assert list(measures.columns[:6]) == [
        "subject",
        "session",
        "run",
        "region",
        "measure",
        "value",
    ]
    flexibility = measures[measures["measure"] == "flexibility"]["value"]
    assert flexibility.between(0, 1).all()
    energy = read_unit_tables(out, "energy")
    assert (energy["energy"] > 0).all()
    assert set(energy["network"]) == {"static", "dynamic"}


def test_rerun_skips_finished_units(small_dataset, reference_run, tmp_path, run):
    out = tmp_path / "out"
    shutil.copytree(reference_run[0], out)
    before = {p: p.stat().st_mtime_ns for p in out.glob("sub-*/*")}
    run(small_dataset, out)
    assert {p: p.stat().st_mtime_ns for p in out.glob("sub-*/*")} == before
    # a change of a section a stage depends on redoes that stage only
    run(small_dataset, out, control={"horizon": 2.0})
    after = {p: p.stat().st_mtime_ns for p in out.glob("sub-*/*")}
    changed = sorted(p.name.rsplit("_", 1)[1] for p in before if after[p] != before[p])
    assert set(changed) <= {
        "energy.parquet",
        "globals.parquet",
        "matrices.npz",
        "measures.parquet",
    }
    assert "energy.parquet" in changed


def _corrupt_dataset(small_dataset, tmp_path):
    root = tmp_path / "broken"
    shutil.copytree(small_dataset.parent, root)
    manifest = root / small_dataset.name
    files = sorted(root.glob("sub-*/*_timeseries.tsv"))
    files[0].write_bytes(b"\x00\x01garbage\tnot a table\n\xff")
    files[1].unlink()
    table = pd.read_csv(files[2], sep="\t")
    table.iloc[5, 3] = np.nan
    table.to_csv(files[2], sep="\t", index=False)
    return manifest, files[:3]


def test_failed_runs_are_recorded_and_the_rest_finish(
    small_dataset, tmp_path, write_config, capsys
):
    manifest, broken = _corrupt_dataset(small_dataset, tmp_path)
    # three good subjects are too few for the group GLM: that cohort section
    # fails too, and is reported without losing anything else
    config = write_config(manifest)
    out = tmp_path / "out"
    code = main(["run", str(config), "--out", str(out), "--quiet"])
    assert code == 1
    status = pd.read_parquet(out / "status.parquet")
    runs = status[status["stage"] == "run"].set_index("subject")
    failed = runs[runs["status"] == "failed"]
    assert len(failed) == 3 and (runs["status"] == "done").sum() == 3
    subjects = [f.parent.name.removeprefix("sub-") for f in broken]
    assert sorted(failed.index) == sorted(subjects)
    assert (
        "does not exist" in failed.loc[subjects[1], "error"]
        or "not found" in failed.loc[subjects[1], "error"]
    )
    assert (
        "NaN" in failed.loc[subjects[2], "error"]
        or "non-finite" in failed.loc[subjects[2], "error"]
    )
    for error in failed["error"]:
        assert error  # every failure carries its reason
    # the cohort stages ran on the three good runs
    assert (out / "report.html").exists()
    assert (out / "group" / "energy_static_vs_dynamic.parquet").exists()
    group = status[status["stage"] == "group"].set_index("unit")
    assert group.loc["group_comparison", "status"] == "failed"
    assert "need more subjects" in group.loc["group_comparison", "error"]
    # the other sections ran on the three good runs
    assert group.loc["controllability", "status"] == "done"
    assert group.loc["transition_energy", "status"] == "done"
    assert "group comparison (failed)" in (out / "report.html").read_text()
    capsys.readouterr()
    assert main(["status", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "Failed units" in printed and subjects[0] in printed


@pytest.mark.slow
@pytest.mark.distributed
def test_executors_give_identical_results(
    small_dataset, reference_run, tmp_path, run, write_config, assert_same_results
):
    out = tmp_path / "processes"
    run(small_dataset, out, executor={"kind": "processes", "n_jobs": 2})
    assert_same_results(reference_run[0], out)
    # Dask from a fresh `brainctrl run`, as users start it: its nanny sets
    # OMP_NUM_THREADS=1 in this process before scikit-learn is first loaded
    out = tmp_path / "dask"
    config = write_config(small_dataset)
    command = ["run", str(config), "--out", str(out), "--executor", "dask", "--n-jobs", "2"]
    done = subprocess.run(
        [sys.executable, "-m", "brainctrl.cli", *command, "--quiet"],
        check=True,
        capture_output=True,
        text=True,
    )
    assert_same_results(reference_run[0], out)
    # --quiet keeps the terminal quiet, not the run's log file
    assert "INFO" not in done.stderr
    log = (out / "logs" / "brainctrl.log").read_text()
    assert " INFO brainctrl" in log


def _wait_for(condition, timeout=120):
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout:
            raise TimeoutError("condition not met")
        time.sleep(0.02)


@pytest.mark.slow
def test_killed_run_resumes_without_redoing_or_corrupting(
    small_dataset, reference_run, tmp_path, write_config, assert_same_results
):
    config = write_config(small_dataset, executor={"kind": "processes", "n_jobs": 2})
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-m", "brainctrl.cli", "run", str(config), "--out", str(out), "--quiet"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    status_dir = out / ".status"
    try:
        _wait_for(lambda: status_dir.is_dir() and len(list(status_dir.glob("run__*.json"))) >= 2)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    finished_before = {p.name: p.read_text() for p in status_dir.glob("run__*.json")}
    assert 2 <= len(finished_before) < 6 or len(finished_before) == 6
    # every file under a final name is complete and readable
    for file in out.glob("sub-*/*.parquet"):
        pd.read_parquet(file)
    for file in out.glob("sub-*/*.npz"):
        with np.load(file) as data:
            [data[k] for k in data.files]
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    for name, record in finished_before.items():
        assert (status_dir / name).read_text() == record  # not recomputed
    assert not list(out.rglob("*.tmp"))
    assert_same_results(reference_run[0], out)


def test_a_run_on_a_folder_in_use_is_refused(
    small_dataset, tmp_path, write_config, hold_output, capsys
):
    config = write_config(small_dataset)
    out = tmp_path / "out"
    with hold_output(out) as other:
        assert main(["run", str(config), "--out", str(out), "--quiet"]) == 2
        assert main(["run", str(config), "--out", str(out), "--group", "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"brainctrl run: error: output folder '{out}' is in use by another" in err
        assert f"pid {other.pid}, command '" in err and ", since " in err
    assert not list(out.glob("sub-*"))  # nothing was computed


@pytest.mark.slow
def test_participant_runs_share_an_output_folder(
    small_dataset, reference_run, tmp_path, write_config, assert_same_results
):
    # two tasks of a SLURM array at once, then the group job
    config = write_config(small_dataset)
    out = tmp_path / "out"
    subjects = sorted(p.name for p in small_dataset.parent.glob("sub-*"))
    command = [sys.executable, "-m", "brainctrl.cli", "run", str(config), "--out", str(out)]
    tasks = [
        subprocess.Popen(
            [*command, "--quiet", "--participant-label", *labels],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for labels in (subjects[:3], subjects[3:])
    ]
    for task in tasks:
        _, err = task.communicate(timeout=300)
        assert task.returncode == 0, err
    assert main(["run", str(config), "--out", str(out), "--group", "--quiet"]) == 0
    assert_same_results(reference_run[0], out)


@pytest.mark.slow
@pytest.mark.distributed
def test_dask_worker_killed_midrun(
    small_dataset, reference_run, tmp_path, run, assert_same_results
):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    out = tmp_path / "out"
    errors = []

    def target():
        try:
            run(
                small_dataset,
                out,
                executor={"kind": "dask", "address": cluster.scheduler_address, "retries": 3},
            )
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    try:
        with Client(cluster) as client:
            thread = threading.Thread(target=target)
            thread.start()
            status_dir = out / ".status"
            _wait_for(
                lambda: (
                    errors
                    or not thread.is_alive()
                    or (status_dir.is_dir() and len(list(status_dir.glob("run__*.json"))) >= 1)
                )
            )
            assert not errors, errors
            pids = list(client.run(os.getpid).values())
            os.kill(pids[0], signal.SIGKILL)
            thread.join(timeout=300)
        assert not thread.is_alive()
        assert not errors
        status = pd.read_parquet(out / "status.parquet")
        assert set(status.loc[status["stage"] != "group", "status"]) == {"done"}
        assert_same_results(reference_run[0], out)
    finally:
        cluster.close()


def test_options_per_window_density_and_signed_laplacian(
    small_dataset, tmp_path, run, read_unit_tables
):
    out = tmp_path / "out"
    status = run(
        small_dataset,
        out,
        control={"per_window": True, "system_from": "signed_laplacian"},
        graph={"density": 0.2},
        stats={"group": None},
    )
    assert set(status.loc[status["stage"] != "group", "status"]) == {"done"}
    skipped = status[status["status"] == "skipped"].set_index("unit")["reason"]
    assert skipped["group_comparison"] == "stats.group is not set"
    measures = read_unit_tables(out, "measures")
    windowed = measures[measures["window"] >= 0]
    assert set(windowed["measure"]) == {"average_controllability", "modal_controllability"}
    # per-window values equal the Gu et al. formula on that window's FC
    file = sorted(out.glob("sub-*/*_matrices.npz"))[0]
    with np.load(file) as data:
        dynamic = data["dynamic_fc"].astype(float)
    n = 24
    iu = np.triu_indices(n, k=1)
    fc = np.zeros((n, n))
    fc[iu] = dynamic[3]
    fc = fc + fc.T
    spectral_radius = np.abs(np.linalg.eigvalsh(fc)).max()
    lam, vec = np.linalg.eigh(fc / (1 + spectral_radius))
    expected = (vec**2) @ (1 / (1 - lam**2))
    subject = file.name.split("_")[0].removeprefix("sub-")
    got = windowed[
        (windowed["subject"] == subject)
        & (windowed["window"] == 3)
        & (windowed["measure"] == "average_controllability")
    ].set_index("region")["value"]
    names = pd.read_csv(small_dataset.parent / "regions.tsv", sep="\t")["name"]
    np.testing.assert_allclose(got.reindex(names).to_numpy(), expected, rtol=1e-4)
    # a proportional threshold leaves 20 % of the edges for the graph measures
    degree = measures[(measures["measure"] == "degree") & (measures["window"] == -1)]
    per_run = degree.groupby("subject")["value"].sum() / 2
    np.testing.assert_allclose(per_run, round(0.2 * n * (n - 1) / 2), atol=1)
    energy = read_unit_tables(out, "energy")
    assert (energy["rank"] >= 1).all()


def test_stage_warnings_are_summarised_once_per_category(caplog):
    from brainctrl.pipeline._run import _summarise_warnings

    records = [
        {
            "unit": "sub-01_run-1",
            "warnings": "IllConditionedWarning: cond 1e13 | Unreachable: 0.2",
        },
        {"unit": "sub-02_run-1", "warnings": "IllConditionedWarning: cond 4e13"},
        {"unit": "sub-03_run-1", "warnings": None},
    ]
    with caplog.at_level("WARNING", logger="brainctrl"):
        _summarise_warnings("energy", records)
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "energy stage: IllConditionedWarning in 2 of 3 unit(s); for example sub-01_run-1: "
        "cond 1e13 (all of them: column 'warnings' of status.parquet)",
        "energy stage: Unreachable in 1 of 3 unit(s); for example sub-01_run-1: 0.2 "
        "(all of them: column 'warnings' of status.parquet)",
    ]


def test_unit_warnings_are_kept_in_the_status_table(small_dataset, tmp_path, run):
    # a mixed control set with a vanishing weight outside Default is ill-conditioned
    status = run(small_dataset, tmp_path / "out", control={"epsilon": 1e-14, "sweep_epsilons": []})
    energy = status[status["stage"] == "energy"]
    assert len(energy) == 6
    assert energy["warnings"].str.contains("IllConditionedWarning: ").all()


def test_unknown_cca_measure_stops_the_run_before_computing(small_dataset, tmp_path, small_config):
    from brainctrl.pipeline import PreflightError

    out = tmp_path / "out"
    settings = small_config(
        small_dataset,
        stats={"cca": True, "cca_measure": "strenght", "cca_scores": ["symptom_1", "symptom_2"]},
    )
    with pytest.raises(
        PreflightError, match="'stats.cca_measure' is 'strenght', not a measure"
    ) as info:
        run_pipeline(PipelineConfig.from_dict(settings), out_dir=out, verbose=False)
    (problem,) = [p for p in info.value.problems if p.level == "error"]
    assert "'strength_positive'" in problem.message and "'within_module_z'" in problem.message
    assert not out.exists()  # nothing computed, nothing written


@pytest.mark.slow
def test_cohort_statistics_with_covariates(tmp_path, small_config):
    from brainctrl.datasets import make_cohort, write_demo_dataset

    cohort = make_cohort(n_subjects=12, n_regions=24, n_timepoints=150, random_state=2)
    manifest = write_demo_dataset(tmp_path / "data", cohort=cohort)
    settings = small_config(
        manifest,
        stats={
            "covariates": ["age", "sex", "motion"],
            "cca": True,
            "cca_measure": "within_module_z",
            "cca_scores": ["symptom_1", "symptom_2", "symptom_3"],
            "prediction": True,
            "cv_folds": 2,
            "cv_repeats": 1,
        },
        multilayer={"enabled": False},
        control={"energy": False},
    )
    out = tmp_path / "out"
    run_pipeline(PipelineConfig.from_dict(settings), out_dir=out, verbose=False)
    summary = json.loads((out / "group" / "summary.json").read_text())
    assert "errors" not in summary, summary.get("errors")
    assert 0 <= summary["cca_p"] <= 1 and "combined" in summary["prediction_r"]
    report = (out / "report.html").read_text()
    assert "covariates age, sex, motion removed within the permutation scheme" in report
    assert "regressed out of features and score inside each training fold" in report


def test_a_failed_group_section_alone_makes_status_fail(tmp_path, capsys):
    from brainctrl.pipeline import _store

    for unit, status in (("controllability", "done"), ("sparse_cca", "failed")):
        _store.record_status(
            tmp_path,
            {"unit": unit, "stage": "group", "status": status, "error": "ValueError: x"},
        )
    assert main(["status", str(tmp_path)]) == 1
    assert "sparse_cca" in capsys.readouterr().out


def test_per_window_rows_stay_out_of_the_group_statistics(
    small_dataset, tmp_path, run, reference_run
):
    out = tmp_path / "out"
    run(small_dataset, out, control={"per_window": True}, graph={"per_window": True})
    reference, _ = reference_run
    windowed = pd.read_parquet(sorted(out.glob("sub-*/*_measures.parquet"))[0])
    assert {"strength", "betweenness", "average_controllability"} <= set(
        windowed.loc[windowed["window"] >= 0, "measure"]
    )
    # the group comparison tests each subject's static-network values, as without them
    pd.testing.assert_frame_equal(
        pd.read_parquet(out / "group" / "group_comparison.parquet"),
        pd.read_parquet(reference / "group" / "group_comparison.parquet"),
    )
