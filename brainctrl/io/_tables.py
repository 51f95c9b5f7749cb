"""Private helpers shared by the loaders: delimited tables, region tables, confounds.

Nothing here is public API; the loaders in :mod:`brainctrl.io` call these.
"""

import json
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd

from brainctrl._utils.validation import check_timeseries
from brainctrl.exceptions import DataError, InvalidParameterError, MissingDataError

__all__ = [
    "NA_TOKENS",
    "YEO7_NETWORKS",
    "check_run_timeseries",
    "network_from_label",
    "read_confounds",
    "read_delimited",
    "read_region_table",
    "read_sidecar",
    "require_file",
    "separator_for",
    "strip_suffixes",
]

logger = logging.getLogger(__name__)

#: Cell values read as missing (fMRIPrep writes ``n/a``).
NA_TOKENS = ("", "n/a", "N/A", "na", "NA", "nan", "NaN", "NAN")

#: The seven networks of Yeo et al. (2011) as spelled in Schaefer et al. (2018) label names.
YEO7_NETWORKS = ("Vis", "SomMot", "DorsAttn", "SalVentAttn", "Limbic", "Cont", "Default")

# Schaefer 17-network names -> their Yeo-7 parent network.
_YEO17_TO_YEO7 = {
    "VisCent": "Vis",
    "VisPeri": "Vis",
    "SomMotA": "SomMot",
    "SomMotB": "SomMot",
    "DorsAttnA": "DorsAttn",
    "DorsAttnB": "DorsAttn",
    "SalVentAttnA": "SalVentAttn",
    "SalVentAttnB": "SalVentAttn",
    "LimbicA": "Limbic",
    "LimbicB": "Limbic",
    "ContA": "Cont",
    "ContB": "Cont",
    "ContC": "Cont",
    "DefaultA": "Default",
    "DefaultB": "Default",
    "DefaultC": "Default",
    "TempPar": "Default",
}

_SCHAEFER_PATTERN = re.compile(r"^(?:7|17)Networks_(?:LH|RH)_([A-Za-z]+)")

# Column-name aliases of region tables (compared case-insensitively, first match wins).
_NAME_ALIASES = ("name", "label_name", "roi_name", "region_name", "region", "label", "roi")
_NETWORK_ALIASES = ("network", "network_name", "yeo7", "yeo_7", "yeo", "system", "community")
_KEY_ALIASES = (
    "label_value",
    "key",
    "index",
    "label_id",
    "label",
    "roi_id",
    "parcel_id",
    "parcel",
    "value",
    "id",
)

_KNOWN_SUFFIXES = (
    ".dtseries.nii",
    ".dlabel.nii",
    ".nii.gz",
    ".tsv.gz",
    ".csv.gz",
    ".nii",
    ".tsv",
    ".csv",
    ".txt",
    ".npy",
    ".npz",
)


def network_from_label(name):
    """Yeo-7 network of a Schaefer-style label name, or ``'unknown'``.

    Examples
    --------
    >>> network_from_label("7Networks_LH_Default_PFC_1")
    'Default'
    >>> network_from_label("17Networks_RH_ContB_PFCl_2")
    'Cont'
    >>> network_from_label("L_V1_ROI")
    'unknown'
    """
    match = _SCHAEFER_PATTERN.match(str(name))
    if match is None:
        return "unknown"
    token = match.group(1)
    if token in YEO7_NETWORKS:
        return token
    return _YEO17_TO_YEO7.get(token, "unknown")


def require_file(path, *, what="file", subject=None, session=None, run=None):
    """Return ``path`` as a Path, raising MissingDataError if it is not a file."""
    path = Path(path).expanduser()
    if not path.is_file():
        reason = "does not exist" if not path.exists() else "is not a regular file"
        raise MissingDataError(
            f"{what} {reason}.", path=path, subject=subject, session=session, run=run
        )
    return path


def strip_suffixes(path):
    """Path without its (possibly double) data suffix, e.g. ``x.dtseries.nii`` -> ``x``."""
    path = Path(path)
    name = path.name
    for suffix in _KNOWN_SUFFIXES:
        if name.lower().endswith(suffix):
            return path.with_name(name[: -len(suffix)])
    return path.with_suffix("")


def separator_for(path):
    """Column separator implied by a file name: tab, comma or any whitespace."""
    name = Path(path).name.lower().removesuffix(".gz")
    if name.endswith(".csv"):
        return ","
    if name.endswith(".tsv"):
        return "\t"
    return r"\s+"


def read_sidecar(path, *, subject=None, session=None, run=None):
    """Read the BIDS JSON sidecar of a data file, or return None if there is none."""
    sidecar = strip_suffixes(path).with_suffix(".json")
    if not sidecar.is_file():
        return None
    try:
        with sidecar.open(encoding="utf-8") as handle:
            content = json.load(handle)
    except (OSError, ValueError) as exc:
        raise DataError(
            f"JSON sidecar is not readable JSON ({exc}).",
            path=sidecar,
            subject=subject,
            session=session,
            run=run,
        ) from None
    if not isinstance(content, dict):
        raise DataError(
            f"JSON sidecar must hold an object; got {type(content).__name__}.",
            path=sidecar,
            subject=subject,
            session=session,
            run=run,
        )
    content["__path__"] = str(sidecar)
    return content


def _is_number(token):
    try:
        float(token)
    except (TypeError, ValueError):
        return token in NA_TOKENS
    return True


_INTEGER = re.compile(r"^[+-]?\d+$")


def _looks_like_header(first, rest):
    """Decide whether the first row of a table holds column labels."""
    if rest.size and len(first) > 1 and not all(_is_number(token) for token in rest[:, 0]):
        first = first[1:]  # the first column holds row labels
        rest = rest[:, 1:]
    if not all(_is_number(token) for token in first):
        return True
    if not all(_INTEGER.match(token) for token in first):
        return False
    values = [int(token) for token in first]
    if len(values) >= 2 and len(set(values)) == len(values):
        # Distinct integer labels (e.g. parcel numbers) over a body that is not all integers.
        if rest.size and not all(_INTEGER.match(token) for token in rest.ravel()[:10000]):
            return True
        n = len(values)
        if values in (list(range(n)), list(range(1, n + 1))):
            return True
    return False


def read_delimited(path, *, header="auto", ids=None):
    """Read a numeric delimited table with optional column labels and row labels.

    Parameters
    ----------
    path : path-like
        TSV, CSV or whitespace-separated text file (optionally gzip-compressed).
    header : {'auto', True, False}
        Whether the first row holds column labels; 'auto' detects it.
    ids : dict, optional
        ``subject``/``session``/``run`` used in error messages.

    Returns
    -------
    values : ndarray of shape (n_rows, n_columns)
        The numeric body; missing-value tokens (``n/a``, ``NaN``, empty) become NaN.
    column_labels : list of str or None
        Column labels when the file has a header row.
    row_labels : list of str or None
        Row labels when the first column is not numeric.
    """
    ids = ids or {}
    try:
        raw = pd.read_csv(
            path,
            sep=separator_for(path),
            header=None,
            dtype=str,
            keep_default_na=False,
            engine="python" if separator_for(path) == r"\s+" else "c",
            skip_blank_lines=True,
        )
    except pd.errors.EmptyDataError:
        raise DataError("file is empty.", path=path, **ids) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(
            f"file is not a readable delimited table ({exc}).", path=path, **ids
        ) from None
    cells = raw.to_numpy(dtype=object)
    cells = np.where(pd.isna(cells), "", cells).astype(str)
    cells = np.char.strip(cells)
    if header == "auto":
        has_header = cells.shape[0] > 1 and _looks_like_header(list(cells[0]), cells[1:])
    elif header in (True, False):
        has_header = bool(header)
    else:
        raise InvalidParameterError(
            f"'header' must be one of ('auto', True, False); got {header!r}."
        )
    column_labels = None
    if has_header:
        column_labels = list(cells[0])
        cells = cells[1:]
    if cells.shape[0] == 0:
        raise DataError("table has no data rows.", path=path, **ids)
    row_labels = None
    if column_labels is not None and column_labels[0] in ("", "Unnamed: 0", "index"):
        # An index column written by pandas (``DataFrame.to_csv``) without a name.
        row_labels = list(cells[:, 0])
        cells = cells[:, 1:]
        column_labels = column_labels[1:]
    first_column_numeric = all(_is_number(token) for token in cells[:, 0])
    if row_labels is None and not first_column_numeric and cells.shape[1] > 1:
        row_labels = list(cells[:, 0])
        cells = cells[:, 1:]
        if column_labels is not None:
            column_labels = column_labels[1:]
    bad = ~np.vectorize(_is_number, otypes=[bool])(cells)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        line = row + 1 + int(has_header)
        column += int(row_labels is not None)
        token = str(cells[row, column - int(row_labels is not None)])
        raise DataError(
            f"non-numeric value {token!r} at line {line}, column {column + 1} "
            f"({int(bad.sum())} non-numeric cell(s) in all).",
            path=path,
            **ids,
        )
    values = np.full(cells.shape, np.nan)
    present = ~np.isin(cells, NA_TOKENS)
    values[present] = cells[present].astype(float)
    return values, column_labels, row_labels


def _find_column(columns, aliases, accept):
    lowered = {str(column).strip().lower(): column for column in columns}
    for alias in aliases:
        column = lowered.get(alias)
        if column is not None and accept(column):
            return column
    return None


def _as_integer_keys(series):
    numbers = pd.to_numeric(series, errors="coerce")
    if numbers.isna().any():
        return None
    values = numbers.to_numpy(dtype=float)
    if not np.all(values == np.round(values)):
        return None
    return values.astype(np.int64)


def read_region_table(source, *, ids=None):
    """Read a region table into a DataFrame with ``name``, ``network`` (and ``key``).

    Parameters
    ----------
    source : path-like, pandas.DataFrame or sequence of str
        A TSV/CSV with a header (common aliases accepted: ``name``/``label``/``roi_name``,
        ``network``/``yeo7``/``system``, ``label_value``/``key``/``index``/``roi_id``), a
        text file with one name per line or lookup-table lines ``<key> <name> …`` (as in
        Schaefer's ``*_order.txt``), a DataFrame, or a list of names.
    ids : dict, optional
        ``subject``/``session``/``run`` used in error messages.

    Returns
    -------
    regions : pandas.DataFrame
        ``name`` (str), ``network`` (str; parsed from Schaefer-style names or
        ``'unknown'`` when the table has none), ``key`` (int label value, when the
        table has one), then the table's remaining columns.
    """
    ids = ids or {}
    path = None
    if isinstance(source, pd.DataFrame):
        table = source.copy()
    elif isinstance(source, (str, Path)):
        path = require_file(source, what="region table", **ids)
        if path.name.lower().endswith((".tsv", ".csv", ".tsv.gz", ".csv.gz")):
            try:
                table = pd.read_csv(
                    path, sep=separator_for(path), dtype=str, keep_default_na=False
                )
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
                raise DataError(
                    f"region table is not readable ({exc}).", path=path, **ids
                ) from None
        else:
            lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
            lines = [line for line in lines if line and not line.startswith("#")]
            fields = [line.split() for line in lines]
            if fields and all(len(f) >= 2 and _INTEGER.match(f[0]) for f in fields):
                # A lookup table such as Schaefer's "<key> <name> <r> <g> <b> <a>" lines.
                table = pd.DataFrame(
                    {"key": [f[0] for f in fields], "name": [f[1] for f in fields]}
                )
            else:
                table = pd.DataFrame({"name": lines})
    else:
        names = [str(name) for name in source]
        table = pd.DataFrame({"name": names})
    if len(table) == 0:
        raise DataError("region table has no rows.", path=path, **ids)
    table.columns = [str(column).strip() for column in table.columns]

    key_column = _find_column(
        table.columns, _KEY_ALIASES, lambda column: _as_integer_keys(table[column]) is not None
    )
    name_column = _find_column(table.columns, _NAME_ALIASES, lambda column: column != key_column)
    network_column = _find_column(
        table.columns, _NETWORK_ALIASES, lambda column: column not in (key_column, name_column)
    )
    if name_column is None and key_column is None:
        raise DataError(
            f"region table needs a name column (one of {list(_NAME_ALIASES)}) or an integer "
            f"key column (one of {list(_KEY_ALIASES)}); got columns {list(table.columns)}.",
            path=path,
            **ids,
        )
    out = pd.DataFrame(index=range(len(table)))
    keys = None if key_column is None else _as_integer_keys(table[key_column])
    if name_column is not None:
        out["name"] = table[name_column].astype(str).str.strip().to_numpy()
    else:
        out["name"] = [f"label_{key}" for key in keys]
    if network_column is not None:
        network = table[network_column].astype(str).str.strip()
        network = network.where(~network.isin(NA_TOKENS), "unknown")
        out["network"] = network.to_numpy()
    else:
        out["network"] = [network_from_label(name) for name in out["name"]]
    if keys is not None:
        if len(np.unique(keys)) != len(keys):
            raise DataError(
                f"region table column '{key_column}' has duplicate keys.", path=path, **ids
            )
        out["key"] = keys
    for column in table.columns:
        if column in (name_column, network_column, key_column) or column in out.columns:
            continue
        values = table[column]
        if pd.api.types.is_string_dtype(values) or values.dtype == object:
            missing = values.isin(NA_TOKENS)
            converted = pd.to_numeric(values.where(~missing, np.nan), errors="coerce")
            if not (converted.isna() & ~missing).any():
                integers = _as_integer_keys(converted) if not missing.any() else None
                values = converted.astype(float) if integers is None else integers
            else:
                values = values.astype(object)
        out[column] = np.asarray(values)
    duplicated = out["name"][out["name"].duplicated()].unique()
    if len(duplicated):
        raise DataError(
            f"region table has duplicate region names {list(duplicated[:5])}.", path=path, **ids
        )
    out.attrs["source"] = None if path is None else str(path)
    return out


def read_confounds(source, *, n_timepoints=None, ids=None):
    """Read a confounds table (fMRIPrep style: header row, tab-separated, ``n/a`` = NaN).

    Parameters
    ----------
    source : path-like or pandas.DataFrame
        The confounds table.
    n_timepoints : int, optional
        Expected number of rows; a mismatch raises :class:`DataError`.
    ids : dict, optional
        ``subject``/``session``/``run`` used in error messages.

    Returns
    -------
    confounds : pandas.DataFrame of shape (n_timepoints, n_confounds)
        Float columns; missing values (e.g. the first frame of derivatives) are NaN.
    """
    ids = ids or {}
    path = None
    if isinstance(source, pd.DataFrame):
        confounds = source.reset_index(drop=True).copy()
        try:
            confounds = confounds.astype(float)
        except (TypeError, ValueError) as exc:
            raise DataError(f"confounds must be numeric ({exc}).", **ids) from None
    else:
        path = require_file(source, what="confounds file", **ids)
        values, columns, _ = read_delimited(path, ids=ids)
        if columns is None:
            columns = [f"confound_{i:03d}" for i in range(values.shape[1])]
        confounds = pd.DataFrame(values, columns=columns)
    if n_timepoints is not None and len(confounds) != n_timepoints:
        raise DataError(
            f"confounds have {len(confounds)} rows but the time series has {n_timepoints} "
            "timepoints.",
            path=path,
            **ids,
        )
    return confounds


def check_run_timeseries(
    timeseries, *, regions=None, path=None, ids=None, min_timepoints=3, allow_constant=False
):
    """Check a loaded run with :func:`check_timeseries`, naming the file, run and regions.

    Raises
    ------
    DataError
        With the file and run as context, and region names added for non-finite or
        constant columns.
    """
    ids = ids or {}
    try:
        return check_timeseries(
            timeseries, min_timepoints=min_timepoints, allow_constant=allow_constant
        )
    except DataError as exc:
        message = exc.reason
        array = np.asarray(timeseries, dtype=float)
        if regions is not None and array.ndim == 2 and array.shape[0]:
            names = list(regions["name"])
            nonfinite = np.flatnonzero(~np.isfinite(array).all(axis=0))
            if "non-finite" in message and nonfinite.size:
                shown = ", ".join(repr(names[i]) for i in nonfinite[:5])
                message += f" Region(s) with non-finite values: {shown}"
                message += "." if nonfinite.size <= 5 else f" and {nonfinite.size - 5} more."
            elif "constant" in message:
                span = np.ptp(array, axis=0)
                constant = np.flatnonzero(span <= 1e-12 * np.maximum(np.abs(array).max(0), 1.0))
                shown = ", ".join(repr(names[i]) for i in constant[:5])
                message += f" Constant region(s): {shown}."
        raise DataError(message, path=path, **ids) from None
