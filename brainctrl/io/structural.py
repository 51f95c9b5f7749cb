"""Connectivity matrices (structural connectomes) from text tables and array files."""

import numpy as np

from brainctrl.exceptions import DataError
from brainctrl.io._arrays import KEYED_SUFFIXES, read_array_file
from brainctrl.io._tables import read_delimited, read_region_table
from brainctrl.io.timeseries import _match_labels, open_table_or_array

__all__ = ["check_connectome", "load_connectivity"]


def _labels_order(labels, table):
    """Row order of ``table`` matching ``labels``; None when the labels are positional."""
    if labels is None or _is_positional(labels):
        return None
    return _match_labels(labels, table)


def _is_positional(labels):
    text = [str(label) for label in labels]
    return text in ([str(i) for i in range(len(text))], [str(i + 1) for i in range(len(text))])


def load_connectivity(
    path,
    *,
    regions=None,
    key=None,
    delimiter=None,
    header="auto",
    subject=None,
    session=None,
):
    r"""Load a region-by-region connectivity matrix, e.g. a structural connectome.

    Parameters
    ----------
    path : str or path-like
        A text table (``.tsv``, ``.csv``, ``.txt``, optionally ``.gz``; with or
        without a header of region names), NumPy ``.npy``/``.npz``, MATLAB ``.mat``
        (v4 to v7.3) or HDF5 ``.h5``. The matrix is square, one row and one column
        per region.
    regions : path-like, pandas.DataFrame or sequence of str, optional
        Region table of the parcellation (see :func:`~brainctrl.io.load_timeseries`).
        Given, the matrix must have one row per region; a table whose header holds
        region names (or integer label keys) is reordered to the table's order,
        otherwise rows are taken in the table's order.
    key : str, optional
        Which array of a file holding several: an ``.npz`` array, a ``.mat``
        variable (e.g. ``'SC'`` beside ``'dist'``), an ``.h5`` dataset path.
        Without it the file's only square numeric matrix is read.
    delimiter : {'tab', 'comma', 'whitespace'} or str of length 1, optional
        Column separator of a text table (default from the extension).
    header : {'auto', True, False}, default='auto'
        Whether the first row of a text table holds region labels.
    subject, session : str, optional
        Used in error messages.

    Returns
    -------
    matrix : ndarray of shape (n_regions, n_regions)
        As stored (float64), in the region table's order when one is given. The
        diagonal is kept: functions that need it zero say so.

    Raises
    ------
    MissingDataError
        If the file does not exist.
    DataError
        If the array is not square, holds NaN, infinite or complex values, or does
        not have one row per region of ``regions``.
    InvalidParameterError
        If ``key`` is missing where the file holds several matrices, or names none.

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, scipy.io
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> sc = np.array([[0.0, 2.0, 1.0], [2.0, 0.0, 0.5], [1.0, 0.5, 0.0]])
    >>> scipy.io.savemat(folder / "sub-01_sc.mat", {"SC": sc, "dist": 10 * sc})
    >>> load_connectivity(folder / "sub-01_sc.mat", key="SC")[0]
    array([0., 2., 1.])
    """
    ids = {"subject": None if subject is None else str(subject), "session": session, "run": None}
    path, kind = open_table_or_array(
        path,
        what="connectivity matrix file",
        header=header,
        delimiter=delimiter,
        key=key,
        ids=ids,
    )
    if kind == "array":
        if path.suffix.lower() in KEYED_SUFFIXES and key is None:
            key = _only_square(path, ids)
        values, labels, _ = read_array_file(path, key=key, ids=ids)
    else:
        values, labels, row_labels = read_delimited(
            path, header=header, delimiter=delimiter, ids=ids
        )
        if labels is None:
            labels = row_labels
    values = np.asarray(values)
    if values.ndim != 2 or values.shape[0] != values.shape[1]:
        raise DataError(
            f"a connectivity matrix must be square (one row and one column per region); got "
            f"shape {values.shape}. Region time series belong under the manifest's "
            "'timeseries' key.",
            path=path,
            **ids,
        )
    if np.iscomplexobj(values) or not np.issubdtype(values.dtype, np.number):
        raise DataError(
            f"a connectivity matrix must hold real numbers; got dtype {values.dtype}.",
            path=path,
            **ids,
        )
    values = np.asarray(values, dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        where = np.argwhere(bad)[0]
        raise DataError(
            f"the connectivity matrix has {int(bad.sum())} NaN or infinite entries (first at "
            f"row {where[0]}, column {where[1]}).",
            path=path,
            **ids,
        )
    if regions is None:
        return values
    table = read_region_table(regions, ids=ids)
    if len(table) != len(values):
        raise DataError(
            f"the connectivity matrix is {len(values)} x {len(values)} but the region table "
            f"has {len(table)} regions.",
            path=path,
            **ids,
        )
    order = _labels_order(labels, table)
    if labels is not None and not _is_positional(labels) and order is None:
        raise DataError(
            f"the matrix's labels do not match the region table by name or key (first: "
            f"{[str(label) for label in labels[:3]]}).",
            path=path,
            **ids,
        )
    if order is None:
        return values
    # labels[i] is region order[i] of the table: put the table's regions first to last
    inverse = np.argsort(order)
    return values[np.ix_(inverse, inverse)]


def _only_square(path, ids):
    """The name of the only square numeric matrix of a keyed file, if there is one."""
    import zipfile

    names = []
    try:
        if path.suffix.lower() == ".npz":
            with np.load(path, allow_pickle=False) as data:
                names = [name for name in data.files if _square(data[name].shape)]
        elif path.suffix.lower() == ".mat":
            import scipy.io

            try:
                entries = scipy.io.whosmat(path)
            except (NotImplementedError, ValueError):
                return None  # v7.3: read_array_file applies its own rule
            names = [name for name, shape, kind in entries if _square(shape) and kind != "cell"]
    except (OSError, ValueError, zipfile.BadZipFile):
        return None  # read_array_file reports the corrupt file
    return names[0] if len(names) == 1 else None


def _square(shape):
    return len(shape) == 2 and shape[0] == shape[1] and shape[0] > 1


def check_connectome(matrix, *, path=None, subject=None, session=None):
    """Check that a matrix is a structural connectome: symmetric and non-negative.

    Tractography gives undirected, non-negative weights. A matrix with only one
    triangle filled is the usual output of a tool asked for half of a symmetric
    matrix (e.g. MRtrix ``tck2connectome`` without ``-symmetric``) and is named
    as such.

    Raises
    ------
    DataError
        Naming the file and subject, with the fix.
    """
    ids = {"path": path, "subject": subject, "session": session}
    matrix = np.asarray(matrix, dtype=float)
    negative = matrix < 0
    if negative.any():
        where = np.argwhere(negative)[0]
        raise DataError(
            f"a structural connectome must have non-negative weights; got "
            f"{int(negative.sum())} negative entries (first at row {where[0]}, column "
            f"{where[1]}: {matrix[tuple(where)]:.6g}).",
            **ids,
        )
    gap = np.abs(matrix - matrix.T)
    scale = max(float(np.abs(matrix).max(initial=0.0)), 1e-300)
    if gap.max(initial=0.0) <= 1e-10 * scale:
        return
    off = ~np.eye(len(matrix), dtype=bool)
    upper, lower = np.triu(off), np.tril(off)
    for name, empty in (("upper", lower), ("lower", upper)):
        if not matrix[empty].any() and matrix[~empty & off].any():
            raise DataError(
                f"the connectome has only its {name} triangle filled (the other is zero), "
                "as tools write half of a symmetric matrix (e.g. MRtrix tck2connectome "
                "without -symmetric): save it symmetric, W + W.T (the diagonal once).",
                **ids,
            )
    where = np.unravel_index(np.argmax(gap), gap.shape)
    raise DataError(
        f"a structural connectome must be symmetric; the largest |W - W.T| is "
        f"{gap[where]:.3g} at row {where[0]}, column {where[1]} (weights up to "
        f"{scale:.3g}).",
        **ids,
    )
