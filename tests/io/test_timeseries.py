"""Tests of brainctrl.io.load_timeseries on the real sample and on small written files."""

import gzip
import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest

from brainctrl.exceptions import DataError, InvalidParameterError, MissingDataError
from brainctrl.io import RunData, load_timeseries
from brainctrl.io._tables import network_from_label, read_region_table

# Number of parcels per Yeo-7 network in the Schaefer (2018) 100-parcel, 7-network atlas
# (both hemispheres), from the atlas's published label table.
SCHAEFER100_NETWORK_COUNTS = {
    "Vis": 17,
    "SomMot": 14,
    "DorsAttn": 15,
    "SalVentAttn": 12,
    "Limbic": 5,
    "Cont": 13,
    "Default": 24,
}


def _raw_rows(path):
    return [line.split("\t") for line in path.read_text().splitlines()]


def test_real_sample_values_match_file_text(sample_dir):
    run_data = load_timeseries(
        sample_dir / "timeseries.tsv",
        regions=sample_dir / "rois.tsv",
        confounds=sample_dir / "confounds.tsv",
        subject="rest01",
    )
    assert isinstance(run_data, RunData)
    rows = _raw_rows(sample_dir / "timeseries.tsv")
    # header of parcel numbers, then 150 frames of 100 parcels
    assert rows[0][:3] == ["1", "2", "3"]
    assert run_data.timeseries.shape == (len(rows) - 1, len(rows[0])) == (150, 100)
    assert run_data.timeseries[0, 0] == 1373.781773  # first cell of the file's body
    assert run_data.timeseries[0, 0] == float(rows[1][0])
    assert run_data.timeseries[149, 99] == float(rows[150][99])
    assert run_data.timeseries[73, 41] == float(rows[74][41])
    # TR from the JSON sidecar
    assert (
        run_data.t_r == json.loads((sample_dir / "timeseries.json").read_text())["RepetitionTime"]
    )
    assert run_data.t_r == 2.0
    assert run_data.metadata["sidecar"].endswith("timeseries.json")


def test_real_sample_regions_and_networks(sample_dir):
    run_data = load_timeseries(sample_dir / "timeseries.tsv", regions=sample_dir / "rois.tsv")
    regions = run_data.regions
    assert regions["name"].iloc[0] == "7Networks_LH_Vis_1"
    assert list(regions["key"]) == list(range(1, 101))
    assert regions["network"].value_counts().to_dict() == SCHAEFER100_NETWORK_COUNTS
    # the network column agrees with the network encoded in the Schaefer label names
    parsed = [network_from_label(name) for name in regions["name"]]
    assert parsed == list(regions["network"])
    rois = _raw_rows(sample_dir / "rois.tsv")
    assert regions["x"].iloc[1] == float(rois[2][4])


def test_real_sample_confounds_na_is_nan(sample_dir):
    run_data = load_timeseries(
        sample_dir / "timeseries.tsv", confounds=sample_dir / "confounds.tsv"
    )
    confounds = run_data.confounds
    rows = _raw_rows(sample_dir / "confounds.tsv")
    assert list(confounds.columns) == rows[0]
    assert rows[1][rows[0].index("framewise_displacement")] == "n/a"
    assert np.isnan(confounds["framewise_displacement"].iloc[0])
    assert confounds["csf"].iloc[0] == 1994.1045
    assert confounds["framewise_displacement"].iloc[1] == float(rows[2][12])
    assert confounds.shape == (150, 15)


def test_header_labels_reorder_region_table(sample_dir, tmp_path):
    raw = pd.read_csv(sample_dir / "timeseries.tsv", sep="\t")
    order = [5, 0, 99, 42] + [i for i in range(100) if i not in (5, 0, 99, 42)]
    shuffled = raw.iloc[:, order]
    shuffled.to_csv(tmp_path / "shuffled.tsv", sep="\t", index=False)
    run_data = load_timeseries(tmp_path / "shuffled.tsv", t_r=2, regions=sample_dir / "rois.tsv")
    rois = pd.read_csv(sample_dir / "rois.tsv", sep="\t")
    # column j holds parcel number order[j] + 1, whose name comes from rois.tsv
    for column, parcel_index in enumerate(order[:4]):
        assert run_data.regions["name"].iloc[column] == rois["name"].iloc[parcel_index]
        np.testing.assert_array_equal(
            run_data.timeseries[:, column], raw.iloc[:, parcel_index].to_numpy()
        )


def test_headerless_tsv_with_region_list(rng, tmp_path):
    values = rng.normal(size=(20, 4))
    np.savetxt(tmp_path / "run.tsv", values, delimiter="\t")
    names = ["7Networks_LH_Vis_1", "7Networks_RH_Default_PFC_2", "a", "b"]
    run_data = load_timeseries(tmp_path / "run.tsv", t_r=0.72, regions=names)
    np.testing.assert_allclose(run_data.timeseries, values, rtol=1e-15)
    assert list(run_data.regions["network"]) == ["Vis", "Default", "unknown", "unknown"]


def test_csv_with_names_header(rng, tmp_path):
    values = rng.normal(size=(10, 3))
    frame = pd.DataFrame(values, columns=["L_V1_ROI", "17Networks_LH_DefaultB_PFCd_1", "x"])
    frame.to_csv(tmp_path / "run.csv", index=False)
    run_data = load_timeseries(tmp_path / "run.csv", t_r=1.0)
    assert list(run_data.regions["name"]) == list(frame.columns)
    assert list(run_data.regions["network"]) == ["unknown", "Default", "unknown"]
    np.testing.assert_allclose(run_data.timeseries, values, rtol=1e-15)


def test_csv_written_with_pandas_index(rng, tmp_path):
    values = rng.normal(size=(10, 3))
    pd.DataFrame(values, columns=["a", "b", "c"]).to_csv(tmp_path / "run.csv")
    run_data = load_timeseries(tmp_path / "run.csv", t_r=1.0)
    np.testing.assert_allclose(run_data.timeseries, values, rtol=1e-15)
    assert list(run_data.regions["name"]) == ["a", "b", "c"]


def test_integer_header_over_integer_body(tmp_path):
    body = np.array([[3, 9, 4], [7, 1, 5], [2, 8, 6], [5, 5, 1]])
    text = "1\t2\t3\n" + "\n".join("\t".join(str(v) for v in row) for row in body)
    (tmp_path / "run.tsv").write_text(text + "\n")
    run_data = load_timeseries(tmp_path / "run.tsv", t_r=1.0)
    np.testing.assert_array_equal(run_data.timeseries, body)
    assert list(run_data.regions["name"]) == ["1", "2", "3"]


def test_region_by_time_transposed_when_asked(rng, tmp_path):
    values = rng.normal(size=(30, 5))  # time by region
    np.savetxt(tmp_path / "run.tsv", values.T, delimiter="\t")
    run_data = load_timeseries(tmp_path / "run.tsv", t_r=1.0, orientation="region_by_time")
    np.testing.assert_allclose(run_data.timeseries, values, rtol=1e-15)
    assert run_data.metadata["orientation"] == "region_by_time"


def test_region_by_time_with_row_names(rng, tmp_path):
    values = rng.normal(size=(30, 3))
    frame = pd.DataFrame(values.T, index=["r1", "r2", "r3"])
    frame.to_csv(tmp_path / "run.tsv", sep="\t", header=False)
    with pytest.raises(DataError, match="looks regions-by-time.*orientation='region_by_time'"):
        load_timeseries(tmp_path / "run.tsv", t_r=1.0)
    run_data = load_timeseries(tmp_path / "run.tsv", t_r=1.0, orientation="region_by_time")
    assert list(run_data.regions["name"]) == ["r1", "r2", "r3"]
    np.testing.assert_allclose(run_data.timeseries, values, rtol=1e-15)


def test_wrong_orientation_rejected_when_unambiguous(sample_dir, tmp_path):
    raw = np.loadtxt(sample_dir / "timeseries.tsv", skiprows=1)
    np.savetxt(tmp_path / "transposed.tsv", raw.T, delimiter="\t")
    with pytest.raises(
        DataError, match=r"transposed\.tsv.*looks regions-by-time \(100 rows x 150 columns"
    ):
        load_timeseries(tmp_path / "transposed.tsv", t_r=2, regions=sample_dir / "rois.tsv")


def test_square_table_is_ambiguous(rng, tmp_path):
    np.savetxt(tmp_path / "square.tsv", rng.normal(size=(6, 6)), delimiter="\t")
    with pytest.raises(DataError, match=r"cannot tell which axis is time \(6 rows x 6 columns"):
        load_timeseries(tmp_path / "square.tsv", t_r=1.0, regions=[f"r{i}" for i in range(6)])


def test_fewer_rows_than_columns_without_regions_is_ambiguous(rng, tmp_path):
    np.savetxt(tmp_path / "wide.tsv", rng.normal(size=(4, 9)), delimiter="\t")
    with pytest.raises(DataError, match="cannot tell which axis is time.*orientation="):
        load_timeseries(tmp_path / "wide.tsv", t_r=1.0)
    run_data = load_timeseries(tmp_path / "wide.tsv", t_r=1.0, orientation="time_by_region")
    assert run_data.timeseries.shape == (4, 9)


def test_region_table_length_matches_neither_axis(rng, tmp_path):
    np.savetxt(tmp_path / "run.tsv", rng.normal(size=(20, 4)), delimiter="\t")
    with pytest.raises(DataError, match="region table has 3 rows but the data have 20 rows"):
        load_timeseries(tmp_path / "run.tsv", t_r=1.0, regions=["a", "b", "c"])


def test_header_not_matching_region_table(sample_dir, tmp_path):
    frame = pd.DataFrame(np.arange(12.0).reshape(4, 3) ** 1.5, columns=["p", "q", "r"])
    frame.to_csv(tmp_path / "run.tsv", sep="\t", index=False)
    with pytest.raises(DataError, match=r"run\.tsv.*do not match the region table"):
        load_timeseries(tmp_path / "run.tsv", t_r=1.0, regions=["p", "q", "zz"])


def test_npy_and_npz(rng, tmp_path):
    values = rng.normal(size=(12, 4))
    np.save(tmp_path / "run.npy", values)
    np.testing.assert_array_equal(
        load_timeseries(tmp_path / "run.npy", t_r=1.0).timeseries, values
    )
    np.savez(tmp_path / "one.npz", data=values)
    np.testing.assert_array_equal(
        load_timeseries(tmp_path / "one.npz", t_r=1.0).timeseries, values
    )
    np.savez(tmp_path / "two.npz", data=values, other=values[:, :2])
    with pytest.raises(InvalidParameterError, match=r"'key' must name one of the arrays"):
        load_timeseries(tmp_path / "two.npz", t_r=1.0)
    run_data = load_timeseries(tmp_path / "two.npz", t_r=1.0, key="other")
    np.testing.assert_array_equal(run_data.timeseries, values[:, :2])
    with pytest.raises(InvalidParameterError, match=r"'key' must be one of \['data', 'other'\]"):
        load_timeseries(tmp_path / "two.npz", t_r=1.0, key="nope")


def test_npy_object_array_rejected(tmp_path):
    np.save(tmp_path / "objects.npy", np.array([[1, "a"]], dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match=r"objects\.npy.*without pickle"):
        load_timeseries(tmp_path / "objects.npy", t_r=1.0)


def test_npy_wrong_dimensions(tmp_path):
    np.save(tmp_path / "vector.npy", np.arange(5.0))
    with pytest.raises(DataError, match=r"must be 2-dimensional.*got shape \(5,\)"):
        load_timeseries(tmp_path / "vector.npy", t_r=1.0)


def test_nan_value_names_file_subject_run_and_region(sample_dir, tmp_path):
    lines = (sample_dir / "timeseries.tsv").read_text().splitlines()
    cells = lines[10].split("\t")
    cells[3] = "n/a"
    lines[10] = "\t".join(cells)
    (tmp_path / "nan.tsv").write_text("\n".join(lines) + "\n")
    with pytest.raises(
        DataError,
        match=r"subject 'rest01', run '1', file '.*nan\.tsv': timeseries contains 1 non-finite"
        r".*index \(9, 3\).*'7Networks_LH_Vis_4'",
    ):
        load_timeseries(
            tmp_path / "nan.tsv",
            t_r=2,
            regions=sample_dir / "rois.tsv",
            subject="rest01",
            run="1",
        )


def test_constant_region(rng, tmp_path):
    values = rng.normal(size=(20, 3))
    values[:, 1] = 4.0
    np.savetxt(tmp_path / "run.tsv", values, delimiter="\t")
    with pytest.raises(DataError, match=r"run\.tsv.*1 constant region.*'b'"):
        load_timeseries(tmp_path / "run.tsv", t_r=1.0, regions=["a", "b", "c"])
    run_data = load_timeseries(tmp_path / "run.tsv", t_r=1.0, allow_constant=True)
    assert run_data.timeseries[0, 1] == 4.0


def test_fewer_frames_than_needed(sample_dir):
    with pytest.raises(
        DataError, match=r"timeseries\.tsv.*at least 200 timepoints.*got shape \(150, 100\)"
    ):
        load_timeseries(sample_dir / "timeseries.tsv", min_timepoints=200)


def test_missing_file(tmp_path):
    with pytest.raises(
        MissingDataError, match=r"subject '7', file '.*absent\.tsv'.*does not exist"
    ):
        load_timeseries(tmp_path / "absent.tsv", t_r=1.0, subject=7)


def test_missing_region_table(sample_dir, tmp_path):
    with pytest.raises(MissingDataError, match=r"region table does not exist"):
        load_timeseries(sample_dir / "timeseries.tsv", regions=tmp_path / "nope.tsv")


def test_non_numeric_cell(tmp_path):
    (tmp_path / "run.tsv").write_text("a\tb\n1.5\t2.5\n3.5\tfoo\n4.5\t1.0\n")
    with pytest.raises(DataError, match=r"non-numeric value 'foo' at line 3, column 2"):
        load_timeseries(tmp_path / "run.tsv", t_r=1.0)


def test_t_r_required_without_sidecar(rng, tmp_path):
    np.savetxt(tmp_path / "run.tsv", rng.normal(size=(5, 2)), delimiter="\t")
    with pytest.raises(InvalidParameterError, match="'t_r' is required"):
        load_timeseries(tmp_path / "run.tsv")
    with pytest.raises(InvalidParameterError, match="'t_r' must be > 0; got -1"):
        load_timeseries(tmp_path / "run.tsv", t_r=-1)


def test_bad_sidecar(sample_dir, tmp_path):
    shutil.copy(sample_dir / "timeseries.tsv", tmp_path / "timeseries.tsv")
    (tmp_path / "timeseries.json").write_text('{"RepetitionTime": "two"}')
    with pytest.raises(DataError, match=r"timeseries\.json.*'RepetitionTime' must be a number"):
        load_timeseries(tmp_path / "timeseries.tsv")
    (tmp_path / "timeseries.json").write_text("{not json")
    with pytest.raises(DataError, match="JSON sidecar is not readable JSON"):
        load_timeseries(tmp_path / "timeseries.tsv")


def test_confounds_length_mismatch(sample_dir, tmp_path):
    lines = (sample_dir / "confounds.tsv").read_text().splitlines()
    (tmp_path / "short.tsv").write_text("\n".join(lines[:100]) + "\n")
    with pytest.raises(DataError, match=r"short\.tsv.*confounds have 99 rows.*150 timepoints"):
        load_timeseries(sample_dir / "timeseries.tsv", confounds=tmp_path / "short.tsv")


def test_bad_orientation_option(sample_dir):
    with pytest.raises(InvalidParameterError, match="'orientation' must be one of"):
        load_timeseries(sample_dir / "timeseries.tsv", orientation="rows")


def test_region_table_aliases_and_errors(tmp_path):
    (tmp_path / "a.csv").write_text("index,Label,Yeo7\n3,left,Vis\n1,right,n/a\n")
    table = read_region_table(tmp_path / "a.csv")
    assert list(table["name"]) == ["left", "right"]
    assert list(table["network"]) == ["Vis", "unknown"]
    assert list(table["key"]) == [3, 1]
    (tmp_path / "b.tsv").write_text("x\ty\n1.5\t2\n")
    with pytest.raises(DataError, match=r"b\.tsv.*needs a name column"):
        read_region_table(tmp_path / "b.tsv")
    (tmp_path / "c.tsv").write_text("name\tnetwork\nA\tVis\nA\tVis\n")
    with pytest.raises(DataError, match=r"duplicate region names \['A'\]"):
        read_region_table(tmp_path / "c.tsv")
    (tmp_path / "d.txt").write_text("7Networks_LH_Cont_Par_1\nother\n")
    assert list(read_region_table(tmp_path / "d.txt")["network"]) == ["Cont", "unknown"]
    # Schaefer's lookup-table text format: key, name, colour
    (tmp_path / "lut.txt").write_text(
        "1\t7Networks_LH_Vis_1\t120\t18\t134\t0\n2\t7Networks_LH_Limbic_OFC_1\t220\t248\t164\t0\n"
    )
    lut = read_region_table(tmp_path / "lut.txt")
    assert list(lut["key"]) == [1, 2]
    assert list(lut["network"]) == ["Vis", "Limbic"]


def test_header_option(tmp_path):
    (tmp_path / "run.tsv").write_text("1\t2\n3.5\t4.5\n5.5\t7.5\n8.5\t1.5\n")
    assert load_timeseries(tmp_path / "run.tsv", t_r=1.0).timeseries.shape == (3, 2)
    forced = load_timeseries(tmp_path / "run.tsv", t_r=1.0, header=False)
    np.testing.assert_array_equal(forced.timeseries[0], [1.0, 2.0])
    assert forced.timeseries.shape == (4, 2)
    with pytest.raises(InvalidParameterError, match=r"'header' must be one of .*got 'yes'"):
        load_timeseries(tmp_path / "run.tsv", t_r=1.0, header="yes")
    with pytest.raises(
        InvalidParameterError,
        match=r"'key' applies to files holding several arrays \('\.npz', '\.mat'.*got 'data' "
        r"for the text table '.*run\.tsv'",
    ):
        load_timeseries(tmp_path / "run.tsv", t_r=1.0, key="data")


def _write_rows(path, rows, separator="\t"):
    path.write_text("\n".join(separator.join(row) for row in rows) + "\n")


@pytest.mark.parametrize("token", ["1.2.3", "abc"])
def test_one_bad_cell_in_first_column_is_not_row_labels(rng, tmp_path, token):
    values = rng.standard_normal((150, 8))
    rows = [[f"{v:.6f}" for v in row] for row in values]
    rows[41][0] = token
    _write_rows(tmp_path / "run.tsv", rows)
    # Reading the column as row labels would leave a 150 x 7 table with labelled rows,
    # and the advice would then be to transpose a time-by-region run.
    with pytest.raises(
        DataError,
        match=rf"subject 's1', file '.*run\.tsv': non-numeric value '{re.escape(token)}' at "
        r"line 42, column 1 \(1 non-numeric cell\(s\) in all\)\. The first column has 1 "
        r"non-numeric cell\(s\) of 150, too few to be row labels",
    ) as caught:
        load_timeseries(tmp_path / "run.tsv", t_r=1.0, subject="s1")
    assert "region_by_time" not in str(caught.value)
    # the same with a header of region names
    _write_rows(tmp_path / "named.tsv", [[f"r{i}" for i in range(8)], *rows])
    with pytest.raises(DataError, match=rf"'{re.escape(token)}' at line 43, column 1 "):
        load_timeseries(tmp_path / "named.tsv", t_r=1.0)


def test_bad_cell_in_a_later_column_after_row_labels(rng, tmp_path):
    values = rng.standard_normal((5, 40))
    rows = [[f"r{i}"] + [f"{v:.4f}" for v in row] for i, row in enumerate(values)]
    rows[2][7] = "1.2.3"
    _write_rows(tmp_path / "run.tsv", rows)
    with pytest.raises(DataError, match=r"non-numeric value '1\.2\.3' at line 3, column 8 "):
        load_timeseries(tmp_path / "run.tsv", t_r=1.0, orientation="region_by_time")


def test_label_column_of_region_names_is_row_labels(rng, tmp_path):
    values = rng.standard_normal((120, 10))  # time by region, stored region by time
    names = [f"7Networks_LH_Default_Temp_{i}" for i in range(1, 11)]
    rows = [[name] + [f"{v:.17g}" for v in column] for name, column in zip(names, values.T)]
    _write_rows(tmp_path / "run.csv", rows, ",")
    with pytest.raises(
        DataError,
        match=r"looks regions-by-time \(10 rows x 120 columns; the rows are labelled "
        r"\('7Networks_LH_Default_Temp_1', '7Networks_LH_Default_Temp_2', "
        r"'7Networks_LH_Default_Temp_3', …\) and the columns are not, and there are fewer rows "
        r"than columns\).*If the row labels are region names, pass "
        r"orientation='region_by_time'.*if they are timepoints, pass "
        r"orientation='time_by_region'",
    ):
        load_timeseries(tmp_path / "run.csv", t_r=1.0)
    run_data = load_timeseries(tmp_path / "run.csv", t_r=1.0, orientation="region_by_time")
    np.testing.assert_array_equal(run_data.timeseries, values)
    assert list(run_data.regions["name"]) == names
    assert set(run_data.regions["network"]) == {"Default"}


def test_labelled_rows_with_more_rows_than_columns_are_ambiguous(rng, tmp_path):
    values = rng.standard_normal((30, 4))
    rows = [[f"TR{i:03d}"] + [f"{v:.17g}" for v in row] for i, row in enumerate(values)]
    _write_rows(tmp_path / "run.tsv", rows)
    with pytest.raises(
        DataError,
        match=r"cannot tell which axis is time \(30 rows x 4 columns; the rows are labelled "
        r"\('TR000', 'TR001', 'TR002', …\) and the columns are not, but there are more rows "
        r"than columns\)\. Pass orientation='time_by_region' if each row is a timepoint",
    ):
        load_timeseries(tmp_path / "run.tsv", t_r=1.0)
    run_data = load_timeseries(tmp_path / "run.tsv", t_r=1.0, orientation="time_by_region")
    np.testing.assert_array_equal(run_data.timeseries, values)


def test_region_table_matching_both_axes_is_ambiguous(rng, tmp_path):
    np.savetxt(tmp_path / "square.tsv", rng.normal(size=(6, 6)), delimiter="\t")
    with pytest.raises(
        DataError,
        match=r"\(6 rows x 6 columns; the region table has 6 rows, which fits both\)\. Pass "
        r"orientation='time_by_region' if each row is a timepoint, or "
        r"orientation='region_by_time' if each row is a region",
    ):
        load_timeseries(tmp_path / "square.tsv", t_r=1.0, regions=[f"r{i}" for i in range(6)])


@pytest.mark.parametrize(
    ("name", "separator", "delimiter"),
    [
        ("run.txt", ";", ";"),
        ("run.txt", ",", "comma"),
        ("run.csv", "\t", "tab"),
        ("run.tsv", " ", "whitespace"),
        ("run.txt", "|", "|"),
    ],
)
def test_delimiter_option(rng, tmp_path, name, separator, delimiter):
    values = rng.standard_normal((25, 5))
    _write_rows(tmp_path / name, [[f"{v:.17g}" for v in row] for row in values], separator)
    run_data = load_timeseries(tmp_path / name, t_r=1.0, delimiter=delimiter)
    np.testing.assert_array_equal(run_data.timeseries, values)


def test_wrong_delimiter_is_hinted(rng, tmp_path):
    values = rng.standard_normal((25, 5))
    _write_rows(tmp_path / "run.txt", [[f"{v:.6f}" for v in row] for row in values], ";")
    with pytest.raises(
        DataError,
        match=r"non-numeric value '.*;.*…' at line 1, column 1 .*The cell holds a semicolon: "
        r"if that separates the columns, pass delimiter=';'",
    ):
        load_timeseries(tmp_path / "run.txt", t_r=1.0, header=False)


@pytest.mark.parametrize("delimiter", ["x", "7", "", ";;", '"', 3])
def test_bad_delimiter_value(tmp_path, sample_dir, delimiter):
    with pytest.raises(
        InvalidParameterError,
        match=rf"'delimiter' must be one of \('tab', 'comma', 'whitespace'\) or a single "
        rf"separator character .*got {re.escape(repr(delimiter))}\.",
    ):
        load_timeseries(sample_dir / "timeseries.tsv", delimiter=delimiter)


def test_r_write_table_layout(rng, tmp_path):
    # R's write.table: quoted names, a header without a label over the row names
    values = rng.standard_normal((20, 3))
    lines = ['"a" "b" "c"'] + [
        f'"{i + 1}" ' + " ".join(f"{v:.17g}" for v in row) for i, row in enumerate(values)
    ]
    (tmp_path / "run.txt").write_text("\n".join(lines) + "\n")
    run_data = load_timeseries(tmp_path / "run.txt", t_r=1.0)
    np.testing.assert_array_equal(run_data.timeseries, values)
    assert list(run_data.regions["name"]) == ["a", "b", "c"]


def test_trailing_separator_on_every_line(rng, tmp_path):
    values = rng.standard_normal((20, 3))
    lines = ["\t".join(f"{v:.17g}" for v in row) + "\t" for row in values]
    (tmp_path / "run.tsv").write_text("\n".join(lines) + "\n")
    run_data = load_timeseries(tmp_path / "run.tsv", t_r=1.0)
    np.testing.assert_array_equal(run_data.timeseries, values)


def test_gzipped_tsv_and_blank_lines(rng, tmp_path):
    values = rng.standard_normal((20, 3))
    text = "a\tb\tc\n\n" + "\n".join("\t".join(f"{v:.17g}" for v in row) for row in values)
    with gzip.open(tmp_path / "run.tsv.gz", "wt") as handle:
        handle.write(text + "\n\n")
    run_data = load_timeseries(tmp_path / "run.tsv.gz", t_r=1.0)
    np.testing.assert_array_equal(run_data.timeseries, values)
    # line numbers count the blank line
    lines = text.splitlines()
    lines[5] = lines[5].replace(lines[5].split("\t")[1], "x1")
    (tmp_path / "bad.tsv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"non-numeric value 'x1' at line 6, column 2"):
        load_timeseries(tmp_path / "bad.tsv", t_r=1.0)


def test_wide_table_with_positional_header_is_ambiguous(rng, tmp_path):
    # pandas writes the columns 0 … n-1 of a regions-by-time frame as the header
    values = rng.standard_normal((6, 40))
    pd.DataFrame(values).to_csv(tmp_path / "run.csv", index=False)
    with pytest.raises(
        DataError,
        match=r"cannot tell which axis is time \(6 rows x 40 columns; the column labels are "
        r"the numbers 0 … 39 and no region table",
    ):
        load_timeseries(tmp_path / "run.csv", t_r=1.0)
    run_data = load_timeseries(tmp_path / "run.csv", t_r=1.0, orientation="region_by_time")
    np.testing.assert_array_equal(run_data.timeseries, values.T)


@pytest.mark.parametrize("line_end", ["\r\n", "\r"])
def test_windows_and_old_mac_line_ends(rng, tmp_path, line_end):
    values = rng.standard_normal((15, 3))
    for name, separator in (("run.txt", " "), ("run.csv", ",")):
        lines = [separator.join(f"{v:.17g}" for v in row) for row in values]
        (tmp_path / name).write_bytes((line_end.join(lines) + line_end).encode())
        np.testing.assert_array_equal(load_timeseries(tmp_path / name, t_r=1.0).timeseries, values)


def test_bad_cell_in_first_line_is_not_a_header(rng, tmp_path):
    values = rng.standard_normal((30, 6))
    rows = [[f"{v:.6f}" for v in row] for row in values]
    rows[0][2] = "1.2.3"
    _write_rows(tmp_path / "run.tsv", rows)
    with pytest.raises(DataError, match=r"non-numeric value '1\.2\.3' at line 1, column 3 "):
        load_timeseries(tmp_path / "run.tsv", t_r=1.0)
    # a header with one name among integer labels (parcel keys) is still a header
    _write_rows(tmp_path / "keys.tsv", [["global", "1", "2", "3", "4", "5"], *rows[1:]])
    run_data = load_timeseries(tmp_path / "keys.tsv", t_r=1.0)
    assert list(run_data.regions["name"]) == ["global", "1", "2", "3", "4", "5"]
    expected = [[float(cell) for cell in row] for row in rows[1:]]
    np.testing.assert_array_equal(run_data.timeseries, expected)
