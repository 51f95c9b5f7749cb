"""Private helpers shared by the loaders: delimited tables, region tables, confounds.

Nothing here is public API; the loaders in :mod:`brainctrl.io` call these.
"""

import csv
import gzip
import io
import json
import logging
import re
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from brainctrl._utils.validation import check_timeseries
from brainctrl.exceptions import DataError, InvalidParameterError, MissingDataError

__all__ = [
    "IMAGE_READ_ERRORS",
    "NA_TOKENS",
    "YEO7_NETWORKS",
    "DELIMITERS",
    "check_delimiter",
    "check_image_size",
    "check_run_timeseries",
    "network_from_label",
    "read_confounds",
    "read_delimited",
    "read_region_table",
    "read_sidecar",
    "require_file",
    "separator_for",
    "short_image_note",
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


#: Errors nibabel raises when an image's data end early or do not decompress.
IMAGE_READ_ERRORS = (OSError, EOFError, ValueError, zlib.error)


def check_image_size(image, path, what, ids):
    """Raise if an uncompressed NIfTI/CIFTI file is shorter than its header promises.

    Parameters
    ----------
    image : nibabel image
        Loaded (lazily) from ``path``.
    path : pathlib.Path
        The file; gzip-compressed files are not checked here (their size does not tell).
    what : str
        Name of the file in messages (e.g. ``'BOLD image'``).
    ids : dict
        ``subject``/``session``/``run`` used in messages.
    """
    if Path(path).name.lower().endswith(".gz"):
        return
    proxy = image.dataobj
    try:
        offset, dtype, shape = int(proxy.offset), np.dtype(proxy.dtype), tuple(proxy.shape)
    except (AttributeError, TypeError, ValueError):
        return  # not a file-backed array proxy
    expected = offset + dtype.itemsize * int(np.prod(shape, dtype=np.int64))
    size = Path(path).stat().st_size
    if size < expected:
        raise DataError(
            f"{what} is truncated: the file has {size} bytes but its header (data of shape "
            f"{shape}, {dtype}, from byte {offset}) needs {expected}.",
            path=path,
            **ids,
        )


def short_image_note(path, minimum=348):
    """A note for read errors of an uncompressed image shorter than a NIfTI header."""
    path = Path(path)
    if path.name.lower().endswith(".gz") or not path.is_file():
        return ""
    size = path.stat().st_size
    if size >= minimum:
        return ""
    return (
        f" The file has {size} bytes, fewer than a NIfTI header needs ({minimum}); it is "
        "truncated or empty."
    )


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

# A first column becomes row labels only when at least this fraction of its cells is
# non-numeric; a numeric column with a few bad cells is reported cell by cell instead.
_LABEL_FRACTION = 0.9


def _is_label_column(tokens):
    """Whether a column of cells holds labels (non-numeric throughout, or nearly)."""
    tokens = list(tokens)
    if not tokens:
        return False
    non_numeric = sum(not _is_number(token) for token in tokens)
    return non_numeric >= _LABEL_FRACTION * len(tokens)


def _looks_like_header(first, rest):
    """Decide whether the first row of a table holds column labels."""
    if rest.size and len(first) > 1 and _is_label_column(rest[:, 0]):
        first = first[1:]  # the first column holds row labels
        rest = rest[:, 1:]
    numeric = [token for token in first if _is_number(token)]
    if len(numeric) < len(first):
        # Labels, unless the row reads as numbers with a few bad cells (a data row with
        # a corrupted cell): a header's numeric labels are integers such as parcel keys.
        return 2 * len(numeric) <= len(first) or all(_INTEGER.match(t) for t in numeric)
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


#: Column separators a user can name (``delimiter=``); None means runs of whitespace.
DELIMITERS = {"tab": "\t", "comma": ",", "whitespace": None}

_WHITESPACE_FIELD = re.compile(r'"([^"]*)"|(\S+)')
_LINE_END = re.compile(r"\r\n?|\n")


def check_delimiter(delimiter):
    r"""Return the separator a ``delimiter`` option names: one character, or None (whitespace).

    Parameters
    ----------
    delimiter : {'tab', 'comma', 'whitespace'} or str of length 1
        A name, or the separating character itself (e.g. ``';'``, ``'|'``, ``'\t'``).

    Raises
    ------
    InvalidParameterError
        If ``delimiter`` is neither a known name nor a single usable character.
    """
    if isinstance(delimiter, str) and delimiter in DELIMITERS:
        return DELIMITERS[delimiter]
    if (
        not isinstance(delimiter, str)
        or len(delimiter) != 1
        or delimiter in ('"', "\n", "\r")
        or delimiter.isalnum()
        or delimiter in "+-."
    ):
        raise InvalidParameterError(
            f"'delimiter' must be one of {tuple(DELIMITERS)} or a single separator character "
            f"such as ';' or '|' (not a letter, digit, sign, point, quote or line break); "
            f"got {delimiter!r}."
        )
    return delimiter


def _read_text(path, ids):
    """The whole text of a (possibly gzip-compressed) file, with friendly errors."""
    gzipped = Path(path).name.lower().endswith(".gz")
    try:
        if gzipped:
            with gzip.open(path, "rt", encoding="utf-8-sig", newline="") as handle:
                return handle.read()
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return handle.read()
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(
            f"gzip-compressed file is truncated or corrupt ({type(exc).__name__}: {exc}).",
            path=path,
            **ids,
        ) from None
    except UnicodeDecodeError as exc:
        raise DataError(
            f"file is not a readable delimited table: it is not UTF-8 text ({exc}).",
            path=path,
            **ids,
        ) from None


def _tokenize(text, separator, path, ids):
    """Split text into rows of fields, skipping blank lines.

    Returns
    -------
    rows : list of list of str
    lines : list of int
        The (1-based) line of the file each row ends on.
    """
    rows, lines = [], []
    if separator is None:
        for number, line in enumerate(_LINE_END.split(text), start=1):
            if '"' in line:
                fields = [
                    quoted if quoted else plain
                    for quoted, plain in _WHITESPACE_FIELD.findall(line)
                ]
            else:
                fields = line.split()
            if fields:
                rows.append(fields)
                lines.append(number)
        return rows, lines
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        for fields in reader:
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue
            rows.append(fields)
            lines.append(reader.line_num)
    except csv.Error as exc:
        raise DataError(
            f"file is not a readable delimited table (line {reader.line_num}: {exc}).",
            path=path,
            **ids,
        ) from None
    return rows, lines


def _describe_separator(separator):
    return {None: "whitespace", "\t": "tab", ",": "comma"}.get(separator, repr(separator))


def _check_widths(rows, lines, ends_with_newline, separator, path, ids):
    """Raise if the rows do not all have the same number of fields."""
    widths = np.array([len(row) for row in rows])
    values, counts = np.unique(widths, return_counts=True)
    if values.size == 1:
        return
    expected = int(values[np.argmax(counts)])
    reference = lines[int(np.flatnonzero(widths == expected)[0])]
    odd = np.flatnonzero(widths != expected)
    first = int(odd[0])
    width, line = int(widths[first]), lines[first]
    where = f"line {line} has {width} field(s) but line {reference} has {expected}"
    if first == len(rows) - 1 and width < expected:
        ending = "ends mid-line" if not ends_with_newline else "ends with a short line"
        raise DataError(
            f"the file {ending}: {where} ({_describe_separator(separator)}-separated); it "
            "looks truncated (e.g. an interrupted copy or download).",
            path=path,
            **ids,
        )
    raise DataError(
        f"ragged table: {where} ({_describe_separator(separator)}-separated; "
        f"{odd.size} line(s) differ from the {int(counts.max())} with {expected} fields). "
        "Every line must have the same number of fields; the file may be truncated, "
        "wrongly joined, or use another delimiter (pass delimiter=...).",
        path=path,
        **ids,
    )


def read_delimited(path, *, header="auto", delimiter=None, ids=None):
    """Read a numeric delimited table with optional column labels and row labels.

    Parameters
    ----------
    path : path-like
        TSV, CSV or whitespace-separated text file (optionally gzip-compressed).
    header : {'auto', True, False}
        Whether the first row holds column labels; 'auto' detects it.
    delimiter : {'tab', 'comma', 'whitespace'} or str of length 1, optional
        Column separator; by default from the file name (``.csv`` comma, ``.tsv`` tab,
        anything else runs of whitespace). Fields may be quoted (``"name"``).
    ids : dict, optional
        ``subject``/``session``/``run`` used in error messages.

    Returns
    -------
    values : ndarray of shape (n_rows, n_columns)
        The numeric body; missing-value tokens (``n/a``, ``NaN``, empty) become NaN.
    column_labels : list of str or None
        Column labels when the file has a header row.
    row_labels : list of str or None
        Row labels when the first column holds labels: non-numeric in at least 90% of
        its cells. A mostly numeric first column with a few non-numeric cells is an
        error naming the first such cell.

    Raises
    ------
    DataError
        If the file is empty, not UTF-8 text, a truncated gzip stream, ragged (lines with
        different numbers of fields, e.g. a last line cut short) or has non-numeric cells
        in its body.
    """
    ids = ids or {}
    if not (isinstance(header, bool) or header == "auto"):
        raise InvalidParameterError(
            f"'header' must be one of ('auto', True, False); got {header!r}."
        )
    separator = separator_for(path) if delimiter is None else check_delimiter(delimiter)
    if separator == r"\s+":
        separator = None
    text = _read_text(path, ids)
    rows, lines = _tokenize(text, separator, path, ids)
    if not rows:
        raise DataError("file is empty.", path=path, **ids)
    rows = [[field.strip() for field in row] for row in rows]
    if len(rows) > 1 and all(len(row) > 1 and row[-1] == "" for row in rows):
        rows = [row[:-1] for row in rows]  # every line ends with the separator
    short_header = (
        len(rows) > 2
        and header is not False
        and len({len(row) for row in rows[1:]}) == 1
        and len(rows[0]) == len(rows[1]) - 1
        and (header is True or not all(_is_number(token) for token in rows[0]))
    )
    if short_header:
        # A header without a label over the row names (R's write.table).
        rows[0] = ["", *rows[0]]
    _check_widths(rows, lines, text.endswith(("\n", "\r")), separator, path, ids)
    cells = np.array(rows, dtype=str)
    if header == "auto":
        has_header = cells.shape[0] > 1 and _looks_like_header(list(cells[0]), cells[1:])
    else:
        has_header = bool(header)
    column_labels = None
    if has_header:
        column_labels = [str(label) for label in cells[0]]
        cells = cells[1:]
        lines = lines[1:]
    if cells.shape[0] == 0:
        raise DataError("table has no data rows.", path=path, **ids)
    row_labels = None
    if column_labels is not None and column_labels[0] in ("", "Unnamed: 0", "index"):
        # An index column written by pandas (``DataFrame.to_csv``) without a name.
        row_labels = [str(label) for label in cells[:, 0]]
        cells = cells[:, 1:]
        column_labels = column_labels[1:]
    if row_labels is None and cells.shape[1] > 1 and _is_label_column(cells[:, 0]):
        row_labels = [str(label) for label in cells[:, 0]]
        cells = cells[:, 1:]
        if column_labels is not None:
            column_labels = column_labels[1:]
    try:
        values = cells.astype(float)
    except ValueError:
        values = None
    if values is None:
        values = _parse_cells(cells, lines, row_labels is not None, separator, path, ids)
    return values, column_labels, row_labels


# Separators a wrongly split cell may hold: (name, character, delimiter option).
_OTHER_SEPARATORS = (("comma", ",", "comma"), ("semicolon", ";", ";"), ("tab", "\t", "tab"))


def _parse_cells(cells, lines, shifted, separator, path, ids):
    """Numbers of a table body with missing-value tokens as NaN, or a DataError."""
    bad = ~np.vectorize(_is_number, otypes=[bool])(cells)
    if bad.any():
        row, column = (int(i) for i in np.argwhere(bad)[0])
        token = str(cells[row, column])
        shown = token if len(token) <= 40 else token[:40] + "…"
        message = (
            f"non-numeric value {shown!r} at line {lines[row]}, column "
            f"{column + 1 + int(shifted)} ({int(bad.sum())} non-numeric cell(s) in all)."
        )
        if column == 0 and not shifted and cells.shape[1] > 1:
            message += (
                f" The first column has {int(bad[:, 0].sum())} non-numeric cell(s) of "
                f"{cells.shape[0]}, too few to be row labels, so it is read as data."
            )
        other = next(
            (
                (name, option)
                for name, char, option in _OTHER_SEPARATORS
                if char != separator and char in token
            ),
            None,
        )
        if other is not None:
            message += (
                f" The cell holds a {other[0]}: if that separates the columns, pass "
                f"delimiter={other[1]!r}."
            )
        raise DataError(message, path=path, **ids)
    values = np.full(cells.shape, np.nan)
    present = ~np.isin(cells, NA_TOKENS)
    values[present] = cells[present].astype(float)
    return values


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
