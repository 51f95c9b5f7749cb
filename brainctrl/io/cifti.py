"""Parcel time series from CIFTI-2 dense time series and label files."""

import logging
import warnings

import nibabel as nib
import numpy as np
import pandas as pd
from nibabel import cifti2
from nibabel.spatialimages import HeaderDataError
from scipy import sparse

from brainctrl._utils.validation import check_positive
from brainctrl.exceptions import DataError
from brainctrl.io._rundata import RunData
from brainctrl.io._tables import (
    IMAGE_READ_ERRORS,
    check_image_size,
    check_run_timeseries,
    network_from_label,
    read_confounds,
    read_region_table,
    require_file,
    short_image_note,
)

__all__ = ["load_cifti_timeseries", "parcellate_cifti"]

logger = logging.getLogger(__name__)

# Values (float64) held in memory per block while averaging, about 64 MB.
_BLOCK_VALUES = 8_000_000

_UNLABELLED = ("???", "")


def _load_cifti2(path, *, what, ids):
    path = require_file(path, what=what, **ids)
    try:
        image = nib.load(path)
    except ValueError as exc:
        if "CIFTI-2" in str(exc):
            raise DataError(
                f"{what} is not a CIFTI-2 file ({exc}). Convert CIFTI-1 files with "
                "'wb_command -file-convert -cifti-version-convert <in> 2 <out>'.",
                path=path,
                **ids,
            ) from None
        raise DataError(f"{what} could not be read ({exc}).", path=path, **ids) from None
    except (OSError, EOFError, nib.filebasedimages.ImageFileError) as exc:
        raise DataError(
            f"{what} could not be read ({exc}).{short_image_note(path, 540)}", path=path, **ids
        ) from None
    except HeaderDataError as exc:
        raise DataError(
            f"{what} could not be read: its header is truncated or corrupt ({exc}).",
            path=path,
            **ids,
        ) from None
    if not isinstance(image, cifti2.Cifti2Image):
        raise DataError(
            f"{what} is not a CIFTI-2 file (nibabel reads it as {type(image).__name__}); "
            "expected a CIFTI-2 NIfTI-2 file such as '*.dtseries.nii' / '*.dlabel.nii'.",
            path=path,
            **ids,
        )
    check_image_size(image, path, what, ids)
    return path, image


def _read_block(image, index, path, what, ids):
    """``image.dataobj[index]`` as float64, or a DataError if the data cannot be read."""
    try:
        return np.asarray(image.dataobj[index], dtype=np.float64)
    except IMAGE_READ_ERRORS as exc:
        raise DataError(
            f"{what} data cannot be read: the file is truncated or corrupt "
            f"({type(exc).__name__}: {exc}).",
            path=path,
            **ids,
        ) from None


def _axes(image, path, expected, what, ids):
    axes = [image.header.get_axis(i) for i in range(image.ndim)]
    kinds = tuple(type(axis).__name__ for axis in axes)
    if (
        len(axes) != 2
        or not isinstance(axes[0], expected)
        or not isinstance(axes[1], cifti2.BrainModelAxis)
    ):
        raise DataError(
            f"{what} must have axes ({expected.__name__}, BrainModelAxis); got {kinds}.",
            path=path,
            **ids,
        )
    return axes


def _grayordinate_keys(axis, codes):
    """One int64 per grayordinate: structure code and vertex index or linear voxel index."""
    structure = np.array([codes[name] for name in axis.name], dtype=np.int64)
    index = axis.vertex.astype(np.int64).copy()
    volume = axis.volume_mask
    if volume.any():
        index[volume] = np.ravel_multi_index(tuple(axis.voxel[volume].T), axis.volume_shape)
    return structure << np.int64(40) | index


def _check_same_voxel_grid(series_axis, label_axis, paths, ids):
    if not (series_axis.volume_mask.any() and label_axis.volume_mask.any()):
        return
    same_shape = tuple(series_axis.volume_shape) == tuple(label_axis.volume_shape)
    if not same_shape:
        difference = f"shape {series_axis.volume_shape} vs {label_axis.volume_shape}"
    elif not np.allclose(series_axis.affine, label_axis.affine, atol=1e-4):
        origin = np.asarray(series_axis.affine)[:3, 3].tolist()
        other = np.asarray(label_axis.affine)[:3, 3].tolist()
        difference = (
            f"same shape {series_axis.volume_shape}, different affine; origin {origin} vs {other}"
        )
    else:
        return
    raise DataError(
        f"the voxel grids of the time series and label file differ ({difference}); they "
        f"cannot be matched voxel by voxel. Label file: '{paths[1]}'.",
        path=paths[0],
        **ids,
    )


def _check_same_surfaces(series_axis, label_axis, paths, ids):
    """Vertex numbers only identify the same place on the same mesh."""
    series_meshes = dict(series_axis.nvertices)
    label_meshes = dict(label_axis.nvertices)
    for structure in sorted(set(series_meshes) & set(label_meshes)):
        if int(series_meshes[structure]) != int(label_meshes[structure]):
            raise DataError(
                f"the surface meshes of the time series and label file differ for "
                f"{structure} ({series_meshes[structure]} vs {label_meshes[structure]} "
                f"vertices); vertex numbers cannot be matched. Resample one file onto the "
                f"other's mesh (e.g. 'wb_command -cifti-resample'). Label file: '{paths[1]}'.",
                path=paths[0],
                **ids,
            )


def parcellate_cifti(series_axis, label_axis, label_values, *, paths=("?", "?"), ids=None):
    """Assign every grayordinate of a time series to a parcel of a label file.

    Grayordinates are matched by brain structure and vertex (surface) or voxel
    (volume) index, never by position in the file. Surfaces present in both files must
    have the same number of vertices (the same mesh) and volumes the same voxel grid.

    Parameters
    ----------
    series_axis : nibabel.cifti2.BrainModelAxis
        Grayordinates of the dense time series (n_grayordinates).
    label_axis : nibabel.cifti2.BrainModelAxis
        Grayordinates of the label file (n_label_grayordinates).
    label_values : ndarray of shape (n_label_grayordinates,)
        Integer label key of each label-file grayordinate (0 = unlabelled).
    paths : tuple of str
        The time series and label file names, used in messages.
    ids : dict, optional
        ``subject``/``session``/``run`` used in messages.

    Returns
    -------
    assignment : ndarray of shape (n_grayordinates,)
        Label key of each time series grayordinate, 0 where it is unlabelled or absent
        from the label file.
    missing_per_key : dict
        For each key, the number of its labelled grayordinates that the time series lacks.

    Raises
    ------
    DataError
        If a surface has different numbers of vertices in the two files, the voxel grids
        differ, the label file lists a grayordinate twice, or the files share no
        grayordinates.
    """
    ids = ids or {}
    _check_same_surfaces(series_axis, label_axis, paths, ids)
    _check_same_voxel_grid(series_axis, label_axis, paths, ids)
    structures = sorted(set(series_axis.name) | set(label_axis.name))
    codes = {name: code for code, name in enumerate(structures)}
    series_keys = _grayordinate_keys(series_axis, codes)
    label_keys = _grayordinate_keys(label_axis, codes)
    order = np.argsort(label_keys, kind="stable")
    sorted_keys = label_keys[order]
    if np.any(sorted_keys[1:] == sorted_keys[:-1]):
        raise DataError("label file lists a grayordinate twice.", path=paths[1], **ids)
    position = np.searchsorted(sorted_keys, series_keys)
    position = np.minimum(position, sorted_keys.size - 1)
    found = sorted_keys[position] == series_keys
    if not found.any():
        raise DataError(
            f"the time series and the label file have no grayordinates in common (time "
            f"series structures: {sorted(set(series_axis.name))[:4]}; label file structures: "
            f"{sorted(set(label_axis.name))[:4]}); label file: '{paths[1]}'.",
            path=paths[0],
            **ids,
        )
    assignment = np.zeros(series_keys.size, dtype=np.int64)
    matched_label_rows = order[position[found]]
    assignment[found] = label_values[matched_label_rows]
    covered = np.zeros(label_keys.size, dtype=bool)
    covered[matched_label_rows] = True
    lacking = (~covered) & (label_values != 0)
    missing_keys, missing_counts = np.unique(label_values[lacking], return_counts=True)
    missing_per_key = dict(zip(missing_keys.tolist(), missing_counts.tolist()))
    return assignment, missing_per_key


def _series_t_r(axis, t_r, path, ids):
    unit = str(axis.unit).upper()
    if t_r is not None:
        check_positive("t_r", t_r)
        if unit == "SECOND" and not np.isclose(axis.step, t_r, rtol=1e-4):
            warnings.warn(
                f"t_r={t_r} overrides the series step {axis.step} s stored in '{path}'.",
                UserWarning,
                stacklevel=3,
            )
        return float(t_r)
    scale = {"SECOND": 1.0, "MILLISECOND": 1e-3, "MSEC": 1e-3, "MS": 1e-3}.get(unit)
    if scale is None:
        raise DataError(
            f"the series axis unit is {axis.unit!r}, not seconds; pass t_r= explicitly.",
            path=path,
            **ids,
        )
    step = float(axis.step) * scale
    if not np.isfinite(step) or step <= 0:
        raise DataError(
            f"the series axis step is {axis.step!r} {axis.unit}; expected a positive TR. "
            "Pass t_r= explicitly.",
            path=path,
            **ids,
        )
    if step >= 100:
        warnings.warn(
            f"the series step of '{path}' is {step} s; it may be stored in milliseconds. "
            "Pass t_r= to override.",
            UserWarning,
            stacklevel=3,
        )
    return step


def _label_regions(label_table, keys, regions, label_path, ids):
    names = [label_table[key][0] for key in keys]
    table = pd.DataFrame(
        {
            "name": names,
            "network": [network_from_label(name) for name in names],
            "key": np.asarray(keys, dtype=np.int64),
        }
    )
    if regions is None:
        return table
    given = read_region_table(regions, ids=ids)
    by_name = {name: index for index, name in enumerate(given["name"])}
    if all(name in by_name for name in names):
        rows = [by_name[name] for name in names]
    elif "key" in given.columns and set(keys) <= set(given["key"].tolist()):
        by_key = {int(key): index for index, key in enumerate(given["key"])}
        rows = [by_key[int(key)] for key in keys]
    else:
        unmatched = [name for name in names if name not in by_name][:5]
        raise DataError(
            f"the region table does not match the label file's parcels by name or key "
            f"(e.g. {unmatched}); region table: {given.attrs.get('source') or 'given'}.",
            path=label_path,
            **ids,
        )
    matched = given.iloc[rows].reset_index(drop=True)
    matched["key"] = table["key"].to_numpy()
    return matched


def load_cifti_timeseries(
    dtseries,
    dlabel,
    *,
    regions=None,
    t_r=None,
    confounds=None,
    subject=None,
    session=None,
    run=None,
    label_map=0,
    min_timepoints=3,
    allow_constant=False,
):
    r"""Average a CIFTI-2 dense time series within the parcels of a CIFTI-2 label file.

    Parameters
    ----------
    dtseries : str or path-like
        CIFTI-2 dense time series (``*.dtseries.nii``), e.g. HCP grayordinates
        (91,282 = 29,696 left + 29,716 right cortex vertices + 31,870 subcortical voxels).
    dlabel : str or path-like
        CIFTI-2 label file (``*.dlabel.nii``), on the same grayordinates or a subset
        (e.g. cortex only, 59,412). Label key 0 and the label ``'???'`` are unlabelled.
    regions : path-like or pandas.DataFrame, optional
        Region table matched to the parcels by name or key, e.g. to supply networks.
        Without it, names and keys come from the label table and the Yeo-7 network is
        parsed from Schaefer-style names (``7Networks_LH_Default_PFC_1`` -> ``Default``),
        else ``'unknown'``.
    t_r : float, optional
        Repetition time in seconds; by default the step of the series axis (whose unit
        must be seconds).
    confounds : path-like or pandas.DataFrame, optional
        Nuisance regressors, one row per timepoint.
    subject, session, run : str, optional
        Identifiers stored in the result and used in error messages.
    label_map : int or str, default=0
        Which map of a multi-map label file to use (index or map name).
    min_timepoints : int, default=3
        Fewer frames raise :class:`~brainctrl.exceptions.DataError`.
    allow_constant : bool, default=False
        Accept parcels whose signal is constant.

    Returns
    -------
    run_data : RunData
        ``timeseries`` of shape (n_timepoints, n_parcels), parcels in increasing key
        order; ``regions`` with ``name``, ``network``, ``key`` and ``n_grayordinates``
        (grayordinates averaged per parcel).

    Raises
    ------
    MissingDataError
        If a file does not exist.
    DataError
        If a file is not CIFTI-2 (e.g. CIFTI-1), has unexpected axes, the two files
        are on different surface meshes or voxel grids, share no grayordinates or a
        parcel has none in the time series, or the parcel signals contain NaN, are
        constant or have too few frames.

    Warns
    -----
    UserWarning
        If some labelled grayordinates are missing from the time series (their parcels
        are averaged over the rest), or label-table entries have no grayordinates.

    Notes
    -----
    Each grayordinate is identified by its brain structure and its surface vertex or
    volume voxel index (read from nibabel's ``BrainModelAxis``), so the files may
    list grayordinates in different orders or cover different structures. The parcel
    signal is the mean over the parcel's grayordinates present in the time series,
    :math:`x_p(t) = |P|^{-1} \sum_{g \in P} y_g(t)`, computed as one sparse matrix
    product over blocks of grayordinates in double precision (blocks follow the
    on-disk order, so memory stays bounded and reading stays sequential).

    References
    ----------
    .. [1] Glasser MF et al. (2013). The minimal preprocessing pipelines for the Human
       Connectome Project. NeuroImage 80:105-124.
    """
    check_positive("min_timepoints", min_timepoints, integer=True)
    ids = {"subject": None if subject is None else str(subject), "session": session, "run": run}
    series_path, series_image = _load_cifti2(dtseries, what="dense time series", ids=ids)
    label_path, label_image = _load_cifti2(dlabel, what="label file", ids=ids)
    series_time, series_grayordinates = _axes(
        series_image, series_path, cifti2.SeriesAxis, "dense time series", ids
    )
    label_names_axis, label_grayordinates = _axes(
        label_image, label_path, cifti2.LabelAxis, "label file", ids
    )
    t_r = _series_t_r(series_time, t_r, series_path, ids)

    map_names = [str(name) for name in label_names_axis.name]
    if isinstance(label_map, str):
        if label_map not in map_names:
            raise DataError(
                f"'label_map' must be one of {map_names}; got {label_map!r}.",
                path=label_path,
                **ids,
            )
        map_index = map_names.index(label_map)
    else:
        map_index = int(label_map)
        if not 0 <= map_index < len(map_names):
            raise DataError(
                f"'label_map' must be in [0, {len(map_names)}); got {label_map!r}.",
                path=label_path,
                **ids,
            )
    label_table = label_names_axis.label[map_index]
    raw_values = _read_block(label_image, map_index, label_path, "label file", ids)
    if not np.all(np.isfinite(raw_values)) or np.any(raw_values != np.round(raw_values)):
        raise DataError("label values must be integer keys.", path=label_path, **ids)
    label_values = raw_values.astype(np.int64)
    unlabelled = {key for key, (name, _) in label_table.items() if key == 0 or name in _UNLABELLED}
    label_values[np.isin(label_values, list(unlabelled))] = 0
    unknown = sorted(set(np.unique(label_values).tolist()) - set(label_table) - {0})
    if unknown:
        raise DataError(
            f"label values {unknown[:10]} are not in the label table.", path=label_path, **ids
        )

    assignment, missing_per_key = parcellate_cifti(
        series_grayordinates,
        label_grayordinates,
        label_values,
        paths=(str(series_path), str(label_path)),
        ids=ids,
    )
    used_keys = sorted(set(np.unique(label_values).tolist()) - {0})
    unused = sorted(set(label_table) - unlabelled - set(used_keys))
    if unused:
        warnings.warn(
            f"{len(unused)} label(s) of '{label_path}' have no grayordinates and are left "
            f"out: {[label_table[key][0] for key in unused[:5]]}.",
            UserWarning,
            stacklevel=2,
        )
    keys = np.asarray(used_keys, dtype=np.int64)
    column = np.searchsorted(keys, assignment)
    in_parcel = assignment != 0
    counts = np.bincount(column[in_parcel], minlength=keys.size)
    empty = np.flatnonzero(counts == 0)
    if empty.size:
        names = [label_table[int(keys[i])][0] for i in empty[:5]]
        raise DataError(
            f"{empty.size} parcel(s) of the label file have no grayordinates in the time "
            f"series, e.g. {names}; the files do not match. Label file: '{label_path}'.",
            path=series_path,
            **ids,
        )
    if missing_per_key:
        n_missing = sum(missing_per_key.values())
        worst = max(missing_per_key, key=lambda key: missing_per_key[key])
        fraction = missing_per_key[worst] / (missing_per_key[worst] + counts[keys == worst][0])
        warnings.warn(
            f"{n_missing} labelled grayordinate(s) of '{label_path}' are missing from "
            f"'{series_path}' ({len(missing_per_key)} parcel(s) affected; worst: "
            f"{label_table[worst][0]!r} lacks {fraction:.1%}). Those parcels are averaged "
            "over the grayordinates present.",
            UserWarning,
            stacklevel=2,
        )

    n_grayordinates = assignment.size
    weights = sparse.csr_matrix(
        (
            1.0 / counts[column[in_parcel]],
            (column[in_parcel], np.flatnonzero(in_parcel)),
        ),
        shape=(keys.size, n_grayordinates),
    )
    n_timepoints = series_image.shape[0]
    # CIFTI-2 matrices are stored with the time axis varying fastest, so blocks of
    # grayordinates (all frames) are contiguous on disk; blocks of frames are not.
    timeseries = np.zeros((n_timepoints, keys.size))
    block = max(1, _BLOCK_VALUES // max(n_timepoints, 1))
    for start in range(0, n_grayordinates, block):
        stop = min(start + block, n_grayordinates)
        part = weights[:, start:stop]
        if part.nnz == 0:
            continue
        values = _read_block(
            series_image, (slice(None), slice(start, stop)), series_path, "dense time series", ids
        )
        timeseries += (part @ values.T).T

    region_table = _label_regions(label_table, keys.tolist(), regions, label_path, ids)
    region_table["n_grayordinates"] = counts
    timeseries = check_run_timeseries(
        timeseries,
        regions=region_table,
        path=series_path,
        ids=ids,
        min_timepoints=min_timepoints,
        allow_constant=allow_constant,
    )
    confound_table = None
    if confounds is not None:
        confound_table = read_confounds(confounds, n_timepoints=n_timepoints, ids=ids)
    metadata = {
        "dlabel": str(label_path),
        "label_map": map_names[map_index],
        "n_grayordinates": int(n_grayordinates),
        "n_unassigned_grayordinates": int(np.count_nonzero(~in_parcel)),
        "n_missing_labelled_grayordinates": int(sum(missing_per_key.values())),
        "series_start": float(series_time.start),
        "series_unit": str(series_time.unit),
    }
    return RunData(
        timeseries=timeseries,
        t_r=t_r,
        regions=region_table,
        confounds=confound_table,
        source=str(series_path),
        metadata=metadata,
        **ids,
    )
