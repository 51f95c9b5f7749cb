"""Find the runs of HCP-style and fMRIPrep (BIDS derivatives) datasets on disk."""

import logging
import re
from pathlib import Path

import pandas as pd

from brainctrl.exceptions import InvalidParameterError, MissingDataError

__all__ = ["HCP_VARIANTS", "find_fmriprep_runs", "find_hcp_runs", "parse_bids_name"]

logger = logging.getLogger(__name__)

#: File-name endings of HCP resting-state CIFTI files, most preferred first:
#: ICA-FIX cleaned MSMAll (the S1200 release's standard), its later re-cleaned
#: versions, ICA-FIX cleaned MSMSulc, then minimally preprocessed (not FIX-cleaned).
HCP_VARIANTS = (
    "Atlas_MSMAll_hp2000_clean.dtseries.nii",
    "Atlas_MSMAll_hp2000_clean_rclean_tclean.dtseries.nii",
    "Atlas_MSMAll_hp2000_clean_rclean.dtseries.nii",
    "Atlas_MSMAll_hp0_clean_rclean_tclean.dtseries.nii",
    "Atlas_MSMAll_hp0_clean.dtseries.nii",
    "Atlas_hp2000_clean.dtseries.nii",
    "Atlas_hp2000_clean_rclean_tclean.dtseries.nii",
    "Atlas_MSMAll.dtseries.nii",
    "Atlas.dtseries.nii",
)

_HCP_COLUMNS = ["subject", "session", "run", "path", "variant"]
_FMRIPREP_COLUMNS = [
    "subject",
    "session",
    "task",
    "run",
    "space",
    "path",
    "confounds",
    "entities",
]


def _as_id_list(name, values):
    if values is None:
        return None
    if isinstance(values, (str, int)):
        values = [values]
    return [str(value) for value in values]


def hcp_run_path(root, subject, run, variants=HCP_VARIANTS):
    """Best existing HCP CIFTI file of one run, or None.

    Parameters
    ----------
    root : path-like
        Folder holding one folder per subject.
    subject : str
        Subject ID, e.g. ``'100206'``.
    run : str
        Run name without the ``rfMRI_`` prefix, e.g. ``'REST1_LR'``.
    variants : sequence of str
        File-name endings in order of preference.

    Returns
    -------
    path : pathlib.Path or None
    variant : str or None
    """
    folder = Path(root) / str(subject) / "MNINonLinear" / "Results" / f"rfMRI_{run}"
    for variant in variants:
        candidate = folder / f"rfMRI_{run}_{variant}"
        if candidate.is_file():
            return candidate, variant
    return None, None


def find_hcp_runs(root, subjects=None, runs=None, *, variants=HCP_VARIANTS):
    """List the resting-state runs of an HCP-style dataset.

    Looks for ``{subject}/MNINonLinear/Results/rfMRI_{run}/rfMRI_{run}_{variant}``
    where ``run`` is e.g. ``REST1_LR`` and ``variant`` one of ``variants``; when a
    run has several variants, the first in ``variants`` wins.

    Parameters
    ----------
    root : str or path-like
        Folder with one sub-folder per subject (e.g. the HCP S1200 release).
    subjects : sequence of str, optional
        Subject IDs to include (strings, e.g. ``'100206'``); default: all folders.
    runs : sequence of str, optional
        Runs to include (e.g. ``['REST1_LR', 'REST1_RL']``); default: every
        ``rfMRI_REST*`` folder found.
    variants : sequence of str, default=HCP_VARIANTS
        File-name endings in order of preference (see :data:`HCP_VARIANTS`).

    Returns
    -------
    runs : pandas.DataFrame
        One row per run found, with columns ``subject`` (str), ``session`` (None),
        ``run`` (e.g. ``'REST1_LR'``), ``path`` and ``variant``, sorted by subject and run.

    Raises
    ------
    MissingDataError
        If ``root`` is not a folder.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> folder = root / "100206/MNINonLinear/Results/rfMRI_REST1_LR"
    >>> folder.mkdir(parents=True)
    >>> (folder / "rfMRI_REST1_LR_Atlas_MSMAll_hp2000_clean.dtseries.nii").touch()
    >>> find_hcp_runs(root)[["subject", "run", "variant"]].to_dict("records")
    [{'subject': '100206', 'run': 'REST1_LR', 'variant': 'Atlas_MSMAll_hp2000_clean.dtseries.nii'}]
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise MissingDataError("HCP dataset root folder does not exist.", path=root)
    if isinstance(variants, str):
        variants = (variants,)
    if not variants:
        raise InvalidParameterError(
            f"'variants' must name at least one file ending; got {variants!r}."
        )
    subjects = _as_id_list("subjects", subjects)
    runs = _as_id_list("runs", runs)
    if subjects is None:
        subjects = sorted(
            child.name for child in root.iterdir() if (child / "MNINonLinear" / "Results").is_dir()
        )
    records = []
    for subject in subjects:
        results = root / subject / "MNINonLinear" / "Results"
        if runs is None:
            subject_runs = sorted(
                child.name.removeprefix("rfMRI_")
                for child in results.glob("rfMRI_REST*")
                if child.is_dir()
            )
        else:
            subject_runs = runs
        for run in subject_runs:
            path, variant = hcp_run_path(root, subject, run, variants)
            if path is None:
                logger.debug("no CIFTI file for subject %s run %s under %s", subject, run, root)
                continue
            records.append(
                {
                    "subject": subject,
                    "session": None,
                    "run": run,
                    "path": str(path),
                    "variant": variant,
                }
            )
    return pd.DataFrame(records, columns=_HCP_COLUMNS, dtype=object)


_ENTITY = re.compile(r"^([a-zA-Z]+)-([a-zA-Z0-9+]+)$")


def parse_bids_name(name):
    """Split a BIDS file name into its entities, suffix and extension.

    Examples
    --------
    >>> entities, suffix, extension = parse_bids_name("sub-01_task-rest_run-2_bold.nii.gz")
    >>> entities, suffix, extension
    ({'sub': '01', 'task': 'rest', 'run': '2'}, 'bold', '.nii.gz')
    """
    name = Path(name).name
    stem, dot, extension = name.partition(".")
    parts = stem.split("_")
    entities = {}
    suffix = None
    for index, part in enumerate(parts):
        match = _ENTITY.match(part)
        if match:
            entities[match.group(1)] = match.group(2)
        elif index == len(parts) - 1:
            suffix = part
        else:
            return None, None, None
    return entities, suffix, dot + extension


def _confounds_for(path, entities):
    """Find the confounds file of a BOLD file: new name first, then the pre-20.2 name."""
    keep = [
        key
        for key in ("sub", "ses", "task", "acq", "ce", "rec", "dir", "run", "echo")
        if key in entities
    ]
    stem = "_".join(f"{key}-{entities[key]}" for key in keep)
    for suffix in ("timeseries", "regressors"):
        candidate = path.parent / f"{stem}_desc-confounds_{suffix}.tsv"
        if candidate.is_file():
            return str(candidate)
    return None


def find_fmriprep_runs(
    derivatives_dir,
    *,
    space="MNI152NLin2009cAsym",
    task="rest",
    subjects=None,
    sessions=None,
    runs=None,
    density="91k",
):
    """List the preprocessed BOLD runs of an fMRIPrep derivatives folder.

    Volumetric runs are ``*_space-<space>[_res-*]_desc-preproc_bold.nii.gz``; with
    ``space='fsLR'`` the CIFTI runs ``*_space-fsLR_den-<density>_bold.dtseries.nii``
    are listed instead. The confounds file of each run is
    ``*_desc-confounds_timeseries.tsv`` (fMRIPrep >= 20.2) or
    ``*_desc-confounds_regressors.tsv`` (older versions).

    Parameters
    ----------
    derivatives_dir : str or path-like
        The fMRIPrep output folder (holding ``sub-*`` folders).
    space : str, default='MNI152NLin2009cAsym'
        Output space; ``'fsLR'`` selects CIFTI grayordinates.
    task : str or None, default='rest'
        BIDS task label; None keeps every task.
    subjects, sessions, runs : sequence of str, optional
        Labels to keep (without the ``sub-``/``ses-``/``run-`` prefixes).
    density : str, default='91k'
        CIFTI density (``den-`` entity) when ``space='fsLR'``.

    Returns
    -------
    runs : pandas.DataFrame
        Columns ``subject``, ``session``, ``task``, ``run`` (str or None), ``space``,
        ``path``, ``confounds`` (path or None) and ``entities`` (dict of every entity),
        sorted by subject, session, task and run.

    Raises
    ------
    MissingDataError
        If ``derivatives_dir`` is not a folder.
    """
    root = Path(derivatives_dir).expanduser()
    if not root.is_dir():
        raise MissingDataError("fMRIPrep derivatives folder does not exist.", path=root)
    subjects = _as_id_list("subjects", subjects)
    sessions = _as_id_list("sessions", sessions)
    runs = _as_id_list("runs", runs)
    cifti = space.lower() == "fslr"
    pattern = "*_bold.dtseries.nii" if cifti else "*_desc-preproc_bold.nii.gz"
    records = []
    for path in sorted(root.glob(f"sub-*/**/func/{pattern}")):
        entities, suffix, _ = parse_bids_name(path.name)
        if entities is None or suffix != "bold" or "sub" not in entities:
            continue
        if entities.get("space") != space:
            continue
        if cifti and entities.get("den") != density:
            continue
        if not cifti and entities.get("desc") != "preproc":
            continue
        if task is not None and entities.get("task") != task:
            continue
        if subjects is not None and entities["sub"] not in subjects:
            continue
        if sessions is not None and entities.get("ses") not in sessions:
            continue
        if runs is not None and entities.get("run") not in runs:
            continue
        records.append(
            {
                "subject": entities["sub"],
                "session": entities.get("ses"),
                "task": entities.get("task"),
                "run": entities.get("run"),
                "space": space,
                "path": str(path),
                "confounds": _confounds_for(path, entities),
                "entities": entities,
            }
        )
    return pd.DataFrame(records, columns=_FMRIPREP_COLUMNS, dtype=object)
