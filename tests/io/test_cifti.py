"""Tests of brainctrl.io.load_cifti_timeseries on CIFTI-2 files written with nibabel."""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
from nibabel import cifti2
from nibabel.nifti1 import Nifti1Extension

from brainctrl.exceptions import DataError, MissingDataError
from brainctrl.io import load_cifti_timeseries

AFFINE = np.diag([2.0, 2.0, 2.0, 1.0])
VOLUME_SHAPE = (4, 4, 3)

LABEL_TABLE = {
    0: ("???", (0.0, 0.0, 0.0, 0.0)),
    1: ("7Networks_LH_Vis_1", (1.0, 0.0, 0.0, 1.0)),
    2: ("7Networks_LH_Default_PFC_1", (0.0, 1.0, 0.0, 1.0)),
    5: ("7Networks_RH_Cont_Par_1", (0.0, 0.0, 1.0, 1.0)),
    7: ("7Networks_RH_SomMot_2", (1.0, 1.0, 0.0, 1.0)),
    9: ("Thalamus_L", (0.5, 0.5, 0.5, 1.0)),
}

# Grayordinates of the test dense time series: (structure, index) where index is a vertex
# number for surfaces and an (i, j, k) voxel for volumes.
LEFT_VERTICES = [0, 1, 2, 4, 5, 7, 8, 9]  # 3 and 6 are "medial wall", not in the file
RIGHT_VERTICES = [0, 1, 2, 3, 5, 6]
THALAMUS_VOXELS = [(1, 1, 1), (1, 2, 1), (2, 1, 1), (2, 2, 0)]
PUTAMEN_VOXELS = [(0, 3, 2), (3, 3, 2)]

# The known assignment of grayordinates to label keys (0 = unlabelled).
ASSIGNMENT = {
    **{
        ("CIFTI_STRUCTURE_CORTEX_LEFT", v): key
        for v, key in zip(LEFT_VERTICES, [1, 1, 1, 2, 2, 2, 0, 2])
    },
    **{
        ("CIFTI_STRUCTURE_CORTEX_RIGHT", v): key
        for v, key in zip(RIGHT_VERTICES, [5, 5, 7, 7, 7, 0])
    },
    **{("CIFTI_STRUCTURE_THALAMUS_LEFT", v): 9 for v in THALAMUS_VOXELS},
    **{("CIFTI_STRUCTURE_PUTAMEN_RIGHT", v): 0 for v in PUTAMEN_VOXELS},
}


def _brain_models(
    left=LEFT_VERTICES,
    right=RIGHT_VERTICES,
    thalamus=THALAMUS_VOXELS,
    putamen=PUTAMEN_VOXELS,
    order=("left", "right", "thalamus", "putamen"),
    volume_shape=VOLUME_SHAPE,
):
    pieces = {
        "left": (
            cifti2.BrainModelAxis.from_surface(np.array(left), 10, "cortex_left") if left else None
        ),
        "right": (
            cifti2.BrainModelAxis.from_surface(np.array(right), 8, "cortex_right")
            if right
            else None
        ),
    }
    for key, voxels, name in (
        ("thalamus", thalamus, "thalamus_left"),
        ("putamen", putamen, "putamen_right"),
    ):
        if not voxels:
            pieces[key] = None
            continue
        mask = np.zeros(volume_shape, dtype=bool)
        mask[tuple(np.array(voxels).T)] = True
        axis = cifti2.BrainModelAxis.from_mask(mask, name, affine=AFFINE)
        pieces[key] = axis
    axes = [pieces[key] for key in order if pieces[key] is not None]
    axis = axes[0]
    for other in axes[1:]:
        axis = axis + other
    return axis


def _grayordinates(axis):
    """(structure, vertex or voxel tuple) of every grayordinate, in file order."""
    out = []
    for name, vertex, voxel in zip(axis.name, axis.vertex, axis.voxel):
        out.append((str(name), int(vertex) if vertex >= 0 else tuple(int(v) for v in voxel)))
    return out


def write_dtseries(path, data, axis, step=0.72, unit="SECOND"):
    series = cifti2.SeriesAxis(start=0.0, step=step, size=data.shape[0], unit=unit)
    cifti2.Cifti2Image(data.astype(np.float32), header=(series, axis)).to_filename(path)
    return path


def write_dlabel(path, axis, assignment=ASSIGNMENT, table=LABEL_TABLE):
    values = np.array([[assignment.get(g, 0) for g in _grayordinates(axis)]], dtype=np.float32)
    labels = cifti2.LabelAxis(["parcellation"], [table])
    cifti2.Cifti2Image(values, header=(labels, axis)).to_filename(path)
    return path


def expected_means(data, axis, assignment=ASSIGNMENT):
    """Direct per-parcel mean over the grayordinates each key owns, in float64."""
    grayordinates = _grayordinates(axis)
    keys = sorted({key for key in assignment.values() if key != 0})
    out = np.empty((data.shape[0], len(keys)))
    for column, key in enumerate(keys):
        owned = [i for i, g in enumerate(grayordinates) if assignment.get(g, 0) == key]
        out[:, column] = data[:, owned].astype(np.float64).mean(axis=1)
    return keys, out


@pytest.fixture
def series(rng, tmp_path):
    axis = _brain_models()
    data = (rng.normal(size=(12, axis.size)) * 10 + 100).astype(np.float32)
    path = write_dtseries(tmp_path / "run.dtseries.nii", data, axis)
    return path, data, axis


def test_parcel_means_same_order(series, tmp_path):
    path, data, axis = series
    dlabel = write_dlabel(tmp_path / "atlas.dlabel.nii", axis)
    run_data = load_cifti_timeseries(path, dlabel, subject="100206", run="REST1_LR")
    keys, expected = expected_means(data, axis)
    assert list(run_data.regions["key"]) == keys == [1, 2, 5, 7, 9]
    np.testing.assert_allclose(run_data.timeseries, expected, rtol=1e-12)
    assert list(run_data.regions["name"]) == [LABEL_TABLE[k][0] for k in keys]
    assert list(run_data.regions["network"]) == ["Vis", "Default", "Cont", "SomMot", "unknown"]
    assert list(run_data.regions["n_grayordinates"]) == [3, 4, 2, 3, 4]
    assert run_data.t_r == pytest.approx(0.72)
    assert run_data.subject == "100206" and run_data.run == "REST1_LR"


def test_block_averaging_equals_direct_mean(series, tmp_path, monkeypatch):
    import brainctrl.io.cifti as cifti_module

    path, data, axis = series
    dlabel = write_dlabel(tmp_path / "atlas.dlabel.nii", axis)
    monkeypatch.setattr(cifti_module, "_BLOCK_VALUES", 3 * data.shape[0])  # 3 columns a block
    run_data = load_cifti_timeseries(path, dlabel)
    _, expected = expected_means(data, axis)
    np.testing.assert_allclose(run_data.timeseries, expected, rtol=1e-12)


def test_dlabel_in_another_order_matches_by_index(series, tmp_path):
    path, data, axis = series
    # Different structure order, permuted vertices and voxels: position matching would fail.
    permuted = _brain_models(
        left=LEFT_VERTICES[::-1],
        right=[5, 3, 0, 6, 2, 1],
        order=("putamen", "right", "thalamus", "left"),
    )
    assert _grayordinates(permuted) != _grayordinates(axis)
    dlabel = write_dlabel(tmp_path / "permuted.dlabel.nii", permuted)
    run_data = load_cifti_timeseries(path, dlabel)
    _, expected = expected_means(data, axis)
    np.testing.assert_allclose(run_data.timeseries, expected, rtol=1e-12)


def test_cortex_only_dlabel(series, tmp_path):
    path, data, axis = series
    cortex = _brain_models(thalamus=None, putamen=None)
    table = {k: v for k, v in LABEL_TABLE.items() if k != 9}
    dlabel = write_dlabel(tmp_path / "cortex.dlabel.nii", cortex, table=table)
    run_data = load_cifti_timeseries(path, dlabel)
    cortex_assignment = {g: k for g, k in ASSIGNMENT.items() if k != 9}
    keys, expected = expected_means(data, axis, cortex_assignment)
    assert keys == [1, 2, 5, 7]
    np.testing.assert_allclose(run_data.timeseries, expected, rtol=1e-12)
    # every subcortical voxel and unlabelled vertex is left unassigned
    assert run_data.metadata["n_unassigned_grayordinates"] == axis.size - 12


@pytest.mark.slow
def test_hcp_grayordinate_sizes(rng, tmp_path):
    """Real HCP sizes: 29,696 + 29,716 cortex vertices of 32,492 and 31,870 voxels."""
    left = np.sort(rng.choice(32492, 29696, replace=False))
    right = np.sort(rng.choice(32492, 29716, replace=False))
    mask = np.zeros((91, 109, 91), dtype=bool)
    mask.ravel()[np.sort(rng.choice(mask.size, 31870, replace=False))] = True
    cortex = cifti2.BrainModelAxis.from_surface(left, 32492, "cortex_left") + (
        cifti2.BrainModelAxis.from_surface(right, 32492, "cortex_right")
    )
    axis = cortex + cifti2.BrainModelAxis.from_mask(mask, "accumbens_left", affine=AFFINE)
    assert axis.size == 91282 and cortex.size == 59412
    data = rng.normal(size=(3, axis.size)).astype(np.float32)
    write_dtseries(tmp_path / "hcp.dtseries.nii", data, axis)
    keys_cortex = rng.integers(0, 41, size=cortex.size)  # 40 parcels + unlabelled
    table = {0: ("???", (0, 0, 0, 0))}
    table.update({k: (f"7Networks_LH_Default_PFC_{k}", (1, 0, 0, 1)) for k in range(1, 41)})
    labels = cifti2.LabelAxis(["parcellation"], [table])
    cifti2.Cifti2Image(
        keys_cortex[np.newaxis].astype(np.float32), header=(labels, cortex)
    ).to_filename(tmp_path / "cortex.dlabel.nii")
    run_data = load_cifti_timeseries(tmp_path / "hcp.dtseries.nii", tmp_path / "cortex.dlabel.nii")
    cortex_data = data[:, : cortex.size].astype(np.float64)
    expected = np.stack(
        [cortex_data[:, keys_cortex == k].mean(axis=1) for k in range(1, 41)], axis=1
    )
    np.testing.assert_allclose(run_data.timeseries, expected, rtol=1e-10)
    assert set(run_data.regions["network"]) == {"Default"}


def test_regions_table_supplies_networks(series, tmp_path):
    path, data, axis = series
    dlabel = write_dlabel(tmp_path / "atlas.dlabel.nii", axis)
    table = pd.DataFrame(
        {
            "label_value": [9, 7, 5, 2, 1],
            "name": ["t", "s", "c", "d", "v"],
            "network": ["Subcortex", "SomMot", "Cont", "Default", "Vis"],
        }
    )
    run_data = load_cifti_timeseries(path, dlabel, regions=table)
    assert list(run_data.regions["name"]) == ["v", "d", "c", "s", "t"]
    assert list(run_data.regions["network"]) == ["Vis", "Default", "Cont", "SomMot", "Subcortex"]
    with pytest.raises(DataError, match=r"atlas\.dlabel\.nii.*does not match the label file"):
        load_cifti_timeseries(path, dlabel, regions=["a", "b"])


def test_labelled_vertices_missing_from_series_warn(rng, tmp_path):
    full = _brain_models()
    dlabel = write_dlabel(tmp_path / "atlas.dlabel.nii", full)
    partial = _brain_models(left=[0, 1, 4, 5, 7, 8, 9])  # vertex 2 (key 1) absent
    data = rng.normal(size=(6, partial.size)).astype(np.float32)
    path = write_dtseries(tmp_path / "partial.dtseries.nii", data, partial)
    with pytest.warns(
        UserWarning,
        match=r"1 labelled grayordinate\(s\).*missing from.*"
        r"'7Networks_LH_Vis_1' lacks 33\.3%",
    ):
        run_data = load_cifti_timeseries(path, dlabel)
    _, expected = expected_means(data, partial)
    np.testing.assert_allclose(run_data.timeseries, expected, rtol=1e-12)
    assert run_data.metadata["n_missing_labelled_grayordinates"] == 1


def test_parcel_absent_from_series_is_an_error(rng, tmp_path):
    dlabel = write_dlabel(tmp_path / "atlas.dlabel.nii", _brain_models())
    no_thalamus = _brain_models(thalamus=None)
    path = write_dtseries(
        tmp_path / "run.dtseries.nii", rng.normal(size=(5, no_thalamus.size)), no_thalamus
    )
    with pytest.raises(
        DataError,
        match=r"1 parcel\(s\).*no grayordinates in the time series.*"
        r"Thalamus_L.*do not match",
    ):
        load_cifti_timeseries(path, dlabel, subject="s1")


def test_no_common_grayordinates(rng, tmp_path):
    left_only = _brain_models(right=None, thalamus=None, putamen=None)
    right_only = _brain_models(left=None, thalamus=None, putamen=None)
    path = write_dtseries(
        tmp_path / "left.dtseries.nii", rng.normal(size=(5, left_only.size)), left_only
    )
    dlabel = write_dlabel(tmp_path / "right.dlabel.nii", right_only)
    with pytest.raises(
        DataError,
        match=r"left\.dtseries\.nii.*no grayordinates in common.*"
        r"right\.dlabel\.nii",
    ):
        load_cifti_timeseries(path, dlabel)


def test_different_voxel_grids(series, tmp_path):
    path, _, _ = series
    other = _brain_models(volume_shape=(5, 5, 5))
    dlabel = write_dlabel(tmp_path / "grid.dlabel.nii", other)
    with pytest.raises(
        DataError, match=r"voxel grids .* differ \(shape \(4, 4, 3\) vs \(5, 5, 5\)"
    ):
        load_cifti_timeseries(path, dlabel)


def test_nan_grayordinate_names_parcel(series, tmp_path):
    path, data, axis = series
    data = data.copy()
    index = _grayordinates(axis).index(("CIFTI_STRUCTURE_CORTEX_RIGHT", 1))  # key 5
    data[4, index] = np.nan
    nan_path = write_dtseries(tmp_path / "nan.dtseries.nii", data, axis)
    dlabel = write_dlabel(tmp_path / "atlas.dlabel.nii", axis)
    with pytest.raises(
        DataError,
        match=r"subject '100206', run 'REST1_LR', file '.*nan\."
        r"dtseries\.nii'.*non-finite.*'7Networks_RH_Cont_Par_1'",
    ):
        load_cifti_timeseries(nan_path, dlabel, subject="100206", run="REST1_LR")


def test_constant_parcel(series, tmp_path):
    path, data, axis = series
    data = data.copy()
    grayordinates = _grayordinates(axis)
    for g, key in ASSIGNMENT.items():
        if key == 9:
            data[:, grayordinates.index(g)] = 3.0
    const_path = write_dtseries(tmp_path / "const.dtseries.nii", data, axis)
    dlabel = write_dlabel(tmp_path / "atlas.dlabel.nii", axis)
    with pytest.raises(DataError, match=r"const\.dtseries\.nii.*1 constant region.*Thalamus_L"):
        load_cifti_timeseries(const_path, dlabel)


def test_too_few_frames(series, tmp_path):
    path, _, axis = series
    dlabel = write_dlabel(tmp_path / "atlas.dlabel.nii", axis)
    with pytest.raises(DataError, match=r"run\.dtseries\.nii.*at least 100 timepoints"):
        load_cifti_timeseries(path, dlabel, min_timepoints=100)


def test_series_unit_and_t_r_override(rng, tmp_path):
    axis = _brain_models()
    data = rng.normal(size=(5, axis.size))
    dlabel = write_dlabel(tmp_path / "atlas.dlabel.nii", axis)
    hertz = write_dtseries(tmp_path / "hz.dtseries.nii", data, axis, unit="HERTZ")
    with pytest.raises(DataError, match=r"hz\.dtseries\.nii.*unit is 'HERTZ', not seconds"):
        load_cifti_timeseries(hertz, dlabel)
    assert load_cifti_timeseries(hertz, dlabel, t_r=0.8).t_r == 0.8
    seconds = write_dtseries(tmp_path / "s.dtseries.nii", data, axis, step=2.0)
    with pytest.warns(UserWarning, match=r"t_r=0\.8 overrides the series step 2\.0"):
        load_cifti_timeseries(seconds, dlabel, t_r=0.8)
    millis = write_dtseries(tmp_path / "ms.dtseries.nii", data, axis, step=720.0)
    with pytest.warns(
        UserWarning, match=r"series step .* is 720\.0 s; it may be stored in milliseconds"
    ):
        load_cifti_timeseries(millis, dlabel)


def test_cifti1_file_rejected(series, tmp_path):
    _, _, axis = series
    image = nib.Nifti2Image(np.zeros((1, 1, 1, 1, 4, 5), np.float32), np.eye(4))
    image.header.set_intent(3002)
    xml = (
        b'<?xml version="1.0"?><CIFTI Version="1.0" NumberOfMatrices="1"><Matrix></Matrix></CIFTI>'
    )
    image.header.extensions.append(Nifti1Extension(32, xml))
    image.to_filename(tmp_path / "old.dtseries.nii")
    dlabel = write_dlabel(tmp_path / "atlas.dlabel.nii", axis)
    with pytest.raises(DataError, match=r"old\.dtseries\.nii.*not a CIFTI-2 file.*version 1\.0"):
        load_cifti_timeseries(tmp_path / "old.dtseries.nii", dlabel)


def test_plain_nifti_rejected(series, tmp_path):
    path, _, _ = series
    nib.Nifti1Image(np.zeros((2, 2, 2), np.int16), np.eye(4)).to_filename(tmp_path / "a.nii")
    with pytest.raises(DataError, match=r"a\.nii.*label file is not a CIFTI-2 file.*Nifti1Image"):
        load_cifti_timeseries(path, tmp_path / "a.nii")


def test_swapped_files_rejected(series, tmp_path):
    path, _, axis = series
    dlabel = write_dlabel(tmp_path / "atlas.dlabel.nii", axis)
    with pytest.raises(
        DataError,
        match=r"dense time series must have axes \(SeriesAxis, "
        r"BrainModelAxis\); got \('LabelAxis'",
    ):
        load_cifti_timeseries(dlabel, path)


def test_missing_files(series, tmp_path):
    path, _, _ = series
    with pytest.raises(MissingDataError, match=r"subject 'x'.*nope\.dlabel\.nii.*label file does"):
        load_cifti_timeseries(path, tmp_path / "nope.dlabel.nii", subject="x")


def test_label_value_not_in_table(series, tmp_path):
    path, _, axis = series
    assignment = dict(ASSIGNMENT)
    assignment[("CIFTI_STRUCTURE_CORTEX_LEFT", 8)] = 42
    dlabel = write_dlabel(tmp_path / "bad.dlabel.nii", axis, assignment=assignment)
    with pytest.raises(DataError, match=r"bad\.dlabel\.nii.*label values \[42\] are not in"):
        load_cifti_timeseries(path, dlabel)


def test_unused_label_warns(series, tmp_path):
    path, data, axis = series
    table = {**LABEL_TABLE, 11: ("7Networks_LH_Limbic_1", (1, 1, 1, 1))}
    dlabel = write_dlabel(tmp_path / "extra.dlabel.nii", axis, table=table)
    with pytest.warns(UserWarning, match=r"1 label\(s\).*no grayordinates.*Limbic_1"):
        run_data = load_cifti_timeseries(path, dlabel)
    assert list(run_data.regions["key"]) == [1, 2, 5, 7, 9]


def test_label_map_selection(series, tmp_path):
    path, data, axis = series
    values = np.array(
        [
            [ASSIGNMENT.get(g, 0) for g in _grayordinates(axis)],
            [1 if ASSIGNMENT.get(g, 0) else 0 for g in _grayordinates(axis)],
        ],
        dtype=np.float32,
    )
    labels = cifti2.LabelAxis(
        ["fine", "coarse"], [LABEL_TABLE, {0: ("???", (0, 0, 0, 0)), 1: ("brain", (1, 1, 1, 1))}]
    )
    cifti2.Cifti2Image(values, header=(labels, axis)).to_filename(tmp_path / "two.dlabel.nii")
    run_data = load_cifti_timeseries(path, tmp_path / "two.dlabel.nii", label_map="coarse")
    owned = [i for i, g in enumerate(_grayordinates(axis)) if ASSIGNMENT.get(g, 0)]
    np.testing.assert_allclose(
        run_data.timeseries[:, 0], data[:, owned].astype(np.float64).mean(axis=1), rtol=1e-12
    )
    with pytest.raises(DataError, match=r"'label_map' must be one of \['fine', 'coarse'\]"):
        load_cifti_timeseries(path, tmp_path / "two.dlabel.nii", label_map="medium")
    with pytest.raises(DataError, match=r"'label_map' must be in \[0, 2\); got 5"):
        load_cifti_timeseries(path, tmp_path / "two.dlabel.nii", label_map=5)
