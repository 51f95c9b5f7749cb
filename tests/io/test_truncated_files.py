"""Truncated and ragged files fail with a DataError naming the subject, run and file.

Each file is written whole by the library that makes it in practice (numpy, nibabel,
scipy.io.savemat, h5py, gzip, pandas), checked to load, then cut the way an interrupted
copy or download leaves it.
"""

import gzip

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import scipy.io
from nibabel import cifti2

from brainctrl.exceptions import DataError
from brainctrl.io import load_cifti_timeseries, load_nifti_timeseries, load_timeseries

IDS = {"subject": "s01", "run": "1"}
CONTEXT = r"subject 's01', run '1', file '[^']*{name}': "


def _cut(path, fraction):
    """Keep the first ``fraction`` of the file's bytes (or that many bytes, if an int)."""
    data = path.read_bytes()
    size = fraction if isinstance(fraction, int) else int(len(data) * fraction)
    path.write_bytes(data[:size])
    return size


def _context(name):
    return CONTEXT.format(name=name.replace(".", r"\."))


@pytest.fixture
def ts(rng):
    return rng.standard_normal((200, 20)) + 50.0


def _write_npz(path, ts):
    np.savez_compressed(path, ts=ts)


def _write_npy(path, ts):
    np.save(path, ts)


def _write_mat_v5(path, ts):
    scipy.io.savemat(path, {"ts": ts, "TR": 0.72})


def _write_tsv_gz(path, ts):
    with gzip.open(path, "wt") as handle:
        np.savetxt(handle, ts, delimiter="\t")


def _write_parquet(path, ts):
    pd.DataFrame(ts, columns=[f"r{i}" for i in range(ts.shape[1])]).to_parquet(path)


@pytest.mark.parametrize(
    ("name", "write", "fraction", "message"),
    [
        ("run.npz", _write_npz, 0.6, r"NumPy \.npz archive is truncated or corrupt.*BadZipFile"),
        (
            "run.npz",
            _write_npz,
            3,
            r"not a complete NumPy \.npz \(zip\) file: it starts with 3 byte",
        ),
        ("run.npy", _write_npy, 0.6, r"NumPy \.npy file is truncated or corrupt"),
        # numpy itself would call a 5-byte stub "pickled data"
        ("run.npy", _write_npy, 5, r"not a complete NumPy \.npy file: it starts with 5 byte"),
        ("run.mat", _write_mat_v5, 0.6, r"MATLAB file is truncated or corrupt"),
        ("run.mat", _write_mat_v5, 0.002, r"MATLAB file is truncated or corrupt"),
        ("run.tsv.gz", _write_tsv_gz, 0.6, r"gzip-compressed file is truncated or corrupt"),
        ("run.parquet", _write_parquet, 0.6, r"Parquet file is truncated or corrupt"),
    ],
)
def test_truncated_table_or_array(ts, tmp_path, name, write, fraction, message):
    path = tmp_path / name
    write(path, ts)
    np.testing.assert_allclose(load_timeseries(path, t_r=0.72, **IDS).timeseries, ts)
    _cut(path, fraction)
    with pytest.raises(DataError, match=_context(name) + message):
        load_timeseries(path, t_r=0.72, **IDS)


def test_truncated_mat_v73(ts, tmp_path, write_mat_v73):
    path = write_mat_v73(tmp_path / "run.mat", ts=ts, TR=0.72)
    np.testing.assert_array_equal(load_timeseries(path, t_r=0.72, **IDS).timeseries, ts)
    _cut(path, 0.6)
    with pytest.raises(
        DataError, match=_context("run.mat") + r"MATLAB v7\.3 \(HDF5\) file is truncated"
    ):
        load_timeseries(path, t_r=0.72, **IDS)


def test_text_table_ending_mid_line(ts, tmp_path):
    path = tmp_path / "run.tsv"
    np.savetxt(path, ts, delimiter="\t")
    text = path.read_text()
    # cut inside the 5th field of the last line: no line end, 4 complete fields
    last_line_start = text.rstrip("\n").rfind("\n") + 1
    fifth_field = last_line_start + len("\t".join(text[last_line_start:].split("\t")[:4]))
    path.write_text(text[: fifth_field + 4])
    with pytest.raises(
        DataError,
        match=_context("run.tsv") + r"the file ends mid-line: line 200 has 5 field\(s\) but "
        r"line 1 has 20 \(tab-separated\); it looks truncated",
    ):
        load_timeseries(path, t_r=0.72, **IDS)


def test_text_table_ragged_line(ts, tmp_path):
    path = tmp_path / "run.csv"
    lines = [",".join(f"{v:.6f}" for v in row) for row in ts]
    lines[56] = ",".join(lines[56].split(",")[:13])  # a line that lost 7 fields
    lines[90] += ",1.0"  # and one with an extra field
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        DataError,
        match=_context("run.csv") + r"ragged table: line 57 has 13 field\(s\) but line 1 has 20 "
        r"\(comma-separated; 2 line\(s\) differ from the 198 with 20 fields\)",
    ):
        load_timeseries(path, t_r=0.72, **IDS)


def test_text_table_short_last_line_with_line_end(ts, tmp_path):
    path = tmp_path / "run.tsv"
    lines = ["\t".join(f"{v:.6f}" for v in row) for row in ts]
    lines[-1] = "\t".join(lines[-1].split("\t")[:3])
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(
        DataError, match=r"ends with a short line: line 200 has 3 field\(s\).*looks truncated"
    ):
        load_timeseries(path, t_r=0.72, **IDS)


def test_gzip_cut_in_the_middle_of_a_line(ts, tmp_path):
    # a .tsv.gz stream cut anywhere is a gzip error, not a short table
    path = tmp_path / "run.tsv.gz"
    _write_tsv_gz(path, ts)
    _cut(path, 0.97)
    with pytest.raises(DataError, match=_context("run.tsv.gz") + r"gzip-compressed file is trunc"):
        load_timeseries(path, t_r=0.72, **IDS)


# -- NIfTI ------------------------------------------------------------------------------


@pytest.fixture
def nifti_run(rng, tmp_path):
    atlas = np.zeros((6, 5, 4), dtype=np.int16)
    atlas[:3] = 1
    atlas[3:, :2] = 2
    atlas[3:, 2:] = 3
    affine = np.diag([3.0, 3.0, 3.0, 1.0])
    data = (rng.standard_normal(atlas.shape + (60,)) + 100).astype(np.float32)
    image = nib.Nifti1Image(data, affine)
    image.header.set_xyzt_units("mm", "sec")
    image.header.set_zooms((3.0, 3.0, 3.0, 2.0))
    for name in ("bold.nii.gz", "bold.nii"):
        image.to_filename(tmp_path / name)
    nib.Nifti1Image(atlas, affine).to_filename(tmp_path / "atlas.nii.gz")
    nib.Nifti1Image(atlas, affine).to_filename(tmp_path / "atlas.nii")
    return tmp_path


@pytest.mark.parametrize("fraction", [0.5, 0.9])
def test_truncated_nii_gz_bold(nifti_run, fraction):
    bold, atlas = nifti_run / "bold.nii.gz", nifti_run / "atlas.nii.gz"
    assert load_nifti_timeseries(bold, atlas, **IDS).timeseries.shape == (60, 3)
    _cut(bold, fraction)
    with pytest.raises(
        DataError,
        match=_context("bold.nii.gz") + r"BOLD image data cannot be read: the file is truncated",
    ):
        load_nifti_timeseries(bold, atlas, **IDS)


def test_truncated_nii_bold_and_atlas(nifti_run):
    bold, atlas = nifti_run / "bold.nii", nifti_run / "atlas.nii"
    size = _cut(bold, 0.7)
    with pytest.raises(
        DataError,
        match=_context("bold.nii") + rf"BOLD image is truncated: the file has {size} bytes but "
        r"its header \(data of shape \(6, 5, 4, 60\), float32, from byte 352\) needs 29152",
    ):
        load_nifti_timeseries(bold, atlas, **IDS)
    _cut(atlas, 0.95)
    with pytest.raises(DataError, match=_context("atlas.nii") + r"atlas image is truncated"):
        load_nifti_timeseries(nifti_run / "bold.nii.gz", atlas, **IDS)
    _cut(atlas, 0.2)  # inside the header
    with pytest.raises(
        DataError,
        match=_context("atlas.nii") + r"atlas image could not be read .*The file has \d+ bytes, "
        r"fewer than a NIfTI header needs \(348\)",
    ):
        load_nifti_timeseries(nifti_run / "bold.nii.gz", atlas, **IDS)


# -- CIFTI-2 ----------------------------------------------------------------------------


@pytest.fixture
def cifti_run(rng, tmp_path):
    """A real CIFTI-2 dense time series (two surfaces) and its label file."""
    axis = cifti2.BrainModelAxis.from_surface(
        np.arange(40), 40, "cortex_left"
    ) + cifti2.BrainModelAxis.from_surface(np.arange(30), 30, "cortex_right")
    series = cifti2.SeriesAxis(start=0.0, step=0.72, size=50, unit="SECOND")
    data = (rng.standard_normal((50, axis.size)) + 100).astype(np.float32)
    cifti2.Cifti2Image(data, header=(series, axis)).to_filename(tmp_path / "run.dtseries.nii")
    table = {
        0: ("???", (0.0, 0.0, 0.0, 0.0)),
        1: ("7Networks_LH_Vis_1", (1.0, 0.0, 0.0, 1.0)),
        2: ("7Networks_RH_Default_PFC_1", (0.0, 1.0, 0.0, 1.0)),
    }
    values = np.array([[1] * 40 + [2] * 30], dtype=np.float32)
    labels = cifti2.LabelAxis(["parcellation"], [table])
    cifti2.Cifti2Image(values, header=(labels, axis)).to_filename(tmp_path / "atlas.dlabel.nii")
    return tmp_path / "run.dtseries.nii", tmp_path / "atlas.dlabel.nii", data


def test_truncated_dtseries(cifti_run):
    dtseries, dlabel, data = cifti_run
    run_data = load_cifti_timeseries(dtseries, dlabel, **IDS)
    np.testing.assert_allclose(run_data.timeseries[:, 0], data[:, :40].mean(axis=1), rtol=1e-6)
    size = _cut(dtseries, 0.8)
    with pytest.raises(
        DataError,
        match=_context("run.dtseries.nii") + rf"dense time series is truncated: the file has "
        rf"{size} bytes but its header \(data of shape \(50, 70\), float32",
    ):
        load_cifti_timeseries(dtseries, dlabel, **IDS)
    _cut(dtseries, 1000)  # inside the CIFTI XML header extension (data start at 1504)
    with pytest.raises(
        DataError,
        match=_context("run.dtseries.nii") + r"dense time series could not be read",
    ):
        load_cifti_timeseries(dtseries, dlabel, **IDS)


def test_truncated_dlabel(cifti_run):
    dtseries, dlabel, _ = cifti_run
    _cut(dlabel, 0.99)
    with pytest.raises(
        DataError, match=_context("atlas.dlabel.nii") + r"label file is truncated: the file has"
    ):
        load_cifti_timeseries(dtseries, dlabel, **IDS)
