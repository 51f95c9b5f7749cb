"""Tests of brainctrl.io.load_nifti_timeseries on small NIfTI files and an fMRIPrep-like folder."""

import json

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from brainctrl.exceptions import DataError, InvalidParameterError, MissingDataError
from brainctrl.io import load_nifti_timeseries

AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])
N_VOLUMES = 40
MOTION = ["trans_x", "trans_y", "trans_z", "rot_x", "rot_y", "rot_z"]


def _atlas():
    atlas = np.zeros((5, 4, 3), dtype=np.int16)
    atlas[:2, :, :] = 3
    atlas[2:4, :2, :] = 7
    atlas[2:4, 2:, :2] = 12
    return atlas  # label 0 elsewhere (background)


def _write_bold(path, data, t_r=2.0, unit="sec"):
    image = nib.Nifti1Image(data.astype(np.float32), AFFINE)
    image.header.set_xyzt_units("mm", unit)
    zooms = list(image.header.get_zooms())
    zooms[3] = t_r
    image.header.set_zooms(zooms)
    image.to_filename(path)
    return path


@pytest.fixture
def images(rng, tmp_path):
    atlas = _atlas()
    data = rng.normal(size=atlas.shape + (N_VOLUMES,)) + 50.0
    bold = _write_bold(tmp_path / "bold.nii.gz", data)
    nib.Nifti1Image(atlas, AFFINE).to_filename(tmp_path / "atlas.nii.gz")
    return bold, tmp_path / "atlas.nii.gz", data, atlas


def _confounds_table(rng, n=N_VOLUMES):
    columns = {}
    for name in MOTION + ["csf", "white_matter", "global_signal"]:
        base = rng.normal(size=n)
        derivative = np.r_[np.nan, np.diff(base)]
        columns[name] = base
        columns[f"{name}_derivative1"] = derivative
        columns[f"{name}_power2"] = base**2
        columns[f"{name}_derivative1_power2"] = derivative**2
    columns["framewise_displacement"] = np.r_[np.nan, np.abs(rng.normal(size=n - 1)) * 0.1]
    columns["std_dvars"] = np.r_[np.nan, np.abs(rng.normal(size=n - 1))]
    for i in range(2):
        columns[f"cosine{i:02d}"] = np.cos(np.pi * (i + 1) * (np.arange(n) + 0.5) / n)
    for i in range(3):
        columns[f"a_comp_cor_{i:02d}"] = rng.normal(size=n)
    return pd.DataFrame(columns)


def _sidecar():
    return {
        f"a_comp_cor_{i:02d}": {
            "Method": "aCompCor",
            "Mask": "combined",
            "Retained": True,
            "CumulativeVarianceExplained": 0.2 * (i + 1),
            "VarianceExplained": 0.2,
        }
        for i in range(3)
    }


def _fmriprep_folder(root, rng, data, atlas, suffix="timeseries"):
    func = root / "sub-01" / "func"
    func.mkdir(parents=True)
    bold = _write_bold(
        func / "sub-01_task-rest_space-MNI152NLin2009cAsym_desc-preproc_bold.nii.gz", data
    )
    (func / "sub-01_task-rest_space-MNI152NLin2009cAsym_desc-preproc_bold.json").write_text(
        json.dumps({"RepetitionTime": 0.8})
    )
    table = _confounds_table(rng)
    table.to_csv(
        func / f"sub-01_task-rest_desc-confounds_{suffix}.tsv", sep="\t", index=False, na_rep="n/a"
    )
    (func / f"sub-01_task-rest_desc-confounds_{suffix}.json").write_text(json.dumps(_sidecar()))
    return bold, table


def test_region_means_match_numpy(images):
    bold, atlas_path, data, atlas = images
    run_data = load_nifti_timeseries(bold, atlas_path, subject="01")
    assert list(run_data.regions["key"]) == [3, 7, 12]
    for column, key in enumerate([3, 7, 12]):
        expected = data[atlas == key].astype(np.float32).astype(np.float64).mean(axis=0)
        np.testing.assert_allclose(run_data.timeseries[:, column], expected, rtol=1e-5)
    assert run_data.t_r == 2.0  # from the header, unit seconds
    assert run_data.confounds is None


def test_labels_table_with_keys_and_name_list(images, tmp_path):
    bold, atlas_path, _, _ = images
    (tmp_path / "labels.tsv").write_text(
        "index\tname\tnetwork\n12\tC\tDefault\n3\tA\tVis\n7\tB\tCont\n99\tunused\tLimbic\n"
    )
    run_data = load_nifti_timeseries(bold, atlas_path, tmp_path / "labels.tsv")
    assert list(run_data.regions["name"]) == ["A", "B", "C"]
    assert list(run_data.regions["network"]) == ["Vis", "Cont", "Default"]
    with_background = load_nifti_timeseries(bold, atlas_path, ["Background", "a", "b", "c"])
    assert list(with_background.regions["name"]) == ["a", "b", "c"]
    with pytest.raises(
        DataError,
        match=r"atlas\.nii\.gz.*region table has 2 rows but the atlas "
        "has 3 labels",
    ):
        load_nifti_timeseries(bold, atlas_path, ["a", "b"])
    (tmp_path / "short.tsv").write_text("index\tname\n3\tA\n7\tB\n")
    with pytest.raises(DataError, match=r"atlas labels \[12\] are not in the region table"):
        load_nifti_timeseries(bold, atlas_path, tmp_path / "short.tsv")


def test_t_r_from_milliseconds_header(images, tmp_path):
    _, atlas_path, data, _ = images
    bold = _write_bold(tmp_path / "ms.nii.gz", data, t_r=720.0, unit="msec")
    assert load_nifti_timeseries(bold, atlas_path).t_r == pytest.approx(0.72)
    unknown = _write_bold(tmp_path / "unknown.nii.gz", data, t_r=0.0, unit="unknown")
    with pytest.raises(DataError, match=r"unknown\.nii\.gz.*cannot read the TR"):
        load_nifti_timeseries(unknown, atlas_path)
    assert load_nifti_timeseries(unknown, atlas_path, t_r=1.5).t_r == 1.5


def test_fmriprep_simple_strategy(images, rng, tmp_path):
    _, atlas_path, data, atlas = images
    bold, table = _fmriprep_folder(tmp_path / "derivatives", rng, data, atlas)
    run_data = load_nifti_timeseries(bold, atlas_path, strategy="simple", subject="01")
    assert run_data.t_r == 0.8  # JSON sidecar beats the header's 2.0
    expected_columns = {"cosine00", "cosine01", "csf", "white_matter"}
    for name in MOTION:
        expected_columns |= {
            name,
            f"{name}_derivative1",
            f"{name}_power2",
            f"{name}_derivative1_power2",
        }
    assert set(run_data.confounds.columns) == expected_columns
    # the strategy demeans; the first derivative frame (n/a) is filled before demeaning
    raw = table["trans_x"].to_numpy()
    np.testing.assert_allclose(run_data.confounds["trans_x"], raw - raw.mean(), atol=1e-10)
    assert run_data.metadata["strategy"] == "simple"
    assert "sample_mask" not in run_data.metadata


def test_fmriprep_old_confounds_name_and_compcor(images, rng, tmp_path):
    _, atlas_path, data, atlas = images
    bold, _ = _fmriprep_folder(tmp_path / "old", rng, data, atlas, suffix="regressors")
    run_data = load_nifti_timeseries(bold, atlas_path, strategy="compcor")
    compcor = [c for c in run_data.confounds.columns if c.startswith("a_comp_cor")]
    assert compcor == ["a_comp_cor_00", "a_comp_cor_01", "a_comp_cor_02"]


def test_denoise_removes_confounds(images, rng, tmp_path):
    _, atlas_path, data, atlas = images
    confounds = _confounds_table(rng)[["csf", "white_matter"]]
    planted = data + 5.0 * confounds["csf"].to_numpy()  # every voxel carries the csf signal
    bold = _write_bold(tmp_path / "planted.nii.gz", planted)
    raw = load_nifti_timeseries(bold, atlas_path, confounds=confounds)
    assert abs(np.corrcoef(raw.timeseries[:, 0], confounds["csf"])[0, 1]) > 0.9
    cleaned = load_nifti_timeseries(bold, atlas_path, confounds=confounds, denoise=True)
    centred = confounds.to_numpy() - confounds.to_numpy().mean(axis=0)
    # residuals are orthogonal to the (centred) confounds
    residual = cleaned.timeseries - cleaned.timeseries.mean(axis=0)
    np.testing.assert_allclose(centred.T @ residual, 0.0, atol=1e-6 * np.abs(residual).max() * 40)
    assert cleaned.confounds is None
    assert cleaned.metadata["confound_columns"] == ["csf", "white_matter"]


def test_missing_fmriprep_confounds(images, tmp_path):
    _, atlas_path, data, _ = images
    func = tmp_path / "sub-02" / "func"
    func.mkdir(parents=True)
    bold = _write_bold(func / "sub-02_task-rest_space-T1w_desc-preproc_bold.nii.gz", data)
    with pytest.raises(
        MissingDataError,
        match=r"subject '02'.*preproc_bold\.nii\.gz.*"
        r"fMRIPrep confounds for strategy 'simple' could not be loaded",
    ):
        load_nifti_timeseries(bold, atlas_path, strategy="simple", subject="02")


def test_bad_strategy_and_both_confounds(images):
    bold, atlas_path, _, _ = images
    with pytest.raises(InvalidParameterError, match="'strategy' must be one of"):
        load_nifti_timeseries(bold, atlas_path, strategy="aggressive")
    with pytest.raises(InvalidParameterError, match="either 'confounds' or 'strategy'"):
        load_nifti_timeseries(bold, atlas_path, strategy="simple", confounds=pd.DataFrame())


def test_nan_constant_and_short_runs(images, tmp_path):
    _, atlas_path, data, atlas = images
    nan_data = data.copy()
    nan_data[atlas == 7] = np.nan
    with pytest.raises(DataError, match=r"nan\.nii\.gz.*non-finite values"):
        load_nifti_timeseries(_write_bold(tmp_path / "nan.nii.gz", nan_data), atlas_path)
    flat = data.copy()
    flat[atlas == 12] = 1.0
    with pytest.raises(DataError, match=r"flat\.nii\.gz.*constant region.*'label_12'"):
        load_nifti_timeseries(_write_bold(tmp_path / "flat.nii.gz", flat), atlas_path)
    with pytest.raises(DataError, match=r"at least 41 timepoints"):
        load_nifti_timeseries(tmp_path / "flat.nii.gz", atlas_path, min_timepoints=41)


def test_wrong_dimensions_and_missing(images, tmp_path):
    bold, atlas_path, _, _ = images
    with pytest.raises(DataError, match=r"BOLD image must be 4-D; got shape \(5, 4, 3\)"):
        load_nifti_timeseries(atlas_path, atlas_path)
    with pytest.raises(DataError, match=r"atlas image must be 3-D"):
        load_nifti_timeseries(bold, bold)
    with pytest.raises(MissingDataError, match=r"absent\.nii\.gz.*atlas image does not exist"):
        load_nifti_timeseries(bold, tmp_path / "absent.nii.gz")
    (tmp_path / "garbage.nii.gz").write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"garbage\.nii\.gz.*atlas image could not be read"):
        load_nifti_timeseries(bold, tmp_path / "garbage.nii.gz")
    empty = nib.Nifti1Image(np.zeros((5, 4, 3), np.int16), AFFINE)
    empty.to_filename(tmp_path / "empty.nii.gz")
    with pytest.raises(DataError, match=r"atlas has no labels"):
        load_nifti_timeseries(bold, tmp_path / "empty.nii.gz")
