"""Static functional connectivity of one run or of several runs."""

import logging
import warnings

import numpy as np

from brainctrl._utils.validation import check_option, check_positive, check_timeseries
from brainctrl.connectivity._kernels import as_timeseries, fisher_z_inplace, warn_if_wide
from brainctrl.connectivity.threshold import (
    _restore_diagonal,
    absolute_cut,
    proportional,
    threshold_significance,
)
from brainctrl.exceptions import DataError, IllConditionedWarning, InvalidParameterError

__all__ = ["functional_connectivity"]

logger = logging.getLogger(__name__)

KINDS = (
    "correlation",
    "partial correlation",
    "covariance",
    "precision",
    "tangent",
    "shrunk correlation",
    "shrunk partial correlation",
    "shrunk covariance",
    "shrunk precision",
)
_CORRELATION_KINDS = (
    "correlation",
    "partial correlation",
    "shrunk correlation",
    "shrunk partial correlation",
)
_THRESHOLDS = ("absolute", "proportional", "significance")


def _zscore(ts):
    centred = ts - ts.mean(axis=0)
    return centred / centred.std(axis=0)


def _covariance(ts, *, shrunk):
    """Maximum-likelihood (divide by n) or Ledoit-Wolf covariance of centred data."""
    if shrunk:
        from sklearn.covariance import LedoitWolf

        return LedoitWolf(assume_centered=False).fit(ts).covariance_
    centred = ts - ts.mean(axis=0)
    return centred.T @ centred / ts.shape[0]


def _correlation_from_covariance(covariance):
    sd = np.sqrt(np.diag(covariance))
    corr = covariance / np.outer(sd, sd)
    np.clip(corr, -1.0, 1.0, out=corr)
    np.fill_diagonal(corr, 1.0)
    return corr


def _precision(covariance, n_timepoints):
    eigenvalues = np.linalg.eigvalsh(covariance)
    n_regions = covariance.shape[0]
    if eigenvalues[0] <= eigenvalues[-1] * n_regions * np.finfo(float).eps:
        raise DataError(
            f"the covariance of {n_regions} regions from {n_timepoints} frames is singular "
            f"(smallest eigenvalue {eigenvalues[0]:.3g}, largest {eigenvalues[-1]:.3g}), so "
            "its inverse (precision, partial correlation) does not exist; use a 'shrunk' kind "
            "or more frames."
        )
    condition = eigenvalues[-1] / eigenvalues[0]
    if condition > 1e10:
        warnings.warn(
            f"the covariance is ill-conditioned (condition number {condition:.3g}); its "
            "inverse (precision, partial correlation) has few correct digits.",
            IllConditionedWarning,
            stacklevel=4,
        )
    return np.linalg.inv(covariance)


def _partial_from_precision(precision):
    d = np.sqrt(np.diag(precision))
    partial = -precision / np.outer(d, d)
    np.clip(partial, -1.0, 1.0, out=partial)
    np.fill_diagonal(partial, 1.0)
    return partial


def _one_run(ts, kind):
    shrunk = kind.startswith("shrunk")
    base = kind.removeprefix("shrunk ")
    if shrunk and base in ("correlation", "partial correlation"):
        # Shrink the correlation matrix (standardised regions), so the result
        # does not depend on each region's scale.
        ts = _zscore(ts)
    covariance = _covariance(ts, shrunk=shrunk)
    if base == "covariance":
        return covariance
    if base == "correlation":
        return _correlation_from_covariance(covariance)
    precision = _precision(covariance, ts.shape[0])
    if base == "precision":
        return precision
    return _partial_from_precision(precision)


def _tangent(runs):
    from nilearn.connectome import ConnectivityMeasure
    from sklearn.covariance import EmpiricalCovariance

    measure = ConnectivityMeasure(
        cov_estimator=EmpiricalCovariance(), kind="tangent", standardize=False
    )
    return measure.fit_transform(runs)


def functional_connectivity(
    timeseries,
    kind="correlation",
    *,
    fisher_z=False,
    threshold=None,
    threshold_value=None,
    fdr=False,
    concatenate=False,
):
    """Functional connectivity of one run, or of each of several runs.

    Parameters
    ----------
    timeseries : array-like of shape (n_timepoints, n_regions), RunData, or a list
        Region time series (or :class:`~brainctrl.io.RunData` records, named
        in errors); a list holds several runs (of one subject, or of several
        subjects for ``kind="tangent"``).
    kind : str, default="correlation"
        One of ``"correlation"`` (Pearson), ``"partial correlation"``,
        ``"covariance"``, ``"precision"`` (inverse covariance), ``"tangent"``
        (needs a list of at least two runs), or the Ledoit-Wolf shrunk
        ``"shrunk correlation"``, ``"shrunk partial correlation"``,
        ``"shrunk covariance"``, ``"shrunk precision"``. Shrinkage is used only
        when asked for.
    fisher_z : bool, default=False
        Return ``arctanh`` of a correlation kind; the diagonal is then 0.
    threshold : {None, "absolute", "proportional", "significance"}, default=None
        Remove weak edges (off-diagonal entries set to 0, see
        :mod:`brainctrl.connectivity.threshold`), decided on the correlations
        before any Fisher z.
    threshold_value : float, optional
        ``"absolute"``: the cut-off on ``|w|`` (required). ``"proportional"``:
        the fraction of edges kept (required). ``"significance"``: the
        significance level alpha (default 0.05).
    fdr : bool, default=False
        With ``threshold="significance"``: Benjamini-Hochberg FDR over the
        region pairs instead of uncorrected p-values.
    concatenate : bool, default=False
        With a list of runs: z-score each run (each region to mean 0 and
        standard deviation 1 within its run), join them in time and return one
        matrix.

    Returns
    -------
    connectivity : ndarray of shape (n_regions, n_regions) or (n_runs, n_regions, n_regions)
        One matrix for an array input or ``concatenate=True``, else one per run.
        Correlation kinds have a unit diagonal (0 after Fisher z).

    Raises
    ------
    DataError
        If a run is not 2-D, is complex, has fewer than 3 frames, holds NaN/inf or a
        constant region, if runs differ in their number of regions, or if an inverse
        is asked of a singular covariance (more regions than frames).
    InvalidParameterError
        For an unknown option or a combination that is not defined (Fisher z of
        a covariance, significance of a tangent matrix, tangent of one run).

    Warns
    -----
    OrientationWarning
        If a run has more columns than rows: it may be regions by time (the
        message gives its shape and the transpose to pass).
    IllConditionedWarning
        If the covariance to invert has a condition number above 1e10.

    Notes
    -----
    Covariances are maximum-likelihood estimates ``C = X_c^T X_c / n`` of the
    centred data (scikit-learn's ``EmpiricalCovariance``); Pearson
    ``r_ij = C_ij / sqrt(C_ii C_jj)``; precision ``P = C^{-1}``; partial
    correlation ``-P_ij / sqrt(P_ii P_jj)`` with a unit diagonal. Shrunk kinds
    use ``sklearn.covariance.LedoitWolf``; for shrunk (partial) correlations
    each region is z-scored first so the shrinkage target is the identity
    correlation. Ledoit-Wolf shrinks correlations towards 0 noticeably when
    frames are few compared to regions (e.g. to about a third in a 44-frame
    window of 100 regions), which is why it is never the default. Tangent
    space (Varoquaux et al. 2010) uses nilearn's ``ConnectivityMeasure`` with
    ``EmpiricalCovariance``: each run's covariance is whitened by the group
    geometric mean and mapped through the matrix logarithm.

    Significance thresholds test ``r`` with ``n_timepoints`` frames (the
    total when concatenating) and, for partial correlations,
    ``n_regions - 2`` controlled variables (see
    :func:`~brainctrl.connectivity.threshold.correlation_pvalues`).

    References
    ----------
    .. [1] Ledoit O, Wolf M (2004). A well-conditioned estimator for
       large-dimensional covariance matrices. J Multivar Anal 88:365-411.
    .. [2] Varoquaux G, Baronnet F, Kleinschmidt A, Fillard P, Thirion B (2010).
       Detection of brain functional-connectivity difference in post-stroke
       patients using group-level covariance modeling. MICCAI 2010.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.array([[1.0, 2.0, 0.0], [2.0, 4.1, 1.0], [3.0, 5.9, 0.0], [4.0, 8.0, 1.0]])
    >>> functional_connectivity(x).round(3)
    array([[1.   , 1.   , 0.447],
           [1.   , 1.   , 0.474],
           [0.447, 0.474, 1.   ]])
    """
    check_option("kind", kind, KINDS)
    if threshold is not None:
        check_option("threshold", threshold, _THRESHOLDS)
    if fisher_z and kind not in _CORRELATION_KINDS:
        raise InvalidParameterError(
            f"'fisher_z' applies to correlation kinds {_CORRELATION_KINDS}; got kind={kind!r}."
        )
    if threshold == "significance" and kind not in ("correlation", "partial correlation"):
        raise InvalidParameterError(
            f"threshold='significance' tests Pearson or partial correlations; got kind={kind!r}."
        )
    if threshold in ("absolute", "proportional") and threshold_value is None:
        raise InvalidParameterError(
            f"'threshold_value' is needed for threshold={threshold!r}; got None."
        )
    if fdr and threshold != "significance":
        raise InvalidParameterError(
            f"'fdr' applies to threshold='significance' only; got threshold={threshold!r}."
        )

    single = not isinstance(timeseries, (list, tuple))
    runs = [timeseries] if single else list(timeseries)
    if not runs:
        raise DataError("timeseries is an empty list; expected at least one run.")
    checked = []
    for i, run in enumerate(runs):
        array, _, context = as_timeseries(run)
        name = "timeseries" if single else f"timeseries[{i}]"
        checked.append(check_timeseries(array, name=name, context=context))
        warn_if_wide(checked[-1], name, context, stacklevel=2)
    runs = checked
    n_regions = {run.shape[1] for run in runs}
    if len(n_regions) > 1:
        raise DataError(
            f"all runs must have the same number of regions; got {[run.shape[1] for run in runs]}."
        )
    (n_regions,) = n_regions
    if concatenate and single:
        raise InvalidParameterError(
            "'concatenate' needs a list of runs; got a single array with concatenate=True."
        )
    if kind == "tangent":
        if single or concatenate or len(runs) < 2:
            raise InvalidParameterError(
                "kind='tangent' needs a list of at least two runs (without concatenate); "
                f"got {'one array' if single else f'{len(runs)} run(s)'}"
                f"{' with concatenate=True' if concatenate else ''}."
            )
        result = _tangent(runs)
        n_frames = None
    elif concatenate:
        joined = np.concatenate([_zscore(run) for run in runs], axis=0)
        result = _one_run(joined, kind)
        n_frames = joined.shape[0]
        single = True
    else:
        result = np.stack([_one_run(run, kind) for run in runs])
        n_frames = [run.shape[0] for run in runs]
        if single:
            result = result[0]
            n_frames = n_frames[0]

    if threshold is not None:
        result = _threshold(result, threshold, threshold_value, fdr, kind, n_frames, n_regions)
    if fisher_z:
        fisher_z_inplace(result)
        idx = np.arange(n_regions)
        result[..., idx, idx] = 0.0
    return result


def _threshold(result, threshold, value, fdr, kind, n_frames, n_regions):
    # |w| against the value, and the diagonal (1 for correlations) kept, as FC has it
    if threshold == "absolute":
        check_positive("threshold_value", value, strict=False)
        return _restore_diagonal(result, absolute_cut(result, value, absolute=True, finite=False))
    if threshold == "proportional":
        return _restore_diagonal(result, proportional(result, value, absolute=True, finite=False))
    alpha = 0.05 if value is None else value
    controlled = n_regions - 2 if kind == "partial correlation" else 0
    if isinstance(n_frames, list):
        return np.stack(
            [
                threshold_significance(m, n, alpha=alpha, fdr=fdr, n_controlled=controlled)
                for m, n in zip(result, n_frames)
            ]
        )
    return threshold_significance(result, n_frames, alpha=alpha, fdr=fdr, n_controlled=controlled)
