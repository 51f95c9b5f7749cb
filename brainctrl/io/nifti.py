"""Parcel time series from volumetric NIfTI images through nilearn."""

import json
import logging
import warnings
import zlib

import nibabel as nib
import nilearn
import numpy as np
import pandas as pd

from brainctrl._utils.validation import check_option, check_positive
from brainctrl.exceptions import DataError, InvalidParameterError, MissingDataError
from brainctrl.io._rundata import RunData
from brainctrl.io._tables import (
    IMAGE_READ_ERRORS,
    check_image_size,
    check_run_timeseries,
    read_confounds,
    read_region_table,
    read_sidecar,
    require_file,
    short_image_note,
)

__all__ = ["CONFOUND_STRATEGIES", "load_nifti_timeseries"]

logger = logging.getLogger(__name__)

#: Denoising strategies of :func:`nilearn.interfaces.fmriprep.load_confounds_strategy`.
CONFOUND_STRATEGIES = ("simple", "scrubbing", "compcor", "ica_aroma")


def _nilearn_no_standardize():
    major, minor = (int(part) for part in nilearn.__version__.split(".")[:2])
    return None if (major, minor) >= (0, 13) else False


def _load_image(path, what, ids):
    try:
        image = nib.load(path)
    except Exception as exc:  # nibabel raises several types for unreadable images
        raise DataError(
            f"{what} could not be read ({exc}).{short_image_note(path)}", path=path, **ids
        ) from None
    check_image_size(image, path, what, ids)
    return image


def _truncated(what, exc, path, ids):
    return DataError(
        f"{what} data cannot be read: the file is truncated or corrupt "
        f"({type(exc).__name__}: {exc}).",
        path=path,
        **ids,
    )


def _image_t_r(image, t_r, path, ids):
    if t_r is not None:
        check_positive("t_r", t_r)
        return float(t_r)
    sidecar = read_sidecar(path, **ids)
    if sidecar is not None and sidecar.get("RepetitionTime") is not None:
        value = sidecar["RepetitionTime"]
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            return float(value)
        raise DataError(
            f"RepetitionTime must be a positive number; got {value!r}.",
            path=sidecar["__path__"],
            **ids,
        )
    zooms = image.header.get_zooms()
    unit = image.header.get_xyzt_units()[1]
    step = float(zooms[3]) if len(zooms) > 3 else 0.0
    scale = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}.get(unit)
    if step <= 0 or scale is None:
        raise DataError(
            f"cannot read the TR: the header's time step is {step} with unit {unit!r} and "
            "there is no JSON sidecar with RepetitionTime; pass t_r= explicitly.",
            path=path,
            **ids,
        )
    return step * scale


def _fmriprep_confounds(bold_path, strategy, options, ids):
    from nilearn.interfaces.fmriprep import load_confounds_strategy

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            confounds, sample_mask = load_confounds_strategy(
                str(bold_path), denoise_strategy=strategy, **options
            )
        except ValueError as exc:
            text = str(exc)
            error = MissingDataError if "Could not find" in text else DataError
            raise error(
                f"fMRIPrep confounds for strategy {strategy!r} could not be loaded: {text}",
                path=bold_path,
                **ids,
            ) from None
    for warning in caught:
        logger.warning("nilearn (confounds of %s): %s", bold_path, warning.message)
    return confounds, sample_mask


def _atlas_regions(region_ids, labels, atlas_keys, atlas_path, ids):
    keys = [
        int(round(float(region_ids[i])))
        for i in sorted(k for k in region_ids if k != "background")
    ]
    if labels is None:
        return pd.DataFrame(
            {"name": [f"label_{key}" for key in keys], "network": "unknown", "key": keys}
        )
    table = read_region_table(labels, ids=ids)
    if "key" in table.columns:
        by_key = {int(key): index for index, key in enumerate(table["key"])}
        missing = [key for key in keys if key not in by_key]
        if missing:
            raise DataError(
                f"atlas labels {missing[:10]} are not in the region table "
                f"({table.attrs.get('source') or 'given'}).",
                path=atlas_path,
                **ids,
            )
        return table.iloc[[by_key[key] for key in keys]].reset_index(drop=True)
    names = list(table["name"])
    if len(names) == len(atlas_keys) + 1:
        names = names[1:]  # a leading background entry, as nilearn atlases list it
    if len(names) != len(atlas_keys):
        raise DataError(
            f"the region table has {len(table)} rows but the atlas has {len(atlas_keys)} "
            "labels; give a table with a key column (e.g. 'label_value') or one name per "
            "label in increasing label order.",
            path=atlas_path,
            **ids,
        )
    rows = [atlas_keys.index(key) for key in keys]
    out = table.iloc[[i + (len(table) - len(atlas_keys)) for i in rows]].reset_index(drop=True)
    out["key"] = keys
    return out


def _extract(masker, bold_image, confound_table, sample_mask, denoise, bold_path, ids):
    if denoise and confound_table is not None:
        if confound_table.isna().any().any():
            raise DataError(
                "confounds contain NaN; pick a strategy (which fills them) or fill them "
                "before denoising.",
                path=bold_path,
                **ids,
            )
        return masker.fit_transform(
            bold_image, confounds=confound_table.to_numpy(), sample_mask=sample_mask
        )
    return masker.fit_transform(bold_image)


def load_nifti_timeseries(
    bold,
    atlas,
    labels=None,
    *,
    confounds=None,
    strategy=None,
    strategy_options=None,
    denoise=False,
    t_r=None,
    mask_img=None,
    subject=None,
    session=None,
    run=None,
    min_timepoints=3,
    allow_constant=False,
):
    """Average a 4-D NIfTI BOLD image within the labels of an atlas image.

    Region means are extracted with :class:`nilearn.maskers.NiftiLabelsMasker`
    (resampling the atlas to the data); fMRIPrep confounds are selected with
    :func:`nilearn.interfaces.fmriprep.load_confounds_strategy`.

    Parameters
    ----------
    bold : str or path-like
        4-D BOLD image (e.g. fMRIPrep ``*_desc-preproc_bold.nii.gz``).
    atlas : str or path-like
        3-D integer label image; 0 is background.
    labels : path-like, pandas.DataFrame or sequence of str, optional
        Region table. With a key column (``label_value``, ``index``, ``key`` …) it is
        matched to the atlas values; otherwise one name per atlas label in increasing
        label order (a leading background entry is skipped).
    confounds : path-like or pandas.DataFrame, optional
        An explicit confounds table (one row per volume). Exclusive with ``strategy``.
    strategy : {'simple', 'scrubbing', 'compcor', 'ica_aroma'}, optional
        Select confounds from the fMRIPrep confounds file next to ``bold``
        (``*_desc-confounds_timeseries.tsv`` or the older
        ``*_desc-confounds_regressors.tsv``, with its JSON sidecar).
    strategy_options : dict, optional
        Extra keyword arguments of ``load_confounds_strategy`` (e.g. ``motion='basic'``).
    denoise : bool, default=False
        If True, regress the confounds out (and drop censored volumes) inside the
        masker; the result then has no ``confounds``. If False, raw region means are
        returned with the confounds and ``metadata['sample_mask']`` for later cleaning.
    t_r : float, optional
        Repetition time in seconds; by default from the JSON sidecar
        (``RepetitionTime``), else from the NIfTI header (unit-checked).
    mask_img : str or path-like, optional
        Brain mask passed to the masker.
    subject, session, run : str, optional
        Identifiers stored in the result and used in error messages.
    min_timepoints : int, default=3
        Fewer frames raise :class:`~brainctrl.exceptions.DataError`.
    allow_constant : bool, default=False
        Accept regions whose signal is constant.

    Returns
    -------
    run_data : RunData
        ``timeseries`` of shape (n_timepoints, n_regions), regions in increasing label
        order with their ``key``.

    Raises
    ------
    MissingDataError
        If an image or the fMRIPrep confounds file is missing.
    DataError
        If an image is not 4-D / 3-D, the region table does not fit the atlas, or the
        region signals contain NaN, are constant or have too few frames.
    """
    from nilearn.maskers import NiftiLabelsMasker

    check_positive("min_timepoints", min_timepoints, integer=True)
    if strategy is not None:
        check_option("strategy", strategy, CONFOUND_STRATEGIES)
        if confounds is not None:
            raise InvalidParameterError(
                f"give either 'confounds' or 'strategy', not both; got strategy={strategy!r} "
                f"and confounds of type {type(confounds).__name__}."
            )
    ids = {"subject": None if subject is None else str(subject), "session": session, "run": run}
    bold_path = require_file(bold, what="BOLD image", **ids)
    atlas_path = require_file(atlas, what="atlas image", **ids)
    bold_image = _load_image(bold_path, "BOLD image", ids)
    atlas_image = _load_image(atlas_path, "atlas image", ids)
    if len(bold_image.shape) != 4:
        raise DataError(
            f"BOLD image must be 4-D; got shape {bold_image.shape}.", path=bold_path, **ids
        )
    if len(atlas_image.shape) != 3:
        raise DataError(
            f"atlas image must be 3-D; got shape {atlas_image.shape}.", path=atlas_path, **ids
        )
    t_r = _image_t_r(bold_image, t_r, bold_path, ids)
    try:
        atlas_values = np.asarray(atlas_image.dataobj)
    except IMAGE_READ_ERRORS as exc:
        raise _truncated("atlas image", exc, atlas_path, ids) from None
    if mask_img is not None:
        mask_path = require_file(mask_img, what="mask image", **ids)
        try:
            np.asarray(_load_image(mask_path, "mask image", ids).dataobj)
        except IMAGE_READ_ERRORS as exc:
            raise _truncated("mask image", exc, mask_path, ids) from None
    if np.any(atlas_values != np.round(atlas_values)):
        raise DataError("atlas values must be integer labels.", path=atlas_path, **ids)
    atlas_keys = sorted(int(key) for key in np.unique(atlas_values) if key != 0)
    if not atlas_keys:
        raise DataError("atlas has no labels (only background 0).", path=atlas_path, **ids)

    n_volumes = bold_image.shape[3]
    sample_mask = None
    confound_table = None
    if strategy is not None:
        confound_table, sample_mask = _fmriprep_confounds(
            bold_path, strategy, dict(strategy_options or {}), ids
        )
    elif confounds is not None:
        confound_table = read_confounds(confounds, n_timepoints=n_volumes, ids=ids)
    if confound_table is not None and len(confound_table) != n_volumes:
        raise DataError(
            f"confounds have {len(confound_table)} rows but the image has {n_volumes} volumes.",
            path=bold_path,
            **ids,
        )

    masker = NiftiLabelsMasker(
        labels_img=str(atlas_path),
        mask_img=None if mask_img is None else str(mask_img),
        standardize=_nilearn_no_standardize(),
        t_r=t_r,
        reports=False,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            timeseries = _extract(
                masker, bold_image, confound_table, sample_mask, denoise, bold_path, ids
            )
        except (OSError, EOFError, zlib.error) as exc:
            # Raised by nibabel while nilearn reads the voxels (a cut .nii.gz stream).
            raise _truncated("BOLD image", exc, bold_path, ids) from None
    for warning in caught:
        if "Non-finite values" in str(warning.message):
            raise DataError(
                "BOLD image contains non-finite values (NaN or inf); they would be averaged "
                "as zeros. Check the preprocessing or mask them out.",
                path=bold_path,
                **ids,
            )
        logger.warning("nilearn (signals of %s): %s", bold_path, warning.message)
    region_table = _atlas_regions(masker.region_ids_, labels, atlas_keys, atlas_path, ids)
    lost = sorted(set(atlas_keys) - set(region_table["key"].tolist()))
    if lost:
        warnings.warn(
            f"{len(lost)} atlas label(s) have no voxels in the data of '{bold_path}' and are "
            f"left out: {lost[:10]}.",
            UserWarning,
            stacklevel=2,
        )
    timeseries = check_run_timeseries(
        timeseries,
        regions=region_table,
        path=bold_path,
        ids=ids,
        min_timepoints=min_timepoints,
        allow_constant=allow_constant,
    )
    metadata = {"atlas": str(atlas_path), "strategy": strategy, "denoised": bool(denoise)}
    if sample_mask is not None:
        metadata["sample_mask"] = np.asarray(sample_mask)
    if denoise and confound_table is not None:
        metadata["confound_columns"] = json.loads(json.dumps(list(confound_table.columns)))
        confound_table = None
    return RunData(
        timeseries=timeseries,
        t_r=t_r,
        regions=region_table,
        confounds=confound_table,
        source=str(bold_path),
        metadata=metadata,
        **ids,
    )
