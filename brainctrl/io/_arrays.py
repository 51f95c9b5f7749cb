"""Private readers of array files: NumPy, MATLAB, HDF5 and Parquet time series.

Each reader returns ``(values, column_labels, row_labels)`` like
:func:`brainctrl.io._tables.read_delimited`; :func:`brainctrl.io.load_timeseries`
orients and checks the result. Files are read without unpickling (NumPy
``allow_pickle=False``; MATLAB objects and cells are reported, never executed).
"""

import zipfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from brainctrl.exceptions import BrainctrlError, DataError, InvalidParameterError, _with_context

__all__ = ["ARRAY_SUFFIXES", "KEYED_SUFFIXES", "read_array_file"]

#: Binary array formats read by :func:`read_array_file`.
ARRAY_SUFFIXES = (".npy", ".npz", ".mat", ".h5", ".hdf5", ".parquet")

#: Formats holding several named arrays, among which ``key`` chooses.
KEYED_SUFFIXES = (".npz", ".mat", ".h5", ".hdf5")

_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")

_MATLAB_NUMERIC = (
    "double",
    "single",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
)


def _corrupt(what, exc, path, ids):
    return DataError(
        f"{what} is truncated or corrupt and cannot be read ({type(exc).__name__}: {exc}).",
        path=path,
        **ids,
    )


def _key_error(message, path, ids):
    return InvalidParameterError(_with_context(message, path=path, **ids))


def _as_timeseries_array(array, name, path, ids):
    """A real 2-D float array, or a DataError naming the array."""
    array = np.asarray(array)
    if array.ndim != 2:
        raise DataError(
            f"{name} must be 2-dimensional (time by region); got shape {array.shape}.",
            path=path,
            **ids,
        )
    if np.iscomplexobj(array) or not np.issubdtype(array.dtype, np.number):
        raise DataError(
            f"{name} must be real-valued numbers; got dtype {array.dtype}.", path=path, **ids
        )
    return np.asarray(array, dtype=float)


def _is_matrix(shape):
    """A 2-D shape with both dimensions above 1 (time series, not a scalar or vector)."""
    return len(shape) == 2 and min(shape) > 1


def _choose(entries, key, what, path, ids):
    """Pick the name ``key`` among ``entries`` (name -> (shape, kind, numeric)).

    Without a key: the only entry, else the only numeric matrix (2-D, both
    dimensions above 1), else an error listing every entry with its shape.
    """
    listing = ", ".join(
        f"{name} ({' x '.join(str(n) for n in shape) or 'scalar'} {kind})"
        for name, (shape, kind, _) in entries.items()
    )
    if key is not None:
        if not isinstance(key, str):
            raise _key_error(
                f"'key' must be a string naming one of the {what}s; got {key!r}.", path, ids
            )
        if key not in entries:
            raise _key_error(
                f"'key' must be one of {list(entries)} (the {what}s of the file: {listing}); "
                f"got {key!r}.",
                path,
                ids,
            )
        return key
    if len(entries) == 1:
        return next(iter(entries))
    matrices = [
        name for name, (shape, _, numeric) in entries.items() if numeric and _is_matrix(shape)
    ]
    if len(matrices) == 1:
        return matrices[0]
    if not entries:
        raise DataError(f"the file holds no {what}s.", path=path, **ids)
    found = "no numeric matrix" if not matrices else f"{len(matrices)} numeric matrices"
    raise _key_error(
        f"'key' must name one of the {what}s of the file, which holds {found} (2-D, both "
        f"dimensions above 1) among: {listing}; got None.",
        path,
        ids,
    )


def _read_numpy(path, key, ids):
    with open(path, "rb") as handle:
        magic = handle.read(len(_NPY_MAGIC))
    is_zip = magic[:4] in _ZIP_MAGIC
    if not is_zip and magic != _NPY_MAGIC:
        kind = ".npz (zip)" if path.suffix.lower() == ".npz" else ".npy"
        raise DataError(
            f"not a complete NumPy {kind} file: it starts with {len(magic)} byte(s) {magic!r}, "
            "not the NumPy header; it is truncated, empty or in another format.",
            path=path,
            **ids,
        )
    try:
        loaded = np.load(path, allow_pickle=False)
    except zipfile.BadZipFile as exc:
        raise _corrupt("NumPy .npz archive", exc, path, ids) from None
    except (ValueError, OSError, EOFError) as exc:
        if "pickle" in str(exc):
            raise DataError(
                f"NumPy file could not be read without pickle ({exc}); object arrays are "
                "not accepted.",
                path=path,
                **ids,
            ) from None
        raise _corrupt("NumPy .npy file", exc, path, ids) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        if key is not None:
            raise _key_error(
                f"'key' applies to files holding several arrays {KEYED_SUFFIXES}; got "
                f"{key!r} for a .npy file.",
                path,
                ids,
            )
        return _as_timeseries_array(loaded, "array", path, ids)
    with loaded:
        entries = {}
        members = set(loaded.zip.namelist())
        for name in loaded.files:
            member_name = f"{name}.npy" if f"{name}.npy" in members else name
            try:
                with loaded.zip.open(member_name) as member:
                    version = np.lib.format.read_magic(member)
                    shape, _, dtype = _read_npy_header(member, version)
            except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
                raise _corrupt(f"array {name!r} of the .npz archive", exc, path, ids) from None
            numeric = np.issubdtype(dtype, np.number) and not np.issubdtype(
                dtype, np.complexfloating
            )
            entries[name] = (shape, str(dtype), numeric)
        name = _choose(entries, key, "array", path, ids)
        try:
            array = loaded[name]
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            if "pickle" in str(exc):
                raise DataError(
                    f"array {name!r} could not be read without pickle ({exc}); object arrays "
                    "are not accepted.",
                    path=path,
                    **ids,
                ) from None
            raise _corrupt(f"array {name!r} of the .npz archive", exc, path, ids) from None
    return _as_timeseries_array(array, f"array {name!r}", path, ids)


def _read_npy_header(handle, version):
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(handle)
    return np.lib.format.read_array_header_2_0(handle)


def _matlab_version(path, ids):
    """Major MAT-file version: 0 (v4), 1 (v5 to v7) or 2 (v7.3, HDF5)."""
    from scipy.io.matlab import MatReadError, matfile_version

    try:
        major, _ = matfile_version(str(path))
    except (MatReadError, ValueError, IndexError, OSError, EOFError) as exc:
        raise _corrupt("MATLAB file", exc, path, ids) from None
    return major


def _read_matlab_v5(path, key, ids):
    from scipy.io import loadmat, whosmat
    from scipy.io.matlab import MatReadError

    errors = (MatReadError, ValueError, IndexError, OSError, EOFError, TypeError, zlib.error)
    try:
        variables = whosmat(str(path))
    except errors as exc:
        raise _corrupt("MATLAB file", exc, path, ids) from None
    entries = {
        name: (tuple(shape), kind, kind in _MATLAB_NUMERIC) for name, shape, kind in variables
    }
    name = _choose(entries, key, "variable", path, ids)
    _, kind, numeric = entries[name]
    if not numeric:
        raise DataError(
            f"variable {name!r} is a MATLAB {kind}, not a numeric matrix.", path=path, **ids
        )
    try:
        array = loadmat(str(path), variable_names=[name])[name]
    except errors as exc:
        raise _corrupt("MATLAB file", exc, path, ids) from None
    return _as_timeseries_array(array, f"variable {name!r}", path, ids)


def _matlab_class(item):
    value = item.attrs.get("MATLAB_class", b"")
    return value.decode() if isinstance(value, bytes) else str(value)


def _read_matlab_v73(path, key, ids):
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            entries = {}
            for name, item in handle.items():
                if name.startswith("#"):  # MATLAB's '#refs#' and '#subsystem#' groups
                    continue
                kind = _matlab_class(item) or type(item).__name__.lower()
                if not isinstance(item, h5py.Dataset) or item.attrs.get("MATLAB_empty", 0):
                    shape = (0, 0) if isinstance(item, h5py.Dataset) else ()
                    entries[name] = (shape, kind, False)
                    continue
                # HDF5 stores MATLAB's column-major arrays with the axes reversed.
                complex_valued = item.dtype.names is not None
                entries[name] = (
                    tuple(reversed(item.shape)),
                    f"complex {kind}" if complex_valued else kind,
                    kind in _MATLAB_NUMERIC and not complex_valued,
                )
            name = _choose(entries, key, "variable", path, ids)
            _, kind, numeric = entries[name]
            if not numeric:
                raise DataError(
                    f"variable {name!r} is a MATLAB {kind}, not a real numeric matrix.",
                    path=path,
                    **ids,
                )
            array = handle[name][()].T
    except BrainctrlError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise _corrupt("MATLAB v7.3 (HDF5) file", exc, path, ids) from None
    return _as_timeseries_array(array, f"variable {name!r}", path, ids)


def _read_hdf5(path, key, ids):
    import h5py

    try:
        with h5py.File(path, "r") as handle:
            entries = {}

            def visit(name, item):
                if isinstance(item, h5py.Dataset):
                    numeric = item.dtype.names is None and np.issubdtype(item.dtype, np.number)
                    numeric = numeric and not np.issubdtype(item.dtype, np.complexfloating)
                    entries[name] = (tuple(item.shape), str(item.dtype), numeric)

            handle.visititems(visit)
            name = _choose(entries, key, "dataset", path, ids)
            array = handle[name][()]
    except BrainctrlError:
        raise
    except (OSError, KeyError, ValueError) as exc:
        raise _corrupt("HDF5 file", exc, path, ids) from None
    return _as_timeseries_array(array, f"dataset {name!r}", path, ids)


def _read_parquet(path, ids):
    import pyarrow

    try:
        frame = pd.read_parquet(path)
    except (ValueError, OSError, pyarrow.ArrowException) as exc:
        raise _corrupt("Parquet file", exc, path, ids) from None
    row_labels = None
    if not isinstance(frame.index, pd.RangeIndex):
        row_labels = [str(label) for label in frame.index]
    non_numeric = [
        column
        for column in frame.columns
        if not pd.api.types.is_numeric_dtype(frame[column])
        or pd.api.types.is_bool_dtype(frame[column])
        or pd.api.types.is_complex_dtype(frame[column])
    ]
    if non_numeric[:1] == [frame.columns[0]] and row_labels is None and frame.shape[1] > 1:
        # A first column of labels (e.g. region names of a regions-by-time table).
        row_labels = [str(label) for label in frame.iloc[:, 0]]
        frame = frame.iloc[:, 1:]
        non_numeric = non_numeric[1:]
    if non_numeric:
        kinds = ", ".join(f"{column!r} ({frame[column].dtype})" for column in non_numeric[:5])
        raise DataError(
            f"{len(non_numeric)} column(s) are not real numbers: {kinds}.", path=path, **ids
        )
    values = frame.to_numpy(dtype=float, na_value=np.nan)
    return values, [str(column) for column in frame.columns], row_labels


def read_array_file(path, *, key=None, ids=None):
    """Read a time series array from a NumPy, MATLAB, HDF5 or Parquet file.

    Parameters
    ----------
    path : pathlib.Path
        ``.npy``, ``.npz``, ``.mat`` (v4 to v7 through :func:`scipy.io.loadmat`, v7.3
        through h5py), ``.h5``/``.hdf5`` or ``.parquet``.
    key : str, optional
        Array (``.npz``), variable (``.mat``) or dataset path (``.h5``, e.g.
        ``'subject/ts'``) to read. Without it, the file's only array is read, or its
        only numeric matrix (2-D, both dimensions above 1).
    ids : dict, optional
        ``subject``/``session``/``run`` used in error messages.

    Returns
    -------
    values : ndarray of shape (n_rows, n_columns)
        As stored; MATLAB arrays keep MATLAB's shape (v7.3 files store them reversed).
    column_labels : list of str or None
        Parquet column names.
    row_labels : list of str or None
        A Parquet index or first column of labels.

    Raises
    ------
    DataError
        If the file is truncated or corrupt, or the array is not a real 2-D array.
    InvalidParameterError
        If ``key`` is missing where it is needed, names nothing in the file, or is
        given for a format without names.
    """
    ids = ids or {}
    path = Path(path)
    suffix = path.suffix.lower()
    if key is not None and suffix not in KEYED_SUFFIXES:
        raise _key_error(
            f"'key' applies to files holding several arrays {KEYED_SUFFIXES}; got {key!r} "
            f"for a {suffix} file.",
            path,
            ids,
        )
    if suffix in (".npy", ".npz"):
        return _read_numpy(path, key, ids), None, None
    if suffix == ".mat":
        if _matlab_version(path, ids) == 2:
            return _read_matlab_v73(path, key, ids), None, None
        return _read_matlab_v5(path, key, ids), None, None
    if suffix in (".h5", ".hdf5"):
        return _read_hdf5(path, key, ids), None, None
    if suffix == ".parquet":
        return _read_parquet(path, ids)
    raise InvalidParameterError(
        f"not an array file: {path.name!r}; expected one of {ARRAY_SUFFIXES}."
    )
