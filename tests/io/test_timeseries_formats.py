"""load_timeseries on the array formats of real datasets: NPZ, MATLAB v5 and v7.3, HDF5, Parquet.

Files are written in the shapes datasets ship (1200 frames of 100 regions, or the
transpose) by numpy, scipy.io.savemat, h5py (laid out as MATLAB lays out v7.3 files) and
pandas, and read back; the loaded values must equal the written array.
"""

import h5py
import numpy as np
import pandas as pd
import pytest
import scipy.io

from brainctrl.exceptions import DataError, InvalidParameterError
from brainctrl.io import load_timeseries

N_TIMEPOINTS, N_REGIONS = 1200, 100


@pytest.fixture
def ts(rng):
    """A (1200, 100) time series: 1200 frames of 100 regions."""
    return rng.standard_normal((N_TIMEPOINTS, N_REGIONS)) + 100.0


def test_npz_region_by_time(ts, tmp_path):
    np.savez(tmp_path / "run.npz", ts=ts.T)  # 100 x 1200, regions by time
    run_data = load_timeseries(tmp_path / "run.npz", t_r=0.72, orientation="region_by_time")
    np.testing.assert_array_equal(run_data.timeseries, ts)
    assert run_data.metadata["orientation"] == "region_by_time"
    # without the orientation the shape alone (100 rows < 1200 columns) is not trusted
    with pytest.raises(
        DataError, match=r"cannot tell which axis is time \(100 rows x 1200 columns; no region"
    ):
        load_timeseries(tmp_path / "run.npz", t_r=0.72)
    # a region list of 100 names is evidence that the rows are regions
    with pytest.raises(
        DataError,
        match=r"looks regions-by-time \(100 rows x 1200 columns; the region table has 100 rows, "
        r"matching the rows, not the columns\).*If each row is a region, pass "
        r"orientation='region_by_time'",
    ):
        load_timeseries(tmp_path / "run.npz", t_r=0.72, regions=[f"r{i}" for i in range(100)])


def test_npz_with_scalar_beside_the_series(ts, tmp_path):
    np.savez(tmp_path / "run.npz", ts=ts, tr=np.float64(0.72), mask=np.ones(100))
    run_data = load_timeseries(tmp_path / "run.npz", t_r=0.72)
    np.testing.assert_array_equal(run_data.timeseries, ts)


@pytest.mark.parametrize("orientation", ["time_by_region", "region_by_time"])
def test_matlab_v5_named_variable(ts, tmp_path, orientation):
    stored = ts if orientation == "time_by_region" else ts.T
    scipy.io.savemat(
        tmp_path / "run.mat", {"ts": stored, "TR": 0.72, "names": np.array(["a", "b"])}
    )
    run_data = load_timeseries(tmp_path / "run.mat", t_r=0.72, key="ts", orientation=orientation)
    np.testing.assert_array_equal(run_data.timeseries, ts)
    # the only numeric matrix is taken without a key (TR is 1 x 1, names is char)
    run_data = load_timeseries(tmp_path / "run.mat", t_r=0.72, orientation=orientation)
    np.testing.assert_array_equal(run_data.timeseries, ts)


@pytest.mark.parametrize("orientation", ["time_by_region", "region_by_time"])
def test_matlab_v73_named_variable(ts, tmp_path, write_mat_v73, orientation):
    stored = ts if orientation == "time_by_region" else ts.T
    path = write_mat_v73(tmp_path / "run.mat", ts=stored, TR=0.72, atlas="Schaefer100")
    # HDF5 sees the reversed axes; the loader returns MATLAB's shape
    with h5py.File(path, "r") as handle:
        assert handle["ts"].shape == stored.shape[::-1]
    assert scipy.io.matlab.matfile_version(str(path))[0] == 2
    run_data = load_timeseries(path, t_r=0.72, key="ts", orientation=orientation)
    np.testing.assert_array_equal(run_data.timeseries, ts)
    run_data = load_timeseries(path, t_r=0.72, orientation=orientation)
    np.testing.assert_array_equal(run_data.timeseries, ts)


def test_matlab_v73_time_by_region_needs_no_orientation(ts, tmp_path, write_mat_v73):
    path = write_mat_v73(tmp_path / "run.mat", ts=ts)
    np.testing.assert_array_equal(load_timeseries(path, t_r=0.72).timeseries, ts)


def test_matlab_several_matrices_need_a_key(rng, tmp_path, write_mat_v73):
    raw, clean = rng.standard_normal((50, 4)), rng.standard_normal((50, 4))
    scipy.io.savemat(tmp_path / "v5.mat", {"raw": raw, "clean": clean, "TR": 2.0})
    write_mat_v73(tmp_path / "v73.mat", raw=raw, clean=clean, TR=2.0)
    for name in ("v5.mat", "v73.mat"):
        with pytest.raises(
            InvalidParameterError,
            # every variable is listed with its MATLAB shape and class (in any order)
            match=r"subject 's01', run '2', file '.*\.mat': 'key' must name one of the "
            r"variables of the file, which holds 2 numeric matrices .* among: "
            r"(?=.*raw \(50 x 4 double\))(?=.*clean \(50 x 4 double\))"
            r"(?=.*TR \(1 x 1 double\)).*; got None",
        ):
            load_timeseries(tmp_path / name, t_r=2.0, subject="s01", run="2")
        run_data = load_timeseries(tmp_path / name, t_r=2.0, key="clean")
        np.testing.assert_array_equal(run_data.timeseries, clean)
        with pytest.raises(
            InvalidParameterError, match=r"'key' must be one of \[.*'raw'.*\].*got 'ts'"
        ):
            load_timeseries(tmp_path / name, t_r=2.0, key="ts")


def test_matlab_non_numeric_variable(tmp_path, write_mat_v73):
    scipy.io.savemat(tmp_path / "v5.mat", {"names": np.array(["a", "b"])})
    with pytest.raises(DataError, match=r"variable 'names' is a MATLAB char, not a numeric"):
        load_timeseries(tmp_path / "v5.mat", t_r=1.0, key="names")
    write_mat_v73(tmp_path / "v73.mat", atlas="Schaefer100")
    with pytest.raises(DataError, match=r"variable 'atlas' is a MATLAB char, not a real"):
        load_timeseries(tmp_path / "v73.mat", t_r=1.0)


def test_matlab_complex_variable_rejected(rng, tmp_path):
    scipy.io.savemat(tmp_path / "run.mat", {"ts": rng.standard_normal((20, 3)) * (1 + 1j)})
    with pytest.raises(DataError, match=r"variable 'ts' must be real-valued numbers; got dtype"):
        load_timeseries(tmp_path / "run.mat", t_r=1.0)


def test_hdf5_dataset_path(ts, tmp_path):
    with h5py.File(tmp_path / "run.h5", "w") as handle:
        handle.create_dataset("sub-01/rest/ts", data=ts)
        handle.create_dataset("sub-01/rest/confounds", data=ts[:, :6])
    with pytest.raises(
        InvalidParameterError,
        match=r"'key' must name one of the datasets.*2 numeric matrices.*"
        r"sub-01/rest/confounds \(1200 x 6 float64\), sub-01/rest/ts \(1200 x 100 float64\)",
    ):
        load_timeseries(tmp_path / "run.h5", t_r=0.72)
    run_data = load_timeseries(tmp_path / "run.h5", t_r=0.72, key="sub-01/rest/ts")
    np.testing.assert_array_equal(run_data.timeseries, ts)


def test_parquet_columns_are_regions(ts, tmp_path):
    names = [f"7Networks_LH_Vis_{i}" for i in range(1, 51)] + [
        f"7Networks_RH_Default_PFC_{i}" for i in range(1, 51)
    ]
    pd.DataFrame(ts, columns=names).to_parquet(tmp_path / "run.parquet")
    run_data = load_timeseries(tmp_path / "run.parquet", t_r=0.72)
    np.testing.assert_array_equal(run_data.timeseries, ts)
    assert list(run_data.regions["name"]) == names
    assert run_data.regions["network"].value_counts().to_dict() == {"Vis": 50, "Default": 50}


def test_parquet_non_numeric_column(rng, tmp_path):
    frame = pd.DataFrame(rng.standard_normal((10, 3)), columns=["a", "b", "c"])
    frame["b"] = frame["b"].astype(str)
    frame.to_parquet(tmp_path / "run.parquet")
    with pytest.raises(DataError, match=r"1 column\(s\) are not real numbers: 'b' \("):
        load_timeseries(tmp_path / "run.parquet", t_r=1.0)


def test_unsupported_extension_lists_formats(rng, tmp_path):
    (tmp_path / "run.xlsx").write_bytes(b"PK\x03\x04 not a table")
    with pytest.raises(
        DataError,
        match=r"file '.*run\.xlsx': unsupported time series file type '\.xlsx'; supported: "
        r"text tables \.tsv, \.csv, \.txt, \.1d \(optionally \.gz\) and arrays \.npy, \.npz, "
        r"\.mat, \.h5, \.hdf5, \.parquet",
    ):
        load_timeseries(tmp_path / "run.xlsx", t_r=1.0)
    (tmp_path / "run.dtseries.nii").write_bytes(b"\x00" * 600)
    with pytest.raises(DataError, match=r"'\.dtseries\.nii'.*load_cifti_timeseries"):
        load_timeseries(tmp_path / "run.dtseries.nii", t_r=1.0)
    # a text table with another extension is read once the delimiter is named
    values = rng.standard_normal((12, 3))
    np.savetxt(tmp_path / "run.dat", values, delimiter=";")
    with pytest.raises(DataError, match=r"unsupported time series file type '\.dat'"):
        load_timeseries(tmp_path / "run.dat", t_r=1.0)
    run_data = load_timeseries(tmp_path / "run.dat", t_r=1.0, delimiter=";")
    np.testing.assert_array_equal(
        run_data.timeseries, np.loadtxt(tmp_path / "run.dat", delimiter=";")
    )


def test_text_options_rejected_for_arrays(ts, tmp_path):
    np.save(tmp_path / "run.npy", ts)
    with pytest.raises(
        InvalidParameterError,
        match=r"'delimiter' applies to text tables .*got ',' for '.*run\.npy'",
    ):
        load_timeseries(tmp_path / "run.npy", t_r=1.0, delimiter=",")
    with pytest.raises(InvalidParameterError, match=r"'header' applies to text tables .*got True"):
        load_timeseries(tmp_path / "run.npy", t_r=1.0, header=True)
    with pytest.raises(
        InvalidParameterError, match=r"'key' applies to files holding several arrays .* \.npy"
    ):
        load_timeseries(tmp_path / "run.npy", t_r=1.0, key="ts")
    pd.DataFrame(ts[:, :3], columns=["a", "b", "c"]).to_parquet(tmp_path / "run.parquet")
    with pytest.raises(InvalidParameterError, match=r"got 'ts' for a \.parquet file"):
        load_timeseries(tmp_path / "run.parquet", t_r=1.0, key="ts")
