"""Sliding-window (dynamic) functional connectivity.

Window ``k`` covers frames ``k*step ... k*step + window_length - 1``, so a run of
``n_timepoints`` frames gives ``(n_timepoints - window_length) // step + 1``
windows (for ``method="mtd"`` the windows run over the ``n_timepoints - 1``
first differences instead).
"""

import logging
import math
import warnings

import numpy as np
from scipy import signal

from brainctrl._utils.validation import (
    check_array,
    check_option,
    check_positive,
    check_timeseries,
)
from brainctrl.connectivity._kernels import (
    as_timeseries,
    fisher_z_inplace,
    upper_triangle,
    warn_if_wide,
    windowed_gram,
)
from brainctrl.exceptions import DataError, InvalidParameterError

__all__ = [
    "ConstantWindowWarning",
    "ShortWindowWarning",
    "connectivity_dynamics",
    "minimum_window_length",
    "sliding_window_connectivity",
    "taper_weights",
    "window_centres",
    "windows_from_seconds",
]

logger = logging.getLogger(__name__)

_METHODS = ("pearson", "mtd", "phase")
_TAPERS = ("rectangular", "gaussian")


class ConstantWindowWarning(UserWarning):
    """A region's signal is constant within a window; its correlations are NaN there."""


class ShortWindowWarning(UserWarning):
    """A window is shorter than the slowest period the high-pass filter lets through."""


def minimum_window_length(high_pass, t_r):
    """Shortest window (in frames) that spans one period of the high-pass cut-off.

    Parameters
    ----------
    high_pass : float
        High-pass cut-off frequency of the preprocessing, in Hz.
    t_r : float
        Repetition time in seconds.

    Returns
    -------
    window_length : int
        ``ceil(1 / (high_pass * t_r))`` frames.

    Notes
    -----
    Windows shorter than ``1 / f_min`` let slow fluctuations that survived the
    high-pass filter appear as spurious changes of connectivity (Leonardi & Van
    De Ville 2015).

    References
    ----------
    .. [1] Leonardi N, Van De Ville D (2015). On spurious and real fluctuations of
       dynamic functional connectivity during rest. NeuroImage 104:430-436.

    Examples
    --------
    >>> minimum_window_length(0.01, 0.72)
    139
    """
    check_positive("high_pass", high_pass)
    check_positive("t_r", t_r)
    # Guard against 1/(0.01*0.72) = 138.88...9 style rounding just above an integer.
    return int(math.ceil(round(1.0 / (high_pass * t_r), 9)))


def windows_from_seconds(t_r, window_seconds, step_seconds=None):
    """Convert a window length and step in seconds to whole frames.

    Parameters
    ----------
    t_r : float
        Repetition time in seconds.
    window_seconds : float
        Window length in seconds.
    step_seconds : float, optional
        Step between window starts in seconds; one frame by default.

    Returns
    -------
    window_length : int
        ``round(window_seconds / t_r)`` frames.
    step : int
        ``round(step_seconds / t_r)`` frames (at least 1).

    Examples
    --------
    >>> windows_from_seconds(0.72, 44, 0.72)
    (61, 1)
    """
    check_positive("t_r", t_r)
    check_positive("window_seconds", window_seconds)
    window_length = int(round(window_seconds / t_r))
    if window_length < 1:
        raise InvalidParameterError(
            f"'window_seconds' must be at least one frame (t_r = {t_r} s); got {window_seconds!r}."
        )
    if step_seconds is None:
        return window_length, 1
    check_positive("step_seconds", step_seconds)
    step = int(round(step_seconds / t_r))
    if step < 1:
        raise InvalidParameterError(
            f"'step_seconds' must be at least one frame (t_r = {t_r} s); got {step_seconds!r}."
        )
    return window_length, step


def window_centres(n_windows, window_length, step, t_r, *, method="pearson"):
    """Centres of the windows in seconds, frame 0 being at 0 s.

    Parameters
    ----------
    n_windows : int
        Number of windows.
    window_length, step : int
        Window length and step in frames.
    t_r : float
        Repetition time in seconds.
    method : {"pearson", "mtd", "phase"}, default="pearson"
        For ``"mtd"`` the windows run over first differences, and difference
        ``j`` sits halfway between frames ``j`` and ``j + 1``.

    Returns
    -------
    centres : ndarray of shape (n_windows,)
        ``(k * step + (window_length - 1) / 2) * t_r`` (plus ``t_r / 2`` for MTD).

    Examples
    --------
    >>> window_centres(3, 5, 2, 2.0)
    array([ 4.,  8., 12.])
    """
    check_option("method", method, _METHODS)
    offset = (window_length - 1) / 2 + (0.5 if method == "mtd" else 0.0)
    return (np.arange(n_windows) * step + offset) * t_r


def taper_weights(window_length, sigma=3.0):
    """Gaussian-tapered window of Allen et al. (2014), restricted to the window.

    Parameters
    ----------
    window_length : int
        Window length in frames.
    sigma : float, default=3.0
        Standard deviation of the Gaussian in frames.

    Returns
    -------
    weights : ndarray of shape (window_length,)
        ``c(t) = sum_{j=0}^{L-1} exp(-(t - j)^2 / (2 sigma^2))`` for the frames
        ``t = 0 ... L-1`` of the window, divided by its maximum.

    Notes
    -----
    Allen et al. (2014) convolve a rectangle of ``L`` frames with a Gaussian
    of ``sigma = 3`` TR. Here the taper is evaluated on the window's own ``L``
    frames (the tails beyond the rectangle are cut), so window ``k`` still
    covers exactly frames ``k*step ... k*step + L - 1``; edge frames get about
    half the weight of central frames.

    References
    ----------
    .. [1] Allen EA, Damaraju E, Plis SM, Erhardt EB, Eichele T, Calhoun VD (2014).
       Tracking whole-brain connectivity dynamics in the resting state. Cereb
       Cortex 24:663-676.

    Examples
    --------
    >>> taper_weights(5, sigma=1.0).round(3)
    array([0.706, 0.95 , 1.   , 0.95 , 0.706])
    """
    check_positive("window_length", window_length, integer=True)
    check_positive("sigma", sigma)
    frames = np.arange(window_length)
    weights = np.exp(-((frames[:, None] - frames[None, :]) ** 2) / (2.0 * sigma**2)).sum(axis=1)
    return weights / weights.max()


def _check_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise InvalidParameterError(f"'dtype' must be float32 or float64; got {dtype.name!r}.")
    return dtype


def _check_window_options(
    window_length, n_samples, method, fisher_z, t_r, return_centres, high_pass
):
    """Check the window against the run, and the options against the method."""
    if window_length > n_samples:
        what = "first differences" if method == "mtd" else "timepoints"
        raise InvalidParameterError(
            f"'window_length' must not exceed the number of {what} ({n_samples}); "
            f"got {window_length!r}."
        )
    if method == "pearson" and window_length < 3:
        raise InvalidParameterError(
            f"'window_length' must be at least 3 frames for Pearson correlation; "
            f"got {window_length!r}."
        )
    if fisher_z and method != "pearson":
        raise InvalidParameterError(
            f"'fisher_z' applies to method='pearson' only; got method={method!r}."
        )
    if t_r is not None:
        check_positive("t_r", t_r)
    if return_centres and t_r is None:
        raise InvalidParameterError("'t_r' is needed for return_centres=True; got None.")
    if high_pass is not None:
        if t_r is None:
            raise InvalidParameterError("'t_r' is needed to check 'high_pass'; got None.")
        shortest = minimum_window_length(high_pass, t_r)
        if window_length < shortest:
            warnings.warn(
                f"window_length={window_length} frames ({window_length * t_r:g} s) is "
                f"shorter than 1/high_pass = {1 / high_pass:g} s ({shortest} frames at "
                f"t_r={t_r:g} s); slow fluctuations can appear as spurious dynamic "
                "connectivity (Leonardi & Van De Ville 2015).",
                ShortWindowWarning,
                stacklevel=3,
            )


def _window_weights(method, taper, taper_sigma, window_length):
    """The taper of each window's frames (None: rectangular)."""
    weights = None
    if method == "pearson":
        if isinstance(taper, str):
            check_option("taper", taper, _TAPERS)
            if taper == "gaussian":
                weights = taper_weights(window_length, taper_sigma)
        else:
            weights = check_array("taper", taper, ndim=1)
            if weights.shape != (window_length,) or not np.all(weights >= 0) or weights.sum() <= 0:
                raise InvalidParameterError(
                    f"'taper' as an array must hold {window_length} non-negative weights "
                    f"with a positive sum; got shape {weights.shape}."
                )
    elif not (isinstance(taper, str) and taper == "rectangular"):
        raise InvalidParameterError(
            f"'taper' applies to method='pearson' only; got taper={taper!r} with "
            f"method={method!r}."
        )
    return weights


def sliding_window_connectivity(
    timeseries,
    window_length,
    step=1,
    *,
    method="pearson",
    taper="rectangular",
    taper_sigma=3.0,
    fisher_z=False,
    vectorize=False,
    dtype=np.float64,
    t_r=None,
    return_centres=False,
    high_pass=None,
):
    """Compute connectivity in sliding windows: one matrix per window.

    Parameters
    ----------
    timeseries : array-like of shape (n_timepoints, n_regions), RunData, or a list
        Region time series of one run (a :class:`~brainctrl.io.RunData` also
        supplies ``t_r`` and names the run in errors); a list of runs gives a
        list of results (runs are never joined).
    window_length : int
        Window length in frames (see :func:`windows_from_seconds`). At least 3
        for ``method="pearson"``; at least 1 otherwise (``window_length=1`` with
        ``method="phase"`` gives frame-wise phase synchrony).
    step : int, default=1
        Frames between the starts of consecutive windows.
    method : {"pearson", "mtd", "phase"}, default="pearson"
        ``"pearson"``: Pearson correlation within each window (weighted when
        tapered). ``"mtd"``: multiplication of temporal derivatives (Shine et
        al. 2015), the window mean of products of standardised first
        differences. ``"phase"``: phase synchrony, the window mean of
        ``cos(phi_i - phi_j)`` of Hilbert phases.
    taper : {"rectangular", "gaussian"} or array-like of shape (window_length,), \
default="rectangular"
        Frame weights of the window for ``method="pearson"``; ``"gaussian"`` is
        the rectangle convolved with a Gaussian of ``taper_sigma`` frames
        (Allen et al. 2014, see :func:`taper_weights`), an array gives your own
        non-negative weights.
    taper_sigma : float, default=3.0
        Gaussian standard deviation in frames for ``taper="gaussian"``.
    fisher_z : bool, default=False
        Return ``arctanh(r)`` (``method="pearson"`` only). ``|r| = 1`` is
        clipped to the largest value below 1 in ``dtype`` first, and the
        diagonal is set to 0.
    vectorize : bool, default=False
        Return only the upper triangle (``k=1``, row by row, as
        ``numpy.triu_indices``): ``(n_windows, n_regions (n_regions - 1) / 2)``.
        Halves memory; use it for large ``n_regions``.
    dtype : {numpy.float64, numpy.float32}, default=numpy.float64
        Output dtype. With float32 the per-window matrix product runs in single
        precision (after centring and scaling in double precision), which is
        accurate to about 1e-6.
    t_r : float, optional
        Repetition time in seconds; needed for ``return_centres`` and
        ``high_pass``.
    return_centres : bool, default=False
        Also return the window centres in seconds (see :func:`window_centres`).
    high_pass : float, optional
        High-pass cut-off (Hz) of the preprocessing; warns with
        :class:`ShortWindowWarning` when ``window_length`` is below
        :func:`minimum_window_length`.

    Returns
    -------
    connectivity : ndarray of shape (n_windows, n_regions, n_regions) or \
(n_windows, n_regions * (n_regions - 1) // 2)
        One matrix (or upper triangle) per window. Pearson and phase matrices
        have a unit diagonal (0 after Fisher z); MTD has the window mean of the
        squared standardised differences on it.
    centres : ndarray of shape (n_windows,)
        Window centres in seconds; only with ``return_centres=True``.

    Raises
    ------
    DataError
        If the time series is not 2-D, is complex, has fewer than 3 frames, holds
        NaN or infinite values, or has a region constant over the whole run.
    InvalidParameterError
        If ``window_length`` exceeds the run (or is too short for the method),
        ``step < 1``, or an option is unknown.

    Warns
    -----
    OrientationWarning
        If the run has more columns than rows: it may be regions by time (the
        message gives its shape and the transpose to pass).
    ConstantWindowWarning
        If a region is constant within some window (but not over the run): its
        row and column of those windows are NaN (Pearson is 0/0 there).
    ShortWindowWarning
        If ``high_pass`` is given and the window is shorter than ``1 / high_pass``.

    Notes
    -----
    Window ``k`` covers frames ``k*step ... k*step + window_length - 1``. For
    Pearson, each region's window ``x`` with weights ``w_t`` (all 1 for the
    rectangular window) is centred at its weighted mean and scaled,
    ``z = sqrt(w) (x - m_w) / ||sqrt(w) (x - m_w)||``, and ``r = Z Z^T``: the
    (weighted) Pearson correlation. Centring happens per window in double
    precision, so raw-scale BOLD (means around 1e4) loses no digits, unlike
    running sums of ``x`` and ``x^2``; the windows are processed as batched
    matrix products in chunks of about 32 MiB.

    MTD (Shine et al. 2015): ``d_i(t) = x_i(t + 1) - x_i(t)`` divided by its
    standard deviation over the run (``ddof=1``, not centred), and
    ``MTD_ij(k) = mean_{t in window k} d_i(t) d_j(t)``, windows taken over the
    ``n_timepoints - 1`` differences. teneto's ``derive_temporalnetwork``
    (0.5.3) divides by the ``ddof=0`` standard deviation instead, so its values
    are ``n / (n - 1)`` times these, ``n`` being the number of differences.

    Phase synchrony: ``phi_i`` = angle of the analytic signal
    (:func:`scipy.signal.hilbert` of each centred region over the whole run),
    ``PS_ij(k) = mean_{t in window k} cos(phi_i(t) - phi_j(t))``. Band-pass the
    data first (e.g. 0.01-0.1 Hz); phases of broadband signals are hard to
    interpret.

    References
    ----------
    .. [1] Allen EA et al. (2014). Tracking whole-brain connectivity dynamics in
       the resting state. Cereb Cortex 24:663-676.
    .. [2] Shine JM et al. (2015). Estimation of dynamic functional connectivity
       using Multiplication of Temporal Derivatives. NeuroImage 122:399-407.
    .. [3] Glerean E et al. (2012). Functional magnetic resonance imaging phase
       synchronization as a measure of dynamic functional connectivity. Brain
       Connect 2:91-101.
    .. [4] Leonardi N, Van De Ville D (2015). On spurious and real fluctuations of
       dynamic functional connectivity during rest. NeuroImage 104:430-436.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 5.0], [4.0, 3.0]])
    >>> sliding_window_connectivity(x, 3)[:, 0, 1].round(3)
    array([ 0.982, -0.5  ])
    """
    if isinstance(timeseries, (list, tuple)):
        return [
            sliding_window_connectivity(
                run,
                window_length,
                step,
                method=method,
                taper=taper,
                taper_sigma=taper_sigma,
                fisher_z=fisher_z,
                vectorize=vectorize,
                dtype=dtype,
                t_r=t_r,
                return_centres=return_centres,
                high_pass=high_pass,
            )
            for run in timeseries
        ]
    timeseries, run_t_r, context = as_timeseries(timeseries)
    if t_r is None:
        t_r = run_t_r
    check_option("method", method, _METHODS)
    dtype = _check_dtype(dtype)
    check_positive("window_length", window_length, integer=True)
    check_positive("step", step, integer=True)
    ts = check_timeseries(timeseries, min_timepoints=3, context=context)
    warn_if_wide(ts, "timeseries", context, stacklevel=2)
    n_timepoints, n_regions = ts.shape
    n_samples = n_timepoints - 1 if method == "mtd" else n_timepoints
    _check_window_options(
        window_length, n_samples, method, fisher_z, t_r, return_centres, high_pass
    )
    weights = _window_weights(method, taper, taper_sigma, window_length)

    n_windows = (n_samples - window_length) // step + 1
    if vectorize:
        shape = (n_windows, n_regions * (n_regions - 1) // 2)
    else:
        shape = (n_windows, n_regions, n_regions)
    out = np.empty(shape, dtype=dtype)
    logger.debug(
        "sliding windows: method=%s, %d windows of %d frames, %d regions",
        method,
        n_windows,
        window_length,
        n_regions,
    )

    if method == "pearson":
        # Removing the run mean first is cheap and keeps later sums small.
        data = (ts - ts.mean(axis=0))[:, :, None]
        degenerate = windowed_gram(
            data,
            window_length,
            step,
            center=True,
            weights=weights,
            normalize=True,
            out=out,
            vectorize=vectorize,
        )
        if degenerate.any():
            windows, regions = np.nonzero(degenerate)
            where = f"{context}: " if context else ""
            n_bad_regions, n_bad_windows = len(np.unique(regions)), len(np.unique(windows))
            warnings.warn(
                f"{where}{n_bad_regions} region(s) are constant in {n_bad_windows}"
                f" window(s) (first: region {regions[0]} in window {windows[0]}); their "
                "correlations are NaN there.",
                ConstantWindowWarning,
                stacklevel=2,
            )
        if fisher_z:
            fisher_z_inplace(out)
            if not vectorize:
                idx = np.arange(n_regions)
                out[:, idx, idx] = 0
    elif method == "mtd":
        diffs = np.diff(ts, axis=0)
        sd = diffs.std(axis=0, ddof=1)
        flat = np.flatnonzero(sd == 0)
        if flat.size:
            where = f"{context}: " if context else ""
            raise DataError(
                f"{where}timeseries has {flat.size} region(s) with constant first differences "
                f"(column(s) {', '.join(str(int(i)) for i in flat[:10])}); MTD divides by "
                "their standard deviation."
            )
        data = (diffs / (sd * np.sqrt(window_length)))[:, :, None]
        windowed_gram(
            data,
            window_length,
            step,
            center=False,
            normalize=False,
            out=out,
            vectorize=vectorize,
        )
    else:
        phases = np.angle(signal.hilbert(ts - ts.mean(axis=0), axis=0))
        scale = 1.0 / np.sqrt(window_length)
        data = np.stack([np.cos(phases) * scale, np.sin(phases) * scale], axis=-1)
        windowed_gram(
            data,
            window_length,
            step,
            center=False,
            normalize=False,
            out=out,
            vectorize=vectorize,
        )
        if not vectorize:
            idx = np.arange(n_regions)
            out[:, idx, idx] = 1
    if return_centres:
        return out, window_centres(n_windows, window_length, step, t_r, method=method)
    return out


def connectivity_dynamics(dynamic_connectivity):
    """Functional connectivity dynamics (FCD): correlation between windows.

    Parameters
    ----------
    dynamic_connectivity : array-like of shape (n_windows, n_regions, n_regions) \
or (n_windows, n_pairs)
        Output of :func:`sliding_window_connectivity` (full or vectorised).

    Returns
    -------
    fcd : ndarray of shape (n_windows, n_windows)
        Pearson correlation between the upper triangles (``k=1``) of every pair
        of windows.

    Notes
    -----
    ``FCD_kl = corr(triu(C_k), triu(C_l))`` (Hansen et al. 2015). Windows whose
    upper triangle is constant give NaN rows.

    References
    ----------
    .. [1] Hansen ECA, Battaglia D, Spiegler A, Deco G, Jirsa VK (2015).
       Functional connectivity dynamics: modeling the formation of
       functional-connectivity patterns. NeuroImage 105:525-535.

    Examples
    --------
    >>> import numpy as np
    >>> c = np.array([[1, 2, 3], [2, 4, 6.5], [3, 2, 1]])
    >>> connectivity_dynamics(c).round(3)
    array([[ 1.   ,  0.998, -1.   ],
           [ 0.998,  1.   , -0.998],
           [-1.   , -0.998,  1.   ]])
    """
    dynamic = check_array("dynamic_connectivity", dynamic_connectivity)
    if dynamic.ndim == 3:
        if dynamic.shape[1] != dynamic.shape[2]:
            raise DataError(
                "dynamic_connectivity must have shape (n_windows, n_regions, n_regions) or "
                f"(n_windows, n_pairs); got shape {dynamic.shape}."
            )
        vectors = upper_triangle(dynamic)
    elif dynamic.ndim == 2:
        vectors = dynamic
    else:
        raise DataError(
            "dynamic_connectivity must have shape (n_windows, n_regions, n_regions) or "
            f"(n_windows, n_pairs); got shape {dynamic.shape}."
        )
    if vectors.shape[1] < 2:
        raise DataError(
            f"dynamic_connectivity needs at least 2 pairs per window; got shape {dynamic.shape}."
        )
    centred = vectors - vectors.mean(axis=1, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        centred /= np.linalg.norm(centred, axis=1, keepdims=True)
    fcd = centred @ centred.T
    np.clip(fcd, -1.0, 1.0, out=fcd)
    return fcd
