"""Region time series from text tables and array files (NumPy, MATLAB, HDF5, Parquet)."""

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from brainctrl._utils.validation import check_option, check_positive
from brainctrl.exceptions import DataError, InvalidParameterError
from brainctrl.io._arrays import ARRAY_SUFFIXES, KEYED_SUFFIXES, read_array_file
from brainctrl.io._rundata import RunData, default_regions
from brainctrl.io._tables import (
    check_delimiter,
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

#: Values of ``orientation``: how a stored array's axes map to time and regions.
ORIENTATIONS = ("auto", "time_by_region", "region_by_time")

#: Text table extensions (each also gzip-compressed, e.g. ``.tsv.gz``).
TEXT_SUFFIXES = (".tsv", ".csv", ".txt", ".1d")


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


def _informative(labels):
    """Labels that name things (not None and not merely ``0 … n-1`` or ``1 … n``)."""
    return labels is not None and not _positional_labels(labels)


def _first(labels, count=3):
    shown = ", ".join(repr(label) for label in labels[:count])
    return shown + (", …" if len(labels) > count else "")


_ADVICE = (
    "Pass orientation='time_by_region' if each row is a timepoint, or "
    "orientation='region_by_time' if each row is a region."
)


def _orient(values, column_labels, row_labels, table, orientation, path, ids):
    """Return (timeseries, labels) after applying or checking the orientation.

    With ``orientation='auto'`` a table is accepted as time-by-region only on
    evidence (region-table length or labels matching the columns, column names without
    row names, or, with no labels either way, more rows than columns); otherwise the
    error states the evidence found, so the user can judge which axis is time.
    """
    n_rows, n_columns = values.shape
    if orientation == "time_by_region":
        return values, column_labels
    if orientation == "region_by_time":
        return values.T, row_labels
    shape = f"{n_rows} rows x {n_columns} columns"
    if table is not None:
        n_regions = len(table)
        column_match = column_labels is not None and _match_labels(column_labels, table)
        row_match = row_labels is not None and _match_labels(row_labels, table)
        by_time = bool(column_match) or (n_columns == n_regions and n_rows != n_regions)
        by_region = bool(row_match) or (n_rows == n_regions and n_columns != n_regions)
        if by_time and not by_region:
            return values, column_labels
        if by_region and not by_time:
            evidence = (
                f"its row labels ({_first(row_labels)}) match the region table"
                if row_match
                else f"the region table has {n_regions} rows, matching the rows, not the columns"
            )
            raise DataError(
                f"the table looks regions-by-time ({shape}; {evidence}); brainctrl expects "
                "time-by-region. If each row is a region, pass orientation='region_by_time' "
                "to transpose it; if each row is a timepoint, the region table does not fit "
                "this file.",
                path=path,
                **ids,
            )
        if not (by_time or by_region or n_regions in (n_rows, n_columns)):
            raise DataError(
                f"the region table has {n_regions} rows but the data have {shape}; neither "
                "dimension matches.",
                path=path,
                **ids,
            )
        raise DataError(
            f"cannot tell which axis is time ({shape}; the region table has {n_regions} "
            f"rows, which fits both). {_ADVICE}",
            path=path,
            **ids,
        )
    named_columns, named_rows = _informative(column_labels), _informative(row_labels)
    if named_columns and not named_rows:
        return values, column_labels
    if named_rows and not named_columns:
        rows = f"the rows are labelled ({_first(row_labels)}) and the columns are not"
        if n_rows < n_columns:
            raise DataError(
                f"the table looks regions-by-time ({shape}; {rows}, and there are fewer "
                "rows than columns); brainctrl expects time-by-region. If the row labels "
                "are region names, pass orientation='region_by_time' to transpose it; if "
                "they are timepoints, pass orientation='time_by_region'.",
                path=path,
                **ids,
            )
        raise DataError(
            f"cannot tell which axis is time ({shape}; {rows}, but there are more rows than "
            f"columns). {_ADVICE}",
            path=path,
            **ids,
        )
    if n_rows > n_columns:
        return values, column_labels
    if named_rows:
        labels = "rows and columns are labelled"
    elif column_labels is not None:
        labels = f"the column labels are the numbers {column_labels[0]} … {column_labels[-1]}"
    else:
        labels = "no region names"
    raise DataError(
        f"cannot tell which axis is time ({shape}; {labels} and no region table, and a "
        f"run usually has more timepoints than regions). {_ADVICE}",
        path=path,
        **ids,
    )


def open_table_or_array(path, *, what, header, delimiter, key, ids):
    """Check a file and the reading options that apply to it.

    Returns ``(path, kind)``: the file as a ``Path`` (it must exist) and
    ``"text"`` or ``"array"``. ``header`` and ``delimiter`` apply to text
    tables only, ``key`` to array files holding several arrays; an option
    given for the other kind of file is an error naming it.
    """
    if not (isinstance(header, bool) or header == "auto"):
        raise InvalidParameterError(
            f"'header' must be one of ('auto', True, False); got {header!r}."
        )
    if delimiter is not None:
        check_delimiter(delimiter)
    path = require_file(path, what=what, **ids)
    kind = _file_format(path)
    if kind is None and delimiter is not None:
        kind = "text"
    if kind is None:
        raise _unsupported(path, ids)
    if kind == "array":
        for name, value, default in (("delimiter", delimiter, None), ("header", header, "auto")):
            if value != default:
                raise InvalidParameterError(
                    f"'{name}' applies to text tables {TEXT_SUFFIXES}; got {value!r} for '{path}'."
                )
    elif key is not None:
        raise InvalidParameterError(
            f"'key' applies to files holding several arrays {KEYED_SUFFIXES}; got {key!r} "
            f"for the text table '{path}'."
        )
    return path, kind


def _looks_like_connectivity(values):
    """A square, symmetric array of at least 3 x 3: a connectivity matrix."""
    values = np.asarray(values)
    if values.ndim != 2 or values.shape[0] != values.shape[1] or len(values) < 3:
        return False
    if not np.issubdtype(values.dtype, np.number) or not np.isfinite(values).all():
        return False
    return bool(np.allclose(values, values.T, rtol=1e-10, atol=1e-12))


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


def _file_format(path):
    """'text', 'array' or None (unsupported) for a time series file name."""
    name = path.name.lower()
    if name.endswith(ARRAY_SUFFIXES):
        return "array"
    if name.removesuffix(".gz").endswith(TEXT_SUFFIXES):
        return "text"
    return None


def _unsupported(path, ids):
    if path.name.lower().endswith((".gz", ".nii")) and len(path.suffixes) > 1:
        suffix = "".join(path.suffixes[-2:])
    else:
        suffix = path.suffix or "(none)"
    advice = ""
    if path.name.lower().endswith((".nii", ".nii.gz")):
        advice = (
            " CIFTI dense time series are read with load_cifti_timeseries and NIfTI images "
            "with load_nifti_timeseries."
        )
    return DataError(
        f"unsupported time series file type {suffix!r}; supported: text tables "
        f"{', '.join(TEXT_SUFFIXES)} (optionally .gz) and arrays {', '.join(ARRAY_SUFFIXES)}. "
        f"A text table with another extension is read when delimiter= is given.{advice}",
        path=path,
        **ids,
    )


def load_timeseries(
    path,
    *,
    t_r=None,
    regions=None,
    confounds=None,
    orientation="auto",
    header="auto",
    delimiter=None,
    key=None,
    subject=None,
    session=None,
    run=None,
    min_timepoints=3,
    allow_constant=False,
):
    r"""Load a region time series from a text table or an array file.

    Parameters
    ----------
    path : str or path-like
        A text table ``.tsv`` (tab), ``.csv`` (comma), ``.txt`` or ``.1D`` (whitespace),
        optionally gzip-compressed (``.tsv.gz``); or an array file: ``.npy``, ``.npz``
        (read with ``allow_pickle=False``), MATLAB ``.mat`` (v4 to v7 through
        :func:`scipy.io.loadmat`, v7.3 through h5py), HDF5 ``.h5``/``.hdf5``, or
        ``.parquet`` (one column per region, column names as region labels).
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
        Layout of the stored array. 'region_by_time' transposes it (e.g. a 100 x 1200
        array of 100 regions and 1200 frames). 'auto' accepts time-by-region when the
        evidence is clear (region table length or labels match the columns; column names
        without row names; or, with neither, more rows than columns), rejects tables
        that look regions-by-time, and otherwise asks for this parameter; its errors
        state the evidence (shape, region table length, labels) so you can judge.
    header : {'auto', True, False}, default='auto'
        Whether the first row of a text table holds column labels. 'auto' treats a row
        as a header if it has non-numeric cells, or distinct integer labels over a
        non-integer body, or the labels ``0 … n-1`` / ``1 … n``. Text tables only.
    delimiter : {'tab', 'comma', 'whitespace'} or str of length 1, optional
        Column separator of a text table, by name or as the character itself (e.g.
        ``';'``). By default it follows the extension (``.csv`` comma, ``.tsv`` tab,
        ``.txt``/``.1D`` runs of whitespace). Given, any other extension is read as
        text. Text tables only.
    key : str, optional
        Which array to read from a file holding several: an array of an ``.npz``, a
        variable of a ``.mat``, a dataset path of an ``.h5`` (``'group/ts'``). Without
        it, the file's only array is read, else its only numeric matrix (2-D, both
        dimensions above 1, so a scalar ``TR`` beside it does not count). MATLAB arrays
        keep MATLAB's shape (``size()``), also from v7.3 files, which HDF5 stores with
        the axes reversed.
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
        If the file type is not supported, the file is truncated or corrupt (a cut
        ``.npz``, ``.npy``, ``.mat``, ``.parquet`` or gzip stream; a text table whose
        lines have different numbers of fields or that ends mid-line, reported with
        the line), or the content is unusable (non-numeric cells, NaN, constant
        regions, too few frames, a region table that does not fit, a table that looks
        regions-by-time, a square symmetric matrix: a connectivity matrix, which
        :func:`~brainctrl.io.load_connectivity` reads).
    InvalidParameterError
        If a parameter is invalid, does not apply to the file's format (``key`` for a
        text table, ``delimiter`` or ``header`` for an array file), ``key`` is needed
        or names nothing in the file, or ``t_r`` is missing and there is no sidecar.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> np.savetxt(folder / "run.tsv", np.arange(12.0).reshape(4, 3) ** 2, delimiter="\t")
    >>> run_data = load_timeseries(folder / "run.tsv", t_r=2.0, subject="01")
    >>> run_data.timeseries.shape, list(run_data.regions["name"])
    ((4, 3), ['region_000', 'region_001', 'region_002'])

    A regions-by-time array (3 regions, 5 frames) in an ``.npz`` beside a scalar:

    >>> np.savez(folder / "run.npz", ts=np.arange(15.0).reshape(3, 5) ** 2, tr=0.72)
    >>> run_data = load_timeseries(folder / "run.npz", t_r=0.72, orientation="region_by_time")
    >>> run_data.timeseries.shape
    (5, 3)
    """
    check_option("orientation", orientation, ORIENTATIONS)
    check_positive("min_timepoints", min_timepoints, integer=True)
    ids = {"subject": None if subject is None else str(subject), "session": session, "run": run}
    path, kind = open_table_or_array(
        path, what="time series file", header=header, delimiter=delimiter, key=key, ids=ids
    )
    t_r, sidecar = _resolve_t_r(t_r, path, ids)

    table = None if regions is None else read_region_table(regions, ids=ids)
    if kind == "array":
        values, column_labels, row_labels = read_array_file(path, key=key, ids=ids)
    else:
        values, column_labels, row_labels = read_delimited(
            path, header=header, delimiter=delimiter, ids=ids
        )

    if _looks_like_connectivity(values):
        raise DataError(
            f"the file holds a symmetric {len(values)} x {len(values)} matrix: a connectivity "
            "matrix, not a time series. Give connectivity matrices (e.g. structural "
            "connectomes) under the manifest's 'structural' key, or read them with "
            "brainctrl.io.load_connectivity.",
            path=path,
            **ids,
        )
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
