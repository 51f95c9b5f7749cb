"""Tests of brainctrl.io.find_hcp_runs and find_fmriprep_runs on folder trees written here."""

import pytest

from brainctrl.exceptions import InvalidParameterError, MissingDataError
from brainctrl.io import HCP_VARIANTS, find_fmriprep_runs, find_hcp_runs


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def _hcp_run(root, subject, run, variant):
    folder = root / subject / "MNINonLinear" / "Results" / f"rfMRI_{run}"
    return _touch(folder / f"rfMRI_{run}_{variant}")


@pytest.fixture
def hcp_root(tmp_path):
    root = tmp_path / "HCP"
    for run in ("REST1_LR", "REST1_RL", "REST2_LR", "REST2_RL"):
        _hcp_run(root, "100206", run, "Atlas_MSMAll_hp2000_clean.dtseries.nii")
        _hcp_run(root, "100206", run, "Atlas.dtseries.nii")  # less preferred, ignored
    _hcp_run(root, "007011", "REST1_LR", "Atlas_hp2000_clean.dtseries.nii")
    _hcp_run(root, "007011", "REST1_LR", "Atlas_MSMAll.dtseries.nii")
    _hcp_run(root, "007011", "REST2_LR", "Atlas_MSMAll_hp2000_clean_rclean_tclean.dtseries.nii")
    (root / "007011" / "MNINonLinear" / "Results" / "tfMRI_WM_LR").mkdir(parents=True)
    (root / "notes").mkdir()
    return root


def test_find_hcp_runs_preference_and_ids(hcp_root):
    runs = find_hcp_runs(hcp_root)
    assert list(runs.columns) == ["subject", "session", "run", "path", "variant"]
    assert list(runs["subject"]) == ["007011", "007011"] + ["100206"] * 4  # zeros kept
    first = runs.iloc[0]
    assert first["run"] == "REST1_LR"
    # FIX-cleaned MSMSulc beats minimally preprocessed MSMAll (HCP_VARIANTS order)
    assert first["variant"] == "Atlas_hp2000_clean.dtseries.nii"
    assert runs.iloc[1]["variant"] == "Atlas_MSMAll_hp2000_clean_rclean_tclean.dtseries.nii"
    hundred = runs[runs["subject"] == "100206"]
    assert set(hundred["variant"]) == {HCP_VARIANTS[0]}
    assert all(path.endswith(HCP_VARIANTS[0]) for path in hundred["path"])
    assert list(hundred["run"]) == ["REST1_LR", "REST1_RL", "REST2_LR", "REST2_RL"]


def test_find_hcp_runs_filters(hcp_root):
    runs = find_hcp_runs(hcp_root, subjects=[100206], runs=["REST2_RL", "REST9_XX"])
    assert runs[["subject", "run"]].values.tolist() == [["100206", "REST2_RL"]]
    only_minimal = find_hcp_runs(hcp_root, variants="Atlas.dtseries.nii")
    assert list(only_minimal["subject"]) == ["100206"] * 4
    assert find_hcp_runs(hcp_root, subjects=["999999"]).empty


def test_find_hcp_runs_errors(tmp_path):
    with pytest.raises(MissingDataError, match=r"absent.*HCP dataset root folder does not exist"):
        find_hcp_runs(tmp_path / "absent")
    with pytest.raises(InvalidParameterError, match="'variants' must name at least one"):
        find_hcp_runs(tmp_path, variants=())


@pytest.fixture
def fmriprep_root(tmp_path):
    root = tmp_path / "derivatives" / "fmriprep"
    func = root / "sub-01" / "ses-a" / "func"
    for run in ("1", "2"):
        stem = f"sub-01_ses-a_task-rest_run-{run}"
        _touch(func / f"{stem}_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz")
        _touch(func / f"{stem}_space-T1w_desc-preproc_bold.nii.gz")
        _touch(func / f"{stem}_space-fsLR_den-91k_bold.dtseries.nii")
        _touch(func / f"{stem}_desc-confounds_timeseries.tsv")
    _touch(func / "sub-01_ses-a_task-rest_run-1_space-MNI152NLin2009cAsym_desc-brain_mask.nii.gz")
    old = root / "sub-02" / "func"
    _touch(old / "sub-02_task-rest_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz")
    _touch(old / "sub-02_task-rest_desc-confounds_regressors.tsv")
    _touch(old / "sub-02_task-nback_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz")
    _touch(
        root
        / "sub-03"
        / "func"
        / "sub-03_task-rest_space-MNI152NLin2009cAsym_res-2_desc-preproc_bold.nii.gz"
    )
    return root


def test_find_fmriprep_volume_runs(fmriprep_root):
    runs = find_fmriprep_runs(fmriprep_root)
    assert runs[["subject", "session", "task", "run"]].values.tolist() == [
        ["01", "a", "rest", "1"],
        ["01", "a", "rest", "2"],
        ["02", None, "rest", None],
        ["03", None, "rest", None],
    ]
    assert runs.iloc[0]["confounds"].endswith(
        "sub-01_ses-a_task-rest_run-1_desc-confounds_timeseries.tsv"
    )
    assert runs.iloc[2]["confounds"].endswith("sub-02_task-rest_desc-confounds_regressors.tsv")
    assert runs.iloc[3]["confounds"] is None
    assert runs.iloc[3]["entities"]["res"] == "2"


def test_find_fmriprep_filters_and_cifti(fmriprep_root):
    cifti = find_fmriprep_runs(fmriprep_root, space="fsLR")
    assert [p.split("/")[-1] for p in cifti["path"]] == [
        "sub-01_ses-a_task-rest_run-1_space-fsLR_den-91k_bold.dtseries.nii",
        "sub-01_ses-a_task-rest_run-2_space-fsLR_den-91k_bold.dtseries.nii",
    ]
    assert find_fmriprep_runs(fmriprep_root, space="fsLR", density="32k").empty
    assert list(find_fmriprep_runs(fmriprep_root, space="T1w", runs=[2])["run"]) == ["2"]
    nback = find_fmriprep_runs(fmriprep_root, task="nback")
    assert list(nback["subject"]) == ["02"]
    every_task = find_fmriprep_runs(fmriprep_root, task=None, subjects=["02"])
    assert list(every_task["task"]) == ["nback", "rest"]  # sorted by file name
    assert find_fmriprep_runs(fmriprep_root, sessions=["b"]).empty


def test_find_fmriprep_missing_folder(tmp_path):
    with pytest.raises(MissingDataError, match="fMRIPrep derivatives folder does not exist"):
        find_fmriprep_runs(tmp_path / "nothing")
