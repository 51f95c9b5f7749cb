"""CIFTI-2 parcellation checked against Connectome Workbench's ``-cifti-parcellate``.

Inputs and the ``*.ptseries.nii`` outputs of ``wb_command -cifti-parcellate`` (Connectome
Workbench 1.5.0, method MEAN) are stored in ``tests/data/wb_reference``; its README.md
gives the commands and how the inputs were built.
"""

from contextlib import ExitStack
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from brainctrl.exceptions import DataError
from brainctrl.io import load_cifti_timeseries
from brainctrl.io.cifti import parcellate_cifti

REFERENCE = Path(__file__).parents[1] / "data" / "wb_reference"
DTSERIES = REFERENCE / "run.dtseries.nii"

# Label-table entries without grayordinates in each label file. wb_command 1.5.0 keeps
# them as parcels filled with 0 (its default; -legacy-mode drops them); brainctrl drops
# them with a warning.
EMPTY = {
    "same": ["7Networks_LH_DorsAttn_Post_1"],
    "reordered": ["7Networks_LH_DorsAttn_Post_1"],
    "fullsurface": ["7Networks_LH_DorsAttn_Post_1", "CAUDATE_RIGHT", "THALAMUS_LEFT"],
    "missing": ["7Networks_LH_DorsAttn_Post_1", "CAUDATE_RIGHT", "THALAMUS_LEFT"],
}

# wb writes float32; brainctrl averages in float64. 1e-7 relative is about one float32
# unit in the last place at these magnitudes (~1e4).
RTOL = 1e-7


def read_wb(name):
    image = nib.load(REFERENCE / f"{name}.ptseries.nii")
    series, parcels = (image.header.get_axis(i) for i in range(2))
    return series, parcels, np.asarray(image.dataobj, dtype=np.float64)


def load(case):
    """Run brainctrl on one label file, expecting the warnings that case must give."""
    with ExitStack() as stack:
        stack.enter_context(pytest.warns(UserWarning, match="have no grayordinates"))
        if case == "missing":
            stack.enter_context(
                pytest.warns(UserWarning, match=r"6 labelled grayordinate\(s\) .* missing")
            )
        return load_cifti_timeseries(DTSERIES, REFERENCE / f"{case}.dlabel.nii")


def parcel_members(parcels, index):
    """Set of (structure, vertex or voxel) of one parcel of a wb ParcelsAxis."""
    members = {
        (str(structure), int(vertex))
        for structure, vertices in parcels.vertices[index].items()
        for vertex in vertices
    }
    members |= {("volume", tuple(int(i) for i in voxel)) for voxel in parcels.voxels[index]}
    return members


@pytest.mark.parametrize(
    ("case", "wb_output"),
    [
        ("same", "same"),
        ("reordered", "reordered"),
        ("fullsurface", "fullsurface"),
        ("same", "same.legacy"),
        ("reordered", "reordered.legacy"),
        ("fullsurface", "fullsurface.legacy"),
        ("missing", "missing.legacy"),
    ],
)
def test_parcel_means_match_wb_command(case, wb_output):
    run_data = load(case)
    series, parcels, wb_values = read_wb(wb_output)
    wb_names = [str(name) for name in parcels.name]
    legacy = wb_output.endswith("legacy")
    expected_empty = [] if legacy else EMPTY[case]
    assert [name for name in wb_names if name not in run_data.regions["name"].tolist()] == (
        expected_empty
    )
    for name in expected_empty:
        assert np.all(wb_values[:, wb_names.index(name)] == 0.0)
    # Both order parcels by label key, so the non-empty parcels come in the same order.
    kept = [index for index, name in enumerate(wb_names) if name not in expected_empty]
    assert run_data.regions["name"].tolist() == [wb_names[index] for index in kept]
    np.testing.assert_allclose(run_data.timeseries, wb_values[:, kept], rtol=RTOL, atol=0)
    wb_sizes = [len(parcel_members(parcels, index)) for index in kept]
    assert run_data.regions["n_grayordinates"].tolist() == wb_sizes
    assert series.unit == "SECOND"
    assert run_data.t_r == pytest.approx(series.step, rel=1e-7)
    assert run_data.t_r == pytest.approx(0.72, rel=1e-7)
    assert run_data.timeseries.shape[0] == series.size == 30


@pytest.mark.parametrize(
    ("case", "wb_output"),
    [
        ("same", "same.legacy"),
        ("reordered", "reordered.legacy"),
        ("fullsurface", "fullsurface.legacy"),
        ("missing", "missing.legacy"),
    ],
)
def test_grayordinate_assignment_matches_wb_parcels(case, wb_output):
    series_image = nib.load(DTSERIES)
    label_image = nib.load(REFERENCE / f"{case}.dlabel.nii")
    series_axis = series_image.header.get_axis(1)
    label_axis, label_grayordinates = (label_image.header.get_axis(i) for i in range(2))
    values = np.asarray(label_image.dataobj[0]).astype(np.int64)
    assignment, _ = parcellate_cifti(series_axis, label_grayordinates, values)
    table = label_axis.label[0]
    _, parcels, _ = read_wb(wb_output)
    for index, name in enumerate(parcels.name):
        key = next(key for key, (label, _) in table.items() if label == name)
        members = set()
        for row in np.flatnonzero(assignment == key):
            if series_axis.volume_mask[row]:
                members.add(("volume", tuple(int(i) for i in series_axis.voxel[row])))
            else:
                members.add((str(series_axis.name[row]), int(series_axis.vertex[row])))
        assert members == parcel_members(parcels, index), name


def test_other_mesh_rejected_as_by_wb_command():
    # wb_command: "mismatch in number of surface vertices between data and dlabel for
    # structure CORTEX_LEFT" (exit 255, also with -legacy-mode).
    with pytest.raises(DataError, match=r"surface meshes .*CORTEX_LEFT \(48 vs 40 vertices\)"):
        load_cifti_timeseries(DTSERIES, REFERENCE / "othermesh.dlabel.nii")


def test_other_voxel_grid_rejected_as_by_wb_command():
    # wb_command: "input cifti files must have the same volume space" (exit 255).
    with pytest.raises(
        DataError,
        match=r"voxel grids of the time series and label file differ \(same shape .*, "
        r"different affine; origin",
    ):
        load_cifti_timeseries(DTSERIES, REFERENCE / "shifted.dlabel.nii")
