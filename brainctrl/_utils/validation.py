"""Input checks shared by all subpackages.

Each checker returns the validated (and possibly converted) value and raises an
error that names the parameter, says what was expected and echoes what came.
``context`` (e.g. ``"subject '100206', run 'REST1_LR'"``) is prepended to data
errors so batch users know which unit failed.
"""

import numbers

import numpy as np

from brainctrl.exceptions import DataError, InvalidParameterError

__all__ = [
    "check_array",
    "check_finite",
    "check_option",
    "check_positive",
    "check_random_state",
    "check_square",
    "check_timeseries",
]


def _prefix(context):
    return f"{context}: " if context else ""


#: How negative weights are treated, everywhere a function takes ``negative=``
#: (graph measures, modularity, single-layer and multilayer communities):
#: "asymmetric", "symmetric" and "simple" keep positive and negative weights apart
#: (they differ only in how modularity weighs the negative part), "ignore" drops
#: negative weights and "absolute" uses |w|.
NEGATIVE_RULES = ("asymmetric", "symmetric", "simple", "ignore", "absolute")


def check_negative(negative, *, function):
    """The ``negative`` rule, with ``"separate"`` accepted as the former spelling of
    ``"asymmetric"`` (graph measures), warning."""
    if negative == "separate":
        from brainctrl._utils.deprecation import warn_deprecated

        warn_deprecated(
            f"{function}(negative='separate')",
            "pass negative='asymmetric' (the same measures; one vocabulary for every "
            f"function: {NEGATIVE_RULES})",
            stacklevel=4,
        )
        return "asymmetric"
    check_option("negative", negative, NEGATIVE_RULES)
    return negative


def check_option(name, value, allowed):
    """Check that ``value`` is one of ``allowed``.

    Examples
    --------
    >>> check_option("system", "discrt", ("continuous", "discrete"))
    Traceback (most recent call last):
    ...
    brainctrl.exceptions.InvalidParameterError: 'system' must be one of ... got 'discrt'.
    """
    allowed = tuple(allowed)
    if value not in allowed:
        raise InvalidParameterError(f"'{name}' must be one of {allowed}; got {value!r}.")
    return value


def check_positive(name, value, *, strict=True, integer=False, allow_inf=False):
    """Check that ``value`` is a (strictly) positive real or integer number."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a number"
        raise InvalidParameterError(
            f"'{name}' must be {what}; got {value!r} of type {type(value).__name__}."
        )
    if not allow_inf and not np.isfinite(value):
        raise InvalidParameterError(f"'{name}' must be finite; got {value!r}.")
    if np.isnan(value) or (value <= 0 if strict else value < 0):
        bound = "> 0" if strict else ">= 0"
        raise InvalidParameterError(f"'{name}' must be {bound}; got {value!r}.")
    return value


def _is_complex(array):
    try:
        return np.iscomplexobj(array)
    except (TypeError, ValueError):  # ragged input; the conversion below reports it
        return False


def check_array(name, array, *, ndim=None, min_ndim=None, dtype=float, context=None):
    """Convert ``array`` to a NumPy array and check its number of dimensions.

    Complex input is refused when ``dtype`` is real (NumPy would drop the imaginary
    part with only a ``ComplexWarning``).
    """
    if dtype is not None and np.dtype(dtype).kind in "fiub" and _is_complex(array):
        raise DataError(
            f"{_prefix(context)}{name} must be real-valued; got complex values (dtype "
            f"{np.asarray(array).dtype})."
        )
    try:
        out = np.asarray(array, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"{_prefix(context)}{name} must be a numeric array; could not convert "
            f"{type(array).__name__} ({exc})."
        ) from None
    if ndim is not None and out.ndim != ndim:
        raise DataError(
            f"{_prefix(context)}{name} must be {ndim}-dimensional; got shape {out.shape}."
        )
    if min_ndim is not None and out.ndim < min_ndim:
        raise DataError(
            f"{_prefix(context)}{name} must have at least {min_ndim} dimensions; "
            f"got shape {out.shape}."
        )
    return out


def check_finite(name, array, *, context=None):
    """Raise if ``array`` holds NaN or infinite values, saying how many and where."""
    array = np.asarray(array)
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataError(
            f"{_prefix(context)}{name} contains {int(bad.sum())} non-finite value(s) "
            f"(NaN or inf), the first at index {first}."
        )
    return array


def check_square(name, array, *, batch=True, context=None, finite=True):
    """Check a matrix or a stack of matrices ``(..., n, n)``.

    Parameters
    ----------
    name : str
        Parameter name used in error messages.
    array : array-like of shape (..., n, n)
        The matrix or stack of matrices.
    batch : bool, default=True
        Accept leading batch axes. If False, exactly two dimensions are required.
    finite : bool, default=True
        Also reject NaN and infinite entries.
    """
    out = check_array(name, array, context=context)
    if out.ndim < 2 or (not batch and out.ndim != 2) or out.shape[-1] != out.shape[-2]:
        expected = "(..., n, n)" if batch else "(n, n)"
        raise DataError(
            f"{_prefix(context)}{name} must be square with shape {expected}; "
            f"got shape {out.shape}."
        )
    if finite:
        check_finite(name, out, context=context)
    return out


def check_timeseries(
    timeseries,
    *,
    name="timeseries",
    min_timepoints=3,
    allow_constant=False,
    context=None,
):
    """Check a ``(n_timepoints, n_regions)`` time series.

    Raises
    ------
    DataError
        If the array is not 2-D, has fewer than ``min_timepoints`` frames,
        contains NaN/inf, or (unless ``allow_constant``) has regions whose
        signal is constant, which makes correlations undefined.
    """
    ts = check_array(name, timeseries, ndim=2, context=context)
    n_timepoints, n_regions = ts.shape
    if n_regions < 1:
        raise DataError(f"{_prefix(context)}{name} has no regions; got shape {ts.shape}.")
    if n_timepoints < min_timepoints:
        raise DataError(
            f"{_prefix(context)}{name} must have at least {min_timepoints} timepoints "
            f"(rows); got shape {ts.shape} (n_timepoints, n_regions)."
        )
    check_finite(name, ts, context=context)
    if not allow_constant:
        span = np.ptp(ts, axis=0)
        scale = np.maximum(np.abs(ts).max(axis=0), 1.0)
        constant = np.flatnonzero(span <= 1e-12 * scale)
        if constant.size:
            shown = ", ".join(str(int(i)) for i in constant[:10])
            more = "" if constant.size <= 10 else f" (and {constant.size - 10} more)"
            raise DataError(
                f"{_prefix(context)}{name} has {constant.size} constant region(s) "
                f"(column(s) {shown}{more}); their correlations are undefined. Remove "
                "them or check the parcellation."
            )
    return ts


def check_random_state(random_state):
    """Turn ``None``, an int or a Generator/RandomState into a ``numpy.random.Generator``.

    Integers give the same stream everywhere, so the same seed gives the same
    numbers whether run serially or distributed.
    """
    if random_state is None or isinstance(random_state, (numbers.Integral, np.integer)):
        return np.random.default_rng(random_state)
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**31 - 1))
    raise InvalidParameterError(
        "'random_state' must be None, an int or a numpy Generator; "
        f"got {type(random_state).__name__}."
    )


#: Relative tolerance of every symmetry check: ``|W - W.T| <= SYMMETRY_RTOL * max|W|``
#: (float32 data written and read back stays well inside it).
SYMMETRY_RTOL = 1e-8


def check_symmetric(name, matrices, *, what="undirected", context=None):
    """Raise a DataError naming the largest asymmetry unless ``matrices`` are symmetric.

    ``matrices`` is ``(..., n, n)``; the tolerance is :data:`SYMMETRY_RTOL`
    relative to the largest absolute entry.
    """
    matrices = np.asarray(matrices)
    gap = np.abs(matrices - np.swapaxes(matrices, -1, -2))
    scale = max(float(np.abs(matrices).max(initial=0.0)), np.finfo(float).tiny)
    if gap.size and gap.max() > SYMMETRY_RTOL * scale:
        where = tuple(int(i) for i in np.unravel_index(int(np.argmax(gap)), gap.shape))
        raise DataError(
            f"{_prefix(context)}{name} must be symmetric ({what}); the largest "
            f"|W - W.T| is {gap.max():.3g} at index {where} (entries up to {scale:.3g})."
        )
    return matrices


def check_nonnegative(name, matrices, *, context=None):
    """Raise a DataError naming the first negative entry, if there is one."""
    matrices = np.asarray(matrices)
    negative = matrices < 0
    if negative.any():
        where = tuple(int(i) for i in np.argwhere(negative)[0])
        raise DataError(
            f"{_prefix(context)}{name} must be non-negative; got {int(negative.sum())} "
            f"negative value(s), the first at index {where} ({matrices[where]:.6g})."
        )
    return matrices


def check_fraction(name, value, *, low=0.0, high=1.0, closed_high=True):
    """A number in ``[low, high]`` (``[low, high)`` with ``closed_high=False``) as float."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise InvalidParameterError(
            f"'{name}' must be a number in [{low:g}, {high:g}{']' if closed_high else ')'}; got "
            f"{value!r} of type {type(value).__name__}."
        )
    ok = low <= value <= high if closed_high else low <= value < high
    if not ok:
        bracket = "]" if closed_high else ")"
        raise InvalidParameterError(
            f"'{name}' must be in [{low:g}, {high:g}{bracket}; got {value!r}."
        )
    return float(value)
