"""Region time series from delimited text and NumPy files."""

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from brainctrl._utils.validation import check_option, check_positive
from brainctrl.exceptions import DataError, InvalidParameterError
from brainctrl.io._rundata import RunData, default_regions
from brainctrl.io._tables import (
    check_run_timeseries,
    network_from_label,
    read_confounds,
    read_delimited,
    read_region_table,
    read_sidecar,
    require_file,
)

__all__ = ["load_timeseries"]

logger = logging.getLogger(__name__)

_ORIENTATIONS = ("auto", "time_by_region", "region_by_time")


def _read_numpy(path, key, ids):
    try:
        loaded = np.load(path, allow_pickle=False)
    except ValueError as exc:
        raise DataError(
            f"NumPy file could not be read without pickle ({exc}); object arrays are not "
            "accepted.",
            path=path,
            **ids,
        ) from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            names = list(loaded.files)
            if key is None:
                if len(names) != 1:
                    raise InvalidParameterError(
                        f"'key' must name one of the arrays {names} in '{path}'; got None."
                    )
                key = names[0]
            if key not in names:
                raise InvalidParameterError(
                    f"'key' must be one of {names} for '{path}'; got {key!r}."
                )
            array = loaded[key]
    else:
        if key is not None:
            raise InvalidParameterError(f"'key' only applies to .npz files; got {key!r}.")
        array = loaded
    if array.ndim != 2:
        raise DataError(
            f"array must be 2-dimensional (time by region); got shape {array.shape}.",
            path=path,
            **ids,
        )
    if not np.issubdtype(array.dtype, np.number) or np.iscomplexobj(array):
        raise DataError(f"array must be real-valued; got dtype {array.dtype}.", path=path, **ids)
    return np.asarray(array, dtype=float)


def _match_labels(labels, table):
    """Row indices of ``table`` for each label (by name, else by integer key), or None."""
    by_name = {name: index for index, name in enumerate(table["name"])}
    if all(label in by_name for label in labels):
        return [by_name[label] for label in labels]
    if "key" in table.columns:
        by_key = {int(key): index for index, key in enumerate(table["key"])}
        try:
            keys = [int(float(label)) for label in labels]
        except ValueError:
            return None
        if all(key in by_key for key in keys):
            return [by_key[key] for key in keys]
    return None


def _positional_labels(labels):
    try:
        values = [int(label) for label in labels]
    except ValueError:
        return False
    return values == list(range(len(values)))


def _orient(values, column_labels, row_labels, table, orientation, path, ids):
    """Return (timeseries, labels) after applying or checking the orientation."""
    n_rows, n_columns = values.shape
    if orientation == "time_by_region":
        return values, column_labels
    if orientation == "region_by_time":
        return values.T, row_labels
    n_regions = None if table is None else len(table)
    column_match = (
        column_labels is not None and table is not None and _match_labels(column_labels, table)
    )
    row_match = row_labels is not None and table is not None and _match_labels(row_labels, table)
    by_time = bool(column_match) or (
        n_regions is not None and n_columns == n_regions and n_rows != n_regions
    )
    by_region = bool(row_match) or (
        n_regions is not None and n_rows == n_regions and n_columns != n_regions
    )
    if n_regions is None:
        by_time = column_labels is not None and row_labels is None
        by_region = row_labels is not None and column_labels is None
        if not by_time and not by_region and n_rows > n_columns:
            by_time = True
    shape = f"{n_rows} rows x {n_columns} columns"
    if by_time and not by_region:
        return values, column_labels
    if by_region and not by_time:
        reason = (
            f"the region table has {n_regions} rows"
            if n_regions is not None
            else "its rows are labelled and its columns are not"
        )
        raise DataError(
            f"the table looks regions-by-time ({shape}; {reason}); brainctrl expects "
            "time-by-region. Pass orientation='region_by_time' to transpose it.",
            path=path,
            **ids,
        )
    if n_regions is not None and n_rows != n_regions and n_columns != n_regions:
        raise DataError(
            f"the region table has {n_regions} rows but the data have {shape}; neither "
            "dimension matches.",
            path=path,
            **ids,
        )
    raise DataError(
        f"cannot tell which axis is time ({shape}). Pass orientation='time_by_region' "
        "(rows are timepoints) or orientation='region_by_time'.",
        path=path,
        **ids,
    )


def _resolve_t_r(t_r, path, ids):
    sidecar = read_sidecar(path, **ids)
    sidecar_t_r = None if sidecar is None else sidecar.get("RepetitionTime")
    if t_r is None:
        if sidecar_t_r is None:
            raise InvalidParameterError(
                f"'t_r' is required: no RepetitionTime found in a JSON sidecar of '{path}'; "
                "got None."
            )
        try:
            return float(check_positive("RepetitionTime", sidecar_t_r)), sidecar
        except (InvalidParameterError, TypeError) as exc:
            raise DataError(str(exc), path=sidecar["__path__"], **ids) from None
    check_positive("t_r", t_r)
    if sidecar_t_r is not None and not np.isclose(float(sidecar_t_r), t_r):
        logger.warning(
            "t_r=%s overrides RepetitionTime=%s from %s.", t_r, sidecar_t_r, sidecar["__path__"]
        )
    return float(t_r), sidecar


def load_timeseries(
    path,
    *,
    t_r=None,
    regions=None,
    confounds=None,
    orientation="auto",
    header="auto",
    key=None,
    subject=None,
    session=None,
    run=None,
    min_timepoints=3,
    allow_constant=False,
):
    r"""Load a region time series from a TSV/CSV/text table or a NumPy file.

    Parameters
    ----------
    path : str or path-like
        ``.tsv``, ``.csv``, ``.txt`` (whitespace-separated), optionally ``.gz``;
        or ``.npy`` / ``.npz`` (read with ``allow_pickle=False``).
    t_r : float, optional
        Repetition time in seconds. If omitted, ``RepetitionTime`` is read from a
        BIDS JSON sidecar next to the file (``timeseries.tsv`` -> ``timeseries.json``).
    regions : path-like, pandas.DataFrame or sequence of str, optional
        Region table (TSV/CSV with ``name`` and ``network`` columns or common aliases such
        as ``label_value``, ``roi_id``, ``label``, ``yeo7``), a text file with one name per
        line, or a list of names. When the table has a header row, its labels are matched
        to the table by name or by integer key (e.g. parcel numbers ``1 … 100`` to
        ``label_value``) and the table is reordered to the columns. Without a table, names
        come from the header or are inferred (``region_000 …``); networks are parsed from
        Schaefer-style names (``7Networks_LH_Default_PFC_1`` -> ``Default``), else
        ``'unknown'``.
    confounds : path-like or pandas.DataFrame, optional
        Nuisance regressors, one row per timepoint (fMRIPrep style, ``n/a`` read as NaN).
    orientation : {'auto', 'time_by_region', 'region_by_time'}, default='auto'
        Layout of the stored array. 'auto' accepts time-by-region when the evidence is
        clear (region table length or labels match the columns, or, with no region
        information, more rows than columns), rejects tables that are unambiguously
        regions-by-time, and asks for this parameter otherwise.
    header : {'auto', True, False}, default='auto'
        Whether the first row of a text table holds column labels. 'auto' treats a row
        as a header if it has non-numeric cells, or distinct integer labels over a
        non-integer body, or the labels ``0 … n-1`` / ``1 … n``.
    key : str, optional
        Array name inside an ``.npz`` file holding several arrays.
    subject, session, run : str, optional
        Identifiers stored in the result and used in error messages.
    min_timepoints : int, default=3
        Fewer frames raise :class:`~brainctrl.exceptions.DataError`.
    allow_constant : bool, default=False
        Accept regions whose signal is constant (their correlations are undefined).

    Returns
    -------
    run_data : RunData
        ``timeseries`` of shape (n_timepoints, n_regions), ``t_r``, ``regions``,
        ``confounds`` and identifiers; ``metadata`` holds the orientation used and
        the sidecar file, if any.

    Raises
    ------
    MissingDataError
        If a file does not exist.
    DataError
        If the content is unusable (non-numeric cells, NaN, constant regions, too few
        frames, a region table that does not fit, a regions-by-time table).
    InvalidParameterError
        If a parameter is invalid or ``t_r`` is missing and there is no sidecar.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> np.savetxt(folder / "run.tsv", np.arange(12.0).reshape(4, 3) ** 2, delimiter="\t")
    >>> run_data = load_timeseries(folder / "run.tsv", t_r=2.0, subject="01")
    >>> run_data.timeseries.shape, list(run_data.regions["name"])
    ((4, 3), ['region_000', 'region_001', 'region_002'])
    """
    check_option("orientation", orientation, _ORIENTATIONS)
    check_positive("min_timepoints", min_timepoints, integer=True)
    ids = {"subject": None if subject is None else str(subject), "session": session, "run": run}
    path = require_file(path, what="time series file", **ids)
    t_r, sidecar = _resolve_t_r(t_r, path, ids)

    table = None if regions is None else read_region_table(regions, ids=ids)
    name = path.name.lower()
    if name.endswith((".npy", ".npz")):
        values, column_labels, row_labels = _read_numpy(path, key, ids), None, None
    else:
        if key is not None:
            raise InvalidParameterError(f"'key' only applies to .npz files; got {key!r}.")
        values, column_labels, row_labels = read_delimited(path, header=header, ids=ids)

    timeseries, labels = _orient(values, column_labels, row_labels, table, orientation, path, ids)
    n_regions = timeseries.shape[1]
    if table is not None:
        if labels is not None and not _positional_labels(labels):
            order = _match_labels(labels, table)
            if order is None:
                unmatched = [
                    label for label in labels if label not in set(table["name"].astype(str))
                ][:5]
                raise DataError(
                    f"column labels do not match the region table by name or key (e.g. "
                    f"{unmatched}); region table: {table.attrs.get('source') or 'given'}.",
                    path=path,
                    **ids,
                )
            table = table.iloc[order].reset_index(drop=True)
        elif len(table) != n_regions:
            raise DataError(
                f"the region table has {len(table)} rows but the time series has {n_regions} "
                "regions (columns).",
                path=path,
                **ids,
            )
        region_table = table
    elif labels is not None and not _positional_labels(labels):
        region_table = pd.DataFrame(
            {"name": list(labels), "network": [network_from_label(label) for label in labels]}
        )
        duplicated = region_table["name"][region_table["name"].duplicated()].unique()
        if len(duplicated):
            raise DataError(f"duplicate region labels {list(duplicated[:5])}.", path=path, **ids)
    else:
        region_table = default_regions(n_regions)

    timeseries = check_run_timeseries(
        timeseries,
        regions=region_table,
        path=path,
        ids=ids,
        min_timepoints=min_timepoints,
        allow_constant=allow_constant,
    )
    confound_table = None
    if confounds is not None:
        confound_table = read_confounds(confounds, n_timepoints=timeseries.shape[0], ids=ids)
    metadata = {
        "orientation": "region_by_time" if orientation == "region_by_time" else "time_by_region"
    }
    if sidecar is not None:
        metadata["sidecar"] = sidecar["__path__"]
    if confounds is not None and not isinstance(confounds, pd.DataFrame):
        metadata["confounds_source"] = str(Path(confounds))
    return RunData(
        timeseries=timeseries,
        t_r=t_r,
        regions=region_table,
        confounds=confound_table,
        source=str(path),
        metadata=metadata,
        **ids,
    )
