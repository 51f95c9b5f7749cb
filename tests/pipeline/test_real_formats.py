"""A cohort as real datasets come: checked before computing, then run to a report.

The same synthetic cohort is written in three forms users meet: NumPy
archives of regions x time, MATLAB files with a named variable (time x
regions), and HCP-style CIFTI-2 dense time series with a Glasser-style label
file whose labels carry no network. In each, problems are planted (a
truncated file, a subject without a phenotype row, a config naming columns
or a network the data do not have). ``brainctrl validate --config`` must
report every one before anything is computed; once the errors are fixed,
``brainctrl run`` finishes with exit status 0 and a report naming each
skipped section.
"""

import shutil

import numpy as np
import pandas as pd
import pytest
import scipy.io
import yaml
from nibabel import cifti2
from scipy.signal import detrend

from brainctrl.cli import main
from brainctrl.datasets import make_cohort, write_demo_dataset

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings(
        "ignore::brainctrl.exceptions.UnreachableTargetWarning",
        "ignore::brainctrl.exceptions.IllConditionedWarning",
        # 150 frames of 24 regions: wide enough, but short windows are not
        "ignore::brainctrl.exceptions.OrientationWarning",
    ),
]

N_SUBJECTS, N_REGIONS, N_FRAMES = 8, 24, 150
VERTICES_PER_PARCEL = 4


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """The cohort as the demo writes it: TSV time series, regions and phenotype."""
    root = tmp_path_factory.mktemp("source")
    cohort = make_cohort(
        n_subjects=N_SUBJECTS, n_regions=N_REGIONS, n_timepoints=N_FRAMES, random_state=3
    )
    manifest = write_demo_dataset(root, cohort=cohort)
    series = {
        file.parent.name.removeprefix("sub-"): pd.read_csv(file, sep="\t")
        for file in sorted(root.glob("sub-*/*_timeseries.tsv"))
    }
    return manifest.parent, series


def _dataset(tmp_path, source, layout):
    """Write the cohort in one form; return the manifest's path."""
    src, series = source
    root = tmp_path / layout
    root.mkdir()
    shutil.copy(src / "phenotype.csv", root / "phenotype.csv")
    manifest = {
        "name": f"cohort-{layout}",
        "layout": "timeseries",
        "t_r": 0.72,
        "subjects": sorted(series),
        "runs": ["1"],
        "phenotype": {"path": "phenotype.csv", "id_column": "subject"},
    }
    names = list(next(iter(series.values())).columns)
    if layout == "npz":
        shutil.copy(src / "regions.tsv", root / "regions.tsv")
        for subject, table in series.items():
            folder = root / f"sub-{subject}"
            folder.mkdir()
            np.savez(folder / f"sub-{subject}_run-1_bold.npz", ts=table.to_numpy().T)
        manifest["parcellation"] = {"name": "synthetic-24", "regions": "regions.tsv"}
        manifest["timeseries"] = {
            "path": "sub-{subject}/sub-{subject}_run-{run}_bold.npz",
            "orientation": "region_by_time",
            "key": "ts",
        }
    elif layout == "mat":
        shutil.copy(src / "regions.tsv", root / "regions.tsv")
        for subject, table in series.items():
            folder = root / f"sub-{subject}"
            folder.mkdir()
            scipy.io.savemat(
                folder / f"sub-{subject}_run-1_roi.mat",
                {"roi_ts": table.to_numpy(), "TR": np.array([[0.72]])},
            )
        manifest["parcellation"] = {"name": "synthetic-24", "regions": "regions.tsv"}
        manifest["timeseries"] = {
            "path": "sub-{subject}/sub-{subject}_run-{run}_roi.mat",
            "key": "roi_ts",
        }
    else:  # HCP-style CIFTI-2 with a Glasser-style label file (no networks)
        n_vertices = N_REGIONS * VERTICES_PER_PARCEL
        axis = cifti2.BrainModelAxis.from_surface(np.arange(n_vertices), n_vertices, "cortex_left")
        glasser = [f"L_{name.replace('_', '')}_ROI" for name in names]
        table = {0: ("???", (0.0, 0.0, 0.0, 0.0))}
        table.update({k + 1: (glasser[k], (0.5, 0.5, 0.5, 1.0)) for k in range(N_REGIONS)})
        parcel = np.repeat(np.arange(N_REGIONS), VERTICES_PER_PARCEL)
        cifti2.Cifti2Image(
            (parcel + 1).astype(np.float32)[None, :],
            header=(cifti2.LabelAxis(["parcellation"], [table]), axis),
        ).to_filename(root / "glasser_style.dlabel.nii")
        rng = np.random.default_rng(0)
        for subject, frame in series.items():
            folder = root / f"sub-{subject}"
            folder.mkdir()
            # vertex noise of opposite signs in pairs: each parcel's mean is the series
            half = rng.normal(scale=5.0, size=(N_FRAMES, n_vertices // 2))
            noise = np.stack([half, -half], axis=-1).reshape(N_FRAMES, n_vertices)
            data = frame.to_numpy()[:, parcel] + noise
            header = (cifti2.SeriesAxis(start=0.0, step=0.72, size=N_FRAMES, unit="SECOND"), axis)
            cifti2.Cifti2Image(data.astype(np.float32), header=header).to_filename(
                folder / f"sub-{subject}_run-1.dtseries.nii"
            )
        manifest["parcellation"] = {"name": "glasser-style", "dlabel": "glasser_style.dlabel.nii"}
        manifest["timeseries"] = "sub-{subject}/sub-{subject}_run-{run}.dtseries.nii"
    path = root / "manifest.yaml"
    path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return path


def _config(small_config, manifest, path, **sections):
    settings = small_config(
        manifest,
        stats={
            "covariates": ["age"],
            "scores": ["score"],
            "cca": True,
            "cca_scores": ["symptom_1", "symptom_2"],
            "prediction": True,
            "cv_folds": 5,
        },
    )
    for key, value in sections.items():
        settings[key] = {**settings[key], **value}
    path.write_text(yaml.safe_dump(settings))
    return path


def _truncate(file):
    file.write_bytes(file.read_bytes()[: file.stat().st_size // 2])


def _drop_phenotype_row(root, subject):
    table = pd.read_csv(root / "phenotype.csv", dtype={"subject": str})
    table[table["subject"] != subject].to_csv(root / "phenotype.csv", index=False)


def _drop_subject(manifest, subject):
    content = yaml.safe_load(manifest.read_text())
    content["subjects"] = [s for s in content["subjects"] if s != subject]
    manifest.write_text(yaml.safe_dump(content, sort_keys=False))


def _validate(config, capsys):
    code = main(["validate", "--config", str(config)])
    lines = capsys.readouterr().out.splitlines()
    return code, [line for line in lines if line.startswith("error: ")], lines


def _run_and_check_report(config, out, capsys):
    assert main(["run", str(config), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    status = pd.read_parquet(out / "status.parquet")
    assert set(status.loc[status["stage"] != "group", "status"]) == {"done"}
    group = status[status["stage"] == "group"].set_index("unit")
    assert "failed" not in set(group["status"])
    report = (out / "report.html").read_text()
    # 6 subjects with data and a phenotype row: too few for either section
    for name, unit in (
        ("sparse CCA", "sparse_cca"),
        ("behaviour prediction", "behaviour_prediction"),
    ):
        assert group.loc[unit, "status"] == "skipped"
        assert f"{name} (skipped)" in report
        assert group.loc[unit, "reason"].split(";")[0] in report
    return status


@pytest.mark.parametrize("layout", ["npz", "mat"])
def test_region_by_time_npz_and_named_mat_variables(
    layout, source, tmp_path, small_config, capsys
):
    manifest = _dataset(tmp_path, source, layout)
    root = manifest.parent
    broken = next((root / "sub-003").iterdir())
    if layout == "npz":
        _truncate(broken)
    else:  # a file whose variable has another name
        values = scipy.io.loadmat(broken)["roi_ts"]
        scipy.io.savemat(broken, {"data": values})
    _drop_phenotype_row(root, "005")
    config = _config(
        small_config, manifest, tmp_path / "config.yaml", stats={"covariates": ["age", "iq"]}
    )

    code, errors, lines = _validate(config, capsys)
    assert code == 1
    assert any("subject '003'" in e for e in errors)
    if layout == "npz":
        assert any("truncated" in e or "not a complete" in e for e in errors), errors
    else:
        assert any("'roi_ts'" in e and "'data'" in e for e in errors), errors
    assert any("'stats.covariates' names ['iq']" in e for e in errors)
    assert any(line.startswith("warning: ") and "'005'" in line for line in lines)
    assert len(errors) == 2
    # nothing was computed
    assert main(["run", str(config), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    capsys.readouterr()
    assert not (tmp_path / "out").exists()

    _drop_subject(manifest, "003")
    config = _config(small_config, manifest, config)
    code, errors, lines = _validate(config, capsys)
    assert code == 0 and errors == [], lines
    status = _run_and_check_report(config, tmp_path / "out", capsys)
    assert len(status[status["stage"] == "run"]) == N_SUBJECTS - 1


def test_npz_and_mat_cohorts_give_identical_results(source, tmp_path, small_config, capsys):
    outs = []
    for layout in ("npz", "mat"):
        manifest = _dataset(tmp_path, source, layout)
        config = _config(small_config, manifest, tmp_path / f"{layout}.yaml")
        assert main(["run", str(config), "--out", str(tmp_path / f"out-{layout}"), "--quiet"]) == 0
        outs.append(tmp_path / f"out-{layout}")
    capsys.readouterr()
    for suffix in ("measures", "globals", "energy"):
        for file in sorted(outs[0].glob(f"sub-*/*_{suffix}.parquet")):
            pd.testing.assert_frame_equal(
                pd.read_parquet(file), pd.read_parquet(outs[1] / file.relative_to(outs[0]))
            )


def test_cifti_with_a_network_less_label_file(source, tmp_path, small_config, capsys):
    manifest = _dataset(tmp_path, source, "cifti")
    root = manifest.parent
    _truncate(root / "sub-006" / "sub-006_run-1.dtseries.nii")
    _drop_phenotype_row(root, "002")
    config = _config(small_config, manifest, tmp_path / "config.yaml")

    code, errors, lines = _validate(config, capsys)
    assert code == 1
    assert any("subject '006'" in e for e in errors), errors
    control = [e for e in errors if "'control.control_set' is 'Default'" in e]
    assert control and "its networks: ['unknown'], or 'all' for every region" in control[0]
    assert any(line.startswith("warning: ") and "'002'" in line for line in lines)
    assert len(errors) == 2

    _drop_subject(manifest, "006")
    config = _config(small_config, manifest, config, control={"control_set": "all"})
    code, errors, lines = _validate(config, capsys)
    assert code == 0 and errors == [], lines
    out = tmp_path / "out"
    _run_and_check_report(config, out, capsys)
    # the parcel means are the written series (the vertex noise cancels), cleaned
    measures = pd.read_parquet(out / "sub-001" / "sub-001_run-1_measures.parquet")
    assert measures["region"].str.fullmatch(r"L_\w+_ROI").all()
    with np.load(out / "sub-001" / "sub-001_run-1_matrices.npz") as data:
        stored = data["timeseries"].astype(float)
    written = detrend(source[1]["001"].to_numpy(), axis=0)
    np.testing.assert_allclose(stored, written / written.std(axis=0, ddof=1), atol=2e-3)
