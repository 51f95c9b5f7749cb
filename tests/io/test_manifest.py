"""Tests of data manifests: brainctrl.io.load_manifest, validate_manifest and the shipped files."""

import json
import textwrap
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import scipy.io
from nibabel import cifti2

from brainctrl.exceptions import DataError, MissingDataError
from brainctrl.io import Manifest, RunData, load_manifest, validate_manifest

MANIFEST_DIR = Path(__file__).resolve().parents[2] / "data_manifests"

DEMO_MANIFEST = """
name: toy
layout: timeseries
root: data
t_r: 0.72
parcellation:
  name: toy-4
  regions: regions.tsv
subjects: {subjects}
runs: ["1"]
timeseries: "sub-{{subject}}/sub-{{subject}}_run-{{run}}_timeseries.tsv"
confounds:
  path: "sub-{{subject}}/sub-{{subject}}_run-{{run}}_confounds.tsv"
phenotype:
  path: phenotype.csv
  id_column: subject
  group: group
  covariates: [age, sex, motion]
  scores: [score]
"""


def _write_dataset(root, rng, subjects=("007", "100206", "s03")):
    root.mkdir(parents=True, exist_ok=True)
    regions = pd.DataFrame(
        {"name": ["a", "b", "c", "d"], "network": ["Vis", "Default", "Default", "Cont"]}
    )
    regions.to_csv(root / "regions.tsv", sep="\t", index=False)
    values = {}
    for subject in subjects:
        folder = root / f"sub-{subject}"
        folder.mkdir()
        data = rng.normal(size=(25, 4))
        pd.DataFrame(data, columns=regions["name"]).to_csv(
            folder / f"sub-{subject}_run-1_timeseries.tsv", sep="\t", index=False
        )
        pd.DataFrame({"motion_x": rng.normal(size=25)}).to_csv(
            folder / f"sub-{subject}_run-1_confounds.tsv", sep="\t", index=False
        )
        values[subject] = data
    (root / "phenotype.csv").write_text(
        "subject,group,age,sex,motion,score\n"
        "007,patient,30,F,0.1,1.5\n100206,control,28,M,0.2,2.5\ns03,control,41,F,0.15,0.5\n"
    )
    return values


def _manifest(tmp_path, subjects="null", text=DEMO_MANIFEST):
    path = tmp_path / "manifest.yaml"
    path.write_text(text.format(subjects=subjects))
    return path


def test_load_run_and_phenotype(rng, tmp_path):
    values = _write_dataset(tmp_path / "data", rng)
    manifest = load_manifest(_manifest(tmp_path))
    assert isinstance(manifest, Manifest)
    assert manifest.root == tmp_path / "data"
    specs = manifest.runs()
    assert [(s.subject, s.run) for s in specs] == [("007", "1"), ("100206", "1"), ("s03", "1")]
    assert specs[0].paths["timeseries"] == (
        tmp_path / "data" / "sub-007" / "sub-007_run-1_timeseries.tsv"
    )
    run_data = manifest.load_run(specs[1])
    assert isinstance(run_data, RunData)
    assert run_data.subject == "100206" and run_data.run == "1" and run_data.t_r == 0.72
    np.testing.assert_allclose(run_data.timeseries, values["100206"], rtol=1e-15)
    assert list(run_data.regions["network"]) == ["Vis", "Default", "Default", "Cont"]
    assert list(run_data.confounds.columns) == ["motion_x"]
    assert list(manifest.regions()["name"]) == ["a", "b", "c", "d"]
    phenotype = manifest.load_phenotype()
    assert phenotype["subject"].tolist() == ["007", "100206", "s03"]
    assert manifest.phenotype_columns() == ["group", "age", "sex", "motion", "score"]
    assert validate_manifest(manifest) == []


def test_yaml_ids_keep_their_text(rng, tmp_path):
    _write_dataset(tmp_path / "data", rng)
    manifest = load_manifest(_manifest(tmp_path, subjects="[007, 100206]"))
    # YAML would read 007 as the integer 7; the manifest keeps the text
    assert manifest.subject_ids == ["007", "100206"]
    assert manifest.run_ids == ["1"]
    assert [s.subject for s in manifest.runs()] == ["007", "100206"]
    assert manifest.load_phenotype()["subject"].tolist() == ["007", "100206"]


def test_validate_lists_missing_files_with_subject_and_run(rng, tmp_path):
    _write_dataset(tmp_path / "data", rng)
    (tmp_path / "data" / "sub-s03" / "sub-s03_run-1_confounds.tsv").unlink()
    manifest = load_manifest(_manifest(tmp_path, subjects="[007, s03, s04]"))
    problems = validate_manifest(manifest)
    assert problems == [
        f"subject 's03', run '1': confounds file "
        f"'{tmp_path / 'data/sub-s03/sub-s03_run-1_confounds.tsv'}': missing.",
        f"subject 's04', run '1': timeseries file "
        f"'{tmp_path / 'data/sub-s04/sub-s04_run-1_timeseries.tsv'}': missing.",
        f"subject 's04', run '1': confounds file "
        f"'{tmp_path / 'data/sub-s04/sub-s04_run-1_confounds.tsv'}': missing.",
        "subject 's04': not in the phenotype table.",
    ]


def test_validate_reports_bad_tables(rng, tmp_path):
    _write_dataset(tmp_path / "data", rng)
    (tmp_path / "data" / "regions.tsv").write_text("x\ty\n1.5\t2\n")
    (tmp_path / "data" / "phenotype.csv").write_text("subject,group\n007,a\n")
    problems = validate_manifest(load_manifest(_manifest(tmp_path)))
    assert any("regions.tsv" in p and "needs a name column" in p for p in problems)
    assert any(
        "columns named in the manifest are missing: ['age', 'sex', 'motion', 'score']" in p
        for p in problems
    )
    assert "subject '100206': has runs but no row in the phenotype table." in problems


def test_cli_validate_exit_status(rng, tmp_path, capsys):
    from brainctrl.cli import main

    _write_dataset(tmp_path / "data", rng)
    assert main(["validate", str(_manifest(tmp_path))]) == 0
    assert "3 of 3 run(s) readable; 0 error(s)" in capsys.readouterr().out
    (tmp_path / "data" / "sub-007" / "sub-007_run-1_timeseries.tsv").unlink()
    assert main(["validate", str(_manifest(tmp_path, subjects="['007']"))]) == 1
    out = capsys.readouterr().out
    assert "error: subject '007', run '1', file" in out and "does not exist" in out


def test_root_override_and_absolute_paths(rng, tmp_path):
    _write_dataset(tmp_path / "elsewhere", rng)
    manifest = load_manifest(_manifest(tmp_path), root=tmp_path / "elsewhere")
    assert manifest.root == tmp_path / "elsewhere"
    assert len(manifest.runs()) == 3
    text = DEMO_MANIFEST.replace("regions: regions.tsv", f"regions: {tmp_path / 'r.tsv'}")
    (tmp_path / "r.tsv").write_text("name\tnetwork\nd\tLimbic\nc\tVis\nb\tVis\na\tCont\n")
    manifest = load_manifest(_manifest(tmp_path, text=text), root=tmp_path / "elsewhere")
    assert manifest.runs()[0].paths["regions"] == tmp_path / "r.tsv"
    run_data = manifest.load_run(manifest.runs()[0])
    # the table outside the root is used, matched to the data's header by name
    assert list(run_data.regions["name"]) == ["a", "b", "c", "d"]
    assert list(run_data.regions["network"]) == ["Cont", "Vis", "Vis", "Limbic"]


def test_paths_must_stay_under_root(tmp_path):
    text = DEMO_MANIFEST.replace("regions: regions.tsv", "regions: ../../etc/passwd")
    with pytest.raises(
        DataError,
        match=r"manifest\.yaml.*parcellation\.regions "
        r"'\.\./\.\./etc/passwd' resolves outside the dataset root",
    ):
        load_manifest(_manifest(tmp_path, text=text))
    text = DEMO_MANIFEST.replace("path: phenotype.csv", "path: sub/../../pheno.csv")
    with pytest.raises(DataError, match="phenotype.path .* resolves outside"):
        load_manifest(_manifest(tmp_path, text=text))
    text = DEMO_MANIFEST.replace(
        "sub-{{subject}}/sub-{{subject}}_run-{{run}}_timeseries",
        "../{{subject}}_run-{{run}}_timeseries",
    )
    manifest = load_manifest(_manifest(tmp_path, subjects="[a]", text=text))
    with pytest.raises(DataError, match="timeseries '../a_run-1_timeseries.tsv' resolves outside"):
        manifest.runs()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            ("  scores: [score]", "  scores: [score]\n  covariate: [x]"),
            r"unknown manifest key\(s\) \['phenotype\.covariate'\]",
        ),
        (
            ("t_r: 0.72", "t_r: 0.72\nsubject_list: [a]"),
            r"unknown manifest key\(s\) \['subject_list'\]",
        ),
        (("t_r: 0.72", "t_r: fast"), r"'t_r' must be a number; got 'fast'"),
        (("t_r: 0.72", "t_r: -1"), r"'t_r' must be > 0; got -1"),
        (("layout: timeseries", "layout: bids"), r"'layout' must be one of \('timeseries'"),
        (("name: toy\n", ""), r"'name' is required"),
        (("_timeseries.tsv", "_{{task}}.tsv"), r"template fields must be among .* got \['task'\]"),
        (
            ("sub-{{subject}}/sub-{{subject}}_run-{{run}}_timeseries", "run-{{run}}"),
            r"template must contain '\{subject\}'",
        ),
        (("  scores: [score]", "  scores: {{a: 1}}"), r"'phenotype\.scores' must be a list"),
        (
            ("confounds:\n", "confounds:\n  strategy: gsr\n"),
            r"'confounds\.strategy' must be one of",
        ),
        (("subjects: {subjects}", "subjects: [a, a]"), r"'subjects' lists an ID twice"),
        (("subjects: {subjects}", "subjects: ['a/b']"), r"'subjects' has an invalid ID 'a/b'"),
        (
            ("parcellation:\n  name: toy-4\n  regions: regions.tsv", "parcellation: atlas.tsv"),
            r"'parcellation' must be a mapping",
        ),
    ],
)
def test_manifest_errors(tmp_path, change, message):
    text = DEMO_MANIFEST.replace(*change)
    with pytest.raises(DataError, match=message):
        load_manifest(_manifest(tmp_path, text=text))


def test_manifest_file_errors(tmp_path):
    with pytest.raises(MissingDataError, match=r"nope\.yaml.*manifest file does not exist"):
        load_manifest(tmp_path / "nope.yaml")
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(DataError, match=r"bad\.yaml.*not valid YAML"):
        load_manifest(tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(DataError, match="must be a YAML mapping; got list"):
        load_manifest(tmp_path / "list.yaml")
    (tmp_path / "hcp.yaml").write_text("name: x\nlayout: hcp\n")
    with pytest.raises(DataError, match=r"layout 'hcp' requires 'parcellation\.dlabel'"):
        load_manifest(tmp_path / "hcp.yaml")
    (tmp_path / "ts.yaml").write_text("name: x\nlayout: timeseries\n")
    with pytest.raises(DataError, match="layout 'timeseries' requires a 'timeseries' path"):
        load_manifest(tmp_path / "ts.yaml")
    (tmp_path / "unsafe.yaml").write_text("name: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(DataError, match="not valid YAML"):
        load_manifest(tmp_path / "unsafe.yaml")


def _write_hcp(root, rng, subjects, n_frames=8):
    axis = cifti2.BrainModelAxis.from_surface(np.arange(6), 6, "cortex_left") + (
        cifti2.BrainModelAxis.from_surface(np.arange(4), 4, "cortex_right")
    )
    labels = cifti2.LabelAxis(
        ["parc"],
        [
            {
                0: ("???", (0, 0, 0, 0)),
                1: ("7Networks_LH_Vis_1", (1, 0, 0, 1)),
                2: ("7Networks_RH_Default_Par_1", (0, 1, 0, 1)),
            }
        ],
    )
    keys = np.array([[1, 1, 1, 0, 1, 1, 2, 2, 0, 2]], dtype=np.float32)
    cifti2.Cifti2Image(keys, header=(labels, axis)).to_filename(root / "atlas.dlabel.nii")
    data = {}
    for subject in subjects:
        folder = root / subject / "MNINonLinear" / "Results" / "rfMRI_REST1_LR"
        folder.mkdir(parents=True)
        values = rng.normal(size=(n_frames, axis.size)).astype(np.float32)
        series = cifti2.SeriesAxis(0.0, 0.72, n_frames)
        cifti2.Cifti2Image(values, header=(series, axis)).to_filename(
            folder / "rfMRI_REST1_LR_Atlas_MSMAll_hp2000_clean.dtseries.nii"
        )
        data[subject] = values.astype(np.float64)
    return data


def test_hcp_manifest(rng, tmp_path):
    root = tmp_path / "HCP"
    root.mkdir()
    data = _write_hcp(root, rng, ["100206", "100307"])
    path = tmp_path / "hcp.yaml"
    path.write_text(
        textwrap.dedent(f"""
        name: hcp-toy
        layout: hcp
        root: {root}
        parcellation:
          dlabel: atlas.dlabel.nii
        subjects: [100206, 100307, 100408]
        runs: [REST1_LR]
    """)
    )
    manifest = load_manifest(path)
    problems = validate_manifest(manifest)
    assert len(problems) == 1
    assert problems[0].startswith("subject '100408', run 'REST1_LR': timeseries file")
    assert problems[0].endswith("rfMRI_REST1_LR_Atlas_MSMAll_hp2000_clean.dtseries.nii': missing.")
    run_data = manifest.load_run(manifest.runs()[0])
    assert run_data.t_r == pytest.approx(0.72)
    expected = np.stack(
        [
            data["100206"][:, [0, 1, 2, 4, 5]].mean(axis=1),
            data["100206"][:, [6, 7, 9]].mean(axis=1),
        ],
        axis=1,
    )
    np.testing.assert_allclose(run_data.timeseries, expected, rtol=1e-12)
    assert list(run_data.regions["network"]) == ["Vis", "Default"]
    assert list(manifest.regions()["name"]) == list(run_data.regions["name"])


def test_fmriprep_manifest(rng, tmp_path):
    root = tmp_path / "fmriprep"
    func = root / "sub-01" / "func"
    func.mkdir(parents=True)
    atlas = np.zeros((3, 3, 2), np.int16)
    atlas[:, :2] = 1
    atlas[:, 2:] = 2
    nib.Nifti1Image(atlas, np.eye(4)).to_filename(root / "atlas.nii.gz")
    bold = rng.normal(size=(3, 3, 2, 12)).astype(np.float32)
    name = "sub-01_task-rest_run-1_space-MNI152NLin2009cAsym_desc-preproc_bold"
    nib.Nifti1Image(bold, np.eye(4)).to_filename(func / f"{name}.nii.gz")
    (func / f"{name}.json").write_text(json.dumps({"RepetitionTime": 1.5}))
    pd.DataFrame({"csf": rng.normal(size=12)}).to_csv(
        func / "sub-01_task-rest_run-1_desc-confounds_timeseries.tsv", sep="\t", index=False
    )
    (tmp_path / "f.yaml").write_text(
        f"name: f\nlayout: fmriprep\nroot: {root}\nparcellation:\n  atlas: atlas.nii.gz\n"
    )
    manifest = load_manifest(tmp_path / "f.yaml")
    assert validate_manifest(manifest) == []
    [spec] = manifest.runs()
    assert (spec.subject, spec.session, spec.run) == ("01", None, "1")
    run_data = manifest.load_run(spec)
    assert run_data.t_r == 1.5
    np.testing.assert_allclose(
        run_data.timeseries[:, 1], bold[atlas == 2].astype(np.float64).mean(axis=0), rtol=1e-5
    )
    assert list(run_data.confounds.columns) == ["csf"]


@pytest.mark.parametrize("path", sorted(MANIFEST_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_manifests_load(path):
    manifest = load_manifest(path)
    assert manifest.name and manifest.layout in ("timeseries", "hcp", "fmriprep")
    if manifest.layout == "hcp":
        assert manifest.run_ids == ["REST1_LR", "REST1_RL", "REST2_LR", "REST2_RL"]
        assert manifest.parcellation["dlabel"].endswith(".dlabel.nii")


def test_shipped_manifests_present():
    names = {path.name for path in MANIFEST_DIR.glob("*.yaml")}
    assert {
        "demo.yaml",
        "fmriprep_example.yaml",
        "hcp_s1200_rest_glasser.yaml",
        "hcp_s1200_rest_schaefer400.yaml",
    } <= names


def test_demo_manifest_matches_demo_writer(tmp_path):
    datasets = pytest.importorskip("brainctrl.datasets")
    if not hasattr(datasets, "write_demo_dataset"):
        pytest.skip("brainctrl.datasets.write_demo_dataset is not available")
    datasets.write_demo_dataset(tmp_path / "demo")
    manifest = load_manifest(MANIFEST_DIR / "demo.yaml", root=tmp_path / "demo")
    assert validate_manifest(manifest) == []
    specs = manifest.runs()
    assert specs
    run_data = manifest.load_run(specs[0])
    assert run_data.t_r == 0.72
    assert "Default" in set(run_data.regions["network"])
    phenotype = manifest.load_phenotype()
    assert set(phenotype["subject"]) >= {spec.subject for spec in specs}


# -- timeseries as a mapping: per-file reading options ------------------------------------

MAPPING_MANIFEST = """
name: formats
layout: timeseries
t_r: 0.72
subjects: [s01, s02]
timeseries:
{timeseries}
"""


def _write_npz_region_by_time(path, ts, write_mat_v73):
    np.savez(path, ts=ts.T, tr=np.float64(0.72))


def _write_mat_v5(path, ts, write_mat_v73):
    scipy.io.savemat(path, {"ts": ts, "TR": 0.72})


def _write_mat_v5_region_by_time(path, ts, write_mat_v73):
    scipy.io.savemat(path, {"ts": ts.T, "TR": 0.72})


def _write_mat_v73(path, ts, write_mat_v73):
    write_mat_v73(path, ts=ts, TR=0.72)


def _write_mat_v73_region_by_time(path, ts, write_mat_v73):
    write_mat_v73(path, ts=ts.T, TR=0.72)


def _write_parquet(path, ts, write_mat_v73):
    pd.DataFrame(ts, columns=[f"parcel_{i}" for i in range(ts.shape[1])]).to_parquet(path)


def _write_semicolon_text(path, ts, write_mat_v73):
    np.savetxt(path, ts, delimiter=";", fmt="%.17g")


@pytest.mark.parametrize(
    ("name", "write", "options"),
    [
        ("ts.npz", _write_npz_region_by_time, {"orientation": "region_by_time", "key": "ts"}),
        ("ts.mat", _write_mat_v5, {"key": "ts"}),
        ("ts.mat", _write_mat_v5_region_by_time, {"orientation": "region_by_time", "key": "ts"}),
        ("ts.mat", _write_mat_v73, {"key": "ts"}),
        ("ts.mat", _write_mat_v73_region_by_time, {"orientation": "region_by_time"}),
        ("ts.parquet", _write_parquet, {}),
        ("ts.txt", _write_semicolon_text, {"delimiter": "';'", "header": "false"}),
    ],
)
def test_timeseries_mapping_reads_real_formats(rng, tmp_path, write_mat_v73, name, write, options):
    expected = {}
    for subject in ("s01", "s02"):
        (tmp_path / f"sub-{subject}").mkdir()
        expected[subject] = rng.standard_normal((1200, 100))  # 1200 frames of 100 regions
        write(
            tmp_path / f"sub-{subject}" / f"sub-{subject}_{name}", expected[subject], write_mat_v73
        )
    lines = [f'  path: "sub-{{subject}}/sub-{{subject}}_{name}"']
    lines += [f"  {key}: {value}" for key, value in options.items()]
    (tmp_path / "m.yaml").write_text(MAPPING_MANIFEST.format(timeseries="\n".join(lines)))
    manifest = load_manifest(tmp_path / "m.yaml")
    assert manifest.timeseries == f"sub-{{subject}}/sub-{{subject}}_{name}"
    specs = manifest.runs()
    assert [spec.subject for spec in specs] == ["s01", "s02"]
    for spec in specs:
        assert spec.read_options == {
            key: {"';'": ";", "false": False}.get(value, value) for key, value in options.items()
        }
        run_data = manifest.load_run(spec)
        assert run_data.subject == spec.subject and run_data.t_r == 0.72
        np.testing.assert_array_equal(run_data.timeseries, expected[spec.subject])
    assert validate_manifest(manifest) == []


def test_load_run_keywords_override_manifest_options(rng, tmp_path):
    (tmp_path / "sub-s01").mkdir()
    ts = rng.standard_normal((30, 4))
    np.savez(tmp_path / "sub-s01" / "run.npz", raw=ts, clean=ts[:, :3])
    (tmp_path / "m.yaml").write_text(
        "name: x\nlayout: timeseries\nt_r: 2\n"
        "timeseries:\n  path: 'sub-{subject}/run.npz'\n  key: raw\n"
    )
    manifest = load_manifest(tmp_path / "m.yaml")
    [spec] = manifest.runs()
    np.testing.assert_array_equal(manifest.load_run(spec).timeseries, ts)
    np.testing.assert_array_equal(manifest.load_run(spec, key="clean").timeseries, ts[:, :3])


def test_timeseries_mapping_errors_name_the_run(rng, tmp_path):
    # a regions-by-time file without the option fails naming subject and file
    (tmp_path / "sub-s01").mkdir()
    np.savez(tmp_path / "sub-s01" / "run.npz", ts=rng.standard_normal((100, 1200)))
    (tmp_path / "m.yaml").write_text(
        "name: x\nlayout: timeseries\nt_r: 2\ntimeseries:\n  path: 'sub-{subject}/run.npz'\n"
    )
    manifest = load_manifest(tmp_path / "m.yaml")
    with pytest.raises(
        DataError,
        match=r"subject 's01', file '.*run\.npz': cannot tell which axis is time \(100 rows x "
        r"1200 columns",
    ):
        manifest.load_run(manifest.runs()[0])


@pytest.mark.parametrize(
    ("timeseries", "message"),
    [
        (
            "  path: 'sub-{subject}.npz'\n  orient: region_by_time",
            r"unknown manifest key\(s\) \['timeseries\.orient'\]; allowed top-level keys: .*; "
            r"allowed in 'timeseries': \['path', 'orientation', 'key', 'delimiter', 'header'\]",
        ),
        (
            "  path: 'sub-{subject}.npz'\n  orientation: regions_by_time",
            r"'timeseries\.orientation' must be one of \('auto', 'time_by_region', "
            r"'region_by_time'\); got 'regions_by_time'",
        ),
        (
            "  path: 'sub-{subject}.txt'\n  delimiter: semicolon",
            r"'timeseries\.delimiter' must be one of \('tab', 'comma', 'whitespace'\) or a "
            r"single separator character .*got 'semicolon'",
        ),
        (
            "  path: 'sub-{subject}.txt'\n  header: maybe",
            r"'timeseries\.header' must be one of \('auto', true, false\); got 'maybe'",
        ),
        (
            "  path: 'sub-{subject}.txt'\n  header: 1",
            r"'timeseries\.header' must be one of \('auto', true, false\); got 1",
        ),
        ("  path: 'sub-{subject}.mat'\n  key: [ts]", r"'timeseries\.key' must be a non-empty"),
        ("  key: ts", r"'timeseries\.path' is required"),
        ("  path: 'run-{run}.mat'", r"'timeseries' template must contain '\{subject\}'"),
        ("  - a.tsv", r"'timeseries' must be a path template or a mapping with keys \['path'"),
    ],
)
def test_timeseries_mapping_rejected_at_load(tmp_path, timeseries, message):
    (tmp_path / "m.yaml").write_text(MAPPING_MANIFEST.format(timeseries=timeseries))
    with pytest.raises(DataError, match=r"m\.yaml.*" + message):
        load_manifest(tmp_path / "m.yaml")


def test_reading_options_rejected_for_cifti_and_nifti_runs(rng, tmp_path):
    root = tmp_path / "HCP"
    root.mkdir()
    _write_hcp(root, rng, ["100206"])
    template = "{subject}/MNINonLinear/Results/rfMRI_{run}/rfMRI_{run}_Atlas_MSMAll_hp2000_clean"
    (tmp_path / "hcp.yaml").write_text(
        f"name: h\nlayout: hcp\nroot: {root}\nparcellation:\n  dlabel: atlas.dlabel.nii\n"
        f"runs: [REST1_LR]\ntimeseries:\n  path: '{template}.dtseries.nii'\n"
        "  orientation: region_by_time\n"
    )
    manifest = load_manifest(tmp_path / "hcp.yaml")
    [spec] = manifest.runs()
    with pytest.raises(
        DataError,
        match=r"subject '100206', run 'REST1_LR', file '.*hcp\.yaml': 'timeseries\.orientation' "
        r"applies to tables and arrays read by load_timeseries .*not to CIFTI time series; got "
        r"'region_by_time'",
    ):
        manifest.load_run(spec)
    folder = tmp_path / "bids" / "sub-01"
    folder.mkdir(parents=True)
    nib.Nifti1Image(np.ones((2, 2, 2), np.int16), np.eye(4)).to_filename(
        tmp_path / "bids" / "atlas.nii.gz"
    )
    bold = rng.normal(size=(2, 2, 2, 10)).astype(np.float32)
    nib.Nifti1Image(bold, np.eye(4)).to_filename(folder / "bold.nii.gz")
    (tmp_path / "f.yaml").write_text(
        f"name: f\nlayout: timeseries\nroot: {tmp_path / 'bids'}\nt_r: 2\n"
        "parcellation:\n  atlas: atlas.nii.gz\n"
        "timeseries:\n  path: 'sub-{subject}/bold.nii.gz'\n  key: ts\n"
    )
    manifest = load_manifest(tmp_path / "f.yaml")
    with pytest.raises(
        DataError, match=r"'timeseries\.key' applies to .*not to NIfTI time series; got 'ts'"
    ):
        manifest.load_run(manifest.runs()[0])
