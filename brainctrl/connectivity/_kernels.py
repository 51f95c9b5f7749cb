"""Private kernels shared by the static and dynamic connectivity functions."""

import warnings

import numpy as np

from brainctrl.exceptions import OrientationWarning

__all__ = [
    "as_timeseries",
    "fisher_z_inplace",
    "upper_triangle",
    "vector_to_matrix",
    "warn_if_wide",
    "windowed_gram",
]

#: Bytes of scratch memory one chunk of windows may use (besides the output).
CHUNK_BYTES = 32 * 2**20


def as_timeseries(data):
    """Split a run record (e.g. ``RunData``) into (timeseries, t_r, context).

    Plain arrays give ``(data, None, None)``; objects with ``timeseries`` and
    ``t_r`` attributes give their time series, repetition time and a
    ``describe()`` string for error messages.
    """
    if hasattr(data, "timeseries") and hasattr(data, "t_r"):
        describe = getattr(data, "describe", None)
        context = describe() if callable(describe) else None
        return data.timeseries, data.t_r, context
    return data, None, None


def warn_if_wide(timeseries, name, context, *, stacklevel):
    """Warn (:class:`OrientationWarning`) if a run has more columns than rows.

    A ``(n_timepoints, n_regions)`` run with more regions than frames is possible (a
    short run on a fine parcellation) but is more often a regions-by-time array.
    """
    n_rows, n_columns = timeseries.shape
    if n_columns <= n_rows:
        return
    prefix = f"{context}: " if context else ""
    warnings.warn(
        f"{prefix}{name} has more columns than rows (shape {timeseries.shape}), so it is "
        f"read as {n_rows} timepoints of {n_columns} regions; brainctrl expects "
        "(n_timepoints, n_regions). If its rows are regions, pass its transpose "
        "(timeseries.T, or orientation='region_by_time' when loading); if it really has "
        "fewer frames than regions, its covariance is singular.",
        OrientationWarning,
        stacklevel=stacklevel + 1,
    )


def upper_triangle(matrices):
    """Entries above the diagonal (``k=1``), row by row: ``(..., n(n-1)/2)``."""
    matrices = np.asarray(matrices)
    n_regions = matrices.shape[-1]
    rows, cols = np.triu_indices(n_regions, k=1)
    flat = rows * n_regions + cols
    return np.take(matrices.reshape(*matrices.shape[:-2], n_regions * n_regions), flat, axis=-1)


def vector_to_matrix(vectors, n_regions, *, diagonal=0.0):
    """Inverse of :func:`upper_triangle`: symmetric ``(..., n, n)`` matrices."""
    vectors = np.asarray(vectors)
    rows, cols = np.triu_indices(n_regions, k=1)
    out = np.empty((*vectors.shape[:-1], n_regions, n_regions), dtype=vectors.dtype)
    out[..., rows, cols] = vectors
    out[..., cols, rows] = vectors
    idx = np.arange(n_regions)
    out[..., idx, idx] = diagonal
    return out


def fisher_z_inplace(values):
    """Clip to the largest magnitude below 1 in the dtype, then ``arctanh`` in place."""
    bound = np.nextafter(values.dtype.type(1), values.dtype.type(0))
    np.clip(values, -bound, bound, out=values)
    np.arctanh(values, out=values)
    return values


def windowed_gram(
    data,
    window_length,
    step,
    *,
    center,
    weights=None,
    normalize,
    out,
    vectorize,
    chunk_bytes=None,
):
    """Per-window Gram matrices of a (pre-processed) signal, in chunks of windows.

    For window ``k`` (frames ``k*step ... k*step + window_length - 1``) and each
    region, take the window's samples, optionally subtract their (weighted)
    mean, multiply by ``sqrt(weights)``, optionally scale to unit norm, and
    return ``Z Z^T``: the Pearson correlation when centred and normalised, the
    mean product when neither and the samples are pre-scaled.

    Parameters
    ----------
    data : ndarray of shape (n_timepoints, n_regions, n_parts)
        Float64 signal; the ``n_parts`` axis is concatenated to the time axis
        inside each window (used for cosine and sine of phases).
    out : ndarray
        ``(n_windows, n, n)`` or, when ``vectorize``, ``(n_windows, n(n-1)/2)``;
        written in place, in its own dtype (the matrix product runs in it).

    Returns
    -------
    degenerate : ndarray of bool, shape (n_windows, n_regions) or None
        Regions whose centred window has (numerically) zero norm; their rows
        and columns in ``out`` are NaN. None when not normalising.
    """
    if chunk_bytes is None:
        chunk_bytes = CHUNK_BYTES
    n_timepoints, n_regions, n_parts = data.shape
    n_windows = out.shape[0]
    compute_dtype = out.dtype
    width = n_parts * window_length
    per_window = n_regions * width * (8 + compute_dtype.itemsize)
    if vectorize:
        per_window += n_regions * n_regions * compute_dtype.itemsize
    chunk = int(max(1, min(n_windows, chunk_bytes // per_window)))

    # (n_timepoints - window_length + 1, n_regions, n_parts, window_length), a view.
    view = np.lib.stride_tricks.sliding_window_view(data, window_length, axis=0)
    if weights is not None:
        weights = np.asarray(weights, dtype=np.float64)
        mean_weights = weights / weights.sum()
        root_weights = np.sqrt(weights)
    if normalize:
        # Per region, the largest magnitude over the run: a window whose centred
        # norm is below 1e-12 of it (per sample) holds a constant signal.
        scale = np.abs(data).max(axis=(0, 2))
        total_weight = window_length if weights is None else weights.sum()
        tolerance = (1e-12 * scale) ** 2 * total_weight
        degenerate = np.zeros((n_windows, n_regions), dtype=bool)
    else:
        degenerate = None
    if vectorize:
        # Row i of the upper triangle fills out[:, offsets[i]:offsets[i + 1]].
        offsets = np.concatenate([[0], np.cumsum(np.arange(n_regions - 1, 0, -1))])
    diagonal = np.arange(n_regions)

    for start in range(0, n_windows, chunk):
        stop = min(start + chunk, n_windows)
        block = view[start * step : (stop - 1) * step + 1 : step]  # view
        block = np.array(block, dtype=np.float64)  # (c, n_regions, n_parts, w) copy
        if center:
            if weights is None:
                mean = block.mean(axis=-1, keepdims=True)
            else:
                mean = (block @ mean_weights)[..., None]
            block -= mean
        if weights is not None:
            block *= root_weights
        block = block.reshape(stop - start, n_regions, width)
        if normalize:
            squared = np.einsum("crw,crw->cr", block, block)
            bad = squared <= tolerance
            squared[bad] = np.nan
            block /= np.sqrt(squared)[..., None]
            degenerate[start:stop] = bad
        z = block.astype(compute_dtype, copy=False)
        if vectorize:
            gram = np.matmul(z, z.transpose(0, 2, 1))
            for i in range(n_regions - 1):
                out[start:stop, offsets[i] : offsets[i + 1]] = gram[:, i, i + 1 :]
        else:
            target = out[start:stop]
            np.matmul(z, z.transpose(0, 2, 1), out=target)
            if normalize:
                target[:, diagonal, diagonal] = 1
    if normalize and degenerate.any():
        # A NaN row in Z already made its row and column NaN; the diagonal too.
        if not vectorize:
            windows, regions = np.nonzero(degenerate)
            out[windows, regions, regions] = np.nan
    return degenerate
